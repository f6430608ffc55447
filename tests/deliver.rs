//! `trigc run --deliver` against a real HTTP receiver on loopback: signatures checked
//! with the Standard Webhooks crate, retries on 503 and 429 (`Retry-After`
//! honoured), ids stable across attempts, email actions posted whole, dead letters
//! after `--max-attempts`, no retry on other 4xx, and a 410 stopping its endpoint.

#[path = "common/bin.rs"]
mod bin;
#[path = "common/deliver.rs"]
mod deliver;
#[path = "common/receiver.rs"]
mod receiver;
#[path = "common/temp.rs"]
mod temp;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use bin::trigc;
use deliver::{HOOKS, SECRET, events, ids_of, records, rules};
use receiver::{Plan, Receiver};
use temp::temp_dir;

#[test]
fn retries_keep_ids_and_every_request_is_signed() {
    let dir = temp_dir("deliver-retries");
    let receiver = Receiver::start(
        Plan {
            fail_first: 3,
            then_429: Some(1),
            ..Plan::default()
        },
        SECRET,
    );
    let rules = rules(&dir, &receiver.url(), HOOKS);
    let input = events(&dir, 2000, 100, 5);
    let email = format!("{}/email", receiver.url());
    let out = trigc()
        .env("TRIGC_TEST_SECRET", SECRET)
        .args(["run", &rules, "--input", &input, "--deliver"])
        .args(["--webhook-secret-env", "TRIGC_TEST_SECRET"])
        .args(["--email-endpoint", &email, "--stats"])
        .args(["--retry-base", "5ms", "--retry-cap", "50ms"])
        .output()
        .unwrap();
    let stderr = bin::text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let records = records(&out.stdout);
    let webhooks = ids_of(&records, "webhook");
    let emails = ids_of(&records, "email");
    assert!(webhooks.len() > 20 && !emails.is_empty(), "{stderr}");
    let requests = receiver.requests();
    assert!(
        requests.iter().all(|r| r.signed_ok),
        "a signature did not verify"
    );
    // Every action delivered exactly once (no crash, so no repeats), under its id.
    let delivered = receiver.delivered();
    let expected: HashSet<String> = webhooks.union(&emails).cloned().collect();
    assert_eq!(delivered.keys().cloned().collect::<HashSet<_>>(), expected);
    assert!(delivered.values().all(|&n| n == 1));
    // The failed attempts were retried under the same id; the one after the 429
    // waited for its `Retry-After`.
    let refused = &requests[3];
    assert_eq!(refused.status, 429);
    let next = requests[4..]
        .iter()
        .find(|r| r.id == refused.id)
        .expect("the 429 was retried");
    assert!(next.at - refused.at >= Duration::from_millis(950));
    for failed in &requests[..3] {
        assert!(delivered.contains_key(&failed.id));
    }
    // Bodies: a webhook's payload, an email's whole record.
    let by_id: HashMap<&str, &serde_json::Value> = records
        .iter()
        .map(|r| (r["id"].as_str().unwrap(), r))
        .collect();
    for r in requests.iter().filter(|r| r.status == 200) {
        let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        let record = by_id[r.id.as_str()];
        if r.path == "/email" {
            assert_eq!(&body, record);
        } else {
            assert_eq!(body, record["payload"]);
            assert_eq!(
                r.path,
                record["url"]
                    .as_str()
                    .unwrap()
                    .rsplit_once('/')
                    .map(|(_, p)| format!("/{p}"))
                    .unwrap()
            );
        }
    }
    let summary: serde_json::Value = serde_json::from_str(stderr.lines().last().unwrap()).unwrap();
    assert_eq!(summary["delivery"]["retries"], 4);
    assert_eq!(summary["delivery"]["delivered"], expected.len());
    assert_eq!(summary["delivery"]["pending"], 0);
}

#[test]
fn dead_letters_gone_endpoints_and_refusals() {
    let dir = temp_dir("deliver-dead");
    let receiver = Receiver::start(
        Plan {
            fixed: vec![
                ("/bought".into(), 503),
                ("/cart".into(), 410),
                ("/email".into(), 400),
            ],
            ..Plan::default()
        },
        SECRET,
    );
    let rules = rules(&dir, &receiver.url(), HOOKS);
    let input = events(&dir, 2000, 100, 6);
    let email = format!("{}/email", receiver.url());
    let dead = dir.join("dead.ndjson").display().to_string();
    let out = trigc()
        .env("TRIGC_TEST_SECRET", SECRET)
        .args(["run", &rules, "--input", &input, "--deliver"])
        .args(["--webhook-secret-env", "TRIGC_TEST_SECRET"])
        .args([
            "--email-endpoint",
            &email,
            "--stats",
            "--dead-letter",
            &dead,
        ])
        .args([
            "--max-attempts",
            "3",
            "--retry-base",
            "1ms",
            "--retry-cap",
            "5ms",
        ])
        .args(["--max-in-flight", "1"])
        .output()
        .unwrap();
    let stderr = bin::text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let records = records(&out.stdout);
    let requests = receiver.requests();
    let mut per_id: HashMap<(&str, &str), usize> = HashMap::new();
    for r in &requests {
        *per_id.entry((r.path.as_str(), r.id.as_str())).or_default() += 1;
    }
    let letters: Vec<serde_json::Value> = std::fs::read_to_string(&dead)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let lettered: HashMap<&str, &serde_json::Value> = letters
        .iter()
        .map(|l| (l["id"].as_str().unwrap(), l))
        .collect();
    // Every action that could not be delivered has one dead letter, with its
    // record.
    let all: HashSet<String> = ids_of(&records, "webhook")
        .union(&ids_of(&records, "email"))
        .cloned()
        .collect();
    assert_eq!(letters.len(), all.len());
    assert_eq!(
        lettered
            .keys()
            .map(|k| k.to_string())
            .collect::<HashSet<_>>(),
        all
    );
    for r in records
        .iter()
        .filter(|r| r["action"] == "webhook" || r["action"] == "email")
    {
        let id = r["id"].as_str().unwrap();
        let letter = lettered[id];
        assert_eq!(&letter["record"], r);
        let url = r["url"].as_str().unwrap_or_default();
        if url.ends_with("/bought") {
            // 503 every time: retried up to the limit.
            assert_eq!(per_id[&("/bought", id)], 3);
            assert_eq!(letter["attempts"], 3);
            assert!(letter["error"].as_str().unwrap().contains("HTTP 503"));
        } else if r["action"] == "email" {
            // 400: no retry.
            assert_eq!(per_id[&("/email", id)], 1);
            assert!(letter["error"].as_str().unwrap().contains("HTTP 400"));
        } else {
            assert!(letter["error"].as_str().unwrap().contains("410"));
        }
    }
    // After the 410, nothing more went to that endpoint.
    assert_eq!(requests.iter().filter(|r| r.path == "/cart").count(), 1);
    let summary: serde_json::Value = serde_json::from_str(stderr.lines().last().unwrap()).unwrap();
    assert_eq!(summary["delivery"]["endpoints_gone"], 1);
    assert_eq!(summary["delivery"]["delivered"], 0);
    assert_eq!(summary["delivery"]["dead_letters"], all.len());
}
