//! Runtime unit tests: the two timer queues give the same run, and a key that holds
//! nothing is freed. Behaviour cases live in `tests/cases/run/`.

use super::timers::{TimerHeap, TimerWheel};
use super::*;
use crate::interp::Interner;
use crate::io::{Decoded, Decoder};

const RULES: &str = "event ADD_TO_CART { product: string }\n\
    event PURCHASE { order: string }\n\
    state cart: set<string> { ADD_TO_CART -> insert(product)  PURCHASE -> clear() }\n\
    trigger cart on ADD_TO_CART wait 30m unless PURCHASE if not cart.empty \
    then emit \"cart\" with { items: cart }\n\
    trigger burst on ADD_TO_CART if count(ADD_TO_CART within 1h) >= 3 then emit \"burst\"\n";

struct Lines(Vec<String>);

impl Output for Lines {
    fn action(&mut self, record: &ActionRecord<'_>, program: &Program, interner: &Interner) {
        let mut buf = Vec::new();
        crate::io::sink::write_record(&mut buf, record, program, interner);
        self.0.push(String::from_utf8_lossy(&buf).into_owned());
    }
    fn notice(&mut self, notice: &Notice) {
        self.0.push(format!("{notice:?}"));
    }
}

fn program() -> Program {
    let mut sources = crate::syntax::SourceMap::default();
    sources.add("t.trig", RULES);
    let compiled = crate::compile(&sources);
    assert!(compiled.program.is_some(), "{:?}", compiled.diagnostics);
    compiled.program.unwrap_or_default()
}

fn input() -> Vec<String> {
    let mut lines = Vec::new();
    for i in 0..400u32 {
        let user = format!("u{}", i % 37);
        let minute = i * 7;
        let ts = format!(
            "2026-01-05T{:02}:{:02}:00Z",
            8 + minute / 60 % 14,
            minute % 60
        );
        let kind = if i % 11 == 0 {
            "PURCHASE"
        } else {
            "ADD_TO_CART"
        };
        lines.push(format!(
            r#"{{"type":"{kind}","user":"{user}","ts":"{ts}","product":"p{}","order":"o{i}"}}"#,
            i % 5
        ));
    }
    lines
}

fn run<Q: TimerQueue<TimerRef> + Default>(program: &Program) -> (Vec<String>, usize) {
    let mut runtime: Runtime<'_, Q> = Runtime::new(
        program,
        Box::new(Interp),
        RuntimeConfig {
            lateness: 3_600_000,
            until: Some(1_767_700_000_000),
            ..RuntimeConfig::default()
        },
    );
    let mut decoder = Decoder::new(program);
    let mut event = Event::default();
    let mut out = Lines(Vec::new());
    for (n, line) in input().iter().enumerate() {
        match decoder.decode(
            line.as_bytes(),
            n as u64 + 1,
            runtime.interner_mut(),
            &mut event,
        ) {
            Decoded::Event => runtime.push(&event, &mut out),
            other => panic!("line {n}: {other:?}"),
        }
    }
    runtime.finish(&mut out);
    (out.0, runtime.customers())
}

#[test]
fn heap_and_wheel_runs_are_identical() {
    let program = program();
    let (heap, _) = run::<TimerHeap<TimerRef>>(&program);
    let (wheel, _) = run::<TimerWheel<TimerRef>>(&program);
    assert!(
        heap.len() > 20,
        "the input exercises the triggers: {}",
        heap.len()
    );
    assert_eq!(heap, wheel);
}

#[test]
fn keys_holding_nothing_are_freed() {
    let program = program();
    let (_, customers) = run::<TimerHeap<TimerRef>>(&program);
    // Every cart timer fired or was cancelled by the end; what is left are keys
    // with a non-empty cart or a live count window, never more than the 37 users.
    assert!(customers <= 37, "{customers}");
    let mut sources = crate::syntax::SourceMap::default();
    sources.add(
        "t.trig",
        "event PING { n: int }\ntrigger t on PING then emit \"pong\"\n",
    );
    let compiled = crate::compile(&sources);
    let Some(ping) = compiled.program else {
        panic!("{:?}", compiled.diagnostics)
    };
    let mut runtime: Runtime<'_> = Runtime::new(&ping, Box::new(Interp), RuntimeConfig::default());
    let mut decoder = Decoder::new(&ping);
    let mut event = Event::default();
    let mut out = Lines(Vec::new());
    let line = br#"{"type":"PING","user":"u1","ts":"2026-01-05T10:00:00Z","n":1}"#;
    assert_eq!(
        decoder.decode(line, 1, runtime.interner_mut(), &mut event),
        Decoded::Event
    );
    runtime.push(&event, &mut out);
    assert_eq!(out.0.len(), 1);
    assert_eq!(
        runtime.customers(),
        0,
        "a key with no state and no pending step costs nothing"
    );
    assert_eq!(runtime.pending_timers(), 0);
}
