//! Which sampled members are the envelope: the customer key, the event type and the
//! time. Names first (a member called `userId`, `event_type`, `timestamp`, …, or one
//! whose name says customer or user), then values, for streams that name them
//! otherwise (`uid`, `kind`, `at`) or have no header row at all: the time is a member
//! every value of which reads as a time, the type the short text with the fewest
//! distinct values, the key the first id-like member left. Each guess says how it was
//! made, for the comment above the schema.

use std::collections::{BTreeMap, BTreeSet};

use super::{Kind, Members};

/// Preferred names for the envelope's members, best first.
const TYPE_NAMES: &[&str] = &[
    "event_type",
    "event",
    "eventType",
    "type",
    "behavior",
    "action",
    "event_name",
];
const KEY_NAMES: &[&str] = &[
    "userId",
    "user_id",
    "user",
    "visitorid",
    "visitor_id",
    "customer_id",
    "customerId",
    "customer",
    "uid",
    "anonymousId",
];
/// Parts of a key member's name, when no name above is present (`client_ref`).
const KEY_WORDS: &[&str] = &["user", "customer", "visitor", "client", "account", "member"];
/// Parts of a type member's name, when no name above is present (`kind`, `verb`).
const TYPE_WORDS: &[&str] = &[
    "type", "event", "action", "kind", "behavio", "activity", "verb",
];
const TIME_NAMES: &[&str] = &[
    "timestamp",
    "ts",
    "time",
    "event_time",
    "datetime",
    "date",
    "created_at",
    "receivedAt",
];

/// Most distinct values a type member shows in a sample.
const MAX_TYPES: usize = 64;

/// What a time member's text reads as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeText {
    /// RFC 3339 (or epoch milliseconds): the schema's default.
    Default,
    EpochSeconds,
    EpochMicros,
    /// A `format "..."`.
    Format(&'static str),
}

/// The strftime formats `infer` recognises, zone-less ones read as UTC.
const FORMATS: &[&str] = &[
    "%Y-%m-%d %H:%M:%S UTC",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S%.f",
];

impl TimeText {
    /// What `text` reads as. `strict`: epoch digits only within 2000–2100 (a member
    /// guessed by its values, where an id of ten digits must not pass for seconds);
    /// otherwise by their number of digits.
    pub fn of(text: &str, strict: bool) -> Option<TimeText> {
        if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
            let n: u64 = text.parse().ok()?;
            return if strict {
                // 2000-01-01 to 2100-01-01 in seconds.
                let (from, to) = (946_684_800u64, 4_102_444_800u64);
                if (from..to).contains(&n) {
                    Some(TimeText::EpochSeconds)
                } else if (from * 1_000..to * 1_000).contains(&n) {
                    Some(TimeText::Default)
                } else if (from * 1_000_000..to * 1_000_000).contains(&n) {
                    Some(TimeText::EpochMicros)
                } else {
                    None
                }
            } else {
                Some(match text.len() {
                    0..=11 => TimeText::EpochSeconds,
                    12..=14 => TimeText::Default,
                    _ => TimeText::EpochMicros,
                })
            };
        }
        if crate::time::parse_time(text).is_ok() {
            return Some(TimeText::Default);
        }
        FORMATS
            .iter()
            .find(|f| chrono::NaiveDateTime::parse_from_str(text, f).is_ok())
            .map(|f| TimeText::Format(f))
    }

    /// The schema's clause after `time NAME`.
    pub fn clause(self) -> String {
        match self {
            TimeText::Default => String::new(),
            TimeText::EpochSeconds => " epoch seconds".into(),
            TimeText::EpochMicros => " epoch micros".into(),
            TimeText::Format(f) => format!(" format {f:?}"),
        }
    }
}

/// One top-level or nested scalar member across the sample.
struct Column<'s> {
    path: &'s str,
    /// Lines with a value (not `null`).
    present: usize,
    /// The one kind of its values; `None` when they differ or it holds lists.
    kind: Option<Kind>,
    /// Distinct texts, up to `MAX_TYPES + 1`.
    distinct: BTreeSet<&'s str>,
    /// What every value reads as, when all read as the same kind of time.
    time: Option<TimeText>,
    /// Whether every value is short and has no whitespace (an id or a name).
    id_like: bool,
}

fn columns(samples: &[Members]) -> Vec<Column<'_>> {
    let mut order: Vec<Column<'_>> = Vec::new();
    let mut at: BTreeMap<&str, usize> = BTreeMap::new();
    for m in samples {
        for (path, ty, text) in m {
            let Some(ty) = ty else { continue };
            let i = *at.entry(path).or_insert_with(|| {
                order.push(Column {
                    path,
                    present: 0,
                    kind: (!ty.list).then_some(ty.kind),
                    distinct: BTreeSet::new(),
                    time: TimeText::of(text, true),
                    id_like: true,
                });
                order.len() - 1
            });
            let Some(c) = order.get_mut(i) else { continue };
            c.present += 1;
            if ty.list || c.kind != Some(ty.kind) {
                c.kind = None;
            }
            if c.distinct.len() <= MAX_TYPES {
                c.distinct.insert(text);
            }
            if c.time.is_some() && TimeText::of(text, true) != c.time {
                c.time = None;
            }
            c.id_like &= text.len() <= 64 && !text.contains(char::is_whitespace);
        }
    }
    order
}

/// How a role was given a member.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum How {
    Name,
    Values,
    /// Nothing fits: a placeholder name the user must change.
    Missing,
}

/// The envelope of a sample.
pub struct Envelope {
    /// `key A ?? B`: one member, or the user id and the anonymous id.
    pub key: Vec<String>,
    pub type_: String,
    pub time: String,
    pub time_text: Option<TimeText>,
    /// How each of key, type and time was found.
    pub how: [How; 3],
}

impl Envelope {
    /// The comment above the schema: what was guessed and how.
    pub fn comment(&self) -> String {
        let said = |how: How| match how {
            How::Name => "by its name",
            How::Values => "by its values",
            How::Missing => "NOT FOUND: no member looks like it, name it here",
        };
        format!(
            "# key: `{}` ({}), type: `{}` ({}), time: `{}` ({})",
            self.key.join(" ?? "),
            said(self.how[0]),
            self.type_,
            said(self.how[1]),
            self.time,
            said(self.how[2]),
        )
    }
}

/// Guess the envelope of `samples`.
pub fn envelope(samples: &[Members]) -> Envelope {
    let cols = columns(samples);
    let n = samples.len();
    let common = |c: &Column<'_>| c.present * 2 >= n;
    let named = |names: &[&str]| {
        names
            .iter()
            .find_map(|name| cols.iter().find(|c| c.path == *name && common(c)))
    };

    // The time: by name, else the first member whose every value is a time.
    let (time, time_how) = match named(TIME_NAMES) {
        Some(c) => (Some(c), How::Name),
        None => (
            cols.iter().find(|c| common(c) && c.time.is_some()),
            How::Values,
        ),
    };
    let time_path = time.map(|c| c.path);

    // The key, by name: `userId ?? anonymousId` when both are there (the anonymous
    // id stands in before login), else the first name listed, else a name with a
    // customer's word in it.
    let present = |name: &str| cols.iter().any(|c| c.path == name);
    let mut key: Vec<&str> = KEY_NAMES.iter().copied().filter(|k| present(k)).collect();
    if key.first() == Some(&"userId") && key.contains(&"anonymousId") {
        key.truncate(1);
        key.push("anonymousId");
    } else {
        key.truncate(1);
    }
    if key.is_empty()
        && let Some(c) = cols.iter().find(|c| {
            let lower = c.path.to_ascii_lowercase();
            common(c)
                && c.id_like
                && Some(c.path) != time_path
                && KEY_WORDS.iter().any(|w| lower.contains(w))
        })
    {
        key.push(c.path);
    }
    let key_how = if key.is_empty() {
        How::Values
    } else {
        How::Name
    };

    // The type: by name, else the short text member (an integer code when no text
    // fits) with the fewest distinct values, not the key or the time.
    let taken = |c: &Column<'_>| Some(c.path) == time_path || key.contains(&c.path);
    let by_values = |kind: Kind| {
        cols.iter()
            .filter(|c| {
                c.present * 10 >= n * 9
                    && c.kind == Some(kind)
                    && c.id_like
                    && !taken(c)
                    && c.distinct.len() <= MAX_TYPES
                    && (c.distinct.len() < n || n == 1)
            })
            // Ties: a type's values are words; ids have digits.
            .min_by_key(|c| {
                let digits = c
                    .distinct
                    .iter()
                    .filter(|t| t.contains(|d: char| d.is_ascii_digit()));
                (c.distinct.len(), digits.count())
            })
    };
    let type_word = || {
        cols.iter().find(|c| {
            let lower = c.path.to_ascii_lowercase();
            c.present * 10 >= n * 9
                && c.id_like
                && !taken(c)
                && c.distinct.len() <= MAX_TYPES
                && TYPE_WORDS.iter().any(|w| lower.contains(w))
        })
    };
    let (type_, type_how) = match named(TYPE_NAMES).filter(|c| !taken(c)).or_else(type_word) {
        Some(c) => (Some(c), How::Name),
        None => (
            by_values(Kind::Str).or_else(|| by_values(Kind::Int)),
            How::Values,
        ),
    };
    let type_path = type_.map(|c| c.path);

    // The key by values: the first id-like member left.
    if key.is_empty()
        && let Some(c) = cols.iter().find(|c| {
            common(c)
                && c.id_like
                && matches!(c.kind, Some(Kind::Int | Kind::Str))
                && Some(c.path) != time_path
                && Some(c.path) != type_path
        })
    {
        key.push(c.path);
    }

    let how = |found: bool, how: How| if found { how } else { How::Missing };
    Envelope {
        how: [
            how(!key.is_empty(), key_how),
            how(type_.is_some(), type_how),
            how(time.is_some(), time_how),
        ],
        key: if key.is_empty() {
            vec!["user".to_owned()]
        } else {
            key.iter().map(|k| (*k).to_owned()).collect()
        },
        type_: type_path.unwrap_or("type").to_owned(),
        time_text: time.and_then(|c| {
            let first = samples.iter().find_map(|m| {
                m.iter()
                    .find(|(p, t, _)| p == c.path && t.is_some())
                    .map(|(_, _, text)| text.as_str())
            })?;
            TimeText::of(first, false)
        }),
        time: time_path.unwrap_or("ts").to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::infer::Ty;

    fn line(members: &[(&str, Kind, &str)]) -> Members {
        members
            .iter()
            .map(|(p, k, t)| {
                (
                    (*p).to_owned(),
                    Some(Ty {
                        kind: *k,
                        list: false,
                    }),
                    (*t).to_owned(),
                )
            })
            .collect()
    }

    #[test]
    fn unusual_names_are_found_by_their_values() {
        use Kind::{Int, Str};
        let samples = vec![
            line(&[
                ("who", Str, "a1"),
                ("what", Str, "view"),
                ("at", Int, "1700000000"),
                ("sku", Str, "s1"),
            ]),
            line(&[
                ("who", Str, "b2"),
                ("what", Str, "buy"),
                ("at", Int, "1700000060"),
                ("sku", Str, "s2"),
            ]),
            line(&[
                ("who", Str, "a1"),
                ("what", Str, "view"),
                ("at", Int, "1700000120"),
                ("sku", Str, "s3"),
            ]),
        ];
        let e = envelope(&samples);
        assert_eq!(e.time, "at");
        assert_eq!(e.time_text, Some(TimeText::EpochSeconds));
        assert_eq!(e.type_, "what");
        assert_eq!(e.key, ["who"]);
        assert_eq!(e.how, [How::Values, How::Values, How::Values]);
    }

    #[test]
    fn a_name_with_a_customer_word_is_the_key() {
        use Kind::Str;
        let samples = vec![
            line(&[
                ("sku", Str, "s1"),
                ("client_ref", Str, "c1"),
                ("event", Str, "view"),
            ]),
            line(&[
                ("sku", Str, "s2"),
                ("client_ref", Str, "c2"),
                ("event", Str, "view"),
            ]),
        ];
        let e = envelope(&samples);
        assert_eq!(e.key, ["client_ref"]);
        assert_eq!(e.how[0], How::Name);
        assert_eq!(e.type_, "event");
        assert_eq!(e.how[2], How::Missing, "no member reads as a time");
    }

    #[test]
    fn ten_digit_ids_are_not_times_by_value() {
        assert_eq!(TimeText::of("9999999999", true), None);
        assert_eq!(
            TimeText::of("1511544070", true),
            Some(TimeText::EpochSeconds)
        );
        assert_eq!(TimeText::of("1511544070123", true), Some(TimeText::Default));
        assert_eq!(
            TimeText::of("2019-10-01 00:00:00 UTC", true),
            Some(TimeText::Format("%Y-%m-%d %H:%M:%S UTC"))
        );
        assert_eq!(TimeText::of("hello", false), None);
    }
}
