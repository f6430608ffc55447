//! What the benches share: compiling sources, `rules/` as `trigc run rules/`
//! compiles it, and a runtime with its events decoded beforehand. Included by each bench binary that needs it as
//! `#[path = "common/programs.rs"] mod programs;`.

use std::io;

use trigc::interp::{Engine, Interner};
use trigc::io::sink::NdjsonSink;
use trigc::io::{Decoded, Decoder, Lines};
use trigc::ir::Program;
use trigc::runtime::{ActionRecord, Event, Notice, Output, Runtime, RuntimeConfig};
use trigc::syntax::SourceMap;

/// `files` (name, text) compiled as one program.
pub fn compile(files: &[(&str, String)]) -> Program {
    let mut sources = SourceMap::default();
    for (name, text) in files {
        sources.add(*name, text.clone());
    }
    let compiled = trigc::compile(&sources);
    match compiled.program {
        Some(p) => p,
        None => panic!("bench program does not compile: {:?}", compiled.diagnostics),
    }
}

/// Every `.trig` file of `rules/`, as `trigc run rules/` compiles them.
pub fn rules_program() -> Program {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/rules");
    let mut files: Vec<(String, String)> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "trig"))
                .map(|p| {
                    let text = std::fs::read_to_string(&p).unwrap_or_default();
                    (p.display().to_string(), text)
                })
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    let files: Vec<(&str, String)> = files.iter().map(|(n, t)| (n.as_str(), t.clone())).collect();
    compile(&files)
}

/// A fresh runtime under `engine`, plus `lines` decoded into its interner.
pub fn prepared<'p>(
    program: &'p Program,
    lines: &[u8],
    engine: Box<dyn Engine>,
) -> (Runtime<'p>, Vec<Event>) {
    prepared_with(program, lines, engine, RuntimeConfig::default())
}

/// [`prepared`] under `config`.
pub fn prepared_with<'p>(
    program: &'p Program,
    lines: &[u8],
    engine: Box<dyn Engine>,
    config: RuntimeConfig,
) -> (Runtime<'p>, Vec<Event>) {
    let mut rt = Runtime::new(program, engine, config).expect("the engine runs the program");
    let mut decoder = Decoder::new(program);
    let mut event = Event::default();
    let mut events = Vec::new();
    let mut reader = Lines::new(lines);
    while let Ok(Some(line)) = reader.next_line() {
        if let Decoded::Event =
            decoder.decode(line.bytes, line.number, rt.interner_mut(), &mut event)
        {
            events.push(event.clone());
        }
    }
    (rt, events)
}

/// Records into an NDJSON sink over `io::sink()`: the full formatting cost, no IO.
pub struct NullOutput(pub NdjsonSink<io::Sink>);

impl NullOutput {
    pub fn new() -> NullOutput {
        NullOutput(NdjsonSink::new(io::sink()))
    }
}

impl Output for NullOutput {
    fn action(&mut self, record: &ActionRecord<'_>, program: &Program, interner: &Interner) {
        self.0.write(record, program, interner);
    }
    fn notice(&mut self, _: &Notice) {}
}

/// Push every event, then finish (not inlined: profilers can single it out).
#[inline(never)]
pub fn replay(rt: &mut Runtime<'_>, events: &[Event]) {
    let mut out = NullOutput::new();
    for e in events {
        rt.push(e, &mut out);
    }
    rt.finish(&mut out);
    let _ = out.0.finish();
}
