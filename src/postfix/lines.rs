//! Postfix's logical-line rules, shared by main.cf and master.cf.
//!
//! From postconf(5) and master(5): a logical line starts with a
//! non-whitespace character; a line that starts with whitespace continues
//! it; empty lines, whitespace-only lines and lines whose first
//! non-whitespace character is `#` are ignored, also in the middle of a
//! logical line. Nothing else is special: `#` after text is part of the value.
//!
//! Everything here works on bytes, because main.cf may hold bytes that
//! are not UTF-8 and the editor must give them back unchanged.

use std::ops::Range;

/// One physical line of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawLine {
    /// Offset of the first byte.
    pub start: usize,
    /// Offset just past the content (before `\n`).
    pub content_end: usize,
    /// Offset just past the terminator (`content_end` on a last line without one).
    pub end: usize,
}

impl RawLine {
    /// The line's bytes without the `\n`.
    pub fn content<'a>(&self, text: &'a [u8]) -> &'a [u8] {
        &text[self.start..self.content_end]
    }

    /// The whole line, terminator included.
    pub fn range(&self) -> Range<usize> {
        self.start..self.end
    }
}

/// What Postfix makes of a physical line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    /// Empty or whitespace only.
    Blank,
    /// First non-whitespace byte is `#`.
    Comment,
    /// Starts with a non-whitespace byte: begins a logical line.
    Start,
    /// Starts with whitespace and has content: continues a logical line.
    Continuation,
}

/// Postfix's ISSPACE for the bytes that can occur inside a line.
pub fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\x0b' | b'\x0c')
}

/// Classifies a line's content.
pub fn kind(content: &[u8]) -> LineKind {
    match content.iter().position(|&b| !is_space(b)) {
        None => LineKind::Blank,
        Some(i) if content[i] == b'#' => LineKind::Comment,
        Some(0) => LineKind::Start,
        Some(_) => LineKind::Continuation,
    }
}

/// Splits `text` into physical lines.
pub fn split(text: &[u8]) -> Vec<RawLine> {
    let mut lines = Vec::new();
    let mut start = 0;
    while start < text.len() {
        match text[start..].iter().position(|&b| b == b'\n') {
            Some(i) => {
                lines.push(RawLine {
                    start,
                    content_end: start + i,
                    end: start + i + 1,
                });
                start += i + 1;
            }
            None => {
                lines.push(RawLine {
                    start,
                    content_end: text.len(),
                    end: text.len(),
                });
                start = text.len();
            }
        }
    }
    lines
}

/// A logical line: a start line and its continuation lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logical {
    /// Indexes of the physical lines with content (start first), in order.
    /// Comment and blank lines between them are not listed but lie inside
    /// `first..=last`.
    pub content_lines: Vec<usize>,
}

impl Logical {
    /// Index of the start line.
    pub fn first(&self) -> usize {
        self.content_lines[0]
    }

    /// Index of the last content line.
    pub fn last(&self) -> usize {
        *self.content_lines.last().expect("never empty")
    }
}

/// The logical lines of a file, plus the indexes of continuation lines that
/// have nothing to continue (Postfix warns and ignores them).
pub fn logical(text: &[u8], lines: &[RawLine]) -> (Vec<Logical>, Vec<usize>) {
    let mut out: Vec<Logical> = Vec::new();
    let mut orphans = Vec::new();
    let mut open = false;
    for (i, line) in lines.iter().enumerate() {
        match kind(line.content(text)) {
            LineKind::Blank | LineKind::Comment => {}
            LineKind::Start => {
                out.push(Logical {
                    content_lines: vec![i],
                });
                open = true;
            }
            LineKind::Continuation if open => out.last_mut().expect("open").content_lines.push(i),
            LineKind::Continuation => orphans.push(i),
        }
    }
    (out, orphans)
}

/// The newline convention of a file: `\r\n` when most lines use it.
pub fn newline(text: &[u8], lines: &[RawLine]) -> &'static [u8] {
    let terminated = lines.iter().filter(|l| l.end > l.content_end).count();
    let crlf = lines
        .iter()
        .filter(|l| l.end > l.content_end && text[..l.content_end].ends_with(b"\r"))
        .count();
    if terminated > 0 && crlf * 2 > terminated {
        b"\r\n"
    } else {
        b"\n"
    }
}

/// Replaces byte ranges (sorted, non-overlapping) in `text`.
pub fn splice(text: &[u8], edits: &mut [(Range<usize>, Vec<u8>)]) -> Vec<u8> {
    edits.sort_by_key(|(r, _)| r.start);
    let mut out = Vec::with_capacity(text.len() + 128);
    let mut at = 0;
    for (range, with) in edits.iter() {
        debug_assert!(range.start >= at, "overlapping edits");
        out.extend_from_slice(&text[at..range.start]);
        out.extend_from_slice(with);
        at = range.end;
    }
    out.extend_from_slice(&text[at..]);
    out
}

/// Trims Postfix whitespace from both ends.
pub fn trim(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if is_space(*first) {
            s = rest;
        } else {
            break;
        }
    }
    while let [rest @ .., last] = s {
        if is_space(*last) {
            s = rest;
        } else {
            break;
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_and_blanks_inside_a_logical_line_do_not_end_it() {
        let text = b"a = 1\n  2\n# c\n\n  3\nb = x\n    # indented comment\n";
        let lines = split(text);
        let (logical, orphans) = logical(text, &lines);
        assert_eq!(logical.len(), 2);
        assert_eq!(logical[0].content_lines, vec![0, 1, 4]);
        assert_eq!(logical[1].content_lines, vec![5]);
        assert!(orphans.is_empty());
    }

    #[test]
    fn leading_indented_lines_are_orphans() {
        let text = b"   a = 1\n   b = 2\nc = 3";
        let lines = split(text);
        let (logical, orphans) = logical(text, &lines);
        assert_eq!(orphans, vec![0, 1]);
        assert_eq!(logical.len(), 1);
        assert_eq!(lines[2].end, text.len());
    }

    #[test]
    fn crlf_files_are_detected() {
        let text = b"a = 1\r\nb = 2\r\n";
        assert_eq!(newline(text, &split(text)), b"\r\n");
        let text = b"a = 1\nb = 2\n";
        assert_eq!(newline(text, &split(text)), b"\n");
    }
}
