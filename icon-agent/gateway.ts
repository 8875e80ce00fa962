/**
 * The agent's side of its yard's agent gateway (protocol/yard/gateway.ts; PROTOCOL.md "The agent gateway"): in a
 * sidecar the agent reaches the chain, the ALTO server, DNS and every libp2p peer only through it. Its answers are
 * untrusted input: each is size-bounded, timed out and validated, and a forward or DNS server that is not on the
 * gateway's own address is refused.
 *
 * @example
 *   const gw = GatewayClient.fromUrl(process.env.ICON_GATEWAY!);   // read by the CLI entry, passed down
 *   const self = await gw.self();
 *   const rpc = new JsonRpcProvider(gw.url(self.rpc));
 *   const node = await createIconNode({ listen: [`/ip4/0.0.0.0/tcp/${AGENT_P2P_PORT}`], announce: self.agentAddrs, gateway: gw });
 */
import { readFile, writeFile } from "node:fs/promises";
import { isIP } from "node:net";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { Libp2p, PrivateKey } from "@libp2p/interface";
import type { AgentEnv } from "./config.ts";
import {
  AGENT_GATEWAY_ENV,
  AGENT_P2P_PORT,
  createIconNode,
  p2pNodeOptions,
  ReadyGate,
  ConfigError,
  IconError,
  isIconError,
  parseGatewayDial,
  parseGatewaySelf,
  parseIconStatusReport,
  type GatewayDialer,
  type GatewaySelf,
  type IconStatusReport,
} from "../protocol/index.ts";
import { treeService } from "./tree-service.ts";

/** Largest `/self` or `/dial` answer read (both are a few hundred bytes). */
const MAX_ANSWER_BYTES = 64 * 1024;

/** Timeouts of the gateway's requests. */
export const gatewayTimeouts = {
  /** `GET /self`: a local HTTP answer. */
  selfMs: 5000,
  /** `POST /dial`: the yard dials the peer over libp2p (noise handshake included) before it answers. */
  dialMs: 15_000,
} as const;

/**
 * `/dial` requests this client keeps under way at once: a yard serves two per sidecar (`agentGateway.limits.
 * dialsPerLease`, default 2) and answers 429 beyond; libp2p dials many candidates at once, so the rest wait here.
 */
export const GATEWAY_DIALS_IN_FLIGHT = 2;
/** How often a `/dial` answered 429 (the yard's bound, shared with nobody else of this lease) is asked again. */
const DIAL_RETRIES_ON_429 = 3;

/** A client of the agent gateway at `http://<ip>:<port>`. */
export class GatewayClient implements GatewayDialer {
  /** `http://<ip>:<port>`, no trailing slash. */
  readonly base: string;
  /** The gateway's IP address (its forwards and DNS responder are on it). */
  readonly ip: string;
  #dialing = 0;
  readonly #waiting: Array<() => void> = [];

  private constructor(base: string, ip: string) {
    this.base = base;
    this.ip = ip;
  }

  /** The client for the gateway named by `url` (the value of ICON_GATEWAY): `http://<ip>:<port>`, nothing else. */
  static fromUrl(url: string): GatewayClient {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new ConfigError(
        "BAD_OPTION",
        `${AGENT_GATEWAY_ENV}="${url.slice(0, 80)}" is not a URL: give http://<ip>:<port>`,
      );
    }
    const ip = u.hostname.replace(/^\[(.*)\]$/, "$1");
    if (u.protocol !== "http:" || isIP(ip) === 0 || !u.port || (u.pathname !== "/" && u.pathname !== "") || u.search)
      throw new ConfigError(
        "BAD_OPTION",
        `${AGENT_GATEWAY_ENV}="${url.slice(0, 80)}" is not http://<ip>:<port> (the yard sets it in an agent sidecar)`,
      );
    return new GatewayClient(`http://${u.host}`, ip);
  }

  /** The URL of `path` (a path the gateway named, e.g. /self's "rpc") on the gateway. */
  url(path: string): string {
    return `${this.base}${path}`;
  }

  /** `GET /self`: the lease this agent runs in and what its yard names; fails with GATEWAY_UNREACHABLE naming ICON_GATEWAY. */
  async self(signal?: AbortSignal): Promise<GatewaySelf> {
    const s = parseGatewaySelf(await this.#request("GET", "/self", undefined, signal, gatewayTimeouts.selfMs));
    if (s.dns !== null && dnsHost(s.dns) !== this.ip)
      throw new IconError(
        "BAD_GATEWAY_ANSWER",
        `/self names DNS server ${s.dns}, not on the gateway's address ${this.ip}`,
      );
    return s;
  }

  /** `POST /status`: the ICON's status report for its owner (the yard keeps the latest; status-report.ts). */
  async pushStatus(report: IconStatusReport, signal?: AbortSignal): Promise<void> {
    await this.#request("POST", "/status", report, signal, gatewayTimeouts.selfMs);
  }

  /**
   * `GET /status`: this lease's latest report as its yard keeps it (none yet: undefined), checked with the protocol's
   * report parser (the yard's word: a malformed one is BAD_GATEWAY_ANSWER); the answer is bounded like every other.
   */
  async lastStatus(signal?: AbortSignal): Promise<IconStatusReport | undefined> {
    const v = await this.#request("GET", "/status", undefined, signal, gatewayTimeouts.selfMs);
    const o = v as { report?: unknown } | null;
    if (typeof o !== "object" || o === null || !("report" in o))
      throw new IconError("BAD_GATEWAY_ANSWER", "GET /status answered something other than { report }");
    if (o.report === null) return undefined;
    const r = parseIconStatusReport(o.report);
    if (typeof r === "string") throw new IconError("BAD_GATEWAY_ANSWER", `GET /status's report: ${r}`);
    return r;
  }

  /** `POST /dial`: a forward to `peer` at `addr`, on the gateway's own address. */
  async dial(peer: string, addr: string, signal?: AbortSignal): Promise<string> {
    const raw = await this.#bounded(signal, async () => {
      for (let attempt = 0; ; attempt++) {
        try {
          return await this.#request("POST", "/dial", { peer, addrs: [addr] }, signal, gatewayTimeouts.dialMs);
        } catch (e) {
          const busy = isIconError(e, "GATEWAY_REFUSED") && e.details?.status === 429;
          if (!busy || attempt >= DIAL_RETRIES_ON_429) throw e;
          await sleep(250 * 2 ** attempt, undefined, signal ? { signal } : {});
        }
      }
    });
    const forward = parseGatewayDial(raw).addr;
    // A forward is the gateway's own listener: an answer naming any other host is refused.
    if (forward.split("/")[2] !== this.ip)
      throw new IconError(
        "BAD_GATEWAY_ANSWER",
        `/dial's forward ${forward} is not on the gateway's own address ${this.ip}`,
      );
    return forward;
  }

  /** Runs `fn` once fewer than {@link GATEWAY_DIALS_IN_FLIGHT} dials are under way (first come, first served). */
  async #bounded<T>(signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T> {
    while (this.#dialing >= GATEWAY_DIALS_IN_FLIGHT) {
      signal?.throwIfAborted();
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    }
    this.#dialing++;
    try {
      return await fn();
    } finally {
      this.#dialing--;
      this.#waiting.shift()?.();
    }
  }

  async #request(
    method: "GET" | "POST",
    path: string,
    body: unknown,
    signal: AbortSignal | undefined,
    timeoutMs: number,
  ): Promise<unknown> {
    const s = signal ? AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs);
    let res: Response;
    try {
      res = await fetch(this.url(path), {
        method,
        signal: s,
        redirect: "error",
        ...(body === undefined ? {} : { headers: { "content-type": "application/json" }, body: JSON.stringify(body) }),
      });
    } catch (e) {
      signal?.throwIfAborted();
      throw new IconError(
        "GATEWAY_UNREACHABLE",
        `the agent gateway ${AGENT_GATEWAY_ENV}=${this.base} does not answer ${method} ${path}: ${(e as Error).message}`,
        { cause: e },
      );
    }
    const text = await boundedText(res, MAX_ANSWER_BYTES, `${method} ${path}`);
    if (!res.ok)
      throw new IconError(
        "GATEWAY_REFUSED",
        `the agent gateway refused ${method} ${path} (HTTP ${res.status}): ${printable(text) || "no reason given"}`,
        { details: { status: res.status } },
      );
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new IconError("BAD_GATEWAY_ANSWER", `the agent gateway's answer to ${method} ${path} is not JSON`);
    }
  }
}

/** The body of `res` as text, refusing (and cancelling) one longer than `max` bytes. */
async function boundedText(res: Response, max: number, what: string): Promise<string> {
  const declared = Number(res.headers.get("content-length") ?? 0);
  if (declared > max) {
    await res.body?.cancel().catch(() => {});
    throw new IconError("BAD_GATEWAY_ANSWER", `the agent gateway's answer to ${what} is longer than ${max} bytes`);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = res.body?.getReader();
  for (;;) {
    const r = await reader?.read();
    if (!r || r.done) break;
    size += r.value.length;
    if (size > max) {
      await reader!.cancel().catch(() => {});
      throw new IconError("BAD_GATEWAY_ANSWER", `the agent gateway's answer to ${what} is longer than ${max} bytes`);
    }
    chunks.push(r.value);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** At most 200 printable characters of `text` (a refusal's sentence, shown to people). */
function printable(text: string): string {
  return text
    .replace(/[^\x20-\x7e]+/g, " ")
    .trim()
    .slice(0, 200);
}

function dnsHost(hostPort: string): string {
  return hostPort.replace(/:\d+$/, "").replace(/^\[(.*)\]$/, "$1");
}

/** The agent in its sidecar: the gateway and what it said of this lease at start. */
export interface Sidecar {
  gateway: GatewayClient;
  self: GatewaySelf;
}

/** Asks the gateway at `url` what it names for this sidecar; a gateway that does not answer fails the start. */
export async function openSidecar(url: string): Promise<Sidecar> {
  const gateway = GatewayClient.fromUrl(url);
  try {
    return { gateway, self: await gateway.self() };
  } catch (e) {
    throw new IconError(
      isIconError(e) ? e.code : "GATEWAY_UNREACHABLE",
      `cannot start in the sidecar: ${(e as Error).message} (ICON_GATEWAY=${url}, set by the yard)`,
      { cause: e },
    );
  }
}

/**
 * `env` as the agent uses it inside its sidecar: the yard's DNS responder (or the container's own resolver when
 * the yard runs none) and its ALTO proxy (none when it names none) instead of the state's servers, which are not
 * reachable from the yard's bridge. The state keeps its own (a replica placed elsewhere starts from them).
 */
export function sidecarView(env: AgentEnv, s: Sidecar): AgentEnv {
  return {
    ...env,
    dnsServers: s.self.dns ? [s.self.dns] : [],
    altoUrl: s.self.alto ? s.gateway.url(s.self.alto) : undefined,
  };
}

/**
 * The agent's libp2p node: in its sidecar it listens on {@link AGENT_P2P_PORT}, is reached from outside at the
 * addresses the yard's ingress gives its lease, and dials every peer through the gateway; on a host it listens on
 * `env.listenHost` at the port it had before (kept in `<dir>/port`, so children find it again after a restart).
 * Its protocol service, the tree's served side (tree-service.ts), starts and stops with it, refusing every stream
 * behind the agent's readiness gate until its tree member starts (`treeServing(node)` is what the member opens).
 */
export async function agentNode(
  dir: string,
  env: AgentEnv,
  privateKey: PrivateKey,
  sidecar: Sidecar | undefined,
): Promise<Libp2p> {
  const ready = new ReadyGate("the ICON is starting: it reconciles its state with the chain and joins its tree first");
  const services = { tree: treeService({ gate: ready }) };
  if (sidecar)
    return createIconNode({
      privateKey,
      services,
      listen: [`/ip4/0.0.0.0/tcp/${AGENT_P2P_PORT}`],
      ...(sidecar.self.agentAddrs.length > 0 ? { announce: sidecar.self.agentAddrs } : {}),
      gateway: sidecar.gateway,
      ...p2pNodeOptions(env.p2p),
      mdns: false, // no LAN in a sidecar
    });
  const portFile = path.join(dir, "port");
  const port = await readFile(portFile, "utf8").then(Number, () => 0);
  const node = await createIconNode({
    privateKey,
    services,
    listen: [`/ip4/${env.listenHost}/tcp/${port}`],
    ...p2pNodeOptions(env.p2p),
  });
  const bound = Number(/\/tcp\/(\d+)/.exec(node.getMultiaddrs()[0]?.toString() ?? "")?.[1] ?? 0);
  if (bound && bound !== port) await writeFile(portFile, String(bound));
  return node;
}

/**
 * A libp2p node of a fresh peer id that listens nowhere, through the sidecar's gateway when there is one: what a
 * retired instance speaks to yards from (pair.ts stayRetired), so it never shows the ICON's peer id beside its
 * successor's.
 */
export function throwawayNode(env: AgentEnv, sidecar: Sidecar | undefined): Promise<Libp2p> {
  return createIconNode({
    listen: [],
    ...(sidecar ? { gateway: sidecar.gateway } : {}),
    ...p2pNodeOptions(env.p2p),
    mdns: false,
  });
}
