//! SIGHUP: compile the rule files again and carry the running session over to
//! them ([`crate::runtime::carry`]). Shared by the two loops that reload: the read
//! loop of a file or stdin with `--state`/`--deliver` (`service.rs`) and the
//! socket service (`serve.rs`, through [`crate::service::Rules`], called by the
//! engine task between two batches). Each caller then points what else knows the
//! program at the new one: its output (trigger names, action templates) and a
//! durable state's print (checkpoints record the program they were written by).

use super::persist::describe_carry;
use super::run::{RunArgs, build_engine, compile_rules};
use crate::driver::{Session, program_fingerprint};
use crate::runtime::carry::{ProgramPrint, carry_over, program_print};
use crate::service::Reloaded;

/// Move `session` to the rules as they are on disk now: `print` is the running
/// program's, and becomes the new one's. `max_jump` is the `--max-jump` the
/// caller runs with (a wall-clock service has none). `None` keeps the running
/// program: rules that do not check (their diagnostics on stderr), rules
/// unchanged, or a state that cannot be carried over (the reason on stderr).
///
/// The caller flushes its output first: records and notices of the old program
/// go out before the line telling of the reload.
pub(super) fn reload_rules<'p>(
    args: &RunArgs,
    session: &mut Session<'p>,
    print: &mut ProgramPrint,
    max_jump: i64,
) -> Option<Reloaded> {
    let Ok((sources, program)) = compile_rules(args) else {
        eprintln!("trigc: SIGHUP: the rules do not check: the running ones are kept");
        return None;
    };
    let mut checkpoint = session.checkpoint();
    if checkpoint.program == program_fingerprint(&program) {
        eprintln!("trigc: SIGHUP: the rules are unchanged");
        return None;
    }
    // The session borrows its program for the rest of the run: a reloaded program
    // (a few kilobytes) is kept until the process ends. Leaked, it outlives every
    // borrow of the old one, so the caller's output can name its triggers too.
    let program: &'static crate::ir::Program = Box::leak(Box::new(program));
    let sources: &'static crate::syntax::SourceMap = Box::leak(Box::new(sources));
    let (report, added) = match carry_over(&mut checkpoint.runtime, print, program) {
        Ok(carried) => carried,
        Err(why) => {
            eprintln!(
                "trigc: SIGHUP: the state cannot be carried over ({why}): the running rules are kept"
            );
            return None;
        }
    };
    checkpoint.program = program_fingerprint(program);
    let engine = match build_engine(args.engine) {
        Ok(engine) => engine,
        Err(e) => {
            eprintln!("trigc: SIGHUP: {e}: the running rules are kept");
            return None;
        }
    };
    let config = *session.runtime.config();
    let mut next = match Session::resume(program, engine, config, checkpoint) {
        Ok(next) => next,
        Err(e) => {
            eprintln!("trigc: SIGHUP: {e}: the running rules are kept");
            return None;
        }
    };
    next.set_max_jump(max_jump);
    next.runtime.start_added_schedules(&added);
    *session = next;
    *print = program_print(program);
    eprintln!("trigc: SIGHUP: {}", describe_carry(&report));
    Some(Reloaded { program, sources })
}
