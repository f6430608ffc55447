//! Reclaiming interned strings (issue #15): the interner would otherwise keep every
//! distinct string the decoder ever met (order ids, emails), in memory and in every
//! checkpoint. Between events, once the interner has grown enough since the last
//! collection, the runtime marks every symbol something still holds (per-key data,
//! instances' kept fields, held events, the fan-out index, the plan, the program's
//! string literals, `""`) and sweeps the rest; freed symbols are handed out again.
//!
//! Output does not depend on symbol numbers: sets are written sorted by text, and
//! `min`/`max` compare strings by text. A checkpoint keeps the free slots, so a
//! restored run hands out the same symbols as an uninterrupted one.

use super::Runtime;
use super::state::EMPTY_STR;
use crate::interp::{Sym, SymMarks};
use crate::ir::{Const, Expr};

/// No collection while the interner holds fewer strings than this: small runs never
/// pay for one.
pub const COLLECT_FLOOR: usize = 65_536;

impl Runtime<'_> {
    /// Collect the interner if it is due: it holds at least [`COLLECT_FLOOR`]
    /// strings, twice what the last collection kept, and more new ones than there
    /// are keys and live instances (so that the walk over the state is paid for by
    /// at least as many interned strings). Returns whether it collected.
    ///
    /// Call it only between events, when no symbol is held outside the runtime: a
    /// decoded [`super::Event`] not pushed yet (or kept after its push) may name a
    /// string this frees. `trigc run` calls it after every line.
    pub fn collect_strings_if_due(&mut self) -> bool {
        let st = &self.state;
        let live = st.interner.len();
        if live < COLLECT_FLOOR {
            return false;
        }
        let kept = st.strings_kept;
        let walk = st.customers.len().saturating_add(st.instances.live());
        if live < kept.saturating_mul(2).max(kept.saturating_add(walk)) {
            return false;
        }
        self.collect_strings();
        true
    }

    /// Free every interned string nothing holds, now (see
    /// [`Runtime::collect_strings_if_due`] for when it may be called).
    pub fn collect_strings(&mut self) {
        let mut marks = SymMarks::for_interner(&self.state.interner);
        self.visit_syms(&mut |s| marks.mark(s));
        #[cfg(debug_assertions)]
        let held = {
            let mut held = Vec::new();
            let interner = &self.state.interner;
            self.visit_syms(&mut |s| held.push((s, interner.resolve(s).to_owned())));
            held
        };
        self.state.interner.sweep(&marks);
        self.state.strings_kept = self.state.interner.len();
        #[cfg(debug_assertions)]
        for (sym, text) in held {
            debug_assert_eq!(self.state.interner.resolve(sym), text, "{sym:?}");
        }
    }

    /// Shows `mark` every symbol anything of the run holds between events.
    pub fn visit_syms(&self, mark: &mut dyn FnMut(Sym)) {
        mark(EMPTY_STR);
        self.plan.visit_syms(mark);
        // The program's string literals stay interned (looked up, not interned:
        // interning them here would number strings differently from a run that
        // never collects).
        let interner = &self.state.interner;
        let mut literal = |text: &str| {
            if let Some(sym) = interner.get(text) {
                mark(sym);
            }
        };
        for expr in &self.program.exprs {
            match expr {
                Expr::Const(Const::Str(text)) => literal(text),
                Expr::Object(entries) => entries.iter().for_each(|(k, _)| literal(k)),
                _ => {}
            }
        }
        let st = &self.state;
        for c in st.customers.ids() {
            if let Some(cust) = st.customers.get(c) {
                cust.data.visit_syms(self.program, mark);
            }
        }
        st.instances.visit_syms(mark);
        st.clock.visit_syms(mark);
        st.fanout.visit_syms(self.program, mark);
    }
}
