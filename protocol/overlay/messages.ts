/**
 * The overlay's messages (schema: protocol/schema/overlay.proto): telemetry and routing rules between a lease
 * holder and its yard, and the route table query between yards. Decoding validates every field; requests are
 * one frame each way on a fresh stream.
 *
 * @example
 *   const flows = await readTelemetry(node, yard, { access });
 *   await setRouting(node, yard, { access, redirects: [{ subnet: "10.1.0.0/24", location: "http://edge-a:8080" }] });
 */
import { isIP } from "node:net";
import { getBytes, hexlify } from "ethers";
import type { Libp2p, PeerId } from "@libp2p/interface";
import type { Multiaddr } from "@multiformats/multiaddr";
import { lpStream } from "@libp2p/utils";
import { IconError } from "../errors.ts";
import { OverlayEnvelope, OverlayErrorCode } from "../schema/generated/overlay.js";
import type { LeaseAccess } from "../yard/services.ts";

export { OverlayErrorCode };

export const TELEMETRY_PROTOCOL = "/icon/telemetry/1.0.0";
export const ROUTING_PROTOCOL = "/icon/routing/1.0.0";
export const ROUTES_PROTOCOL = "/icon/routes/1.0.0";

export const overlayLimits = {
  maxFrameBytes: 64 * 1024,
  maxFlows: 256,
  maxRedirects: 64,
  maxInstances: 256,
  maxAddrs: 8,
  maxStringBytes: 512,
  maxGraceS: 24 * 3600,
} as const;

export interface SubnetFlow {
  subnet: string;
  /** requests per second */
  rate: number;
  /** ms; NaN when not measured */
  latencyMs: number;
  requests: bigint;
  /** The most recent client address seen in the subnet (for reverse-DNS discovery); "" when not given. */
  client: string;
  /** The network round trip to the subnet's clients, ms, from the yard's kernel (TCP's estimate of their
   * connections); NaN or absent when not measured. */
  rttMs?: number;
}

export interface Redirect {
  subnet: string;
  location: string;
}

export interface Stub {
  yard: string;
  addrs: string[];
  instanceId: bigint;
  endpoint: string;
  graceS: number;
}

export interface RouteInstance {
  service: string;
  instanceId: bigint;
  yard: string;
  addrs: string[];
  /** TCP ports. */
  ports: number[];
  /** UDP ports; absent when none. */
  udpPorts?: number[];
}

/**
 * When a yard took a snapshot of its instances of a service (RouteAnswer, RoutePush): ordered by `epochMs`, then
 * `seq` (see {@link compareRouteVersions}). `epochMs` is fixed for one run of the yard and never goes back;
 * `seq` counts the run's snapshots from 1.
 */
export interface RouteVersion {
  epochMs: bigint;
  seq: bigint;
}

/** Negative when `a` is older than `b`, 0 when equal, positive when newer. */
export function compareRouteVersions(a: RouteVersion, b: RouteVersion): number {
  if (a.epochMs !== b.epochMs) return a.epochMs < b.epochMs ? -1 : 1;
  return a.seq === b.seq ? 0 : a.seq < b.seq ? -1 : 1;
}

export type OverlayMessage =
  | { type: "telemetryRequest"; access: LeaseAccess }
  | { type: "telemetryReply"; flows: SubnetFlow[]; atMs: bigint }
  | { type: "routingRules"; access: LeaseAccess; redirects: Redirect[]; stub?: Stub }
  | { type: "routingAck" }
  | { type: "routeQuery"; service: string; interest: boolean }
  | { type: "routeAnswer"; instances: RouteInstance[]; ttlS: number; version?: RouteVersion }
  | { type: "routePush"; service: string; instances: RouteInstance[]; version?: RouteVersion }
  | { type: "error"; code: OverlayErrorCode; message: string };

/** A refusal from the peer, or of the peer's input. */
export class OverlayError extends IconError {
  override name = "OverlayError" as const;
  readonly overlayCode: OverlayErrorCode;
  constructor(code: OverlayErrorCode, message: string, o: { cause?: unknown } = {}) {
    super(`OVERLAY_${OverlayErrorCode[code] ?? code}`, message, o);
    this.overlayCode = code;
  }
}

const bad = (m: string): OverlayError => new OverlayError(OverlayErrorCode.OVERLAY_BAD_FRAME, m);
const LABEL = "[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?";
const SERVICE_RE = new RegExp(`^${LABEL}(\\.${LABEL}){3}$`);
const SUBNET_RE = /^(\*|[0-9a-f.:]+\/\d{1,3})$/i;
const CLIENT_RE = /^[0-9a-f.:]{2,45}$/i;

function str(s: string, field: string, re?: RegExp): string {
  if (Buffer.byteLength(s) > overlayLimits.maxStringBytes) throw bad(`${field} is too long`);
  if (re && !re.test(s)) throw bad(`${field} "${s.slice(0, 80)}" is malformed`);
  return s;
}

function access(a: { leaseId: bigint; expires: bigint; signature: Uint8Array } | undefined): LeaseAccess {
  if (!a || a.leaseId <= 0n || a.signature.length !== 65) throw bad("access must name a lease and carry 65 bytes");
  return { leaseId: a.leaseId, expires: a.expires, signature: hexlify(a.signature) };
}

function instance(i: {
  service: string;
  instanceId: bigint;
  yard: string;
  addrs: string[];
  ports: number[];
  udpPorts?: number[];
}): RouteInstance {
  if (i.addrs.length > overlayLimits.maxAddrs) throw bad("too many addrs");
  const udp = i.udpPorts ?? [];
  for (const [what, ps] of [
    ["ports", i.ports],
    ["udpPorts", udp],
  ] as const)
    if (ps.length > 64 || ps.some((p) => p < 1 || p > 65535)) throw bad(`${what} must be 1..65535, at most 64`);
  return {
    service: str(i.service, "service", SERVICE_RE),
    instanceId: i.instanceId,
    yard: str(i.yard, "yard", /^[1-9A-HJ-NP-Za-km-z]{10,100}$/),
    addrs: i.addrs.map((a, n) => str(a, `addrs[${n}]`, /^\//)),
    ports: [...i.ports],
    ...(udp.length > 0 ? { udpPorts: [...udp] } : {}),
  };
}

/** Instances as the codec takes them (no UDP ports: an empty list). */
const wire = (xs: RouteInstance[]) => xs.map((i) => ({ ...i, udpPorts: i.udpPorts ?? [] }));

/** A route version as sent: both parts at least 1; undefined when the sender predates versions. */
function version(v: { epochMs: bigint; seq: bigint } | undefined): RouteVersion | undefined {
  if (v === undefined) return undefined;
  if (v.epochMs < 1n || v.seq < 1n) throw bad("version.epochMs and version.seq must be at least 1");
  return { epochMs: v.epochMs, seq: v.seq };
}

export function decodeOverlayFrame(frame: Uint8Array): OverlayMessage {
  if (frame.length > overlayLimits.maxFrameBytes) throw bad("frame too large");
  let e: OverlayEnvelope;
  try {
    e = OverlayEnvelope.decode(frame, {
      limits: {
        telemetryReply: { flows: overlayLimits.maxFlows },
        routingRules: { redirects: overlayLimits.maxRedirects },
        routeAnswer: { instances: overlayLimits.maxInstances },
        routePush: { instances: overlayLimits.maxInstances },
      },
    });
  } catch (cause) {
    throw new OverlayError(OverlayErrorCode.OVERLAY_BAD_FRAME, "the frame is not a valid OverlayEnvelope", { cause });
  }
  if (e.telemetryRequest) return { type: "telemetryRequest", access: access(e.telemetryRequest.access) };
  if (e.telemetryReply)
    return {
      type: "telemetryReply",
      atMs: e.telemetryReply.atMs,
      flows: e.telemetryReply.flows.map((f, i) => ({
        subnet: str(f.subnet, `flows[${i}].subnet`, SUBNET_RE),
        rate: f.rateMilli / 1000,
        latencyMs: f.latencyUs === 0 ? NaN : f.latencyUs / 1000,
        rttMs: f.rttUs === 0 ? NaN : f.rttUs / 1000,
        requests: f.requests,
        // A hint, not a fact: anything but a plain address is dropped rather than failing the whole reply.
        client: CLIENT_RE.test(f.client) && isIP(f.client) !== 0 ? f.client : "",
      })),
    };
  if (e.routingRules) {
    const r = e.routingRules;
    const out: OverlayMessage = {
      type: "routingRules",
      access: access(r.access),
      redirects: r.redirects.map((d, i) => ({
        subnet: str(d.subnet, `redirects[${i}].subnet`, SUBNET_RE),
        location: str(d.location, `redirects[${i}].location`, /^https?:\/\/[^\s/]+$/),
      })),
    };
    if (r.stub) {
      if (r.stub.graceS > overlayLimits.maxGraceS) throw bad(`stub.graceS is above ${overlayLimits.maxGraceS}`);
      const inst = instance({
        service: "x.x.x.x",
        instanceId: r.stub.instanceId,
        yard: r.stub.yard,
        addrs: r.stub.addrs,
        ports: [],
      });
      out.stub = {
        yard: inst.yard,
        addrs: inst.addrs,
        instanceId: inst.instanceId,
        endpoint: str(r.stub.endpoint, "stub.endpoint", /^[^\s/]+:\d{1,5}$/),
        graceS: r.stub.graceS,
      };
    }
    return out;
  }
  if (e.routingAck) return { type: "routingAck" };
  if (e.routeQuery)
    return {
      type: "routeQuery",
      service: str(e.routeQuery.service, "service", SERVICE_RE),
      interest: e.routeQuery.interest,
    };
  if (e.routeAnswer) {
    const out: OverlayMessage = {
      type: "routeAnswer",
      ttlS: Math.min(e.routeAnswer.ttlS, 3600),
      instances: e.routeAnswer.instances.map(instance),
    };
    const v = version(e.routeAnswer.version);
    if (v) out.version = v; // absent stays absent
    return out;
  }
  if (e.routePush) {
    const out: OverlayMessage = {
      type: "routePush",
      service: str(e.routePush.service, "service", SERVICE_RE),
      instances: e.routePush.instances.map(instance),
    };
    const v = version(e.routePush.version);
    if (v) out.version = v;
    return out;
  }
  if (e.error) return { type: "error", code: e.error.code, message: e.error.message.slice(0, 512) };
  throw bad("the envelope carries no message this version knows");
}

export function encodeOverlayFrame(m: OverlayMessage): Uint8Array {
  const acc = (a: LeaseAccess) => ({
    leaseId: a.leaseId,
    expires: a.expires,
    signature: Uint8Array.from(getBytes(a.signature)),
  });
  switch (m.type) {
    case "telemetryRequest":
      return OverlayEnvelope.encode({ telemetryRequest: { access: acc(m.access) } });
    case "telemetryReply":
      return OverlayEnvelope.encode({
        telemetryReply: {
          atMs: m.atMs,
          flows: m.flows.slice(0, overlayLimits.maxFlows).map((f) => ({
            subnet: f.subnet,
            rateMilli: Math.min(2 ** 32 - 1, Math.round(f.rate * 1000)),
            latencyUs: Number.isFinite(f.latencyMs)
              ? Math.min(2 ** 32 - 1, Math.max(1, Math.round(f.latencyMs * 1000)))
              : 0,
            rttUs:
              f.rttMs !== undefined && Number.isFinite(f.rttMs)
                ? Math.min(2 ** 32 - 1, Math.max(1, Math.round(f.rttMs * 1000)))
                : 0,
            requests: f.requests,
            client: f.client,
          })),
        },
      });
    case "routingRules":
      return OverlayEnvelope.encode({
        routingRules: { access: acc(m.access), redirects: m.redirects, stub: m.stub },
      });
    case "routingAck":
      return OverlayEnvelope.encode({ routingAck: {} });
    case "routeQuery":
      return OverlayEnvelope.encode({ routeQuery: { service: m.service, interest: m.interest } });
    case "routeAnswer":
      return OverlayEnvelope.encode({
        routeAnswer: { instances: wire(m.instances), ttlS: m.ttlS, version: m.version },
      });
    case "routePush":
      return OverlayEnvelope.encode({
        routePush: { service: m.service, instances: wire(m.instances), version: m.version },
      });
    case "error":
      return OverlayEnvelope.encode({ error: { code: m.code, message: m.message.slice(0, 512) } });
  }
}

/** Sends `m` on a new stream of `protocol` and returns the validated answer (an error frame throws). */
export async function overlayRequest(
  node: Pick<Libp2p, "dialProtocol">,
  peer: PeerId | Multiaddr | Multiaddr[],
  protocol: string,
  m: OverlayMessage,
  signal: AbortSignal = AbortSignal.timeout(10_000),
): Promise<OverlayMessage> {
  const stream = await node.dialProtocol(peer, protocol, { signal });
  const lp = lpStream(stream, { maxDataLength: overlayLimits.maxFrameBytes });
  try {
    await lp.write(encodeOverlayFrame(m), { signal });
    const r = decodeOverlayFrame((await lp.read({ signal })).subarray());
    await stream.close().catch(() => stream.abort(new Error("close failed")));
    if (r.type === "error") throw new OverlayError(r.code, r.message);
    return r;
  } catch (e) {
    stream.abort(e instanceof Error ? e : new Error(String(e)));
    throw e;
  }
}

/** The yard's flow observations of the lease named by `access`. */
export async function readTelemetry(
  node: Libp2p,
  yard: PeerId | Multiaddr | Multiaddr[],
  o: { access: LeaseAccess; signal?: AbortSignal },
): Promise<{ flows: SubnetFlow[]; atMs: bigint }> {
  const r = await overlayRequest(
    node,
    yard,
    TELEMETRY_PROTOCOL,
    { type: "telemetryRequest", access: o.access },
    o.signal,
  );
  if (r.type !== "telemetryReply") throw bad(`expected telemetryReply, got ${r.type}`);
  return { flows: r.flows, atMs: r.atMs };
}

/** Replaces the lease's HTTP redirects and sets (or keeps) its redirection stub. */
export async function setRouting(
  node: Libp2p,
  yard: PeerId | Multiaddr | Multiaddr[],
  o: { access: LeaseAccess; redirects?: Redirect[]; stub?: Stub; signal?: AbortSignal },
): Promise<void> {
  const r = await overlayRequest(
    node,
    yard,
    ROUTING_PROTOCOL,
    { type: "routingRules", access: o.access, redirects: o.redirects ?? [], stub: o.stub },
    o.signal,
  );
  if (r.type !== "routingAck") throw bad(`expected routingAck, got ${r.type}`);
}
