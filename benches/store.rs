//! The state store, measured (issue #19): fjall against redb for `trigc run --state`
//! checkpoints of 100k and 1M customers, each with a pending timer.
//!
//! - `whole`: the checkpoint trigc wrote before incremental checkpoints, the
//!   session's whole state as one body (serialised, then stored in 1 MiB chunks):
//!   fjall through `durable::store::Store` (one batch, `PersistMode::Buffer`: kill
//!   -9 safe), redb in one write transaction with `Durability::Immediate` (its only
//!   kill -9 safe mode, one fsync per commit).
//! - `rows`: the two stores compared on the incremental layout, one row per
//!   customer (its key and data): all of them, then 1% of them rewritten.
//! - `trigc`: what `trigc run --state` writes now, through
//!   `StateDir::checkpoint_session`: the first checkpoint (full: every row), then
//!   incremental ones after events for 1% of the customers (half add to their cart,
//!   half purchase, which ends their instance and frees them), and one after nothing
//!   changed; then the time to open the store and restore the state.
//!
//! Medians of 5 (3 for whole bodies), printed as a Markdown table. Run:
//! `cargo bench --bench store` (`-- 100000` for one size only).

use std::path::Path;
use std::time::{Duration, Instant};

use redb::{ReadableDatabase, ReadableTable, TableDefinition};
use trigc::deliver::OutboxState;
use trigc::driver::Session;
use trigc::durable::rows::RowWrites;
use trigc::durable::store::{Commit, Store};
use trigc::durable::{Beside, InputPosition, StateDir};
use trigc::interp::Interner;
use trigc::io::lines::Line;
use trigc::ir::Program;
use trigc::runtime::carry::program_print;
use trigc::runtime::{ActionRecord, Interp, Notice, Output, RuntimeConfig};
use trigc::syntax::SourceMap;

const RULES: &str = "event ADD_TO_CART { product: string }\n\
    event PURCHASE { order: string }\n\
    state cart: set<string> { ADD_TO_CART -> insert(product)  PURCHASE -> clear() }\n\
    trigger remind cooldown 1d on ADD_TO_CART wait 30d unless PURCHASE \
    then emit \"remind\" with { items: cart }\n";

const CHUNKS: TableDefinition<u64, &[u8]> = TableDefinition::new("chunks");
const ROWS: TableDefinition<u64, &[u8]> = TableDefinition::new("rows");

struct Discard;

impl Output for Discard {
    fn action(&mut self, _: &ActionRecord<'_>, _: &Program, _: &Interner) {}
    fn notice(&mut self, _: &Notice) {}
}

fn program() -> Program {
    let mut sources = SourceMap::default();
    sources.add("store.trig", RULES);
    trigc::compile(&sources)
        .program
        .expect("the bench rules check")
}

/// A session with `n` customers, each with two products in its cart and a timer
/// due in 30 days.
fn session(program: &Program, n: u32) -> Session<'_> {
    let mut session = Session::new(program, Box::new(Interp), RuntimeConfig::default())
        .expect("the interpreter runs it");
    for i in 0..n {
        let s = i / 1000;
        let line = format!(
            r#"{{"type":"ADD_TO_CART","user":"customer-{i}","ts":"2026-01-05T{:02}:{:02}:{:02}Z","product":"p{}"}}"#,
            s / 3600 % 24,
            s / 60 % 60,
            s % 60,
            i % 500
        );
        let line = Line {
            number: u64::from(i) + 1,
            bytes: line.as_bytes(),
            terminated: true,
        };
        session.line(line, &mut Discard);
    }
    session
}

/// Events for 1% of the `n` customers, at `round` seconds past the session's
/// last event: even ones add to their cart, odd ones purchase.
fn touch(session: &mut Session<'_>, n: u32, round: u32) {
    let at = n / 1000 + round + 1;
    for i in (round..n).step_by(100) {
        let line = if i % 2 == 0 {
            format!(
                r#"{{"type":"ADD_TO_CART","user":"customer-{i}","ts":"2026-01-05T{:02}:{:02}:{:02}Z","product":"q{}"}}"#,
                at / 3600 % 24,
                at / 60 % 60,
                at % 60,
                i % 700
            )
        } else {
            format!(
                r#"{{"type":"PURCHASE","user":"customer-{i}","ts":"2026-01-05T{:02}:{:02}:{:02}Z","order":"o{i}"}}"#,
                at / 3600 % 24,
                at / 60 % 60,
                at % 60
            )
        };
        let line = Line {
            number: 1,
            bytes: line.as_bytes(),
            terminated: true,
        };
        session.line(line, &mut Discard);
    }
}

/// `trigc run --state`'s checkpoints of `session`: full, incremental after 1% of
/// the customers changed, after nothing changed; then a restore.
fn incremental(program: &Program, mut session: Session<'_>, n: u32) -> Vec<String> {
    let mut lines = Vec::new();
    let dir = fresh("trigc");
    let (mut state, _) = StateDir::open(&dir, program, &RuntimeConfig::default()).expect("a store");
    let print = program_print(program);
    let outbox = OutboxState::default();
    let input = InputPosition::default();
    let beside = Beside {
        print: &print,
        outbox: &outbox,
        input: &input,
    };
    let mut generation = 0;
    let mut checkpoint = |session: &mut Session<'_>| {
        generation += 1;
        let t = Instant::now();
        let written = state
            .checkpoint_session(session, beside, generation, 0, false)
            .expect("a checkpoint");
        (t.elapsed(), written)
    };
    let (full, written) = checkpoint(&mut session);
    assert!(written.full);
    lines.push(format!(
        "| {n} | full (the first) | {} | {} | {} | {} |",
        ms(full),
        written.rows,
        mib(written.bytes),
        mib(dir_size(&dir)),
    ));
    let (mut times, mut bytes, mut rows) = (Vec::new(), 0, 0);
    for round in 0..5 {
        touch(&mut session, n, round);
        let (took, written) = checkpoint(&mut session);
        assert!(!written.full);
        times.push(took);
        (bytes, rows) = (written.bytes, written.rows);
    }
    lines.push(format!(
        "| {n} | incremental, 1% of customers changed | {} | {rows} | {} | {} |",
        ms(median(times)),
        mib(bytes),
        mib(dir_size(&dir)),
    ));
    let (idle, written) = checkpoint(&mut session);
    lines.push(format!(
        "| {n} | incremental, nothing changed | {} | {} | {} | |",
        ms(idle),
        written.rows,
        mib(written.bytes),
    ));
    let pending = session.runtime.pending_timers();
    drop(state);
    let t = Instant::now();
    let (_state, restored) =
        StateDir::open(&dir, program, &RuntimeConfig::default()).expect("reopens");
    let saved = restored.saved.expect("a checkpoint");
    let resumed = Session::resume(
        program,
        Box::new(Interp),
        RuntimeConfig::default(),
        saved.session,
    )
    .expect("resumes");
    let open = t.elapsed();
    assert_eq!(resumed.runtime.pending_timers(), pending);
    lines.push(format!(
        "| {n} | open the store and restore | {} | | | |",
        ms(open)
    ));
    std::mem::forget(resumed);
    std::mem::forget(session);
    let _ = std::fs::remove_dir_all(&dir);
    lines
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1 << 20) as f64)
}

fn dir_size(path: &Path) -> u64 {
    let Ok(meta) = std::fs::metadata(path) else {
        return 0;
    };
    if meta.is_file() {
        return meta.len();
    }
    std::fs::read_dir(path)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| dir_size(&e.path()))
        .sum()
}

fn fresh(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("trigc-bench-store-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a temp dir");
    dir
}

fn redb_write(db: &redb::Database, table: TableDefinition<u64, &[u8]>, rows: &[(u64, &[u8])]) {
    let mut txn = db.begin_write().expect("a write transaction");
    txn.set_durability(redb::Durability::Immediate)
        .expect("durability");
    {
        let mut t = txn.open_table(table).expect("a table");
        for (k, v) in rows {
            t.insert(k, v).expect("insert");
        }
    }
    txn.commit().expect("commit");
}

fn fjall_rows(db: &fjall::Database, ks: &fjall::Keyspace, rows: &[(u64, &[u8])]) {
    let mut batch = db.batch().durability(Some(fjall::PersistMode::Buffer));
    for (k, v) in rows {
        batch.insert(ks, k.to_be_bytes(), *v);
    }
    batch.commit().expect("commit");
}

fn main() {
    let only: Option<u32> = std::env::args().skip(1).find_map(|a| a.parse().ok());
    let program = program();
    println!("| customers | what | serialise | fjall | redb | body | fjall dir | redb file |");
    println!("|---|---|---|---|---|---|---|---|");
    let mut trigc = Vec::new();
    for n in [100_000u32, 1_000_000] {
        if only.is_some_and(|o| o != n) {
            continue;
        }
        let session = session(&program, n);
        assert_eq!(session.runtime.pending_timers(), n as usize);

        // The whole checkpoint, as trigc writes it.
        let mut ser = Vec::new();
        let mut body = Vec::new();
        for _ in 0..3 {
            let t = Instant::now();
            body = serde_json::to_vec(&session.checkpoint()).expect("serialises");
            ser.push(t.elapsed());
        }
        let fjall_dir = fresh("whole-fjall");
        let store = Store::open(&fjall_dir).expect("a store");
        let mut meta = None;
        let mut fj = Vec::new();
        for generation in 1..=3 {
            let t = Instant::now();
            meta = Some(
                store
                    .commit(
                        meta.as_ref(),
                        Commit {
                            generation,
                            body: &body,
                            rows: RowWrites::default(),
                            journal_from: 0,
                            sync: false,
                        },
                    )
                    .expect("commit"),
            );
            fj.push(t.elapsed());
        }
        drop(store);
        let redb_dir = fresh("whole-redb");
        let redb_path = redb_dir.join("state.redb");
        let db = redb::Database::create(&redb_path).expect("a redb file");
        let chunks: Vec<(u64, &[u8])> = body
            .chunks(1 << 20)
            .enumerate()
            .map(|(i, c)| (i as u64, c))
            .collect();
        let mut rd = Vec::new();
        for _ in 0..3 {
            let t = Instant::now();
            redb_write(&db, CHUNKS, &chunks);
            rd.push(t.elapsed());
        }
        drop(db);
        println!(
            "| {n} | whole state (before incremental checkpoints) | {} | {} | {} | {} | {} | {} |",
            ms(median(ser)),
            ms(median(fj)),
            ms(median(rd)),
            mib(body.len() as u64),
            mib(dir_size(&fjall_dir)),
            mib(dir_size(&redb_path)),
        );
        let _ = std::fs::remove_dir_all(&fjall_dir);
        let _ = std::fs::remove_dir_all(&redb_dir);

        // One row per customer: all, then 1%.
        let state = session.runtime.state();
        let t = Instant::now();
        let rows: Vec<Vec<u8>> = state
            .customers
            .slots()
            .iter()
            .map(|c| serde_json::to_vec(c).expect("serialises"))
            .collect();
        let ser_rows = t.elapsed();
        let all: Vec<(u64, &[u8])> = rows
            .iter()
            .enumerate()
            .map(|(i, r)| (i as u64, &r[..]))
            .collect();
        let dirty: Vec<(u64, &[u8])> = all.iter().step_by(100).copied().collect();
        let fjall_dir = fresh("rows-fjall");
        let fdb = fjall::Database::builder(&fjall_dir).open().expect("fjall");
        let ks = fdb
            .keyspace("rows", fjall::KeyspaceCreateOptions::default)
            .expect("a keyspace");
        let t = Instant::now();
        fjall_rows(&fdb, &ks, &all);
        let fj_full = t.elapsed();
        let redb_dir = fresh("rows-redb");
        let redb_path = redb_dir.join("rows.redb");
        let db = redb::Database::create(&redb_path).expect("a redb file");
        let t = Instant::now();
        redb_write(&db, ROWS, &all);
        let rd_full = t.elapsed();
        let total: u64 = rows.iter().map(|r| r.len() as u64).sum();
        println!(
            "| {n} | rows, full | {} | {} | {} | {} | {} | {} |",
            ms(ser_rows),
            ms(fj_full),
            ms(rd_full),
            mib(total),
            mib(dir_size(&fjall_dir)),
            mib(dir_size(&redb_path)),
        );
        let (mut fj, mut rd) = (Vec::new(), Vec::new());
        for _ in 0..5 {
            let t = Instant::now();
            fjall_rows(&fdb, &ks, &dirty);
            fj.push(t.elapsed());
            let t = Instant::now();
            redb_write(&db, ROWS, &dirty);
            rd.push(t.elapsed());
        }
        let dirty_bytes: u64 = dirty.iter().map(|(_, r)| r.len() as u64).sum();
        // Still readable: the last row of each store.
        let read = db.begin_read().expect("read");
        assert!(
            read.open_table(ROWS)
                .expect("table")
                .get(&0)
                .expect("get")
                .is_some()
        );
        drop(read);
        drop(db);
        drop(ks);
        drop(fdb);
        println!(
            "| {n} | rows, 1% changed | {} | {} | {} | {} | {} | {} |",
            ms(ser_rows / 100),
            ms(median(fj)),
            ms(median(rd)),
            mib(dirty_bytes),
            mib(dir_size(&fjall_dir)),
            mib(dir_size(&redb_path)),
        );
        let _ = std::fs::remove_dir_all(&fjall_dir);
        let _ = std::fs::remove_dir_all(&redb_dir);
        trigc.extend(incremental(&program, session, n));
    }
    println!();
    println!(
        "| customers | `trigc run --state` checkpoint | time | rows written | bytes written | store |"
    );
    println!("|---|---|---|---|---|---|");
    for line in trigc {
        println!("{line}");
    }
}
