//! `trigc gen --shape`: the generated shop stream in the shapes producers actually
//! write, so that a pipeline (and a benchmark) can be tried on the same events as
//! flat NDJSON, as CDP track calls, or as a CSV export.
//!
//! - `flat`: what `trigc gen` always wrote (`rules/events.trig` reads it).
//! - `segment`: Segment's track calls (also RudderStack's): the e-commerce spec's
//!   event names in `event`, the customer in `userId` beside an `anonymousId`, the
//!   time in `timestamp`, every field under `properties`, and a `context` object no
//!   rule reads. `benches/fixtures/segment-events.trig` declares it for `rules/`.
//! - `csv`: a header row, then one row per event with every field of the schema as
//!   a column (an absent field is an empty cell); `rules/` reads it unchanged.
//!
//! Each shape is a rewrite of the flat line, so all three carry the same events in
//! the same order, and the same seed gives the same bytes.

use std::fmt::Write as _;

use serde_json::{Map, Value};

/// How `trigc gen` writes each event.
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Shape {
    /// `{"type":…,"user":…,"ts":…, fields}`, as `rules/events.trig` declares.
    #[default]
    Flat,
    /// Segment track calls: fields under `properties`, a `context` object.
    Segment,
    /// A CSV export with a header row: `type,user,ts`, then every field.
    Csv,
}

/// The CSV columns: the envelope, then every field of the shop schema.
pub const CSV_COLUMNS: [&str; 15] = [
    "type",
    "user",
    "ts",
    "product",
    "price",
    "qty",
    "order",
    "amount",
    "page",
    "category",
    "campaign",
    "old_price",
    "new_price",
    "email",
    "tier",
];

/// The e-commerce spec's name of each event type of the shop stream (those the
/// spec has no name for get one in its style).
pub fn segment_name(kind: &str) -> &'static str {
    match kind {
        "ADD_TO_CART" => "Product Added",
        "REMOVE_FROM_CART" => "Product Removed",
        "PURCHASE" => "Order Completed",
        "VISIT" => "Page Visited",
        "VIEW" => "Product Viewed",
        "WISHLIST_ADD" => "Product Added to Wishlist",
        "EMAIL_SENT" => "Email Sent",
        "EMAIL_CLICK" => "Email Link Clicked",
        "PRICE_CHANGE" => "Price Changed",
        _ => "Profile Updated",
    }
}

/// A few browsers, so that `context` is not one constant.
const USER_AGENTS: [&str; 3] = [
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
];
const LOCALES: [&str; 3] = ["en-US", "de-DE", "fr-FR"];

/// Rewrite one flat line (`flat`, without its newline) as the `number`-th line of
/// `shape`, appending it and a newline to `out`. A line that is not a JSON object
/// (the generator writes none) is written unchanged.
pub fn rewrite(shape: Shape, flat: &str, number: u64, out: &mut String) {
    let parsed: Option<Map<String, Value>> = serde_json::from_str(flat).ok();
    match (shape, parsed) {
        (Shape::Segment, Some(event)) => segment_line(&event, number, out),
        (Shape::Csv, Some(event)) => csv_row(&event, out),
        _ => out.push_str(flat),
    }
    out.push('\n');
}

/// The header line of `shape`, if it has one.
pub fn header(shape: Shape) -> Option<String> {
    (shape == Shape::Csv).then(|| format!("{}\n", CSV_COLUMNS.join(",")))
}

fn json(value: &Value) -> String {
    value.to_string()
}

/// `{"type":"track","event":…,"userId":…,"anonymousId":…,"timestamp":…,
/// "messageId":…,"properties":{…},"context":{…}}`.
fn segment_line(event: &Map<String, Value>, number: u64, out: &mut String) {
    let kind = event
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let user = event.get("user").and_then(Value::as_str);
    // `u123` → 123: spreads the context's variants over customers, stably.
    let who: usize = user
        .and_then(|u| u.trim_start_matches('u').parse().ok())
        .unwrap_or(0);
    let _ = write!(
        out,
        r#"{{"type":"track","event":{}"#,
        json(&Value::from(segment_name(kind)))
    );
    if let Some(user) = user {
        let _ = write!(out, r#","userId":{}"#, json(&Value::from(user)));
    }
    let _ = write!(out, r#","anonymousId":"anon-{who:08x}""#);
    if let Some(ts) = event.get("ts") {
        let _ = write!(out, r#","timestamp":{}"#, json(ts));
    }
    let _ = write!(out, r#","messageId":"gen-{number}","properties":{{"#);
    let fields = event
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "type" | "user" | "ts"));
    for (i, (name, value)) in fields.enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "{}:{}", json(&Value::from(name.as_str())), json(value));
    }
    let agent = USER_AGENTS.get(who % USER_AGENTS.len()).unwrap_or(&"");
    let locale = LOCALES.get(who % LOCALES.len()).unwrap_or(&"en-US");
    let _ = write!(
        out,
        r#"}},"context":{{"library":{{"name":"analytics.js","version":"4.1.0"}},"ip":"198.51.100.{}","userAgent":{},"locale":"{locale}"}}}}"#,
        who % 250 + 1,
        json(&Value::from(*agent)),
    );
}

/// One CSV row of [`CSV_COLUMNS`]; absent fields are empty cells.
fn csv_row(event: &Map<String, Value>, out: &mut String) {
    for (i, column) in CSV_COLUMNS.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        match event.get(*column) {
            Some(Value::String(s)) => push_csv_cell(s, out),
            Some(Value::Null) | None => {}
            Some(other) => push_csv_cell(&other.to_string(), out),
        }
    }
}

/// A cell, quoted when it holds a delimiter, a quote or a line break (RFC 4180).
fn push_csv_cell(cell: &str, out: &mut String) {
    if cell.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&cell.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(cell);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(shape: Shape, flat: &str) -> String {
        let mut out = String::new();
        rewrite(shape, flat, 7, &mut out);
        out
    }

    #[test]
    fn a_track_call_carries_the_fields_under_properties() {
        let line = one(
            Shape::Segment,
            r#"{"type":"ADD_TO_CART","user":"u12","ts":"2026-01-05T10:00:00Z","product":"p1","price":19.99}"#,
        );
        let v: Value = serde_json::from_str(&line).expect("a JSON line");
        assert_eq!(v["type"], "track");
        assert_eq!(v["event"], "Product Added");
        assert_eq!(v["userId"], "u12");
        assert_eq!(v["timestamp"], "2026-01-05T10:00:00Z");
        assert_eq!(v["messageId"], "gen-7");
        assert_eq!(v["properties"]["product"], "p1");
        assert_eq!(v["properties"]["price"], 19.99);
        assert!(v["context"]["userAgent"].is_string());
        assert!(line.ends_with("}\n"));
    }

    #[test]
    fn a_keyed_event_has_no_user_id() {
        let line = one(
            Shape::Segment,
            r#"{"type":"PRICE_CHANGE","ts":"2026-01-05T10:00:00Z","product":"p1","old_price":2.5,"new_price":2.0}"#,
        );
        let v: Value = serde_json::from_str(&line).expect("a JSON line");
        assert_eq!(v["event"], "Price Changed");
        assert!(v.get("userId").is_none());
        assert_eq!(v["properties"]["new_price"], 2.0);
    }

    #[test]
    fn a_csv_row_has_a_cell_per_column_and_quotes_what_needs_it() {
        let row = one(
            Shape::Csv,
            r#"{"type":"VIEW","user":"u1","ts":"2026-01-05T10:00:00Z","product":"p,1","category":"say \"hi\""}"#,
        );
        assert_eq!(row.matches(',').count(), CSV_COLUMNS.len() - 1 + 1);
        assert!(row.starts_with("VIEW,u1,2026-01-05T10:00:00Z,\"p,1\",,,,,,\"say \"\"hi\"\"\","));
        assert_eq!(
            header(Shape::Csv).as_deref(),
            Some(
                "type,user,ts,product,price,qty,order,amount,page,category,campaign,old_price,new_price,email,tier\n"
            )
        );
        assert_eq!(header(Shape::Segment), None);
    }
}
