//! `trigc infer EVENTS`: read a sample of a stream (NDJSON, or CSV for a `*.csv` file)
//! and print a starting `.trig` file: the schema (which members are the key, the
//! event type and the time, and the time's format, each guess said in a comment), one
//! `event` per type seen with `from "wire name"`, and each field's type, optionality
//! and path. `trigc check` accepts what it prints unchanged; the user renames and
//! trims from there.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;

use serde_json::Value as Json;

use crate::syntax::lexer::RESERVED;

mod guess;

#[derive(clap::Args, Debug)]
pub struct InferArgs {
    /// A sample of the stream (`-`: stdin): NDJSON, or CSV when the name ends in `.csv`
    /// (`.csv.gz`) or `--input-format csv` says so; a gzip file is read decompressed.
    pub events: PathBuf,
    /// The sample's format; default: `csv` for a `*.csv` file or with
    /// `--csv-columns`, else `ndjson`.
    #[arg(long, value_enum)]
    pub input_format: Option<super::input::InputFormat>,
    /// How many lines (rows) to read.
    #[arg(long, default_value_t = 10_000)]
    pub lines: usize,
    /// CSV column names, for a file without a header row (`user,item,ts`).
    #[arg(long)]
    pub csv_columns: Option<String>,
}

/// What a member's values were seen as.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Bool,
    Int,
    Float,
    Str,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Bool => "bool",
            Kind::Int => "int",
            Kind::Float => "float",
            Kind::Str => "string",
        }
    }

    /// The one type both values fit (`int` and `float`: `float`); `None` when none.
    fn join(self, other: Kind) -> Option<Kind> {
        match (self, other) {
            (a, b) if a == b => Some(a),
            (Kind::Int, Kind::Float) | (Kind::Float, Kind::Int) => Some(Kind::Float),
            _ => None,
        }
    }
}

/// A member's type: a scalar, or a list of them (`[]` paths and arrays of scalars).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Ty {
    kind: Kind,
    list: bool,
}

/// One sampled line: its members by path, in line order, their types (none for
/// `null`) and, for scalars, their text (the envelope's values are guessed from it).
type Members = Vec<(String, Option<Ty>, String)>;

pub fn infer(args: &InferArgs) -> ExitCode {
    let reader = match super::input::open_input(&args.events) {
        Ok(input) => input.reader,
        Err(e) => {
            eprintln!("error: cannot read `{}`: {e}", args.events.display());
            return ExitCode::from(2);
        }
    };
    let format =
        super::input::InputFormat::of(args.input_format, args.csv_columns.is_some(), &args.events);
    if format == super::input::InputFormat::Ndjson && args.csv_columns.is_some() {
        eprintln!("error: --csv-columns names the columns of CSV input, not NDJSON");
        return ExitCode::from(2);
    }
    let samples = if format == super::input::InputFormat::Csv {
        csv_samples(reader, args)
    } else {
        json_samples(reader, args.lines)
            .map(|s| (s, false))
            .map_err(|e| e.to_string())
    };
    let (mut samples, headerless) = match samples {
        Ok((s, headerless)) if !s.is_empty() => (s, headerless),
        Ok(_) => {
            eprintln!("error: no event lines in `{}`", args.events.display());
            return ExitCode::from(2);
        }
        Err(e) => {
            eprintln!("error: cannot read `{}`: {e}", args.events.display());
            return ExitCode::from(2);
        }
    };
    let mut envelope = guess::envelope(&samples);
    let mut notes = Vec::new();
    if headerless {
        notes.push(name_columns(&mut samples, &mut envelope));
    }
    for (role, how) in ["key", "type", "time"].iter().zip(envelope.how) {
        if how == guess::How::Missing {
            eprintln!(
                "warning: no member of `{}` looks like the event {role}: name it in the schema",
                args.events.display()
            );
        }
    }
    let text = render(
        &args.events.display().to_string(),
        &samples,
        &envelope,
        &notes,
    );
    super::write_stdout(&text).unwrap_or(ExitCode::SUCCESS)
}

fn json_samples(reader: impl BufRead, limit: usize) -> std::io::Result<Vec<Members>> {
    let mut out = Vec::new();
    for line in reader.lines().take(limit) {
        let line = line?;
        // A byte order mark before the first line, as `trigc run` allows.
        let line = line.strip_prefix('\u{feff}').unwrap_or(&line);
        if let Ok(Json::Object(members)) = serde_json::from_str::<Json>(line) {
            let mut flat = Vec::new();
            flatten("", &Json::Object(members), &mut flat, 0);
            out.push(flat);
        }
    }
    Ok(out)
}

/// Every scalar member of `value` under `prefix`, with dotted paths; arrays of
/// scalars as lists, arrays of objects as `a[].b` lists.
fn flatten(prefix: &str, value: &Json, out: &mut Members, depth: usize) {
    let Json::Object(members) = value else { return };
    for (name, v) in members {
        // A path is names joined by `.`: a name with a `.` in it cannot be read.
        if name.is_empty() || name.contains('.') || name.ends_with("[]") {
            continue;
        }
        let path = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        match v {
            Json::Object(_) => {
                // Marks the path as holding an object, which no field type reads
                // (see `fields`: a path that is a scalar elsewhere is left out).
                out.push((path.clone(), None, OBJECT.to_owned()));
                if depth < 4 {
                    flatten(&path, v, out, depth + 1);
                }
            }
            Json::Array(items) => match items.first() {
                Some(Json::Object(_)) => {
                    out.push((path.clone(), None, OBJECTS.to_owned()));
                    let mut inner = Vec::new();
                    for item in items {
                        flatten("", item, &mut inner, depth + 1);
                    }
                    // Per gathered member, the kinds of every element's value joined
                    // (a `null` one is skipped, as the decoder skips it): typed by the
                    // first element alone, `[{"p":1},{"p":"a"}]` made a `list<int>`
                    // that rejects the line. Each: (path, type so far, whether a
                    // value that is not `null` was seen).
                    let mut gathered: Vec<(String, Option<Ty>, bool)> = Vec::new();
                    for (p, ty, text) in inner {
                        let name = format!("{path}[].{p}");
                        let at = gathered.iter().position(|(q, _, _)| *q == name);
                        if ty.is_none() && text == "null" {
                            if at.is_none() {
                                gathered.push((name, None, false));
                            }
                            continue;
                        }
                        let ty = ty.filter(|t| !t.list).map(|t| Ty { list: true, ..t });
                        match at.and_then(|i| gathered.get_mut(i)) {
                            None => gathered.push((name, ty, true)),
                            Some(g) if !g.2 => {
                                g.1 = ty;
                                g.2 = true;
                            }
                            Some(g) => {
                                g.1 = match (g.1, ty) {
                                    (Some(a), Some(b)) => {
                                        a.kind.join(b.kind).map(|kind| Ty { kind, list: true })
                                    }
                                    _ => None,
                                };
                            }
                        }
                    }
                    for (name, ty, _) in gathered {
                        if !out.iter().any(|(q, _, _)| *q == name) {
                            out.push((name, ty, String::new()));
                        }
                    }
                }
                Some(_) => {
                    // Every element's kind joined (`int` and `float` make `float`); an
                    // element that is `null`, nested or of another kind leaves no type
                    // (the decoder would reject the line for it).
                    let kind = items
                        .iter()
                        .try_fold(None::<Kind>, |acc, item| {
                            let k = scalar(item)?;
                            Some(Some(match acc {
                                None => k,
                                Some(a) => a.join(k)?,
                            }))
                        })
                        .flatten();
                    let ty = kind.map(|kind| Ty { kind, list: true });
                    out.push((path, ty, String::new()));
                }
                None => out.push((path, None, EMPTY.to_owned())),
            },
            _ => {
                let text = match v {
                    Json::String(s) => s.clone(),
                    other => other.to_string(),
                };
                out.push((path, scalar(v).map(|kind| Ty { kind, list: false }), text));
            }
        }
    }
}

/// The texts `flatten` gives a path (its type `None`) holding an object, an array
/// of objects (gathered with `[]`) and an empty array: values no field type of that
/// path reads, but for an empty array a list (see `fields`).
const OBJECT: &str = "{…}";
const OBJECTS: &str = "[{…}]";
const EMPTY: &str = "[]";

fn scalar(v: &Json) -> Option<Kind> {
    match v {
        Json::Bool(_) => Some(Kind::Bool),
        // An integer past `i64` (a `u64`) is no `int` the decoder takes; a `float` is.
        Json::Number(n) if n.is_i64() => Some(Kind::Int),
        Json::Number(_) => Some(Kind::Float),
        Json::String(_) => Some(Kind::Str),
        _ => None,
    }
}

/// The sampled rows, and whether the file has no header row (columns `col1`, …):
/// its first row holds a number, a time or an empty cell, which no column name is.
fn csv_samples(file: impl std::io::Read, args: &InferArgs) -> Result<(Vec<Members>, bool), String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(file);
    let mut records = reader.records();
    let (columns, first, headerless): (Vec<String>, _, bool) = match &args.csv_columns {
        Some(c) => (
            c.split(',').map(|s| s.trim().to_owned()).collect(),
            None,
            false,
        ),
        None => {
            let Some(header) = records.next() else {
                return Ok((Vec::new(), false));
            };
            let header = header.map_err(|e| e.to_string())?;
            let data = header.iter().any(|cell| {
                cell.is_empty()
                    || cell.parse::<f64>().is_ok()
                    || guess::TimeText::of(cell, true).is_some()
            });
            if data {
                let names = (1..=header.len()).map(|i| format!("col{i}")).collect();
                (names, Some(header), true)
            } else {
                (header.iter().map(str::to_owned).collect(), None, false)
            }
        }
    };
    let keep = readable_columns(&columns);
    let mut out = Vec::new();
    for record in first.into_iter().map(Ok).chain(records).take(args.lines) {
        let Ok(record) = record else { continue };
        let members = columns
            .iter()
            .zip(record.iter())
            .zip(&keep)
            .filter(|((_, cell), keep)| **keep && !cell.is_empty())
            .map(|(column, _)| column)
            .map(|(name, cell)| {
                let kind = if cell.parse::<i64>().is_ok() {
                    Kind::Int
                } else if cell.parse::<f64>().is_ok() {
                    Kind::Float
                } else {
                    Kind::Str
                };
                (
                    name.clone(),
                    Some(Ty { kind, list: false }),
                    cell.to_owned(),
                )
            })
            .collect();
        out.push(members);
    }
    // A column holding text on some row is a string column on every row: a `string`
    // field reads any cell, so `1` on one row and `abc` on another make `string`,
    // not two kinds that leave the column out.
    let text_columns: BTreeSet<String> = out
        .iter()
        .flat_map(|m: &Members| m.iter())
        .filter(|(_, ty, _)| ty.is_some_and(|t| t.kind == Kind::Str))
        .map(|(name, _, _)| name.clone())
        .collect();
    for (name, ty, _) in out.iter_mut().flat_map(|m: &mut Members| m.iter_mut()) {
        if text_columns.contains(name) {
            *ty = Some(Ty {
                kind: Kind::Str,
                list: false,
            });
        }
    }
    Ok((out, headerless))
}

/// Which columns a declaration can read, the others said on stderr: a name with
/// an empty part or a `[]` (no path names it), a name two columns have (`trigc run`
/// refuses a header whose read columns repeat a name: it could not tell which to
/// read), and one inside or around an earlier column (`a.b` after `a`).
fn readable_columns(columns: &[String]) -> Vec<bool> {
    let nested = crate::io::csv_rows::nested_names;
    let q = crate::diag::quote;
    let mut keep: Vec<bool> = Vec::with_capacity(columns.len());
    for (i, name) in columns.iter().enumerate() {
        let why = if name.split('.').any(|p| p.is_empty() || p.contains("[]")) {
            Some("no path names a member with an empty name or `[]` in it".to_owned())
        } else if columns.iter().filter(|other| *other == name).count() > 1 {
            let same: Vec<String> = columns
                .iter()
                .enumerate()
                .filter(|(_, other)| *other == name)
                .map(|(k, _)| (k + 1).to_string())
                .collect();
            Some(format!(
                "columns {} have that name, and `trigc run` could not tell which to read",
                same.join(" and ")
            ))
        } else {
            columns[..i]
                .iter()
                .zip(&keep)
                .position(|(other, kept)| *kept && nested(name, other))
                .map(|e| format!("it clashes with column {} `{}`", e + 1, q(&columns[e])))
        };
        if let Some(why) = &why {
            eprintln!("warning: column {} `{}` is left out: {why}", i + 1, q(name));
        }
        keep.push(why.is_none());
    }
    keep
}

/// Name the columns of a file without a header row after their roles (`user`,
/// `type`, `ts`; the others keep `colN`), and the note saying how to run it.
fn name_columns(samples: &mut [Members], envelope: &mut guess::Envelope) -> String {
    let mut renames: Vec<(String, &str)> = Vec::new();
    if let [key] = envelope.key.as_slice() {
        renames.push((key.clone(), "user"));
    }
    renames.push((envelope.type_.clone(), "type"));
    renames.push((envelope.time.clone(), "ts"));
    let rename = |name: &mut String| {
        if let Some((_, to)) = renames.iter().find(|(from, _)| from == name) {
            *name = (*to).to_owned();
        }
    };
    for m in samples.iter_mut() {
        for (path, _, _) in m.iter_mut() {
            rename(path);
        }
    }
    envelope.key.iter_mut().for_each(rename);
    rename(&mut envelope.type_);
    rename(&mut envelope.time);
    let mut columns: Vec<String> = Vec::new();
    for m in samples.iter() {
        for (path, _, _) in m {
            if !columns.contains(path) {
                columns.push(path.clone());
            }
        }
    }
    format!(
        "# The file has no header row: its columns are named here; run it with\n\
         #   --csv-columns {}",
        columns.join(",")
    )
}

/// `Product Added` → `PRODUCT_ADDED`; a leading digit gets `E_`.
fn event_name(wire: &str) -> String {
    let mut out = String::new();
    for c in wire.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_uppercase());
        } else if !out.ends_with('_') && !out.is_empty() {
            out.push('_');
        }
    }
    let out = out.trim_end_matches('_').to_owned();
    match out.chars().next() {
        None => "EVENT".into(),
        Some(c) if c.is_ascii_digit() => format!("E_{out}"),
        Some(_) => out,
    }
}

/// A field name for a path: its last segment in snake case, never a reserved word.
fn field_name(path: &str, taken: &[&str]) -> String {
    let last = path
        .rsplit('.')
        .next()
        .unwrap_or(path)
        .trim_end_matches("[]");
    let mut out = String::new();
    for (i, c) in last.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 && !out.ends_with('_') {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    let mut out = out.trim_matches('_').to_owned();
    if !out.starts_with(|c: char| c.is_ascii_lowercase()) {
        out = format!("f_{out}");
    }
    while RESERVED.contains(&out.as_str()) || out == "ts" || taken.contains(&out.as_str()) {
        out.push('_');
    }
    out
}

fn render(
    source: &str,
    samples: &[Members],
    envelope: &guess::Envelope,
    notes: &[String],
) -> String {
    let mut text = format!(
        "# Inferred by `trigc infer` from {} lines of {source}: a starting point. Rename\n\
         # the events and fields, drop what no rule needs, then add triggers.\n",
        samples.len()
    );
    for note in notes {
        let _ = writeln!(text, "{note}");
    }
    let key: Vec<String> = envelope.key.iter().map(|k| source_path(k)).collect();
    let key = key.join(" ?? ");
    let (type_name, time_name) = (envelope.type_.as_str(), envelope.time.as_str());
    let (type_src, time_src) = (source_path(type_name), source_path(time_name));
    let time_clause = match (envelope.time_text, envelope.how[2]) {
        (Some(t), _) => t.clause(),
        (None, guess::How::Missing) => String::new(),
        (None, _) => "  # unknown time format: give `format \"...\"`".into(),
    };
    let _ = writeln!(
        text,
        "{}\nschema {{\n  key  {key}\n  type {type_src}\n  time {time_src}{time_clause}\n}}",
        envelope.comment()
    );
    // Events by wire value, in order of first sight. An integer code and the same
    // digits as a string (`1` and `"1"`) are one event with both wire names: `from 1`
    // alone would leave the string lines ignored at run time.
    let mut wires: Vec<String> = Vec::new();
    let mut by_wire: BTreeMap<String, (Vec<&Members>, WireForms)> = BTreeMap::new();
    for m in samples {
        let Some((wire, is_int)) = wire_value(m, type_name) else {
            continue;
        };
        if !by_wire.contains_key(&wire) {
            wires.push(wire.clone());
        }
        let (lines, forms) = by_wire.entry(wire).or_default();
        lines.push(m);
        if is_int {
            forms.int = true;
        } else {
            forms.string = true;
        }
    }
    let envelope: Vec<&str> = [type_name, time_name]
        .into_iter()
        .chain(envelope.key.iter().map(String::as_str))
        .collect();
    let mut names: Vec<String> = Vec::new();
    let empty = (Vec::new(), WireForms::default());
    for wire in wires.iter().take(100) {
        let (lines, forms) = by_wire.get(wire).unwrap_or(&empty);
        let mut name = if forms.int {
            match wire.strip_prefix('-') {
                Some(digits) => format!("E_NEG_{digits}"),
                None => format!("E_{wire}"),
            }
        } else {
            event_name(wire)
        };
        while names.contains(&name) {
            name.push('_');
        }
        names.push(name.clone());
        // JSON's escapes are Trig's (docs/LANGUAGE.md §2); Rust's `{:?}` writes
        // `\u{1}`, which `trigc check` rejects.
        let quoted = serde_json::Value::from(wire.as_str()).to_string();
        let from = match (forms.int, forms.string) {
            (true, true) => format!("{wire}, {quoted}"),
            (true, false) => wire.clone(),
            _ => quoted,
        };
        let _ = writeln!(
            text,
            "\n# seen on {} sampled line{}\nevent {name} from {from} {{",
            lines.len(),
            if lines.len() == 1 { "" } else { "s" }
        );
        for line in fields(lines, &envelope) {
            let _ = writeln!(text, "  {line}");
        }
        text.push_str("}\n");
    }
    text
}

/// A dotted path as a rule file writes it: a name that is no identifier quoted
/// (`properties."$current_url"`).
fn source_path(path: &str) -> String {
    let segments: Vec<String> = path
        .split('.')
        .map(|seg| {
            let (name, each) = match seg.strip_suffix("[]") {
                Some(name) => (name, "[]"),
                None => (seg, ""),
            };
            if crate::syntax::ast::is_identifier(name) {
                format!("{name}{each}")
            } else {
                format!("{}{each}", serde_json::Value::from(name))
            }
        })
        .collect();
    segments.join(".")
}

/// How a type value was written on the sampled lines.
#[derive(Clone, Copy, Debug, Default)]
struct WireForms {
    int: bool,
    string: bool,
}

/// The type member's value on a line: its text, and whether it is an integer code.
fn wire_value(m: &Members, type_name: &str) -> Option<(String, bool)> {
    let (_, ty, text) = m.iter().find(|(p, _, _)| p == type_name)?;
    let ty = (*ty)?;
    if ty.list {
        return None;
    }
    // An integer code as `from` reads it: `-0` and `0` are one wire value.
    Some(match text.parse::<i64>() {
        Ok(n) if ty.kind == Kind::Int => (n.to_string(), true),
        _ => (text.clone(), ty.kind == Kind::Int),
    })
}

/// The field lines of one event from its sampled lines.
fn fields(lines: &[&Members], envelope: &[&str]) -> Vec<String> {
    let mut order: Vec<String> = Vec::new();
    let mut types: BTreeMap<String, Option<Ty>> = BTreeMap::new();
    let mut present: BTreeMap<String, usize> = BTreeMap::new();
    // Paths some line holds a value at that no one field type reads on every line
    // (kinds that do not join, an array of mixed kinds, an object where others hold
    // a scalar): a field for them would reject lines of the sample itself.
    let mut mixed: BTreeSet<String> = BTreeSet::new();
    // Paths holding an object or a scalar on some line: a `[]` gathered through
    // them would reject that line (`must lead to an array`).
    let mut no_array: BTreeSet<String> = BTreeSet::new();
    for m in lines {
        for (path, ty, text) in m.iter() {
            if envelope.contains(&path.as_str()) {
                continue;
            }
            let marker = ty.is_none() && [OBJECT, OBJECTS, EMPTY].contains(&text.as_str());
            let scalar_or_object = match ty {
                Some(t) => !t.list,
                None => text == OBJECT,
            };
            if scalar_or_object {
                no_array.insert(path.clone());
            }
            if marker {
                continue;
            }
            if !types.contains_key(path) {
                order.push(path.clone());
                types.insert(path.clone(), *ty);
            }
            match ty {
                Some(ty) => {
                    *present.entry(path.clone()).or_default() += 1;
                    let slot = types.entry(path.clone()).or_insert(Some(*ty));
                    *slot = match *slot {
                        None => Some(*ty),
                        Some(t) if t.list == ty.list => {
                            t.kind.join(ty.kind).map(|kind| Ty { kind, ..t })
                        }
                        Some(_) => None,
                    };
                    if slot.is_none() {
                        mixed.insert(path.clone());
                    }
                }
                None if text != "null" => {
                    mixed.insert(path.clone());
                }
                None => {}
            }
        }
    }
    // An object (or an array of them, or an empty array) on one line and a value of
    // another kind on another, in either order.
    for m in lines {
        for (path, ty, text) in m.iter() {
            let Some(Some(t)) = types.get(path) else {
                continue;
            };
            if ty.is_none() && (text == OBJECT || text == OBJECTS || (text == EMPTY && !t.list)) {
                mixed.insert(path.clone());
            } else if ty.is_none() && text == EMPTY {
                // An empty array is a list present, not an absent member.
                *present.entry(path.clone()).or_default() += 1;
            }
        }
    }
    // What a rule most likely reads first: a CDP call's `properties`, then the
    // line's own members, then other nested objects (`context.*`); stable within.
    order.sort_by_key(|path| {
        if path.starts_with("properties.") || path.starts_with("properties[") {
            0
        } else if path.contains('.') {
            2
        } else {
            1
        }
    });
    let mut taken: Vec<String> = envelope.iter().map(|s| (*s).to_owned()).collect();
    let mut out = Vec::new();
    for path in order {
        let through_no_array = path
            .split_once("[].")
            .is_some_and(|(array, _)| no_array.contains(array));
        let ty = types
            .get(&path)
            .copied()
            .flatten()
            .filter(|_| !mixed.contains(&path) && !through_no_array);
        let Some(ty) = ty else {
            out.push(format!(
                "# {path}: no one type (or only null) in the sample, left out"
            ));
            continue;
        };
        let taken_refs: Vec<&str> = taken.iter().map(String::as_str).collect();
        let name = field_name(&path, &taken_refs);
        taken.push(name.clone());
        let optional = present.get(&path).copied().unwrap_or(0) < lines.len();
        let ty_text = if ty.list {
            format!("list<{}>", ty.kind.name())
        } else {
            ty.kind.name().to_owned()
        };
        let q = if optional { "?" } else { "" };
        let from = if name == path {
            String::new()
        } else {
            format!(" from {}", source_path(&path))
        };
        out.push(format!("{name}: {ty_text}{q}{from}"));
    }
    out
}
