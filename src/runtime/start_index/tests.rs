//! The start index against small programs: which triggers an event names. The ne
//! index (`!=`, `not (… == …)`, `not (… in […])`) is the focus: it must never leave
//! out a trigger whose pattern the interpreter would find true.

use super::*;

const EVENT: &str = "event E { s: string?, n: int?, f: float?, t: string? }\n";

struct Built {
    program: Program,
    index: StartIndex,
    interner: Interner,
}

/// The index of `triggers` (over [`EVENT`]), ranked in declaration order.
fn build(triggers: &str) -> Built {
    let mut sources = crate::syntax::SourceMap::default();
    sources.add("t.trig", format!("{EVENT}{triggers}"));
    let compiled = crate::compile(&sources);
    assert!(compiled.program.is_some(), "{:?}", compiled.diagnostics);
    let program = compiled.program.unwrap_or_default();
    let rank: Vec<u32> = (0..program.triggers.len() as u32).collect();
    let mut interner = Interner::default();
    let index = StartIndex::new(&program, &rank, &mut interner);
    Built {
        program,
        index,
        interner,
    }
}

/// A field value; `Value::None` is an absent field.
enum V {
    S(&'static str),
    I(i64),
    F(f64),
    None,
}

impl Built {
    /// The names of the triggers an event with `s`, `n`, `f` (and no `t`) may
    /// start, in rank order.
    fn names(&mut self, s: V, n: V, f: V) -> Vec<String> {
        let fields: Vec<Value> = [s, n, f, V::None]
            .into_iter()
            .map(|v| match v {
                V::S(x) => Value::Str(self.interner.intern(x)),
                V::I(i) => Value::Int(i),
                V::F(x) => Value::Float(x),
                V::None => Value::None,
            })
            .collect();
        let mut bits = vec![0u64; self.index.words()];
        self.index
            .candidates(EventId::from_index(0), &fields, &mut bits);
        let mut out = Vec::new();
        for (t, def) in self.program.triggers.iter().enumerate() {
            if bits.get(t / 64).is_some_and(|w| w & (1 << (t % 64)) != 0) {
                out.push(def.name.clone());
            }
        }
        out
    }

    fn summary(&self) -> IndexSummary {
        self.index.summary(EventId::from_index(0))
    }
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_string()).collect()
}

#[test]
fn ne_excludes_exactly_its_constants() {
    let mut b = build(
        "trigger a on E where s != \"x\" then emit \"a\"\n\
         trigger b on E where not (s in [\"x\", \"y\", \"w\"]) then emit \"b\"\n\
         trigger c on E where not (s == \"y\") then emit \"c\"\n\
         trigger d on E where \"w\" != s then emit \"d\"\n",
    );
    assert_eq!(b.summary().ne_patterns, 4);
    assert_eq!(b.summary().broad, 0);
    assert_eq!(b.names(V::S("x"), V::None, V::None), names(&["c", "d"]));
    assert_eq!(b.names(V::S("y"), V::None, V::None), names(&["a", "d"]));
    assert_eq!(b.names(V::S("w"), V::None, V::None), names(&["a", "c"]));
    assert_eq!(
        b.names(V::S("z"), V::None, V::None),
        names(&["a", "b", "c", "d"])
    );
    // Absent: the patterns are none, but the index stays a superset.
    assert_eq!(
        b.names(V::None, V::None, V::None),
        names(&["a", "b", "c", "d"])
    );
    assert!(
        b.index
            .describe(&b.program)
            .contains("ne s (3 excluded values)")
    );
}

#[test]
fn ne_on_nan_absent_and_signed_zero() {
    let mut b = build(
        "trigger half on E where f != 1.5 then emit \"h\"\n\
         trigger zero on E where f != 0.0 then emit \"z\"\n\
         trigger nan on E where f != 0.0 / 0.0 then emit \"nan\"\n",
    );
    // `0.0 / 0.0` could fail as far as the index knows: broad, a candidate always.
    assert_eq!(b.summary().broad, 1);
    let all = names(&["half", "zero", "nan"]);
    assert_eq!(b.names(V::None, V::None, V::F(f64::NAN)), all);
    assert_eq!(b.names(V::None, V::None, V::None), all);
    assert_eq!(
        b.names(V::None, V::None, V::F(1.5)),
        names(&["zero", "nan"])
    );
    assert_eq!(
        b.names(V::None, V::None, V::F(-0.0)),
        names(&["half", "nan"])
    );
    assert_eq!(
        b.names(V::None, V::None, V::F(0.0)),
        names(&["half", "nan"])
    );
    // A float field holding an int (as a decoder may give it) keys as its float.
    assert_eq!(b.names(V::None, V::None, V::I(0)), names(&["half", "nan"]));
}

#[test]
fn ne_int_against_float_follows_equal() {
    let mut b = build(
        "trigger n_two on E where n != 2.0 then emit \"n\"\n\
         trigger f_three on E where f != 3 then emit \"f\"\n\
         trigger n_list on E where not (n in [1, 4]) then emit \"l\"\n",
    );
    assert_eq!(b.summary().ne_patterns, 3);
    assert_eq!(
        b.names(V::None, V::I(2), V::F(3.0)),
        names(&["n_list"]),
        "2 == 2.0 and 3.0 == 3 under interp::equal"
    );
    assert_eq!(
        b.names(V::None, V::I(4), V::F(3.5)),
        names(&["n_two", "f_three"])
    );
    assert_eq!(b.names(V::None, V::F(2.0), V::I(3)), names(&["n_list"]));
}

#[test]
fn ne_big_ints_exclude_nothing_they_could_confuse() {
    // 2^53 + 1 and 2^53 are the same `f64`, yet the interpreter's `!=` between two
    // ints is exact: an event with 2^53 must stay a candidate for `n != 2^53 + 1`.
    let two53 = 1i64 << 53;
    assert_eq!(num_key((two53 + 1) as f64), num_key(two53 as f64));
    let mut b = build(&format!(
        "trigger above on E where n != {} then emit \"a\"\n\
         trigger at on E where n != {two53} then emit \"t\"\n\
         trigger list on E where not (n in [1, {}, {}]) then emit \"l\"\n\
         trigger small on E where n != {} then emit \"s\"\n",
        two53 + 1,
        1i64 << 60,
        two53,
        two53 - 1,
    ));
    assert_eq!(b.summary().ne_patterns, 4);
    let all = names(&["above", "at", "list", "small"]);
    assert_eq!(b.names(V::None, V::I(two53), V::None), all);
    assert_eq!(b.names(V::None, V::I(two53 + 1), V::None), all);
    assert_eq!(b.names(V::None, V::I(1 << 60), V::None), all);
    assert_eq!(b.names(V::None, V::I(-two53), V::None), all);
    assert_eq!(b.names(V::None, V::I((1 << 60) + 1), V::None), all);
    // Below 2^53 exclusion is exact, and an int near 2^53 never reaches it.
    assert_eq!(
        b.names(V::None, V::I(1), V::None),
        names(&["above", "at", "small"])
    );
    assert_eq!(
        b.names(V::None, V::I(two53 - 1), V::None),
        names(&["above", "at", "list"])
    );
    assert_eq!(b.names(V::None, V::I(two53 - 2), V::None), all);
}

#[test]
fn ne_trigger_with_several_patterns_is_left_out_only_when_all_exclude() {
    let mut b = build(
        "trigger two on E where s != \"x\" or E where not (s in [\"x\", \"y\"]) \
         then emit \"two\"\n\
         trigger mixed on E where s != \"x\" or E where t == \"q\" then emit \"m\"\n",
    );
    assert_eq!(b.names(V::S("x"), V::None, V::None), Vec::<String>::new());
    assert_eq!(
        b.names(V::S("y"), V::None, V::None),
        names(&["two", "mixed"])
    );
}

#[test]
fn ne_is_the_last_choice_and_never_skips_a_could_fail_where() {
    let mut b = build(
        "trigger eq on E where s != \"x\" and t == \"q\" then emit \"e\"\n\
         trigger range on E where not (s == \"x\") and n > 5 then emit \"r\"\n\
         trigger fails on E where s != \"x\" and 10 / n > 1 then emit \"f\"\n\
         trigger ne on E where n > f and s != \"x\" then emit \"n\"\n",
    );
    let s = b.summary();
    assert_eq!(
        (s.eq_patterns, s.range_patterns, s.ne_patterns, s.broad),
        (1, 1, 1, 1)
    );
    assert_eq!(
        b.names(V::S("x"), V::I(6), V::None),
        names(&["range", "fails"])
    );
}

#[test]
fn not_of_ne_is_an_eq() {
    let mut b = build("trigger e on E where not (s != \"x\") then emit \"e\"\n");
    assert_eq!((b.summary().eq_patterns, b.summary().ne_patterns), (1, 0));
    assert_eq!(b.names(V::S("x"), V::None, V::None), names(&["e"]));
    assert_eq!(b.names(V::S("y"), V::None, V::None), Vec::<String>::new());
}

impl Built {
    /// Per trigger in declaration order: `None` when the index does not decide its
    /// pattern, else the source text of what is left of its `where` ("" for nothing).
    fn decided(&self, source: &str) -> Vec<Option<String>> {
        let kind = EventId::from_index(0);
        (0..self.program.triggers.len())
            .map(|t| {
                let word = self.index.decided(kind, t / 64);
                (word & (1 << (t % 64)) != 0).then(|| {
                    self.index.rest(kind, t).map_or_else(String::new, |rest| {
                        let span = self.program.span(rest);
                        source
                            .get(span.start as usize..span.end as usize)
                            .unwrap_or("?")
                            .to_string()
                    })
                })
            })
            .collect()
    }
}

#[test]
fn decides_string_and_bool_equality_with_at_most_one_other_side() {
    let triggers = "trigger whole on E where s == \"x\" then emit \"a\"\n\
         trigger listed on E where s in [\"x\", \"y\"] then emit \"b\"\n\
         trigger left on E where s == \"x\" and n > f then emit \"c\"\n\
         trigger right on E where n > f and t == \"q\" then emit \"d\"\n\
         trigger number on E where n == 5 then emit \"e\"\n\
         trigger chain on E where s == \"x\" and n > 1 and f > 1.0 then emit \"f\"\n\
         trigger two on E where s == \"x\" or E where t == \"y\" then emit \"g\"\n\
         trigger negated on E where s != \"x\" then emit \"h\"\n\
         trigger fails on E where s == \"x\" and 10 / n > 1 then emit \"i\"\n";
    let b = build(triggers);
    let source = format!("{EVENT}{triggers}");
    let left = Some("n > f".to_string());
    assert_eq!(
        b.decided(&source),
        vec![
            Some(String::new()),
            Some(String::new()),
            left.clone(),
            left,
            None,
            // `(s == "x" and n > 1) and f > 1.0`: the rest is no one expression.
            None,
            None,
            None,
            None,
        ]
    );
    assert_eq!(b.summary().decided, 4);
}
