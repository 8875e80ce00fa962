/**
 * `npm run demo`: containers that place themselves, on one machine.
 *
 * An embedded chain with the market deployed; three yards run as `icon yard start` processes with real Docker
 * ("cloud", "edge-a", "edge-b", each on its own loopback address), listed and staked; dnsmasq serves each IEP's
 * `_edge._tcp.<zone>` SRV record and the clients' PTR names — the owner names only the cloud's zone, the ICONs
 * learn the edges' zones from their clients' names; a WAN emulator (a relay per client subnet and yard that adds one-way delay
 * and keeps the client's subnet as the source address) sits between three client subnets and the yards, and an
 * ALTO server publishes the matching cost map.
 *
 * Story: the owner funds a budget and starts the origin ICON, which places itself at cloud (its clients' entry
 * point; a few clients in subnet C sit next to it) → load from subnet A → the origin replicates to edge-a and
 * redirects A there, A's latency falls → A's clients move to subnet B, still using edge-a → the replica follows
 * them to edge-b (make-before-break, a stub at edge-a) → the load ends → the idle replica terminates, its budget
 * flows back up → the owner winds the application down and takes the rest back.
 *
 * Prints a timeline of what each ICON decided and why (with the utility numbers), writes a plot (latency per
 * subnet and budget over time) to demo-out/plot.svg, and ends with one line `DEMO-SUMMARY {json}`.
 *
 *   node scripts/demo.ts [--short] [--out <dir>]
 */
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { Wallet } from "ethers";
import { AltoMap, serveAlto, zoneRecords, type MarketClient, type Policy, type Solvency } from "../protocol/index.ts";
import { Agent, appStatus, deployApp, formatStatus, type AgentEnv, type AgentEvent } from "../icon-agent/index.ts";
import { DockerRuntime, HostFirewall } from "../yard-node/index.ts";
import { projectRoot } from "./lib/hardhat.ts";
import {
  clientFor,
  startMarket,
  startYardProcess,
  writeYardConfig,
  yardConfig,
  type YardProcess,
} from "./lib/testbed.ts";
import { startDnsmasq } from "./lib/dnsmasq.ts";
import { WanEmulator } from "./lib/wan.ts";
import { startClients } from "./lib/loadgen.ts";
import { lineChart } from "./lib/plot.ts";
import { execFile } from "node:child_process";
import { promisify } from "node:util";

const { values: args } = parseArgs({ options: { short: { type: "boolean" }, out: { type: "string" } } });
const SHORT = args.short === true;
const OUT = path.resolve(args.out ?? path.join(projectRoot, "demo-out"));
const t0 = Date.now();
const T = (): number => (Date.now() - t0) / 1000;
const say = (who: string, text: string): void =>
  console.log(`[${T().toFixed(1).padStart(5)}s] ${who.padEnd(10)} ${text}`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ------------------------------------------------------------------ the world
const YARDS = {
  cloud: { host: "127.0.1.1", cpu: "200 units", mem: "100 units" },
  "edge-a": { host: "127.0.1.2", cpu: "400 units", mem: "200 units" },
  "edge-b": { host: "127.0.1.3", cpu: "400 units", mem: "200 units" },
} as const;
type YardName = keyof typeof YARDS;
const SUBNETS = { A: "127.10.1.0/24", B: "127.10.2.0/24", C: "127.10.3.0/24" } as const;
/** Each IEP's DNS zone (its `_edge._tcp` SRV record) and the zone of each subnet's clients (their PTR names). */
const ZONE: Record<YardName, string> = { cloud: "icon.test", "edge-a": "a.isp.test", "edge-b": "b.isp.test" };
const CLIENT_ZONE: Record<keyof typeof SUBNETS, string> = { A: "a.isp.test", B: "b.isp.test", C: "c.isp.test" };
/** One-way delay (ms) from each client subnet to each yard: A and B are near an edge each, C near the cloud. */
const DELAY: Record<keyof typeof SUBNETS, Record<YardName, number>> = {
  A: { cloud: 60, "edge-a": 5, "edge-b": 25 },
  B: { cloud: 60, "edge-a": 25, "edge-b": 5 },
  C: { cloud: 5, "edge-a": 60, "edge-b": 60 },
};

await run("bash", [path.join(projectRoot, "scripts/docker.sh"), "start"]);
await run("bash", [path.join(projectRoot, "scripts/images.sh")]);
const runtime = new DockerRuntime({ socketPath: DockerRuntime.defaultSocket(), yardId: "demo-probe" });
const imageId = await runtime.imageId("icon/web:1");
if (!imageId) throw new Error("icon/web:1 is missing: run bash scripts/images.sh");

const m = await startMarket();
say("chain", `embedded Hardhat chain at ${m.chain.url}; market deployed (token ${m.deployment.token})`);
const yards: Record<string, YardProcess> = {};
const yardIds: string[] = [];
const cleanup: Array<() => Promise<unknown>> = [];
let exitCode = 0;
try {
  await Promise.all(
    (Object.keys(YARDS) as YardName[]).map(async (name, i) => {
      const y = YARDS[name];
      const key = m.keys[1 + i]!;
      await m.admin.mint(new Wallet(key).address, 1_000_000_000n);
      const yardId = `demo-${name}-${process.pid}`;
      yardIds.push(yardId);
      const file = await writeYardConfig(
        m,
        yardConfig(m, yardId, {
          listen: [`/ip4/${y.host}/tcp/0`],
          publicHost: y.host,
          listing: { domain: `${name}.icon.test`, region: name, stake: "100 iUSD" },
          pricing: { floorPerSecond: "10 units", cpuPerCoreSecond: y.cpu, memoryPerGiBSecond: y.mem },
          overlay: { flowHalfLifeS: 2 },
        }),
      );
      yards[name] = await startYardProcess(file, key);
      say("yard", `${name} listed and staked; ingress on ${y.host}; ${yards[name]!.addr}`);
    }),
  );
  cleanup.push(async () => {
    await Promise.all(
      Object.values(yards).map(async (y) => {
        y.child.kill("SIGTERM");
        await y.exited;
      }),
    );
    for (const id of yardIds) await removeYardContainers(id).catch(() => {});
  });

  // DNS: each IEP's SRV record in its own zone, and the clients' PTR names in their ISPs' zones. The owner names
  // only the cloud's domain; the ICONs find the edges through their clients.
  const records = (Object.keys(YARDS) as YardName[]).flatMap((name) => {
    const ma = /^\/ip4\/([^/]+)\/tcp\/(\d+)\/p2p\/(\w+)$/.exec(yards[name]!.addr)!;
    const domain = ZONE[name];
    return zoneRecords({ domain, host: `${name}.${domain}`, port: Number(ma[2]), peerId: ma[3]!, addresses: [ma[1]!] });
  });
  for (const [subnet, prefix] of Object.entries(SUBNETS)) {
    const [a, b, c] = prefix.split(".");
    for (let host = 2; host <= 250; host++)
      records.push(
        `${host}.${c}.${b}.${a}.in-addr.arpa. PTR host-${host}.${CLIENT_ZONE[subnet as keyof typeof SUBNETS]}.`,
      );
  }
  const dns = await startDnsmasq({ records });
  cleanup.push(() => dns.stop());
  say(
    "dns",
    `dnsmasq at ${dns.server}: ${(Object.keys(YARDS) as YardName[]).map((n) => `_edge._tcp.${ZONE[n]} → ${n}`).join(", ")}; ` +
      `clients' PTR names under ${Object.values(CLIENT_ZONE).join(", ")}`,
  );

  // The WAN and the network cost map that matches it.
  const wan = await WanEmulator.start({
    subnets: SUBNETS,
    yards: Object.fromEntries(Object.entries(YARDS).map(([n, y]) => [n, y.host])),
    delayMs: DELAY,
  });
  cleanup.push(() => wan.close());
  const maps = wan.altoMaps();
  const alto = await serveAlto(new AltoMap(maps.network, maps.costs), "127.0.0.1", 0);
  cleanup.push(() => alto.close());
  say("wan", `one-way delays ${JSON.stringify(DELAY)}; ALTO cost map at ${alto.url}`);

  // The owner: a budget, a policy, the origin ICON.
  const owner = await clientFor(m, 10, 50_000_000n);
  const policy: Policy = {
    weightBps: 7000,
    migrateThresholdBps: 3000,
    replicateThresholdBps: 5000,
    terminateThresholdBps: 2000,
    maxPricePerSecond: 2000n,
    // ICON keys hold no ETH: yards relay their calls for at most 0.005 iUSD each, 1 iUSD a day for the whole tree.
    maxRelayFee: 5000n,
    relayAllowancePerDay: 1_000_000n,
  };
  const deposit = owner.parse("20");
  const env: AgentEnv = {
    rpcUrl: m.chain.url,
    deployment: m.deployment,
    dnsServers: [dns.server],
    domains: ["icon.test"],
    seeds: [],
    altoUrl: alto.url,
    spec: {
      imageRef: "icon/web:1",
      imageDigest: "0x" + imageId.slice("sha256:".length),
      command: [],
      env: [],
      ports: [8080],
      httpPorts: [8080],
      // app.service.servicens: deployApp fills in the app's namespace label r<root> (demo.r<root>.web.prod).
      service: "demo.web.prod",
      cpuMillis: 250,
      memoryMiB: 64,
      slotSeconds: 600,
    },
    initialRegion: "cloud",
    listenHost: "127.0.0.1",
    periodMs: 1000,
    halfLifeS: 1.5,
    coolDownS: 6,
    confirmations: 3,
    warmupS: 4,
    graceS: 60,
    renewBeforeS: 60,
    reportEveryMs: 1000,
    idleRate: 0.3,
    minKeepShare: 0.5,
    refLatencyMs: 100,
  };
  const dir = await mkdtemp(path.join(tmpdir(), "icon-demo-"));
  const app = await deployApp({ owner, env, policy, deposit, dir: path.join(dir, "origin") });
  say(
    "owner",
    `application ${app.root}: ${owner.format(deposit)} in; policy w=0.7, migrate 30 %, replicate 50 %, terminate 20 %, cap ${owner.format(policy.maxPricePerSecond)}/s; origin ICON ${app.icon.slice(0, 10)}…; namespace demo.${app.namespace}, service ${app.service}`,
  );

  // ICONs run in this process here (each with its own key, libp2p node and budget account); `icon agent run`
  // runs one per process.
  const agents: Agent[] = [];
  const events: Array<AgentEvent & { t: number }> = [];
  const counts = { replications: 0, migrations: 0, terminations: 0 };
  const hooks = {
    spawn: async (d: string): Promise<void> => {
      const a = await Agent.open(d, hooks);
      agents.push(a);
      await a.start();
    },
    onEvent: (e: AgentEvent): void => {
      events.push({ ...e, t: T() });
      if (e.kind === "replicated") counts.replications++;
      if (e.kind === "migrated") counts.migrations++;
      if (e.kind === "terminated") counts.terminations++;
      if (e.kind === "observe" && !/U=.*(replicate|migrate|terminate)/.test(e.text) && events.length % 5 !== 0) return;
      say(e.icon, e.text);
    },
  };
  cleanup.push(() => Promise.all(agents.map((a) => a.stop().catch(() => {}))));
  await hooks.spawn(app.dir);
  const origin = agents[0]!;
  await waitFor("the origin to be placed", () => origin.seed.placement, 60_000);
  const entry = origin.seed.placement!.endpoint;
  say("demo", `service entry point: http://${entry} (origin at ${origin.seed.placement!.yard.name})`);

  // Budget over time (for the plot).
  const budget: Array<[number, number]> = [];
  const sampler = setInterval(() => {
    void appStatus(owner, app.root)
      .then((s) => budget.push([T(), Number(s.spent) / 1e6]))
      .catch(() => {});
  }, 2000);
  cleanup.push(async () => clearInterval(sampler));

  const phase = SHORT ? 8_000 : 15_000;
  const near = await startClients({ wan, subnet: "C", entry, clients: 1, intervalMs: 300 });
  const moving = await startClients({ wan, subnet: "A", entry, clients: 6, intervalMs: 50 });
  const marks: Array<[number, string]> = [[T(), "load from A"]];
  say("clients", `6 clients in subnet A and 1 in C start sending requests to http://${entry}`);

  const tA = Date.now();
  await waitFor("a replication", () => counts.replications > 0, 90_000);
  const tRep = Date.now();
  marks.push([T(), "replica at edge-a"]);
  await sleep(phase);
  const latA = { before: moving.p50(tA, tRep), after: moving.p50(Date.now() - phase / 2, Date.now()) };
  say("clients", `subnet A p50: ${latA.before.toFixed(1)} ms before the replica, ${latA.after.toFixed(1)} ms after`);

  moving.setSubnet("B");
  const tB = Date.now();
  marks.push([T(), "clients move to B"]);
  say("clients", "the 6 clients move to subnet B (they keep using the instance they were sent to)");
  await waitFor("a migration", () => counts.migrations > 0, 90_000);
  const tMig = Date.now();
  marks.push([T(), "replica moves to edge-b"]);
  await sleep(phase);
  const latB = { before: moving.p50(tB, tMig), after: moving.p50(Date.now() - phase / 2, Date.now()) };
  say("clients", `subnet B p50: ${latB.before.toFixed(1)} ms before the move, ${latB.after.toFixed(1)} ms after`);

  await moving.stop();
  marks.push([T(), "load from B ends"]);
  say("clients", "the clients in B stop");
  await waitFor("the idle replica to terminate", () => counts.terminations > 0, 90_000);
  marks.push([T(), "replica terminated"]);
  await sleep(2000);
  await near.stop();
  const failedRequests = moving.failures().length + near.failures().length;

  // What the owner sees now (`icon app status`): the tree, the leases, the money.
  for (const line of formatStatus(owner, await appStatus(owner, app.root))) say("status", line);

  // Wind down: the owner ends the origin's lease and takes the money back.
  const live = origin.seed.placement!;
  await origin.stop();
  await owner.terminate(live.leaseId);
  const before = await appStatus(owner, app.root);
  const rest = (await owner.account(app.root)).balance;
  await owner.withdrawFromRoot(app.root, rest, await owner.address());
  say("owner", `terminated the origin's lease ${live.leaseId}; withdrew ${owner.format(rest)} from the application`);
  const after = await appStatus(owner, app.root);
  const books = await conserved(owner, app.root, deposit, rest);
  const f = (v: bigint): string => owner.format(v);
  say(
    "books",
    `at block ${books.blockTag}: deposit ${f(deposit)} = in accounts ${f(books.held)} + claimed by yards ${f(books.claimed)} + accrued, unclaimed ${f(books.escrow)} + relay fees ${f(books.relayFees)} + back to the owner ${f(rest)} → ${books.ok ? "balanced" : "NOT BALANCED"}; market solvent: ${books.solvency.ok} (holds ${f(books.solvency.held)} = balances ${f(books.solvency.balances)} + escrow ${f(books.solvency.escrow)} + earnings ${f(books.solvency.earnings)})`,
  );
  budget.push([T(), Number(after.spent) / 1e6]);

  // The plot.
  await mkdir(OUT, { recursive: true });
  const series = (h: ReturnType<typeof startClients> extends Promise<infer H> ? H : never, name: string) => ({
    name,
    points: h.series(1000).map((b) => [(b.tMs - t0) / 1000, b.p50] as [number, number]),
  });
  const plotFile = path.join(OUT, "plot.svg");
  await writeFile(
    plotFile,
    lineChart({
      title: "ICON demo: client p50 latency per subnet and budget spent",
      panels: [
        {
          label: "client p50 latency (ms)",
          series: [series(moving, "moving clients (A, then B)"), series(near, "subnet C")],
        },
        { label: "spent (iUSD)", series: [{ name: "spent", points: budget }] },
      ],
      marks,
    }),
  );
  say("demo", `plot written to ${plotFile}`);

  // ICON keys hold no ETH for their whole life: never funded, never a transaction of their own (all relayed).
  const chainRpc = owner.provider;
  const iconKeys = [...new Set([app.icon, ...agents.map((a) => a.wallet.address)])];
  let iconKeyGasWei = 0n;
  let iconKeyTransactions = 0;
  for (const k of iconKeys) {
    iconKeyGasWei += await chainRpc.getBalance(k);
    iconKeyTransactions += await chainRpc.getTransactionCount(k);
  }
  say(
    "books",
    `${iconKeys.length} ICON keys: ${iconKeyGasWei} wei between them, ${iconKeyTransactions} transactions of their own; yards relayed their calls for ${f(books.relayFees)}`,
  );
  const summary = {
    replications: counts.replications,
    migrations: counts.migrations,
    learnedDomains: [
      ...new Set(events.filter((e) => e.kind === "discovered").map((e) => String(e.data?.domain))),
    ].sort(),
    terminations: counts.terminations,
    latencyBeforeMs: { A: round(latA.before), B: round(latB.before) },
    latencyAfterMs: { A: round(latA.after), B: round(latB.after) },
    requests: moving.count() + near.count(),
    failedRequests,
    deposit: deposit.toString(),
    spent: books.spent.toString(),
    returnedToOwner: rest.toString(),
    budgetConserved: books.ok,
    iconKeys: iconKeys.length,
    iconKeyGasWei: iconKeyGasWei.toString(),
    iconKeyTransactions,
    relayFees: books.relayFees.toString(),
    plot: plotFile,
    durationS: round(T()),
  };
  if (before.held !== rest) say("owner", `note: ${owner.format(before.held - rest)} was still in child accounts`);
  console.log(`DEMO-SUMMARY ${JSON.stringify(summary)}`);
  const ok =
    summary.replications >= 1 &&
    summary.migrations >= 1 &&
    summary.failedRequests === 0 &&
    summary.budgetConserved &&
    iconKeyGasWei === 0n &&
    iconKeyTransactions === 0 &&
    summary.learnedDomains.includes(ZONE["edge-a"]) &&
    summary.learnedDomains.includes(ZONE["edge-b"]) &&
    latA.after < latA.before * 0.5 &&
    latB.after < latB.before * 0.5;
  if (!ok) exitCode = 1;
} catch (e) {
  console.error(`demo failed: ${(e as Error).stack ?? String(e)}`);
  exitCode = 1;
} finally {
  for (const c of cleanup.reverse()) await c().catch(() => {});
  await m.close();
}
process.exit(exitCode);

// ------------------------------------------------------------------ helpers

function round(x: number): number {
  return Math.round(x * 10) / 10;
}

async function run(cmd: string, a: string[]): Promise<void> {
  await promisify(execFile)(cmd, a, { env: { ...process.env, ICON_DOCKER_SOCKET: DockerRuntime.defaultSocket() } });
}

async function waitFor<T>(what: string, check: () => T | undefined | false, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = check();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms / 1000} s waiting for ${what}`);
    await sleep(200);
  }
}

/** Removes the containers and the network a demo yard left (a yard keeps them for its next start; the demo has none). */
async function removeYardContainers(yardId: string): Promise<void> {
  const docker = ["-H", `unix://${DockerRuntime.defaultSocket()}`];
  const run = (a: string[]) => promisify(execFile)("/usr/bin/docker", [...docker, ...a]);
  const { stdout } = await run(["ps", "-aq", "--filter", `label=icon.yard=${yardId}`]);
  const ids = stdout.split("\n").filter(Boolean);
  if (ids.length > 0) await run(["rm", "-f", ...ids]);
  const nets = await run(["network", "ls", "-q", "--filter", `label=icon.yard=${yardId}`]);
  const names = [...nets.stdout.split("\n").filter(Boolean), `icon-${yardId}`];
  for (const n of names) await run(["network", "rm", n]).catch(() => {});
  // The yard keeps its host firewall table while its containers run; they are gone now.
  await new HostFirewall({ yardId }).remove().catch(() => {});
}

/**
 * The books, on chain: every token unit the owner put in is in an account, still in escrow, claimed by a
 * provider or accrued to one, or back with the owner — and the market as a whole is solvent.
 */
async function conserved(
  c: MarketClient,
  root: bigint,
  deposit: bigint,
  withdrawn: bigint,
): Promise<{
  ok: boolean;
  spent: bigint;
  held: bigint;
  claimed: bigint;
  escrow: bigint;
  /** Paid to yards for relaying the ICONs' intents (their Relayed events). */
  relayFees: bigint;
  blockTag: number;
  solvency: Solvency;
}> {
  // Every figure at one block: the yards keep claiming meanwhile, and a claim read half before and half after
  // would count twice.
  const blockTag = await c.market.runner!.provider!.getBlockNumber();
  const read = <T>(fn: string, ...args: unknown[]): Promise<T> =>
    c.market.getFunction(fn).staticCall(...args, { blockTag }) as Promise<T>;
  let held = 0n;
  let escrow = 0n;
  let claimed = 0n;
  let relayFees = 0n;
  for (const a of await c.appAccounts(root)) {
    held += (await read<{ balance: bigint }>("account", a.id)).balance;
    for (const l of await c.market.queryFilter(c.market.filters.Relayed!(null, a.id), 0, blockTag))
      relayFees += (l as unknown as { args: bigint[] }).args[4]!;
    for (const id of await c.leasesOf(a.id)) {
      escrow += await read<bigint>("escrowOf", id);
      const logs = await c.market.queryFilter(c.market.filters.LeaseClaimed!(id), 0, blockTag);
      for (const l of logs) claimed += (l as unknown as { args: bigint[] }).args[1]!;
    }
  }
  const solvency = await c.solvency(blockTag);
  // After every lease ended, what is left in escrow is accrued and not yet claimed: the providers' too.
  const spent = claimed + escrow + relayFees;
  return {
    ok: solvency.ok && deposit === held + spent + withdrawn,
    spent,
    held,
    claimed,
    escrow,
    relayFees,
    blockTag,
    solvency,
  };
}
