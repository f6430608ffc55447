//! Reading a CSV row straight into an [`Event`], without the JSON line of
//! [`super::CsvShape::row_to_json`]: the fast path for the common rows (the type, key
//! and time cells plain, every declared field a string, integer or float).
//!
//! It must give exactly the event the JSON route gives, so it declines (returns
//! `None`) wherever that route has something to say: a cell it would reject, an
//! absent required field, an undeclared type, a time that is not in the canonical
//! spelling, a field of another type, a path that gathers (`[]`) or that no column
//! holds while one sits on its way. The caller then takes the JSON route, which
//! words every error. `tests/csv_routes.rs` checks both routes against each other.

use rustc_hash::FxHashMap;

use super::Role;
use crate::interp::{Interner, Value};
use crate::io::json::{fast_f64, fast_i64};
use crate::ir::{EventId, Program, TimeFormat, Ty};
use crate::runtime::Event;
use crate::time::in_range;
use crate::time::rfc3339::{DateCache, parse_canonical_utc};

/// What a declared field reads from its cell.
#[derive(Clone, Copy, Debug)]
enum Kind {
    Str,
    Int,
    Float,
}

#[derive(Clone, Copy, Debug)]
struct Field {
    /// Its column (`None`: no column holds it, so it is always absent).
    column: Option<usize>,
    kind: Kind,
    optional: bool,
    used: bool,
}

/// How one event type's rows are read, if they can be read directly.
#[derive(Clone, Debug)]
struct Shape {
    /// The column of the `keyed by` field (a string), or `None` for the customer key.
    keyed_by: Option<usize>,
    fields: Vec<Field>,
    /// Whether some trigger starts on it (its origin is then computed).
    starts: bool,
}

/// The direct reading of one program's rows under one header.
#[derive(Clone, Debug)]
pub(super) struct DirectRows {
    type_column: usize,
    time_column: usize,
    /// The customer key's columns in the schema's order (`key A ?? B`).
    key_columns: Vec<usize>,
    /// Integer type values are looked up in `ints` when there are any.
    int_types: bool,
    /// By event: `None` when its rows take the JSON route.
    shapes: Vec<Option<Shape>>,
    time_format: TimeFormat,
    dates: DateCache,
}

/// A wire path one column can hold whole: no `[]` (a column named `a.b` holds the
/// member `b` of `a`, as the JSON route nests it).
fn plain(path: &str) -> bool {
    !path.contains('[')
}

/// Whether some column sits on the way to `path` or inside it (`a` or `a.b.c` for
/// `a.b`): for a path no column names, the JSON route might then find a value
/// that is no member of it, or an object, where the direct one finds it absent.
fn shadowed(path: &str, names: &FxHashMap<&str, usize>) -> bool {
    names.keys().any(|name| super::nested_names(name, path))
}

impl DirectRows {
    /// `None` when no row of this header can be read directly: repeated column names,
    /// a missing type or time column, a key path no column holds but one sits on
    /// the way to, or a time format other than the default and integer epochs.
    pub(super) fn new(program: &Program, columns: &[(String, Role)]) -> Option<DirectRows> {
        let mut seen = FxHashMap::default();
        for (i, (name, _)) in columns.iter().enumerate() {
            if seen.insert(name.as_str(), i).is_some() {
                return None;
            }
        }
        let s = &program.schema;
        let keys: Vec<&String> = std::iter::once(&s.key).chain(&s.key_alternatives).collect();
        if !plain(&s.type_) || !plain(&s.time) || !keys.iter().all(|k| plain(k)) {
            return None;
        }
        if matches!(s.time_format, TimeFormat::Strftime { .. }) {
            return None;
        }
        let column = |name: &str| seen.get(name).copied();
        if keys
            .iter()
            .any(|k| column(k).is_none() && shadowed(k, &seen))
        {
            return None;
        }
        let key_columns = keys.iter().filter_map(|k| column(k)).collect();
        let mut starts = vec![false; program.events.len()];
        for t in &program.triggers {
            if let crate::ir::StartIr::On(patterns) = &t.start {
                for p in patterns {
                    if let Some(s) = starts.get_mut(p.event.index()) {
                        *s = true;
                    }
                }
            }
        }
        let shapes = program
            .events
            .iter()
            .zip(starts)
            .map(|(event, starts)| {
                let mut fields = Vec::with_capacity(event.fields.len());
                for f in &event.fields {
                    let path = f.path.as_deref().unwrap_or(&f.name);
                    let column = column(path);
                    let other =
                        column.is_none_or(|c| matches!(columns.get(c), Some((_, Role::Other))));
                    if !plain(path) || !other || (column.is_none() && shadowed(path, &seen)) {
                        return None;
                    }
                    let kind = match f.ty.strip_optional() {
                        Ty::Str => Kind::Str,
                        Ty::Int => Kind::Int,
                        Ty::Float => Kind::Float,
                        _ => return None,
                    };
                    fields.push(Field {
                        column,
                        kind,
                        optional: f.optional || f.ty.is_optional(),
                        used: f.used,
                    });
                }
                let keyed_by = match event.keyed_by {
                    None => None,
                    Some(idx) => {
                        let field = fields.get(idx.index())?;
                        match field.kind {
                            Kind::Str => Some(field.column?),
                            _ => return None,
                        }
                    }
                };
                Some(Shape {
                    keyed_by,
                    fields,
                    starts,
                })
            })
            .collect();
        Some(DirectRows {
            type_column: column(&s.type_)?,
            time_column: column(&s.time)?,
            key_columns,
            int_types: program.events.iter().any(|e| {
                e.wire
                    .iter()
                    .any(|w| matches!(w, crate::ir::WireValue::Int(_)))
            }),
            shapes,
            time_format: s.time_format.clone(),
            dates: DateCache::default(),
        })
    }

    /// Read `cells` into `out` (all but `out.line` and `out.origin`); `None` when
    /// the row must take the JSON route (`out` is then unspecified). `kinds`: the
    /// type values, as strings and as integers.
    pub(super) fn read(
        &mut self,
        kinds: (&FxHashMap<String, EventId>, &FxHashMap<i64, EventId>),
        cells: &[&str],
        interner: &mut Interner,
        out: &mut Event,
    ) -> Option<Read> {
        let type_cell = *cells.get(self.type_column)?;
        let kind = match (self.int_types, json_int(type_cell)) {
            (true, Some(n)) => *kinds.1.get(&n)?,
            (true, None) if type_cell.parse::<i64>().is_ok() => return None,
            _ => *kinds.0.get(type_cell)?,
        };
        let shape = self.shapes.get(kind.index())?.as_ref()?;
        out.kind = kind;
        out.key.clear();
        let key = match shape.keyed_by {
            Some(column) => cells.get(column).copied(),
            None => self
                .key_columns
                .iter()
                .filter_map(|&c| cells.get(c).copied())
                .find(|cell| !cell.is_empty()),
        };
        out.key.push_str(key.filter(|k| !k.is_empty())?);

        let time_cell = *cells.get(self.time_column)?;
        let (ts, int_time) = match (&self.time_format, json_int(time_cell)) {
            (TimeFormat::Default, None) => (
                parse_canonical_utc(time_cell.as_bytes(), &mut self.dates)?,
                false,
            ),
            (TimeFormat::Default | TimeFormat::EpochMillis, Some(ms)) => (in_range(ms)?, true),
            (TimeFormat::EpochSeconds, Some(s)) => (in_range(s.checked_mul(1000)?)?, false),
            (TimeFormat::EpochMicros, Some(us)) => (in_range(us.div_euclid(1000))?, false),
            _ => return None,
        };
        out.ts = ts;

        out.fields.clear();
        for field in &shape.fields {
            let cell = field
                .column
                .and_then(|c| cells.get(c).copied())
                .unwrap_or_default();
            let value = match field.kind {
                _ if cell.is_empty() => field.optional.then_some(Value::None)?,
                Kind::Str if field.used => Value::Str(interner.intern(cell)),
                Kind::Str => Value::None,
                Kind::Int => Value::Int(json_int(cell)?),
                // `fast_f64` takes only plain decimals, each of which the JSON route
                // turns into the same `f64`.
                Kind::Float => {
                    let f = fast_f64(cell.as_bytes())?;
                    if field.used {
                        Value::Float(f)
                    } else {
                        Value::None
                    }
                }
            };
            out.fields.push(value);
        }
        Some(Read {
            int_time,
            starts: shape.starts,
        })
    }
}

/// A row read directly.
#[derive(Clone, Copy, Debug)]
pub(super) struct Read {
    /// The time was an integer of epoch milliseconds.
    pub int_time: bool,
    /// Some trigger starts on the event's type: its origin is read.
    pub starts: bool,
}

/// `cell` as an integer written as JSON writes one (`-`?, no leading zeros, at most
/// 18 digits), the only integers both routes read alike.
fn json_int(cell: &str) -> Option<i64> {
    let digits = cell.strip_prefix('-').unwrap_or(cell);
    if digits.len() > 1 && digits.starts_with('0') {
        return None;
    }
    fast_i64(cell.as_bytes())
}
