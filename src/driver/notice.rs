//! The wording of runtime notices: one line each, for stderr or a log.

use crate::diag::quote;
use crate::ir::Program;
use crate::runtime::Notice;
use crate::source::SourceMap;
use crate::time::format_time;

/// The wording of a runtime notice (one line, no newline).
pub fn describe_notice(notice: &Notice, program: &Program, sources: &SourceMap) -> String {
    match notice {
        Notice::TimesLookLikeSeconds { line } => format!(
            "line {line}: warning: the integer event times read so far all lie before 2000 as \
             epoch milliseconds; if they are epoch seconds, say so in the schema \
             (`time {} epoch seconds`)",
            program.schema.time
        ),
        Notice::Late {
            line,
            ts,
            watermark,
            dropped,
        } => format!(
            "line {line}: late event at {} (watermark {}), {}",
            format_time(*ts),
            format_time(*watermark),
            if *dropped { "dropped" } else { "processed" }
        ),
        Notice::EvalError {
            trigger,
            expr,
            kind,
            key,
            at,
        } => {
            let place = program
                .expr_spans
                .get(expr.index())
                .map(|s| sources.location(*s))
                .unwrap_or_default();
            let trigger = trigger
                .and_then(|t| program.triggers.get(t.index()))
                .map(|t| format!(" in trigger `{}`", t.name))
                .unwrap_or_default();
            format!(
                "{place}: runtime error: {kind}{trigger} for key `{}` at {}",
                quote(key),
                format_time(*at)
            )
        }
    }
}
