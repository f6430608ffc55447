//! What the delivery and durable-state tests share: rule sets whose webhooks go to
//! a loopback receiver, generated input, and reading records. Included as
//! `#[path = "common/deliver.rs"] mod deliver;` (with `bin` and `temp`).

use std::collections::HashSet;
use std::path::Path;

use super::bin::run;
use super::temp::write;

/// The Standard Webhooks example secret.
pub const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// A rules directory: the example events plus `triggers` (with `{URL}` replaced by
/// the receiver's base URL).
pub fn rules(dir: &Path, url: &str, triggers: &str) -> String {
    let rules = dir.join("rules");
    std::fs::create_dir_all(&rules).unwrap();
    let events =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/events.trig")).unwrap();
    write(&rules, "events.trig", &events);
    write(
        &rules,
        "hooks.trig",
        triggers.replace("{URL}", url).as_bytes(),
    );
    rules.display().to_string()
}

/// Webhooks on purchases (at once) and on abandoned carts (after a timer), every
/// other event type read so no warning is printed for it.
pub const HOOKS: &str = r#"
trigger bought
  limit 100 per 1d
  on PURCHASE
  then webhook "{URL}/bought" with { order: order, amount: amount, items: cart }
trigger abandoned
  reentry restart
  cooldown 1h
  on ADD_TO_CART
  wait 30m unless PURCHASE
  then webhook "{URL}/cart" with { product: product }
trigger thanks
  cooldown 1d
  on PURCHASE
  if amount > 100
  then email "thanks" to profile.email with { order: order }
trigger seen
  on VISIT or VIEW or WISHLIST_ADD or EMAIL_SENT or EMAIL_CLICK or PRICE_CHANGE or REMOVE_FROM_CART
  then emit "seen" with { wished: wishlist }
"#;

/// `trigc gen` events into `dir/events.ndjson`; its path.
pub fn events(dir: &Path, events: u32, customers: u32, seed: u32) -> String {
    let path = dir.join("events.ndjson").display().to_string();
    let out = run(&[
        "gen",
        "--events",
        &events.to_string(),
        "--customers",
        &customers.to_string(),
        "--seed",
        &seed.to_string(),
        "--out",
        &path,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    path
}

/// The records of a run's stdout.
pub fn records(stdout: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a record"))
        .collect()
}

/// The ids of the records of `action` (`webhook`, `email`).
pub fn ids_of(records: &[serde_json::Value], action: &str) -> HashSet<String> {
    records
        .iter()
        .filter(|r| r["action"] == action)
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}
