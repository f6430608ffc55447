//! An independent check of the runtime: two triggers run through `trigc run` (the
//! built binary) on generated streams of 100k events, against a direct implementation
//! of the same two triggers written here in plain Rust from the language reference
//! (docs/LANGUAGE.md §5 and §7), not from the runtime's code. The action records
//! must match exactly, in order: trigger, key, fire time and payload.
//!
//! - `oracle_cart`: `cooldown 24h on ADD_TO_CART or REMOVE_FROM_CART wait 30m unless
//!   PURCHASE then emit "cart"`: a debounce (restart on every cart change), cancelled
//!   by a purchase, at most one record per customer per 24h (a suppressed firing ends
//!   the instance), payload the starting event's fields.
//! - `oracle_remind`: `reentry parallel on EMAIL_SENT as sent wait 48h unless
//!   EMAIL_CLICK where campaign == sent.campaign then emit "remind"`: one instance per
//!   send, each cancelled only by a click on its own campaign.
//!
//! What the model encodes: timers due at or before an event's time fire before the
//! event (the wait is half-open), in order (due, priority desc, trigger name, creation
//! sequence); at the end of input the timers due by the last event time fire; an
//! `unless` event ends instances before a start on the same event would begin one.

#[path = "common/bin.rs"]
#[expect(
    dead_code,
    reason = "this test spawns trigc itself; `run` and `text` serve others"
)]
mod bin;

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::process::Stdio;

use serde_json::{Map, Value, json};
use trigc::cli::generate::{GenConfig, write_stream};

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
/// 2026-01-05T00:00:00Z, the generator's default start.
const START: i64 = 1_767_571_200_000;

/// The rules under test. Every event type the generator writes is declared, so every
/// line moves event time the same way in the runtime and in the model.
const RULES: &str = r#"
event ADD_TO_CART      { product: string, price: float, qty: int? }
event REMOVE_FROM_CART { product: string }
event PURCHASE         { order: string, amount: float }
event VISIT            { page: string? }
event VIEW             { product: string, category: string?, price: float? }
event WISHLIST_ADD     { product: string }
event EMAIL_SENT       { campaign: string }
event EMAIL_CLICK      { campaign: string }
event PRICE_CHANGE keyed by product { product: string, old_price: float, new_price: float }
profile event PROFILE_UPDATE { email: string?, tier: string? }

trigger oracle_cart
  cooldown 24h
  on ADD_TO_CART or REMOVE_FROM_CART
  wait 30m unless PURCHASE
  then emit "cart"

trigger oracle_remind
  reentry parallel
  on EMAIL_SENT as sent
  wait 48h unless EMAIL_CLICK where campaign == sent.campaign
  then emit "remind" with { campaign: sent.campaign }
"#;

/// One action record, reduced to what both sides must agree on.
#[derive(Clone, Debug, PartialEq)]
struct Record {
    trigger: &'static str,
    key: String,
    at: i64,
    payload: Value,
}

/// One input line as the model sees it.
struct Input {
    kind: String,
    key: Option<String>,
    ts: i64,
    fields: Map<String, Value>,
}

fn parse_time(v: &Value) -> i64 {
    match v {
        Value::Number(n) => n.as_i64().unwrap_or_else(|| panic!("time {n}")),
        Value::String(s) => chrono::DateTime::parse_from_rfc3339(s)
            .unwrap_or_else(|e| panic!("time {s}: {e}"))
            .timestamp_millis(),
        other => panic!("time {other}"),
    }
}

fn parse_input(text: &str) -> Vec<Input> {
    text.lines()
        .map(|line| {
            let Value::Object(mut fields) =
                serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}"))
            else {
                panic!("not an object: {line}")
            };
            let kind = fields
                .remove("type")
                .and_then(|t| t.as_str().map(String::from))
                .expect("type");
            let key = fields
                .remove("user")
                .and_then(|u| u.as_str().map(String::from));
            let ts = parse_time(&fields.remove("ts").expect("ts"));
            Input {
                kind,
                key,
                ts,
                fields,
            }
        })
        .collect()
}

/// Order among timers due at the same instant: priority (both 50), then name.
const CART: u8 = 0;
const REMIND: u8 = 1;

/// `(due, trigger, creation sequence)`: the firing order. The sequence is the index
/// of the event that set the timer; each event sets at most one timer.
type TimerKey = (i64, u8, usize);

#[derive(Default)]
struct Customer {
    /// The cart instance waiting: its timer.
    cart: Option<TimerKey>,
    cart_last_action: Option<i64>,
    /// The reminder instances waiting: their timers and campaigns.
    reminders: Vec<(TimerKey, String)>,
}

/// How often each behaviour happened in the model, so a test can insist that the
/// comparison covered it.
#[derive(Debug, Default)]
struct Coverage {
    cart_restarts: usize,
    cart_purchases: usize,
    cart_suppressed: usize,
    /// Clicks that cancelled one reminder while another campaign's stayed waiting.
    remind_correlated: usize,
    /// Clicks on a campaign with no reminder waiting (nothing to cancel).
    remind_clicks_ignored: usize,
}

/// The direct implementation of both triggers.
fn model(inputs: &[Input], coverage: &mut Coverage) -> Vec<Record> {
    let mut customers: HashMap<String, Customer> = HashMap::new();
    // Pending timers → (customer, payload).
    let mut timers: BTreeMap<TimerKey, (String, Value)> = BTreeMap::new();
    let mut out = Vec::new();

    let fire_until = |watermark: i64,
                      timers: &mut BTreeMap<TimerKey, (String, Value)>,
                      customers: &mut HashMap<String, Customer>,
                      out: &mut Vec<Record>,
                      coverage: &mut Coverage| {
        while let Some(entry) = timers.first_entry() {
            let (due, trigger, _) = *entry.key();
            if due > watermark {
                break;
            }
            let (timer, (key, payload)) = entry.remove_entry();
            let customer = customers.get_mut(&key).expect("timer of a known customer");
            if trigger == CART {
                assert_eq!(customer.cart, Some(timer));
                customer.cart = None;
                // Cooldown: no action until the last action + 24h; a suppressed step
                // ends the instance.
                if customer
                    .cart_last_action
                    .is_some_and(|last| due < last + 24 * HOUR)
                {
                    coverage.cart_suppressed += 1;
                    continue;
                }
                customer.cart_last_action = Some(due);
                out.push(Record {
                    trigger: "oracle_cart",
                    key,
                    at: due,
                    payload,
                });
            } else {
                customer.reminders.retain(|(t, _)| *t != timer);
                out.push(Record {
                    trigger: "oracle_remind",
                    key,
                    at: due,
                    payload,
                });
            }
        }
    };

    let mut watermark = i64::MIN;
    for (seq, input) in inputs.iter().enumerate() {
        assert!(
            input.ts >= watermark,
            "the generator's times never decrease"
        );
        watermark = input.ts;
        fire_until(watermark, &mut timers, &mut customers, &mut out, coverage);
        let Some(key) = &input.key else { continue };
        let customer = customers.entry(key.clone()).or_default();
        let field = |name: &str| input.fields.get(name).filter(|v| !v.is_null());
        match input.kind.as_str() {
            "PURCHASE" => {
                if let Some(timer) = customer.cart.take() {
                    timers.remove(&timer);
                    coverage.cart_purchases += 1;
                }
            }
            "ADD_TO_CART" | "REMOVE_FROM_CART" => {
                // reentry restart: the waiting instance is cancelled, a new one starts.
                if let Some(timer) = customer.cart.take() {
                    timers.remove(&timer);
                    coverage.cart_restarts += 1;
                }
                // Default payload: the starting event's present fields.
                let mut payload = Map::new();
                if let Some(p) = field("product") {
                    payload.insert("product".into(), p.clone());
                }
                if let Some(p) = field("price").and_then(Value::as_f64) {
                    payload.insert("price".into(), json!(p));
                }
                if let Some(q) = field("qty") {
                    payload.insert("qty".into(), q.clone());
                }
                let timer = (input.ts + 30 * MINUTE, CART, seq);
                customer.cart = Some(timer);
                timers.insert(timer, (key.clone(), Value::Object(payload)));
            }
            "EMAIL_CLICK" => {
                let campaign = field("campaign").and_then(Value::as_str).expect("campaign");
                let before = customer.reminders.len();
                customer.reminders.retain(|(timer, c)| {
                    let cancelled = c == campaign;
                    if cancelled {
                        timers.remove(timer);
                    }
                    !cancelled
                });
                let after = customer.reminders.len();
                coverage.remind_correlated += usize::from(after < before && after > 0);
                coverage.remind_clicks_ignored += usize::from(after == before);
            }
            "EMAIL_SENT" => {
                let campaign = field("campaign").and_then(Value::as_str).expect("campaign");
                // At most 64 active instances per (trigger, key); none of our streams
                // gets near it, which the assertion keeps true.
                assert!(
                    customer.reminders.len() < 64,
                    "{key} has 64 reminders waiting"
                );
                let timer = (input.ts + 48 * HOUR, REMIND, seq);
                customer.reminders.push((timer, campaign.to_string()));
                timers.insert(timer, (key.clone(), json!({ "campaign": campaign })));
            }
            _ => {}
        }
    }
    // End of input: the final watermark is the last event time.
    fire_until(watermark, &mut timers, &mut customers, &mut out, coverage);
    out
}

/// Runs the built `trigc run` on `events` and returns its records.
fn runtime(events: &[u8]) -> Vec<Record> {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("oracle");
    std::fs::create_dir_all(&dir).expect("temp dir");
    let rules = dir.join(format!("rules-{}.trig", std::process::id()));
    std::fs::write(&rules, RULES).expect("write rules");
    let mut child = bin::trigc()
        .arg("run")
        .arg(&rules)
        .args(["--input", "-", "--stats"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn trigc");
    let mut stdin = child.stdin.take().expect("stdin");
    let output = std::thread::scope(|s| {
        s.spawn(move || stdin.write_all(events).expect("feed events"));
        child.wait_with_output().expect("trigc run")
    });
    let _ = std::fs::remove_file(&rules);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "trigc run failed: {stderr}");
    // The summary is the last stderr line; nothing may be rejected or fail.
    let stats: Value = stderr
        .lines()
        .last()
        .and_then(|l| serde_json::from_str(l).ok())
        .expect("--stats line");
    assert_eq!(stats["rejected"], json!(0), "{stats}");
    assert_eq!(stats["runtime_errors"], json!(0), "{stats}");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| {
            let r: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}"));
            let trigger = match r["trigger"].as_str() {
                Some("oracle_cart") => "oracle_cart",
                Some("oracle_remind") => "oracle_remind",
                _ => panic!("unexpected record {line}"),
            };
            let name = if trigger == "oracle_cart" {
                "cart"
            } else {
                "remind"
            };
            assert_eq!(
                (&r["step"], &r["action"], &r["name"]),
                (&json!(1), &json!("emit"), &json!(name)),
                "{line}"
            );
            Record {
                trigger,
                key: r["key"].as_str().expect("key").to_string(),
                at: parse_time(&r["at"]),
                payload: r["payload"].clone(),
            }
        })
        .collect()
}

fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).map_or(ms.to_string(), |t| t.to_rfc3339())
}

/// Where two record lists first differ, with the customer's relevant input.
fn divergence(want: &[Record], got: &[Record], inputs: &[Input]) -> Option<String> {
    let i = (0..want.len().max(got.len())).find(|&i| want.get(i) != got.get(i))?;
    let key = want
        .get(i)
        .or(got.get(i))
        .map(|r| r.key.clone())
        .unwrap_or_default();
    let history: Vec<String> = inputs
        .iter()
        .enumerate()
        .filter(|(_, e)| {
            e.key.as_deref() == Some(&key) && !matches!(e.kind.as_str(), "VIEW" | "VISIT")
        })
        .map(|(seq, e)| {
            format!(
                "  #{seq} {} {} {}",
                rfc3339(e.ts),
                e.kind,
                Value::Object(e.fields.clone())
            )
        })
        .collect();
    Some(format!(
        "record {i} differs (model {} records, runtime {}):\n model:   {:?}\n runtime: {:?}\n\
         context model:   {:?}\n context runtime: {:?}\ninput of {key}:\n{}",
        want.len(),
        got.len(),
        want.get(i),
        got.get(i),
        want.get(i.saturating_sub(2)..(i + 3).min(want.len())),
        got.get(i.saturating_sub(2)..(i + 3).min(got.len())),
        history.join("\n"),
    ))
}

/// Generates a stream, compares, and returns the model's records and coverage.
fn check(config: &GenConfig) -> (Vec<Record>, Coverage) {
    let mut events = Vec::new();
    write_stream(config, &mut events).expect("generate");
    let text = String::from_utf8(events).expect("utf-8");
    let inputs = parse_input(&text);
    assert!(inputs.len() as u64 >= 100_000, "{} events", inputs.len());

    let mut coverage = Coverage::default();
    let want = model(&inputs, &mut coverage);
    let got = runtime(text.as_bytes());
    if let Some(report) = divergence(&want, &got, &inputs) {
        panic!("{report}");
    }
    (want, coverage)
}

fn count(records: &[Record], trigger: &str) -> usize {
    records.iter().filter(|r| r.trigger == trigger).count()
}

/// The generator's defaults: 1000 customers.
#[test]
fn runtime_matches_direct_implementation_on_a_generated_stream() {
    let config = GenConfig {
        events: 100_000,
        customers: 1000,
        products: 200,
        seed: 1,
        start: START,
    };
    let (records, coverage) = check(&config);
    assert!(count(&records, "oracle_cart") > 1000);
    assert!(count(&records, "oracle_remind") > 100);
    assert!(coverage.cart_restarts > 1000, "{coverage:?}");
    assert!(coverage.cart_purchases > 100, "{coverage:?}");
    assert!(coverage.cart_suppressed > 100, "{coverage:?}");
}

/// Few customers, each very active: many restarts and cooldown suppressions.
#[test]
fn runtime_matches_direct_implementation_with_dense_customers() {
    let config = GenConfig {
        events: 100_000,
        customers: 120,
        products: 50,
        seed: 7,
        start: START,
    };
    let (records, coverage) = check(&config);
    assert!(count(&records, "oracle_cart") > 500);
    assert!(coverage.cart_suppressed > 1000, "{coverage:?}");
}

/// Many customers: campaigns go to a tenth of them daily, so sends and clicks are
/// plentiful, and customers often have two campaigns waiting at once (a click on
/// one must not cancel the other).
#[test]
fn runtime_matches_direct_implementation_with_many_campaign_recipients() {
    let config = GenConfig {
        events: 100_000,
        customers: 6000,
        products: 200,
        seed: 3,
        start: START,
    };
    let (records, coverage) = check(&config);
    assert!(count(&records, "oracle_remind") > 1000);
    assert!(coverage.remind_correlated > 20, "{coverage:?}");
    assert!(coverage.remind_clicks_ignored > 20, "{coverage:?}");
}
