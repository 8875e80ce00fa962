/**
 * /icon/relay/1.0.0: an ICON's key holds no ETH; a yard submits the ICON's signed intent (IconMarket.relay) and
 * is repaid in tokens from the ICON's budget account, within the owner's caps (contracts/README.md, "Relayed
 * intents"). One request and one answer per stream: the ICON asks for the yard's terms (its relayer address and fee
 * per intent); on a new stream it sends an intent naming that relayer and paying that fee; the yard simulates it (a
 * refused intent costs nobody gas), sends it, and answers with the transaction once mined. The ICON reads the receipt from its
 * own RPC, so it never has to trust the yard's word about what happened.
 *
 * @example
 *   const terms = await relayTerms(node, yardPeer);
 *   const { txHash } = await relayIntent(node, yardPeer, await signIntent(...terms...));
 */
import { getAddress, getBytes, hexlify, toBeArray, toBigInt, zeroPadValue } from "ethers";
import type { Libp2p, PeerId, Stream } from "@libp2p/interface";
import type { Multiaddr } from "@multiformats/multiaddr";
import { lpStream } from "@libp2p/utils";
import { IconError } from "../errors.ts";
import type { Intent, SignedIntent } from "../eip712.ts";
import { RelayEnvelope, RelayErrorCode } from "../schema/generated/relay.js";

export { RelayErrorCode };

export const RELAY_PROTOCOL = "/icon/relay/1.0.0";

export const relayLimits = {
  /** Largest frame: an intent with 1 KiB of call data and its fields. */
  maxFrameBytes: 2048,
  /** Largest call data an intent may carry (the allowed market calls take a few words). */
  maxDataBytes: 1024,
  /** Time allowed for each frame to arrive. */
  frameMs: 10_000,
  /** Time the ICON waits for the yard to simulate, send and mine an intent. */
  relayMs: 180_000,
} as const;

/** A yard's terms: it submits from `relayer` and asks `fee` token units per intent. */
export interface RelayTermsInfo {
  relayer: string;
  fee: bigint;
  chainId: bigint;
  market: string;
}

export type RelayMessage =
  | { type: "termsRequest" }
  | ({ type: "terms" } & RelayTermsInfo)
  | ({ type: "intent" } & SignedIntent)
  | { type: "relayed"; txHash: string; block: bigint }
  | { type: "error"; code: RelayErrorCode; message: string; contractError: string };

/** A refusal from the relaying yard (or of its input). `contractError` names the market's error when it refused. */
export class RelayError extends IconError {
  override name = "RelayError" as const;
  readonly relayCode: RelayErrorCode;
  readonly contractError: string;
  constructor(code: RelayErrorCode, message: string, o: { cause?: unknown; contractError?: string } = {}) {
    super(`RELAY_${RelayErrorCode[code] ?? code}`, message, { cause: o.cause });
    this.relayCode = code;
    this.contractError = o.contractError ?? "";
  }
}

const badFrame = (m: string): RelayError => new RelayError(RelayErrorCode.BAD_FRAME, m);

function address(b: Uint8Array | undefined, field: string, empty?: string): string {
  if (empty !== undefined && (!b || b.length === 0)) return empty;
  if (!b || b.length !== 20) throw badFrame(`${field} must be 20 bytes`);
  return getAddress(hexlify(b));
}

/** A big-endian unsigned integer of at most `bytes` bytes (empty = 0). */
function uint(b: Uint8Array | undefined, field: string, bytes: number): bigint {
  if (!b || b.length === 0) return 0n;
  if (b.length > bytes) throw badFrame(`${field} must fit in ${bytes} bytes`);
  return toBigInt(b);
}

const ZERO = "0x0000000000000000000000000000000000000000";

/** Decodes and validates one frame. */
export function decodeRelayFrame(frame: Uint8Array): RelayMessage {
  if (frame.length > relayLimits.maxFrameBytes) throw badFrame("frame too large");
  let e: RelayEnvelope;
  try {
    e = RelayEnvelope.decode(frame);
  } catch (cause) {
    throw new RelayError(RelayErrorCode.BAD_FRAME, "the frame is not a valid RelayEnvelope", { cause });
  }
  if (e.termsRequest) return { type: "termsRequest" };
  if (e.terms)
    return {
      type: "terms",
      relayer: address(e.terms.relayer, "terms.relayer"),
      fee: uint(e.terms.fee, "terms.fee", 12),
      chainId: e.terms.chainId,
      market: address(e.terms.market, "terms.market"),
    };
  if (e.intent) {
    const i = e.intent;
    if (i.data.length < 4 || i.data.length > relayLimits.maxDataBytes)
      throw badFrame(`intent.data carries 4..${relayLimits.maxDataBytes} bytes`);
    if (i.signature.length !== 65) throw badFrame("intent.signature must be 65 bytes");
    if (i.account <= 0n) throw badFrame("intent.account is required");
    if (i.deadline >= 1n << 40n) throw badFrame("intent.deadline must fit in 40 bits (unix seconds)");
    const intent: Intent = {
      signer: address(i.signer, "intent.signer"),
      account: i.account,
      data: hexlify(i.data),
      fee: uint(i.fee, "intent.fee", 12),
      relayer: address(i.relayer, "intent.relayer", ZERO),
      nonce: uint(i.nonce, "intent.nonce", 32),
      deadline: i.deadline,
    };
    return { type: "intent", intent, signature: hexlify(i.signature) };
  }
  if (e.relayed) {
    if (e.relayed.txHash.length !== 32) throw badFrame("relayed.txHash must be 32 bytes");
    return { type: "relayed", txHash: hexlify(e.relayed.txHash), block: e.relayed.block };
  }
  if (e.error)
    return {
      type: "error",
      code: e.error.code,
      message: e.error.message.slice(0, 512),
      contractError: e.error.contractError.slice(0, 64),
    };
  throw badFrame("the envelope carries no message this version knows");
}

const bytes = (hex: string): Uint8Array<ArrayBuffer> => Uint8Array.from(getBytes(hex));
const be = (v: bigint): Uint8Array<ArrayBuffer> => (v === 0n ? new Uint8Array(0) : Uint8Array.from(toBeArray(v)));

/** Encodes one frame. */
export function encodeRelayFrame(m: RelayMessage): Uint8Array {
  switch (m.type) {
    case "termsRequest":
      return RelayEnvelope.encode({ termsRequest: {} });
    case "terms":
      return RelayEnvelope.encode({
        terms: { relayer: bytes(m.relayer), fee: be(m.fee), chainId: m.chainId, market: bytes(m.market) },
      });
    case "intent": {
      const i = m.intent;
      return RelayEnvelope.encode({
        intent: {
          signer: bytes(i.signer),
          account: i.account,
          data: bytes(i.data),
          fee: be(i.fee),
          relayer: i.relayer === ZERO ? new Uint8Array(0) : bytes(i.relayer),
          nonce: bytes(zeroPadValue(be(i.nonce), 32)),
          deadline: i.deadline,
          signature: bytes(m.signature),
        },
      });
    }
    case "relayed":
      return RelayEnvelope.encode({ relayed: { txHash: bytes(m.txHash), block: m.block } });
    case "error":
      return RelayEnvelope.encode({
        error: { code: m.code, message: m.message.slice(0, 512), contractError: m.contractError.slice(0, 64) },
      });
  }
}

/** Runs `fn` over a fresh stream to `yard`; the stream is closed after, aborted on error. */
async function converse<T>(
  node: Pick<Libp2p, "dialProtocol">,
  yard: PeerId | Multiaddr | Multiaddr[],
  signal: AbortSignal,
  fn: (send: (m: RelayMessage) => Promise<void>, receive: () => Promise<RelayMessage>) => Promise<T>,
): Promise<T> {
  const stream: Stream = await node.dialProtocol(yard, RELAY_PROTOCOL, { signal });
  const lp = lpStream(stream, { maxDataLength: relayLimits.maxFrameBytes });
  try {
    const result = await fn(
      async (m) => {
        signal.throwIfAborted();
        await lp.write(encodeRelayFrame(m), { signal });
      },
      async () => {
        const m = decodeRelayFrame((await lp.read({ signal })).subarray());
        if (m.type === "error") throw new RelayError(m.code, m.message, { contractError: m.contractError });
        return m;
      },
    );
    await stream.close().catch(() => stream.abort(new Error("close failed")));
    return result;
  } catch (e) {
    stream.abort(e instanceof Error ? e : new Error(String(e)));
    throw e;
  }
}

/** Asks `yard` for its relay terms. */
export async function relayTerms(
  node: Pick<Libp2p, "dialProtocol">,
  yard: PeerId | Multiaddr | Multiaddr[],
  signal: AbortSignal = AbortSignal.timeout(relayLimits.frameMs * 2),
): Promise<RelayTermsInfo> {
  return converse(node, yard, signal, async (send, receive) => {
    await send({ type: "termsRequest" });
    const m = await receive();
    if (m.type !== "terms") throw badFrame(`expected terms, got ${m.type}`);
    return { relayer: m.relayer, fee: m.fee, chainId: m.chainId, market: m.market };
  });
}

/** Has `yard` relay `signed`; resolves with the transaction once mined (check its receipt yourself). */
export async function relayIntent(
  node: Pick<Libp2p, "dialProtocol">,
  yard: PeerId | Multiaddr | Multiaddr[],
  signed: SignedIntent,
  signal: AbortSignal = AbortSignal.timeout(relayLimits.relayMs),
): Promise<{ txHash: string; block: bigint }> {
  return converse(node, yard, signal, async (send, receive) => {
    await send({ type: "intent", ...signed });
    const m = await receive();
    if (m.type !== "relayed") throw badFrame(`expected relayed, got ${m.type}`);
    return { txHash: m.txHash, block: m.block };
  });
}
