//! `trigc gen`: a seeded, deterministic generator of realistic event streams.

use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct GenArgs {
    /// How many events to write.
    #[arg(long, default_value_t = 1000)]
    pub events: u64,
}

pub fn generate(args: &GenArgs) -> ExitCode {
    let _ = args;
    ExitCode::SUCCESS
}
