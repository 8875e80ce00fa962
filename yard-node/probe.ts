/**
 * The yard's side of /icon/probe/1.0.0 (protocol/yard/probe.ts): a lease holder asks for the network path from
 * this yard towards one address of its clients (eDisco's tomography, and a measured l_ij), answered with the
 * operator's EIP-712 signature over the result.
 *
 * Who may ask, and what:
 *  - only the holder of a lease running here (the LeaseAccess of services.ts: the account's controller or the
 *    app's owner, bound to this stream's peer id — access.ts);
 *  - only towards an address inside a subnet that was a client of that lease within `clientRecentS`, seen by this
 *    yard itself (the overlay's flow records of that lease, overlay/flows.ts, `directAt`: not a subnet only named
 *    by an active yard's tunnel header): a yard does not trace arbitrary networks for anyone;
 *  - only the canonical spelling of the address (protocol/yard/ip.ts), measured and signed under that one text;
 *  - never an unspecified, loopback, link-local, multicast or reserved address, an IPv6 form of an IPv4 address,
 *    the client subnet's network or broadcast address, or one of the yard's own addresses and ranges (`own`).
 * The answer signs the asker's nonce and the lease's answer count (`seq`) with the result (PROTOCOL.md).
 * Bounds: per lease a bucket of `perLeaseBurst` probes refilled one per `perLeaseEveryS` (the refusal says when to
 * come back), one probe in flight per lease and per peer, `maxConcurrent` measuring at once in all, a small
 * request rate per peer before any signature is checked, `maxInboundStreams` per connection, and `timeoutS` per
 * measurement (its tools are killed after it). A refusal is a code and a sentence (ProbeError on the asking side).
 */
import type { Connection, Libp2p, PeerId, Startable, Stream } from "@libp2p/interface";
import { lpStream } from "@libp2p/utils";
import type { Signer, TypedDataDomain } from "ethers";
import {
  PROBE_PROTOCOL,
  PROBE_REPORT_TYPES,
  ProbeError,
  ProbeErrorCode,
  YardErrorCode,
  YardServiceError,
  decodeProbeFrame,
  encodeProbeFrame,
  hostBitsAll,
  inCidr,
  parseIp,
  specialAddress,
  probeLimits,
  probeReportValue,
  type LeaseAccess,
  type ProbeMessage,
  type SignedProbeResult,
} from "../protocol/index.ts";
import type { Logger } from "../protocol/log.ts";
import type { Authorize } from "./access.ts";
import type { YardConfig } from "./config.ts";
import type { YardMetrics } from "./yard-metrics.ts";
import type { FlowStats } from "./overlay/flows.ts";
import { MeasureFailed, measurePath, type MeasureOptions, type Measurement } from "./probe-measure.ts";

export interface ProbeServiceOptions {
  config: YardConfig["probe"];
  /** Checks a LeaseAccess against the stream's peer (access.ts). */
  authorize: Authorize;
  /** Whether lease `leaseId` runs here now (deployed, its container running). */
  running: (leaseId: bigint) => boolean;
  /** The lease's client subnets as the overlay observed them (overlay/flows.ts). */
  clients: (leaseId: bigint) => FlowStats[];
  /** This yard's own addresses and ranges (addresses or CIDRs: its listeners, container bridge, service range). */
  own?: () => readonly string[] | Promise<readonly string[]>;
  /** The operator key (signs the answers, as it signs quotes) and its address. */
  signer: Pick<Signer, "signTypedData">;
  operator: string;
  /** The market's EIP-712 domain. */
  domain: () => TypedDataDomain;
  log: Logger;
  metrics: YardMetrics;
  /** The measurement (probe-measure.ts); replaced only by tests that inject a fault. */
  measure?: (target: string, o: MeasureOptions) => Promise<Measurement>;
  /** Wall clock in ms. */
  now?: () => number;
}

/** What the probe service uses of the node: its protocol registrar. */
export interface ProbeServiceComponents {
  registrar: Pick<Libp2p, "handle" | "unhandle">;
}

/** Requests one peer may send in a burst, and per second after it, before any signature is checked. */
const PEER_BURST = 20;
const PEER_PER_S = 2;
/** Streams one connection may have open on this protocol. */
const STREAMS_PER_CONNECTION = 4;
/** How long an unfinished exchange may wait for its answer to be written. */
const WRITE_MS = 10_000;

/** A token bucket per key that says how long until the next token(s). */
export class Buckets {
  readonly #b = new Map<string, { tokens: number; at: number }>();
  readonly #perMs: number;
  readonly #burst: number;
  constructor(perMs: number, burst: number) {
    this.#perMs = perMs;
    this.#burst = burst;
  }
  /** Takes `n` tokens of `key`: 0 when taken, else the ms until they are there. */
  take(key: string, now: number, n = 1): number {
    const b = this.#b.get(key) ?? { tokens: this.#burst, at: now };
    b.tokens = Math.min(this.#burst, b.tokens + Math.max(0, now - b.at) * this.#perMs);
    b.at = Math.max(b.at, now);
    this.#b.delete(key);
    this.#b.set(key, b); // the map's order is recency
    if (this.#b.size > 10_000) this.#b.delete(this.#b.keys().next().value!);
    if (b.tokens >= n) {
      b.tokens -= n;
      return 0;
    }
    return Math.ceil((n - b.tokens) / this.#perMs);
  }
}

/** Why the address `text` is never probed or measured (not an address, a zone, or a special one), or undefined. */
export function unprobeable(text: string): string | undefined {
  if (text.includes("%")) return "an address with a zone (an interface of this host's)";
  const ip = parseIp(text);
  return ip ? specialAddress(ip) : "not an IP address";
}

/** Whether `ip` lies in `subnet` (`a.b.c.0/24`, `x:x:x::/48`, as flows.ts writes them). */
export function inSubnet(ip: string, subnet: string): boolean {
  const p = parseIp(ip);
  return p !== undefined && inCidr(p, subnet);
}

/** The probe service as a libp2p service in the js-libp2p shape (handler registered at start, unregistered at stop). */
export function probeService(init: ProbeServiceOptions): (components: ProbeServiceComponents) => Startable {
  return ({ registrar }) => {
    const c = init.config;
    const now = init.now ?? Date.now;
    const measure = init.measure ?? measurePath;
    const leases = new Buckets(1 / (c.perLeaseEveryS * 1000), c.perLeaseBurst);
    const peers = new Buckets(PEER_PER_S / 1000, PEER_BURST);
    /** Leases and peers with a probe in flight. */
    const busyLeases = new Set<bigint>();
    const busyPeers = new Set<string>();
    let measuring = 0;
    /** Answers signed per lease since this process started (the signed `seq`). */
    const seqs = new Map<bigint, bigint>();
    const stopping = new AbortController();
    const log = init.log;

    const refuse = (code: ProbeErrorCode, message: string, retryAfterMs = 0): ProbeError =>
      new ProbeError(code, message, { retryAfterMs });

    /** The lease holder's check, its refusals as this protocol's codes. */
    async function authorize(access: LeaseAccess, remote: PeerId): Promise<void> {
      try {
        await init.authorize(access, remote);
      } catch (e) {
        if (e instanceof YardServiceError)
          throw refuse(
            e.yardCode === YardErrorCode.UNKNOWN_LEASE ? ProbeErrorCode.UNKNOWN_LEASE : ProbeErrorCode.DENIED,
            e.message,
          );
        log.warn("probe: the lease holder could not be checked", { error: e });
        throw refuse(ProbeErrorCode.INTERNAL, "the yard could not check the lease holder (chain); retry shortly", 5000);
      }
    }

    /**
     * Refuses a target that is not the canonical spelling of a host address in a subnet this yard itself saw as a
     * recent client of `leaseId` (not only named by another yard's tunnel header: `directAt`).
     */
    async function checkTarget(leaseId: bigint, target: string): Promise<void> {
      const bad = (why: string): ProbeError =>
        refuse(ProbeErrorCode.BAD_TARGET, `${target.slice(0, 64)} is ${why}: it is never probed`);
      const ip = parseIp(target);
      if (!ip) throw bad("not an IP address literal");
      const why = specialAddress(ip);
      if (why) throw bad(why);
      if (ip.text !== target)
        throw refuse(ProbeErrorCode.BAD_TARGET, `${target} is not written canonically: ask for ${ip.text}`);
      const own = (await init.own?.()) ?? [];
      if (own.some((c) => inCidr(ip, c))) throw bad("an address of this yard's own");
      const since = now() - c.clientRecentS * 1000;
      const subnets = init.clients(leaseId).filter((f) => f.directAt >= since);
      const home = subnets.find((f) => inCidr(ip, f.subnet));
      const prefix = home ? Number(home.subnet.slice(home.subnet.indexOf("/") + 1)) : 0;
      if (home && (hostBitsAll(ip, prefix, false) || (ip.v4 && hostBitsAll(ip, prefix, true))))
        throw bad(`the network or broadcast address of ${home.subnet}`);
      if (!home)
        throw refuse(
          ProbeErrorCode.NOT_A_CLIENT,
          `${target} is in no subnet that was a client of lease ${leaseId} here in the last ${c.clientRecentS} s ` +
            `(${subnets.length} were): a yard probes only towards its lease's own clients`,
        );
    }

    async function answer(m: ProbeMessage, remote: PeerId): Promise<ProbeMessage> {
      if (m.type !== "request") throw refuse(ProbeErrorCode.BAD_FRAME, `expected a request, got ${m.type}`);
      const leaseId = m.access.leaseId;
      await authorize(m.access, remote);
      if (!init.running(leaseId))
        throw refuse(
          ProbeErrorCode.NOT_RUNNING,
          `lease ${leaseId} is not running here now: only a running lease may probe`,
        );
      await checkTarget(leaseId, m.target);
      if (busyLeases.has(leaseId))
        throw refuse(ProbeErrorCode.BUSY, `a probe of lease ${leaseId} is under way: wait for its answer`, 1000);
      if (measuring >= c.maxConcurrent)
        throw refuse(ProbeErrorCode.BUSY, `this yard measures ${c.maxConcurrent} paths at once: retry shortly`, 1000);
      const wait = leases.take(leaseId.toString(), now());
      if (wait > 0)
        throw refuse(
          ProbeErrorCode.RATE_LIMITED,
          `lease ${leaseId} may probe ${c.perLeaseBurst} times at once and once every ${c.perLeaseEveryS} s after: retry in ${Math.ceil(wait / 1000)} s`,
          wait,
        );
      const maxHops = m.maxHops > 0 ? Math.min(m.maxHops, c.maxHops) : c.maxHops;
      busyLeases.add(leaseId);
      init.metrics.set("icon_yard_probes_measuring", ++measuring);
      const at = now();
      try {
        const found = await measure(m.target, {
          maxHops,
          timeoutMs: c.timeoutS * 1000,
          ...(c.netns ? { netns: c.netns } : {}),
          signal: stopping.signal,
        });
        const seq = (seqs.get(leaseId) ?? 0n) + 1n;
        seqs.delete(leaseId);
        seqs.set(leaseId, seq);
        if (seqs.size > 10_000) seqs.delete(seqs.keys().next().value!);
        const r: Omit<SignedProbeResult, "signature"> = {
          leaseId,
          target: m.target,
          at: BigInt(at),
          nonce: m.nonce,
          seq,
          hops: found.hops.slice(0, probeLimits.maxHops),
          reached: found.reached,
          ...(found.rttMs === undefined ? {} : { rttMs: found.rttMs }),
          packets: found.packets,
          elapsedMs: Math.max(0, Math.round(now() - at)),
          yard: init.operator,
        };
        // Signed as the wire carries it (rtts in whole microseconds), so that the asker's check matches.
        const wire = decodeProbeFrame(encodeProbeFrame({ type: "answer", ...r, signature: "0x" + "00".repeat(65) }));
        if (wire.type !== "answer") throw new Error("an answer did not survive its own codec");
        const { type: _t, signature: _s, ...signed } = wire;
        const signature = await init.signer.signTypedData(init.domain(), PROBE_REPORT_TYPES, probeReportValue(signed));
        log.info("path probed", {
          lease: leaseId,
          target: m.target,
          hops: signed.hops.length,
          reached: signed.reached,
          rttMs: signed.rttMs,
          packets: signed.packets,
          ms: signed.elapsedMs,
        });
        init.metrics.inc("icon_yard_probe_packets_total", {}, signed.packets);
        return { type: "answer", ...signed, signature };
      } catch (e) {
        if (e instanceof MeasureFailed) {
          log.warn("probe: the measurement failed", { error: e.message, lease: leaseId });
          // The tool's own words name the host's paths and set-up: for the operator's log, not for the tenant.
          throw refuse(
            ProbeErrorCode.FAILED,
            "the measurement could not run at this yard (its operator's log says why)",
          );
        }
        throw e;
      } finally {
        busyLeases.delete(leaseId);
        init.metrics.set("icon_yard_probes_measuring", --measuring);
      }
    }

    async function handle(stream: Stream, connection: Pick<Connection, "remotePeer">): Promise<void> {
      const lp = lpStream(stream, { maxDataLength: probeLimits.maxFrameBytes });
      const peer = connection.remotePeer.toString();
      const write = (m: ProbeMessage): Promise<void> =>
        lp.write(encodeProbeFrame(m), { signal: AbortSignal.timeout(WRITE_MS) });
      let mine = false;
      try {
        if (!c.enabled) throw refuse(ProbeErrorCode.DISABLED, "this yard does not probe paths");
        const wait = peers.take(peer, now());
        if (wait > 0)
          throw refuse(
            ProbeErrorCode.BUSY,
            `more than ${PEER_BURST} probe requests at once and ${PEER_PER_S} a second after from you: slow down`,
            wait,
          );
        if (busyPeers.has(peer))
          throw refuse(ProbeErrorCode.BUSY, "a probe of yours is under way here: wait for its answer", 1000);
        busyPeers.add(peer);
        mine = true;
        let frame: Uint8Array;
        try {
          const signal = AbortSignal.any([AbortSignal.timeout(probeLimits.requestMs), stopping.signal]);
          frame = (await lp.read({ signal })).subarray();
        } catch (cause) {
          throw new ProbeError(
            ProbeErrorCode.BAD_FRAME,
            `no request frame (at most ${probeLimits.maxFrameBytes} bytes) within ${probeLimits.requestMs / 1000} s`,
            { cause },
          );
        }
        const m = decodeProbeFrame(frame);
        await write(await answer(m, connection.remotePeer));
        init.metrics.inc("icon_yard_probes_total", { outcome: "answered" });
        await stream.close();
      } catch (e) {
        const known = e instanceof ProbeError;
        const outcome = known ? (ProbeErrorCode[e.probeCode] ?? "unknown").toLowerCase() : "internal";
        init.metrics.inc("icon_yard_probes_total", { outcome });
        if (!known) log.debug("probe request failed", { error: e, peer });
        try {
          await write({
            type: "error",
            code: known ? e.probeCode : ProbeErrorCode.INTERNAL,
            message: known ? e.message : "the yard failed while probing",
            retryAfterMs: known ? e.retryAfterMs : 0,
          });
          await stream.close();
        } catch {
          stream.abort(e instanceof Error ? e : new Error(String(e)));
        }
      } finally {
        if (mine) busyPeers.delete(peer);
      }
    }

    return {
      start: async () => {
        await registrar.handle(PROBE_PROTOCOL, handle, { maxInboundStreams: STREAMS_PER_CONNECTION });
      },
      stop: async () => {
        stopping.abort(new Error("the yard is stopping"));
        await registrar.unhandle(PROBE_PROTOCOL);
      },
    };
  };
}
