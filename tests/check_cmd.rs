//! `dhrotate check`: refuses bad groups with a reason and exit 3, accepts a
//! fresh `openssl dhparam` file.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use openssl::bn::{BigNum, BigNumContext};
use openssl::dh::Dh;

fn pem_of(p: BigNum, g: BigNum) -> Vec<u8> {
    Dh::from_pqg(p, None, g).unwrap().params_to_pem().unwrap()
}

fn catalog_row(name: &str) -> (BigNum, BigNum) {
    let tsv = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("data/known-dh-groups.tsv"),
    )
    .unwrap();
    let row = tsv
        .lines()
        .map(|l| l.split('\t').collect::<Vec<_>>())
        .find(|c| c[0].split('|').any(|n| n == name))
        .unwrap();
    let g = match row[2].strip_prefix("0x") {
        Some(hex) => BigNum::from_hex_str(hex).unwrap(),
        None => BigNum::from_dec_str(row[2]).unwrap(),
    };
    (BigNum::from_hex_str(row[5]).unwrap(), g)
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn check(args: &[&str]) -> (Option<i32>, String) {
    let mut all = vec!["check"];
    all.extend_from_slice(args);
    let out = dhrotate(&all);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

#[test]
fn fresh_openssl_dhparam_file_is_accepted() {
    let dir = scratch("check-fresh");
    let f = dir.join("fresh.pem");
    let s = Command::new("openssl")
        .args(["dhparam", "-out"])
        .arg(&f)
        .arg("1024")
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(s.success());
    let (code, text) = check(&[f.to_str().unwrap(), "--bits", "1024"]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains(": OK"), "{text}");
    assert!(text.contains("(p-1)/2 prime yes (safe prime)"), "{text}");
    assert!(text.contains("OpenSSL check passed"), "{text}");
    assert!(text.contains("not a known shared prime"), "{text}");
}

#[test]
fn each_bad_group_is_refused_with_its_reason() {
    let dir = scratch("check-bad");
    let two = BigNum::from_u32(2).unwrap();

    // Composite p: the product of two 1024-bit primes.
    let (mut a, mut b) = (BigNum::new().unwrap(), BigNum::new().unwrap());
    a.generate_prime(1024, false, None, None).unwrap();
    b.generate_prime(1024, false, None, None).unwrap();
    let mut n = BigNum::new().unwrap();
    n.checked_mul(&a, &b, &mut BigNumContext::new().unwrap())
        .unwrap();
    let composite = write(&dir, "composite.pem", &pem_of(n, two.to_owned().unwrap()));

    let (p, g) = catalog_row("rfc5114-2048-256");
    let rfc5114 = write(&dir, "rfc5114.pem", &pem_of(p, g));
    let modp = write(
        &dir,
        "modp2048.pem",
        &pem_of(BigNum::get_rfc3526_prime_2048().unwrap(), two),
    );
    let garbage = write(
        &dir,
        "garbage.pem",
        b"-----BEGIN DH PARAMETERS-----\nnot base64 at all\n-----END DH PARAMETERS-----\n",
    );
    let der = write(
        &dir,
        "der.pem",
        &Dh::generate_params(512, 2)
            .unwrap()
            .params_to_der()
            .unwrap(),
    );

    let cases: [(&PathBuf, &[&str], &[&str]); 6] = [
        (&composite, &[], &["p is not prime"]),
        (
            &rfc5114,
            &[],
            &["(p-1)/2 is not: not a safe prime", "rfc5114-2048-256"],
        ),
        (&modp, &[], &["rfc3526-modp2048", "widely shared"]),
        (&garbage, &[], &["does not decode as DH parameters"]),
        (&der, &[], &["binary DER"]),
        (
            &modp,
            &["--bits", "4096"],
            &["prime is 2048 bits, expected exactly 4096"],
        ),
    ];
    for (file, extra, reasons) in cases {
        let mut args = vec![file.to_str().unwrap()];
        args.extend_from_slice(extra);
        let (code, text) = check(&args);
        assert_eq!(code, Some(3), "{}: {text}", file.display());
        assert!(text.contains("REFUSED"), "{text}");
        for r in reasons {
            assert!(
                text.contains(r),
                "{}: expected {r:?} in\n{text}",
                file.display()
            );
        }
    }

    // Several files at once: one summary, still exit 3, JSON per file.
    let out = dhrotate(&[
        "check",
        "--json",
        composite.to_str().unwrap(),
        modp.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", show(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 2);
    assert_eq!(v[1]["verdict"]["known"]["name"], "rfc3526-modp2048");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("refusing 2 of 2 file(s)"),
        "{}",
        show(&out)
    );
}

#[test]
fn missing_file_and_symlink_are_refused() {
    let dir = scratch("check-missing");
    let (code, text) = check(&[dir.join("nope.pem").to_str().unwrap()]);
    assert_eq!(code, Some(3), "{text}");
    assert!(text.contains("nope.pem"), "{text}");
    let link = dir.join("link.pem");
    std::os::unix::fs::symlink("/etc/passwd", &link).unwrap();
    let (code, text) = check(&[link.to_str().unwrap()]);
    assert_eq!(code, Some(3), "{text}");
    assert!(text.contains("symbolic link"), "{text}");
}

/// Work on untrusted input is bounded before the costly tests: a huge
/// file, an oversized prime and a large composite are refused at once.
#[test]
fn hostile_sizes_are_refused_before_the_costly_tests() {
    use openssl::bn::MsbOption;
    let dir = scratch("check-hostile-sizes");
    let odd = |bits: i32| {
        let mut n = BigNum::new().unwrap();
        n.rand(bits, MsbOption::ONE, true).unwrap();
        n
    };
    let big = write(
        &dir,
        "65536.pem",
        &pem_of(odd(65536), BigNum::from_u32(2).unwrap()),
    );
    let (code, out) = check(&[big.to_str().unwrap()]);
    assert_eq!(code, Some(3), "{out}");
    assert!(out.contains("dhrotate reads at most 8192"), "{out}");

    let over = write(
        &dir,
        "20000.pem",
        &pem_of(odd(20000), BigNum::from_u32(2).unwrap()),
    );
    let start = std::time::Instant::now();
    let (code, out) = check(&[over.to_str().unwrap()]);
    assert_eq!(code, Some(3), "{out}");
    assert!(out.contains("more than the 16384 dhrotate tests"), "{out}");
    assert!(out.contains("not tested"), "{out}");

    // An odd 16382-bit number is composite (with overwhelming likelihood);
    // one round of OpenSSL's Miller-Rabin says so, without num-prime's
    // much slower test of p and (p-1)/2.
    let composite = write(
        &dir,
        "16382.pem",
        &pem_of(odd(16382), BigNum::from_u32(2).unwrap()),
    );
    let (code, out) = check(&[composite.to_str().unwrap()]);
    assert_eq!(code, Some(3), "{out}");
    assert!(out.contains("p is not prime"), "{out}");
    report(
        "check-hostile-sizes",
        &format!(
            "three hostile sizes refused in {:?} in all (debug build)\n",
            start.elapsed()
        ),
    );
}
