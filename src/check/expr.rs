//! Expressions: the entry point [`Checker::expr`], operators, calls and literals. Each
//! is checked and lowered into the IR arena in one step; names and field access are in
//! `names`.

use crate::ir::{BinaryOp, Builtin, Const, Expr, Ty, UnaryOp};
use crate::syntax::{self as ast, ExprKind, Ident, Span};

use super::error::{NameKind, Problem};
use super::scope::Scope;
use super::types::{
    Fit, Promote, Typed, common_base, fits, is_equatable, is_numeric, is_ordered, maybe_optional,
    split_optional,
};
use super::{Checker, MAX_DEPTH};

pub(super) const BUILTINS: &[(&str, Builtin, usize)] = &[
    ("len", Builtin::Len, 1),
    ("lower", Builtin::Lower, 1),
    ("upper", Builtin::Upper, 1),
    ("starts_with", Builtin::StartsWith, 2),
    ("ends_with", Builtin::EndsWith, 2),
    ("contains", Builtin::Contains, 2),
    ("abs", Builtin::Abs, 1),
];

pub(super) const AGGREGATES: &[&str] = &[
    "count", "sum", "min", "max", "avg", "exists", "distinct", "last", "first",
];

impl Checker<'_> {
    /// `frobnicate(x)`: not a built-in nor an aggregate.
    pub(super) fn report_unknown_function(&mut self, span: Span, name: &str) {
        let known = BUILTINS
            .iter()
            .map(|b| b.0)
            .chain(AGGREGATES.iter().copied())
            .map(String::from)
            .collect();
        self.report(Problem::Unknown {
            kind: NameKind::Function,
            span,
            name: name.to_owned(),
            known,
            note: None,
        });
    }

    /// Lower a well-typed expression: push it and give it `ty` (not the error type).
    pub(super) fn ok(&mut self, e: Expr, ty: Ty, span: Span) -> Typed {
        let id = self.push(e, ty.clone(), span);
        Typed { id, ty: Some(ty) }
    }

    /// Check and lower one expression: the error type when it fails (reported once,
    /// here or below), and past [`MAX_DEPTH`] nesting a `too-deep` error rather than a
    /// stack overflow.
    pub(super) fn expr(&mut self, scope: &Scope, id: ast::ExprId) -> Typed {
        let Some(e) = self.ast.exprs.get(id.0 as usize) else {
            return self.placeholder(Span::default());
        };
        if self.depth >= MAX_DEPTH {
            self.report(Problem::TooDeep { span: e.span });
            return self.placeholder(e.span);
        }
        self.depth += 1;
        let t = self.expr_kind(scope, e);
        self.depth -= 1;
        t
    }

    /// Dispatch one expression node to the rule for its kind; a node the parser
    /// already reported (`ExprKind::Error`) becomes a silent placeholder.
    fn expr_kind(&mut self, scope: &Scope, e: &ast::Expr) -> Typed {
        let span = e.span;
        match &e.kind {
            ExprKind::Int(v) => self.ok(Expr::Const(Const::Int(*v)), Ty::Int, span),
            ExprKind::Float(v) => self.ok(Expr::Const(Const::Float(*v)), Ty::Float, span),
            ExprKind::Str(s) => self.ok(Expr::Const(Const::Str(s.clone())), Ty::Str, span),
            ExprKind::Bool(b) => self.ok(Expr::Const(Const::Bool(*b)), Ty::Bool, span),
            ExprKind::Duration(d) => self.ok(Expr::Const(Const::Duration(*d)), Ty::Duration, span),
            ExprKind::List(items) => self.list(scope, items, span),
            ExprKind::Object(fields) => self.object(scope, fields, span),
            ExprKind::Name(ident) => self.name(scope, ident),
            ExprKind::Field { base, field } => self.field_access(scope, *base, field, span),
            ExprKind::Call { func, args } => self.call(scope, func, args, span),
            ExprKind::Aggregate { .. } => self.aggregate(scope, e, false),
            ExprKind::Unary { op, operand } => self.unary(scope, *op, *operand, span),
            ExprKind::Binary { op, lhs, rhs } => self.binary(scope, *op, *lhs, *rhs, span),
            ExprKind::Error => self.placeholder(span),
        }
    }

    /// An expression that must fit `expected` (`T` fits `T?`, `int` fits `float`).
    /// `None` when it does not (reported) or already failed.
    pub(super) fn expect(
        &mut self,
        scope: &Scope,
        id: ast::ExprId,
        expected: &Ty,
        place: &'static str,
    ) -> Option<crate::ir::ExprId> {
        let t = self.expr(scope, id);
        let found = t.ty.clone()?;
        match fits(&found, expected) {
            Fit::Direct => Some(t.id),
            Fit::Promote => Some(self.promoted(t).id),
            Fit::No => {
                let span = self.ast.expr(id).span;
                // `T` fits `T?`, so the base type is what to ask for.
                let expected = self.ty_name(expected.strip_optional());
                self.report(Problem::Mismatch {
                    span,
                    expected,
                    found: self.ty_name(&found),
                    place,
                });
                None
            }
        }
    }

    /// A guard or `where`: `bool` or `bool?` (none counts as false).
    pub(super) fn condition(
        &mut self,
        scope: &Scope,
        id: ast::ExprId,
        place: &'static str,
    ) -> crate::ir::ExprId {
        let t = self.expr(scope, id);
        if let Some(ty) = &t.ty
            && *split_optional(ty).0 != Ty::Bool
        {
            let span = self.ast.expr(id).span;
            self.report(Problem::Mismatch {
                span,
                expected: "bool".into(),
                found: self.ty_name(ty),
                place,
            });
        }
        t.id
    }

    /// An `int` (or `int?`) promoted to `float` (or `float?`).
    pub(super) fn promoted(&mut self, t: Typed) -> Typed {
        let Some(ty) = t.ty else { return t };
        let span = self.prog.span(t.id);
        let ty = maybe_optional(Ty::Float, ty.is_optional());
        self.ok(Expr::ToFloat(t.id), ty, span)
    }

    /// A built-in call: the name, the arity and each argument's type. Every argument
    /// is checked first, so a mistake inside an argument is reported even when the call
    /// itself is wrong. An aggregate name used without an event gets a hint of the
    /// right form. An optional argument makes the result optional.
    fn call(&mut self, scope: &Scope, func: &Ident, args: &[ast::ExprId], span: Span) -> Typed {
        let name = func.name.as_str();
        let typed: Vec<Typed> = args.iter().map(|&a| self.expr(scope, a)).collect();
        let Some(&(_, builtin, arity)) = BUILTINS.iter().find(|b| b.0 == name) else {
            if AGGREGATES.contains(&name) {
                self.report(Problem::BadAggregate {
                    span,
                    reason: format!("`{name}` takes an event name first"),
                    help: Some(format!("e.g. `{name}(VISIT within 1d)`")),
                });
            } else {
                self.report_unknown_function(func.span, name);
            }
            return self.placeholder(span);
        };
        if typed.len() != arity {
            let expected = if arity == 1 {
                "1 argument"
            } else {
                "2 arguments"
            };
            self.report(Problem::WrongArity {
                span,
                func: name.to_owned(),
                expected,
                found: typed.len(),
            });
            return self.placeholder(span);
        }
        if typed.iter().any(|t| t.ty.is_none()) {
            return self.placeholder(span);
        }
        let opt = typed
            .iter()
            .any(|t| t.ty.as_ref().is_some_and(Ty::is_optional));
        let base = |i: usize| {
            typed
                .get(i)
                .and_then(|t| t.ty.as_ref())
                .map(|t| split_optional(t).0.clone())
        };
        let ids: Vec<_> = typed.iter().map(|t| t.id).collect();
        let bad_arg = |c: &mut Checker, i: usize| {
            let ty = base(i).map_or_else(String::new, |t| c.ty_name(&t));
            let sp = args.get(i).map_or(span, |&a| c.ast.expr(a).span);
            c.report(Problem::BadOperand {
                span: sp,
                op: name.to_owned(),
                found: ty,
            });
            c.placeholder(span)
        };
        let result = match builtin {
            Builtin::Len => match base(0) {
                Some(Ty::Set(_) | Ty::List(_) | Ty::Str) => Ty::Int,
                _ => return bad_arg(self, 0),
            },
            Builtin::Lower | Builtin::Upper => match base(0) {
                Some(Ty::Str) => Ty::Str,
                _ => return bad_arg(self, 0),
            },
            Builtin::StartsWith | Builtin::EndsWith => {
                for i in 0..2 {
                    if base(i) != Some(Ty::Str) {
                        return bad_arg(self, i);
                    }
                }
                Ty::Bool
            }
            Builtin::Abs => match base(0) {
                Some(t @ (Ty::Int | Ty::Float | Ty::Duration)) => t,
                _ => return bad_arg(self, 0),
            },
            Builtin::Contains => {
                let mut it = typed.into_iter();
                let (Some(coll), Some(item)) = (it.next(), it.next()) else {
                    return self.placeholder(span);
                };
                return match self.membership(coll, item, "contains", span) {
                    Some((c, i)) => self.ok(
                        Expr::Call {
                            func: Builtin::Contains,
                            args: vec![c, i],
                        },
                        maybe_optional(Ty::Bool, opt),
                        span,
                    ),
                    None => self.placeholder(span),
                };
            }
            Builtin::Empty => Ty::Bool,
        };
        self.ok(
            Expr::Call {
                func: builtin,
                args: ids,
            },
            maybe_optional(result, opt),
            span,
        )
    }

    /// `item in coll`: ids of both, the item promoted to `float` if needed.
    fn membership(
        &mut self,
        coll: Typed,
        item: Typed,
        op: &'static str,
        span: Span,
    ) -> Option<(crate::ir::ExprId, crate::ir::ExprId)> {
        let (cty, ity) = (coll.ty.clone()?, item.ty.clone()?);
        let (cb, ib) = (
            split_optional(&cty).0.clone(),
            split_optional(&ity).0.clone(),
        );
        match &cb {
            Ty::Set(m) | Ty::List(m) if **m == ib => return Some((coll.id, item.id)),
            Ty::Set(m) | Ty::List(m) if **m == Ty::Float && ib == Ty::Int => {
                return Some((coll.id, self.promoted(item).id));
            }
            Ty::Str if ib == Ty::Str => return Some((coll.id, item.id)),
            _ => {}
        }
        let (lhs, rhs) = if op == "in" {
            (&ity, &cty)
        } else {
            (&cty, &ity)
        };
        self.report(Problem::BadOperands {
            span,
            op,
            lhs: self.ty_name(lhs),
            rhs: self.ty_name(rhs),
        });
        None
    }

    /// `not x` needs a `bool`, `-x` a number or duration; the result keeps the
    /// operand's type, optional included.
    fn unary(
        &mut self,
        scope: &Scope,
        op: ast::UnaryOp,
        operand: ast::ExprId,
        span: Span,
    ) -> Typed {
        let t = self.expr(scope, operand);
        let Some(ty) = t.ty.clone() else {
            return self.placeholder(span);
        };
        let (base, _) = split_optional(&ty);
        let (ir_op, ok, word) = match op {
            ast::UnaryOp::Not => (UnaryOp::Not, *base == Ty::Bool, "not"),
            ast::UnaryOp::Neg => (
                UnaryOp::Neg,
                matches!(base, Ty::Int | Ty::Float | Ty::Duration),
                "-",
            ),
        };
        if !ok {
            self.report(Problem::BadOperand {
                span,
                op: word.to_owned(),
                found: self.ty_name(&ty),
            });
            return self.placeholder(span);
        }
        self.ok(
            Expr::Unary {
                op: ir_op,
                operand: t.id,
            },
            ty,
            span,
        )
    }

    /// The type rules of the binary operators: which operand types each accepts,
    /// where an `int` is promoted to `float`, the time and duration arithmetic, and
    /// optional propagation (an optional operand makes the result optional; `x ?? d`
    /// is optional only when `d` is). Both sides are checked before either is judged;
    /// an operand that already failed makes the whole silent.
    fn binary(
        &mut self,
        scope: &Scope,
        op: ast::BinaryOp,
        lhs: ast::ExprId,
        rhs: ast::ExprId,
        span: Span,
    ) -> Typed {
        use ast::BinaryOp as A;
        let l = self.expr(scope, lhs);
        let r = self.expr(scope, rhs);
        let (Some(lt), Some(rt)) = (l.ty.clone(), r.ty.clone()) else {
            return self.placeholder(span);
        };
        let opt = lt.is_optional() || rt.is_optional();
        let (lb, rb) = (split_optional(&lt).0.clone(), split_optional(&rt).0.clone());
        let word = op_word(op);
        let bad = |c: &mut Checker| {
            c.report(Problem::BadOperands {
                span,
                op: word,
                lhs: c.ty_name(&lt),
                rhs: c.ty_name(&rt),
            });
            c.placeholder(span)
        };
        let bool_t = maybe_optional(Ty::Bool, opt);
        match op {
            A::Contains => match self.membership(l, r, "contains", span) {
                Some((c, i)) => self.ok(
                    Expr::Call {
                        func: Builtin::Contains,
                        args: vec![c, i],
                    },
                    bool_t,
                    span,
                ),
                None => self.placeholder(span),
            },
            A::In => match self.membership(r, l, "in", span) {
                Some((c, i)) => self.ok(
                    Expr::Binary {
                        op: BinaryOp::In,
                        lhs: i,
                        rhs: c,
                    },
                    bool_t,
                    span,
                ),
                None => self.placeholder(span),
            },
            A::And | A::Or => {
                if lb != Ty::Bool || rb != Ty::Bool {
                    return bad(self);
                }
                let ir = if op == A::And {
                    BinaryOp::And
                } else {
                    BinaryOp::Or
                };
                self.ok(
                    Expr::Binary {
                        op: ir,
                        lhs: l.id,
                        rhs: r.id,
                    },
                    bool_t,
                    span,
                )
            }
            A::Eq | A::Ne | A::Lt | A::Le | A::Gt | A::Ge | A::Coalesce => {
                let Some((common, promote)) = common_base(&lt, &rt) else {
                    return bad(self);
                };
                let allowed = match op {
                    A::Eq | A::Ne => is_equatable(&common),
                    A::Coalesce => true,
                    _ => is_ordered(&common),
                };
                if !allowed {
                    return bad(self);
                }
                let (lid, rid) = self.promote(l, r, promote);
                let (ir, ty) = match op {
                    A::Eq => (BinaryOp::Eq, bool_t),
                    A::Ne => (BinaryOp::Ne, bool_t),
                    A::Lt => (BinaryOp::Lt, bool_t),
                    A::Le => (BinaryOp::Le, bool_t),
                    A::Gt => (BinaryOp::Gt, bool_t),
                    A::Ge => (BinaryOp::Ge, bool_t),
                    _ => (BinaryOp::Coalesce, maybe_optional(common, rt.is_optional())),
                };
                self.ok(
                    Expr::Binary {
                        op: ir,
                        lhs: lid,
                        rhs: rid,
                    },
                    ty,
                    span,
                )
            }
            A::Add | A::Sub | A::Mul | A::Div | A::Rem => {
                let ir = match op {
                    A::Add => BinaryOp::Add,
                    A::Sub => BinaryOp::Sub,
                    A::Mul => BinaryOp::Mul,
                    A::Div => BinaryOp::Div,
                    _ => BinaryOp::Rem,
                };
                if is_numeric(&lb) && is_numeric(&rb) {
                    let Some((common, promote)) = common_base(&lt, &rt) else {
                        return bad(self);
                    };
                    let (lid, rid) = self.promote(l, r, promote);
                    return self.ok(
                        Expr::Binary {
                            op: ir,
                            lhs: lid,
                            rhs: rid,
                        },
                        maybe_optional(common, opt),
                        span,
                    );
                }
                // Time and duration arithmetic; `d + t` and `n * d` are put in the
                // canonical order `t + d`, `d * n` (both are pure, so order is free).
                let (result, swap) = match (ir, &lb, &rb) {
                    (BinaryOp::Add | BinaryOp::Sub, Ty::Duration, Ty::Duration) => {
                        (Ty::Duration, false)
                    }
                    (BinaryOp::Add | BinaryOp::Sub, Ty::Time, Ty::Duration) => (Ty::Time, false),
                    (BinaryOp::Add, Ty::Duration, Ty::Time) => (Ty::Time, true),
                    (BinaryOp::Sub, Ty::Time, Ty::Time) => (Ty::Duration, false),
                    (BinaryOp::Mul, Ty::Duration, Ty::Int | Ty::Float) => (Ty::Duration, false),
                    (BinaryOp::Mul, Ty::Int | Ty::Float, Ty::Duration) => (Ty::Duration, true),
                    _ => return bad(self),
                };
                let (lid, rid) = if swap { (r.id, l.id) } else { (l.id, r.id) };
                self.ok(
                    Expr::Binary {
                        op: ir,
                        lhs: lid,
                        rhs: rid,
                    },
                    maybe_optional(result, opt),
                    span,
                )
            }
        }
    }

    /// Apply the `int → float` promotion [`common_base`] chose to one side.
    fn promote(
        &mut self,
        l: Typed,
        r: Typed,
        promote: Promote,
    ) -> (crate::ir::ExprId, crate::ir::ExprId) {
        match promote {
            Promote::None => (l.id, r.id),
            Promote::Lhs => (self.promoted(l).id, r.id),
            Promote::Rhs => {
                let lid = l.id;
                (lid, self.promoted(r).id)
            }
        }
    }

    /// A list literal: all items share one type (`int` items promote in a `float`
    /// list). `[]` has no item to infer from and is a `list<string>`.
    fn list(&mut self, scope: &Scope, items: &[ast::ExprId], span: Span) -> Typed {
        let typed: Vec<Typed> = items.iter().map(|&i| self.expr(scope, i)).collect();
        if typed.iter().any(|t| t.ty.is_none()) {
            return self.placeholder(span);
        }
        // An empty list has no element type to infer; `list<string>` is the usual
        // case (payload lists of ids).
        let Some(first) = typed.first().and_then(|t| t.ty.clone()) else {
            return self.ok(Expr::List(Vec::new()), Ty::List(Box::new(Ty::Str)), span);
        };
        let mut elem = split_optional(&first).0.clone();
        let mut opt = first.is_optional();
        for (t, &ast_id) in typed.iter().zip(items) {
            let ty = t.ty.clone().unwrap_or(Ty::Bool);
            opt |= ty.is_optional();
            match common_base(&maybe_optional(elem.clone(), false), &ty) {
                Some((c, _)) => elem = c,
                None => {
                    let sp = self.ast.expr(ast_id).span;
                    self.report(Problem::Mismatch {
                        span: sp,
                        expected: self.ty_name(&elem),
                        found: self.ty_name(&ty),
                        place: "a list (all items share one type)",
                    });
                    return self.placeholder(span);
                }
            }
        }
        let mut ids = Vec::with_capacity(typed.len());
        for t in typed {
            let is_int =
                t.ty.as_ref()
                    .is_some_and(|ty| *split_optional(ty).0 == Ty::Int);
            ids.push(if elem == Ty::Float && is_int {
                self.promoted(t).id
            } else {
                t.id
            });
        }
        self.ok(
            Expr::List(ids),
            Ty::List(Box::new(maybe_optional(elem, opt))),
            span,
        )
    }

    /// A payload object `{ k: v, … }`: keys are unique, values may be any type.
    /// Every value is checked even after a failure, so each mistake is reported.
    fn object(&mut self, scope: &Scope, fields: &[(Ident, ast::ExprId)], span: Span) -> Typed {
        let mut out: Vec<(String, crate::ir::ExprId)> = Vec::with_capacity(fields.len());
        let mut failed = false;
        for (i, (key, value)) in fields.iter().enumerate() {
            if let Some((first, _)) = fields[..i].iter().find(|(k, _)| k.name == key.name) {
                self.report(Problem::Duplicate {
                    span: key.span,
                    kind: "key",
                    name: key.name.to_string(),
                    first: first.span,
                });
                failed = true;
            }
            let t = self.expr(scope, *value);
            failed |= t.ty.is_none();
            out.push((key.name.to_string(), t.id));
        }
        if failed {
            return self.placeholder(span);
        }
        self.ok(Expr::Object(out), Ty::Object, span)
    }
}

/// The operator as written in Trig, for messages.
fn op_word(op: ast::BinaryOp) -> &'static str {
    use ast::BinaryOp as A;
    match op {
        A::Or => "or",
        A::And => "and",
        A::Eq => "==",
        A::Ne => "!=",
        A::Lt => "<",
        A::Le => "<=",
        A::Gt => ">",
        A::Ge => ">=",
        A::Add => "+",
        A::Sub => "-",
        A::Mul => "*",
        A::Div => "/",
        A::Rem => "%",
        A::In => "in",
        A::Contains => "contains",
        A::Coalesce => "??",
    }
}
