//! CSV input through the built binary (`trigc run --input-format csv`, the default
//! for a `*.csv` input): the header names the columns (or `--csv-columns`), cells
//! are typed by the declarations, an empty cell is absent, and a bad cell rejects
//! its row with its line number (copied to `--rejects` as CSV).

#[path = "common/bin.rs"]
mod bin;
#[path = "common/temp.rs"]
mod temp;

use bin::{run as trigc, text};
use temp::{temp_dir, write};

const RULES: &[u8] = b"schema { key visitorid, type event, time timestamp }
event VIEW from \"view\" { itemid: int, price: float? }
event ADD_TO_CART from \"addtocart\" { itemid: int }
event PURCHASE from \"transaction\" { itemid: int, transactionid: int }
trigger cart_abandoned
  cooldown 1d
  on ADD_TO_CART
  wait 1h unless PURCHASE
  then emit \"cart-abandoned\" with { item: itemid }
trigger viewed
  cooldown 1d
  on VIEW
  then emit \"viewed\" with { item: itemid, price: price }
";

const ROWS: &str = "1433221332117,257597,view,355908,,19.5
1433221999827,111016,addtocart,318965,,
1433222000000,111016,transaction,318965,9004,
1433222100000,111016,addtocart,abc,,
1433224214164,992329,addtocart,248676,,
\"1433232214164\",5,view,1,,
1433232214165,6,view,1,,x
";

#[test]
fn csv_rows_are_typed_by_the_declarations() {
    let dir = temp_dir("csv");
    let rules = write(&dir, "r.trig", RULES);
    let header = "timestamp,visitorid,event,itemid,transactionid,price\n";
    let input = write(&dir, "events.csv", format!("{header}{ROWS}").as_bytes());
    let rejects = dir.join("rejects.csv").display().to_string();
    let out = trigc(&["run", &rules, "--input", &input, "--rejects", &rejects]);
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    assert!(
        lines[0].contains(r#""payload":{"item":355908,"price":19.5}"#),
        "{stdout}"
    );
    assert!(lines[1].contains(r#""key":"992329""#), "{stdout}");
    assert!(
        lines[2].contains(r#""key":"5""#) && lines[2].contains(r#""price":null"#),
        "{stdout}"
    );
    assert!(
        stderr.contains("rejected line 5: column `itemid`: expected an integer, found `abc`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("rejected line 8: column `price`: expected a number, found `x`"),
        "{stderr}"
    );
    let copied = std::fs::read_to_string(&rejects).expect("rejects file");
    assert_eq!(
        copied,
        "1433222100000,111016,addtocart,abc,,\n1433232214165,6,view,1,,x\n"
    );

    // Without a header: `--csv-columns` names the columns, lines count from 1.
    let input = write(&dir, "events.txt", ROWS.as_bytes());
    let out = trigc(&[
        "run",
        &rules,
        "--input",
        &input,
        "--csv-columns",
        "timestamp,visitorid,event,itemid,transactionid,price",
    ]);
    assert_eq!(text(&out.stdout), stdout);
    assert!(
        text(&out.stderr).contains("rejected line 4: column `itemid`"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn csv_input_refuses_checkpoints() {
    let dir = temp_dir("csv-checkpoint");
    let rules = write(&dir, "r.trig", RULES);
    let input = write(&dir, "e.csv", b"timestamp,visitorid,event,itemid\n");
    let cp = dir.join("cp.json").display().to_string();
    let out = trigc(&["run", &rules, "--input", &input, "--checkpoint", &cp]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("NDJSON input, not CSV"));
}

#[test]
fn a_header_without_the_envelope_is_warned_about() {
    // Taobao's export has no header row: run without `--csv-columns`, its first row
    // is taken for the header, and every row would be ignored without a word.
    let dir = temp_dir("csv-no-header");
    let rules = write(&dir, "r.trig", RULES);
    let input = write(
        &dir,
        "e.csv",
        b"1433221332117,257597,view,355908,,19.5\n1433221999827,111016,addtocart,318965,,\n",
    );
    let out = trigc(&["run", &rules, "--input", &input]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
    assert_eq!(
        stderr.lines().next(),
        Some(
            "warning: no CSV column is named `visitorid` (the key), `event` (the event type), \
             `timestamp` (the time), so no row can be read as an event; a file without a \
             header row needs `--csv-columns`"
        ),
        "{stderr}"
    );
    // Named by `--csv-columns`, the same file is read, and nothing is warned about.
    let out = trigc(&[
        "run",
        &rules,
        "--input",
        &input,
        "--csv-columns",
        "timestamp,visitorid,event,itemid,transactionid,price",
    ]);
    let stderr = text(&out.stderr);
    assert_eq!(text(&out.stdout).lines().count(), 1, "{stderr}");
    assert!(!stderr.contains("warning"), "{stderr}");
}

/// A CDP export flattened to CSV: dotted column names are the nested members they
/// came from, so the rules written for the NDJSON events read the CSV unchanged.
const SEGMENT_RULES: &[u8] = b"schema { key userId ?? anonymousId, type event, time timestamp }
event ADD_TO_CART from \"Product Added\" {
  product: string from properties.product_id
  price: float from properties.price
  plan: string? from context.traits.plan
}
trigger added on ADD_TO_CART then emit \"added\" with { product: product, price: price, plan: plan }
";

#[test]
fn dotted_column_names_are_nested_members() {
    let dir = temp_dir("csv-dotted");
    let rules = write(&dir, "r.trig", SEGMENT_RULES);
    let csv = "event,userId,anonymousId,timestamp,properties.product_id,properties.price,context.traits.plan,context.ip\n\
               Product Added,u1,,2026-01-05T10:00:00Z,p1,19.9,pro,1.2.3.4\n\
               Product Added,,a-9,2026-01-05T10:01:00Z,p2,5,,\n\
               Product Added,u2,,2026-01-05T10:02:00Z,p3,cheap,,\n";
    let input = write(&dir, "events.csv", csv.as_bytes());
    let out = trigc(&["run", &rules, "--input", &input]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let payloads: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).expect("a JSON record")["payload"].clone()
        })
        .collect();
    assert_eq!(
        payloads,
        [
            serde_json::json!({"product": "p1", "price": 19.9, "plan": "pro"}),
            serde_json::json!({"product": "p2", "price": 5.0, "plan": null}),
        ],
        "{stdout}"
    );
    assert!(
        stderr.contains("line 4:") && stderr.contains("`properties.price`"),
        "the bad price is rejected with its line and column: {stderr}"
    );
}

#[test]
fn a_header_whose_read_columns_clash_is_refused_once() {
    let dir = temp_dir("csv-clash");
    let rules = write(&dir, "r.trig", SEGMENT_RULES);
    let rows = "Product Added,u1,2026-01-05T10:00:00Z,p1,1,2\nProduct Added,u1,2026-01-05T10:00:01Z,p1,1,2\n";
    let input = write(
        &dir,
        "events.csv",
        format!(
            "event,userId,timestamp,properties.product_id,properties.price,properties.price\n{rows}"
        )
        .as_bytes(),
    );
    let out = trigc(&["run", &rules, "--input", &input]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert_eq!(
        text(&out.stderr).trim_end(),
        "error: line 1: CSV header: the column `properties.price` is named twice (columns 5 \
         and 6), and the rules read it: rename or drop one"
    );
    let out = trigc(&[
        "run",
        &rules,
        "--input",
        &input,
        "--csv-columns",
        "event,userId,timestamp,properties.product_id,properties.price,event",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr).trim_end(),
        "error: --csv-columns: the column `event` is named twice (columns 1 and 6), and \
         the rules read it: rename or drop one"
    );
}

#[test]
fn a_gathered_path_reads_a_json_array_column() {
    let dir = temp_dir("csv-gather");
    let rules = write(
        &dir,
        "r.trig",
        b"schema { key userId, type event, time timestamp }
event ORDER from \"Order Completed\" { skus: list<string> from properties.products[].sku }
trigger ordered on ORDER then emit \"ordered\" with { skus: skus }
",
    );
    let csv = "event,userId,timestamp,properties.products\n\
               Order Completed,u1,2026-01-05T10:00:00Z,\"[{\"\"sku\"\":\"\"a\"\"},{\"\"sku\"\":\"\"b\"\"}]\"\n\
               Order Completed,u2,2026-01-05T10:01:00Z,a;b\n";
    let input = write(&dir, "orders.csv", csv.as_bytes());
    let out = trigc(&["run", &rules, "--input", &input]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(
        stdout.contains(r#""payload":{"skus":["a","b"]}"#),
        "{stdout}"
    );
    assert!(
        stderr.contains("line 3: column `properties.products`: expected a JSON array"),
        "{stderr}"
    );
}
