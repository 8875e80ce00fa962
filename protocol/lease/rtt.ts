/**
 * Measured round trips from a candidate yard towards an ICON's client subnets (issue 17, item 3): a CapacityQuery
 * may name up to {@link rttLimits.maxTargets} subnets, each with one address to ping; the CapacityAnswer then carries
 * an RttReport — the yard's figures (or why there are none) signed by its operator (EIP-712 `RttReport` in the
 * market's domain, the key that signs its quotes) and bound to the asker's peer id, so that an ICON trusts only
 * figures the yard stands behind, and no other peer can pass them off as its own.
 *
 * @example
 *   const a = await session.request({ type: "capacityQuery", rttTargets: [{ subnet: "198.19.9.0/24", target: "198.19.9.10" }] });
 *   const signer = rttReportSigner(a.answer.rtt!, domain);  // must be the operator the binding names
 */
import { verifyTypedData, type TypedDataDomain } from "ethers";
import { RttStatus } from "../schema/generated/lease.js";

export { RttStatus };

export const rttLimits = {
  /** Subnets one query may name (an ICON's busiest; more would make every query a sweep). */
  maxTargets: 8,
  /** A subnet or address as text (the longest IPv6 CIDR is 43 characters). */
  maxChars: 64,
};

/** One client subnet and the address in it to ping. */
export interface RttTarget {
  subnet: string;
  target: string;
}

/** One measured round trip; `rttMs` absent when no echo reply came. */
export interface RttFigure extends RttTarget {
  rttMs?: number;
}

/** What the yard signs. */
export interface RttReport {
  status: RttStatus;
  /** Unix ms when the measurement started. */
  at: bigint;
  /** The asker's peer id: 0x-hex of its multihash bytes (`peerId.toMultihash().bytes`). */
  peer: string;
  figures: RttFigure[];
  /** The operator's address (the signer). */
  yard: string;
}

export interface SignedRttReport extends RttReport {
  signature: string;
}

/** The EIP-712 types of a report (market domain). */
export const RTT_REPORT_TYPES = {
  RttReport: [
    { name: "yard", type: "address" },
    { name: "peer", type: "bytes" },
    { name: "at", type: "uint64" },
    { name: "status", type: "uint8" },
    { name: "figures", type: "RttFigure[]" },
  ],
  RttFigure: [
    { name: "subnet", type: "string" },
    { name: "target", type: "string" },
    { name: "rttUs", type: "int64" },
  ],
};

/** A status's number in lease.proto (what is signed). */
export const RTT_STATUS_NUMBER: Record<RttStatus, number> = {
  [RttStatus.RTT_UNSPECIFIED]: 0,
  [RttStatus.RTT_MEASURED]: 1,
  [RttStatus.RTT_OVER_BUDGET]: 2,
  [RttStatus.RTT_DISABLED]: 3,
  [RttStatus.RTT_FAILED]: 4,
};

/** Milliseconds as the wire's whole microseconds (what is signed). */
export const rttUs = (ms: number | undefined): number | undefined =>
  ms === undefined ? undefined : Math.min(0xffff_ffff, Math.max(0, Math.round(ms * 1000)));

/** The EIP-712 value of `r` (rtts in whole microseconds, as the wire carries them). */
export function rttReportValue(r: RttReport): Record<string, unknown> {
  return {
    yard: r.yard,
    peer: r.peer,
    at: r.at,
    status: RTT_STATUS_NUMBER[r.status],
    figures: r.figures.map((f) => ({ subnet: f.subnet, target: f.target, rttUs: rttUs(f.rttMs) ?? -1 })),
  };
}

/** The address that signed `r` in `domain`, or undefined when the signature is malformed. */
export function rttReportSigner(r: SignedRttReport, domain: TypedDataDomain): string | undefined {
  try {
    return verifyTypedData(domain, RTT_REPORT_TYPES, rttReportValue(r), r.signature);
  } catch {
    return undefined;
  }
}
