/**
 * Wire format of yard-to-yard tunnels (`/icon/tunnel/1.0.0`): one libp2p stream per proxied connection. The yard's
 * side (opening, accepting, pumping bytes) is yard-node/overlay/tunnel.ts; this file is what both ends speak.
 *
 *   opener → acceptor   one frame: varint length + JSON (≤ 4 KiB)
 *                       { v: 1, service?, instanceId: "<decimal>", port, client: "<ip>", from?: "<service key>",
 *                         fromInstance?: "<decimal>", transport?: "udp" }
 *                       (without `service` the header addresses the instance by its lease id alone — a
 *                       redirection stub of a lease that names no service; `from` then is refused; `from` and
 *                       `fromInstance`, the source container's lease, come together or not at all)
 *   acceptor → opener   one frame: { ok: true } or { ok: false, error: "<sentence>" }
 *   both ways           raw bytes until each side closes its write side (half-close = stream close(), i.e. a
 *                       yamux FIN); an error on either side aborts the stream (yamux RST) and both TCP ends.
 *                       With `transport: "udp"`: datagrams, each framed as a 2-byte big-endian length and the
 *                       payload ({@link frameDatagram}, {@link DatagramDeframer}).
 *
 * Headers are validated strictly: unknown fields, bad types and non-canonical names are refused with a sentence.
 *
 * @example
 *   stream.send(encodeTunnelHeader({ service: "shop.r1.web.prod", instanceId: 7n, port: 80, client: "192.0.2.1" }));
 *   const answer = decodeTunnelAnswer(firstFrame); // { ok: true } or { ok: false, error }
 */
import net from "node:net";
import type { Uint8ArrayList } from "uint8arraylist";
import { IconError } from "../errors.ts";
import { isServiceKey } from "../lease/fields.ts";

/** The libp2p protocol id of tunnels. */
export const TUNNEL_PROTOCOL = "/icon/tunnel/1.0.0";

/** Limits of the tunnel protocol. */
export const tunnelLimits = {
  /** Largest header or answer frame (JSON bytes, without the length prefix). */
  maxFrameBytes: 4096,
  /** Longest error sentence an acceptor sends (longer ones are clipped). */
  maxErrorBytes: 1024,
  /** Tunnel streams per yard connection and direction (libp2p's default of 32/64 is far too few). */
  maxStreamsPerConnection: 1024,
} as const;

/** What the opener asks for: one instance's port, plus who is asking (for flow observation and namespaces). */
export interface TunnelHeader {
  /**
   * `app.appns.service.servicens` (canonical: lower case); absent when the instance is addressed by its lease id
   * alone (a redirection stub of a lease that names no service).
   */
  service?: string;
  /** The instance (lease id). */
  instanceId: bigint;
  /** The container port of the instance. */
  port: number;
  /** The original client's IP address. */
  client: string;
  /** The source service key, when the client is an ICON container (namespace rules). */
  from?: string;
  /**
   * The source container's lease (with `from`, always): the acceptor checks on chain that it is a lease of `from`'s
   * application hosted by the opener yard, so an opener names only sources it runs.
   */
  fromInstance?: bigint;
  /** "udp": the stream carries datagrams, each framed as a 2-byte big-endian length and the payload. */
  transport?: "udp";
}

/** What the acceptor answers: the target is connected, or a sentence refusing the tunnel. */
export type TunnelAnswer = { ok: true } | { ok: false; error: string };

/** A tunnel failed: refused by the remote yard (its sentence), unreachable yard, malformed answer, timeout. */
export class TunnelError extends IconError {
  override name = "TunnelError" as const;
}

// ---------------------------------------------------------------------------------------------------------------
// Frames: unsigned varint length + UTF-8 JSON.

const INSTANCE_ID = /^(?:0|[1-9][0-9]{0,77})$/;
const HEADER_KEYS = new Set(["v", "service", "instanceId", "port", "client", "from", "fromInstance", "transport"]);

function encodeFrame(value: object): Uint8Array {
  const body = Buffer.from(JSON.stringify(value));
  if (body.byteLength > tunnelLimits.maxFrameBytes) {
    throw new TunnelError("TUNNEL_BAD_HEADER", `a tunnel frame is ${body.byteLength} bytes, more than 4 KiB`);
  }
  const prefix: number[] = [];
  let n = body.byteLength;
  while (n >= 0x80) {
    prefix.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  prefix.push(n);
  return Buffer.concat([Buffer.from(prefix), body]);
}

/** Checks `h` and returns its wire form; throws TUNNEL_BAD_HEADER naming the bad field. */
export function encodeTunnelHeader(h: TunnelHeader): Uint8Array {
  const wire: Record<string, unknown> = {
    v: 1,
    instanceId: typeof h.instanceId === "bigint" ? h.instanceId.toString() : h.instanceId,
    port: h.port,
    client: h.client,
  };
  if (h.service !== undefined) wire.service = h.service;
  if (h.from !== undefined) wire.from = h.from;
  if (h.fromInstance !== undefined)
    wire.fromInstance = typeof h.fromInstance === "bigint" ? h.fromInstance.toString() : h.fromInstance;
  if (h.transport !== undefined) wire.transport = h.transport;
  const problem = checkHeader(wire);
  if (problem) throw new TunnelError("TUNNEL_BAD_HEADER", `cannot open a tunnel: ${problem}`);
  return encodeFrame(wire);
}

/** Parses and validates a header frame's JSON bytes; throws TUNNEL_BAD_HEADER with a sentence. */
export function decodeTunnelHeader(body: Uint8Array): TunnelHeader {
  const wire = parseJson(body, "TUNNEL_BAD_HEADER", "the tunnel header is not JSON");
  const problem = checkHeader(wire);
  if (problem) throw new TunnelError("TUNNEL_BAD_HEADER", problem);
  const w = wire as { service?: string; instanceId: string; port: number; client: string; from?: string };
  const h: TunnelHeader = { instanceId: BigInt(w.instanceId), port: w.port, client: w.client };
  if (w.service !== undefined) h.service = w.service;
  if (w.from !== undefined) h.from = w.from;
  const fromInstance = (wire as { fromInstance?: string }).fromInstance;
  if (fromInstance !== undefined) h.fromInstance = BigInt(fromInstance);
  if ((wire as { transport?: string }).transport === "udp") h.transport = "udp";
  return h;
}

/** A sentence naming what is wrong with a wire header, or undefined when it is valid. */
function checkHeader(wire: unknown): string | undefined {
  if (typeof wire !== "object" || wire === null || Array.isArray(wire)) return "the tunnel header is not an object";
  const w = wire as Record<string, unknown>;
  for (const k of Object.keys(w)) {
    if (!HEADER_KEYS.has(k)) return `the tunnel header has an unknown field ${JSON.stringify(k.slice(0, 64))}`;
  }
  if (w.v !== 1) return "the tunnel header's version is not 1";
  const keyProblem = (field: string, v: unknown): string | undefined => {
    if (typeof v !== "string") return `the tunnel header's ${field} is not a string`;
    if (isServiceKey(v)) return undefined;
    return `the tunnel header's ${field} is not a service key app.appns.service.servicens (lower case DNS labels)`;
  };
  const s = w.service === undefined ? undefined : keyProblem("service", w.service);
  if (s) return s;
  if (typeof w.instanceId !== "string" || !INSTANCE_ID.test(w.instanceId)) {
    return "the tunnel header's instanceId is not a decimal lease id";
  }
  if (typeof w.port !== "number" || !Number.isInteger(w.port) || w.port < 1 || w.port > 65535) {
    return "the tunnel header's port is not an integer from 1 to 65535";
  }
  if (typeof w.client !== "string" || net.isIP(w.client) === 0)
    return "the tunnel header's client is not an IP address";
  if (w.transport !== undefined && w.transport !== "udp") return 'the tunnel header\'s transport is not "udp"';
  if ((w.from === undefined) !== (w.fromInstance === undefined))
    return "the tunnel header must name the source service (from) and its lease (fromInstance) together";
  if (w.from !== undefined) {
    // Namespace rules are a service's: a source service means nothing to an instance addressed by lease id.
    if (w.service === undefined) return "the tunnel header names a source service (from) but no target service";
    if (typeof w.fromInstance !== "string" || !INSTANCE_ID.test(w.fromInstance))
      return "the tunnel header's fromInstance is not a decimal lease id";
    return keyProblem("from", w.from);
  }
  return undefined;
}

/** The acceptor's answer frame (an error sentence is clipped to `maxErrorBytes`). */
export function encodeTunnelAnswer(a: TunnelAnswer): Uint8Array {
  return encodeFrame(a.ok ? { ok: true } : { ok: false, error: clip(a.error) });
}

/** Parses the acceptor's answer frame; throws TUNNEL_PROTOCOL when it is neither form. */
export function decodeTunnelAnswer(body: Uint8Array): TunnelAnswer {
  const a = parseJson(body, "TUNNEL_PROTOCOL", "the remote yard's tunnel answer is not JSON");
  if (typeof a === "object" && a !== null && !Array.isArray(a)) {
    const keys = Object.keys(a).sort().join(",");
    const r = a as Record<string, unknown>;
    if (keys === "ok" && r.ok === true) return { ok: true };
    if (keys === "error,ok" && r.ok === false && typeof r.error === "string" && r.error.length > 0) {
      return { ok: false, error: clip(r.error) };
    }
  }
  throw new TunnelError("TUNNEL_PROTOCOL", "the remote yard's tunnel answer is neither {ok:true} nor {ok:false,error}");
}

/** The JSON value of a frame's UTF-8 bytes; throws a TunnelError `code` with `sentence` when they are not JSON. */
function parseJson(body: Uint8Array, code: "TUNNEL_BAD_HEADER" | "TUNNEL_PROTOCOL", sentence: string): unknown {
  try {
    return JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString("utf8"));
  } catch {
    throw new TunnelError(code, sentence);
  }
}

/** Clips a sentence to `maxErrorBytes` on a character boundary. */
function clip(s: string): string {
  let out = s;
  while (Buffer.byteLength(out) > tunnelLimits.maxErrorBytes) out = out.slice(0, -1);
  return out.isWellFormed() ? out : out.slice(0, -1);
}

/**
 * The length prefix at the start of `buf`: [frame length, prefix length], or undefined while incomplete (a prefix
 * longer than any allowed frame reads as a length past `maxFrameBytes`).
 */
export function readTunnelFrameLength(buf: Uint8ArrayList): [number, number] | undefined {
  let value = 0;
  for (let i = 0; i < 3; i++) {
    if (i >= buf.byteLength) return undefined;
    const b = buf.get(i);
    value += (b & 0x7f) * 2 ** (7 * i);
    if ((b & 0x80) === 0) return [value, i + 1];
  }
  return [Number.MAX_SAFE_INTEGER, 3]; // longer than any allowed frame
}

// ---------------------------------------------------------------------------------------------------------------
// Datagrams over a tunnel stream (`transport: "udp"`).

/** Frames one datagram for a stream. */
export function frameDatagram(payload: Uint8Array): Buffer {
  if (payload.length > 0xffff) throw new RangeError("datagram larger than 65535 bytes");
  const b = Buffer.allocUnsafe(2 + payload.length);
  b.writeUInt16BE(payload.length, 0);
  b.set(payload, 2);
  return b;
}

/** Splits a byte stream back into datagrams. */
export class DatagramDeframer {
  #buf: Buffer = Buffer.alloc(0);
  push(chunk: Buffer, on: (d: Buffer) => void): void {
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    while (this.#buf.length >= 2) {
      const n = this.#buf.readUInt16BE(0);
      if (this.#buf.length < 2 + n) break;
      on(this.#buf.subarray(2, 2 + n));
      this.#buf = this.#buf.subarray(2 + n);
    }
  }
}
