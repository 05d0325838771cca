//! One TLS session as Postfix records it, in a log line or a Received:
//! header, and the forward-secrecy rule from FORWARD_SECRECY_README.

use std::borrow::Cow;
use std::sync::LazyLock;

use memchr::memmem::Finder;
use serde::Serialize;

// Searchers built once: `str::find` with a &str pattern rebuilds its
// searcher on every call, which dominated the audit's profile.
static ESTABLISHED: LazyLock<Finder<'static>> =
    LazyLock::new(|| Finder::new(" TLS connection established "));
static WITH_CIPHER: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(" with cipher "));
static BITS: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(" bits)"));
static KEY_EXCHANGE: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new("key-exchange "));
static USING: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new("(using "));
static COLON_SPACE: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(": "));
static MLKEM: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new("MLKEM"));
static KYBER: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new("Kyber"));

/// Whether a normalised key exchange is a hybrid post-quantum group.
pub fn is_hybrid_pq(key_exchange: &str) -> bool {
    let b = key_exchange.as_bytes();
    MLKEM.find(b).is_some() || KYBER.find(b).is_some()
}

/// `s.split_once(needle)` with a prebuilt searcher.
fn split<'a>(s: &'a str, f: &Finder<'_>) -> Option<(&'a str, &'a str)> {
    let i = f.find(s.as_bytes())?;
    Some((&s[..i], &s[i + f.needle().len()..]))
}

/// Where a session was seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Direction {
    /// smtpd: "TLS connection established from ...".
    Inbound,
    /// smtp/lmtp: "TLS connection established to ...".
    Outbound,
    /// A Received: header `(using ... with cipher ...)` comment.
    ReceivedHeader,
}

/// A parsed session, borrowing from the line it was read from (the audit
/// parses hundreds of thousands of these per second; no allocation here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session<'a> {
    /// Log direction or header.
    pub direction: Direction,
    /// Anonymous, Untrusted, Trusted, Verified (log lines only).
    pub trust: Option<&'a str>,
    /// The peer as logged (`host[addr]`, or the header's `from` name).
    pub peer: &'a str,
    /// `TLSv1`, `TLSv1.2`, `TLSv1.3`, ...
    pub protocol: &'a str,
    /// Cipher name.
    pub cipher: &'a str,
    /// Effective cipher bits.
    pub bits: u32,
    /// Key exchange, normalised (`X25519`, `P-256`, `DHE 2048-bit`, ...).
    pub key_exchange: Cow<'a, str>,
    /// Whether the session has forward secrecy.
    pub forward_secret: bool,
}

/// Forward secrecy by the guide's rule: all of TLS 1.3, and cipher names
/// starting with AECDH, ECDHE, ADH, EDH or DHE.
pub fn forward_secret(protocol: &str, cipher: &str) -> bool {
    protocol == "TLSv1.3"
        || ["AECDH", "ECDHE", "ADH", "EDH", "DHE"]
            .iter()
            .any(|p| cipher.starts_with(p))
}

/// Parses a log record's text from the trust word on:
/// `Untrusted TLS connection established to host[addr]:25: TLSv1.3 with cipher ...`.
pub fn parse_log(text: &str) -> Option<Session<'_>> {
    parse_log_at(text, ESTABLISHED.find(text.as_bytes())?)
}

/// `parse_log` when the caller already found " TLS connection established " at `at`.
pub fn parse_log_at(text: &str, at: usize) -> Option<Session<'_>> {
    let marker = ESTABLISHED.needle().len();
    let (trust, rest) = (text.get(..at)?, text.get(at + marker..)?);
    let trust = trust.rsplit(' ').next()?.trim_matches('"');
    let (direction, rest) = if let Some(r) = rest.strip_prefix("to ") {
        (Direction::Outbound, r)
    } else if let Some(r) = rest.strip_prefix("from ") {
        (Direction::Inbound, r)
    } else {
        return None;
    };
    let (peer, rest) = match rest.find(']') {
        Some(i) => (&rest[..=i], &rest[i + 1..]),
        None => rest.split_once(':')?,
    };
    let spec_start = COLON_SPACE.find(rest.as_bytes())? + 2;
    let mut s = parse_spec(&rest[spec_start..])?;
    s.direction = direction;
    s.trust = Some(trust);
    s.peer = peer;
    Some(s)
}

/// Parses a joined Received: header with a `(using ...)` comment.
pub fn parse_received(text: &str) -> Option<Session<'_>> {
    let start = USING.find(text.as_bytes())? + "(using ".len();
    let mut s = parse_spec(&text[start..])?;
    s.direction = Direction::ReceivedHeader;
    s.peer = text
        .split_once("Received: from ")
        .and_then(|(_, r)| r.split_whitespace().next())
        .unwrap_or("?");
    Some(s)
}

/// `TLSv1.3 with cipher NAME (A/B bits) [attributes...]`.
fn parse_spec(spec: &str) -> Option<Session<'_>> {
    let (protocol, rest) = split(spec.trim_start(), &WITH_CIPHER)?;
    if !(protocol.starts_with("TLSv") || protocol.starts_with("SSLv")) {
        return None;
    }
    let rest = rest.trim_start();
    let (cipher, rest) = rest.split_once(' ')?;
    let rest = rest.trim_start().strip_prefix('(')?;
    let (bits, rest) = split(rest, &BITS)?;
    let bits: u32 = bits.split('/').next()?.trim().parse().ok()?;
    let key_exchange = key_exchange(rest, protocol, cipher);
    Some(Session {
        direction: Direction::ReceivedHeader,
        trust: None,
        peer: "",
        forward_secret: forward_secret(protocol, cipher),
        protocol,
        cipher,
        bits,
        key_exchange,
    })
}

/// The `key-exchange` attribute, normalised; or what the cipher tells.
fn key_exchange<'a>(attrs: &'a str, protocol: &str, cipher: &str) -> Cow<'a, str> {
    if let Some((_, after)) = split(attrs, &KEY_EXCHANGE) {
        let mut words = after.split_whitespace();
        let name = words.next().unwrap_or("?").trim_end_matches([')', '"']);
        let detail = after
            .trim_start()
            .strip_prefix(name)
            .map(str::trim_start)
            .filter(|r| r.starts_with('('))
            .and_then(|r| r[1..].split_once(')'))
            .map(|(d, _)| d.trim());
        return match (name, detail) {
            ("ECDHE", Some(curve)) => curve_name(curve),
            ("DHE", Some(bits)) => format!("DHE {}-bit", bits.trim_end_matches(" bits")).into(),
            (n, _) => curve_name(n),
        };
    }
    Cow::Borrowed(if protocol == "TLSv1.3" {
        "TLS 1.3, group not logged"
    } else if cipher.starts_with("ECDHE") {
        "ECDHE, curve not logged"
    } else if cipher.starts_with("AECDH") {
        "ECDHE (anonymous)"
    } else if cipher.starts_with("DHE") || cipher.starts_with("EDH") {
        "DHE, size not logged"
    } else if cipher.starts_with("ADH") {
        "DHE (anonymous)"
    } else {
        "RSA key transport (no forward secrecy)"
    })
}

/// One spelling per curve: OpenSSL, SECG and NIST names all map to NIST's.
fn curve_name(n: &str) -> Cow<'_, str> {
    const NAMES: [(&str, &str); 9] = [
        ("x25519", "X25519"),
        ("x448", "X448"),
        ("p-256", "P-256"),
        ("prime256v1", "P-256"),
        ("secp256r1", "P-256"),
        ("p-384", "P-384"),
        ("secp384r1", "P-384"),
        ("p-521", "P-521"),
        ("secp521r1", "P-521"),
    ];
    match NAMES.iter().find(|(k, _)| n.eq_ignore_ascii_case(k)) {
        Some((_, v)) => Cow::Borrowed(v),
        None => Cow::Borrowed(n),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_records_parse_with_all_their_parts() {
        let s = parse_log("Untrusted TLS connection established to mx4.hotmail.com[65.55.92.136]:25: TLSv1.2 with cipher ECDHE-RSA-AES256-SHA384 (256/256 bits)").unwrap();
        assert_eq!(s.direction, Direction::Outbound);
        assert_eq!(s.peer, "mx4.hotmail.com[65.55.92.136]");
        assert_eq!(
            (s.protocol, s.cipher, s.bits),
            ("TLSv1.2", "ECDHE-RSA-AES256-SHA384", 256)
        );
        assert!(s.forward_secret);
        let s = parse_log("Untrusted TLS connection established from client.example[192.0.2.1] to server.example: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange ECDHE (P-256) server-signature RSA-PSS (2048 bits)").unwrap();
        assert_eq!(
            (s.direction, s.key_exchange.as_ref()),
            (Direction::Inbound, "P-256")
        );
        let s = parse_log("x: Trusted TLS connection established to a[1.2.3.4]:25: TLSv1.2 with cipher DHE-RSA-AES256-GCM-SHA384 (256/256 bits) key-exchange DHE (2048 bits) server-signature RSA (2048 bits)").unwrap();
        assert_eq!(s.key_exchange, "DHE 2048-bit");
    }

    #[test]
    fn received_headers_parse_and_placeholders_do_not() {
        let s = parse_received("Received: from x.example (x.example [192.0.2.9]) (using TLSv1.2 with cipher AES128-GCM-SHA256 (128/128 bits)) (No client certificate requested)").unwrap();
        assert!(!s.forward_secret);
        assert_eq!(s.peer, "x.example");
        assert_eq!(s.key_exchange, "RSA key transport (no forward secrecy)");
        assert!(parse_received("Received: from h (h [1.2.3.4]) (using TLSv1 with cipher cipher-name (actual-key-size/raw-key-size bits))").is_none());
    }
}
