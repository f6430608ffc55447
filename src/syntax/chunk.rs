//! Cutting a file into top-level declarations, and the checks that run on a
//! declaration's tokens before pest sees it. pest stops at the first error and
//! recurses on nesting; these two facts are why a file is parsed one declaration at a
//! time, and why nesting is measured on tokens first.

use super::lexer::{Token, TokenKind};

/// One top-level declaration: tokens `tokens` (a range into the file's tokens) and the
/// bytes `start..end` they cover, trailing trivia included.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chunk {
    pub tokens: std::ops::Range<usize>,
    pub start: usize,
    pub end: usize,
}

/// The index of the next significant (non-trivia) token at or after `i`.
pub fn next_significant(tokens: &[Token], i: usize) -> Option<usize> {
    (i..tokens.len()).find(|&j| tokens.get(j).is_some_and(|t| !t.is_trivia()))
}

fn prev_significant(tokens: &[Token], i: usize) -> Option<usize> {
    (0..i)
        .rev()
        .find(|&j| tokens.get(j).is_some_and(|t| !t.is_trivia()))
}

/// Split at `schema`, `event`, `profile event`, `state` and `trigger` in declaration
/// position: not a field name (`state: string`, `.event`, `keyed by state`, a schema
/// line `type event`). A leading run of trivia is not a chunk; leading garbage is.
pub fn split(source: &str, tokens: &[Token]) -> Vec<Chunk> {
    let mut starts = Vec::new();
    let mut in_schema = false;
    for (i, tok) in tokens.iter().enumerate() {
        if tok.kind == TokenKind::CloseBrace {
            in_schema = false;
        }
        if tok.kind != TokenKind::Ident {
            continue;
        }
        let word = tok.text(source);
        let next = next_significant(tokens, i + 1).and_then(|j| tokens.get(j).copied());
        let prev = prev_significant(tokens, i).and_then(|j| tokens.get(j).copied());
        let opens = match word {
            "schema" | "event" | "state" | "trigger" => true,
            "profile" => next.is_some_and(|n| n.is_word(source, "event")),
            _ => false,
        };
        if !opens || next.is_some_and(|n| n.kind == TokenKind::Colon) {
            continue;
        }
        if let Some(p) = prev {
            let field_position = p.kind == TokenKind::Dot
                || p.is_word(source, "by")
                || p.is_word(source, "from")
                || p.kind == TokenKind::Coalesce
                || (word == "event" && p.is_word(source, "profile"))
                || (in_schema && ["key", "type", "time"].iter().any(|w| p.is_word(source, w)));
            if field_position {
                continue;
            }
        }
        in_schema = word == "schema";
        starts.push(i);
    }
    let first_significant = next_significant(tokens, 0);
    if let Some(first) = first_significant
        && starts.first() != Some(&first)
    {
        starts.insert(0, first);
    }
    let mut chunks = Vec::with_capacity(starts.len());
    for (n, &s) in starts.iter().enumerate() {
        let e = starts.get(n + 1).copied().unwrap_or(tokens.len());
        let start = tokens.get(s).map_or(source.len(), |t| t.start);
        let end = tokens.get(e).map_or(source.len(), |t| t.start);
        chunks.push(Chunk {
            tokens: s..e,
            start,
            end,
        });
    }
    chunks
}

/// The first token that opens more than `limit` levels: brackets, `set<`/`list<`
/// type arguments, and prefix operators (`not`, unary `-`), which make the Pratt fold
/// recurse as brackets do. Counting is conservative: a `not` counts until the next
/// `and`, `or`, `,` or clause keyword at its level.
pub fn too_deep(source: &str, tokens: &[Token], limit: usize) -> Option<Token> {
    // Per open level: prefix operators seen since the last boundary.
    let mut levels: Vec<Level> = vec![Level::default()];
    let mut total_prefix = 0usize;
    let mut prev: Option<Token> = None;
    for &tok in tokens {
        if tok.is_trivia() {
            continue;
        }
        let current = levels.last().map_or(0, |l| l.prefixes);
        let top_is_angle = levels.last().is_some_and(|l| l.angle);
        match tok.kind {
            TokenKind::OpenParen | TokenKind::OpenBracket | TokenKind::OpenBrace => {
                levels.push(Level::default());
            }
            TokenKind::Lt
                if prev.is_some_and(|p| p.is_word(source, "set") || p.is_word(source, "list")) =>
            {
                levels.push(Level {
                    angle: true,
                    prefixes: 0,
                });
            }
            TokenKind::CloseParen | TokenKind::CloseBracket | TokenKind::CloseBrace => {
                if levels.len() > 1
                    && let Some(l) = levels.pop()
                {
                    total_prefix -= l.prefixes;
                }
            }
            TokenKind::Gt if top_is_angle => {
                if let Some(l) = levels.pop() {
                    total_prefix -= l.prefixes;
                }
            }
            TokenKind::Minus if prev.is_none_or(|p| !ends_operand(source, p)) => {
                bump(&mut levels, &mut total_prefix);
            }
            TokenKind::Ident if tok.is_word(source, "not") => bump(&mut levels, &mut total_prefix),
            TokenKind::Comma | TokenKind::Colon => reset(&mut levels, &mut total_prefix, current),
            TokenKind::Ident if tok.keyword(source).is_some() && !is_operator_word(source, tok) => {
                reset(&mut levels, &mut total_prefix, current);
            }
            TokenKind::Ident if tok.is_word(source, "and") || tok.is_word(source, "or") => {
                reset(&mut levels, &mut total_prefix, current);
            }
            _ => {}
        }
        if levels.len() - 1 + total_prefix > limit {
            return Some(tok);
        }
        prev = Some(tok);
    }
    None
}

/// One open bracket (or `set<`) and the prefix operators seen inside it.
#[derive(Clone, Copy, Default)]
struct Level {
    angle: bool,
    prefixes: usize,
}

fn bump(levels: &mut [Level], total: &mut usize) {
    if let Some(l) = levels.last_mut() {
        l.prefixes += 1;
        *total += 1;
    }
}

fn reset(levels: &mut [Level], total: &mut usize, current: usize) {
    if let Some(l) = levels.last_mut() {
        l.prefixes = 0;
        *total -= current;
    }
}

/// `in`, `contains`, `not`: keywords that sit inside an expression.
fn is_operator_word(source: &str, tok: Token) -> bool {
    ["in", "contains", "not", "true", "false"]
        .iter()
        .any(|w| tok.is_word(source, w))
}

/// Whether a `-` after `tok` is binary (`tok` ends an operand).
fn ends_operand(source: &str, tok: Token) -> bool {
    match tok.kind {
        TokenKind::Ident => tok
            .keyword(source)
            .is_none_or(|k| k == "true" || k == "false"),
        TokenKind::Number | TokenKind::Float | TokenKind::Str => true,
        TokenKind::CloseParen | TokenKind::CloseBracket | TokenKind::CloseBrace => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::super::lexer::tokenize;
    use super::*;

    fn chunk_texts(src: &str) -> Vec<&str> {
        let tokens = tokenize(src);
        split(src, &tokens)
            .iter()
            .map(|c| &src[c.start..c.end])
            .collect()
    }

    #[test]
    fn splits_at_declarations_not_fields() {
        let src = "# c\nevent A { state: string, event: int }\nprofile event P { x: int }\n\
                   schema { key event type state }\nstate s: set<string> { A -> insert(x.trigger) }\n\
                   event B keyed by state { state: string }\ntrigger t on A then emit \"x\"\n";
        let chunks = chunk_texts(src);
        assert_eq!(chunks.len(), 6, "{chunks:#?}");
        assert!(chunks[0].starts_with("event A"));
        assert!(chunks[1].starts_with("profile event P"));
        assert!(chunks[5].starts_with("trigger t"));
    }

    #[test]
    fn leading_garbage_is_its_own_chunk() {
        assert_eq!(chunk_texts("oops event A {}"), vec!["oops ", "event A {}"]);
        assert_eq!(chunk_texts("  # only trivia\n").len(), 0);
    }

    #[test]
    fn depth_counts_brackets_and_prefixes() {
        let deep = format!("{}1{}", "(".repeat(200), ")".repeat(200));
        assert!(too_deep(&deep, &tokenize(&deep), 128).is_some());
        let nots = format!("if {} x then", "not ".repeat(200));
        assert!(too_deep(&nots, &tokenize(&nots), 128).is_some());
        let flat = format!("if {} then", vec!["not a"; 300].join(" and "));
        assert!(too_deep(&flat, &tokenize(&flat), 128).is_none());
        let minus = format!("if {}1 then", "1 - ".repeat(300));
        assert!(too_deep(&minus, &tokenize(&minus), 128).is_none());
    }
}
