//! SQLCipher's provider table and the two functions put into it.
#![allow(unsafe_code)]

use std::ffi::{c_int, c_void};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::page::{self, BLOCK, KEY, TAG};

const SQLITE_OK: c_int = 0;
const SQLITE_ERROR: c_int = 1;
/// `SQLCIPHER_HMAC_SHA256`.
const HMAC_SHA256: c_int = 1;
/// `SQLCIPHER_ENCRYPT`; 0 decrypts.
const ENCRYPT: c_int = 1;

/// `hmac(ctx, algorithm, key, key_sz, in, in_sz, in2, in2_sz, out)`.
type HmacFn = unsafe extern "C" fn(
    *mut c_void,
    c_int,
    *const u8,
    c_int,
    *const u8,
    c_int,
    *const u8,
    c_int,
    *mut u8,
) -> c_int;

/// `cipher(ctx, mode, key, key_sz, iv, in, in_sz, out)`.
type CipherFn = unsafe extern "C" fn(
    *mut c_void,
    c_int,
    *const u8,
    c_int,
    *const u8,
    *const u8,
    c_int,
    *mut u8,
) -> c_int;

/// `random(ctx, buffer, length)`.
type RandomFn = unsafe extern "C" fn(*mut c_void, *mut c_void, c_int) -> c_int;

type Other = Option<unsafe extern "C" fn()>;

/// The start of `struct sqlcipher_provider` (SQLCipher 4's `sqlcipher.h`), up to the two
/// members replaced; the rest is never touched.
#[repr(C)]
struct Provider {
    init: Other,
    shutdown: Other,
    get_provider_name: Other,
    add_random: Other,
    random: Option<RandomFn>,
    hmac: Option<HmacFn>,
    kdf: Other,
    cipher: Option<CipherFn>,
}

unsafe extern "C" {
    /// The provider SQLCipher uses for every codec created from now on (it is set up in
    /// `sqlite3_initialize`).
    fn sqlcipher_get_provider() -> *mut Provider;
}

/// OpenSSL's functions, as the provider had them before [`install`].
#[derive(Clone, Copy)]
struct OpenSsl {
    hmac: HmacFn,
    cipher: CipherFn,
    random: RandomFn,
}

static OPENSSL: OnceLock<OpenSsl> = OnceLock::new();

/// The provider's three members this crate replaces, each as a word another thread may be
/// reading.
///
/// # Safety
/// `p` is the live provider.
unsafe fn members<'a>(p: *mut Provider) -> [&'a AtomicUsize; 3] {
    // SAFETY: the caller's; the members are function pointers.
    unsafe {
        [
            slot(&raw mut (*p).hmac),
            slot(&raw mut (*p).cipher),
            slot(&raw mut (*p).random),
        ]
    }
}

/// This crate's functions, in the order of [`members`].
fn ours() -> [usize; 3] {
    [
        hmac as HmacFn as usize,
        cipher as CipherFn as usize,
        random as RandomFn as usize,
    ]
}

/// A function pointer member of the provider, read and written whole (other threads may be
/// reading it through a codec at that moment; they see the old function or the new one, and
/// both compute the same bytes).
///
/// # Safety
/// `member` points at a function pointer member of the live provider.
unsafe fn slot<'a, T>(member: *mut Option<T>) -> &'a AtomicUsize {
    debug_assert_eq!(size_of::<Option<T>>(), size_of::<AtomicUsize>());
    // SAFETY: an `Option<fn>` is one pointer-sized, pointer-aligned word (the niche), as is
    // `AtomicUsize`; the provider lives until `sqlite3_shutdown`, which Parchi never calls.
    unsafe { &*member.cast::<AtomicUsize>() }
}

/// Points SQLCipher's provider at this crate's page cipher, page HMAC and random bytes. Call it
/// once SQLite is initialised (any connection opened), before keying connections; codecs
/// created before keep OpenSSL's functions, which compute the same bytes. `false` (and nothing
/// changed) when SQLCipher has no provider yet. Calling it again changes nothing.
pub fn install() -> bool {
    // SAFETY: SQLCipher's own accessor; null before SQLite is initialised.
    let p = unsafe { sqlcipher_get_provider() };
    if p.is_null() {
        return false;
    }
    // SAFETY: `p` is the live provider.
    let slots = unsafe { members(p) };
    let old = slots.map(|m| m.load(Ordering::Acquire));
    if old == ours() {
        return true;
    }
    if old.contains(&0) {
        return false;
    }
    // SAFETY: non-null values of these members are functions of these signatures.
    let openssl = unsafe {
        OpenSsl {
            hmac: std::mem::transmute::<usize, HmacFn>(old[0]),
            cipher: std::mem::transmute::<usize, CipherFn>(old[1]),
            random: std::mem::transmute::<usize, RandomFn>(old[2]),
        }
    };
    OPENSSL.get_or_init(|| openssl);
    for (m, f) in slots.iter().zip(ours()) {
        m.store(f, Ordering::Release);
    }
    true
}

/// True when SQLCipher's provider is using this crate's functions.
pub fn installed() -> bool {
    // SAFETY: as in `install`.
    let p = unsafe { sqlcipher_get_provider() };
    // SAFETY: `p` is the live provider.
    !p.is_null() && unsafe { members(p) }.map(|m| m.load(Ordering::Acquire)) == ours()
}

/// Puts OpenSSL's functions back (tests that check both directions of compatibility).
pub fn restore_openssl_for_tests() {
    let Some(o) = OPENSSL.get() else {
        return;
    };
    // SAFETY: as in `install`.
    let p = unsafe { sqlcipher_get_provider() };
    if p.is_null() {
        return;
    }
    let theirs = [o.hmac as usize, o.cipher as usize, o.random as usize];
    // SAFETY: `p` is the live provider.
    for (m, f) in unsafe { members(p) }.iter().zip(theirs) {
        m.store(f, Ordering::Release);
    }
}

/// OpenSSL's functions, for the tests that compare against them.
#[doc(hidden)]
pub fn openssl_hmac_for_tests(key: &[u8], a: &[u8], b: &[u8], algorithm: i32) -> Option<Vec<u8>> {
    let oh = OPENSSL.get()?.hmac;
    let mut out = vec![0u8; 64];
    // SAFETY: the slices outlive the call; `out` holds the longest tag (SHA-512).
    let rc = unsafe {
        oh(
            std::ptr::null_mut(),
            algorithm,
            key.as_ptr(),
            c_int::try_from(key.len()).ok()?,
            a.as_ptr(),
            c_int::try_from(a.len()).ok()?,
            b.as_ptr(),
            c_int::try_from(b.len()).ok()?,
            out.as_mut_ptr(),
        )
    };
    (rc == SQLITE_OK).then_some(out)
}

/// OpenSSL's AES-256-CBC, for the tests that compare against it.
#[doc(hidden)]
pub fn openssl_cbc_for_tests(
    encrypt: bool,
    key: &[u8; KEY],
    iv: &[u8; BLOCK],
    input: &[u8],
) -> Option<Vec<u8>> {
    let oc = OPENSSL.get()?.cipher;
    let mut out = vec![0u8; input.len()];
    // SAFETY: the slices outlive the call and `out` is as long as `input`.
    let rc = unsafe {
        oc(
            std::ptr::null_mut(),
            if encrypt { ENCRYPT } else { 0 },
            key.as_ptr(),
            KEY as c_int,
            iv.as_ptr(),
            input.as_ptr(),
            c_int::try_from(input.len()).ok()?,
            out.as_mut_ptr(),
        )
    };
    (rc == SQLITE_OK).then_some(out)
}

/// A length SQLCipher passed, as a `usize`.
fn len(n: c_int) -> Option<usize> {
    usize::try_from(n).ok()
}

/// The provider's `hmac`: HMAC-SHA256 here, anything else by OpenSSL's.
unsafe extern "C" fn hmac(
    ctx: *mut c_void,
    algorithm: c_int,
    key: *const u8,
    key_sz: c_int,
    input: *const u8,
    in_sz: c_int,
    in2: *const u8,
    in2_sz: c_int,
    out: *mut u8,
) -> c_int {
    let ours = algorithm == HMAC_SHA256 && !key.is_null() && !input.is_null() && !out.is_null();
    match (ours, len(key_sz), len(in_sz), len(in2_sz)) {
        (true, Some(k), Some(n), Some(n2)) => {
            // SAFETY: SQLCipher passes buffers of the lengths it gives, and an output buffer of
            // the tag's size (`get_hmac_sz`); `in2` may be null (no second input).
            let tag = unsafe {
                let second = if in2.is_null() {
                    &[][..]
                } else {
                    std::slice::from_raw_parts(in2, n2)
                };
                page::hmac_sha256(
                    std::slice::from_raw_parts(key, k),
                    std::slice::from_raw_parts(input, n),
                    second,
                )
            };
            // SAFETY: as above.
            unsafe { std::ptr::copy_nonoverlapping(tag.as_ptr(), out, TAG) };
            SQLITE_OK
        }
        _ => match OPENSSL.get() {
            // SAFETY: the arguments as SQLCipher gave them, to the function it had.
            Some(o) => unsafe {
                (o.hmac)(ctx, algorithm, key, key_sz, input, in_sz, in2, in2_sz, out)
            },
            None => SQLITE_ERROR,
        },
    }
}

/// The provider's `cipher`: AES-256-CBC of whole blocks into a separate buffer here, anything
/// else by OpenSSL's.
unsafe extern "C" fn cipher(
    ctx: *mut c_void,
    mode: c_int,
    key: *const u8,
    key_sz: c_int,
    iv: *const u8,
    input: *const u8,
    in_sz: c_int,
    out: *mut u8,
) -> c_int {
    let n = len(in_sz).unwrap_or(usize::MAX);
    let apart = (input as usize)
        .checked_add(n)
        .is_some_and(|end| end <= out as usize)
        || (out as usize)
            .checked_add(n)
            .is_some_and(|end| end <= input as usize);
    let ours = key_sz as usize == KEY
        && (mode == ENCRYPT || mode == 0)
        && n != usize::MAX
        && n.is_multiple_of(BLOCK)
        && apart
        && ![key, iv, input].iter().any(|p| p.is_null())
        && !out.is_null();
    if ours {
        // SAFETY: SQLCipher passes a key of `key_sz` bytes, an IV of the block size (copied
        // first: it sits in the output page's reserve, just past the `in_sz` bytes written),
        // and input and output buffers of `in_sz` bytes each; `apart` checked they do not
        // overlap.
        let done = unsafe {
            let key = &*key.cast::<[u8; KEY]>();
            let iv: [u8; BLOCK] = iv.cast::<[u8; BLOCK]>().read_unaligned();
            page::cbc(
                mode == ENCRYPT,
                key,
                &iv,
                std::slice::from_raw_parts(input, n),
                std::slice::from_raw_parts_mut(out, n),
            )
        };
        return if done.is_some() {
            SQLITE_OK
        } else {
            SQLITE_ERROR
        };
    }
    match OPENSSL.get() {
        // SAFETY: the arguments as SQLCipher gave them, to the function it had.
        Some(o) => unsafe { (o.cipher)(ctx, mode, key, key_sz, iv, input, in_sz, out) },
        None => SQLITE_ERROR,
    }
}

/// The provider's `random` (each page's IV and reserve, salts): the operating system's CSPRNG
/// (`getrandom`; a vDSO call where the C library has one), OpenSSL's if that fails.
unsafe extern "C" fn random(ctx: *mut c_void, buffer: *mut c_void, length: c_int) -> c_int {
    if let Some(n) = len(length).filter(|_| !buffer.is_null()) {
        // SAFETY: SQLCipher passes a buffer of `length` bytes.
        let out = unsafe { std::slice::from_raw_parts_mut(buffer.cast::<u8>(), n) };
        if getrandom::fill(out).is_ok() {
            return SQLITE_OK;
        }
    }
    match OPENSSL.get() {
        // SAFETY: the arguments as SQLCipher gave them, to the function it had.
        Some(o) => unsafe { (o.random)(ctx, buffer, length) },
        None => SQLITE_ERROR,
    }
}
