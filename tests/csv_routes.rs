//! The two routes of a CSV row agree: read straight into an event
//! (`CsvShape::read_row`) or turned into its JSON line and decoded
//! (`CsvShape::row_to_json` + `Decoder`). Whenever the direct route reads a row, the
//! JSON route must give the same event (type, key, time, every field); the direct
//! route may decline any row, and then only the JSON route counts. Rows are built
//! from cells chosen to sit on the edges: leading zeros, signs, exponents, empty
//! cells, unknown types, times in and out of the canonical spelling and range.

#[path = "common/compile.rs"]
mod compile;

use std::sync::atomic::{AtomicUsize, Ordering};

use compile::program;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use trigc::interp::Interner;
use trigc::io::csv_rows::CsvShape;
use trigc::io::{Decoded, Decoder};
use trigc::ir::Program;
use trigc::runtime::Event;

/// The default envelope, string type names, a `keyed by` event.
const SHOP: &str = "
event VIEW { product: string, price: float?, qty: int? }
event BUY { order: string, amount: float }
event PRICE keyed by product { product: string, new_price: float }
trigger t1 on VIEW where price > 1.0 then emit \"v\" with { p: product, q: qty }
trigger t2 on BUY then emit \"b\" with { a: amount }
trigger t3 on PRICE then emit \"p\" with { n: new_price }
";

/// Key alternatives, integer type codes, epoch seconds (Taobao- and JD-like).
const CODES: &str = "
schema { key user ?? anon, type kind, time t epoch seconds }
event VIEW from 1 { sku: int, cat: string? }
event BUY from 2, \"buy\" { sku: int, total: float? }
trigger t1 on VIEW then emit \"v\" with { s: sku, c: cat }
trigger t2 on BUY then emit \"b\" with { t: total }
";

/// A CDP export flattened to CSV: dotted column names, a key alternative and a
/// member of an object beside another one's.
const NESTED: &str = "
schema { key context.traits.email ?? anonymousId, type event, time timestamp }
event ADD from \"Product Added\" { product: string from properties.product_id, price: float? from properties.price }
event BUY from \"Order Completed\" { revenue: float from properties.revenue, plan: string? from context.plan }
trigger t1 on ADD then emit \"a\" with { p: product, q: price }
trigger t2 on BUY then emit \"b\" with { r: revenue, c: plan }
";

/// One of `likely` mostly, any edge cell sometimes: so most rows get past the type
/// and time cells and the fields' cells are what varies.
fn biased(likely: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop_oneof![
        3 => proptest::sample::select(likely).prop_map(str::to_owned),
        1 => cell(),
    ]
}

fn cell() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("0".to_owned()),
        Just("007".to_owned()),
        Just("-0".to_owned()),
        Just("+5".to_owned()),
        Just("1e5".to_owned()),
        Just("1.5".to_owned()),
        Just(".5".to_owned()),
        Just("-2.25".to_owned()),
        Just("NaN".to_owned()),
        Just("inf".to_owned()),
        Just("99999999999999999999".to_owned()),
        Just("123456789012345678".to_owned()),
        Just("abc".to_owned()),
        Just("a\"b\\c".to_owned()),
        Just("é ü".to_owned()),
        Just("VIEW".to_owned()),
        Just("BUY".to_owned()),
        Just("PRICE".to_owned()),
        Just("buy".to_owned()),
        Just("1".to_owned()),
        Just("2".to_owned()),
        Just("3".to_owned()),
        Just("2026-01-05T10:00:00.123Z".to_owned()),
        Just("2026-01-05T10:00:00Z".to_owned()),
        Just("2026-01-05T10:00:00+01:00".to_owned()),
        Just("1969-12-31T23:59:59Z".to_owned()),
        Just("1767607200000".to_owned()),
        Just("1767607200".to_owned()),
        Just("-1".to_owned()),
        Just("253402300800000".to_owned()),
        "[a-z0-9.-]{0,6}",
    ]
}

/// Rows the direct route read, over all cases of this binary.
static DIRECT: AtomicUsize = AtomicUsize::new(0);

/// Decode `cells` both ways; panics (fails the case) when they disagree.
fn agree(program: &Program, columns: &[String], cells: &[String]) {
    let Ok(mut shape) = CsvShape::new(program, columns) else {
        panic!("the header {columns:?} is refused");
    };
    let mut decoder = Decoder::new(program);
    let mut interner = Interner::default();
    let refs: Vec<&str> = cells.iter().map(String::as_str).collect();
    let origin = 1;
    let mut direct = Event::default();
    let Some(_) = shape.read_row(&refs, (7, origin), &mut interner, &mut direct) else {
        return;
    };
    DIRECT.fetch_add(1, Ordering::Relaxed);
    let mut json = String::new();
    assert_eq!(
        shape.row_to_json(refs.iter().copied(), &mut json),
        Ok(()),
        "the direct route read a row the JSON route refuses: {refs:?}"
    );
    let mut via_json = Event::default();
    let decoded = decoder.decode(json.as_bytes(), 7, &mut interner, &mut via_json);
    assert_eq!(
        decoded,
        Decoded::Event,
        "the direct route read a row the JSON route does not: {refs:?} -> {json}"
    );
    assert_eq!(
        (&direct.kind, &direct.key, direct.ts, &direct.fields),
        (&via_json.kind, &via_json.key, via_json.ts, &via_json.fields),
        "{refs:?} -> {json}"
    );
    assert_eq!(direct.origin != 0, via_json.origin != 0, "{refs:?}");
}

fn columns(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| (*s).to_owned()).collect()
}

proptest! {
    #[test]
    fn shop_rows_read_alike(
        head in (
            biased(&["VIEW", "BUY", "PRICE"]),
            biased(&["u1", "42"]),
            biased(&["2026-01-05T10:00:00.123Z", "1767607200000"]),
        ),
        rest in proptest::collection::vec(cell(), 6),
    ) {
        let cells: Vec<String> = [head.0, head.1, head.2].into_iter().chain(rest).collect();
        let program = program(SHOP);
        let cols = columns(&[
            "type", "user", "ts", "product", "price", "qty", "order", "amount", "new_price",
        ]);
        agree(&program, &cols, &cells);
    }

    #[test]
    fn nested_rows_read_alike(
        head in (
            biased(&["Product Added", "Order Completed"]),
            biased(&["a@b.c", ""]),
            biased(&["a-9", ""]),
            biased(&["2026-01-05T10:00:00.123Z", "1767607200000"]),
        ),
        rest in proptest::collection::vec(cell(), 4),
    ) {
        let cells: Vec<String> =
            [head.0, head.1, head.2, head.3].into_iter().chain(rest).collect();
        let program = program(NESTED);
        let cols = columns(&[
            "event", "context.traits.email", "anonymousId", "timestamp",
            "properties.product_id", "properties.price", "properties.revenue", "context.plan",
        ]);
        agree(&program, &cols, &cells);
    }

    #[test]
    fn code_rows_read_alike(
        head in (
            biased(&["u1", ""]),
            biased(&["a-9", ""]),
            biased(&["1", "2", "buy"]),
            biased(&["1511544070", "-5"]),
        ),
        rest in proptest::collection::vec(cell(), 3),
    ) {
        let cells: Vec<String> =
            [head.0, head.1, head.2, head.3].into_iter().chain(rest).collect();
        let program = program(CODES);
        let cols = columns(&["user", "anon", "kind", "t", "sku", "cat", "total"]);
        agree(&program, &cols, &cells);
    }
}

/// The direct route is taken for plain rows (else the property above would hold
/// vacuously), and declines what it does not read alike.
#[test]
fn plain_rows_are_read_directly() {
    let shop = program(SHOP);
    let cols = columns(&["type", "user", "ts", "product", "price", "qty"]);
    let mut shape = CsvShape::new(&shop, &cols).expect("a good header");
    let mut interner = Interner::default();
    let mut event = Event::default();
    let row = ["VIEW", "u1", "2026-01-05T10:00:00.123Z", "p1", "19.5", "2"];
    assert!(
        shape
            .read_row(&row, (2, 1), &mut interner, &mut event)
            .is_some()
    );
    assert_eq!(event.key, "u1");
    assert_eq!(event.origin, 1);
    let leading_zero = ["VIEW", "u1", "2026-01-05T10:00:00.123Z", "p1", "19.5", "02"];
    assert!(
        shape
            .read_row(&leading_zero, (3, 1), &mut interner, &mut event)
            .is_none()
    );
    let codes = program(CODES);
    let cols = columns(&["user", "anon", "kind", "t", "sku", "cat", "total"]);
    let mut shape = CsvShape::new(&codes, &cols).expect("a good header");
    let row = ["", "a-9", "1", "1511544070", "42", "", ""];
    assert!(
        shape
            .read_row(&row, (2, 1), &mut interner, &mut event)
            .is_some()
    );
    assert_eq!((event.key.as_str(), event.ts), ("a-9", 1_511_544_070_000));
    // Dotted columns are read directly too.
    let nested = program(NESTED);
    let cols = columns(&[
        "event",
        "context.traits.email",
        "anonymousId",
        "timestamp",
        "properties.product_id",
    ]);
    let mut shape = CsvShape::new(&nested, &cols).expect("a good header");
    let row = ["Product Added", "", "a-9", "1767607200000", "p1"];
    assert!(
        shape
            .read_row(&row, (2, 1), &mut interner, &mut event)
            .is_some()
    );
    assert_eq!((event.key.as_str(), event.fields.len()), ("a-9", 2));
}

/// The properties above are not vacuous: with the biased cells, a good share of
/// their rows take the direct route.
#[test]
fn the_properties_exercise_the_direct_route() {
    let program = program(SHOP);
    let cols = columns(&[
        "type",
        "user",
        "ts",
        "product",
        "price",
        "qty",
        "order",
        "amount",
        "new_price",
    ]);
    let before = DIRECT.load(Ordering::Relaxed);
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = (
        biased(&["VIEW", "BUY", "PRICE"]),
        biased(&["u1"]),
        biased(&["2026-01-05T10:00:00.123Z"]),
        proptest::collection::vec(biased(&["p1", "1.5", "2"]), 6),
    );
    for _ in 0..200 {
        let Ok(tree) = strategy.new_tree(&mut runner) else {
            continue;
        };
        let (t, u, ts, rest) = tree.current();
        let cells: Vec<String> = [t, u, ts].into_iter().chain(rest).collect();
        agree(&program, &cols, &cells);
    }
    let read = DIRECT.load(Ordering::Relaxed) - before;
    assert!(read >= 20, "only {read} of 200 rows took the direct route");
}

/// Cells with the characters CSV quotes for (no `\r`: lines end in `\n` or `\r\n`
/// alike; no blank line inside a cell: the line reader skips blank lines).
fn text_cell() -> impl Strategy<Value = String> {
    "[a\",\n é]{0,6}".prop_filter("no blank line inside a cell", |c| {
        let parts: Vec<&str> = c.split('\n').collect();
        let inner = parts
            .get(1..parts.len().saturating_sub(1))
            .unwrap_or_default();
        inner
            .iter()
            .all(|p| !p.trim_matches([' ', '\t']).is_empty())
    })
}

proptest! {
    /// Records written by the `csv` crate (quoting as needed) are cut back into the
    /// same cells by `Lines` + `Records` + `Cells`.
    #[test]
    fn the_splitter_reads_what_the_csv_crate_writes(
        rows in proptest::collection::vec(proptest::collection::vec(text_cell(), 1..5), 1..8)
    ) {
        use trigc::io::Lines;
        use trigc::io::csv_rows::split::{Cells, Cut, Records};
        let mut writer = csv::WriterBuilder::new()
            .flexible(true)
            .terminator(csv::Terminator::Any(b'\n'))
            .from_writer(Vec::new());
        let rows: Vec<Vec<String>> = rows
            .into_iter()
            // A record of one blank cell is a blank line, which every format skips.
            .filter(|r| !(r.len() == 1 && r[0].trim_matches([' ', '\t']).is_empty()))
            .collect();
        for row in &rows {
            writer.write_record(row).expect("write to a vector");
        }
        let bytes = writer.into_inner().expect("flush to a vector");
        let mut lines = Lines::new(std::io::Cursor::new(bytes));
        let (mut records, mut cutter) = (Records::default(), Cells::default());
        let mut read: Vec<Vec<String>> = Vec::new();
        while let Ok(Some(line)) = lines.next_line() {
            if let Cut::Record { text, .. } = records.line(line, 1 << 20) {
                let text = std::str::from_utf8(text).expect("UTF-8 in, UTF-8 out");
                let mut cells = Vec::new();
                cutter.split(text, &mut cells);
                read.push(cells.iter().map(|c| (*c).to_owned()).collect());
            }
        }
        prop_assert_eq!(read, rows);
    }
}
