//! Newtype indices into the IR's flat tables. Each prints with a short prefix
//! (`e3` for an event, `x12` for an expression) in `--emit ir`.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub struct $name(pub u32);

        impl $name {
            pub fn index(self) -> usize {
                self.0 as usize
            }
            pub fn from_index(i: usize) -> Self {
                $name(u32::try_from(i).unwrap_or(u32::MAX))
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($prefix, "{}"), self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(self, f)
            }
        }
    };
}

id!(/// A declared event type: index into `Program::events`.
    EventId, "e");
id!(/// A field of one event type: index into `EventDef::fields`.
    FieldIdx, "f");
id!(/// A declared state: index into `Program::states`.
    StateId, "s");
id!(/// A profile attribute: index into `Program::profile`.
    ProfileFieldId, "p");
id!(/// A derived aggregate (window, last/first): index into `Program::aggregates`.
    AggId, "a");
id!(/// A trigger: index into `Program::triggers`.
    TriggerId, "t");
id!(/// An expression: index into `Program::exprs` (and its side tables).
    ExprId, "x");
