/**
 * The agent gateway: what an ICON agent running as a lease's agent sidecar reaches, and only through its yard
 * (issue 16 item 3). The yard serves it over HTTP/1.1 on its Docker bridge's gateway address
 * (`yard-node/agent-gateway.ts`); the agent finds it in {@link AGENT_GATEWAY_ENV} and is its client
 * (`icon-agent/gateway.ts`). The contract in full is in PROTOCOL.md ("The agent gateway").
 *
 *   GET  /self            → {@link GatewaySelf}: the lease, the yard, where others reach this agent, what it names
 *   POST /rpc             → JSON-RPC 2.0 (reads and estimates only) to the chain the yard names
 *   GET  /alto/<path>     → the ALTO server the yard names (404 when it names none)
 *   POST /dial            {@link GatewayDialRequest} → {@link GatewayDial}: a TCP forward to a libp2p peer the yard
 *                         has authenticated (noise) at one of those addresses
 *
 * Both sides treat what the other sends as untrusted: the parsers below turn JSON into typed values or throw an
 * IconError whose message says what was wrong, before any logic sees it.
 *
 * @example
 *   const self = parseGatewaySelf(await (await fetch(`${gw}/self`)).json());
 *   const { addr } = parseGatewayDial(await res.json(), "172.18.0.1");   // "/ip4/172.18.0.1/tcp/40123"
 */
import { isIP } from "node:net";
import { multiaddr } from "@multiformats/multiaddr";
import { peerIdFromString } from "@libp2p/peer-id";
import { IconError, type ErrorCode } from "../errors.ts";

/** The env var the yard sets in every agent sidecar: `http://<bridge gateway ip>:<port>` (not a secret). */
export const AGENT_GATEWAY_ENV = "ICON_GATEWAY";

/** The TCP port the agent's libp2p listens on inside its sidecar (on 0.0.0.0; the yard's ingress exposes it). */
export const AGENT_P2P_PORT = 4100;

/** The gateway's port when the yard config names none (`agentGateway.port`): beside the dev chain's 8545. */
export const DEFAULT_AGENT_GATEWAY_PORT = 8547;

/** Bounds both sides hold to. */
export const gatewayLimits = {
  /** Largest request body the gateway reads. */
  maxBodyBytes: 256 * 1024,
  /** Largest `/self` or `/dial` answer the agent reads. */
  maxAnswerBytes: 64 * 1024,
  /** Most addresses in a `/dial` request, and in each list of `/self`. */
  maxAddrs: 16,
  /** Longest multiaddr accepted (as text). */
  maxAddrChars: 256,
  /** Most calls in one JSON-RPC batch through `/rpc`. */
  maxRpcBatch: 16,
  /** Widest block range of one `eth_getLogs` through `/rpc`. */
  maxLogBlocks: 10_000,
  /** Forward targets one lease may hold open at once (the least recently used idle one makes room). */
  maxForwards: 32,
  /** An idle forward is closed after this long. */
  forwardIdleMs: 5 * 60_000,
} as const;

/** What `GET /self` answers: the lease the request acts for and what the yard names for its agent. */
export interface GatewaySelf {
  leaseId: bigint;
  /** The yard's own libp2p identity and addresses (as it announces them). */
  yard: { peerId: string; addrs: string[] };
  /** Where other peers reach this agent's libp2p listener ({@link AGENT_P2P_PORT}) from outside, without /p2p/. */
  agentAddrs: string[];
  /** The JSON-RPC proxy's path on the gateway ("/rpc"). */
  rpc: string;
  /** The ALTO proxy's path on the gateway ("/alto"), or null when the yard names no ALTO server. */
  alto: string | null;
  /** The yard's DNS responder as "ip:port" (semantic names, the rest forwarded upstream), or null when it runs none. */
  dns: string | null;
}

/** The body of `POST /dial`: the peer the agent wants a libp2p connection to, and where it may be. */
export interface GatewayDialRequest {
  peer: string;
  /** Transport addresses (`/ip4|ip6|dns4|dns6/…/tcp/<port>`), without /p2p/. */
  addrs: string[];
}

/** What `POST /dial` answers: the gateway address (`/ip4/<gateway ip>/tcp/<port>`) forwarding to that peer. */
export interface GatewayDial {
  addr: string;
}

function bad(code: ErrorCode, what: string): never {
  throw new IconError(code, what);
}

function record(raw: unknown, what: string, code: ErrorCode, keys: readonly string[]): Record<string, unknown> {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) bad(code, `${what} is not a JSON object`);
  const o = raw as Record<string, unknown>;
  const unknown = Object.keys(o).filter((k) => !keys.includes(k));
  if (unknown.length > 0) bad(code, `${what} has fields it should not: ${unknown.slice(0, 4).join(", ")}`);
  return o;
}

function peerIdText(v: unknown, what: string, code: ErrorCode): string {
  if (typeof v !== "string" || v.length === 0 || v.length > 128) bad(code, `${what} is not a libp2p peer id`);
  try {
    return peerIdFromString(v).toString();
  } catch {
    return bad(code, `${what} "${v.slice(0, 64)}" is not a libp2p peer id`);
  }
}

const TRANSPORT = /^\/(ip4|ip6|dns4|dns6)\/[^/]+\/tcp\/(\d{1,5})$/;

/** `v` as a TCP transport multiaddr without /p2p/ (`/ip4/1.2.3.4/tcp/4001`), or throws `code`. */
function transportAddr(v: unknown, what: string, code: ErrorCode): string {
  if (typeof v !== "string" || v.length > gatewayLimits.maxAddrChars)
    bad(code, `${what} is not a multiaddr of at most ${gatewayLimits.maxAddrChars} characters`);
  const m = TRANSPORT.exec(v);
  const port = Number(m?.[2]);
  if (!m || port < 1 || port > 65535)
    bad(code, `${what} "${v.slice(0, 80)}" is not a TCP address /ip4|ip6|dns4|dns6/<host>/tcp/<port> (no /p2p/)`);
  try {
    multiaddr(v);
  } catch {
    bad(code, `${what} "${v.slice(0, 80)}" is not a valid multiaddr`);
  }
  return v;
}

function addrList(v: unknown, what: string, code: ErrorCode, min: number): string[] {
  if (!Array.isArray(v) || v.length < min || v.length > gatewayLimits.maxAddrs)
    bad(code, `${what} is not a list of ${min}…${gatewayLimits.maxAddrs} addresses`);
  return v.map((a, i) => transportAddr(a, `${what}[${i}]`, code));
}

function gatewayPath(v: unknown, what: string): string {
  if (typeof v !== "string" || !/^\/[a-z0-9_-]{1,32}$/i.test(v))
    bad("BAD_GATEWAY_ANSWER", `${what} is not a path on the gateway`);
  return v;
}

/** `GET /self`'s answer, validated. */
export function parseGatewaySelf(raw: unknown): GatewaySelf {
  const code = "BAD_GATEWAY_ANSWER";
  const o = record(raw, "the gateway's /self answer", code, ["leaseId", "yard", "agentAddrs", "rpc", "alto", "dns"]);
  if (typeof o.leaseId !== "string" || !/^[1-9]\d{0,19}$/.test(o.leaseId) || BigInt(o.leaseId) >= 2n ** 64n)
    bad(code, "/self's leaseId is not a lease id in decimal");
  const y = record(o.yard, "/self's yard", code, ["peerId", "addrs"]);
  const dns = o.dns;
  if (dns !== null) {
    const m = typeof dns === "string" ? /^(.+):(\d{1,5})$/.exec(dns) : null;
    const port = Number(m?.[2]);
    if (!m || !isIP(m[1]!.replace(/^\[(.*)\]$/, "$1")) || port < 1 || port > 65535)
      bad(code, `/self's dns is neither null nor "ip:port"`);
  }
  return {
    leaseId: BigInt(o.leaseId),
    yard: {
      peerId: peerIdText(y.peerId, "/self's yard.peerId", code),
      addrs: addrList(y.addrs, "/self's yard.addrs", code, 0),
    },
    agentAddrs: addrList(o.agentAddrs, "/self's agentAddrs", code, 1),
    rpc: gatewayPath(o.rpc, "/self's rpc"),
    alto: o.alto === null ? null : gatewayPath(o.alto, "/self's alto"),
    dns: dns as string | null,
  };
}

/** `GatewaySelf` as `GET /self` sends it (the lease id in decimal). */
export function gatewaySelfJson(s: GatewaySelf): Record<string, unknown> {
  return { ...s, leaseId: s.leaseId.toString() };
}

/** A `POST /dial` body, validated (the gateway's side: BAD_GATEWAY_REQUEST, answered 400 with the message). */
export function parseGatewayDialRequest(raw: unknown): GatewayDialRequest {
  const code = "BAD_GATEWAY_REQUEST";
  const o = record(raw, "the /dial body", code, ["peer", "addrs"]);
  return { peer: peerIdText(o.peer, "peer", code), addrs: addrList(o.addrs, "addrs", code, 1) };
}

/**
 * `POST /dial`'s answer, validated: a plain `/ip4|ip6/<ip>/tcp/<port>`, and when `gatewayIp` is given, on that
 * address only (a forward is the gateway's own listener: an answer naming any other host is refused).
 */
export function parseGatewayDial(raw: unknown, gatewayIp?: string): GatewayDial {
  const code = "BAD_GATEWAY_ANSWER";
  const o = record(raw, "the gateway's /dial answer", code, ["addr"]);
  const addr = transportAddr(o.addr, "/dial's addr", code);
  const host = /^\/ip[46]\/([^/]+)\//.exec(addr)?.[1];
  if (!host || isIP(host) === 0) bad(code, `/dial's addr ${addr} does not name an IP address`);
  if (gatewayIp !== undefined && host !== gatewayIp)
    bad(code, `/dial's addr ${addr} is not on the gateway's own address ${gatewayIp}`);
  return { addr };
}
