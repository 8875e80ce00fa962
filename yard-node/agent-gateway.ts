/**
 * The agent gateway: what a lease's agent sidecar may reach, through the yard (issue 16 item 3; the contract is
 * protocol/yard/gateway.ts and PROTOCOL.md "Agent gateway"). The host firewall (firewall.ts) drops everything from
 * the container network to the host but what the yard lets through, and the chain RPC, the yards' libp2p listeners
 * and the ALTO server sit on the host's loopback where no container reaches anyway: the sidecar reaches them here.
 *
 * An HTTP/1.1 server on the container network's gateway address (the DNS responder's), `agentGateway.port`. It
 * serves only connections whose source address is a running agent sidecar of this yard, each for that sidecar's
 * lease; any other source (a service container, another yard's container, the host) has its connection closed at
 * once and counted. Routes: `GET /self` (the lease, the yard, where the agent is reached from outside), `POST /rpc`
 * (reads of the chain, agent-gateway-rpc.ts), `GET /alto/<path>`, `POST /dial` (a libp2p forward, proven by the
 * yard's own noise handshake: agent-gateway-forward.ts).
 *
 * Bounds (`agentGateway.limits`): per lease a token bucket of requests, requests under way and open connections;
 * overall requests under way (above any lease's share, so a flood from one sidecar never starves another); bodies
 * ≤ 256 KiB, answers ≤ maxAnswerBytes; a request that does not finish in 30 s is cut. Refusals answer a JSON
 * `{"error": "<sentence>"}` (JSON-RPC errors for calls). At a lease's end its connections and forwards close; at
 * the yard's stop, everything.
 *
 * @example
 *   const gw = new AgentGateway({ config, node, runtime, db, containers, firewall, dns, metrics, log });
 *   await gw.start();                 // after the host firewall, before containers start
 *   sidecarEnv = gw.env();            // ["ICON_GATEWAY=http://172.18.0.1:8547"]
 *   await gw.leaseEnded("42");
 */
import http from "node:http";
import { isIPv4, isIPv6, type Socket } from "node:net";
import type { Libp2p } from "@libp2p/interface";
import {
  AGENT_GATEWAY_ENV,
  AGENT_P2P_PORT,
  gatewayLimits,
  isTcpMultiaddr,
  parseGatewayDialRequest,
  type GatewaySelf,
} from "../protocol/index.ts";
import type { Logger } from "../protocol/log.ts";
import { altoGet, GatewayRefusal, RpcFilter } from "./agent-gateway-rpc.ts";
import { authenticatePeer, Forwards } from "./agent-gateway-forward.ts";
import type { YardConfig } from "./config.ts";
import type { YardDb } from "./db.ts";
import type { HostFirewall } from "./firewall.ts";
import type { ContainerInfo, ContainerRuntime } from "./runtime.ts";
import type { YardMetrics } from "./yard-metrics.ts";

/** The ingress key under which a lease's agent endpoint (its libp2p port) is opened and stored. */
export const AGENT_INGRESS_KEY = `agent/${AGENT_P2P_PORT}`;

const REQUEST_TIMEOUT_MS = 30_000;
const SOURCE_CACHE_MS = 250;

export interface AgentGatewayComponents {
  config: Pick<YardConfig, "agentGateway" | "chain" | "publicHost">;
  node: Libp2p;
  runtime: Pick<ContainerRuntime, "networkInfo">;
  db: Pick<YardDb, "lease" | "leases">;
  /** The yard's containers by id, as last seen (kept by the lease lifecycle). */
  containers: ReadonlyMap<string, ContainerInfo>;
  firewall: () => HostFirewall | undefined;
  /** The DNS servers containers use (the yard's responder), when semantic addressing runs. */
  dns: () => string[] | undefined;
  metrics: Pick<YardMetrics, "inc" | "set">;
  log: Logger;
}

type Outcome = "ok" | "refused" | "limited" | "failed";

export class AgentGateway {
  readonly #c: AgentGatewayComponents;
  #server: http.Server | undefined;
  #gateway: string | undefined;
  #rpc: RpcFilter | undefined;
  #forwards: Forwards | undefined;
  readonly #abort = new AbortController();
  /** Connection → the lease it serves. */
  readonly #leaseOf = new WeakMap<Socket, string>();
  /** Lease → its open connections. */
  readonly #sockets = new Map<string, Set<Socket>>();
  /** Lease → its token bucket. */
  readonly #buckets = new Map<string, { tokens: number; at: number }>();
  /** Lease → requests under way. */
  readonly #busy = new Map<string, number>();
  #busyAll = 0;
  /** Sidecar address → lease, rebuilt from the database at most every 250 ms on a miss. */
  #sources = new Map<string, string>();
  #sourcesAt = 0;

  constructor(components: AgentGatewayComponents) {
    this.#c = components;
  }

  /** `http://<gateway>:<port>` once started, else undefined. */
  get url(): string | undefined {
    return this.#gateway && this.#server ? `http://${this.#gateway}:${this.#c.config.agentGateway.port}` : undefined;
  }

  /** The environment a sidecar is created with: the gateway's URL (the only variable the yard sets on it). */
  env(): string[] {
    const url = this.url;
    return url ? [`${AGENT_GATEWAY_ENV}=${url}`] : [];
  }

  /** The ports of lease `leaseId`'s forwards now (tests). */
  forwardPorts(leaseId: bigint): number[] {
    return this.#forwards?.ports(leaseId.toString()) ?? [];
  }

  /** Listens on the network's gateway address and lets the sidecars through the host firewall there. */
  async start(): Promise<void> {
    const { config, runtime, log, metrics } = this.#c;
    const g = config.agentGateway;
    if (!g.enabled || !runtime.networkInfo) return;
    const { gateway } = await runtime.networkInfo();
    this.#rpc = new RpcFilter({ rpcUrl: g.rpcUrl ?? config.chain.rpcUrl, maxAnswerBytes: g.limits.maxAnswerBytes });
    this.#forwards = new Forwards({
      gateway,
      sidecarIp: (id) => this.#sidecarIp(id),
      firewall: this.#c.firewall,
      maxPerLease: g.limits.forwardsPerLease,
      connectionsPerForward: g.limits.connectionsPerForward,
      idleMs: g.limits.forwardIdleS * 1000,
      onCount: (n) => metrics.set("icon_yard_gateway_forwards_open", n),
      onRefused: () => metrics.inc("icon_yard_gateway_refused_sources_total"),
      log,
    });
    const server = http.createServer({
      requestTimeout: REQUEST_TIMEOUT_MS,
      headersTimeout: 10_000,
      keepAliveTimeout: 5_000,
      maxHeaderSize: 16 * 1024,
    });
    server.on("connection", (s: Socket) => this.#connection(s));
    server.on("request", (req: http.IncomingMessage, res: http.ServerResponse) => void this.#request(req, res));
    server.on("clientError", (_e, s: Socket) => s.destroy());
    try {
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen({ host: gateway, port: g.port }, () => {
          server.off("error", reject);
          resolve();
        });
      });
    } catch (e) {
      await this.#forwards.closeAll();
      log.warn("the agent gateway could not listen: agent sidecars reach no chain and no peer", {
        error: e,
        fix: `free ${gateway}:${g.port} or set agentGateway.port to another port`,
      });
      return;
    }
    server.on("error", () => {}); // accept failures (EMFILE) lose one connection, not the yard
    this.#server = server;
    this.#gateway = gateway;
    await this.#c.firewall()?.allow({ ip: gateway, proto: "tcp", port: g.port });
    metrics.set("icon_yard_gateway_forwards_open", 0);
    log.info("agent gateway ready", { url: this.url });
  }

  /** Closes the server, every connection and every forward. */
  async stop(): Promise<void> {
    this.#abort.abort();
    const server = this.#server;
    this.#server = undefined;
    for (const set of this.#sockets.values()) for (const s of set) s.destroy();
    this.#sockets.clear();
    if (server) {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await this.#c
        .firewall()
        ?.revoke({ ip: this.#gateway!, proto: "tcp", port: this.#c.config.agentGateway.port })
        .catch(() => {});
    }
    await this.#forwards?.closeAll();
  }

  /** Lease `leaseId`'s sidecar is gone (the lease ended, was renewed away, or its sidecar is down for good). */
  async leaseEnded(leaseId: bigint | string): Promise<void> {
    const k = leaseId.toString();
    for (const s of this.#sockets.get(k) ?? []) s.destroy();
    this.#sockets.delete(k);
    this.#buckets.delete(k);
    for (const [ip, id] of this.#sources) if (id === k) this.#sources.delete(ip);
    await this.#forwards?.closeLease(k);
  }

  /** The address of lease `leaseId`'s running sidecar now, or undefined. */
  #sidecarIp(leaseId: string): string | undefined {
    const row = this.#c.db.lease(BigInt(leaseId));
    if (!row || row.status !== "deployed" || row.stoppedAt !== undefined || !row.agentContainerId) return undefined;
    const info = this.#c.containers.get(row.agentContainerId);
    return info?.running && info.ip ? info.ip : undefined;
  }

  /** The lease whose running sidecar has address `ip`, or undefined. */
  #leaseAt(ip: string): string | undefined {
    const hit = this.#sources.get(ip);
    if (hit !== undefined && this.#sidecarIp(hit) === ip) return hit;
    if (Date.now() - this.#sourcesAt < SOURCE_CACHE_MS) return undefined;
    const sources = new Map<string, string>();
    for (const l of this.#c.db.leases(["deployed"])) {
      if (!l.agentContainerId || l.stoppedAt !== undefined) continue;
      const info = this.#c.containers.get(l.agentContainerId);
      if (info?.running && info.ip) sources.set(info.ip, l.id.toString());
    }
    this.#sources = sources;
    this.#sourcesAt = Date.now();
    return sources.get(ip);
  }

  #connection(s: Socket): void {
    s.on("error", () => {});
    const { metrics, config } = this.#c;
    const lease = this.#leaseAt((s.remoteAddress ?? "").replace(/^::ffff:/, ""));
    if (lease === undefined) {
      metrics.inc("icon_yard_gateway_refused_sources_total");
      s.destroy();
      return;
    }
    let mine = this.#sockets.get(lease);
    if (!mine) this.#sockets.set(lease, (mine = new Set()));
    if (mine.size >= config.agentGateway.limits.connectionsPerLease) {
      metrics.inc("icon_yard_gateway_requests_total", { outcome: "limited" });
      s.destroy();
      return;
    }
    mine.add(s);
    this.#leaseOf.set(s, lease);
    s.once("close", () => {
      const set = this.#sockets.get(lease);
      set?.delete(s);
      if (set?.size === 0) this.#sockets.delete(lease);
    });
  }

  /** Takes a token of lease `k`'s bucket; false when it is empty. */
  #take(k: string): boolean {
    const { requestsPerSecond, burst } = this.#c.config.agentGateway.limits;
    const now = Date.now();
    const b = this.#buckets.get(k) ?? { tokens: burst, at: now };
    b.tokens = Math.min(burst, b.tokens + ((now - b.at) / 1000) * requestsPerSecond);
    b.at = now;
    this.#buckets.set(k, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  async #request(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const { metrics, config } = this.#c;
    const limits = config.agentGateway.limits;
    res.on("error", () => {});
    req.on("error", () => {});
    const lease = this.#leaseOf.get(req.socket);
    const count = (o: Outcome): void => metrics.inc("icon_yard_gateway_requests_total", { outcome: o });
    // The sidecar may have ended (or its address gone to another container) since the connection opened.
    if (lease === undefined || this.#sidecarIp(lease) !== (req.socket.remoteAddress ?? "").replace(/^::ffff:/, "")) {
      count("refused");
      return send(res, 403, { error: "this address is no running agent sidecar of this yard" }, true);
    }
    if (!this.#take(lease)) {
      count("limited");
      return send(res, 429, {
        error: `over ${limits.requestsPerSecond} requests per second (burst ${limits.burst}) for this lease; slow down`,
      });
    }
    const busy = this.#busy.get(lease) ?? 0;
    if (busy >= limits.concurrentPerLease || this.#busyAll >= limits.concurrent) {
      count("limited");
      return send(res, 429, {
        error: `too many requests under way (${busy} of this lease's ${limits.concurrentPerLease}); wait for answers first`,
      });
    }
    this.#busy.set(lease, busy + 1);
    this.#busyAll++;
    const abort = new AbortController();
    res.once("close", () => abort.abort());
    const signal = AbortSignal.any([abort.signal, this.#abort.signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]);
    try {
      await this.#route(lease, req, res, signal);
      count(res.statusCode < 400 ? "ok" : "refused");
    } catch (e) {
      const r = e instanceof GatewayRefusal ? e : new GatewayRefusal(500, "the gateway failed on this request");
      count(r.status >= 500 ? "failed" : r.status === 429 ? "limited" : "refused");
      if (!(e instanceof GatewayRefusal)) this.#c.log.warn("agent gateway request failed", { lease, error: e });
      send(res, r.status, { error: r.message });
    } finally {
      const n = (this.#busy.get(lease) ?? 1) - 1;
      if (n > 0) this.#busy.set(lease, n);
      else this.#busy.delete(lease);
      this.#busyAll--;
    }
  }

  async #route(lease: string, req: http.IncomingMessage, res: http.ServerResponse, signal: AbortSignal) {
    const url = req.url ?? "/";
    const path = url.split("?", 1)[0]!;
    const method = req.method ?? "GET";
    if (path === "/self" && method === "GET") return send(res, 200, this.#self(lease));
    if (path === "/rpc" && method === "POST") {
      const body = await readJson(req);
      return send(res, 200, await this.#rpc!.handle(body, signal));
    }
    if (path === "/dial" && method === "POST") {
      const body = parseGatewayDialRequest(await readJson(req));
      if (typeof body === "string") throw new GatewayRefusal(400, body);
      const target = await authenticatePeer(this.#c.node, body.peer, body.addrs, signal);
      if (this.#sidecarIp(lease) === undefined) throw new GatewayRefusal(403, "the lease ended");
      const port = await this.#forwards!.open(lease, body.peer, target);
      return send(res, 200, { addr: `/ip4/${this.#gateway}/tcp/${port}` });
    }
    if ((path === "/alto" || path.startsWith("/alto/")) && method === "GET") {
      const alto = this.#c.config.agentGateway.altoUrl;
      if (!alto) throw new GatewayRefusal(404, "this yard names no ALTO server (agentGateway.altoUrl)");
      const a = await altoGet(
        alto,
        url.slice("/alto".length),
        this.#c.config.agentGateway.limits.maxAnswerBytes,
        signal,
      );
      res.writeHead(a.status, { "content-type": a.type, "content-length": a.body.length });
      res.end(a.body);
      return;
    }
    throw new GatewayRefusal(
      404,
      `${method} ${path.slice(0, 64)} is not served: the gateway serves GET /self, POST /rpc, POST /dial, GET /alto/…`,
    );
  }

  #self(lease: string): Record<string, unknown> {
    const row = this.#c.db.lease(BigInt(lease));
    const host = this.#c.config.publicHost;
    const port = row?.ingress[AGENT_INGRESS_KEY];
    const proto = isIPv4(host) ? "ip4" : isIPv6(host) ? "ip6" : "dns4";
    const dns = this.#c.dns()?.[0];
    const self: Omit<GatewaySelf, "leaseId"> & { leaseId: string } = {
      leaseId: lease,
      yard: {
        peerId: this.#c.node.peerId.toString(),
        addrs: this.#c.node
          .getMultiaddrs()
          .map((a) => a.toString().replace(/\/p2p\/[^/]+$/, ""))
          .filter(isTcpMultiaddr),
      },
      agentAddrs: port ? [`/${proto}/${host}/tcp/${port}`] : [],
      rpc: "/rpc",
      alto: this.#c.config.agentGateway.altoUrl ? "/alto" : null,
      dns: dns ? `${dns}:53` : null,
    };
    return self;
  }
}

/** Sends `body` as JSON with `status`; `close` ends the connection after it. */
function send(res: http.ServerResponse, status: number, body: unknown, close = false): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    ...(close ? { connection: "close" } : {}),
  });
  res.end(text);
}

/** The request's JSON body, at most gatewayLimits.maxBodyBytes (413 beyond, 400 when it is not JSON). */
async function readJson(req: http.IncomingMessage): Promise<unknown> {
  const max = gatewayLimits.maxBodyBytes;
  if (Number(req.headers["content-length"] ?? "0") > max)
    throw new GatewayRefusal(413, `the body is larger than ${max} bytes; send less per request`);
  const parts: Buffer[] = [];
  let n = 0;
  for await (const chunk of req) {
    n += (chunk as Buffer).length;
    if (n > max) throw new GatewayRefusal(413, `the body is larger than ${max} bytes; send less per request`);
    parts.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(parts).toString("utf8")) as unknown;
  } catch {
    throw new GatewayRefusal(400, "the body is not JSON");
  }
}
