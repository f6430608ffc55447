//! JIT == interpreter on random well-typed expressions over random environments.
//!
//! A seed drives `trigc::exprgen` (feature `exprgen`, on for tests): typed IR over
//! every operator and built-in, biased towards the values where engines disagree
//! if anything is off: absent optionals, `i64::MIN`/`MAX`, `-1` and `0` divisors,
//! NaN, ±inf and -0.0, empty sets and strings, non-ASCII text. Each expression is
//! compiled by the JIT and evaluated by both engines in two identical environments;
//! the results (values with strings resolved, or the error with its expression)
//! must be equal, twice in a row (the second time through the JIT's constant
//! cache). Counts of the edge paths taken are checked at the end so the generator
//! cannot quietly stop reaching them. The fuzz target `jit_vs_interp` (fuzz/) runs
//! the same generator from the fuzzer's bytes.

use std::sync::atomic::{AtomicUsize, Ordering};

use proptest::prelude::*;
use trigc::exprgen::{Gen, Rng, compare, random_env};
use trigc::interp::{Engine, EvalErrorKind, Interp, Value};
use trigc::ir::{BinaryOp, Const, Expr, Ty};
use trigc::jit::Jit;

static ERRORS: [AtomicUsize; 2] = [AtomicUsize::new(0), AtomicUsize::new(0)];
static NONES: AtomicUsize = AtomicUsize::new(0);
static CASES: AtomicUsize = AtomicUsize::new(0);

fn check_seed(seed: u64) -> Result<(), TestCaseError> {
    let mut g = Gen::new(Rng(seed));
    let root = g.root();
    let program = g.program;
    let mut jit = Jit::new().map_err(|e| TestCaseError::fail(e.to_string()))?;
    jit.prepare(&program, &[root]).map_err(|e| {
        TestCaseError::fail(format!("{e}\n{}", trigc::ir::print::expr(&program, root)))
    })?;
    let mut rng = Rng(seed ^ 0x9e37_79b9);
    for _ in 0..3 {
        let env = random_env(&mut rng);
        let want = compare(&program, root, &jit, &env).map_err(TestCaseError::fail)?;
        // Both rounds count, as they always have.
        for _ in 0..2 {
            match interp_env_result_kind(&want) {
                Some(EvalErrorKind::DivisionByZero) => ERRORS[0].fetch_add(1, Ordering::Relaxed),
                Some(EvalErrorKind::IntegerOverflow) => ERRORS[1].fetch_add(1, Ordering::Relaxed),
                None if want == "None" => NONES.fetch_add(1, Ordering::Relaxed),
                None => 0,
            };
        }
    }
    CASES.fetch_add(1, Ordering::Relaxed);
    Ok(())
}

fn interp_env_result_kind(outcome: &str) -> Option<EvalErrorKind> {
    if outcome.starts_with("error DivisionByZero") {
        Some(EvalErrorKind::DivisionByZero)
    } else if outcome.starts_with("error IntegerOverflow") {
        Some(EvalErrorKind::IntegerOverflow)
    } else {
        None
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1500))]

    #[test]
    fn jit_agrees_with_the_interpreter(seed in any::<u64>()) {
        check_seed(seed)?;
    }
}

/// The edge paths the generator must keep reaching (run after the property).
#[test]
fn generated_cases_reach_errors_and_absent_values() {
    for seed in 0..400u64 {
        if let Err(e) = check_seed(seed.wrapping_mul(0x2545_f491_4f6c_dd1d)) {
            panic!("seed {seed}: {e}");
        }
    }
    eprintln!(
        "{} cases: {} divisions by zero, {} overflows, {} absent results",
        CASES.load(Ordering::Relaxed),
        ERRORS[0].load(Ordering::Relaxed),
        ERRORS[1].load(Ordering::Relaxed),
        NONES.load(Ordering::Relaxed)
    );
    assert!(ERRORS[0].load(Ordering::Relaxed) > 0, "no division by zero");
    assert!(ERRORS[1].load(Ordering::Relaxed) > 0, "no integer overflow");
    assert!(NONES.load(Ordering::Relaxed) > 0, "no absent result");
}

/// A string constant cached under one interner generation is interned again
/// after a sweep frees it: the JIT's symbol must follow.
#[test]
fn string_constants_survive_an_interner_sweep() {
    let mut g = Gen::new(Rng(1));
    let de = g.push(Expr::Const(Const::Str("DE".into())), Ty::Str);
    let key = g.push(Expr::Key, Ty::Str);
    let eq = g.bin(BinaryOp::Eq, de, key, Ty::Bool);
    let program = g.program;
    let mut jit = Jit::new().expect("a JIT on the test host");
    jit.prepare(&program, &[eq]).expect("compiles");
    let mut env = random_env(&mut Rng(3));
    env.key = env.interner.intern("DE");
    assert_eq!(jit.eval(&program, eq, &mut env), Ok(Value::Bool(true)));
    // Free everything, then make "DE" come back under a different symbol.
    env.interner.sweep(&trigc::interp::SymMarks::default());
    env.interner.intern("filler");
    env.key = env.interner.intern("DE");
    assert_eq!(jit.eval(&program, eq, &mut env), Ok(Value::Bool(true)));
    assert_eq!(Interp.eval(&program, eq, &mut env), Ok(Value::Bool(true)));
}
