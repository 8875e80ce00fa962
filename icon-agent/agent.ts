/**
 * The ICON daemon: one ICON (one key, one budget account, one placement at a time) that watches its clients,
 * decides with eq. 1 (decision.ts) and carries out what it decides, make-before-break.
 *
 * Every `periodMs`:
 *   1. place: no live lease (first start, or the lease ended while the agent was down) → bid for one;
 *      renew: the lease ends within `renewBeforeS` → a renewal RFQ at the same yard (the container carries over;
 *      a balance too small for it asks the parent for money — foundering);
 *   2. observe: λ_i and the service latency per client subnet from the yard's telemetry (/icon/telemetry/1.0.0);
 *      network latency l_ij = 2 × one-way delay from the ALTO cost map for every location, here included, so
 *      the ICON compares like with like (the yard only sees the server side of a request);
 *   3. decide: the Controller (EWMA, hysteresis, cool-down) over stay / migrate / replicate / terminate;
 *   4. act:
 *      - replicate: a child account under this one (fresh key), a share of the spendable balance in proportion
 *        to the request rate the replica takes over, gas for its key, a bid in its name, deploy, a child agent
 *        started on the new placement, and HTTP redirects at this ICON's yard sending those subnets there;
 *      - migrate: bid, deploy, stub at the old yard (TCP forward / HTTP redirect for `graceS`), terminate the old
 *        lease; children's redirects move along;
 *      - terminate (not the origin): children told to re-parent to this ICON's parent, stub pointing at the
 *        parent, lease ended, the account closed — its whole balance goes back to the parent (and what its
 *        replicas return into the closed account later, the parent pulls up).
 *   5. the tree (tree.ts): this ICON's aggregate goes up, policy comes down, redirects at its yard follow where
 *      its children are.
 *
 * Crash safety: everything needed to resume is in `stateDir` (agent.json, the key with mode 0600, the libp2p key)
 * and on chain. On start the placement is checked against the lease's state on chain; an active lease of the
 * account that the state does not know (a crash between opening and saving) is terminated for its refund.
 */
import { link, mkdir, readFile, readdir, rename, rm, writeFile } from "node:fs/promises";
import { randomUUID } from "node:crypto";
import path from "node:path";
import { multiaddr } from "@multiformats/multiaddr";
import {
  JsonRpcProvider,
  MaxUint256,
  Wallet,
  concat,
  formatEther,
  keccak256,
  toBeHex,
  toUtf8Bytes,
  type Signer,
  type TypedDataDomain,
} from "ethers";
import type { Libp2p } from "@libp2p/interface";
import {
  ConfigError,
  fromJson,
  toJson,
  IconError,
  MarketClient,
  namespaceProblem,
  createIconNode,
  createResolver,
  type DnsResolver,
  fetchAltoMap,
  loadOrCreatePeerKey,
  p2pDiscovers,
  p2pNodeOptions,
  readTelemetry,
  setRouting,
  signLeaseAccess,
  waitForReceipt,
  type AltoMap,
  type Deployment,
  type LeaseAccess,
  type LeaseRecord,
  type P2pDiscovery,
  type Policy,
  type Redirect,
} from "../protocol/index.ts";
import {
  Controller,
  knobsFromPolicy,
  replicateUtility,
  stillPays,
  utility,
  type Action,
  type Candidate,
  type Knobs,
  type Situation,
  type SubnetView,
} from "./decision.ts";
import { bid, discoverYards, listedPrice, type YardRef } from "./market.ts";
import { DomainLearner } from "./learn.ts";
import { TreeMember, type TreeEvent, type TreeSubnet } from "./tree.ts";

/** What the ICON runs. */
export interface ServiceSpec {
  imageRef: string;
  imageDigest: string;
  command: string[];
  env: string[];
  ports: number[];
  httpPorts: number[];
  /**
   * The service key `app.r<root>.service.servicens`, in the namespace of the application's root account
   * (protocol/lease/namespace.ts); {@link deployApp} fills it in from the config's `app.service.servicens`.
   */
  service?: string;
  cpuMillis: number;
  memoryMiB: number;
  slotSeconds: number;
}

/** Shared by an ICON and the replicas it makes (written into each agent's state). */
export interface AgentEnv {
  rpcUrl: string;
  deployment: Deployment;
  dnsServers: string[];
  domains: string[];
  /**
   * Also look for yards near the clients: the PTR name of a client seen in each busy subnet gives its domains,
   * whose `_edge._tcp` SRV records are queried like `domains` (default on; the paper's "IEPs on the paths to the
   * end-clients", endpoint only: no traceroute).
   */
  learnDomains?: boolean;
  seeds: string[];
  /** Also every listing in the registry. */
  registry?: boolean;
  /**
   * libp2p discovery (mDNS, bootstrap peers, the DHT): the yards it finds are candidates too, once the registry
   * names their peer ids.
   */
  p2p?: P2pDiscovery;
  /** ALTO server base URL (network and cost map). */
  altoUrl?: string;
  spec: ServiceSpec;
  /** The origin's first placement: the yard whose region has this name (else the best by price). */
  initialRegion?: string;
  listenHost: string;
  periodMs: number;
  halfLifeS: number;
  coolDownS: number;
  confirmations: number;
  /** No decisions in the first seconds of a placement (its clients have not arrived yet). */
  warmupS: number;
  graceS: number;
  renewBeforeS: number;
  reportEveryMs: number;
  idleRate: number;
  /** See Knobs.minKeepShare. */
  minKeepShare: number;
  refLatencyMs: number;
  /** ETH (wei, decimal string) a parent hands a replica's key for its transactions. */
  gasWei: string;
}

export interface Placement {
  leaseId: bigint;
  /** Slot start of the current lease (unix s). */
  leaseStart: bigint;
  yard: YardRef;
  endpoint: string;
  pricePerSecond: bigint;
  end: bigint;
  since: number;
  /** The next slot, bought ahead at the same yard (same container and endpoint); it takes over at its start. */
  renewal?: { leaseId: bigint; leaseStart: bigint; end: bigint; pricePerSecond: bigint };
}

export interface AgentSeed {
  name: string;
  account: bigint;
  root: bigint;
  parent?: { account: bigint; addrs: string[]; placement?: Placement };
  placement?: Placement;
  /** Subnets the parent handed over. */
  subnets: string[];
  /** Replicas made, by account; `started` once its agent was launched. */
  children: Record<string, { name: string; subnets: string[]; started?: boolean }>;
  replicas: number;
  /** The tree's ancestors as last seen (parent first): where a restarted replica re-attaches if its parent is gone. */
  ancestors?: { account: bigint; addrs: string[] }[];
  /** A migration under way: the new placement, saved before the old yard is told (finished on restart). */
  moving?: Placement;
  /** Termination under way (each step is skipped when already done; finished on restart). */
  terminating?: boolean;
  done?: boolean;
}

export interface AgentEvent {
  icon: string;
  kind:
    | "placed"
    | "renewed"
    | "observe"
    | "decide"
    | "replicated"
    | "migrated"
    | "terminated"
    | "error"
    | "tree"
    | "bid"
    | "discovered";
  text: string;
  data?: Record<string, unknown>;
}

/** A subnet as the yard's telemetry shows it: the tree's figures and the address of its latest client. */
type Observed = TreeSubnet & { client?: string };

export interface AgentHooks {
  /** Starts the agent of a new replica from its state directory. */
  spawn(dir: string): Promise<void>;
  onEvent?(e: AgentEvent): void;
}

// ------------------------------------------------------------------ state (protocol/json.ts: bigints as "n:…")

const enc = (v: unknown): string => toJson(v, 2);
const dec = fromJson;

async function writeAtomic(file: string, text: string, mode = 0o644): Promise<void> {
  // A name of its own per write: two writers of one file must not share (and rename away) one temporary file.
  const tmp = `${file}.${process.pid}.${randomUUID()}.tmp`;
  await writeFile(tmp, text, { mode });
  await rename(tmp, file);
}

/** Writes a new agent's state directory (key with mode 0600). */
export async function writeAgentState(dir: string, env: AgentEnv, seed: AgentSeed, privateKey: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeAtomic(path.join(dir, "key"), `${privateKey}\n`, 0o600);
  await writeAtomic(path.join(dir, "agent.json"), enc({ env, seed }));
}

export async function readAgentState(dir: string): Promise<{ env: AgentEnv; seed: AgentSeed; key: string }> {
  const { env, seed } = dec<{ env: AgentEnv; seed: AgentSeed }>(await readFile(path.join(dir, "agent.json"), "utf8"));
  const key = (await readFile(path.join(dir, "key"), "utf8")).trim();
  return { env, seed, key };
}

/** Lock files this process holds (a lock naming this process's pid that is not here is a dead predecessor's). */
const heldLocks = new Set<string>();

/**
 * Takes `<dir>/agent.lock` for this process — one agent per state directory, or two would bid, move and pay twice
 * — and returns its release. The lock appears with its pid already in it (written aside, then hard-linked into
 * place, which fails if a lock exists). A lock whose process is gone (a crash, `kill -9`; or this very pid, reused
 * by a restarted container, but not held here) is taken over; one whose process lives is refused with IconError
 * AGENT_RUNNING.
 */
export async function lockStateDir(dir: string): Promise<() => Promise<void>> {
  const file = path.resolve(dir, "agent.lock");
  const readPid = async (f: string) => Number((await readFile(f, "utf8").catch(() => "")).trim());
  for (let attempt = 0; attempt < 5; attempt++) {
    const mine = `${file}.${process.pid}.${randomUUID()}`;
    await writeFile(mine, `${process.pid}\n`, { mode: 0o600 });
    try {
      await link(mine, file);
      heldLocks.add(file);
      let released = false;
      return async () => {
        if (released) return;
        released = true;
        heldLocks.delete(file);
        if ((await readPid(file)) === process.pid) await rm(file, { force: true });
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    } finally {
      await rm(mine, { force: true });
    }
    const pid = await readPid(file);
    const live = Number.isInteger(pid) && pid > 0 && (pid === process.pid ? heldLocks.has(file) : processAlive(pid));
    if (live)
      throw new IconError(
        "AGENT_RUNNING",
        `another agent (pid ${pid}) runs the ICON in ${dir}: stop it first (if pid ${pid} is no ICON agent, ` +
          `remove ${file})`,
        { details: { pid, lock: file } },
      );
    // Its process is gone: move it aside and check that what moved is that dead lock (another agent may have
    // taken over in between); if not, put it back.
    const grave = `${file}.stale.${randomUUID()}`;
    try {
      await rename(file, grave);
    } catch {
      continue; // someone else moved it first
    }
    if ((await readPid(grave)) !== pid) await link(grave, file).catch(() => {});
    await rm(grave, { force: true });
  }
  throw new IconError("AGENT_RUNNING", `could not take ${file}: other agents keep taking it`);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM"; // alive, someone else's
  }
}

/** Whether a live agent holds the lock of the state directory `dir`. */
export async function stateDirLocked(dir: string): Promise<boolean> {
  const file = path.resolve(dir, "agent.lock");
  const pid = Number((await readFile(file, "utf8").catch(() => "")).trim());
  if (!Number.isInteger(pid) || pid <= 0) return false;
  return pid === process.pid ? heldLocks.has(file) : processAlive(pid);
}

/** The status files of the ICON in `dir` and of the replicas it made (children/<account>/), parents first. */
export async function readAgentStatus(dir: string): Promise<AgentStatus[]> {
  const out: AgentStatus[] = [];
  const s = await readFile(path.join(dir, "status.json"), "utf8").then(dec<AgentStatus>, () => undefined);
  if (s) out.push(s);
  const kids = await readdir(path.join(dir, "children")).catch(() => [] as string[]);
  for (const k of kids.sort()) out.push(...(await readAgentStatus(path.join(dir, "children", k))));
  return out;
}

/** The agent's status as written to `<stateDir>/status.json` every period. */
export interface AgentStatus {
  name: string;
  account: bigint;
  balance: bigint;
  placement?: Placement;
  subnets: SubnetView[];
  aggregate: TreeSubnet[];
  children: { account: bigint; endpoint?: string; location?: string }[];
  last?: string;
  atMs: number;
}

export class Agent {
  readonly dir: string;
  readonly env: AgentEnv;
  readonly seed: AgentSeed;
  readonly wallet: Wallet;
  readonly client: MarketClient;
  readonly node: Libp2p;
  readonly tree: TreeMember;
  readonly #hooks: AgentHooks;
  readonly #rpc: JsonRpcProvider;
  readonly #controller: Controller;
  #yards: YardRef[] = [];
  #yardsAt = 0;
  /** Domains learned from clients (bounded, expiring). */
  #learner: DomainLearner | undefined;
  #discovering: Promise<void> | undefined;
  #resolver: DnsResolver | undefined;
  #learning: Promise<void> | undefined;
  #release: () => Promise<void> = async () => {};
  #serial: Promise<void> = Promise.resolve();
  #alto: AltoMap | undefined;
  #altoAt = 0;
  #access: LeaseAccess | undefined;
  #policy: { policy: Policy; at: number } | undefined;
  #own: SubnetView[] = [];
  #flows: TreeSubnet[] = [];
  #redirectsKey = "";
  /** Subnets redirected to children at this ICON's yard. */
  #delegated = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;
  #balance = 0n;
  #last = "";
  #finish: () => void = () => {};
  #ticks = 0;
  #treeUp = false;
  #askedAt = 0;
  /** Resolves when the ICON has terminated itself (its lease ended, its account closed). */
  readonly finished: Promise<void> = new Promise((r) => (this.#finish = r));

  private constructor(
    dir: string,
    env: AgentEnv,
    seed: AgentSeed,
    wallet: Wallet,
    client: MarketClient,
    node: Libp2p,
    rpc: JsonRpcProvider,
    hooks: AgentHooks,
  ) {
    this.dir = dir;
    this.env = env;
    this.seed = seed;
    this.wallet = wallet;
    this.client = client;
    this.node = node;
    this.#rpc = rpc;
    this.#hooks = hooks;
    this.#controller = new Controller({
      halfLifeS: env.halfLifeS,
      coolDownS: env.coolDownS,
      confirmations: env.confirmations,
    });
    this.tree = new TreeMember({
      node,
      signer: wallet,
      account: seed.account,
      client,
      parent: seed.parent ? { account: seed.parent.account, addrs: seed.parent.addrs } : undefined,
      ancestors: seed.ancestors,
      reportEveryMs: env.reportEveryMs,
      local: () => this.#flows,
      whereAmI: () => ({
        endpoint: this.seed.placement?.endpoint,
        location: this.seed.placement?.yard.peerId,
        leaseId: this.seed.placement?.leaseId,
      }),
      // What this ICON keeps when a child asks for money: its own next slot; everything while it is not placed
      // (it needs its balance to place itself again).
      fundingReserve: () => (this.seed.placement ? this.#ownSlot() : MaxUint256),
      // What a child keeps when a sibling asks and this ICON lacks: the child's own next slot at its current price.
      childKeeps: async (child) => {
        let keep: bigint | undefined;
        for (const id of await this.client.leasesOf(child.id)) {
          const l = await this.client.lease(id);
          if (!live(l.state)) continue;
          const slot = l.pricePerSecond * (l.end - l.start);
          if (keep === undefined || slot > keep) keep = slot;
        }
        return keep; // no live lease: it is being placed; leave it alone
      },
      onEvent: (e) =>
        this.#emit(
          "tree",
          describeTreeEvent(e, (x) => this.client.format(x)),
        ),
    });
  }

  /** What one more slot at the current placement costs (0 when not placed). */
  #ownSlot(): bigint {
    const p = this.seed.placement;
    return p ? p.pricePerSecond * BigInt(this.env.spec.slotSeconds) : 0n;
  }

  /** Opens the agent in `dir` (written by {@link writeAgentState}) and resumes from it and the chain. */
  static async open(dir: string, hooks: AgentHooks): Promise<Agent> {
    const { env, seed, key } = await readAgentState(dir);
    // Yards refuse a Deploy outside the application's namespace: say so before anything is bid for.
    const wrongNamespace =
      env.spec.service && seed.root > 0n ? namespaceProblem(env.spec.service, seed.root) : undefined;
    if (wrongNamespace)
      throw new ConfigError(
        "BAD_SERVICE_NAME",
        `${wrongNamespace}; fix spec.service in ${path.join(dir, "agent.json")}`,
      );
    const release = await lockStateDir(dir);
    try {
      // Leftovers of writes and lock attempts that a crash interrupted (their process is gone).
      for (const f of await readdir(dir)) {
        const pid = Number(/\.(\d+)\.[0-9a-f-]{36}(\.tmp)?$/.exec(f)?.[1] ?? 0);
        if ((pid > 0 && pid !== process.pid && !processAlive(pid)) || f.startsWith("agent.lock.stale."))
          await rm(path.join(dir, f), { force: true });
      }
      // No request cache: after a failed transaction the nonce is read again, and must be read fresh.
      const rpc = new JsonRpcProvider(env.rpcUrl, undefined, {
        staticNetwork: true,
        pollingInterval: 200,
        cacheTimeout: -1,
      });
      const wallet = new Wallet(key, rpc);
      const client = await MarketClient.connect({ deployment: env.deployment, provider: rpc, signer: wallet });
      const peerKey = await loadOrCreatePeerKey(path.join(dir, "peer.key"));
      const port = await readFile(path.join(dir, "port"), "utf8").then(Number, () => 0);
      const node = await createIconNode({
        privateKey: peerKey,
        listen: [`/ip4/${env.listenHost}/tcp/${port}`],
        ...p2pNodeOptions(env.p2p),
      });
      const bound = Number(/\/tcp\/(\d+)/.exec(node.getMultiaddrs()[0]?.toString() ?? "")?.[1] ?? 0);
      if (bound && bound !== port) await writeFile(path.join(dir, "port"), String(bound));
      const agent = new Agent(dir, env, seed, wallet, client, node, rpc, hooks);
      agent.#release = release;
      return agent;
    } catch (e) {
      await release();
      throw e;
    }
  }

  get name(): string {
    return this.seed.name;
  }

  get addrs(): string[] {
    return this.node.getMultiaddrs().map(String);
  }

  async start(): Promise<void> {
    if (this.seed.done) {
      this.#finish();
      return;
    }
    await this.#recover();
    if (this.seed.done) {
      this.#finish();
      return;
    }
    await this.#startTree();
    this.#schedule(0);
  }

  /** Joins the tree; a parent and ancestors that cannot be reached now are tried again every 10 periods. */
  async #startTree(): Promise<void> {
    try {
      await this.tree.start();
      this.#treeUp = true;
    } catch (e) {
      this.#emit("error", `joining the tree: ${(e as Error).message} (retrying)`);
    }
  }

  /** Stops the daemon; leases keep running (a restart from the same directory resumes them). */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    try {
      await this.#running?.catch(() => {});
      await this.#serial;
      await this.#learning;
      await this.#discovering?.catch(() => {});
      await this.tree.stop().catch(() => {});
      await this.node.stop();
      this.#rpc.destroy();
    } finally {
      await this.#release();
    }
  }

  /** Runs one period now (tests). */
  async tick(): Promise<void> {
    await this.#period();
  }

  /** One period, after any period already running: never two at once, whoever starts them. */
  #period(): Promise<void> {
    const run = this.#serial.then(() => this.#tick());
    this.#serial = run.catch(() => {});
    return run;
  }

  status(): AgentStatus {
    return {
      name: this.name,
      account: this.seed.account,
      balance: this.#balance,
      placement: this.seed.placement,
      subnets: this.#own,
      aggregate: this.tree.aggregate(),
      children: this.tree.children().map((c) => ({ account: c.account, endpoint: c.endpoint, location: c.location })),
      last: this.#last,
      atMs: Date.now(),
    };
  }

  #schedule(ms: number): void {
    if (this.#stopped || this.seed.done) return;
    this.#timer = setTimeout(() => {
      this.#running = this.#period()
        .catch((e: unknown) => this.#emit("error", (e as Error).message))
        .finally(() => this.#schedule(this.env.periodMs));
    }, ms);
  }

  #emit(kind: AgentEvent["kind"], text: string, data?: Record<string, unknown>): void {
    this.#hooks.onEvent?.({ icon: this.name, kind, text, data });
  }

  async #save(): Promise<void> {
    await writeAtomic(path.join(this.dir, "agent.json"), enc({ env: this.env, seed: this.seed }));
  }

  // ------------------------------------------------------------------ recovery

  async #recover(): Promise<void> {
    const me = await this.client.account(this.seed.account);
    if (this.seed.terminating || me.closed) {
      await this.#finishTermination();
      return;
    }
    const p = this.seed.placement;
    if (this.seed.moving) await this.#finishMove();
    else if (p) {
      const l = await this.client.lease(p.leaseId);
      if (!live(l.state)) {
        // A renewal opened just before a crash carries the container on: adopt it; otherwise place again.
        const next = await this.#successorOf(p);
        if (next) {
          this.seed.placement = {
            ...p,
            leaseId: next.id,
            leaseStart: next.start,
            end: next.end,
            pricePerSecond: next.pricePerSecond,
          };
          this.#emit("renewed", `lease ${next.id} renews ${p.leaseId}: adopted after the restart`);
        } else {
          this.#emit("placed", `lease ${p.leaseId} is ${l.state} on chain: placing again`);
          this.seed.placement = undefined;
        }
        await this.#save();
      }
    }
    await this.#sweep();
  }

  /** A live lease at the placement's yard that starts where the placement ends (its renewal). */
  async #successorOf(p: Placement): Promise<(LeaseRecord & { id: bigint }) | undefined> {
    for (const id of await this.client.leasesOf(this.seed.account)) {
      const l = await this.client.lease(id);
      if (live(l.state) && l.provider.toLowerCase() === p.yard.operator.toLowerCase() && l.start === p.end)
        return { ...l, id };
    }
    return undefined;
  }

  /**
   * Leaves nothing behind that no agent runs: leases of this account the state does not know (an opening whose
   * answer was lost, a crash between opening and saving) are terminated — except the placement's own renewal
   * chain at its yard; leases whose start the yard missed are cancelled (deposit and penalty back); replica
   * accounts whose agent never started are unwound with their derived key; money that landed in a closed replica
   * account (a late refund) is pulled back up.
   */
  async #sweep(): Promise<void> {
    const p = this.seed.placement;
    for (const id of await this.client.leasesOf(this.seed.account)) {
      if (id === p?.leaseId || id === p?.renewal?.leaseId || id === this.seed.moving?.leaseId) continue;
      const l = await this.client.lease(id);
      if (l.state === "StartMissed") {
        const back = await this.client.cancelMissedStart(id);
        this.#emit("error", `lease ${id}: the yard missed its start; cancelled, ${this.client.format(back)} back`);
        continue;
      }
      if (!live(l.state)) continue;
      const sameYard = p && l.provider.toLowerCase() === p.yard.operator.toLowerCase();
      if (sameYard && (l.end === p.leaseStart || l.start === p.end)) continue; // renewal chain: one container
      const refund = await this.client.terminate(id);
      this.#emit(
        "error",
        `lease ${id} was open but unknown to the saved state: terminated, refund ${this.client.format(refund)}`,
      );
    }
    for (const a of await this.client.appAccounts(this.seed.root)) {
      if (a.parent !== this.seed.account) continue;
      if (a.closed) {
        if (a.balance > 0n) {
          await this.client.returnToParent(a.id, a.balance);
          this.#emit("tree", `pulled ${this.client.format(a.balance)} back from closed replica account ${a.id}`);
        }
        continue;
      }
      if (this.seed.children[String(a.id)]?.started) continue;
      if (await this.#adoptChild(a.id)) continue;
      await this.#unwindChild(a.id, a.controller);
    }
  }

  /**
   * A replication that got as far as the replica's state directory (its key, account and live lease written) but
   * not as far as recording that its agent started: the replica is adopted and its agent started, not unwound. An
   * agent already running there (a detached `icon agent run` outlives its parent) keeps its lock; that counts as
   * started. Returns false when there is nothing to adopt.
   */
  async #adoptChild(account: bigint): Promise<boolean> {
    const dir = path.join(this.dir, "children", String(account));
    const st = await readAgentState(dir).catch(() => undefined);
    if (!st || st.seed.account !== account || st.seed.done) return false;
    // Its agent runs (between placements, perhaps): it is started, whatever its lease says.
    const running = await stateDirLocked(dir);
    if (!running) {
      if (!st.seed.placement || !live((await this.client.lease(st.seed.placement.leaseId)).state)) return false;
    }
    this.seed.children[String(account)] = { name: st.seed.name, subnets: st.seed.subnets };
    await this.#save();
    try {
      if (!running) await this.#hooks.spawn(dir);
    } catch (e) {
      if ((e as IconError).code !== "AGENT_RUNNING") {
        this.#emit(
          "error",
          `replica ${st.seed.name} (account ${account}): starting its agent failed, retried later: ${(e as Error).message}`,
        );
        return true;
      }
    }
    this.seed.children[String(account)]!.started = true;
    await this.#save();
    this.#emit(
      "tree",
      `adopted replica ${st.seed.name} (account ${account}${st.seed.placement ? `, lease ${st.seed.placement.leaseId} at ${st.seed.placement.yard.name}` : ""}): its start had not been recorded`,
    );
    return true;
  }

  /** Undoes a replication that did not finish: the replica's leases ended (its key is derived), its account closed. */
  async #unwindChild(account: bigint, controller: string): Promise<void> {
    let key: Wallet | undefined;
    for (let n = 1; n <= this.seed.replicas + 2 && !key; n++) {
      const k = this.#childKey(n);
      if (k.address.toLowerCase() === controller.toLowerCase()) key = k;
    }
    const leases = await this.#liveLeases(account);
    if (leases.length > 0) {
      if (!key) {
        this.#emit("error", `replica account ${account} runs leases under a key this ICON cannot derive; left alone`);
        return;
      }
      const holder = await this.#clientFor(key);
      for (const id of leases) await holder.terminate(id);
    }
    const { balance } = await this.client.account(account);
    await this.client.closeAccount(account);
    const gasBack = key ? await sweepGas(key, this.wallet.address).catch(() => 0n) : 0n;
    delete this.seed.children[String(account)];
    await this.#save();
    this.#emit(
      "error",
      `replica account ${account} never got its agent: ${leases.length} lease(s) ended, account closed, ${this.client.format(balance)} back` +
        (gasBack > 0n ? `, ${formatEther(gasBack)} ETH of gas back` : ""),
    );
  }

  async #liveLeases(account: bigint): Promise<bigint[]> {
    const out: bigint[] = [];
    for (const id of await this.client.leasesOf(account)) if (live((await this.client.lease(id)).state)) out.push(id);
    return out;
  }

  // ------------------------------------------------------------------ one period

  async #tick(): Promise<void> {
    if (this.seed.done) return;
    if (this.seed.terminating) return this.#finishTermination();
    if (this.seed.moving) await this.#finishMove();
    this.#ticks++;
    if (!this.#treeUp && this.#ticks % 10 === 0) await this.#startTree();
    if (this.#ticks % 60 === 0) await this.#sweep();
    const nowS = Date.now() / 1000;
    // Discovery and the cost map may fail for a while: the last good ones serve meanwhile.
    await Promise.all([
      this.#refreshYards().catch((e: unknown) => this.#emit("error", `discovery: ${(e as Error).message}`)),
      this.#refreshAlto().catch((e: unknown) => this.#emit("error", `cost map: ${(e as Error).message}`)),
    ]);
    this.#balance = (await this.client.account(this.seed.account)).balance;
    const knobs = await this.#knobs();
    if (this.seed.placement) {
      try {
        await this.#renewIfDue();
      } catch (e) {
        this.#emit("error", `renewing lease ${this.seed.placement.leaseId}: ${(e as Error).message}`);
      }
      if (BigInt(Math.floor(nowS)) >= this.seed.placement.end) {
        this.#emit("placed", `lease ${this.seed.placement.leaseId} has ended: placing again`);
        this.seed.placement = undefined;
        await this.#save();
      }
    }
    if (!this.seed.placement) return this.#place(knobs);
    this.#balance = (await this.client.account(this.seed.account)).balance;
    const p = this.seed.placement;
    const here = this.#yards.find((y) => y.peerId === p.yard.peerId) ?? p.yard;
    let flows: Observed[];
    try {
      flows = await this.#telemetry(p);
    } catch (e) {
      this.#emit("error", `telemetry from ${p.yard.name}: ${(e as Error).message}`);
      return;
    }
    this.#own = flows.map((f) => ({
      subnet: f.subnet,
      rate: f.rate,
      latencyMs: this.#latencies(f.subnet, f.latencyMs, here),
    }));
    this.#flows = flows;
    // In the background: a slow or absent DNS server must not hold up the period.
    this.#learning ??= this.#learnDomains(flows, this.env.idleRate)
      .catch((e: unknown) => this.#emit("error", `learning domains from clients: ${(e as Error).message}`))
      .finally(() => (this.#learning = undefined));
    await this.#updateRedirects();
    await this.#followParent();
    const ancestors = this.tree.ancestors.map((a) => ({ account: a.account, addrs: a.addrs }));
    if (enc(ancestors) !== enc(this.seed.ancestors ?? [])) {
      this.seed.ancestors = ancestors;
      await this.#save();
    }
    await writeAtomic(path.join(this.dir, "status.json"), enc(this.status()));
    // Subnets this ICON serves itself: those its children took over are theirs to decide about.
    const own = this.#own.filter((s) => s.rate > 0 && !this.#delegated.has(s.subnet));
    if (nowS - p.since < this.env.warmupS) {
      this.#controller.observe(own, nowS); // no decision yet, but the smoothing starts with the placement
      return;
    }

    const parent = this.seed.parent?.placement;
    const situation = {
      here: { location: p.yard.peerId, pricePerSecond: p.pricePerSecond },
      parent: parent ? { location: parent.yard.peerId, pricePerSecond: parent.pricePerSecond } : undefined,
      candidates: this.#candidates(),
      subnets: own,
      balance: this.#balance,
      slotSeconds: this.env.spec.slotSeconds,
      pinned: !this.seed.parent,
    };
    const e = this.#controller.step(knobs, situation, nowS);
    const summary = this.#own
      .map((s) => `${s.subnet} ${s.rate.toFixed(1)}/s ${(s.latencyMs[p.yard.peerId] ?? NaN).toFixed(0)} ms`)
      .join(", ");
    this.#emit(
      "observe",
      `at ${p.yard.name}: ${summary || "no clients"}; U=${e.uNow.toFixed(3)} → ${e.action.kind}${e.fire ? "" : " (waiting)"}`,
      {
        uNow: e.uNow,
        action: e.action.kind,
      },
    );
    if (!e.fire) return;
    const reason = this.#yards.reduce((r, y) => r.replaceAll(y.peerId, y.name), e.reason);
    this.#last = `${e.action.kind}: ${reason}`;
    this.#emit("decide", `${this.#describe(e.action)} — ${reason}`, {
      uNow: e.uNow,
      uAfter: e.uAfter,
      improvement: e.improvement,
    });
    switch (e.action.kind) {
      // Carried out on the smoothed view the decision was made on; every quote is checked against it (stillPays).
      case "replicate":
        return this.#replicate(knobs, { ...situation, subnets: e.smoothed }, e.action);
      case "migrate":
        return this.#migrate(knobs, { ...situation, subnets: e.smoothed }, e.action);
      case "terminate":
        // Replicas of this ICON re-parent to its parent (tree.leave()); their accounts stay below this closed one on
        // chain, and whatever they return into it later the parent pulls up (#sweep: closed replica accounts).
        return this.#terminate();
      case "stay":
        return;
    }
  }

  /** Keeps the parent's placement as its acks tell it (it may have migrated since this ICON was made). */
  async #followParent(): Promise<void> {
    const pp = this.tree.parentPlace;
    const known = this.seed.parent;
    if (!known || !pp || !pp.endpoint || pp.instanceId === 0n) return;
    if (known.placement?.leaseId === pp.instanceId && known.placement.endpoint === pp.endpoint) return;
    const yard = this.#yards.find((y) => y.peerId === pp.location);
    if (!yard) return;
    const at = Date.now() / 1000;
    known.placement = {
      leaseId: pp.instanceId,
      leaseStart: 0n,
      yard,
      endpoint: pp.endpoint,
      pricePerSecond: listedPrice(yard, this.env.spec),
      end: 0n,
      since: at,
    };
    await this.#save();
    this.#emit("tree", `the parent now serves at ${yard.name} (${pp.endpoint}, lease ${pp.instanceId})`);
  }

  #describe(a: Action): string {
    const name = (c: Candidate): string => this.#yards.find((y) => y.peerId === c.location)?.name ?? c.location;
    switch (a.kind) {
      case "replicate":
        return `replicate to ${name(a.to)} for ${a.subnets.join(", ")}`;
      case "migrate":
        return `migrate to ${name(a.to)}`;
      default:
        return a.kind;
    }
  }

  async #knobs(): Promise<Knobs> {
    const fromTree = this.tree.policy();
    let policy: Policy;
    if (fromTree) policy = fromTree;
    else {
      if (!this.#policy || Date.now() - this.#policy.at > 5000)
        this.#policy = { policy: (await this.client.app(this.seed.root)).policy, at: Date.now() };
      policy = this.#policy.policy;
    }
    return {
      ...knobsFromPolicy(policy, this.env.refLatencyMs),
      idleRate: this.env.idleRate,
      minKeepShare: this.env.minKeepShare,
    };
  }

  /**
   * Discovery every 30 s (sooner when a domain was learned). With candidates known it runs in the background, so a
   * slow DNS server or yard never holds up the period (renewals above all); with none known the period waits.
   */
  async #refreshYards(): Promise<void> {
    if (this.#yards.length > 0 && Date.now() - this.#yardsAt < 30_000) return;
    const run = (this.#discovering ??= discoverYards({
      node: this.node,
      client: this.client,
      dns: this.#dns(),
      domains: this.env.domains,
      learnedDomains: this.#learner?.domains() ?? [],
      seeds: this.env.seeds,
      registry: this.env.registry === true,
      peers: this.env.registry === true || p2pDiscovers(this.env.p2p),
      dht: this.env.p2p?.dht === true,
      onSkip: (what, why) => this.#emit("error", `candidate ${what} skipped: ${why}`),
    })
      .then((ys) => {
        this.#yards = ys;
        this.#yardsAt = Date.now();
      })
      .finally(() => (this.#discovering = undefined)));
    if (this.#yards.length === 0) await run;
    else run.catch((e: unknown) => this.#emit("error", `discovery: ${(e as Error).message}`));
  }

  #dns(): DnsResolver {
    return (this.#resolver ??= createResolver(this.env.dnsServers.length > 0 ? { servers: this.env.dnsServers } : {}));
  }

  /** Learns candidate domains from the clients' PTR names (learn.ts); a new one makes the next period discover. */
  async #learnDomains(flows: Observed[], idleRate: number): Promise<void> {
    if (this.env.learnDomains === false) return;
    this.#learner ??= new DomainLearner(this.#dns(), { own: this.env.domains });
    const fresh = await this.#learner.learn(flows, idleRate, (subnet, e) =>
      this.#emit("error", `looking up a client of ${subnet} (PTR): ${e.message}`),
    );
    for (const { domain, subnet } of fresh)
      this.#emit("discovered", `a client in ${subnet} points to ${domain}: looking for _edge._tcp.${domain}`, {
        subnet,
        domain,
      });
    if (fresh.length > 0) this.#yardsAt = 0;
  }

  async #refreshAlto(): Promise<void> {
    if (!this.env.altoUrl || (this.#alto && Date.now() - this.#altoAt < 30_000)) return;
    this.#alto = await fetchAltoMap(this.env.altoUrl);
    this.#altoAt = Date.now();
  }

  /** l_ij for every known location: network RTT (ALTO) + the service latency measured here. */
  #latencies(subnet: string, serviceMs: number, here: YardRef): Record<string, number> {
    const ip = subnet.split("/")[0]!;
    const svc = Number.isFinite(serviceMs) ? serviceMs : 0;
    const out: Record<string, number> = {};
    const locations = [...this.#yards];
    if (!locations.some((y) => y.peerId === here.peerId)) locations.push(here);
    const parent = this.seed.parent?.placement?.yard;
    if (parent && !locations.some((y) => y.peerId === parent.peerId)) locations.push(parent);
    for (const y of locations) {
      const ow = this.#alto?.cost(ip, y.host);
      if (ow !== undefined) out[y.peerId] = 2 * ow + svc;
    }
    if (out[here.peerId] === undefined && Number.isFinite(serviceMs)) out[here.peerId] = serviceMs;
    return out;
  }

  #candidates(): Candidate[] {
    const r = this.env.spec;
    return this.#yards.map((y) => ({ location: y.peerId, pricePerSecond: listedPrice(y, r) }));
  }

  async #accessFor(leaseId: bigint): Promise<LeaseAccess> {
    const a = this.#access;
    if (a && a.leaseId === leaseId && Number(a.expires) - Date.now() / 1000 > 60) return a;
    this.#access = await signLeaseAccess(
      this.wallet,
      this.client.domain() as TypedDataDomain,
      leaseId,
      this.node.peerId,
    );
    return this.#access;
  }

  async #telemetry(p: Placement): Promise<Observed[]> {
    const t = await readTelemetry(
      this.node,
      p.yard.addrs.map((a) => multiaddr(a)),
      { access: await this.#accessFor(p.leaseId) },
    );
    return t.flows
      .filter((f) => f.subnet !== "*")
      .map((f) => ({
        subnet: f.subnet,
        rate: f.rate,
        latencyMs: f.latencyMs,
        requests: f.requests,
        ...(f.client ? { client: f.client } : {}),
      }));
  }

  // ------------------------------------------------------------------ actions

  #rfq(): {
    cpuMillis: number;
    memoryMiB: number;
    slotSeconds: number;
    earliestStart: bigint;
    imageRef: string;
    imageDigest: string;
  } {
    const s = this.env.spec;
    return {
      cpuMillis: s.cpuMillis,
      memoryMiB: s.memoryMiB,
      slotSeconds: s.slotSeconds,
      earliestStart: 0n,
      imageRef: s.imageRef,
      imageDigest: s.imageDigest,
    };
  }

  #deploySpec() {
    const s = this.env.spec;
    return {
      imageRef: s.imageRef,
      imageDigest: s.imageDigest,
      command: s.command,
      env: s.env,
      ports: s.ports,
      httpPorts: s.httpPorts,
      ...(s.service ? { service: s.service } : {}),
    };
  }

  async #placeWith(
    o: {
      signer: Wallet;
      account: bigint;
      budget: bigint;
      yards: YardRef[];
      score: (y: YardRef, price: bigint) => number;
      accept?: (y: YardRef, price: bigint) => string | undefined;
    },
    knobs: Knobs,
  ): Promise<Placement> {
    const holder = o.signer.address === this.wallet.address ? this.client : await this.#clientFor(o.signer);
    const won = await bid({
      release: (id) => holder.terminate(id),
      node: this.node,
      signer: o.signer,
      client: this.client,
      account: o.account,
      yards: o.yards,
      rfq: this.#rfq(),
      spec: this.#deploySpec(),
      maxPrice: knobs.maxPricePerSecond,
      budget: o.budget,
      score: o.score,
      ...(o.accept ? { accept: o.accept } : {}),
      onQuote: (y, _price, note) => this.#emit("bid", `${y.name}: ${note}`),
    });
    return {
      leaseId: won.leaseId,
      yard: won.yard,
      endpoint: won.endpoint,
      pricePerSecond: won.offer.pricePerSecond,
      leaseStart: won.offer.start,
      end: won.offer.end,
      since: Date.now() / 1000,
    };
  }

  async #clientFor(signer: Wallet): Promise<MarketClient> {
    return MarketClient.connect({ deployment: this.env.deployment, provider: this.#rpc, signer });
  }

  /** The key of this ICON's n-th replica (see {@link replicaKey}). */
  #childKey(n: number): Wallet {
    return new Wallet(replicaKey(this.wallet.privateKey, n), this.#rpc);
  }

  async #place(knobs: Knobs): Promise<void> {
    // Only the origin has a home region; a replica that lost its lease goes where the numbers say.
    const preferred = this.seed.parent ? [] : this.#yards.filter((y) => y.name === this.env.initialRegion);
    const yards = preferred.length > 0 ? preferred : this.#yards;
    if (yards.length === 0) throw new Error("no registered and staked yard found to place the ICON");
    const p = await this.#placeWith(
      {
        signer: this.wallet,
        account: this.seed.account,
        budget: this.#balance,
        yards,
        score: (y, price) => utility(knobs, [], { location: y.peerId, pricePerSecond: price }),
      },
      knobs,
    );
    this.seed.placement = p;
    await this.#save();
    this.#emit(
      "placed",
      `running at ${p.yard.name} (lease ${p.leaseId}, ${this.client.format(p.pricePerSecond)}/s, endpoint ${p.endpoint})`,
      {
        leaseId: p.leaseId,
        yard: p.yard.name,
      },
    );
  }

  async #renewIfDue(): Promise<void> {
    const p = this.seed.placement!;
    const nowS = BigInt(Math.floor(Date.now() / 1000));
    const r = p.renewal;
    if (r) {
      if (nowS < r.leaseStart) return;
      this.seed.placement = { ...p, ...r, renewal: undefined };
      this.#access = undefined;
      await this.#save();
      return;
    }
    if (p.end - nowS > BigInt(this.env.renewBeforeS)) return;
    // Bought before a crash but not saved: adopt it rather than pay for the slot twice.
    const known = await this.#successorOf(p);
    if (known) {
      p.renewal = { leaseId: known.id, leaseStart: known.start, end: known.end, pricePerSecond: known.pricePerSecond };
      await this.#save();
      return;
    }
    const need = p.pricePerSecond * BigInt(this.env.spec.slotSeconds);
    if (this.#balance < need) {
      // Foundering: ask the parent (the origin asks the owner on chain), at most once a minute.
      if (Date.now() - this.#askedAt < 60_000) return;
      this.#askedAt = Date.now();
      const granted = await this.tree.requestFunding(need - this.#balance);
      this.#emit(
        "tree",
        `foundering: asked for ${this.client.format(need - this.#balance)}, granted ${this.client.format(granted)}`,
      );
      this.#balance = (await this.client.account(this.seed.account)).balance;
      if (this.#balance < need) return;
    }
    const won = await bid({
      node: this.node,
      signer: this.wallet,
      client: this.client,
      account: this.seed.account,
      yards: [p.yard],
      rfq: { ...this.#rfq(), renewsLeaseId: p.leaseId },
      spec: this.#deploySpec(),
      maxPrice: (await this.#knobs()).maxPricePerSecond,
      budget: this.#balance,
      score: () => 0,
      release: (id) => this.client.terminate(id),
    });
    p.renewal = {
      leaseId: won.leaseId,
      leaseStart: won.offer.start,
      end: won.offer.end,
      pricePerSecond: won.offer.pricePerSecond,
    };
    await this.#save();
    this.#emit("renewed", `lease ${won.leaseId} renews ${p.leaseId} at ${p.yard.name} until ${won.offer.end}`);
  }

  async #replicate(knobs: Knobs, situation: Situation, action: Action & { kind: "replicate" }): Promise<void> {
    const { subnets } = situation;
    const { to, subnets: moved } = action;
    const p = this.seed.placement!;
    const here = { location: p.yard.peerId, pricePerSecond: p.pricePerSecond };
    const total = subnets.reduce((a, s) => a + s.rate, 0);
    const movedRate = subnets.filter((s) => moved.includes(s.subnet)).reduce((a, s) => a + s.rate, 0);
    const target = this.#yards.find((y) => y.peerId === to.location)!;
    const need = listedPrice(target, this.env.spec) * BigInt(this.env.spec.slotSeconds) * 2n;
    // What this ICON keeps for itself: its own next slot.
    const reserve = this.#ownSlot();
    const spendable = this.#balance > reserve ? this.#balance - reserve : 0n;
    // The replica's share: the part of the spendable balance in proportion to the demand it takes over, at least
    // two slots of the target's listed price.
    let share = (spendable * BigInt(Math.round((movedRate / Math.max(total, 1e-9)) * 10_000))) / 10_000n;
    if (share < need) share = need;
    if (share > spendable)
      throw new Error(
        `cannot fund a replica: ${this.client.format(spendable)} spendable, ${this.client.format(need)} needed`,
      );

    // The replica's key is derived from this ICON's key and its number, saved before anything happens on chain:
    // a crash anywhere below leaves an account the next start can find and unwind (#sweep).
    const n = ++this.seed.replicas;
    await this.#save();
    const key = this.#childKey(n);
    const child = await this.client.createAccount(this.seed.account, key.address);
    let placement: Placement;
    try {
      await this.client.allocate(this.seed.account, child, share);
      const gas = BigInt(this.env.gasWei);
      // Through the client's signer: it keeps this key's nonces in order with the client's own transactions.
      if (gas > 0n) {
        const tx = await this.client.signer!.sendTransaction({ to: key.address, value: gas });
        await waitForReceipt(this.client.signer!.provider!, tx, {
          action: `sending gas to replica key ${key.address}`,
          timeoutMs: 120_000,
        });
      }
      placement = await this.#placeWith(
        {
          signer: key,
          account: child,
          budget: share,
          yards: this.#yards.filter((y) => y.peerId !== p.yard.peerId),
          score: (y, price) => replicateUtility(knobs, subnets, here, { location: y.peerId, pricePerSecond: price }),
          accept: (y, price) => stillPays(knobs, situation, action, { location: y.peerId, pricePerSecond: price }),
        },
        knobs,
      );
    } catch (e) {
      // The money goes back up; nothing is left behind in an account no agent runs.
      const undone = await this.client.closeAccount(child).then(
        () => `account ${child} closed and its money returned`,
        (x: unknown) => `closing account ${child} failed too (${(x as Error).message}); the next sweep retries`,
      );
      // The gas only once nothing is left for the key to do (a live lease is ended by the sweep, with this key).
      const clean =
        (await this.client.account(child).then(
          (a) => a.closed,
          () => false,
        )) &&
        (await this.#liveLeases(child).then(
          (ls) => ls.length === 0,
          () => false,
        ));
      if (clean) await sweepGas(key, this.wallet.address).catch(() => 0n);
      throw new Error(`replication to ${target.name} failed, ${undone}: ${(e as Error).message}`, { cause: e });
    }
    const name = `${this.name}.${n}`;
    const dir = path.join(this.dir, "children", String(child));
    await writeAgentState(
      dir,
      this.env,
      {
        name,
        account: child,
        root: this.seed.root,
        parent: { account: this.seed.account, addrs: this.addrs, placement: p },
        placement,
        subnets: moved,
        children: {},
        replicas: 0,
      },
      key.privateKey,
    );
    this.seed.children[String(child)] = { name, subnets: moved };
    await this.#save();
    await this.#hooks.spawn(dir);
    this.seed.children[String(child)]!.started = true;
    await this.#save();
    this.#emit(
      "replicated",
      `replica ${name} (account ${child}, ${this.client.format(share)} allocated) runs at ${placement.yard.name}, lease ${placement.leaseId}; ${moved.join(", ")} redirected there`,
      { child, yard: placement.yard.name, share },
    );
    await this.#updateRedirects(new Map([[child, placement.endpoint]]));
  }

  async #migrate(knobs: Knobs, situation: Situation, action: Action & { kind: "migrate" }): Promise<void> {
    const old = this.seed.placement!;
    const next = await this.#placeWith(
      {
        signer: this.wallet,
        account: this.seed.account,
        budget: this.#balance,
        // Every other yard is asked (the decided target's quote may be above its listed price, another's below):
        // the best quote by utility wins among those at which the move still passes its threshold.
        yards: this.#yards.filter((y) => y.peerId !== old.yard.peerId),
        score: (y, price) => utility(knobs, situation.subnets, { location: y.peerId, pricePerSecond: price }),
        accept: (y, price) => stillPays(knobs, situation, action, { location: y.peerId, pricePerSecond: price }),
      },
      knobs,
    );
    // Saved before the old yard is told: a crash from here on is finished by the next start (#finishMove).
    this.seed.moving = next;
    await this.#save();
    try {
      await this.#finishMove();
    } catch (e) {
      if (this.seed.placement === old) {
        // The old yard could not be told: nothing points at the new instance yet, so it goes.
        this.seed.moving = undefined;
        await this.#save();
        await this.client.terminate(next.leaseId).catch(() => {});
      }
      throw e;
    }
  }

  /** Make before break, from a saved `moving`: the stub at the old yard, the switch, then the old lease(s) end. */
  async #finishMove(): Promise<void> {
    const next = this.seed.moving!;
    const old = this.seed.placement;
    if (!live((await this.client.lease(next.leaseId)).state)) {
      this.seed.moving = undefined;
      await this.#save();
      return;
    }
    if (old && old.leaseId !== next.leaseId) {
      if (live((await this.client.lease(old.leaseId)).state))
        await setRouting(
          this.node,
          old.yard.addrs.map((a) => multiaddr(a)),
          {
            access: await this.#accessFor(old.leaseId),
            redirects: [],
            stub: {
              yard: next.yard.peerId,
              addrs: next.yard.addrs,
              instanceId: next.leaseId,
              endpoint: next.endpoint,
              graceS: this.env.graceS,
            },
          },
        );
      this.seed.placement = next;
      this.#access = undefined;
      this.#redirectsKey = "";
      await this.#save();
    }
    let refund = 0n;
    for (const id of [old?.leaseId, old?.renewal?.leaseId])
      if (id !== undefined && id !== next.leaseId && live((await this.client.lease(id)).state))
        refund += await this.client.terminate(id);
    this.seed.placement = next;
    this.seed.moving = undefined;
    await this.#save();
    if (old && old.leaseId !== next.leaseId)
      this.#emit(
        "migrated",
        `moved from ${old.yard.name} to ${next.yard.name} (lease ${old.leaseId} → ${next.leaseId}); stub at ${old.yard.name} for ${this.env.graceS} s; refund ${this.client.format(refund)}`,
        { from: old.yard.name, to: next.yard.name },
      );
    await this.#updateRedirects().catch((e: unknown) => this.#emit("error", `redirects: ${(e as Error).message}`));
  }

  async #terminate(): Promise<void> {
    this.seed.terminating = true;
    await this.#save();
    // Leave first: the parent stops redirecting clients here before the stub sends them back (no 307 loop).
    await this.tree.leave().catch((e: unknown) => this.#emit("error", `leaving the tree: ${(e as Error).message}`));
    await new Promise((r) => setTimeout(r, 2 * this.env.periodMs));
    await this.#finishTermination();
  }

  /** Termination, each step skipped when done already (so a restart in the middle finishes it). */
  async #finishTermination(): Promise<void> {
    const p = this.seed.placement;
    const parent = this.seed.parent?.placement;
    let refund = 0n;
    if (p && live((await this.client.lease(p.leaseId)).state)) {
      if (parent) {
        await setRouting(
          this.node,
          p.yard.addrs.map((a) => multiaddr(a)),
          {
            access: await this.#accessFor(p.leaseId),
            redirects: [],
            stub: {
              yard: parent.yard.peerId,
              addrs: parent.yard.addrs,
              instanceId: parent.leaseId,
              endpoint: parent.endpoint,
              graceS: this.env.graceS,
            },
          },
        ).catch((e: unknown) => this.#emit("error", `stub at ${p.yard.name}: ${(e as Error).message}`));
      }
    }
    for (const id of [p?.leaseId, p?.renewal?.leaseId])
      if (id !== undefined && live((await this.client.lease(id)).state)) refund += await this.client.terminate(id);
    const me = await this.client.account(this.seed.account);
    if (!me.closed) await this.client.closeAccount(this.seed.account);
    // The gas the parent handed this key goes back to the parent's key (it is this key's last transaction).
    let gasBack = 0n;
    if (this.seed.parent) {
      // To the parent in the tree now: the account's parent on chain, or the ancestor this ICON re-parented to
      // when that one terminated (its key is gone).
      const to = (await this.client.account(this.tree.parent?.account ?? this.seed.parent.account)).controller;
      gasBack = await sweepGas(this.client.signer!, to).catch((e: unknown) => {
        this.#emit("error", `returning gas to the parent's key: ${(e as Error).message}`);
        return 0n;
      });
    }
    this.seed.done = true;
    this.seed.terminating = false;
    await this.#save();
    this.#finish();
    this.#emit(
      "terminated",
      `ended lease ${p?.leaseId ?? "-"} at ${p?.yard.name ?? "-"} (refund ${this.client.format(refund)}); account ${this.seed.account} closed, ${this.client.format(me.closed ? 0n : me.balance)} back to the parent` +
        (gasBack > 0n ? `, ${formatEther(gasBack)} ETH of gas back to the parent's key` : ""),
      { returned: me.balance, gasReturned: gasBack },
    );
  }

  /** HTTP redirects at this ICON's yard: each child's subnets go to the child's endpoint. */
  async #updateRedirects(extra = new Map<bigint, string>()): Promise<void> {
    const p = this.seed.placement;
    if (!p) return;
    const live = new Map<bigint, string>(extra);
    for (const c of this.tree.children()) if (c.endpoint) live.set(c.account, c.endpoint);
    const redirects: Redirect[] = [];
    for (const [account, endpoint] of live) {
      const subnets = new Set(this.seed.children[String(account)]?.subnets ?? []);
      for (const s of this.tree.children().find((c) => c.account === account)?.subnets ?? [])
        if (s.rate > this.env.idleRate) subnets.add(s.subnet);
      for (const subnet of subnets) redirects.push({ subnet, location: `http://${endpoint}` });
    }
    redirects.sort((a, b) => a.subnet.localeCompare(b.subnet));
    const key = JSON.stringify(redirects);
    if (key === this.#redirectsKey) return;
    await setRouting(
      this.node,
      p.yard.addrs.map((a) => multiaddr(a)),
      { access: await this.#accessFor(p.leaseId), redirects },
    );
    this.#redirectsKey = key;
    this.#delegated = new Set(redirects.map((r) => r.subnet));
    this.#emit(
      "tree",
      `redirects at ${p.yard.name}: ${redirects.map((r) => `${r.subnet} → ${r.location}`).join(", ") || "none"}`,
    );
  }
}

/**
 * The private key of the n-th replica of the ICON whose key is `parentKey`: keccak256(parentKey ‖ "icon-replica-key"
 * ‖ n). Derived rather than random so that a crash at any point of a replication leaves an account the parent can
 * still find and unwind; the parent controls the replica's account on chain anyway.
 */
export function replicaKey(parentKey: string, n: number): string {
  return keccak256(concat([parentKey, toUtf8Bytes("icon-replica-key"), toBeHex(n, 32)]));
}

/**
 * Sends the ETH `from` holds to `to`, less what one plain transfer may cost at most (21 000 gas × max fee; the
 * unused part of that stays with `from` as dust). Returns the amount sent: 0 when the balance would not pay for the
 * transfer twice over. For the gas a parent handed a replica's key: a replica that ends gives it back.
 */
export async function sweepGas(from: Signer, to: string): Promise<bigint> {
  const provider = from.provider!;
  const [balance, fee] = await Promise.all([provider.getBalance(await from.getAddress()), provider.getFeeData()]);
  const maxFee = fee.maxFeePerGas ?? fee.gasPrice ?? 0n;
  const cost = 21_000n * maxFee;
  if (maxFee === 0n || balance <= 2n * cost) return 0n;
  const value = balance - cost;
  const eip1559 = fee.maxFeePerGas !== null;
  try {
    const tx = await from.sendTransaction({
      to,
      value,
      gasLimit: 21_000n,
      ...(eip1559
        ? { maxFeePerGas: maxFee, maxPriorityFeePerGas: fee.maxPriorityFeePerGas ?? 0n }
        : { gasPrice: maxFee }),
    });
    // Bounded: a transfer that is not mined in a minute (fees rose past its cap) is not waited for.
    await waitForReceipt(provider, tx, { action: `returning gas to ${to}`, timeoutMs: 60_000 });
    return value;
  } catch (e) {
    (from as Signer & { reset?: () => void }).reset?.(); // a NonceManager counts from the chain again
    throw e;
  }
}

function live(state: string): boolean {
  return state === "Running" || state === "Scheduled";
}

function describeTreeEvent(e: TreeEvent, format: (units: bigint) => string): string {
  switch (e.type) {
    case "attached":
      return `attached to parent ${e.parent.account} (origin ${e.origin.account})`;
    case "reattached":
      return `re-attached to ${e.parent.account}${e.from !== undefined ? ` (was ${e.from})` : ""}: ${e.reason}`;
    case "report-failed":
      return `report to parent ${e.parent} failed (${e.misses} in a row): ${e.error}`;
    case "reattach-failed":
      return `could not re-attach (tried ${e.tried.join(", ")}): ${e.error}`;
    case "child-joined":
      return `child ${e.account} joined`;
    case "child-left":
      return `child ${e.account} left (${e.reason})`;
    case "funding-requested":
      return `asked the parent for ${format(e.amount)}, granted ${format(e.granted)}: ${e.note}`;
    case "funding-granted":
      return `allocated ${format(e.amount)} to child ${e.child}`;
    case "funding-reclaimed":
      return `took ${format(e.amount)} back from child ${e.from} (beyond its next slot) for a sibling`;
    case "funding-denied":
      return `could not fund child ${e.child} with ${format(e.amount)}: ${e.note}`;
    case "funding-escalated":
      return `asked the owner on chain for ${format(e.amount)}`;
    case "policy":
      return `policy v${e.policy.version} in force (w=${e.policy.weightBps / 100} %)`;
    case "left":
      return `left the tree${e.newParent !== undefined ? `; children re-parent to ${e.newParent}` : ""}`;
  }
}
