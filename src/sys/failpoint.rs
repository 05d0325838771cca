//! Crash points for the crash-consistency harness (tests/crash.rs).
//!
//! In debug builds, `DHROTATE_CRASH_AT=NAME` makes the process SIGKILL
//! itself when it reaches the point called NAME: exactly what `kill -9`
//! at that instant would do, but at a chosen instant (between a rename and
//! the next one, between the config edit and the reload), which random
//! timing only hits by luck. Release builds, and so every package, compile
//! `hit` to nothing.

/// Dies here when the harness asked for it (debug builds only).
#[inline]
pub fn hit(name: &str) {
    #[cfg(debug_assertions)]
    if std::env::var_os("DHROTATE_CRASH_AT").is_some_and(|v| v == name) {
        let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGKILL);
    }
    #[cfg(not(debug_assertions))]
    let _ = name;
}

/// A reader bug on demand, for the test of Postfix's parser as the judge
/// (debug builds only): `DHROTATE_MISEDIT=FROM=>TO` replaces FROM with TO
/// in every edited main.cf/master.cf, behind the back of dhrotate's own
/// reader, as a parser gap would.
pub fn misedit(bytes: Vec<u8>) -> Vec<u8> {
    #[cfg(debug_assertions)]
    if let Some(spec) = std::env::var_os("DHROTATE_MISEDIT") {
        if let Some((from, to)) = spec.to_string_lossy().split_once("=>") {
            let text = String::from_utf8_lossy(&bytes).replace(from, to);
            return text.into_bytes();
        }
    }
    bytes
}
