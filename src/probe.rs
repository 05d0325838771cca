//! A TLS client probe: what DH group does a server really serve?
//!
//! Postfix falls back to another group without failing when a DH file is
//! bad, so the only proof that a rotation took effect is a handshake.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use openssl::ssl::{SslConnector, SslMethod, SslVerifyMode, SslVersion};

use crate::dh::validate::fingerprint;

/// The DH group a server used in one DHE handshake.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ServedGroup {
    /// Prime size.
    pub bits: u32,
    /// SHA-256 of p, as `dhrotate check` prints it.
    pub fingerprint: String,
    /// Catalog name when the prime is a well-known shared one.
    pub known: Option<String>,
    /// Negotiated cipher.
    pub cipher: String,
    /// Negotiated protocol.
    pub protocol: String,
}

/// Connects to `addr`, speaks SMTP up to STARTTLS when `starttls`, and does
/// a DHE-only TLS 1.2 handshake. Security level 1 lets a 1024-bit group
/// through, since the point is to see what is served, not to judge it.
pub fn dhe_group(addr: &str, starttls: bool, timeout: Duration) -> Result<ServedGroup> {
    let stream = connect(addr, timeout)?;
    if starttls {
        smtp_starttls(&stream).with_context(|| format!("SMTP STARTTLS with {addr}"))?;
    }
    let mut b = SslConnector::builder(SslMethod::tls_client())?;
    b.set_verify(SslVerifyMode::NONE);
    b.set_min_proto_version(Some(SslVersion::TLS1))?;
    b.set_max_proto_version(Some(SslVersion::TLS1_2))?;
    b.set_cipher_list("kEDH:@SECLEVEL=1")?;
    let connector = b.build();
    let mut cfg = connector.configure()?;
    cfg.set_verify_hostname(false);
    let host = addr.rsplit_once(':').map_or(addr, |(h, _)| h);
    let ssl = cfg
        .connect(host, stream)
        .map_err(|e| anyhow!("TLS handshake with {addr} offering only DHE ciphers failed: {e}"))?;
    let ssl = ssl.ssl();
    let key = ssl
        .peer_tmp_key()
        .map_err(|e| anyhow!("{addr} sent no ephemeral key: {e}"))?;
    let dh = key
        .dh()
        .map_err(|_| anyhow!("{addr} did not use a DH key exchange"))?;
    Ok(ServedGroup {
        bits: dh.prime_p().num_bits() as u32,
        fingerprint: fingerprint(dh.prime_p()),
        known: crate::dh::Catalog::embedded()
            .lookup(dh.prime_p())
            .map(|k| k.name.clone()),
        cipher: ssl.current_cipher().map_or("?", |c| c.name()).to_owned(),
        protocol: ssl.version_str().to_owned(),
    })
}

/// The key-exchange group of a TLS 1.3 handshake: `X25519`, `X448`,
/// `prime256v1`, `secp384r1`, ..., or the catalog name of an FFDHE group.
/// `groups` restricts what the client offers (OpenSSL group-list syntax).
pub fn tls13_group(
    addr: &str,
    starttls: bool,
    groups: Option<&str>,
    timeout: Duration,
) -> Result<String> {
    let stream = connect(addr, timeout)?;
    if starttls {
        smtp_starttls(&stream).with_context(|| format!("SMTP STARTTLS with {addr}"))?;
    }
    let mut b = SslConnector::builder(SslMethod::tls_client())?;
    b.set_verify(SslVerifyMode::NONE);
    b.set_min_proto_version(Some(SslVersion::TLS1_3))?;
    if let Some(g) = groups {
        b.set_groups_list(g)?;
    }
    let mut cfg = b.build().configure()?;
    cfg.set_verify_hostname(false);
    let host = addr.rsplit_once(':').map_or(addr, |(h, _)| h);
    let ssl = cfg
        .connect(host, stream)
        .map_err(|e| anyhow!("TLS 1.3 handshake with {addr} failed: {e}"))?;
    let key = ssl
        .ssl()
        .peer_tmp_key()
        .map_err(|e| anyhow!("{addr} sent no ephemeral key: {e}"))?;
    group_name(&key)
}

fn group_name(key: &openssl::pkey::PKeyRef<openssl::pkey::Public>) -> Result<String> {
    use openssl::pkey::Id;
    Ok(match key.id() {
        Id::X25519 => "X25519".into(),
        Id::X448 => "X448".into(),
        Id::EC => {
            let ec = key.ec_key()?;
            let nid = ec
                .group()
                .curve_name()
                .ok_or_else(|| anyhow!("unnamed curve"))?;
            nid.short_name()?.to_owned()
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
        other => format!("{other:?}"),
    })
}

fn connect(addr: &str, timeout: Duration) -> Result<TcpStream> {
    let sock = addr
        .to_socket_addrs()
        .with_context(|| format!("resolving {addr}"))?
        .next()
        .ok_or_else(|| anyhow!("{addr} resolves to nothing"))?;
    let stream = TcpStream::connect_timeout(&sock, timeout)
        .with_context(|| format!("connecting to {addr}"))?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    Ok(stream)
}

fn smtp_starttls(stream: &TcpStream) -> Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut w = stream.try_clone()?;
    expect(&mut reader, "220").context("reading the greeting")?;
    w.write_all(b"EHLO dhrotate.invalid\r\n")?;
    let ehlo = expect(&mut reader, "250").context("after EHLO")?;
    if !ehlo
        .iter()
        .any(|l| l[4..].trim().eq_ignore_ascii_case("STARTTLS"))
    {
        bail!("the server does not offer STARTTLS");
    }
    w.write_all(b"STARTTLS\r\n")?;
    expect(&mut reader, "220").context("after STARTTLS")?;
    Ok(())
}

/// Reads one (multi-line) SMTP reply and checks its code.
fn expect(r: &mut impl BufRead, code: &str) -> Result<Vec<String>> {
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line)? == 0 {
            bail!("connection closed");
        }
        let line = line.trim_end().to_owned();
        if line.len() < 4 || !line.is_char_boundary(4) || !line.starts_with(code) {
            bail!("expected {code}, got {line:?}");
        }
        let last = line.as_bytes()[3] == b' ';
        lines.push(line);
        if last {
            return Ok(lines);
        }
    }
}
