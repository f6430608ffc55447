//! Checkpoints: a [`Session`](super::Session)'s whole state (runtime state and input
//! counts) as JSON, tagged with the format and the program that wrote it, written to
//! a temporary file and renamed into place so a crash never leaves half of one.

use std::fs::File;
use std::io::{self, Write};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::session::InputStats;
use crate::ir::Program;
use crate::runtime::{RuntimeConfig, RuntimeState};

/// A checkpoint of a [`Session`]: runtime state plus input counts, and which program
/// wrote it.
#[derive(Serialize, Deserialize)]
pub struct Checkpoint {
    /// [`CHECKPOINT_FORMAT`] of the trigc that wrote it (absent: before formats were
    /// numbered).
    #[serde(default)]
    pub format: u32,
    /// [`program_fingerprint`] of the program: a checkpoint resumes only with the
    /// same rules (comments and layout may differ).
    #[serde(default)]
    pub program: u64,
    /// The time options of the run that wrote it (`--lateness` and `--late` must
    /// match on resume; `--until` is never part of a checkpointed run).
    #[serde(default)]
    pub config: Option<RuntimeConfig>,
    pub runtime: RuntimeState,
    pub input: InputStats,
}

/// The layout of the runtime state in a checkpoint; a checkpoint resumes only with
/// the same. 1: cooldown/limit gates are kept with each key's data.
pub const CHECKPOINT_FORMAT: u32 = 1;

/// What identifies a program's meaning: a hash of its IR as `--emit ir` prints it
/// (names, types, triggers, expressions; no source positions).
pub fn program_fingerprint(program: &Program) -> u64 {
    xxhash_rust::xxh3::xxh3_64(crate::ir::print::print(program).as_bytes())
}

/// A `--checkpoint` file, if it was written by the same program and format.
pub fn read_checkpoint(
    path: &std::path::Path,
    program: &Program,
    config: &RuntimeConfig,
) -> Result<Checkpoint, String> {
    let shown = path.display();
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read `{shown}`: {e}"))?;
    let checkpoint: Checkpoint = serde_json::from_slice(&bytes)
        .map_err(|e| format!("`{shown}` is not a trigc checkpoint: {e}"))?;
    if checkpoint.format != CHECKPOINT_FORMAT {
        return Err(format!(
            "`{shown}` was written by another version of trigc (checkpoint format {}, this \
             one reads {CHECKPOINT_FORMAT}): rerun from the start of the input",
            checkpoint.format
        ));
    }
    if checkpoint.program != program_fingerprint(program) {
        return Err(format!(
            "`{shown}` was written by different rules: resume with the rules that wrote it"
        ));
    }
    if let Some(was) = &checkpoint.config
        && (was.lateness, was.late) != (config.lateness, config.late)
    {
        return Err(format!(
            "`{shown}` was written with other `--lateness`/`--late`: resume with the same ones"
        ));
    }
    Ok(checkpoint)
}

/// A checkpoint being written whole or not at all: to a temporary file beside its
/// path, renamed over it once complete, so a crash never leaves half a checkpoint.
pub struct PendingCheckpoint {
    /// Where the checkpoint goes once committed.
    pub path: PathBuf,
    tmp: PathBuf,
    file: Option<File>,
}

impl Drop for PendingCheckpoint {
    /// A checkpoint not committed (the run failed) leaves no temporary file.
    fn drop(&mut self) {
        if self.file.is_some() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

impl PendingCheckpoint {
    /// Create the temporary file (so an unwritable path fails before any input is
    /// read).
    pub fn create(path: &std::path::Path) -> io::Result<PendingCheckpoint> {
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        let file = File::create(&tmp)?;
        Ok(PendingCheckpoint {
            path: path.to_path_buf(),
            tmp,
            file: Some(file),
        })
    }

    /// Write `checkpoint` whole, then rename it into place.
    pub fn commit(mut self, checkpoint: &Checkpoint) -> io::Result<()> {
        let Some(file) = self.file.take() else {
            return Err(io::Error::other("checkpoint already written"));
        };
        let written = (|| {
            let mut w = io::BufWriter::new(file);
            serde_json::to_writer(&mut w, checkpoint)?;
            w.flush()?;
            w.get_ref().sync_all()?;
            std::fs::rename(&self.tmp, &self.path)
        })();
        if written.is_err() {
            let _ = std::fs::remove_file(&self.tmp);
        }
        written
    }
}
