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
import { IconError } from "../errors.ts";
import type { Offer } from "../eip712.ts";
import {
  decodeFrame,
  encodeFrame,
  ProtocolError,
  RejectCode,
  type CapacityAnswer,
  type DeploySpec,
  type LeaseMessage,
  type Rfq,
} from "./messages.ts";
import { initialState, transition, type NegotiationState } from "./negotiation.ts";
import { LEASE_PROTOCOL, leaseLimits, leaseTimeouts } from "./limits.ts";

/** What a provider's reply to a tenant message may be. */
export type ProviderAnswer = LeaseMessage;

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
  capacity(ctx: NegotiationContext): Promise<CapacityAnswer>;
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
const ONCE = new Set<string>(["rfq", "accept", "deploy", "terminate", "reject"]);

interface Session {
  state: NegotiationState;
  ctx: Omit<NegotiationContext, "signal">;
  /** Replies already sent, by the request message's type, to answer retries identically. */
  replies: Map<string, Uint8Array>;
  expires: number;
}

/** Token bucket per peer. */
class PeerRateLimiter {
  readonly #buckets = new Map<string, { tokens: number; at: number }>();
  readonly rate: number;
  readonly burst: number;
  constructor(rate: number, burst: number) {
    this.rate = rate;
    this.burst = burst;
  }
  take(peer: string, now = Date.now()): boolean {
    const b = this.#buckets.get(peer) ?? { tokens: this.burst, at: now };
    b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.rate);
    b.at = now;
    this.#buckets.set(peer, b);
    if (this.#buckets.size > 10_000) this.#buckets.delete(this.#buckets.keys().next().value!);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
}

/** Options of {@link serveLeases}. */
export interface ServeOptions {
  ratePerSecond?: number;
  burst?: number;
  maxSessions?: number;
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
  const sessions = new Map<string, Session>();
  const limiter = new PeerRateLimiter(
    o.ratePerSecond ?? leaseLimits.perPeerRatePerSecond,
    o.burst ?? leaseLimits.perPeerBurst,
  );
  const maxSessions = o.maxSessions ?? 10_000;

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
            await lp.write(encodeFrame(requestId, { type: "reject", code: e.reject, message: e.message }), {
              signal: whole,
            });
            break;
          }
          throw e;
        }
        requestId = framed.requestId;
        const key = `${remote.toString()}/${requestId}`;
        let session = sessions.get(key);
        if (!session) {
          if (!limiter.take(remote.toString())) {
            await lp.write(
              encodeFrame(requestId, {
                type: "reject",
                code: RejectCode.RATE_LIMITED,
                message: "too many negotiations from this peer; retry in a second",
              }),
              { signal: whole },
            );
            break;
          }
          session = { state: initialState, ctx: { remote, requestId, rounds: 0 }, replies: new Map(), expires: 0 };
          sessions.set(key, session);
          if (sessions.size > maxSessions) sessions.delete(sessions.keys().next().value!);
        }
        session.expires = Date.now() + leaseTimeouts.exchangeMs;
        const retry = ONCE.has(framed.message.type) ? session.replies.get(framed.message.type) : undefined;
        const reply = retry ?? (await step(session, framed.message, whole));
        await lp.write(reply, { signal: whole });
        if (session.state.phase === "closed") break;
      }
      await stream.close();
    } catch (e) {
      o.onError?.(e, remote);
      stream.abort(e as Error);
    } finally {
      const now = Date.now();
      for (const [k, s] of sessions) if (s.expires < now) sessions.delete(k);
    }
  }

  async function step(session: Session, m: LeaseMessage, signal: AbortSignal): Promise<Uint8Array> {
    const id = session.ctx.requestId;
    const refuse = (code: RejectCode, message: string): Uint8Array => {
      session.state = { ...session.state, phase: "closed" };
      return encodeFrame(id, { type: "reject", code, message });
    };
    const t = transition(session.state, "tenant", m);
    if (!t.ok) return refuse(t.tooManyRounds ? RejectCode.TOO_MANY_ROUNDS : RejectCode.BAD_REQUEST, t.reason);
    session.state = t.state;
    const ctx: NegotiationContext = { ...session.ctx, rounds: session.state.rounds, signal };
    let reply: LeaseMessage;
    try {
      reply = await answer(m, ctx, session);
    } catch (e) {
      return refuse(RejectCode.INTERNAL, `the provider failed: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (session.state.phase === "closed") {
      // The tenant ended the negotiation (reject / terminate): the reply only acknowledges it.
      const ack = encodeFrame(id, reply);
      if (ONCE.has(m.type)) session.replies.set(m.type, ack);
      return ack;
    }
    const t2 = transition(session.state, "provider", reply);
    if (!t2.ok) return refuse(RejectCode.INTERNAL, `provider produced an illegal reply: ${t2.reason}`);
    session.state = t2.state;
    const bytes = encodeFrame(id, reply);
    if (ONCE.has(m.type)) session.replies.set(m.type, bytes);
    return bytes;
  }

  async function answer(m: LeaseMessage, ctx: NegotiationContext, session: Session): Promise<LeaseMessage> {
    switch (m.type) {
      case "capacityQuery":
        return { type: "capacityAnswer", answer: await provider.capacity(ctx) };
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
        const r = await provider.deploy(m.spec, ctx);
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
    const dialSignal = o.signal
      ? AbortSignal.any([o.signal, AbortSignal.timeout(leaseTimeouts.dialMs)])
      : AbortSignal.timeout(leaseTimeouts.dialMs);
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
    this.#state = t.state;
    const signal = this.#signal
      ? AbortSignal.any([this.#signal, AbortSignal.timeout(leaseTimeouts.firstByteMs)])
      : AbortSignal.timeout(leaseTimeouts.firstByteMs);
    const longSignal = this.#signal
      ? AbortSignal.any([this.#signal, AbortSignal.timeout(leaseTimeouts.exchangeMs)])
      : AbortSignal.timeout(leaseTimeouts.exchangeMs);
    await this.#lp.write(encodeFrame(this.requestId, m), { signal });
    // Opening a lease waits for a chain transaction: allow the exchange timeout for accept and deploy.
    const framed = decodeFrame(
      (await this.#lp.read({ signal: m.type === "accept" || m.type === "deploy" ? longSignal : signal })).subarray(),
    );
    if (framed.requestId !== this.requestId)
      throw new ProtocolError(RejectCode.BAD_REQUEST, "the reply carries another request id");
    const reply = framed.message;
    if (this.#state.phase === "closed") return reply; // acknowledgement of our reject / terminate
    const t2 = transition(this.#state, "provider", reply);
    if (!t2.ok) throw new ProtocolError(RejectCode.BAD_REQUEST, `the provider sent ${reply.type}: ${t2.reason}`);
    this.#state = t2.state;
    if (reply.type === "reject" && m.type !== "terminate" && m.type !== "reject")
      throw new LeaseRejectedError(reply.code, reply.message);
    return reply;
  }

  /** Ends the stream. */
  async close(): Promise<void> {
    await this.#stream.close().catch(() => this.#stream.abort(new Error("close failed")));
  }
}
