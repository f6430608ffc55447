//! Reducers: what a state's rule (`insert`, `remove`, `clear`, `set`, `add`,
//! `push`) does to the key's slot for that state, keeping sets sorted and capped at
//! [`SET_CAP`], lists at [`LIST_CAP`], and the fan-out index in step with indexed
//! sets.

use super::*;
use crate::interp::{EvalError, EvalErrorKind, Value};
use crate::ir::{ReducerOp, ReducerRule, StateDef, StateId};

impl KeyData {
    pub(super) fn apply_rule(
        &mut self,
        id: StateId,
        def: &StateDef,
        rule: &ReducerRule,
        arg: Value,
        change: &mut Change,
    ) {
        match rule.op {
            ReducerOp::Insert(_) => self.insert_member(id, def, &arg, change),
            ReducerOp::Remove(_) => self.remove_member(id, def, &arg, change),
            ReducerOp::Clear => self.clear(id, def, change),
            ReducerOp::Set(_) => {
                if arg == initial_value(&def.ty) {
                    remove_slot(&mut self.slots, state_key(id));
                } else if let Some(slot) = slot_mut(&mut self.slots, state_key(id), || {
                    Slot::Scalar(id, Value::None)
                }) {
                    *slot = Slot::Scalar(id, arg);
                }
            }
            ReducerOp::Add(x) => {
                let current = self
                    .state_slot_value(id)
                    .unwrap_or_else(|| initial_value(&def.ty));
                match add(&current, &arg) {
                    Ok(sum) => {
                        if let Some(slot) = slot_mut(&mut self.slots, state_key(id), || {
                            Slot::Scalar(id, Value::None)
                        }) {
                            *slot = Slot::Scalar(id, sum);
                        }
                    }
                    Err(kind) => change
                        .report
                        .filter_errors
                        .push(EvalError { expr: x, kind }),
                }
            }
            ReducerOp::Push { max, .. } => {
                let keep = usize::try_from(max).unwrap_or(usize::MAX);
                let cap = keep.min(LIST_CAP);
                let Some(Slot::List(_, list)) = slot_mut(&mut self.slots, state_key(id), || {
                    Slot::List(id, Box::default())
                }) else {
                    return;
                };
                list.push_back(arg);
                while list.len() > cap {
                    list.pop_front();
                    if list.len() < keep {
                        change.report.cap_hits += 1;
                    }
                }
                if list.is_empty() {
                    remove_slot(&mut self.slots, state_key(id));
                }
            }
        }
    }

    fn state_slot_value(&self, id: StateId) -> Option<Value> {
        match find(&self.slots, state_key(id))? {
            Slot::Scalar(_, v) => Some(v.clone()),
            _ => None,
        }
    }

    fn insert_member(&mut self, id: StateId, def: &StateDef, arg: &Value, change: &mut Change) {
        let Some(m) = member::encode(arg) else { return };
        let strings = ScalarKind::element_of(&def.ty) == Some(ScalarKind::Str);
        let init = || {
            if strings {
                Slot::Syms(id, Vec::new())
            } else {
                Slot::Members(id, Vec::new())
            }
        };
        let outcome = match (slot_mut(&mut self.slots, state_key(id), init), arg) {
            (Some(Slot::Syms(_, syms)), Value::Str(s)) => insert_capped(syms, *s),
            (Some(Slot::Members(_, ms)), _) => insert_capped(ms, m),
            _ => Membership::Unchanged,
        };
        match outcome {
            Membership::Changed if def.indexed => change.index.add(id, m, change.customer),
            Membership::Changed | Membership::Unchanged => {}
            Membership::Full => change.report.cap_hits += 1,
        }
    }

    fn remove_member(&mut self, id: StateId, def: &StateDef, arg: &Value, change: &mut Change) {
        let Some(m) = member::encode(arg) else { return };
        // Removing from an empty set (or an absent member) does nothing.
        let (outcome, now_empty) = match (find_mut(&mut self.slots, state_key(id)), arg) {
            (Some(Slot::Syms(_, syms)), Value::Str(s)) => (remove_sorted(syms, s), syms.is_empty()),
            (Some(Slot::Members(_, ms)), _) => (remove_sorted(ms, &m), ms.is_empty()),
            _ => (Membership::Unchanged, false),
        };
        if outcome == Membership::Changed && def.indexed {
            change.index.remove(id, m, change.customer);
        }
        if now_empty {
            remove_slot(&mut self.slots, state_key(id));
        }
    }

    fn clear(&mut self, id: StateId, def: &StateDef, change: &mut Change) {
        if def.indexed {
            for m in self.set_members(id) {
                change.index.remove(id, m, change.customer);
            }
        }
        remove_slot(&mut self.slots, state_key(id));
    }
}

/// What a set reducer did.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Membership {
    Changed,
    Unchanged,
    /// A new member did not fit under [`SET_CAP`].
    Full,
}

fn insert_capped<T: Ord>(members: &mut Vec<T>, x: T) -> Membership {
    match members.binary_search(&x) {
        Ok(_) => Membership::Unchanged,
        Err(_) if members.len() >= SET_CAP => Membership::Full,
        Err(i) => {
            // Grow by a quarter, not double: a key's set is usually small and stays.
            if members.len() == members.capacity() {
                members.reserve_exact((members.len() / 4).max(2));
            }
            members.insert(i, x);
            Membership::Changed
        }
    }
}

fn remove_sorted<T: Ord>(members: &mut Vec<T>, x: &T) -> Membership {
    match members.binary_search(x) {
        Ok(i) => {
            members.remove(i);
            Membership::Changed
        }
        Err(_) => Membership::Unchanged,
    }
}

/// Where a reducer reports side effects: the fan-out index and the report.
pub(super) struct Change<'a> {
    pub(super) customer: CustomerId,
    pub(super) index: &'a mut FanOutIndex,
    pub(super) report: &'a mut IngestReport,
}

/// `add(x)` on a scalar state: numbers of the same type; `none` on either side stays
/// `none`; integer overflow is an error.
fn add(current: &Value, x: &Value) -> Result<Value, EvalErrorKind> {
    Ok(match (current, x) {
        (Value::Int(a), Value::Int(b)) => {
            Value::Int(a.checked_add(*b).ok_or(EvalErrorKind::IntegerOverflow)?)
        }
        (Value::Duration(a), Value::Duration(b)) => {
            Value::Duration(a.checked_add(*b).ok_or(EvalErrorKind::IntegerOverflow)?)
        }
        (Value::Float(a), Value::Float(b)) => Value::Float(a + b),
        (Value::Float(a), Value::Int(b)) => Value::Float(a + *b as f64),
        _ => Value::None,
    })
}
