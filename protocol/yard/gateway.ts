/**
 * The agent gateway's shared vocabulary: how an ICON agent running as a lease's sidecar reaches what it may reach
 * (the chain RPC the yard names, libp2p to other yards and agents, DNS, the yard's ALTO server) — through an HTTP
 * server its yard runs on the container network's gateway address (yard-node/agent-gateway.ts). The yard serves
 * only its own running sidecars, each for its own lease (known by the connection's source address).
 *
 * The answers are the yard's word, and the agent treats them as untrusted input: {@link parseGatewaySelf} and
 * {@link parseGatewayDial} accept exactly the documented shapes and bounds, and throw BAD_GATEWAY_ANSWER otherwise.
 *
 * @example
 *   const gw = process.env[AGENT_GATEWAY_ENV];                           // "http://172.18.0.1:8547"
 *   const self = parseGatewaySelf(await (await fetch(`${gw}/self`)).json());
 *   const { addr } = parseGatewayDial(await (await fetch(`${gw}/dial`, { method: "POST", body })).json());
 */
import { isIPv4 } from "node:net";
import { IconError } from "../errors.ts";

/** The environment variable the yard sets in every sidecar: `http://<gateway ip>:<port>` (not a secret). */
export const AGENT_GATEWAY_ENV = "ICON_GATEWAY";
/** The TCP port the agent's libp2p listens on inside its sidecar (0.0.0.0); the yard exposes it through its ingress. */
export const AGENT_P2P_PORT = 4100;
/** The gateway's port unless the yard config names another (agentGateway.port): next to the chain's usual 8545. */
export const DEFAULT_AGENT_GATEWAY_PORT = 8547;

/** Bounds of the gateway that both sides know. */
export const gatewayLimits = {
  /** Largest request body (a JSON-RPC batch of calls with their data, a /dial body). */
  maxBodyBytes: 256 * 1024,
  /** Calls in one JSON-RPC batch. */
  maxBatch: 16,
  /** Blocks one eth_getLogs may span. */
  maxLogBlocks: 10_000,
  /** Addresses in one /dial body. */
  maxDialAddrs: 16,
  /** Longest multiaddr or peer id text. */
  maxTextChars: 256,
} as const;

/** The JSON-RPC error code of a method the gateway does not carry (JSON-RPC 2.0 "method not found"). */
export const GATEWAY_REFUSED_METHOD = -32601;

/**
 * The chain methods the gateway carries: reads and estimates, what ethers v6's JsonRpcProvider and the agent use.
 * Everything else (writes — ICONs relay signed intents instead —, signing, node administration, dev-chain
 * controls) is refused.
 */
export const GATEWAY_RPC_METHODS: readonly string[] = [
  "eth_chainId",
  "net_version",
  "eth_blockNumber",
  "eth_call",
  "eth_estimateGas",
  "eth_getBalance",
  "eth_getCode",
  "eth_getStorageAt",
  "eth_getTransactionCount",
  "eth_getBlockByNumber",
  "eth_getBlockByHash",
  "eth_getTransactionByHash",
  "eth_getTransactionReceipt",
  "eth_getLogs",
  "eth_gasPrice",
  "eth_maxPriorityFeePerGas",
  "eth_feeHistory",
];

/** What `GET /self` answers: the lease the sidecar runs for, its yard, and where things are. */
export interface GatewaySelf {
  /** The lease (decimal). */
  leaseId: bigint;
  /** The yard's libp2p identity and addresses (as announced). */
  yard: { peerId: string; addrs: string[] };
  /** Where other peers reach this agent's libp2p listener from outside (`/ip4/<host>/tcp/<port>`). */
  agentAddrs: string[];
  /** The JSON-RPC proxy's path on the gateway. */
  rpc: string;
  /** The ALTO proxy's path, or null when the yard names no ALTO server. */
  alto: string | null;
  /** The yard's DNS responder (`<ip>:53`), or null when semantic addressing is off. */
  dns: string | null;
}

/** What `POST /dial` answers: the forward to the peer, on the gateway. */
export interface GatewayDial {
  addr: string;
}

/** The body of `POST /dial`. */
export interface GatewayDialRequest {
  peer: string;
  addrs: string[];
}

const PEER_ID = /^[1-9A-HJ-NP-Za-km-z]{32,128}$/; // base58btc (Qm…, 12D3…)
const TCP_ADDR = /^\/(ip4|ip6|dns4|dns6|dns)\/[^/\s]{1,253}\/tcp\/(\d{1,5})(\/p2p\/[1-9A-HJ-NP-Za-km-z]{32,128})?$/;
const PATH = /^\/[A-Za-z0-9/_.-]{0,63}$/;

function bad(what: string): IconError {
  return new IconError("BAD_GATEWAY_ANSWER", `the yard's gateway answered ${what}`);
}

function object(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw bad(`${what} that is not a JSON object`);
  return v as Record<string, unknown>;
}

function only(o: Record<string, unknown>, keys: string[], what: string): void {
  const extra = Object.keys(o).filter((k) => !keys.includes(k));
  if (extra.length > 0) throw bad(`${what} with unknown field(s) ${extra.slice(0, 4).join(", ")}`);
}

/** Whether `s` is a TCP multiaddr the gateway speaks of (ip4, ip6 or dns host, then /tcp/port, optionally /p2p/id). */
export function isTcpMultiaddr(s: unknown): s is string {
  if (typeof s !== "string" || s.length > gatewayLimits.maxTextChars) return false;
  const m = TCP_ADDR.exec(s);
  return !!m && Number(m[2]) >= 1 && Number(m[2]) <= 65535;
}

/** Whether `s` looks like a libp2p peer id (base58btc text; the real check is the key it decodes to). */
export function isPeerIdText(s: unknown): s is string {
  return typeof s === "string" && PEER_ID.test(s);
}

function addrs(v: unknown, what: string, max = gatewayLimits.maxDialAddrs): string[] {
  if (!Array.isArray(v) || v.length > max || !v.every(isTcpMultiaddr))
    throw bad(`${what}: not a list of at most ${max} TCP multiaddrs`);
  return [...v];
}

/** Validates the answer of `GET /self`. */
export function parseGatewaySelf(v: unknown): GatewaySelf {
  const o = object(v, "/self");
  only(o, ["leaseId", "yard", "agentAddrs", "rpc", "alto", "dns"], "/self");
  if (typeof o.leaseId !== "string" || !/^\d{1,20}$/.test(o.leaseId))
    throw bad("/self with a leaseId that is not a decimal string");
  const yard = object(o.yard, "/self.yard");
  only(yard, ["peerId", "addrs"], "/self.yard");
  if (!isPeerIdText(yard.peerId)) throw bad("/self.yard.peerId that is not a peer id");
  if (typeof o.rpc !== "string" || !PATH.test(o.rpc)) throw bad("/self.rpc that is not a path");
  if (o.alto !== null && (typeof o.alto !== "string" || !PATH.test(o.alto)))
    throw bad("/self.alto that is neither a path nor null");
  if (o.dns !== null) {
    const m = typeof o.dns === "string" ? /^(\d+\.\d+\.\d+\.\d+):(\d{1,5})$/.exec(o.dns) : null;
    if (!m || !isIPv4(m[1]!) || Number(m[2]) < 1 || Number(m[2]) > 65535)
      throw bad("/self.dns that is neither <ipv4>:<port> nor null");
  }
  return {
    leaseId: BigInt(o.leaseId),
    yard: { peerId: yard.peerId, addrs: addrs(yard.addrs, "/self.yard.addrs") },
    agentAddrs: addrs(o.agentAddrs, "/self.agentAddrs"),
    rpc: o.rpc,
    alto: o.alto,
    dns: o.dns as string | null,
  };
}

/** Validates the answer of `POST /dial` (a forward on the gateway: `/ip4/<ip>/tcp/<port>`). */
export function parseGatewayDial(v: unknown): GatewayDial {
  const o = object(v, "/dial");
  only(o, ["addr"], "/dial");
  const m = typeof o.addr === "string" ? /^\/ip4\/([\d.]+)\/tcp\/(\d{1,5})$/.exec(o.addr) : null;
  if (!m || !isIPv4(m[1]!) || Number(m[2]) < 1 || Number(m[2]) > 65535)
    throw bad("/dial with an addr that is not /ip4/<ip>/tcp/<port>");
  return { addr: o.addr as string };
}

/** Whether `s` is an ip4/ip6 TCP multiaddr (what /dial takes: a name is never dialed, see below). */
export function isIpTcpMultiaddr(s: unknown): s is string {
  return isTcpMultiaddr(s) && /^\/ip[46]\//.test(s);
}

/**
 * Validates a `POST /dial` body (the yard's side): the peer id text and 1..16 ip4/ip6 TCP multiaddrs, none naming
 * another peer; returns the body, or the reason (a sentence) when it is not one. dns/dns4/dns6 addresses are
 * refused: the forward splices to the address that authenticated, which for a name would be the name, not where
 * it led (the agent resolves names itself, through the yard's DNS responder).
 */
export function parseGatewayDialRequest(v: unknown): GatewayDialRequest | string {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return "the body must be a JSON object";
  const o = v as Record<string, unknown>;
  const extra = Object.keys(o).filter((k) => k !== "peer" && k !== "addrs");
  if (extra.length > 0) return `unknown field(s) ${extra.slice(0, 4).join(", ")}; send only peer and addrs`;
  if (!isPeerIdText(o.peer)) return "peer must be a libp2p peer id (base58 text)";
  if (
    !Array.isArray(o.addrs) ||
    o.addrs.length < 1 ||
    o.addrs.length > gatewayLimits.maxDialAddrs ||
    !o.addrs.every(isIpTcpMultiaddr)
  )
    return `addrs must be 1..${gatewayLimits.maxDialAddrs} TCP multiaddrs (/ip4/<ip>/tcp/<port> or /ip6/…, optionally /p2p/<peer>; no dns names)`;
  const foreign = o.addrs.find((a) => a.includes("/p2p/") && !a.endsWith(`/p2p/${o.peer as string}`));
  if (foreign) return `${foreign} names another peer than ${o.peer as string}`;
  return { peer: o.peer, addrs: [...o.addrs] };
}
