//! Fuzz the JIT against the interpreter (issue #18): the fuzzer's bytes drive
//! `trigc::exprgen` (the generator of `tests/jit_props.rs`) to build one well-typed
//! IR expression, then up to three environments (event fields, profile values,
//! string-set states, an aggregate; absent values, integer extremes, NaN and ±inf,
//! empty sets, non-ASCII strings). Both engines evaluate the expression in equal
//! copies of each environment, twice; any difference in value, error or interned
//! strings aborts with the expression printed. `cargo fuzz run jit_vs_interp`
//! (nightly).
#![no_main]

use libfuzzer_sys::fuzz_target;
use trigc::exprgen::{Bytes, Gen, Source, compare, random_env, render};
use trigc::interp::{Engine, Value};
use trigc::jit::Jit;

fuzz_target!(|data: &[u8]| {
    let mut bytes = Bytes::new(data);
    let mut g = Gen::new(bytes);
    let root = g.root();
    let Gen { rng, program } = g;
    bytes = rng;
    let mut jit = Jit::new().expect("a JIT on the fuzzing host");
    if let Err(e) = jit.prepare(&program, &[root]) {
        panic!(
            "the JIT cannot compile a well-typed expression: {e}\n{}",
            trigc::ir::print::expr(&program, root)
        );
    }
    for _ in 0..1 + bytes.below(3) {
        let env = random_env(&mut bytes);
        if let Err(diff) = compare(&program, root, &jit, &env) {
            let show = |values: &[Value]| {
                let shown: Vec<_> = values.iter().map(|v| render(v, &env.interner)).collect();
                shown.join(", ")
            };
            panic!(
                "jit != interp: {diff}\nfields [{}], profile [{}], states [{}], agg {:?}, key {:?}",
                show(&env.fields),
                show(&env.profile),
                show(&env.states),
                env.agg,
                env.interner.resolve(env.key)
            );
        }
    }
});
