//! Tells the code which OpenSSL it is built against: a few calls the probe
//! makes exist only from OpenSSL 3.0, and Debian 11 and RHEL 8 ship 1.1.1.
//! openssl-sys (`links = "openssl"`) hands its version to direct dependents
//! as DEP_OPENSSL_VERSION_NUMBER, the way the openssl crate reads it.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(ossl300)");
    println!("cargo::rerun-if-env-changed=DEP_OPENSSL_VERSION_NUMBER");
    let version = std::env::var("DEP_OPENSSL_VERSION_NUMBER")
        .ok()
        .and_then(|v| u64::from_str_radix(&v, 16).ok());
    if version.is_some_and(|n| n >= 0x3000_0000) {
        println!("cargo::rustc-cfg=ossl300");
    }
}
