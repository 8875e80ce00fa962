/**
 * The yard's side of measured round trips (protocol/lease/rtt.ts): a CapacityQuery naming client subnets gets the
 * yard's round trip towards each, signed by the operator and bound to the asker's peer id — a candidate's measured
 * l_ij for an ICON deciding where to move, before any RFQ (no chain read, no capacity held).
 *
 * Anyone may ask, so this turns the yard into a pinger for strangers; the bounds:
 *  - targets: an address literal inside its stated subnet (IPv4 prefix ≥ 16, IPv6 ≥ 32), never unspecified,
 *    loopback, link-local, multicast, broadcast or reserved, nor IPv4 written as IPv6 (a query with one such
 *    target is refused whole, BAD_REQUEST, before anything is sent);
 *  - per peer a bucket of `rttPerPeerBurst` measured queries refilled one per `rttPerPeerEveryS`;
 *  - all peers together a bucket of `rttPacketsPerS` echo requests a second (each target costs 3);
 *  - one measured query per peer at once; every ping in parallel, killed after {@link RTT_TIMEOUT_MS}.
 * Over a budget the answer still comes, with status RTT_OVER_BUDGET and no figures: the capacity answer (and a
 * later quote) never depends on it.
 *
 * Figures are the median of 3 echo replies (probe-measure.ts `measureRtt`, the probe service's runner): robust to
 * one delayed or lost echo, and the same statistic as the probe service's, so the two can be compared.
 */
import { hexlify, type Signer, type TypedDataDomain } from "ethers";
import type { PeerId } from "@libp2p/interface";
import { isIPv4 } from "node:net";
import {
  ProtocolError,
  RejectCode,
  RTT_REPORT_TYPES,
  RttStatus,
  rttReportValue,
  rttUs,
  type RttFigure,
  type RttTarget,
  type SignedRttReport,
} from "../protocol/index.ts";
import type { Logger } from "../protocol/log.ts";
import type { YardConfig } from "./config.ts";
import type { YardMetrics } from "./yard-metrics.ts";
import { Buckets, inSubnet, unprobeable } from "./probe.ts";
import { MeasureFailed, PING_COUNT, measureRtt, type MeasureOptions } from "./probe-measure.ts";

/** The whole measurement's time bound (pings in parallel: 3 echoes 0.2 s apart, 1 s wait for the last). */
export const RTT_TIMEOUT_MS = 3000;

export interface RttServiceOptions {
  config: Pick<YardConfig["probe"], "rttEnabled" | "rttPerPeerBurst" | "rttPerPeerEveryS" | "rttPacketsPerS"> & {
    netns?: string;
  };
  signer: Pick<Signer, "signTypedData">;
  operator: string;
  domain: () => TypedDataDomain;
  log: Logger;
  metrics: Pick<YardMetrics, "inc">;
  /** The measurement; replaced only by tests that inject a fault. */
  measure?: (
    target: string,
    o: Pick<MeasureOptions, "timeoutMs" | "netns">,
  ) => Promise<{ rttMs?: number; packets: number }>;
  now?: () => number;
}

/** Why `t` is never measured, or undefined. */
export function badRttTarget(t: RttTarget): string | undefined {
  const why = unprobeable(t.target);
  if (why) return `${t.target} is ${why}`;
  // (unprobeable already refuses loopback, unspecified, broadcast and the mapped/compatible/NAT64 forms.)
  if (!isIPv4(t.target) && t.target.includes("."))
    return `${t.target} is an IPv4 address written as IPv6: name it as IPv4`;
  const prefix = Number(t.subnet.slice(t.subnet.lastIndexOf("/") + 1));
  if (!Number.isInteger(prefix) || prefix < (isIPv4(t.target) ? 16 : 32))
    return `${t.subnet} is wider than a client subnet (at least /16 for IPv4, /32 for IPv6)`;
  if (!inSubnet(t.target, t.subnet)) return `${t.target} is not in ${t.subnet}`;
  return undefined;
}

export class RttService {
  readonly #o: RttServiceOptions;
  readonly #peers: Buckets;
  readonly #packets: Buckets;
  readonly #busy = new Set<string>();
  readonly #now: () => number;

  constructor(o: RttServiceOptions) {
    this.#o = o;
    const c = o.config;
    this.#peers = new Buckets(1 / (c.rttPerPeerEveryS * 1000), c.rttPerPeerBurst);
    this.#packets = new Buckets(c.rttPacketsPerS / 1000, Math.max(c.rttPacketsPerS, 8 * PING_COUNT));
    this.#now = o.now ?? Date.now;
  }

  /** The signed report for `targets` asked by `peer`; throws a BAD_REQUEST ProtocolError for a bad target. */
  async report(targets: RttTarget[], peer: PeerId): Promise<SignedRttReport> {
    const { metrics, config: c } = this.#o;
    for (const t of targets) {
      const why = badRttTarget(t);
      if (why) {
        metrics.inc("icon_yard_rtt_queries_total", { outcome: "bad_target" });
        throw new ProtocolError(RejectCode.BAD_REQUEST, `rtt target refused: ${why}; nothing was measured`);
      }
    }
    const key = peer.toString();
    const at = this.#now();
    let status = RttStatus.RTT_MEASURED;
    let figures: RttFigure[] = [];
    if (!c.rttEnabled) status = RttStatus.RTT_DISABLED;
    else if (this.#busy.has(key) || this.#peers.take(key, at) > 0) status = RttStatus.RTT_OVER_BUDGET;
    else if (this.#packets.take("*", at, targets.length * PING_COUNT) > 0) status = RttStatus.RTT_OVER_BUDGET;
    if (status === RttStatus.RTT_MEASURED) {
      this.#busy.add(key);
      try {
        figures = await this.#measure(targets);
      } catch (e) {
        if (!(e instanceof MeasureFailed)) throw e;
        this.#o.log.warn("rtt: the measurement failed", { error: e.message });
        status = RttStatus.RTT_FAILED;
      } finally {
        this.#busy.delete(key);
      }
    }
    metrics.inc("icon_yard_rtt_queries_total", {
      outcome: (RttStatus[status] ?? "unknown").replace(/^RTT_/, "").toLowerCase(),
    });
    const r = {
      status,
      at: BigInt(at),
      peer: hexlify(peer.toMultihash().bytes),
      // As the wire carries them (whole microseconds), so that the asker's check matches.
      figures: figures.map((f) => {
        const us = rttUs(f.rttMs);
        return { subnet: f.subnet, target: f.target, ...(us === undefined ? {} : { rttMs: us / 1000 }) };
      }),
      yard: this.#o.operator,
    };
    const signature = await this.#o.signer.signTypedData(this.#o.domain(), RTT_REPORT_TYPES, rttReportValue(r));
    return { ...r, signature };
  }

  /** Every target pinged at once; a target whose ping could not run fails the whole measurement. */
  async #measure(targets: RttTarget[]): Promise<RttFigure[]> {
    const measure = this.#o.measure ?? measureRtt;
    const netns = this.#o.config.netns;
    const results = await Promise.allSettled(
      targets.map((t) => measure(t.target, { timeoutMs: RTT_TIMEOUT_MS, ...(netns ? { netns } : {}) })),
    );
    let packets = 0;
    const out: RttFigure[] = [];
    let failed: unknown;
    results.forEach((r, i) => {
      if (r.status === "rejected") failed ??= r.reason;
      else {
        packets += r.value.packets;
        out.push({ ...targets[i]!, ...(r.value.rttMs === undefined ? {} : { rttMs: r.value.rttMs }) });
      }
    });
    this.#o.metrics.inc("icon_yard_rtt_packets_total", {}, packets);
    if (failed !== undefined) throw failed;
    this.#o.log.info("round trips measured", { targets: out.length, packets });
    return out;
  }
}
