//! The `trigc` command line: `check`, `compile`, `run`, `gen`, `infer`, `explain`. `check.rs`
//! holds the three that report on rules and run nothing (`check`, `compile`,
//! `explain`), `run.rs` holds `run` (`serve.rs` its socket input), `generate.rs` holds `gen`, `infer.rs` holds `infer`, and `load.rs` reads
//! rule paths for those that take them; this file only parses arguments and
//! dispatches.
//! Exit codes: 0 success, 1 rule errors, 2 usage or IO errors.

pub mod check;
mod csv_input;
pub mod gen_rules;
pub mod gen_shape;
pub mod generate;
pub mod infer;
mod input;
mod journaled;
pub mod load;
mod persist;
mod reload;
pub mod run;
mod serve;
pub mod service;
mod stop;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "trigc",
    version,
    about = "Compiler and runtime for Trig behavioral triggers"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Check rule files and report every problem.
    Check(check::CheckArgs),
    /// Compile rules and print the syntax tree or the IR.
    Compile(check::CompileArgs),
    /// Explain a diagnostic code.
    Explain(check::ExplainArgs),
    /// Run rules against an NDJSON event stream; action records go to stdout.
    Run(run::RunArgs),
    /// Write a seeded, realistic NDJSON event stream.
    Gen(generate::GenArgs),
    /// Read a sample of an event stream and print a starting `.trig` file for it.
    Infer(infer::InferArgs),
}

pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match &cli.command {
        Command::Check(args) => check::check(args),
        Command::Compile(args) => check::compile(args),
        Command::Explain(args) => check::explain(args),
        Command::Run(args) => run::run(args),
        Command::Gen(args) => generate::generate(args),
        Command::Infer(args) => infer::infer(args),
    }
}

/// Write a command's whole output to stdout. A reader that went away (`| head`) is
/// not an error (exit 0, like `gen` and `run`); any other write error is (exit 2).
fn write_stdout(text: &str) -> Option<ExitCode> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => None,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Some(ExitCode::SUCCESS),
        Err(e) => {
            eprintln!("error: cannot write the output: {e}");
            Some(ExitCode::from(2))
        }
    }
}
