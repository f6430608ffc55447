//! Golden tests through the built `trigc` binary: exit codes, what goes to stdout
//! and stderr, and the JSON diagnostics format.

#[path = "common/bin.rs"]
mod bin;
#[path = "common/temp.rs"]
mod temp;

use std::process::Output;

use bin::{run as trigc, text};
use temp::{temp_dir, write};

/// `out` ended with exit code `code` (its stderr is the failure message).
fn assert_exit(out: &Output, code: i32) {
    assert_eq!(out.status.code(), Some(code), "{}", text(&out.stderr));
}

/// `out`'s stderr does not contain `needle`.
fn assert_stderr_lacks(out: &Output, needle: &str) {
    assert!(!text(&out.stderr).contains(needle), "{}", text(&out.stderr));
}

/// `out`'s stderr contains `needle` (the whole stderr is the failure message).
fn assert_stderr_has(out: &Output, needle: &str) {
    assert!(text(&out.stderr).contains(needle), "{}", text(&out.stderr));
}

const CLEAN: &str = "event VISIT { page: string? }\n\
trigger hello\n  cooldown 1d\n  on VISIT\n  then webhook \"https://h.example/x\"\n";

#[test]
fn check_clean_rules_exits_0() {
    let out = trigc(&["check", "rules/"]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    assert!(
        out.stdout.is_empty(),
        "check prints nothing on stdout in text mode"
    );
    assert_stderr_has(&out, "0 errors, 0 warnings");
}

#[test]
fn check_reports_every_error_with_location_and_exits_1() {
    let dir = temp_dir("errors");
    let file = write(
        &dir,
        "bad.trig",
        b"event VISIT { page: string? }\n\
trigger a\n  cooldown 1d\n  on VISTI\n  then webhook \"u\"\n\
trigger b\n  priority 500\n  cooldown 1d\n  on VISIT\n  then webhook \"u\"\n",
    );
    let out = trigc(&["check", &file]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {err}");
    assert!(err.contains("trig::unknown-event"), "{err}");
    assert!(err.contains("VISIT"), "did-you-mean names the event: {err}");
    assert!(err.contains("trig::priority-out-of-range"), "{err}");
    assert!(
        err.contains("bad.trig:4:"),
        "errors name file:line:col: {err}"
    );
    assert!(err.contains("2 errors"), "{err}");
}

#[test]
fn check_json_format_is_machine_readable() {
    let dir = temp_dir("json");
    let file = write(
        &dir,
        "bad.trig",
        b"event VISIT { page: string? }\ntrigger a cooldown 1d on VISTI then emit \"x\"\n",
    );
    let out = trigc(&["check", "--format", "json", &file]);
    assert_eq!(out.status.code(), Some(1));
    let diags: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    let all = diags.as_array().expect("an array");
    let first = all
        .iter()
        .find(|d| d["code"] == "trig::unknown-event")
        .expect("the unknown event");
    assert_eq!(first["severity"], "error");
    assert_eq!(first["line"], 2);
    assert_eq!(first["column"], 26);
    assert_eq!(first["end_column"], 31);
    // The misspelt event's declaration is then unused: a warning, reported too.
    assert!(
        all.iter()
            .any(|d| d["code"] == "trig::unused-event" && d["severity"] == "warning")
    );
    assert!(
        first["file"]
            .as_str()
            .is_some_and(|f| f.ends_with("bad.trig"))
    );
    assert!(
        first["help"].as_str().is_some_and(|h| h.contains("VISIT")),
        "{first}"
    );
}

#[test]
fn warnings_pass_unless_denied() {
    let dir = temp_dir("warn");
    // A messaging trigger with neither cooldown nor limit warns (notification fatigue).
    let file = write(
        &dir,
        "warn.trig",
        b"event VISIT { page: string? }\ntrigger a on VISIT then webhook \"u\"\n",
    );
    let out = trigc(&["check", &file]);
    assert_exit(&out, 0);
    assert!(text(&out.stderr).contains("trig::no-frequency-cap"));
    let denied = trigc(&["check", "--deny-warnings", &file]);
    assert_eq!(denied.status.code(), Some(1));
    assert_stderr_has(&denied, "warnings are denied (--deny-warnings)");
}

#[test]
fn usage_and_io_errors_exit_2() {
    assert_eq!(trigc(&["check"]).status.code(), Some(2));
    assert_eq!(
        trigc(&["check", "/nonexistent/rules.trig"]).status.code(),
        Some(2)
    );
    assert_eq!(trigc(&["frobnicate"]).status.code(), Some(2));
    let dir = temp_dir("empty");
    assert_eq!(
        trigc(&["check", &dir.display().to_string()]).status.code(),
        Some(2)
    );
}

#[test]
fn invalid_utf8_is_a_diagnostic_not_a_crash() {
    let dir = temp_dir("utf8");
    let file = write(
        &dir,
        "bin.trig",
        b"event VISIT { page: string? }\n\xff\xfe\x00trigger\n",
    );
    let out = trigc(&["check", &file]);
    assert_eq!(out.status.code(), Some(1));
    assert_stderr_has(&out, "trig::invalid-utf8");
}

#[test]
fn compile_emits_ast_and_ir() {
    let dir = temp_dir("emit");
    let file = write(&dir, "ok.trig", CLEAN.as_bytes());
    let ir = trigc(&["compile", "--emit", "ir", &file]);
    assert_exit(&ir, 0);
    assert!(text(&ir.stdout).contains("hello"));
    let ast = trigc(&["compile", "--emit", "ast", &file]);
    assert_eq!(ast.status.code(), Some(0));
    assert!(text(&ast.stdout).contains("VISIT"));
    // Same input, same output.
    assert_eq!(trigc(&["compile", "--emit", "ir", &file]).stdout, ir.stdout);
}

#[test]
fn explain_knows_every_code() {
    let out = trigc(&["explain", "unknown-event"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).contains("trig::unknown-event"));
    let list = trigc(&["explain"]);
    for code in trigc::diag::Code::ALL {
        assert!(
            text(&list.stdout).contains(&code.to_string()),
            "{code} missing from `trigc explain`"
        );
    }
    assert_eq!(trigc(&["explain", "no-such-code"]).status.code(), Some(2));
}

#[test]
fn each_rule_file_loads_once_through_repeats_and_symlink_cycles() {
    let dir = temp_dir("links");
    let sub = dir.join("sub");
    std::fs::create_dir_all(&sub).expect("sub dir");
    let file = write(&sub, "hello.trig", CLEAN.as_bytes());
    let root = dir.display().to_string();
    // The same file named twice, and next to its own directory.
    let out = trigc(&["check", &file, &file, &root]);
    assert_exit(&out, 0);
    assert_stderr_has(&out, "checked 1 file:");
    // A symlink to a directory above, and one to itself: the walk still ends.
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink("..", sub.join("up")).expect("symlink");
        std::os::unix::fs::symlink(&sub, sub.join("self")).expect("symlink");
        let out = trigc(&["check", &root]);
        assert_exit(&out, 0);
        assert_stderr_has(&out, "checked 1 file:");
    }
}

#[test]
fn rejects_may_not_overwrite_the_input_or_a_rule_file() {
    let dir = temp_dir("rejects-clash");
    let rules = write(&dir, "r.trig", CLEAN.as_bytes());
    let line = "{\"type\":\"VISIT\",\"user\":\"a\",\"ts\":0}\n";
    let input = write(&dir, "in.ndjson", line.as_bytes());
    for target in [&input, &rules] {
        let out = trigc(&["run", &rules, "--input", &input, "--rejects", target]);
        assert_exit(&out, 2);
        assert_stderr_has(&out, "would overwrite");
    }
    assert_eq!(std::fs::read_to_string(&input).ok().as_deref(), Some(line));
    assert_eq!(std::fs::read_to_string(&rules).ok().as_deref(), Some(CLEAN));
}

#[test]
fn a_byte_order_mark_starts_neither_a_rule_file_nor_the_input() {
    let dir = temp_dir("bom");
    let rules = write(&dir, "r.trig", format!("\u{feff}{CLEAN}").as_bytes());
    let input = write(
        &dir,
        "in.ndjson",
        "\u{feff}{\"type\":\"VISIT\",\"user\":\"a\",\"ts\":0}\n".as_bytes(),
    );
    let out = trigc(&["run", &rules, "--input", &input]);
    assert_exit(&out, 0);
    assert_stderr_has(&out, "rejected: 0");
    assert!(
        text(&out.stdout).contains("\"trigger\":\"hello\""),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn text_and_json_diagnostics_agree_on_columns_after_non_ascii_text() {
    let dir = temp_dir("columns");
    let file = write(
        &dir,
        "uni.trig",
        "event P { order: string, amount: float }\n\
trigger h cooldown 1d on P where order == \"café\" and amout > 1 then emit \"x\"\n"
            .as_bytes(),
    );
    let text_out = text(&trigc(&["check", &file]).stderr);
    let json_out = text(&trigc(&["check", "--format", "json", &file]).stdout);
    // `amout` is the 54th character of line 2 (the 55th byte: `é` is two bytes).
    assert!(text_out.contains("uni.trig:2:54]"), "{text_out}");
    assert!(json_out.contains("\"column\": 54"), "{json_out}");
}

#[test]
fn run_stops_and_says_so_when_the_output_reader_goes_away() {
    use std::io::BufRead;
    let dir = temp_dir("pipe");
    let rules = write(&dir, "r.trig", CLEAN.as_bytes());
    // Every line fires (a new customer each): far more output than a pipe buffers.
    let lines: String = (0..200_000)
        .map(|i| {
            format!(
                "{{\"type\":\"VISIT\",\"user\":\"c{i}\",\"ts\":{}}}\n",
                1_767_571_200_000u64 + i
            )
        })
        .collect();
    let input = write(&dir, "in.ndjson", lines.as_bytes());
    // Read one record, then drop the reader, like `| head -1`.
    let first_record_then_close = |extra: &[&str]| {
        let mut child = bin::trigc()
            .args(
                [
                    &["run", rules.as_str(), "--input", input.as_str()][..],
                    extra,
                ]
                .concat(),
            )
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("the trigc binary runs");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut first = String::new();
        std::io::BufReader::new(stdout)
            .read_line(&mut first)
            .expect("one record");
        assert!(first.contains("\"trigger\":\"hello\""), "{first}");
        child.wait_with_output().expect("trigc ends")
    };
    // The run did not get to the end of its input: one line says so, and the status
    // is a SIGPIPE death's, as `set -o pipefail` expects of any tool.
    let out = first_record_then_close(&[]);
    assert_exit(&out, 141);
    assert_stderr_has(&out, "the output was closed after line ");
    assert_eq!(
        text(&out.stderr).lines().count(),
        1,
        "{}",
        text(&out.stderr)
    );
    // With --checkpoint, the unread rest of the input would be lost: an error, and
    // no checkpoint (nor temporary file) is left.
    let state = dir.join("state.json");
    let out = first_record_then_close(&["--checkpoint", &state.display().to_string()]);
    assert_exit(&out, 2);
    assert_stderr_has(&out, "no checkpoint written");
    assert!(!state.exists() && !dir.join("state.json.tmp").exists());
}

#[test]
fn a_closed_stdout_is_not_a_crash_for_any_subcommand() {
    for args in [
        &["explain"][..],
        &["explain", "unused-event"],
        &["compile", "--emit", "ast", "rules/"],
        &["check", "--format", "json", "rules/"],
        &["gen", "--events", "100000"],
    ] {
        let mut child = bin::trigc()
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("the trigc binary runs");
        drop(child.stdout.take());
        let out = child.wait_with_output().expect("trigc ends");
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(
            !text(&out.stderr).contains("panicked"),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
}

#[test]
fn action_ids_do_not_depend_on_other_customers_events() {
    let dir = temp_dir("ids");
    let u1 = "{\"type\":\"ADD_TO_CART\",\"user\":\"u1\",\"ts\":\"2026-01-05T10:00:00Z\",\"product\":\"p1\",\"price\":5}\n\
{\"type\":\"EMAIL_SENT\",\"user\":\"u1\",\"ts\":\"2026-01-05T10:01:00Z\",\"campaign\":\"c1\"}\n";
    let other = "{\"type\":\"ADD_TO_CART\",\"user\":\"zz\",\"ts\":\"2026-01-05T09:00:00Z\",\"product\":\"p2\",\"price\":7}\n\
{\"type\":\"EMAIL_SENT\",\"user\":\"zz\",\"ts\":\"2026-01-05T09:30:00Z\",\"campaign\":\"c1\"}\n";
    let alone = write(&dir, "alone.ndjson", u1.as_bytes());
    let mixed = write(&dir, "mixed.ndjson", format!("{other}{u1}").as_bytes());
    let ids_of_u1 = |input: &str| -> Vec<String> {
        let out = trigc(&[
            "run",
            "rules/",
            "--input",
            input,
            "--until",
            "2026-01-08T00:00:00Z",
        ]);
        assert_exit(&out, 0);
        text(&out.stdout)
            .lines()
            .filter(|l| l.contains("\"key\":\"u1\""))
            .filter_map(|l| l.split("\"id\":\"").nth(1).map(|r| r[..32].to_owned()))
            .collect()
    };
    let alone_ids = ids_of_u1(&alone);
    assert!(
        alone_ids.len() >= 2,
        "u1 fires cart and email triggers: {alone_ids:?}"
    );
    assert_eq!(alone_ids, ids_of_u1(&mixed));
}

#[test]
fn an_events_file_given_as_rules_points_at_input() {
    let out = trigc(&["run", "rules/", "rules/sample-events.ndjson"]);
    assert_exit(&out, 2);
    assert_stderr_has(&out, "looks like events, not rules: give it with `--input`");
}

#[test]
fn an_until_before_the_last_event_is_pointed_out() {
    let dir = temp_dir("until");
    let rules = write(&dir, "r.trig", CLEAN.as_bytes());
    let input = write(
        &dir,
        "in.ndjson",
        b"{\"type\":\"VISIT\",\"user\":\"a\",\"ts\":\"2026-01-05T00:00:00Z\"}\n",
    );
    let out = trigc(&[
        "run",
        &rules,
        "--input",
        &input,
        "--until",
        "2026-01-01T00:00:00Z",
    ]);
    assert_exit(&out, 0);
    assert_stderr_has(
        &out,
        "warning: --until 2026-01-01T00:00:00Z is before the last event (2026-01-05T00:00:00Z)",
    );
}

#[test]
fn an_enroll_cycle_without_wait_is_cut_not_endless() {
    let dir = temp_dir("enroll-cycle");
    let rules = write(
        &dir,
        "r.trig",
        b"event VISIT { page: string? }\n\
trigger starter\n  on VISIT\n  then enroll ping\n\
trigger ping\n  on enroll\n  then emit \"ping\" and enroll pong\n\
trigger pong\n  on enroll\n  then emit \"pong\" and enroll ping\n",
    );
    let input = write(
        &dir,
        "in.ndjson",
        b"{\"type\":\"VISIT\",\"user\":\"a\",\"ts\":\"2026-01-05T10:00:00Z\"}\n\
{\"type\":\"VISIT\",\"user\":\"b\",\"ts\":\"2026-01-05T10:00:00Z\"}\n",
    );
    let out = trigc(&["run", &rules, "--input", &input]);
    assert_exit(&out, 0);
    // Per customer: the starter's enroll (not chained), then 100 chained enrolls
    // admitted, so 101 instances each emit once: 202 records; the next is dropped.
    let records = text(&out.stdout);
    for key in ["a", "b"] {
        let n = records
            .lines()
            .filter(|l| l.contains(&format!("\"key\":\"{key}\"")))
            .count();
        assert_eq!(n, 202, "{key}");
    }
    assert_stderr_has(&out, "warning: 2 `enroll` actions dropped");
}

#[test]
fn a_run_split_by_checkpoint_and_resume_equals_one_run() {
    let dir = temp_dir("checkpoint");
    let stream = trigc(&[
        "gen",
        "--events",
        "20000",
        "--customers",
        "500",
        "--seed",
        "7",
    ]);
    assert_exit(&stream, 0);
    let all = text(&stream.stdout);
    let lines: Vec<&str> = all.lines().collect();
    let (first, second) = lines.split_at(11_000);
    let whole = write(&dir, "whole.ndjson", all.as_bytes());
    let a = write(&dir, "a.ndjson", (first.join("\n") + "\n").as_bytes());
    let b = write(&dir, "b.ndjson", (second.join("\n") + "\n").as_bytes());
    let state = dir.join("state.json").display().to_string();
    for lateness in ["0s", "5m"] {
        let runs = SplitRuns::of(
            "rules/",
            [&whole, &a, &b],
            &state,
            &["--lateness", lateness],
        );
        let split = runs.split();
        assert!(
            split.lines().count() > 1000,
            "the rules fire: {}",
            split.lines().count()
        );
        assert_eq!(text(&runs.one.stdout), split, "lateness {lateness}");
        // The summary of the resumed run counts both parts.
        assert_stderr_has(&runs.part_b, "events read: 20000,");
    }
    // Other rules refuse the checkpoint instead of misreading it.
    let other = write(&dir, "other.trig", CLEAN.as_bytes());
    let out = trigc(&["run", &other, "--input", &b, "--resume", &state]);
    assert_eq!(out.status.code(), Some(2));
    assert_stderr_has(&out, "was written by different rules");
    // So does a checkpoint of another layout (here: one from before formats were
    // numbered, which kept gates in a separate map).
    let saved = std::fs::read_to_string(&state).unwrap_or_default();
    let (header, body) = saved.split_once('\n').unwrap_or_default();
    assert!(
        header.starts_with("{\"trigc_checkpoint\":2,") && body.starts_with("{\"format\":2,"),
        "{}",
        &saved[..saved.len().min(120)]
    );
    let old = write(
        &dir,
        "old.json",
        body.replacen("\"format\":2,", "", 1).as_bytes(),
    );
    let out = trigc(&["run", "rules/", "--input", &b, "--resume", &old]);
    assert_eq!(out.status.code(), Some(2));
    assert_stderr_has(&out, "another version of trigc (checkpoint format 0");
    // An unwritable checkpoint path fails before any input is read.
    let nowhere = dir.join("no/such/dir/state.json").display().to_string();
    let out = trigc(&["run", "rules/", "--input", &whole, "--checkpoint", &nowhere]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
    assert_stderr_has(&out, "cannot write the checkpoint");
}

/// A checkpoint taken while chained enrolls of the last instant are counted (the
/// enroll bound's state) writes, and resumes to the output of one run.
#[test]
fn a_checkpoint_with_chained_enrolls_pending_resumes() {
    let dir = temp_dir("checkpoint-enroll");
    let rules = write(
        &dir,
        "r.trig",
        b"event A { x: int }\n\
trigger a on A then enroll b\n\
trigger b on enroll then emit \"b\" and enroll c\n\
trigger c on enroll wait 1h then emit \"c\"\n",
    );
    let first = "{\"type\":\"A\",\"user\":\"u1\",\"ts\":\"2026-01-05T00:00:00Z\",\"x\":1}\n";
    let second = "{\"type\":\"A\",\"user\":\"u2\",\"ts\":\"2026-01-05T03:00:00Z\",\"x\":2}\n";
    let whole = write(&dir, "whole.ndjson", format!("{first}{second}").as_bytes());
    let a = write(&dir, "a.ndjson", first.as_bytes());
    let b = write(&dir, "b.ndjson", second.as_bytes());
    let state = dir.join("state.json").display().to_string();
    let runs = SplitRuns::of(&rules, [&whole, &a, &b], &state, &[]);
    let split = runs.split();
    assert_eq!(split.lines().count(), 7, "{split}");
    assert_eq!(text(&runs.one.stdout), split);
}

/// One run over a whole input, and the same input split in two: the first part
/// run with `--checkpoint STATE`, the second with `--resume STATE`.
struct SplitRuns {
    one: std::process::Output,
    part_a: std::process::Output,
    part_b: std::process::Output,
}

impl SplitRuns {
    fn of(rules: &str, [whole, a, b]: [&str; 3], state: &str, extra: &[&str]) -> SplitRuns {
        let run = |input: &str, more: &[&str]| {
            let out = trigc(&[&["run", rules, "--input", input], extra, more].concat());
            assert_exit(&out, 0);
            out
        };
        SplitRuns {
            one: run(whole, &[]),
            part_a: run(a, &["--checkpoint", state]),
            part_b: run(b, &["--resume", state]),
        }
    }

    /// The records of the two parts, in order.
    fn split(&self) -> String {
        format!("{}{}", text(&self.part_a.stdout), text(&self.part_b.stdout))
    }
}

#[test]
fn many_enrolls_from_events_at_one_instant_are_not_a_loop() {
    let dir = temp_dir("enroll-backfill");
    let rules = write(
        &dir,
        "r.trig",
        b"event PURCHASE { order: string }\n\
trigger purchase_entry on PURCHASE then enroll review_request\n\
trigger review_request\n  reentry parallel\n  limit 1000 per 1d\n  on enroll\n  wait 3d\n  then emit \"review\"\n",
    );
    let lines: String = (0..120)
        .map(|i| format!("{{\"type\":\"PURCHASE\",\"user\":\"acme\",\"ts\":\"2026-01-05T00:00:00Z\",\"order\":\"o{i}\"}}\n"))
        .collect();
    let input = write(&dir, "in.ndjson", lines.as_bytes());
    let out = trigc(&["run", &rules, "--input", &input]);
    assert_exit(&out, 0);
    let enrolls = text(&out.stdout)
        .lines()
        .filter(|l| l.contains("\"enroll\""))
        .count();
    assert_eq!(enrolls, 120);
    assert_stderr_lacks(&out, "`enroll` action");
}

#[test]
fn a_journey_is_not_ended_by_the_event_that_enrolled_it() {
    let dir = temp_dir("enroll-exit");
    // `zz_journey` comes after `buy_entry` in firing order (by name), so its `exit on
    // PURCHASE` is matched after `buy_entry` enrolled it on that very PURCHASE.
    let rules = write(
        &dir,
        "r.trig",
        b"event PURCHASE { amount: float }\n\
trigger buy_entry cooldown 1d on PURCHASE then enroll zz_journey and enroll aa_journey\n\
trigger zz_journey cooldown 1d exit on PURCHASE on enroll wait 1h then emit \"zz\"\n\
trigger aa_journey cooldown 1d exit on PURCHASE on enroll wait 1h then emit \"aa\"\n",
    );
    let input = write(
        &dir,
        "in.ndjson",
        b"{\"type\":\"PURCHASE\",\"user\":\"u1\",\"ts\":\"2026-01-01T00:10:00Z\",\"amount\":5}\n",
    );
    let out = trigc(&[
        "run",
        &rules,
        "--input",
        &input,
        "--until",
        "2026-01-02T00:00:00Z",
    ]);
    assert_exit(&out, 0);
    let stdout = text(&out.stdout);
    assert!(stdout.contains("\"name\":\"zz\""), "{stdout}");
    assert!(stdout.contains("\"name\":\"aa\""), "{stdout}");
}

#[test]
fn checkpoint_misuse_fails_early_and_leaves_nothing_behind() {
    let dir = temp_dir("checkpoint-misuse");
    let rules = write(&dir, "r.trig", CLEAN.as_bytes());
    let input = write(
        &dir,
        "in.ndjson",
        b"{\"type\":\"VISIT\",\"user\":\"a\",\"ts\":\"2026-01-05T00:00:00Z\"}\n",
    );
    let state = dir.join("state.json").display().to_string();
    let tmp_left = || dir.join("state.json.tmp").exists();
    let refused = |args: &[&str], says: &str| {
        let out = trigc(args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(out.stdout.is_empty(), "{args:?} wrote records");
        assert_stderr_has(&out, says);
    };
    let base = ["run", &rules, "--input", &input];
    refused(
        &[
            &base[..],
            &["--checkpoint", &state, "--until", "2026-01-06T00:00:00Z"],
        ]
        .concat(),
        "`--until` ends a run and `--checkpoint` continues it",
    );
    refused(
        &[&base[..], &["--checkpoint", &state, "--rejects", &state]].concat(),
        "name the same file",
    );
    let dir_path = dir.display().to_string();
    refused(
        &[&base[..], &["--checkpoint", &dir_path]].concat(),
        "is a directory",
    );
    // A refused resume leaves no temporary checkpoint file.
    let bad = write(&dir, "bad.json", b"{}");
    refused(
        &[&base[..], &["--resume", &bad, "--checkpoint", &state]].concat(),
        "is not a trigc checkpoint",
    );
    assert!(!tmp_left());
    // Resuming needs the same --lateness/--late as the run that wrote it.
    let ok = trigc(&[&base[..], &["--checkpoint", &state, "--lateness", "5m"]].concat());
    assert_exit(&ok, 0);
    assert!(!tmp_left());
    refused(
        &[&base[..], &["--resume", &state]].concat(),
        "was written with other `--lateness`/`--late`",
    );
}

/// `trigc run RULES ARGS` with `stdin` written from another thread (it may be large).
fn run_with_stdin(
    rules: &str,
    args: &[&str],
    stdin: impl FnOnce(&mut dyn std::io::Write) + Send + 'static,
) -> Output {
    use std::process::Stdio;
    let mut child = bin::trigc()
        .args(["run", rules])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the trigc binary runs");
    let mut input = child.stdin.take().expect("piped stdin");
    let writer = std::thread::spawn(move || stdin(&mut input));
    let out = child.wait_with_output().expect("trigc finishes");
    writer.join().expect("the writer thread ends");
    out
}

#[test]
fn a_line_over_max_line_bytes_is_rejected_by_number_and_the_run_goes_on() {
    let dir = temp_dir("long-line");
    let rules = write(&dir, "r.trig", CLEAN.as_bytes());
    let rejects = dir.join("rejects.ndjson").display().to_string();
    let first = "{\"type\":\"VISIT\",\"user\":\"a\",\"ts\":\"2026-01-05T00:00:00Z\"}\n";
    let last = "{\"type\":\"VISIT\",\"user\":\"b\",\"ts\":\"2026-01-05T00:01:00Z\"}\n";
    let started = std::time::Instant::now();
    // 50 MB without a newline between two good lines, made as it is written.
    let out = run_with_stdin(&rules, &["--rejects", &rejects], move |w| {
        let block = vec![b'x'; 1 << 20];
        let _ = w.write_all(first.as_bytes());
        for _ in 0..50 {
            let _ = w.write_all(&block);
        }
        let _ = w.write_all(b"\n");
        let _ = w.write_all(last.as_bytes());
    });
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    assert_exit(&out, 0);
    assert_stderr_has(
        &out,
        "rejected line 2: line longer than --max-line-bytes (1048576 bytes)\n",
    );
    assert_stderr_has(&out, "events read: 3, rejected: 1,");
    let input = write(&dir, "clean.ndjson", format!("{first}{last}").as_bytes());
    let clean = trigc(&["run", &rules, "--input", &input]);
    assert_eq!(text(&out.stdout), text(&clean.stdout));
    assert_eq!(text(&out.stdout).lines().count(), 2);
    // Not held, so not copied to `--rejects`.
    assert_eq!(std::fs::read(&rejects).expect("rejects file").len(), 0);

    // The limit is a flag; a line of exactly the limit passes.
    let limit = first.len() - 1;
    let out = run_with_stdin(
        &rules,
        &["--max-line-bytes", &limit.to_string()],
        move |w| {
            let _ = w.write_all(
                format!("{first}{last}{{\"type\":\"VISIT\",\"user\":\"c\",\"ts\":\"2026-01-05T00:02:00Z\",\"page\":\"/\"}}\n")
                    .as_bytes(),
            );
        },
    );
    assert_exit(&out, 0);
    assert_stderr_has(
        &out,
        &format!("rejected line 3: line longer than --max-line-bytes ({limit} bytes)"),
    );
    assert_stderr_has(&out, "events read: 3, rejected: 1,");
    let out = trigc(&["run", &rules, "--max-line-bytes", "0"]);
    assert_exit(&out, 2);
}

#[test]
fn until_outside_the_time_range_is_refused() {
    let dir = temp_dir("until-range");
    let rules = write(&dir, "r.trig", CLEAN.as_bytes());
    for until in [
        "-1",
        "9223372036854775807",
        "253402300800000",
        "+10000-01-01T00:00:00Z",
        "0000-01-01T00:00:00Z",
    ] {
        let out = trigc(&[
            "run",
            &rules,
            &format!("--until={until}"),
            "--input",
            "rules/sample-events.ndjson",
        ]);
        assert_exit(&out, 2);
        assert!(
            text(&out.stderr).contains("1970-01-01T00:00:00Z ..= 9999-12-31T23:59:59.999Z")
                || text(&out.stderr).contains("not an RFC 3339 time"),
            "{until}: {}",
            text(&out.stderr)
        );
    }
    let out = trigc(&[
        "run",
        &rules,
        "--until=-1",
        "--input",
        "rules/sample-events.ndjson",
    ]);
    assert_stderr_has(
        &out,
        "out of range: times must lie in 1970-01-01T00:00:00Z ..= 9999-12-31T23:59:59.999Z",
    );
    let out = trigc(&[
        "run",
        &rules,
        "--until",
        "253402300799999",
        "--input",
        "rules/sample-events.ndjson",
    ]);
    assert_exit(&out, 0);
}

#[test]
fn input_values_reach_stderr_escaped_on_one_line() {
    let dir = temp_dir("escape");
    let rules = write(
        &dir,
        "r.trig",
        b"event PURCHASE { amount: int }\ntrigger t\n  cooldown 1d\n  on PURCHASE where 10 / amount > 1\n  then emit \"x\"\n",
    );
    let input = write(
        &dir,
        "in.ndjson",
        br#"{"type":"PURCHASE","user":"a\u001b[31m\nb","ts":"2026-01-05T00:00:00Z","amount":0}
{"type":"PURCHASE","user":"u","ts":"\u001b[31m\n","amount":0}
{"type":"PURCHASE","user":"u","ts":0,"amount":1,"\u001b]0;x\u0007":1,"\u001b]0;x\u0007":2}
"#,
    );
    let out = trigc(&["run", &rules, "--input", &input]);
    assert_exit(&out, 0);
    let err = text(&out.stderr);
    assert!(
        !err.bytes().any(|b| b < 0x20 && b != b'\n'),
        "a raw control byte on stderr: {err:?}"
    );
    assert_stderr_has(
        &out,
        "runtime error: division by zero in trigger `t` for key `a\\u{1b}[31m\\nb` at",
    );
    assert_stderr_has(
        &out,
        "rejected line 2: field `ts`: unparsable time `\\u{1b}[31m\\n`",
    );
    assert_stderr_has(
        &out,
        "rejected line 3: duplicate member \"\\u{1b}]0;x\\u{7}\"",
    );
    // One stderr line per message: the three, then the summary.
    let place = dir.display().to_string();
    let starts = [
        place.as_str(),
        "rejected line ",
        "events read",
        "actions",
        "timers",
        "runtime errors",
    ];
    for line in err.lines() {
        assert!(
            starts.iter().any(|s| line.starts_with(s)) || line.ends_with("s)"),
            "a line that is part of a message: {line:?}\n{err}"
        );
    }
    let rejected = err
        .lines()
        .filter(|l| l.starts_with("rejected line "))
        .count();
    assert_eq!(rejected, 2, "{err}");
}

#[test]
fn a_10_mb_string_literal_gives_a_short_diagnostic() {
    let dir = temp_dir("big-literal");
    let big = "x".repeat(10 << 20);
    let file = write(
        &dir,
        "big.trig",
        format!("event VISIT {{ page: string? }}\ntrigger t\n  cooldown 1d\n  on VISIT where page == \"{big}\"\n  then emit \"x\"\n\"{big}\u{1b}\n").as_bytes(),
    );
    let out = trigc(&["check", &file]);
    assert_exit(&out, 1);
    let err = text(&out.stderr);
    assert!(err.len() < 4096, "{} bytes of diagnostics", err.len());
    assert!(
        err.contains("… (1048576") || err.contains("(10485761 chars)") || err.contains("chars)"),
        "{err}"
    );
    assert!(!err.contains('\u{1b}'), "{err}");
    assert!(err.contains("big.trig:6:1"), "the place is named: {err}");
}
