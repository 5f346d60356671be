//! SQLCipher's page crypto on the CPU's AES and SHA instructions.
//!
//! SQLCipher encrypts every page it writes (AES-256-CBC) and signs it (HMAC-SHA256 in the
//! format Parchi writes), and checks and decrypts every page it reads, through two functions of
//! its crypto provider. Its OpenSSL provider sets OpenSSL 3 up anew for every page: it fetches
//! the HMAC implementation by name, allocates a MAC context and a cipher context and schedules
//! the key, each time. In a registration at 1M patients that set-up took about as long as the
//! cipher itself. [`install`] points those two functions at this crate's, which compute the same
//! bytes from the same inputs (tested against OpenSSL's own in `tests/openssl.rs`), on the stack,
//! and the provider's random bytes (each page's IV) at the operating system's CSPRNG, without
//! the lock SQLCipher takes around OpenSSL's.
//!
//! Everything else stays SQLCipher's and OpenSSL's: the page format, key derivation, and the
//! HMAC-SHA512 and HMAC-SHA1 of older formats, which these functions pass to OpenSSL's.
//!
//! **Architecture Invariant:** a page these functions write is what OpenSSL's would write from
//! the same IV, and a page they accept is one OpenSSL's would accept. Any input they are not
//! built for (another algorithm or key size, a length that is not whole blocks, overlapping
//! buffers) goes to OpenSSL's functions unchanged.
//!
//! The unsafe code Parchi has is in `ffi.rs`: reading SQLCipher's provider table and turning
//! the pointers SQLCipher passes into slices.

mod ffi;
pub mod page;

pub use ffi::{install, installed};

#[doc(hidden)]
pub use ffi::{openssl_cbc_for_tests, openssl_hmac_for_tests, restore_openssl_for_tests};
