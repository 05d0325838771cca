//! dhrotate's own safe-prime search: sieve deep, test rarely, use every core.
//!
//! OpenSSL's safe-prime generation sieves each candidate with a few
//! thousand small primes and pays a modular exponentiation for most of the
//! rest. Here a whole window of candidates p = x + 24k is sieved at once
//! against every prime below a per-size depth, removing every k for which p
//! or q = (p-1)/2 has a small factor (p = 0 or p = 1 mod r), so only a small
//! fraction of candidates costs an exponentiation. p = 23 mod 24 is fixed
//! as OpenSSL does for generator 2 (2 is then a quadratic residue and
//! generates the order-q subgroup).
//!
//! The threads share one window: each sieves with its share of the primes,
//! then they take the window's open candidates in turn; when it runs out,
//! the next window follows on from it, and each sieve prime carries its
//! place over (a segmented sieve: only the first window divides). The first
//! thread to find a group stops the others; a cancel flag stops them all
//! within one exponentiation.
//!
//! A candidate is returned once p and q both pass a base-2 Fermat test.
//! Nothing more is asked here because nothing found here is used untested:
//! every group goes through `validate` (OpenSSL's DH_check, at least 64
//! Miller-Rabin rounds on p and on q, beside num-prime's strict test of
//! both). A base-2 pseudoprime among random numbers of these sizes is rare
//! beyond any count of runs (Kim and Pomerance bound the chance for a
//! random probable prime), and would only be refused there. Confirming
//! here as well cost as much as that proof again: 0.3 s of a 2048-bit
//! search.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use anyhow::{Result, anyhow};
use openssl::bn::{BigNum, BigNumRef, MsbOption};
use openssl::dh::Dh;
use openssl::pkey::Params;

use super::fermat::Fermat;

/// Candidates per window: large, so that most searches need one window
/// (a 2048-bit group needs about 2,300 open candidates; a window leaves
/// about 2,400 of 2^18 open at depth 2^24).
const WINDOW: usize = 1 << 18;

/// Sieve depth for a size: the primes below this are sieved out. Deeper
/// means fewer exponentiations, e^-2γ (bits / log2 depth)^2 per safe prime
/// (e^-2γ = 0.315), but one division of x per prime in the first window,
/// and a table to build. Chosen by measurement (docs/benchmarks.md): an
/// exponentiation costs about 0.35 ms at 1024 bits and 2.2 ms at 2048, a
/// division 0.11 and 0.26 µs, so the depth grows with the size.
pub fn sieve_depth(bits: u32) -> u32 {
    let by_size: u32 = if bits <= 1024 {
        1 << 21
    } else if bits <= 2048 {
        1 << 24
    } else {
        // 2^26 would save about 4 % of a 3072-bit search for twice the
        // memory (16 bytes a prime, 62 MB at 2^26).
        1 << 25
    };
    // Sieve primes must stay below the candidates themselves.
    by_size.min(1 << (bits / 2).min(31))
}

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
    // Eratosthenes over odd numbers only, one bit each (8 MB for 2^26).
    let n = limit as usize;
    let mut composite = vec![0u64; n / 128 + 1];
    let is_composite = |c: &[u64], i: usize| c[i / 128] >> ((i / 2) % 64) & 1 == 1;
    // Room for them all at once (π(n) < 1.26 n / ln n, Rosser and
    // Schoenfeld): growing by doubling would hold twice the table.
    let mut out = Vec::with_capacity((1.26 * n as f64 / (n as f64).ln().max(1.0)) as usize);
    let mut i = 3;
    while i <= n {
        if !is_composite(&composite, i) {
            if i >= 5 {
                out.push((i as u32, inverse_of_24(i as u64) as u32));
            }
            let mut j = i * i;
            while j <= n {
                composite[j / 128] |= 1 << ((j / 2) % 64);
                j += 2 * i;
            }
        }
        i += 2;
    }
    out
}

/// 24^-1 mod a prime r >= 5, without an exponentiation (a million of those
/// were a quarter of a 1024-bit search): every unit mod 24 squares to 1, so
/// r * (24 - r mod 24) = -r^2 = -1 mod 24, and that plus one divides by 24.
fn inverse_of_24(r: u64) -> u64 {
    (r * (24 - r % 24) + 1) / 24
}

/// Finds a safe prime of exactly `bits` bits, p = 23 mod 24, using
/// `threads` threads; `None` when cancelled.
pub fn safe_prime(bits: u32, threads: usize, control: &Control) -> Result<Option<BigNum>> {
    if !(64..=16384).contains(&bits) {
        return Err(anyhow!("{bits} bits is outside what the search supports"));
    }
    // Built per search: 5 ms at 1024 bits' depth, 50 ms at 2048's, 0.1 s
    // above, where a search takes tens of seconds; kept, it would stay in
    // the daemon.
    let mut shares = shares(sieve_primes(sieve_depth(bits)), threads.max(1));
    let stop = || control.cancel.load(Ordering::Relaxed);
    let mut x = start(bits)?;
    loop {
        if !sieve_window(&x, &mut shares, &stop)? {
            return Ok(None);
        }
        let open = open_candidates(&shares);
        if let Some(p) = test_window(&x, &open, shares.len(), &stop, &control.tested)? {
            return Ok(Some(p));
        }
        if stop() {
            return Ok(None);
        }
        x.add_word((24 * WINDOW) as u32)?;
    }
}

/// A DH group (generator 2) from the search.
pub fn generate(bits: u32, threads: usize, control: &Control) -> Result<Option<Dh<Params>>> {
    let Some(p) = safe_prime(bits, threads, control)? else {
        return Ok(None);
    };
    Ok(Some(Dh::from_pqg(p, None, BigNum::from_u32(2)?)?))
}

/// A random start x = 23 mod 24 with the top two bits set, so every
/// p = x + 24k of the search has exactly `bits` bits (windows add far less
/// than the 2^(bits-2) left below 2^bits).
fn start(bits: u32) -> Result<BigNum> {
    let mut x = BigNum::new()?;
    x.rand(bits as i32, MsbOption::TWO_ONES, true)?;
    let r = x.mod_word(24)? as u32;
    x.add_word((23 + 24 - r) % 24)?;
    Ok(x)
}

/// One thread's sieve primes, where each next marks in the window (for
/// r | p and r | q), and the window's marks.
struct Share {
    primes: Vec<(u32, u32)>,
    next: Vec<[u32; 2]>,
    marks: Vec<bool>,
}

impl Share {
    fn new(primes: impl Iterator<Item = (u32, u32)>) -> Share {
        Share {
            primes: primes.collect(),
            next: Vec::new(),
            marks: vec![false; WINDOW],
        }
    }

    /// Marks every k in the window starting at `x` for which p = x + 24k or
    /// (p-1)/2 has a factor among this share's primes. False when `stop`
    /// interrupted it.
    fn mark(&mut self, x: &BigNumRef, stop: &(dyn Fn() -> bool + Sync)) -> Result<bool> {
        if self.next.is_empty() {
            // The first window: where each prime first divides p or q,
            // k = (target - x) / 24 mod r, p = 0 (r | p) or 1 (r | q).
            self.next = Vec::with_capacity(self.primes.len());
            for (i, &(r, inv24)) in self.primes.iter().enumerate() {
                if i % 4096 == 0 && stop() {
                    return Ok(false);
                }
                let (xr, r64, inv) = (x.mod_word(r)?, r as u64, inv24 as u64);
                let first = |target: u64| ((target + r64 - xr) % r64 * inv % r64) as u32;
                self.next.push([first(0), first(1)]);
            }
        }
        self.marks.fill(false);
        for (&(r, _), next) in self.primes.iter().zip(self.next.iter_mut()) {
            for k0 in next.iter_mut() {
                let mut k = *k0 as usize;
                while k < WINDOW {
                    self.marks[k] = true;
                    k += r as usize;
                }
                // The following window starts WINDOW further on.
                *k0 = (k - WINDOW) as u32;
            }
        }
        Ok(true)
    }
}

/// The sieve primes dealt out to `threads` shares: thread t sieves primes
/// t, t + threads, ..., so each has as many small primes (the marking) as
/// large ones (the divisions). The table goes once it is dealt.
fn shares(primes: Vec<(u32, u32)>, threads: usize) -> Vec<Share> {
    (0..threads)
        .map(|t| Share::new(primes.iter().skip(t).step_by(threads).copied()))
        .collect()
}

/// Every share marks its primes in the window at `x`, side by side.
fn sieve_window(
    x: &BigNum,
    shares: &mut [Share],
    stop: &(dyn Fn() -> bool + Sync),
) -> Result<bool> {
    std::thread::scope(|s| {
        let handles: Vec<_> = shares
            .iter_mut()
            .map(|share| s.spawn(move || share.mark(x, stop)))
            .collect();
        let mut complete = true;
        for h in handles {
            complete &= h.join().expect("sieve thread panicked")?;
        }
        Ok(complete)
    })
}

/// The k that no share marked.
fn open_candidates(shares: &[Share]) -> Vec<u32> {
    (0..WINDOW)
        .filter(|&k| shares.iter().all(|s| !s.marks[k]))
        .map(|k| k as u32)
        .collect()
}

/// Tests the window's open candidates on `threads` threads, each taking
/// the next untested one; the first safe prime found stops them all.
fn test_window(
    x: &BigNum,
    open: &[u32],
    threads: usize,
    stop: &(dyn Fn() -> bool + Sync),
    tested: &AtomicU64,
) -> Result<Option<BigNum>> {
    let next = AtomicUsize::new(0);
    let found: Mutex<Option<BigNum>> = Mutex::new(None);
    let done = AtomicBool::new(false);
    let finished = || done.load(Ordering::Relaxed) || stop();
    let test_in_turn = || -> Result<()> {
        let mut candidate = Candidate::new()?;
        while !finished() {
            let Some(&k) = open.get(next.fetch_add(1, Ordering::Relaxed)) else {
                return Ok(());
            };
            tested.fetch_add(1, Ordering::Relaxed);
            if let Some(p) = candidate.safe(x, k)? {
                found.lock().expect("not poisoned").get_or_insert(p);
                done.store(true, Ordering::SeqCst);
            }
        }
        Ok(())
    };
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    // A failed thread stops the others at once, not when
                    // the window runs out.
                    let outcome = test_in_turn();
                    if outcome.is_err() {
                        done.store(true, Ordering::SeqCst);
                    }
                    outcome
                })
            })
            .collect();
        let outcomes: Vec<Result<()>> = handles
            .into_iter()
            .map(|h| h.join().expect("search thread panicked"))
            .collect();
        outcomes.into_iter().collect::<Result<()>>()
    })
    .map_err(|e| anyhow!("safe-prime search failed: {e}"))?;
    Ok(found.into_inner().expect("not poisoned"))
}

/// One search thread's candidate p = x + 24k, its q = (p-1)/2, and the
/// Fermat test they take.
struct Candidate {
    fermat: Fermat,
    p: BigNum,
    q: BigNum,
    step: BigNum,
}

impl Candidate {
    fn new() -> Result<Candidate> {
        Ok(Candidate {
            fermat: Fermat::new()?,
            p: BigNum::new()?,
            q: BigNum::new()?,
            step: BigNum::new()?,
        })
    }

    /// p = x + 24k when p and (p-1)/2 pass: the first exponentiation
    /// rejects almost every candidate.
    fn safe(&mut self, x: &BigNum, k: u32) -> Result<Option<BigNum>> {
        self.step
            .copy_from_slice(&(24 * u64::from(k)).to_be_bytes())?;
        self.p.checked_add(x, &self.step)?;
        if !self.fermat.passes(&self.p)? {
            return Ok(None);
        }
        self.q.rshift1(&self.p)?;
        if !self.fermat.passes(&self.q)? {
            return Ok(None);
        }
        Ok(Some(self.p.to_owned()?))
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
            &crate::dh::Acceptance {
                expected_bits: Some(512),
                min_bits: 512,
                named: false,
            },
            &crate::dh::Catalog::embedded(),
        );
        assert!(v.accepted(), "{:?}", v.problems);
        assert_eq!(
            v.proof.generator_order,
            crate::dh::validate::GeneratorOrder::Q
        );
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
    fn sieve_primes_and_their_inverses_are_right() {
        let small = sieve_primes(1000);
        assert_eq!(small.len(), 168 - 2, "primes below 1000, without 2 and 3");
        assert!(
            small
                .iter()
                .all(|&(r, _)| (2..r).take_while(|d| d * d <= r).all(|d| r % d != 0))
        );
        let table = sieve_primes(sieve_depth(2048));
        assert!(
            table
                .iter()
                .all(|&(r, inv)| 24 * inv as u64 % r as u64 == 1)
        );
        assert_eq!(
            table.last().unwrap().0,
            16_777_213,
            "largest prime below 2^24"
        );
    }

    #[test]
    fn the_depth_grows_with_the_size_and_stays_below_the_candidates() {
        let sizes = [64, 512, 1024, 2048, 3072, 4096, 8192, 16384];
        assert!(
            sizes
                .windows(2)
                .all(|w| sieve_depth(w[0]) <= sieve_depth(w[1]))
        );
        assert!(
            sizes
                .iter()
                .all(|&b| u64::from(sieve_depth(b)) <= 1 << (b / 2).min(63))
        );
        assert!(sieve_depth(1024) < sieve_depth(2048));
    }

    /// Two shares of the primes below 2^12, as two threads split them, over
    /// two windows (the second from the carried places, without a
    /// division): k is marked exactly when a prime divides p or q.
    #[test]
    fn windows_mark_exactly_the_candidates_with_a_small_factor() {
        let primes = sieve_primes(1 << 12);
        let mut shares = shares(primes.clone(), 2);
        let mut x = start(256).unwrap();
        let never = || false;
        for _window in 0..2 {
            assert!(sieve_window(&x, &mut shares, &never).unwrap());
            let open = open_candidates(&shares);
            let residues: Vec<(u64, u64)> = primes
                .iter()
                .map(|&(r, _)| (r as u64, x.mod_word(r).unwrap()))
                .collect();
            for k in (0..WINDOW as u64).step_by(7) {
                let factor = residues.iter().any(|&(r, xr)| (xr + 24 * k) % r <= 1);
                assert_eq!(open.binary_search(&(k as u32)).is_err(), factor, "k = {k}");
            }
            x.add_word((24 * WINDOW) as u32).unwrap();
        }
    }

    /// The window marking never removes a true safe prime: place known safe
    /// primes (the catalog's, and fresh OpenSSL ones) at random offsets in a
    /// window and check that their slot stays open. The primes below 2^21
    /// (1024 bits' depth) keep the test quick; the arithmetic is the same
    /// for all.
    #[test]
    fn the_sieve_never_rejects_a_true_safe_prime() {
        use proptest::prelude::*;
        let primes = sieve_primes(sieve_depth(1024));
        let mut safe: Vec<BigNum> = crate::dh::Catalog::embedded()
            .iter()
            .filter(|g| g.safe_prime && g.bits >= 512)
            .map(|g| BigNum::from_hex_str(&g.prime_hex).unwrap())
            .collect();
        assert!(safe.len() >= 90);
        for _ in 0..4 {
            safe.push(
                Dh::generate_params(512, 2)
                    .unwrap()
                    .prime_p()
                    .to_owned()
                    .unwrap(),
            );
        }
        let never = || false;
        let mut runner =
            proptest::test_runner::TestRunner::new(proptest::test_runner::Config::with_cases(64));
        runner
            .run(&(0..safe.len(), 0..WINDOW), |(i, k)| {
                let p = &safe[i];
                let mut x = BigNum::new().unwrap();
                let offset = BigNum::from_u32(24 * k as u32).unwrap();
                x.checked_sub(p, &offset).unwrap();
                let mut share = Share::new(primes.iter().copied());
                prop_assert!(share.mark(&x, &never).unwrap());
                prop_assert!(!share.marks[k], "safe prime #{} marked at k = {}", i, k);
                Ok(())
            })
            .unwrap();
    }
}
