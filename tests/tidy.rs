//! House rules checked as tests: every module opens with a `//!` paragraph, the
//! [`UNCHECKED`] keyword appears only in `src/jit` (never in tests or benches, which
//! measure memory with dhat instead of hand-written allocators), no
//! `todo!`/`unimplemented!`, `#[allow]` is spelled `#[expect]`.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for path in entries {
        // Build output of the crates with their own workspace (benches/compare/).
        if path.is_dir() && path.file_name().is_some_and(|n| n == "target") {
            continue;
        }
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The `.rs` files under `dir` (relative to the crate root) with their text.
fn files_under(dir: &str) -> Vec<(PathBuf, String)> {
    let mut files = Vec::new();
    rust_files(&Path::new(env!("CARGO_MANIFEST_DIR")).join(dir), &mut files);
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap_or_default();
            (p, text)
        })
        .collect()
}

fn src_files() -> Vec<(PathBuf, String)> {
    files_under("src")
}

/// The keyword that opts out of the compiler's memory-safety checks. Spelled once
/// here, inside a string literal, which the scan below skips.
const UNCHECKED: &str = "unsafe";

/// 1-based numbers of the lines where [`UNCHECKED`] appears as a word in code, that
/// is outside comments and string and char literals (so prose about it, and this
/// file's own needle, do not count; a lint name that merely contains it is another word).
fn unchecked_lines(text: &str) -> Vec<usize> {
    let chars: Vec<char> = text.chars().collect();
    let at = |i: usize| chars.get(i).copied().unwrap_or('\0');
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    let mut found = Vec::new();
    let (mut i, mut line) = (0, 1);
    while i < chars.len() {
        let c = chars[i];
        let start_line = line;
        let next = if c == '/' && at(i + 1) == '/' {
            // Line comment (doc comments included): up to the newline.
            (i..chars.len())
                .find(|&j| chars[j] == '\n')
                .unwrap_or(chars.len())
        } else if c == '/' && at(i + 1) == '*' {
            // Block comment; these nest.
            let (mut j, mut depth) = (i + 2, 1);
            while j < chars.len() && depth > 0 {
                if chars[j] == '/' && at(j + 1) == '*' {
                    depth += 1;
                    j += 1;
                } else if chars[j] == '*' && at(j + 1) == '/' {
                    depth -= 1;
                    j += 1;
                }
                j += 1;
            }
            j
        } else if c == '"' {
            // String (or byte/C string: its prefix was read as a word; raw strings
            // are skipped there): up to the closing quote that is not escaped.
            let mut j = i + 1;
            while j < chars.len() && chars[j] != '"' {
                j += if chars[j] == '\\' { 2 } else { 1 };
            }
            j + 1
        } else if c == '\'' {
            // Char literal `'x'`, `'\n'`, `'\u{..}'`; otherwise a lifetime or label.
            if at(i + 1) == '\\' {
                (i + 2..chars.len())
                    .find(|&j| chars[j] == '\'')
                    .map_or(chars.len(), |j| j + 1)
            } else if at(i + 2) == '\'' {
                i + 3
            } else {
                i + 1
            }
        } else if is_word(c) {
            let end = (i..chars.len())
                .find(|&j| !is_word(chars[j]))
                .unwrap_or(chars.len());
            let word: String = chars[i..end].iter().collect();
            if word == UNCHECKED {
                found.push(line);
            }
            if matches!(word.as_str(), "r" | "br" | "cr") {
                raw_string_end(&chars, end).unwrap_or(end)
            } else {
                end
            }
        } else {
            i + 1
        };
        let next = next.min(chars.len());
        line = start_line + chars[i..next].iter().filter(|&&ch| ch == '\n').count();
        i = next;
    }
    found
}

/// Where a raw string whose `#`s or opening quote start at `from` ends (past its
/// closing quote and hashes); `None` when `from` starts no raw string (`r#ident`).
fn raw_string_end(chars: &[char], from: usize) -> Option<usize> {
    let hashes = chars[from..].iter().take_while(|&&c| c == '#').count();
    let body = from + hashes + 1;
    if chars.get(from + hashes) != Some(&'"') {
        return None;
    }
    let closes_at =
        |j: usize| chars[j] == '"' && (1..=hashes).all(|h| chars.get(j + h) == Some(&'#'));
    Some(
        (body..chars.len())
            .find(|&j| closes_at(j))
            .map_or(chars.len(), |j| j + 1 + hashes),
    )
}

/// `path:line` of every [`UNCHECKED`] in code of `files`.
fn unchecked_in(files: Vec<(PathBuf, String)>) -> Vec<String> {
    files
        .into_iter()
        .flat_map(|(p, text)| {
            unchecked_lines(&text)
                .into_iter()
                .map(move |l| format!("{}:{l}", p.display()))
        })
        .collect()
}

#[test]
fn every_module_starts_with_a_doc_paragraph() {
    let missing: Vec<String> = src_files()
        .into_iter()
        .filter(|(p, _)| !p.ends_with("main.rs"))
        .filter(|(_, text)| !text.trim_start().starts_with("//!"))
        .map(|(p, _)| p.display().to_string())
        .collect();
    assert!(
        missing.is_empty(),
        "modules without a leading `//!` paragraph: {missing:#?}"
    );
}

#[test]
fn unchecked_code_only_in_jit() {
    let src: Vec<(PathBuf, String)> = src_files()
        .into_iter()
        .filter(|(p, _)| !p.components().any(|c| c.as_os_str() == "jit"))
        .collect();
    let offenders = unchecked_in(src);
    assert!(
        offenders.is_empty(),
        "`{UNCHECKED}` outside src/jit: {offenders:#?}"
    );
}

/// In src/jit, every `unsafe` block has a `// SAFETY:` line in the comment right
/// above it, saying why it is sound (the keyword in a type, such as a function
/// pointer type, is no block).
#[test]
fn every_unchecked_block_in_jit_says_why() {
    let files = files_under("src/jit");
    assert!(!files.is_empty(), "the scan sees src/jit");
    let block = format!("{UNCHECKED} {{");
    let mut missing = Vec::new();
    for (p, text) in files {
        let lines: Vec<&str> = text.lines().collect();
        for l in unchecked_lines(&text) {
            let Some(line) = lines.get(l - 1) else {
                continue;
            };
            if !line.contains(&block) {
                continue;
            }
            let explained = lines[..l - 1]
                .iter()
                .rev()
                .take_while(|s| s.trim_start().starts_with("//"))
                .any(|s| s.trim_start().starts_with("// SAFETY:"));
            if !explained {
                missing.push(format!("{}:{l}", p.display()));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "blocks without a SAFETY comment: {missing:#?}"
    );
}

#[test]
fn no_unchecked_code_in_tests_or_benches() {
    let mut files = files_under("tests");
    files.extend(files_under("benches"));
    assert!(
        files.iter().any(|(p, _)| p.ends_with("tests/tidy.rs")),
        "the scan sees tests/"
    );
    let offenders = unchecked_in(files);
    assert!(
        offenders.is_empty(),
        "`{UNCHECKED}` in tests or benches (measure memory with dhat, see tests/memory.rs): {offenders:#?}"
    );
}

/// The scanner itself: it finds the keyword in code and only there.
#[test]
fn the_scan_finds_the_keyword_in_code_only() {
    let code = r###"// KW in prose
/* KW /* nested KW */ */
let s = "KW \" KW";
let r = r#"KW " KW \"#;
let c = '\''; let q = '"';
fn f<'a>(x: &'a u8) {}
#![forbid(KW_code)]
KW impl Send for X {}
let b = b"KW"; KW { }
let d = br"\"; KW fn g() {}
"###
    .replace("KW", UNCHECKED);
    assert_eq!(unchecked_lines(&code), vec![8, 9, 10], "{code}");
    assert_eq!(unchecked_lines(UNCHECKED), vec![1]);
    let near_misses = "my_KW KW2 r#KWx".replace("KW", UNCHECKED);
    assert!(unchecked_lines(&near_misses).is_empty());
}

#[test]
fn no_stubs_or_allow() {
    let mut offenders = Vec::new();
    for (p, text) in src_files() {
        for (i, line) in text.lines().enumerate() {
            let l = line.trim_start();
            if l.starts_with("//") {
                continue;
            }
            if l.contains("todo!(") || l.contains("unimplemented!(") || l.contains("#[allow(") {
                offenders.push(format!("{}:{}: {}", p.display(), i + 1, l));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "stubs or #[allow] (use #[expect(..., reason)]): {offenders:#?}"
    );
}
