/**
 * Ingress: the only way into a lease's containers. Containers publish no host ports; for each exposed container
 * port the yard listens on its public host and carries each connection to wherever the lease's traffic goes
 * now: the container's private address, another yard through an encrypted tunnel (a redirection stub after a
 * migration), or — for HTTP — a 307 redirect to a closer ICON.
 *
 * Two modes per port:
 *  - `tcp`: any protocol; each connection is spliced byte for byte. A connection counts as one request; its
 *    latency is the time to the upstream's first byte.
 *  - `http`: HTTP/1.1 proxied per request over keep-alive upstream connections. Each request is observed with its
 *    latency (request received → response complete); the first request of a new client connection may be
 *    redirected (307) when the lease holder set a redirect for the client's subnet. A redirected request is not
 *    served here: it is reported apart (`redirected`), never as a request with a latency.
 *
 * The upstream's hop-by-hop headers (`Connection: close` among them) are not forwarded: the client's connection
 * is kept alive by the ingress whatever the upstream does with its own.
 *
 * In `tcp` mode each direction ends on its own (half-open sockets: a client that ends its writes, like `nc -N`,
 * still gets the whole answer); a reset or failure of either side resets the other.
 *
 * A lease's ingress port is kept in the database and re-bound after a restart, so clients keep the endpoint. A
 * renewal takes its predecessor's listeners over as they are ({@link Ingress.move}): the port, its open
 * connections and their upstreams stay; only the route that new connections and requests follow changes.
 *
 * Bounds ({@link IngressOptions}): a connection with no byte either way for the mode's idle time is closed (one
 * socket timer per connection), one client address (IPv6: one /64) holds at most `maxConnectionsPerClient`
 * connections to a port and a port at most `maxConnectionsPerPort`; further ones are refused at once. Every socket,
 * request and response has an error listener from its creation: a reset at any moment ends only its connection.
 */
import http from "node:http";
import net from "node:net";
import type { Duplex } from "node:stream";
import { listenInNetns } from "./netns-listen.ts";
import { clientKey } from "./udp.ts";

/** Where one connection or request goes. */
export type Upstream =
  | { kind: "local"; host: string; port: number }
  | { kind: "remote"; connect(): Promise<Duplex> }
  | { kind: "redirect"; location: string };

/** What the yard tells the ingress about one lease port. */
export interface IngressRoute {
  /** Where traffic from `client` goes now; undefined refuses it (container not running, lease over). */
  upstream(client: string): Upstream | undefined;
  /** HTTP: a location (http://host:port) to send a new connection from `client` to, if any. */
  redirect?(client: string): string | undefined;
  /** One request (or TCP connection) from `client` was carried, with its latency when measured. */
  observe?(client: string, latencyMs?: number): void;
  /** One request from `client` was answered with a redirect (HTTP 307) instead of being carried. */
  redirected?(client: string): void;
  /** A forward to a remote upstream failed (the route may be stale). */
  failed?(error: unknown): void;
}

export type IngressMode = "tcp" | "http";

/** Bounds of an {@link Ingress}; each default has its reason in {@link defaultIngressOptions}. */
export interface IngressOptions {
  /** `tcp` mode: a connection with no byte either way for this long is closed, with its upstream. */
  tcpIdleMs?: number;
  /** `http` mode: a client connection with no byte either way for this long (a request under way included) is
   * closed, and its upstream request abandoned. Between requests Node's keep-alive timeout (5 s) applies. */
  httpIdleMs?: number;
  /** Open connections from one client address (IPv6: one /64) to one port; more are refused at once. */
  maxConnectionsPerClient?: number;
  /** Open connections to one port; more are refused at once. */
  maxConnectionsPerPort?: number;
  /** Listen inside this network namespace (a path for `nsenter --net=`): a testbed's site; default the yard's own. */
  netns?: string;
  /**
   * Where listeners opened on the `control` side bind, in the yard's own namespace: an ICON agent's libp2p port is
   * the control plane's, reached by other yards and agents, not by clients. Default: `host` (and `netns`).
   */
  controlHost?: string;
}

/** Which side a listener is on: the clients' (`host`, in `netns`) or the control plane's (`controlHost`). */
export type IngressSide = "public" | "control";

export const defaultIngressOptions: Required<Omit<IngressOptions, "netns" | "controlHost">> = {
  /** As HAProxy's usual `timeout client` for L4: an interactive session (ssh, a database) pausing for minutes
   * stays; a connection silent for 10 min is forgotten or held on purpose. */
  tcpIdleMs: 600_000,
  /** Longer than a long poll (≤ 60 s as usually set) or a slow upstream's answer; a request body or answer that
   * stalls this long is dead. */
  httpIdleMs: 120_000,
  /** Hundreds of users behind one carrier-grade NAT address share it (a thousand connections from one address
   * is a load test, or a NAT); one address still cannot take more than a quarter of a port's share. */
  maxConnectionsPerClient: 1024,
  /** Two descriptors per connection (client, upstream): 8192 per port at most. */
  maxConnectionsPerPort: 4096,
};

interface Listener {
  server: net.Server | http.Server;
  /** What new connections and requests follow: replaced when a renewal takes the listener over. */
  route: IngressRoute;
  mode: IngressMode;
  sockets: Set<net.Socket | Duplex>;
  agent?: http.Agent;
  /** Open connections per client key. */
  perClient: Map<string, number>;
}

/** Hop-by-hop headers (RFC 9110 §7.6.1): they are about one connection, not the answer, so a proxy drops them. */
const HOP_BY_HOP = ["connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"];

/**
 * The upstream answer's end-to-end headers: an upstream that closes its connection after each answer (busybox
 * httpd's `Connection: close`) does not close the client's keep-alive connection, which the ingress keeps itself.
 */
function endToEnd(h: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const named = String(h.connection ?? "")
    .split(",")
    .map((x) => x.trim().toLowerCase())
    .filter((x) => x !== "");
  const out: http.OutgoingHttpHeaders = { ...h };
  for (const k of [...HOP_BY_HOP, ...named]) delete out[k];
  return out;
}

/** Ends `s` at once: a TCP socket with a reset (RST), anything else (a tunnel) destroyed, which aborts it. */
function reset(s: Duplex): void {
  if (s.destroyed) return;
  const tcp = s as net.Socket;
  if (typeof tcp.resetAndDestroy === "function" && tcp.readyState !== "closed" && !tcp.connecting)
    tcp.resetAndDestroy();
  else s.destroy();
}

export class Ingress {
  readonly host: string;
  readonly options: Required<Omit<IngressOptions, "netns" | "controlHost">> &
    Pick<IngressOptions, "netns" | "controlHost">;
  readonly #listeners = new Map<string, Listener>();
  connections = 0;
  /** Connections refused because their client address had `maxConnectionsPerClient` open to the port. */
  refused = 0;
  /** Connections refused because the port had `maxConnectionsPerPort` open. */
  dropped = 0;
  /** Connections closed for being idle. */
  idleClosed = 0;
  /** HTTP requests received, redirected ones included. */
  requests = 0;
  /** HTTP requests answered with a redirect (307) instead of being carried. */
  redirects = 0;
  errors = 0;

  constructor(host: string, options: IngressOptions = {}) {
    this.host = host;
    this.options = { ...defaultIngressOptions, ...options };
  }

  /**
   * Listens for lease `leaseId`'s container port (on `preferred` when free); returns the bound port. `containerPort`
   * only names the listener within the lease (a number for the service's ports; `agent/4100` for its agent's).
   */
  async open(
    leaseId: bigint,
    containerPort: number | string,
    route: IngressRoute,
    preferred = 0,
    mode: IngressMode = "tcp",
    side: IngressSide = "public",
  ): Promise<number> {
    const key = `${leaseId}/${containerPort}`;
    const existing = this.#listeners.get(key);
    if (existing) {
      const port = (existing.server.address() as net.AddressInfo).port;
      if (existing.mode === mode) {
        existing.route = route;
        return port;
      }
      // Another mode (a renewal's spec made the port HTTP, or plain TCP): a new listener on the same port.
      await this.#closeOne(key, existing);
      preferred = port;
    }
    // Half-open allowed: a client that ends its writes (HTTP/1.0, nc) still gets the whole answer.
    const l: Listener =
      mode === "http"
        ? this.#httpListener(route)
        : {
            server: net.createServer({ allowHalfOpen: true }),
            route,
            mode,
            sockets: new Set(),
            perClient: new Map(),
          };
    l.server.maxConnections = this.options.maxConnectionsPerPort;
    // Beyond maxConnections Node closes the new connection at once and says so here.
    l.server.on("drop", () => this.dropped++);
    if (mode === "tcp")
      (l.server as net.Server).on("connection", (c) => {
        c.on("error", () => {}); // (the connection's own handlers come next; none may be missing meanwhile)
        if (this.#admit(c, l)) this.#tcp(c, l.route, l);
      });
    const control = side === "control" && this.options.controlHost !== undefined;
    const host = control ? this.options.controlHost! : this.host;
    const listen = async (port: number): Promise<void> => {
      // In another network namespace the socket is bound there and handed over (netns-listen.ts).
      const handle = this.options.netns && !control ? await listenInNetns(this.options.netns, host, port) : undefined;
      await new Promise<void>((resolve, reject) => {
        l.server.once("error", reject);
        const ready = (): void => {
          l.server.off("error", reject);
          resolve();
        };
        if (handle) l.server.listen(handle, ready);
        else l.server.listen({ port, host, backlog: 4096 }, ready);
      });
    };
    try {
      await listen(preferred);
    } catch (e) {
      if (preferred === 0 || (e as NodeJS.ErrnoException).code !== "EADDRINUSE") throw e;
      await listen(0);
    }
    // After listening, a server's errors are accept failures (EMFILE: out of descriptors): that one connection is
    // lost, the port keeps listening (libuv retries on the next readiness). Without a listener they end the yard.
    l.server.on("error", () => this.errors++);
    this.#listeners.set(key, l);
    return (l.server.address() as net.AddressInfo).port;
  }

  /**
   * Lease `to` (a renewal) takes lease `from`'s listener for `containerPort` over, with its port and its open
   * connections, which carry on untouched; new connections and requests follow `route` from now on. Synchronous:
   * no connection or request sees the listener between the two leases. False when `from` has no such listener.
   */
  move(from: bigint, to: bigint, containerPort: number | string, route: IngressRoute): boolean {
    const l = this.#listeners.get(`${from}/${containerPort}`);
    const key = `${to}/${containerPort}`;
    if (!l || this.#listeners.has(key)) return false;
    this.#listeners.delete(`${from}/${containerPort}`);
    l.route = route;
    this.#listeners.set(key, l);
    return true;
  }

  /** Stops listening for lease `leaseId` and cuts its open connections. */
  async close(leaseId: bigint): Promise<void> {
    const prefix = `${leaseId}/`;
    await Promise.all([...this.#listeners].filter(([k]) => k.startsWith(prefix)).map(([k, l]) => this.#closeOne(k, l)));
  }

  /** Stops listening on lease `leaseId`'s port for `containerPort` (its key) alone and cuts its connections. */
  async closePort(leaseId: bigint, containerPort: number | string): Promise<void> {
    const key = `${leaseId}/${containerPort}`;
    const l = this.#listeners.get(key);
    if (l) await this.#closeOne(key, l);
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.#listeners].map(([k, l]) => this.#closeOne(k, l)));
  }

  /** Client connections open now, on all ports (a test hook: it must come back to 0 however they ended). */
  get openConnections(): number {
    let n = 0;
    for (const l of this.#listeners.values()) for (const c of l.perClient.values()) n += c;
    return n;
  }

  /** The bound port of each lease's client listener (a service port; not an agent's): port → lease id. */
  leasePorts(): Map<number, bigint> {
    const out = new Map<number, bigint>();
    for (const [k, l] of this.#listeners) {
      const [lease, port] = k.split("/");
      const a = l.server.address();
      if (!/^\d+$/.test(port ?? "") || a === null || typeof a === "string") continue;
      out.set(a.port, BigInt(lease!));
    }
    return out;
  }

  /** Listening sockets. */
  get listeners(): number {
    return this.#listeners.size;
  }

  /**
   * Counts `c` against its client address's share of `l`, or refuses it (reset) when the address is at its cap.
   * The count is given back when `c` closes.
   */
  #admit(c: net.Socket, l: Listener): boolean {
    const k = clientKey(c.remoteAddress ?? "");
    const n = l.perClient.get(k) ?? 0;
    if (n >= this.options.maxConnectionsPerClient) {
      this.refused++;
      reset(c);
      return false;
    }
    l.perClient.set(k, n + 1);
    c.once("close", () => {
      const left = (l.perClient.get(k) ?? 1) - 1;
      if (left > 0) l.perClient.set(k, left);
      else l.perClient.delete(k);
    });
    return true;
  }

  #tcp(client: net.Socket, route: IngressRoute, l: Listener): void {
    const from = client.remoteAddress ?? "";
    const up = route.upstream(from);
    if (!up || up.kind === "redirect") {
      client.destroy();
      return;
    }
    this.connections++;
    const t0 = performance.now();
    client.setNoDelay(true);
    l.sockets.add(client);
    let upstream: Duplex | undefined;
    // Each direction ends on its own (half-close: a client that ends its writes still gets the whole answer). A
    // side that fails — an error, or closed before both its directions ended (a reset, a cut tunnel) — resets
    // the other: the client sees a reset rather than an end, so a cut-off answer is not taken for a whole one.
    const done = (): void => {
      reset(client);
      if (upstream) reset(upstream);
      l.sockets.delete(client);
      if (upstream) l.sockets.delete(upstream);
    };
    const closed = (side: Duplex) => (): void => {
      if (!side.readableEnded || !side.writableFinished) done();
      else if (client.destroyed && (!upstream || upstream.destroyed)) done();
    };
    client.on("error", done).on("close", closed(client));
    // No byte either way (the client's socket sees both: what it sends and what it is sent) for tcpIdleMs.
    client.setTimeout(this.options.tcpIdleMs, () => {
      this.idleClosed++;
      done();
    });
    const attach = (u: Duplex): void => {
      upstream = u;
      l.sockets.add(u);
      u.once("data", () => route.observe?.(from, performance.now() - t0));
      u.on("error", done).on("close", closed(u));
      client.pipe(u);
      u.pipe(client);
    };
    if (up.kind === "local") {
      // A busy container may refuse or reset a connection while its accept queue is full: retry a few times
      // (as L4 proxies do) before giving up on the client.
      client.pause();
      const tryConnect = (attempt: number): void => {
        const s = net.connect({ port: up.port, host: up.host, allowHalfOpen: true });
        s.on("error", () => {}); // (an error after the retry's turn, once the socket is destroyed, goes nowhere)
        const retry = (e: Error): void => {
          s.destroy();
          if (client.destroyed) return;
          if (attempt >= 4) {
            this.errors++;
            route.failed?.(e);
            done();
            return;
          }
          setTimeout(() => tryConnect(attempt + 1), 25 * 2 ** attempt);
        };
        s.once("error", retry);
        s.once("connect", () => {
          s.off("error", retry);
          s.setNoDelay(true);
          if (client.destroyed) s.destroy();
          else {
            attach(s);
            client.resume();
          }
        });
      };
      tryConnect(0);
    } else {
      client.pause();
      up.connect().then(
        (u) => {
          u.on("error", () => {}); // (attach adds the real handler; a destroyed one may still report)
          if (client.destroyed) u.destroy();
          else {
            attach(u);
            client.resume();
          }
        },
        (e) => {
          this.errors++;
          route.failed?.(e);
          done();
        },
      );
    }
  }

  #httpListener(initial: IngressRoute): Listener {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 64 });
    const sockets = new Set<net.Socket | Duplex>();
    const firstSeen = new WeakSet<net.Socket>();
    const perClient = new Map<string, number>();
    const server = http.createServer({ keepAlive: true }, (req, res) => {
      // Each request follows the route of the moment: a renewal's takes over requests on connections already open.
      const route = l.route;
      const from = req.socket.remoteAddress ?? "";
      const t0 = performance.now();
      this.requests++;
      // (a reset of the client's connection may surface on its response, e.g. a write after the socket went)
      res.on("error", () => {});
      // A new client connection's first request may be sent to a closer ICON.
      if (!firstSeen.has(req.socket)) {
        firstSeen.add(req.socket);
        const loc = route.redirect?.(from);
        if (loc) {
          res.writeHead(307, { location: loc + (req.url ?? "/"), "cache-control": "no-store", connection: "close" });
          res.end();
          this.redirects++;
          route.redirected?.(from);
          return;
        }
      }
      const up = route.upstream(from);
      if (!up) {
        res
          .writeHead(503, { "content-type": "text/plain", "retry-after": "1" })
          .end("the service is not running here\n");
        return;
      }
      if (up.kind === "redirect") {
        res.writeHead(307, { location: up.location + (req.url ?? "/"), "cache-control": "no-store" }).end();
        this.redirects++;
        route.redirected?.(from);
        return;
      }
      const headers = { ...req.headers, "x-forwarded-for": from };
      const opts: http.RequestOptions =
        up.kind === "local"
          ? { host: up.host, port: up.port, agent, method: req.method, path: req.url, headers }
          : {
              method: req.method,
              path: req.url,
              headers: { ...headers, connection: "close" },
              // No agent: with `agent: false` Node makes a fresh Agent, which ignores createConnection and dials
              // localhost:80 (every request through a tunnel answered 502).
              createConnection: ((_o: unknown, cb: (err: Error | null, s?: Duplex) => void) => {
                up.connect().then(
                  (s) => cb(null, s),
                  (e: Error) => cb(e),
                );
                return undefined;
              }) as unknown as http.RequestOptions["createConnection"],
            };
      // GET/HEAD without a body are retried when the container refuses or resets the connection before
      // answering (busy accept queue, just started), as L4/L7 proxies do; other requests are not replayed.
      const idempotent = (req.method === "GET" || req.method === "HEAD") && !req.headers["content-length"];
      // The client went (reset, idle timeout) before the answer was complete: the upstream request is abandoned,
      // so that neither a pooled upstream connection nor a tunnel stream waits for an answer nobody reads.
      let preq: http.ClientRequest | undefined;
      res.once("close", () => {
        if (!res.writableFinished) preq?.destroy();
      });
      const send = (attempt: number): void => {
        if (res.destroyed) return;
        let cut = false;
        // The upstream failed after the answer began: the client's connection is reset, not ended, so that an
        // answer delimited by the connection's end (HTTP/1.0) is not taken for a whole one.
        const cutOff = (e: Error): void => {
          if (cut) return;
          cut = true;
          this.errors++;
          if (up.kind === "remote") route.failed?.(e);
          if (res.socket) reset(res.socket);
          else res.destroy();
        };
        const r = http.request(opts, (pres) => {
          pres.on("error", cutOff);
          if (res.destroyed) {
            pres.destroy();
            return;
          }
          res.writeHead(pres.statusCode ?? 502, endToEnd(pres.headers));
          pres.pipe(res);
          pres.on("end", () => route.observe?.(from, performance.now() - t0));
        });
        preq = r;
        r.on("error", (e: NodeJS.ErrnoException) => {
          if (res.destroyed) return; // abandoned: the client is gone
          const transient = e.code === "ECONNREFUSED" || e.code === "ECONNRESET" || e.code === "EPIPE";
          if (idempotent && transient && !res.headersSent && attempt < 4 && up.kind === "local") {
            setTimeout(() => send(attempt + 1), 25 * 2 ** attempt);
            return;
          }
          if (res.headersSent) {
            cutOff(e);
            return;
          }
          this.errors++;
          if (up.kind === "remote") route.failed?.(e);
          res.writeHead(502, { "content-type": "text/plain" }).end("the service did not answer\n");
        });
        if (idempotent) r.end();
        else req.pipe(r);
      };
      send(0);
    });
    const l: Listener = { server, route: initial, mode: "http", sockets, agent, perClient };
    server.on("connection", (s: net.Socket) => {
      s.on("error", () => {}); // (the server's parser reports errors as clientError; this is for the rest)
      if (!this.#admit(s, l)) return;
      this.connections++;
      s.setNoDelay(true);
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
    });
    // No byte either way on a client connection for httpIdleMs, a request under way included (Node's own bounds:
    // headers within 60 s, a whole request within 300 s, 5 s idle between keep-alive requests).
    server.setTimeout(this.options.httpIdleMs, (s: net.Socket) => {
      this.idleClosed++;
      s.destroy();
    });
    return l;
  }

  async #closeOne(key: string, l: Listener): Promise<void> {
    this.#listeners.delete(key);
    for (const s of l.sockets) s.destroy();
    l.agent?.destroy();
    await new Promise<void>((resolve) => l.server.close(() => resolve()));
  }
}
