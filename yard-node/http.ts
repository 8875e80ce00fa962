/**
 * The yard's HTTP surface for its operator: `GET /status` (JSON, `YardStatus`), `/metrics` (Prometheus text:
 * the counters the rooms increment plus gauges computed at each scrape) and `/healthz` (503 while Docker is
 * unreachable); and for app owners `GET /icons?app=…&yard=…&reader=…&expiry=…&sig=…`, their ICONs' status reports
 * to a signed read grant naming this yard, and `GET /icons/yard`, the operator address such a grant names
 * (icon-status.ts). It reads the other rooms and changes nothing.
 *
 * @example
 *   const surface = new HttpSurface({ config, operator, node, chain, db, ledger, metrics, ... });
 *   await surface.start();            // surface.url is then http://host:port
 *   await fetch(`${surface.url}/status`);
 */
import http from "node:http";
import type { Libp2p } from "@libp2p/interface";
import { IconError, lastResortStats, type MarketClient } from "../protocol/index.ts";
import type { ChainWatch } from "./chain-watch.ts";
import type { YardConfig } from "./config.ts";
import { ACTIVE, type YardDb } from "./db.ts";
import type { IconStatusBoard } from "./icon-status.ts";
import type { Ingress } from "./ingress.ts";
import type { CapacityLedger } from "./ledger.ts";
import type { LeaseLifecycle } from "./leases.ts";
import type { YardMetrics } from "./yard-metrics.ts";
import type { Overlay } from "./overlay/overlay.ts";
import type { Quoting } from "./quoting.ts";
import type { ContainerInfo } from "./runtime.ts";
import type { UdpIngress } from "./udp.ts";

/** What `GET /status` returns (amounts in token units as decimal strings). */
export interface YardStatus {
  yardId: string;
  operator: string;
  peerId: string;
  multiaddrs: string[];
  chain: { up: boolean; chainId: number; cursor: number; rpc: string };
  docker: { up: boolean };
  token: { symbol: string; decimals: number };
  capacity: { cpuMillis: number; memoryMiB: number; usedCpuMillis: number; usedMemoryMiB: number; holds: number };
  leases: {
    id: string;
    status: string;
    account: string;
    cpuMillis: number;
    memoryMiB: number;
    start: number;
    end: number;
    pricePerSecond: string;
    running: boolean;
    /** Whether its agent sidecar runs (only for a lease whose Deploy had an agent part). */
    agentRunning?: boolean;
    endpoint: string | undefined;
    restarts: number;
    note: string;
  }[];
  counts: { active: number; ended: number; settled: number; failed: number };
  quotesPerSecond: number;
  earningsClaimed: string;
  /** Wei the operator's key spent on gas (exact, a decimal string), in all and by function. */
  gasSpentWei: { total: string; byKind: Record<string, string> };
  zone: string[];
  http: string;
}

export interface HttpSurfaceComponents {
  config: Pick<YardConfig, "yardId" | "publicHost" | "chain" | "capacity" | "http" | "file">;
  operator: string;
  node: Pick<Libp2p, "peerId" | "getMultiaddrs">;
  chain: Pick<MarketClient, "deployment" | "tokenInfo" | "fees">;
  db: Pick<YardDb, "leases" | "getMeta">;
  ledger: Pick<CapacityLedger, "usedAt" | "capacity">;
  metrics: YardMetrics;
  containers: ReadonlyMap<string, ContainerInfo>;
  watch: Pick<ChainWatch, "up" | "now">;
  leases: Pick<LeaseLifecycle, "dockerUp" | "agentRunning">;
  quoting: Pick<Quoting, "quotesPerSecond">;
  ingress: Pick<Ingress, "refused" | "dropped" | "idleClosed">;
  udp: Pick<UdpIngress, "stats">;
  overlay: Pick<Overlay, "allFlows">;
  /** The yard's DNS zone records (known once the node listens). */
  zone: () => string[];
  /** The ICONs' status reports (`GET /icons`); none: 404. */
  icons?: Pick<IconStatusBoard, "serve" | "identity">;
}

export class HttpSurface {
  readonly #c: HttpSurfaceComponents;
  #server: http.Server | undefined;
  /** `http://host:port` once started. */
  url = "";

  constructor(components: HttpSurfaceComponents) {
    this.#c = components;
    this.#declareMetrics();
  }

  status(): YardStatus {
    const { config, db, chain, node } = this.#c;
    const now = this.#c.watch.now();
    const used = this.#c.ledger.usedAt(now, now);
    const all = db.leases();
    const count = (s: string[]): number => all.filter((l) => s.includes(l.status)).length;
    return {
      yardId: config.yardId,
      operator: this.#c.operator,
      peerId: node.peerId.toString(),
      multiaddrs: node.getMultiaddrs().map(String),
      chain: {
        up: this.#c.watch.up,
        chainId: chain.deployment.chainId,
        cursor: Number(db.getMeta("cursor") ?? 0),
        rpc: redactUrl(config.chain.rpcUrl),
      },
      docker: { up: this.#c.leases.dockerUp },
      token: chain.tokenInfo,
      capacity: {
        cpuMillis: config.capacity.cpuMillis,
        memoryMiB: config.capacity.memoryMiB,
        usedCpuMillis: used.cpuMillis,
        usedMemoryMiB: used.memoryMiB,
        holds: used.holds,
      },
      leases: all
        .filter((l) => l.status !== "settled")
        .map((l) => {
          const info = l.containerId ? this.#c.containers.get(l.containerId) : undefined;
          const first = l.spec?.ports[0];
          const port = first === undefined ? undefined : l.ingress[String(first)];
          return {
            id: l.id.toString(),
            status: l.status,
            account: l.offer.account.toString(),
            cpuMillis: l.offer.cpuMillis,
            memoryMiB: l.offer.memoryMiB,
            start: Number(l.offer.start),
            end: Number(l.offer.end),
            pricePerSecond: l.offer.pricePerSecond.toString(),
            running: info?.running ?? false,
            ...(l.spec?.agent ? { agentRunning: this.#c.leases.agentRunning(l.id) ?? false } : {}),
            endpoint: port ? `${config.publicHost}:${port}` : undefined,
            restarts: l.restarts,
            note: l.note,
          };
        }),
      counts: {
        active: count(["open", "deployed"]),
        failed: count(["failed"]),
        ended: count(["ended"]),
        settled: count(["settled"]),
      },
      quotesPerSecond: this.#c.quoting.quotesPerSecond(),
      earningsClaimed: String(this.#c.metrics.get("icon_yard_earnings_claimed_units_total") ?? 0),
      gasSpentWei: {
        total: chain.fees.spent.total.toString(),
        byKind: Object.fromEntries([...chain.fees.spent.byKind()].map(([k, v]) => [k, v.toString()])),
      },
      zone: this.#c.zone(),
      http: this.url,
    };
  }

  /** Listens on config.http (port 0: any free port); the error names the port and the fix. */
  async start(): Promise<void> {
    const { config, metrics } = this.#c;
    const server = http.createServer((req, res) => {
      const [url, query] = (req.url ?? "/").split("?", 2);
      if (req.method !== "GET") {
        res.writeHead(405, { allow: "GET" }).end();
        return;
      }
      if (url === "/metrics") {
        res.writeHead(200, { "content-type": "text/plain; version=0.0.4" }).end(metrics.render());
      } else if (url === "/status") {
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(this.status()));
      } else if (url === "/icons" && this.#c.icons) {
        this.#c.icons.serve(new URLSearchParams(query ?? ""), req.socket.remoteAddress ?? "unknown").then(
          ({ status, body }) =>
            res
              .writeHead(status, { "content-type": "application/json", "cache-control": "no-store" })
              .end(JSON.stringify(body)),
          // serve() answers refusals and chain failures (503) itself: only a bug lands here.
          () => res.writeHead(500, { "content-type": "application/json" }).end('{"error":"the yard failed to answer"}'),
        );
      } else if (url === "/icons/yard" && this.#c.icons) {
        res
          .writeHead(200, { "content-type": "application/json", "cache-control": "no-store" })
          .end(JSON.stringify(this.#c.icons.identity()));
      } else if (url === "/healthz") {
        const ok = this.#c.leases.dockerUp;
        res.writeHead(ok ? 200 : 503, { "content-type": "text/plain" }).end(ok ? "ok\n" : "docker unreachable\n");
      } else {
        res
          .writeHead(404, { "content-type": "text/plain" })
          .end("GET /status, /metrics, /healthz, /icons or /icons/yard\n");
      }
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", (e) =>
        reject(
          new IconError(
            "HTTP_LISTEN",
            `cannot listen on ${config.http.host}:${config.http.port} for /status and /metrics (${(e as Error).message}); change http.port in ${config.file}`,
          ),
        ),
      );
      server.listen(config.http.port, config.http.host, () => resolve());
    });
    const a = server.address() as { port: number };
    this.url = `http://${config.http.host}:${a.port}`;
    this.#server = server;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server?.closeAllConnections();
  }

  #declareMetrics(): void {
    this.#c.metrics.collect(() => this.#collect());
  }

  /** Gauges set anew at each scrape. */
  #collect(): void {
    const m = this.#c.metrics;
    const { ledger, db, ingress, watch } = this.#c;
    const now = watch.now();
    const used = ledger.usedAt(now, now);
    const cap = ledger.capacity;
    const leases = db.leases(ACTIVE);
    m.set("icon_yard_leases_active", leases.length);
    m.set("icon_yard_containers_running", [...this.#c.containers.values()].filter((c) => c.running).length);
    m.set("icon_yard_capacity_cpu_millis", used.cpuMillis, { state: "used" });
    m.set("icon_yard_capacity_cpu_millis", cap.cpuMillis - used.cpuMillis, { state: "free" });
    m.set("icon_yard_capacity_memory_mib", used.memoryMiB, { state: "used" });
    m.set("icon_yard_capacity_memory_mib", cap.memoryMiB - used.memoryMiB, {
      state: "free",
    });
    m.set("icon_yard_quotes_per_second", this.#c.quoting.quotesPerSecond());
    // At most 32 subnets per lease (the busiest), so that a lease with many clients cannot flood /metrics. Set
    // anew at every scrape: a lease that ended or a subnet that fell out of the 32 leaves no frozen series.
    for (const n of [
      "icon_yard_flow_redirects_per_second",
      "icon_yard_flow_requests_per_second",
      "icon_yard_flow_latency_ms",
      "icon_yard_flow_rtt_ms",
    ] as const)
      m.clear(n);
    for (const { leaseId, flows, redirects } of this.#c.overlay.allFlows()) {
      for (const r of redirects.slice(0, 32))
        m.set("icon_yard_flow_redirects_per_second", Number(r.rate.toFixed(3)), { lease: leaseId, subnet: r.subnet });
      for (const f of flows.slice(0, 32)) {
        const labels = { lease: leaseId, subnet: f.subnet };
        m.set("icon_yard_flow_requests_per_second", Number(f.rate.toFixed(3)), labels);
        if (Number.isFinite(f.latencyMs)) m.set("icon_yard_flow_latency_ms", Number(f.latencyMs.toFixed(3)), labels);
        if (Number.isFinite(f.rttMs)) m.set("icon_yard_flow_rtt_ms", Number(f.rttMs.toFixed(3)), labels);
      }
    }
    m.set("icon_yard_ingress_refused_total", ingress.refused, { cap: "client" });
    m.set("icon_yard_ingress_refused_total", ingress.dropped, { cap: "port" });
    m.set("icon_yard_ingress_idle_closed_total", ingress.idleClosed);
    const udp = this.#c.udp.stats();
    m.set("icon_yard_udp_sessions", udp.sessions);
    for (const cap of ["client", "port", "total"] as const)
      m.set("icon_yard_udp_sessions_evicted_total", udp.evicted[cap], { cap });
    m.set("icon_yard_udp_datagrams_dropped_total", udp.dropped);
    const caught = lastResortStats();
    m.set("icon_yard_last_resort_caught", caught.peerIo, { kind: "peer_io" });
    m.set("icon_yard_last_resort_caught", caught.rejections, { kind: "unhandled_rejection" });
    m.set("icon_yard_chain_up", watch.up ? 1 : 0);
    m.set("icon_yard_docker_up", this.#c.leases.dockerUp ? 1 : 0);
    m.set("icon_yard_chain_cursor_block", Number(db.getMeta("cursor") ?? 0));
    for (const [kind, wei] of this.#c.chain.fees.spent.byKind()) m.set("icon_yard_gas_spent_wei_total", wei, { kind });
  }
}

function redactUrl(u: string): string {
  try {
    const url = new URL(u);
    return `${url.protocol}//${url.host}`;
  } catch {
    return "(invalid url)";
  }
}
