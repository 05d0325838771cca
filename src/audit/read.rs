//! Getting bytes in: a stream in bounded chunks, a large plain file
//! through memory maps, gzip-rotated files by their magic, stdin as `-`;
//! big blocks split at record boundaries across two cores.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;

use anyhow::{Context, Result};

use super::classify::Prefilter;
use super::records::record_boundary;
use super::{AuditReport, Auditor};

/// Bytes read at a time; a record longer than this is cut (counted).
const CHUNK: usize = 4 << 20;

/// Audits every log (`-` is stdin) in order and returns the report.
pub fn read_paths(logs: &[PathBuf]) -> Result<AuditReport> {
    let mut auditor = Auditor::new();
    for path in logs {
        let shown = path.display();
        let input: Box<dyn Read> = if path.as_os_str() == "-" {
            Box::new(std::io::stdin().lock())
        } else {
            let file = File::open(path).with_context(|| format!("opening {shown}"))?;
            if is_plain_large(&file)?
                && auditor
                    .read_mapped(&file)
                    .with_context(|| format!("reading {shown}"))?
            {
                continue;
            }
            Box::new(file)
        };
        let mut input = BufReader::with_capacity(1 << 16, input);
        // gzip-rotated files (maillog.2.gz) are recognised by their magic.
        let gz = input
            .fill_buf()
            .with_context(|| format!("reading {shown}"))?
            .starts_with(&[0x1f, 0x8b]);
        let result = if gz {
            auditor.read(flate2::bufread::MultiGzDecoder::new(input))
        } else {
            auditor.read(input)
        };
        result.with_context(|| format!("reading {shown}"))?;
    }
    Ok(auditor.finish())
}

/// A regular file of at least 1 MiB that is not gzip: worth mapping, as
/// ripgrep does for large files.
fn is_plain_large(file: &File) -> Result<bool> {
    let meta = file.metadata()?;
    if !meta.is_file() || meta.len() < 1 << 20 {
        return Ok(false);
    }
    let mut magic = [0u8; 2];
    let n = std::os::unix::fs::FileExt::read_at(file, &mut magic, 0)?;
    Ok(!(n == 2 && magic == [0x1f, 0x8b]))
}

impl Auditor {
    /// Reads a whole stream, a chunk at a time, in memory bounded by the
    /// chunk whatever the input (no newline at all, endless folds).
    pub fn read(&mut self, mut input: impl Read) -> std::io::Result<()> {
        let mut buf = vec![0u8; CHUNK];
        let mut filled = 0;
        // Inside a line longer than the buffer: drop bytes up to its end.
        let mut skipping = false;
        loop {
            if filled == buf.len() {
                // A record longer than the buffer: cut it at its last line
                // end, or, with none, skip the line (counted once).
                match memchr::memrchr(b'\n', &buf[..filled]) {
                    Some(i) => {
                        self.report.limits.records_split += 1;
                        self.block(&buf[..=i], false);
                        buf.copy_within(i + 1..filled, 0);
                        filled -= i + 1;
                    }
                    None => {
                        filled = 0;
                        skipping = true;
                    }
                }
            }
            let n = input.read(&mut buf[filled..])?;
            if n == 0 {
                if skipping {
                    self.skipped_line();
                }
                if filled > 0 {
                    self.block(&buf[..filled], true);
                }
                self.finish_pending();
                return Ok(());
            }
            if skipping {
                match memchr::memchr(b'\n', &buf[filled..filled + n]) {
                    Some(i) => {
                        self.skipped_line();
                        skipping = false;
                        buf.copy_within(filled + i + 1..filled + n, filled);
                        filled += n - i - 1;
                    }
                    None => continue,
                }
                continue;
            }
            filled += n;
            if filled < buf.len() / 2 {
                continue;
            }
            if let Some(cut) = record_boundary(&buf[..filled]) {
                self.block(&buf[..cut], false);
                buf.copy_within(cut..filled, 0);
                filled -= cut;
            }
        }
    }

    /// Reads a plain regular file through memory maps of `MAP_WINDOW` bytes
    /// at a time: no copies through a buffer, and memory bounded by the
    /// window, not the file. False (nothing read) when the file cannot be
    /// mapped; the caller then streams it.
    pub fn read_mapped(&mut self, file: &std::fs::File) -> std::io::Result<bool> {
        const MAP_WINDOW: u64 = 16 << 20;
        let len = file.metadata()?.len();
        let page = 4096u64;
        let mut pos = 0u64;
        while pos < len {
            let base = pos / page * page;
            let size = MAP_WINDOW.min(len - base);
            // SAFETY: mapped read-only. A log truncated while we read it
            // (logrotate's copytruncate) could fault; logs are appended to
            // and renamed in normal operation, which is safe.
            let map = match unsafe {
                memmap2::MmapOptions::new()
                    .offset(base)
                    .len(size as usize)
                    .map(file)
            } {
                Ok(m) => m,
                Err(_) if pos == 0 => return Ok(false),
                Err(e) => return Err(e),
            };
            let data = &map[(pos - base) as usize..];
            let last = base + size == len;
            // Stop at a record boundary; a window without one (a 16 MiB
            // record) is taken whole.
            let cut = if last {
                data.len()
            } else {
                record_boundary(data).unwrap_or(data.len())
            };
            self.block(&data[..cut], last);
            pos += cut as u64;
        }
        self.finish_pending();
        Ok(true)
    }

    /// Handles a block of whole records, on two cores when there are two:
    /// the halves are split where no record continues, so each half is
    /// independent, and the counts add up.
    pub(super) fn block(&mut self, block: &[u8], eof: bool) {
        let split = (self.threads > 1 && block.len() >= 1 << 18)
            .then(|| record_boundary(&block[..block.len() / 2]))
            .flatten();
        let Some(mid) = split else {
            self.lines(block, eof);
            self.finish_pending();
            return;
        };
        let (first, second) = block.split_at(mid);
        let portable = matches!(self.prefilter, Prefilter::Portable(_));
        let mut helper = self.helper.take().unwrap_or_else(|| {
            let mut h = Auditor::with_prefilter(portable);
            h.threads = 1;
            Box::new(h)
        });
        std::thread::scope(|scope| {
            let worker = scope.spawn(move || {
                helper.lines(second, eof);
                helper.finish_pending();
                helper
            });
            self.lines(first, false);
            self.finish_pending();
            self.helper = Some(worker.join().expect("audit worker panicked"));
        });
    }
}
