/**
 * The yard: an IEP's daemon. It lists capacity on chain, answers lease negotiations within the operator's
 * pricing policy, relays the opening transaction, runs each leased container in Docker for exactly its slot,
 * claims payment, and reconciles Docker with its database and the chain after any restart.
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
import http from "node:http";
import path from "node:path";
import { TypedDataEncoder, type Signer } from "ethers";
import type { Libp2p } from "@libp2p/interface";
import type { Multiaddr } from "@multiformats/multiaddr";
import {
  IconError,
  LEASE_FLAGS,
  MarketClient,
  lastResortStats,
  OFFER_TYPES,
  RejectCode,
  createIconNode,
  p2pNodeOptions,
  provideYard,
  loadOrCreatePeerKey,
  namespaceProblem,
  readDeployment,
  serveLeases,
  signPeerBinding,
  toChainError,
  zoneRecords,
  peerIdBytes,
  type CapacityAnswer,
  type DeploySpec,
  type LeaseProvider,
  type NegotiationContext,
  type Offer,
  type BudgetAccount,
  type Rfq,
} from "../protocol/index.ts";
import { resolvePrices, type Prices, type YardConfig } from "./config.ts";
import { YardDb, type LeaseRow } from "./db.ts";
import { DockerRuntime } from "./docker.ts";
import { HostFirewall } from "./firewall.ts";
import { leaseHolderCheck } from "./access.ts";
import { Ingress } from "./ingress.ts";
import { DatagramBridge, UdpIngress } from "./udp.ts";
import { parseServiceKey } from "./overlay/names.ts";
import { LeaseOwners, instanceProblem } from "./overlay/owners.ts";
import { Overlay } from "./overlay/overlay.ts";
import { ServiceAddressing } from "./overlay/semantic.ts";
import type { TunnelHeader } from "../protocol/index.ts";
import { TunnelManager, type TunnelTarget } from "./overlay/tunnel.ts";
import { ActiveYards, ipOf } from "./overlay/yards.ts";
import { CapacityLedger } from "./ledger.ts";
import { ControlCheck } from "./control.ts";
import { createLogger, type Logger } from "../protocol/log.ts";
import { Metrics } from "./metrics.ts";
import { askPrice, counterPrice, utilization } from "./pricing.ts";
import type { ContainerInfo, ContainerRuntime } from "./runtime.ts";
import { serveYardServices } from "./services.ts";

export interface YardOptions {
  config: YardConfig;
  /** The operator key: signs offers and peer bindings, sends listing, claim and confirm transactions. */
  wallet: Signer;
  runtime?: ContainerRuntime;
  log?: Logger;
}

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
    endpoint: string | undefined;
    restarts: number;
    note: string;
  }[];
  counts: { active: number; ended: number; settled: number; failed: number };
  quotesPerSecond: number;
  earningsClaimed: string;
  zone: string[];
  http: string;
}

const TRANSIENT = new Set(["CHAIN_UNREACHABLE", "CHAIN_FAILED", "NO_EVENT"]);
const ACTIVE: LeaseRow["status"][] = ["open", "deployed", "failed"];

const INGRESS_REFUSED =
  "Ingress connections refused at once, by the cap that was full (a client address's, the port's)";
const INGRESS_IDLE = "Ingress connections closed after no byte either way for ingress.tcpIdleS or httpIdleS";
const UDP_EVICTED = "UDP ingress sessions closed to make room for a new source, by the cap that was full";
const UDP_DROPPED = "UDP datagrams dropped because their tunnel stream lagged by more than 1 MiB";

export class Yard {
  readonly config: YardConfig;
  readonly node: Libp2p;
  readonly chain: MarketClient;
  readonly runtime: ContainerRuntime;
  readonly db: YardDb;
  readonly ledger: CapacityLedger;
  readonly metrics = new Metrics();
  readonly ingress: Ingress;
  readonly udp: UdpIngress;
  readonly bridge = new DatagramBridge();
  readonly overlay: Overlay;
  readonly tunnels: TunnelManager;
  /** The registry's active yards: whose tunnels' `client` is taken as the flow's client (overlay/yards.ts). */
  readonly activeYards: ActiveYards;
  /** Whose each lease is, from the chain: binds service names to applications (overlay/owners.ts). */
  readonly owners: LeaseOwners;
  addressing: ServiceAddressing | undefined;
  /** The nftables table keeping containers off the host's own services (undefined when it could not be set up). */
  firewall: HostFirewall | undefined;
  readonly log: Logger;
  readonly operator: string;
  readonly prices: Prices;
  httpUrl = "";

  readonly #wallet: Signer;
  readonly #abort = new AbortController();
  readonly #locks = new Map<string, Promise<unknown>>();
  readonly #containers = new Map<string, ContainerInfo>();
  readonly #stops: (() => Promise<void>)[] = [];
  /** Closings of ended leases' endpoints when their redirection stub's grace ends. */
  readonly #stubTimers = new Set<NodeJS.Timeout>();
  /** The host firewall must be checked against the network (Docker came back; or renewing it failed). */
  #firewallCheck = false;
  #firewallFailing = false;
  #firewallLeftoverGone = false;
  #binding: CapacityAnswer["binding"] | undefined;
  readonly #control: ControlCheck;
  #chainUp = true;
  #chainRetryAt = 0;
  #chainBackoffMs = 500;
  #dockerUp = true;
  #lastBlock = { ts: 0, seenAt: 0 };
  #ticking = false;
  readonly #running = new Set<Promise<void>>();
  #following = false;
  #quoteTimes: number[] = [];
  #reconcileWanted = false;
  #httpServer: http.Server | undefined;
  #stopped = false;
  zone: string[] = [];

  private constructor(o: {
    config: YardConfig;
    node: Libp2p;
    chain: MarketClient;
    runtime: ContainerRuntime;
    db: YardDb;
    wallet: Signer;
    operator: string;
    prices: Prices;
    log: Logger;
  }) {
    this.config = o.config;
    this.node = o.node;
    this.chain = o.chain;
    this.runtime = o.runtime;
    this.db = o.db;
    this.#wallet = o.wallet;
    this.operator = o.operator;
    this.prices = o.prices;
    this.log = o.log;
    this.ledger = new CapacityLedger(
      { cpuMillis: o.config.capacity.cpuMillis, memoryMiB: o.config.capacity.memoryMiB },
      o.config.capacity.maxLeases,
    );
    this.#control = new ControlCheck(o.chain);
    const ing = o.config.ingress;
    this.ingress = new Ingress(o.config.publicHost, {
      tcpIdleMs: ing.tcpIdleS * 1000,
      httpIdleMs: ing.httpIdleS * 1000,
      maxConnectionsPerClient: ing.maxConnectionsPerClient,
      maxConnectionsPerPort: ing.maxConnectionsPerPort,
    });
    this.udp = new UdpIngress(o.config.publicHost, {
      idleMs: ing.udpIdleS * 1000,
      sessionsPerClient: ing.udpSessionsPerClient,
      sessionsPerPort: ing.udpSessionsPerPort,
      sessions: ing.udpSessions,
    });
    this.activeYards = new ActiveYards(o.chain, { log: o.log });
    this.owners = new LeaseOwners(o.chain);
    this.tunnels = new TunnelManager(o.node, {
      resolve: (h, remote, remoteAddr) => this.#resolveTunnel(h, remote.toString(), remoteAddr),
      log: o.log,
      maxPeers: o.config.overlay.maxTunnelPeers,
      idleMs: o.config.overlay.tunnelIdleS * 1000,
    });
    this.overlay = new Overlay({
      node: o.node,
      log: o.log,
      tunnels: this.tunnels,
      admit: (from, to, id) => this.addressing?.admit(from, to, id),
      authorize: leaseHolderCheck(o.db, o.chain),
      vouch: (peer) => this.activeYards.vouch(peer),
      checkRoute: async (yard, service, id) =>
        instanceProblem(service, id, await this.owners.facts(id, { spender: yard }), this.activeYards.operatorOf(yard)),
      udpBridge: (ip, port) => this.bridge.for(ip, port),
      local: () =>
        this.db
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
          }),
      store: o.db,
      routeEpochMs: o.db.nextRouteEpoch(),
      peers: o.config.overlay.peers,
      dht: o.config.p2p.dht,
      k: o.config.overlay.k,
      ttlS: o.config.overlay.routeTtlS,
      halfLifeS: o.config.overlay.flowHalfLifeS,
    });
    this.#declareMetrics();
  }

  /** Connects to the chain and Docker, lists the yard, reconciles, and starts serving. */
  static async start(o: YardOptions): Promise<Yard> {
    const { config } = o;
    const log = o.log ?? createLogger({ base: { yard: config.yardId } });
    await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
    const deployment = await readDeployment(config.chain.deployment);
    const chain = await MarketClient.connect({
      deployment,
      rpcUrl: config.chain.rpcUrl,
      signer: o.wallet,
      onProgress: (line) => log.debug(line),
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
    const node = await createIconNode({
      privateKey: key,
      listen: config.listen,
      ...p2pNodeOptions(config.p2p),
      inboundConnectionThreshold: 100,
      maxIncomingPendingConnections: 64,
    });
    const yard = new Yard({ config, node, chain, runtime, db, wallet: o.wallet, operator, prices, log });
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
    this.log.info("starting", {
      operator: this.operator,
      peerId: this.node.peerId.toString(),
      chainId: this.chain.deployment.chainId,
    });
    await this.#list();
    this.#binding = await signPeerBinding(
      this.#wallet,
      this.node.peerId,
      BigInt(this.chain.deployment.chainId),
      this.chain.deployment.registry,
    );
    if (this.db.getMeta("cursor") === undefined) this.db.setMeta("cursor", String(Math.max(0, deployedAt - 1)));
    if (this.db.getMeta("nonce") === undefined) this.db.setMeta("nonce", "0");
    await this.#refreshClock();
    // Capacity promised to leases this yard already holds.
    for (const l of this.db.leases(ACTIVE)) this.#restoreReservation(l);
    // Openings that were in flight when the yard stopped keep their capacity until adopted or expired.
    for (const p of this.db.pendingOpens()) {
      this.ledger.restore({
        key: `pending:${p.offerHash}`,
        cpuMillis: p.offer.cpuMillis,
        memoryMiB: p.offer.memoryMiB,
        from: Number(p.offer.start),
        to: Number(p.offer.end),
      });
    }
    // Before any container starts: containers must not reach the host's own services.
    await this.#secureNetwork();
    await this.#follow();
    this.#restoreRouting();
    await this.reconcile("start");
    await this.#reopenStubbed();
    this.#stops.push(await serveLeases(this.node, this.#provider(), { onError: (e) => this.#onProtocolError(e) }));
    await this.overlay.start();
    this.#stops.push(() => this.overlay.stop());
    this.activeYards.start();
    this.#stops.push(async () => this.activeYards.stop());
    await this.tunnels.start();
    this.#stops.push(() => this.tunnels.stop());
    if (c.overlay.semanticDns) await this.#startAddressing();
    this.#stops.push(
      await serveYardServices(this.node, {
        runtime: this.runtime,
        chain: this.chain,
        db: this.db,
        dataDir: c.dataDir,
        maxImageBytes: c.images.maxBytes,
        maxPartialBytesPerHolder: c.images.maxPartialBytesPerHolder,
        maxPartialBytes: c.images.maxPartialBytes,
        partialIdleS: c.images.partialIdleS,
        log: this.log,
        container: (id) => this.#containerOf(id),
        onImageLoaded: (id) => this.db.touchImage(id, this.now()),
      }),
    );
    this.runtime.watch((e) => this.#onRuntimeEvent(e), {
      signal: this.#abort.signal,
      onReconnect: () => {
        this.log.warn("docker engine is back; reconciling");
        this.#dockerUp = true;
        this.#reconcileWanted = true;
      },
    });
    await this.#startHttp();
    const tick = setInterval(() => this.#track(this.#tick()), 1000);
    const follow = setInterval(() => this.#track(this.#follow()), c.chain.pollMs);
    this.#stops.push(async () => {
      clearInterval(tick);
      clearInterval(follow);
    });
    if (c.p2p.dht) this.#announce();
    const tcp = this.node.getMultiaddrs().find((m) => m.toString().includes("/tcp/"));
    const port = tcp ? Number(tcp.toString().split("/tcp/")[1]!.split("/")[0]) : 0;
    this.zone = zoneRecords({
      domain: c.listing.domain,
      host: c.listing.host ?? `${c.yardId}.${c.listing.domain}`,
      port: port || 4001,
      peerId: this.node.peerId,
    });
    this.log.info("ready", {
      multiaddrs: this.node.getMultiaddrs().map(String),
      http: this.httpUrl,
      leases: this.db.leases(ACTIVE).length,
    });
  }

  /** Stops serving; containers keep running (a restarted yard reconciles them). */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#abort.abort();
    for (const t of this.#stubTimers) clearTimeout(t);
    this.#stubTimers.clear();
    for (const s of this.#stops.reverse()) await s().catch(() => {});
    await this.ingress.closeAll();
    await this.udp.closeAll();
    this.bridge.close();
    await new Promise<void>((resolve) => (this.#httpServer ? this.#httpServer.close(() => resolve()) : resolve()));
    this.#httpServer?.closeAllConnections();
    await Promise.resolve(this.node.stop()).catch(() => {});
    // Let the tick, the follower and in-flight lease actions finish their database writes before closing it.
    await Promise.allSettled([...this.#running, ...this.#locks.values()]);
    this.db.close();
    this.log.info("stopped");
  }

  /** Chain time estimate in seconds: the newest block's timestamp advanced by the wall clock. */
  now(): number {
    const wall = Date.now() / 1000;
    if (this.#lastBlock.seenAt === 0) return Math.floor(wall);
    return Math.floor(Math.max(wall, this.#lastBlock.ts + (wall - this.#lastBlock.seenAt)));
  }

  // ------------------------------------------------------------------ listing

  async #list(): Promise<void> {
    const c = this.config;
    const st = await this.chain.providerStatus(this.operator);
    const peer = peerIdBytes(this.node.peerId).toLowerCase();
    const listing = {
      peerId: peer,
      multiaddrs: this.node.getMultiaddrs().map(String).slice(0, 8),
      domain: c.listing.domain,
      region: c.listing.region,
      cpuMillis: c.capacity.cpuMillis,
      memoryMiB: c.capacity.memoryMiB,
      cpuPricePerSecond: this.prices.cpuPerCoreSecond,
      memoryPricePerSecond: this.prices.memoryPerGiBSecond,
    };
    const same =
      st.listing &&
      st.listing.peerId.toLowerCase() === peer &&
      st.listing.domain === listing.domain &&
      st.listing.region === listing.region &&
      st.listing.cpuMillis === listing.cpuMillis &&
      st.listing.memoryMiB === listing.memoryMiB &&
      st.listing.cpuPricePerSecond === listing.cpuPricePerSecond &&
      st.listing.memoryPricePerSecond === listing.memoryPricePerSecond &&
      st.listing.multiaddrs.join() === listing.multiaddrs.join();
    if (!same) {
      this.log.info("registering the listing", { domain: listing.domain, region: listing.region });
      await this.chain.register(listing);
    }
    const want = this.prices.stake;
    if (want !== undefined && st.total - st.unbonding < want) {
      const top = want - (st.total - st.unbonding);
      this.log.info("topping up stake", { amount: this.chain.format(top) });
      await this.chain.stake(top);
    }
    const after = await this.chain.providerStatus(this.operator);
    if (!after.active)
      this.log.warn("the yard is listed but not staked at the minimum: tenants will ignore it", {
        staked: this.chain.format(after.total),
        minimum: this.chain.format(after.minStake),
        fix: "set listing.stake in the config or run `icon iep stake <amount>`",
      });
  }

  // ------------------------------------------------------------------ negotiation

  #provider(): LeaseProvider {
    return {
      capacity: async () => {
        const now = this.now();
        const used = this.ledger.usedAt(now, now);
        return {
          cpuMillisFree: Math.max(0, this.config.capacity.cpuMillis - used.cpuMillis),
          memoryMiBFree: Math.max(0, this.config.capacity.memoryMiB - used.memoryMiB),
          cpuPricePerSecond: this.prices.cpuPerCoreSecond,
          memoryPricePerSecond: this.prices.memoryPerGiBSecond,
          region: this.config.listing.region,
          binding: this.#binding!,
        };
      },
      quote: (rfq, counter, ctx) => this.#quote(rfq, counter, ctx),
      accept: (sig, ctx) => this.#accept(sig, ctx),
      deploy: (spec) => this.#deploy(spec),
      terminate: (id) => this.#terminateRequest(id),
    };
  }

  #reject(reason: string, code: RejectCode, message: string): { reject: RejectCode; message: string } {
    this.metrics.inc("icon_yard_rejects_total", "Refused RFQs, counters and accepts by reason", { reason });
    this.log.info("refused", { reason, message });
    return { reject: code, message };
  }

  async #quote(
    rfq: Rfq,
    counter: bigint | undefined,
    ctx: NegotiationContext,
  ): Promise<{ offer: Offer; providerSignature: string } | { reject: RejectCode; message: string }> {
    const c = this.config;
    const peer = ctx.remote.toString();
    const holdKey = `hold:${peer}/${ctx.requestId}`;
    if (rfq.cpuMillis < c.capacity.minCpuMillis || rfq.memoryMiB < c.capacity.minMemoryMiB)
      return this.#reject(
        "too_small",
        RejectCode.BAD_REQUEST,
        `the smallest lease here is ${c.capacity.minCpuMillis} mCPU and ${c.capacity.minMemoryMiB} MiB`,
      );
    if (rfq.slotSeconds < c.lease.minSlotS || rfq.slotSeconds > c.lease.maxSlotS)
      return this.#reject(
        "slot",
        RejectCode.BAD_REQUEST,
        `slots here last ${c.lease.minSlotS} to ${c.lease.maxSlotS} seconds, not ${rfq.slotSeconds}`,
      );
    // What needs no chain first, so that strangers cost the yard no RPC: the proof's own fields, and whether an
    // anonymous peer has room for one more hold at all.
    const unusable = this.#control.precheck(rfq, ctx.remote);
    if (unusable) return this.#reject("proof", RejectCode.BAD_SIGNATURE, unusable);
    if (!rfq.proof) {
      const mine = this.ledger.holds((h) => h.peer === peer && !h.proven).filter((h) => h.key !== holdKey).length;
      if (mine >= c.holds.anonymousPerPeer) return this.#holdRefused("anonymousPerPeer", mine);
    }
    if (!this.#chainUp && Date.now() < this.#chainRetryAt)
      return this.#reject("chain_down", RejectCode.INTERNAL, "this yard cannot reach the chain right now; retry later");
    await this.#refreshClock();
    // The account (and, for a proof signed by the app's owner, the owner) is read before anything is held: the
    // check-and-hold below runs with no await in it, so concurrent RFQs cannot both take the last unit.
    let account: BudgetAccount | undefined;
    let proven = false;
    try {
      account = await this.#chainCall("reading the tenant account", () => this.chain.account(rfq.tenantAccount));
      if (account) {
        const a = account;
        const control = await this.#chainCall("checking the RFQ's proof", () =>
          this.#control.prove(rfq, ctx.remote, a),
        );
        if (!control) account = undefined;
        else if ("refused" in control) return this.#reject("proof", RejectCode.BAD_SIGNATURE, control.refused);
        else proven = control.proven;
      }
    } catch (e) {
      return this.#reject("account", RejectCode.BAD_REQUEST, `account ${rfq.tenantAccount}: ${(e as Error).message}`);
    }
    if (!account)
      return this.#reject("chain_down", RejectCode.INTERNAL, "this yard cannot reach the chain right now; retry later");
    const now = this.now();
    let start = Math.max(now + c.lease.startLeadS, Number(rfq.earliestStart));
    if (rfq.renewsLeaseId !== undefined) {
      const old = this.db.lease(rfq.renewsLeaseId);
      if (!old || !ACTIVE.includes(old.status) || old.stoppedAt !== undefined)
        return this.#reject(
          "renewal",
          RejectCode.BAD_REQUEST,
          `lease ${rfq.renewsLeaseId} is not running at this yard`,
        );
      if (
        old.offer.account !== rfq.tenantAccount ||
        old.offer.cpuMillis !== rfq.cpuMillis ||
        old.offer.memoryMiB !== rfq.memoryMiB
      )
        return this.#reject(
          "renewal",
          RejectCode.BAD_REQUEST,
          `a renewal of lease ${rfq.renewsLeaseId} must be paid by account ${old.offer.account} and keep ${old.offer.cpuMillis} mCPU / ${old.offer.memoryMiB} MiB`,
        );
      if (Number(old.offer.end) <= now + c.lease.startLeadS)
        return this.#reject("renewal", RejectCode.EXPIRED, `lease ${rfq.renewsLeaseId} ends too soon to be renewed`);
      start = Number(old.offer.end);
    }
    const end = start + rfq.slotSeconds;
    const deadline = now + c.lease.quoteValidityS;
    const res = { cpuMillis: rfq.cpuMillis, memoryMiB: rfq.memoryMiB };
    const used = this.ledger.usedAt(start, now);
    const ask = askPrice(this.prices, res, utilization(this.ledger.capacity, used, res));
    let price = counter === undefined ? ask.price : counterPrice(ask.price, ask.base, counter);
    if (price > rfq.maxPricePerSecond) {
      if (ask.base > rfq.maxPricePerSecond) {
        this.ledger.release(holdKey);
        return this.#reject(
          "price",
          RejectCode.PRICE_BELOW_FLOOR,
          `this yard's lowest price for ${rfq.cpuMillis} mCPU and ${rfq.memoryMiB} MiB is ${this.chain.format(ask.base)}/s, above your maximum of ${this.chain.format(rfq.maxPricePerSecond)}/s`,
        );
      }
      price = rfq.maxPricePerSecond;
    }
    const cost = price * BigInt(rfq.slotSeconds);
    if (account.closed || account.balance < cost) {
      this.ledger.release(holdKey);
      return this.#reject(
        "budget",
        RejectCode.BUDGET_TOO_SMALL,
        `account ${rfq.tenantAccount} holds ${this.chain.format(account.balance)} but the lease costs ${this.chain.format(cost)}`,
      );
    }
    const holder = { peer, account: rfq.tenantAccount, proven, cost };
    const r = this.ledger.hold(
      { key: holdKey, ...res, from: start, to: end, expires: deadline, holder },
      c.holds,
      account.balance,
      now,
    );
    if (!r.ok) {
      if (r.by === "capacity" || r.by === "leases")
        return this.#reject("no_capacity", RejectCode.NO_CAPACITY, `no capacity: the lease ${r.reason}`);
      if (r.by === "budget")
        return this.#reject("budget", RejectCode.BUDGET_TOO_SMALL, `${r.reason}; accept or let some expire first`);
      return this.#holdRefused(r.by, undefined, r.reason);
    }
    const nonce = BigInt(this.db.getMeta("nonce") ?? "0");
    this.db.setMeta("nonce", (nonce + 1n).toString());
    const offer: Offer = {
      provider: this.operator,
      account: rfq.tenantAccount,
      token: this.chain.deployment.token,
      pricePerSecond: price,
      cpuMillis: rfq.cpuMillis,
      memoryMiB: rfq.memoryMiB,
      start: BigInt(start),
      end: BigInt(end),
      specHash: rfq.imageDigest,
      nonce,
      deadline: BigInt(deadline),
    };
    const providerSignature = await this.#wallet.signTypedData(this.chain.domain(), OFFER_TYPES, offer);
    this.metrics.inc("icon_yard_quotes_total", "Quotes signed");
    this.#quoteTimes.push(Date.now());
    return { offer, providerSignature };
  }

  /** A refusal by one of the hold limits (config `holds`), with what to do about it. */
  #holdRefused(
    by: "anonymousShare" | "anonymousPerPeer" | "perPeer" | "perAccount",
    count?: number,
    reason?: string,
  ): { reject: RejectCode; message: string } {
    const prove = "; sign the RFQ with the account's controller or owner key (an RfqProof, see PROTOCOL.md)";
    const wait = "; accept one, reject it or let it expire first";
    switch (by) {
      case "anonymousShare":
        return this.#reject("anonymous_share", RejectCode.NO_CAPACITY, `no capacity: ${reason}${prove}`);
      case "anonymousPerPeer":
        return this.#reject(
          "hold_limit",
          RejectCode.RATE_LIMITED,
          `${reason ?? `this peer already holds ${count} quote(s) without a proof of control (limit ${this.config.holds.anonymousPerPeer})`}${prove}`,
        );
      default:
        return this.#reject("hold_limit", RejectCode.RATE_LIMITED, `${reason}${wait}`);
    }
  }

  async #accept(
    tenantSignature: string,
    ctx: NegotiationContext,
  ): Promise<{ leaseId: bigint; txHash: string } | { reject: RejectCode; message: string }> {
    const q = ctx.lastQuote!;
    const holdKey = `hold:${ctx.remote.toString()}/${ctx.requestId}`;
    const now = this.now();
    if (Number(q.offer.deadline) < now || !this.ledger.has(holdKey))
      return this.#reject("expired", RejectCode.EXPIRED, "the quote has expired; ask for a new one");
    const offerHash = TypedDataEncoder.hash(this.chain.domain(), OFFER_TYPES, q.offer);
    const renews = ctx.rfq?.renewsLeaseId;
    // The hold stops expiring while the transaction is in flight (its capacity is promised either way).
    const pendingKey = `pending:${offerHash}`;
    this.ledger.commit(holdKey, pendingKey);
    // Recorded before the transaction: if the yard dies while it is in flight, the event follower finds the
    // lease by this offer hash and adopts it.
    this.db.addPendingOpen({
      offerHash,
      offer: q.offer,
      providerSignature: q.providerSignature,
      tenantSignature,
      renews,
      createdAt: now,
    });
    let leaseId: bigint;
    let txHash: string;
    try {
      ({ leaseId, txHash } = await this.chain.openLeaseTx(q.offer, q.providerSignature, tenantSignature));
    } catch (e) {
      const code = (e as IconError).code;
      if (TRANSIENT.has(code)) {
        this.#markChainDown(e);
        return this.#reject("chain_down", RejectCode.INTERNAL, "the opening transaction did not go through; retry");
      }
      this.db.removePendingOpen(offerHash);
      this.ledger.release(pendingKey);
      return this.#reject(
        "chain_refused",
        code === "LeaseInvalidSignature" ? RejectCode.BAD_SIGNATURE : RejectCode.CHAIN_REFUSED,
        (e as Error).message,
      );
    }
    this.#adopt(leaseId, q.offer, offerHash, renews, pendingKey);
    this.log.info("lease opened", {
      lease: leaseId,
      account: q.offer.account,
      price: q.offer.pricePerSecond,
      start: q.offer.start,
      end: q.offer.end,
    });
    return { leaseId, txHash };
  }

  /** Records an opened lease and turns its capacity hold (if any) into a commitment. */
  #adopt(id: bigint, offer: Offer, offerHash: string, renews: bigint | undefined, holdKey?: string): void {
    const added = this.db.addLease(id, offer, offerHash, renews);
    const key = `lease:${id}`;
    const pending = `pending:${offerHash}`;
    if (!(holdKey && this.ledger.commit(holdKey, key)) && !this.ledger.commit(pending, key) && !this.ledger.has(key)) {
      this.ledger.restore({
        key,
        cpuMillis: offer.cpuMillis,
        memoryMiB: offer.memoryMiB,
        from: Number(offer.start),
        to: Number(offer.end),
      });
    }
    if (added) this.metrics.inc("icon_yard_leases_opened_total", "Leases opened");
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

  async #deploy(spec: DeploySpec): Promise<{ endpoint: string } | { failed: string }> {
    return this.#withLease(spec.leaseId, async () => {
      const l = this.db.lease(spec.leaseId);
      if (!l) return { failed: `lease ${spec.leaseId} is not known to this yard` };
      if (!ACTIVE.includes(l.status)) return { failed: `lease ${spec.leaseId} has ${l.status}` };
      if (spec.imageDigest.toLowerCase() !== l.offer.specHash.toLowerCase())
        return { failed: `image ${spec.imageDigest} is not the one the lease was quoted for (${l.offer.specHash})` };
      if (spec.ports.length > 8 || spec.ports.some((p) => p < 1 || p > 65535))
        return { failed: "ports: at most 8, each 1..65535" };
      if (spec.service !== undefined) {
        // A service's namespace is its application's (app.r<root>), read from the chain: no tenant names its
        // services into another application's namespace (protocol/lease/namespace.ts).
        const root = await this.owners.rootOf(l.offer.account).catch(() => undefined);
        if (root === undefined)
          return {
            failed: `the yard cannot read budget account ${l.offer.account} from the chain right now to check the service's namespace; deploy again in a moment`,
          };
        const why = namespaceProblem(spec.service, root);
        if (why) {
          this.metrics.inc("icon_yard_deploys_refused_total", "Deploys refused by reason", { reason: "namespace" });
          return { failed: `${why}; lease ${l.id} is paid by account ${l.offer.account} of application ${root}` };
        }
      }
      const imageId = await this.runtime.imageId(`sha256:${spec.imageDigest.slice(2)}`);
      if (!imageId)
        return {
          failed: `image sha256:${spec.imageDigest.slice(2)} is not on this yard; upload it with ${"/icon/image/1.0.0"} first`,
        };
      this.db.update(l.id, { spec, status: "deployed", note: "" });
      this.db.useImage(imageId, this.now());
      // A renewal carries the predecessor's container and endpoints over.
      if (l.renews !== undefined && !l.containerId) {
        const prev = this.db.lease(l.renews);
        if (prev?.containerId && prev.spec && JSON.stringify(prev.spec.ports) === JSON.stringify(spec.ports)) {
          this.db.update(l.id, { containerId: prev.containerId, ingress: prev.ingress });
          // The predecessor keeps being paid until its end but no longer runs anything of its own.
          this.db.update(prev.id, {
            containerId: undefined,
            spec: undefined,
            ingress: {},
            note: `renewed by lease ${l.id}`,
          });
          await this.ingress.close(prev.id);
          this.log.info("lease renewed: container carried over", { lease: l.id, from: prev.id });
        }
      }
      const fresh = this.db.lease(l.id)!;
      await this.#openIngress(fresh);
      if (this.now() >= Number(fresh.offer.start) - this.config.lease.earlyStartS) await this.#ensureRunning(fresh);
      const port = this.db.lease(l.id)!.ingress[String(spec.ports[0] ?? "")];
      // host:port of the first exposed port; just the host when the container exposes none.
      return { endpoint: port ? `${this.config.publicHost}:${port}` : this.config.publicHost };
    });
  }

  async #terminateRequest(id: bigint): Promise<void> {
    await this.#withLease(id, async () => {
      const l = this.db.lease(id);
      if (!l || !ACTIVE.includes(l.status)) return;
      const rec = await this.#chainCall(`reading lease ${id}`, () => this.chain.lease(id)).catch(() => undefined);
      const stoppedAt = rec && rec.stoppedAt > 0n ? Number(rec.stoppedAt) : this.now();
      this.db.update(id, { stoppedAt, note: "terminated by the tenant" });
      if (rec && rec.stoppedAt > 0n) this.ledger.endAt(`lease:${id}`, stoppedAt);
      await this.#end(this.db.lease(id)!, "terminated");
    });
  }

  // ------------------------------------------------------------------ overlay

  /**
   * Installs the host firewall on the yard's bridge (firewall.ts), or replaces it when the bridge changed (the
   * network was re-created while Docker was away). Without nft or root the yard warns once and runs without it.
   */
  async #secureNetwork(): Promise<void> {
    if (!this.config.docker.hostFirewall) {
      // Turned off: a table an earlier run left for its containers would only drop this run's new listeners.
      if (!this.#firewallLeftoverGone) {
        this.#firewallLeftoverGone = true;
        await new HostFirewall({ yardId: this.config.yardId }).remove().catch(() => {});
      }
      return;
    }
    if (!this.runtime.networkInfo) return;
    const first = this.firewall === undefined;
    let fw: HostFirewall;
    try {
      fw = this.firewall ?? new HostFirewall({ yardId: this.config.yardId });
      const { bridge } = await this.runtime.networkInfo();
      if (fw.bridge !== bridge) {
        await fw.install(bridge);
        this.log.info("host firewall installed: containers reach only the yard's DNS and service addresses", {
          table: fw.table,
          bridge,
        });
      }
      this.#firewallCheck = false;
      this.#firewallFailing = false;
    } catch (e) {
      if (!first) {
        // Retried every tick until it works; said once.
        if (!this.#firewallFailing) this.log.warn("could not renew the host firewall; retrying", { error: e });
        this.#firewallFailing = true;
        return;
      }
      const nft = (e as { code?: string }).code === "HOST_FIREWALL_FAILED";
      this.log.warn("containers can reach every service of this host: the yard could not install its firewall", {
        error: e,
        fix: nft
          ? "install nftables (apt-get install nftables) and run the yard as root, or set docker.hostFirewall to false to silence this"
          : "the container network could not be set up (see the error); the firewall follows once it can",
      });
      return;
    }
    if (first) {
      this.firewall = fw;
      this.#stops.push(() => this.#unsecureNetwork(fw));
    }
  }

  /**
   * At stop: the table goes only when no container of this yard is left. Containers keep running across a stop
   * (the next start takes them over), and they stay filtered meanwhile; the next start replaces the table.
   */
  async #unsecureNetwork(fw: HostFirewall): Promise<void> {
    const left = await this.runtime.list().then(
      (cs) => cs.filter((c) => c.running).length,
      () => undefined,
    );
    if (left === 0) return fw.remove();
    this.log.info("host firewall left in place for the containers that keep running until the next start", {
      table: fw.table,
      containers: left ?? "unknown (docker unreachable)",
    });
  }

  /**
   * Routing rules stored by an earlier run (overlay.ts): stubs still in their grace come back, expired ones are
   * dropped, and rules of leases that ended without a stub in force are forgotten.
   */
  #restoreRouting(): void {
    const live = new Set(this.overlay.restore().map((s) => s.leaseId));
    for (const r of this.db.routingRules()) {
      const l = this.db.lease(r.leaseId);
      if (live.has(r.leaseId) || (l && ACTIVE.includes(l.status))) continue;
      this.overlay.forget(r.leaseId);
    }
  }

  /** Ended leases whose stub is in force keep their endpoints (same ports) until its grace ends. */
  async #reopenStubbed(): Promise<void> {
    for (const r of this.db.routingRules()) {
      const stub = this.overlay.stub(r.leaseId);
      const l = this.db.lease(r.leaseId);
      if (!stub || !l || ACTIVE.includes(l.status)) continue;
      await this.#openIngress(l).catch((e) =>
        this.log.warn("could not reopen an endpoint for its redirection stub", { lease: l.id, error: e }),
      );
      this.#closeAfterStub(l.id, stub.until);
      this.log.info("redirection stub restored", { lease: l.id, to: stub.endpoint, until: new Date(stub.until) });
    }
  }

  /** Closes lease `id`'s endpoints and forgets its routing rules when its stub's grace ends (at unix ms `until`). */
  #closeAfterStub(id: bigint, until: number): void {
    const t = setTimeout(
      () => {
        this.#stubTimers.delete(t);
        if (this.#stopped) return;
        void this.ingress.close(id);
        void this.udp.close(id);
        this.overlay.forget(id);
      },
      Math.max(0, until - Date.now()),
    );
    t.unref();
    this.#stubTimers.add(t);
  }

  async #startAddressing(): Promise<void> {
    const a = new ServiceAddressing({
      runtime: this.runtime,
      overlay: this.overlay,
      log: this.log,
      cidr: this.config.overlay.serviceCidr ?? defaultServiceCidr(this.config.yardId),
      sourceOf: (ip) => {
        for (const l of this.db.leases(["deployed"])) {
          const info = l.containerId ? this.#containers.get(l.containerId) : undefined;
          if (info?.ip === ip) return { leaseId: l.id, service: l.spec?.service };
        }
        return undefined;
      },
      rulesOf: (id) => this.db.lease(id)?.spec?.allow,
      allow: async (x) => this.firewall?.allow(x),
      revoke: async (x) => this.firewall?.revoke(x),
    });
    try {
      await a.start();
      this.addressing = a;
      this.#stops.push(() => a.stop());
    } catch (e) {
      // Semantic names need root (addresses on the bridge, port 53); everything else works without them.
      this.log.warn("semantic addressing is off: containers cannot resolve service names", {
        error: e,
        fix: "run the yard as root, or set overlay.semanticDns to false to silence this",
      });
      await a.stop().catch(() => {});
    }
  }

  /**
   * An inbound tunnel: an instance of ours, its port, the namespace rules, a running container. A header without
   * a service (a redirection stub of a lease that names none) addresses the lease by its id: it reaches exactly
   * the ports the lease's public ingress exposes to anyone, so it needs no more than a service tunnel without
   * `from` does — the lease runs here and exposes the port (tunnel.ts refuses `from` without a service).
   */
  async #resolveTunnel(h: TunnelHeader, remote: string, remoteAddr: Multiaddr): Promise<TunnelTarget> {
    const l = this.db.lease(h.instanceId);
    if (!l || l.status !== "deployed" || !l.spec || l.stoppedAt !== undefined)
      return { error: `instance ${h.instanceId} does not run at this yard` };
    if (h.service !== undefined && l.spec.service !== h.service)
      return { error: `instance ${h.instanceId} is not an instance of ${h.service}` };
    const exposed = h.transport === "udp" ? (l.spec.udpPorts ?? []) : l.spec.ports;
    if (!exposed.includes(h.port))
      return {
        error: `instance ${h.instanceId} does not expose ${h.transport === "udp" ? "UDP" : "TCP"} port ${h.port}`,
      };
    if (h.from !== undefined && h.service !== undefined) {
      // The source service is the opener's word: taken only from an active yard, and only for a source lease it
      // hosts, of the source's application (on chain). A stranger reaches the exposed port without `from`.
      if (!(await this.activeYards.vouch(remote)))
        return { error: `a source service (from) is taken from active yards only; ${remote} is none` };
      const facts = await this.owners.facts(h.fromInstance!);
      const bound = instanceProblem(h.from, h.fromInstance!, facts, this.activeYards.operatorOf(remote));
      if (bound) return { error: `source ${h.from} is not vouched for by the opener: ${bound}` };
      const why = this.addressing?.admit(h.from, parseServiceKey(h.service), l.id) ?? undefined;
      if (why) return { error: why };
    }
    const info = l.containerId ? this.#containers.get(l.containerId) : undefined;
    if (!info?.running || !info.ip) return { error: `instance ${h.instanceId} is not running right now` };
    // The header's client is an active yard's word; anyone else's tunnel counts under the address it comes from.
    const trusted = this.activeYards.trusts(remote);
    const client = trusted ? h.client : ipOf(remoteAddr);
    if (client !== undefined) this.overlay.flows(l.id).record(client);
    if (!trusted) {
      this.metrics.inc(
        "icon_yard_tunnels_untrusted_client_total",
        "Tunnels from peers that are no active yard: counted under the peer's own address, not the header's client",
      );
    }
    this.log.debug("tunnel accepted", { lease: l.id, from: remote, client, trusted });
    if (h.transport === "udp") return { host: "127.0.0.1", port: await this.bridge.for(info.ip, h.port) };
    return { host: info.ip, port: h.port };
  }

  // ------------------------------------------------------------------ containers

  #containerOf(id: bigint): { info: ContainerInfo | undefined; row: LeaseRow | undefined } {
    const row = this.db.lease(id);
    return { row, info: row?.containerId ? this.#containers.get(row.containerId) : undefined };
  }

  /** The running container of lease `id` at `port`, or undefined (not running, no address). */
  #containerTarget(id: bigint, port: number): { host: string; port: number } | undefined {
    const row = this.db.lease(id);
    const info = row?.containerId ? this.#containers.get(row.containerId) : undefined;
    return info?.running && info.ip ? { host: info.ip, port } : undefined;
  }

  async #openIngress(l: LeaseRow): Promise<void> {
    if (!l.spec) return;
    const ingress = { ...l.ingress };
    const id = l.id;
    for (const p of l.spec.ports) {
      const http = l.spec.httpPorts?.includes(p) ?? false;
      const route = this.overlay.ingressRoute(id, p, http, () => this.#containerTarget(id, p), l.spec.service);
      ingress[String(p)] = await this.ingress.open(id, p, route, l.ingress[String(p)] ?? 0, http ? "http" : "tcp");
    }
    for (const p of l.spec.udpPorts ?? []) {
      const route = this.overlay.udpRoute(id, p, () => this.#containerTarget(id, p), l.spec.service);
      ingress[`udp/${p}`] = await this.udp.open(id, p, route, l.ingress[`udp/${p}`] ?? 0);
    }
    this.db.update(l.id, { ingress });
  }

  /** Creates and starts the lease's container if it is not running (counting restarts after a crash). */
  async #ensureRunning(l: LeaseRow): Promise<void> {
    if (!l.spec) return;
    let info = l.containerId ? await this.runtime.inspect(l.containerId) : undefined;
    if (info?.running) {
      this.#containers.set(info.id, info);
      return;
    }
    if (info && info.status !== "created") {
      // It ran and stopped: a crash (or OOM kill). Restart within the budget of restarts.
      if (l.restarts >= this.config.lease.maxRestarts) {
        if (l.status !== "failed") {
          this.db.update(l.id, {
            status: "failed",
            note: `container exited ${info.oomKilled ? "(out of memory) " : ""}with ${info.exitCode} after ${l.restarts} restarts; the yard stopped restarting it`,
          });
          this.log.warn("container keeps failing; not restarting", { lease: l.id, exitCode: info.exitCode });
        }
        return;
      }
      this.db.update(l.id, { restarts: l.restarts + 1 });
      this.metrics.inc("icon_yard_container_restarts_total", "Containers restarted after they exited");
    }
    if (!info) {
      const imageId = await this.runtime.imageId(`sha256:${l.spec.imageDigest.slice(2)}`);
      if (!imageId) {
        this.db.update(l.id, { status: "failed", note: "the image is no longer on this yard; upload it again" });
        return;
      }
      // A container of this lease left from before a crash (created but not yet recorded): replace it.
      for (const c of await this.runtime.list({ leaseId: l.id }))
        if (c.id !== l.containerId) await this.runtime.remove(c.id);
      info = await this.runtime.create({
        leaseId: l.id,
        image: imageId,
        command: l.spec.command.length > 0 ? l.spec.command : undefined,
        env: l.spec.env,
        ports: l.spec.ports,
        limits: {
          cpuMillis: l.offer.cpuMillis,
          memoryMiB: l.offer.memoryMiB,
          pids: this.config.capacity.pidsPerLease,
        },
        stopTimeoutS: this.config.lease.stopTimeoutS,
        ...(this.addressing ? { dns: this.addressing.dnsServers() } : {}),
      });
      this.db.update(l.id, { containerId: info.id });
    }
    info = await this.runtime.start(info.id);
    this.#containers.set(info.id, info);
    if (l.spec.service) this.overlay.localChanged(l.spec.service);
    this.log.info("container running", { lease: l.id, container: info.id.slice(0, 12), ip: info.ip });
  }

  /** Ends lease `l` locally: container stopped and removed, ingress closed, status ended. */
  async #end(l: LeaseRow, why: string): Promise<void> {
    if (l.containerId) {
      await this.runtime.stop(l.containerId, this.config.lease.stopTimeoutS);
      await this.runtime.remove(l.containerId);
      this.#containers.delete(l.containerId);
    }
    // A redirection stub keeps the endpoint answering (forwarding or redirecting) until its grace ends.
    const stub = this.overlay.stub(l.id);
    if (stub) {
      this.#closeAfterStub(l.id, stub.until);
    } else {
      await this.ingress.close(l.id);
      await this.udp.close(l.id);
      this.overlay.forget(l.id);
    }
    if (l.spec?.service) this.overlay.localChanged(l.spec.service);
    if (l.spec) this.db.useImage(`sha256:${l.spec.imageDigest.slice(2)}`, this.now());
    this.db.update(l.id, { status: "ended", containerId: undefined, note: l.note || why });
    this.log.info("lease ended", { lease: l.id, why });
  }

  #onRuntimeEvent(e: { kind: string; leaseId: bigint; containerId: string; exitCode?: number }): void {
    const info = this.#containers.get(e.containerId);
    if (e.kind === "oom") {
      this.metrics.inc("icon_yard_container_exits_total", "Containers that exited on their own, by reason", {
        reason: "oom",
      });
      this.log.warn("container ran out of memory and was killed", { lease: e.leaseId });
      this.db.update(e.leaseId, { note: "the container ran out of memory and was killed" });
    }
    if (e.kind === "die" && info) {
      info.running = false;
      const row = this.db.lease(e.leaseId);
      // A failure changes this yard's instances: tell the interested yards now, not when their routes expire.
      if (row?.spec?.service) this.overlay.localChanged(row.spec.service);
      if (row && ACTIVE.includes(row.status) && row.stoppedAt === undefined && this.now() < Number(row.offer.end)) {
        this.metrics.inc("icon_yard_container_exits_total", "Containers that exited on their own, by reason", {
          reason: e.exitCode === 137 ? "killed" : "exit",
        });
        this.log.warn("container exited", { lease: e.leaseId, exitCode: e.exitCode });
      }
    }
  }

  // ------------------------------------------------------------------ reconciliation

  /** Makes Docker match the database: active leases run, nothing else exists. Returns the actions taken. */
  async reconcile(reason: string): Promise<Record<string, number>> {
    const actions: Record<string, number> = {};
    const act = (a: string): void => {
      actions[a] = (actions[a] ?? 0) + 1;
      this.metrics.inc("icon_yard_reconcile_actions_total", "Actions taken to make Docker match the leases", {
        action: a,
      });
    };
    const now = this.now();
    const containers = await this.runtime.list();
    const wanted = new Map<string, LeaseRow>();
    for (const l of this.db.leases(ACTIVE)) {
      if (l.containerId) wanted.set(l.containerId, l);
    }
    for (const c of containers) {
      const l = wanted.get(c.id);
      const inSlot = l && l.stoppedAt === undefined && now < Number(l.offer.end);
      if (!inSlot) {
        await this.#withLease(c.leaseId, async () => {
          await this.runtime.stop(c.id, this.config.lease.stopTimeoutS);
          await this.runtime.remove(c.id);
          this.#containers.delete(c.id);
        });
        act(l ? "removed_expired" : "removed_orphan");
        this.log.info("removed a container without a running lease", {
          lease: c.leaseId,
          container: c.id.slice(0, 12),
        });
      } else {
        this.#containers.set(c.id, c);
      }
    }
    const present = new Set(containers.map((c) => c.id));
    for (const l of this.db.leases(["deployed"])) {
      await this.#withLease(l.id, async () => {
        const row = this.db.lease(l.id)!;
        if (row.stoppedAt !== undefined || now >= Number(row.offer.end)) return; // the tick ends it
        await this.#openIngress(row);
        if (now < Number(row.offer.start) - this.config.lease.earlyStartS) return;
        const existed = row.containerId !== undefined && present.has(row.containerId);
        if (!existed && row.containerId) this.db.update(row.id, { containerId: undefined });
        const running = existed && containers.find((c) => c.id === row.containerId)!.running;
        if (running) return;
        try {
          await this.#ensureRunning(this.db.lease(row.id)!);
          act(existed ? "restarted" : "recreated");
        } catch (e) {
          this.log.error("could not start a lease's container", { lease: row.id, error: e });
        }
      });
    }
    this.log.info("reconciled", { reason, ...actions });
    return actions;
  }

  // ------------------------------------------------------------------ the tick

  async #tick(): Promise<void> {
    if (this.#ticking || this.#stopped) return;
    this.#ticking = true;
    try {
      // Docker came back: its network may have been re-created (a new bridge); filter it before containers start.
      if (this.#reconcileWanted) this.#firewallCheck = true;
      if (this.#firewallCheck && this.firewall) await this.#secureNetwork();
      if (this.#reconcileWanted) {
        this.#reconcileWanted = false;
        await this.reconcile("docker reconnected").catch((e) => {
          this.#reconcileWanted = true;
          this.log.warn("reconcile failed; will retry", { error: e });
        });
      }
      const now = this.now();
      for (const l of this.db.leases(["open", "deployed", "failed", "ended"])) {
        if (this.#stopped) break;
        await this.#withLease(l.id, () => this.#step(l.id, now)).catch((e) => {
          if ((e as IconError).code === "DOCKER_UNREACHABLE") {
            if (this.#dockerUp) this.log.warn("docker engine unreachable; leases keep their state", { error: e });
            this.#dockerUp = false;
            this.#reconcileWanted = true;
          } else {
            this.log.warn("lease step failed; will retry", { lease: l.id, error: e });
          }
        });
      }
      if (!this.#stopped) await this.#collectImages(now);
    } finally {
      this.#ticking = false;
    }
  }

  async #step(id: bigint, now: number): Promise<void> {
    const l = this.db.lease(id);
    if (!l) return;
    const end = Math.min(Number(l.offer.end), l.stoppedAt ?? Infinity);
    if (ACTIVE.includes(l.status)) {
      if (now >= end) {
        await this.#end(l, l.stoppedAt !== undefined ? "terminated" : "slot over");
        await this.#claim(this.db.lease(id)!, true);
        return;
      }
      if (l.status === "deployed" && now >= Number(l.offer.start) - this.config.lease.earlyStartS) {
        const info = l.containerId ? this.#containers.get(l.containerId) : undefined;
        if (!info?.running) await this.#ensureRunning(l);
        const running = this.db.lease(id)!.containerId;
        if (running && !l.confirmed) await this.#confirm(l);
        else if (l.confirmed && now - l.lastClaimAt >= this.config.lease.claimIntervalS && now > Number(l.offer.start))
          await this.#claim(l, false);
      }
      return;
    }
    if (l.status === "ended") await this.#claim(l, true);
  }

  async #confirm(l: LeaseRow): Promise<void> {
    const ok = await this.#chainCall(`confirming lease ${l.id}`, () => this.chain.confirmStart(l.id)).catch((e) => {
      // A lease the tenant already terminated cannot be confirmed; the follower will end it.
      this.log.warn("confirmStart refused", { lease: l.id, error: e });
      return undefined;
    });
    if (ok) {
      this.db.update(l.id, { confirmed: true, lastClaimAt: this.now() });
      this.log.info("start confirmed on chain", { lease: l.id });
    }
  }

  /** Claims accrued payment; `final` settles the lease when nothing more is due. */
  async #claim(l: LeaseRow, final: boolean): Promise<void> {
    if (!l.confirmed) {
      // The database can lag the chain: a yard killed after its confirmStart was mined but before it wrote
      // `confirmed` would otherwise give up a slot it served. The chain decides.
      const rec = await this.#chainCall(`reading lease ${l.id}`, () => this.chain.lease(l.id));
      if (!rec) return;
      if (rec.flags & LEASE_FLAGS.confirmed) {
        this.db.update(l.id, { confirmed: true });
        this.log.info("start was confirmed on chain before the yard recorded it", { lease: l.id });
      } else {
        // Never confirmed (never ran, or terminated before): nothing is owed to the yard.
        if (final) this.db.update(l.id, { status: "settled" });
        return;
      }
    }
    try {
      const amount = await this.#chainCall(`claiming lease ${l.id}`, () => this.chain.claim(l.id));
      if (amount === undefined) return;
      this.metrics.inc("icon_yard_earnings_claimed_units_total", "Token units claimed from leases", {}, amount);
      this.log.info("claimed", { lease: l.id, amount: this.chain.format(amount), final });
      this.db.update(l.id, { lastClaimAt: this.now() });
    } catch (e) {
      const code = (e as IconError).code;
      if (code !== "LeaseNothingToClaim" && code !== "LeaseInvalidState") throw e;
      this.db.update(l.id, { lastClaimAt: this.now() });
    }
    if (final) {
      const rec = await this.#chainCall(`reading lease ${l.id}`, () => this.chain.lease(l.id));
      if (
        rec &&
        (rec.state === "Settled" || rec.state === "Cancelled" || rec.claimedUntil >= (rec.stoppedAt || rec.end))
      )
        this.db.update(l.id, { status: "settled" });
    }
  }

  async #collectImages(now: number): Promise<void> {
    const inUse = new Set(
      this.db
        .leases(ACTIVE)
        .filter((l) => l.spec)
        .map((l) => `sha256:${l.spec!.imageDigest.slice(2)}`),
    );
    for (const img of this.db.images()) {
      if (inUse.has(img.id) || img.lastUsed + this.config.lease.imageGraceS > now) continue;
      // Only while the yard's own name is all it carries: any other name was given by someone else, who keeps it.
      await this.runtime
        .removeImage(img.id, { ifUntagged: true })
        .catch((e) => this.log.warn("could not remove an image", { error: e }));
      this.db.forgetImage(img.id);
      this.log.info("image removed after its grace period", { image: img.id.slice(0, 19) });
    }
  }

  // ------------------------------------------------------------------ chain

  /** Runs a chain call unless the chain is known down (returns undefined then, or when it turns out down). */
  async #chainCall<T>(what: string, fn: () => Promise<T>): Promise<T | undefined> {
    if (!this.#chainUp && Date.now() < this.#chainRetryAt) return undefined;
    try {
      const r = await fn();
      if (!this.#chainUp) this.log.info("chain reachable again", { after: what });
      this.#chainUp = true;
      this.#chainBackoffMs = 500;
      return r;
    } catch (e) {
      // Raw provider calls (blocks, logs) fail with the transport's error (ECONNREFUSED, …): classify them as
      // MarketClient classifies its own calls.
      if (TRANSIENT.has((e instanceof IconError ? e : toChainError(e, what)).code)) {
        this.#markChainDown(e);
        return undefined;
      }
      throw e;
    }
  }

  #markChainDown(e: unknown): void {
    if (this.#chainUp) this.log.warn("chain unreachable; enforcing known leases and retrying", { error: e });
    this.#chainUp = false;
    this.#chainRetryAt = Date.now() + this.#chainBackoffMs;
    this.#chainBackoffMs = Math.min(this.#chainBackoffMs * 2, 8_000);
  }

  async #refreshClock(): Promise<void> {
    const b = await this.#chainCall("reading the latest block", () => this.chain.provider.getBlock("latest"));
    if (b) this.#lastBlock = { ts: b.timestamp, seenAt: Date.now() / 1000 };
  }

  /** Follows the market's events up to head − confirmations, from the stored cursor. */
  async #follow(): Promise<void> {
    if (this.#following || this.#stopped) return;
    this.#following = true;
    try {
      const head = await this.#chainCall("reading the block number", () => this.chain.provider.getBlockNumber());
      if (head === undefined) return;
      await this.#refreshClock();
      const to = head - this.config.chain.confirmations;
      let from = Number(this.db.getMeta("cursor") ?? "0") + 1;
      const market = this.chain.market;
      while (from <= to && !this.#stopped) {
        const upto = Math.min(to, from + 1999);
        const logs = await this.#chainCall("reading market events", () =>
          this.chain.provider.getLogs({ address: this.chain.deployment.market, fromBlock: from, toBlock: upto }),
        );
        if (logs === undefined) return;
        for (const log of logs) {
          const ev = market.interface.parseLog(log);
          if (!ev) continue;
          if (ev.name === "LeaseOpened" && String(ev.args[1]).toLowerCase() === this.operator.toLowerCase()) {
            this.#onOpened(BigInt(ev.args[0] as bigint), ev.args[7] as string);
          } else if (ev.name === "LeaseTerminated" || ev.name === "LeaseCancelled") {
            const id = BigInt(ev.args[0] as bigint);
            const l = this.db.lease(id);
            if (l && ACTIVE.includes(l.status) && l.stoppedAt === undefined) {
              const at = ev.name === "LeaseTerminated" ? Number(ev.args[1]) : this.now();
              this.db.update(id, {
                stoppedAt: at,
                note: ev.name === "LeaseTerminated" ? "terminated on chain" : "cancelled on chain",
              });
              this.ledger.endAt(`lease:${id}`, at);
              this.log.info("lease stopped on chain", { lease: id, event: ev.name });
            }
          }
        }
        this.db.setMeta("cursor", String(upto));
        from = upto + 1;
      }
      // Opening transactions that never made it: their offers have expired, so they never can.
      for (const p of this.db.pendingOpens()) {
        if (Number(p.offer.deadline) + 60 < this.now()) {
          this.db.removePendingOpen(p.offerHash);
          this.ledger.release(`pending:${p.offerHash}`);
        }
      }
    } catch (e) {
      this.log.warn("following chain events failed; will retry", { error: e });
    } finally {
      this.#following = false;
    }
  }

  #onOpened(id: bigint, offerHash: string): void {
    if (this.db.lease(id)) return;
    const p = this.db.pendingOpen(offerHash);
    if (p) {
      this.#adopt(id, p.offer, offerHash, p.renews);
      this.log.info("adopted a lease whose opening was in flight", { lease: id });
    } else {
      this.log.warn("a lease was opened with an offer this yard does not remember; it cannot be deployed", {
        lease: id,
      });
    }
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
    this.#track(loop());
  }

  // ------------------------------------------------------------------ helpers

  /** Keeps `p` in the set stop() waits for. */
  #track(p: Promise<void>): void {
    this.#running.add(p);
    void p.finally(() => this.#running.delete(p));
  }

  /** Runs `fn` after every earlier action on the same lease has finished. */
  #withLease<T>(id: bigint, fn: () => Promise<T>): Promise<T> {
    const k = id.toString();
    const prev = this.#locks.get(k) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => {});
    this.#locks.set(k, tail);
    void tail.then(() => {
      if (this.#locks.get(k) === tail) this.#locks.delete(k);
    });
    return run;
  }

  #onProtocolError(e: unknown): void {
    this.log.debug("negotiation stream failed", { error: e });
  }

  // ------------------------------------------------------------------ ops

  #declareMetrics(): void {
    const m = this.metrics;
    m.declare("icon_yard_quotes_total", "Quotes signed", "counter");
    m.declare("icon_yard_rejects_total", "Refused RFQs, counters and accepts by reason", "counter");
    m.declare("icon_yard_leases_opened_total", "Leases opened", "counter");
    m.declare("icon_yard_earnings_claimed_units_total", "Token units claimed from leases", "counter");
    m.declare("icon_yard_reconcile_actions_total", "Actions taken to make Docker match the leases", "counter");
    m.declare("icon_yard_container_exits_total", "Containers that exited on their own, by reason", "counter");
    // (declared as counters; the collector sets them from the ingress's own counts at each scrape)
    m.declare("icon_yard_ingress_refused_total", INGRESS_REFUSED, "counter");
    m.declare("icon_yard_ingress_idle_closed_total", INGRESS_IDLE, "counter");
    m.declare("icon_yard_udp_sessions_evicted_total", UDP_EVICTED, "counter");
    m.declare("icon_yard_udp_datagrams_dropped_total", UDP_DROPPED, "counter");
    m.declare(
      "icon_yard_tunnels_untrusted_client_total",
      "Tunnels from peers that are no active yard: counted under the peer's own address, not the header's client",
      "counter",
    );
    m.collect(() => {
      const now = this.now();
      const used = this.ledger.usedAt(now, now);
      const cap = this.ledger.capacity;
      const leases = this.db.leases(ACTIVE);
      m.set("icon_yard_leases_active", "Leases opened and not yet ended", leases.length);
      m.set(
        "icon_yard_containers_running",
        "Lease containers running",
        [...this.#containers.values()].filter((c) => c.running).length,
      );
      m.set("icon_yard_capacity_cpu_millis", "CPU capacity in mCPU", used.cpuMillis, { state: "used" });
      m.set("icon_yard_capacity_cpu_millis", "CPU capacity in mCPU", cap.cpuMillis - used.cpuMillis, { state: "free" });
      m.set("icon_yard_capacity_memory_mib", "Memory capacity in MiB", used.memoryMiB, { state: "used" });
      m.set("icon_yard_capacity_memory_mib", "Memory capacity in MiB", cap.memoryMiB - used.memoryMiB, {
        state: "free",
      });
      m.set("icon_yard_quotes_per_second", "Quotes signed per second over the last minute", this.#quotesPerSecond());
      // At most 32 subnets per lease (the busiest), so that a lease with many clients cannot flood /metrics. Set
      // anew at every scrape: a lease that ended or a subnet that fell out of the 32 leaves no frozen series.
      for (const n of [
        "icon_yard_flow_redirects_per_second",
        "icon_yard_flow_requests_per_second",
        "icon_yard_flow_latency_ms",
      ])
        m.clear(n);
      for (const { leaseId, flows, redirects } of this.overlay.allFlows()) {
        for (const r of redirects.slice(0, 32))
          m.set(
            "icon_yard_flow_redirects_per_second",
            "Smoothed HTTP redirects (307, not served here) per lease and client subnet",
            Number(r.rate.toFixed(3)),
            { lease: leaseId, subnet: r.subnet },
          );
        for (const f of flows.slice(0, 32)) {
          const labels = { lease: leaseId, subnet: f.subnet };
          m.set(
            "icon_yard_flow_requests_per_second",
            "Smoothed request rate per lease and client subnet (λ)",
            Number(f.rate.toFixed(3)),
            labels,
          );
          if (Number.isFinite(f.latencyMs))
            m.set(
              "icon_yard_flow_latency_ms",
              "Smoothed request latency per lease and client subnet",
              Number(f.latencyMs.toFixed(3)),
              labels,
            );
        }
      }
      m.set("icon_yard_ingress_refused_total", INGRESS_REFUSED, this.ingress.refused, { cap: "client" });
      m.set("icon_yard_ingress_refused_total", INGRESS_REFUSED, this.ingress.dropped, { cap: "port" });
      m.set("icon_yard_ingress_idle_closed_total", INGRESS_IDLE, this.ingress.idleClosed);
      const udp = this.udp.stats();
      m.set("icon_yard_udp_sessions", "UDP ingress sessions open (one socket or tunnel stream each)", udp.sessions);
      for (const cap of ["client", "port", "total"] as const)
        m.set("icon_yard_udp_sessions_evicted_total", UDP_EVICTED, udp.evicted[cap], { cap });
      m.set("icon_yard_udp_datagrams_dropped_total", UDP_DROPPED, udp.dropped);
      const caught = lastResortStats();
      const lastResort = "Errors no handler took, caught by the process's last-resort handler and survived";
      m.set("icon_yard_last_resort_caught", lastResort, caught.peerIo, { kind: "peer_io" });
      m.set("icon_yard_last_resort_caught", lastResort, caught.rejections, { kind: "unhandled_rejection" });
      m.set("icon_yard_chain_up", "1 when the chain RPC answers", this.#chainUp ? 1 : 0);
      m.set("icon_yard_docker_up", "1 when the Docker engine answers", this.#dockerUp ? 1 : 0);
      m.set(
        "icon_yard_chain_cursor_block",
        "Last block whose events were processed",
        Number(this.db.getMeta("cursor") ?? 0),
      );
    });
  }

  #quotesPerSecond(): number {
    const cutoff = Date.now() - 60_000;
    this.#quoteTimes = this.#quoteTimes.filter((t) => t >= cutoff);
    return this.#quoteTimes.length / 60;
  }

  status(): YardStatus {
    const now = this.now();
    const used = this.ledger.usedAt(now, now);
    const all = this.db.leases();
    const count = (s: string[]): number => all.filter((l) => s.includes(l.status)).length;
    return {
      yardId: this.config.yardId,
      operator: this.operator,
      peerId: this.node.peerId.toString(),
      multiaddrs: this.node.getMultiaddrs().map(String),
      chain: {
        up: this.#chainUp,
        chainId: this.chain.deployment.chainId,
        cursor: Number(this.db.getMeta("cursor") ?? 0),
        rpc: redactUrl(this.config.chain.rpcUrl),
      },
      docker: { up: this.#dockerUp },
      token: this.chain.tokenInfo,
      capacity: {
        cpuMillis: this.config.capacity.cpuMillis,
        memoryMiB: this.config.capacity.memoryMiB,
        usedCpuMillis: used.cpuMillis,
        usedMemoryMiB: used.memoryMiB,
        holds: used.holds,
      },
      leases: all
        .filter((l) => l.status !== "settled")
        .map((l) => {
          const info = l.containerId ? this.#containers.get(l.containerId) : undefined;
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
            endpoint: port ? `${this.config.publicHost}:${port}` : undefined,
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
      quotesPerSecond: this.#quotesPerSecond(),
      earningsClaimed: String(this.metrics.get("icon_yard_earnings_claimed_units_total") ?? 0),
      zone: this.zone,
      http: this.httpUrl,
    };
  }

  async #startHttp(): Promise<void> {
    const server = http.createServer((req, res) => {
      const url = (req.url ?? "/").split("?")[0];
      if (req.method !== "GET") {
        res.writeHead(405, { allow: "GET" }).end();
        return;
      }
      if (url === "/metrics") {
        res.writeHead(200, { "content-type": "text/plain; version=0.0.4" }).end(this.metrics.render());
      } else if (url === "/status") {
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(this.status()));
      } else if (url === "/healthz") {
        const ok = this.#dockerUp;
        res.writeHead(ok ? 200 : 503, { "content-type": "text/plain" }).end(ok ? "ok\n" : "docker unreachable\n");
      } else {
        res.writeHead(404, { "content-type": "text/plain" }).end("GET /status, /metrics or /healthz\n");
      }
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", (e) =>
        reject(
          new IconError(
            "HTTP_LISTEN",
            `cannot listen on ${this.config.http.host}:${this.config.http.port} for /status and /metrics (${(e as Error).message}); change http.port in ${this.config.file}`,
          ),
        ),
      );
      server.listen(this.config.http.port, this.config.http.host, () => resolve());
    });
    const a = server.address() as { port: number };
    this.httpUrl = `http://${this.config.http.host}:${a.port}`;
    this.#httpServer = server;
  }
}

/** A /24 of 10.233.0.0/16 chosen by the yard id, so yards sharing a host rarely collide (set
 * overlay.serviceCidr to choose). */
function defaultServiceCidr(yardId: string): string {
  let h = 0;
  for (const ch of yardId) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return `10.233.${h % 256}.0/24`;
}

function redactUrl(u: string): string {
  try {
    const url = new URL(u);
    return `${url.protocol}//${url.host}`;
  } catch {
    return "(invalid url)";
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
