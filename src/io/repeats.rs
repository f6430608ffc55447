//! Finding a repeated member name on one line. A line that names a member twice
//! (`"type":"PURCHASE",…,"type":"VISIT"`) is rejected: JSON leaves its meaning open,
//! and two programs reading the same line could disagree about what it is.
//!
//! The decoder finds repeats of the names the schema knows itself, with the slots it
//! fills anyway (a slot already filled on this line is a repeat). Every other name
//! goes into [`UnknownNames`], a per-line list that is empty on the common line,
//! whose names are all known. Either way a repeat is reported by where its name
//! starts on the line, so the first repeat in line order wins, whichever path (flat
//! walk or logos scan) saw the line.

/// The names on one line the schema does not know, in line order, checked for a
/// repeat at the end of the line ([`UnknownNames::first_repeat`]). Reused across
/// lines: no allocation per line in the steady state.
#[derive(Clone, Debug, Default)]
pub struct UnknownNames {
    names: Vec<Name>,
    /// Unescaped names (the text of a name with escapes is not on the line).
    buf: String,
    /// Scratch for sorting many names.
    order: Vec<u32>,
}

#[derive(Clone, Copy, Debug)]
struct Name {
    /// Where the name's text starts on the line (after its opening quote).
    at: u32,
    /// Its text: `line[from..from + len]`, or `buf[from..from + len]` when `in_buf`.
    from: u32,
    len: u32,
    in_buf: bool,
}

/// Up to this many names are compared pairwise; more are sorted.
const PAIRWISE: usize = 8;

impl UnknownNames {
    #[inline]
    pub fn clear(&mut self) {
        self.names.clear();
        self.buf.clear();
    }

    /// Whether there are names enough for a repeat.
    #[inline]
    pub fn may_repeat(&self) -> bool {
        self.names.len() >= 2
    }

    /// A name without escapes: its text is `line[start..start + len]`.
    #[inline]
    pub fn push_plain(&mut self, start: usize, len: usize) {
        self.names.push(Name {
            at: offset(start),
            from: offset(start),
            len: offset(len),
            in_buf: false,
        });
    }

    /// A name whose text starts at `start` on the line and reads `text` once
    /// unescaped.
    pub fn push_unescaped(&mut self, start: usize, text: &str) {
        let from = offset(self.buf.len());
        self.buf.push_str(text);
        self.names.push(Name {
            at: offset(start),
            from,
            len: offset(text.len()),
            in_buf: true,
        });
    }

    /// The first name in line order that repeats an earlier one: where it starts on
    /// the line, and its text.
    pub fn first_repeat<'a>(&'a mut self, line: &'a str) -> Option<(u32, &'a str)> {
        if self.names.len() < 2 {
            return None;
        }
        let UnknownNames { names, buf, order } = self;
        let text = |n: &Name| {
            let (from, len) = (n.from as usize, n.len as usize);
            let source = if n.in_buf { buf.as_str() } else { line };
            source.get(from..from + len).unwrap_or("")
        };
        if names.len() <= PAIRWISE {
            for (j, later) in names.iter().enumerate() {
                let earlier = names.get(..j).unwrap_or_default();
                // Lengths first: most unknown names differ in length, and the texts
                // are then never sliced.
                if earlier
                    .iter()
                    .any(|e| e.len == later.len && text(e) == text(later))
                {
                    return Some((later.at, text(later)));
                }
            }
            return None;
        }
        // Sorted by text, then line order: every name equal to the one before it
        // repeats it; the earliest of those is the answer.
        order.clear();
        order.extend(0..offset(names.len()));
        let name = |i: u32| names.get(i as usize);
        order.sort_unstable_by(|&a, &b| {
            let (Some(a), Some(b)) = (name(a), name(b)) else {
                return std::cmp::Ordering::Equal;
            };
            text(a).cmp(text(b)).then(a.at.cmp(&b.at))
        });
        order
            .windows(2)
            .filter_map(|pair| match pair {
                [a, b] => Some((name(*a)?, name(*b)?)),
                _ => None,
            })
            .filter(|(a, b)| text(a) == text(b))
            .map(|(_, b)| b)
            .min_by_key(|b| b.at)
            .map(|b| (b.at, text(b)))
    }
}

fn offset(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first repeat among plain names `names` (joined with commas on a line).
    fn repeat(names: &[&str]) -> Option<(u32, String)> {
        let line = names.join(",");
        let mut unknown = UnknownNames::default();
        let mut at = 0;
        for name in names {
            unknown.push_plain(at, name.len());
            at += name.len() + 1;
        }
        unknown
            .first_repeat(&line)
            .map(|(at, text)| (at, text.to_owned()))
    }

    #[test]
    fn the_first_repeat_in_line_order_is_found_few_or_many() {
        assert_eq!(repeat(&["a", "b"]), None);
        assert_eq!(repeat(&["a", "b", "a"]), Some((4, "a".into())));
        assert_eq!(repeat(&["b", "a", "a", "b"]), Some((4, "a".into())));
        let many: Vec<String> = (0..100).map(|i| format!("n{i}")).collect();
        let mut names: Vec<&str> = many.iter().map(String::as_str).collect();
        assert_eq!(repeat(&names), None);
        names.push("n7");
        names.push("n3");
        let at = names.iter().take(100).map(|n| n.len() + 1).sum::<usize>();
        assert_eq!(repeat(&names), Some((at as u32, "n7".into())));
    }

    #[test]
    fn unescaped_names_compare_by_their_text() {
        let line = r#""x":1,"\u0078":2"#;
        let mut unknown = UnknownNames::default();
        unknown.push_plain(1, 1);
        unknown.push_unescaped(7, "x");
        assert_eq!(unknown.first_repeat(line), Some((7, "x")));
        unknown.clear();
        assert_eq!(unknown.first_repeat(line), None);
    }
}
