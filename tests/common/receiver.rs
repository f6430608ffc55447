//! An in-process webhook receiver on loopback for the delivery tests: answers by a
//! plan (503 for the first N requests, one 429 with `Retry-After`, 410 or 400 on
//! chosen paths), checks every signature with the `standardwebhooks` crate, and
//! records every request. Included as `#[path = "common/receiver.rs"] mod receiver;`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;

/// How the receiver answers.
#[derive(Clone, Default)]
pub struct Plan {
    /// The first this many requests get 503.
    pub fail_first: usize,
    /// The request after those gets 429 with `Retry-After: <secs>`.
    pub then_429: Option<u64>,
    /// Requests to these paths get this status, always.
    pub fixed: Vec<(String, u16)>,
}

/// One request as received.
#[derive(Clone, Debug)]
pub struct Seen {
    pub path: String,
    pub id: String,
    pub body: Vec<u8>,
    pub status: u16,
    pub at: Instant,
    pub signed_ok: bool,
}

#[derive(Default)]
struct Log {
    requests: Vec<Seen>,
}

/// A running receiver; it stops with the test process.
pub struct Receiver {
    pub addr: SocketAddr,
    log: Arc<Mutex<Log>>,
}

impl Receiver {
    /// Start on 127.0.0.1 (a free port), verifying with `secret` (`whsec_…`).
    pub fn start(plan: Plan, secret: &str) -> Receiver {
        let webhook = Arc::new(standardwebhooks::Webhook::new(secret).expect("a valid secret"));
        let log = Arc::new(Mutex::new(Log::default()));
        let (tx, rx) = std::sync::mpsc::channel();
        let shared = Arc::clone(&log);
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("a runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("bind loopback");
                tx.send(listener.local_addr().expect("an address"))
                    .expect("send");
                let plan = Arc::new(plan);
                loop {
                    let Ok((stream, _)) = listener.accept().await else {
                        continue;
                    };
                    let (log, plan, webhook) =
                        (Arc::clone(&shared), Arc::clone(&plan), Arc::clone(&webhook));
                    tokio::spawn(async move {
                        let service = service_fn(move |req: Request<hyper::body::Incoming>| {
                            let (log, plan, webhook) =
                                (Arc::clone(&log), Arc::clone(&plan), Arc::clone(&webhook));
                            async move { answer(req, &log, &plan, &webhook).await }
                        });
                        let _ = http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    });
                }
            });
        });
        let addr = rx.recv().expect("the receiver starts");
        Receiver { addr, log }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn requests(&self) -> Vec<Seen> {
        self.log.lock().unwrap().requests.clone()
    }

    /// Ids answered 2xx, with how many times each was.
    pub fn delivered(&self) -> HashMap<String, usize> {
        let mut ids = HashMap::new();
        for r in self.requests() {
            if (200..300).contains(&r.status) {
                *ids.entry(r.id).or_default() += 1;
            }
        }
        ids
    }
}

async fn answer(
    req: Request<hyper::body::Incoming>,
    log: &Mutex<Log>,
    plan: &Plan,
    webhook: &standardwebhooks::Webhook,
) -> Result<Response<Full<Bytes>>, std::convert::Infallible> {
    let path = req.uri().path().to_owned();
    let headers = req.headers().clone();
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes().to_vec())
        .unwrap_or_default();
    let signed_ok = webhook.verify(&body, &headers).is_ok();
    let id = headers
        .get("webhook-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let mut log = log.lock().unwrap();
    let n = log.requests.len();
    let mut retry_after = None;
    let status = if let Some((_, s)) = plan.fixed.iter().find(|(p, _)| *p == path) {
        *s
    } else if n < plan.fail_first {
        503
    } else if n == plan.fail_first
        && let Some(secs) = plan.then_429
    {
        retry_after = Some(secs);
        429
    } else {
        200
    };
    log.requests.push(Seen {
        path,
        id,
        body,
        status,
        at: Instant::now(),
        signed_ok,
    });
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::from_u16(status).unwrap();
    if let Some(secs) = retry_after {
        response
            .headers_mut()
            .insert("retry-after", secs.to_string().parse().unwrap());
    }
    Ok(response)
}
