//! `trigc compile --emit ir`: a stable, readable listing of a [`Program`].

use super::Program;

pub fn print(program: &Program) -> String {
    format!("{program:#?}\n")
}
