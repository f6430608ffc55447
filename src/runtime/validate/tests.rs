//! Validation refuses one edited field at a time, naming it, in the state of a
//! real run (pending timers, held events, several customers, a scheduled trigger).

use serde_json::{Value as Json, json};

use crate::driver::Session;
use crate::interp::Interp;
use crate::io::lines::Line;
use crate::ir::Program;
use crate::runtime::{ActionRecord, Notice, Output, RuntimeConfig, RuntimeState};

const RULES: &str = "event VISIT { page: string }\n\
    event ADD { product: string }\n\
    state pages: set<string> { VISIT -> insert(page) }\n\
    trigger follow reentry parallel on ADD wait 1h then emit \"f\" with { product: product }\n\
    trigger hourly every 1h if count(VISIT within 1d) >= 1 then emit \"h\"\n";

struct Quiet;

impl Output for Quiet {
    fn action(&mut self, _: &ActionRecord<'_>, _: &Program, _: &crate::interp::Interner) {}
    fn notice(&mut self, _: &Notice) {}
}

fn program() -> Program {
    let mut sources = crate::syntax::SourceMap::default();
    sources.add("t.trig", RULES);
    let compiled = crate::compile(&sources);
    assert!(compiled.program.is_some(), "{:?}", compiled.diagnostics);
    compiled.program.unwrap_or_default()
}

const CONFIG: RuntimeConfig = RuntimeConfig {
    lateness: 600_000,
    late: crate::runtime::LatePolicy::Drop,
    until: None,
    start_index: crate::runtime::StartIndexUse::Auto,
    track_changes: false,
};

/// The runtime state of a run, as JSON.
fn state(program: &Program) -> Json {
    let mut session = Session::new(program, Box::new(Interp), CONFIG).expect("interp runs it");
    for i in 0..40u32 {
        let (kind, member) = if i % 3 == 0 {
            ("VISIT", "page")
        } else {
            ("ADD", "product")
        };
        let line = format!(
            r#"{{"type":"{kind}","user":"u{}","ts":"2026-01-05T10:{:02}:00Z","{member}":"x{}"}}"#,
            i % 4,
            i,
            i % 5
        );
        let line = Line {
            number: u64::from(i) + 1,
            bytes: line.as_bytes(),
            terminated: true,
        };
        session.line(line, &mut Quiet);
    }
    serde_json::to_value(session.checkpoint().runtime).expect("state serialises")
}

/// What validating `state` after `edit` says.
fn refusal(edit: impl FnOnce(&mut Json)) -> String {
    let program = program();
    let mut state = state(&program);
    edit(&mut state);
    let state: RuntimeState = serde_json::from_value(state).expect("still a state");
    match state.validate_for(&program, &CONFIG) {
        Ok(()) => panic!("the edited state was accepted"),
        Err(what) => what,
    }
}

/// The index of the first live instance slot.
fn live_slot(state: &Json) -> usize {
    let slots = state["instances"]["slots"].as_array().expect("a slab");
    slots
        .iter()
        .position(|s| s["live"] == json!(true))
        .expect("a live instance")
}

#[test]
fn the_unedited_state_is_valid() {
    let program = program();
    let state: RuntimeState = serde_json::from_value(state(&program)).expect("a state");
    assert_eq!(state.validate_for(&program, &CONFIG), Ok(()));
    assert!(!state.clock.held.is_empty(), "the run holds events");
    assert!(state.instances.live() > 1, "the run has pending instances");
}

#[test]
fn a_trigger_beyond_the_program_is_refused() {
    let what = refusal(|s| {
        let i = live_slot(s);
        s["instances"]["slots"][i]["trigger"] = json!(99);
    });
    assert!(what.contains("trigger 99 does not exist"), "{what}");
}

#[test]
fn an_instance_linked_to_itself_is_refused() {
    let mut slot = 0;
    let what = refusal(|s| {
        slot = live_slot(s);
        s["instances"]["slots"][slot]["next"] = json!(slot);
    });
    assert_eq!(
        what,
        format!("instance {slot}: next points back into its own list")
    );
}

#[test]
fn a_watermark_beyond_all_times_is_refused() {
    let what = refusal(|s| s["clock"]["watermark"] = json!(i64::MAX));
    assert!(
        what.starts_with("the watermark 9223372036854775807 is outside"),
        "{what}"
    );
}

#[test]
fn a_string_beyond_the_interner_is_refused() {
    let what = refusal(|s| {
        let held = &mut s["clock"]["held"][0]["fields"][0];
        assert!(held.get("Str").is_some(), "{held}");
        *held = json!({ "Str": 100_000 });
    });
    assert!(
        what.starts_with("string 100000 is held but not interned"),
        "{what}"
    );
}

#[test]
fn a_timer_beyond_the_slab_is_refused() {
    let what = refusal(|s| {
        let timer = s["timers"]["heap"]
            .as_array_mut()
            .and_then(|heap| heap.iter_mut().find(|t| t[2].as_u64() < Some(1 << 40)))
            .expect("a step timer");
        timer[2] = json!(1000u64 << 32);
    });
    assert!(
        what.contains("names instance slot 1000, beyond the"),
        "{what}"
    );
}

#[test]
fn a_schedule_instant_behind_the_watermark_is_refused() {
    let what = refusal(|s| {
        let timer = s["timers"]["heap"]
            .as_array_mut()
            .and_then(|heap| {
                heap.iter_mut()
                    .find(|t| t[2].as_u64().is_some_and(|r| r as u32 == u32::MAX))
            })
            .expect("a schedule timer");
        timer[0] = json!(0);
    });
    assert!(what.contains("queued before the watermark"), "{what}");
}

#[test]
fn a_free_list_loop_and_a_wrong_count_are_refused() {
    let what = refusal(|s| s["instances"]["live"] = json!(0));
    assert!(what.contains("counts 0 live instances"), "{what}");
    let what = refusal(|s| s["customers"]["len"] = json!(99));
    assert!(what.contains("counts 99 customers"), "{what}");
    let what = refusal(|s| s["stats"]["events"] = json!(u64::MAX));
    assert!(
        what.starts_with("stats.events is 18446744073709551615"),
        "{what}"
    );
}
