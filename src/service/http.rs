//! The HTTP ingestion endpoint (`--input http://HOST:PORT/PATH`) and the small
//! HTTP/1 server it shares with `/metrics`, on hyper (no HTTP of our own).
//!
//! A `POST` to `PATH` carries one JSON event or NDJSON lines. The answer comes
//! only after the engine task has accepted the lines ([`super::Accept`], then
//! processing):
//! - `202` `{"accepted": N}`: every line was taken;
//! - `400` `{"accepted": N, "rejected": [{"line": L, "reason": "..."}]}`: the lines
//!   listed were rejected, the N others were taken (send only the rejected ones
//!   again, corrected); also for a body with no event;
//! - `401` without the bearer token `--ingest-token-env` names;
//! - `408` for a body not sent whole within 30 s;
//! - `413` for a body over `--max-body-bytes`;
//! - `429` with `Retry-After: 1` when the engine's queue, or the room for bodies
//!   being read ([`super::QUEUE`] at once), stayed full for 500 ms (nothing of the
//!   body was taken);
//! - `503` while stopping, or when the accept step refused the lines.
//!
//! Line numbers count the body's lines from 1.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, oneshot};
use tokio_util::sync::CancellationToken;

use super::{Ack, LineCodec, Numbered, Shared, Submission};

/// How long a request waits for room in the engine's queue before `429`.
const QUEUE_WAIT: Duration = Duration::from_millis(500);
/// How long a client may take to send its request headers, and its body (a
/// body being read holds one of the [`super::QUEUE`] slots for bodies).
const HEADER_TIMEOUT: Duration = Duration::from_secs(30);
const BODY_TIMEOUT: Duration = Duration::from_secs(30);
/// Connections `/metrics` serves at once.
const METRICS_CONNECTIONS: usize = 16;

/// Bind `addr` for the `flag`'s server.
pub async fn bind(addr: &str, flag: &str) -> Result<TcpListener, String> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| format!("{flag}: cannot listen on {addr}: {e}"))
}

/// A response with a body.
pub fn reply(code: u16, content_type: &'static str, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() =
        StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

fn json(code: u16, value: &serde_json::Value) -> Response<Full<Bytes>> {
    reply(code, "application/json", format!("{value}\n"))
}

/// Serve HTTP/1 connections from `listener` until `stop`, at most `limit` at once,
/// each request answered by `handle`. At `stop` the listener closes and each
/// connection finishes the request it is serving, then closes.
async fn serve<H, F>(listener: TcpListener, stop: CancellationToken, limit: usize, handle: H)
where
    H: Fn(Request<Incoming>, SocketAddr) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response<Full<Bytes>>> + Send + 'static,
{
    let slots = Arc::new(Semaphore::new(limit));
    loop {
        let permit = tokio::select! {
            () = stop.cancelled() => break,
            permit = Arc::clone(&slots).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
        };
        let (stream, peer) = tokio::select! {
            () = stop.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    super::stream::accept_failed(&e).await;
                    continue;
                }
            },
        };
        let handle = handle.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let service = service_fn(move |request| {
                let answer = handle(request, peer);
                async move { Ok::<_, Infallible>(answer.await) }
            });
            let mut builder = http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT);
            let connection = builder.serve_connection(TokioIo::new(stream), service);
            tokio::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => {}
                () = stop.cancelled() => {
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                }
            }
        });
    }
}

/// Serve `GET` requests answered by path (the metrics server).
pub async fn serve_get<A, F>(listener: TcpListener, stop: CancellationToken, answer: A)
where
    A: Fn(String) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response<Full<Bytes>>> + Send + 'static,
{
    let handle = move |request: Request<Incoming>, _: SocketAddr| {
        let answer = answer.clone();
        async move {
            if request.method() != Method::GET {
                return reply(405, "text/plain", "only GET\n".into());
            }
            answer(request.uri().path().to_owned()).await
        }
    };
    serve(listener, stop, METRICS_CONNECTIONS, handle).await;
}

/// Bind the ingestion endpoint and serve it in the background.
pub async fn listen(addr: &str, path: String, shared: Shared) -> Result<(), String> {
    let listener = bind(addr, "--input").await?;
    if let Ok(local) = listener.local_addr() {
        eprintln!("trigc: listening on http://{local}{path}");
    }
    let path: Arc<str> = path.into();
    let stop = shared.stop.clone();
    let limit = shared.config.max_connections;
    // Bodies read or waiting for the engine at once: with the queue's batches,
    // what bounds the memory requests hold (not connections x body size).
    let bodies = Arc::new(Semaphore::new(super::QUEUE));
    let handle = move |request: Request<Incoming>, peer: SocketAddr| {
        let shared = shared.clone();
        let path = Arc::clone(&path);
        let bodies = Arc::clone(&bodies);
        async move {
            let response = ingest(request, peer, &shared, &path, bodies).await;
            shared.metrics.http_response(response.status().as_u16());
            response
        }
    };
    tokio::spawn(serve(listener, stop, limit, handle));
    Ok(())
}

/// One request to the ingestion endpoint.
async fn ingest(
    request: Request<Incoming>,
    peer: SocketAddr,
    shared: &Shared,
    path: &str,
    bodies: Arc<Semaphore>,
) -> Response<Full<Bytes>> {
    if request.uri().path() != path {
        return reply(
            404,
            "text/plain",
            format!("not found: events go to {path}\n"),
        );
    }
    if request.method() != Method::POST {
        let mut response = reply(405, "text/plain", "POST events here\n".into());
        response
            .headers_mut()
            .insert(hyper::header::ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    if let Some(token) = &shared.config.ingest_token
        && !authorized(&request, token)
    {
        let mut response = json(
            401,
            &serde_json::json!({"error": "a valid bearer token is required"}),
        );
        response.headers_mut().insert(
            hyper::header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer"),
        );
        return response;
    }
    let max = shared.config.max_body_bytes;
    let too_large = || {
        json(
            413,
            &serde_json::json!({"error": format!("body over --max-body-bytes ({max} bytes)")}),
        )
    };
    let declared = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return too_large();
    }
    let Ok(Ok(_body_slot)) = tokio::time::timeout(QUEUE_WAIT, bodies.acquire_owned()).await else {
        return busy();
    };
    let body = Limited::new(request.into_body(), max).collect();
    let Ok(body) = tokio::time::timeout(BODY_TIMEOUT, body).await else {
        return json(
            408,
            &serde_json::json!({"error": format!("the body took over {}s", BODY_TIMEOUT.as_secs())}),
        );
    };
    let body = match body {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => return too_large(),
        Err(e) => {
            return json(
                400,
                &serde_json::json!({"error": format!("cannot read the body: {e}")}),
            );
        }
    };
    let lines = number_lines(body, shared.config.max_line_bytes);
    if lines
        .iter()
        .all(|n| matches!(&n.frame, super::Frame::Line(b) if crate::io::lines::is_blank(b)))
    {
        return json(
            400,
            &serde_json::json!({"accepted": 0, "error": "the body holds no event"}),
        );
    }
    let (tx, rx) = oneshot::channel();
    let submission = Submission {
        origin: shared.label(Some(peer)),
        lines,
        ack: Some(tx),
    };
    match tokio::time::timeout(QUEUE_WAIT, shared.tx.send(submission)).await {
        Err(_) => return busy(),
        Ok(Err(_)) => return stopping(),
        Ok(Ok(())) => {}
    }
    match rx.await {
        Ok(ack) => answer(&ack),
        Err(_) => stopping(),
    }
}

/// `429`: the engine's queue (or the room for bodies) stayed full; nothing of the
/// request was taken.
fn busy() -> Response<Full<Bytes>> {
    let mut response = json(429, &serde_json::json!({"error": "busy: retry later"}));
    response
        .headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from_static("1"));
    response
}

fn stopping() -> Response<Full<Bytes>> {
    json(
        503,
        &serde_json::json!({"error": "the service is stopping"}),
    )
}

/// The answer to a request whose lines the engine took.
fn answer(ack: &Ack) -> Response<Full<Bytes>> {
    if let Some(why) = &ack.refused {
        return json(503, &serde_json::json!({"error": why}));
    }
    if ack.rejected.is_empty() {
        return json(202, &serde_json::json!({"accepted": ack.accepted}));
    }
    let rejected: Vec<serde_json::Value> = ack
        .rejected
        .iter()
        .map(|(line, reason)| serde_json::json!({"line": line, "reason": reason}))
        .collect();
    json(
        400,
        &serde_json::json!({"accepted": ack.accepted, "rejected": rejected}),
    )
}

/// A body's lines, numbered from 1.
fn number_lines(body: Bytes, max_line_bytes: usize) -> Vec<Numbered> {
    let mut codec = LineCodec::new(max_line_bytes);
    let mut buf = BytesMut::from(body);
    let mut frames = Vec::new();
    codec.decode_all(&mut buf, &mut frames);
    frames.extend(codec.finish(&mut buf));
    (1..)
        .zip(frames)
        .map(|(number, frame)| Numbered { number, frame })
        .collect()
}

/// Whether the request carries `Authorization: Bearer <token>`, compared in time
/// independent of where the first difference lies.
fn authorized(request: &Request<Incoming>, token: &str) -> bool {
    let Some(given) = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "))
    else {
        return false;
    };
    let want = token.as_bytes();
    given.len() == want.len() && given.iter().zip(want).fold(0u8, |d, (a, b)| d | (a ^ b)) == 0
}
