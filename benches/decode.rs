//! Event-line decoding throughput: `io::Decoder` against `serde_json::from_slice` into
//! a `serde_json::Value` on the same lines, so the ratio is visible side by side.
//! The lines are `trigc gen` output (the shop schema of `rules/events.trig`, ~120
//! bytes each). Run: `cargo bench --bench decode`.
//!
//! Each benchmark decodes the same batch of 1,000 lines; divan prints the time per
//! batch (so ns/line = the time in µs) and the throughput in lines/s and bytes/s.

#[path = "fixtures/schema.rs"]
mod schema;
#[path = "fixtures/shop.rs"]
mod shop;

use std::io::Cursor;

use divan::counter::{BytesCount, ItemsCount};
use trigc::cli::generate::{GenConfig, write_stream};
use trigc::interp::Interner;
use trigc::io::{Decoded, Decoder, Lines};
use trigc::ir::Program;
use trigc::runtime::Event;

fn main() {
    divan::main();
}

const LINES: usize = 1000;

/// The declarations of `rules/events.trig`, every field read by some rule (the
/// decoder's most expensive case: every string is interned).
fn shop_program() -> Program {
    let events = [
        "ADD_TO_CART",
        "REMOVE_FROM_CART",
        "PURCHASE",
        "VISIT",
        "VIEW",
        "WISHLIST_ADD",
        "EMAIL_SENT",
        "EMAIL_CLICK",
        "PRICE_CHANGE",
        "PROFILE_UPDATE",
    ];
    Program {
        events: events.into_iter().map(shop::shop_event).collect(),
        ..Program::default()
    }
}

fn lines() -> Vec<Vec<u8>> {
    let config = GenConfig {
        events: LINES as u64,
        customers: 1000,
        products: 200,
        seed: 1,
        start: 1_767_571_200_000,
    };
    let mut out = Vec::new();
    write_stream(&config, &mut out).unwrap_or_default();
    out.split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

fn total_bytes(lines: &[Vec<u8>]) -> usize {
    lines.iter().map(|l| l.len() + 1).sum()
}

#[divan::bench]
fn trigc_decoder(bencher: divan::Bencher) {
    let lines = lines();
    let mut decoder = Decoder::new(&shop_program());
    let mut interner = Interner::default();
    let mut event = Event::default();
    bencher
        .counter(ItemsCount::new(lines.len()))
        .counter(BytesCount::new(total_bytes(&lines)))
        .bench_local(|| {
            let mut ok = 0;
            for (i, line) in lines.iter().enumerate() {
                let res = decoder.decode(
                    divan::black_box(line),
                    i as u64 + 1,
                    &mut interner,
                    &mut event,
                );
                ok += usize::from(res == Decoded::Event);
            }
            assert_eq!(ok, LINES);
            ok
        });
}

#[divan::bench]
fn serde_json_value(bencher: divan::Bencher) {
    let lines = lines();
    bencher
        .counter(ItemsCount::new(lines.len()))
        .counter(BytesCount::new(total_bytes(&lines)))
        .bench_local(|| {
            let mut ok = 0;
            for line in &lines {
                let value = serde_json::from_slice::<serde_json::Value>(divan::black_box(line));
                ok += usize::from(value.is_ok_and(|v| v.is_object()));
            }
            assert_eq!(ok, LINES);
            ok
        });
}

/// Reading the lines from a byte stream and decoding them: what `trigc run` does.
#[divan::bench]
fn trigc_lines_and_decoder(bencher: divan::Bencher) {
    let lines = lines();
    let text: Vec<u8> = lines
        .iter()
        .flat_map(|l| l.iter().copied().chain([b'\n']))
        .collect();
    let mut decoder = Decoder::new(&shop_program());
    let mut interner = Interner::default();
    let mut event = Event::default();
    bencher
        .counter(ItemsCount::new(lines.len()))
        .counter(BytesCount::new(text.len()))
        .bench_local(|| {
            let mut reader = Lines::new(Cursor::new(divan::black_box(&text)));
            let mut ok = 0;
            while let Ok(Some(line)) = reader.next_line() {
                let res = decoder.decode(line.bytes, line.number, &mut interner, &mut event);
                ok += usize::from(res == Decoded::Event);
            }
            assert_eq!(ok, LINES);
            ok
        });
}
