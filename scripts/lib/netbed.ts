/**
 * The packet-level WAN testbed: one network namespace per node of a topology (client networks, ISP routers,
 * transit, IEP sites), a delay element per link (scripts/netbed/delay.c: TUN devices in the two namespaces, a timed
 * queue per direction with its own one-way delay, loss and rate), static shortest-path routes, forwarding routers
 * that answer ICMP time-exceeded, and per network a real dnsmasq serving its routers' and clients' reverse names and
 * its IEPs' `_edge._tcp` SRV records (scripts/lib/netbed-plan.ts plans all of it). ping, traceroute and TCP all see
 * the delays: every packet crosses the delay elements.
 *
 * Nothing is left behind, by design: every namespace is anonymous and held only by a `netbed-delay hold` process;
 * the holders, the delay elements, dnsmasq and whatever `spawn`/`exec` runs inside a node are started through
 * netbed-delay, which sets PR_SET_PDEATHSIG(SIGKILL) before it joins a namespace. When the controlling process dies
 * (close(), a crash, kill -9) they all die, their namespaces and TUN devices vanish with them, and the root
 * namespace never held anything of the bed. The only file state, a directory under /tmp/icon-netbed/ named
 * `<prefix>-<pid>`, is removed by close() and swept by the next start() once its pid is gone.
 * Needs root (namespaces, TUN devices, port 53).
 *
 * Errors: ConfigError BAD_TOPOLOGY (the message names the field and the fix), UNKNOWN_NODE; IconError
 * NETBED_FAILED (a step failed to start: its output is in the message), NETBED_CLOSED.
 *
 * @example
 *   const bed = await Netbed.start(await loadTopology("scripts/netbed/topologies/demo.json"), { prefix: "demo" });
 *   const r = await bed.exec("edge-a", "ping", ["-c", "3", bed.address("A")]); // ≈ bed.rttMs("edge-a", "A")
 *   const server = bed.spawn("cloud", "node", ["server.js"]); // runs inside cloud's namespace, dies with the bed
 *   await bed.close();
 */
import { execFile, spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, readdir, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { ConfigError, IconError } from "../../protocol/errors.ts";
import {
  dnsmasqConfigOf,
  oneWayMs,
  publicRecordsOf,
  parseIep,
  parseTopology,
  planTopology,
  type Iep,
  type LinkPlan,
  type NodePlan,
  type Plan,
  type Topology,
} from "./netbed-plan.ts";

export { parseTopology, planTopology, type Iep, type Topology } from "./netbed-plan.ts";

const run = promisify(execFile);
const BED_ROOT = "/tmp/icon-netbed";
const PREFIX_RE = /^[a-z0-9][a-z0-9-]{0,23}$/;
const START_TIMEOUT_MS = 10_000;

/** Options of {@link Netbed.start}. */
export interface NetbedOptions {
  /** Unique per bed (names its directory and tags its processes): 1–24 of a–z, 0–9, '-'. */
  prefix: string;
  /** The netbed-delay binary; default: built from scripts/netbed/delay.c into .icon/netbed/ when needed. */
  binary?: string;
}

/** Counters of one link direction, from the delay element. */
export interface DirectionStats {
  received: number;
  delivered: number;
  bytes: number;
  dropLoss: number;
  dropQueue: number;
  dropWrite: number;
  queued: number;
  maxQueued: number;
  /** Mean of (delivery − due time) over delivered packets, µs: how late the element's wake-ups are. */
  meanLateUs: number;
}

/** The result of {@link Netbed.exec}. */
export interface ExecResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

interface Proc {
  child: ChildProcess;
  exited: Promise<void>;
  stderr: () => string;
}

/** Reads a topology file (JSON) and validates it. */
export async function loadTopology(file: string): Promise<Topology> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    throw new ConfigError("BAD_TOPOLOGY", `cannot read the topology file ${file}: give an existing JSON file`, {
      cause: e,
    });
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new ConfigError("BAD_TOPOLOGY", `${file} is not JSON: ${(e as Error).message}`);
  }
  planTopology(data); // the cross-checks (names, links, reachability) too
  return parseTopology(data);
}

/** The path of delay.c, found from this file (scripts/lib/ or its .build/ copy) upwards. */
function delaySource(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const f = path.join(dir, "scripts/netbed/delay.c");
    if (existsSync(f)) return f;
    const g = path.join(dir, "../netbed/delay.c");
    if (existsSync(g)) return path.resolve(g);
    dir = path.dirname(dir);
  }
  throw new IconError("NETBED_FAILED", "scripts/netbed/delay.c not found beside scripts/lib/netbed.ts");
}

/**
 * The netbed-delay binary, built with gcc from scripts/netbed/delay.c into <project>/.icon/netbed/ unless one built
 * from the same source is there (its name carries the source's hash; built to a temporary name, then renamed).
 */
export async function delayBinary(): Promise<string> {
  const source = delaySource();
  const hash = createHash("sha256")
    .update(await readFile(source))
    .digest("hex")
    .slice(0, 16);
  const dir = path.join(path.dirname(source), "../../.icon/netbed");
  const binary = path.resolve(dir, `netbed-delay-${hash}`);
  if (existsSync(binary)) return binary;
  await mkdir(dir, { recursive: true });
  const tmp = `${binary}.${process.pid}.tmp`;
  try {
    await run("gcc", ["-O2", "-Wall", "-o", tmp, source, "-static"]).catch(async (e: NodeJS.ErrnoException) => {
      if (e.code === "ENOENT") throw e;
      await run("gcc", ["-O2", "-Wall", "-o", tmp, source]); // no libc.a: a dynamic build serves as well
    });
  } catch (e) {
    const missing = (e as NodeJS.ErrnoException).code === "ENOENT";
    throw new IconError(
      "NETBED_FAILED",
      missing
        ? "gcc is missing: the testbed's delay element is built from scripts/netbed/delay.c; run `bash scripts/setup-system.sh` (as root) to install gcc"
        : `gcc could not build scripts/netbed/delay.c: ${(e as { stderr?: string }).stderr ?? String(e)}`,
      { cause: e },
    );
  }
  await rename(tmp, binary);
  // Builds of older sources go (a running one keeps its inode until it exits).
  for (const f of await readdir(dir)) {
    if (/^netbed-delay-[0-9a-f]{16}$/.test(f) && f !== path.basename(binary))
      await rm(path.join(dir, f), { force: true });
  }
  return binary;
}

/** Removes directories of beds whose controlling process is gone (a bed killed with SIGKILL cannot clean up). */
export async function sweepStaleBeds(): Promise<void> {
  const entries = await readdir(BED_ROOT).catch(() => [] as string[]);
  for (const e of entries) {
    const pid = Number(/-(\d+)$/.exec(e)?.[1]);
    if (!pid || existsSync(`/proc/${pid}`)) continue;
    await rm(path.join(BED_ROOT, e), { recursive: true, force: true });
  }
}

/** A running testbed; see the file comment. */
export class Netbed {
  readonly plan: Plan;
  readonly prefix: string;
  /** The bed's directory: resolv.conf per network, dnsmasq configurations, link counters. */
  readonly dir: string;
  readonly #binary: string;
  readonly #holders = new Map<string, Proc>();
  readonly #links: Proc[] = [];
  readonly #daemons = new Map<string, Proc>();
  readonly #spawned = new Set<Proc>();
  #closed = false;

  private constructor(plan: Plan, prefix: string, dir: string, binary: string) {
    this.plan = plan;
    this.prefix = prefix;
    this.dir = dir;
    this.#binary = binary;
  }

  /** Builds the bed of `topology` (a parsed topology file); resolves once every route and dnsmasq is up. */
  static async start(topology: unknown, o: NetbedOptions): Promise<Netbed> {
    const plan = planTopology(topology);
    if (!PREFIX_RE.test(o.prefix))
      throw new ConfigError(
        "BAD_OPTION",
        `prefix "${o.prefix}": 1–24 of a–z, 0–9 and '-', starting with a letter or digit`,
      );
    if (process.getuid?.() !== 0)
      throw new IconError(
        "NETBED_FAILED",
        "the testbed needs root (network namespaces, TUN devices, DNS on port 53): run as root",
      );
    const binary = o.binary ?? (await delayBinary());
    await sweepStaleBeds();
    const dir = path.join(BED_ROOT, `${o.prefix}-${process.pid}`);
    await mkdir(BED_ROOT, { recursive: true, mode: 0o700 });
    try {
      await mkdir(dir, { mode: 0o700 });
    } catch (e) {
      throw new ConfigError(
        "BAD_OPTION",
        `prefix "${o.prefix}" is in use by another bed of this process: give each bed its own`,
        { cause: e },
      );
    }
    const bed = new Netbed(plan, o.prefix, dir, binary);
    try {
      await bed.#build();
    } catch (e) {
      await bed.close();
      throw e;
    }
    return bed;
  }

  async #build(): Promise<void> {
    const { nodes, links, dns } = this.plan;
    for (const d of dns.values()) {
      await writeFile(
        path.join(this.dir, `resolv-${d.network}.conf`),
        `nameserver ${d.address}\noptions timeout:2 attempts:2\n`,
      );
    }
    await Promise.all(
      [...nodes.values()].map(async (n) => {
        const args = ["hold", "--tag", this.prefix, ...(n.role === "router" ? ["--router"] : [])];
        this.#holders.set(n.name, await this.#start(args, `namespace of ${n.name}`));
      }),
    );
    await Promise.all(
      links.map(async (l) => (this.#links[l.index] = await this.#start(this.#linkArgs(l), `link ${l.a}–${l.b}`))),
    );
    await Promise.all(
      [...nodes.values()].map(async (n) => {
        const r = await this.exec(n.name, "ip", ["-batch", "-"], { input: n.ipBatch.join("\n") + "\n" });
        if (r.code !== 0) throw new IconError("NETBED_FAILED", `configuring ${n.name} failed: ${r.stderr.trim()}`);
      }),
    );
    for (const d of dns.values()) await this.#startDns(d.network);
  }

  /** Writes the network's dnsmasq configuration and starts it in its DNS node's namespace. */
  async #startDns(network: string): Promise<void> {
    const d = this.plan.dns.get(network)!;
    const conf = path.join(this.dir, `dnsmasq-${d.network}.conf`);
    await writeFile(conf, d.config.join("\n") + "\n");
    const args = [
      "run",
      "--ns",
      this.netnsPath(d.node),
      "--",
      findDnsmasq(),
      "--keep-in-foreground",
      `--conf-file=${conf}`,
    ];
    this.#daemons.set(network, await this.#start(args, `dnsmasq of ${d.network}`, /started, version/));
  }

  /**
   * Publishes (or with `undefined` withdraws) a site's IEP in its network's DNS: `_edge._tcp.<domain>` SRV →
   * `<site>.<domain>`:port and TXT strings on that name (e.g. a yard's peer id once it is known). Restarts that
   * network's dnsmasq; resolves when it answers again.
   */
  async setIep(site: string, iep: Iep | undefined): Promise<void> {
    this.#open();
    const n = this.#node(site);
    if (n.role !== "site")
      throw new ConfigError("BAD_TOPOLOGY", `topology.nodes.${site}.iep: only a "site" hosts an IEP`);
    const node = this.plan.topology.nodes[site]!;
    if (iep === undefined) delete node.iep;
    else node.iep = parseIep(site, iep);
    const d = this.plan.dns.get(n.network)!;
    d.config = dnsmasqConfigOf(this.plan, n.network);
    const old = this.#daemons.get(n.network);
    if (old) {
      old.child.kill("SIGTERM");
      await old.exited;
    }
    await this.#startDns(n.network);
  }

  #linkArgs(l: LinkPlan): string[] {
    const args = ["link", "--tag", this.prefix, "--ns-a", this.netnsPath(l.a), "--dev-a", l.dev];
    args.push(
      "--ns-b",
      this.netnsPath(l.b),
      "--dev-b",
      l.dev,
      "--delay-ab",
      String(l.delayAbMs),
      "--delay-ba",
      String(l.delayBaMs),
    );
    if (l.lossPct > 0) args.push("--loss-ab", String(l.lossPct), "--loss-ba", String(l.lossPct));
    if (l.rateBps !== undefined) args.push("--rate-ab", String(l.rateBps), "--rate-ba", String(l.rateBps));
    args.push("--queue", String(l.queuePackets), "--stats", this.#statsFile(l.index));
    return args;
  }

  #statsFile(index: number): string {
    return path.join(this.dir, `link-${index}.json`);
  }

  /** Starts netbed-delay and waits until it says ready (stdout "ready", or `readyRe` on stderr for dnsmasq). */
  async #start(args: string[], what: string, readyRe?: RegExp): Promise<Proc> {
    const child = spawn(this.#binary, args, {
      stdio: ["pipe", "pipe", "pipe"],
      env: { ...process.env, NETBED_PARENT: String(process.pid) },
    });
    let out = "";
    let err = "";
    const exited = new Promise<void>((resolve) => child.once("close", () => resolve()));
    const proc: Proc = { child, exited, stderr: () => err };
    this.#spawned.add(proc);
    child.stdout!.setEncoding("utf8");
    child.stderr!.setEncoding("utf8");
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => fail(`did not start within ${START_TIMEOUT_MS / 1000} s`), START_TIMEOUT_MS);
      const fail = (why: string): void => {
        clearTimeout(timer);
        reject(new IconError("NETBED_FAILED", `${what}: ${why}${err.trim() ? `: ${err.trim().slice(-800)}` : ""}`));
      };
      const check = (): void => {
        if (readyRe ? readyRe.test(err) : out.includes("ready\n")) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout!.on("data", (d: string) => ((out += d), check()));
      child.stderr!.on("data", (d: string) => ((err = (err + d).slice(-4000)), check()));
      child.once("error", (e) => fail(e.message));
      child.once("exit", (code, signal) => fail(`exited (${signal ?? code})`));
    });
    child.stdout!.resume();
    return proc;
  }

  #node(name: string): NodePlan {
    const n = this.plan.nodes.get(name);
    if (!n)
      throw new ConfigError(
        "UNKNOWN_NODE",
        `no node "${name}" in this bed (nodes: ${[...this.plan.nodes.keys()].join(", ")})`,
      );
    return n;
  }

  #open(): void {
    if (this.#closed) throw new IconError("NETBED_CLOSED", `testbed ${this.prefix} is closed`);
  }

  /** The node names. */
  nodes(): string[] {
    return [...this.plan.nodes.keys()];
  }

  /** A path to the node's network namespace, usable as `nsenter --net=<path>` or with setns(2). */
  netnsPath(node: string): string {
    this.#node(node);
    const h = this.#holders.get(node);
    if (!h?.child.pid) throw new IconError("NETBED_FAILED", `the namespace of ${node} is not up`);
    return `/proc/${h.child.pid}/ns/net`;
  }

  /** The node's own address: a router's or site's loopback, a client network's subnet .1. */
  address(node: string): string {
    return this.#node(node).address;
  }

  /** A client node's subnet (`198.18.k.0/24`); undefined for routers and sites. */
  subnet(node: string): string | undefined {
    return this.#node(node).subnet;
  }

  /** The DNS resolver (an address, port 53) the node uses: its network's dnsmasq. */
  resolver(node: string): string {
    return this.plan.dns.get(this.#node(node).network)!.address;
  }

  /**
   * The bed's reverse names and routers' names as BIND lines, for a DNS server outside the bed (scripts/lib/
   * dnsmasq.ts): the view of the public DNS that processes in the root namespace — a yard's DNS responder, the ICON
   * agents behind it — resolve through. See netbed-plan.ts publicRecordsOf.
   */
  publicRecords(): string[] {
    return publicRecordsOf(this.plan);
  }

  /** The configured round trip (ms) between two nodes along the installed routes. */
  rttMs(a: string, b: string): number {
    this.#node(a);
    this.#node(b);
    return oneWayMs(this.plan, a, b) + oneWayMs(this.plan, b, a);
  }

  /**
   * Runs a program inside the node's namespace (with its resolver as /etc/resolv.conf) and dies with the bed.
   * The caller owns the child; close() kills what is still running.
   */
  spawn(node: string, command: string, args: string[], options: SpawnOptions = {}): ChildProcess {
    this.#open();
    const resolv = path.join(this.dir, `resolv-${this.#node(node).network}.conf`);
    const child = spawn(
      this.#binary,
      ["run", "--ns", this.netnsPath(node), "--resolv", resolv, "--", command, ...args],
      {
        ...options,
        env: { ...(options.env ?? process.env), NETBED_PARENT: String(process.pid) },
      },
    );
    const proc: Proc = { child, exited: new Promise((r) => child.once("close", () => r())), stderr: () => "" };
    this.#spawned.add(proc);
    void proc.exited.then(() => this.#spawned.delete(proc));
    return child;
  }

  /** Runs a program inside the node's namespace to its end; a nonzero exit is returned, not thrown. */
  async exec(
    node: string,
    command: string,
    args: string[],
    o: { input?: string; timeoutMs?: number } = {},
  ): Promise<ExecResult> {
    const child = this.spawn(node, command, args, { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout!.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.stdin!.on("error", () => {});
    child.stdin!.end(o.input ?? "");
    const timer = setTimeout(() => child.kill("SIGKILL"), o.timeoutMs ?? 60_000);
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once("error", reject);
      child.once("close", (c) => resolve(c));
    }).finally(() => clearTimeout(timer));
    return { code, stdout, stderr };
  }

  /** The delay element's counters of link `index` (file order), a→b and b→a. */
  async linkStats(index: number): Promise<{ ab: DirectionStats; ba: DirectionStats }> {
    this.#open();
    const l = this.plan.links[index];
    if (!l) throw new ConfigError("UNKNOWN_NODE", `no link ${index} (0–${this.plan.links.length - 1})`);
    const file = this.#statsFile(index);
    const before = await readFile(file, "utf8").then(
      (t) => (JSON.parse(t) as { seq: number }).seq,
      () => 0,
    );
    this.#links[index]!.child.kill("SIGUSR1");
    const deadline = Date.now() + 5000;
    for (;;) {
      const s = await readFile(file, "utf8").then(
        (t) => JSON.parse(t) as { seq: number; ab: DirectionStats; ba: DirectionStats },
        () => undefined,
      );
      if (s && s.seq > before) return { ab: s.ab, ba: s.ba };
      if (Date.now() > deadline) throw new IconError("NETBED_FAILED", `link ${index} did not write its counters`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** The process ids of everything the bed runs (holders, delay elements, dnsmasq, spawned programs). */
  pids(): number[] {
    return [...this.#spawned].map((p) => p.child.pid).filter((p): p is number => p !== undefined);
  }

  /** Stops every process of the bed (its namespaces and devices go with them) and removes its directory. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const all = [...this.#spawned];
    for (const p of all) {
      if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill("SIGKILL");
    }
    await Promise.all(all.map((p) => p.exited));
    await rm(this.dir, { recursive: true, force: true });
  }
}

function findDnsmasq(): string {
  for (const dir of [...(process.env.PATH ?? "").split(path.delimiter), "/usr/sbin", "/sbin"]) {
    if (dir && existsSync(path.join(dir, "dnsmasq"))) return path.join(dir, "dnsmasq");
  }
  throw new IconError(
    "NETBED_FAILED",
    "dnsmasq is not installed: run `bash scripts/setup-system.sh` (as root) to install it",
  );
}
