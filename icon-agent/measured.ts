/**
 * A candidate's measured l_ij (issue 17, item 3): during discovery the ICON names its busiest client subnets in
 * each yard's capacity query (`rttTargets`: the subnet's latest client as telemetry names it, else its .1); the
 * yard answers with its round trips towards them, signed by its operator and bound to this ICON's peer id
 * (protocol/lease/rtt.ts). A report is used only when that signature checks out against the operator the yard's
 * peer binding names and it answers exactly what was asked; the figures are kept per (yard, subnet) for
 * {@link RTT_TTL_MS}, and observation.ts's `latencies` uses them for that yard before the ALTO map.
 *
 * @example
 *   const targets = rttTargetsOf(flows, idleRate);          // ≤ 8, busiest first
 *   const y = await probeYard(node, client, addrs, undefined, targets);
 *   if (y.rtt) cache.put(y.peerId, y.rtt);
 *   cache.rttMs(y.peerId, "198.19.9.0/24");                  // 11.8, or undefined
 */
import { getBytes, type TypedDataDomain } from "ethers";
import type { PeerId } from "@libp2p/interface";
import {
  RttStatus,
  firstHost,
  parseIp,
  rttLimits,
  rttReportSigner,
  specialAddress,
  type RttTarget,
  type SignedRttReport,
} from "../protocol/index.ts";
import type { Observed } from "./observation.ts";

/** How long a measured round trip stands in for the candidate's l_ij. */
export const RTT_TTL_MS = 5 * 60_000;
/** Figures kept at most (yards × subnets), the oldest forgotten first. */
const MAX_ENTRIES = 4096;

/** A checked report: round trips by subnet (absent: the target did not answer) and when they were measured. */
export interface MeasuredAt {
  at: number;
  rttMs: Record<string, number | undefined>;
}

/** The targets for a capacity query: the busiest subnets above `idleRate`, each with its latest client or its .1. */
export function rttTargetsOf(flows: Observed[], idleRate: number): RttTarget[] {
  return (
    flows
      .filter((f) => f.rate > idleRate && /^\d+\.\d+\.\d+\.0\/\d+$/.test(f.subnet))
      .sort((a, b) => b.rate - a.rate)
      .map((f) => ({ subnet: f.subnet, target: f.client ?? firstHost(f.subnet) }))
      // A yard refuses a query naming a special address (loopback, link-local, …): such a subnet is not asked about.
      .filter((t) => {
        const ip = parseIp(t.target);
        return ip !== undefined && specialAddress(ip) === undefined;
      })
      .slice(0, rttLimits.maxTargets)
  );
}

/**
 * Checks `r` against what was asked: signed by `operator` in `domain` over this ICON's peer id, one figure per
 * target in order. Over budget, disabled or failed at the yard is said as an error (no figures to use).
 */
export function checkRttReport(
  r: SignedRttReport | undefined,
  o: { operator: string; asker: PeerId; asked: RttTarget[]; domain: TypedDataDomain },
): MeasuredAt | { error: string } {
  if (!r) return { error: "the yard sent no round-trip report (it does not measure)" };
  const signer = rttReportSigner(r, o.domain);
  if (!signer || signer.toLowerCase() !== o.operator.toLowerCase() || r.yard.toLowerCase() !== signer.toLowerCase())
    return { error: "its round-trip report is not signed by its operator: not used" };
  if (getBytes(r.peer).join() !== o.asker.toMultihash().bytes.join())
    return { error: "its round-trip report was made for another peer: not used" };
  if (r.status !== RttStatus.RTT_MEASURED)
    return {
      error: `no round trips measured: ${(RttStatus[r.status] ?? "unknown").replace(/^RTT_/, "").toLowerCase()}`,
    };
  if (
    r.figures.length !== o.asked.length ||
    r.figures.some((f, i) => f.subnet !== o.asked[i]!.subnet || f.target !== o.asked[i]!.target)
  )
    return { error: "its round-trip report answers other targets than asked: not used" };
  const rttMs: Record<string, number | undefined> = {};
  for (const f of r.figures) rttMs[f.subnet] = f.rttMs;
  // Fresh from now on this host's clock (the yard's `at` is signed, but its clock is not this ICON's).
  return { at: Date.now(), rttMs };
}

/** Measured round trips per (yard, subnet), each for {@link RTT_TTL_MS}. */
export class MeasuredRtts {
  readonly #m = new Map<string, { rttMs: number; at: number }>();
  readonly #now: () => number;
  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** Keeps the figures of `peerId`'s report (a target that did not answer forgets that subnet's figure). */
  put(peerId: string, m: MeasuredAt): void {
    const at = m.at;
    for (const [subnet, rtt] of Object.entries(m.rttMs)) {
      const key = `${peerId} ${subnet}`;
      this.#m.delete(key);
      if (rtt !== undefined && Number.isFinite(rtt)) this.#m.set(key, { rttMs: rtt, at });
    }
    while (this.#m.size > MAX_ENTRIES) this.#m.delete(this.#m.keys().next().value!);
  }

  /** `peerId`'s measured round trip towards `subnet`, while fresh. */
  rttMs(peerId: string, subnet: string): number | undefined {
    const e = this.#m.get(`${peerId} ${subnet}`);
    return e && this.#now() - e.at <= RTT_TTL_MS ? e.rttMs : undefined;
  }
}
