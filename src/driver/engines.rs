//! Engines by name: the one place that knows every engine, so the CLI, the tests and
//! the benches pick one with a string or a flag and get it as a value.

use crate::interp::{Engine, EngineError, Interp};

/// The engines trigc has.
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum EngineKind {
    /// The reference interpreter.
    #[default]
    Interp,
    /// The Cranelift JIT: every expression compiled to native code.
    Jit,
}

impl EngineKind {
    /// Every engine, the reference first.
    pub const ALL: [EngineKind; 2] = [EngineKind::Interp, EngineKind::Jit];

    /// The name `--engine` takes.
    pub fn name(self) -> &'static str {
        match self {
            EngineKind::Interp => "interp",
            EngineKind::Jit => "jit",
        }
    }

    /// The engine called `name`, if trigc has one.
    pub fn from_name(name: &str) -> Option<EngineKind> {
        EngineKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// A fresh engine of this kind (not yet prepared for a program).
    pub fn build(self) -> Result<Box<dyn Engine>, EngineError> {
        match self {
            EngineKind::Interp => Ok(Box::new(Interp)),
            EngineKind::Jit => Ok(Box::new(crate::jit::Jit::new()?)),
        }
    }

    /// The engines that can run on this build and host: what tests run every case
    /// under.
    pub fn available() -> Vec<EngineKind> {
        EngineKind::ALL
            .into_iter()
            .filter(|k| k.build().is_ok())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_the_reference_is_available() {
        for kind in EngineKind::ALL {
            assert_eq!(EngineKind::from_name(kind.name()), Some(kind));
        }
        assert_eq!(EngineKind::from_name("nope"), None);
        assert_eq!(EngineKind::available().first(), Some(&EngineKind::Interp));
        let engine = EngineKind::Interp.build().ok();
        assert_eq!(engine.map(|e| e.name()), Some("interp"));
    }
}
