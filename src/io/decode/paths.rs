//! The wire mapping's one-pass walk ([`json::walk_nested`]): the program's paths as a
//! small trie of member names, built once, and per line the value token found at each
//! node. The walk descends only into objects some path goes through, skips (checking)
//! everything else, and [`Decoder::find`](super::Decoder) then reads a path's value
//! from its end node instead of searching a token buffer.
//!
//! The walk declines a line (and the decoder takes the general path, which gives every
//! answer and words every error) whenever its answer could differ: a name with escapes
//! in an object it reads, a repeated name at the top level or among the names it reads
//! in a nested object, an object or array where a path ends, any value at a `[]`
//! gather, malformed JSON. An array or a scalar where a path expects an object is
//! skipped: the path finds nothing there, as [`follow`](super::wire) says.
//!
//! Names are recognised at sight where they can be: the top-level names by their
//! position on the line before (producers write the envelope in one order), the names
//! read in a nested object among the few the program reads. A name not recognised is
//! scanned and looked up as before.

use super::NameId;
use crate::io::json::{self, Member, Nested, NestedMembers, Tok, Token};
use crate::io::name_table::{NameTable, QuotedName};
use crate::io::repeats::UnknownNames;

/// A node of the trie: a member some path reads.
#[derive(Clone, Debug, Default)]
struct Node {
    /// The members read in its value, an object: their names and nodes.
    children: Vec<(Box<[u8]>, u32)>,
    /// The same, as the walk recognises them at sight.
    quoted: Vec<(QuotedName, u32)>,
    /// Some path ends here (its value is read as a scalar).
    end: bool,
    /// Some path gathers (`[]`) the elements of its array: the walk leaves that to
    /// the general path.
    gather: bool,
}

/// The program's paths, and what the last walk found at each.
#[derive(Clone, Debug)]
pub(super) struct PathTrie {
    /// Node 0 is the line's object.
    nodes: Vec<Node>,
    /// By [`NameId`]: the node of that top-level member.
    by_name: Vec<u32>,
    /// By node: the value on the line walked last (a placeholder for objects and
    /// arrays, whose nodes no path ends at).
    seen: Vec<Option<Tok>>,
    /// The top-level member names of the line walked last, in line order, each with
    /// its node ([`NONE`]: not read). Producers write the top level of every event in
    /// one order (a Segment call: `context`, `event`, ..., `userId`), so the walk
    /// recognises each name with one compare instead of scanning and hashing it.
    /// Nested objects change shape with the event type: not learnt.
    layout: Vec<(QuotedName, u32)>,
    /// Whether the names of `layout` are a whole line's top level that had no
    /// repeated name: a line with exactly those names has none either.
    layout_checked: bool,
}

/// No node.
const NONE: u32 = u32::MAX;

impl PathTrie {
    pub(super) fn new() -> PathTrie {
        PathTrie {
            nodes: vec![Node::default()],
            by_name: Vec::new(),
            seen: Vec::new(),
            layout: Vec::new(),
            layout_checked: false,
        }
    }

    /// Add the path `first.rest…` (with `[]` after `rest[..k]` for `gather: Some(k)`):
    /// its node.
    pub(super) fn insert(&mut self, first: NameId, rest: &[String], gather: Option<usize>) -> u32 {
        let id = usize::from(first);
        if self.by_name.len() <= id {
            self.by_name.resize(id + 1, NONE);
        }
        let mut node = match self.by_name.get(id) {
            Some(&n) if n != NONE => n,
            _ => {
                let n = self.push();
                if let Some(slot) = self.by_name.get_mut(id) {
                    *slot = n;
                }
                n
            }
        };
        let lead = gather.unwrap_or(rest.len());
        for name in rest.iter().take(lead) {
            let known = self.nodes.get(node as usize).and_then(|n| {
                n.children
                    .iter()
                    .find(|(c, _)| **c == *name.as_bytes())
                    .map(|&(_, c)| c)
            });
            node = match known {
                Some(c) => c,
                None => {
                    let c = self.push();
                    if let Some(n) = self.nodes.get_mut(node as usize) {
                        n.children.push((name.as_bytes().into(), c));
                        n.quoted.push((QuotedName::new(name.as_bytes()), c));
                    }
                    c
                }
            };
        }
        if let Some(n) = self.nodes.get_mut(node as usize) {
            if gather.is_some() {
                n.gather = true;
            } else {
                n.end = true;
            }
        }
        node
    }

    fn push(&mut self) -> u32 {
        self.nodes.push(Node::default());
        self.seen.resize(self.nodes.len(), None);
        u32::try_from(self.nodes.len() - 1).unwrap_or(NONE)
    }

    /// Walk `text`; `false` when the walk declined it.
    pub(super) fn walk(
        &mut self,
        text: &str,
        names: &NameTable<NameId>,
        unknown: &mut UnknownNames,
    ) -> bool {
        self.seen.iter_mut().for_each(|s| *s = None);
        unknown.clear();
        let mut walk = Walk {
            nodes: &self.nodes,
            by_name: &self.by_name,
            seen: &mut self.seen,
            names,
            unknown: &mut *unknown,
            layout: &mut self.layout,
            scanned: 0,
            recognised: 0,
        };
        let walked = json::walk_nested(text, &mut walk);
        let (scanned, recognised) = (walk.scanned, walk.recognised);
        let members = scanned + recognised;
        if !walked {
            std::hint::cold_path();
            self.layout_checked = false;
            return false;
        }
        if self.layout_checked && scanned == 0 && recognised == self.layout.len() {
            return true;
        }
        self.layout.truncate(members);
        // A repeated top-level name the schema does not know: the general path says so.
        self.layout_checked = !(unknown.may_repeat() && unknown.first_repeat(text).is_some());
        self.layout_checked
    }

    /// The value the last walk found at `node` (a path's end), if any.
    #[inline]
    pub(super) fn value(&self, node: u32) -> Option<Tok> {
        self.seen.get(node as usize).copied().flatten()
    }
}

/// One line's walk.
struct Walk<'a> {
    nodes: &'a [Node],
    by_name: &'a [u32],
    seen: &'a mut [Option<Tok>],
    names: &'a NameTable<NameId>,
    unknown: &'a mut UnknownNames,
    layout: &'a mut Vec<(QuotedName, u32)>,
    /// Top-level members so far that `layout` did not recognise, and that it did
    /// (one count each, not a total as well: this is per member).
    scanned: usize,
    recognised: usize,
}

impl Walk<'_> {
    /// The member whose name starts at `name_start` is `child` of the object it is in
    /// (`None`: not read).
    #[inline]
    fn claim(
        &mut self,
        node: u32,
        child: Option<u32>,
        name_start: usize,
        name_len: usize,
    ) -> Member {
        let Some(seen) = child.and_then(|c| self.seen.get_mut(c as usize)) else {
            // Top-level names are checked for repeats even when nobody reads them.
            if node == 0 {
                self.unknown.push_plain(name_start, name_len);
            }
            return Member::Skip;
        };
        if seen.is_some() {
            std::hint::cold_path();
            return Member::GiveUp;
        }
        *seen = Some(Tok {
            token: Token::ObjOpen,
            start: 0,
            end: 0,
        });
        child.map_or(Member::GiveUp, Member::Read)
    }
}

impl NestedMembers for Walk<'_> {
    #[inline]
    fn recognise(
        &mut self,
        line: &[u8],
        node: u32,
        n: usize,
        name_start: usize,
    ) -> Option<(usize, Member)> {
        if node != 0 {
            // A nested object's names the program reads (a handful): each tried with
            // one compare, no scan for the quote.
            let (close, child) = self
                .nodes
                .get(node as usize)?
                .quoted
                .iter()
                .find_map(|&(q, c)| Some((q.end_in(line, name_start)?, c)))?;
            return Some((
                close,
                self.claim(node, Some(child), name_start, close - name_start),
            ));
        }
        // The line before's layout: a miss (a new producer, another order) is rare.
        let Some(&(quoted, child)) = self.layout.get(n) else {
            std::hint::cold_path();
            return None;
        };
        let Some(close) = quoted.end_in(line, name_start) else {
            std::hint::cold_path();
            return None;
        };
        self.recognised += 1;
        let child = (child != NONE).then_some(child);
        Some((
            close,
            self.claim(node, child, name_start, close - name_start),
        ))
    }

    #[inline]
    fn member(
        &mut self,
        line: &[u8],
        node: u32,
        n: usize,
        name_start: usize,
        name_len: usize,
    ) -> Member {
        let name = line.get(name_start..name_start + name_len);
        let child = if node == 0 {
            let child = self
                .names
                .get_within(line, name_start, name_len)
                .and_then(|id| self.by_name.get(usize::from(id)).copied())
                .filter(|&c| c != NONE);
            // Learnt for the next line.
            let learnt = (
                QuotedName::new(name.unwrap_or_default()),
                child.unwrap_or(NONE),
            );
            match self.layout.get_mut(n) {
                Some(slot) => *slot = learnt,
                None => self.layout.push(learnt),
            }
            self.scanned += 1;
            child
        } else {
            self.nodes.get(node as usize).and_then(|n| {
                n.children
                    .iter()
                    .find(|(c, _)| Some(&**c) == name)
                    .map(|&(_, c)| c)
            })
        };
        self.claim(node, child, name_start, name_len)
    }

    #[inline]
    fn scalar(&mut self, node: u32, value: Tok) -> bool {
        let gather = self.nodes.get(node as usize).is_none_or(|n| n.gather);
        if let Some(seen) = self.seen.get_mut(node as usize) {
            *seen = Some(value);
        }
        !gather
    }

    #[inline]
    fn nested(&mut self, node: u32, array: bool) -> Nested {
        match self.nodes.get(node as usize) {
            Some(n) if n.end || n.gather => Nested::GiveUp,
            Some(_) if array => Nested::Skip,
            Some(_) => Nested::Walk,
            None => Nested::GiveUp,
        }
    }
}
