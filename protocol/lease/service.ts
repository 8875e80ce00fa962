/**
 * /icon/lease/1.0.0 over libp2p: the provider's server loop and the tenant's session.
 *
 * One negotiation runs on one stream: each side writes a length-prefixed Envelope and reads the answer.
 * Frames above `maxFrameBytes` are refused before their body is read; every frame is validated and then
 * checked against the state machine; a refusal travels as Reject(code, sentence) and ends the stream.
 * Request ids make retries idempotent: a tenant that lost its stream repeats the same message with the same
 * request id on a new stream and gets the same answer, never a second lease.
 *
 * @example
 *   stopServer = serveLeases(yardNode, myProvider);
 *   const s = await LeaseSession.open(agentNode, yardPeerId, { signal });
 *   const quote = await s.rfq(rfq);  // → { type: "quote", offer, providerSignature, round }
 */
import { randomBytes } from "node:crypto";
import { hexlify } from "ethers";
import type { Libp2p, PeerId, Stream, Connection } from "@libp2p/interface";
import type { Multiaddr } from "@multiformats/multiaddr";
import { lpStream, type LengthPrefixedStream } from "@libp2p/utils";
import { IconError, printable } from "../errors.ts";
import type { Offer } from "../eip712.ts";
import {
  decodeFrame,
  encodeFrame,
  ProtocolError,
  RejectCode,
  type CapacityAnswer,
  type DeploySpec,
  type LeaseMessage,
  type RedeployAccess,
  type Rfq,
} from "./messages.ts";
import { initialState, transition, type NegotiationState } from "./negotiation.ts";
import { LEASE_PROTOCOL, leaseLimits, leaseTimeouts } from "./limits.ts";
import type { RttTarget } from "./rtt.ts";

/** Context of one call into the provider. */
export interface NegotiationContext {
  remote: PeerId;
  requestId: string;
  /** The last quote made in this negotiation, if any. */
  lastQuote?: { offer: Offer; providerSignature: string };
  /** The RFQ of this negotiation, once received. */
  rfq?: Rfq;
  rounds: number;
  signal: AbortSignal;
}

/** The provider side's business logic (the yard implements it). Each method returns the reply to send. */
export interface LeaseProvider {
  /** Capacity, prices and binding; with `rttTargets`, also the signed round trips towards them (rtt.ts). */
  capacity(ctx: NegotiationContext, rttTargets?: RttTarget[]): Promise<CapacityAnswer>;
  /** Answer an RFQ (`counterPrice` undefined) or a counter-offer: a quote or a reject. */
  quote(
    rfq: Rfq,
    counterPrice: bigint | undefined,
    ctx: NegotiationContext,
  ): Promise<{ offer: Offer; providerSignature: string } | { reject: RejectCode; message: string }>;
  /** Verify the acceptance and open the lease on chain: opened or reject. */
  accept(
    tenantSignature: string,
    ctx: NegotiationContext,
  ): Promise<{ leaseId: bigint; txHash: string } | { reject: RejectCode; message: string }>;
  deploy?(spec: DeploySpec, ctx: NegotiationContext): Promise<{ endpoint: string } | { failed: string }>;
  terminate?(leaseId: bigint, ctx: NegotiationContext): Promise<void>;
  /**
   * Deploys again on a lease the sender holds (its access checked against `ctx.remote` and the chain first): the
   * running service keeps running; Failed with a sentence for a refused access or spec, and nothing changes.
   */
  redeploy?(
    access: RedeployAccess,
    spec: DeploySpec,
    ctx: NegotiationContext,
  ): Promise<{ endpoint: string } | { failed: string }>;
}

/** Clips a sentence to the protocol's string limit (on a character boundary). */
function clip(message: string): string {
  let out = message;
  while (Buffer.byteLength(out) > leaseLimits.maxStringBytes) out = out.slice(0, -1);
  return out.isWellFormed() ? out : out.slice(0, -1);
}

/** `signal` (if any) combined with a timeout of `ms`. */
function withTimeout(signal: AbortSignal | undefined, ms: number): AbortSignal {
  return signal ? AbortSignal.any([signal, AbortSignal.timeout(ms)]) : AbortSignal.timeout(ms);
}

/** Rejects when `signal` aborts, so a hung provider call cannot hold a stream forever. */
function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/** A refusal received from the peer. */
export class LeaseRejectedError extends IconError {
  override name = "LeaseRejectedError" as const;
  readonly reject: RejectCode;
  constructor(reject: RejectCode, message: string) {
    super(`REJECTED_${RejectCode[reject] ?? reject}`, message, { details: { reject } });
    this.reject = reject;
  }
}

/** Messages that occur at most once per negotiation: a repeat with the same request id is a retry and gets
 * the reply already given (never a second quote nonce, lease or container). Counters repeat legitimately. */
const ONCE = new Set<string>(["rfq", "accept", "deploy", "redeploy", "terminate", "reject"]);

interface Session {
  /** `${peer}/${requestId}`: the key in the session table. */
  key: string;
  peer: string;
  state: NegotiationState;
  ctx: Omit<NegotiationContext, "signal">;
  /** Replies by the request message's type, stored before the work starts, so a retry that arrives while
   * the first attempt is still running waits for the same answer instead of starting again. */
  replies: Map<string, Promise<Uint8Array>>;
  /** The lease this negotiation opened; Deploy and Terminate must name it. */
  leaseId?: bigint;
  expires: number;
}

/**
 * A token bucket per key (a peer, an application): `burst` at once, refilled at `rate` per second; the 10 000 most
 * recently added keys are kept (a forgotten one starts full again).
 */
export class PeerRateLimiter {
  readonly #buckets = new Map<string, { tokens: number; at: number }>();
  readonly rate: number;
  readonly burst: number;
  constructor(rate: number, burst: number) {
    this.rate = rate;
    this.burst = burst;
  }
  take(peer: string, now = performance.now()): boolean {
    const b = this.#buckets.get(peer) ?? { tokens: this.burst, at: now };
    if (now < b.at) b.at = now;
    b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.rate);
    b.at = now;
    this.#buckets.set(peer, b);
    if (this.#buckets.size > 10_000) this.#buckets.delete(this.#buckets.keys().next().value!);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
}

/**
 * The negotiations a provider remembers (for idempotent retries and the state machine), with a share per peer.
 * Both maps keep least recently active first (a touch moves a session to the end). Room for a new session is
 * made, in this order: expired sessions go; a peer at its share loses its own least recently active session
 * (closed ones first); a full table loses the oldest closed session, else the least recently active session of
 * the peer holding the most, if that peer holds more than the newcomer. Only when every peer holds as few as
 * the newcomer is the newcomer refused. So one peer never holds more than `perPeer` sessions, and a crowd of
 * peers cannot push out a peer holding fewer than each of them.
 */
class SessionTable {
  readonly #all = new Map<string, Session>();
  readonly #byPeer = new Map<string, Map<string, Session>>();
  readonly max: number;
  readonly perPeer: number;

  constructor(max: number, perPeer: number) {
    this.max = max;
    this.perPeer = Math.min(perPeer, max);
  }

  get size(): number {
    return this.#all.size;
  }

  /** Sessions of `peer` in the table. */
  countOf(peer: string): number {
    return this.#byPeer.get(peer)?.size ?? 0;
  }

  get(key: string): Session | undefined {
    return this.#all.get(key);
  }

  /** Adds or refreshes `s` as the most recently active session (of the table and of its peer). */
  touch(s: Session): void {
    this.#all.delete(s.key);
    this.#all.set(s.key, s);
    let mine = this.#byPeer.get(s.peer);
    if (!mine) this.#byPeer.set(s.peer, (mine = new Map()));
    mine.delete(s.key);
    mine.set(s.key, s);
  }

  delete(s: Session): void {
    this.#all.delete(s.key);
    const mine = this.#byPeer.get(s.peer);
    mine?.delete(s.key);
    if (mine?.size === 0) this.#byPeer.delete(s.peer);
  }

  pruneExpired(now = Date.now()): void {
    for (const s of this.#all.values()) if (s.expires < now) this.delete(s);
  }

  /** Makes room for one more session of `peer` (see the class comment); false if it must be refused. */
  makeRoom(peer: string): boolean {
    const mine = this.#byPeer.get(peer);
    if (mine && mine.size >= this.perPeer) {
      this.delete(oldest(mine));
      return true;
    }
    if (this.#all.size < this.max) return true;
    this.pruneExpired();
    if (this.#all.size < this.max) return true;
    for (const s of this.#all.values()) {
      if (s.state.phase === "closed") {
        this.delete(s);
        return true;
      }
    }
    let largest: Map<string, Session> | undefined;
    for (const m of this.#byPeer.values()) if (!largest || m.size > largest.size) largest = m;
    if (!largest || largest.size <= (mine?.size ?? 0)) return false;
    this.delete(oldest(largest));
    return true;
  }
}

/** A peer's closed session if it has one, else its least recently active one. */
function oldest(sessions: Map<string, Session>): Session {
  for (const s of sessions.values()) if (s.state.phase === "closed") return s;
  return sessions.values().next().value!;
}

/** Options of {@link serveLeases}. */
export interface ServeOptions {
  ratePerSecond?: number;
  burst?: number;
  /** Negotiations remembered at once (default `leaseLimits.maxSessions`). */
  maxSessions?: number;
  /** Negotiations one peer may have remembered at once (default `leaseLimits.maxSessionsPerPeer`). */
  maxSessionsPerPeer?: number;
  onError?: (e: unknown, remote: PeerId) => void;
}

/** Registers the lease protocol handler on `node`; returns a function that unregisters it. */
export async function serveLeases(
  node: Libp2p,
  provider: LeaseProvider,
  o: ServeOptions = {},
): Promise<() => Promise<void>> {
  const handler = createLeaseHandler(provider, o);
  await node.handle(LEASE_PROTOCOL, handler, { maxInboundStreams: leaseLimits.maxInboundStreams });
  return async () => node.unhandle(LEASE_PROTOCOL);
}

/** The stream handler of the lease protocol (what {@link serveLeases} registers), for any stream source. */
export function createLeaseHandler(
  provider: LeaseProvider,
  o: ServeOptions = {},
): (stream: Stream, connection: Pick<Connection, "remotePeer">) => Promise<void> {
  const table = new SessionTable(
    o.maxSessions ?? leaseLimits.maxSessions,
    o.maxSessionsPerPeer ?? leaseLimits.maxSessionsPerPeer,
  );
  const limiter = new PeerRateLimiter(
    o.ratePerSecond ?? leaseLimits.perPeerRatePerSecond,
    o.burst ?? leaseLimits.perPeerBurst,
  );

  async function handle(stream: Stream, connection: Pick<Connection, "remotePeer">): Promise<void> {
    const remote = connection.remotePeer;
    const lp = lpStream(stream, {
      maxDataLength: leaseLimits.maxFrameBytes,
      maxBufferSize: leaseLimits.maxFrameBytes * 2,
    });
    const whole = AbortSignal.timeout(leaseTimeouts.exchangeMs);
    let requestId = "0x" + "00".repeat(16);
    try {
      for (;;) {
        let frame: Uint8Array;
        try {
          frame = (await lp.read({ signal: whole })).subarray();
        } catch (e) {
          if (stream.remoteWriteStatus !== "writable" && (e as Error).name === "UnexpectedEOFError") break;
          throw e;
        }
        let framed;
        try {
          framed = decodeFrame(frame);
        } catch (e) {
          if (e instanceof ProtocolError) {
            const id = e.requestId ?? requestId;
            await lp.write(encodeFrame(id, { type: "reject", code: e.reject, message: e.message }), {
              signal: whole,
            });
            break;
          }
          throw e;
        }
        requestId = framed.requestId;
        const peer = remote.toString();
        const key = `${peer}/${requestId}`;
        let session = table.get(key);
        const limited = (message: string) =>
          lp.write(encodeFrame(requestId, { type: "reject", code: RejectCode.RATE_LIMITED, message }), {
            signal: whole,
          });
        // Every message costs a token (not only new negotiations), so no peer can loop cheap requests.
        if (!limiter.take(remote.toString())) {
          await limited("too many requests from this peer; retry in a second");
          break;
        }
        if (!session) {
          if (!table.makeRoom(peer)) {
            await limited("this yard is negotiating with too many peers; retry shortly");
            break;
          }
          session = {
            key,
            peer,
            state: initialState,
            ctx: { remote, requestId, rounds: 0 },
            replies: new Map(),
            expires: 0,
          };
        }
        session.expires = Date.now() + leaseTimeouts.exchangeMs;
        table.touch(session);
        const type = framed.message.type;
        let pending = ONCE.has(type) ? session.replies.get(type) : undefined;
        if (!pending) {
          pending = step(session, framed.message, whole);
          if (ONCE.has(type)) session.replies.set(type, pending);
        }
        await lp.write(await pending, { signal: whole });
        if (session.state.phase === "closed") break;
      }
      await stream.close();
    } catch (e) {
      o.onError?.(e, remote);
      stream.abort(e as Error);
    }
  }

  const pruner = setInterval(() => table.pruneExpired(), 10_000);
  pruner.unref();

  async function step(session: Session, m: LeaseMessage, signal: AbortSignal): Promise<Uint8Array> {
    const id = session.ctx.requestId;
    const refuse = (code: RejectCode, message: string): Uint8Array => {
      session.state = { ...session.state, phase: "closed" };
      return encodeFrame(id, { type: "reject", code, message: clip(message) });
    };
    const t = transition(session.state, "tenant", m);
    if (!t.ok) return refuse(t.tooManyRounds ? RejectCode.TOO_MANY_ROUNDS : RejectCode.BAD_REQUEST, t.reason);
    session.state = t.state;
    const ctx: NegotiationContext = { ...session.ctx, rounds: session.state.rounds, signal };
    let reply: LeaseMessage;
    if (
      (m.type === "deploy" && m.spec.leaseId !== session.leaseId) ||
      (m.type === "terminate" && m.leaseId !== session.leaseId)
    ) {
      return refuse(
        RejectCode.BAD_REQUEST,
        `lease ${m.type === "deploy" ? m.spec.leaseId : m.leaseId} is not the lease this negotiation opened`,
      );
    }
    try {
      reply = await abortable(answer(m, ctx, session), signal);
    } catch (e) {
      // A refusal of the peer's own input (e.g. an rtt target never measured) is the peer's to read.
      if (e instanceof ProtocolError) return refuse(e.reject, e.message);
      // The details stay local (they may name RPC endpoints); the peer gets a fixed sentence.
      o.onError?.(e, session.ctx.remote);
      return refuse(RejectCode.INTERNAL, "the provider failed while answering; the negotiation is closed");
    }
    // After the tenant's reject / terminate the reply only acknowledges; otherwise it must be legal.
    if (session.state.phase !== "closed") {
      const t2 = transition(session.state, "provider", reply);
      if (!t2.ok) return refuse(RejectCode.INTERNAL, `provider produced an illegal reply: ${t2.reason}`);
      session.state = t2.state;
    }
    if (reply.type === "reject") reply = { ...reply, message: clip(reply.message) };
    if (reply.type === "opened") session.leaseId = reply.leaseId;
    return encodeFrame(id, reply);
  }

  async function answer(m: LeaseMessage, ctx: NegotiationContext, session: Session): Promise<LeaseMessage> {
    switch (m.type) {
      case "capacityQuery":
        return { type: "capacityAnswer", answer: await provider.capacity(ctx, m.rttTargets) };
      case "rfq":
      case "counter": {
        if (m.type === "rfq") session.ctx.rfq = m.rfq;
        const r = await provider.quote(session.ctx.rfq!, m.type === "counter" ? m.pricePerSecond : undefined, ctx);
        if ("reject" in r) return { type: "reject", code: r.reject, message: r.message };
        session.ctx.lastQuote = r;
        session.ctx.rounds = session.state.rounds;
        return { type: "quote", offer: r.offer, providerSignature: r.providerSignature, round: session.state.rounds };
      }
      case "accept": {
        const r = await provider.accept(m.tenantSignature, ctx);
        if ("reject" in r) return { type: "reject", code: r.reject, message: r.message };
        return { type: "opened", leaseId: r.leaseId, txHash: r.txHash };
      }
      case "deploy": {
        if (!provider.deploy)
          return {
            type: "reject",
            code: RejectCode.UNSUPPORTED,
            message: "this yard does not deploy over the protocol",
          };
        // The agent's secret in the decoded message is wiped once the provider answered (it kept its own copy).
        const r = await provider.deploy(m.spec, ctx).finally(() => m.spec.agent?.secret.wipe());
        return "failed" in r
          ? { type: "failed", leaseId: m.spec.leaseId, message: r.failed }
          : { type: "running", leaseId: m.spec.leaseId, endpoint: r.endpoint };
      }
      case "redeploy": {
        if (!provider.redeploy)
          return { type: "reject", code: RejectCode.UNSUPPORTED, message: "this yard does not redeploy leases" };
        const r = await provider.redeploy(m.access, m.spec, ctx).finally(() => m.spec.agent?.secret.wipe());
        return "failed" in r
          ? { type: "failed", leaseId: m.spec.leaseId, message: r.failed }
          : { type: "running", leaseId: m.spec.leaseId, endpoint: r.endpoint };
      }
      case "terminate":
        await provider.terminate?.(m.leaseId, ctx);
        return { type: "reject", code: RejectCode.REJECT_UNSPECIFIED, message: "terminated" };
      case "reject":
        return { type: "reject", code: RejectCode.REJECT_UNSPECIFIED, message: "negotiation ended by the tenant" };
      default:
        return { type: "reject", code: RejectCode.BAD_REQUEST, message: `a tenant does not send ${m.type}` };
    }
  }

  return handle;
}

/** The tenant's side of one negotiation (one stream). */
export class LeaseSession {
  readonly requestId: string;
  readonly remote: PeerId;
  #state: NegotiationState = initialState;
  readonly #lp: LengthPrefixedStream<Stream>;
  readonly #stream: Stream;
  readonly #signal: AbortSignal | undefined;

  private constructor(
    stream: Stream,
    remote: PeerId,
    requestId: string,
    signal?: AbortSignal,
    state?: NegotiationState,
  ) {
    if (state) this.#state = state;
    this.#stream = stream;
    this.#lp = lpStream(stream, { maxDataLength: leaseLimits.maxFrameBytes });
    this.remote = remote;
    this.requestId = requestId;
    this.#signal = signal;
  }

  /**
   * Opens a negotiation stream to `peer` (dial timeout `leaseTimeouts.dialMs`). To retry after a lost
   * stream, pass the same `requestId` and the `state` the negotiation had before the lost message.
   */
  static async open(
    node: Libp2p,
    peer: PeerId | Multiaddr,
    o: { signal?: AbortSignal; requestId?: string; state?: NegotiationState } = {},
  ): Promise<LeaseSession> {
    const dialSignal = withTimeout(o.signal, leaseTimeouts.dialMs);
    const stream = await node.dialProtocol(peer, LEASE_PROTOCOL, { signal: dialSignal });
    const conn = node.getConnections().find((c) => c.streams.includes(stream));
    const remote = conn?.remotePeer ?? (peer as PeerId);
    return new LeaseSession(stream, remote, o.requestId ?? hexlify(randomBytes(16)), o.signal, o.state);
  }

  /** Current state of the negotiation. */
  get state(): NegotiationState {
    return this.#state;
  }

  /** Sends `m` and returns the validated reply; a Reject becomes a LeaseRejectedError. */
  async request(m: LeaseMessage): Promise<LeaseMessage> {
    const t = transition(this.#state, "tenant", m);
    if (!t.ok) throw new ProtocolError(RejectCode.BAD_REQUEST, `cannot send ${m.type}: ${t.reason}`);
    const before = this.#state;
    this.#state = t.state;
    // Opening a lease waits for a chain transaction: Accept and Deploy get the exchange timeout.
    const ms =
      m.type === "accept" || m.type === "deploy" || m.type === "redeploy"
        ? leaseTimeouts.exchangeMs
        : leaseTimeouts.firstByteMs;
    const signal = withTimeout(this.#signal, ms);
    let reply: LeaseMessage;
    try {
      await this.#lp.write(encodeFrame(this.requestId, m), { signal });
      const framed = decodeFrame((await this.#lp.read({ signal })).subarray());
      if (framed.requestId !== this.requestId) {
        throw new ProtocolError(RejectCode.BAD_REQUEST, "the reply carries another request id");
      }
      reply = framed.message;
      if (this.#state.phase !== "closed") {
        const t2 = transition(this.#state, "provider", reply);
        if (!t2.ok) throw new ProtocolError(RejectCode.BAD_REQUEST, `the provider sent ${reply.type}: ${t2.reason}`);
        this.#state = t2.state;
      }
      if (
        (reply.type === "running" || reply.type === "failed") &&
        (m.type === "deploy" || m.type === "redeploy") &&
        reply.leaseId !== m.spec.leaseId
      ) {
        throw new ProtocolError(
          RejectCode.BAD_REQUEST,
          `the provider answered for lease ${reply.leaseId}, not ${m.spec.leaseId}`,
        );
      }
    } catch (e) {
      // Timed out, malformed or illegal: the stream is no longer trustworthy. Free it; the state goes back
      // to what it was so a retry on a new stream (same request id) can resend the same message.
      this.#state = before;
      this.#stream.abort(e instanceof Error ? e : new Error(String(e)));
      throw e;
    }
    if (this.#state.phase === "closed") {
      await this.close();
      if (reply.type === "reject" && m.type !== "terminate" && m.type !== "reject") {
        throw new LeaseRejectedError(reply.code, printable(reply.message));
      }
    }
    return reply;
  }

  /** Ends the stream. */
  async close(): Promise<void> {
    await this.#stream.close().catch(() => this.#stream.abort(new Error("close failed")));
  }
}

/**
 * Deploys `spec` again on lease `access.leaseId`, which the signer of `access` holds at the yard `peer` (a
 * negotiation of its own: Redeploy, then Running or Failed). Returns the endpoint, or throws with the yard's
 * sentence (an IconError REDEPLOY_FAILED for Failed, LeaseRejectedError for a Reject).
 */
export async function redeployLease(
  node: Libp2p,
  peer: PeerId | Multiaddr,
  access: RedeployAccess,
  spec: DeploySpec,
  o: { signal?: AbortSignal } = {},
): Promise<{ endpoint: string }> {
  const session = await LeaseSession.open(node, peer, o);
  try {
    const r = await session.request({ type: "redeploy", access, spec });
    if (r.type === "running") return { endpoint: r.endpoint };
    // `refused`: the yard answered Failed — it changed nothing (a Deploy it refuses leaves the lease as it was).
    throw new IconError(
      "REDEPLOY_FAILED",
      `lease ${spec.leaseId}: ${r.type === "failed" ? printable(r.message) : `the yard answered ${r.type}`}`,
      { details: { refused: r.type === "failed" } },
    );
  } finally {
    await session.close();
  }
}
