//! glibc's allocator setting for a single exaproxy process (`daemon.supervise=false`): how
//! much freed heap it keeps instead of giving it back to the system. Workers get the same from
//! `GLIBC_TUNABLES` in their environment at fork (src/supervisor/allocator.ts), which glibc reads
//! only as a process starts; a process that was not forked sets it here, once, at start.
//!
//! # Safety
//!
//! The one `unsafe` line is `mallopt(M_TRIM_THRESHOLD, n)`: no pointer, a number glibc
//! checks; it changes when freed memory is trimmed, never what any allocation holds.

use napi::{Env, Result};
use napi_derive::napi;

use crate::args::Number;

/// Keeps up to `bytes` of freed heap (glibc's `M_TRIM_THRESHOLD`). → whether it was set
/// (false with another C library, or a value glibc refused).
#[napi(js_name = "keepFreedHeap")]
pub fn keep_freed_heap(env: Env, bytes: Number) -> Result<bool> {
    let bytes = bytes.get(&env, "bytes")?;
    Ok(set_trim_threshold(bytes))
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn set_trim_threshold(bytes: u32) -> bool {
    let Ok(bytes) = libc::c_int::try_from(bytes) else {
        return false;
    };
    // SAFETY: no pointer; glibc checks the value and returns 0 when it refuses it.
    unsafe { libc::mallopt(libc::M_TRIM_THRESHOLD, bytes) == 1 }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn set_trim_threshold(_bytes: u32) -> bool {
    false
}
