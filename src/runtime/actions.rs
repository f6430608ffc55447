//! What a fired step hands out: one action at a time (`webhook`, `email`, `emit`,
//! `set profile`, `enroll`), its payload (shared across a fan-out when it does not
//! read the customer) and the record with its stable id.

use std::sync::Arc;

use super::entries::DirectRead;
use super::ids::{ActionIdParts, action_id};
use super::lifecycle::Start;
use super::{ActionBody, ActionRecord, Output, Recipient, Runtime};
use crate::interp::{EvalError, Value, bound_field};
use crate::ir::{ActionKind, Payload, StartIr};

impl Runtime<'_> {
    /// Run one action of the instance in `slot` and hand its record out.
    pub(super) fn run_action(
        &mut self,
        slot: u32,
        step_ix: usize,
        index: usize,
        action: &ActionKind,
        at: i64,
        out: &mut dyn Output,
    ) -> Result<(), EvalError> {
        let program = self.program;
        let Some(inst) = self.state.instances.get(slot) else {
            return Ok(());
        };
        let c = inst.customer;
        let body = match action {
            ActionKind::Webhook { url, payload } => ActionBody::Webhook {
                url,
                payload: self.payload(slot, payload, at)?,
            },
            ActionKind::Emit { name, payload } => ActionBody::Emit {
                name,
                payload: self.payload(slot, payload, at)?,
            },
            ActionKind::Email {
                template,
                to,
                payload,
            } => {
                let to = match (to, self.plan.email) {
                    (Some(e), _) => Recipient::Value(self.eval_instance(slot, *e, at, None)?),
                    (None, Some(field)) => Recipient::Value(
                        self.state
                            .customers
                            .get(c)
                            .map_or(Value::None, |x| x.data.profile(field)),
                    ),
                    // Filled in with the key by `emit`.
                    (None, None) => Recipient::Key(""),
                };
                ActionBody::Email {
                    template,
                    to,
                    payload: self.payload(slot, payload, at)?,
                }
            }
            ActionKind::SetProfile { field, value } => {
                let value = self.eval_instance(slot, *value, at, None)?;
                if let Some(cust) = self.state.customers.get_mut(c) {
                    cust.data.set_profile(*field, value.clone());
                }
                let name = program
                    .profile
                    .get(field.index())
                    .map_or("", |f| f.name.as_str());
                ActionBody::Set { field: name, value }
            }
            ActionKind::Enroll { trigger } => {
                let st = &mut self.state;
                let chained = st
                    .instances
                    .get(slot)
                    .is_some_and(|i| i.start_kind().is_none() && i.start_ts == at);
                if chained && !st.enrolls.admit(st.customers.key(c), at) {
                    st.stats.enrolls_dropped += 1;
                    return Ok(());
                }
                ActionBody::Enroll {
                    trigger_started: program
                        .triggers
                        .get(trigger.index())
                        .map_or("", |d| &d.name),
                }
            }
        };
        let id = self.emit(slot, step_ix, index, at, body, out);
        if let ActionKind::Enroll { trigger } = action
            && matches!(
                program.triggers.get(trigger.index()).map(|d| &d.start),
                Some(StartIr::Enroll)
            )
        {
            self.start_instance(*trigger, c, at, Start::Enroll { by: id });
        }
        Ok(())
    }

    /// A payload: the `with` object, or the starting event's present fields in
    /// declaration order (`{}` without a starting event).
    fn payload(&mut self, slot: u32, payload: &Payload, at: i64) -> Result<Value, EvalError> {
        // Within a fan-out, a payload that does not read the customer is the same
        // for every record: built by the first, shared (one `Arc`) by the rest. An
        // error is not kept: each record meets it again, as without sharing.
        let shared_as = match payload {
            Payload::Object(e) if !self.plan.reads_customer(*e) => Some(e.index()),
            Payload::Object(_) => None,
            Payload::StartEvent => Some(usize::MAX),
        };
        if let (Some(id), Some(shared)) = (shared_as, &self.shared_payloads)
            && let Some((_, v)) = shared.iter().find(|(x, _)| *x == id)
        {
            return Ok(v.clone());
        }
        let value = self.build_payload(slot, payload, at)?;
        if let (Some(id), Some(shared)) = (shared_as, &mut self.shared_payloads) {
            shared.push((id, value.clone()));
        }
        Ok(value)
    }

    fn build_payload(&mut self, slot: u32, payload: &Payload, at: i64) -> Result<Value, EvalError> {
        let program = self.program;
        match payload {
            Payload::Object(e) => {
                match super::entries::members(program, &self.plan, *e) {
                    // The object built here with its keys interned once (by the plan),
                    // not on every record; values are evaluated in order as the
                    // evaluator would, and the first error ends it the same way. A
                    // member that is a field of the starting event or an aggregate is
                    // read here, as the engine would read it, without a call.
                    Some((entries, keys)) => {
                        let mut members = Vec::with_capacity(entries.len());
                        for ((_, value), key) in entries.iter().zip(keys.iter()) {
                            let v = match super::entries::payload_read(program, *value) {
                                Some(read) => self.read_member(slot, read, at),
                                None => self.eval_instance(slot, *value, at, None)?,
                            };
                            members.push((*key, v));
                        }
                        Ok(Value::Object(Arc::new(members)))
                    }
                    None => self.eval_instance(slot, *e, at, None),
                }
            }
            Payload::StartEvent => {
                let Some(inst) = self.state.instances.get(slot) else {
                    return Ok(Value::None);
                };
                let names = inst
                    .start_kind()
                    .and_then(|k| self.plan.field_names.get(k.index()));
                let members = match names {
                    Some(names) => names
                        .iter()
                        .zip(inst.fields().iter())
                        .filter(|(_, v)| **v != Value::None)
                        .map(|(n, v)| (*n, v.clone()))
                        .collect(),
                    None => Vec::new(),
                };
                Ok(Value::Object(Arc::new(members)))
            }
        }
    }

    /// A payload member of the instance in `slot` at `at` that the runtime reads
    /// itself: what [`Self::eval_instance`] would give.
    fn read_member(&self, slot: u32, read: DirectRead<'_>, at: i64) -> Value {
        let Some(inst) = self.state.instances.get(slot) else {
            return Value::None;
        };
        match read {
            DirectRead::StartField(choices) => {
                bound_field(inst.start_kind().map(|k| (k, inst.fields())), choices)
            }
            DirectRead::Agg(agg) => self.read_aggregate(inst.customer, agg, at),
        }
    }

    /// Hand one record to `out` and count it; its id.
    fn emit(
        &mut self,
        slot: u32,
        step_ix: usize,
        index: usize,
        at: i64,
        body: ActionBody<'_>,
        out: &mut dyn Output,
    ) -> u128 {
        let program = self.program;
        let st = &mut self.state;
        let Some(inst) = st.instances.get(slot) else {
            return 0;
        };
        let t = inst.trigger;
        let key = st.customers.key(inst.customer);
        let name = program.trigger(t).name.as_str();
        let step = u32::try_from(step_ix + 1).unwrap_or(u32::MAX);
        let action_index = u32::try_from(index).unwrap_or(u32::MAX);
        let id = action_id(ActionIdParts {
            trigger: name,
            key,
            start_ts: inst.start_ts,
            origin: inst.origin,
            step,
            action: action_index,
        });
        let body = match body {
            ActionBody::Email {
                template,
                to: Recipient::Key(_),
                payload,
            } => ActionBody::Email {
                template,
                to: Recipient::Key(key),
                payload,
            },
            body => body,
        };
        let record = ActionRecord {
            trigger: name,
            step,
            trigger_id: t,
            action_index,
            key,
            at,
            id,
            body,
        };
        out.action(&record, program, &st.interner);
        if let Some(n) = st.stats.actions.get_mut(t.index()) {
            *n += 1;
        }
        id
    }
}
