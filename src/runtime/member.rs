//! The compact form of one scalar [`Value`] inside per-key state: an `i64` whose
//! integer order is the value order, plus the [`ScalarKind`] (known from the declared
//! type) that turns it back into a `Value`.
//!
//! Set members, window entries and fan-out index keys are stored this way, so a
//! window entry is 16 bytes `(ts, value)` and a member compares as one integer.
//! Strings are their interned [`Sym`] number: deterministic for a given input, but
//! not alphabetical (serialisation sorts sets by text, not this module).

use crate::interp::{Sym, Value};

pub use crate::ir::ScalarKind;

impl ScalarKind {
    pub fn decode(self, m: i64) -> Value {
        match self {
            ScalarKind::Bool => Value::Bool(m != 0),
            ScalarKind::Int => Value::Int(m),
            ScalarKind::Float => Value::Float(decode_float(m)),
            ScalarKind::Str => Value::Str(Sym(u32::try_from(m).unwrap_or(u32::MAX))),
            ScalarKind::Time => Value::Time(m),
            ScalarKind::Duration => Value::Duration(m),
        }
    }
}

/// The stored form of a scalar value; `None` for `Value::None` and non-scalars.
/// The encoding depends only on the value's variant, so the fan-out index can
/// encode a lookup value without knowing the state's type.
pub fn encode(v: &Value) -> Option<i64> {
    match *v {
        Value::Bool(b) => Some(i64::from(b)),
        Value::Int(i) | Value::Time(i) | Value::Duration(i) => Some(i),
        Value::Float(f) => Some(encode_float(f)),
        Value::Str(s) => Some(i64::from(s.0)),
        _ => None,
    }
}

/// Floats as integers in `f64::total_cmp` order, with `-0.0` folded into `0.0` so
/// that values equal under `==` get one member.
fn encode_float(f: f64) -> i64 {
    let f = if f == 0.0 { 0.0 } else { f };
    let bits = f.to_bits() as i64;
    if bits < 0 { bits ^ i64::MAX } else { bits }
}

fn decode_float(m: i64) -> f64 {
    let bits = if m < 0 { m ^ i64::MAX } else { m };
    f64::from_bits(bits as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_encoding_keeps_order_and_round_trips() {
        let xs = [
            f64::NEG_INFINITY,
            -3.5,
            -1e-300,
            0.0,
            1e-300,
            2.0,
            f64::INFINITY,
        ];
        let enc: Vec<i64> = xs.iter().map(|&x| encode_float(x)).collect();
        assert!(enc.windows(2).all(|w| w[0] < w[1]), "{enc:?}");
        for x in xs {
            assert_eq!(decode_float(encode_float(x)), x);
        }
        assert_eq!(encode_float(-0.0), encode_float(0.0));
    }
}
