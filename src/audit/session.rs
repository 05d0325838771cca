//! One TLS session as Postfix records it, in a log line or a Received:
//! header, and the forward-secrecy rule from FORWARD_SECRECY_README.

use serde::Serialize;

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

/// A parsed session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Log direction or header.
    pub direction: Direction,
    /// Anonymous, Untrusted, Trusted, Verified (log lines only).
    pub trust: Option<String>,
    /// The peer as logged (`host[addr]`, or the header's `from` name).
    pub peer: String,
    /// `TLSv1`, `TLSv1.2`, `TLSv1.3`, ...
    pub protocol: String,
    /// Cipher name.
    pub cipher: String,
    /// Effective cipher bits.
    pub bits: u32,
    /// Key exchange, normalised (`X25519`, `P-256`, `DHE 2048-bit`, ...).
    pub key_exchange: String,
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
pub fn parse_log(text: &str) -> Option<Session> {
    let (trust, rest) = text.split_once(" TLS connection established ")?;
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
    let spec_start = rest.find(": ")? + 2;
    let mut s = parse_spec(&rest[spec_start..])?;
    s.direction = direction;
    s.trust = Some(trust.to_owned());
    s.peer = peer.to_owned();
    Some(s)
}

/// Parses a joined Received: header with a `(using ...)` comment.
pub fn parse_received(text: &str) -> Option<Session> {
    let start = text.find("(using ")? + "(using ".len();
    let mut s = parse_spec(&text[start..])?;
    s.direction = Direction::ReceivedHeader;
    s.peer = text
        .split_once("Received: from ")
        .and_then(|(_, r)| r.split_whitespace().next())
        .unwrap_or("?")
        .to_owned();
    Some(s)
}

/// `TLSv1.3 with cipher NAME (A/B bits) [attributes...]`.
fn parse_spec(spec: &str) -> Option<Session> {
    let (protocol, rest) = spec.trim_start().split_once(" with cipher ")?;
    if !(protocol.starts_with("TLSv") || protocol.starts_with("SSLv")) {
        return None;
    }
    let rest = rest.trim_start();
    let (cipher, rest) = rest.split_once(' ')?;
    let rest = rest.trim_start().strip_prefix('(')?;
    let (bits, rest) = rest.split_once(" bits)")?;
    let bits: u32 = bits.split('/').next()?.trim().parse().ok()?;
    let key_exchange = key_exchange(rest, protocol, cipher);
    Some(Session {
        direction: Direction::ReceivedHeader,
        trust: None,
        peer: String::new(),
        forward_secret: forward_secret(protocol, cipher),
        protocol: protocol.to_owned(),
        cipher: cipher.to_owned(),
        bits,
        key_exchange,
    })
}

/// The `key-exchange` attribute, normalised; or what the cipher tells.
fn key_exchange(attrs: &str, protocol: &str, cipher: &str) -> String {
    if let Some((_, after)) = attrs.split_once("key-exchange ") {
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
            ("DHE", Some(bits)) => format!("DHE {}-bit", bits.trim_end_matches(" bits")),
            (n, _) => curve_name(n),
        };
    }
    if protocol == "TLSv1.3" {
        "TLS 1.3, group not logged".into()
    } else if cipher.starts_with("ECDHE") {
        "ECDHE, curve not logged".into()
    } else if cipher.starts_with("AECDH") {
        "ECDHE (anonymous)".into()
    } else if cipher.starts_with("DHE") || cipher.starts_with("EDH") {
        "DHE, size not logged".into()
    } else if cipher.starts_with("ADH") {
        "DHE (anonymous)".into()
    } else {
        "RSA key transport (no forward secrecy)".into()
    }
}

/// One spelling per curve: OpenSSL, SECG and NIST names all map to NIST's.
fn curve_name(n: &str) -> String {
    match n.to_ascii_lowercase().as_str() {
        "x25519" => "X25519".into(),
        "x448" => "X448".into(),
        "p-256" | "prime256v1" | "secp256r1" => "P-256".into(),
        "p-384" | "secp384r1" => "P-384".into(),
        "p-521" | "secp521r1" => "P-521".into(),
        _ => n.to_owned(),
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
            (s.protocol.as_str(), s.cipher.as_str(), s.bits),
            ("TLSv1.2", "ECDHE-RSA-AES256-SHA384", 256)
        );
        assert!(s.forward_secret);
        let s = parse_log("Untrusted TLS connection established from client.example[192.0.2.1] to server.example: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange ECDHE (P-256) server-signature RSA-PSS (2048 bits)").unwrap();
        assert_eq!(
            (s.direction, s.key_exchange.as_str()),
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
