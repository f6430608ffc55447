//! The event-time runtime: per-key state, trigger instances, timers and the watermark.
//! It is engine-agnostic: expressions are evaluated through one seam (the engine),
//! and all per-key state is plain data that serialises (for checkpoints).

pub mod event;
pub mod schedule;
pub mod state;
pub mod timers;

pub use event::Event;
