//! The `examples/` rule sets over the streams they were written for, through the
//! built binary, with the flags their headers give: what each reads, rejects and
//! fires. The public exports come from `../shared/data` (beside the repository, as
//! on CI); a machine without it says so and checks the bundled Segment sample only.

#[path = "common/bin.rs"]
#[expect(
    dead_code,
    reason = "this test spawns trigc itself; `run` and `text` serve others"
)]
mod bin;

use std::path::Path;

/// One example run and what it must give.
struct Example {
    rules: &'static str,
    /// The input, relative to the repository (`../shared/data/…` for the exports).
    input: &'static str,
    flags: &'static [&'static str],
    read: u64,
    rejected: u64,
    ignored: u64,
    /// Actions by trigger.
    actions: &'static [(&'static str, u64)],
}

const EXAMPLES: &[Example] = &[
    Example {
        rules: "examples/segment/rules.trig",
        input: "examples/segment/events.ndjson",
        flags: &[],
        read: 8,
        rejected: 0,
        // An `identify` and two `page` calls.
        ignored: 3,
        actions: &[("bought", 2), ("cart_abandoned", 1)],
    },
    Example {
        rules: "examples/rees46/rules.trig",
        input: "../shared/data/rees46-multicategory-2019oct-head/2019-Oct_head.csv",
        flags: &[],
        read: 17_435,
        // The export's last row is cut off (8 cells of 9): rejected with its number.
        rejected: 1,
        ignored: 0,
        actions: &[("big_view", 470), ("cart_abandoned", 1)],
    },
    Example {
        rules: "examples/taobao/rules.trig",
        input: "../shared/data/taobao-userbehavior/UserBehavior_head100k.csv",
        // Some users' events come days before others' in this cut.
        flags: &[
            "--csv-columns",
            "user,item,category,behavior,ts",
            "--lateness",
            "30d",
        ],
        read: 100_001,
        rejected: 0,
        ignored: 0,
        actions: &[("cart_abandoned", 1_833), ("favourite_not_bought", 424)],
    },
    Example {
        rules: "examples/retailrocket/rules.trig",
        input: "../shared/data/retailrocket-events-sample/sample_events.csv",
        flags: &["--lateness", "150d"],
        read: 9_385,
        rejected: 0,
        ignored: 0,
        actions: &[("cart_abandoned", 121)],
    },
    Example {
        rules: "examples/jd/rules.trig",
        input: "../shared/data/jd-jdata-2016-action-heads/JData_Action_201602.csv",
        flags: &[],
        read: 29_999,
        rejected: 0,
        // Codes 5 (follow, 80 rows) and 6 (click, 17,240) are not declared.
        ignored: 17_320,
        actions: &[("cart_then_no_order", 112)],
    },
];

#[test]
fn every_example_reads_its_stream_and_fires() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut ran = 0;
    for example in EXAMPLES {
        if !root.join(example.input).exists() {
            eprintln!("{}: not here, skipped", example.input);
            continue;
        }
        let out = bin::trigc()
            .args(["run", example.rules, "--input", example.input, "--stats"])
            .args(example.flags)
            .output()
            .expect("trigc runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{}: {stderr}", example.rules);
        let stats: serde_json::Value =
            serde_json::from_str(stderr.lines().last().unwrap_or_default())
                .unwrap_or_else(|e| panic!("{}: no --stats line ({e}): {stderr}", example.rules));
        let what = format!("{}: {stats}", example.rules);
        assert_eq!(stats["events_read"], example.read, "{what}");
        assert_eq!(stats["rejected"], example.rejected, "{what}");
        assert_eq!(stats["ignored"], example.ignored, "{what}");
        assert_eq!(stats["late"], 0, "{what}");
        let actions = stats["actions"].as_object().expect("actions by trigger");
        for (trigger, n) in example.actions {
            assert_eq!(actions[*trigger], *n, "{what}");
        }
        let records = String::from_utf8_lossy(&out.stdout).lines().count() as u64;
        let total: u64 = example.actions.iter().map(|(_, n)| n).sum();
        assert_eq!(records, total, "{what}");
        ran += 1;
    }
    assert!(ran >= 1, "the bundled Segment example always runs");
}

/// `trigc infer` on each example's stream prints rules that `trigc check` accepts
/// unchanged, with the envelope and the wire names guessed right.
#[test]
fn inferred_rules_check_clean() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = std::env::temp_dir().join(format!("trigc-infer-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    // Names none of the lists hold: the envelope is found by the members' values,
    // and a member whose name says customer is the key.
    let odd = dir.join("odd.ndjson");
    std::fs::write(
        &odd,
        "{\"client_ref\":\"c1\",\"verb\":\"view\",\"at\":1700000000,\"p\":{\"sku\":\"s1\",\"$screen\":\"home\",\"a.b\":1}}\n\
         {\"client_ref\":\"c2\",\"verb\":\"buy\",\"at\":1700000060,\"p\":{\"sku\":\"s2\",\"amt\":3.5}}\n\
         {\"client_ref\":\"c1\",\"verb\":\"view\",\"at\":1700000120,\"p\":{\"sku\":\"s3\"}}\n",
    )
    .expect("write sample");
    let odd = odd.display().to_string();
    // Type values a rule file must spell carefully: a control character (written
    // with a JSON escape, not Rust's `\u{1}`), a combining accent, quotes, and
    // negative integer codes.
    let awkward = dir.join("awkward.ndjson");
    std::fs::write(
        &awkward,
        "{\"user\":\"u1\",\"type\":\"ctl\\u0001\",\"ts\":1700000000000}\n\
         {\"user\":\"u1\",\"type\":\"Cafe\u{301}\",\"ts\":1700000000001}\n\
         {\"user\":\"u1\",\"type\":\"Say \\\"hi\\\"\",\"ts\":1700000000002}\n\
         {\"user\":\"u1\",\"type\":-4,\"ts\":1700000000003}\n\
         {\"user\":\"u1\",\"type\":0,\"ts\":1700000000004}\n\
         {\"user\":\"u1\",\"type\":-0,\"ts\":1700000000005}\n",
    )
    .expect("write sample");
    let awkward = awkward.display().to_string();
    let cases: &[(&str, &[&str], &[&str])] = &[
        (
            &odd,
            &[],
            &[
                "key  client_ref",
                "type verb",
                "time at epoch seconds",
                "event BUY from \"buy\"",
                "amt: float from p.amt",
                // A name that is no identifier is quoted; one with a `.` is left out.
                "screen: string? from p.\"$screen\"",
            ],
        ),
        (
            &awkward,
            &[],
            &[
                "from \"ctl\\u0001\"",
                "from \"Cafe\u{301}\"",
                "from \"Say \\\"hi\\\"\"",
                "event E_NEG_4 from -4",
                // `-0` is the wire value `0`: one event, not two that check refuses.
                "event E_0 from 0 {",
            ],
        ),
        (
            // No header row and no `--csv-columns`: the first row is data, the
            // columns are named after their roles, and the note says how to run it.
            "../shared/data/taobao-userbehavior/UserBehavior_head100k.csv",
            &[],
            &[
                "--csv-columns user,col2,col3,type,ts",
                "key  user",
                "type type",
                "time ts epoch seconds",
                "event BUY from \"buy\"",
            ],
        ),
        (
            "examples/segment/events.ndjson",
            &[],
            &[
                "key  userId ?? anonymousId",
                "type event",
                "event PRODUCT_ADDED from \"Product Added\"",
                "price: float from properties.price",
                // `properties` first, then the line's own members, then `context`.
                "revenue: int from properties.revenue\n  type: string\n  email: string from context.traits.email",
            ],
        ),
        (
            "../shared/data/rees46-multicategory-2019oct-head/2019-Oct_head.csv",
            &[],
            &[
                "time event_time format \"%Y-%m-%d %H:%M:%S UTC\"",
                "event VIEW from \"view\"",
                "brand: string?",
            ],
        ),
        (
            "../shared/data/taobao-userbehavior/UserBehavior_head100k.csv",
            &["--csv-columns", "user,item,category,behavior,ts"],
            &["time ts epoch seconds", "event PV from \"pv\""],
        ),
        (
            "../shared/data/jd-jdata-2016-action-heads/JData_Action_201602.csv",
            &[],
            &["time time format \"%Y-%m-%d %H:%M:%S\"", "event E_2 from 2"],
        ),
    ];
    for (i, (input, flags, expected)) in cases.iter().enumerate() {
        if !root.join(input).exists() {
            eprintln!("{input}: not here, skipped");
            continue;
        }
        let out = bin::trigc()
            .args(["infer", input, "--lines", "5000"])
            .args(*flags)
            .output()
            .expect("trigc runs");
        let rules = String::from_utf8_lossy(&out.stdout).into_owned();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{input}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        for line in *expected {
            assert!(rules.contains(line), "{input}: no `{line}` in\n{rules}");
        }
        let path = dir.join(format!("inferred{i}.trig"));
        std::fs::write(&path, &rules).expect("write rules");
        let check = bin::trigc()
            .args(["check", &path.display().to_string()])
            .output()
            .expect("trigc runs");
        assert_eq!(
            check.status.code(),
            Some(0),
            "{input}: the inferred rules do not check:\n{rules}\n{}",
            String::from_utf8_lossy(&check.stderr)
        );
    }
}

/// `trigc infer` types a member only when one field type reads it on every sampled
/// line: the rules it prints, run on the very sample, reject no line. Arrays of
/// mixed kinds or with `null` elements, gathered members of mixed kinds, integers
/// past 64 bits, and members that are an object, an array or a scalar by line are
/// left out (or typed so that every line reads).
#[test]
fn inferred_rules_read_their_own_sample() {
    let dir = std::env::temp_dir().join(format!("trigc-infer-own-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let sample = dir.join("arrays.ndjson");
    std::fs::write(
        &sample,
        r#"{"user":"u1","type":"A","ts":1700000000000,"mixed":[1,"a"],"nums":[1,2.5],"big":12345678901234567890,"items":[{"q":1},{"q":"a"}],"opt":[{"q":null},{"q":2}],"nulls":[1,null],"obj":{"a":1},"gat":[{"z":1}],"e":[]}
{"user":"u1","type":"A","ts":1700000000001,"mixed":[2],"nums":[3],"big":1,"items":[{"q":2}],"opt":[{"q":3.5}],"nulls":[2],"obj":5,"gat":{"z":2},"e":7}
{"user":"u1","type":"A","ts":1700000000002,"nums":[],"big":2,"obj":"","gat":"","e":[1]}
"#,
    )
    .expect("write sample");
    let sample = sample.display().to_string();
    let out = bin::trigc()
        .args(["infer", &sample])
        .output()
        .expect("trigc runs");
    let rules = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(0), "{rules}");
    for line in [
        "big: float\n",
        "nums: list<float>\n",
        "q: list<float>? from opt[].q\n",
        "# mixed: no one type",
        "# items[].q: no one type",
        "# nulls: no one type",
        "# obj: no one type",
        "# gat[].z: no one type",
        "# e: no one type",
    ] {
        assert!(rules.contains(line), "no `{line}` in\n{rules}");
    }
    let path = dir.join("arrays.trig").display().to_string();
    std::fs::write(&path, &rules).expect("write rules");
    let run = bin::trigc()
        .args(["run", &path, "--input", &sample, "--stats"])
        .output()
        .expect("trigc runs");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains(r#""rejected":0"#), "{rules}\n{stderr}");

    // In CSV every cell is text: a column with `1` on one row and `abc` on another
    // is a `string` column (a string field reads any cell), whatever the row order.
    let csv = dir.join("mixed.csv");
    std::fs::write(
        &csv,
        "user,type,ts,v,w\nu,A,2020-01-01T00:00:00Z,1,abc\nu,A,2020-01-01T00:00:01Z,abc,2\n\
         u,A,2020-01-01T00:00:02Z,2,3\n",
    )
    .expect("write sample");
    let csv = csv.display().to_string();
    let out = bin::trigc()
        .args(["infer", &csv])
        .output()
        .expect("trigc runs");
    let rules = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(rules.contains("  v: string\n  w: string\n"), "{rules}");
    std::fs::write(&path, &rules).expect("write rules");
    let run = bin::trigc()
        .args(["run", &path, "--input", &csv, "--stats"])
        .output()
        .expect("trigc runs");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains(r#""rejected":0"#), "{rules}\n{stderr}");
}
