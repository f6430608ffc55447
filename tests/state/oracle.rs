//! Window aggregates against a naive recomputation (proptest).

use super::*;

/// An aggregate under test: id, kind, window.
type OracleAgg = (AggId, AggKind, Option<i64>);

/// `event X { v: int?, w: int }` and every aggregate over `v` (or the event), each
/// within `D` and over all time; then unfiltered counts within `D/2` (reading the
/// `sum`'s entries) and, with `longer_count`, within `2D` (whose entries the other
/// counts then read).
fn oracle_program(d: i64, longer_count: bool) -> (Program, EventId, Vec<OracleAgg>) {
    let mut b = Builder::default();
    let x = b.event(
        "X",
        vec![field("v", Ty::Int, true), field("w", Ty::Int, false)],
    );
    let w = b.field(x, 1);
    let zero = b.int(0);
    let w_gt_0 = b.binary(BinaryOp::Gt, w, zero);
    let mut aggs = Vec::new();
    for within in [Some(d), None] {
        for kind in [
            AggKind::Count,
            AggKind::Sum,
            AggKind::Avg,
            AggKind::Min,
            AggKind::Max,
            AggKind::Exists,
            AggKind::Distinct,
            AggKind::Last,
            AggKind::First,
        ] {
            let needs_field = !matches!(
                kind,
                AggKind::Count | AggKind::Exists | AggKind::Last | AggKind::First
            );
            let field = needs_field.then_some(0);
            aggs.push((b.agg(kind, x, field, None, within), kind, within));
        }
        // A filtered count too.
        aggs.push((
            b.agg(AggKind::Count, x, None, Some(w_gt_0), within),
            AggKind::Count,
            within,
        ));
    }
    let mut extra = vec![(d + 1) / 2];
    if longer_count {
        extra.push(2 * d);
    }
    for within in extra {
        let id = b.agg(AggKind::Count, x, None, None, Some(within));
        aggs.push((id, AggKind::Count, Some(within)));
    }
    (b.p, x, aggs)
}

/// The aggregate recomputed from every event taken in so far.
fn naive(
    kind: AggKind,
    within: Option<i64>,
    filtered: bool,
    events: &[(i64, Option<i64>, i64)],
    now: i64,
) -> Value {
    let live: Vec<&(i64, Option<i64>, i64)> = events
        .iter()
        .filter(|e| within.is_none_or(|d| e.0 > now - d))
        .filter(|e| !filtered || e.2 > 0)
        .collect();
    let values: Vec<i64> = live.iter().filter_map(|e| e.1).collect();
    match kind {
        AggKind::Count => Value::Int(live.len() as i64),
        AggKind::Exists => Value::Bool(!live.is_empty()),
        AggKind::Sum => Value::Int(values.iter().sum()),
        AggKind::Avg if values.is_empty() => Value::None,
        AggKind::Avg => Value::Float(values.iter().sum::<i64>() as f64 / values.len() as f64),
        AggKind::Min => values.iter().min().map_or(Value::None, |&v| Value::Int(v)),
        AggKind::Max => values.iter().max().map_or(Value::None, |&v| Value::Int(v)),
        AggKind::Distinct => {
            let mut vs = values.clone();
            vs.sort();
            vs.dedup();
            Value::Set(Arc::new(vs.into_iter().map(Value::Int).collect()))
        }
        // The newest (the later-ingested on a tie) / the oldest (the earlier).
        AggKind::Last => live
            .iter()
            .max_by_key(|e| e.0)
            .map_or(Value::None, |e| stored(e)),
        AggKind::First => live
            .iter()
            .min_by_key(|e| e.0)
            .map_or(Value::None, |e| stored(e)),
    }
}

fn stored(e: &(i64, Option<i64>, i64)) -> Value {
    Value::Int(e.0 * 1_000_000 + e.1.unwrap_or(-1) * 1000 + e.2)
}

/// Reduces a stored event to the same fingerprint as [`stored`].
fn fingerprint(v: Value) -> Value {
    match v {
        Value::Event(e) => {
            let v = match e.fields[0] {
                Value::Int(v) => v,
                _ => -1,
            };
            let Value::Int(w) = e.fields[1] else {
                return Value::None;
            };
            Value::Int(e.ts * 1_000_000 + v * 1000 + w)
        }
        other => other,
    }
}

#[derive(Clone, Debug)]
enum Step {
    /// An event `gap` after the newest so far (or `late` before it), with `v`, `w`.
    Event {
        gap: i64,
        late: i64,
        v: Option<i64>,
        w: i64,
    },
    /// Read every aggregate at `ahead` after the newest event.
    Read {
        ahead: i64,
    },
    Expire {
        ahead: i64,
    },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0i64..30, prop_oneof![3 => Just(0i64), 1 => 0i64..40], proptest::option::of(-20i64..20), -3i64..3)
            .prop_map(|(gap, late, v, w)| Step::Event { gap, late, v, w }),
        2 => (0i64..60).prop_map(|ahead| Step::Read { ahead }),
        1 => (0i64..60).prop_map(|ahead| Step::Expire { ahead }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn windows_match_a_naive_recomputation(d in 1i64..50, longer_count: bool, derived: bool, steps in proptest::collection::vec(step(), 1..80)) {
        let (mut p, x, aggs) = oracle_program(d, longer_count);
        // The builder derived the layout; deriving it again changes nothing, and the
        // program verifies either way.
        if derived {
            trigc::check::layout::assign(&mut p);
        }
        prop_assert_eq!(trigc::ir::verify::verify(&p), Vec::<String>::new());
        let mut w = World::new(&p);
        let mut events: Vec<(i64, Option<i64>, i64)> = Vec::new();
        let mut newest = 0i64;
        let mut expired_at = i64::MIN;
        for s in steps {
            match s {
                Step::Event { gap, late, v, w: wv } => {
                    newest += gap;
                    let ts = newest - late;
                    // The runtime never ingests an event older than what it has
                    // already expired (expire runs at the watermark).
                    if ts <= expired_at { continue; }
                    events.push((ts, v, wv));
                    w.feed(1, x, ts, vec![v.map_or(Value::None, Value::Int), Value::Int(wv)]);
                }
                Step::Read { ahead } => {
                    let now = newest + ahead;
                    for (i, &(id, kind, within)) in aggs.iter().enumerate() {
                        let filtered = i < 20 && i % 10 == 9;
                        let got = fingerprint(w.agg(1, id, now));
                        let want = naive(kind, within, filtered, &events, now);
                        prop_assert_eq!(got, want, "{:?} within {:?} at {} (filtered: {})", kind, within, now, filtered);
                    }
                }
                Step::Expire { ahead } => {
                    // Expire at a watermark at or before the newest event.
                    let now = newest - ahead.min(newest.max(0));
                    if let Some(k) = w.keys.get_mut(1) { k.expire(&p, now); }
                    expired_at = expired_at.max(now);
                }
            }
        }
        prop_assert_eq!(w.report.cap_hits, 0);
    }
}
