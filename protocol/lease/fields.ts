/**
 * The field checks every lease message is validated with: fixed-size bytes, addresses, minimal big-endian integers,
 * bounded text and lists, service names, round-trip targets and reports, RFQ proofs. Each refuses with a
 * ProtocolError (a RejectCode travels in the Reject). messages.ts builds the messages from them.
 */
import { getAddress, getBytes, hexlify, toBigInt, toBeArray } from "ethers";
import { isIP } from "node:net";
import { IconError } from "../errors.ts";
import {
  RejectCode,
  type RfqProof as WireRfqProof,
  type RttReport as WireRttReport,
} from "../schema/generated/lease.js";
import { leaseLimits } from "./limits.ts";
import type { RfqProof } from "./proof.ts";
import { RttStatus, rttLimits, type RttTarget, type SignedRttReport } from "./rtt.ts";

/** A refusal of the peer's input; `code` travels in a Reject. */
export class ProtocolError extends IconError {
  override name = "ProtocolError" as const;
  readonly reject: RejectCode;
  /** The request id of the refused frame, when its envelope could be read (the refusal echoes it). */
  requestId?: string;
  constructor(reject: RejectCode, message: string, options: { cause?: unknown } = {}) {
    super(`PROTOCOL_${reject}`, message, options);
    this.reject = reject;
  }
}

export const bad = (message: string): ProtocolError => new ProtocolError(RejectCode.BAD_REQUEST, message);

export const UINT96_MAX = (1n << 96n) - 1n;
export const UINT256_MAX = (1n << 256n) - 1n;
export const UINT40_MAX = (1n << 40n) - 1n;
export const UINT64_MAX = (1n << 64n) - 1n;

export function bytesOf(b: Uint8Array | undefined, len: number, field: string): string {
  if (!b || b.length !== len) throw bad(`${field} must be ${len} bytes, got ${b?.length ?? 0}`);
  return hexlify(b);
}
export function address(b: Uint8Array | undefined, field: string): string {
  return getAddress(bytesOf(b, 20, field));
}
export function uint(b: Uint8Array | undefined, max: bigint, field: string): bigint {
  if (!b || b.length === 0) return 0n;
  if (b.length > 32 || b[0] === 0) throw bad(`${field} must be a minimal big-endian integer`);
  const v = toBigInt(b);
  if (v > max) throw bad(`${field} is out of range`);
  return v;
}
export function u64(v: bigint, max: bigint, field: string): bigint {
  if (v < 0n || v > max) throw bad(`${field} is out of range`);
  return v;
}
export function text(s: string, field: string, required = true): string {
  // The generated decoder already refuses malformed UTF-8 (strict TextDecoder); this guards values built locally.
  if (!s.isWellFormed()) throw bad(`${field} is not valid UTF-8`);
  if (required && s.length === 0) throw bad(`${field} is required`);
  if (Buffer.byteLength(s) > leaseLimits.maxStringBytes)
    throw bad(`${field} is longer than ${leaseLimits.maxStringBytes} bytes`);
  return s;
}
export function positive(n: number, field: string, max = 2 ** 32 - 1): number {
  if (!Number.isInteger(n) || n <= 0 || n > max) throw bad(`${field} must be between 1 and ${max}`);
  return n;
}
export function list(xs: string[], field: string): string[] {
  if (xs.length > leaseLimits.maxListEntries) throw bad(`${field} has more than ${leaseLimits.maxListEntries} entries`);
  return xs.map((x, i) => text(x, `${field}[${i}]`));
}

const LABEL = "[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?";
const SERVICE_RE = new RegExp(`^${LABEL}(\\.${LABEL}){3}$`);
const PATTERN_RE = new RegExp(`^(${LABEL}|\\*)(\\.(${LABEL}|\\*)){3}$`);
/** True when `s` is a canonical service key: four lower-case DNS labels `app.appns.service.servicens`. */
export function isServiceKey(s: string): boolean {
  return SERVICE_RE.test(s);
}
/** A service name: four DNS labels `app.appns.service.servicens`. */
export function serviceName(s: string, field: string): string {
  if (!SERVICE_RE.test(s)) throw bad(`${field} must be app.appns.service.servicens (four lower-case DNS labels)`);
  return s;
}
export function servicePattern(s: string, field: string): string {
  if (!PATTERN_RE.test(s)) throw bad(`${field} must be four labels app.appns.service.servicens, each may be *`);
  return s;
}

/** Encodes an unsigned integer as minimal big-endian bytes (empty for zero). */
export function uintBytes(v: bigint): Uint8Array<ArrayBuffer> {
  return v === 0n ? new Uint8Array() : Uint8Array.from(toBeArray(v));
}

/** A subnet in CIDR form and an address literal (whether one lies in the other is the yard's check). */
export function rttTarget(t: { subnet: string; target: string }, i: number): RttTarget {
  const slash = t.subnet.lastIndexOf("/");
  if (t.subnet.length > rttLimits.maxChars || slash < 0 || isIP(t.subnet.slice(0, slash)) === 0)
    throw bad(`rttTargets[${i}].subnet must be an address/prefix`);
  if (t.target.length > rttLimits.maxChars || isIP(t.target) === 0)
    throw bad(`rttTargets[${i}].target must be an IPv4 or IPv6 address`);
  return { subnet: t.subnet, target: t.target };
}

export function rttReport(r: WireRttReport): SignedRttReport {
  if (!(r.status in RttStatus) || r.status === RttStatus.RTT_UNSPECIFIED) throw bad("rtt.status is unknown");
  if (r.figures.length > rttLimits.maxTargets) throw bad(`rtt carries at most ${rttLimits.maxTargets} figures`);
  if (r.peer.length === 0 || r.peer.length > 128) throw bad("rtt.peer must be a peer id");
  return {
    status: r.status,
    at: u64(r.at, UINT64_MAX, "rtt.at"),
    peer: hexlify(r.peer),
    figures: r.figures.map((f, i) => ({
      ...rttTarget(f, i),
      ...(f.rttUs === undefined ? {} : { rttMs: f.rttUs / 1000 }),
    })),
    yard: address(r.yard, "rtt.yard"),
    signature: bytesOf(r.signature, 65, "rtt.signature"),
  };
}

export function rfqProof(p: WireRfqProof): RfqProof {
  if (p.peerId.length === 0 || p.peerId.length > 128) throw bad("proof.peerId must be 1..128 bytes");
  if (p.signature.length < 65 || p.signature.length > 2048) throw bad("proof.signature must be 65..2048 bytes");
  return {
    signer: address(p.signer, "proof.signer"),
    chainId: u64(p.chainId, UINT64_MAX, "proof.chainId"),
    market: address(p.market, "proof.market"),
    peerId: hexlify(p.peerId),
    expiry: u64(p.expiry, UINT64_MAX, "proof.expiry"),
    signature: hexlify(p.signature),
  };
}

/** Hex to bytes, refusing malformed hex (ethers' getBytes throws) instead of silently shortening it. */
export function toBytes(hex: string): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(getBytes(hex));
}
