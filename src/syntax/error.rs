//! The wording of every syntax diagnostic. The parser hands over facts (a span, what
//! pest tried, the token it met); this module alone turns them into a message, a
//! label and a help, in the words a rule author uses: "expected a duration like
//! `30m`", never "expected duration_lit".

use super::parser::Rule;
use crate::diag::quote::escape;
use crate::diag::{Code, Diagnostic};
use crate::source::Span;

/// How many levels of brackets (and prefix operators) pest may see.
pub const MAX_NESTING: usize = 128;
/// How deep a built expression tree may be; deeper ones become `ExprKind::Error`.
pub const MAX_EXPR_DEPTH: u32 = 200;
/// Diagnostics kept per file; garbage input must not produce millions.
pub const MAX_DIAGNOSTICS_PER_FILE: usize = 100;
/// Longest top-level declaration handed to pest (its token queue is memory-hungry).
pub const MAX_DECL_BYTES: usize = 1 << 20;

const EXPRESSION: &str = "an expression";
const OPERATOR: &str = "an operator";
const ACTION: &str = "an action (`webhook`, `email`, `emit`, `set profile.F = ...`, `enroll`)";
const UNITS_HELP: &str = "duration units are `ms` `s` `m` `h` `d` `w`, written right after the number: `500ms`, `30m`, `1h30m`";

/// The token a syntax error points at, described for a reader.
#[derive(Clone, Debug)]
pub enum Found {
    EndOfInput,
    /// A token's text (a word, a number, punctuation).
    Text(String),
    /// Bytes no Trig token starts with.
    Stray(String),
}

impl Found {
    fn describe(&self) -> String {
        match self {
            Found::EndOfInput => "the end of the file".to_owned(),
            Found::Text(t) => format!("`{}`", shorten(t)),
            Found::Stray(t) if t.starts_with('\0') => "a NUL byte".to_owned(),
            Found::Stray(t) => {
                let c = t.chars().next().unwrap_or('?');
                // Escaped only when invisible: `'` reads better than `\'`.
                match c.is_control() || c.is_whitespace() {
                    true => format!("the character `{}`", c.escape_debug()),
                    false => format!("the character `{c}`"),
                }
            }
        }
    }

    fn text(&self) -> &str {
        match self {
            Found::Text(t) => t,
            _ => "",
        }
    }
}

/// A token's text for a message: at most 24 characters (else 20 and `…`), control
/// characters escaped ([`crate::diag::quote`]).
fn shorten(text: &str) -> String {
    if text.chars().count() <= 24 {
        escape(text)
    } else {
        let mut s = escape(&text.chars().take(20).collect::<String>());
        s.push('…');
        s
    }
}

/// What the parser knew when pest gave up on a declaration.
pub struct SyntaxFacts<'a> {
    pub span: Span,
    pub expected: &'a [Rule],
    pub found: Found,
    /// The significant token after the found one, for hints like `30 m`.
    pub next: Option<&'a str>,
}

/// `expected X, Y or Z, found W`, with a help chosen from what was expected and found.
pub fn syntax_error(facts: &SyntaxFacts<'_>) -> Diagnostic {
    let mut wanted: Vec<&'static str> = Vec::new();
    for &rule in facts.expected {
        if let Some(words) = describe(rule)
            && !wanted.contains(&words)
        {
            wanted.push(words);
        }
    }
    // Operator words and `(`/`.` after a complete operand are noise next to "an operator".
    if wanted.contains(&OPERATOR) {
        wanted.retain(|w| !["`and`", "`or`", "`in`", "`contains`", "`(`", "`.`"].contains(w));
    }
    // What can start an expression is covered by "an expression".
    if wanted.contains(&EXPRESSION) {
        wanted.retain(|w| {
            ![
                "`{`",
                "`(`",
                "`[`",
                "a function name",
                "a duration like `30m`",
                "a whole number",
                "a string in double quotes",
            ]
            .contains(w)
        });
    }
    if wanted.contains(&ACTION) {
        wanted.retain(|w| *w != "`enroll`");
    }
    wanted.sort_by_key(|w| rank(w));
    let message = match wanted.as_slice() {
        [] => format!("unexpected {}", facts.found.describe()),
        list => format!(
            "expected {}, found {}",
            join_or(list),
            facts.found.describe()
        ),
    };
    let label = match wanted.as_slice() {
        [one] => format!("expected {}", short(one)),
        _ => "unexpected here".to_owned(),
    };
    let mut d = Diagnostic::new(Code::SyntaxError, facts.span, message).label(label);
    if let Some(help) = syntax_help(facts) {
        d = d.help(help);
    }
    d
}

/// The first few words of a description (`a duration like `30m`` → `a duration`).
fn short(words: &str) -> &str {
    let words = words.split(" like ").next().unwrap_or(words);
    words.split(" (").next().unwrap_or(words)
}

fn join_or(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

fn has(facts: &SyntaxFacts<'_>, rule: Rule) -> bool {
    facts.expected.contains(&rule)
}

fn syntax_help(facts: &SyntaxFacts<'_>) -> Option<String> {
    if matches!(&facts.found, Found::Stray(t) if t.starts_with('\'')) {
        return Some("Trig strings are in double quotes: `\"text\"`".to_owned());
    }
    let found = facts.found.text();
    let is_number = found.bytes().next().is_some_and(|b| b.is_ascii_digit());
    if has(facts, Rule::duration) && is_number {
        let unit = facts
            .next
            .filter(|n| ["ms", "s", "m", "h", "d", "w"].contains(n));
        return Some(match unit {
            Some(unit) => format!(
                "a duration is one word: write `{found}{unit}` without the space; {UNITS_HELP}"
            ),
            None => format!("add a unit: `{found}m`; {UNITS_HELP}"),
        });
    }
    let is_reserved = super::lexer::RESERVED.contains(&found);
    if found == "=" {
        return Some(
            "compare with `==`; a single `=` only assigns, in `set profile.FIELD = EXPR`"
                .to_owned(),
        );
    }
    if super::literal::is_mixed_case(found) {
        let upper = super::literal::upper_snake(found);
        let lower = super::literal::lower_snake(found);
        if has(facts, Rule::event_name) {
            return Some(format!("event names are UPPER_SNAKE: `{upper}`"));
        }
        return Some(format!(
            "event names are UPPER_SNAKE (`{upper}`); trigger, state, alias and function names are lower_snake (`{lower}`)"
        ));
    }
    let wants_lower_name = [
        Rule::trigger_name,
        Rule::state_name,
        Rule::alias_name,
        Rule::name,
    ]
    .iter()
    .any(|r| has(facts, *r));
    if wants_lower_name && is_reserved {
        return Some(format!(
            "`{found}` is a reserved word and cannot be a name here (it can still be a field name after `.` or in a declaration)"
        ));
    }
    if has(facts, Rule::event_name)
        && !is_reserved
        && found.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
    {
        return Some(format!(
            "event names are UPPER_SNAKE: `{}`",
            found.to_uppercase()
        ));
    }
    if found == "from" && has(facts, Rule::open_brace) {
        return Some(if has(facts, Rule::kw_keyed) {
            "an event takes one `from`: list its wire names with commas, `from \"a\", \"b\"`"
                .to_owned()
        } else {
            "`from` comes right after the event's name, before `keyed by`: `event NAME from \"wire name\" keyed by FIELD { ... }`".to_owned()
        });
    }
    let wants_then = has(facts, Rule::kw_then) || has(facts, Rule::step);
    if wants_then && ["webhook", "email", "emit", "set", "enroll"].contains(&found) {
        return Some(format!("actions follow `then`: write `then {found} ...`"));
    }
    if ["priority", "cooldown", "limit", "reentry", "exit"].contains(&found)
        && !has(facts, Rule::kw_priority)
    {
        return Some("trigger options (`priority`, `cooldown`, `limit`, `reentry`, `exit on`) come before the start (`on`, `every`, `cron`)".to_owned());
    }
    if wants_then {
        return Some(
            "a step is `[wait D [unless EVENT]] [if EXPR] then ACTION {and ACTION}`".to_owned(),
        );
    }
    if has(facts, Rule::duration) {
        return Some(UNITS_HELP.to_owned());
    }
    None
}

/// The words for one grammar rule in an "expected ..." list; `None` hides it.
fn describe(rule: Rule) -> Option<&'static str> {
    use Rule as R;
    Some(match rule {
        R::EOI
        | R::chunk
        | R::schema_decl
        | R::event_decl
        | R::state_decl
        | R::trigger_decl
        | R::kw_schema
        | R::kw_event
        | R::kw_state
        | R::kw_trigger => "a declaration (`schema`, `event`, `profile event`, `state`, `trigger`)",
        R::kw_profile => "`profile`",
        R::event_name | R::pattern | R::aggregate => "an event name like `ADD_TO_CART`",
        R::field_name | R::field_decl | R::schema_line | R::agg_field | R::field_access => {
            "a field name"
        }
        R::trigger_name => "a trigger name like `cart_abandoned`",
        R::state_name => "a state name like `cart`",
        R::alias_name => "an alias name like `sent`",
        R::func_name => "a function name",
        R::type_name | R::type_expr | R::generic_type | R::generic_kind => {
            "a type like `string` or `set<string>`"
        }
        R::duration | R::suffixed_number => "a duration like `30m`",
        R::int_lit | R::wire_int => "a whole number",
        R::string => "a string in double quotes",
        R::description => "a description string",
        R::time_of_day => "a time of day like `02:00`",
        R::expr
        | R::postfix_expr
        | R::name
        | R::paren_expr
        | R::list_lit
        | R::object_lit
        | R::call
        | R::float_lit
        | R::kw_true
        | R::kw_false
        | R::neg_op
        | R::not_op
        | R::kw_not => EXPRESSION,
        R::or_op
        | R::and_op
        | R::eq_op
        | R::ne_op
        | R::le_op
        | R::ge_op
        | R::lt_op
        | R::gt_op
        | R::in_op
        | R::contains_op
        | R::coalesce_op
        | R::add_op
        | R::sub_op
        | R::mul_op
        | R::div_op
        | R::rem_op
        | R::operator_word
        | R::operator_symbol => OPERATOR,
        R::priority_opt
        | R::kw_priority
        | R::cooldown_opt
        | R::kw_cooldown
        | R::limit_opt
        | R::kw_limit
        | R::reentry_opt
        | R::kw_reentry
        | R::exit_opt
        | R::kw_exit => "a trigger option (`priority`, `cooldown`, `limit`, `reentry`, `exit on`)",
        R::enroll_start
        | R::on_start
        | R::kw_on
        | R::daily_start
        | R::every_start
        | R::kw_every
        | R::cron_start
        | R::kw_cron => "a start (`on EVENT`, `on enroll`, `every ...`, `cron \"...\"`)",
        R::kw_restart | R::kw_skip | R::kw_parallel => "`restart`, `skip` or `parallel`",
        R::fan_out | R::kw_for => "`for each key where ...`",
        R::step => "a step (`wait ...`, `if ...` or `then ...`)",
        R::wait_clause | R::kw_wait => "`wait`",
        R::guard | R::kw_if => "`if`",
        R::kw_then => "`then`",
        R::webhook_action
        | R::kw_webhook
        | R::email_action
        | R::kw_email
        | R::emit_action
        | R::kw_emit
        | R::set_action
        | R::kw_set
        | R::enroll_action => ACTION,
        R::kw_enroll => "`enroll`",
        R::with_clause | R::kw_with => "`with`",
        R::to_clause | R::kw_to => "`to`",
        R::kw_and => "`and`",
        R::kw_or => "`or`",
        R::kw_as => "`as`",
        R::kw_where | R::agg_filter => "`where`",
        R::kw_within | R::agg_within => "`within`",
        R::kw_unless => "`unless`",
        R::kw_contains => "`contains`",
        R::kw_keyed | R::keyed_by => "`keyed by`",
        R::kw_by => "`by`",
        R::kw_from | R::wire_names => "`from`",
        R::wire_path => "a wire path like `properties.product_id`",
        R::wire_name => "a wire name (a string or a whole number)",
        R::time_format => "`format` or `epoch`",
        R::time_zone => "`in` and a time zone",
        R::kw_format => "`format`",
        R::kw_epoch => "`epoch`",
        R::coalesce => "`??`",
        R::kw_key => "`key`",
        R::kw_type => "`type`",
        R::kw_time => "`time`",
        R::kw_each => "`each`",
        R::kw_day => "`day`",
        R::kw_at => "`at`",
        R::kw_per => "`per`",
        R::kw_in => "`in`",
        R::open_brace => "`{`",
        R::close_brace => "`}`",
        R::open_paren => "`(`",
        R::close_paren => "`)`",
        R::open_bracket => "`[`",
        R::close_bracket => "`]`",
        R::open_angle => "`<`",
        R::close_angle => "`>`",
        R::comma => "`,`",
        R::colon => "`:`",
        R::dot => "`.`",
        R::arrow => "`->`",
        R::assign => "`=`",
        R::question => "`?`",
        R::reducer => "a reducer like `ADD_TO_CART -> insert(product)`",
        R::object_entry => "an object entry like `key: value`",
        _ => return None,
    })
}

/// Sort key: the most telling expectations first.
fn rank(words: &str) -> u8 {
    match words {
        w if w.starts_with('`') => 0,
        w if w.starts_with("an expression") => 2,
        w if w.starts_with("an operator") => 3,
        w if w.starts_with("a declaration") => 9,
        _ => 1,
    }
}

// ------------------------------------------------------------------ other codes

pub fn unterminated_string(span: Span) -> Diagnostic {
    Diagnostic::new(Code::UnterminatedString, span, "unterminated string")
        .label("this string has no closing `\"` on its line")
        .help(
            "close the string with `\"`; a string cannot span lines (write `\\n` for a line break)",
        )
}

pub fn bad_escape(span: Span, escape: &str) -> Diagnostic {
    Diagnostic::new(Code::BadEscape, span, format!("invalid escape `{}` in a string", shorten(escape)))
        .label("not a JSON escape")
        .help("the escapes are `\\\"` `\\\\` `\\/` `\\b` `\\f` `\\n` `\\r` `\\t` and `\\uXXXX`; write `\\\\` for a backslash")
}

pub fn unknown_duration_unit(span: Span, number: &str, unit: &str) -> Diagnostic {
    let message = if unit.is_empty() {
        format!("`{}` ends with a number that has no unit", shorten(number))
    } else {
        format!(
            "unknown duration unit `{}` in `{}`",
            shorten(unit),
            shorten(number)
        )
    };
    Diagnostic::new(Code::BadDuration, span, message)
        .label("not a duration")
        .help(UNITS_HELP)
}

pub fn fractional_duration(span: Span, text: &str) -> Diagnostic {
    Diagnostic::new(
        Code::BadDuration,
        span,
        format!(
            "`{}` is not a duration: durations are whole numbers of a unit",
            shorten(text)
        ),
    )
    .label("fractional duration")
    .help("write a sum of units instead, e.g. `1h30m` for an hour and a half")
}

pub fn duration_overflow(span: Span, text: &str) -> Diagnostic {
    Diagnostic::new(
        Code::BadDuration,
        span,
        format!("duration `{}` is too long", shorten(text)),
    )
    .label("does not fit in 64-bit milliseconds")
}

pub fn int_overflow(span: Span, text: &str) -> Diagnostic {
    Diagnostic::new(Code::BadNumber, span, format!("integer `{}` is too large", shorten(text)))
        .label("does not fit in a 64-bit signed integer")
        .help("integers range from -9223372036854775808 to 9223372036854775807; write a float (`1.0e20`) for larger values")
}

pub fn float_overflow(span: Span, text: &str) -> Diagnostic {
    Diagnostic::new(
        Code::BadNumber,
        span,
        format!("number `{}` is too large", shorten(text)),
    )
    .label("not a finite float")
}

pub fn bad_time_of_day(span: Span, text: &str) -> Diagnostic {
    Diagnostic::new(
        Code::BadTimeOfDay,
        span,
        format!("`{}` is not a time of day", shorten(text)),
    )
    .label("expected HH:MM from 00:00 to 23:59")
    .help("`every day at HH:MM` takes a 24-hour UTC time, e.g. `every day at 02:00`")
}

pub fn too_deep_nesting(span: Span) -> Diagnostic {
    Diagnostic::new(
        Code::TooDeep,
        span,
        format!("nesting deeper than {MAX_NESTING} levels"),
    )
    .label("too deeply nested")
    .help("split the expression up; nesting is limited so the compiler's stack stays bounded")
}

pub fn too_deep_expr(span: Span) -> Diagnostic {
    Diagnostic::new(Code::TooDeep, span, format!("expression deeper than {MAX_EXPR_DEPTH} levels"))
        .label("this expression is too deep")
        .help("split the expression up (e.g. into several steps or states); a long chain of operators counts one level per operator")
}

pub fn parser_limit(span: Span) -> Diagnostic {
    Diagnostic::new(
        Code::TooDeep,
        span,
        "this declaration is too complex to parse",
    )
    .label("the parser ran out of budget here")
    .help("split the declaration up")
}

pub fn declaration_too_long(span: Span) -> Diagnostic {
    Diagnostic::new(
        Code::SyntaxError,
        span,
        format!("declaration longer than {} KiB", MAX_DECL_BYTES / 1024),
    )
    .label("not parsed")
    .help("split it into several declarations")
}

pub fn too_many_errors(span: Span) -> Diagnostic {
    Diagnostic::new(
        Code::SyntaxError,
        span,
        format!(
            "too many syntax errors in this file; stopped after {}",
            MAX_DIAGNOSTICS_PER_FILE - 1
        ),
    )
    .label("parsing stopped here")
}

pub fn invalid_utf8(span: Span, byte: u8) -> Diagnostic {
    Diagnostic::new(
        Code::InvalidUtf8,
        span,
        format!("the file is not valid UTF-8 (byte 0x{byte:02X})"),
    )
    .label("invalid UTF-8 starts here")
    .help("save the file as UTF-8; invalid bytes are read as U+FFFD")
}
