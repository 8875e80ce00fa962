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
 * yard's own noise handshake: agent-gateway-forward.ts), `POST /status` (the ICON's status report, kept in memory
 * for its owner: icon-status.ts; ≤ 16 KiB, its own rate per lease), `GET /status` (the lease's own latest report,
 * so an agent restarted with a fresh state directory takes its decisions back).
 *
 * Bounds (`agentGateway.limits`): per lease a token bucket of requests (a JSON-RPC call is one token, so a batch of
 * 16 costs 16), requests under way, /dials under way and open connections; per lease holder (app account) requests
 * under way, so a tenant with many leases cannot take all; overall requests under way, /dials under way and bytes of
 * answers being written (an answer holds its request's place until it is flushed, so slow readers hold little);
 * bodies ≤ 256 KiB, answers ≤ maxAnswerBytes; a request that does not finish in 30 s is cut, a connection idle
 * for 30 s (a reader that does not read) too. Refusals answer a JSON `{"error": "<sentence>"}` (JSON-RPC errors for
 * calls). At a sidecar's end its connections and forwards close and its container is served no more (also during
 * its stop); a renewal that carries the sidecar over takes them over; at the yard's stop, everything.
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
  iconStatusLimits,
  isTcpMultiaddr,
  parseGatewayDialRequest,
  type GatewaySelf,
} from "../protocol/index.ts";
import type { Logger } from "../protocol/log.ts";
import { altoGet, GatewayRefusal, RpcFilter } from "./agent-gateway-rpc.ts";
import { authenticatePeer, Forwards } from "./agent-gateway-forward.ts";
import { controlHostOf, type YardConfig } from "./config.ts";
import type { IconStatusBoard } from "./icon-status.ts";
import type { YardDb } from "./db.ts";
import type { HostFirewall } from "./firewall.ts";
import type { ContainerInfo, ContainerRuntime } from "./runtime.ts";
import type { YardMetrics } from "./yard-metrics.ts";

/** The ingress key under which a lease's agent endpoint (its libp2p port) is opened and stored. */
export const AGENT_INGRESS_KEY = `agent/${AGENT_P2P_PORT}`;

const REQUEST_TIMEOUT_MS = 30_000;
/** A connection with no traffic either way for this long is cut (an idle keep-alive, a reader that does not read). */
const IDLE_MS = 30_000;
const SOURCE_CACHE_MS = 250;

export interface AgentGatewayComponents {
  config: Pick<YardConfig, "agentGateway" | "chain" | "publicHost" | "publicNetns" | "listen">;
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
  /** Where `POST /status` reports go (none: the route answers 404). */
  board?: Pick<IconStatusBoard, "push" | "latest" | "tooLarge" | "leaseEnded" | "leaseMoved">;
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
  /** Lease → requests under way (until their answers are flushed). */
  readonly #busy = new Map<string, number>();
  /** Lease holder (app account) → requests under way. */
  readonly #busyTenant = new Map<string, number>();
  #busyAll = 0;
  /** Lease → /dials under way. */
  readonly #dialing = new Map<string, number>();
  #dialingAll = 0;
  /** Bytes of answers written and not yet flushed. */
  #answerBytes = 0;
  /** Sidecar containers whose lease let them go: served no more, even while they stop. */
  readonly #endedContainers = new Set<string>();
  #stopped = false;
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
    this.#rpc = new RpcFilter({
      rpcUrl: g.rpcUrl ?? config.chain.rpcUrl,
      maxAnswerBytes: g.limits.maxAnswerBytes,
      callGas: BigInt(g.limits.callGas),
      upstreamConcurrent: g.limits.upstreamConcurrent,
    });
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
    try {
      await this.#c.firewall()?.allow({ ip: gateway, proto: "tcp", port: g.port });
    } catch (e) {
      // Not tracked yet: closed here, or it would outlive stop().
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await this.#forwards.closeAll();
      throw e;
    }
    this.#server = server;
    this.#gateway = gateway;
    metrics.set("icon_yard_gateway_forwards_open", 0);
    log.info("agent gateway ready", { url: this.url });
  }

  /** Closes the server, every connection and every forward. */
  async stop(): Promise<void> {
    this.#stopped = true;
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

  /**
   * Lease `leaseId`'s sidecar is going (the lease ended, its agent part changed, or its sidecar is down for good):
   * from now on its container is served no more, even while it stops; its connections and forwards close.
   */
  async leaseEnded(leaseId: bigint | string): Promise<void> {
    const k = leaseId.toString();
    for (const id of this.#endedContainers) if (!this.#c.containers.has(id)) this.#endedContainers.delete(id);
    const container = this.#c.db.lease(BigInt(k))?.agentContainerId;
    if (container) this.#endedContainers.add(container);
    for (const s of this.#sockets.get(k) ?? []) s.destroy();
    this.#sockets.delete(k);
    this.#buckets.delete(k);
    for (const [ip, id] of this.#sources) if (id === k) this.#sources.delete(ip);
    this.#c.board?.leaseEnded(k);
    await this.#forwards?.closeLease(k);
  }

  /**
   * Lease `from`'s sidecar goes on running for its renewal `to` (carried over): its connections, bucket and forwards
   * serve `to` from now on — the agent's libp2p connections through them stay up.
   */
  leaseMoved(from: bigint | string, to: bigint | string): void {
    const [f, t] = [from.toString(), to.toString()];
    const socks = this.#sockets.get(f);
    this.#sockets.delete(f);
    if (socks) {
      const theirs = this.#sockets.get(t) ?? new Set<Socket>();
      for (const s of socks) {
        theirs.add(s);
        this.#leaseOf.set(s, t);
      }
      this.#sockets.set(t, theirs);
    }
    const bucket = this.#buckets.get(f);
    this.#buckets.delete(f);
    if (bucket && !this.#buckets.has(t)) this.#buckets.set(t, bucket);
    for (const [ip, id] of this.#sources) if (id === f) this.#sources.delete(ip);
    this.#c.board?.leaseMoved(f, t);
    this.#forwards?.move(f, t);
  }

  /** The address of lease `leaseId`'s running sidecar now, or undefined. */
  #sidecarIp(leaseId: string): string | undefined {
    if (this.#stopped) return undefined;
    const row = this.#c.db.lease(BigInt(leaseId));
    if (!row || row.status !== "deployed" || row.stoppedAt !== undefined || !row.agentContainerId) return undefined;
    if (this.#endedContainers.has(row.agentContainerId)) return undefined;
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
      if (!l.agentContainerId || l.stoppedAt !== undefined || this.#endedContainers.has(l.agentContainerId)) continue;
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
    const lease = this.#stopped ? undefined : this.#leaseAt((s.remoteAddress ?? "").replace(/^::ffff:/, ""));
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
    s.setTimeout(IDLE_MS, () => s.destroy());
    s.once("close", () => {
      // The lease it serves now (a renewal may have taken it over).
      const now = this.#leaseOf.get(s) ?? lease;
      const set = this.#sockets.get(now);
      set?.delete(s);
      if (set?.size === 0) this.#sockets.delete(now);
    });
  }

  /** Takes `n` tokens of lease `k`'s bucket; false (and none taken) when it holds fewer. */
  #take(k: string, n = 1): boolean {
    const { requestsPerSecond, burst } = this.#c.config.agentGateway.limits;
    const now = Date.now();
    const b = this.#buckets.get(k) ?? { tokens: burst, at: now };
    b.tokens = Math.min(burst, b.tokens + ((now - b.at) / 1000) * requestsPerSecond);
    b.at = now;
    this.#buckets.set(k, b);
    if (b.tokens < n) return false;
    b.tokens -= n;
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
    const tenant = this.#c.db.lease(BigInt(lease))?.offer.account.toString() ?? lease;
    const tenantBusy = this.#busyTenant.get(tenant) ?? 0;
    if (
      busy >= limits.concurrentPerLease ||
      tenantBusy >= limits.concurrentPerTenant ||
      this.#busyAll >= limits.concurrent
    ) {
      count("limited");
      return send(res, 429, {
        error: `too many requests under way (${busy} of this lease's ${limits.concurrentPerLease}, ${tenantBusy} of its holder's ${limits.concurrentPerTenant}); wait for answers first`,
      });
    }
    this.#busy.set(lease, busy + 1);
    this.#busyTenant.set(tenant, tenantBusy + 1);
    this.#busyAll++;
    // The request holds its place until its answer is flushed (or its connection is gone): a sidecar that does not
    // read its answers cannot make the yard buffer more than its share.
    const release = (): void => {
      const n = (this.#busy.get(lease) ?? 1) - 1;
      if (n > 0) this.#busy.set(lease, n);
      else this.#busy.delete(lease);
      const t = (this.#busyTenant.get(tenant) ?? 1) - 1;
      if (t > 0) this.#busyTenant.set(tenant, t);
      else this.#busyTenant.delete(tenant);
      this.#busyAll--;
    };
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
      if (res.closed) release();
      else res.once("close", release);
    }
  }

  /** Writes an answer within the bytes-in-flight budget (503 beyond); the bytes count until it is flushed. */
  #answer(res: http.ServerResponse, status: number, type: string, body: Buffer): void {
    const budget = this.#c.config.agentGateway.limits.answerBytesInFlight;
    if (this.#answerBytes + body.length > budget)
      throw new GatewayRefusal(503, "the gateway is writing too many answers at once; ask again shortly");
    this.#answerBytes += body.length;
    let held = true;
    res.once("close", () => {
      if (held) this.#answerBytes -= body.length;
      held = false;
    });
    res.writeHead(status, { "content-type": type, "content-length": body.length });
    res.end(body);
    // A connection holding more unread bytes than two full answers reads too slowly (pipelined requests).
    if (res.socket && res.socket.writableLength > 2 * this.#c.config.agentGateway.limits.maxAnswerBytes + 65_536)
      res.socket.destroy();
  }

  async #route(lease: string, req: http.IncomingMessage, res: http.ServerResponse, signal: AbortSignal) {
    const url = req.url ?? "/";
    const path = url.split("?", 1)[0]!;
    const method = req.method ?? "GET";
    if (path === "/self" && method === "GET") return send(res, 200, this.#self(lease));
    if (path === "/rpc" && method === "POST") {
      const body = await readJson(req);
      // One token per call: the request's own was taken, a batch pays for the rest.
      const calls = Array.isArray(body) ? body.length : 1;
      if (calls > 1 && calls <= gatewayLimits.maxBatch && !this.#take(lease, calls - 1)) {
        const { requestsPerSecond, burst } = this.#c.config.agentGateway.limits;
        throw new GatewayRefusal(
          429,
          `a batch of ${calls} calls is ${calls} requests: over ${requestsPerSecond} per second (burst ${burst}) for this lease; slow down`,
        );
      }
      const answer = await this.#rpc!.handle(body, signal);
      return this.#answer(res, 200, "application/json", Buffer.from(JSON.stringify(answer)));
    }
    if (path === "/dial" && method === "POST") return this.#dial(lease, req, res, signal);
    if (path === "/status" && method === "POST" && this.#c.board) {
      const board = this.#c.board;
      const body = await readJson(req, iconStatusLimits.maxBytes).catch((e: unknown) => {
        throw e instanceof GatewayRefusal && e.status === 413 ? board.tooLarge() : e;
      });
      board.push(lease, body);
      return send(res, 200, { kept: true });
    }
    // The lease's own latest report only (a restarted agent's state directory, a tmpfs, lost its decisions).
    if (path === "/status" && method === "GET" && this.#c.board)
      return send(res, 200, { report: this.#c.board.latest(lease) ?? null });
    if ((path === "/alto" || path.startsWith("/alto/")) && method === "GET") {
      const alto = this.#c.config.agentGateway.altoUrl;
      if (!alto) throw new GatewayRefusal(404, "this yard names no ALTO server (agentGateway.altoUrl)");
      const a = await altoGet(
        alto,
        url.slice("/alto".length),
        this.#c.config.agentGateway.limits.maxAnswerBytes,
        signal,
      );
      return this.#answer(res, a.status, a.type, a.body);
    }
    throw new GatewayRefusal(
      404,
      `${method} ${path.slice(0, 64)} is not served: the gateway serves GET /self, POST /rpc, POST /dial, POST and GET /status, GET /alto/…`,
    );
  }

  /** `POST /dial`: the peer proven by the yard's own dial, then a forward to it (bounded per lease and overall). */
  async #dial(lease: string, req: http.IncomingMessage, res: http.ServerResponse, signal: AbortSignal): Promise<void> {
    const { dialsPerLease, dials } = this.#c.config.agentGateway.limits;
    const body = parseGatewayDialRequest(await readJson(req));
    if (typeof body === "string") throw new GatewayRefusal(400, body);
    const mine = this.#dialing.get(lease) ?? 0;
    if (mine >= dialsPerLease || this.#dialingAll >= dials)
      throw new GatewayRefusal(
        429,
        `too many /dial under way (${mine} of this lease's ${dialsPerLease}, ${this.#dialingAll} of ${dials} overall); wait for answers first`,
      );
    this.#dialing.set(lease, mine + 1);
    this.#dialingAll++;
    try {
      const target = await authenticatePeer(
        this.#c.node,
        body.peer,
        body.addrs,
        signal,
        this.#c.config.agentGateway.dialLoopback,
      );
      if (this.#sidecarIp(lease) === undefined) throw new GatewayRefusal(403, "the lease's sidecar ended");
      const port = await this.#forwards!.open(lease, body.peer, target);
      return send(res, 200, { addr: `/ip4/${this.#gateway}/tcp/${port}` });
    } finally {
      const n = (this.#dialing.get(lease) ?? 1) - 1;
      if (n > 0) this.#dialing.set(lease, n);
      else this.#dialing.delete(lease);
      this.#dialingAll--;
    }
  }

  #self(lease: string): Record<string, unknown> {
    const row = this.#c.db.lease(BigInt(lease));
    // The agent's listener is on the yard's control side (config.ts controlHostOf); bound to a wildcard, it is
    // reached at every address the yard's own node listens on.
    const control = controlHostOf(this.#c.config);
    const port = row?.ingress[AGENT_INGRESS_KEY];
    const proto = (h: string): string => (isIPv4(h) ? "ip4" : isIPv6(h) ? "ip6" : "dns4");
    const hosts =
      control === "0.0.0.0" || control === "::"
        ? [
            ...new Set(
              this.#c.node
                .getMultiaddrs()
                .map((a) => a.toString().split("/"))
                .filter((p) => p[1] === (control === "::" ? "ip6" : "ip4") && p[3] === "tcp")
                .map((p) => p[2]!),
            ),
          ]
        : [control];
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
      agentAddrs: port ? hosts.map((h) => `/${proto(h)}/${h}/tcp/${port}`) : [],
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

/** The request's JSON body, at most `max` bytes (413 beyond, 400 when it is not JSON). */
async function readJson(req: http.IncomingMessage, max: number = gatewayLimits.maxBodyBytes): Promise<unknown> {
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
