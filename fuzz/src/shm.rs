//! The page the worker and its supervisor share: execution and crash
//! counters, and the input being executed right now.
//!
//! A panic is caught inside the worker, but a stack overflow, an abort (for
//! instance a failed allocation) or a hang is not: the supervisor then reads
//! the input that was running from this page and saves it. Writing the input
//! here is a `memcpy`, not a system call, so it costs next to nothing per run.
#![allow(unsafe_code)]

use std::fs::OpenOptions;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// The longest input the driver builds (longer ones are truncated).
pub const MAX_INPUT: usize = 256 * 1024;
const HEADER: usize = 32;

/// A shared mapping of a file: `[execs, crashes, input length, unused]`
/// (four `u64`) followed by [`MAX_INPUT`] input bytes.
pub struct Shared {
    ptr: *mut u8,
}

// The mapping is only written by the worker's fuzzing thread; the supervisor
// reads it. Counters are atomics; the input is best effort (read after the
// worker died or stopped making progress).
unsafe impl Send for Shared {}

impl Shared {
    /// Maps `path`, creating it (zeroed) when `create`.
    pub fn open(path: &Path, create: bool) -> std::io::Result<Shared> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(create)
            .truncate(create)
            .open(path)?;
        let len = HEADER + MAX_INPUT;
        file.set_len(len as u64)?;
        // SAFETY: a fresh shared mapping of a file we hold open, of the
        // length we just set; checked for failure below.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                file.as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        Ok(Shared {
            ptr: ptr.cast::<u8>(),
        })
    }

    fn counter(&self, i: usize) -> &AtomicU64 {
        // SAFETY: the mapping is page-aligned and at least HEADER bytes long;
        // i < 4 keeps the u64 inside the header.
        unsafe { &*(self.ptr.add(i * 8) as *const AtomicU64) }
    }

    /// Executions so far.
    pub fn execs(&self) -> u64 {
        self.counter(0).load(Ordering::Relaxed)
    }

    /// Counts one execution.
    pub fn add_exec(&self) {
        self.counter(0).fetch_add(1, Ordering::Relaxed);
    }

    /// Panics caught by the worker so far.
    pub fn crashes(&self) -> u64 {
        self.counter(1).load(Ordering::Relaxed)
    }

    /// Counts one caught panic.
    pub fn add_crash(&self) {
        self.counter(1).fetch_add(1, Ordering::Relaxed);
    }

    /// Records the input about to run.
    pub fn set_input(&self, input: &[u8]) {
        let n = input.len().min(MAX_INPUT);
        // SAFETY: n <= MAX_INPUT bytes fit after the header; the source is a
        // live slice that cannot overlap the mapping.
        unsafe { std::ptr::copy_nonoverlapping(input.as_ptr(), self.ptr.add(HEADER), n) };
        self.counter(2).store(n as u64, Ordering::Release);
    }

    /// The input that was running last.
    pub fn input(&self) -> Vec<u8> {
        let n = (self.counter(2).load(Ordering::Acquire) as usize).min(MAX_INPUT);
        // SAFETY: n <= MAX_INPUT bytes lie inside the mapping.
        unsafe { std::slice::from_raw_parts(self.ptr.add(HEADER), n) }.to_vec()
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly what `open` mapped.
        unsafe { libc::munmap(self.ptr.cast(), HEADER + MAX_INPUT) };
    }
}
