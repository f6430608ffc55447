//! `trigc check` and `trigc compile`.

use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct CheckArgs {
    /// Rule files or directories (all `.trig` files below), compiled as one program.
    #[arg(required = true)]
    pub paths: Vec<std::path::PathBuf>,
}

pub fn check(args: &CheckArgs) -> ExitCode {
    let _ = args;
    ExitCode::SUCCESS
}
