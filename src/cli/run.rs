//! `trigc run`: rules plus an NDJSON event stream in, action records out.

use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// Rule files or directories, compiled as one program.
    #[arg(required = true)]
    pub rules: Vec<std::path::PathBuf>,
}

pub fn run(args: &RunArgs) -> ExitCode {
    let _ = args;
    ExitCode::SUCCESS
}
