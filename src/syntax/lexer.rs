//! The logos token stream of a Trig file. It keeps whitespace and comments as tokens,
//! so a formatter or language server can rebuild the exact text from it. The parser
//! uses it before pest runs: to cut a file into top-level declarations (one syntax
//! error per declaration, not per file), to bound nesting depth (pest and the Pratt
//! fold recurse), to catch unterminated strings, and to name the token an error points
//! at. pest stays the judge of what is valid; this lexer never rejects anything.

use logos::Logos;

/// The kind of one token. Keywords are [`TokenKind::Ident`]s; [`Token::keyword`]
/// tells which reserved word one is.
#[derive(Logos, Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKind {
    #[regex(r"[ \t\r\n\x0C]+")]
    Whitespace,
    #[regex(r"#[^\n]*", allow_greedy = true)]
    Comment,
    #[regex(r"[A-Za-z_][A-Za-z0-9_]*")]
    Ident,
    /// Digits and whatever letters stick to them: `30`, `30m`, `1h30m`, `5min`, `1e5`.
    #[regex(r"[0-9][0-9A-Za-z_]*")]
    Number,
    /// `1.5`, `2.0e-3`
    #[regex(r"[0-9]+\.[0-9]+([eE][+-]?[0-9]+)?[A-Za-z_0-9]*")]
    Float,
    #[regex(r#""([^"\\\n]|\\[^\n])*""#)]
    Str,
    /// A string with no closing quote before the end of the line.
    #[regex(r#""([^"\\\n]|\\[^\n])*"#)]
    UnterminatedStr,
    #[token("{")]
    OpenBrace,
    #[token("}")]
    CloseBrace,
    #[token("(")]
    OpenParen,
    #[token(")")]
    CloseParen,
    #[token("[")]
    OpenBracket,
    #[token("]")]
    CloseBracket,
    #[token(",")]
    Comma,
    #[token(":")]
    Colon,
    #[token(".")]
    Dot,
    #[token("->")]
    Arrow,
    #[token("=")]
    Assign,
    #[token("==")]
    EqEq,
    #[token("!=")]
    NotEq,
    #[token("<")]
    Lt,
    #[token("<=")]
    Le,
    #[token(">")]
    Gt,
    #[token(">=")]
    Ge,
    #[token("+")]
    Plus,
    #[token("-")]
    Minus,
    #[token("*")]
    Star,
    #[token("/")]
    Slash,
    #[token("%")]
    Percent,
    #[token("??")]
    Coalesce,
    #[token("?")]
    Question,
    /// Anything else: a stray character, a NUL byte, a character outside ASCII.
    Unknown,
}

/// One token: its kind and byte range in the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Token {
    pub kind: TokenKind,
    pub start: usize,
    pub end: usize,
}

/// Words that cannot be bare names in expressions (they still may be field names,
/// object keys and names after `.`). Must match `reserved` in `grammar/trig.pest`.
pub const RESERVED: &[&str] = &[
    "and", "as", "contains", "cron", "each", "event", "every", "exit", "false", "for", "if", "in",
    "not", "on", "or", "schema", "state", "then", "to", "trigger", "true", "unless", "wait",
    "where", "within", "with",
];

impl Token {
    pub fn text(self, source: &str) -> &str {
        source.get(self.start..self.end).unwrap_or("")
    }

    /// Whitespace and comments.
    pub fn is_trivia(self) -> bool {
        matches!(self.kind, TokenKind::Whitespace | TokenKind::Comment)
    }

    /// The reserved word this token is, if it is one.
    pub fn keyword(self, source: &str) -> Option<&'static str> {
        if self.kind != TokenKind::Ident {
            return None;
        }
        let text = self.text(source);
        RESERVED.iter().copied().find(|k| *k == text)
    }

    /// Whether this token is the identifier `word`.
    pub fn is_word(self, source: &str, word: &str) -> bool {
        self.kind == TokenKind::Ident && self.text(source) == word
    }
}

/// Every token of `source`, trivia included, covering it without gaps.
pub fn tokenize(source: &str) -> Vec<Token> {
    let mut out = Vec::with_capacity(source.len() / 4);
    let mut lexer = TokenKind::lexer(source);
    while let Some(result) = lexer.next() {
        let span = lexer.span();
        let kind = result.unwrap_or(TokenKind::Unknown);
        // logos reports one error per unmatched character; merge runs of them so a
        // binary blob is one token, not millions.
        if kind == TokenKind::Unknown
            && let Some(last) = out.last_mut()
            && matches!(last, Token { kind: TokenKind::Unknown, end, .. } if *end == span.start)
        {
            last.end = span.end;
            continue;
        }
        out.push(Token {
            kind,
            start: span.start,
            end: span.end,
        });
    }
    out
}
