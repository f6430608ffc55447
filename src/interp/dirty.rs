//! Change marks for incremental checkpoints: one bit per row of a large table (the
//! runtime's customers and instance slots, the interner's chunks of strings), set
//! wherever a row changes, so that a checkpoint writes only the rows changed since
//! the last one (`durable`). Marks are kept only in a run that asks
//! for them ([`Dirty::track`], `RuntimeConfig::track_changes`): every other run
//! pays one test of a flag per mark, on the hot path (the cost of keeping them,
//! one `or` into a word behind a call, measured in BENCHMARKS.md).
//!
//! A table that is new, deserialised or cloned is marked [`Dirty::all`]: the store
//! knows nothing of it, so its first checkpoint writes every row.

/// Which rows changed since the marks were last taken.
#[derive(Debug)]
pub struct Dirty {
    bits: Vec<u64>,
    /// Every row (and any row past the bits) changed.
    all: bool,
    /// Marks are kept ([`Dirty::track`]); without, every row counts as changed.
    on: bool,
}

impl Default for Dirty {
    /// Everything changed (nothing of the table is stored yet), and no marks kept.
    fn default() -> Dirty {
        Dirty {
            bits: Vec::new(),
            all: true,
            on: false,
        }
    }
}

impl Clone for Dirty {
    /// A copy of a table is a table the store has never seen: all of it changed.
    fn clone(&self) -> Dirty {
        Dirty::default()
    }
}

impl Dirty {
    /// Keep marks from now on (a run that checkpoints incrementally). Until then,
    /// and in every other run, marking costs one test of this flag. What changed
    /// before was not marked: turning marks on marks every row.
    pub fn track(&mut self) {
        if !self.on {
            self.on = true;
            self.all = true;
        }
    }

    /// Mark row `i` changed.
    #[inline(always)]
    pub fn mark(&mut self, i: usize) {
        if self.on {
            self.set(i);
        }
    }

    /// [`Dirty::mark`] when marks are kept (out of line: a run that keeps none
    /// pays only the test).
    #[cold]
    #[inline(never)]
    fn set(&mut self, i: usize) {
        if self.bits.len() <= i >> 6 {
            // By half again at least, so a table growing one row at a time grows
            // the bits rarely.
            let grown = ((i >> 6) + 1).max(self.bits.len() + self.bits.len() / 2);
            self.bits.resize(grown, 0);
        }
        if let Some(word) = self.bits.get_mut(i >> 6) {
            *word |= 1 << (i & 63);
        }
    }

    /// Mark every row changed (a change the marks cannot follow row by row).
    pub fn mark_all(&mut self) {
        self.all = true;
    }

    /// Whether every row counts as changed.
    pub fn is_all(&self) -> bool {
        self.all
    }

    /// Nothing changed: the store holds the table as it is.
    pub fn clear(&mut self) {
        self.all = false;
        self.bits.iter_mut().for_each(|w| *w = 0);
    }

    /// The marks so far (all rows when no marks are kept); marking starts again
    /// from nothing changed.
    pub fn take(&mut self) -> Dirty {
        if !self.on {
            return Dirty::default();
        }
        let words = self.bits.len();
        let taken = Dirty {
            bits: std::mem::replace(&mut self.bits, vec![0; words]),
            all: self.all,
            on: true,
        };
        self.all = false;
        taken
    }

    /// The rows below `rows` that changed, ascending (all of them when
    /// [`Dirty::is_all`]).
    pub fn rows(&self, rows: usize) -> Box<dyn Iterator<Item = usize> + '_> {
        if self.all {
            return Box::new(0..rows);
        }
        Box::new(
            self.bits
                .iter()
                .enumerate()
                .filter(|(_, w)| **w != 0)
                .flat_map(|(i, &w)| {
                    (0..64)
                        .filter(move |b| w & (1 << b) != 0)
                        .map(move |b| i * 64 + b)
                })
                .take_while(move |&r| r < rows),
        )
    }

    /// How many rows below `rows` changed.
    pub fn count(&self, rows: usize) -> usize {
        self.rows(rows).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_are_taken_and_start_again() {
        let mut d = Dirty::default();
        assert!(d.is_all());
        d.mark(5);
        assert_eq!(d.take().count(3), 3, "no marks kept: all changed");
        d.clear();
        d.track();
        assert_eq!(d.take().count(3), 3, "what changed before is unknown");
        d.mark(5);
        d.mark(200);
        d.mark(5);
        let taken = d.take();
        assert_eq!(taken.rows(1000).collect::<Vec<_>>(), vec![5, 200]);
        assert_eq!(taken.rows(100).collect::<Vec<_>>(), vec![5]);
        assert_eq!(d.count(1000), 0);
        assert!(d.clone().is_all(), "a copy is unknown to the store");
    }
}
