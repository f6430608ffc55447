//! Checkpoints: a [`Session`](super::Session)'s whole state (runtime state and input
//! counts) as JSON, tagged with the format and the program that wrote it, written to
//! a temporary file and renamed into place so a crash never leaves half of one.
//!
//! The file is one header line, `{"trigc_checkpoint":2,"bytes":N,"xxh3_128":"…"}`,
//! then the JSON body of exactly `N` bytes whose XXH3-128 the header gives. A
//! checkpoint that does not match its checksum (a flipped bit, a truncated copy, an
//! edit) is refused before anything in it is used.

use std::fs::File;
use std::io::{self, Read, Write};
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
    /// The input's last line when it had no line end and did not parse: most likely
    /// the first half of a line whose rest starts the next part of the input, so a
    /// resume reads it again in front of that input.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tail: Vec<u8>,
    /// Events held as stray times, to confirm or refute with the next input.
    #[serde(default)]
    pub strays: super::stray::StrayGuard,
}

/// A [`Checkpoint`] but for its runtime state: what an incremental checkpoint
/// (`durable`) writes whole beside the state's rows.
#[derive(Clone, Serialize, Deserialize)]
pub struct CheckpointHead {
    pub format: u32,
    pub program: u64,
    pub config: Option<RuntimeConfig>,
    pub input: InputStats,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tail: Vec<u8>,
    #[serde(default)]
    pub strays: super::stray::StrayGuard,
}

impl CheckpointHead {
    /// The checkpoint of this head and `runtime`.
    pub fn with_runtime(self, runtime: RuntimeState) -> Checkpoint {
        Checkpoint {
            format: self.format,
            program: self.program,
            config: self.config,
            runtime,
            input: self.input,
            tail: self.tail,
            strays: self.strays,
        }
    }
}

impl Checkpoint {
    /// Everything but the runtime state, copied.
    pub fn head(&self) -> CheckpointHead {
        CheckpointHead {
            format: self.format,
            program: self.program,
            config: self.config,
            input: self.input.clone(),
            tail: self.tail.clone(),
            strays: self.strays.clone(),
        }
    }
}

/// The layout of a checkpoint; a checkpoint resumes only with the same. 1: cooldown
/// and limit gates are kept with each key's data. 2: a header line with the body's
/// length and checksum; the unparsed tail of the input.
pub const CHECKPOINT_FORMAT: u32 = 2;

/// The largest checkpoint `--resume` reads (16 GiB): a bound on what a wrong path
/// can make it allocate.
pub const MAX_CHECKPOINT_BYTES: u64 = 1 << 34;

/// The first line of a checkpoint file.
#[derive(Serialize, Deserialize)]
struct Header {
    trigc_checkpoint: u32,
    bytes: u64,
    xxh3_128: String,
}

/// The longest header line read before giving up on a file that is not a checkpoint.
const MAX_HEADER_BYTES: usize = 256;

fn checksum(body: &[u8]) -> String {
    format!("{:032x}", xxhash_rust::xxh3::xxh3_128(body))
}

impl Checkpoint {
    /// The checkpoint file's bytes: header line, then body.
    pub fn to_bytes(&self) -> Result<Vec<u8>, serde_json::Error> {
        let body = serde_json::to_vec(self)?;
        let header = Header {
            trigc_checkpoint: CHECKPOINT_FORMAT,
            bytes: body.len() as u64,
            xxh3_128: checksum(&body),
        };
        let mut bytes = serde_json::to_vec(&header)?;
        bytes.push(b'\n');
        bytes.extend_from_slice(&body);
        Ok(bytes)
    }

    /// A checkpoint from a file's bytes, if they are one, whole and unchanged. The
    /// error says what is wrong, for a message naming the file.
    pub fn from_bytes(bytes: &[u8]) -> Result<Checkpoint, String> {
        let not_one = || "not a trigc checkpoint".to_owned();
        let head = bytes
            .get(..bytes.len().min(MAX_HEADER_BYTES))
            .unwrap_or_default();
        let Some(end) = memchr::memchr(b'\n', head) else {
            // Checkpoints before format 2 were one JSON object (with no `format`
            // before formats were numbered).
            let old = serde_json::from_slice::<serde_json::Value>(bytes).ok();
            let Some(old) = old.filter(|v| v.get("runtime").is_some()) else {
                return Err(not_one());
            };
            let format = old
                .get("format")
                .and_then(serde_json::Value::as_u64)
                .unwrap_or(0);
            return Err(format!(
                "written by another version of trigc (checkpoint format {format}, this one \
                 reads {CHECKPOINT_FORMAT}): rerun from the start of the input"
            ));
        };
        let header: Header =
            serde_json::from_slice(head.get(..end).unwrap_or_default()).map_err(|_| not_one())?;
        if header.trigc_checkpoint != CHECKPOINT_FORMAT {
            return Err(format!(
                "written by another version of trigc (checkpoint format {}, this one reads \
                 {CHECKPOINT_FORMAT}): rerun from the start of the input",
                header.trigc_checkpoint
            ));
        }
        let body = bytes.get(end + 1..).unwrap_or_default();
        if body.len() as u64 != header.bytes {
            return Err(format!(
                "damaged: the header promises {} bytes of state, the file holds {} (a \
                 truncated or appended copy?)",
                header.bytes,
                body.len()
            ));
        }
        if checksum(body) != header.xxh3_128 {
            return Err("damaged: its checksum does not match its content".into());
        }
        serde_json::from_slice(body).map_err(|e| format!("damaged: {e}"))
    }
}

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
    let file = File::open(path).map_err(|e| format!("cannot read `{shown}`: {e}"))?;
    let meta = file
        .metadata()
        .map_err(|e| format!("cannot read `{shown}`: {e}"))?;
    if !meta.is_file() {
        return Err(format!(
            "`{shown}` is not a regular file: not a trigc checkpoint"
        ));
    }
    if meta.len() > MAX_CHECKPOINT_BYTES {
        return Err(format!(
            "`{shown}` is larger than a checkpoint may be ({MAX_CHECKPOINT_BYTES} bytes)"
        ));
    }
    let mut bytes = Vec::new();
    file.take(MAX_CHECKPOINT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read `{shown}`: {e}"))?;
    let checkpoint = Checkpoint::from_bytes(&bytes).map_err(|e| format!("`{shown}` is {e}"))?;
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
            w.write_all(&checkpoint.to_bytes()?)?;
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
