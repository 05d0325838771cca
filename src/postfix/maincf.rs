//! Reading and editing main.cf without disturbing anything else.
//!
//! Edits touch only the logical line of the parameter being changed; every
//! other byte (comments, blank lines, order, tabs, CRLF, template markers,
//! bytes that are not UTF-8) comes back exactly as it was.

use std::ops::Range;

use super::lines::{self, Logical, RawLine};

/// One `name = value` logical line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    /// Parameter name.
    pub name: String,
    /// Value as Postfix reads it: continuation lines joined, ends trimmed.
    pub value: String,
    /// 1-based line number of the start line.
    pub line: usize,
    /// 1-based line number of the last content line.
    pub last_line: usize,
    /// Bytes of the whole logical line, first line start to last content line end.
    span: Range<usize>,
    /// Offset where the value starts on the first line.
    value_start: usize,
    /// Whether the value runs onto continuation lines.
    multiline: bool,
}

/// A parsed main.cf.
#[derive(Debug, Clone)]
pub struct MainCf {
    text: Vec<u8>,
    params: Vec<Param>,
    newline: &'static [u8],
    orphan_lines: Vec<usize>,
    non_params: Vec<usize>,
}

/// What an edit did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Nothing to do: the file already says so.
    Unchanged,
    /// The file changed; `duplicates` > 0 means earlier copies of the
    /// parameter exist (Postfix uses the last one, which was edited).
    Changed { duplicates: usize },
}

impl MainCf {
    /// Parses main.cf bytes; never fails, since Postfix itself is the judge
    /// of validity (`postfix check`). Lines that are not `name = value`
    /// (template markers, garbage) are kept and reported by `oddities`.
    pub fn parse(text: &[u8]) -> MainCf {
        let raw = lines::split(text);
        let (logical, orphan_lines) = lines::logical(text, &raw);
        let mut params = Vec::new();
        let mut non_params = Vec::new();
        for l in &logical {
            match parse_param(text, &raw, l) {
                Some(p) => params.push(p),
                None => non_params.push(l.first() + 1),
            }
        }
        MainCf {
            newline: lines::newline(text, &raw),
            text: text.to_vec(),
            params,
            orphan_lines: orphan_lines.iter().map(|i| i + 1).collect(),
            non_params,
        }
    }

    /// The file's bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.text
    }

    /// Every parameter line, in file order (duplicates included).
    pub fn params(&self) -> &[Param] {
        &self.params
    }

    /// The value Postfix uses for `name` (the last occurrence).
    pub fn get(&self, name: &str) -> Option<&Param> {
        self.params.iter().rev().find(|p| p.name == name)
    }

    /// How many times `name` is set.
    pub fn count(&self, name: &str) -> usize {
        self.params.iter().filter(|p| p.name == name).count()
    }

    /// Line numbers Postfix would complain about: indented lines with
    /// nothing to continue, and logical lines without `=`.
    pub fn oddities(&self) -> (&[usize], &[usize]) {
        (&self.orphan_lines, &self.non_params)
    }

    /// Sets `name = value`, editing the last occurrence in place (keeping
    /// its `name = ` spelling) or appending a line at the end.
    pub fn set(&mut self, name: &str, value: &str) -> Change {
        let duplicates = self.count(name).saturating_sub(1);
        let new = match self.get(name) {
            Some(p) if p.value == value && !p.multiline => return Change::Unchanged,
            Some(p) => {
                let first_line_end = self.text[p.value_start..]
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(self.text.len(), |i| p.value_start + i);
                // Keep a CR that ends the first line so CRLF files stay CRLF.
                let keep_cr = self.text[..first_line_end].ends_with(b"\r");
                let mut with = value.as_bytes().to_vec();
                if keep_cr {
                    with.push(b'\r');
                }
                let mut edits = [(p.value_start..p.span.end, with)];
                if p.multiline {
                    // The continuation lines go; the first line's end stays.
                    edits[0].0 = p.value_start..p.span.end;
                } else {
                    edits[0].0 = p.value_start..first_line_end;
                }
                lines::splice(&self.text, &mut edits)
            }
            None => {
                let mut out = self.text.clone();
                if !out.is_empty() && !out.ends_with(b"\n") {
                    out.extend_from_slice(self.newline);
                }
                out.extend_from_slice(name.as_bytes());
                out.extend_from_slice(b" = ");
                out.extend_from_slice(value.as_bytes());
                out.extend_from_slice(self.newline);
                out
            }
        };
        *self = MainCf::parse(&new);
        Change::Changed { duplicates }
    }

    /// Removes every occurrence of `name` (an earlier duplicate would
    /// otherwise take effect), with its continuation lines.
    pub fn remove(&mut self, name: &str) -> Change {
        let raw = lines::split(&self.text);
        let mut edits: Vec<(Range<usize>, Vec<u8>)> = Vec::new();
        for p in self.params.iter().filter(|p| p.name == name) {
            // Remove whole physical lines: from the start line to the end of
            // the last content line's terminator.
            let end = raw
                .iter()
                .find(|l| l.start <= p.span.end && p.span.end <= l.content_end)
                .map_or(p.span.end, |l| l.end);
            edits.push((p.span.start..end, Vec::new()));
        }
        if edits.is_empty() {
            return Change::Unchanged;
        }
        let duplicates = edits.len() - 1;
        let new = lines::splice(&self.text, &mut edits);
        *self = MainCf::parse(&new);
        Change::Changed { duplicates }
    }
}

fn parse_param(text: &[u8], raw: &[RawLine], l: &Logical) -> Option<Param> {
    let first = raw[l.first()];
    let content = first.content(text);
    let name_end = content
        .iter()
        .position(|&b| lines::is_space(b) || b == b'=')
        .unwrap_or(content.len());
    let mut i = name_end;
    while i < content.len() && lines::is_space(content[i]) {
        i += 1;
    }
    if i >= content.len() || content[i] != b'=' || name_end == 0 {
        return None;
    }
    i += 1;
    while i < content.len() && lines::is_space(content[i]) {
        i += 1;
    }
    let mut joined = content[i..].to_vec();
    for &idx in &l.content_lines[1..] {
        joined.extend_from_slice(raw[idx].content(text));
    }
    let last = raw[l.last()];
    Some(Param {
        name: String::from_utf8_lossy(&content[..name_end]).into_owned(),
        value: String::from_utf8_lossy(lines::trim(&joined)).into_owned(),
        line: l.first() + 1,
        last_line: l.last() + 1,
        span: first.start..last.content_end,
        value_start: first.start + i,
        multiline: l.content_lines.len() > 1,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &[u8] = b"# top comment
myhostname = mx.example.org
smtpd_tls_dh1024_param_file = ${config_directory}/dh.pem
smtpd_recipient_restrictions =
    permit_mynetworks,
# inner
    reject
\tsmtpd_tls_loglevel=1
smtpd_tls_dh1024_param_file=/etc/postfix/old.pem # not a comment
last = x";

    #[test]
    fn values_are_read_as_postfix_reads_them() {
        let cf = MainCf::parse(SAMPLE);
        assert_eq!(cf.get("myhostname").unwrap().value, "mx.example.org");
        assert_eq!(
            cf.get("smtpd_recipient_restrictions").unwrap().value,
            "permit_mynetworks,    reject\tsmtpd_tls_loglevel=1"
        );
        assert_eq!(
            cf.get("smtpd_tls_dh1024_param_file").unwrap().value,
            "/etc/postfix/old.pem # not a comment"
        );
        assert_eq!(cf.count("smtpd_tls_dh1024_param_file"), 2);
    }

    #[test]
    fn set_edits_only_the_last_duplicate() {
        let mut cf = MainCf::parse(SAMPLE);
        let change = cf.set("smtpd_tls_dh1024_param_file", "/etc/postfix/dh2048.pem");
        assert_eq!(change, Change::Changed { duplicates: 1 });
        let expected = String::from_utf8(SAMPLE.to_vec()).unwrap().replace(
            "param_file=/etc/postfix/old.pem # not a comment",
            "param_file=/etc/postfix/dh2048.pem",
        );
        assert_eq!(String::from_utf8(cf.bytes().to_vec()).unwrap(), expected);
        assert_eq!(
            cf.set("smtpd_tls_dh1024_param_file", "/etc/postfix/dh2048.pem"),
            Change::Unchanged
        );
    }

    #[test]
    fn set_appends_with_a_newline_when_missing() {
        let mut cf = MainCf::parse(SAMPLE);
        cf.set("smtpd_tls_dh512_param_file", "/x");
        assert!(
            cf.bytes()
                .ends_with(b"last = x\nsmtpd_tls_dh512_param_file = /x\n")
        );
        cf.remove("smtpd_tls_dh512_param_file");
        assert_eq!(cf.bytes(), [SAMPLE, b"\n"].concat());
    }

    #[test]
    fn multiline_value_is_replaced_whole() {
        let mut cf = MainCf::parse(SAMPLE);
        cf.set("smtpd_recipient_restrictions", "reject");
        let text = String::from_utf8(cf.bytes().to_vec()).unwrap();
        assert!(
            text.contains("smtpd_recipient_restrictions =reject\nsmtpd_tls_dh1024"),
            "{text}"
        );
        assert!(!text.contains("# inner"));
    }

    #[test]
    fn remove_takes_every_copy_and_nothing_else() {
        let mut cf = MainCf::parse(SAMPLE);
        assert_eq!(
            cf.remove("smtpd_tls_dh1024_param_file"),
            Change::Changed { duplicates: 1 }
        );
        let text = String::from_utf8(cf.bytes().to_vec()).unwrap();
        assert!(!text.contains("dh1024"));
        assert!(text.contains("myhostname = mx.example.org\nsmtpd_recipient_restrictions =\n"));
        assert!(text.ends_with("reject\n\tsmtpd_tls_loglevel=1\nlast = x"));
        assert_eq!(cf.remove("smtpd_tls_dh1024_param_file"), Change::Unchanged);
    }

    #[test]
    fn crlf_and_non_utf8_bytes_survive_an_edit() {
        let text = b"a = \xff\xfe\r\nb = 1\r\n";
        let mut cf = MainCf::parse(text);
        cf.set("b", "2");
        assert_eq!(cf.bytes(), b"a = \xff\xfe\r\nb = 2\r\n");
        cf.set("c", "3");
        assert_eq!(cf.bytes(), b"a = \xff\xfe\r\nb = 2\r\nc = 3\r\n");
    }
}
