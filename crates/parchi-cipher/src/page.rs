//! The two page functions in safe Rust: AES-256-CBC without padding, and HMAC-SHA256 over two
//! inputs. RustCrypto's `aes` and `sha2` pick the CPU's AES-NI and SHA-NI instructions at run
//! time where it has them.

use aes::Aes256;
use aes::cipher::generic_array::GenericArray;
use aes::cipher::{BlockDecrypt, BlockEncrypt, KeyInit};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// AES's block, in bytes.
pub const BLOCK: usize = 16;
/// AES-256's key, in bytes.
pub const KEY: usize = 32;
/// HMAC-SHA256's tag, in bytes.
pub const TAG: usize = 32;

/// Blocks decrypted at a time: CBC decryption is parallel, and AES-NI pipelines 8 blocks.
const LANES: usize = 8;

/// HMAC-SHA256 of `a` then `b` under `key`.
pub fn hmac_sha256(key: &[u8], a: &[u8], b: &[u8]) -> [u8; TAG] {
    // HMAC takes a key of any length (a long one is hashed first).
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(a);
    mac.update(b);
    mac.finalize().into_bytes().into()
}

/// AES-256-CBC of `input` into `out` (the same length, a whole number of blocks), from `iv`.
/// `None` when the lengths are not that.
pub fn cbc(
    encrypt: bool,
    key: &[u8; KEY],
    iv: &[u8; BLOCK],
    input: &[u8],
    out: &mut [u8],
) -> Option<()> {
    if input.len() != out.len() || !input.len().is_multiple_of(BLOCK) {
        return None;
    }
    // Zeroised on drop (the crate's `zeroize` feature).
    let aes = Aes256::new(GenericArray::from_slice(key));
    if encrypt {
        let mut prev = *iv;
        for (i, o) in input.chunks_exact(BLOCK).zip(out.chunks_exact_mut(BLOCK)) {
            let mut b = GenericArray::from([0u8; BLOCK]);
            for k in 0..BLOCK {
                b[k] = i[k] ^ prev[k];
            }
            aes.encrypt_block(&mut b);
            o.copy_from_slice(&b);
            prev.copy_from_slice(&b);
        }
    } else {
        for (n, (i, o)) in input
            .chunks(BLOCK * LANES)
            .zip(out.chunks_mut(BLOCK * LANES))
            .enumerate()
        {
            let mut blocks = [GenericArray::from([0u8; BLOCK]); LANES];
            let count = i.len() / BLOCK;
            for (b, c) in blocks.iter_mut().zip(i.chunks_exact(BLOCK)) {
                b.copy_from_slice(c);
            }
            aes.decrypt_blocks(&mut blocks[..count]);
            // Each plaintext block is its decryption XOR the ciphertext block before it.
            let start = n * BLOCK * LANES;
            for (j, (b, o)) in blocks[..count]
                .iter()
                .zip(o.chunks_exact_mut(BLOCK))
                .enumerate()
            {
                let at = start + j * BLOCK;
                let prev = if at == 0 {
                    &iv[..]
                } else {
                    &input[at - BLOCK..at]
                };
                for k in 0..BLOCK {
                    o[k] = b[k] ^ prev[k];
                }
            }
            blocks.iter_mut().for_each(|b| b.fill(0));
        }
    }
    Some(())
}
