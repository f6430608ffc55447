//! Issue #18's condition-heavy predicate under five engines, side by side in one
//! run: trigc's interpreter and JIT, the predicate hand-written in Rust (the
//! `predicate_*` benches of `benches/jit.rs`, through the same included
//! `benches/common/predicate.rs`), cel (cel-interpreter's current name) and
//! evalexpr.
//!
//! `amount > 1000 and country in ["DE", "AT", "CH"] and not starts_with(sku,
//! "GIFT")` over the same 10k events as `benches/jit.rs` (amount `i * 7919 % 3000`,
//! country cycling over seven codes, every fifth sku a `GIFT-` one: 2,287 pass;
//! every engine's count is checked before it is timed).
//! Every engine prepares once (trigc compiles the program and the JIT its code,
//! cel and evalexpr parse their expression) and evaluates per event:
//!
//! - trigc: the event's three fields copied into the environment's slots (strings
//!   are interned symbols), one `Engine::eval` of the filter;
//! - Rust: the same copy, then the predicate over the same `Value`s;
//! - cel: the three variables bound in one reused `Context` (a `String` name and a
//!   boxed value each: its documented way to pass data; strings are `Arc`s, so no
//!   text is copied), one `Program::execute`;
//! - evalexpr: the three variables set in one reused `HashMapContext` (a `String`
//!   name and a cloned value each: the strings' text is copied), one
//!   `eval_boolean_with_context`; evalexpr has no `starts_with`, so it is a
//!   registered function, and `in` is its built-in `contains(tuple, value)`.
//!
//! Run: `cargo bench --manifest-path benches/compare/Cargo.toml`.

use std::sync::Arc;

use divan::Bencher;
use divan::counter::ItemsCount;
use evalexpr::{
    ContextWithMutableFunctions, ContextWithMutableVariables, DefaultNumericTypes, Function,
    HashMapContext,
};

#[path = "../../common/predicate.rs"]
mod predicate;

use predicate::{PASSING, orders};

fn main() {
    divan::main();
}

const CEL: &str = r#"amount > 1000 && country in ["DE", "AT", "CH"] && !sku.startsWith("GIFT")"#;

const EVALEXPR: &str =
    r#"amount > 1000 && contains(("DE", "AT", "CH"), country) && !starts_with(sku, "GIFT")"#;

// ------------------------------------------------------------ trigc

#[divan::bench]
fn predicate_interp(bencher: Bencher) {
    predicate::bench_interp(bencher);
}

#[divan::bench]
fn predicate_jit(bencher: Bencher) {
    predicate::bench_jit(bencher);
}

/// The predicate in Rust over the same fields.
#[divan::bench]
fn predicate_rust(bencher: Bencher) {
    predicate::bench_rust(bencher);
}

// ------------------------------------------------------------ cel

#[divan::bench]
fn predicate_cel(bencher: Bencher) {
    let program = cel::Program::compile(CEL).expect("the CEL predicate parses");
    let events: Vec<[cel::Value; 3]> = orders()
        .into_iter()
        .map(|o| {
            [
                cel::Value::Int(o.amount),
                cel::Value::String(Arc::new(o.country.to_string())),
                cel::Value::String(Arc::new(o.sku)),
            ]
        })
        .collect();
    let mut context = cel::Context::default();
    let mut run = || {
        let mut passed = 0u32;
        for [amount, country, sku] in &events {
            context.add_variable_from_value("amount", amount.clone());
            context.add_variable_from_value("country", country.clone());
            context.add_variable_from_value("sku", sku.clone());
            if let Ok(cel::Value::Bool(true)) = program.execute(&context) {
                passed += 1;
            }
        }
        passed
    };
    assert_eq!(run(), PASSING);
    bencher
        .counter(ItemsCount::new(events.len()))
        .bench_local(run);
}

// ------------------------------------------------------------ evalexpr

type EvalValue = evalexpr::Value<DefaultNumericTypes>;

#[divan::bench]
fn predicate_evalexpr(bencher: Bencher) {
    let tree = evalexpr::build_operator_tree::<DefaultNumericTypes>(EVALEXPR)
        .expect("the evalexpr predicate parses");
    let events: Vec<[EvalValue; 3]> = orders()
        .into_iter()
        .map(|o| {
            [
                EvalValue::Int(o.amount),
                EvalValue::String(o.country.to_string()),
                EvalValue::String(o.sku),
            ]
        })
        .collect();
    let mut context = HashMapContext::<DefaultNumericTypes>::new();
    context
        .set_function(
            "starts_with".into(),
            Function::new(|argument: &EvalValue| {
                let arguments = argument.as_fixed_len_tuple(2)?;
                let (text, prefix) = (arguments[0].as_string()?, arguments[1].as_string()?);
                Ok(EvalValue::Boolean(text.starts_with(&prefix)))
            }),
        )
        .expect("a HashMapContext takes functions");
    let mut run = || {
        let mut passed = 0u32;
        for [amount, country, sku] in &events {
            let set = [("amount", amount), ("country", country), ("sku", sku)];
            for (name, value) in set {
                context
                    .set_value(name.into(), value.clone())
                    .expect("the variable keeps its type");
            }
            if let Ok(true) = tree.eval_boolean_with_context(&context) {
                passed += 1;
            }
        }
        passed
    };
    assert_eq!(run(), PASSING);
    bencher
        .counter(ItemsCount::new(events.len()))
        .bench_local(run);
}
