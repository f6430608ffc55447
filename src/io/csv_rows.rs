//! CSV input (`trigc run --input-format csv`): each row becomes the NDJSON line the
//! decoder already knows, so every rule of docs/LANGUAGE.md §8 applies unchanged.
//!
//! The header row names the columns (or `--csv-columns a,b,c` when there is none);
//! a column's name is a wire path: `price` a top-level member, `properties.price`
//! the member `price` of the object `properties` (how exports flatten nested
//! events), so `from properties.price` reads it as it reads the NDJSON event. Two
//! columns the program reads must not land in one place (the same name twice, or
//! `a` beside `a.b`): the header is refused once, rather than every row. A cell is
//! typed by the declarations: by the schema's role for the key, type and time
//! columns, and by the declared field of the row's event for the others. An empty
//! cell is an absent member; a cell that cannot be its field's type (`abc` for an
//! `int`) rejects the row with its line number. Columns no declaration names are
//! left out. Lists and sets are written as a JSON array in the cell; so is the array
//! a `[]` path gathers from (the column `a.items` for `from a.items[].sku`), its
//! elements objects.

mod direct;
pub mod split;

use rustc_hash::FxHashMap;

use crate::interp::Interner;
use crate::ir::{EventId, Program, TimeFormat, Ty, WireValue};
use crate::runtime::Event;

/// A row read directly into an event.
#[derive(Clone, Copy, Debug)]
pub struct RowRead {
    /// Its time was an integer of epoch milliseconds (see `Session::push_decoded`).
    pub int_time: bool,
}

/// What a column holds, for the row's event.
#[derive(Clone, Debug)]
enum Role {
    Key,
    Type,
    Time,
    /// Anything else: typed by the row's event (`field` of [`CsvShape::fields`]).
    Other,
}

/// How one program's CSV rows become JSON lines.
#[derive(Clone, Debug)]
pub struct CsvShape {
    columns: Vec<(String, Role)>,
    /// The columns some declaration reads, as the members of the row's JSON object.
    members: Vec<Member>,
    type_column: Option<usize>,
    /// String values of the type member (events' `from` strings, or their names).
    strings: FxHashMap<String, EventId>,
    ints: FxHashMap<i64, EventId>,
    /// By event, by column: the declared type of the field the column holds.
    fields: Vec<Vec<Option<Ty>>>,
    time_format: TimeFormat,
    /// The direct reading of rows into events, when this header allows it.
    direct: Option<direct::DirectRows>,
}

impl CsvShape {
    /// The shape of rows whose columns are `columns` (the header, in order); `Err`
    /// says which two read columns land in one place.
    pub fn new(program: &Program, columns: &[String]) -> Result<CsvShape, String> {
        let s = &program.schema;
        let role = |c: &str| {
            if c == s.key || s.key_alternatives.iter().any(|k| k == c) {
                Role::Key
            } else if c == s.type_ {
                Role::Type
            } else if c == s.time {
                Role::Time
            } else {
                Role::Other
            }
        };
        let mut strings = FxHashMap::default();
        let mut ints = FxHashMap::default();
        for (i, e) in program.events.iter().enumerate() {
            let id = EventId::from_index(i);
            if e.wire.is_empty() {
                strings.entry(e.name.clone()).or_insert(id);
            }
            for w in &e.wire {
                match w {
                    WireValue::Str(v) => strings.entry(v.clone()).or_insert(id),
                    WireValue::Int(n) => ints.entry(*n).or_insert(id),
                };
            }
        }
        let fields: Vec<Vec<Option<Ty>>> = program
            .events
            .iter()
            .map(|e| {
                columns
                    .iter()
                    .map(|c| {
                        e.fields.iter().find_map(|f| {
                            let path = f.path.as_deref().unwrap_or(&f.name);
                            if path == c {
                                return Some(f.ty.clone());
                            }
                            // `a.items[].sku` gathers from the column `a.items`,
                            // a JSON array of objects.
                            let (array, _) = path.split_once("[]")?;
                            (array == c).then(|| Ty::List(Box::new(Ty::Object)))
                        })
                    })
                    .collect()
            })
            .collect();
        let type_column = columns.iter().position(|c| *c == s.type_);
        let columns: Vec<(String, Role)> = columns.iter().map(|c| (c.clone(), role(c))).collect();
        let read = |i: usize| {
            !matches!(columns[i].1, Role::Other) || fields.iter().any(|f| f[i].is_some())
        };
        let mut members = Vec::new();
        for (i, (name, _)) in columns.iter().enumerate() {
            if read(i) {
                place(&mut members, name, i, &columns)?;
            }
        }
        Ok(CsvShape {
            direct: direct::DirectRows::new(program, &columns),
            members,
            columns,
            type_column,
            strings,
            ints,
            fields,
            time_format: s.time_format.clone(),
        })
    }

    /// The envelope members no column holds, said as a warning (`None`: every one
    /// has its column). Without the type column every row is ignored, silently but
    /// for the count: the usual cause is a file without a header row read without
    /// `--csv-columns`, its first row taken for the header.
    pub fn missing_envelope(&self, program: &Program) -> Option<String> {
        let has = |want: fn(&Role) -> bool| self.columns.iter().any(|(_, r)| want(r));
        let s = &program.schema;
        let mut missing = Vec::new();
        let keyed =
            !program.events.is_empty() && program.events.iter().all(|e| e.keyed_by.is_some());
        if !has(|r| matches!(r, Role::Key)) && !keyed {
            let mut names = vec![s.key.as_str()];
            names.extend(s.key_alternatives.iter().map(String::as_str));
            let names: Vec<String> = names
                .iter()
                .map(|n| format!("`{}`", crate::diag::quote(n)))
                .collect();
            missing.push(format!("{} (the key)", names.join(" or ")));
        }
        if !has(|r| matches!(r, Role::Type)) {
            missing.push(format!(
                "`{}` (the event type)",
                crate::diag::quote(&s.type_)
            ));
        }
        if !has(|r| matches!(r, Role::Time)) {
            missing.push(format!("`{}` (the time)", crate::diag::quote(&s.time)));
        }
        if missing.is_empty() {
            return None;
        }
        Some(format!(
            "warning: no CSV column is named {}, so no row can be read as an event; a file \
             without a header row needs `--csv-columns`",
            missing.join(", ")
        ))
    }

    /// Read the row straight into `out` when it can be (see [`direct`]); `None`:
    /// take the JSON route ([`Self::row_to_json`]), which gives the same event or
    /// words the error. `out.origin` is set from `origin`, when a trigger starts on
    /// the event's type.
    #[inline]
    pub fn read_row(
        &mut self,
        cells: &[&str],
        (line, origin): (u64, u64),
        interner: &mut Interner,
        out: &mut Event,
    ) -> Option<RowRead> {
        if cells.len() != self.columns.len() {
            return None;
        }
        let read = self
            .direct
            .as_mut()?
            .read((&self.strings, &self.ints), cells, interner, out)?;
        out.line = line;
        out.origin = if read.starts { origin } else { 0 };
        Some(RowRead {
            int_time: read.int_time,
        })
    }

    /// Write the row's JSON object into `out`; `Err` says which cell is wrong. A row
    /// with more or fewer cells than columns is wrong (a cut-off last row of an
    /// export is the common case: it must not pass as a row with absent cells).
    pub fn row_to_json<'r>(
        &self,
        cells: impl ExactSizeIterator<Item = &'r str>,
        out: &mut String,
    ) -> Result<(), String> {
        if cells.len() != self.columns.len() {
            return Err(format!(
                "row has {} cells, but there are {} columns",
                cells.len(),
                self.columns.len()
            ));
        }
        let cells: Vec<&str> = cells.collect();
        let kind = self
            .type_column
            .and_then(|i| cells.get(i))
            .and_then(|cell| match cell.parse::<i64>() {
                Ok(n) if !self.ints.is_empty() => self.ints.get(&n).copied(),
                _ => self.strings.get(*cell).copied(),
            });
        let fields = kind.and_then(|k| self.fields.get(k.index()));
        out.clear();
        self.write_object(&self.members, &cells, fields, out)
    }

    /// Write `members` as one JSON object, leaving out empty cells and the columns
    /// the row's event does not read (`fields`).
    fn write_object(
        &self,
        members: &[Member],
        cells: &[&str],
        fields: Option<&Vec<Option<Ty>>>,
        out: &mut String,
    ) -> Result<(), String> {
        out.push('{');
        let mut first = true;
        for member in members {
            let mark = out.len();
            if !first {
                out.push(',');
            }
            push_json_str(out, &member.name);
            out.push(':');
            let wrote = match &member.node {
                Node::Object(inner) => {
                    let open = out.len();
                    self.write_object(inner, cells, fields, out)?;
                    out.len() > open + 2
                }
                Node::Column(i) => self.write_cell(*i, cells, fields, out)?,
            };
            if wrote {
                first = false;
            } else {
                out.truncate(mark);
            }
        }
        out.push('}');
        Ok(())
    }

    /// Write column `i`'s cell as a JSON value; `false` when it is left out.
    fn write_cell(
        &self,
        i: usize,
        cells: &[&str],
        fields: Option<&Vec<Option<Ty>>>,
        out: &mut String,
    ) -> Result<bool, String> {
        let (Some(cell), Some((name, role))) = (cells.get(i), self.columns.get(i)) else {
            return Ok(false);
        };
        if cell.is_empty() {
            return Ok(false);
        }
        let value = match role {
            Role::Key => Cell::Str,
            Role::Type if !self.ints.is_empty() => int_cell(cell).unwrap_or(Cell::Str),
            Role::Type => Cell::Str,
            Role::Time => self.time_cell(cell),
            Role::Other => match fields.and_then(|f| f.get(i)).and_then(Option::as_ref) {
                Some(ty) => typed_cell(ty, cell).ok_or_else(|| bad_cell(name, ty, cell))?,
                None => return Ok(false),
            },
        };
        match value {
            Cell::Str => push_json_str(out, cell),
            Cell::Raw => out.push_str(cell),
            Cell::Owned(text) => out.push_str(&text),
        }
        Ok(true)
    }

    fn time_cell(&self, cell: &str) -> Cell {
        match (&self.time_format, int_cell(cell)) {
            (TimeFormat::Strftime { .. }, _) => Cell::Str,
            (_, Some(int)) => int,
            (TimeFormat::EpochSeconds, None) => match cell.parse::<f64>() {
                Ok(f) if f.is_finite() => Cell::Owned(format!("{f:?}")),
                _ => Cell::Str,
            },
            _ => Cell::Str,
        }
    }
}

/// A member of a row's JSON object: a column's cell, or an object of members
/// (from dotted column names).
#[derive(Clone, Debug)]
struct Member {
    name: String,
    node: Node,
}

#[derive(Clone, Debug)]
enum Node {
    Column(usize),
    Object(Vec<Member>),
}

/// Put column `column` (named `name`) into `members` at its dotted place; `Err`
/// when another read column is there already, or its place is inside one. A name
/// with an empty part (`a..b`, `.a`) is one top-level member: no path names it.
fn place(
    members: &mut Vec<Member>,
    name: &str,
    column: usize,
    columns: &[(String, Role)],
) -> Result<(), String> {
    let parts: Vec<&str> = if name.split('.').any(str::is_empty) {
        vec![name]
    } else {
        name.split('.').collect()
    };
    let clash = |other: usize| {
        let other_name = columns.get(other).map_or("", |(n, _)| n.as_str());
        let q = crate::diag::quote;
        if other_name == name {
            return format!(
                "the column `{}` is named twice (columns {} and {}), and the \
                 rules read it: rename or drop one",
                q(name),
                other + 1,
                column + 1
            );
        }
        let ((outer, o), (inner, i)) = if other_name.len() < name.len() {
            ((other_name, other), (name, column))
        } else {
            ((name, column), (other_name, other))
        };
        format!(
            "the rules read the columns `{}` ({}) and `{}` ({}), but `{}` \
             names a member of `{}`: rename one",
            q(outer),
            o + 1,
            q(inner),
            i + 1,
            q(inner),
            q(outer)
        )
    };
    let mut level = members;
    for (depth, part) in parts.iter().enumerate() {
        let last = depth + 1 == parts.len();
        let at = level.iter().position(|m| m.name == *part);
        let at = match at {
            Some(at) => at,
            None => {
                level.push(Member {
                    name: (*part).to_owned(),
                    node: if last {
                        Node::Column(column)
                    } else {
                        Node::Object(Vec::new())
                    },
                });
                if last {
                    return Ok(());
                }
                level.len() - 1
            }
        };
        match &level[at].node {
            Node::Object(inner) if last => return Err(clash(first_column(inner))),
            Node::Column(other) => return Err(clash(*other)),
            Node::Object(_) => {}
        }
        let Node::Object(inner) = &mut level[at].node else {
            return Ok(());
        };
        level = inner;
    }
    Ok(())
}

/// Whether one dotted name lies inside the other (`a` and `a.b`, not `a` and `ab`).
pub fn nested_names(a: &str, b: &str) -> bool {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    long.len() > short.len()
        && long.starts_with(short)
        && long.as_bytes().get(short.len()) == Some(&b'.')
}

/// The first column inside an object member.
fn first_column(members: &[Member]) -> usize {
    match members.first().map(|m| &m.node) {
        Some(Node::Column(c)) => *c,
        Some(Node::Object(inner)) => first_column(inner),
        None => 0,
    }
}

/// How a cell is written into the JSON line.
enum Cell {
    /// As a JSON string.
    Str,
    /// As it stands (a JSON number).
    Raw,
    /// Rewritten (a number in JSON spelling, an array re-serialised).
    Owned(String),
}

/// A cell as a value of `ty`; `None` when it cannot be one.
fn typed_cell(ty: &Ty, cell: &str) -> Option<Cell> {
    Some(match ty {
        Ty::Optional(inner) => return typed_cell(inner, cell),
        Ty::Int => int_cell(cell)?,
        Ty::Float => {
            let f: f64 = cell.trim().parse().ok()?;
            if !f.is_finite() {
                return None;
            }
            Cell::Owned(format!("{f:?}"))
        }
        Ty::Bool => match cell.to_ascii_lowercase().as_str() {
            "true" => Cell::Owned("true".into()),
            "false" => Cell::Owned("false".into()),
            _ => return None,
        },
        Ty::Time | Ty::Duration => int_cell(cell).unwrap_or(Cell::Str),
        Ty::Set(_) | Ty::List(_) => match serde_json::from_str::<serde_json::Value>(cell) {
            Ok(v @ serde_json::Value::Array(_)) => Cell::Owned(v.to_string()),
            _ => return None,
        },
        Ty::Str | Ty::Event(_) | Ty::Object => Cell::Str,
    })
}

/// An integer cell as a JSON number: as it stands when JSON spells it so, else
/// rewritten (`+5`, `007` and `-07` read as integers, but written raw they would
/// make the line invalid JSON and the row be rejected as such); `None` when the
/// cell is no 64-bit integer.
fn int_cell(cell: &str) -> Option<Cell> {
    let n = cell.parse::<i64>().ok()?;
    let digits = cell.strip_prefix('-').unwrap_or(cell);
    Some(
        if digits.bytes().all(|b| b.is_ascii_digit())
            && (digits.len() == 1 || !digits.starts_with('0'))
        {
            Cell::Raw
        } else {
            Cell::Owned(n.to_string())
        },
    )
}

#[cold]
fn bad_cell(column: &str, ty: &Ty, cell: &str) -> String {
    let expected = match ty.strip_optional() {
        Ty::Int => "an integer",
        Ty::Float => "a number",
        Ty::Bool => "`true` or `false`",
        Ty::Set(_) | Ty::List(_) => "a JSON array",
        _ => "a value of its type",
    };
    format!(
        "column `{}`: expected {expected}, found `{}`",
        crate::diag::quote(column),
        crate::diag::quote(cell)
    )
}

/// `s` as a JSON string.
fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn program(src: &str) -> Program {
        let mut sources = crate::syntax::SourceMap::default();
        let _ = crate::syntax::add_file(&mut sources, "t.trig", src.as_bytes());
        crate::compile(&sources).program.unwrap_or_default()
    }

    #[test]
    fn cells_are_typed_by_the_row_event() {
        let p = program(
            "schema { key user_id, type type, time ts }\n\
             event VIEW from 1 { sku: int, price: float?, ok: bool?, tags: list<string>? }\n\
             trigger t on VIEW then emit \"x\" with { s: sku, p: price, o: ok, t: tags }\n",
        );
        let cols: Vec<String> = [
            "user_id", "type", "ts", "sku", "price", "ok", "tags", "other",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        let Ok(shape) = CsvShape::new(&p, &cols) else {
            panic!("the header is refused");
        };
        let mut out = String::new();
        let row = [
            "42",
            "1",
            "1767607200000",
            "7",
            "5",
            "TRUE",
            "[\"a\"]",
            "x\"y",
        ];
        assert_eq!(shape.row_to_json(row.iter().copied(), &mut out), Ok(()));
        assert_eq!(
            out,
            r#"{"user_id":"42","type":1,"ts":1767607200000,"sku":7,"price":5.0,"ok":true,"tags":["a"]}"#
        );
        let row = ["u", "1", "2026-01-05T10:00:00Z", "7", "", "", "", ""];
        assert_eq!(shape.row_to_json(row.iter().copied(), &mut out), Ok(()));
        assert_eq!(
            out,
            r#"{"user_id":"u","type":1,"ts":"2026-01-05T10:00:00Z","sku":7}"#
        );
        let row = ["u", "1", "1", "seven", "", "", "", ""];
        assert_eq!(
            shape.row_to_json(row.iter().copied(), &mut out),
            Err("column `sku`: expected an integer, found `seven`".into())
        );
        assert_eq!(shape.missing_envelope(&p), None);
        // A data row taken for the header (no `--csv-columns`): no envelope column.
        let first_row: Vec<String> = ["1", "2268318", "pv", "1511544070"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        assert_eq!(
            CsvShape::new(&p, &first_row)
                .ok()
                .and_then(|shape| shape.missing_envelope(&p))
                .as_deref(),
            Some(
                "warning: no CSV column is named `user_id` (the key), `type` (the event \
                 type), `ts` (the time), so no row can be read as an event; a file without a \
                 header row needs `--csv-columns`"
            )
        );
        // Another event type: its cells are not typed, only the envelope is kept.
        let row = ["u", "9", "1", "seven", "", "", "", ""];
        assert_eq!(shape.row_to_json(row.iter().copied(), &mut out), Ok(()));
        assert_eq!(out, r#"{"user_id":"u","type":9,"ts":1}"#);
        // Integers Rust reads but JSON does not spell so (`+`, leading zeros) are
        // rewritten, not written raw into an invalid line.
        let row = ["u", "01", "+1767607200000", "-07", "", "", "", ""];
        assert_eq!(shape.row_to_json(row.iter().copied(), &mut out), Ok(()));
        assert_eq!(
            out,
            r#"{"user_id":"u","type":1,"ts":1767607200000,"sku":-7}"#
        );
        let row = ["u", "1", "1", "+7", "", "", "", ""];
        assert_eq!(shape.row_to_json(row.iter().copied(), &mut out), Ok(()));
        assert_eq!(out, r#"{"user_id":"u","type":1,"ts":1,"sku":7}"#);
        // A cut-off row (the last row of an export) is wrong, not a row of absents.
        let row = ["u", "1", "1", "7"];
        assert_eq!(
            shape.row_to_json(row.iter().copied(), &mut out),
            Err("row has 4 cells, but there are 8 columns".into())
        );
    }

    fn names(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn dotted_columns_are_nested_members() {
        let p = program(
            "schema { key context.traits.email ?? anonymousId, type event, time timestamp }\n\
             event ADD from \"Product Added\" { product: string from properties.product_id,\n\
               price: float? from properties.price, plan: string? from context.plan }\n\
             event VIEW from \"Product Viewed\" { product: string from properties.product_id }\n\
             trigger t on ADD then emit \"x\" with { p: product, q: price, c: plan }\n",
        );
        let cols = names(&[
            "event",
            "context.traits.email",
            "anonymousId",
            "timestamp",
            "properties.product_id",
            "properties.price",
            "context.plan",
            "properties.unread",
        ]);
        let Ok(shape) = CsvShape::new(&p, &cols) else {
            panic!("the header is refused");
        };
        let mut out = String::new();
        let row = ["Product Added", "a@b.c", "", "1", "p1", "2", "pro", "z"];
        assert_eq!(shape.row_to_json(row.iter().copied(), &mut out), Ok(()));
        assert_eq!(
            out,
            r#"{"event":"Product Added","context":{"traits":{"email":"a@b.c"},"plan":"pro"},"timestamp":1,"properties":{"product_id":"p1","price":2.0}}"#
        );
        // An object all of whose cells are empty or unread is left out.
        let row = ["Product Viewed", "", "a-9", "1", "p2", "3", "pro", "z"];
        assert_eq!(shape.row_to_json(row.iter().copied(), &mut out), Ok(()));
        assert_eq!(
            out,
            r#"{"event":"Product Viewed","anonymousId":"a-9","timestamp":1,"properties":{"product_id":"p2"}}"#
        );
    }

    #[test]
    fn read_columns_that_clash_refuse_the_header() {
        let p = program(
            "event ADD { product: string, price: float? from product.price }\n\
             trigger t on ADD then emit \"x\" with { p: product, q: price }\n",
        );
        let refused = |cols: &[&str]| CsvShape::new(&p, &names(cols)).err();
        assert_eq!(
            refused(&["type", "user", "ts", "product", "x", "product"]).as_deref(),
            Some(
                "the column `product` is named twice (columns 4 and 6), and the rules read \
                 it: rename or drop one"
            )
        );
        assert_eq!(
            refused(&["type", "user", "ts", "product.price", "product"]).as_deref(),
            Some(
                "the rules read the columns `product` (5) and `product.price` (4), but \
                 `product.price` names a member of `product`: rename one"
            )
        );
        // Columns nothing reads may repeat.
        assert_eq!(refused(&["type", "user", "ts", "product", "x", "x"]), None);
        assert_eq!(
            refused(&["type", "user", "ts", "product", "x.y", "x"]),
            None
        );
    }
}
