//! Gzip input files through the built binary: a gzip file is read decompressed
//! whatever its name (told by its first bytes), `.csv.gz` is CSV, a file of several
//! gzip members is one stream, and a truncated one ends the run with an error after
//! the records of what could be read. `trigc infer` reads gzip the same way.

#[path = "common/bin.rs"]
mod bin;
#[path = "common/temp.rs"]
mod temp;

use std::io::Write as _;

use bin::{run as trigc, text};
use temp::{temp_dir, write};

const RULES: &[u8] = b"schema { key user, type event, time ts }
event VIEW from \"view\" { sku: string }
trigger viewed
  on VIEW
  then emit \"viewed\" with { sku: sku }
";

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).expect("compress");
    encoder.finish().expect("compress")
}

fn ndjson(from: u32, to: u32) -> String {
    (from..to)
        .map(|i| {
            format!(
                "{{\"user\":\"u{}\",\"event\":\"view\",\"ts\":\"2026-01-01T00:{:02}:{:02}Z\",\"sku\":\"s{i}\"}}\n",
                i % 7,
                i / 60,
                i % 60
            )
        })
        .collect()
}

#[test]
fn gzip_files_read_as_the_plain_ones() {
    let dir = temp_dir("gzip");
    let rules = write(&dir, "r.trig", RULES);
    let lines = ndjson(0, 600);
    let plain = write(&dir, "events.ndjson", lines.as_bytes());
    let expected = trigc(&["run", &rules, "--input", &plain]);
    assert_eq!(
        expected.status.code(),
        Some(0),
        "{}",
        text(&expected.stderr)
    );
    assert_eq!(text(&expected.stdout).lines().count(), 600);

    // By its first bytes, whatever the name; and two members are one stream.
    let one = write(&dir, "events.log", &gzip(lines.as_bytes()));
    let mut two = gzip(ndjson(0, 250).as_bytes());
    two.extend(gzip(ndjson(250, 600).as_bytes()));
    let two = write(&dir, "events.ndjson.gz", &two);
    for input in [&one, &two] {
        let out = trigc(&["run", &rules, "--input", input]);
        assert_eq!(out.status.code(), Some(0), "{input}: {}", text(&out.stderr));
        assert!(out.stdout == expected.stdout, "{input}: the records differ");
    }

    // `.csv.gz` is CSV.
    let mut csv = String::from("user,event,ts,sku\n");
    for i in 0..600 {
        csv += &format!(
            "u{},view,2026-01-01T00:{:02}:{:02}Z,s{i}\n",
            i % 7,
            i / 60,
            i % 60
        );
    }
    // (Action ids hash the starting line, so the CSV's own plain run is the reference.)
    let plain_csv = write(&dir, "events.csv", csv.as_bytes());
    let csv = write(&dir, "events.csv.gz", &gzip(csv.as_bytes()));
    let expected_csv = trigc(&["run", &rules, "--input", &plain_csv]);
    let out = trigc(&["run", &rules, "--input", &csv]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&expected_csv.stdout).lines().count(), 600);
    assert!(out.stdout == expected_csv.stdout, "the CSV export differs");

    // `trigc infer` decompresses too.
    let out = trigc(&["infer", &csv]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("event VIEW from \"view\""),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn a_truncated_gzip_file_fails_after_what_it_could_read() {
    let dir = temp_dir("gzip-cut");
    let rules = write(&dir, "r.trig", RULES);
    let whole = gzip(ndjson(0, 3000).as_bytes());
    let cut = write(&dir, "cut.ndjson.gz", &whole[..whole.len() / 2]);
    let out = trigc(&["run", &rules, "--input", &cut]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("cannot read the input"), "{stderr}");
    let printed = text(&out.stdout).lines().count();
    assert!(printed > 0 && printed < 3000, "{printed} records");
}
