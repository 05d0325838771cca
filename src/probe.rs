//! A TLS client probe: what does a server really serve?
//!
//! Postfix falls back to another group without failing when a DH file is
//! bad, so the only proof that a rotation took effect is a handshake.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use openssl::ssl::{SslConnector, SslMethod, SslRef, SslStream, SslVerifyMode, SslVersion};

use crate::dh::validate::fingerprint;

/// How TLS starts on a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Wrap {
    /// SMTP greeting, EHLO, STARTTLS, then TLS (ports 25, 587).
    StartTls,
    /// TLS from the first byte (port 465).
    Implicit,
}

impl Wrap {
    /// The usual mode for a port: implicit TLS on 465, STARTTLS elsewhere.
    pub fn for_port(port: u16) -> Wrap {
        if port == 465 {
            Wrap::Implicit
        } else {
            Wrap::StartTls
        }
    }
}

/// `host:port` with the default port 25, IPv6 in brackets.
pub fn parse_target(s: &str) -> (String, u16) {
    let with_port = |host: &str, port: &str| -> Option<(String, u16)> {
        port.parse().ok().map(|p| (format!("{host}:{p}"), p))
    };
    if let Some((host, after)) = s.strip_prefix('[').and_then(|rest| rest.split_once(']')) {
        if let Some(t) = after
            .strip_prefix(':')
            .and_then(|p| with_port(&format!("[{host}]"), p))
        {
            return t;
        }
        return (format!("[{host}]:25"), 25);
    }
    match s.matches(':').count() {
        0 => (format!("{s}:25"), 25),
        1 => {
            let (h, p) = s.split_once(':').expect("one colon");
            with_port(h, p).unwrap_or_else(|| (format!("{h}:25"), 25))
        }
        _ => (format!("[{s}]:25"), 25),
    }
}

/// Why a probe failed; each kind has its own exit code.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ProbeError {
    /// TCP connection refused, unreachable or timed out (exit 7).
    #[error("cannot connect to {addr}: {reason}")]
    Connect { addr: String, reason: String },
    /// The peer is not an SMTP server (exit 8).
    #[error("{addr} is not an SMTP server: {reason}")]
    NotSmtp { addr: String, reason: String },
    /// STARTTLS expected but the peer speaks TLS at once, or the reverse (exit 9).
    #[error("{addr} {reason}")]
    WrongWrap { addr: String, reason: String },
    /// The TLS handshake failed for another reason (exit 10).
    #[error("TLS handshake with {addr} failed: {reason}")]
    Handshake { addr: String, reason: String },
    /// The server completed no handshake that offered only DHE ciphers (exit 11).
    #[error("{addr} offers no DHE cipher suite (TLS 1.2 with only DHE offered: {reason})")]
    NoDhe { addr: String, reason: String },
}

impl ProbeError {
    /// The process exit code for this failure.
    pub fn exit_code(&self) -> u8 {
        match self {
            ProbeError::Connect { .. } => 7,
            ProbeError::NotSmtp { .. } => 8,
            ProbeError::WrongWrap { .. } => 9,
            ProbeError::Handshake { .. } => 10,
            ProbeError::NoDhe { .. } => 11,
        }
    }
}

/// The DH group a server used in one DHE handshake.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ServedGroup {
    /// Prime size.
    pub bits: u32,
    /// SHA-256 of p, as `dhrotate check` prints it.
    pub fingerprint: String,
    /// The generator, decimal.
    pub generator: String,
    /// Catalog name when the prime is a well-known shared one.
    pub known: Option<String>,
    /// Whether p and (p-1)/2 are both prime.
    pub safe_prime: bool,
    /// Negotiated cipher.
    pub cipher: String,
    /// Negotiated protocol.
    pub protocol: String,
}

/// What a default TLS 1.3 handshake negotiated.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Tls13 {
    /// Key-exchange group (`X25519`, `prime256v1`, an FFDHE catalog name...).
    pub group: String,
    /// Negotiated cipher.
    pub cipher: String,
    /// Protocol (TLSv1.3).
    pub protocol: String,
    /// Server signature: algorithm and digest.
    pub signature: String,
}

/// Connects, starts TLS per `wrap`, and does a DHE-only TLS 1.2 handshake.
/// Security level 1 lets a 1024-bit group through: the point is to see
/// what is served, not to judge it. The group is proved as a file of its
/// PEM rendering would be: with `proofs`, the proof of a file dhrotate
/// wrote (OpenSSL's rendering too) is reused.
pub fn dhe_group(
    addr: &str,
    wrap: Wrap,
    timeout: Duration,
    proofs: Option<&crate::dh::Proofs>,
) -> Result<ServedGroup, ProbeError> {
    let stream = open(addr, wrap, timeout)?;
    let mut b = builder(addr)?;
    let tls = |e: openssl::error::ErrorStack| handshake_error(addr, &e.to_string());
    b.set_min_proto_version(Some(SslVersion::TLS1))
        .map_err(tls)?;
    b.set_max_proto_version(Some(SslVersion::TLS1_2))
        .map_err(tls)?;
    b.set_cipher_list("kEDH:@SECLEVEL=1").map_err(tls)?;
    let ssl = handshake(addr, b.build(), stream).map_err(|e| match e {
        ProbeError::Handshake { addr, reason }
            if reason.contains("handshake failure") || reason.contains("no shared cipher") =>
        {
            ProbeError::NoDhe { addr, reason }
        }
        other => other,
    })?;
    let ssl = ssl.ssl();
    let key = peer_tmp_key(ssl).map_err(tls)?;
    let dh = key
        .dh()
        .map_err(|_| handshake_error(addr, "the server did not use DH"))?;
    let params = openssl::dh::Dh::from_pqg(
        dh.prime_p().to_owned().map_err(tls)?,
        None,
        dh.generator().to_owned().map_err(tls)?,
    )
    .map_err(tls)?;
    let catalog = crate::dh::Catalog::embedded();
    let any = crate::dh::Acceptance {
        expected_bits: None,
        min_bits: 0,
        named: false,
    };
    let verdict = match params.params_to_pem() {
        Ok(pem) => crate::dh::validate::validate_rendered(
            &params,
            &pem,
            &any,
            &catalog,
            crate::dh::proofs::or_scratch(proofs),
        ),
        Err(_) => crate::dh::validate::validate(&params, &any, &catalog),
    };
    Ok(ServedGroup {
        bits: dh.prime_p().num_bits() as u32,
        fingerprint: fingerprint(dh.prime_p()),
        generator: verdict.proof.generator,
        known: verdict.known.map(|k| k.name),
        safe_prime: verdict.proof.p_prime && verdict.proof.q_prime,
        cipher: ssl.current_cipher().map_or("?", |c| c.name()).to_owned(),
        protocol: ssl.version_str().to_owned(),
    })
}

/// Probes `addr` until `wanted` accepts what it serves or `patience` runs
/// out, and returns the last answer: after a reload, Postfix replaces its
/// smtpd processes lazily, so the first handshakes may still see the old
/// group or a refused connection. The one retry loop of the code base
/// (verification, the demo and the tests all use it).
pub fn retry(
    addr: &str,
    wrap: Wrap,
    patience: Duration,
    proofs: Option<&crate::dh::Proofs>,
    wanted: impl Fn(&ServedGroup) -> bool,
) -> Result<ServedGroup, ProbeError> {
    let deadline = std::time::Instant::now() + patience;
    loop {
        let served = dhe_group(addr, wrap, Duration::from_secs(10), proofs);
        let done = served.as_ref().is_ok_and(&wanted);
        if done || std::time::Instant::now() >= deadline {
            return served;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// `dhrotate probe`: what one server serves, both ways it is asked.
#[derive(Debug, serde::Serialize)]
pub struct Examination {
    /// `host:port` probed.
    pub target: String,
    /// How TLS was started.
    pub wrap: Wrap,
    /// The DHE group of a DHE-only TLS 1.2 handshake.
    pub dhe: Option<ServedGroup>,
    /// Why that handshake failed, when it did.
    pub dhe_error: Option<String>,
    /// What a default TLS 1.3 handshake negotiated.
    pub tls13: Option<Tls13>,
    /// Why that handshake failed, when it did.
    pub tls13_error: Option<String>,
    #[serde(skip)]
    failure: Option<ProbeError>,
}

impl Examination {
    /// Why the probe failed as a whole (its exit code), if it did: a
    /// server whose TLS 1.3 works but who completes no DHE-only handshake
    /// offers no DHE.
    pub fn failure(self) -> Option<ProbeError> {
        self.failure
    }
}

/// Probes `target` (HOST, HOST:PORT, `[IPv6]:PORT`; port 25 by default) with
/// a DHE-only TLS 1.2 handshake and a default TLS 1.3 one. `wrap` `None`:
/// implicit TLS on 465, STARTTLS elsewhere. A server that cannot be
/// reached, is not SMTP or starts TLS the other way is the answer
/// (`Err`), asked once.
pub fn examine(
    target: &str,
    wrap: Option<Wrap>,
    timeout: Duration,
) -> Result<Examination, ProbeError> {
    let (addr, port) = parse_target(target);
    let wrap = wrap.unwrap_or_else(|| Wrap::for_port(port));
    // The independent look at a server: proved from scratch.
    let dhe = dhe_group(&addr, wrap, timeout, None);
    if let Err(
        e
        @ (ProbeError::Connect { .. } | ProbeError::NotSmtp { .. } | ProbeError::WrongWrap { .. }),
    ) = dhe
    {
        return Err(e);
    }
    let tls13 = tls13(&addr, wrap, None, timeout);
    let dhe_error = dhe.as_ref().err().map(|e| e.to_string());
    let failure = match (&dhe, &tls13) {
        (Ok(_), _) => None,
        (Err(_), Ok(_)) => Some(ProbeError::NoDhe {
            addr: addr.clone(),
            reason: dhe_error.clone().unwrap_or_default(),
        }),
        (Err(_), Err(_)) => dhe.as_ref().err().cloned(),
    };
    Ok(Examination {
        target: addr,
        wrap,
        dhe_error,
        dhe: dhe.ok(),
        tls13_error: tls13.as_ref().err().map(|e| e.to_string()),
        tls13: tls13.ok(),
        failure,
    })
}

/// A default TLS 1.3 handshake; `groups` restricts what the client offers
/// (OpenSSL group-list syntax).
pub fn tls13(
    addr: &str,
    wrap: Wrap,
    groups: Option<&str>,
    timeout: Duration,
) -> Result<Tls13, ProbeError> {
    let stream = open(addr, wrap, timeout)?;
    let mut b = builder(addr)?;
    let tls = |e: openssl::error::ErrorStack| handshake_error(addr, &e.to_string());
    b.set_min_proto_version(Some(SslVersion::TLS1_3))
        .map_err(tls)?;
    if let Some(g) = groups {
        b.set_groups_list(g).map_err(tls)?;
    }
    let ssl = handshake(addr, b.build(), stream)?;
    let ssl = ssl.ssl();
    // A hybrid KEM share (X25519MLKEM768) is no EVP_PKEY OpenSSL can hand
    // out as the peer's key; the negotiated group's name is there for all.
    let group = match peer_tmp_key(ssl).and_then(|k| group_name(&k)) {
        Ok(name) if name != "unknown" => name,
        _ => negotiated_group(ssl).ok_or_else(|| {
            handshake_error(addr, "OpenSSL names no negotiated key-exchange group")
        })?,
    };
    Ok(Tls13 {
        group,
        cipher: ssl.current_cipher().map_or("?", |c| c.name()).to_owned(),
        protocol: ssl.version_str().to_owned(),
        signature: signature(ssl),
    })
}

fn builder(addr: &str) -> Result<openssl::ssl::SslConnectorBuilder, ProbeError> {
    let mut b = SslConnector::builder(SslMethod::tls_client())
        .map_err(|e| handshake_error(addr, &e.to_string()))?;
    // A probe looks at what is served; certificate checks are another tool's job.
    b.set_verify(SslVerifyMode::NONE);
    Ok(b)
}

fn handshake(
    addr: &str,
    connector: SslConnector,
    stream: TcpStream,
) -> Result<SslStream<TcpStream>, ProbeError> {
    let mut cfg = connector
        .configure()
        .map_err(|e| handshake_error(addr, &e.to_string()))?;
    cfg.set_verify_hostname(false);
    let host = addr
        .rsplit_once(':')
        .map_or(addr, |(h, _)| h)
        .trim_matches(['[', ']']);
    cfg.connect(host, stream).map_err(|e| {
        let reason = e.to_string();
        if reason.contains("wrong version number") || reason.contains("packet length too long") {
            ProbeError::WrongWrap {
                addr: addr.to_owned(),
                reason: "does not speak TLS at once (plaintext SMTP?); probe with --starttls"
                    .into(),
            }
        } else {
            handshake_error(addr, &reason)
        }
    })
}

fn handshake_error(addr: &str, reason: &str) -> ProbeError {
    ProbeError::Handshake {
        addr: addr.to_owned(),
        reason: reason.to_owned(),
    }
}

/// TCP connect, then the SMTP dialogue up to STARTTLS when asked for.
fn open(addr: &str, wrap: Wrap, timeout: Duration) -> Result<TcpStream, ProbeError> {
    let stream = connect(addr, timeout)?;
    if wrap == Wrap::StartTls {
        starttls(addr, &stream, timeout)?;
    }
    Ok(stream)
}

fn connect(addr: &str, timeout: Duration) -> Result<TcpStream, ProbeError> {
    let err = |reason: String| ProbeError::Connect {
        addr: addr.to_owned(),
        reason,
    };
    let sock = addr
        .to_socket_addrs()
        .map_err(|e| err(format!("cannot resolve it ({e})")))?
        .next()
        .ok_or_else(|| err("it resolves to no address".into()))?;
    let stream = TcpStream::connect_timeout(&sock, timeout).map_err(|e| err(e.to_string()))?;
    stream
        .set_read_timeout(Some(timeout))
        .and_then(|()| stream.set_write_timeout(Some(timeout)))
        .map_err(|e| err(e.to_string()))?;
    Ok(stream)
}

fn starttls(addr: &str, stream: &TcpStream, timeout: Duration) -> Result<(), ProbeError> {
    let not_smtp = |reason: String| ProbeError::NotSmtp {
        addr: addr.to_owned(),
        reason,
    };
    let mut conn = Smtp {
        stream,
        buf: Vec::new(),
        deadline: std::time::Instant::now() + timeout * 2,
        budget: MAX_SMTP_BYTES,
    };
    match conn.reply() {
        Ok(lines) if lines[0].starts_with("220") => {}
        Ok(lines) => return Err(describe_stranger(addr, &lines[0])),
        Err(Silence::Closed) => {
            return Err(not_smtp(
                "it closed the connection without a greeting".into(),
            ));
        }
        Err(Silence::Io(e)) => return Err(not_smtp(format!("reading its greeting failed: {e}"))),
        Err(Silence::TooMuch) => return Err(not_smtp(too_much())),
        Err(Silence::Timeout) => {
            // HTTP servers wait for a request, TLS servers for a ClientHello.
            let _ = (&*stream).write_all(b"EHLO dhrotate.invalid\r\n");
            return Err(match conn.reply() {
                Ok(lines) => describe_stranger(addr, &lines[0]),
                Err(_) if answers_tls(addr, timeout) => ProbeError::WrongWrap {
                    addr: addr.to_owned(),
                    reason: "speaks TLS at once (implicit TLS, like port 465), not SMTP with STARTTLS; probe with --tls".into(),
                },
                Err(_) => not_smtp(format!("no SMTP greeting within {}s", timeout.as_secs())),
            });
        }
        Err(Silence::Binary(first)) if first == 0x15 || first == 0x16 => {
            return Err(ProbeError::WrongWrap {
                addr: addr.to_owned(),
                reason: "sent a TLS record instead of an SMTP greeting; probe with --tls".into(),
            });
        }
        Err(Silence::Binary(first)) => {
            return Err(not_smtp(format!(
                "it sent binary data (0x{first:02x}), not an SMTP greeting"
            )));
        }
    }
    (&*stream)
        .write_all(b"EHLO dhrotate.invalid\r\n")
        .map_err(|e| not_smtp(e.to_string()))?;
    let ehlo = conn.reply().map_err(|e| match e {
        Silence::TooMuch => not_smtp(too_much()),
        _ => not_smtp("no reply to EHLO".into()),
    })?;
    if !ehlo[0].starts_with("250") {
        return Err(not_smtp(format!("EHLO was answered with {:?}", ehlo[0])));
    }
    if !ehlo.iter().any(|l| {
        l.get(4..)
            .is_some_and(|k| k.trim().eq_ignore_ascii_case("STARTTLS"))
    }) {
        return Err(ProbeError::Handshake {
            addr: addr.to_owned(),
            reason: "the server does not offer STARTTLS".into(),
        });
    }
    (&*stream)
        .write_all(b"STARTTLS\r\n")
        .map_err(|e| not_smtp(e.to_string()))?;
    match conn.reply() {
        Ok(l) if l[0].starts_with("220") => Ok(()),
        Ok(l) => Err(ProbeError::Handshake {
            addr: addr.to_owned(),
            reason: format!("STARTTLS was answered with {:?}", l[0]),
        }),
        Err(_) => Err(not_smtp("no reply to STARTTLS".into())),
    }
}

fn too_much() -> String {
    format!(
        "it sent more than an SMTP server sends before STARTTLS (over {MAX_REPLY_LINES} lines in a reply, or {MAX_SMTP_BYTES} bytes)"
    )
}

fn describe_stranger(addr: &str, line: &str) -> ProbeError {
    let reason = if line.starts_with("HTTP/") {
        format!("it answers like an HTTP server ({line:?})")
    } else if line.starts_with("+OK") || line.starts_with("* OK") {
        format!("it greets like a POP3/IMAP server ({line:?})")
    } else {
        format!("it greeted with {line:?} instead of 220")
    };
    ProbeError::NotSmtp {
        addr: addr.to_owned(),
        reason,
    }
}

/// Whether a fresh connection completes a TLS handshake at once.
fn answers_tls(addr: &str, timeout: Duration) -> bool {
    let Ok(stream) = connect(addr, timeout) else {
        return false;
    };
    let Ok(b) = builder(addr) else {
        return false;
    };
    handshake(addr, b.build(), stream).is_ok()
}

enum Silence {
    Timeout,
    Closed,
    /// More lines or bytes than any SMTP server sends before STARTTLS.
    TooMuch,
    Binary(u8),
    Io(std::io::Error),
}

/// Most a server may send before STARTTLS (a real greeting and EHLO reply
/// are well under 2 KiB), and most lines in one reply: a hostile or broken
/// peer cannot keep the probe reading.
const MAX_SMTP_BYTES: usize = 64 * 1024;
const MAX_REPLY_LINES: usize = 100;

/// Just enough SMTP to reach STARTTLS, reading byte-exactly so no TLS
/// bytes are swallowed by a buffer. The whole exchange has a deadline
/// (a peer that drips a byte at a time within the read timeout still
/// ends) and a byte budget.
struct Smtp<'a> {
    stream: &'a TcpStream,
    buf: Vec<u8>,
    deadline: std::time::Instant,
    budget: usize,
}

impl Smtp<'_> {
    fn line(&mut self) -> Result<String, Silence> {
        self.buf.clear();
        let mut byte = [0u8; 1];
        loop {
            if std::time::Instant::now() > self.deadline {
                return Err(Silence::Timeout);
            }
            match (&*self.stream).read(&mut byte) {
                Ok(0) => return Err(Silence::Closed),
                Ok(_) if self.budget == 0 => return Err(Silence::TooMuch),
                Ok(_) => {
                    self.budget -= 1;
                    if self.buf.is_empty() && !(byte[0].is_ascii_graphic() || byte[0] == b' ') {
                        return Err(Silence::Binary(byte[0]));
                    }
                    if byte[0] == b'\n' {
                        return Ok(String::from_utf8_lossy(&self.buf).trim_end().to_owned());
                    }
                    if self.buf.len() > 4096 {
                        return Ok(String::from_utf8_lossy(&self.buf).into_owned());
                    }
                    self.buf.push(byte[0]);
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    return Err(Silence::Timeout);
                }
                Err(e) => return Err(Silence::Io(e)),
            }
        }
    }

    /// One reply, all its lines (`250-...` continues, `250 ...` ends).
    fn reply(&mut self) -> Result<Vec<String>, Silence> {
        let mut lines = vec![self.line()?];
        while lines
            .last()
            .is_some_and(|l| l.len() >= 4 && l.as_bytes()[3] == b'-')
        {
            if lines.len() >= MAX_REPLY_LINES {
                return Err(Silence::TooMuch);
            }
            lines.push(self.line()?);
        }
        Ok(lines)
    }
}

fn group_name(
    key: &openssl::pkey::PKeyRef<openssl::pkey::Public>,
) -> Result<String, openssl::error::ErrorStack> {
    use openssl::pkey::Id;
    Ok(match key.id() {
        Id::X25519 => "X25519".into(),
        Id::X448 => "X448".into(),
        Id::EC => {
            let ec = key.ec_key()?;
            match ec.group().curve_name() {
                Some(nid) => nid.short_name()?.to_owned(),
                None => "unnamed curve".into(),
            }
        }
        Id::DH => {
            let dh = key.dh()?;
            crate::dh::Catalog::embedded()
                .lookup(dh.prime_p())
                .map_or_else(
                    || format!("DH-{}", dh.prime_p().num_bits()),
                    |k| k.name.clone(),
                )
        }
        _ => "unknown".into(),
    })
}

/// The server's ephemeral key of this handshake. openssl's
/// `SslRef::peer_tmp_key` exists only when built against OpenSSL 3, but the
/// control behind it is OpenSSL 1.1.1's too (there `SSL_get_peer_tmp_key`
/// is a macro over it), so the probe works on Debian 11 and RHEL 8.
fn peer_tmp_key(
    ssl: &SslRef,
) -> Result<openssl::pkey::PKey<openssl::pkey::Public>, openssl::error::ErrorStack> {
    use foreign_types_shared::{ForeignType, ForeignTypeRef};
    const GET_PEER_TMP_KEY: i32 = 109;
    let mut key: *mut openssl_sys::EVP_PKEY = std::ptr::null_mut();
    // SAFETY: ssl is a live SSL*; on success OpenSSL stores the key with
    // its reference count raised for the caller, which PKey then owns.
    unsafe {
        let ok = openssl_sys::SSL_ctrl(
            ssl.as_ptr(),
            GET_PEER_TMP_KEY,
            0,
            (&mut key as *mut *mut openssl_sys::EVP_PKEY).cast(),
        );
        if ok <= 0 || key.is_null() {
            return Err(openssl::error::ErrorStack::get());
        }
        Ok(openssl::pkey::PKey::from_ptr(key))
    }
}

/// OpenSSL 1.1.1 has neither the hybrid groups this is for nor
/// `SSL_group_to_name`; every group it can negotiate has a peer key.
#[cfg(not(ossl300))]
fn negotiated_group(_: &SslRef) -> Option<String> {
    None
}

/// OpenSSL's name of the group the handshake settled on (3.0 and later).
#[cfg(ossl300)]
fn negotiated_group(ssl: &SslRef) -> Option<String> {
    use foreign_types_shared::ForeignTypeRef;
    const GET_NEGOTIATED_GROUP: i32 = 134;
    // SAFETY: ssl is a live SSL*; the control takes no argument, and the
    // name OpenSSL returns is a static string (or NULL).
    unsafe {
        let id = openssl_sys::SSL_ctrl(ssl.as_ptr(), GET_NEGOTIATED_GROUP, 0, std::ptr::null_mut());
        if id <= 0 {
            return None;
        }
        let name = SSL_group_to_name(ssl.as_ptr(), id as std::os::raw::c_int);
        (!name.is_null()).then(|| {
            std::ffi::CStr::from_ptr(name)
                .to_string_lossy()
                .into_owned()
        })
    }
}

// OpenSSL 3 exports SSL_group_to_name; SSL_get_peer_signature_type_nid is
// 1.1.1's too. openssl-sys declares neither.
#[cfg(ossl300)]
unsafe extern "C" {
    fn SSL_group_to_name(
        s: *mut openssl_sys::SSL,
        id: std::os::raw::c_int,
    ) -> *const std::os::raw::c_char;
}

unsafe extern "C" {
    fn SSL_get_peer_signature_type_nid(
        s: *const openssl_sys::SSL,
        pnid: *mut std::os::raw::c_int,
    ) -> std::os::raw::c_int;
}

/// Signature algorithm and digest the server signed with.
fn signature(ssl: &SslRef) -> String {
    use foreign_types_shared::ForeignTypeRef;
    const GET_PEER_SIGNATURE_NID: i32 = 108;
    let mut kind: std::os::raw::c_int = 0;
    let mut digest: std::os::raw::c_int = 0;
    // SAFETY: ssl is a live SSL*; each call writes one int.
    let (k_ok, d_ok) = unsafe {
        (
            SSL_get_peer_signature_type_nid(ssl.as_ptr(), &mut kind),
            openssl_sys::SSL_ctrl(
                ssl.as_ptr(),
                GET_PEER_SIGNATURE_NID,
                0,
                (&mut digest as *mut std::os::raw::c_int).cast(),
            ),
        )
    };
    let name = |ok: bool, nid: std::os::raw::c_int| {
        ok.then(|| openssl::nid::Nid::from_raw(nid))
            .and_then(|n| n.short_name().ok().map(str::to_owned))
            .unwrap_or_else(|| "?".into())
    };
    format!("{} with {}", name(k_ok == 1, kind), name(d_ok == 1, digest))
}

#[cfg(test)]
mod tests {
    use super::parse_target;

    #[test]
    fn targets_get_port_25_and_brackets() {
        assert_eq!(
            parse_target("mx.example.org"),
            ("mx.example.org:25".into(), 25)
        );
        assert_eq!(parse_target("127.0.0.1:465"), ("127.0.0.1:465".into(), 465));
        assert_eq!(parse_target("[::1]:587"), ("[::1]:587".into(), 587));
        assert_eq!(parse_target("::1"), ("[::1]:25".into(), 25));
    }
}
