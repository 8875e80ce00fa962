/**
 * The yard's side of /icon/relay/1.0.0 (protocol/relay/relay.ts): it submits ICONs' signed intents to the market
 * from the operator's key and is repaid by the market from the ICON's budget account (IconMarket.relay: the fee
 * the ICON signed, within its owner's per-intent cap and daily allowance; credited to the operator's earnings).
 *
 * Any peer may ask: relaying for ICONs placed elsewhere is part of the market. What a stranger can cost the yard
 * is bounded: an intent must name this yard's operator as its relayer (or anyone), pay at least the yard's fee and
 * leave time to mine it; each peer has one intent in flight and a small rate (a bucket of `perPeerBurst` refilled at
 * `perPeerPerMinute`) — peer ids are free, so each APPLICATION (the root of the paying account, read from the chain)
 * has a bucket too (`perAppBurst`, `perAppPerMinute`), and the yard `maxInFlight` in total. An intent is simulated
 * before it is sent (one the market refuses costs no gas and is answered with the market's reason) and its gas is
 * capped (IntentClient.relay's `maxGas`: a signer contract that burns gas in its signature check is refused). What
 * is left is a race the yard can lose: an intent that simulated well and reverted when mined (its nonce spent
 * through another relayer meanwhile, time moved past a lease's end) costs the yard its gas and earns no fee —
 * bounded by the per-application rate. Relayed transactions share the operator key's queue with the yard's own
 * (confirmStart, claims): at most `maxInFlight` of them wait ahead of it.
 */
import type { Connection, Libp2p, Startable, Stream } from "@libp2p/interface";
import { lpStream } from "@libp2p/utils";
import {
  PeerRateLimiter,
  RELAY_PROTOCOL,
  RelayError,
  RelayErrorCode,
  decodeRelayFrame,
  encodeRelayFrame,
  isIconError,
  relayLimits,
  type MarketClient,
  type RelayMessage,
  type SignedIntent,
} from "../protocol/index.ts";
import type { Logger } from "../protocol/log.ts";
import type { YardMetrics } from "./yard-metrics.ts";

/** What the relay uses of the chain: the operator's address, the market, and the submission itself. */
export interface RelayChain {
  address(): Promise<string>;
  readonly deployment: { chainId: number | bigint; market: string };
  /** Simulates `signed` as a call of IconMarket.relay from the operator (throws the market's refusal), then sends it. */
  relayIntent(signed: SignedIntent): Promise<{ txHash: string; block: bigint }>;
  /** The application (root account) that budget account `account` belongs to. */
  rootOf(account: bigint): Promise<bigint>;
}

/** The relay's view of the operator's MarketClient. */
export function relayChainOf(chain: Pick<MarketClient, "address" | "deployment" | "relay" | "account">): RelayChain {
  return {
    address: () => chain.address(),
    deployment: chain.deployment,
    relayIntent: async (signed) => {
      const r = await chain.relay(signed);
      return { txHash: r.txHash, block: BigInt(r.receipt.blockNumber) };
    },
    rootOf: async (account) => (await chain.account(account)).root,
  };
}

export interface RelayServiceOptions {
  chain: RelayChain;
  /** Token units asked per intent (0: relays for free, the market still refuses what the owner's caps forbid). */
  fee: bigint;
  log: Logger;
  metrics: YardMetrics;
  /** Intents one peer may send in a burst, and per minute after it. */
  perPeerBurst?: number;
  perPeerPerMinute?: number;
  /** Intents one application (all its ICONs, through any peers) may have relayed here in a burst, and per minute. */
  perAppBurst?: number;
  perAppPerMinute?: number;
  /** Intents being simulated, sent or mined at once, from all peers. */
  maxInFlight?: number;
  /** Least time an intent's deadline must leave (s): time to mine it. */
  minDeadlineS?: number;
  now?: () => number;
}

/** What the relay uses of the node: its protocol registrar. */
export interface RelayServiceComponents {
  registrar: Pick<Libp2p, "handle" | "unhandle">;
}

/** The relay as a libp2p service in the js-libp2p shape (handler registered at start, unregistered at stop). */
export function relayService(init: RelayServiceOptions): (components: RelayServiceComponents) => Startable {
  return ({ registrar }) => {
    const o = {
      perPeerBurst: 10,
      perPeerPerMinute: 20,
      perAppBurst: 30,
      perAppPerMinute: 60,
      maxInFlight: 4,
      minDeadlineS: 30,
      now: Date.now,
      ...init,
    };
    const buckets = new PeerRateLimiter(o.perPeerPerMinute / 60, o.perPeerBurst);
    const apps = new PeerRateLimiter(o.perAppPerMinute / 60, o.perAppBurst);
    const busy = new Set<string>();
    let inFlight = 0;
    let operator: string | undefined;

    const refused = (code: RelayErrorCode, message: string): RelayError => new RelayError(code, message);

    async function answer(m: RelayMessage, peer: string): Promise<RelayMessage> {
      if (m.type === "termsRequest") {
        operator ??= await o.chain.address();
        return {
          type: "terms",
          relayer: operator,
          fee: o.fee,
          chainId: BigInt(o.chain.deployment.chainId),
          market: o.chain.deployment.market,
        };
      }
      if (m.type !== "intent")
        throw refused(RelayErrorCode.BAD_FRAME, `expected termsRequest or intent, got ${m.type}`);
      operator ??= await o.chain.address();
      const i = m.intent;
      if (i.relayer !== "0x0000000000000000000000000000000000000000" && i.relayer !== operator)
        throw refused(
          RelayErrorCode.WRONG_RELAYER,
          `the intent names relayer ${i.relayer}; this yard relays from ${operator}: ask for its terms and sign again`,
        );
      if (i.fee < o.fee)
        throw refused(RelayErrorCode.FEE_TOO_LOW, `the intent pays ${i.fee} token units; this yard asks ${o.fee}`);
      const nowS = BigInt(Math.floor(o.now() / 1000));
      if (i.deadline < nowS + BigInt(o.minDeadlineS))
        throw refused(
          RelayErrorCode.EXPIRED,
          `the intent's deadline leaves less than ${o.minDeadlineS} s to mine it: sign it again with a later one`,
        );
      if (busy.has(peer))
        throw refused(RelayErrorCode.BUSY, "an intent of yours is still being relayed here: wait for its answer");
      if (!buckets.take(peer, o.now()))
        throw refused(
          RelayErrorCode.BUSY,
          `more than ${o.perPeerPerMinute} intents a minute from you (burst ${o.perPeerBurst}): wait, then retry`,
        );
      if (inFlight >= o.maxInFlight)
        throw refused(RelayErrorCode.BUSY, `this yard relays ${o.maxInFlight} intents at once: retry in a few seconds`);
      busy.add(peer);
      inFlight++;
      try {
        let root: bigint;
        try {
          root = await o.chain.rootOf(i.account);
        } catch (e) {
          if (isIconError(e, ["CHAIN_UNREACHABLE", "CHAIN_TIMEOUT", "CHAIN_FAILED"])) throw e;
          throw refused(RelayErrorCode.REFUSED, `account ${i.account} does not exist in this market`);
        }
        if (!apps.take(root.toString(), o.now()))
          throw refused(
            RelayErrorCode.BUSY,
            `application ${root} has had more than ${o.perAppPerMinute} intents a minute relayed here (burst ${o.perAppBurst}): wait, then retry`,
          );
        const done = await o.chain.relayIntent({ intent: i, signature: m.signature });
        o.metrics.inc("icon_yard_relayed_total", { outcome: "mined" });
        o.metrics.inc("icon_yard_relay_fees_units_total", {}, i.fee);
        o.log.info("intent relayed", { signer: i.signer, account: i.account, fee: i.fee, tx: done.txHash });
        return { type: "relayed", txHash: done.txHash, block: done.block };
      } catch (e) {
        if (e instanceof RelayError) throw e;
        // Sent and then failed (reverted when mined, replaced, no receipt in time) or the chain cannot be reached:
        // not a refusal — the ICON must not take it for one.
        if (isIconError(e, ["CHAIN_UNREACHABLE", "CHAIN_TIMEOUT", "CHAIN_FAILED", "REVERTED", "TX_REPLACED"])) {
          o.metrics.inc("icon_yard_relayed_total", { outcome: "chain" });
          throw new RelayError(RelayErrorCode.CHAIN, `relaying failed at the chain: ${e.message}`, { cause: e });
        }
        if (isIconError(e)) {
          o.metrics.inc("icon_yard_relayed_total", { outcome: "refused" });
          throw new RelayError(RelayErrorCode.REFUSED, e.message, { cause: e, contractError: e.code });
        }
        throw e;
      } finally {
        busy.delete(peer);
        inFlight--;
      }
    }

    async function handle(stream: Stream, connection: Pick<Connection, "remotePeer">): Promise<void> {
      const lp = lpStream(stream, { maxDataLength: relayLimits.maxFrameBytes });
      const peer = connection.remotePeer.toString();
      const write = (m: RelayMessage): Promise<void> =>
        lp.write(encodeRelayFrame(m), { signal: AbortSignal.timeout(relayLimits.frameMs) });
      try {
        const m = decodeRelayFrame((await lp.read({ signal: AbortSignal.timeout(relayLimits.frameMs) })).subarray());
        await write(await answer(m, peer));
        await stream.close();
      } catch (e) {
        const known = e instanceof RelayError;
        if (!known) o.log.warn("relay request failed", { error: e, peer });
        try {
          await write({
            type: "error",
            code: known ? e.relayCode : RelayErrorCode.INTERNAL,
            message: known ? e.message : "the yard failed while relaying",
            contractError: known ? e.contractError : "",
          });
          await stream.close();
        } catch {
          stream.abort(e instanceof Error ? e : new Error(String(e)));
        }
      }
    }

    return {
      start: async () => {
        await registrar.handle(RELAY_PROTOCOL, handle, { maxInboundStreams: 8 });
      },
      stop: async () => {
        await registrar.unhandle(RELAY_PROTOCOL);
      },
    };
  };
}
