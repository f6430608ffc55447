//! The edges: decoding NDJSON event lines into typed [`crate::runtime::Event`]s and
//! writing action records.

pub mod csv_rows;
pub mod decode;
pub mod json;
pub mod lines;
pub mod name_table;
pub mod relay;
pub mod repeats;
pub mod sink;
mod value;

pub use decode::{Decoded, Decoder, Reject};
pub use lines::{LineLimit, LineTooLong, Lines, Poll};
