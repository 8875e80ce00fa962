/**
 * The /icon/lease/1.0.0 codec: every valid LeaseMessage survives encodeFrame → decodeFrame unchanged, and
 * decodeFrame refuses each kind of invalid input with a ProtocolError carrying the RejectCode a handler
 * answers with (BAD_REQUEST, or UNSUPPORTED for an envelope without a known body).
 */
import { expect } from "chai";
import fc from "fast-check";
import { getAddress, hexlify } from "ethers";
import { IconError } from "../../../protocol/errors.ts";
import { leaseLimits } from "../../../protocol/lease/limits.ts";
import { LeaseSecret } from "../../../protocol/lease/secret.ts";
import {
  ProtocolError,
  RejectCode,
  decodeFrame,
  encodeFrame,
  uintBytes,
  type LeaseMessage,
} from "../../../protocol/lease/messages.ts";
import {
  Envelope,
  type CapacityAnswer as RawCapacityAnswer,
  type Deploy as RawDeploy,
  type Offer as RawOffer,
  type Rfq as RawRfq,
} from "../../../protocol/schema/generated/lease.js";

type MessageType = LeaseMessage["type"];

const UINT40_MAX = (1n << 40n) - 1n;
const UINT64_MAX = (1n << 64n) - 1n;
const UINT96_MAX = (1n << 96n) - 1n;
const UINT256_MAX = (1n << 256n) - 1n;
const REJECT_CODES = Object.values(RejectCode).filter((v): v is RejectCode => typeof v === "string");

// ---------------------------------------------------------------------------------------------------------
// Arbitraries of valid messages
// ---------------------------------------------------------------------------------------------------------

const hexBytes = (min: number, max = min) => fc.uint8Array({ minLength: min, maxLength: max }).map((b) => hexlify(b));
const addressArb = fc.uint8Array({ minLength: 20, maxLength: 20 }).map((b) => getAddress(hexlify(b)));
const bytes32Arb = hexBytes(32);
const sig65Arb = hexBytes(65);
const requestIdArb = hexBytes(16);
const uintArb = (max: bigint, min = 0n) => fc.bigInt({ min, max });
/**
 * protobuf uint64 fields (ids, accounts, chain id, times), biased to the 32- and 53-bit boundaries: values in
 * [2^31, 2^32) once did not survive protons-runtime's writer.
 */
const wireU64Arb = (max: bigint, min = 0n) =>
  fc.oneof(
    fc.bigInt({ min, max }),
    fc
      .constantFrom(min, max, 2n ** 31n - 1n, 2n ** 31n, 3_000_000_000n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 53n)
      .filter((v) => v >= min && v <= max),
  );
const u32Arb = fc.integer({ min: 0, max: 2 ** 32 - 1 });
const positive32Arb = fc.integer({ min: 1, max: 2 ** 32 - 1 });

/** Strings within maxStringBytes of UTF-8: any code points (≤ 4 bytes each), long ASCII, or the limits. */
const textArb = (minLength: number) =>
  fc.oneof(
    { weight: 4, arbitrary: fc.string({ unit: "binary", minLength, maxLength: leaseLimits.maxStringBytes / 4 }) },
    {
      weight: 2,
      arbitrary: fc.string({ unit: "binary-ascii", minLength, maxLength: leaseLimits.maxStringBytes, size: "max" }),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        "a".repeat(leaseLimits.maxStringBytes),
        "😀".repeat(leaseLimits.maxStringBytes / 4),
        "€".repeat(Math.floor(leaseLimits.maxStringBytes / 3)),
      ),
    },
  );
/** Short non-empty entries for Deploy's command and env, so 64 + 64 of them stay far below maxFrameBytes. */
const entryArb = fc.string({ unit: "binary", minLength: 1, maxLength: 16 });
const listArb = fc.oneof(
  fc.array(entryArb, { maxLength: leaseLimits.maxListEntries }),
  fc.array(entryArb, { minLength: leaseLimits.maxListEntries, maxLength: leaseLimits.maxListEntries }),
);
const startEndArb = fc
  .tuple(wireU64Arb(UINT40_MAX), wireU64Arb(UINT40_MAX))
  .filter(([a, b]) => a !== b)
  .map(([a, b]) => (a < b ? [a, b] : [b, a]));

const ARBS: Record<MessageType, fc.Arbitrary<LeaseMessage>> = {
  capacityQuery: fc.constant({ type: "capacityQuery" }),
  capacityAnswer: fc
    .record({
      cpuMillisFree: u32Arb,
      memoryMiBFree: u32Arb,
      cpuPricePerSecond: uintArb(UINT96_MAX),
      memoryPricePerSecond: uintArb(UINT96_MAX),
      region: textArb(0),
      binding: fc.record({
        operator: addressArb,
        chainId: wireU64Arb(UINT64_MAX),
        registry: addressArb,
        signature: sig65Arb,
      }),
    })
    .map((answer) => ({ type: "capacityAnswer", answer })),
  rfq: fc
    .record({
      cpuMillis: positive32Arb,
      memoryMiB: positive32Arb,
      slotSeconds: fc.integer({ min: 1, max: leaseLimits.maxSlotSeconds }),
      earliestStart: wireU64Arb(UINT40_MAX),
      maxPricePerSecond: uintArb(UINT96_MAX),
      imageRef: textArb(1),
      imageDigest: bytes32Arb,
      tenantAccount: wireU64Arb(UINT64_MAX, 1n),
      proof: fc.option(
        fc.record({
          signer: addressArb,
          chainId: wireU64Arb(UINT64_MAX),
          market: addressArb,
          peerId: hexBytes(1, 128),
          expiry: wireU64Arb(UINT64_MAX),
          signature: hexBytes(65, 2048),
        }),
        { nil: undefined },
      ),
    })
    .map(({ proof, ...rfq }) => ({ type: "rfq", rfq: proof ? { ...rfq, proof } : rfq })),
  quote: fc
    .record({
      round: u32Arb,
      providerSignature: sig65Arb,
      startEnd: startEndArb,
      provider: addressArb,
      account: wireU64Arb(UINT64_MAX),
      token: addressArb,
      pricePerSecond: uintArb(UINT96_MAX),
      cpuMillis: positive32Arb,
      memoryMiB: positive32Arb,
      specHash: bytes32Arb,
      nonce: uintArb(UINT256_MAX),
      deadline: wireU64Arb(UINT64_MAX),
    })
    .map(({ round, providerSignature, startEnd: [start, end], ...o }) => ({
      type: "quote",
      round,
      providerSignature,
      offer: {
        provider: o.provider,
        account: o.account,
        token: o.token,
        pricePerSecond: o.pricePerSecond,
        cpuMillis: o.cpuMillis,
        memoryMiB: o.memoryMiB,
        start,
        end,
        specHash: o.specHash,
        nonce: o.nonce,
        deadline: o.deadline,
      },
    })),
  counter: uintArb(UINT96_MAX).map((pricePerSecond) => ({ type: "counter", pricePerSecond })),
  accept: fc
    .oneof({ weight: 5, arbitrary: hexBytes(65, 200) }, { weight: 1, arbitrary: hexBytes(65, 2048) })
    .map((tenantSignature) => ({ type: "accept", tenantSignature })),
  reject: fc
    .record({ code: fc.constantFrom(...REJECT_CODES), message: textArb(0) })
    .map(({ code, message }) => ({ type: "reject", code, message })),
  opened: fc
    .record({ leaseId: wireU64Arb(UINT64_MAX), txHash: bytes32Arb })
    .map(({ leaseId, txHash }) => ({ type: "opened", leaseId, txHash })),
  deploy: fc
    .record({
      leaseId: wireU64Arb(UINT64_MAX),
      imageRef: textArb(1),
      imageDigest: bytes32Arb,
      command: listArb,
      env: listArb,
      ports: fc.array(fc.integer({ min: 1, max: 65535 }), { maxLength: leaseLimits.maxListEntries }),
    })
    .map((spec) => ({ type: "deploy", spec })),
  redeploy: fc
    .record({
      leaseId: wireU64Arb(UINT64_MAX),
      expires: wireU64Arb(UINT64_MAX),
      signature: sig65Arb,
      imageRef: textArb(1),
      imageDigest: bytes32Arb,
      command: listArb,
      env: listArb,
      ports: fc.array(fc.integer({ min: 1, max: 65535 }), { maxLength: leaseLimits.maxListEntries }),
    })
    .map(({ leaseId, expires, signature, ...rest }) => ({
      type: "redeploy",
      access: { leaseId, expires, signature },
      spec: { leaseId, ...rest },
    })),
  running: fc
    .record({ leaseId: wireU64Arb(UINT64_MAX), endpoint: textArb(1) })
    .map(({ leaseId, endpoint }) => ({ type: "running", leaseId, endpoint })),
  failed: fc
    .record({ leaseId: wireU64Arb(UINT64_MAX), message: textArb(0) })
    .map(({ leaseId, message }) => ({ type: "failed", leaseId, message })),
  terminate: wireU64Arb(UINT64_MAX).map((leaseId) => ({ type: "terminate", leaseId })),
};
const TYPES = Object.keys(ARBS) as MessageType[];
const messageArb = fc.oneof(...TYPES.map((t) => ARBS[t]));

// ---------------------------------------------------------------------------------------------------------
// Raw envelopes (the generated protobuf types), valid unless a test overrides a field
// ---------------------------------------------------------------------------------------------------------

const RID = new Uint8Array(16).fill(0xab);
const filled = (n: number, v = 1) => new Uint8Array(n).fill(v);
const be = (v: bigint) => uintBytes(v);

const rawOffer = (o: Partial<RawOffer> = {}): RawOffer => ({
  provider: filled(20, 1),
  account: 1n,
  token: filled(20, 2),
  pricePerSecond: be(100n),
  cpuMillis: 500,
  memoryMib: 256,
  start: 1_000n,
  end: 4_600n,
  specHash: filled(32, 3),
  nonce: be(7n),
  deadline: 2_000n,
  ...o,
});
const rawRfq = (r: Partial<RawRfq> = {}): RawRfq => ({
  cpuMillis: 500,
  memoryMib: 256,
  slotSeconds: 3600,
  earliestStart: 0n,
  maxPricePerSecond: be(1_000n),
  imageRef: "icon/echo:1",
  imageDigest: filled(32, 4),
  tenantAccount: 1n,
  renewsLeaseId: 0n,
  ...r,
});
const rawAnswer = (a: Partial<RawCapacityAnswer> = {}): RawCapacityAnswer => ({
  cpuMillisFree: 4000,
  memoryMibFree: 8192,
  cpuPricePerSecond: be(10n),
  memoryPricePerSecond: be(5n),
  region: "eu-west",
  binding: { operator: filled(20, 5), chainId: 31337n, registry: filled(20, 6), signature: filled(65, 7) },
  ...a,
});
const rawBinding = (b: Partial<NonNullable<RawCapacityAnswer["binding"]>>) =>
  rawAnswer({ binding: { ...rawAnswer().binding!, ...b } });
const rawDeploy = (d: Partial<RawDeploy> = {}): RawDeploy => ({
  leaseId: 1n,
  imageRef: "icon/echo:1",
  imageDigest: filled(32, 8),
  command: ["echo", "hi"],
  env: ["A=1"],
  ports: [8080],
  service: "",
  httpPorts: [],
  allow: [],
  udpPorts: [],
  ...d,
});

/** One valid envelope body per message type. */
const VALID: Record<MessageType, Partial<Envelope>> = {
  capacityQuery: { capacityQuery: { rttTargets: [] } },
  capacityAnswer: { capacityAnswer: rawAnswer() },
  rfq: { rfq: rawRfq() },
  quote: { quote: { offer: rawOffer(), providerSignature: filled(65, 9), round: 0 } },
  counter: { counter: { pricePerSecond: be(90n) } },
  accept: { accept: { tenantSignature: filled(65, 10) } },
  reject: { reject: { code: RejectCode.NO_CAPACITY, message: "full" } },
  opened: { opened: { leaseId: 1n, txHash: filled(32, 11) } },
  deploy: { deploy: rawDeploy() },
  redeploy: { redeploy: { leaseId: 1n, expires: 2n, signature: filled(65, 12), deploy: rawDeploy() } },
  running: { running: { leaseId: 1n, endpoint: "127.0.0.1:9000" } },
  failed: { failed: { leaseId: 1n, message: "pull failed" } },
  terminate: { terminate: { leaseId: 1n } },
};

const frame = (body: Partial<Envelope>, requestId: Uint8Array<ArrayBuffer> = RID) =>
  Envelope.encode({ requestId, ...body });
const quoteWith = (o: Partial<RawOffer>) =>
  frame({ quote: { offer: rawOffer(o), providerSignature: filled(65, 9), round: 0 } });

/** decodeFrame(f) must throw a ProtocolError with `code` (and a message matching `pattern`). */
function expectRefused(f: Uint8Array, code: RejectCode, pattern?: RegExp): ProtocolError {
  let thrown: unknown;
  let got: unknown;
  try {
    got = decodeFrame(f);
  } catch (e) {
    thrown = e;
  }
  if (thrown === undefined) expect.fail(`expected a ProtocolError ${code}, got ${JSON.stringify(got, bigintJson)}`);
  expect(thrown).to.be.instanceOf(ProtocolError);
  const err = thrown as ProtocolError;
  expect(err.reject, err.message).to.equal(code);
  expect(err.code).to.equal(`PROTOCOL_${code}`);
  if (pattern) expect(err.message).to.match(pattern);
  return err;
}

const bigintJson = (_k: string, v: unknown) => (typeof v === "bigint" ? `${v}n` : v);

/** Protobuf varint. */
function varint(n: number | bigint): number[] {
  let v = BigInt(n);
  const out: number[] = [];
  do {
    const b = Number(v & 0x7fn);
    v >>= 7n;
    out.push(v > 0n ? b | 0x80 : b);
  } while (v > 0n);
  return out;
}
/** A length-delimited field `field` with raw `payload`. */
const lenField = (field: number, payload: number[] | Uint8Array) => [
  ...varint((field << 3) | 2),
  ...varint(payload.length),
  ...payload,
];
/** An envelope with the valid request id and a body field holding raw bytes. */
const rawEnvelope = (bodyField: number, body: number[]) =>
  Uint8Array.from([...lenField(1, RID), ...lenField(bodyField, body)]);

/** A valid capacityQuery frame of exactly `total` bytes, padded with an unknown (ignored) field 99. */
function paddedFrame(total: number): Uint8Array {
  const base = frame(VALID.capacityQuery);
  for (let pad = Math.max(0, total - base.length - 2); pad >= 0; pad--) {
    const f = Uint8Array.from([...base, ...lenField(99, new Uint8Array(pad))]);
    if (f.length === total) return f;
  }
  throw new Error(`cannot pad to ${total}`);
}

const sampleRfq = {
  cpuMillis: 500,
  memoryMiB: 256,
  slotSeconds: 3600,
  earliestStart: 0n,
  maxPricePerSecond: 1_000n,
  imageRef: "icon/echo:1",
  imageDigest: "0x" + "04".repeat(32),
  tenantAccount: 1n,
};
const sampleQuote: Extract<LeaseMessage, { type: "quote" }> = {
  type: "quote",
  round: 0,
  providerSignature: "0x" + "09".repeat(65),
  offer: {
    provider: getAddress("0x" + "01".repeat(20)),
    account: 1n,
    token: getAddress("0x" + "02".repeat(20)),
    pricePerSecond: 100n,
    cpuMillis: 500,
    memoryMiB: 256,
    start: 1_000n,
    end: 4_600n,
    specHash: "0x" + "03".repeat(32),
    nonce: 7n,
    deadline: 2_000n,
  },
};

// ---------------------------------------------------------------------------------------------------------

describe("lease protocol codec", () => {
  describe("round trips", () => {
    for (const type of TYPES) {
      it(`every valid ${type} survives encodeFrame → decodeFrame unchanged (1000 runs)`, () => {
        fc.assert(
          fc.property(requestIdArb, ARBS[type], (requestId, message) => {
            const bytes = encodeFrame(requestId, message);
            expect(bytes.length).to.be.at.most(leaseLimits.maxFrameBytes);
            expect(decodeFrame(bytes)).to.deep.equal({ requestId, message });
          }),
          { numRuns: 1000 },
        );
      });
    }

    it("any valid message survives the round trip and re-encodes to the same bytes (1000 runs)", () => {
      fc.assert(
        fc.property(requestIdArb, messageArb, (requestId, message) => {
          const bytes = encodeFrame(requestId, message);
          const back = decodeFrame(bytes);
          expect(back).to.deep.equal({ requestId, message });
          expect(encodeFrame(back.requestId, back.message)).to.deep.equal(bytes);
        }),
        { numRuns: 1000 },
      );
    });

    it("round-trips the limits: 64 command, env and port entries, 512-byte strings, uint96/uint256/uint64 maxima", () => {
      const long = "x".repeat(leaseLimits.maxStringBytes);
      const n = leaseLimits.maxListEntries;
      const cases: LeaseMessage[] = [
        {
          type: "deploy",
          spec: {
            leaseId: UINT64_MAX,
            imageRef: long,
            imageDigest: "0x" + "ff".repeat(32),
            command: Array.from({ length: n }, (_, i) => `c${i}`),
            env: Array.from({ length: n }, (_, i) => `K${i}=v`),
            ports: Array.from({ length: n }, (_, i) => 65535 - i),
          },
        },
        { type: "counter", pricePerSecond: UINT96_MAX },
        { type: "counter", pricePerSecond: 0n },
        { type: "accept", tenantSignature: "0x" + "01".repeat(2048) },
        { type: "reject", code: RejectCode.REJECT_UNSPECIFIED, message: "" },
        { type: "running", leaseId: 0n, endpoint: "é".repeat(leaseLimits.maxStringBytes / 2) },
      ];
      for (const message of cases) {
        const requestId = "0x" + "00".repeat(16);
        expect(decodeFrame(encodeFrame(requestId, message))).to.deep.equal({ requestId, message });
      }
      const big = decodeFrame(quoteWith({ nonce: be(UINT256_MAX), start: UINT40_MAX - 1n, end: UINT40_MAX }));
      expect(big.message).to.include({ type: "quote" });
      if (big.message.type === "quote") expect(big.message.offer.nonce).to.equal(UINT256_MAX);
    });

    it("round-trips every uint64 field across the 32-bit boundary (2^31 - 1, 2^31, 3e9, 2^32 - 1, 2^32)", () => {
      const requestId = "0x" + "42".repeat(16);
      const failures: string[] = [];
      for (const v of [2n ** 31n - 1n, 2n ** 31n, 3_000_000_000n, 2n ** 32n - 1n, 2n ** 32n]) {
        const base = sampleQuote;
        const cases: [string, LeaseMessage][] = [
          ["terminate.leaseId", { type: "terminate", leaseId: v }],
          ["opened.leaseId", { type: "opened", leaseId: v, txHash: "0x" + "00".repeat(32) }],
          ["rfq.tenantAccount", { type: "rfq", rfq: { ...sampleRfq, tenantAccount: v } }],
          ["rfq.earliestStart", { type: "rfq", rfq: { ...sampleRfq, earliestStart: v } }],
          ["offer.account", { ...base, offer: { ...base.offer, account: v } }],
          ["offer.end", { ...base, offer: { ...base.offer, start: 1n, end: v } }],
          ["offer.deadline", { ...base, offer: { ...base.offer, deadline: v } }],
        ];
        for (const [field, message] of cases) {
          let got: unknown;
          try {
            got = decodeFrame(encodeFrame(requestId, message)).message;
          } catch (e) {
            got = e instanceof Error ? e.message : e;
          }
          const same = JSON.stringify(got, bigintJson) === JSON.stringify(message, bigintJson);
          if (!same) failures.push(`${field} = ${v} came back as ${JSON.stringify(got, bigintJson)}`);
        }
      }
      expect(failures, failures.join("\n")).to.deep.equal([]);
    });

    it("decodes addresses into EIP-55 checksum form", () => {
      const raw = Uint8Array.from(Buffer.from("52908400098527886e0f7030069857d2e4169ee7", "hex"));
      const got = decodeFrame(
        frame({ quote: { offer: rawOffer({ provider: raw }), providerSignature: filled(65), round: 0 } }),
      );
      if (got.message.type !== "quote") expect.fail("not a quote");
      expect(got.message.offer.provider).to.equal("0x52908400098527886E0F7030069857D2E4169EE7");
    });

    it("accepts the valid base envelope of every message type (so each refusal below is due to its one bad field)", () => {
      for (const type of TYPES) expect(decodeFrame(frame(VALID[type])).message.type).to.equal(type);
    });
  });

  describe("refusals", () => {
    it("refuses with a ProtocolError that is an IconError, named ProtocolError, code PROTOCOL_<reject>", () => {
      const err = expectRefused(frame(VALID.rfq, filled(15)), RejectCode.BAD_REQUEST);
      expect(err).to.be.instanceOf(IconError);
      expect(err.name).to.equal("ProtocolError");
    });

    it("refuses a requestId that is not 16 bytes with BAD_REQUEST", () => {
      for (const n of [0, 1, 15, 17, 32])
        expectRefused(frame(VALID.rfq, filled(n)), RejectCode.BAD_REQUEST, /requestId/);
    });

    it("refuses an empty frame (no request id) with BAD_REQUEST", () => {
      expectRefused(new Uint8Array(), RejectCode.BAD_REQUEST, /requestId/);
    });

    it("refuses an envelope with no body with UNSUPPORTED", () => {
      expectRefused(frame({}), RejectCode.UNSUPPORTED);
    });

    it("refuses an envelope whose only body is a field this version does not know (30..99) with UNSUPPORTED", () => {
      expectRefused(Uint8Array.from([...frame({}), ...lenField(30, [0x08, 0x01])]), RejectCode.UNSUPPORTED);
      expectRefused(Uint8Array.from([...frame({}), ...lenField(99, [])]), RejectCode.UNSUPPORTED);
    });

    it("ignores unknown fields inside a known body", () => {
      // Running { lease_id = 5; endpoint = "h:1"; <unknown field 15> }, Envelope field 19.
      const payload = [0x08, 0x05, ...lenField(2, Buffer.from("h:1")), ...lenField(15, [1, 2, 3])];
      expect(decodeFrame(rawEnvelope(19, payload)).message).to.deep.equal({
        type: "running",
        leaseId: 5n,
        endpoint: "h:1",
      });
    });

    it("refuses an address that is not 20 bytes with BAD_REQUEST", () => {
      const bad = /must be 20 bytes/;
      expectRefused(quoteWith({ provider: filled(19) }), RejectCode.BAD_REQUEST, bad);
      expectRefused(quoteWith({ provider: new Uint8Array() }), RejectCode.BAD_REQUEST, bad);
      expectRefused(quoteWith({ token: filled(21) }), RejectCode.BAD_REQUEST, bad);
      expectRefused(frame({ capacityAnswer: rawBinding({ operator: filled(32) }) }), RejectCode.BAD_REQUEST, bad);
      expectRefused(frame({ capacityAnswer: rawBinding({ registry: filled(19) }) }), RejectCode.BAD_REQUEST, bad);
    });

    it("refuses a digest or hash that is not 32 bytes with BAD_REQUEST", () => {
      const bad = /must be 32 bytes/;
      expectRefused(frame({ rfq: rawRfq({ imageDigest: filled(31) }) }), RejectCode.BAD_REQUEST, bad);
      expectRefused(frame({ rfq: rawRfq({ imageDigest: new Uint8Array() }) }), RejectCode.BAD_REQUEST, bad);
      expectRefused(frame({ deploy: rawDeploy({ imageDigest: filled(33) }) }), RejectCode.BAD_REQUEST, bad);
      expectRefused(quoteWith({ specHash: filled(20) }), RejectCode.BAD_REQUEST, bad);
      expectRefused(frame({ opened: { leaseId: 1n, txHash: filled(31) } }), RejectCode.BAD_REQUEST, bad);
    });

    it("refuses a signature of the wrong size with BAD_REQUEST (65 bytes; an acceptance 65..2048)", () => {
      expectRefused(
        frame({ quote: { offer: rawOffer(), providerSignature: filled(64), round: 0 } }),
        RejectCode.BAD_REQUEST,
        /providerSignature/,
      );
      expectRefused(
        frame({ capacityAnswer: rawBinding({ signature: filled(66) }) }),
        RejectCode.BAD_REQUEST,
        /signature/,
      );
      expectRefused(frame({ accept: { tenantSignature: filled(64) } }), RejectCode.BAD_REQUEST, /tenantSignature/);
      expectRefused(frame({ accept: { tenantSignature: filled(2049) } }), RejectCode.BAD_REQUEST, /tenantSignature/);
      expect(decodeFrame(frame({ accept: { tenantSignature: filled(2048) } })).message.type).to.equal("accept");
    });

    it("refuses an rfq proof with a signer or market that is not 20 bytes, no peer id, or a signature outside 65..2048 bytes", () => {
      const proof = {
        signer: filled(20),
        chainId: 1n,
        market: filled(20),
        peerId: filled(34),
        expiry: 1n,
        signature: filled(65),
      };
      const withProof = (p: Partial<typeof proof>) => frame({ rfq: { ...rawRfq(), proof: { ...proof, ...p } } });
      expect(decodeFrame(withProof({})).message).to.have.nested.property("rfq.proof.expiry", 1n);
      expectRefused(withProof({ signer: filled(19) }), RejectCode.BAD_REQUEST, /proof.signer/);
      expectRefused(withProof({ market: filled(21) }), RejectCode.BAD_REQUEST, /proof.market/);
      expectRefused(withProof({ peerId: new Uint8Array() }), RejectCode.BAD_REQUEST, /proof.peerId/);
      expectRefused(withProof({ peerId: filled(129) }), RejectCode.BAD_REQUEST, /proof.peerId/);
      expectRefused(withProof({ signature: filled(64) }), RejectCode.BAD_REQUEST, /proof.signature/);
      expectRefused(withProof({ signature: filled(2049) }), RejectCode.BAD_REQUEST, /proof.signature/);
    });

    it("refuses zero cpu or memory in an rfq or an offer with BAD_REQUEST", () => {
      expectRefused(frame({ rfq: rawRfq({ cpuMillis: 0 }) }), RejectCode.BAD_REQUEST, /cpuMillis/);
      expectRefused(frame({ rfq: rawRfq({ memoryMib: 0 }) }), RejectCode.BAD_REQUEST, /memoryMiB/);
      expectRefused(quoteWith({ cpuMillis: 0 }), RejectCode.BAD_REQUEST, /cpuMillis/);
      expectRefused(quoteWith({ memoryMib: 0 }), RejectCode.BAD_REQUEST, /memoryMiB/);
    });

    it("refuses a slot over maxSlotSeconds or of zero seconds with BAD_REQUEST, and accepts exactly the limit", () => {
      const max = leaseLimits.maxSlotSeconds;
      expectRefused(frame({ rfq: rawRfq({ slotSeconds: max + 1 }) }), RejectCode.BAD_REQUEST, /slotSeconds/);
      expectRefused(frame({ rfq: rawRfq({ slotSeconds: 2 ** 32 - 1 }) }), RejectCode.BAD_REQUEST, /slotSeconds/);
      expectRefused(frame({ rfq: rawRfq({ slotSeconds: 0 }) }), RejectCode.BAD_REQUEST, /slotSeconds/);
      expect(decodeFrame(frame({ rfq: rawRfq({ slotSeconds: max }) })).message.type).to.equal("rfq");
    });

    it("refuses a non-minimal big-endian integer (a leading zero byte) with BAD_REQUEST", () => {
      const padded = Uint8Array.of(0, 1);
      const bad = /minimal big-endian/;
      expectRefused(frame({ counter: { pricePerSecond: padded } }), RejectCode.BAD_REQUEST, bad);
      expectRefused(frame({ rfq: rawRfq({ maxPricePerSecond: padded }) }), RejectCode.BAD_REQUEST, bad);
      expectRefused(quoteWith({ pricePerSecond: padded }), RejectCode.BAD_REQUEST, bad);
      expectRefused(quoteWith({ nonce: Uint8Array.of(0, 0, 0, 7) }), RejectCode.BAD_REQUEST, bad);
      expectRefused(frame({ capacityAnswer: rawAnswer({ cpuPricePerSecond: padded }) }), RejectCode.BAD_REQUEST, bad);
      expectRefused(
        frame({ capacityAnswer: rawAnswer({ memoryPricePerSecond: padded }) }),
        RejectCode.BAD_REQUEST,
        bad,
      );
    });

    it("refuses a single zero byte for zero (the minimal encoding of zero is empty) with BAD_REQUEST", () => {
      expect(uintBytes(0n)).to.have.length(0);
      expectRefused(frame({ counter: { pricePerSecond: Uint8Array.of(0) } }), RejectCode.BAD_REQUEST, /minimal/);
    });

    it("refuses an integer above uint96 (prices) or uint256 (nonce) with BAD_REQUEST, and accepts the maxima", () => {
      const over = be(UINT96_MAX + 1n);
      expectRefused(frame({ counter: { pricePerSecond: over } }), RejectCode.BAD_REQUEST, /out of range/);
      expectRefused(frame({ rfq: rawRfq({ maxPricePerSecond: over }) }), RejectCode.BAD_REQUEST, /out of range/);
      expectRefused(quoteWith({ pricePerSecond: over }), RejectCode.BAD_REQUEST, /out of range/);
      expectRefused(
        frame({ capacityAnswer: rawAnswer({ cpuPricePerSecond: over }) }),
        RejectCode.BAD_REQUEST,
        /out of range/,
      );
      expectRefused(
        frame({ capacityAnswer: rawAnswer({ memoryPricePerSecond: over }) }),
        RejectCode.BAD_REQUEST,
        /out of range/,
      );
      expectRefused(quoteWith({ nonce: Uint8Array.of(1, ...new Uint8Array(32)) }), RejectCode.BAD_REQUEST);
      const max = decodeFrame(frame({ counter: { pricePerSecond: be(UINT96_MAX) } })).message;
      expect(max).to.deep.equal({ type: "counter", pricePerSecond: UINT96_MAX });
    });

    it("refuses a time above uint40 (earliestStart, offer start and end) with BAD_REQUEST", () => {
      const over = UINT40_MAX + 1n;
      expectRefused(frame({ rfq: rawRfq({ earliestStart: over }) }), RejectCode.BAD_REQUEST, /earliestStart/);
      expectRefused(quoteWith({ start: over, end: over + 1n }), RejectCode.BAD_REQUEST, /offer.start/);
      expectRefused(quoteWith({ end: over }), RejectCode.BAD_REQUEST, /offer.end/);
    });

    it("refuses an rfq without a tenant account (0) with BAD_REQUEST", () => {
      expectRefused(frame({ rfq: rawRfq({ tenantAccount: 0n }) }), RejectCode.BAD_REQUEST, /tenantAccount/);
    });

    it("refuses a quote without an offer and a capacity answer without a binding with BAD_REQUEST", () => {
      expectRefused(frame({ quote: { providerSignature: filled(65), round: 0 } }), RejectCode.BAD_REQUEST, /offer/);
      expectRefused(frame({ capacityAnswer: rawAnswer({ binding: undefined }) }), RejectCode.BAD_REQUEST, /binding/);
    });

    it("refuses an offer whose end is not after its start with BAD_REQUEST", () => {
      expectRefused(quoteWith({ start: 5_000n, end: 5_000n }), RejectCode.BAD_REQUEST, /offer.end/);
      expectRefused(quoteWith({ start: 5_000n, end: 4_999n }), RejectCode.BAD_REQUEST, /offer.end/);
      expectRefused(quoteWith({ start: 0n, end: 0n }), RejectCode.BAD_REQUEST, /offer.end/);
      expect(decodeFrame(quoteWith({ start: 5_000n, end: 5_001n })).message.type).to.equal("quote");
    });

    it("refuses a string over maxStringBytes of UTF-8 (counted in bytes, not characters) with BAD_REQUEST", () => {
      const max = leaseLimits.maxStringBytes;
      const over = "a".repeat(max + 1);
      const overMultibyte = "€".repeat(Math.floor(max / 3) + 1); // 171 characters, 513 bytes
      expect(overMultibyte.length).to.be.below(max);
      const bad = /longer than/;
      for (const s of [over, overMultibyte]) {
        expectRefused(frame({ rfq: rawRfq({ imageRef: s }) }), RejectCode.BAD_REQUEST, bad);
        expectRefused(frame({ deploy: rawDeploy({ imageRef: s }) }), RejectCode.BAD_REQUEST, bad);
        expectRefused(frame({ deploy: rawDeploy({ command: ["ok", s] }) }), RejectCode.BAD_REQUEST, bad);
        expectRefused(frame({ deploy: rawDeploy({ env: [s] }) }), RejectCode.BAD_REQUEST, bad);
        expectRefused(frame({ running: { leaseId: 1n, endpoint: s } }), RejectCode.BAD_REQUEST, bad);
        expectRefused(frame({ failed: { leaseId: 1n, message: s } }), RejectCode.BAD_REQUEST, bad);
        expectRefused(frame({ reject: { code: RejectCode.INTERNAL, message: s } }), RejectCode.BAD_REQUEST, bad);
        expectRefused(frame({ capacityAnswer: rawAnswer({ region: s }) }), RejectCode.BAD_REQUEST, bad);
      }
      expect(decodeFrame(frame({ rfq: rawRfq({ imageRef: "a".repeat(max) }) })).message.type).to.equal("rfq");
    });

    it("refuses an empty required string (image ref, endpoint, command or env entry) with BAD_REQUEST", () => {
      expectRefused(frame({ rfq: rawRfq({ imageRef: "" }) }), RejectCode.BAD_REQUEST, /imageRef is required/);
      expectRefused(frame({ deploy: rawDeploy({ imageRef: "" }) }), RejectCode.BAD_REQUEST, /imageRef is required/);
      expectRefused(frame({ running: { leaseId: 1n, endpoint: "" } }), RejectCode.BAD_REQUEST, /endpoint is required/);
      expectRefused(frame({ deploy: rawDeploy({ command: ["a", ""] }) }), RejectCode.BAD_REQUEST, /command\[1\]/);
      expectRefused(frame({ deploy: rawDeploy({ env: [""] }) }), RejectCode.BAD_REQUEST, /env\[0\]/);
    });

    it("refuses a string field that is not valid UTF-8 with BAD_REQUEST", () => {
      // Running { lease_id = 1; endpoint = <bytes> }, Envelope field 19.
      const running = (endpoint: number[]) => rawEnvelope(19, [0x08, 0x01, ...lenField(2, endpoint)]);
      const cases: Record<string, number[]> = {
        "a lone surrogate (ED A0 80)": [0x68, 0xed, 0xa0, 0x80],
        "a truncated 3-byte sequence (E2)": [0x68, 0xe2],
        "an overlong NUL (C0 80)": [0x68, 0xc0, 0x80],
        "a stray continuation byte (80)": [0x68, 0x80],
        "a byte never valid in UTF-8 (FF)": [0x68, 0xff],
        "a 4-byte lead followed by ASCII (F0 61 61 61)": [0xf0, 0x61, 0x61, 0x61],
      };
      const accepted: string[] = [];
      for (const [what, bytes] of Object.entries(cases)) {
        try {
          const got = decodeFrame(running(bytes));
          accepted.push(`${what} was accepted as ${JSON.stringify(got.message, bigintJson)}`);
        } catch (e) {
          expect(e, what).to.be.instanceOf(ProtocolError);
          expect((e as ProtocolError).reject, what).to.equal(RejectCode.BAD_REQUEST);
        }
      }
      expect(accepted, accepted.join("\n")).to.deep.equal([]);
      const fine = decodeFrame(running([0xef, 0xbb, 0xbf, 0x68, 0xc3, 0xa9, 0xf0, 0x9f, 0x98, 0x80])).message;
      expect(fine).to.deep.equal({ type: "running", leaseId: 1n, endpoint: "\ufeffhé😀" });
    });

    it("refuses more than maxListEntries command, env or port entries with BAD_REQUEST, and accepts exactly the limit", () => {
      const n = leaseLimits.maxListEntries;
      const many = Array.from({ length: n + 1 }, (_, i) => `e${i}`);
      expectRefused(frame({ deploy: rawDeploy({ env: many }) }), RejectCode.BAD_REQUEST);
      expectRefused(frame({ deploy: rawDeploy({ command: many }) }), RejectCode.BAD_REQUEST);
      expectRefused(frame({ deploy: rawDeploy({ ports: many.map((_, i) => i + 1) }) }), RejectCode.BAD_REQUEST);
      const ok = decodeFrame(frame({ deploy: rawDeploy({ env: many.slice(1), command: many.slice(1) }) }));
      expect(ok.message.type).to.equal("deploy");
    });

    it("refuses a port above 65535 or a port 0 with BAD_REQUEST, and accepts 1 and 65535", () => {
      expectRefused(frame({ deploy: rawDeploy({ ports: [80, 65536] }) }), RejectCode.BAD_REQUEST, /port/);
      expectRefused(frame({ deploy: rawDeploy({ ports: [2 ** 32 - 1] }) }), RejectCode.BAD_REQUEST, /port/);
      expectRefused(frame({ deploy: rawDeploy({ ports: [0] }) }), RejectCode.BAD_REQUEST, /port/);
      const ok = decodeFrame(frame({ deploy: rawDeploy({ ports: [1, 65535] }) })).message;
      if (ok.type !== "deploy") expect.fail("not a deploy");
      expect(ok.spec.ports).to.deep.equal([1, 65535]);
    });

    it("refuses a Redeploy whose access and Deploy name different leases, or that lacks its Deploy or signature", () => {
      const access = { leaseId: 1n, expires: 2n, signature: filled(65, 12) };
      expectRefused(
        frame({ redeploy: { ...access, deploy: rawDeploy({ leaseId: 2n }) } }),
        RejectCode.BAD_REQUEST,
        /redeploy names lease 1 but deploys lease 2/,
      );
      expectRefused(frame({ redeploy: { ...access } }), RejectCode.BAD_REQUEST, /redeploy\.deploy is required/);
      expectRefused(
        frame({ redeploy: { ...access, signature: filled(64, 12), deploy: rawDeploy() } }),
        RejectCode.BAD_REQUEST,
        /signature/,
      );
      const ok = decodeFrame(frame({ redeploy: { ...access, deploy: rawDeploy() } })).message;
      if (ok.type !== "redeploy") expect.fail("not a redeploy");
      expect([ok.access.leaseId, ok.spec.leaseId]).to.deep.equal([1n, 1n]);
    });

    it("refuses a reject code this version does not know with BAD_REQUEST", () => {
      // Reject { code = 99 }, Envelope field 16.
      expectRefused(rawEnvelope(16, [0x08, 99]), RejectCode.BAD_REQUEST);
    });

    it("refuses a frame over maxFrameBytes with BAD_REQUEST, and accepts one of exactly maxFrameBytes", () => {
      const max = leaseLimits.maxFrameBytes;
      expect(decodeFrame(paddedFrame(max)).message.type).to.equal("capacityQuery");
      expectRefused(paddedFrame(max + 1), RejectCode.BAD_REQUEST, /exceeds/);
      expectRefused(new Uint8Array(2 * max), RejectCode.BAD_REQUEST, /exceeds/);
      const tooBigDeploy = encodeFrame("0x" + "11".repeat(16), {
        type: "deploy",
        spec: {
          leaseId: 1n,
          imageRef: "i",
          imageDigest: "0x" + "00".repeat(32),
          command: Array.from({ length: 64 }, () => "c".repeat(512)),
          env: Array.from({ length: 64 }, () => "e".repeat(512)),
          ports: [],
          // Beyond what validation would pass (allow patterns are at most 255 bytes), so beyond the frame.
          allow: Array.from({ length: 64 }, () => "a".repeat(512)),
          agent: {
            imageRef: "i",
            imageDigest: "0x" + "00".repeat(32),
            command: Array.from({ length: 64 }, () => "c".repeat(512)),
            cpuMillis: 1,
            memoryMiB: 1,
            secret: LeaseSecret.of(new Uint8Array(leaseLimits.maxSecretBytes)),
          },
        },
      });
      expect(tooBigDeploy.length).to.be.above(max);
      expectRefused(tooBigDeploy, RejectCode.BAD_REQUEST, /exceeds/);
    });

    it("refuses garbage bytes and a truncated frame with BAD_REQUEST", () => {
      expectRefused(new Uint8Array(64).fill(0xff), RejectCode.BAD_REQUEST);
      expectRefused(Uint8Array.of(0x0a, 0x10, 1, 2, 3), RejectCode.BAD_REQUEST);
      expectRefused(Uint8Array.of(0x0f), RejectCode.BAD_REQUEST); // wire type 7
      const ok = frame(VALID.quote);
      expectRefused(ok.subarray(0, ok.length - 1), RejectCode.BAD_REQUEST);
    });

    it("property: random bytes are decoded or refused with a ProtocolError (BAD_REQUEST or UNSUPPORTED), nothing else", () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
          try {
            const got = decodeFrame(bytes);
            expect(got.requestId).to.match(/^0x[0-9a-f]{32}$/);
          } catch (e) {
            expect(e).to.be.instanceOf(ProtocolError);
            expect([RejectCode.BAD_REQUEST, RejectCode.UNSUPPORTED]).to.include((e as ProtocolError).reject);
          }
        }),
        { numRuns: 2000 },
      );
    });

    it("property: a valid frame with random bytes appended or cut off is decoded or refused with a ProtocolError", () => {
      fc.assert(
        fc.property(
          requestIdArb,
          messageArb,
          fc.uint8Array({ maxLength: 32 }),
          fc.nat(),
          (requestId, message, tail, cut) => {
            const bytes = encodeFrame(requestId, message);
            for (const f of [Uint8Array.from([...bytes, ...tail]), bytes.subarray(0, cut % (bytes.length + 1))]) {
              try {
                decodeFrame(f);
              } catch (e) {
                expect(e).to.be.instanceOf(ProtocolError);
              }
            }
          },
        ),
        { numRuns: 1000 },
      );
    });
  });
});
