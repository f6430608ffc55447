//! Runtime unit tests: a run exercises the triggers, and a key that holds nothing
//! is freed. Behaviour cases live in `tests/cases/run/`.

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

fn run(program: &Program) -> (Vec<String>, usize) {
    let mut runtime = Runtime::new(
        program,
        Box::new(Interp),
        RuntimeConfig {
            lateness: 3_600_000,
            until: Some(1_767_700_000_000),
            ..RuntimeConfig::default()
        },
    )
    .expect("the interpreter runs any program");
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
fn the_input_exercises_the_triggers() {
    let program = program();
    let (out, _) = run(&program);
    assert!(out.len() > 20, "{}", out.len());
}

#[test]
fn keys_holding_nothing_are_freed() {
    let program = program();
    let (_, customers) = run(&program);
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
    let mut runtime: Runtime<'_> = Runtime::new(&ping, Box::new(Interp), RuntimeConfig::default())
        .expect("the interpreter runs any program");
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

/// A fan-out whose payload does not read the customer shares one payload object
/// among its records; the NDJSON sink writes it once and copies it after. The bytes
/// are those of writing every record on its own, and a payload that reads the
/// customer (`key`) is still built per record.
#[test]
fn shared_fan_out_payloads_write_the_same_bytes() {
    const FAN: &str = "event WISH { product: string }\n\
        event PRICE keyed by product { product: string, old: float, new: float }\n\
        state wishlist: set<string> { WISH -> insert(product) }\n\
        trigger drop cooldown 1h on PRICE where new < old \
        for each key where wishlist contains product \
        then email \"d\" with { product: product, now: new } \
        and webhook \"https://x\" with { who: key, now: new } \
        and emit \"e\"\n";
    let mut sources = crate::syntax::SourceMap::default();
    sources.add("f.trig", FAN);
    let compiled = crate::compile(&sources);
    assert!(compiled.program.is_some(), "{:?}", compiled.diagnostics);
    let program = compiled.program.unwrap_or_default();
    let mut text = Vec::new();
    for i in 0..5 {
        text.push(format!(
            r#"{{"type":"WISH","user":"c{i}","ts":{},"product":"lamp"}}"#,
            1_000 + i
        ));
    }
    for (ts, new) in [(2_000, 15.5), (3_000, 12.0), (4_000_000, 11.0)] {
        text.push(format!(
            r#"{{"type":"PRICE","ts":{ts},"product":"lamp","old":20.0,"new":{new}}}"#
        ));
    }

    struct Sink<'b>(crate::io::sink::NdjsonSink<&'b mut Vec<u8>>);
    impl Output for Sink<'_> {
        fn action(&mut self, record: &ActionRecord<'_>, program: &Program, interner: &Interner) {
            self.0.write(record, program, interner);
        }
        fn notice(&mut self, _: &Notice) {}
    }

    let run = |out: &mut dyn Output| {
        let mut rt = Runtime::new(&program, Box::new(Interp), RuntimeConfig::default())
            .expect("the interpreter runs any program");
        let mut decoder = Decoder::new(&program);
        let mut event = Event::default();
        for (n, line) in text.iter().enumerate() {
            if let Decoded::Event =
                decoder.decode(line.as_bytes(), n as u64 + 1, rt.interner_mut(), &mut event)
            {
                rt.push(&event, out);
            }
        }
        rt.finish(out);
    };
    let mut each = Lines(Vec::new());
    run(&mut each);
    let mut bytes = Vec::new();
    let mut sink = Sink(crate::io::sink::NdjsonSink::new(&mut bytes));
    run(&mut sink);
    assert!(sink.0.finish().is_ok());
    drop(sink);
    let written: Vec<String> = String::from_utf8_lossy(&bytes)
        .lines()
        .map(str::to_string)
        .collect();
    // Two price drops reach 5 customers with 3 actions each; the third is past
    // the cooldown again.
    assert_eq!(each.0.len(), 3 * 5 * 2, "{:#?}", each.0);
    assert_eq!(written, each.0);
    assert!(
        each.0
            .iter()
            .any(|l| l.contains(r#""who":"c3","now":11.0"#)),
        "{:#?}",
        each.0
    );
}

/// `Customer::active` after every event: a live instance's trigger is always
/// marked, and a `restart` trigger's mark means an instance is there.
#[test]
fn active_marks_match_the_instance_lists() {
    let program = program();
    let mut runtime: Runtime<'_> =
        Runtime::new(&program, Box::new(Interp), RuntimeConfig::default())
            .expect("the interpreter runs any program");
    let mut decoder = Decoder::new(&program);
    let mut event = Event::default();
    let mut out = Lines(Vec::new());
    let mut checked = 0;
    for (n, line) in input().iter().enumerate() {
        let decoded = decoder.decode(
            line.as_bytes(),
            n as u64 + 1,
            runtime.interner_mut(),
            &mut event,
        );
        assert_eq!(decoded, Decoded::Event);
        runtime.push(&event, &mut out);
        let state = runtime.state();
        let live: Vec<_> = state.instances.slots().iter().filter(|i| i.live).collect();
        for inst in &live {
            let customer = state.customers.get(inst.customer);
            assert!(
                customer.is_some_and(|c| c.may_have(inst.trigger)),
                "line {n}"
            );
        }
        for id in state.customers.ids() {
            for t in 0..program.triggers.len() {
                let t = crate::ir::TriggerId::from_index(t);
                let marked = state.customers.get(id).is_some_and(|c| c.may_have(t));
                let has = live.iter().any(|i| i.customer == id && i.trigger == t);
                assert_eq!(marked, has, "line {n}: customer {id:?}, trigger {t:?}");
                checked += 1;
            }
        }
    }
    assert!(checked > 1000, "{checked}");
}

/// Strings in every place a symbol can live: set and list states, a string state,
/// `min`/`max`/`distinct` over strings, `last` events, kept start fields of waiting
/// instances, held events (lateness), payloads built with `upper` and `key`.
const STRINGS: &str = "event ADD_TO_CART { product: string }\n\
    event PURCHASE { order: string, amount: float }\n\
    state cart: set<string> { ADD_TO_CART -> insert(product)  PURCHASE -> clear() }\n\
    state recent: list<string> { PURCHASE -> push(order, 3) }\n\
    state last_order: string? { PURCHASE -> set(order) }\n\
    trigger cart on ADD_TO_CART wait 30m unless PURCHASE if not cart.empty \
    then emit \"cart\" with { items: cart, k: key, lo: min(ADD_TO_CART.product within 1h), \
    hi: max(ADD_TO_CART.product), ps: distinct(ADD_TO_CART.product within 1h) }\n\
    trigger bought on PURCHASE where order != \"x\" wait 10m \
    then emit \"p\" with { order: order, up: upper(order), k: key, \
    recent: recent, last: last_order, l: last(PURCHASE).order }\n";

fn strings_input() -> Vec<String> {
    let mut lines = Vec::new();
    for i in 0..600u32 {
        let user = format!("u{}", i % 23);
        let ts = 1_767_600_000_000u64 + u64::from(i) * 97_000 - u64::from(i % 7) * 40_000;
        if i % 3 == 0 {
            lines.push(format!(
                r#"{{"type":"PURCHASE","user":"{user}","ts":{ts},"order":"order-{i}","amount":{}.5}}"#,
                i % 9
            ));
        } else {
            lines.push(format!(
                r#"{{"type":"ADD_TO_CART","user":"{user}","ts":{ts},"product":"prod-{}"}}"#,
                (i * 7) % 41
            ));
        }
    }
    lines
}

/// `lines` through a runtime (lateness 5m), collecting the interner after every
/// line when `collect`, checkpointing and restoring after every line when
/// `checkpoint`; the records and notices, and the strings interned at the end.
fn run_strings(lines: &[String], collect: bool, checkpoint: bool) -> (Vec<String>, usize) {
    let mut sources = crate::syntax::SourceMap::default();
    sources.add("t.trig", STRINGS);
    let compiled = crate::compile(&sources);
    assert!(compiled.program.is_some(), "{:?}", compiled.diagnostics);
    let program = compiled.program.unwrap_or_default();
    let config = RuntimeConfig {
        lateness: 300_000,
        ..RuntimeConfig::default()
    };
    let mut runtime =
        Runtime::new(&program, Box::new(Interp), config).expect("the interpreter runs any program");
    let mut decoder = Decoder::new(&program);
    let mut event = Event::default();
    let mut out = Lines(Vec::new());
    for (n, line) in lines.iter().enumerate() {
        match decoder.decode(
            line.as_bytes(),
            n as u64 + 1,
            runtime.interner_mut(),
            &mut event,
        ) {
            Decoded::Event => runtime.push(&event, &mut out),
            other => panic!("line {n}: {other:?}"),
        }
        if collect {
            runtime.collect_strings();
        }
        if checkpoint {
            let json = serde_json::to_string(runtime.state()).unwrap_or_default();
            let state: RuntimeState = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}"));
            runtime = Runtime::restore(&program, Box::new(Interp), config, state)
                .expect("the interpreter runs any program");
        }
    }
    runtime.finish(&mut out);
    (out.0, runtime.interner().len())
}

/// Collecting the interner after every line (symbols freed and handed out again
/// all the time) changes no output byte, also with a checkpoint and restore after
/// every line; and it keeps the interner at what the state holds.
#[test]
fn collecting_strings_changes_no_output() {
    let lines = strings_input();
    let (plain, grown) = run_strings(&lines, false, false);
    assert!(plain.len() > 100, "{}", plain.len());
    let (collected, kept) = run_strings(&lines, true, false);
    assert_eq!(plain, collected);
    assert!(kept * 3 < grown, "kept {kept} of {grown}");
    let (restored, _) = run_strings(&lines, true, true);
    assert_eq!(plain, restored);
}

/// What the runtime hands to its engine: under the start index, a `where` the index
/// decides is left out (its rest is in); without the index, the whole `where` is in.
/// Payload members read directly (start fields, aggregates) and objects built member
/// by member are never in; reducer arguments that are fields neither.
#[test]
fn engine_entries_leave_out_what_the_runtime_decides() {
    let mut rules = String::from(
        "event VIEW { product: string, qty: int }\n\
         state seen: set<string> { VIEW -> insert(product) }\n",
    );
    for i in 0..20 {
        rules.push_str(&format!(
            "trigger t{i} on VIEW where product == \"p{i}\" and qty > {i} \
             then emit \"x\" with {{ product: product, views: count(VIEW within 1h), \
             more: qty + 1 }}\n"
        ));
    }
    let mut sources = crate::syntax::SourceMap::default();
    sources.add("t.trig", &rules);
    let compiled = crate::compile(&sources);
    let Some(program) = compiled.program else {
        panic!("{:?}", compiled.diagnostics);
    };
    let shown = |use_index| -> Vec<String> {
        let config = RuntimeConfig {
            start_index: use_index,
            ..RuntimeConfig::default()
        };
        entries::engine_entries(&program, &config)
            .into_iter()
            .map(|e| crate::ir::print::expr(&program, e))
            .collect()
    };
    let indexed = shown(StartIndexUse::Auto);
    // Per trigger: the rest of its `where` and the one computed payload member.
    assert_eq!(indexed.len(), 40, "{indexed:?}");
    assert!(
        indexed.contains(&"(cur.qty > 3)".to_string()),
        "{indexed:?}"
    );
    assert!(
        indexed.contains(&"(start.qty + 1)".to_string()),
        "{indexed:?}"
    );
    assert!(!indexed.iter().any(|e| e.contains("==")), "{indexed:?}");
    // Unindexed, each whole `where` instead of its rest.
    let unindexed = shown(StartIndexUse::Never);
    assert_eq!(unindexed.len(), 40, "{unindexed:?}");
    assert!(
        unindexed.contains(&"((cur.product == \"p3\") and (cur.qty > 3))".to_string()),
        "{unindexed:?}"
    );
    for listed in [&indexed, &unindexed] {
        assert!(
            !listed
                .iter()
                .any(|e| e.starts_with('{') || e == "start.product" || e.starts_with('a')),
            "{listed:?}"
        );
    }
}
