//! `trigc infer` on samples that come as they are: CSV from stdin, CSV exports of
//! nested events (dotted column names), headers that repeat a name, and type codes
//! written both as numbers and as strings. Each time the printed rules are run on
//! the very sample and must read every line.

#[path = "common/bin.rs"]
mod bin;
#[path = "common/temp.rs"]
mod temp;

use std::io::Write;
use std::process::Stdio;

use bin::{run as trigc, text};
use temp::{temp_dir, write};

/// `trigc infer -` with `input` on stdin.
fn infer_stdin(args: &[&str], input: &str) -> std::process::Output {
    let mut child = bin::trigc()
        .args(["infer", "-"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("trigc starts");
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(input.as_bytes()).expect("write stdin");
    }
    child.wait_with_output().expect("trigc runs")
}

/// Run `rules` over `input` (a file); the `--stats` line must say nothing was
/// rejected or ignored. Returns stdout.
fn runs_clean(dir: &std::path::Path, rules: &str, input: &str, extra: &[&str]) -> String {
    let path = write(dir, "inferred.trig", rules.as_bytes());
    let check = trigc(&["check", &path]);
    assert_eq!(
        check.status.code(),
        Some(0),
        "{rules}\n{}",
        text(&check.stderr)
    );
    let mut args = vec!["run", path.as_str(), "--input", input, "--stats"];
    args.extend_from_slice(extra);
    let out = trigc(&args);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{rules}\n{stderr}");
    assert!(stderr.contains(r#""rejected":0"#), "{rules}\n{stderr}");
    assert!(stderr.contains(r#""ignored":0"#), "{rules}\n{stderr}");
    text(&out.stdout)
}

const SEGMENT_CSV: &str = "event,userId,anonymousId,timestamp,properties.product_id,properties.price,context.ip\n\
Product Added,u1,,2026-01-05T10:00:00Z,p1,19.9,1.2.3.4\n\
Product Added,,a-9,2026-01-05T10:01:00Z,p2,5,\n\
Order Completed,u1,,2026-01-05T10:02:00Z,,,\n";

#[test]
fn csv_from_stdin_with_dotted_columns() {
    // Without `--input-format csv`, stdin is NDJSON: no line is an object.
    let out = infer_stdin(&[], SEGMENT_CSV);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("no event lines"),
        "{}",
        text(&out.stderr)
    );

    let out = infer_stdin(&["--input-format", "csv"], SEGMENT_CSV);
    let rules = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    for line in [
        "event PRODUCT_ADDED from \"Product Added\" {",
        "  product_id: string from properties.product_id\n",
        "  price: float from properties.price\n",
        "event ORDER_COMPLETED from \"Order Completed\" {",
    ] {
        assert!(rules.contains(line), "no `{line}` in\n{rules}");
    }
    // The dotted columns are read as the nested members the rules name.
    let dir = temp_dir("infer-dotted");
    let input = write(&dir, "export.csv", SEGMENT_CSV.as_bytes());
    let rules = rules + "trigger t on PRODUCT_ADDED then emit \"x\" with { p: price }\n";
    let stdout = runs_clean(&dir, &rules, &input, &[]);
    let prices: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.split("\"p\":").nth(1))
        .collect();
    assert_eq!(prices, ["19.9}}", "5.0}}"], "{stdout}");
}

#[test]
fn repeated_and_clashing_columns_are_left_out() {
    let csv = "user,type,ts,v,v,a,a.b,x..y\nu,A,2026-01-05T10:00:00Z,1,2,3,4,5\n";
    let out = infer_stdin(&["--input-format", "csv"], csv);
    let (rules, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    for column in [4, 5] {
        let said = format!(
            "column {column} `v` is left out: columns 4 and 5 have that name, and `trigc run` \
             could not tell which to read"
        );
        assert!(stderr.contains(&said), "{stderr}");
    }
    assert!(
        stderr.contains("column 7 `a.b` is left out: it clashes with column 6 `a`"),
        "{stderr}"
    );
    assert!(stderr.contains("column 8 `x..y` is left out"), "{stderr}");
    assert!(rules.contains("{\n  a: int\n}"), "{rules}");
    let dir = temp_dir("infer-clash");
    let input = write(&dir, "e.csv", csv.as_bytes());
    runs_clean(&dir, &rules, &input, &[]);
}

#[test]
fn a_type_code_as_number_and_as_string_is_one_event() {
    let sample = "{\"user\":\"u1\",\"type\":1,\"ts\":1767607200000,\"sku\":\"a\"}\n\
                  {\"user\":\"u1\",\"type\":\"1\",\"ts\":1767607200001,\"sku\":\"b\"}\n\
                  {\"user\":\"u1\",\"type\":\"2\",\"ts\":1767607200002,\"sku\":\"c\"}\n";
    let dir = temp_dir("infer-codes");
    let input = write(&dir, "e.ndjson", sample.as_bytes());
    let out = trigc(&["infer", &input]);
    let rules = text(&out.stdout);
    assert!(rules.contains("event E_1 from 1, \"1\" {"), "{rules}");
    assert!(rules.contains("event E_2 from \"2\" {"), "{rules}");
    let rules = rules + "trigger t on E_1 then emit \"x\" with { s: sku }\n";
    let stdout = runs_clean(&dir, &rules, &input, &[]);
    assert_eq!(stdout.lines().count(), 2, "{stdout}");
}
