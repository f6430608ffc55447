//! The expression half of the AST builder: the Pratt fold of `expr`, primaries,
//! literals, and the arena bookkeeping that bounds expression depth.

use std::cell::RefCell;

use pest::iterators::Pair;
use pest::pratt_parser::{Assoc, ConstPrattParser, Op};

use super::{Builder, Rule, parts};
use crate::source::Span;
use crate::syntax::ast::*;
use crate::syntax::error::{self, MAX_EXPR_DEPTH};
use crate::syntax::literal;
use crate::syntax::name::Name;
use crate::time::{DurationError, parse_duration};

/// Operator precedence, lowest first (see `expr` in the grammar).
static PRATT: ConstPrattParser<Rule, 19> = ConstPrattParser::new_const([
    (Op::infix(Rule::or_op, Assoc::Left), true),
    (Op::infix(Rule::and_op, Assoc::Left), true),
    (Op::prefix(Rule::not_op), true),
    (Op::infix(Rule::eq_op, Assoc::Left), true),
    (Op::infix(Rule::ne_op, Assoc::Left), false),
    (Op::infix(Rule::lt_op, Assoc::Left), false),
    (Op::infix(Rule::le_op, Assoc::Left), false),
    (Op::infix(Rule::gt_op, Assoc::Left), false),
    (Op::infix(Rule::ge_op, Assoc::Left), false),
    (Op::infix(Rule::in_op, Assoc::Left), false),
    (Op::infix(Rule::contains_op, Assoc::Left), false),
    // Left-associative although `??` reads right to left: the value is the same and
    // a long chain then folds in a loop instead of recursing.
    (Op::infix(Rule::coalesce_op, Assoc::Left), true),
    (Op::infix(Rule::add_op, Assoc::Left), true),
    (Op::infix(Rule::sub_op, Assoc::Left), false),
    (Op::infix(Rule::mul_op, Assoc::Left), true),
    (Op::infix(Rule::div_op, Assoc::Left), false),
    (Op::infix(Rule::rem_op, Assoc::Left), false),
    (Op::prefix(Rule::neg_op), true),
    (Op::postfix(Rule::field_access), true),
]);

impl Builder<'_, '_> {
    // ------------------------------------------------------------ expressions

    /// An expression in a declaration (not inside another expression): checks the
    /// depth of the finished tree and replaces a too-deep one by `Error`.
    pub(super) fn parse_root_expr(&mut self, pair: Pair<'_, Rule>) -> ExprId {
        let mark = self.ast.exprs.len();
        let span = self.span(&pair);
        self.overflow = None;
        let id = self.parse_expr(pair);
        if self.overflow.take().is_some() {
            self.ast.exprs.truncate(mark);
            self.depths.truncate(mark);
            // Point at the expression's first token: the whole one can be huge.
            let first = self
                .tokens
                .partition_point(|t| t.end <= span.start as usize);
            let head = self
                .tokens
                .get(first)
                .map_or(span, |t| Span::new(self.file, t.start, t.end));
            self.sink.push(error::too_deep_expr(head));
            return self.push_error(span);
        }
        id
    }

    /// `expr` and `postfix_expr`: fold the operator sequence with the Pratt parser.
    pub(super) fn parse_expr(&mut self, pair: Pair<'_, Rule>) -> ExprId {
        let cell = RefCell::new(self);
        PRATT
            .map_primary(|p| cell.borrow_mut().parse_primary(p))
            .map_prefix(|op, operand| cell.borrow_mut().parse_prefix(op, operand))
            .map_postfix(|base, access| cell.borrow_mut().parse_field_access(base, access))
            .map_infix(|lhs, op, rhs| cell.borrow_mut().parse_infix(lhs, op, rhs))
            .parse(pair.into_inner())
    }

    pub(super) fn parse_prefix(&mut self, op: Pair<'_, Rule>, operand: ExprId) -> ExprId {
        let op_span = self.span(&op);
        let op = if op.as_rule() == Rule::not_op {
            UnaryOp::Not
        } else {
            UnaryOp::Neg
        };
        let span = op_span.to(self.expr_span(operand));
        self.push(ExprKind::Unary { op, operand }, span)
    }

    pub(super) fn parse_field_access(&mut self, base: ExprId, access: Pair<'_, Rule>) -> ExprId {
        let access_span = self.span(&access);
        let field = parts(access).next().map_or(
            Ident {
                name: Name::new(""),
                span: access_span,
            },
            |p| self.ident(&p),
        );
        let span = self.expr_span(base).to(access_span);
        self.push(ExprKind::Field { base, field }, span)
    }

    pub(super) fn parse_infix(&mut self, lhs: ExprId, op: Pair<'_, Rule>, rhs: ExprId) -> ExprId {
        use BinaryOp as B;
        let op = match op.as_rule() {
            Rule::or_op => B::Or,
            Rule::and_op => B::And,
            Rule::eq_op => B::Eq,
            Rule::ne_op => B::Ne,
            Rule::lt_op => B::Lt,
            Rule::le_op => B::Le,
            Rule::gt_op => B::Gt,
            Rule::ge_op => B::Ge,
            Rule::in_op => B::In,
            Rule::contains_op => B::Contains,
            Rule::coalesce_op => B::Coalesce,
            Rule::add_op => B::Add,
            Rule::sub_op => B::Sub,
            Rule::mul_op => B::Mul,
            Rule::div_op => B::Div,
            _ => B::Rem,
        };
        let span = self.expr_span(lhs).to(self.expr_span(rhs));
        self.push(ExprKind::Binary { op, lhs, rhs }, span)
    }

    pub(super) fn parse_primary(&mut self, pair: Pair<'_, Rule>) -> ExprId {
        if let Some(id) = self.overflow {
            return id;
        }
        let span = self.span(&pair);
        match pair.as_rule() {
            Rule::paren_expr => self.parse_paren_expr(pair),
            Rule::list_lit => self.parse_list_lit(pair),
            Rule::object_lit => self.parse_object_lit(pair),
            Rule::call => self.parse_call(pair),
            Rule::duration | Rule::suffixed_number => {
                let valid = parse_duration(pair.as_str()).is_ok();
                let d = self.parse_duration(pair);
                if valid {
                    self.push(ExprKind::Duration(d.millis), span)
                } else {
                    self.push_error(span)
                }
            }
            Rule::float_lit => self.parse_float_lit(pair),
            Rule::int_lit => {
                let text = pair.as_str();
                match text.parse::<i64>() {
                    Ok(n) => self.push(ExprKind::Int(n), span),
                    Err(_) => {
                        self.sink.push(error::int_overflow(span, text));
                        self.push_error(span)
                    }
                }
            }
            Rule::string => {
                let s = self.parse_string(pair);
                self.push(ExprKind::Str(s.value), span)
            }
            Rule::kw_true => self.push(ExprKind::Bool(true), span),
            Rule::kw_false => self.push(ExprKind::Bool(false), span),
            Rule::name => {
                let name = self.ident(&pair);
                self.push(ExprKind::Name(name), span)
            }
            // `postfix_expr` (after `to`/`with`) arrives here when nested.
            _ => self.parse_expr(pair),
        }
    }

    pub(super) fn parse_paren_expr(&mut self, pair: Pair<'_, Rule>) -> ExprId {
        let span = self.span(&pair);
        match parts(pair).next() {
            Some(inner) => self.parse_expr(inner),
            None => self.push_error(span),
        }
    }

    pub(super) fn parse_list_lit(&mut self, pair: Pair<'_, Rule>) -> ExprId {
        let span = self.span(&pair);
        let items = parts(pair).map(|p| self.parse_expr(p)).collect();
        self.push(ExprKind::List(items), span)
    }

    pub(super) fn parse_object_lit(&mut self, pair: Pair<'_, Rule>) -> ExprId {
        let span = self.span(&pair);
        let entries = parts(pair)
            .filter_map(|p| self.parse_object_entry(p))
            .collect();
        self.push(ExprKind::Object(entries), span)
    }

    pub(super) fn parse_object_entry(&mut self, pair: Pair<'_, Rule>) -> Option<(Ident, ExprId)> {
        let mut key = None;
        let mut value = None;
        for p in parts(pair) {
            match p.as_rule() {
                Rule::field_name => key = Some(self.ident(&p)),
                Rule::string => {
                    let s = self.parse_string(p);
                    key = Some(Ident {
                        name: Name::new(&s.value),
                        span: s.span,
                    });
                }
                _ => value = Some(self.parse_expr(p)),
            }
        }
        Some((key?, value?))
    }

    /// A call, or an aggregate when its argument is an `aggregate`.
    pub(super) fn parse_call(&mut self, pair: Pair<'_, Rule>) -> ExprId {
        let span = self.span(&pair);
        let mut func = Ident {
            name: Name::new(""),
            span,
        };
        let mut args = Vec::new();
        for p in parts(pair) {
            match p.as_rule() {
                Rule::func_name => func = self.ident(&p),
                Rule::aggregate => return self.parse_aggregate(func, p, span),
                _ => args.push(self.parse_expr(p)),
            }
        }
        self.push(ExprKind::Call { func, args }, span)
    }

    /// The inside of `count(E [where X] [within D])`; `span` is the whole call's.
    pub(super) fn parse_aggregate(
        &mut self,
        func: Ident,
        pair: Pair<'_, Rule>,
        span: Span,
    ) -> ExprId {
        let mut event = func;
        let (mut field, mut filter, mut within) = (None, None, None);
        for p in parts(pair) {
            match p.as_rule() {
                Rule::event_name => event = self.ident(&p),
                Rule::agg_field => field = parts(p).next().map(|f| self.ident(&f)),
                Rule::agg_filter => filter = parts(p).next().map(|e| self.parse_expr(e)),
                Rule::agg_within => within = parts(p).next().map(|d| self.parse_duration(d)),
                _ => {}
            }
        }
        self.push(
            ExprKind::Aggregate {
                func,
                event,
                field,
                filter,
                within,
            },
            span,
        )
    }

    pub(super) fn parse_float_lit(&mut self, pair: Pair<'_, Rule>) -> ExprId {
        let span = self.span(&pair);
        match pair.as_str().parse::<f64>() {
            Ok(x) if x.is_finite() => self.push(ExprKind::Float(x), span),
            _ => {
                self.sink.push(error::float_overflow(span, pair.as_str()));
                self.push_error(span)
            }
        }
    }

    // ------------------------------------------------------------ literals

    pub(super) fn first_duration(&mut self, pair: Pair<'_, Rule>, span: Span) -> DurationLit {
        parts(pair)
            .next()
            .map_or(DurationLit { millis: 0, span }, |p| self.parse_duration(p))
    }

    /// `duration` and `suffixed_number`; a bad one is reported and reads as 0.
    pub(super) fn parse_duration(&mut self, pair: Pair<'_, Rule>) -> DurationLit {
        let span = self.span(&pair);
        let text = pair.as_str();
        match parse_duration(text) {
            Ok(millis) => DurationLit { millis, span },
            Err(e) => {
                let d = match e {
                    DurationError::UnknownUnit { unit, at } => {
                        let unit_span =
                            Span::new(self.file, span.start as usize + at, span.end as usize);
                        error::unknown_duration_unit(unit_span, text, &unit)
                    }
                    DurationError::Fraction => error::fractional_duration(span, text),
                    DurationError::Overflow => error::duration_overflow(span, text),
                    // The grammar's durations start with a digit and are never empty.
                    DurationError::MissingNumber { at } => {
                        let unit_span =
                            Span::new(self.file, span.start as usize + at, span.end as usize);
                        error::unknown_duration_unit(unit_span, text, text.get(at..).unwrap_or(""))
                    }
                    DurationError::Empty => error::unknown_duration_unit(span, text, ""),
                };
                self.sink.push(d);
                DurationLit { millis: 0, span }
            }
        }
    }

    pub(super) fn parse_int_lit(&mut self, pair: Pair<'_, Rule>) -> i64 {
        let span = self.span(&pair);
        pair.as_str().parse::<i64>().unwrap_or_else(|_| {
            self.sink.push(error::int_overflow(span, pair.as_str()));
            0
        })
    }

    pub(super) fn parse_string(&mut self, pair: Pair<'_, Rule>) -> StrLit {
        let span = self.span(&pair);
        let (value, bad) = literal::unescape(pair.as_str());
        for b in bad {
            let at = span.start as usize;
            self.sink.push(error::bad_escape(
                Span::new(self.file, at + b.range.start, at + b.range.end),
                &b.text,
            ));
        }
        StrLit { value, span }
    }

    pub(super) fn parse_time_of_day(&mut self, pair: Pair<'_, Rule>) -> u32 {
        literal::minute_of_day(pair.as_str()).unwrap_or_else(|| {
            let span = self.span(&pair);
            self.sink.push(error::bad_time_of_day(span, pair.as_str()));
            0
        })
    }

    // ------------------------------------------------------------ arena

    pub(super) fn expr_span(&self, id: ExprId) -> Span {
        self.ast
            .exprs
            .get(id.0 as usize)
            .map_or(Span::default(), |e| e.span)
    }

    pub(super) fn depth(&self, id: ExprId) -> u32 {
        self.depths.get(id.0 as usize).copied().unwrap_or(1)
    }

    /// Add a node; once the current root is too deep, return its one `Error` node.
    pub(super) fn push(&mut self, kind: ExprKind, span: Span) -> ExprId {
        if let Some(id) = self.overflow {
            return id;
        }
        let children: u32 = match &kind {
            ExprKind::List(items) => items.iter().map(|&i| self.depth(i)).max().unwrap_or(0),
            ExprKind::Object(entries) => entries
                .iter()
                .map(|&(_, i)| self.depth(i))
                .max()
                .unwrap_or(0),
            ExprKind::Field { base, .. } => self.depth(*base),
            ExprKind::Call { args, .. } => args.iter().map(|&i| self.depth(i)).max().unwrap_or(0),
            ExprKind::Aggregate { filter, .. } => filter.map_or(0, |f| self.depth(f)),
            ExprKind::Unary { operand, .. } => self.depth(*operand),
            ExprKind::Binary { lhs, rhs, .. } => self.depth(*lhs).max(self.depth(*rhs)),
            _ => 0,
        };
        let depth = children + 1;
        if depth > MAX_EXPR_DEPTH {
            let id = self.push_error(span);
            self.overflow = Some(id);
            return id;
        }
        let id = self.ast.push_expr(kind, span);
        self.depths.push(depth);
        id
    }

    pub(super) fn push_error(&mut self, span: Span) -> ExprId {
        let id = self.ast.push_expr(ExprKind::Error, span);
        self.depths.push(1);
        id
    }
}
