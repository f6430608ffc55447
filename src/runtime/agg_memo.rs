//! Aggregate values shared by the evaluations of one customer at one instant (issue
//! #17, "shared work"): the same `count(ADD_TO_CART within 10m)` guarding 80
//! triggers is read from the customer's window once, then from here.
//!
//! An aggregate's value depends only on the customer's data and the instant, and
//! the data's aggregates change only when the customer takes an event in (step 1 of
//! `process_event`). So the memo holds the values read for one (customer, instant)
//! and is emptied when any data takes an event in, when a customer's entry is freed
//! (its id may go to another key), and when an evaluation for another customer or
//! instant arms it. Evaluations during the intake itself (filters, reducer
//! arguments) do not use it.

use std::cell::RefCell;

use super::state::CustomerId;
use crate::interp::Value;
use crate::ir::AggId;

/// See the module documentation. Interior mutability: the engines read aggregates
/// through `&Env`.
#[derive(Debug, Default)]
pub struct AggMemo {
    memo: RefCell<Memo>,
}

#[derive(Debug, Default)]
struct Memo {
    /// Whose values at which instant `values` holds.
    stamp: Option<(CustomerId, i64)>,
    /// By [`AggId`]: the value read, once read.
    values: Vec<Option<Value>>,
}

impl AggMemo {
    /// Have the memo hold `c`'s values at `now` (emptied when it held others).
    #[inline]
    pub fn arm(&self, c: CustomerId, now: i64) {
        if let Ok(mut memo) = self.memo.try_borrow_mut()
            && memo.stamp != Some((c, now))
        {
            memo.stamp = Some((c, now));
            memo.values.iter_mut().for_each(|v| *v = None);
        }
    }

    /// Forget every value (the data they were read from may change).
    #[inline]
    pub fn clear(&self) {
        if let Ok(mut memo) = self.memo.try_borrow_mut()
            && memo.stamp.is_some()
        {
            memo.stamp = None;
            memo.values.iter_mut().for_each(|v| *v = None);
        }
    }

    /// The value of aggregate `id` for the armed customer and instant: kept from an
    /// earlier read, or `read` now and kept.
    #[inline]
    pub fn get_or(&self, id: AggId, read: impl FnOnce() -> Value) -> Value {
        let i = id.index();
        if let Ok(memo) = self.memo.try_borrow()
            && let Some(Some(value)) = memo.values.get(i)
        {
            return value.clone();
        }
        let value = read();
        if let Ok(mut memo) = self.memo.try_borrow_mut()
            && memo.stamp.is_some()
        {
            if memo.values.len() <= i {
                memo.values.resize(i + 1, None);
            }
            if let Some(slot) = memo.values.get_mut(i) {
                *slot = Some(value.clone());
            }
        }
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_is_read_once_per_customer_and_instant() {
        let memo = AggMemo::default();
        let reads = std::cell::Cell::new(0);
        let read = |v: i64| {
            reads.set(reads.get() + 1);
            Value::Int(v)
        };
        let (a, b) = (CustomerId(1), CustomerId(2));
        memo.arm(a, 10);
        assert_eq!(memo.get_or(AggId(3), || read(7)), Value::Int(7));
        assert_eq!(memo.get_or(AggId(3), || read(8)), Value::Int(7));
        assert_eq!(reads.get(), 1);
        // Another customer, another instant, or new data: read again.
        memo.arm(b, 10);
        assert_eq!(memo.get_or(AggId(3), || read(8)), Value::Int(8));
        memo.arm(b, 11);
        assert_eq!(memo.get_or(AggId(3), || read(9)), Value::Int(9));
        memo.clear();
        assert_eq!(memo.get_or(AggId(3), || read(10)), Value::Int(10));
        // Not armed: nothing is kept.
        assert_eq!(memo.get_or(AggId(3), || read(11)), Value::Int(11));
        assert_eq!(reads.get(), 5);
    }
}
