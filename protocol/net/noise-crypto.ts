/**
 * Noise's crypto for every node (`noise({ crypto: noiseCrypto })` in node.ts): @libp2p/noise's own implementation,
 * except ChaCha20-Poly1305 on node:crypto with the session key imported once.
 *
 * Why: @libp2p/noise's Node crypto hands `createCipheriv` the raw 32-byte key for every message, so each 64 KiB
 * transport message pays for importing the key (≈ 9 µs of ≈ 45 µs on this project's test machine), and it
 * concatenates ciphertext and tag into a new buffer (another copy of the message). Here the key becomes a `KeyObject`
 * once per key and the ciphertext goes back as a list of the cipher's own buffers plus the tag. The bytes on the wire are the same (RFC 8439
 * ChaCha20-Poly1305, noise's 12-byte nonces); test/mocha/protocol/noise-crypto.test.ts checks them against the
 * library's implementation and a node on the default crypto.
 *
 * - Key cache: a `WeakMap` from the key's `Uint8Array` (noise keeps one per CipherState for the session) to a copy
 *   of its bytes and its `KeyObject`. An entry is used only while the array still holds the same bytes (compared
 *   with `timingSafeEqual`), so an array rewritten in place gets a new KeyObject, never the old key's; an entry
 *   goes when noise drops the key (the session's end).
 * - Nonces: taken as given (noise's CipherState counts them and refuses to wrap) and used within the call only (noise
 *   rewrites its nonce buffer after each message); anything but 12 bytes is refused.
 * - Decryption on node:crypto: `final()` checks the tag in constant time (OpenSSL's `CRYPTO_memcmp`) and throws on a
 *   mismatch; the plaintext the cipher produced before that check is zeroed and never returned.
 * - Messages with less than {@link NODE_CIPHER_MIN_BYTES} of plaintext (requests, responses, yamux window updates)
 *   stay on noise's WebAssembly ChaCha20-Poly1305, as with the library's default crypto: a node:crypto cipher costs
 *   ≈ 3 µs to set up whatever the size, and on the tunnel's requests/s path (two such messages opened per request
 *   and yard) opening them on node:crypto cost ≈ 17 µs of CPU per request and yard (≈ 55 → 74 µs, bench:proxy's
 *   tunnel path). That implementation compares tags with an early exit, i.e. not in constant time; noise aborts the
 *   connection at the first message that fails, so an attacker gets one guess per session key and learns nothing
 *   usable from the timing. Its output buffer (noise's `dst`, or ours) is zeroed when the tag does not match.
 * - SHA-256, HKDF and X25519 are the library's (handshake only).
 */
import { createCipheriv, createDecipheriv, createSecretKey, timingSafeEqual, type KeyObject } from "node:crypto";
import type { ICryptoInterface } from "@libp2p/noise";
import { asCrypto, defaultCrypto } from "@libp2p/noise/crypto";
import { Uint8ArrayList } from "uint8arraylist";

const ALGORITHM = "chacha20-poly1305";
const KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
/** Messages with less plaintext than this stay on noise's WebAssembly implementation (measured crossover 0.6–0.8 KiB). */
export const NODE_CIPHER_MIN_BYTES = 1024;
/** The longest associated data noise's WebAssembly implementation takes (noise's is empty or a 32-byte hash). */
const WASM_MAX_AD_BYTES = 32;

interface CachedKey {
  /** A copy of the key's bytes when the KeyObject was made (its own memory, not Buffer's shared pool). */
  bytes: Uint8Array;
  key: KeyObject;
}
const keys = new WeakMap<Uint8Array, CachedKey>();

/** The KeyObject for `k`: the cached one while `k` still holds the bytes it was made from, else a new one. */
function secretKey(k: Uint8Array): KeyObject {
  const hit = keys.get(k);
  if (hit !== undefined && timingSafeEqual(hit.bytes, k)) return hit.key;
  const bytes = new Uint8Array(k);
  const key = createSecretKey(bytes);
  keys.set(k, { bytes, key });
  return key;
}

function checkSizes(k: Uint8Array, nonce: Uint8Array): void {
  if (k.byteLength !== KEY_BYTES) throw new RangeError(`ChaCha20-Poly1305 key of ${k.byteLength} bytes, want 32`);
  if (nonce.byteLength !== NONCE_BYTES) {
    throw new RangeError(`ChaCha20-Poly1305 nonce of ${nonce.byteLength} bytes, want 12`);
  }
}

function encrypt(
  plaintext: Uint8Array | Uint8ArrayList,
  nonce: Uint8Array,
  ad: Uint8Array,
  k: Uint8Array,
): Uint8Array | Uint8ArrayList {
  checkSizes(k, nonce);
  if (plaintext.byteLength < NODE_CIPHER_MIN_BYTES && ad.byteLength <= WASM_MAX_AD_BYTES) {
    return asCrypto.chaCha20Poly1305Encrypt(plaintext, nonce, ad, k);
  }
  const cipher = createCipheriv(ALGORITHM, secretKey(k), nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(ad, { plaintextLength: plaintext.byteLength });
  const out = new Uint8ArrayList();
  const add = (b: Buffer): void => {
    if (b.byteLength > 0) out.append(b);
  };
  if (plaintext instanceof Uint8Array) add(cipher.update(plaintext));
  else for (const buf of plaintext) add(cipher.update(buf));
  add(cipher.final());
  out.append(cipher.getAuthTag());
  return out;
}

function decrypt(
  ciphertext: Uint8Array | Uint8ArrayList,
  nonce: Uint8Array,
  ad: Uint8Array,
  k: Uint8Array,
  dst?: Uint8Array,
): Uint8Array | Uint8ArrayList {
  checkSizes(k, nonce);
  const length = ciphertext.byteLength - TAG_BYTES;
  if (length < 0) throw new RangeError("ChaCha20-Poly1305 message shorter than its tag");
  if (length < NODE_CIPHER_MIN_BYTES && ad.byteLength <= WASM_MAX_AD_BYTES) {
    // noise passes a destination of the plaintext's length; the WebAssembly code writes into it before it checks.
    const out = dst !== undefined && dst.byteLength === length ? dst : new Uint8Array(length);
    try {
      return asCrypto.chaCha20Poly1305Decrypt(ciphertext, nonce, ad, k, out);
    } catch (e) {
      out.fill(0);
      throw new Error("ChaCha20-Poly1305: message authentication failed", { cause: e });
    }
  }
  const decipher = createDecipheriv(ALGORITHM, secretKey(k), nonce, { authTagLength: TAG_BYTES });
  decipher.setAAD(ad, { plaintextLength: length });
  decipher.setAuthTag(ciphertext.subarray(length));
  const parts: Buffer[] = [];
  if (ciphertext instanceof Uint8Array) parts.push(decipher.update(ciphertext.subarray(0, length)));
  else for (const buf of ciphertext.sublist(0, length)) parts.push(decipher.update(buf));
  try {
    parts.push(decipher.final());
  } catch (e) {
    for (const p of parts) p.fill(0);
    throw new Error("ChaCha20-Poly1305: message authentication failed", { cause: e });
  }
  const filled = parts.filter((p) => p.byteLength > 0);
  if (filled.length === 1) return filled[0]!;
  const out = new Uint8ArrayList();
  for (const p of filled) out.append(p);
  return out;
}

/** @libp2p/noise's crypto with ChaCha20-Poly1305 on node:crypto and a KeyObject per session key. */
export const noiseCrypto: ICryptoInterface = {
  ...defaultCrypto,
  chaCha20Poly1305Encrypt: encrypt,
  chaCha20Poly1305Decrypt: decrypt,
};
