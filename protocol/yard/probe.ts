/**
 * /icon/probe/1.0.0: a lease holder asks the yard that runs its lease to measure the network path towards one
 * address of a subnet that was recently a client of that lease — traceroute (one probe per TTL) and the target's
 * round trip (ping). Only the lease holder may ask (the LeaseAccess of protocol/yard/services.ts, bound to the
 * sender's peer id), only towards the lease's own client subnets, a few times a minute per lease. The answer is
 * signed by the yard's operator key (EIP-712 `ProbeReport` in the market's domain, as quotes are), over the lease
 * id, the target, the time and every measured figure, so an ICON can carry it to a third party (a bid).
 *
 * One request and one answer per stream: ProbeRequest → ProbeAnswer | ProbeError.
 *
 * @example
 *   const access = await signLeaseAccess(iconWallet, market.domain(), leaseId, node.peerId);
 *   const r = await probePath(node, yardPeer, { leaseId, access, target: "198.18.7.10", domain: market.domain() });
 *   for (const h of r.hops) console.log(h.ttl, h.address ?? "*", h.rttMs);
 */
import { isIPv4, isIPv6 } from "node:net";
import { randomBytes } from "node:crypto";
import { getAddress, getBytes, hexlify, verifyTypedData, type TypedDataDomain } from "ethers";
import type { Libp2p, PeerId } from "@libp2p/interface";
import type { Multiaddr } from "@multiformats/multiaddr";
import { lpStream } from "@libp2p/utils";
import { IconError } from "../errors.ts";
import { ProbeEnvelope, ProbeErrorCode } from "../schema/generated/probe.js";
import type { LeaseAccess } from "./services.ts";
import { inCidr, parseIp } from "./ip.ts";

export { ProbeErrorCode };

export const PROBE_PROTOCOL = "/icon/probe/1.0.0";

export const probeLimits = {
  /** Largest frame: 64 hops of an IPv6 address each, and the rest. */
  maxFrameBytes: 8 * 1024,
  /** Most hops in an answer (and the largest TTL). */
  maxHops: 64,
  /** Longest target / hop address text (an IPv6 literal with an embedded IPv4 tail is 45). */
  maxAddressChars: 64,
  /** Time allowed for the request frame to arrive at the yard. */
  requestMs: 10_000,
  /** Time the asking side waits for an answer by default (the yard bounds a measurement well below it). */
  answerMs: 60_000,
  /** Longest request nonce (echoed in the signed answer). */
  maxNonceBytes: 32,
} as const;

/** One hop of a path: the router (or the target) that answered the probe sent with `ttl`. */
export interface PathHop {
  ttl: number;
  /** undefined = no answer within the wait */
  address?: string;
  rttMs?: number;
}

/** A measured path towards `target`. */
export interface ProbeResult {
  target: string;
  /** By increasing ttl. */
  hops: PathHop[];
  /** The target itself answered (a hop's address is the target, or it answered the ping). */
  reached: boolean;
  /** The target's round trip (median of the ping replies, else its traceroute hop's). */
  rttMs?: number;
  /** Probe packets the yard sent for this measurement. */
  packets: number;
  elapsedMs: number;
}

/**
 * A measured path as the yard signed it: for lease `leaseId`, started at `at` (unix ms), signed by `yard`, with the
 * asker's `nonce` (0x-hex, 0..32 bytes) and the yard's `seq` (its count of answers signed for this lease, from 1).
 * A verifier that wants a fresh report gives its own nonce to the asker, or bounds `now - at` (PROTOCOL.md).
 */
export interface SignedProbeResult extends ProbeResult {
  leaseId: bigint;
  at: bigint;
  nonce: string;
  seq: bigint;
  /** The operator address that signed (checked against the signature when the asker gave the market's domain). */
  yard: string;
  signature: string;
}

/** EIP-712 types of a yard's signed probe result (primary type `ProbeReport`); a missing rtt is -1. */
export const PROBE_REPORT_TYPES = {
  ProbeReport: [
    { name: "yard", type: "address" },
    { name: "leaseId", type: "uint64" },
    { name: "target", type: "string" },
    { name: "at", type: "uint64" },
    { name: "reached", type: "bool" },
    { name: "rttUs", type: "int64" },
    { name: "packets", type: "uint32" },
    { name: "elapsedMs", type: "uint32" },
    { name: "hops", type: "ProbeHop[]" },
    { name: "nonce", type: "bytes" },
    { name: "seq", type: "uint64" },
  ],
  ProbeHop: [
    { name: "ttl", type: "uint8" },
    { name: "address", type: "string" },
    { name: "rttUs", type: "int64" },
  ],
};

const us = (ms: number | undefined): number | undefined =>
  ms === undefined ? undefined : Math.min(0xffff_ffff, Math.max(0, Math.round(ms * 1000)));

/** The EIP-712 value of `r` (rtts in whole microseconds, as the wire carries them). */
export function probeReportValue(r: Omit<SignedProbeResult, "signature">): Record<string, unknown> {
  return {
    yard: r.yard,
    leaseId: r.leaseId,
    target: r.target,
    at: r.at,
    reached: r.reached,
    rttUs: us(r.rttMs) ?? -1,
    packets: r.packets,
    elapsedMs: r.elapsedMs,
    hops: r.hops.map((h) => ({ ttl: h.ttl, address: h.address ?? "", rttUs: us(h.rttMs) ?? -1 })),
    nonce: r.nonce,
    seq: r.seq,
  };
}

/** The address that signed `r` in `domain` (the market's); throws a ProbeError when the signature is malformed. */
export function probeReportSigner(r: SignedProbeResult, domain: TypedDataDomain): string {
  try {
    return verifyTypedData(domain, PROBE_REPORT_TYPES, probeReportValue(r), r.signature);
  } catch (cause) {
    throw new ProbeError(ProbeErrorCode.BAD_FRAME, "the probe answer's signature is malformed", { cause });
  }
}

/** A refusal from the yard (or of the yard's answer); `retryAfterMs` > 0 says when asking again may succeed. */
export class ProbeError extends IconError {
  override name = "ProbeError" as const;
  readonly probeCode: ProbeErrorCode;
  readonly retryAfterMs: number;
  constructor(code: ProbeErrorCode, message: string, o: { cause?: unknown; retryAfterMs?: number } = {}) {
    super(`PROBE_${ProbeErrorCode[code] ?? code}`, message, { cause: o.cause });
    this.probeCode = code;
    this.retryAfterMs = o.retryAfterMs ?? 0;
  }
}

export type ProbeMessage =
  | { type: "request"; access: LeaseAccess; target: string; maxHops: number; nonce: string }
  | ({ type: "answer" } & SignedProbeResult)
  | { type: "error"; code: ProbeErrorCode; message: string; retryAfterMs: number };

const badFrame = (m: string): ProbeError => new ProbeError(ProbeErrorCode.BAD_FRAME, m);

/** `s` when it is an IPv4 or IPv6 address literal (as written), else throws BAD_FRAME naming `field`. */
function ipLiteral(s: string, field: string): string {
  if (s.length > probeLimits.maxAddressChars || !(isIPv4(s) || isIPv6(s)))
    throw badFrame(`${field} must be an IPv4 or IPv6 address`);
  return s;
}

/** Decodes and validates one frame. */
export function decodeProbeFrame(frame: Uint8Array): ProbeMessage {
  if (frame.length > probeLimits.maxFrameBytes) throw badFrame("frame too large");
  let e: ProbeEnvelope;
  try {
    e = ProbeEnvelope.decode(frame, { limits: { answer: { hops: probeLimits.maxHops } } });
  } catch (cause) {
    throw new ProbeError(ProbeErrorCode.BAD_FRAME, "the frame is not a valid ProbeEnvelope", { cause });
  }
  if (e.request) {
    const a = e.request.access;
    if (!a) throw badFrame("access is required");
    if (a.leaseId <= 0n) throw badFrame("access.leaseId is required");
    if (a.signature.length !== 65) throw badFrame("access.signature must be 65 bytes");
    if (e.request.target.length > probeLimits.maxAddressChars) throw badFrame("target is too long");
    if (e.request.nonce.length > probeLimits.maxNonceBytes)
      throw badFrame(`nonce is at most ${probeLimits.maxNonceBytes} bytes`);
    return {
      type: "request",
      access: { leaseId: a.leaseId, expires: a.expires, signature: hexlify(a.signature) },
      // The target is checked by the yard (a refusal it can explain, BAD_TARGET), not here.
      target: e.request.target,
      maxHops: Math.min(e.request.maxHops, probeLimits.maxHops),
      nonce: hexlify(e.request.nonce),
    };
  }
  if (e.answer) {
    const a = e.answer;
    if (a.hops.length > probeLimits.maxHops) throw badFrame(`an answer carries at most ${probeLimits.maxHops} hops`);
    if (a.yard.length !== 20) throw badFrame("answer.yard must be 20 bytes");
    if (a.signature.length !== 65) throw badFrame("answer.signature must be 65 bytes");
    if (a.nonce.length > probeLimits.maxNonceBytes)
      throw badFrame(`answer.nonce is at most ${probeLimits.maxNonceBytes} bytes`);
    let last = 0;
    const hops = a.hops.map((h): PathHop => {
      if (h.ttl <= last || h.ttl > probeLimits.maxHops) throw badFrame("answer.hops must have increasing ttls 1..64");
      last = h.ttl;
      const hop: PathHop = { ttl: h.ttl };
      if (h.address !== "") hop.address = ipLiteral(h.address, "a hop's address");
      if (h.rttUs !== undefined) hop.rttMs = h.rttUs / 1000;
      return hop;
    });
    const r: SignedProbeResult = {
      leaseId: a.leaseId,
      target: ipLiteral(a.target, "answer.target"),
      at: a.at,
      nonce: hexlify(a.nonce),
      seq: a.seq,
      hops,
      reached: a.reached,
      packets: a.packets,
      elapsedMs: a.elapsedMs,
      yard: getAddress(hexlify(a.yard)),
      signature: hexlify(a.signature),
    };
    if (a.rttUs !== undefined) r.rttMs = a.rttUs / 1000;
    return { type: "answer", ...r };
  }
  if (e.error)
    return {
      type: "error",
      code: e.error.code,
      message: e.error.message.slice(0, 512),
      retryAfterMs: e.error.retryAfterMs,
    };
  throw badFrame("the envelope carries no message this version knows");
}

const bytes = (hex: string): Uint8Array<ArrayBuffer> => Uint8Array.from(getBytes(hex));

/** Encodes one frame. */
export function encodeProbeFrame(m: ProbeMessage): Uint8Array {
  switch (m.type) {
    case "request":
      return ProbeEnvelope.encode({
        request: {
          access: { leaseId: m.access.leaseId, expires: m.access.expires, signature: bytes(m.access.signature) },
          target: m.target,
          maxHops: m.maxHops,
          nonce: bytes(m.nonce),
        },
      });
    case "answer":
      return ProbeEnvelope.encode({
        answer: {
          leaseId: m.leaseId,
          target: m.target,
          at: m.at,
          hops: m.hops.map((h) => ({ ttl: h.ttl, address: h.address ?? "", rttUs: us(h.rttMs) })),
          reached: m.reached,
          rttUs: us(m.rttMs),
          packets: m.packets,
          elapsedMs: m.elapsedMs,
          yard: bytes(m.yard),
          signature: bytes(m.signature),
          nonce: bytes(m.nonce),
          seq: m.seq,
        },
      });
    case "error":
      return ProbeEnvelope.encode({
        error: { code: m.code, message: m.message.slice(0, 512), retryAfterMs: m.retryAfterMs },
      });
  }
}

/**
 * Asks the yard at `yard` to measure the path towards `target` for lease `leaseId` (`access` must be that lease's
 * access, signed for this node's peer id). With `domain` (the market's EIP-712 domain) the answer's signature is
 * checked: it must be by the operator the answer names (and by `operator`, when given). A refusal throws a
 * ProbeError with the yard's code and sentence (`retryAfterMs` when asking later may succeed).
 */
export async function probePath(
  node: Libp2p,
  yard: PeerId | Multiaddr,
  o: {
    leaseId: bigint;
    access: LeaseAccess;
    /** An address literal: sent in its canonical spelling (ip.ts; IPv4-mapped as IPv4), which the answer carries. */
    target: string;
    /** Echoed in the signed answer (0..32 bytes, 0x-hex); absent: 16 random bytes. */
    nonce?: string;
    /** 0 or absent: the yard's own bound. */
    maxHops?: number;
    domain?: TypedDataDomain;
    operator?: string;
    signal?: AbortSignal;
  },
): Promise<SignedProbeResult> {
  if (o.access.leaseId !== o.leaseId)
    throw new ProbeError(ProbeErrorCode.DENIED, `the access is for lease ${o.access.leaseId}, not ${o.leaseId}`);
  const parsed = parseIp(o.target);
  if (!parsed) throw new ProbeError(ProbeErrorCode.BAD_TARGET, `${o.target.slice(0, 64)} is not an IP address`);
  // An IPv4-mapped address (as a dual-stack socket names an IPv4 client) is asked for as the IPv4 address it is.
  const target = inCidr(parsed, "::ffff:0:0/96") ? parsed.bytes.subarray(12).join(".") : parsed.text;
  const nonce = o.nonce ?? hexlify(randomBytes(16));
  if (getBytes(nonce).length > probeLimits.maxNonceBytes)
    throw new ProbeError(ProbeErrorCode.BAD_FRAME, `a nonce is at most ${probeLimits.maxNonceBytes} bytes`);
  const signal = o.signal ?? AbortSignal.timeout(probeLimits.answerMs);
  const stream = await node.dialProtocol(yard, PROBE_PROTOCOL, { signal });
  const lp = lpStream(stream, { maxDataLength: probeLimits.maxFrameBytes });
  try {
    await lp.write(encodeProbeFrame({ type: "request", access: o.access, target, maxHops: o.maxHops ?? 0, nonce }), {
      signal,
    });
    const m = decodeProbeFrame((await lp.read({ signal })).subarray());
    if (m.type === "error") throw new ProbeError(m.code, m.message, { retryAfterMs: m.retryAfterMs });
    if (m.type !== "answer") throw badFrame(`expected an answer, got ${m.type}`);
    if (m.leaseId !== o.leaseId || m.target !== target || m.nonce !== hexlify(getBytes(nonce)))
      throw badFrame(`the answer is for lease ${m.leaseId}, ${m.target} and nonce ${m.nonce}: not what was asked`);
    const { type: _t, ...r } = m;
    if (o.domain) {
      const signer = probeReportSigner(r, o.domain);
      if (signer !== r.yard) throw badFrame(`the answer names operator ${r.yard} but is signed by ${signer}`);
      if (o.operator !== undefined && signer !== getAddress(o.operator))
        throw badFrame(`the answer is signed by ${signer}, not by the yard's operator ${o.operator}`);
    }
    await stream.close().catch(() => stream.abort(new Error("close failed")));
    return r;
  } catch (e) {
    stream.abort(e instanceof Error ? e : new Error(String(e)));
    throw e;
  }
}
