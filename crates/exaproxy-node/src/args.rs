//! The addon's argument types, and the crate's only `unsafe` code.
//!
//! Each type converts a JS value with the N-API call napi's own type makes
//! (`napi_get_typedarray_info` for `&[u8]` / `&mut [u32]`, `napi_get_value_uint32`
//! for `u32`): no copy, no allocation. Unlike napi's types the conversion never
//! fails: a value of the wrong type is kept as "invalid", and the function reports
//! it by argument name when it asks for the value (`buf.get(&env, "buf")`), as a
//! `TypeError` with code `EXA_ERR_INVALID_ARG` — napi's own conversion throws a
//! plain `Error` that does not say which argument is wrong.
//!
//! The type names are the ones napi's `.d.ts` generator maps to TypeScript
//! (`Buffer` and `BufferSlice` to `Buffer`, `Uint32Array`, `Number` to `number`),
//! so binding.d.ts declares exactly what these accept.
//!
//! # Safety
//!
//! `from_napi_value` is called only by napi's generated glue, with the live `env`
//! and an argument of the current call, which its handle scope keeps alive until
//! the function returns. Memory is kept as raw parts and becomes a slice only when
//! asked for, borrowed from the argument, so no slice outlives the call. A
//! writable slice is handed out only after [`disjoint`] has checked that it shares
//! no byte with the other memory arguments of the call (the same `Buffer` passed as
//! `buf` and `out`, or a table viewing a buffer's memory, is refused), so a `&mut`
//! never aliases another reference. The calls are synchronous and call no JS, so
//! nothing can detach or resize a buffer while a slice exists.

use std::marker::PhantomData;

use napi::bindgen_prelude::FromNapiValue;
use napi::{sys, Env, Result};

use crate::error::invalid;

/// Where a typed array's elements are: start address and length in bytes.
#[derive(Clone, Copy, Debug)]
pub struct Region {
    start: usize,
    bytes: usize,
}

/// Whether `region` shares no byte with any of `others` (empty regions share none).
fn disjoint(region: Region, others: &[Option<Region>]) -> bool {
    others.iter().flatten().all(|o| {
        region.bytes == 0
            || o.bytes == 0
            || region.start + region.bytes <= o.start
            || o.start + o.bytes <= region.start
    })
}

/// A typed array's elements as raw parts, or `None` for a value of another type.
#[derive(Clone, Copy)]
struct Raw<T> {
    ptr: *mut T,
    len: usize,
}

impl<T> Raw<T> {
    fn region(self) -> Region {
        Region {
            start: self.ptr as usize,
            bytes: self.len * size_of::<T>(),
        }
    }
}

/// Reads a `T` typed array (napi's `&mut [T]` conversion checks the element type).
///
/// # Safety
/// `env` and `value` are the live environment and an argument of the current call.
unsafe fn raw<T>(env: sys::napi_env, value: sys::napi_value) -> Option<Raw<T>>
where
    for<'s> &'s mut [T]: FromNapiValue,
{
    // SAFETY: guaranteed by the caller; the slice is turned into raw parts at once and
    // not used again, so it aliases nothing.
    let slice = unsafe { <&mut [T] as FromNapiValue>::from_napi_value(env, value) }.ok()?;
    Some(Raw {
        ptr: slice.as_mut_ptr(),
        len: slice.len(),
    })
}

/// A `Buffer` (or any `Uint8Array`) the function only reads.
pub struct Buffer<'call> {
    raw: Option<Raw<u8>>,
    _call: PhantomData<&'call ()>,
}

impl FromNapiValue for Buffer<'_> {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> Result<Self> {
        Ok(Buffer {
            // SAFETY: napi's glue passes the live env and an argument of this call.
            raw: unsafe { raw(env, value) },
            _call: PhantomData,
        })
    }
}

impl Buffer<'_> {
    /// The bytes, or a `TypeError` naming the argument.
    pub fn get(&self, env: &Env, name: &str) -> Result<&[u8]> {
        let raw = self
            .raw
            .ok_or_else(|| invalid(env, format!("{name} must be a Buffer")))?;
        // SAFETY: the elements of a live typed array of this call (module docs).
        Ok(unsafe { std::slice::from_raw_parts(raw.ptr, raw.len) })
    }

    pub fn region(&self) -> Option<Region> {
        self.raw.map(Raw::region)
    }
}

/// A `Buffer` (or any `Uint8Array`) the function writes into.
pub struct BufferSlice<'call> {
    raw: Option<Raw<u8>>,
    _call: PhantomData<&'call ()>,
}

impl FromNapiValue for BufferSlice<'_> {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> Result<Self> {
        Ok(BufferSlice {
            // SAFETY: napi's glue passes the live env and an argument of this call.
            raw: unsafe { raw(env, value) },
            _call: PhantomData,
        })
    }
}

impl BufferSlice<'_> {
    pub fn region(&self) -> Option<Region> {
        self.raw.map(Raw::region)
    }

    /// The bytes to write, or a `TypeError` naming the argument when it is not a
    /// `Buffer` or shares memory with one of `others`.
    pub fn get_mut(
        &mut self,
        env: &Env,
        name: &str,
        others: &[Option<Region>],
    ) -> Result<&mut [u8]> {
        let raw = self
            .raw
            .ok_or_else(|| invalid(env, format!("{name} must be a Buffer")))?;
        if !disjoint(raw.region(), others) {
            return Err(invalid(
                env,
                format!("{name} must not share memory with the other arguments"),
            ));
        }
        // SAFETY: a live typed array of this call, disjoint from every other slice (module docs).
        Ok(unsafe { std::slice::from_raw_parts_mut(raw.ptr, raw.len) })
    }
}

/// A `Uint32Array` table the function fills.
pub struct Uint32Array<'call> {
    raw: Option<Raw<u32>>,
    _call: PhantomData<&'call ()>,
}

impl FromNapiValue for Uint32Array<'_> {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> Result<Self> {
        Ok(Uint32Array {
            // SAFETY: napi's glue passes the live env and an argument of this call.
            raw: unsafe { raw(env, value) },
            _call: PhantomData,
        })
    }
}

impl Uint32Array<'_> {
    pub fn region(&self) -> Option<Region> {
        self.raw.map(Raw::region)
    }

    /// The slots, or a `TypeError` naming the argument when it is not a
    /// `Uint32Array`, has fewer than `min` slots or shares memory with `others`.
    pub fn get_mut(
        &mut self,
        env: &Env,
        name: &str,
        min: usize,
        others: &[Option<Region>],
    ) -> Result<&mut [u32]> {
        let raw = self
            .raw
            .ok_or_else(|| invalid(env, format!("{name} must be a Uint32Array")))?;
        if raw.len < min {
            return Err(invalid(
                env,
                format!("{name} must have at least {min} slots, it has {}", raw.len),
            ));
        }
        if !disjoint(raw.region(), others) {
            return Err(invalid(
                env,
                format!("{name} must not share memory with the other arguments"),
            ));
        }
        // SAFETY: a live typed array of this call, disjoint from every other slice (module docs).
        Ok(unsafe { std::slice::from_raw_parts_mut(raw.ptr, raw.len) })
    }
}

/// A `number` that must be an unsigned 32-bit integer (napi's `u32` conversion:
/// a fraction is truncated, a negative number wraps and then fails any bound).
pub struct Number(Option<u32>);

impl FromNapiValue for Number {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> Result<Self> {
        // SAFETY: napi's glue passes the live env and an argument of this call.
        Ok(Number(unsafe { u32::from_napi_value(env, value) }.ok()))
    }
}

impl Number {
    /// The value, or a `TypeError` naming the argument.
    pub fn get(&self, env: &Env, name: &str) -> Result<u32> {
        self.0
            .ok_or_else(|| invalid(env, format!("{name} must be a non-negative integer")))
    }

    /// The value as an offset at most `limit`, or a `TypeError` naming the argument.
    pub fn offset(&self, env: &Env, name: &str, limit: usize) -> Result<usize> {
        let n = self.get(env, name)? as usize;
        if n > limit {
            return Err(invalid(
                env,
                format!("{name} ({n}) is past the end of the buffer ({limit})"),
            ));
        }
        Ok(n)
    }
}
