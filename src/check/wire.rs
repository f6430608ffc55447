//! Where declarations sit on the wire (docs/LANGUAGE.md §3, "Wire mapping"): the
//! schema's paths, key alternatives and time format, an event's wire names
//! (`from "Product Added", 2`, each meaning one event only) and a field's path
//! (`from properties.product_id`, `[]` gathering into a `list<T>`). Checked here so
//! the decoder can trust them: a strftime format chrono cannot read, an unknown epoch
//! unit or a misplaced `[]` is a diagnostic, never a surprise at run time.

use chrono::format::{Item, StrftimeItems};
use rustc_hash::FxHashMap;

use super::Checker;
use super::error::Problem;
use crate::ir::{TimeFormat, Ty, WireValue};
use crate::syntax::{self as ast, Span, WirePath};

impl Checker<'_> {
    /// A schema path as the IR keeps it; `[]` has no meaning in the envelope.
    pub(super) fn check_schema_path(&mut self, path: &WirePath) -> String {
        if path.segments.iter().any(|s| s.each) {
            self.report(Problem::BadWirePath {
                span: path.span,
                path: path.to_string(),
                reason: "`[]` gathers a list, and the schema's key, type and time are single values",
            });
        }
        self.check_path_names(path);
        path.wire_text()
    }

    /// Names the `.`-joined form of a path could not split back: empty, holding a
    /// `.`, or ending in `[]`.
    fn check_path_names(&mut self, path: &WirePath) {
        let bad = path
            .segments
            .iter()
            .any(|s| s.name.is_empty() || s.name.contains('.') || s.name.ends_with("[]"));
        if bad {
            self.report(Problem::BadWirePath {
                span: path.span,
                path: path.to_string(),
                reason: "a member name in a path cannot be empty, hold a `.` or end in `[]`",
            });
        }
    }

    /// `format "..."` (validated with chrono) or `epoch UNIT`.
    pub(super) fn check_time_format(&mut self, format: &ast::TimeFormat) -> TimeFormat {
        match format {
            ast::TimeFormat::Strftime(s, zone) => {
                let bad = s.value.is_empty()
                    || StrftimeItems::new(&s.value).any(|i| matches!(i, Item::Error));
                if bad {
                    self.report(Problem::BadTimeFormat {
                        span: s.span,
                        format: s.value.clone(),
                        epoch: false,
                    });
                }
                if let Some(z) = zone
                    && z.value.parse::<chrono_tz::Tz>().is_err()
                {
                    self.report(Problem::UnknownTimeZone {
                        span: z.span,
                        zone: z.value.clone(),
                    });
                }
                TimeFormat::Strftime {
                    format: s.value.clone(),
                    zone: zone.as_ref().map(|z| z.value.clone()),
                }
            }
            ast::TimeFormat::Epoch(unit) => match unit.name.as_str() {
                "seconds" => TimeFormat::EpochSeconds,
                "millis" => TimeFormat::EpochMillis,
                "micros" => TimeFormat::EpochMicros,
                other => {
                    self.report(Problem::BadTimeFormat {
                        span: unit.span,
                        format: other.to_owned(),
                        epoch: true,
                    });
                    TimeFormat::Default
                }
            },
        }
    }

    /// An event's `from` list as IR values (an integer must fit 64 bits).
    pub(super) fn check_wire_names(&mut self, ev: &ast::EventDecl) -> Vec<WireValue> {
        let mut out = Vec::new();
        for w in &ev.wire {
            match w {
                ast::WireName::Str(s) => out.push(WireValue::Str(s.value.clone())),
                ast::WireName::Int { text, span } => match text.parse::<i64>() {
                    Ok(n) => out.push(WireValue::Int(n)),
                    Err(_) => self.report(Problem::BadWireName {
                        span: *span,
                        text: text.clone(),
                    }),
                },
            }
        }
        out
    }

    /// No wire value may mean two events: `event A from "x"` and `event B from "x"`,
    /// or `event B from "A"` beside an `event A` without `from`.
    pub(super) fn check_wire_collisions(&mut self) {
        let ast = self.ast;
        let mut seen: FxHashMap<WireValue, (String, Span)> = FxHashMap::default();
        for decl in &ast.decls {
            let ast::Decl::Event(ev) = decl else { continue };
            let mut names: Vec<(WireValue, Span)> = Vec::new();
            if ev.wire.is_empty() {
                names.push((WireValue::Str(ev.name.name.to_string()), ev.name.span));
            }
            for w in &ev.wire {
                match w {
                    ast::WireName::Str(s) => names.push((WireValue::Str(s.value.clone()), s.span)),
                    ast::WireName::Int { text, span } => {
                        if let Ok(n) = text.parse::<i64>() {
                            names.push((WireValue::Int(n), *span));
                        }
                    }
                }
            }
            let event = ev.name.name.to_string();
            for (value, span) in names {
                match seen.get(&value) {
                    // A duplicate declaration of one event is reported as such.
                    Some((first_event, _)) if *first_event == event => {}
                    Some((first_event, first)) => {
                        let (first_event, first) = (first_event.clone(), *first);
                        self.report(Problem::DuplicateWireName {
                            span,
                            wire: value.to_string(),
                            event: event.clone(),
                            first_event,
                            first,
                        });
                    }
                    None => {
                        seen.insert(value, (event.clone(), span));
                    }
                }
            }
        }
    }

    /// A field's path: at most one `[]`, and only in a `list<T>` field (the gathered
    /// elements are its members).
    pub(super) fn check_field_path(&mut self, path: &WirePath, ty: Option<&Ty>) -> String {
        let each = path.segments.iter().filter(|s| s.each).count();
        let is_list = matches!(ty.map(Ty::strip_optional), Some(Ty::List(_)) | None);
        if each > 1 {
            self.report(Problem::BadWirePath {
                span: path.span,
                path: path.to_string(),
                reason: "a path may gather (`[]`) at one level only",
            });
        } else if each == 1 && !is_list {
            self.report(Problem::BadWirePath {
                span: path.span,
                path: path.to_string(),
                reason: "`[]` gathers a list, so the field must be `list<T>`",
            });
        }
        self.check_path_names(path);
        path.wire_text()
    }
}
