//! From one file's text to AST declarations: cut the file into declarations
//! ([`super::chunk`]), run pest on each, and build the AST from the pest pairs with one
//! `parse_*` function per grammar rule (expressions and literals in `parser/expr.rs`).
//! Expressions are folded with pest's Pratt parser into the arena; a tree deeper than
//! [`super::error::MAX_EXPR_DEPTH`] is reported and
//! replaced by `ExprKind::Error`, so later recursive passes stay within a small stack.
//!
//! Speed: nearly all of the parse time is spent inside pest, which probes the native
//! stack on every combinator call (figures in BENCHMARKS.md). The grammar front-loads cheap
//! first-character lookaheads where rules run per operand; the next step, if needed,
//! is parsing declarations on several threads (each chunk is independent).

use pest::Parser as _;
use pest::iterators::Pair;

use super::ast::*;
use super::chunk::{self, Chunk};
use super::error::{self, Found, MAX_DECL_BYTES, MAX_NESTING, SyntaxFacts};
use super::lexer::{self, Token, TokenKind};
use super::name::Name;
use crate::diag::Diagnostic;
use crate::source::{FileId, Span};

mod expr;

#[derive(pest_derive::Parser)]
#[grammar = "../grammar/trig.pest"]
pub struct TrigGrammar;

/// Where diagnostics of one file go; stops taking them past the per-file cap.
pub struct Sink<'d> {
    pub diags: &'d mut Vec<Diagnostic>,
    pub count: usize,
}

impl Sink<'_> {
    pub fn push(&mut self, d: Diagnostic) {
        self.count += 1;
        match self.count.cmp(&error::MAX_DIAGNOSTICS_PER_FILE) {
            std::cmp::Ordering::Less => self.diags.push(d),
            std::cmp::Ordering::Equal => self.diags.push(error::too_many_errors(d.span)),
            std::cmp::Ordering::Greater => {}
        }
    }

    pub fn full(&self) -> bool {
        self.count >= error::MAX_DIAGNOSTICS_PER_FILE
    }
}

/// Parse one file into `ast`, reporting into `sink`.
pub fn parse_file(
    file: FileId,
    text: &str,
    ast: &mut Ast,
    depths: &mut Vec<u32>,
    sink: &mut Sink<'_>,
) {
    let tokens = lexer::tokenize(text);
    for chunk in chunk::split(text, &tokens) {
        if sink.full() {
            break;
        }
        let chunk_tokens = tokens.get(chunk.tokens.clone()).unwrap_or(&[]);
        if let Some(bad) = chunk_tokens
            .iter()
            .find(|t| t.kind == TokenKind::UnterminatedStr)
        {
            sink.push(error::unterminated_string(Span::new(
                file, bad.start, bad.end,
            )));
            continue;
        }
        if chunk.end - chunk.start > MAX_DECL_BYTES {
            let first = chunk_tokens.first().map_or(chunk.start, |t| t.end);
            sink.push(error::declaration_too_long(Span::new(
                file,
                chunk.start,
                first,
            )));
            continue;
        }
        if let Some(tok) = chunk::too_deep(text, chunk_tokens, MAX_NESTING) {
            sink.push(error::too_deep_nesting(Span::new(file, tok.start, tok.end)));
            continue;
        }
        let src = text.get(chunk.start..chunk.end).unwrap_or("");
        match TrigGrammar::parse(Rule::chunk, src) {
            Ok(mut pairs) => {
                let mut b = Builder {
                    file,
                    base: chunk.start,
                    tokens: &tokens,
                    ast,
                    depths,
                    sink,
                    overflow: None,
                };
                if let Some(decl) = pairs.next().and_then(|p| b.parse_chunk(p)) {
                    b.ast.decls.push(decl);
                }
            }
            Err(e) => sink.push(pest_error(file, text, &tokens, &chunk, &e)),
        }
    }
}

/// Turn pest's error into a diagnostic in user words.
fn pest_error(
    file: FileId,
    text: &str,
    tokens: &[Token],
    chunk: &Chunk,
    e: &pest::error::Error<Rule>,
) -> Diagnostic {
    let pos = chunk.start
        + match e.location {
            pest::error::InputLocation::Pos(p) => p,
            pest::error::InputLocation::Span((s, _)) => s,
        };
    // The token at (or right after) the error position.
    let at = tokens.partition_point(|t| t.end <= pos);
    let found_idx = chunk::next_significant(tokens, at);
    let found_tok = found_idx.and_then(|i| tokens.get(i).copied());
    let span = found_tok.map_or(Span::new(file, pos, pos), |t| {
        Span::new(file, t.start, t.end)
    });
    let found = match found_tok {
        None => Found::EndOfInput,
        Some(t) if t.kind == TokenKind::Unknown => Found::Stray(t.text(text).to_owned()),
        Some(t) => Found::Text(t.text(text).to_owned()),
    };
    let next = found_idx
        .and_then(|i| chunk::next_significant(tokens, i + 1))
        .and_then(|i| tokens.get(i))
        .map(|t| t.text(text));
    match &e.variant {
        pest::error::ErrorVariant::ParsingError { positives, .. } => {
            error::syntax_error(&SyntaxFacts {
                span,
                expected: positives,
                found,
                next,
            })
        }
        pest::error::ErrorVariant::CustomError { .. } => error::parser_limit(span),
    }
}

/// Builds AST nodes from the pairs of one declaration.
struct Builder<'a, 'd> {
    file: FileId,
    /// Byte offset of the declaration in its file (pest positions are relative).
    base: usize,
    /// The file's tokens, to trim whitespace and comments off pest's spans.
    tokens: &'a [Token],
    ast: &'a mut Ast,
    /// Depth of each expression in `ast.exprs` (same index).
    depths: &'a mut Vec<u32>,
    sink: &'a mut Sink<'d>,
    /// Set once the current top-level expression got too deep: every node built
    /// after that is this one `Error` node, so a huge chain costs no memory.
    overflow: Option<ExprId>,
}

/// Keyword and punctuation pairs carry no data beyond their span. They are declared
/// in one block of the grammar (`kw_and` to `question`), and pest numbers rules in
/// declaration order.
fn is_token(rule: Rule) -> bool {
    (Rule::kw_and..=Rule::question).contains(&rule)
}

/// The pairs inside `pair` that carry data.
fn parts(pair: Pair<'_, Rule>) -> impl Iterator<Item = Pair<'_, Rule>> {
    pair.into_inner().filter(|p| !is_token(p.as_rule()))
}

impl Builder<'_, '_> {
    /// The pair's byte span in the file, without the whitespace and comments pest
    /// lets rules swallow at their edges.
    fn span(&self, pair: &Pair<'_, Rule>) -> Span {
        let s = pair.as_span();
        let (mut start, mut end) = (self.base + s.start(), self.base + s.end());
        // Fast path: most pairs (all atomic ones) have no trivia at their edges; a
        // trailing comment always ends in a newline except at the end of the file.
        let text = s.as_str().as_bytes();
        let edge_is_trivia = |b: Option<&u8>| b.is_none_or(|b| b.is_ascii_whitespace());
        if !edge_is_trivia(text.first())
            && !edge_is_trivia(text.last())
            && s.end() < s.get_input().len()
        {
            return Span::new(self.file, start, end);
        }
        let first = self.tokens.partition_point(|t| t.end <= start);
        if let Some(t) = self
            .tokens
            .get(first..)
            .and_then(|ts| ts.iter().find(|t| !t.is_trivia()))
            && t.start < end
        {
            start = start.max(t.start);
        }
        let last = self.tokens.partition_point(|t| t.start < end);
        if let Some(t) = self
            .tokens
            .get(..last)
            .and_then(|ts| ts.iter().rev().find(|t| !t.is_trivia()))
            && t.end > start
        {
            end = end.min(t.end);
        }
        Span::new(self.file, start, end)
    }

    fn ident(&self, pair: &Pair<'_, Rule>) -> Ident {
        Ident {
            name: Name::new(pair.as_str()),
            span: self.span(pair),
        }
    }

    // ------------------------------------------------------------ declarations

    fn parse_chunk(&mut self, pair: Pair<'_, Rule>) -> Option<Decl> {
        let decl = parts(pair).find(|p| p.as_rule() != Rule::EOI)?;
        Some(match decl.as_rule() {
            Rule::schema_decl => Decl::Schema(self.parse_schema_decl(decl)),
            Rule::event_decl => Decl::Event(self.parse_event_decl(decl)),
            Rule::state_decl => Decl::State(self.parse_state_decl(decl)),
            Rule::trigger_decl => Decl::Trigger(self.parse_trigger_decl(decl)?),
            _ => return None,
        })
    }

    fn parse_schema_decl(&mut self, pair: Pair<'_, Rule>) -> Schema {
        let span = self.span(&pair);
        let lines = parts(pair).map(|p| self.parse_schema_line(p)).collect();
        Schema { span, lines }
    }

    fn parse_schema_line(&mut self, pair: Pair<'_, Rule>) -> SchemaLine {
        let span = self.span(&pair);
        let mut line = SchemaLine {
            span,
            role: SchemaRole::Key,
            paths: Vec::new(),
            format: None,
        };
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::kw_key => line.role = SchemaRole::Key,
                Rule::kw_type => line.role = SchemaRole::Type,
                Rule::kw_time => line.role = SchemaRole::Time,
                Rule::wire_path => line.paths.push(self.wire_path(&p)),
                Rule::time_format => line.format = self.parse_time_format(p),
                _ => {}
            }
        }
        line
    }

    fn parse_time_format(&mut self, pair: Pair<'_, Rule>) -> Option<TimeFormat> {
        let mut items = parts(pair);
        let p = items.next()?;
        Some(match p.as_rule() {
            Rule::string => {
                let format = self.parse_string(p);
                let zone = items
                    .next()
                    .and_then(|z| parts(z).next())
                    .map(|z| self.parse_string(z));
                TimeFormat::Strftime(format, zone)
            }
            _ => TimeFormat::Epoch(self.ident(&p)),
        })
    }

    fn wire_path(&mut self, pair: &Pair<'_, Rule>) -> WirePath {
        let span = self.span(pair);
        let text = pair.as_str();
        let bytes = text.as_bytes();
        let mut segments = Vec::new();
        // The grammar has checked the shape: segments (an identifier or a string,
        // `[]` after either) joined by `.`.
        let mut at = 0;
        while at < bytes.len() {
            let name = if bytes.get(at) == Some(&b'"') {
                let mut end = at + 1;
                while let Some(&b) = bytes.get(end) {
                    match b {
                        b'\\' => end += 2,
                        b'"' => break,
                        _ => end += 1,
                    }
                }
                let quoted = text.get(at..=end).unwrap_or_default();
                let (name, bad) = super::literal::unescape(quoted);
                for b in bad {
                    let from = span.start as usize + at;
                    self.sink.push(error::bad_escape(
                        Span::new(self.file, from + b.range.start, from + b.range.end),
                        &b.text,
                    ));
                }
                at = end + 1;
                name
            } else {
                let end = bytes
                    .iter()
                    .skip(at)
                    .position(|b| !(b.is_ascii_alphanumeric() || *b == b'_'))
                    .map_or(bytes.len(), |n| at + n);
                let name = text.get(at..end).unwrap_or_default().to_owned();
                at = end;
                name
            };
            let each = text.get(at..).is_some_and(|rest| rest.starts_with("[]"));
            if each {
                at += 2;
            }
            segments.push(PathSegment { name, each });
            at += 1; // the `.`
        }
        WirePath { span, segments }
    }

    fn parse_wire_names(&mut self, pair: Pair<'_, Rule>) -> Vec<WireName> {
        let mut names = Vec::new();
        for p in parts(pair) {
            if p.as_rule() != Rule::wire_name {
                continue;
            }
            let Some(inner) = parts(p).next() else {
                continue;
            };
            names.push(match inner.as_rule() {
                Rule::string => WireName::Str(self.parse_string(inner)),
                _ => WireName::Int {
                    text: inner.as_str().to_owned(),
                    span: self.span(&inner),
                },
            });
        }
        names
    }

    fn parse_event_decl(&mut self, pair: Pair<'_, Rule>) -> EventDecl {
        let span = self.span(&pair);
        let mut decl = EventDecl {
            span,
            profile: None,
            name: Ident {
                name: Name::new(""),
                span,
            },
            wire: Vec::new(),
            keyed_by: None,
            fields: Vec::new(),
        };
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::kw_profile => decl.profile = Some(self.span(&p)),
                Rule::event_name => decl.name = self.ident(&p),
                Rule::wire_names => decl.wire = self.parse_wire_names(p),
                Rule::keyed_by => decl.keyed_by = self.parse_keyed_by(p),
                Rule::field_decl => decl.fields.push(self.parse_field_decl(p)),
                _ => {}
            }
        }
        decl
    }

    fn parse_keyed_by(&mut self, pair: Pair<'_, Rule>) -> Option<Ident> {
        parts(pair).next().map(|p| self.ident(&p))
    }

    fn parse_field_decl(&mut self, pair: Pair<'_, Rule>) -> FieldDecl {
        let span = self.span(&pair);
        let mut name = Ident {
            name: Name::new(""),
            span,
        };
        let mut ty = TypeExpr {
            span,
            kind: TypeKind::Named(name),
        };
        let mut path = None;
        for p in parts(pair) {
            match p.as_rule() {
                Rule::field_name => name = self.ident(&p),
                Rule::wire_path => path = Some(self.wire_path(&p)),
                Rule::kw_from => {}
                _ => ty = self.parse_type_expr(p),
            }
        }
        FieldDecl {
            span,
            name,
            ty,
            path,
        }
    }

    fn parse_type_expr(&mut self, pair: Pair<'_, Rule>) -> TypeExpr {
        let span = self.span(&pair);
        let mut ty = TypeExpr {
            span,
            kind: TypeKind::Named(Ident {
                name: Name::new(""),
                span,
            }),
        };
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::generic_type => ty = self.parse_generic_type(p),
                Rule::type_name => {
                    ty = TypeExpr {
                        span: self.span(&p),
                        kind: TypeKind::Named(self.ident(&p)),
                    }
                }
                Rule::question => {
                    ty = TypeExpr {
                        span,
                        kind: TypeKind::Optional(Box::new(ty)),
                    }
                }
                _ => {}
            }
        }
        ty
    }

    fn parse_generic_type(&mut self, pair: Pair<'_, Rule>) -> TypeExpr {
        let span = self.span(&pair);
        let mut is_set = true;
        let mut inner = TypeExpr {
            span,
            kind: TypeKind::Named(Ident {
                name: Name::new(""),
                span,
            }),
        };
        for p in parts(pair) {
            match p.as_rule() {
                Rule::generic_kind => is_set = p.as_str() == "set",
                _ => inner = self.parse_type_expr(p),
            }
        }
        let kind = if is_set {
            TypeKind::Set(Box::new(inner))
        } else {
            TypeKind::List(Box::new(inner))
        };
        TypeExpr { span, kind }
    }

    fn parse_state_decl(&mut self, pair: Pair<'_, Rule>) -> StateDecl {
        let span = self.span(&pair);
        let mut decl = StateDecl {
            span,
            name: Ident {
                name: Name::new(""),
                span,
            },
            ty: TypeExpr {
                span,
                kind: TypeKind::Named(Ident {
                    name: Name::new(""),
                    span,
                }),
            },
            rules: Vec::new(),
        };
        for p in parts(pair) {
            match p.as_rule() {
                Rule::state_name => decl.name = self.ident(&p),
                Rule::type_expr => decl.ty = self.parse_type_expr(p),
                Rule::reducer => {
                    if let Some(r) = self.parse_reducer(p) {
                        decl.rules.push(r);
                    }
                }
                _ => {}
            }
        }
        decl
    }

    fn parse_reducer(&mut self, pair: Pair<'_, Rule>) -> Option<Reducer> {
        let span = self.span(&pair);
        let mut pattern = None;
        let mut op = None;
        let mut args = Vec::new();
        for p in parts(pair) {
            match p.as_rule() {
                Rule::pattern => pattern = Some(self.parse_pattern(p)),
                Rule::func_name => op = Some(self.ident(&p)),
                _ => args.push(self.parse_root_expr(p)),
            }
        }
        Some(Reducer {
            span,
            pattern: pattern?,
            op: op?,
            args,
        })
    }

    fn parse_pattern(&mut self, pair: Pair<'_, Rule>) -> Pattern {
        let span = self.span(&pair);
        let mut pattern = Pattern {
            span,
            event: Ident {
                name: Name::new(""),
                span,
            },
            alias: None,
            filter: None,
        };
        for p in parts(pair) {
            match p.as_rule() {
                Rule::event_name => pattern.event = self.ident(&p),
                Rule::alias_name => pattern.alias = Some(self.ident(&p)),
                _ => pattern.filter = Some(self.parse_root_expr(p)),
            }
        }
        pattern
    }

    // ------------------------------------------------------------ triggers

    fn parse_trigger_decl(&mut self, pair: Pair<'_, Rule>) -> Option<Trigger> {
        let span = self.span(&pair);
        let mut name = None;
        let mut description = None;
        let mut options = Vec::new();
        let mut start = None;
        let mut fan_out = None;
        let mut steps = Vec::new();
        for p in parts(pair) {
            match p.as_rule() {
                Rule::trigger_name => name = Some(self.ident(&p)),
                Rule::description => description = self.parse_description(p),
                Rule::priority_opt => options.push(self.parse_priority_opt(p)),
                Rule::cooldown_opt => options.push(self.parse_cooldown_opt(p)),
                Rule::limit_opt => options.push(self.parse_limit_opt(p)),
                Rule::reentry_opt => options.push(self.parse_reentry_opt(p)),
                Rule::exit_opt => options.push(self.parse_exit_opt(p)),
                Rule::enroll_start => start = Some(self.parse_enroll_start(p)),
                Rule::on_start => start = Some(self.parse_on_start(p)),
                Rule::daily_start => start = Some(self.parse_daily_start(p)),
                Rule::every_start => start = Some(self.parse_every_start(p)),
                Rule::cron_start => start = Some(self.parse_cron_start(p)),
                Rule::fan_out => fan_out = Some(self.parse_fan_out(p)),
                Rule::step => steps.push(self.parse_step(p)),
                _ => {}
            }
        }
        Some(Trigger {
            span,
            name: name?,
            description,
            options,
            start: start?,
            fan_out,
            steps,
        })
    }

    fn parse_description(&mut self, pair: Pair<'_, Rule>) -> Option<StrLit> {
        parts(pair).next().map(|p| self.parse_string(p))
    }

    fn parse_priority_opt(&mut self, pair: Pair<'_, Rule>) -> TriggerOption {
        let span = self.span(&pair);
        let value = parts(pair).next().map_or(0, |p| self.parse_int_lit(p));
        TriggerOption::Priority { span, value }
    }

    fn parse_cooldown_opt(&mut self, pair: Pair<'_, Rule>) -> TriggerOption {
        let span = self.span(&pair);
        let duration = self.first_duration(pair, span);
        TriggerOption::Cooldown { span, duration }
    }

    fn parse_limit_opt(&mut self, pair: Pair<'_, Rule>) -> TriggerOption {
        let span = self.span(&pair);
        let mut count = 0;
        let mut per = DurationLit { millis: 0, span };
        for p in parts(pair) {
            match p.as_rule() {
                Rule::int_lit => count = self.parse_int_lit(p),
                _ => per = self.parse_duration(p),
            }
        }
        TriggerOption::Limit { span, count, per }
    }

    fn parse_reentry_opt(&mut self, pair: Pair<'_, Rule>) -> TriggerOption {
        let span = self.span(&pair);
        let mut mode = Reentry::Restart;
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::kw_skip => mode = Reentry::Skip,
                Rule::kw_parallel => mode = Reentry::Parallel,
                _ => {}
            }
        }
        TriggerOption::Reentry { span, mode }
    }

    fn parse_exit_opt(&mut self, pair: Pair<'_, Rule>) -> TriggerOption {
        let span = self.span(&pair);
        let patterns = parts(pair).map(|p| self.parse_pattern(p)).collect();
        TriggerOption::ExitOn { span, patterns }
    }

    fn parse_enroll_start(&mut self, pair: Pair<'_, Rule>) -> Start {
        Start::Enroll {
            span: self.span(&pair),
        }
    }

    fn parse_on_start(&mut self, pair: Pair<'_, Rule>) -> Start {
        let span = self.span(&pair);
        let patterns = parts(pair).map(|p| self.parse_pattern(p)).collect();
        Start::On { span, patterns }
    }

    fn parse_daily_start(&mut self, pair: Pair<'_, Rule>) -> Start {
        let span = self.span(&pair);
        let (at_span, minute_of_day) = match parts(pair).next() {
            Some(p) => (self.span(&p), self.parse_time_of_day(p)),
            None => (span, 0),
        };
        Start::Schedule {
            span,
            schedule: Schedule::DailyAt {
                span: at_span,
                minute_of_day,
            },
        }
    }

    fn parse_every_start(&mut self, pair: Pair<'_, Rule>) -> Start {
        let span = self.span(&pair);
        let duration = self.first_duration(pair, span);
        Start::Schedule {
            span,
            schedule: Schedule::Every(duration),
        }
    }

    fn parse_cron_start(&mut self, pair: Pair<'_, Rule>) -> Start {
        let span = self.span(&pair);
        let text = match parts(pair).next() {
            Some(p) => self.parse_string(p),
            None => StrLit {
                value: String::new(),
                span,
            },
        };
        Start::Schedule {
            span,
            schedule: Schedule::Cron(text),
        }
    }

    fn parse_fan_out(&mut self, pair: Pair<'_, Rule>) -> FanOut {
        let span = self.span(&pair);
        let mut state = Ident {
            name: Name::new(""),
            span,
        };
        let mut value = None;
        for p in parts(pair) {
            match p.as_rule() {
                Rule::state_name => state = self.ident(&p),
                _ => value = Some(self.parse_root_expr(p)),
            }
        }
        let value = value.unwrap_or_else(|| self.push_error(span));
        FanOut { span, state, value }
    }

    fn parse_step(&mut self, pair: Pair<'_, Rule>) -> Step {
        let span = self.span(&pair);
        let mut step = Step {
            span,
            wait: None,
            guard: None,
            actions: Vec::new(),
        };
        for p in parts(pair) {
            match p.as_rule() {
                Rule::wait_clause => step.wait = Some(self.parse_wait_clause(p)),
                Rule::guard => step.guard = self.parse_guard(p),
                Rule::webhook_action => step.actions.push(self.parse_webhook_action(p)),
                Rule::email_action => step.actions.push(self.parse_email_action(p)),
                Rule::emit_action => step.actions.push(self.parse_emit_action(p)),
                Rule::set_action => step.actions.push(self.parse_set_action(p)),
                Rule::enroll_action => step.actions.push(self.parse_enroll_action(p)),
                _ => {}
            }
        }
        step
    }

    fn parse_wait_clause(&mut self, pair: Pair<'_, Rule>) -> Wait {
        let span = self.span(&pair);
        let mut wait = Wait {
            span,
            duration: DurationLit { millis: 0, span },
            unless: Vec::new(),
        };
        for p in parts(pair) {
            match p.as_rule() {
                Rule::pattern => wait.unless.push(self.parse_pattern(p)),
                _ => wait.duration = self.parse_duration(p),
            }
        }
        wait
    }

    fn parse_guard(&mut self, pair: Pair<'_, Rule>) -> Option<ExprId> {
        parts(pair).next().map(|p| self.parse_root_expr(p))
    }

    fn parse_webhook_action(&mut self, pair: Pair<'_, Rule>) -> Action {
        let span = self.span(&pair);
        let mut url = StrLit {
            value: String::new(),
            span,
        };
        let mut with = None;
        for p in parts(pair) {
            match p.as_rule() {
                Rule::string => url = self.parse_string(p),
                _ => with = self.parse_with_clause(p),
            }
        }
        Action {
            span,
            kind: ActionKind::Webhook { url, with },
        }
    }

    fn parse_email_action(&mut self, pair: Pair<'_, Rule>) -> Action {
        let span = self.span(&pair);
        let mut template = StrLit {
            value: String::new(),
            span,
        };
        let (mut to, mut with) = (None, None);
        for p in parts(pair) {
            match p.as_rule() {
                Rule::string => template = self.parse_string(p),
                Rule::to_clause => to = self.parse_to_clause(p),
                _ => with = self.parse_with_clause(p),
            }
        }
        Action {
            span,
            kind: ActionKind::Email { template, to, with },
        }
    }

    fn parse_emit_action(&mut self, pair: Pair<'_, Rule>) -> Action {
        let span = self.span(&pair);
        let mut name = StrLit {
            value: String::new(),
            span,
        };
        let mut with = None;
        for p in parts(pair) {
            match p.as_rule() {
                Rule::string => name = self.parse_string(p),
                _ => with = self.parse_with_clause(p),
            }
        }
        Action {
            span,
            kind: ActionKind::Emit { name, with },
        }
    }

    fn parse_set_action(&mut self, pair: Pair<'_, Rule>) -> Action {
        let span = self.span(&pair);
        let mut field = Ident {
            name: Name::new(""),
            span,
        };
        let mut value = None;
        for p in parts(pair) {
            match p.as_rule() {
                Rule::field_name => field = self.ident(&p),
                _ => value = Some(self.parse_root_expr(p)),
            }
        }
        let value = value.unwrap_or_else(|| self.push_error(span));
        Action {
            span,
            kind: ActionKind::SetProfile { field, value },
        }
    }

    fn parse_enroll_action(&mut self, pair: Pair<'_, Rule>) -> Action {
        let span = self.span(&pair);
        let trigger = parts(pair).next().map_or(
            Ident {
                name: Name::new(""),
                span,
            },
            |p| self.ident(&p),
        );
        Action {
            span,
            kind: ActionKind::Enroll { trigger },
        }
    }

    fn parse_to_clause(&mut self, pair: Pair<'_, Rule>) -> Option<ExprId> {
        parts(pair).next().map(|p| self.parse_root_expr(p))
    }

    fn parse_with_clause(&mut self, pair: Pair<'_, Rule>) -> Option<ExprId> {
        parts(pair).next().map(|p| self.parse_root_expr(p))
    }
}
