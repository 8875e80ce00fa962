/**
 * Noise's ChaCha20-Poly1305 on node:crypto (protocol/net/noise-crypto.ts): the same bytes as @libp2p/noise's own
 * implementations (its default, WebAssembly below 1200 bytes and node:crypto above, and its pure-JS one) and RFC
 * 8439's test vector; Uint8ArrayList inputs; every tampering refused, with no plaintext left behind; the key cache
 * never mixes keys up; and a node on it talking both ways with a node on the library's default crypto.
 */
import { expect } from "chai";
import { createHash, randomBytes } from "node:crypto";
import type { Libp2p, Stream } from "@libp2p/interface";
import type { ICryptoInterface } from "@libp2p/noise";
import { defaultCrypto, pureJsCrypto } from "@libp2p/noise/crypto";
import { Uint8ArrayList } from "uint8arraylist";
import { createIconNode } from "../../../protocol/net/node.ts";
import { NODE_CIPHER_MIN_BYTES, noiseCrypto } from "../../../protocol/net/noise-crypto.ts";

const hex = (b: Uint8Array | Uint8ArrayList): string => Buffer.from(b.subarray()).toString("hex");
const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
/** Noise's nonce: 4 zero bytes, then the message counter as a little-endian uint64 (noise uses its low 32 bits). */
function nonce(n: number): Uint8Array {
  const b = new Uint8Array(12);
  new DataView(b.buffer).setUint32(4, n, true);
  return b;
}
/** `data` cut into a list at `cuts` (offsets). */
function listOf(data: Uint8Array, cuts: number[]): Uint8ArrayList {
  const list = new Uint8ArrayList();
  let from = 0;
  for (const c of [...cuts, data.byteLength]) {
    list.append(data.subarray(from, c));
    from = c;
  }
  return list;
}
const enc = (c: ICryptoInterface, p: Uint8Array | Uint8ArrayList, n: Uint8Array, ad: Uint8Array, k: Uint8Array) =>
  hex(c.chaCha20Poly1305Encrypt(p, n, ad, k));

describe("noise crypto (ChaCha20-Poly1305 on node:crypto)", function () {
  this.timeout(60_000);
  const SIZES = [0, 1, 64, NODE_CIPHER_MIN_BYTES - 1, NODE_CIPHER_MIN_BYTES, 1199, 1200, 4096, 65519];
  const ADS = [new Uint8Array(0), randomBytes(32)];

  it("matches RFC 8439's AEAD test vector (§2.8.2)", () => {
    const key = Buffer.from("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f", "hex");
    const iv = Buffer.from("070000004041424344454647", "hex");
    const ad = Buffer.from("50515253c0c1c2c3c4c5c6c7", "hex");
    const text = Buffer.from(
      "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.",
    );
    const sealed =
      "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da92728b1a71de0a9e060b" +
      "2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc3ff4def08e4b7a9de576d26586" +
      "cec64b6116" +
      "1ae10b594f09e26a7e902ecbd0600691";
    expect(enc(noiseCrypto, text, iv, ad, key)).to.equal(sealed);
    expect(enc(noiseCrypto, listOf(text, [7, 50]), iv, ad, key)).to.equal(sealed);
    const opened = noiseCrypto.chaCha20Poly1305Decrypt(Buffer.from(sealed, "hex"), iv, ad, key);
    expect(Buffer.from(opened.subarray()).toString()).to.equal(text.toString());
  });

  it("seals to the same bytes as @libp2p/noise's default and pure-JS crypto, and each opens the others'", () => {
    for (const size of SIZES) {
      for (const ad of ADS) {
        const key = randomBytes(32);
        const n = nonce(size + 3);
        const text = randomBytes(size);
        const want = enc(pureJsCrypto, text, n, ad, key);
        expect(enc(defaultCrypto, text, n, ad, key), `default, ${size} bytes`).to.equal(want);
        expect(enc(noiseCrypto, text, n, ad, key), `ours, ${size} bytes`).to.equal(want);
        const sealed = Buffer.from(want, "hex");
        expect(hex(noiseCrypto.chaCha20Poly1305Decrypt(sealed, n, ad, key)), `open ${size}`).to.equal(hex(text));
        const ours = noiseCrypto.chaCha20Poly1305Encrypt(text, n, ad, key);
        expect(hex(defaultCrypto.chaCha20Poly1305Decrypt(ours.subarray(), n, ad, key))).to.equal(hex(text));
        expect(hex(pureJsCrypto.chaCha20Poly1305Decrypt(ours.subarray(), n, ad, key))).to.equal(hex(text));
      }
    }
  });

  it("takes Uint8ArrayList plaintexts and ciphertexts in any cut, with the same bytes as a flat buffer", () => {
    for (const size of [1, 1000, 4096, 65519]) {
      const key = randomBytes(32);
      const n = nonce(9);
      const ad = new Uint8Array(0);
      const text = randomBytes(size);
      const want = enc(pureJsCrypto, text, n, ad, key);
      const sealed = Buffer.from(want, "hex");
      // A yamux header in front of the data, one-byte pieces, a cut inside the tag, an empty piece.
      const cuts = [[], [Math.min(12, size)], [0, 1, 2, 3].filter((c) => c <= size), [size >> 1, size >> 1]];
      for (const cut of cuts) {
        expect(enc(noiseCrypto, listOf(text, cut), n, ad, key), `${size} cut at ${cut}`).to.equal(want);
      }
      for (const cut of [[], [1], [size >> 1], [size, size + 1], [size + 15], [5, size + 8]]) {
        const opened = noiseCrypto.chaCha20Poly1305Decrypt(listOf(sealed, cut), n, ad, key);
        expect(hex(opened), `${size} opened, cut at ${cut}`).to.equal(hex(text));
      }
    }
  });

  it("refuses a changed ciphertext, tag, associated data, nonce or key, and bad nonce or key lengths", () => {
    for (const size of [0, 64, NODE_CIPHER_MIN_BYTES - 1, NODE_CIPHER_MIN_BYTES, 65519]) {
      const key = randomBytes(32);
      const ad = randomBytes(32);
      const text = randomBytes(size);
      const sealed = Buffer.from(noiseCrypto.chaCha20Poly1305Encrypt(text, nonce(5), ad, key).subarray());
      const open = (c: Uint8Array | Uint8ArrayList, n = nonce(5), a: Uint8Array = ad, k: Uint8Array = key) =>
        noiseCrypto.chaCha20Poly1305Decrypt(c, n, a, k);
      expect(hex(open(sealed))).to.equal(hex(text));
      const flipped = (i: number) => {
        const c = Buffer.from(sealed);
        c[i]! ^= 0x01;
        return c;
      };
      const cases: [string, () => unknown][] = [
        ["last tag byte", () => open(flipped(sealed.length - 1))],
        ["first tag byte", () => open(flipped(size))],
        ["tag, in a list", () => open(listOf(flipped(sealed.length - 2), [size >> 1]))],
        ["associated data", () => open(sealed, nonce(5), Buffer.concat([ad.subarray(1), Buffer.from([ad[0]! ^ 1])]))],
        ["no associated data", () => open(sealed, nonce(5), new Uint8Array(0))],
        ["next nonce", () => open(sealed, nonce(6))],
        ["nonce's zero prefix", () => open(sealed, Uint8Array.from([1, ...nonce(5).subarray(1)]))],
        ["another key", () => open(sealed, nonce(5), ad, randomBytes(32))],
        ["truncated", () => open(sealed.subarray(0, sealed.length - 1))],
        ["shorter than a tag", () => open(sealed.subarray(0, 15))],
        ["8-byte nonce", () => open(sealed, nonce(5).subarray(0, 8))],
        ["16-byte key", () => open(sealed, nonce(5), ad, key.subarray(0, 16))],
        ["16-byte key (seal)", () => noiseCrypto.chaCha20Poly1305Encrypt(text, nonce(5), ad, key.subarray(0, 16))],
        ["11-byte nonce (seal)", () => noiseCrypto.chaCha20Poly1305Encrypt(text, nonce(5).subarray(1), ad, key)],
      ];
      if (size > 0) {
        cases.push(["first ciphertext byte", () => open(flipped(0))]);
        cases.push(["last ciphertext byte", () => open(flipped(size - 1))]);
        cases.push(["ciphertext, in a list", () => open(listOf(flipped(size >> 1), [1, size >> 1]))]);
      }
      for (const [what, f] of cases) expect(f, `${what}, ${size} bytes`).to.throw();
    }
  });

  it("leaves no unauthenticated plaintext in the destination noise passes when a small message fails", () => {
    // noise decrypts small messages in place (dst); the WebAssembly code writes the plaintext there before it checks.
    const key = randomBytes(32);
    const text = Buffer.alloc(100, 0x41);
    const sealed = Buffer.from(noiseCrypto.chaCha20Poly1305Encrypt(text, nonce(3), new Uint8Array(0), key).subarray());
    sealed[sealed.length - 1]! ^= 0x01;
    const dst = new Uint8Array(text.length).fill(0xee);
    expect(() => noiseCrypto.chaCha20Poly1305Decrypt(sealed, nonce(3), new Uint8Array(0), key, dst)).to.throw(
      /authentication failed/,
    );
    expect(dst.every((b) => b === 0)).to.equal(true);
    // In place, as noise does it: the destination is the ciphertext's own memory.
    const inPlace = Buffer.from(sealed);
    const view = inPlace.subarray(0, text.length);
    expect(() => noiseCrypto.chaCha20Poly1305Decrypt(inPlace, nonce(3), new Uint8Array(0), key, view)).to.throw();
    expect(view.every((b) => b === 0)).to.equal(true);
    // And a good message opens in place.
    sealed[sealed.length - 1]! ^= 0x01;
    const opened = noiseCrypto.chaCha20Poly1305Decrypt(
      sealed,
      nonce(3),
      new Uint8Array(0),
      key,
      sealed.subarray(0, 100),
    );
    expect(Buffer.from(opened.subarray()).equals(text)).to.equal(true);
  });

  it("never uses one key's cipher for another: keys interleaved, a key array rewritten in place", () => {
    const size = 4096;
    const text = randomBytes(size);
    const ad = new Uint8Array(0);
    const k1 = randomBytes(32);
    const k2 = randomBytes(32);
    for (let i = 0; i < 6; i++) {
      const k = i % 2 === 0 ? k1 : k2;
      expect(enc(noiseCrypto, text, nonce(i), ad, k), `message ${i}`).to.equal(
        enc(pureJsCrypto, text, nonce(i), ad, k),
      );
      const sealed = noiseCrypto.chaCha20Poly1305Encrypt(text, nonce(i), ad, k).subarray();
      expect(() => noiseCrypto.chaCha20Poly1305Decrypt(sealed, nonce(i), ad, k === k1 ? k2 : k1)).to.throw();
      expect(hex(noiseCrypto.chaCha20Poly1305Decrypt(sealed, nonce(i), ad, k))).to.equal(hex(text));
    }
    // The same array with other bytes is another key (noise does not do this, but the cache must not care).
    const k = Uint8Array.from(k1);
    expect(enc(noiseCrypto, text, nonce(1), ad, k)).to.equal(enc(pureJsCrypto, text, nonce(1), ad, k1));
    k.set(k2);
    expect(enc(noiseCrypto, text, nonce(1), ad, k)).to.equal(enc(pureJsCrypto, text, nonce(1), ad, k2));
    k[31]! ^= 0x80;
    const sealed = noiseCrypto.chaCha20Poly1305Encrypt(text, nonce(1), ad, k).subarray();
    expect(hex(pureJsCrypto.chaCha20Poly1305Decrypt(sealed, nonce(1), ad, k))).to.equal(hex(text));
    expect(() => noiseCrypto.chaCha20Poly1305Decrypt(sealed, nonce(1), ad, k2)).to.throw();
    // Two arrays with the same bytes are the same key.
    expect(enc(noiseCrypto, text, nonce(2), ad, Uint8Array.from(k2))).to.equal(
      enc(noiseCrypto, text, nonce(2), ad, k2),
    );
  });

  describe("between libp2p nodes", () => {
    const PROTOCOL = "/icon/test/echo/1.0.0";
    const nodes: Libp2p[] = [];
    afterEach(async () => {
      await Promise.all(nodes.splice(0).map((n) => n.stop()));
    });

    /** Counts the ChaCha20-Poly1305 calls of `crypto` (wrapping its functions in place): all, and those of ≥ 1 KiB. */
    function count(crypto: ICryptoInterface) {
      const seen = { sealed: 0, opened: 0, sealedBig: 0, openedBig: 0 };
      const seal = crypto.chaCha20Poly1305Encrypt;
      const open = crypto.chaCha20Poly1305Decrypt;
      crypto.chaCha20Poly1305Encrypt = (p, n, ad, k) => {
        seen.sealed++;
        if (p.byteLength >= NODE_CIPHER_MIN_BYTES) seen.sealedBig++;
        return seal(p, n, ad, k);
      };
      crypto.chaCha20Poly1305Decrypt = (c, n, ad, k, dst) => {
        seen.opened++;
        if (c.byteLength >= NODE_CIPHER_MIN_BYTES) seen.openedBig++;
        return open(c, n, ad, k, dst);
      };
      return {
        seen,
        restore: () => {
          crypto.chaCha20Poly1305Encrypt = seal;
          crypto.chaCha20Poly1305Decrypt = open;
        },
      };
    }

    /** Sends `messages` on `stream` and returns the sha256 of what comes back once as many bytes came back. */
    async function echoed(stream: Stream, messages: Uint8Array[]): Promise<string> {
      const total = messages.reduce((n, m) => n + m.byteLength, 0);
      const back = new Uint8ArrayList();
      const done = new Promise<void>((resolve, reject) => {
        stream.addEventListener("message", (e) => {
          back.append(e.data);
          if (back.byteLength >= total) resolve();
        });
        stream.addEventListener("close", (e) => {
          if (back.byteLength < total) reject(e.error ?? new Error(`closed after ${back.byteLength}/${total} bytes`));
        });
      });
      for (const m of messages) {
        if (!stream.send(m)) await new Promise((r) => stream.addEventListener("drain", r, { once: true }));
      }
      await done;
      await stream.close();
      return sha256(back.subarray());
    }

    for (const oursDials of [true, false]) {
      it(`exchanges data both ways with a node on the default crypto (${oursDials ? "ours" : "default"} dials)`, async () => {
        // createIconNode() reads noiseCrypto's functions when it builds noise: counting them proves it uses them.
        const ours = count(noiseCrypto);
        let a: Libp2p;
        try {
          a = await createIconNode();
        } finally {
          ours.restore();
        }
        nodes.push(a);
        const theirCrypto = { ...defaultCrypto };
        const theirs = count(theirCrypto);
        const b = await createIconNode({ noiseCrypto: theirCrypto });
        nodes.push(b);
        for (const node of [a, b]) {
          await node.handle(PROTOCOL, (stream) => {
            stream.addEventListener("message", (e) => void stream.send(e.data));
            stream.addEventListener("remoteCloseWrite", () => void stream.close().catch(() => {}));
          });
        }
        const [from, to] = oursDials ? [a, b] : [b, a];
        const messages = [1, 100, 1023, 1024, 65519, 65520, 3000, 1024 * 1024].map((n) => randomBytes(n));
        const stream = await from.dialProtocol(to.getMultiaddrs()[0]!, PROTOCOL);
        expect(await echoed(stream, messages)).to.equal(sha256(Buffer.concat(messages)));
        expect(from.getConnections(to.peerId)[0]!.encryption).to.equal("/noise");
        // Both implementations sealed and opened transport messages, large ones included.
        for (const { seen } of [ours, theirs]) {
          expect(seen.sealedBig, "sealed ≥ 1 KiB").to.be.greaterThan(16);
          expect(seen.openedBig, "opened ≥ 1 KiB").to.be.greaterThan(16);
          expect(seen.sealed - seen.sealedBig, "sealed < 1 KiB").to.be.greaterThan(0);
          expect(seen.opened - seen.openedBig, "opened < 1 KiB").to.be.greaterThan(0);
        }
      });
    }
  });
});
