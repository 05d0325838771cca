//! dhrotate's own safe-prime search: sieve deep, test rarely, use every core.
//!
//! OpenSSL's safe-prime generation sieves each candidate with a few
//! thousand small primes and pays a modular exponentiation for most of the
//! rest. Here a whole window of candidates p = x + 24k is sieved at once
//! against all primes below `SIEVE_LIMIT`, removing every k for which p or
//! q = (p-1)/2 has a small factor (p = 0 or p = 1 mod r), so only a small
//! fraction of candidates costs an exponentiation. p = 23 mod 24 is fixed
//! as OpenSSL does for generator 2 (2 is then a quadratic residue and
//! generates the order-q subgroup). The first thread to find a group stops
//! the others; a cancel flag stops them all within one exponentiation.
//!
//! Whatever this finds still goes through `validate` before use.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use anyhow::{Result, anyhow};
use openssl::bn::{BigNum, BigNumContext, MsbOption};
use openssl::dh::Dh;
use openssl::pkey::Params;

/// Sieve primes below this. Chosen by measurement (README "Benchmarks"):
/// deeper sieving stopped paying for itself at 2048 bits on this machine.
pub const SIEVE_LIMIT: u32 = 1 << 22;
/// Candidates per sieved window.
const WINDOW: usize = 1 << 16;

/// Shared state of one search: cancellation and progress.
#[derive(Debug, Default)]
pub struct Control {
    /// Set to stop (signal, shutdown, or another thread found a group).
    pub cancel: AtomicBool,
    /// Candidates that reached an exponentiation so far.
    pub tested: AtomicU64,
}

/// Odd primes from 5 up to `limit`, with 24^-1 mod each.
pub fn sieve_primes(limit: u32) -> Vec<(u32, u32)> {
    let n = limit as usize;
    let mut composite = vec![false; n + 1];
    let mut out = Vec::new();
    let mut i = 2;
    while i <= n {
        if !composite[i] {
            if i >= 5 {
                let r = i as u64;
                out.push((i as u32, pow_mod(24, r - 2, r) as u32));
            }
            let mut j = i * i;
            while j <= n {
                composite[j] = true;
                j += i;
            }
        }
        i += 1;
    }
    out
}

fn pow_mod(mut b: u64, mut e: u64, m: u64) -> u64 {
    let mut r = 1u64;
    b %= m;
    while e > 0 {
        if e & 1 == 1 {
            r = r * b % m;
        }
        b = b * b % m;
        e >>= 1;
    }
    r
}

/// Whether the sieve keeps `p`: neither p nor (p-1)/2 has a factor in
/// `primes` (smaller than itself). A true safe prime always passes.
pub fn survives_sieve(p: &BigNum, primes: &[(u32, u32)]) -> Result<bool> {
    for &(r, _) in primes {
        let m = p.mod_word(r)?;
        // p = r itself (tiny primes) is not a factor.
        if (m == 0 && p.num_bits() > 32) || (m == 1 && p.num_bits() > 33) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Finds a safe prime of exactly `bits` bits, p = 23 mod 24, using
/// `threads` threads; `None` when cancelled.
pub fn safe_prime(bits: u32, threads: usize, control: &Control) -> Result<Option<BigNum>> {
    if !(64..=16384).contains(&bits) {
        return Err(anyhow!("{bits} bits is outside what the search supports"));
    }
    let primes = sieve_primes(SIEVE_LIMIT.min(1 << (bits / 2).min(31)));
    let found: Mutex<Option<BigNum>> = Mutex::new(None);
    let errors: Mutex<Vec<String>> = Mutex::new(Vec::new());
    // Stops this search's threads once one has a result; `control.cancel`
    // stays the caller's, so the same Control serves the next search.
    let done = AtomicBool::new(false);
    let stop = || done.load(Ordering::Relaxed) || control.cancel.load(Ordering::Relaxed);
    std::thread::scope(|s| {
        for _ in 0..threads.max(1) {
            s.spawn(|| match search(bits, &primes, &stop, &control.tested) {
                Ok(Some(p)) => {
                    let mut slot = found.lock().expect("not poisoned");
                    if slot.is_none() {
                        *slot = Some(p);
                    }
                    done.store(true, Ordering::SeqCst);
                }
                Ok(None) => {}
                Err(e) => {
                    errors.lock().expect("not poisoned").push(e.to_string());
                    done.store(true, Ordering::SeqCst);
                }
            });
        }
    });
    if let Some(p) = found.into_inner().expect("not poisoned") {
        return Ok(Some(p));
    }
    match errors.into_inner().expect("not poisoned").pop() {
        Some(e) => Err(anyhow!("safe-prime search failed: {e}")),
        None => Ok(None),
    }
}

/// A DH group (generator 2) from the search.
pub fn generate(bits: u32, threads: usize, control: &Control) -> Result<Option<Dh<Params>>> {
    let Some(p) = safe_prime(bits, threads, control)? else {
        return Ok(None);
    };
    Ok(Some(Dh::from_pqg(p, None, BigNum::from_u32(2)?)?))
}

fn search(
    bits: u32,
    primes: &[(u32, u32)],
    stop: &(dyn Fn() -> bool + Sync),
    tested: &AtomicU64,
) -> Result<Option<BigNum>> {
    let mut ctx = BigNumContext::new()?;
    let two = BigNum::from_u32(2)?;
    let one = BigNum::from_u32(1)?;
    let mut marks = vec![false; WINDOW];
    loop {
        // A random start with the top two bits set, so every p = x + 24k in
        // the window has exactly `bits` bits.
        let mut x = BigNum::new()?;
        x.rand(bits as i32, MsbOption::TWO_ONES, true)?;
        let r = x.mod_word(24)? as u32;
        x.add_word((23 + 24 - r) % 24)?;
        marks.fill(false);
        for (i, &(r, inv24)) in primes.iter().enumerate() {
            if i % 4096 == 0 && stop() {
                return Ok(None);
            }
            let xr = x.mod_word(r)?;
            let (r, inv) = (r as u64, inv24 as u64);
            // p = x + 24k = 0 (r | p) or = 1 (r | q) mod r.
            for target in [0u64, 1] {
                let mut k = ((target + r - xr) % r * inv % r) as usize;
                while k < WINDOW {
                    marks[k] = true;
                    k += r as usize;
                }
            }
        }
        let mut p = BigNum::new()?;
        let mut q = BigNum::new()?;
        let mut e = BigNum::new()?;
        let mut res = BigNum::new()?;
        let mut step = BigNum::new()?;
        for (k, _) in marks.iter().enumerate().filter(|(_, m)| !**m) {
            if stop() {
                return Ok(None);
            }
            tested.fetch_add(1, Ordering::Relaxed);
            step.copy_from_slice(&((24 * k) as u64).to_be_bytes())?;
            p.checked_add(&x, &step)?;
            // Fermat base 2 on p: one exponentiation rejects almost all.
            e.checked_sub(&p, &one)?;
            res.mod_exp(&two, &e, &p, &mut ctx)?;
            if res != one {
                continue;
            }
            q.rshift1(&p)?;
            e.checked_sub(&q, &one)?;
            res.mod_exp(&two, &e, &q, &mut ctx)?;
            if res != one {
                continue;
            }
            // Probable safe prime: confirm with OpenSSL's Miller-Rabin
            // (64 rounds: the 128-bit-security count for these sizes).
            if q.is_prime(64, &mut ctx)? && p.is_prime(64, &mut ctx)? {
                return Ok(Some(p));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn found_groups_are_safe_primes_of_the_right_size_and_residue() {
        let control = Control::default();
        let p = safe_prime(512, 2, &control).unwrap().unwrap();
        assert_eq!(p.num_bits(), 512);
        assert_eq!(p.mod_word(24).unwrap(), 23);
        let dh = Dh::from_pqg(p, None, BigNum::from_u32(2).unwrap()).unwrap();
        let v = crate::dh::validate::validate(
            &dh,
            &crate::dh::Policy {
                expected_bits: Some(512),
                min_bits: 512,
            },
            &crate::dh::Catalog::embedded(),
        );
        assert!(v.accepted(), "{:?}", v.problems);
        assert_eq!(v.generator_order, crate::dh::validate::GeneratorOrder::Q);
        assert!(control.tested.load(Ordering::Relaxed) > 0);
    }

    #[test]
    fn cancel_stops_every_thread() {
        // Latency is measured by bench/generate.sh, not asserted here.
        let control = Control::default();
        std::thread::scope(|s| {
            let h = s.spawn(|| safe_prime(8192, 2, &control));
            std::thread::sleep(std::time::Duration::from_millis(300));
            control.cancel.store(true, Ordering::SeqCst);
            // An 8192-bit group is not found in 300 ms.
            assert!(h.join().unwrap().unwrap().is_none());
        });
    }

    #[test]
    fn the_sieve_keeps_every_known_safe_prime() {
        let primes = sieve_primes(SIEVE_LIMIT);
        let catalog = crate::dh::Catalog::embedded();
        let mut checked = 0;
        for g in catalog.iter().filter(|g| g.safe_prime && g.bits >= 512) {
            let p = BigNum::from_hex_str(&g.prime_hex).unwrap();
            assert!(survives_sieve(&p, &primes).unwrap(), "{} rejected", g.name);
            checked += 1;
        }
        assert!(checked >= 90, "{checked}");
        for _ in 0..3 {
            let dh = Dh::generate_params(512, 2).unwrap();
            let p = dh.prime_p().to_owned().unwrap();
            assert!(survives_sieve(&p, &primes).unwrap());
        }
    }
}
