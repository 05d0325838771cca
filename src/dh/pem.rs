//! Strict reading of PEM "DH PARAMETERS" files.
//!
//! Postfix's reader skips text around a PEM block and silently falls back to
//! a built-in group when the block is bad, so dhrotate is stricter: a file
//! it writes or accepts holds exactly one DH PARAMETERS block and nothing else.

use openssl::dh::Dh;
use openssl::pkey::Params;

const BEGIN: &str = "-----BEGIN DH PARAMETERS-----";
const END: &str = "-----END DH PARAMETERS-----";

/// Why a file is not a usable PEM DH parameter file.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PemError {
    /// Larger than any DH parameter file dhrotate accepts.
    #[error(
        "the file is {0} bytes; a DH parameter file of up to 16384 bits is under 3 KiB, and dhrotate reads at most {MAX_PEM_BYTES}"
    )]
    TooLarge(usize),
    /// The file is empty or only whitespace.
    #[error("the file is empty")]
    Empty,
    /// Binary DER instead of PEM text.
    #[error(
        "this looks like binary DER, not PEM; convert it with `openssl dhparam -inform DER -in FILE -out FILE.pem`"
    )]
    Der,
    /// Bytes that are not text.
    #[error("the file is not text (byte 0x{byte:02x} at offset {offset})")]
    NotText { byte: u8, offset: usize },
    /// X9.42 parameters (DHX), which dhrotate does not install.
    #[error(
        "X9.42 DH parameters (from `openssl genpkey -algorithm DHX`) are not supported; generate PKCS#3 parameters with `dhrotate generate`"
    )]
    X942,
    /// No BEGIN/END DH PARAMETERS block.
    #[error("no `{BEGIN}` block found")]
    NoBlock,
    /// More than one block.
    #[error("{0} DH PARAMETERS blocks found; a parameter file must hold exactly one")]
    Multiple(usize),
    /// Text before or after the block.
    #[error("unexpected text {where_} the PEM block (line {line}); remove it")]
    Garbage { where_: &'static str, line: usize },
    /// OpenSSL could not decode the block.
    #[error("the PEM block does not decode as DH parameters: {0}")]
    Decode(String),
}

/// Most a PEM file may hold: decided before any decoding, so a huge or
/// hostile file costs nothing.
pub const MAX_PEM_BYTES: usize = 8 * 1024;

/// Parses `bytes` as exactly one PEM DH PARAMETERS block.
pub fn parse(bytes: &[u8]) -> Result<Dh<Params>, PemError> {
    if bytes.len() > MAX_PEM_BYTES {
        return Err(PemError::TooLarge(bytes.len()));
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(PemError::Empty);
    }
    if bytes.first() == Some(&0x30) {
        return Err(PemError::Der);
    }
    if let Some(offset) = bytes
        .iter()
        .position(|&b| !(b.is_ascii_graphic() || b.is_ascii_whitespace()))
    {
        return Err(PemError::NotText {
            byte: bytes[offset],
            offset,
        });
    }
    // All ASCII from here on.
    let text = std::str::from_utf8(bytes).expect("checked ASCII");
    if text.contains("-----BEGIN X9.42 DH PARAMETERS-----") {
        return Err(PemError::X942);
    }
    let begins = text.matches(BEGIN).count();
    match begins {
        0 => return Err(PemError::NoBlock),
        1 => {}
        n => return Err(PemError::Multiple(n)),
    }
    let start = text.find(BEGIN).expect("counted");
    let end = text[start..].find(END).ok_or(PemError::NoBlock)? + start + END.len();
    if !text[..start].trim().is_empty() {
        let line = text[..start]
            .lines()
            .position(|l| !l.trim().is_empty())
            .unwrap_or(0)
            + 1;
        return Err(PemError::Garbage {
            where_: "before",
            line,
        });
    }
    if !text[end..].trim().is_empty() {
        let before = text[..end].lines().count();
        let offset = text[end..]
            .lines()
            .position(|l| !l.trim().is_empty())
            .unwrap_or(0);
        return Err(PemError::Garbage {
            where_: "after",
            line: before + offset,
        });
    }
    Dh::params_from_pem(&text.as_bytes()[start..end]).map_err(|e| PemError::Decode(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        let p = openssl::bn::BigNum::get_rfc3526_prime_2048().unwrap();
        let g = openssl::bn::BigNum::from_u32(2).unwrap();
        Dh::from_pqg(p, None, g).unwrap().params_to_pem().unwrap()
    }

    fn err(bytes: &[u8]) -> PemError {
        parse(bytes).err().expect("should be refused")
    }

    #[test]
    fn accepts_one_block_with_surrounding_whitespace() {
        let mut pem = b"\n".to_vec();
        pem.extend(sample());
        pem.extend(b"\n\n");
        assert!(parse(&pem).is_ok());
    }

    #[test]
    fn refuses_malformed_files_with_a_reason() {
        let good = sample();
        let mut trailing = good.clone();
        trailing.extend(b"garbage\n");
        let mut two = good.clone();
        two.extend(&good);
        let der = Dh::params_from_pem(&good).unwrap().params_to_der().unwrap();
        let mut nul = good.clone();
        nul[5] = 0;
        let broken = String::from_utf8(good.clone())
            .unwrap()
            .replace("MII", "MIX");
        assert!(matches!(
            parse(&trailing),
            Err(PemError::Garbage {
                where_: "after",
                ..
            })
        ));
        assert_eq!(err(&two), PemError::Multiple(2));
        assert_eq!(err(&der), PemError::Der);
        assert!(matches!(
            parse(&nul),
            Err(PemError::NotText { byte: 0, offset: 5 })
        ));
        assert!(matches!(parse(broken.as_bytes()), Err(PemError::Decode(_))));
        assert_eq!(err(b"  \n"), PemError::Empty);
        assert_eq!(err(b"hello\n"), PemError::NoBlock);
    }
}
