//! Socket sources: `tcp://HOST:PORT` and `unix:PATH`. Each accepted connection is
//! one producer: a task reads it, cuts lines ([`super::LineCodec`]) and sends the
//! lines of each read, in order, as one [`Submission`]. A full queue stops the
//! reading, so TCP's own flow control slows the producer. Whatever a connection
//! sends (binary garbage, invalid UTF-8, endless lines) ends as rejected lines of
//! that connection; a read error or a vanished producer ends that connection only.
//! `--max-connections` bounds how many are served at once; more wait in the
//! listen backlog.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::net::{TcpListener, TcpStream, UnixListener, UnixStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::{Frame, LineCodec, Numbered, Shared, Submission};

/// How much a connection reads at a time (and so the most bytes of whole lines
/// in one submission).
pub const READ_BYTES: usize = 64 << 10;

/// `accept` failed (out of file descriptors, a connection reset before it was
/// taken): said once on stderr, then a pause, so a full descriptor table does not
/// spin the loop.
pub async fn accept_failed(e: &io::Error) {
    eprintln!("trigc: accept failed: {e}");
    tokio::time::sleep(Duration::from_millis(50)).await;
}

pub async fn listen_tcp(addr: &str, shared: Shared) -> Result<(), String> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| format!("--input: cannot listen on {addr}: {e}"))?;
    if let Ok(local) = listener.local_addr() {
        eprintln!("trigc: listening on tcp://{local}");
    }
    tokio::spawn(serve(listener, shared));
    Ok(())
}

pub async fn listen_unix(path: &Path, shared: Shared) -> Result<(), String> {
    remove_stale(path)?;
    let listener = UnixListener::bind(path)
        .map_err(|e| format!("--input: cannot listen on unix:{}: {e}", path.display()))?;
    eprintln!("trigc: listening on unix:{}", path.display());
    let path = path.to_owned();
    tokio::spawn(async move {
        serve(listener, shared).await;
        let _ = std::fs::remove_file(&path);
    });
    Ok(())
}

/// A listening socket of either kind.
trait Listener: Send + 'static {
    type Stream: AsyncRead + Unpin + Send + 'static;
    /// The next connection, and its peer when it has an address.
    fn next(&self) -> impl Future<Output = io::Result<(Self::Stream, Option<SocketAddr>)>> + Send;
}

impl Listener for TcpListener {
    type Stream = TcpStream;
    async fn next(&self) -> io::Result<(TcpStream, Option<SocketAddr>)> {
        let (stream, peer) = self.accept().await?;
        let _ = stream.set_nodelay(true);
        Ok((stream, Some(peer)))
    }
}

impl Listener for UnixListener {
    type Stream = UnixStream;
    async fn next(&self) -> io::Result<(UnixStream, Option<SocketAddr>)> {
        let (stream, _) = self.accept().await?;
        Ok((stream, None))
    }
}

/// Accept connections until the stop, each read by a task of its own, at most
/// `--max-connections` at once; the listener is closed at the stop.
async fn serve(listener: impl Listener, shared: Shared) {
    let slots = Arc::new(Semaphore::new(shared.config.max_connections));
    while let Some(permit) = slot(&slots, &shared).await {
        let accepted = tokio::select! {
            () = shared.stop.cancelled() => break,
            accepted = listener.next() => accepted,
        };
        match accepted {
            Ok((stream, peer)) => {
                let origin = shared.label(peer);
                tokio::spawn(connection(stream, origin, shared.clone(), permit));
            }
            Err(e) => accept_failed(&e).await,
        }
    }
}

/// A free connection slot, or `None` once stopping.
async fn slot(slots: &Arc<Semaphore>, shared: &Shared) -> Option<OwnedSemaphorePermit> {
    tokio::select! {
        () = shared.stop.cancelled() => None,
        permit = Arc::clone(slots).acquire_owned() => permit.ok(),
    }
}

/// A socket file left by an earlier run is removed; a live socket (something
/// answers on it) or any other file is not.
fn remove_stale(path: &Path) -> Result<(), String> {
    use std::os::unix::fs::FileTypeExt;
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return Ok(());
    };
    let shown = path.display();
    if !meta.file_type().is_socket() {
        return Err(format!(
            "--input unix:{shown}: the path exists and is not a socket: give another path"
        ));
    }
    if std::os::unix::net::UnixStream::connect(path).is_ok() {
        return Err(format!(
            "--input unix:{shown}: another process is listening on it"
        ));
    }
    std::fs::remove_file(path)
        .map_err(|e| format!("--input unix:{shown}: cannot remove the stale socket: {e}"))
}

/// Read one connection to its end (or to a stop request, or an error), sending its
/// lines in order.
async fn connection(
    mut reader: impl AsyncRead + Unpin,
    origin: Arc<str>,
    shared: Shared,
    _permit: OwnedSemaphorePermit,
) {
    shared.metrics.connections.inc();
    shared.metrics.connections_open.inc();
    eprintln!("trigc: {origin} connected");
    let mut codec = LineCodec::new(shared.config.max_line_bytes);
    let mut buf = BytesMut::with_capacity(READ_BYTES);
    let mut frames = Vec::new();
    let mut number = 0u64;
    let why = loop {
        if buf.capacity() - buf.len() < READ_BYTES / 2 {
            buf.reserve(READ_BYTES);
        }
        let read = tokio::select! {
            () = shared.stop.cancelled() => break "the service is stopping".to_owned(),
            read = reader.read_buf(&mut buf) => read,
        };
        let ended = match read {
            Ok(0) => {
                frames.extend(codec.finish(&mut buf));
                true
            }
            Ok(_) => {
                codec.decode_all(&mut buf, &mut frames);
                false
            }
            Err(e) => break format!("read error: {e}"),
        };
        if !frames.is_empty() && !send(&shared, &origin, &mut frames, &mut number).await {
            break "the service is stopping".to_owned();
        }
        if ended {
            break "closed by the producer".to_owned();
        }
    };
    shared.metrics.connections_open.dec();
    eprintln!("trigc: {origin} closed after {number} lines ({why})");
}

/// Number `frames` on from `number` and send them as one submission; false when
/// the engine is gone.
async fn send(
    shared: &Shared,
    origin: &Arc<str>,
    frames: &mut Vec<Frame>,
    number: &mut u64,
) -> bool {
    let lines = frames
        .drain(..)
        .map(|frame| {
            *number += 1;
            Numbered {
                number: *number,
                frame,
            }
        })
        .collect();
    let submission = Submission {
        origin: Arc::clone(origin),
        lines,
        ack: None,
    };
    shared.tx.send(submission).await.is_ok()
}
