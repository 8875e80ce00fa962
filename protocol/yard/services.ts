/**
 * A lease holder's services at its yard: image upload (`/icon/image/1.0.0`) and container logs
 * (`/icon/logs/1.0.0`). Both are authenticated as the lease holder: every request carries a LeaseAccess —
 * the EIP-712 signature (market domain: chain id + market contract) of the lease's paying account's controller
 * or the app owner over (leaseId, the sender's libp2p peer id, expiry). The peer id is the one noise
 * authenticated on the connection, so a captured signature is useless to anyone else.
 *
 * Image upload is chunked, digest-verified and resumable: the tenant offers (image id, tarball sha256, size);
 * the yard answers "present" or the offset it already holds; the tenant streams the rest; the yard checks the
 * tarball's sha256 and that it loads as exactly the offered image id.
 *
 * @example
 *   const access = await signLeaseAccess(iconWallet, market.domain(), leaseId, yardConn.remotePeer ... )
 *   await pushImage(node, yardPeer, { access, imageId, tarball: "/tmp/web.tar" });
 *   const logs = await readLogs(node, yardPeer, { access, tail: 100 });
 */
import { createHash } from "node:crypto";
import { open, stat } from "node:fs/promises";
import { getBytes, hexlify, verifyTypedData, type Signer, type TypedDataDomain } from "ethers";
import type { Libp2p, PeerId, Stream } from "@libp2p/interface";
import type { Multiaddr } from "@multiformats/multiaddr";
import { lpStream, type LengthPrefixedStream } from "@libp2p/utils";
import { IconError } from "../errors.ts";
import { YardEnvelope, YardErrorCode } from "../schema/generated/yard.js";
import { peerIdBytes } from "../lease/binding.ts";
import { leaseTimeouts } from "../lease/limits.ts";

export { YardErrorCode };

export const IMAGE_PROTOCOL = "/icon/image/1.0.0";
export const LOGS_PROTOCOL = "/icon/logs/1.0.0";

export const yardServiceLimits = {
  /** Largest frame: a 60 KiB chunk plus its header. */
  maxFrameBytes: 64 * 1024,
  chunkBytes: 60 * 1024,
  /** Longest log text returned. */
  maxLogBytes: 48 * 1024,
  /** Longest validity of an access signature: a leaked one expires soon. */
  maxAccessSeconds: 3600,
} as const;

/** Types of a lease holder's access statement (primary type `LeaseAccess`). */
export const LEASE_ACCESS_TYPES = {
  LeaseAccess: [
    { name: "leaseId", type: "uint64" },
    { name: "peerId", type: "bytes" },
    { name: "expires", type: "uint64" },
  ],
};

export interface LeaseAccess {
  leaseId: bigint;
  expires: bigint;
  signature: string;
}

/** Signs access to lease `leaseId` for requests sent by `sender` (the tenant's own peer id). */
export async function signLeaseAccess(
  holder: Signer,
  domain: TypedDataDomain,
  leaseId: bigint,
  sender: PeerId,
  validForS = 600,
): Promise<LeaseAccess> {
  const expires = BigInt(Math.floor(Date.now() / 1000) + validForS);
  const signature = await holder.signTypedData(domain, LEASE_ACCESS_TYPES, {
    leaseId,
    peerId: peerIdBytes(sender),
    expires,
  });
  return { leaseId, expires, signature };
}

/** The address that signed `a` for requests from `sender`, after checking its expiry. */
export function leaseAccessSigner(a: LeaseAccess, domain: TypedDataDomain, sender: PeerId, now = Date.now()): string {
  const nowS = BigInt(Math.floor(now / 1000));
  if (a.expires <= nowS) throw new YardServiceError(YardErrorCode.DENIED, "the access signature has expired");
  if (a.expires > nowS + BigInt(yardServiceLimits.maxAccessSeconds) + 60n)
    throw new YardServiceError(YardErrorCode.DENIED, "the access signature is valid for longer than an hour");
  try {
    return verifyTypedData(
      domain,
      LEASE_ACCESS_TYPES,
      { leaseId: a.leaseId, peerId: peerIdBytes(sender), expires: a.expires },
      a.signature,
    );
  } catch (cause) {
    throw new YardServiceError(YardErrorCode.DENIED, "the access signature is malformed", { cause });
  }
}

/** A refusal from the yard (or of the yard's input). */
export class YardServiceError extends IconError {
  override name = "YardServiceError" as const;
  readonly yardCode: YardErrorCode;
  constructor(code: YardErrorCode, message: string, o: { cause?: unknown } = {}) {
    super(`YARD_${YardErrorCode[code] ?? code}`, message, o);
    this.yardCode = code;
  }
}

export type YardMessage =
  | { type: "imageOffer"; access: LeaseAccess; imageId: string; tarSha256: string; size: bigint }
  | { type: "imageStatus"; present: boolean; offset: bigint }
  | { type: "imageChunk"; offset: bigint; data: Uint8Array }
  | { type: "imageLoaded"; imageId: string }
  | { type: "logsRequest"; access: LeaseAccess; tail: number }
  | {
      type: "logsReply";
      state: string;
      exitCode: number;
      oomKilled: boolean;
      restarts: number;
      text: string;
    }
  | { type: "error"; code: YardErrorCode; message: string };

const badFrame = (m: string): YardServiceError => new YardServiceError(YardErrorCode.BAD_FRAME, m);

function b32(b: Uint8Array | undefined, field: string): string {
  if (!b || b.length !== 32) throw badFrame(`${field} must be 32 bytes`);
  return hexlify(b);
}

function access(a: { leaseId: bigint; expires: bigint; signature: Uint8Array } | undefined): LeaseAccess {
  if (!a) throw badFrame("access is required");
  if (a.leaseId <= 0n) throw badFrame("access.leaseId is required");
  if (a.signature.length !== 65) throw badFrame("access.signature must be 65 bytes");
  return { leaseId: a.leaseId, expires: a.expires, signature: hexlify(a.signature) };
}

function clipText(s: string, max: number): string {
  const b = Buffer.from(s);
  if (b.length <= max) return s;
  // Keep the newest bytes, starting at a line (or character) boundary.
  let cut = b.subarray(b.length - max).toString("utf8");
  const nl = cut.indexOf("\n");
  if (nl >= 0 && nl < 200) cut = cut.slice(nl + 1);
  return cut.replace(/^\uFFFD+/, "");
}

/** Decodes and validates one frame. */
export function decodeYardFrame(frame: Uint8Array): YardMessage {
  if (frame.length > yardServiceLimits.maxFrameBytes) throw badFrame("frame too large");
  let e: YardEnvelope;
  try {
    e = YardEnvelope.decode(frame);
  } catch (cause) {
    throw new YardServiceError(YardErrorCode.BAD_FRAME, "the frame is not a valid YardEnvelope", { cause });
  }
  if (e.imageOffer) {
    const o = e.imageOffer;
    return {
      type: "imageOffer",
      access: access(o.access),
      imageId: b32(o.imageId, "imageId"),
      tarSha256: b32(o.tarSha256, "tarSha256"),
      size: o.size,
    };
  }
  if (e.imageStatus) return { type: "imageStatus", present: e.imageStatus.present, offset: e.imageStatus.offset };
  if (e.imageChunk) {
    if (e.imageChunk.data.length === 0 || e.imageChunk.data.length > yardServiceLimits.chunkBytes)
      throw badFrame(`a chunk carries 1..${yardServiceLimits.chunkBytes} bytes`);
    return { type: "imageChunk", offset: e.imageChunk.offset, data: e.imageChunk.data };
  }
  if (e.imageLoaded) return { type: "imageLoaded", imageId: b32(e.imageLoaded.imageId, "imageId") };
  if (e.logsRequest)
    return {
      type: "logsRequest",
      access: access(e.logsRequest.access),
      tail: Math.min(e.logsRequest.tail || 100, 10_000),
    };
  if (e.logsReply) {
    const r = e.logsReply;
    return {
      type: "logsReply",
      state: r.state.slice(0, 64),
      exitCode: r.exitCode,
      oomKilled: r.oomKilled,
      restarts: r.restarts,
      text: clipText(r.text, yardServiceLimits.maxLogBytes),
    };
  }
  if (e.error) return { type: "error", code: e.error.code, message: e.error.message.slice(0, 512) };
  throw new YardServiceError(YardErrorCode.BAD_FRAME, "the envelope carries no message this version knows");
}

/** Encodes one frame. */
export function encodeYardFrame(m: YardMessage): Uint8Array {
  const bytes = (hex: string): Uint8Array<ArrayBuffer> => Uint8Array.from(getBytes(hex));
  const acc = (a: LeaseAccess) => ({ leaseId: a.leaseId, expires: a.expires, signature: bytes(a.signature) });
  switch (m.type) {
    case "imageOffer":
      return YardEnvelope.encode({
        imageOffer: {
          access: acc(m.access),
          imageId: bytes(m.imageId),
          tarSha256: bytes(m.tarSha256),
          size: m.size,
        },
      });
    case "imageStatus":
      return YardEnvelope.encode({ imageStatus: { present: m.present, offset: m.offset } });
    case "imageChunk":
      return YardEnvelope.encode({ imageChunk: { offset: m.offset, data: Uint8Array.from(m.data) } });
    case "imageLoaded":
      return YardEnvelope.encode({ imageLoaded: { imageId: bytes(m.imageId) } });
    case "logsRequest":
      return YardEnvelope.encode({ logsRequest: { access: acc(m.access), tail: m.tail } });
    case "logsReply":
      return YardEnvelope.encode({
        logsReply: {
          state: m.state,
          exitCode: m.exitCode,
          oomKilled: m.oomKilled,
          restarts: m.restarts,
          text: clipText(m.text, yardServiceLimits.maxLogBytes),
        },
      });
    case "error":
      return YardEnvelope.encode({ error: { code: m.code, message: m.message.slice(0, 512) } });
  }
}

/** One request/response conversation on a fresh stream. */
class Conversation {
  readonly #lp: LengthPrefixedStream<Stream>;
  readonly #stream: Stream;
  readonly #signal: AbortSignal;
  constructor(stream: Stream, signal: AbortSignal) {
    this.#stream = stream;
    this.#lp = lpStream(stream, { maxDataLength: yardServiceLimits.maxFrameBytes });
    this.#signal = signal;
  }
  static async open(node: Libp2p, peer: PeerId | Multiaddr, protocol: string, signal?: AbortSignal) {
    const s = signal ?? AbortSignal.timeout(leaseTimeouts.exchangeMs * 5);
    const stream = await node.dialProtocol(peer, protocol, { signal: s });
    return new Conversation(stream, s);
  }
  async send(m: YardMessage): Promise<void> {
    // lp.write looks at the signal only when the stream pushes back: without this an aborted upload sends on.
    this.#signal.throwIfAborted();
    await this.#lp.write(encodeYardFrame(m), { signal: this.#signal });
  }
  async receive(): Promise<YardMessage> {
    const m = decodeYardFrame((await this.#lp.read({ signal: this.#signal })).subarray());
    if (m.type === "error") throw new YardServiceError(m.code, m.message);
    return m;
  }
  async close(): Promise<void> {
    await this.#stream.close().catch(() => this.#stream.abort(new Error("close failed")));
  }
  abort(e: unknown): void {
    this.#stream.abort(e instanceof Error ? e : new Error(String(e)));
  }
}

/** sha256 of a file, as 0x-hex. */
export async function fileSha256(file: string): Promise<string> {
  const h = createHash("sha256");
  const f = await open(file);
  try {
    for await (const chunk of f.createReadStream()) h.update(chunk as Buffer);
  } finally {
    await f.close();
  }
  return "0x" + h.digest("hex");
}

/**
 * Uploads a `docker save` tarball for lease `access.leaseId`; resumes where an interrupted upload stopped.
 * Returns how many bytes were sent (0 when the yard already had the image).
 */
export async function pushImage(
  node: Libp2p,
  yard: PeerId | Multiaddr,
  o: {
    access: LeaseAccess;
    imageId: string;
    tarball: string;
    signal?: AbortSignal;
    onProgress?: (sent: bigint, size: bigint) => void;
  },
): Promise<{ sent: bigint; present: boolean }> {
  const size = BigInt((await stat(o.tarball)).size);
  const tarSha256 = await fileSha256(o.tarball);
  const c = await Conversation.open(node, yard, IMAGE_PROTOCOL, o.signal);
  try {
    await c.send({ type: "imageOffer", access: o.access, imageId: o.imageId, tarSha256, size });
    const status = await c.receive();
    if (status.type !== "imageStatus") throw badFrame(`expected imageStatus, got ${status.type}`);
    if (status.present) {
      await c.close();
      return { sent: 0n, present: true };
    }
    let offset = status.offset;
    if (offset > size) throw badFrame("the yard claims more bytes than the image has");
    const f = await open(o.tarball);
    let sent = 0n;
    try {
      const buf = Buffer.alloc(yardServiceLimits.chunkBytes);
      while (offset < size) {
        const { bytesRead } = await f.read(buf, 0, buf.length, Number(offset));
        if (bytesRead === 0) throw new IconError("IMAGE_CHANGED", `${o.tarball} shrank while it was being sent`);
        await c.send({ type: "imageChunk", offset, data: buf.subarray(0, bytesRead) });
        offset += BigInt(bytesRead);
        sent += BigInt(bytesRead);
        o.onProgress?.(offset, size);
      }
    } finally {
      await f.close();
    }
    const done = await c.receive();
    if (done.type !== "imageLoaded" || done.imageId !== o.imageId.toLowerCase())
      throw badFrame("the yard did not confirm the image");
    await c.close();
    return { sent, present: false };
  } catch (e) {
    c.abort(e);
    throw e;
  }
}

/** Reads the lease's container state and its last `tail` lines of output. */
export async function readLogs(
  node: Libp2p,
  yard: PeerId | Multiaddr,
  o: { access: LeaseAccess; tail?: number; signal?: AbortSignal },
): Promise<Extract<YardMessage, { type: "logsReply" }>> {
  const c = await Conversation.open(node, yard, LOGS_PROTOCOL, o.signal ?? AbortSignal.timeout(10_000));
  try {
    await c.send({ type: "logsRequest", access: o.access, tail: o.tail ?? 100 });
    const r = await c.receive();
    if (r.type !== "logsReply") throw badFrame(`expected logsReply, got ${r.type}`);
    await c.close();
    return r;
  } catch (e) {
    c.abort(e);
    throw e;
  }
}
