/**
 * The ICON overlay tree (paper §3.1, §4.3), protocol `/icon/tree/1.0.0` (schema: protocol/schema/tree.proto):
 * one request frame and one answer frame on a fresh stream. Every request carries a membership proof — the
 * EIP-712 statement `TreeMember(uint64 account, bytes peerId, uint64 expires)` signed by the controller of the
 * sender's budget account for the sender's libp2p peer id — which the receiver checks against the chain
 * ({@link TreeMembership}). Decoding validates every field against {@link treeLimits}.
 *
 * The member that runs the tree is icon-agent/tree*.ts; this module is the wire format, proof and chain checks.
 *
 * @example
 *   const proof = await signTreeMember(iconKey, treeDomain(chainId, market), account, node.peerId);
 *   const { reply } = await treeRequest(node, parentAddrs, { type: "attach", proof, addrs, endpoint: "", location: "" });
 */
import { getBytes, hexlify, toBigInt, verifyTypedData, type Signer, type TypedDataDomain } from "ethers";
import type { Libp2p, PeerId } from "@libp2p/interface";
import { multiaddr, type Multiaddr } from "@multiformats/multiaddr";
import { lpStream } from "@libp2p/utils";
import { IconError } from "../errors.ts";
import { TreeEnvelope, TreeErrorCode } from "../schema/generated/tree.js";
import { peerIdBytes } from "../lease/binding.ts";
import { uintBytes } from "../lease/fields.ts";
import type { MarketClient } from "../chain/client.ts";
import type { BudgetAccount, Policy } from "../chain/types.ts";

export { TreeErrorCode };

export const TREE_PROTOCOL = "/icon/tree/1.0.0";

export const treeLimits = {
  maxFrameBytes: 64 * 1024,
  maxSubnets: 256,
  maxAddrs: 8,
  /** Ancestors in an answer: the contract's depth bound is 8, so a list never needs more than 9. */
  maxAncestors: 9,
  maxAddrBytes: 256,
  /** endpoint and location */
  maxStringBytes: 256,
  maxNoteBytes: 512,
  /** Longest validity of a membership proof: a leaked one expires soon. */
  maxProofSeconds: 3600,
  /** Largest request rate (req/s) and latency (ms) a report may carry. */
  maxRate: 1e12,
  maxLatencyMs: 1e7,
  /** Steps of the on-chain parent walk (the contract's depth bound is 8). */
  maxWalk: 16,
} as const;

const UINT96_MAX = (1n << 96n) - 1n;
const BPS = 10_000;

/** Types of the membership statement (primary type `TreeMember`). */
export const TREE_MEMBER_TYPES = {
  TreeMember: [
    { name: "account", type: "uint64" },
    { name: "peerId", type: "bytes" },
    { name: "expires", type: "uint64" },
  ],
};

/** Domain of membership proofs: the contract that holds the budget accounts (the market), on its chain. */
export function treeDomain(chainId: bigint, budgetContract: string): TypedDataDomain {
  return { name: "ICON Budget Tree", version: "1", chainId, verifyingContract: budgetContract };
}

/** A membership proof: account `account`'s controller vouches for the peer that sends it, until `expires`. */
export interface TreeMemberProof {
  account: bigint;
  /** unix seconds */
  expires: bigint;
  /** 0x-hex, 65 bytes */
  signature: string;
}

/** An ICON of the tree: its budget account and its libp2p multiaddrs (with /p2p/<peer id>). */
export interface TreeNodeRef {
  account: bigint;
  addrs: string[];
}

/** The owner's policy with its on-chain version. */
export type TreePolicy = Policy & { version: number };

/** One client subnet of a report: λ (req/s), rate-weighted mean latency (ms, NaN = not measured), count. */
export interface TreeSubnet {
  subnet: string;
  rate: number;
  latencyMs: number;
  requests: bigint;
}

/** Where an ICON serves (its ingress endpoint, its yard, its lease there). */
export interface TreePlace {
  endpoint: string;
  location: string;
  instanceId: bigint;
}

export type TreeMessage =
  | {
      type: "attach";
      proof: TreeMemberProof;
      addrs: string[];
      endpoint: string;
      location: string;
      /** The sender's instance epoch (state.ts AgentSeed.instance); a parent refuses a lower one than it has seen. */
      epoch: bigint;
    }
  | {
      type: "attached";
      parent: TreeNodeRef;
      origin: TreeNodeRef;
      ancestors: TreeNodeRef[];
      policy?: TreePolicy;
      proof: TreeMemberProof;
      place?: TreePlace;
      /** Who takes the origin's role when the origin is lost: the origin's oldest live child, passed down. */
      successor?: TreeNodeRef;
    }
  | {
      type: "report";
      proof: TreeMemberProof;
      subnets: TreeSubnet[];
      endpoint: string;
      location: string;
      descendants: number;
      /** As in attach. */
      epoch: bigint;
    }
  | {
      type: "reportAck";
      policy?: TreePolicy;
      ancestors: TreeNodeRef[];
      place?: TreePlace;
      successor?: TreeNodeRef;
      /** The application's total request rate (req/s): the origin's aggregate, passed down (absent: not known). */
      appRate?: number;
    }
  | { type: "funding"; proof: TreeMemberProof; amount: bigint }
  | { type: "fundingReply"; granted: bigint; note: string }
  | { type: "detach"; proof: TreeMemberProof; newParent?: TreeNodeRef }
  | { type: "detached" }
  | { type: "error"; code: TreeErrorCode; message: string };

/** A refusal from the peer, or of the peer's input; `treeCode` says which. */
export class TreeError extends IconError {
  override name = "TreeError" as const;
  readonly treeCode: TreeErrorCode;
  constructor(code: TreeErrorCode, message: string, o: { cause?: unknown } = {}) {
    super(`${TreeErrorCode[code] ?? `TREE_${code}`}`, message, o);
    this.treeCode = code;
  }
}

const bad = (m: string): TreeError => new TreeError(TreeErrorCode.TREE_BAD_FRAME, m);

// ---------------------------------------------------------------------------------------------- proofs

/** Signs membership of `account` for requests sent by `sender` (the ICON's own peer id). */
export async function signTreeMember(
  controller: Signer,
  domain: TypedDataDomain,
  account: bigint,
  sender: PeerId,
  validForS = 900,
): Promise<TreeMemberProof> {
  const expires = BigInt(Math.floor(Date.now() / 1000) + validForS);
  const signature = await controller.signTypedData(domain, TREE_MEMBER_TYPES, {
    account,
    peerId: peerIdBytes(sender),
    expires,
  });
  return { account, expires, signature };
}

/** The address that signed `p` for requests from `sender`, after checking its expiry (≤ 1 h ahead). */
export function treeMemberSigner(
  p: TreeMemberProof,
  domain: TypedDataDomain,
  sender: PeerId,
  now = Date.now(),
): string {
  const nowS = BigInt(Math.floor(now / 1000));
  if (p.expires <= nowS) throw new TreeError(TreeErrorCode.TREE_PROOF_EXPIRED, "the membership proof has expired");
  if (p.expires > nowS + BigInt(treeLimits.maxProofSeconds) + 60n)
    throw new TreeError(TreeErrorCode.TREE_PROOF_EXPIRED, "the membership proof is valid for longer than an hour");
  try {
    return verifyTypedData(
      domain,
      TREE_MEMBER_TYPES,
      { account: p.account, peerId: peerIdBytes(sender), expires: p.expires },
      p.signature,
    );
  } catch (cause) {
    throw new TreeError(TreeErrorCode.TREE_BAD_PROOF, "the membership proof's signature is malformed", { cause });
  }
}

/**
 * The chain side of membership: proofs checked against `account(id).controller`, and the parent walk that
 * decides descent. Account reads are cached for `ttlMs` (parent links never change; a controller change is
 * seen within the TTL).
 */
export class TreeMembership {
  readonly client: MarketClient;
  readonly domain: TypedDataDomain;
  readonly #ttlMs: number;
  readonly #cache = new Map<bigint, { a: BudgetAccount; at: number }>();

  constructor(client: MarketClient, o: { ttlMs?: number } = {}) {
    this.client = client;
    this.domain = treeDomain(BigInt(client.deployment.chainId), client.deployment.market);
    this.#ttlMs = o.ttlMs ?? 10_000;
  }

  /** Account `id`, from the cache when fresh. */
  async account(id: bigint): Promise<BudgetAccount> {
    const hit = this.#cache.get(id);
    if (hit && Date.now() - hit.at < this.#ttlMs) return hit.a;
    const a = await this.client.account(id);
    this.#cache.set(id, { a, at: Date.now() });
    if (this.#cache.size > 4096) this.#cache.delete(this.#cache.keys().next().value!);
    return a;
  }

  /** Checks `p` for requests from `sender`: expiry, signature, and that the signer controls the account now. */
  async verify(p: TreeMemberProof, sender: PeerId): Promise<BudgetAccount> {
    const signer = treeMemberSigner(p, this.domain, sender);
    let a: BudgetAccount;
    try {
      a = await this.account(p.account);
    } catch (cause) {
      if (cause instanceof IconError && cause.code === "BudgetUnknownAccount")
        throw new TreeError(TreeErrorCode.TREE_BAD_PROOF, `budget account ${p.account} does not exist`, { cause });
      throw cause;
    }
    if (a.controller.toLowerCase() !== signer.toLowerCase())
      throw new TreeError(
        TreeErrorCode.TREE_BAD_PROOF,
        `the membership proof for account ${p.account} is not signed by its controller (or not for this peer)`,
      );
    if (a.closed) throw new TreeError(TreeErrorCode.TREE_BAD_PROOF, `budget account ${p.account} is closed`);
    return a;
  }

  /** Whether `descendant` lies strictly below `ancestor` in the budget tree (walks `parent` up, bounded). */
  async descends(descendant: bigint, ancestor: bigint): Promise<boolean> {
    let id = descendant;
    for (let i = 0; i < treeLimits.maxWalk; i++) {
      const a = await this.account(id);
      if (a.parent === 0n) return false;
      if (a.parent === ancestor) return true;
      id = a.parent;
    }
    return false;
  }
}

// ---------------------------------------------------------------------------------------------- codec

/** A client subnet as reports carry it (`*` folds the rest). */
export const TREE_SUBNET_RE = /^(\*|[0-9a-f.:]+\/\d{1,3})$/i;
// Printable, no control characters (endpoint and location are shown to people and used as labels).
const TEXT_RE = /^[^\p{Cc}]*$/u;

function str(s: string, field: string, max: number = treeLimits.maxStringBytes, re: RegExp = TEXT_RE): string {
  if (Buffer.byteLength(s) > max) throw bad(`${field} is longer than ${max} bytes`);
  if (!re.test(s)) throw bad(`${field} "${s.slice(0, 80)}" is malformed`);
  return s;
}

function addrs(xs: string[], field: string): string[] {
  if (xs.length > treeLimits.maxAddrs) throw bad(`${field} has more than ${treeLimits.maxAddrs} entries`);
  return xs.map((x, i) => {
    str(x, `${field}[${i}]`, treeLimits.maxAddrBytes, /^\/\S+$/);
    try {
      multiaddr(x);
    } catch (cause) {
      throw new TreeError(TreeErrorCode.TREE_BAD_FRAME, `${field}[${i}] is not a multiaddr`, { cause });
    }
    return x;
  });
}

function proof(p: { account: bigint; expires: bigint; signature: Uint8Array } | undefined): TreeMemberProof {
  if (!p || p.account <= 0n || p.signature.length !== 65)
    throw bad("proof must name an account and carry a 65-byte signature");
  return { account: p.account, expires: p.expires, signature: hexlify(p.signature) };
}

function node(n: { account: bigint; addrs: string[] } | undefined, field: string): TreeNodeRef {
  if (!n || n.account <= 0n) throw bad(`${field} must name an account`);
  return { account: n.account, addrs: addrs(n.addrs, `${field}.addrs`) };
}

function amount(b: Uint8Array, field: string): bigint {
  if (b.length === 0) return 0n;
  if (b.length > 12 || b[0] === 0) throw bad(`${field} must be a minimal big-endian uint96`);
  return toBigInt(b);
}

function policy(
  p:
    | {
        version: number;
        weightBps: number;
        migrateThresholdBps: number;
        replicateThresholdBps: number;
        terminateThresholdBps: number;
        maxPricePerSecond: Uint8Array;
        maxRelayFee: Uint8Array;
        relayAllowancePerDay: Uint8Array;
      }
    | undefined,
): TreePolicy | undefined {
  if (!p) return undefined;
  for (const k of ["weightBps", "migrateThresholdBps", "replicateThresholdBps", "terminateThresholdBps"] as const)
    if (p[k] > BPS) throw bad(`policy.${k} is above ${BPS}`);
  if (p.version < 1) throw bad("policy.version must be at least 1");
  return {
    version: p.version,
    weightBps: p.weightBps,
    migrateThresholdBps: p.migrateThresholdBps,
    replicateThresholdBps: p.replicateThresholdBps,
    terminateThresholdBps: p.terminateThresholdBps,
    maxPricePerSecond: amount(p.maxPricePerSecond, "policy.maxPricePerSecond"),
    maxRelayFee: amount(p.maxRelayFee, "policy.maxRelayFee"),
    relayAllowancePerDay: amount(p.relayAllowancePerDay, "policy.relayAllowancePerDay"),
  };
}

function finite(n: number, max: number, field: string): number {
  if (!Number.isFinite(n) || n < 0 || n > max) throw bad(`${field} must be a finite number in 0..${max}`);
  return n;
}

function subnets(xs: Array<{ subnet: string; rate: number; latencyMs?: number; requests: bigint }>): TreeSubnet[] {
  const seen = new Set<string>();
  return xs.map((s, i) => {
    const subnet = str(s.subnet, `subnets[${i}].subnet`, 64, TREE_SUBNET_RE).toLowerCase();
    if (seen.has(subnet)) throw bad(`subnets[${i}]: ${subnet} appears twice`);
    seen.add(subnet);
    return {
      subnet,
      rate: finite(s.rate, treeLimits.maxRate, `subnets[${i}].rate`),
      latencyMs:
        s.latencyMs === undefined ? NaN : finite(s.latencyMs, treeLimits.maxLatencyMs, `subnets[${i}].latencyMs`),
      requests: s.requests,
    };
  });
}

/** Decodes and validates one frame. */
function place(p: { endpoint: string; location: string; instanceId: bigint } | undefined): TreePlace | undefined {
  if (!p) return undefined;
  return {
    endpoint: str(p.endpoint, "place.endpoint"),
    location: str(p.location, "place.location"),
    instanceId: p.instanceId,
  };
}

export function decodeTreeFrame(frame: Uint8Array): TreeMessage {
  if (frame.length > treeLimits.maxFrameBytes) throw bad("frame too large");
  let e: TreeEnvelope;
  const a = { addrs: treeLimits.maxAddrs };
  try {
    e = TreeEnvelope.decode(frame, {
      limits: {
        attach: a,
        attached: { parent: a, origin: a, ancestors: treeLimits.maxAncestors, ancestors$: a, successor: a },
        report: { subnets: treeLimits.maxSubnets },
        reportAck: { ancestors: treeLimits.maxAncestors, ancestors$: a, successor: a },
        detach: { newParent: a },
      },
    });
  } catch (cause) {
    throw new TreeError(TreeErrorCode.TREE_BAD_FRAME, "the frame is not a valid TreeEnvelope (or exceeds a limit)", {
      cause,
    });
  }
  if (e.attach)
    return {
      type: "attach",
      proof: proof(e.attach.proof),
      addrs: addrs(e.attach.addrs, "addrs"),
      endpoint: str(e.attach.endpoint, "endpoint"),
      location: str(e.attach.location, "location"),
      epoch: e.attach.epoch,
    };
  if (e.attached) {
    const t = e.attached;
    const ancestors = t.ancestors.map((n, i) => node(n, `ancestors[${i}]`));
    const parent = node(t.parent, "parent");
    if (ancestors.length === 0 || ancestors[0]!.account !== parent.account)
      throw bad("ancestors must start with the parent");
    return {
      type: "attached",
      parent,
      origin: node(t.origin, "origin"),
      ancestors,
      policy: policy(t.policy),
      proof: proof(t.proof),
      place: place(t.place),
      ...(t.successor ? { successor: node(t.successor, "successor") } : {}),
    };
  }
  if (e.report) {
    const r = e.report;
    return {
      type: "report",
      proof: proof(r.proof),
      subnets: subnets(r.subnets),
      endpoint: str(r.endpoint, "endpoint"),
      location: str(r.location, "location"),
      descendants: r.descendants,
      epoch: r.epoch,
    };
  }
  if (e.reportAck)
    return {
      type: "reportAck",
      policy: policy(e.reportAck.policy),
      ancestors: e.reportAck.ancestors.map((n, i) => node(n, `ancestors[${i}]`)),
      place: place(e.reportAck.place),
      ...(e.reportAck.successor ? { successor: node(e.reportAck.successor, "successor") } : {}),
      ...(e.reportAck.appRate !== undefined
        ? { appRate: finite(e.reportAck.appRate, treeLimits.maxRate * treeLimits.maxSubnets, "appRate") }
        : {}),
    };
  if (e.funding) {
    const v = amount(e.funding.amount, "amount");
    if (v === 0n) throw bad("amount must be positive");
    return { type: "funding", proof: proof(e.funding.proof), amount: v };
  }
  if (e.fundingReply)
    return {
      type: "fundingReply",
      granted: amount(e.fundingReply.granted, "granted"),
      note: e.fundingReply.note.slice(0, treeLimits.maxNoteBytes),
    };
  if (e.detach)
    return {
      type: "detach",
      proof: proof(e.detach.proof),
      newParent: e.detach.newParent ? node(e.detach.newParent, "newParent") : undefined,
    };
  if (e.detached) return { type: "detached" };
  if (e.error) return { type: "error", code: e.error.code, message: e.error.message.slice(0, 512) };
  throw bad("the envelope carries no message this version knows");
}

/** Encodes one frame (values out of the schema's range throw). */
export function encodeTreeFrame(m: TreeMessage): Uint8Array {
  const pr = (p: TreeMemberProof) => ({
    account: p.account,
    expires: p.expires,
    signature: Uint8Array.from(getBytes(p.signature)),
  });
  const u96 = (v: bigint, field: string) => {
    if (v < 0n || v > UINT96_MAX) throw bad(`${field} is out of range`);
    return uintBytes(v);
  };
  const pol = (p: TreePolicy | undefined) =>
    p && {
      version: p.version,
      weightBps: p.weightBps,
      migrateThresholdBps: p.migrateThresholdBps,
      replicateThresholdBps: p.replicateThresholdBps,
      terminateThresholdBps: p.terminateThresholdBps,
      maxPricePerSecond: u96(p.maxPricePerSecond, "policy.maxPricePerSecond"),
      maxRelayFee: u96(p.maxRelayFee, "policy.maxRelayFee"),
      relayAllowancePerDay: u96(p.relayAllowancePerDay, "policy.relayAllowancePerDay"),
    };
  const nodes = (ns: TreeNodeRef[]) => ns.slice(0, treeLimits.maxAncestors);
  switch (m.type) {
    case "attach":
      return TreeEnvelope.encode({
        attach: { proof: pr(m.proof), addrs: m.addrs, endpoint: m.endpoint, location: m.location, epoch: m.epoch },
      });
    case "attached":
      return TreeEnvelope.encode({
        attached: {
          parent: m.parent,
          origin: m.origin,
          ancestors: nodes(m.ancestors),
          policy: pol(m.policy),
          proof: pr(m.proof),
          place: m.place,
          successor: m.successor,
        },
      });
    case "report":
      if (m.subnets.length > treeLimits.maxSubnets)
        throw bad(`a report carries at most ${treeLimits.maxSubnets} subnets (foldSubnets)`);
      return TreeEnvelope.encode({
        report: {
          proof: pr(m.proof),
          subnets: m.subnets.map((s) => ({
            subnet: s.subnet,
            rate: s.rate,
            latencyMs: Number.isFinite(s.latencyMs) ? s.latencyMs : undefined,
            requests: s.requests,
          })),
          endpoint: m.endpoint,
          location: m.location,
          descendants: m.descendants,
          epoch: m.epoch,
        },
      });
    case "reportAck":
      return TreeEnvelope.encode({
        reportAck: {
          policy: pol(m.policy),
          ancestors: nodes(m.ancestors),
          place: m.place,
          successor: m.successor,
          appRate: m.appRate,
        },
      });
    case "funding":
      return TreeEnvelope.encode({ funding: { proof: pr(m.proof), amount: u96(m.amount, "amount") } });
    case "fundingReply":
      return TreeEnvelope.encode({
        fundingReply: { granted: u96(m.granted, "granted"), note: m.note.slice(0, treeLimits.maxNoteBytes) },
      });
    case "detach":
      return TreeEnvelope.encode({ detach: { proof: pr(m.proof), newParent: m.newParent } });
    case "detached":
      return TreeEnvelope.encode({ detached: {} });
    case "error":
      return TreeEnvelope.encode({ error: { code: m.code, message: m.message.slice(0, 512) } });
  }
}

// ---------------------------------------------------------------------------------------------- transport

/** A node's multiaddrs for a peer: `addrs` parsed, each with /p2p/<peer> so the dial authenticates it. */
export function dialableAddrs(addrs: string[], peer?: PeerId): Multiaddr[] {
  return addrs.map((a) => {
    const m = multiaddr(a);
    if (!peer || m.getComponents().some((c) => c.name === "p2p")) return m;
    return m.encapsulate(`/p2p/${peer.toString()}`);
  });
}

/** The peer id named by /p2p/ in `addrs` (all must agree), or undefined. */
export function addrsPeer(addrs: string[]): string | undefined {
  const ids = new Set(
    addrs.flatMap((a) =>
      multiaddr(a)
        .getComponents()
        .filter((c) => c.name === "p2p")
        .map((c) => c.value!),
    ),
  );
  return ids.size === 1 ? [...ids][0] : undefined;
}

/**
 * Sends `m` on a new `/icon/tree/1.0.0` stream to `peer` and returns the validated answer together with the
 * noise-authenticated peer that gave it (an error frame throws TreeError).
 */
export async function treeRequest(
  node: Libp2p,
  peer: PeerId | Multiaddr | Multiaddr[],
  m: TreeMessage,
  signal: AbortSignal = AbortSignal.timeout(10_000),
): Promise<{ reply: TreeMessage; remote: PeerId }> {
  const conn = await node.dial(peer, { signal });
  const stream = await conn.newStream(TREE_PROTOCOL, { signal });
  const lp = lpStream(stream, { maxDataLength: treeLimits.maxFrameBytes });
  try {
    await lp.write(encodeTreeFrame(m), { signal });
    const r = decodeTreeFrame((await lp.read({ signal })).subarray());
    await stream.close().catch(() => stream.abort(new Error("close failed")));
    if (r.type === "error") throw new TreeError(r.code, r.message);
    return { reply: r, remote: conn.remotePeer };
  } catch (e) {
    stream.abort(e instanceof Error ? e : new Error(String(e)));
    throw e;
  }
}
