/**
 * Fuzzing decodeFrame: 200,000 random and mutated frames. Every call must return a valid Framed or throw a
 * ProtocolError (BAD_REQUEST or UNSUPPORTED) — never another exception — and the whole run must finish in a
 * bounded time without unbounded heap growth.
 *
 * The frames come from fast-check: each run draws a plan (random bytes, or a valid frame of the corpus and one to
 * four mutations with their positions and values) and the frame is built from it. A plan that breaks a property
 * (another exception, an out-of-range field, a lone surrogate) fails the run, and fast-check shrinks it to a
 * small plan before reporting (shorter frames, fewer mutations, earlier positions, plainer bytes). Random frames
 * longer than {@link RANDOM_HEAD_BYTES} take their first bytes from fast-check and the rest from a seed it draws
 * (fast-check drawing tens of kilobytes byte by byte would cost minutes); shrinking shortens them as well.
 *
 * The run is reproducible: the seed is printed with every failure and in the summary, and a failure prints
 * fast-check's path to its shrunk plan. Re-run one seed with
 * `LEASE_FUZZ_SEED=<seed> npx hardhat test mocha test/mocha/protocol/fuzz.test.ts`, and add
 * `LEASE_FUZZ_PATH=<path>` to replay just the failing plan.
 */
import { expect } from "chai";
import fc from "fast-check";
import { getAddress, hexlify } from "ethers";
import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import { performance } from "node:perf_hooks";
import { leaseLimits } from "../../../protocol/lease/limits.ts";
import {
  ProtocolError,
  RejectCode,
  decodeFrame,
  encodeFrame,
  type Framed,
  type LeaseMessage,
  LEASE_MESSAGE_TYPES,
} from "../../../protocol/lease/messages.ts";

const ITERATIONS = 200_000;
const MAX_FRAME = leaseLimits.maxFrameBytes;
/** Generous bounds: a 2-core machine runs the loop in well under 30 s. */
const BUDGET_MS = 90_000;
const MAX_SINGLE_CALL_MS = 1_000;
const MAX_HEAP_GROWTH = 64 * 1024 * 1024;

const SEED = process.env.LEASE_FUZZ_SEED
  ? Number(process.env.LEASE_FUZZ_SEED) | 0
  : (Date.now() ^ (process.pid << 8)) | 0;
/** fast-check's path to one plan of the seed's run (printed with a failure): replays only that plan. */
const PATH = process.env.LEASE_FUZZ_PATH;
const REPRO = `seed ${SEED} (re-run with LEASE_FUZZ_SEED=${SEED})`;

// ---------------------------------------------------------------------------------------------------------
// Field values (fast-check arbitraries)
// ---------------------------------------------------------------------------------------------------------

const u32 = fc.integer({ min: 0, max: 2 ** 32 - 1 });
const int = (min: number, max: number) => fc.integer({ min, max });
/** A bigint in [0, 2^bits); fast-check's bias brings 0, the maximum and small values often. */
const big = (bits: number) => fc.bigInt({ min: 0n, max: (1n << BigInt(bits)) - 1n });
/** A uint64 wire value, often in [2^31, 2^32) (which protons-runtime's writer once got wrong). */
const wireU64 = (bits: number) =>
  bits > 32
    ? fc.oneof({ arbitrary: big(bits), weight: 9 }, { arbitrary: int(2 ** 31, 2 ** 32 - 1).map(BigInt), weight: 1 })
    : big(bits);
const hex = (n: number) => fc.uint8Array({ minLength: n, maxLength: n }).map((b) => hexlify(b));
const address = hex(20).map((h) => getAddress(h));
const TEXT_POOL = ["a", "Z", "0", "-", ":", "/", "é", "€", "😀", " ", "=", "\u0000"];
/** Up to 40 characters of the pool, cut to `maxBytes` of UTF-8; at least one character when `min` > 0. */
const text = (min: number, maxBytes: number) =>
  fc.array(fc.constantFrom(...TEXT_POOL), { minLength: min, maxLength: 40 }).map((chars) => {
    while (Buffer.byteLength(chars.join("")) > maxBytes) chars.pop();
    return min > 0 && chars.length === 0 ? "x" : chars.join("");
  });

// ---------------------------------------------------------------------------------------------------------
// Corpus of valid frames
// ---------------------------------------------------------------------------------------------------------

const TYPES: readonly LeaseMessage["type"][] = LEASE_MESSAGE_TYPES;
const REJECT_CODES = Object.values(RejectCode).filter((v): v is RejectCode => typeof v === "string");

function validMessage(type: LeaseMessage["type"]): fc.Arbitrary<LeaseMessage> {
  const list = fc.array(text(1, 24), { maxLength: leaseLimits.maxListEntries });
  switch (type) {
    case "capacityQuery":
      return fc.constant({ type });
    case "capacityAnswer":
      return fc.record({
        type: fc.constant(type),
        answer: fc.record({
          cpuMillisFree: u32,
          memoryMiBFree: u32,
          cpuPricePerSecond: big(96),
          memoryPricePerSecond: big(96),
          region: text(0, 64),
          binding: fc.record({ operator: address, chainId: wireU64(64), registry: address, signature: hex(65) }),
        }),
      });
    case "rfq":
      return fc.record({
        type: fc.constant(type),
        rfq: fc.record({
          cpuMillis: int(1, 2 ** 31),
          memoryMiB: int(1, 2 ** 31),
          slotSeconds: int(1, leaseLimits.maxSlotSeconds),
          earliestStart: wireU64(40),
          maxPricePerSecond: big(96),
          imageRef: text(1, 512),
          imageDigest: hex(32),
          tenantAccount: wireU64(64).map((a) => a || 1n),
        }),
      });
    case "quote":
      return fc.record({
        type: fc.constant(type),
        round: int(0, 4),
        providerSignature: hex(65),
        offer: fc
          .record({
            provider: address,
            account: wireU64(64),
            token: address,
            pricePerSecond: big(96),
            cpuMillis: int(1, 2 ** 31),
            memoryMiB: int(1, 2 ** 31),
            start: wireU64(40),
            end: wireU64(40),
            specHash: hex(32),
            nonce: big(256),
            deadline: wireU64(64),
          })
          .map((o) => {
            let { start, end } = o;
            if (start === end) end = start === 0n ? 1n : 0n;
            if (end < start) [start, end] = [end, start];
            return { ...o, start, end };
          }),
      });
    case "counter":
      return fc.record({ type: fc.constant(type), pricePerSecond: big(96) });
    case "accept":
      return fc.record({
        type: fc.constant(type),
        tenantSignature: fc.oneof(
          { arbitrary: hex(65), weight: 9 },
          { arbitrary: int(65, 2048).chain((n) => hex(n)), weight: 1 },
        ),
      });
    case "reject":
      return fc.record({ type: fc.constant(type), code: fc.constantFrom(...REJECT_CODES), message: text(0, 512) });
    case "opened":
      return fc.record({ type: fc.constant(type), leaseId: wireU64(64), txHash: hex(32) });
    case "deploy":
      return fc.record({
        type: fc.constant(type),
        spec: fc.record({
          leaseId: wireU64(64),
          imageRef: text(1, 512),
          imageDigest: hex(32),
          command: list,
          env: list,
          ports: fc.array(int(1, 65535), { maxLength: leaseLimits.maxListEntries }),
        }),
      });
    case "redeploy":
      // The access names the lease the spec deploys (the decoder refuses a Redeploy whose two differ).
      return wireU64(64).chain((leaseId) =>
        fc.record({
          type: fc.constant(type),
          access: fc.record({ leaseId: fc.constant(leaseId), expires: wireU64(64), signature: hex(65) }),
          spec: fc.record({
            leaseId: fc.constant(leaseId),
            imageRef: text(1, 512),
            imageDigest: hex(32),
            command: list,
            env: list,
            ports: fc.array(int(1, 65535), { maxLength: leaseLimits.maxListEntries }),
          }),
        }),
      );
    case "running":
      return fc.record({ type: fc.constant(type), leaseId: wireU64(64), endpoint: text(1, 512) });
    case "failed":
      return fc.record({ type: fc.constant(type), leaseId: wireU64(64), message: text(0, 512) });
    case "terminate":
      return fc.record({ type: fc.constant(type), leaseId: wireU64(64) });
  }
}

const validFramed = (type: LeaseMessage["type"]): fc.Arbitrary<Framed> =>
  fc.record({ requestId: hex(16), message: validMessage(type) });
const bigintJson = (_k: string, v: unknown) => (typeof v === "bigint" ? `${v}n` : v);
const roundTrips = (framed: Framed) =>
  JSON.stringify(decodeFrame(encodeFrame(framed.requestId, framed.message)), bigintJson) ===
  JSON.stringify(framed, bigintJson);

/**
 * 240 valid frames, the message types in turn (corpus[i] is of type TYPES[i % 12]). They must round-trip, or the
 * mutations start from broken frames: checked on the corpus and 240 further messages of every type (shrunk on failure).
 */
function validCorpus(seed: number): Uint8Array[] {
  const perType = TYPES.map((t, k) => fc.sample(validFramed(t), { seed: (seed + k) | 0, numRuns: 20 }));
  const framed = Array.from({ length: 240 }, (_, i) => perType[i % TYPES.length][Math.floor(i / TYPES.length)]);
  const result = fc.check(fc.property(fc.oneof(...TYPES.map(validFramed)), roundTrips), {
    seed,
    numRuns: framed.length + 240,
    examples: framed.map((f) => [f]),
  });
  if (result.failed) {
    const bad = JSON.stringify(result.counterexample, bigintJson);
    throw new Error(`a valid frame did not round-trip: ${bad}; ${REPRO}`);
  }
  return framed.map((f) => encodeFrame(f.requestId, f.message));
}

// ---------------------------------------------------------------------------------------------------------
// Protobuf structure (to corrupt length fields) and mutations
// ---------------------------------------------------------------------------------------------------------

interface LenField {
  /** Offset and size of the varint holding the length. */
  at: number;
  size: number;
  value: number;
}

function readVarint(b: Uint8Array, pos: number): { value: number; next: number } | null {
  let value = 0;
  for (let i = 0; i < 10 && pos + i < b.length; i++) {
    value += (b[pos + i] & 0x7f) * 2 ** (7 * i);
    if ((b[pos + i] & 0x80) === 0) return { value, next: pos + i + 1 };
  }
  return null;
}

/** Length fields of a well-formed message, descending into payloads that parse as messages. */
function lengthFields(b: Uint8Array, start = 0, end = b.length, depth = 0, out: LenField[] = []): LenField[] {
  let pos = start;
  const found: LenField[] = [];
  while (pos < end) {
    const tag = readVarint(b, pos);
    if (!tag) return out;
    pos = tag.next;
    const wire = tag.value & 7;
    if (wire === 0) {
      const v = readVarint(b, pos);
      if (!v) return out;
      pos = v.next;
    } else if (wire === 2) {
      const len = readVarint(b, pos);
      if (!len || len.next + len.value > end) return out;
      found.push({ at: pos, size: len.next - pos, value: len.value });
      if (depth < 4) lengthFields(b, len.next, len.next + len.value, depth + 1, found);
      pos = len.next + len.value;
    } else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else return out;
  }
  if (pos === end) out.push(...found);
  return out;
}

function varintBytes(v: number): number[] {
  const out: number[] = [];
  let x = v;
  while (x > 0x7f) {
    out.push((x % 128) | 0x80);
    x = Math.floor(x / 128);
  }
  out.push(x);
  return out;
}

function splice(b: Uint8Array, at: number, remove: number, insert: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(b.length - remove + insert.length);
  out.set(b.subarray(0, at), 0);
  out.set(insert, at);
  out.set(b.subarray(at + remove), at + insert.length);
  return out;
}

const INTERESTING = [0x00, 0x01, 0x02, 0x07, 0x08, 0x0a, 0x0b, 0x0c, 0x0f, 0x10, 0x7f, 0x80, 0xc0, 0xed, 0xf8, 0xff];
/** Bytes that break UTF-8 (continuations, overlong leads, surrogate and out-of-range leads). */
const UTF8_HAZARDS = [0x80, 0xbf, 0xc0, 0xc1, 0xe2, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xf8, 0xfe, 0xff];

/**
 * A mutation as data, so that fast-check can shrink it. Positions (`at`, `field`, `other`) are any natural
 * number, taken modulo what the frame offers when the mutation is applied.
 */
type Mutation =
  | { name: "bitFlip"; flips: { at: number; bit: number }[] }
  | { name: "setByte"; sets: { at: number; value: number }[] }
  | { name: "truncate"; keepHead: boolean; at: number }
  | { name: "insert"; at: number; bytes: number[] }
  | { name: "delete"; at: number; count: number }
  /** Rewrites a length field (bit flips when the frame has none left). */
  | { name: "lengthField"; field: number; choice: number; plus: number; any: number; fallback: BitFlips }
  /** Overwrites bytes inside a length-delimited payload (a string, bytes or sub-message), keeping its length. */
  | { name: "payloadByte"; field: number; writes: { at: number; value: number }[]; fallback: SetBytes }
  | { name: "duplicateChunk"; at: number; chunk: number; times: number }
  | { name: "concat"; other: number; append: boolean };
type BitFlips = Extract<Mutation, { name: "bitFlip" }>;
type SetBytes = Extract<Mutation, { name: "setByte" }>;

const at = fc.nat();
const byte = int(0, 255);
const bitFlips: fc.Arbitrary<BitFlips> = fc.record({
  name: fc.constant("bitFlip"),
  flips: fc.array(fc.record({ at, bit: int(0, 7) }), { minLength: 1, maxLength: 8 }),
});
const setBytes: fc.Arbitrary<SetBytes> = fc.record({
  name: fc.constant("setByte"),
  sets: fc.array(fc.record({ at, value: fc.constantFrom(...INTERESTING) }), { minLength: 1, maxLength: 4 }),
});

const MUTATIONS: { [N in Mutation["name"]]: fc.Arbitrary<Extract<Mutation, { name: N }>> } = {
  bitFlip: bitFlips,
  setByte: setBytes,
  truncate: fc.record({
    name: fc.constant("truncate"),
    keepHead: fc.oneof({ arbitrary: fc.constant(true), weight: 4 }, { arbitrary: fc.constant(false), weight: 1 }),
    at,
  }),
  insert: fc.record({
    name: fc.constant("insert"),
    at,
    bytes: fc.oneof(
      fc.array(byte, { minLength: 1, maxLength: 16 }),
      fc.array(fc.constantFrom(...INTERESTING), { minLength: 1, maxLength: 16 }),
    ),
  }),
  delete: fc.record({ name: fc.constant("delete"), at, count: int(1, 16) }),
  lengthField: fc.record({
    name: fc.constant("lengthField"),
    field: at,
    choice: int(0, 9),
    plus: int(2, 300),
    any: int(0, 2 ** 31 - 1),
    fallback: bitFlips,
  }),
  payloadByte: fc.record({
    name: fc.constant("payloadByte"),
    field: at,
    writes: fc.array(
      fc.record({
        at,
        value: fc.oneof({ arbitrary: fc.constantFrom(...UTF8_HAZARDS), weight: 13 }, { arbitrary: byte, weight: 1 }),
      }),
      { minLength: 1, maxLength: 3 },
    ),
    fallback: setBytes,
  }),
  duplicateChunk: fc.record({
    name: fc.constant("duplicateChunk"),
    at,
    chunk: int(1, 64),
    times: fc.oneof({ arbitrary: int(1, 8), weight: 9 }, { arbitrary: fc.noBias(int(1, 2000)), weight: 1 }),
  }),
  concat: fc.record({ name: fc.constant("concat"), other: at, append: fc.boolean() }),
};
const MUTATION_NAMES = Object.keys(MUTATIONS) as Mutation["name"][];

function mutate(b: Uint8Array, m: Mutation, corpus: readonly Uint8Array[]): Uint8Array {
  switch (m.name) {
    case "bitFlip": {
      if (b.length === 0) return b;
      const out = Uint8Array.from(b);
      for (const f of m.flips) out[f.at % out.length] ^= 1 << f.bit;
      return out;
    }
    case "setByte": {
      if (b.length === 0) return b;
      const out = Uint8Array.from(b);
      for (const s of m.sets) out[s.at % out.length] = s.value;
      return out;
    }
    case "truncate": {
      const cut = m.at % (b.length + 1);
      return m.keepHead ? b.subarray(0, cut) : b.subarray(cut);
    }
    case "insert":
      return splice(b, m.at % (b.length + 1), 0, m.bytes);
    case "delete": {
      if (b.length === 0) return b;
      const from = m.at % b.length;
      return splice(b, from, Math.min(m.count, b.length - from), []);
    }
    case "lengthField": {
      const fields = lengthFields(b);
      if (fields.length === 0) return mutate(b, m.fallback, corpus);
      const f = fields[m.field % fields.length];
      const choices: (() => number[])[] = [
        () => varintBytes(0),
        () => varintBytes(f.value + 1),
        () => varintBytes(Math.max(0, f.value - 1)),
        () => varintBytes(f.value + m.plus),
        () => varintBytes(m.any),
        () => varintBytes(2 ** 32 - 1),
        () => [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], // 10-byte varint
        () => [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], // never terminates
        () => [...varintBytes(f.value).map((x) => x | 0x80), 0x00], // overlong encoding of the same value
        () => varintBytes(MAX_FRAME * 2),
      ];
      return splice(b, f.at, f.size, choices[m.choice]());
    }
    case "payloadByte": {
      const fields = lengthFields(b).filter((f) => f.value > 0);
      if (fields.length === 0) return mutate(b, m.fallback, corpus);
      const f = fields[m.field % fields.length];
      const out = Uint8Array.from(b);
      for (const w of m.writes) out[f.at + f.size + (w.at % f.value)] = w.value;
      return out;
    }
    case "duplicateChunk": {
      if (b.length === 0) return b;
      const from = m.at % b.length;
      const chunk = b.subarray(from, from + m.chunk);
      const ins = new Uint8Array(Math.min(chunk.length * m.times, MAX_FRAME * 2));
      for (let i = 0; i < ins.length; i++) ins[i] = chunk[i % chunk.length];
      return splice(b, from, 0, ins);
    }
    case "concat": {
      const other = corpus[m.other % corpus.length];
      return m.append ? Uint8Array.from([...b, ...other]) : Uint8Array.from([...other.subarray(18), ...b]);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Plans: what one run decodes
// ---------------------------------------------------------------------------------------------------------

/** How many leading bytes of a random frame fast-check draws itself (the rest comes from `fill`). */
const RANDOM_HEAD_BYTES = 64;

type Plan =
  | { source: "special"; index: number }
  /** `scale` in [0, 2^20] makes a log-uniform length in [1, 2 × maxFrameBytes]. */
  | { source: "random"; scale: number; head: Uint8Array; fill: number }
  | { source: "mutated"; base: number; mutations: Mutation[] };

const SCALE_MAX = 2 ** 20;
const randomPlan: fc.Arbitrary<Plan> = fc.record({
  source: fc.constant("random"),
  scale: fc.noBias(int(0, SCALE_MAX)), // log-uniform lengths, as drawn (a bias to the extremes would double the bytes)
  head: fc.uint8Array({ maxLength: RANDOM_HEAD_BYTES }),
  fill: fc.integer(),
});
const mutationArb = fc.oneof(...MUTATION_NAMES.map((n) => MUTATIONS[n] as fc.Arbitrary<Mutation>));
const mutatedPlan = (corpusSize: number): fc.Arbitrary<Plan> =>
  fc.record({
    source: fc.constant("mutated"),
    base: int(0, corpusSize - 1),
    mutations: fc.oneof(
      { arbitrary: fc.array(mutationArb, { minLength: 1, maxLength: 1 }), weight: 7 },
      { arbitrary: fc.array(mutationArb, { minLength: 2, maxLength: 4 }), weight: 3 },
    ),
  });
const planArb = (corpusSize: number) =>
  fc.oneof({ arbitrary: randomPlan, weight: 3 }, { arbitrary: mutatedPlan(corpusSize), weight: 7 });

/** The bytes after a random frame's head: a fast 32-bit generator (mulberry32) seeded by the plan's `fill`. */
function fillBytes(out: Uint8Array, seed: number): void {
  let a = seed | 0;
  for (let i = 0; i < out.length; i += 4) {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    const v = (t ^ (t >>> 14)) >>> 0;
    out[i] = v;
    if (i + 1 < out.length) out[i + 1] = v >>> 8;
    if (i + 2 < out.length) out[i + 2] = v >>> 16;
    if (i + 3 < out.length) out[i + 3] = v >>> 24;
  }
}

/** Random frames are built in a reused buffer, to spare the heap. */
const scratch = new Uint8Array(MAX_FRAME * 2);

function frameOf(p: Plan, corpus: readonly Uint8Array[], special: readonly Uint8Array[]): Uint8Array {
  switch (p.source) {
    case "special":
      return special[p.index];
    case "random": {
      const len = Math.min(
        MAX_FRAME * 2,
        Math.floor(Math.exp((p.scale / (SCALE_MAX + 1)) * Math.log(MAX_FRAME * 2 + 1))),
      );
      const out = scratch.subarray(0, len);
      const head = Math.min(len, p.head.length);
      out.set(p.head.subarray(0, head));
      fillBytes(out.subarray(head), p.fill);
      return out;
    }
    case "mutated": {
      let frame = corpus[p.base];
      for (const m of p.mutations) frame = mutate(frame, m, corpus);
      return frame.length > MAX_FRAME * 2 ? frame.subarray(0, MAX_FRAME * 2) : frame;
    }
  }
}

const sourceOf = (p: Plan) => (p.source === "mutated" ? p.mutations.map((m) => m.name).join("+") : p.source);

/** Hand-made hostile frames, tried before the random ones. */
function specialFrames(valid: Uint8Array): Uint8Array[] {
  const rid = [0x0a, 0x10, ...new Uint8Array(16).fill(1)];
  const fill = (n: number, v: number) => new Uint8Array(n).fill(v);
  return [
    new Uint8Array(),
    fill(MAX_FRAME, 0x0b), // a start-group tag nested 64 Ki deep
    Uint8Array.from([...rid, ...fill(MAX_FRAME - 18, 0x0b)]),
    Uint8Array.from([...rid, 0x0b, 0x0c, 0x0c]), // group ends without a start
    fill(MAX_FRAME, 0x00), // field 0, repeated
    fill(MAX_FRAME, 0x80), // one varint that never ends
    fill(MAX_FRAME, 0xff),
    fill(MAX_FRAME + 1, 0x00),
    fill(MAX_FRAME * 2, 0x0b),
    Uint8Array.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]), // request id claims 4 GiB
    Uint8Array.from([...rid, 0x92, 0x01, 0xff, 0xff, 0xff, 0xff, 0x0f]), // deploy claims 4 GiB
    Uint8Array.from([...rid, 0x92, 0x01, 0x80, 0x80, 0x04, ...fill(100, 0x22)]), // deploy claims 64 KiB
    Uint8Array.from([...rid, 0x82, 0x01, 0x02, 0x08, 0xff]), // reject code varint cut short
    Uint8Array.from([...rid, 0x82, 0x01, 0x0b, 0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
    Uint8Array.from([...rid, 0xaa, 0x01, 0x0b, 0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]),
    // a 64-entry ports list, then one more entry
    Uint8Array.from([...rid, 0x92, 0x01, 0x82, 0x01, ...Array.from({ length: 65 }, () => [0x30, 0x01]).flat()]),
    Uint8Array.from([...valid, ...valid, ...valid]),
  ];
}

// ---------------------------------------------------------------------------------------------------------
// Independent check of a returned Framed
// ---------------------------------------------------------------------------------------------------------

const HEX = (n: number) => new RegExp(`^0x[0-9a-f]{${2 * n}}$`);
const HEX16 = HEX(16);
const HEX32 = HEX(32);
const HEX65 = HEX(65);
const inU = (v: unknown, bits: number) => typeof v === "bigint" && v >= 0n && v < 1n << BigInt(bits);
const inN = (v: unknown, min: number, max: number) =>
  Number.isInteger(v) && (v as number) >= min && (v as number) <= max;
const isAddr = (v: unknown) => typeof v === "string" && /^0x[0-9a-fA-F]{40}$/.test(v) && getAddress(v) === v;
const isText = (v: unknown, required: boolean) =>
  typeof v === "string" && Buffer.byteLength(v) <= leaseLimits.maxStringBytes && (!required || v.length > 0);

/** What is wrong with `f` (structure, sizes, ranges), or null. Unicode well-formedness is checked apart. */
function violation(f: Framed): string | null {
  if (typeof f.requestId !== "string" || !HEX16.test(f.requestId)) return "requestId";
  const m = f.message;
  const checks: Record<string, boolean> = {};
  switch (m.type) {
    case "capacityQuery":
      checks.keys = Object.keys(m).length === 1;
      break;
    case "capacityAnswer": {
      const a = m.answer;
      checks.free = inN(a.cpuMillisFree, 0, 2 ** 32 - 1) && inN(a.memoryMiBFree, 0, 2 ** 32 - 1);
      checks.prices = inU(a.cpuPricePerSecond, 96) && inU(a.memoryPricePerSecond, 96);
      checks.region = isText(a.region, false);
      checks.binding =
        isAddr(a.binding.operator) &&
        isAddr(a.binding.registry) &&
        inU(a.binding.chainId, 64) &&
        HEX65.test(a.binding.signature);
      break;
    }
    case "rfq": {
      const q = m.rfq;
      checks.resources = inN(q.cpuMillis, 1, 2 ** 32 - 1) && inN(q.memoryMiB, 1, 2 ** 32 - 1);
      checks.slot = inN(q.slotSeconds, 1, leaseLimits.maxSlotSeconds);
      checks.times = inU(q.earliestStart, 40);
      checks.price = inU(q.maxPricePerSecond, 96);
      checks.image = isText(q.imageRef, true) && HEX32.test(q.imageDigest);
      checks.account = inU(q.tenantAccount, 64) && q.tenantAccount > 0n;
      break;
    }
    case "quote": {
      const o = m.offer;
      checks.round = inN(m.round, 0, 2 ** 32 - 1);
      checks.signature = HEX65.test(m.providerSignature);
      checks.parties = isAddr(o.provider) && isAddr(o.token) && inU(o.account, 64);
      checks.price = inU(o.pricePerSecond, 96);
      checks.resources = inN(o.cpuMillis, 1, 2 ** 32 - 1) && inN(o.memoryMiB, 1, 2 ** 32 - 1);
      checks.slot = inU(o.start, 40) && inU(o.end, 40) && o.end > o.start;
      checks.hashes = HEX32.test(o.specHash) && inU(o.nonce, 256) && inU(o.deadline, 64);
      break;
    }
    case "counter":
      checks.price = inU(m.pricePerSecond, 96);
      break;
    case "accept":
      checks.signature =
        /^0x([0-9a-f]{2})+$/.test(m.tenantSignature) && inN((m.tenantSignature.length - 2) / 2, 65, 2048);
      break;
    case "reject":
      checks.code = REJECT_CODES.includes(m.code);
      checks.message = isText(m.message, false);
      break;
    case "opened":
      checks.lease = inU(m.leaseId, 64) && HEX32.test(m.txHash);
      break;
    case "deploy": {
      const d = m.spec;
      const n = leaseLimits.maxListEntries;
      checks.lease = inU(d.leaseId, 64);
      checks.image = isText(d.imageRef, true) && HEX32.test(d.imageDigest);
      checks.command = Array.isArray(d.command) && d.command.length <= n && d.command.every((s) => isText(s, true));
      checks.env = Array.isArray(d.env) && d.env.length <= n && d.env.every((s) => isText(s, true));
      checks.ports = Array.isArray(d.ports) && d.ports.length <= n && d.ports.every((p) => inN(p, 1, 65535));
      break;
    }
    case "redeploy": {
      const d = m.spec;
      const n = leaseLimits.maxListEntries;
      checks.lease = inU(d.leaseId, 64) && d.leaseId === m.access.leaseId && inU(m.access.expires, 64);
      checks.signature = /^0x[0-9a-f]{130}$/.test(m.access.signature);
      checks.image = isText(d.imageRef, true) && HEX32.test(d.imageDigest);
      checks.command = Array.isArray(d.command) && d.command.length <= n && d.command.every((s) => isText(s, true));
      checks.env = Array.isArray(d.env) && d.env.length <= n && d.env.every((s) => isText(s, true));
      checks.ports = Array.isArray(d.ports) && d.ports.length <= n && d.ports.every((p) => inN(p, 1, 65535));
      break;
    }
    case "running":
      checks.lease = inU(m.leaseId, 64) && isText(m.endpoint, true);
      break;
    case "failed":
      checks.lease = inU(m.leaseId, 64) && isText(m.message, false);
      break;
    case "terminate":
      checks.lease = inU(m.leaseId, 64);
      break;
    default:
      return `unknown type ${(m as { type: unknown }).type}`;
  }
  const bad = Object.entries(checks)
    .filter(([, ok]) => !ok)
    .map(([k]) => k);
  return bad.length > 0 ? `${m.type}: ${bad.join(", ")}` : null;
}

/** Every string inside `v`. */
function strings(v: unknown, out: string[] = []): string[] {
  if (typeof v === "string") out.push(v);
  else if (Array.isArray(v)) for (const x of v) strings(x, out);
  else if (v && typeof v === "object") for (const x of Object.values(v)) strings(x, out);
  return out;
}
/** A lone surrogate: what an invalid UTF-8 sequence decodes to when it is not refused. */
const LONE_SURROGATE = /\p{Cs}/u;

// ---------------------------------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------------------------------

interface Example {
  i: number;
  source: string;
  frame: string;
  detail: string;
}

interface Report {
  iterations: number;
  elapsedMs: number;
  maxCallMs: number;
  slowest: Example | null;
  heapGrowth: number;
  decoded: number;
  refused: Record<string, number>;
  bySource: Record<string, number>;
  otherErrors: Example[];
  otherErrorCount: number;
  invalid: Example[];
  invalidCount: number;
  illFormed: Example[];
  illFormedCount: number;
  stoppedEarly: boolean;
}

const show = (b: Uint8Array) =>
  `${b.length} bytes: ${Buffer.from(b.subarray(0, 96)).toString("hex")}${b.length > 96 ? "…" : ""}`;
const planJson = (_k: string, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString("hex") : v);

/** The properties a decode can break, each with its list of examples in the report. */
type Broken = "otherErrors" | "invalid" | "illFormed";

/** What decoding one frame gave: its time, refused (with the code) or decoded, and the properties it broke. */
interface Outcome {
  ms: number;
  refused?: RejectCode;
  decoded: boolean;
  broken: { list: Broken; detail: string }[];
}

function decodeOnce(frame: Uint8Array): Outcome {
  const c0 = performance.now();
  let result: Framed | undefined;
  let error: unknown;
  try {
    result = decodeFrame(frame);
  } catch (e) {
    error = e;
  }
  const ms = performance.now() - c0;
  if (result === undefined) {
    const code = error instanceof ProtocolError ? error.reject : undefined;
    if (code === RejectCode.BAD_REQUEST || code === RejectCode.UNSUPPORTED)
      return { ms, refused: code, decoded: false, broken: [] };
    const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    return { ms, decoded: false, broken: [{ list: "otherErrors", detail }] };
  }
  const broken: Outcome["broken"] = [];
  let v: string | null;
  try {
    v = violation(result);
  } catch (e) {
    v = `check threw ${String(e)}`;
  }
  if (v !== null) broken.push({ list: "invalid", detail: `${v} in ${JSON.stringify(result, bigintJson)}` });
  const bad = strings(result.message).filter((s) => LONE_SURROGATE.test(s));
  if (bad.length > 0) broken.push({ list: "illFormed", detail: JSON.stringify(bad) });
  return { ms, decoded: true, broken };
}

const COUNT: Record<Broken, "otherErrorCount" | "invalidCount" | "illFormedCount"> = {
  otherErrors: "otherErrorCount",
  invalid: "invalidCount",
  illFormed: "illFormedCount",
};

async function fuzz(seed: number, iterations: number): Promise<Report> {
  const corpus = validCorpus(seed);
  const special = specialFrames(corpus[3]);

  const report: Report = {
    iterations: 0,
    elapsedMs: 0,
    maxCallMs: 0,
    slowest: null,
    heapGrowth: 0,
    decoded: 0,
    refused: {},
    bySource: {},
    otherErrors: [],
    otherErrorCount: 0,
    invalid: [],
    invalidCount: 0,
    illFormed: [],
    illFormedCount: 0,
    stoppedEarly: false,
  };
  const keep = (list: Example[], e: Example) => {
    if (list.length < 5) list.push(e);
  };

  // fast-check runs the property on the special frames first, then on `iterations` minus those drawn plans; after
  // the first plan that breaks a property it only shrinks (those calls are not counted in the report).
  let shrinking = false;
  let firstFailure = -1;
  const property = fc.asyncProperty(planArb(corpus.length), async (plan) => {
    const frame = frameOf(plan, corpus, special);
    const o = decodeOnce(frame);
    if (shrinking) return o.broken.length === 0;
    const i = report.iterations++;
    const source = sourceOf(plan);
    const kind = source.split("+")[0];
    report.bySource[kind] = (report.bySource[kind] ?? 0) + 1;
    if (o.ms > report.maxCallMs) {
      report.maxCallMs = o.ms;
      report.slowest = { i, source, frame: show(frame), detail: `${o.ms.toFixed(1)} ms` };
    }
    if (o.refused) report.refused[o.refused] = (report.refused[o.refused] ?? 0) + 1;
    if (o.decoded) report.decoded++;
    for (const b of o.broken) {
      report[COUNT[b.list]]++;
      keep(report[b.list], { i, source, frame: show(frame), detail: b.detail });
    }
    if (o.broken.length > 0) {
      shrinking = true;
      firstFailure = i;
      return false;
    }
    if (i % 2000 === 1999) await yieldToEventLoop(); // let mocha's timers run
    return true;
  });

  const heapBefore = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  const result = await fc.check(property, {
    seed,
    numRuns: iterations,
    examples: special.map((_, index): [Plan] => [{ source: "special", index }]),
    interruptAfterTimeLimit: BUDGET_MS,
    markInterruptAsFailure: false,
    ...(PATH ? { path: PATH } : {}),
  });
  report.elapsedMs = performance.now() - t0;
  report.heapGrowth = process.memoryUsage().heapUsed - heapBefore;
  report.stoppedEarly = result.interrupted;

  if (result.failed && result.counterexample === null) {
    throw new Error(`the fuzz run itself failed; ${REPRO}`, { cause: result.errorInstance });
  }
  if (result.failed && result.counterexample) {
    // The shrunk plan goes first in the lists of the properties it breaks, with the path that replays it.
    const [plan] = result.counterexample;
    const frame = frameOf(plan, corpus, special);
    const replay = `LEASE_FUZZ_SEED=${seed} LEASE_FUZZ_PATH=${result.counterexamplePath}`;
    const source = `shrunk after ${result.numShrinks} steps (${replay}): ${JSON.stringify(plan, planJson)}`;
    for (const b of decodeOnce(frame).broken)
      report[b.list].unshift({ i: firstFailure, source, frame: show(frame), detail: b.detail });
  }
  return report;
}

const list = (xs: Example[]) => xs.map((e) => `  #${e.i} [${e.source}] ${e.detail}\n    frame ${e.frame}`).join("\n");

describe("decodeFrame fuzz (seeded; the seed is printed on failure)", function () {
  let report: Report;

  before(async function () {
    this.timeout(BUDGET_MS + 60_000);
    report = await fuzz(SEED, ITERATIONS);
    const mib = (report.heapGrowth / 2 ** 20).toFixed(1);
    console.log(
      `      fuzz: ${report.iterations} frames in ${(report.elapsedMs / 1000).toFixed(1)} s, ${REPRO}; ` +
        `decoded ${report.decoded}, refused ${JSON.stringify(report.refused)}, sources ${JSON.stringify(report.bySource)}; ` +
        `slowest call ${report.maxCallMs.toFixed(1)} ms; heap ${mib} MiB`,
    );
  });

  it(`runs all ${ITERATIONS.toLocaleString("en")} random and mutated frames within ${BUDGET_MS / 1000} s`, () => {
    expect(report.stoppedEarly, `stopped after ${report.iterations} frames; ${REPRO}`).to.equal(false);
    expect(report.iterations).to.equal(ITERATIONS);
    expect(report.elapsedMs, REPRO).to.be.below(BUDGET_MS);
    expect(report.bySource.random, "pure random frames").to.be.above(ITERATIONS / 5);
    for (const m of MUTATION_NAMES) expect(report.bySource[m], `frames mutated first by ${m}`).to.be.above(1000);
  });

  it(`never spends more than ${MAX_SINGLE_CALL_MS} ms on one frame`, () => {
    const s = report.slowest;
    expect(report.maxCallMs, `${REPRO}; slowest: ${s && list([s])}`).to.be.below(MAX_SINGLE_CALL_MS);
  });

  it("throws nothing but a ProtocolError with BAD_REQUEST or UNSUPPORTED", () => {
    expect(report.otherErrorCount, `${REPRO}\n${list(report.otherErrors)}`).to.equal(0);
    expect((report.refused.BAD_REQUEST ?? 0) + (report.refused.UNSUPPORTED ?? 0) + report.decoded).to.equal(
      report.iterations,
    );
  });

  it("returns only Framed values whose every field is within the protocol's sizes and ranges", () => {
    expect(report.invalidCount, `${REPRO}\n${list(report.invalid)}`).to.equal(0);
    expect(report.decoded, "some mutated frames still decode (the check must not be vacuous)").to.be.above(1000);
  });

  it("returns no string with a lone surrogate (invalid UTF-8 must be refused, not decoded)", () => {
    expect(report.illFormedCount, `${REPRO}\n${list(report.illFormed)}`).to.equal(0);
  });

  it(`keeps heap growth over the run below ${MAX_HEAP_GROWTH / 2 ** 20} MiB`, () => {
    expect(report.heapGrowth, `${REPRO}: ${(report.heapGrowth / 2 ** 20).toFixed(1)} MiB`).to.be.below(MAX_HEAP_GROWTH);
  });
});
