/**
 * Decoding is not validation: a frame is decoded with protons, then turned into a discriminated union
 * whose every field is checked (sizes, ranges, addresses). Nothing downstream ever sees a raw decoded
 * message. Errors are ProtocolError with a RejectCode, so a handler can answer with a Reject. The field checks
 * (bytes, integers, text, lists, names, round trips, proofs) are in fields.ts; this file is the messages: their
 * types, their validation from an Envelope, their encoding.
 */
import type { Offer } from "../eip712.ts";
import {
  Envelope,
  RejectCode,
  type AgentPart as WireAgentPart,
  type Deploy as WireDeploy,
} from "../schema/generated/lease.js";
import { leaseLimits } from "./limits.ts";
import type { PeerBinding } from "./binding.ts";
import type { RfqProof } from "./proof.ts";
import { LeaseSecret } from "./secret.ts";
import { rttLimits, rttUs, type RttTarget, type SignedRttReport } from "./rtt.ts";
import {
  ProtocolError,
  UINT256_MAX,
  UINT40_MAX,
  UINT64_MAX,
  UINT96_MAX,
  address,
  bad,
  bytesOf,
  list,
  positive,
  rfqProof,
  rttReport,
  rttTarget,
  serviceName,
  servicePattern,
  text,
  toBytes,
  u64,
  uint,
  uintBytes,
} from "./fields.ts";
import { hexlify } from "ethers";

export { RejectCode };
export { ProtocolError, isServiceKey, uintBytes } from "./fields.ts";

export interface Rfq {
  cpuMillis: number;
  memoryMiB: number;
  slotSeconds: number;
  earliestStart: bigint;
  maxPricePerSecond: bigint;
  imageRef: string;
  imageDigest: string;
  tenantAccount: bigint;
  /** A lease of this tenant at this yard that the new one renews (slot from its end, same container). */
  renewsLeaseId?: bigint;
  /** Proof that the sender speaks for `tenantAccount` (proof.ts); without it the RFQ is anonymous. */
  proof?: RfqProof;
}

export interface CapacityAnswer {
  cpuMillisFree: number;
  memoryMiBFree: number;
  cpuPricePerSecond: bigint;
  memoryPricePerSecond: bigint;
  region: string;
  binding: PeerBinding;
  /** The measured round trips the query asked for (rtt.ts), signed by the operator. */
  rtt?: SignedRttReport;
}

export interface DeploySpec {
  leaseId: bigint;
  imageRef: string;
  imageDigest: string;
  command: string[];
  env: string[];
  ports: number[];
  /** app.appns.service.servicens this instance belongs to (overlay proxy). */
  service?: string;
  /** The subset of `ports` proxied as HTTP/1.1 (per-request latency and redirects). */
  httpPorts?: number[];
  /** Patterns of services (app.appns.service.servicens, `*` per label) allowed to reach this one. */
  allow?: string[];
  /** Container UDP ports exposed through the yard (datagrams). */
  udpPorts?: number[];
  /** The ICON's agent, run as a sidecar beside the service within the lease's limits. */
  agent?: AgentPart;
}

/** The agent sidecar of a lease as a yard may store it: everything but the secret. */
export interface AgentSpec {
  imageRef: string;
  imageDigest: string;
  /** Empty: the image's own command. */
  command: string[];
  /** The sidecar's share of the lease's CPU (thousandths of a core); the service gets the rest. */
  cpuMillis: number;
  /** The sidecar's share of the lease's memory (MiB); the service gets the rest. */
  memoryMiB: number;
}

/** The agent part of a Deploy: the sidecar and its secret (the ICON's key and state, opaque to the yard). */
export interface AgentPart extends AgentSpec {
  secret: LeaseSecret;
  /**
   * A hand-over that may have been sent before (pair.ts: a retired copy sends its successor's again): when the lease
   * already carries an agent whose sidecar runs or whose secret the yard holds, nothing changes (PROTOCOL.md).
   */
  once?: boolean;
}

/** A Deploy spec without the agent's secret: what a yard writes down. */
export type StoredDeploySpec = Omit<DeploySpec, "agent"> & { agent?: AgentSpec };

/** `spec` with the agent's secret left out (a new object; the secret itself is untouched). */
export function withoutSecret(spec: DeploySpec | StoredDeploySpec): StoredDeploySpec {
  if (!spec.agent) return spec;
  const { imageRef, imageDigest, command, cpuMillis, memoryMiB } = spec.agent;
  return { ...spec, agent: { imageRef, imageDigest, command, cpuMillis, memoryMiB } };
}

/**
 * The lease-holder access a Redeploy carries: the EIP-712 `LeaseAccess` of protocol/yard/services.ts (the controller
 * of the lease's paying account, or the app owner, over the lease id, the sender's peer id and `expires`).
 */
export interface RedeployAccess {
  leaseId: bigint;
  expires: bigint;
  signature: string;
}

/** Every message of /icon/lease/1.0.0 as a validated, tagged value. */
export type LeaseMessage =
  | { type: "capacityQuery"; rttTargets?: RttTarget[] }
  | { type: "capacityAnswer"; answer: CapacityAnswer }
  | { type: "rfq"; rfq: Rfq }
  | { type: "quote"; offer: Offer; providerSignature: string; round: number }
  | { type: "counter"; pricePerSecond: bigint }
  | { type: "accept"; tenantSignature: string }
  | { type: "reject"; code: RejectCode; message: string }
  | { type: "opened"; leaseId: bigint; txHash: string }
  | { type: "deploy"; spec: DeploySpec }
  | { type: "redeploy"; access: RedeployAccess; spec: DeploySpec }
  | { type: "running"; leaseId: bigint; endpoint: string }
  | { type: "failed"; leaseId: bigint; message: string }
  | { type: "terminate"; leaseId: bigint };

/** Every message type of /icon/lease/1.0.0, in schema order. */
export const LEASE_MESSAGE_TYPES = [
  "capacityQuery",
  "capacityAnswer",
  "rfq",
  "quote",
  "counter",
  "accept",
  "reject",
  "opened",
  "deploy",
  "running",
  "failed",
  "terminate",
  "redeploy",
] as const satisfies readonly LeaseMessage["type"][];

/** A message with the negotiation's request id. */
export interface Framed {
  requestId: string;
  message: LeaseMessage;
}

/**
 * The agent part, validated; its secret is copied out of the frame and the bytes it was read from (a view into the
 * frame buffer given to decodeFrame) are zeroed. Buffers the frame was joined from, or decrypted into, keep theirs
 * until the garbage collector gets to them (protocol/PROTOCOL.md, "Agent sidecar").
 */
function agentPart(a: WireAgentPart): AgentPart {
  const n = a.secret.length;
  try {
    if (n === 0 || n > leaseLimits.maxSecretBytes)
      throw bad(`agent.secret must be 1..${leaseLimits.maxSecretBytes} bytes, got ${n}`);
    return {
      imageRef: text(a.imageRef, "agent.imageRef"),
      imageDigest: bytesOf(a.imageDigest, 32, "agent.imageDigest"),
      command: list(a.command, "agent.command"),
      cpuMillis: positive(a.cpuMillis, "agent.cpuMillis"),
      memoryMiB: positive(a.memoryMib, "agent.memoryMiB"),
      secret: LeaseSecret.of(a.secret),
      ...(a.once ? { once: true } : {}),
    };
  } finally {
    a.secret.fill(0);
  }
}

/** A Deploy's fields, validated (of a Deploy or of a Redeploy). */
function deploySpec(d: WireDeploy): DeploySpec {
  if (d.ports.length > leaseLimits.maxListEntries) throw bad("too many ports");
  return {
    leaseId: u64(d.leaseId, UINT64_MAX, "leaseId"),
    imageRef: text(d.imageRef, "imageRef"),
    imageDigest: bytesOf(d.imageDigest, 32, "imageDigest"),
    command: list(d.command, "command"),
    env: list(d.env, "env"),
    ports: d.ports.map((p) => positive(p, "port", 65535)),
    ...(d.service ? { service: serviceName(d.service, "service") } : {}),
    ...(d.httpPorts.length > 0
      ? {
          httpPorts: d.httpPorts.map((p) => {
            if (!d.ports.includes(p)) throw bad(`httpPorts: ${p} is not one of the exposed ports`);
            return p;
          }),
        }
      : {}),
    ...(d.udpPorts.length > 0 ? { udpPorts: d.udpPorts.map((p) => positive(p, "udpPort", 65535)) } : {}),
    ...(d.allow.length > 0 ? { allow: list(d.allow, "allow").map((a, i) => servicePattern(a, `allow[${i}]`)) } : {}),
    ...(d.agent ? { agent: agentPart(d.agent) } : {}),
  };
}

function validate(e: Envelope): LeaseMessage {
  const bodies = LEASE_MESSAGE_TYPES;
  const present = bodies.filter((k) => e[k] != null);
  if (present.length !== 1)
    throw new ProtocolError(RejectCode.UNSUPPORTED, "the envelope carries no message this version knows");
  switch (present[0]) {
    case "capacityQuery": {
      const ts = e.capacityQuery!.rttTargets;
      if (ts.length > rttLimits.maxTargets)
        throw bad(`a capacity query names at most ${rttLimits.maxTargets} rttTargets`);
      return ts.length === 0 ? { type: "capacityQuery" } : { type: "capacityQuery", rttTargets: ts.map(rttTarget) };
    }
    case "capacityAnswer": {
      const a = e.capacityAnswer!;
      const b = a.binding;
      if (!b) throw bad("capacityAnswer.binding is required");
      return {
        type: "capacityAnswer",
        answer: {
          cpuMillisFree: a.cpuMillisFree,
          memoryMiBFree: a.memoryMibFree,
          cpuPricePerSecond: uint(a.cpuPricePerSecond, UINT96_MAX, "cpuPricePerSecond"),
          memoryPricePerSecond: uint(a.memoryPricePerSecond, UINT96_MAX, "memoryPricePerSecond"),
          region: text(a.region, "region", false),
          binding: {
            operator: address(b.operator, "binding.operator"),
            chainId: u64(b.chainId, UINT64_MAX, "binding.chainId"),
            registry: address(b.registry, "binding.registry"),
            signature: bytesOf(b.signature, 65, "binding.signature"),
          },
          ...(a.rtt ? { rtt: rttReport(a.rtt) } : {}),
        },
      };
    }
    case "rfq": {
      const r = e.rfq!;
      return {
        type: "rfq",
        rfq: {
          cpuMillis: positive(r.cpuMillis, "cpuMillis"),
          memoryMiB: positive(r.memoryMib, "memoryMiB"),
          slotSeconds: positive(r.slotSeconds, "slotSeconds", leaseLimits.maxSlotSeconds),
          earliestStart: u64(r.earliestStart, UINT40_MAX, "earliestStart"),
          maxPricePerSecond: uint(r.maxPricePerSecond, UINT96_MAX, "maxPricePerSecond"),
          imageRef: text(r.imageRef, "imageRef"),
          imageDigest: bytesOf(r.imageDigest, 32, "imageDigest"),
          tenantAccount:
            u64(r.tenantAccount, UINT64_MAX, "tenantAccount") ||
            (() => {
              throw bad("tenantAccount is required");
            })(),
          ...(r.renewsLeaseId > 0n ? { renewsLeaseId: u64(r.renewsLeaseId, UINT64_MAX, "renewsLeaseId") } : {}),
          ...(r.proof ? { proof: rfqProof(r.proof) } : {}),
        },
      };
    }
    case "quote": {
      const q = e.quote!;
      const o = q.offer;
      if (!o) throw bad("quote.offer is required");
      const start = u64(o.start, UINT40_MAX, "offer.start");
      const end = u64(o.end, UINT40_MAX, "offer.end");
      if (end <= start) throw bad("offer.end must be after offer.start");
      return {
        type: "quote",
        round: q.round,
        providerSignature: bytesOf(q.providerSignature, 65, "providerSignature"),
        offer: {
          provider: address(o.provider, "offer.provider"),
          account: u64(o.account, UINT64_MAX, "offer.account"),
          token: address(o.token, "offer.token"),
          pricePerSecond: uint(o.pricePerSecond, UINT96_MAX, "offer.pricePerSecond"),
          cpuMillis: positive(o.cpuMillis, "offer.cpuMillis"),
          memoryMiB: positive(o.memoryMib, "offer.memoryMiB"),
          start,
          end,
          specHash: bytesOf(o.specHash, 32, "offer.specHash"),
          nonce: uint(o.nonce, UINT256_MAX, "offer.nonce"),
          deadline: u64(o.deadline, UINT64_MAX, "offer.deadline"),
        },
      };
    }
    case "counter":
      return { type: "counter", pricePerSecond: uint(e.counter!.pricePerSecond, UINT96_MAX, "pricePerSecond") };
    case "accept": {
      const sig = e.accept!.tenantSignature;
      if (sig.length < 65 || sig.length > 2048) throw bad("tenantSignature must be 65..2048 bytes");
      return { type: "accept", tenantSignature: hexlify(sig) };
    }
    case "reject":
      return { type: "reject", code: e.reject!.code, message: text(e.reject!.message, "message", false) };
    case "opened":
      return {
        type: "opened",
        leaseId: u64(e.opened!.leaseId, UINT64_MAX, "leaseId"),
        txHash: bytesOf(e.opened!.txHash, 32, "txHash"),
      };
    case "deploy":
      return { type: "deploy", spec: deploySpec(e.deploy!) };
    case "redeploy": {
      const r = e.redeploy!;
      if (!r.deploy) throw bad("redeploy.deploy is required");
      const leaseId = u64(r.leaseId, UINT64_MAX, "leaseId");
      const spec = deploySpec(r.deploy);
      if (spec.leaseId !== leaseId) throw bad(`redeploy names lease ${leaseId} but deploys lease ${spec.leaseId}`);
      return {
        type: "redeploy",
        access: {
          leaseId,
          expires: u64(r.expires, UINT64_MAX, "expires"),
          signature: bytesOf(r.signature, 65, "signature"),
        },
        spec,
      };
    }
    case "running":
      return { type: "running", leaseId: e.running!.leaseId, endpoint: text(e.running!.endpoint, "endpoint") };
    case "failed":
      return { type: "failed", leaseId: e.failed!.leaseId, message: text(e.failed!.message, "message", false) };
    case "terminate":
      return { type: "terminate", leaseId: e.terminate!.leaseId };
    default:
      throw new ProtocolError(RejectCode.UNSUPPORTED, "unknown message");
  }
}

/** Decodes and validates one frame (the length prefix already removed and checked). */
export function decodeFrame(frame: Uint8Array): Framed {
  if (frame.length > leaseLimits.maxFrameBytes)
    throw bad(`frame of ${frame.length} bytes exceeds ${leaseLimits.maxFrameBytes}`);
  let e: Envelope;
  try {
    const n = leaseLimits.maxListEntries;
    e = Envelope.decode(frame, {
      limits: {
        deploy: { command: n, env: n, ports: n, httpPorts: n, allow: n, udpPorts: n, agent: { command: n } },
        redeploy: {
          deploy: { command: n, env: n, ports: n, httpPorts: n, allow: n, udpPorts: n, agent: { command: n } },
        },
      },
    });
  } catch (cause) {
    throw new ProtocolError(RejectCode.BAD_REQUEST, "the frame is not a valid protobuf Envelope", { cause });
  }
  if (e.requestId.length !== 16) throw bad(`requestId must be 16 bytes, got ${e.requestId.length}`);
  const requestId = hexlify(e.requestId);
  try {
    return { requestId, message: validate(e) };
  } catch (err) {
    if (err instanceof ProtocolError) err.requestId = requestId;
    throw err;
  }
}

/** Encodes a message for the wire. */
export function encodeFrame(requestId: string, m: LeaseMessage): Uint8Array {
  const id = toBytes(requestId);
  if (id.length !== 16) throw bad(`requestId must be 16 bytes, got ${id.length}`);
  const e: Envelope = { requestId: id };
  switch (m.type) {
    case "capacityQuery":
      e.capacityQuery = { rttTargets: (m.rttTargets ?? []).map((t) => ({ subnet: t.subnet, target: t.target })) };
      break;
    case "capacityAnswer": {
      const a = m.answer;
      e.capacityAnswer = {
        cpuMillisFree: a.cpuMillisFree,
        memoryMibFree: a.memoryMiBFree,
        cpuPricePerSecond: uintBytes(a.cpuPricePerSecond),
        memoryPricePerSecond: uintBytes(a.memoryPricePerSecond),
        region: a.region,
        binding: {
          operator: toBytes(a.binding.operator),
          chainId: a.binding.chainId,
          registry: toBytes(a.binding.registry),
          signature: toBytes(a.binding.signature),
        },
        ...(a.rtt
          ? {
              rtt: {
                status: a.rtt.status,
                at: a.rtt.at,
                peer: toBytes(a.rtt.peer),
                figures: a.rtt.figures.map((f) => ({
                  subnet: f.subnet,
                  target: f.target,
                  ...(f.rttMs === undefined ? {} : { rttUs: rttUs(f.rttMs) }),
                })),
                yard: toBytes(a.rtt.yard),
                signature: toBytes(a.rtt.signature),
              },
            }
          : {}),
      };
      break;
    }
    case "rfq": {
      const r = m.rfq;
      e.rfq = {
        cpuMillis: r.cpuMillis,
        memoryMib: r.memoryMiB,
        slotSeconds: r.slotSeconds,
        earliestStart: r.earliestStart,
        maxPricePerSecond: uintBytes(r.maxPricePerSecond),
        imageRef: r.imageRef,
        imageDigest: toBytes(r.imageDigest),
        tenantAccount: r.tenantAccount,
        renewsLeaseId: r.renewsLeaseId ?? 0n,
        ...(r.proof
          ? {
              proof: {
                signer: toBytes(r.proof.signer),
                chainId: r.proof.chainId,
                market: toBytes(r.proof.market),
                peerId: toBytes(r.proof.peerId),
                expiry: r.proof.expiry,
                signature: toBytes(r.proof.signature),
              },
            }
          : {}),
      };
      break;
    }
    case "quote": {
      const o = m.offer;
      e.quote = {
        round: m.round,
        providerSignature: toBytes(m.providerSignature),
        offer: {
          provider: toBytes(o.provider),
          account: o.account,
          token: toBytes(o.token),
          pricePerSecond: uintBytes(o.pricePerSecond),
          cpuMillis: o.cpuMillis,
          memoryMib: o.memoryMiB,
          start: o.start,
          end: o.end,
          specHash: toBytes(o.specHash),
          nonce: uintBytes(o.nonce),
          deadline: o.deadline,
        },
      };
      break;
    }
    case "counter":
      e.counter = { pricePerSecond: uintBytes(m.pricePerSecond) };
      break;
    case "accept":
      e.accept = { tenantSignature: toBytes(m.tenantSignature) };
      break;
    case "reject":
      e.reject = { code: m.code, message: m.message };
      break;
    case "opened":
      e.opened = { leaseId: m.leaseId, txHash: toBytes(m.txHash) };
      break;
    case "deploy":
      e.deploy = wireDeploy(m.spec);
      break;
    case "redeploy":
      e.redeploy = {
        leaseId: m.access.leaseId,
        expires: m.access.expires,
        signature: toBytes(m.access.signature),
        deploy: wireDeploy(m.spec),
      };
      break;
    case "running":
      e.running = { leaseId: m.leaseId, endpoint: m.endpoint };
      break;
    case "failed":
      e.failed = { leaseId: m.leaseId, message: m.message };
      break;
    case "terminate":
      e.terminate = { leaseId: m.leaseId };
      break;
  }
  return Envelope.encode(e);
}

/** A Deploy spec in its wire form (the agent's secret as its bytes: the frame is the secret's only other copy). */
function wireDeploy(d: DeploySpec): WireDeploy {
  return {
    leaseId: d.leaseId,
    imageRef: d.imageRef,
    imageDigest: toBytes(d.imageDigest),
    command: d.command,
    env: d.env,
    ports: d.ports,
    service: d.service ?? "",
    httpPorts: d.httpPorts ?? [],
    allow: d.allow ?? [],
    udpPorts: d.udpPorts ?? [],
    ...(d.agent
      ? {
          agent: {
            imageRef: d.agent.imageRef,
            imageDigest: toBytes(d.agent.imageDigest),
            command: d.agent.command,
            cpuMillis: d.agent.cpuMillis,
            memoryMib: d.agent.memoryMiB,
            secret: d.agent.secret.bytes(),
            once: d.agent.once ?? false,
          },
        }
      : {}),
  };
}
