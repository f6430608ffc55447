//! The edges: decoding NDJSON event lines into typed [`crate::runtime::Event`]s and
//! writing action records.
