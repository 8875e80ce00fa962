/**
 * The yard: an IEP's daemon. It lists capacity on chain, answers lease negotiations within the operator's
 * pricing policy, relays the opening transaction, runs each leased container in Docker for exactly its slot,
 * claims payment, and reconciles Docker with its database and the chain after any restart.
 *
 * This file is the wiring: it builds the rooms, each from only the components it uses, boots them in order and
 * stops them. The protocol services (lease negotiation, tunnels, the overlay's routes, routing rules and telemetry,
 * image and logs, probe, relay) are libp2p services in js-libp2p's shape, handed to the node at its creation and
 * started and stopped with it; their handlers refuse every stream until the yard is ready (listed, its leases
 * restored: protocol/net/ready.ts), and their outbound work (the overlay's announcements) begins then. The rooms
 * (yard-node/README.md, "Code layout"):
 *   chain-watch.ts  guarded chain calls, chain time, the listing, following market events
 *   quoting.ts      RFQ checks (pure checkRfq), quotes, accept, adopt
 *   leases.ts       deploy, containers, terminate, end, claims, reconcile, the tick
 *   network.ts      host firewall, semantic addressing, endpoints, redirection stubs, inbound tunnels
 *   agent-gateway.ts  what agent sidecars may reach: chain reads, libp2p forwards, ALTO
 *   http.ts         GET /status, /metrics, /healthz
 *
 * Lifecycle of one lease (statuses in the database, see db.ts):
 *   quote (capacity held until the quote's deadline) → accept: pending-open row, openLease, "open"
 *   → Deploy: spec stored, "deployed" → container started at slot start (up to earlyStartS before) →
 *   confirmStart → claims every claimIntervalS → slot end or termination: container stopped and removed,
 *   "ended" → final claim → "settled".
 * The tick (every second) drives it from the database, so a restarted yard picks up where it was.
 *
 * @example
 *   const yard = await Yard.start({ config, wallet });
 *   console.log(yard.status());
 *   await yard.stop();
 */
import { mkdir, readFile } from "node:fs/promises";
import path from "node:path";
import type { Signer } from "ethers";
import type { Libp2p, Startable } from "@libp2p/interface";
import {
  IconError,
  MarketClient,
  ReadyGate,
  createIconNode,
  p2pNodeOptions,
  provideYard,
  loadOrCreatePeerKey,
  readDeployment,
  parseGasPrice,
  resolveFees,
  signPeerBinding,
  zoneRecords,
} from "../protocol/index.ts";
import { AgentGateway } from "./agent-gateway.ts";
import { controlHostOf, resolvePrices, type Prices, type YardConfig } from "./config.ts";
import { ACTIVE, YardDb, type LeaseRow } from "./db.ts";
import { DockerRuntime } from "./docker.ts";
import type { HostFirewall } from "./firewall.ts";
import { leaseHolderCheck } from "./access.ts";
import { IconStatusBoard } from "./icon-status.ts";
import { KernelRtt } from "./overlay/kernel-rtt.ts";
import { Ingress } from "./ingress.ts";
import { DatagramBridge, UdpIngress } from "./udp.ts";
import { LeaseOwners, instanceProblem } from "./overlay/owners.ts";
import type { Overlay } from "./overlay/overlay.ts";
import type { ServiceAddressing } from "./overlay/semantic.ts";
import type { LocalInstance } from "./overlay/types.ts";
import type { TunnelManager } from "./overlay/tunnel.ts";
import { ActiveYards } from "./overlay/yards.ts";
import { CapacityLedger } from "./ledger.ts";
import { Reorgs } from "./reorgs.ts";
import { ControlCheck } from "./control.ts";
import { createLogger, type Logger } from "../protocol/log.ts";
import { Metrics } from "./metrics.ts";
import { YardMetrics } from "./yard-metrics.ts";
import type { ContainerInfo, ContainerRuntime } from "./runtime.ts";
import { yardProtocolServices, type ProtocolServicesInit, type ServedRooms } from "./protocol-services.ts";
import { ChainWatch } from "./chain-watch.ts";
import { HttpSurface, type YardStatus } from "./http.ts";
import { LeaseLifecycle } from "./leases.ts";
import { YardNetwork } from "./network.ts";
import { Quoting } from "./quoting.ts";
import { RttService } from "./rtt.ts";

export interface YardOptions {
  config: YardConfig;
  /** The operator key: signs offers and peer bindings, sends listing, claim and confirm transactions. */
  wallet: Signer;
  runtime?: ContainerRuntime;
  log?: Logger;
}

export class Yard {
  readonly config: YardConfig;
  readonly node: Libp2p;
  readonly chain: MarketClient;
  readonly runtime: ContainerRuntime;
  readonly db: YardDb;
  readonly ledger: CapacityLedger;
  readonly metrics: Metrics;
  readonly ingress: Ingress;
  readonly udp: UdpIngress;
  /** Reads the kernel's round trip of the ingress's connections into the leases' flows (kernel-rtt.ts). */
  readonly rtt: KernelRtt;
  readonly bridge = new DatagramBridge();
  readonly overlay: Overlay;
  readonly tunnels: TunnelManager;
  /** The registry's active yards: whose tunnels' `client` is taken as the flow's client (overlay/yards.ts). */
  readonly activeYards: ActiveYards;
  /** Whose each lease is, from the chain: binds service names to applications (overlay/owners.ts). */
  readonly owners: LeaseOwners;
  readonly log: Logger;
  readonly operator: string;
  readonly prices: Prices;
  zone: string[] = [];

  readonly #wallet: Signer;
  readonly #abort = new AbortController();
  /** The protocol services' handlers serve once it is open (end of boot), refuse again once stop() closes it. */
  readonly #ready: ReadyGate;
  /**
   * The rooms that are not libp2p services, as boot started them: stop() stops them in reverse (Startable). The
   * protocol services (the overlay among them) are the node's: it starts and stops them.
   */
  readonly #started: Startable[] = [];
  /** The yard's containers by id, as last seen (written by the lease lifecycle). */
  readonly #containers = new Map<string, ContainerInfo>();
  #announcing: Promise<void> | undefined;
  #stopped = false;
  readonly #watch: ChainWatch;
  readonly #quoting: Quoting;
  readonly #leases: LeaseLifecycle;
  #servedRooms: ServedRooms | undefined;
  readonly #net: YardNetwork;
  readonly #http: HttpSurface;
  /** What a lease's agent sidecar may reach, through the yard (agent-gateway.ts). */
  readonly gateway: AgentGateway;
  /** The ICONs' status reports, as their sidecars push them, for their owners (`GET /icons`). */
  readonly icons: IconStatusBoard;

  private constructor(
    o: Omit<ProtocolServicesInit, "metrics" | "holder"> & {
      node: Libp2p;
      metrics: Metrics;
      yardMetrics: YardMetrics;
      ready: ReadyGate;
      tunnels: TunnelManager;
      overlay: Overlay;
    },
  ) {
    const { config, node, chain, runtime, db, log } = o;
    this.metrics = o.metrics;
    this.#ready = o.ready;
    this.tunnels = o.tunnels;
    this.overlay = o.overlay;
    this.config = config;
    this.node = node;
    this.chain = chain;
    this.runtime = runtime;
    this.db = db;
    this.#wallet = o.wallet;
    this.operator = o.operator;
    this.prices = o.prices;
    this.log = log;
    const signal = this.#abort.signal;
    const metrics = o.yardMetrics;
    const ledger = (this.ledger = new CapacityLedger(
      { cpuMillis: config.capacity.cpuMillis, memoryMiB: config.capacity.memoryMiB },
      config.capacity.maxLeases,
    ));
    const ing = config.ingress;
    this.ingress = new Ingress(config.publicHost, {
      tcpIdleMs: ing.tcpIdleS * 1000,
      httpIdleMs: ing.httpIdleS * 1000,
      maxConnectionsPerClient: ing.maxConnectionsPerClient,
      maxConnectionsPerPort: ing.maxConnectionsPerPort,
      ...(config.publicNetns ? { netns: config.publicNetns, controlHost: controlHostOf(config) } : {}),
    });
    this.rtt = new KernelRtt(
      {
        host: config.publicHost,
        ports: () => this.ingress.leasePorts(),
        record: (lease, client, ms) => this.overlay.flows(lease).recordRtt(client, ms),
        log: log.child("rtt"),
      },
      { everyMs: ing.rttSampleS * 1000, ...(config.publicNetns ? { netns: config.publicNetns } : {}) },
    );
    this.udp = new UdpIngress(config.publicHost, {
      idleMs: ing.udpIdleS * 1000,
      sessionsPerClient: ing.udpSessionsPerClient,
      sessionsPerPort: ing.udpSessionsPerPort,
      sessions: ing.udpSessions,
    });
    this.activeYards = new ActiveYards(chain, { log: log.child("yards") });
    this.owners = new LeaseOwners(chain);
    const containers = this.#containers;
    const common = { config, db, metrics, operator: o.operator, prices: o.prices, signal };
    const reorgs = new Reorgs({
      chain,
      db,
      config,
      log: log.child("reorgs"),
      now: () => this.#watch.now(),
    });
    this.#watch = new ChainWatch({
      ...common,
      chain,
      ledger,
      node,
      reorgs,
      log: log.child("chain"),
      adopt: (id, offer, hash, renews) => this.#quoting.adopt(id, offer, hash, renews),
      forget: (id) => this.owners.forget(id),
      rekey: (from, to, moveRow) => this.#leases.rekey(from, to, moveRow),
      // A lease whose opening a reorganisation took away for good (reorgs.ts, chain-watch.ts).
      unwind: async (id, why) => {
        await this.#leases.terminate(id, why);
        ledger.release(`lease:${id}`);
        db.forgetLease(id); // the id is free on the chain: a later lease may get it
        this.owners.forget(id);
      },
    });
    this.#quoting = new Quoting({
      ...common,
      reorgs,
      chain,
      ledger,
      watch: this.#watch,
      control: new ControlCheck(chain),
      wallet: o.wallet,
      log: log.child("quoting"),
      rtt: new RttService({
        config: { ...config.probe, netns: config.probe.netns ?? config.publicNetns },
        signer: o.wallet,
        operator: o.operator,
        domain: () => chain.domain(),
        log: log.child("rtt"),
        metrics,
      }),
    });
    const shared = { overlay: this.overlay, ingress: this.ingress, udp: this.udp, containers, runtime };
    this.#net = new YardNetwork({
      ...common,
      ...shared,
      bridge: this.bridge,
      activeYards: this.activeYards,
      owners: this.owners,
      log: log.child("network"),
    });
    this.icons = new IconStatusBoard({ yardId: config.yardId, operator: o.operator, db, chain });
    this.gateway = new AgentGateway({
      board: this.icons,
      config,
      node,
      runtime,
      db,
      containers,
      firewall: () => this.#net.firewall,
      dns: () => this.#net.addressing?.dnsServers(),
      metrics,
      log: log.child("gateway"),
    });
    this.#leases = new LeaseLifecycle({
      ...common,
      reorgs,
      ...shared,
      gateway: this.gateway,
      chain,
      ledger,
      watch: this.#watch,
      owners: this.owners,
      unitsPerEth: o.prices.gasTokenPrice,
      ...(config.chain.fees.l1FeePerClaim === undefined
        ? {}
        : { l1FeePerClaim: parseGasPrice(config.chain.fees.l1FeePerClaim) }),
      network: this.#net,
      log: log.child("leases"),
    });
    this.#http = new HttpSurface({
      ...common,
      ...shared,
      node,
      chain,
      ledger,
      watch: this.#watch,
      leases: this.#leases,
      quoting: this.#quoting,
      icons: this.icons,
      zone: () => this.zone,
    });
  }

  /** Semantic service addressing, when it could be started (overlay.semanticDns, root). */
  get addressing(): ServiceAddressing | undefined {
    return this.#net.addressing;
  }

  /** The nftables table keeping containers off the host's own services (undefined when it could not be set up). */
  get firewall(): HostFirewall | undefined {
    return this.#net.firewall;
  }

  /** `http://host:port` of /status and /metrics once started. */
  get httpUrl(): string {
    return this.#http.url;
  }

  /** Connects to the chain and Docker, lists the yard, reconciles, and starts serving. */
  static async start(o: YardOptions): Promise<Yard> {
    const { config } = o;
    const log = o.log ?? createLogger({ base: { yard: config.yardId } });
    await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
    const deployment = await readDeployment(config.chain.deployment);
    const chain = await MarketClient.connect({
      deployment,
      rpcUrl: config.chain.rpcUrls,
      signer: o.wallet,
      fees: resolveFees(config.chain.fees),
      onProgress: (line) => log.debug(line),
      onRpcWait: (line) => log.warn(line),
      // One round over the endpoints: the chain watch rests and retries by itself (chain-watch.ts), so an outage
      // refuses an RFQ at once instead of after the transport's backoff.
      rpcRounds: 1,
    });
    const operator = await chain.address();
    const prices = resolvePrices(config, chain.tokenInfo);
    const runtime =
      o.runtime ??
      new DockerRuntime({
        socketPath: config.docker.socket ?? DockerRuntime.defaultSocket(),
        yardId: config.yardId,
        network: config.docker.network,
      });
    await runtime.ping();
    const db = new YardDb(path.join(config.dataDir, "yard.db"));
    const key = await loadOrCreatePeerKey(path.join(config.dataDir, "peer.key"));
    const metrics = new Metrics();
    const yardMetrics = new YardMetrics(metrics);
    const ready = new ReadyGate(
      "the yard is starting: it lists its addresses on chain and restores its leases before it answers",
      { onRefused: (protocol, peer) => log.debug("stream refused before ready", { protocol, peer }) },
    );
    // The protocol services are built by the node (js-libp2p's shape) before the Yard is: they reach its rooms
    // through `late.yard`, set before the gate opens (their handlers refuse every stream until then).
    const late: { yard?: Yard } = {};
    const holder = leaseHolderCheck(db, chain);
    const served = yardProtocolServices(
      { config, chain, runtime, db, wallet: o.wallet, operator, prices, metrics: yardMetrics, holder, log },
      ready,
      () => late.yard!.#served(),
    );
    const node = await createIconNode({
      privateKey: key,
      listen: config.listen,
      ...p2pNodeOptions(config.p2p),
      inboundConnectionThreshold: 100,
      maxIncomingPendingConnections: 64,
      services: served.services,
    });
    const yard = (late.yard = new Yard({
      config,
      node,
      chain,
      runtime,
      db,
      wallet: o.wallet,
      operator,
      prices,
      log,
      metrics,
      yardMetrics,
      ready,
      tunnels: served.tunnels(),
      overlay: served.overlay(),
    }));
    try {
      await yard.#boot(deployment.blockNumber);
    } catch (e) {
      await yard.stop();
      throw e;
    }
    return yard;
  }

  async #boot(deployedAt: number): Promise<void> {
    const c = this.config;
    const db = this.db;
    this.log.info("starting", {
      operator: this.operator,
      peerId: this.node.peerId.toString(),
      chainId: this.chain.deployment.chainId,
    });
    await this.#watch.list();
    this.#quoting.binding = await signPeerBinding(
      this.#wallet,
      this.node.peerId,
      BigInt(this.chain.deployment.chainId),
      this.chain.deployment.registry,
    );
    if (db.getMeta("cursor") === undefined) db.setMeta("cursor", String(Math.max(0, deployedAt - 1)));
    if (db.getMeta("nonce") === undefined) db.setMeta("nonce", "0");
    await this.#watch.refreshClock();
    // Capacity promised to leases this yard already holds.
    for (const l of db.leases(ACTIVE)) this.#restoreReservation(l);
    // Openings that were in flight when the yard stopped keep their capacity until adopted or expired.
    for (const p of db.pendingOpens()) {
      this.ledger.restore({
        key: `pending:${p.offerHash}`,
        cpuMillis: p.offer.cpuMillis,
        memoryMiB: p.offer.memoryMiB,
        from: Number(p.offer.start),
        to: Number(p.offer.end),
      });
    }
    // Before any container starts: containers must not reach the host's own services.
    await this.#start(this.#net);
    // Before any sidecar is created: its environment names the gateway.
    await this.#start(this.gateway);
    await this.#watch.follow();
    this.#net.restoreRouting();
    await this.reconcile("start");
    await this.#net.reopenStubbed();
    // The overlay's handlers were registered at the node's start (refused until ready); its announcements begin
    // when the gate opens below, after the reconcile and the stubs reopened.
    await this.#start(this.rtt);
    await this.#start(this.activeYards);
    if (c.overlay.semanticDns) await this.#net.startAddressing();
    await this.#start(this.#leases);
    await this.#start(this.#http);
    await this.#start(this.#watch);
    if (c.p2p.dht) this.#announce();
    const tcp = this.node.getMultiaddrs().find((m) => m.toString().includes("/tcp/"));
    const port = tcp ? Number(tcp.toString().split("/tcp/")[1]!.split("/")[0]) : 0;
    this.zone = zoneRecords({
      domain: c.listing.domain,
      host: c.listing.host ?? `${c.yardId}.${c.listing.domain}`,
      port: port || 4001,
      peerId: this.node.peerId,
    });
    this.#ready.open();
    this.log.info("ready", {
      multiaddrs: this.node.getMultiaddrs().map(String),
      http: this.httpUrl,
      leases: db.leases(ACTIVE).length,
    });
  }

  /** Stops serving; containers keep running (a restarted yard reconciles them). */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#ready.close();
    this.#abort.abort();
    for (const s of this.#started.reverse()) await Promise.resolve(s.stop()).catch(() => {});
    await this.ingress.closeAll();
    await this.udp.closeAll();
    // Nothing records any more: the flows are kept for the next start (the ICON's view goes on across a restart).
    this.overlay.saveFlows();
    this.bridge.close();
    // The protocol services (tunnels, the overlay's handlers and announcements, …) stop with the node.
    await Promise.resolve(this.node.stop()).catch(() => {});
    // Let the tick, the follower and in-flight lease actions finish their database writes before closing it.
    await Promise.allSettled([this.#announcing, this.#watch.idle(), this.#leases.idle()]);
    this.#leases.wipeSecrets();
    this.db.close();
    this.log.info("stopped");
  }

  /** Chain time estimate in seconds: the newest block's timestamp advanced by the wall clock. */
  now(): number {
    return this.#watch.now();
  }

  /** Makes Docker match the database: active leases run, nothing else exists. Returns the actions taken. */
  reconcile(reason: string): Promise<Record<string, number>> {
    return this.#leases.reconcile(reason);
  }

  status(): YardStatus {
    return this.#http.status();
  }

  #restoreReservation(l: LeaseRow): void {
    this.ledger.restore({
      key: `lease:${l.id}`,
      cpuMillis: l.offer.cpuMillis,
      memoryMiB: l.offer.memoryMiB,
      from: Number(l.offer.start),
      to: l.stoppedAt ?? Number(l.offer.end),
    });
  }

  /**
   * Announces this yard in the DHT (provider record of the yard key) now and every 10 minutes: ICONs that look
   * the key up find it, then check it against the registry like any other candidate. A first announcement
   * that finds no DHT peer yet (the bootstrap peers still connecting) is tried again after 5 s.
   */
  #announce(): void {
    const signal = this.#abort.signal;
    const once = async (): Promise<boolean> => {
      try {
        await provideYard(this.node, AbortSignal.any([signal, AbortSignal.timeout(30_000)]));
        this.log.info("announced in the DHT", {});
        return true;
      } catch (e) {
        if (!signal.aborted) this.log.warn("DHT announcement failed; retrying", { error: (e as Error).message });
        return false;
      }
    };
    const loop = async (): Promise<void> => {
      while (!signal.aborted) {
        const ok = await once();
        await new Promise<void>((r) => {
          const t = setTimeout(r, ok ? 600_000 : 5000);
          signal.addEventListener("abort", () => (clearTimeout(t), r()), { once: true });
        });
      }
    };
    this.#announcing = loop();
  }

  /** What the protocol services reach of this yard (protocol-services.ts `rooms()`), built once: each member reads
   * the yard's rooms when it is called, so one object serves every request. */
  #served(): ServedRooms {
    return (this.#servedRooms ??= {
      node: this.node,
      quoting: this.#quoting,
      leases: this.#leases,
      overlay: {
        local: () => this.#local(),
        admit: (from, to, id) => this.addressing?.admit(from, to, id),
        vouch: (peer) => this.activeYards.vouch(peer),
        checkRoute: async (yard, service, id) =>
          instanceProblem(
            service,
            id,
            await this.owners.facts(id, { spender: yard }),
            this.activeYards.operatorOf(yard),
          ),
        udpBridge: (ip, port) => this.bridge.for(ip, port),
      },
      resolveTunnel: (h, remote, remoteAddr) => this.#net.resolveTunnel(h, remote, remoteAddr),
      now: () => this.now(),
    });
  }

  /** This yard's running instances of services, for the overlay's routes. */
  #local(): LocalInstance[] {
    return this.db
      .leases(["deployed"])
      .filter((l) => l.spec?.service)
      .map((l) => {
        const info = l.containerId ? this.#containers.get(l.containerId) : undefined;
        return {
          leaseId: l.id,
          service: l.spec!.service!,
          ports: l.spec!.ports,
          udpPorts: l.spec!.udpPorts ?? [],
          ip: info?.running ? info.ip : undefined,
        };
      });
  }

  /** Starts `s` and keeps it for stop(). */
  async #start(s: Startable): Promise<void> {
    await s.start();
    this.#started.push(s);
  }
}

/** Reads and validates a config file (see config.ts). */
export async function loadYardConfigFile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    throw new IconError("CONFIG_UNREADABLE", `cannot read the yard config ${file}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new IconError("BAD_CONFIG", `${file} is not valid JSON: ${(e as Error).message}`);
  }
}
