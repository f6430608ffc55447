//! The library driver: what `trigc run` does between the command line and the
//! runtime, usable without the CLI (tests, benches, a service). A [`Session`] feeds
//! input lines through the decoder into a [`crate::runtime::Runtime`] whose engine
//! is chosen by name ([`EngineKind`]) and passed in as a value; a [`Checkpoint`] is
//! a session's whole state, written and read back whole or not at all.
//!
//! Downstream of `io` and `runtime`, upstream of `cli`: nothing here reads argv,
//! prints, or decides exit codes.

pub mod checkpoint;
pub mod engines;
pub mod notice;
pub mod session;
pub mod stray;

pub use checkpoint::{
    CHECKPOINT_FORMAT, Checkpoint, CheckpointHead, PendingCheckpoint, program_fingerprint,
};
pub use engines::EngineKind;
pub use notice::describe_notice;
pub use session::{InputStats, LineOutcome, Session, Summary, TimeBounds, Unterminated};
