//! `trigc check`, `trigc compile --emit ast|ir|clif` and `trigc explain`.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use super::load::load_rules;
use crate::diag::render::{RenderConfig, render, render_json};
use crate::diag::{Code, Diagnostic, Severity};
use crate::syntax::SourceMap;

#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Format {
    /// Human-readable reports on stderr.
    #[default]
    Text,
    /// A JSON array of diagnostics on stdout.
    Json,
}

#[derive(clap::Args, Debug)]
pub struct CheckArgs {
    /// Rule files or directories (all `.trig` files below), checked as one program.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Output format of the diagnostics.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Fail (exit 1) on warnings too.
    #[arg(long)]
    pub deny_warnings: bool,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Emit {
    /// The untyped syntax tree.
    Ast,
    /// The typed intermediate representation both engines run.
    Ir,
    /// The Cranelift IR the JIT generates for every entry expression.
    Clif,
}

#[derive(clap::Args, Debug)]
pub struct CompileArgs {
    /// Rule files or directories, compiled as one program.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// What to print on stdout.
    #[arg(long, value_enum, default_value_t = Emit::Ir)]
    pub emit: Emit,
}

#[derive(clap::Args, Debug)]
pub struct ExplainArgs {
    /// A diagnostic code such as `unknown-event` or `trig::unknown-event`; without
    /// one, every code is listed.
    pub code: Option<String>,
}

pub fn check(args: &CheckArgs) -> ExitCode {
    let (sources, mut diags) = match load_rules(&args.paths) {
        Ok(loaded) => loaded,
        Err(e) => return usage_error(&e.to_string()),
    };
    let compiled = crate::compile(&sources);
    diags.extend(compiled.diagnostics);
    crate::diag::sort(&mut diags);
    let errors = diags.iter().filter(|d| d.is_error()).count();
    let warnings = diags.len() - errors;
    match args.format {
        Format::Json => {
            if let Some(code) = super::write_stdout(&format!("{}\n", render_json(&sources, &diags)))
            {
                return code;
            }
        }
        Format::Text => {
            report(&sources, &diags);
            eprintln!(
                "checked {} file{}: {} error{}, {} warning{}",
                sources.files.len(),
                plural(sources.files.len()),
                errors,
                plural(errors),
                warnings,
                plural(warnings)
            );
        }
    }
    if errors > 0 {
        ExitCode::from(1)
    } else if args.deny_warnings && warnings > 0 {
        if args.format == Format::Text {
            eprintln!("error: warnings are denied (--deny-warnings)");
        }
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

pub fn compile(args: &CompileArgs) -> ExitCode {
    let (sources, mut diags) = match load_rules(&args.paths) {
        Ok(loaded) => loaded,
        Err(e) => return usage_error(&e.to_string()),
    };
    let compiled = crate::compile(&sources);
    diags.extend(compiled.diagnostics);
    crate::diag::sort(&mut diags);
    report(&sources, &diags);
    if diags.iter().any(Diagnostic::is_error) {
        return ExitCode::from(1);
    }
    let text = match (args.emit, &compiled.program) {
        (Emit::Ast, _) => crate::syntax::print::print_ast(&compiled.ast),
        (Emit::Ir, Some(program)) => {
            let plan = crate::runtime::plan::Plan::new(program, &mut Default::default());
            crate::ir::print::print(program) + &plan.index.describe(program)
        }
        // The functions `trigc run` compiles with its default options.
        (Emit::Clif, Some(program)) => match crate::jit::clif_text(
            program,
            &crate::runtime::entries::engine_entries(program, &Default::default()),
        ) {
            Ok(text) => text,
            Err(e) => return usage_error(&e.to_string()),
        },
        (Emit::Ir | Emit::Clif, None) => return ExitCode::from(1),
    };
    super::write_stdout(&text).unwrap_or(ExitCode::SUCCESS)
}

pub fn explain(args: &ExplainArgs) -> ExitCode {
    let severity = |code: &Code| match code.severity() {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let Some(wanted) = &args.code else {
        // Errors first, then warnings; each group in the table's order.
        let (errors, warnings): (Vec<&Code>, Vec<&Code>) = Code::ALL
            .iter()
            .partition(|c| c.severity() == Severity::Error);
        let list: String = errors
            .into_iter()
            .chain(warnings)
            .map(|code| format!("{:<28} {}\n", code.to_string(), severity(code)))
            .collect();
        return super::write_stdout(&list).unwrap_or(ExitCode::SUCCESS);
    };
    let name = wanted.strip_prefix("trig::").unwrap_or(wanted);
    match Code::ALL.iter().find(|c| c.name() == name) {
        Some(code) => {
            let text = format!("{code} ({})\n\n{}\n", severity(code), code.doc());
            super::write_stdout(&text).unwrap_or(ExitCode::SUCCESS)
        }
        None => {
            let hint = crate::diag::did_you_mean(name, Code::ALL.iter().map(|c| c.name()))
                .map(|c| format!(" (did you mean `{c}`?)"))
                .unwrap_or_default();
            usage_error(&format!(
                "unknown diagnostic code `{wanted}`{hint}; `trigc explain` lists them"
            ))
        }
    }
}

/// Print diagnostics to stderr, in colour when stderr is a terminal and `NO_COLOR`
/// is unset.
pub fn report(sources: &SourceMap, diags: &[Diagnostic]) {
    let stderr = std::io::stderr();
    let color = stderr.is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let width = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(100);
    let mut err = stderr.lock();
    for d in diags {
        let _ = write!(err, "{}", render(sources, d, RenderConfig { color, width }));
    }
}

fn usage_error(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
