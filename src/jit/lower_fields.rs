//! Reading the bound events inline: a field (`Expr::Field`) and the time
//! (`Expr::EventTime`) straight from the event the context holds
//! ([`Ctx::events`](super::abi::Ctx)), without a helper call. A helper call
//! crosses `extern "C"`, the `Env` trait object and `field_value`'s search; a
//! guard reading three fields paid that three times.
//!
//! The result is `interp::eval::field_value`'s, case by case: an event of none of
//! the field's types, no event at all, or an index past the stored prefix read as
//! `none`; a `none` slot reads as `none`; a slot holding the expected scalar reads
//! as its payload. Anything else (a value of another kind than the program's type
//! says, which a well-typed program never meets) takes the helper, which hands
//! over whatever the interpreter would.

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{BlockArg, InstBuilder, Value as Clif, types};

use super::abi::{
    BOUND_FIELDS, BOUND_KIND, BOUND_LEN, BOUND_SIZE, BOUND_TS, CTX_EVENTS, ScalarKind,
    binding_slot, value_layout,
};
use super::lower::{Lower, Lowered, Scalar, flags};
use crate::ir::{Binding, EventId, ExprId, FieldIdx};

impl Lower<'_, '_> {
    /// The offset in the context of part `at` of the event bound to `binding`,
    /// which the function now reads (so the caller fills it in).
    fn bound(&mut self, binding: Binding, at: i32) -> i32 {
        let slot = binding_slot(binding);
        if let Some(read) = self.reads_events.get_mut(slot) {
            *read = true;
        }
        CTX_EVENTS + slot as i32 * BOUND_SIZE + at
    }

    fn load_bound(&mut self, binding: Binding, at: i32) -> Clif {
        let offset = self.bound(binding, at);
        self.b.ins().load(types::I64, flags(), self.ctx, offset)
    }

    /// `Expr::Field` `id` of scalar kind `kind`.
    pub fn field(
        &mut self,
        id: ExprId,
        kind: ScalarKind,
        binding: Binding,
        choices: &[(EventId, FieldIdx)],
    ) -> Lowered<Scalar> {
        let event = self.load_bound(binding, BOUND_KIND);
        let len = self.load_bound(binding, BOUND_LEN);
        let fields = self.load_bound(binding, BOUND_FIELDS);
        // The slot of the first choice of the bound event's type; `u64::MAX` (past
        // any length) when none is.
        let mut index = self.i64c(-1);
        for &(e, f) in choices.iter().rev() {
            let same = self.b.ins().icmp_imm_s(IntCC::Equal, event, i64::from(e.0));
            let slot = self.i64c(i64::from(f.0));
            index = self.b.ins().select(same, slot, index);
        }
        let inside = self.b.ins().icmp(IntCC::UnsignedLessThan, index, len);
        let (read, hit, other, slow) = (
            self.b.create_block(),
            self.b.create_block(),
            self.b.create_block(),
            self.b.create_block(),
        );
        let join = self.scalar_join(kind);
        let absent = self.i8c(0);
        let zero = self.zero(kind);
        let none = [BlockArg::from(absent), BlockArg::from(zero)];
        self.b.ins().brif(inside, read, &[], join, &none);

        // In range: the slot's tag says what it holds.
        self.b.switch_to_block(read);
        let offset = self.b.ins().imul_imm_s(index, value_layout::SIZE);
        let value = self.b.ins().iadd(fields, offset);
        let tag = self
            .b
            .ins()
            .uload8(types::I32, flags(), value, value_layout::TAG);
        let expected =
            self.b
                .ins()
                .icmp_imm_s(IntCC::Equal, tag, i64::from(value_layout::tag(kind)));
        self.b.ins().brif(expected, hit, &[], other, &[]);

        self.b.switch_to_block(hit);
        let at = value_layout::payload(kind);
        let bits = match kind {
            ScalarKind::Bool => self.b.ins().uload8(types::I64, flags(), value, at),
            ScalarKind::Str => self.b.ins().uload32(flags(), value, at),
            ScalarKind::Float => self.b.ins().load(types::F64, flags(), value, at),
            ScalarKind::Int | ScalarKind::Time | ScalarKind::Duration => {
                self.b.ins().load(types::I64, flags(), value, at)
            }
        };
        let present = self.i8c(1);
        self.jump_scalar(join, present, bits);

        self.b.switch_to_block(other);
        let is_none = self
            .b
            .ins()
            .icmp_imm_s(IntCC::Equal, tag, i64::from(value_layout::TAG_NONE));
        self.b.ins().brif(is_none, join, &none, slow, &[]);

        // Another kind of value than the type says: whatever the helper makes of it.
        self.b.switch_to_block(slow);
        let s = self.read(id, kind)?;
        self.jump_scalar(join, s.present, s.bits);
        Ok(self.joined(join, kind))
    }

    /// `Expr::EventTime`: the bound event's time when one is bound (of type `of`,
    /// if given), else `none`.
    pub fn event_time(&mut self, binding: Binding, of: Option<EventId>) -> Scalar {
        let event = self.load_bound(binding, BOUND_KIND);
        let ts = self.load_bound(binding, BOUND_TS);
        let present = match of {
            Some(e) => self.b.ins().icmp_imm_s(IntCC::Equal, event, i64::from(e.0)),
            None => self
                .b
                .ins()
                .icmp_imm_s(IntCC::NotEqual, event, super::abi::NO_EVENT as i64),
        };
        Scalar {
            kind: ScalarKind::Time,
            present,
            bits: ts,
        }
    }
}
