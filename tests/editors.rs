//! Keeps the editor support in `editors/` in step with the language. The words the
//! VS Code grammar and the Vim syntax file highlight must be exactly the keywords of
//! `grammar/trig.pest` (its `kw_*` rules) plus the names `check` gives meaning to (its
//! tables of types, built-in functions, aggregates and reducer operations, and
//! `now`/`ts`), no more and no fewer: a keyword added to the language fails here until
//! both editors know it, and a word dropped from it fails here until both forget it.
//!
//! The extraction is deliberately plain text scanning (no regex engine, no pest
//! meta-grammar); each function says what shape it expects, and fails with a message
//! naming what to adapt when a file stops having that shape.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// The checker's tables of the names the grammar parses as plain identifiers and
/// `check` gives meaning to (`const NAME: &[...] = &[...]` in `src/check/`): types,
/// built-in functions, aggregates, reducer operations.
const CHECKER_TABLES: &[&str] = &[
    "TYPE_NAMES",
    "BUILTINS",
    "AGGREGATES",
    "SET_OPS",
    "LIST_OPS",
    "NUM_OPS",
    "SCALAR_OPS",
];

/// Names every expression can read that are neither grammar keywords nor in a checker
/// table (`key` and `profile` are grammar keywords). `bound_names_are_known_to_the_checker`
/// catches stale entries.
const BOUND_NAMES: &[&str] = &["now", "ts"];

/// Grammar rules besides `kw_*` whose literals are all whole keywords.
const WORD_RULES: &[&str] = &["generic_kind"];

/// Grammar rules whose literals are not words: duration units and exponents (`ms` in
/// `500ms`), and `reserved`, a first-letter trie of fragments of the `kw_*` words.
const NON_WORD_RULES: &[&str] = &["duration", "suffixed_number", "exponent", "reserved"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    let path = root().join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn read_json(rel: &str) -> Value {
    serde_json::from_str(&read(rel)).unwrap_or_else(|e| panic!("{rel} is not valid JSON: {e}"))
}

fn is_word(s: &str) -> bool {
    s.len() >= 2 && s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
}

/// `(rule name, body)` for every rule of a pest file. A rule starts on a line
/// `name = ...` and runs to the next one; `//` comment lines are dropped.
fn pest_rules(text: &str) -> Vec<(String, String)> {
    let mut rules: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("//") {
            continue;
        }
        let starts_rule = !line.starts_with(char::is_whitespace)
            && line.split_once('=').is_some_and(|(lhs, _)| {
                let lhs = lhs.trim();
                !lhs.is_empty() && lhs.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            });
        if starts_rule {
            let (lhs, rhs) = line.split_once('=').unwrap_or_default();
            rules.push((lhs.trim().to_owned(), rhs.to_owned()));
        } else if let Some((_, body)) = rules.last_mut() {
            body.push('\n');
            body.push_str(line);
        }
    }
    rules
}

/// The contents of the double-quoted literals of a pest rule body, escapes kept.
fn pest_literals(body: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c != '"' {
            continue;
        }
        let mut lit = String::new();
        while let Some(c) = chars.next() {
            match c {
                '\\' => {
                    lit.push(c);
                    if let Some(next) = chars.next() {
                        lit.push(next);
                    }
                }
                '"' => break,
                _ => lit.push(c),
            }
        }
        out.push(lit);
    }
    out
}

/// The grammar's keywords: the word of every `kw_*` rule (`kw_within = @{ "within" ~
/// !ident_char }`) and of the [`WORD_RULES`]. Other rules may spell word fragments
/// (`reserved` is a first-letter trie: `"w" ~ ("ait" | "here")`), so they are not
/// read for words; `no_keyword_hides_outside_kw_rules` checks that they add none.
fn grammar_words() -> BTreeSet<String> {
    let rules = pest_rules(&read("grammar/trig.pest"));
    let kw_rules: Vec<&(String, String)> = rules
        .iter()
        .filter(|(name, _)| name.starts_with("kw_"))
        .collect();
    assert!(
        !kw_rules.is_empty(),
        "grammar/trig.pest has no `kw_*` keyword rules: the extraction in tests/editors.rs needs adapting"
    );
    let mut out = BTreeSet::new();
    for (name, body) in kw_rules {
        let words: Vec<String> = pest_literals(body)
            .into_iter()
            .filter(|w| is_word(w))
            .collect();
        assert_eq!(
            words.len(),
            1,
            "keyword rule {name} spells one word: {body}"
        );
        out.extend(words);
    }
    for (name, body) in rules
        .iter()
        .filter(|(name, _)| WORD_RULES.contains(&name.as_str()))
    {
        let words: Vec<String> = pest_literals(body)
            .into_iter()
            .filter(|w| is_word(w))
            .collect();
        assert!(!words.is_empty(), "rule {name} spells no words: {body}");
        out.extend(words);
    }
    out
}

/// Words listed in alternation groups of a TextMate regex: `(?:on|every|day)\b`,
/// `(trigger)\s+`. Groups that hold anything but plain words are skipped.
fn regex_words(re: &str, out: &mut BTreeSet<String>) {
    let mut rest = re;
    while let Some(open) = rest.find('(') {
        rest = &rest[open + 1..];
        let group = ["?:", "?!", "?=", "?<!", "?<="]
            .iter()
            .find_map(|p| rest.strip_prefix(p))
            .unwrap_or(rest);
        let Some(close) = group.find(['(', ')']) else {
            break;
        };
        if group[close..].starts_with(')') {
            let alternatives: Vec<&str> = group[..close].split('|').collect();
            if alternatives.iter().all(|w| is_word(w)) {
                out.extend(alternatives.iter().map(|w| (*w).to_owned()));
            }
        }
    }
}

/// Scopes of a TextMate pattern whose words are language words (not numbers, units or
/// punctuation).
fn is_word_scope(scope: &str) -> bool {
    [
        "keyword.",
        "support.",
        "storage.",
        "constant.language",
        "variable.language",
    ]
    .iter()
    .any(|p| scope.starts_with(p))
}

/// Collects the words of every `match` (and `begin`) regex whose pattern or captures
/// have a word scope.
fn tm_words_in(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(map) => {
            for (regex, captures) in [("match", "captures"), ("begin", "beginCaptures")] {
                let Some(Value::String(re)) = map.get(regex) else {
                    continue;
                };
                let mut scopes: Vec<&str> = map
                    .get("name")
                    .and_then(Value::as_str)
                    .into_iter()
                    .collect();
                if let Some(Value::Object(caps)) = map.get(captures) {
                    scopes.extend(
                        caps.values()
                            .filter_map(|c| c.get("name").and_then(Value::as_str)),
                    );
                }
                if scopes.iter().any(|s| is_word_scope(s)) {
                    regex_words(re, out);
                }
            }
            map.values().for_each(|v| tm_words_in(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| tm_words_in(v, out)),
        _ => {}
    }
}

fn textmate_words() -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    tm_words_in(
        &read_json("editors/vscode/syntaxes/trig.tmLanguage.json"),
        &mut out,
    );
    out
}

/// Words of `syn keyword` lines, and of `syn match` items that are one word
/// (`"\<set\>"`, `"\<set\ze\s*<"`), in the Vim syntax file.
fn vim_words() -> BTreeSet<String> {
    const OPTIONS: &[&str] = &[
        "contained",
        "transparent",
        "skipwhite",
        "skipnl",
        "skipempty",
    ];
    let mut out = BTreeSet::new();
    for line in read("editors/vim/syntax/trig.vim").lines() {
        let mut parts = line.split_whitespace();
        if parts.next() != Some("syn") {
            continue;
        }
        match (parts.next(), parts.next()) {
            (Some("keyword"), Some(_group)) => out.extend(
                parts
                    .take_while(|w| !w.starts_with('"'))
                    .filter(|w| !OPTIONS.contains(w) && !w.contains('='))
                    .filter(|w| is_word(w))
                    .map(str::to_owned),
            ),
            (Some("match"), Some(_group)) => {
                let Some(pattern) = line.split('"').nth(1) else {
                    continue;
                };
                let Some(word) = pattern.strip_prefix("\\<") else {
                    continue;
                };
                let end = word.find('\\').unwrap_or(word.len());
                let (word, tail) = word.split_at(end);
                if is_word(word) && (tail.starts_with("\\>") || tail.starts_with("\\ze")) {
                    out.insert(word.to_owned());
                }
            }
            _ => {}
        }
    }
    out
}

/// The contents of every double-quoted literal in `text` (Rust source: `\"` is kept
/// as is, which no table word contains).
fn rust_literals(text: &str) -> Vec<String> {
    pest_literals(text)
}

/// The source of every `.rs` file under `dir`, with its path.
fn rust_sources(dir: &Path, out: &mut Vec<(PathBuf, String)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            out.push((path, text));
        }
    }
}

/// The words of the checker's name tables plus [`BOUND_NAMES`].
fn checker_words() -> BTreeSet<String> {
    let mut sources = Vec::new();
    rust_sources(&root().join("src/check"), &mut sources);
    let mut out: BTreeSet<String> = BOUND_NAMES.iter().map(|w| (*w).to_owned()).collect();
    for table in CHECKER_TABLES {
        let head = format!("const {table}: &[");
        let body = sources.iter().find_map(|(_, text)| {
            let at = text.find(&head)?;
            let rest = &text[at..];
            let open = rest.find("= &[")?;
            let close = rest.find("];")?;
            rest.get(open..close)
        });
        let body = body.unwrap_or_else(|| {
            panic!(
                "no `{head}...] = &[...];` in src/check: adapt CHECKER_TABLES in tests/editors.rs"
            )
        });
        let words: Vec<String> = rust_literals(body)
            .into_iter()
            .filter(|w| is_word(w))
            .collect();
        assert!(
            !words.is_empty(),
            "the checker table {table} lists no words"
        );
        out.extend(words);
    }
    out
}

fn diff(a: &BTreeSet<String>, b: &BTreeSet<String>) -> Vec<String> {
    a.difference(b).cloned().collect()
}

#[test]
fn the_grammar_has_keywords() {
    let words = grammar_words();
    for w in [
        "trigger", "on", "wait", "unless", "then", "within", "webhook", "reentry",
    ] {
        assert!(
            words.contains(w),
            "`{w}` not found in grammar/trig.pest; found {words:?}"
        );
    }
    for unit in ["ms", "s", "m", "h", "d", "w"] {
        assert!(
            !words.contains(unit),
            "duration unit `{unit}` taken for a keyword"
        );
    }
}

/// A word spelled in some other rule (`"not"` inline, say) must also be a `kw_*`
/// keyword, or the editors would not learn of it.
#[test]
fn no_keyword_hides_outside_kw_rules() {
    let keywords = grammar_words();
    let rules = pest_rules(&read("grammar/trig.pest"));
    let hidden: BTreeSet<String> = rules
        .iter()
        .filter(|(name, _)| !name.starts_with("kw_") && !NON_WORD_RULES.contains(&name.as_str()))
        .flat_map(|(_, body)| pest_literals(body))
        .filter(|lit| is_word(lit) && !keywords.contains(lit))
        .collect();
    assert!(
        hidden.is_empty(),
        "grammar/trig.pest spells these words outside `kw_*` rules; give them a `kw_` rule, or \
         add their rule to WORD_RULES or NON_WORD_RULES in tests/editors.rs: {hidden:?}"
    );
}

#[test]
fn bound_names_are_not_grammar_keywords() {
    let grammar = grammar_words();
    let overlap: Vec<&str> = BOUND_NAMES
        .iter()
        .copied()
        .filter(|w| grammar.contains(*w))
        .collect();
    assert!(
        overlap.is_empty(),
        "these words are now grammar keywords; drop them from BOUND_NAMES in tests/editors.rs: {overlap:?}"
    );
}

#[test]
fn checker_tables_hold_the_builtins() {
    let words = checker_words();
    for w in [
        "string",
        "count",
        "distinct",
        "len",
        "starts_with",
        "insert",
        "push",
    ] {
        assert!(
            words.contains(w),
            "`{w}` not found in the checker's tables; found {words:?}"
        );
    }
}

#[test]
fn textmate_grammar_knows_every_word_and_no_other() {
    let language: BTreeSet<String> = grammar_words().union(&checker_words()).cloned().collect();
    let editor = textmate_words();
    let missing = diff(&language, &editor);
    let stale = diff(&editor, &language);
    assert!(
        missing.is_empty(),
        "add to editors/vscode/syntaxes/trig.tmLanguage.json (#keywords): {missing:?}"
    );
    assert!(
        stale.is_empty(),
        "not Trig words, remove from the TextMate grammar: {stale:?}"
    );
}

#[test]
fn vim_syntax_knows_every_word_and_no_other() {
    let language: BTreeSet<String> = grammar_words().union(&checker_words()).cloned().collect();
    let editor = vim_words();
    let missing = diff(&language, &editor);
    let stale = diff(&editor, &language);
    assert!(
        missing.is_empty(),
        "add to editors/vim/syntax/trig.vim: {missing:?}"
    );
    assert!(
        stale.is_empty(),
        "not Trig words, remove from editors/vim/syntax/trig.vim: {stale:?}"
    );
}

/// Every entry of [`BOUND_NAMES`] is spelled as a string literal in the checker
/// (`"now" => ...`), so a name dropped from the language shows up here as a stale
/// editor word.
#[test]
fn bound_names_are_known_to_the_checker() {
    let mut sources = Vec::new();
    rust_sources(&root().join("src/check"), &mut sources);
    let literals: BTreeSet<String> = sources
        .iter()
        .flat_map(|(_, text)| rust_literals(text))
        .collect();
    let unknown: Vec<&str> = BOUND_NAMES
        .iter()
        .copied()
        .filter(|w| !literals.contains(*w))
        .collect();
    assert!(
        unknown.is_empty(),
        "no string literal in src/check spells these BOUND_NAMES; are they still Trig? {unknown:?}"
    );
}

#[test]
fn vscode_manifest_contributes_the_trig_language() {
    let pkg = read_json("editors/vscode/package.json");
    let language = &pkg["contributes"]["languages"][0];
    assert_eq!(language["id"], "trig");
    assert!(
        language["extensions"]
            .as_array()
            .is_some_and(|e| e.iter().any(|x| x == ".trig")),
        "the language claims `.trig` files: {language}"
    );
    let config = language["configuration"].as_str().unwrap_or_default();
    let config = read_json(&format!(
        "editors/vscode/{}",
        config.trim_start_matches("./")
    ));
    assert_eq!(config["comments"]["lineComment"], "#");

    let grammar = &pkg["contributes"]["grammars"][0];
    assert_eq!(grammar["language"], "trig");
    assert_eq!(grammar["scopeName"], "source.trig");
    let path = grammar["path"].as_str().unwrap_or_default();
    assert_eq!(path, "./syntaxes/trig.tmLanguage.json");
}

#[test]
fn textmate_grammar_is_well_formed() {
    let tm = read_json("editors/vscode/syntaxes/trig.tmLanguage.json");
    assert_eq!(tm["scopeName"], "source.trig");

    // Every `#name` include points into the repository.
    fn includes(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(map) => {
                if let Some(Value::String(inc)) = map.get("include") {
                    out.push(inc.clone());
                }
                map.values().for_each(|v| includes(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| includes(v, out)),
            _ => {}
        }
    }
    let mut found = Vec::new();
    includes(&tm, &mut found);
    let repo = tm["repository"].as_object().cloned().unwrap_or_default();
    for inc in &found {
        let name = inc
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("include {inc} is not local"));
        assert!(
            repo.contains_key(name),
            "include {inc} has no repository entry"
        );
    }

    // The scopes the brief promises themes can colour.
    let text = tm.to_string();
    for scope in [
        "comment.line.number-sign.trig",
        "string.quoted.double.trig",
        "constant.character.escape.trig",
        "constant.numeric.duration.trig",
        "constant.numeric.integer.trig",
        "constant.numeric.float.trig",
        "entity.name.type.event.trig",
        "support.function.builtin.trig",
        "keyword.operator.comparison.trig",
    ] {
        assert!(
            text.contains(&format!("\"{scope}\"")),
            "no pattern has scope {scope}"
        );
    }
}

#[test]
fn vim_files_detect_and_name_the_filetype() {
    let detect = read("editors/vim/ftdetect/trig.vim");
    assert!(
        detect.contains("*.trig") && detect.contains("setfiletype trig"),
        "{detect}"
    );
    let syntax = read("editors/vim/syntax/trig.vim");
    assert!(syntax.contains("let b:current_syntax = \"trig\""));
    assert!(
        syntax.contains("syn match   trigEvent"),
        "event names have their own group"
    );
}
