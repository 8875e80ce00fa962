/**
 * Fuzzing decodeFrame: 200,000 random and mutated frames. Every call must return a valid Framed or throw a
 * ProtocolError (BAD_REQUEST or UNSUPPORTED) — never another exception — and the whole run must finish in a
 * bounded time without unbounded heap growth.
 *
 * The run is reproducible: it uses a seeded PRNG; the seed is printed with every failure and in the summary.
 * Re-run one seed with `LEASE_FUZZ_SEED=<seed> npx hardhat test mocha test/mocha/protocol/fuzz.test.ts`.
 */
import { expect } from "chai";
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
  ? Number(process.env.LEASE_FUZZ_SEED) >>> 0
  : (Date.now() ^ (process.pid << 8)) >>> 0;
const REPRO = `seed ${SEED} (re-run with LEASE_FUZZ_SEED=${SEED})`;

// ---------------------------------------------------------------------------------------------------------
// Seeded PRNG (mulberry32)
// ---------------------------------------------------------------------------------------------------------

class Rng {
  #a: number;
  constructor(seed: number) {
    this.#a = seed >>> 0;
  }
  u32(): number {
    this.#a = (this.#a + 0x6d2b79f5) | 0;
    let t = Math.imul(this.#a ^ (this.#a >>> 15), 1 | this.#a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (t ^ (t >>> 14)) >>> 0;
  }
  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor((this.u32() / 4294967296) * n);
  }
  range(min: number, max: number): number {
    return min + this.int(max - min + 1);
  }
  chance(p: number): boolean {
    return this.u32() / 4294967296 < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
  bytes(n: number, out = new Uint8Array(n)): Uint8Array {
    let i = 0;
    for (; i + 4 <= n; i += 4) {
      const v = this.u32();
      out[i] = v;
      out[i + 1] = v >>> 8;
      out[i + 2] = v >>> 16;
      out[i + 3] = v >>> 24;
    }
    for (; i < n; i++) out[i] = this.u32();
    return out;
  }
  hex(n: number): string {
    return hexlify(this.bytes(n));
  }
  /** A bigint in [0, 2^bits), biased to small values and the maximum. */
  big(bits: number): bigint {
    const max = (1n << BigInt(bits)) - 1n;
    const r = this.int(8);
    if (r === 0) return 0n;
    if (r === 1) return max;
    let v = 0n;
    for (let b = 0; b < bits; b += 32) v = (v << 32n) | BigInt(this.u32());
    return v & ((1n << BigInt(this.range(1, bits))) - 1n);
  }
  /** A uint64 wire value, often in [2^31, 2^32) (which protons-runtime's writer once got wrong). */
  wireU64(bits: number): bigint {
    return bits > 32 && this.chance(0.1) ? BigInt(this.range(2 ** 31, 2 ** 32 - 1)) : this.big(bits);
  }
  text(min: number, maxBytes: number): string {
    const pool = ["a", "Z", "0", "-", ":", "/", "é", "€", "😀", " ", "=", "\u0000"];
    const chars: string[] = [];
    for (let n = this.range(min, 40); n > 0; n--) chars.push(this.pick(pool));
    while (Buffer.byteLength(chars.join("")) > maxBytes) chars.pop();
    return min > 0 && chars.length === 0 ? "x" : chars.join("");
  }
}

// ---------------------------------------------------------------------------------------------------------
// Corpus of valid frames
// ---------------------------------------------------------------------------------------------------------

const TYPES: readonly LeaseMessage["type"][] = LEASE_MESSAGE_TYPES;
const REJECT_CODES = Object.values(RejectCode).filter((v): v is RejectCode => typeof v === "string");

function validMessage(r: Rng, type: LeaseMessage["type"]): LeaseMessage {
  const addr = () => getAddress(r.hex(20));
  switch (type) {
    case "capacityQuery":
      return { type };
    case "capacityAnswer":
      return {
        type,
        answer: {
          cpuMillisFree: r.u32(),
          memoryMiBFree: r.u32(),
          cpuPricePerSecond: r.big(96),
          memoryPricePerSecond: r.big(96),
          region: r.text(0, 64),
          binding: { operator: addr(), chainId: r.wireU64(64), registry: addr(), signature: r.hex(65) },
        },
      };
    case "rfq":
      return {
        type,
        rfq: {
          cpuMillis: r.range(1, 2 ** 31),
          memoryMiB: r.range(1, 2 ** 31),
          slotSeconds: r.range(1, leaseLimits.maxSlotSeconds),
          earliestStart: r.wireU64(40),
          maxPricePerSecond: r.big(96),
          imageRef: r.text(1, 512),
          imageDigest: r.hex(32),
          tenantAccount: r.wireU64(64) || 1n,
        },
      };
    case "quote": {
      let start = r.wireU64(40);
      let end = r.wireU64(40);
      if (start === end) end = start === 0n ? 1n : 0n;
      if (end < start) [start, end] = [end, start];
      return {
        type,
        round: r.int(5),
        providerSignature: r.hex(65),
        offer: {
          provider: addr(),
          account: r.wireU64(64),
          token: addr(),
          pricePerSecond: r.big(96),
          cpuMillis: r.range(1, 2 ** 31),
          memoryMiB: r.range(1, 2 ** 31),
          start,
          end,
          specHash: r.hex(32),
          nonce: r.big(256),
          deadline: r.wireU64(64),
        },
      };
    }
    case "counter":
      return { type, pricePerSecond: r.big(96) };
    case "accept":
      return { type, tenantSignature: r.hex(r.chance(0.9) ? 65 : r.range(65, 2048)) };
    case "reject":
      return { type, code: r.pick(REJECT_CODES), message: r.text(0, 512) };
    case "opened":
      return { type, leaseId: r.wireU64(64), txHash: r.hex(32) };
    case "deploy": {
      const list = () => Array.from({ length: r.int(leaseLimits.maxListEntries + 1) }, () => r.text(1, 24));
      return {
        type,
        spec: {
          leaseId: r.wireU64(64),
          imageRef: r.text(1, 512),
          imageDigest: r.hex(32),
          command: list(),
          env: list(),
          ports: Array.from({ length: r.int(leaseLimits.maxListEntries + 1) }, () => r.range(1, 65535)),
        },
      };
    }
    case "running":
      return { type, leaseId: r.wireU64(64), endpoint: r.text(1, 512) };
    case "failed":
      return { type, leaseId: r.wireU64(64), message: r.text(0, 512) };
    case "terminate":
      return { type, leaseId: r.wireU64(64) };
  }
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

type Mutation = (r: Rng, b: Uint8Array, corpus: readonly Uint8Array[]) => Uint8Array;

const MUTATIONS: Record<string, Mutation> = {
  bitFlip: (r, b) => {
    if (b.length === 0) return b;
    const out = Uint8Array.from(b);
    for (let n = r.range(1, 8); n > 0; n--) out[r.int(out.length)] ^= 1 << r.int(8);
    return out;
  },
  setByte: (r, b) => {
    if (b.length === 0) return b;
    const out = Uint8Array.from(b);
    for (let n = r.range(1, 4); n > 0; n--) out[r.int(out.length)] = r.pick(INTERESTING);
    return out;
  },
  truncate: (r, b) => (r.chance(0.8) ? b.subarray(0, r.int(b.length + 1)) : b.subarray(r.int(b.length + 1))),
  insert: (r, b) => {
    const n = r.range(1, 16);
    const ins = r.chance(0.5) ? r.bytes(n) : Array.from({ length: n }, () => r.pick(INTERESTING));
    return splice(b, r.int(b.length + 1), 0, ins);
  },
  delete: (r, b) => {
    if (b.length === 0) return b;
    const at = r.int(b.length);
    return splice(b, at, Math.min(r.range(1, 16), b.length - at), []);
  },
  lengthField: (r, b) => {
    const fields = lengthFields(b);
    if (fields.length === 0) return MUTATIONS.bitFlip(r, b, []);
    const f = r.pick(fields);
    const choices: number[][] = [
      varintBytes(0),
      varintBytes(f.value + 1),
      varintBytes(Math.max(0, f.value - 1)),
      varintBytes(f.value + r.range(2, 300)),
      varintBytes(r.int(2 ** 31)),
      varintBytes(2 ** 32 - 1),
      [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], // 10-byte varint
      [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], // never terminates
      [...varintBytes(f.value).map((x) => x | 0x80), 0x00], // overlong encoding of the same value
      varintBytes(MAX_FRAME * 2),
    ];
    return splice(b, f.at, f.size, r.pick(choices));
  },
  /** Overwrites one byte inside a length-delimited payload (a string, bytes or sub-message), keeping its length. */
  payloadByte: (r, b) => {
    const fields = lengthFields(b).filter((f) => f.value > 0);
    if (fields.length === 0) return MUTATIONS.setByte(r, b, []);
    const f = r.pick(fields);
    const out = Uint8Array.from(b);
    const hazards = [0x80, 0xbf, 0xc0, 0xc1, 0xe2, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xf8, 0xfe, 0xff, r.u32() & 0xff];
    for (let n = r.range(1, 3); n > 0; n--) out[f.at + f.size + r.int(f.value)] = r.pick(hazards);
    return out;
  },
  duplicateChunk: (r, b) => {
    if (b.length === 0) return b;
    const at = r.int(b.length);
    const chunk = b.subarray(at, at + r.range(1, 64));
    const times = r.range(1, r.chance(0.1) ? 2000 : 8);
    const ins = new Uint8Array(Math.min(chunk.length * times, MAX_FRAME * 2));
    for (let i = 0; i < ins.length; i++) ins[i] = chunk[i % chunk.length];
    return splice(b, at, 0, ins);
  },
  concat: (r, b, corpus) => {
    const other = r.pick(corpus);
    return r.chance(0.5) ? Uint8Array.from([...b, ...other]) : Uint8Array.from([...other.subarray(18), ...b]);
  },
};
const MUTATION_NAMES = Object.keys(MUTATIONS);

/** Random bytes of a log-uniform length in [0, 2 × maxFrameBytes] (in a reused buffer, to spare the heap). */
const scratch = new Uint8Array(MAX_FRAME * 2);
function randomFrame(r: Rng): Uint8Array {
  const len = Math.min(MAX_FRAME * 2, Math.floor(Math.exp((r.u32() / 4294967296) * Math.log(MAX_FRAME * 2 + 1))));
  return r.bytes(len, scratch.subarray(0, len));
}

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
const bigintJson = (_k: string, v: unknown) => (typeof v === "bigint" ? `${v}n` : v);

async function fuzz(seed: number, iterations: number): Promise<Report> {
  const r = new Rng(seed);
  const corpus: Uint8Array[] = [];
  for (let i = 0; i < 240; i++) {
    const framed: Framed = { requestId: r.hex(16), message: validMessage(r, TYPES[i % TYPES.length]) };
    const f = encodeFrame(framed.requestId, framed.message);
    // The corpus itself must round-trip, or the mutations start from broken frames.
    const back = JSON.stringify(decodeFrame(f), bigintJson);
    if (back !== JSON.stringify(framed, bigintJson)) throw new Error(`corpus frame ${i} did not round-trip; ${REPRO}`);
    corpus.push(f);
  }
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

  const heapBefore = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  for (let i = 0; i < iterations; i++) {
    let source: string;
    let frame: Uint8Array;
    if (i < special.length) {
      source = "special";
      frame = special[i];
    } else if (r.chance(0.3)) {
      source = "random";
      frame = randomFrame(r);
    } else {
      frame = r.pick(corpus);
      const names: string[] = [];
      for (let n = r.chance(0.7) ? 1 : r.range(2, 4); n > 0; n--) {
        const name = r.pick(MUTATION_NAMES);
        names.push(name);
        frame = MUTATIONS[name](r, frame, corpus);
      }
      if (frame.length > MAX_FRAME * 2) frame = frame.subarray(0, MAX_FRAME * 2);
      source = names.join("+");
    }
    const kind = source.split("+")[0];
    report.bySource[kind] = (report.bySource[kind] ?? 0) + 1;

    const c0 = performance.now();
    let result: Framed | undefined;
    let error: unknown;
    try {
      result = decodeFrame(frame);
    } catch (e) {
      error = e;
    }
    const ms = performance.now() - c0;
    if (ms > report.maxCallMs) {
      report.maxCallMs = ms;
      report.slowest = { i, source, frame: show(frame), detail: `${ms.toFixed(1)} ms` };
    }

    if (result === undefined) {
      const code = error instanceof ProtocolError ? error.reject : undefined;
      if (code === RejectCode.BAD_REQUEST || code === RejectCode.UNSUPPORTED) {
        report.refused[code] = (report.refused[code] ?? 0) + 1;
      } else {
        report.otherErrorCount++;
        const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        keep(report.otherErrors, { i, source, frame: show(frame), detail });
      }
    } else {
      report.decoded++;
      let v: string | null;
      try {
        v = violation(result);
      } catch (e) {
        v = `check threw ${String(e)}`;
      }
      if (v !== null) {
        report.invalidCount++;
        keep(report.invalid, {
          i,
          source,
          frame: show(frame),
          detail: `${v} in ${JSON.stringify(result, bigintJson)}`,
        });
      }
      const bad = strings(result.message).filter((s) => LONE_SURROGATE.test(s));
      if (bad.length > 0) {
        report.illFormedCount++;
        keep(report.illFormed, { i, source, frame: show(frame), detail: JSON.stringify(bad) });
      }
    }

    report.iterations = i + 1;
    if (i % 2000 === 1999) {
      if (performance.now() - t0 > BUDGET_MS) {
        report.stoppedEarly = true;
        break;
      }
      await yieldToEventLoop(); // let mocha's timers run
    }
  }
  report.elapsedMs = performance.now() - t0;
  report.heapGrowth = process.memoryUsage().heapUsed - heapBefore;
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
