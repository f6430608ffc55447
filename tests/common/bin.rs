//! Running the built `trigc` binary from a test: one place that knows how (the path
//! cargo gives, no colour, a fixed terminal width, the crate root as working
//! directory, so relative paths read as a user types them). Included by the test
//! binaries that spawn it as `#[path = "common/bin.rs"] mod bin;`.

use std::process::{Command, Output};

/// `trigc` ready to take arguments.
pub fn trigc() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_trigc"));
    command
        .env("NO_COLOR", "1")
        .env("COLUMNS", "80")
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    command
}

/// `trigc ARGS`, run to its end.
pub fn run(args: &[&str]) -> Output {
    trigc().args(args).output().expect("the trigc binary runs")
}

/// Bytes a run printed, as text.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
