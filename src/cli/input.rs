//! The files of `trigc run`: opening the input (a regular file is read directly, and
//! decompressed when it is gzip, whatever its name; stdin, a FIFO or a device through
//! an [`io::relay::Relay`] so the read loop never blocks without end), and refusing
//! output paths that would destroy an input.
//!
//! Files are compared by identity (device and inode), not by name: a hard link, a
//! symlink or `< same-file` on stdin names the same file under another name.

use std::fs::{File, Metadata};
use std::io::{self, BufRead, BufReader, IsTerminal, Read, Seek, SeekFrom};
use std::os::fd::AsFd;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;
use std::time::Duration;

use crate::io::relay::Relay;
use crate::source::SourceMap;

/// How long the read loop waits for input from a pipe before it flushes and checks
/// for a stop request again.
const PATIENCE: Duration = Duration::from_millis(50);

/// The opened input.
pub struct Input {
    pub reader: Box<dyn BufRead>,
    /// Shown for large files when stderr is a terminal.
    pub progress: Option<indicatif::ProgressBar>,
}

/// Open `path` (`-`: stdin).
pub fn open_input(path: &Path) -> io::Result<Input> {
    /// Files smaller than this replay in a second or two: no bar.
    const PROGRESS_MIN_BYTES: u64 = 64 << 20;
    if path.as_os_str() == "-" {
        return Ok(Input {
            reader: Box::new(Relay::spawn(io::stdin(), PATIENCE)),
            progress: None,
        });
    }
    let mut file = File::open(path)?;
    let meta = file.metadata()?;
    if meta.is_dir() {
        return Err(io::Error::other("is a directory"));
    }
    if !meta.is_file() {
        // A FIFO, a socket or a device may block for ever between lines.
        return Ok(Input {
            reader: Box::new(Relay::spawn(file, PATIENCE)),
            progress: None,
        });
    }
    let gzip = is_gzip(&mut file)?;
    let len = meta.len();
    let progress = (len >= PROGRESS_MIN_BYTES && io::stderr().is_terminal()).then(|| {
        let pb = indicatif::ProgressBar::new(len);
        pb.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        pb
    });
    // The bar counts the file's own bytes, compressed or not.
    let raw: Box<dyn Read> = match &progress {
        Some(pb) => Box::new(pb.wrap_read(file)),
        None => Box::new(file),
    };
    let raw: Box<dyn Read> = if gzip {
        // `MultiGz`: a file of several gzip members (concatenated, or written by
        // bgzip) is one stream, as `zcat` reads it.
        Box::new(flate2::read::MultiGzDecoder::new(BufReader::with_capacity(
            1 << 16,
            raw,
        )))
    } else {
        raw
    };
    Ok(Input {
        reader: Box::new(BufReader::with_capacity(1 << 16, raw)),
        progress,
    })
}

/// Whether `file` starts with gzip's magic bytes; it is left at its start.
fn is_gzip(file: &mut File) -> io::Result<bool> {
    let mut magic = [0u8; 2];
    let mut got = 0;
    while got < magic.len() {
        match file.read(&mut magic[got..])? {
            0 => break,
            n => got += n,
        }
    }
    file.seek(SeekFrom::Start(0))?;
    Ok(got == 2 && magic == [0x1f, 0x8b])
}

/// Whether the file at `path` is gzip (a file that cannot be read is not).
pub fn is_gzip_file(path: &Path) -> bool {
    File::open(path)
        .and_then(|mut f| is_gzip(&mut f))
        .unwrap_or(false)
}

/// `--input-format` of `trigc run` and `trigc infer`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputFormat {
    /// One JSON object per line.
    Ndjson,
    /// Comma-separated values with a header row (or `--csv-columns`).
    Csv,
}

impl InputFormat {
    /// The format given, else CSV when columns are named or the input's name ends
    /// in `.csv` (`.csv.gz`), else NDJSON.
    pub fn of(given: Option<InputFormat>, csv_columns: bool, input: &Path) -> InputFormat {
        match given {
            Some(f) => f,
            None if csv_columns => InputFormat::Csv,
            None if format_extension(input).is_some_and(|e| e.eq_ignore_ascii_case("csv")) => {
                InputFormat::Csv
            }
            None => InputFormat::Ndjson,
        }
    }
}

/// The name's format extension, under a `.gz` (`events.csv.gz`: `csv`).
pub fn format_extension(path: &Path) -> Option<&std::ffi::OsStr> {
    match path.extension() {
        Some(e) if e.eq_ignore_ascii_case("gz") => path.file_stem().map(Path::new)?.extension(),
        e => e,
    }
}

/// A file's identity: the same under every name and link.
type Identity = (u64, u64);

fn identity(meta: &Metadata) -> Identity {
    (meta.dev(), meta.ino())
}

/// What stdin is, when it is a file (`< file`).
fn stdin_identity() -> Option<Identity> {
    let fd = io::stdin().as_fd().try_clone_to_owned().ok()?;
    let meta = File::from(fd).metadata().ok()?;
    meta.is_file().then(|| identity(&meta))
}

/// What an existing `output` file is, if it is the input (by any name, or as stdin)
/// or a rule file: writing it would truncate it before it is read (or after it was
/// compiled).
pub fn clash(output: &Path, input: &Path, sources: &SourceMap) -> Option<String> {
    let target = identity(&std::fs::metadata(output).ok()?);
    let same = |path: &Path| std::fs::metadata(path).is_ok_and(|m| identity(&m) == target);
    let input_is_target = if input.as_os_str() == "-" {
        stdin_identity() == Some(target)
    } else {
        same(input)
    };
    if input_is_target {
        return Some("the input".into());
    }
    sources
        .files
        .iter()
        .find(|f| same(Path::new(&f.name)))
        .map(|f| format!("the rule file `{}`", f.name))
}

/// Why `path` cannot take a checkpoint: it exists and is not a regular file (a FIFO
/// or a device would be replaced by a file, or block).
pub fn not_a_regular_file(path: &Path) -> Option<&'static str> {
    let meta = std::fs::metadata(path).ok()?;
    let kind = meta.file_type();
    if kind.is_file() {
        None
    } else if kind.is_dir() {
        Some("a directory")
    } else if kind.is_fifo() {
        Some("a FIFO")
    } else if kind.is_char_device() || kind.is_block_device() {
        Some("a device")
    } else if kind.is_socket() {
        Some("a socket")
    } else {
        Some("not a regular file")
    }
}
