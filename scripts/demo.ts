/**
 * `npm run demo`: containers that place themselves, on one machine — and their owner goes offline.
 *
 * An embedded chain with the market deployed; the packet-level WAN testbed (scripts/lib/netbed.ts, topology
 * scripts/netbed/topologies/demo.json): three ISPs with a client network each (A, B, and C without reverse names),
 * a transit network, the cloud — network namespaces joined by delay elements that delay every packet, routers that
 * answer traceroute. Four yards run as `icon yard start` processes with real Docker ("cloud", "edge-a" in ISP a,
 * "edge-b" in ISP b, "edge-t" in the transit network), listed and staked, each with its public side (ingress
 * listeners, the kernel's round trips, its probe's traceroute and ping) in its site's namespace and its control
 * plane (libp2p, the chain, its agent gateway for the ICON agents in its leases' sidecars) on a loopback address.
 * dnsmasq serves the public DNS view: each IEP's `_edge._tcp.<zone>` SRV record, the routers' and clients' reverse
 * names. The owner names only the cloud's zone; the ICONs learn the edges' zones from their clients' names and
 * from the routers on the paths to their clients (eDisco). There is no ALTO server: every latency an ICON uses is
 * measured — at its own site from its ingress connections, at a candidate by the candidate yard's ping.
 *
 * Story: the owner runs `icon app deploy` (a budget, a policy, the origin ICON's first placement at cloud, its
 * hand-over into its lease's agent sidecar) and the command exits: from then on nothing of the owner's runs, and
 * every ICON runs only as a sidecar in a lease → load from subnet A → the origin replicates to edge-a (the replica
 * handed into its own sidecar) and redirects A there → A's clients move to subnet B → the replica follows them to
 * edge-b, moving service and agent together → a minute into its lease there the replica's renewal founders (the
 * move cost it what its old lease ran and a relay fee, more than its two slots left room for): it asks its parent,
 * the origin has nothing spare (its own renewal founders too: the replication's relay fees came out of what it kept
 * for its next slot) and asks the owner on chain (FundingRequested, a relayed intent); no standing top-up rule
 * exists on chain, so the requests stay pending → the demo kills the edge yard that hosts the replica (SIGKILL,
 * its containers removed, nothing of it restarted; its listing stays) → the origin notices and places the replica
 * again elsewhere; the demo measures how long until every client is served again → the load ends (every client
 * stops: a renewal bought now would cut open connections, see below) → the idle replica terminates, its budget
 * flows back up → the owner returns, sees the pending funding requests (`icon app status`),
 * takes the ICONs' keys back, ends their leases, withdraws → books conserved.
 *
 * This script is the test bed's god view: it starts and kills yards, drives the clients and narrates from outside
 * the ICONs — the chain's events of the application (scripts/lib/godview.ts ChainWatch) and what each ICON agent
 * prints in its sidecar (`docker logs -f` of every `icon.role=agent` container of the demo's yards; the decision
 * lines carry their utility numbers). It never calls an ICON, and makes no call with the owner's key between the
 * hand-over and the owner's return.
 *
 * Writes a plot (latency per subnet and budget over time) to demo-out/plot.svg and ends with one line
 * `DEMO-SUMMARY {json}`; exits 1 unless the story held (see `ok` at the end).
 *
 * With --console (or `npm run demo --console`, which npm hands over as npm_config_console) the owner console
 * (`icon console`, console/) is served on the demo's chain from the start, its URL printed, and kept up after the
 * story until Ctrl-C: a browser wallet holding the owner's dev account sees the application live, and what its ICONs
 * report through the demo's yards (the console asks them: `/icons`, each with the owner's signed read grant naming it).
 *
 *   node scripts/demo.ts [--short] [--out <dir>] [--console]
 */
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs, promisify } from "node:util";
import { Wallet } from "ethers";
import { MarketClient, toTokens, type Solvency } from "../protocol/index.ts";
import { appStatus, formatStatus, fundingRequests, handedOver, stillOpen } from "../icon-agent/index.ts";
import { DockerRuntime, HostFirewall } from "../yard-node/index.ts";
import { projectRoot } from "./lib/hardhat.ts";
import {
  clientFor,
  runIcon,
  startMarket,
  startYardProcess,
  writeYardConfig,
  yardConfig,
  type YardProcess,
} from "./lib/testbed.ts";
import { reserveDnsPort, startDnsmasq } from "./lib/dnsmasq.ts";
import { Netbed, loadTopology } from "./lib/netbed.ts";
import { NetbedClients } from "./lib/netbed-clients.ts";
import { atSite, domainOf, publicDnsRecords } from "./lib/netbed-yards.ts";
import { startClients, type ClientLoad, type LoadFailure } from "./lib/loadgen.ts";
import { renderSvg, timeChartSpec } from "./lib/charts.ts";
import { ChainWatch, SidecarLogs, type AgentContainer, type ChainEvent } from "./lib/godview.ts";

const { values: args } = parseArgs({
  options: { short: { type: "boolean" }, out: { type: "string" }, console: { type: "boolean" } },
});
const CONSOLE = args.console === true || process.env.npm_config_console === "true";
const SHORT = args.short === true;
const OUT = path.resolve(args.out ?? path.join(projectRoot, "demo-out"));
const t0 = Date.now();
const T = (at = Date.now()): number => (at - t0) / 1000;
const say = (who: string, text: string): void =>
  console.log(`[${T().toFixed(1).padStart(5)}s] ${who.padEnd(10)} ${text}`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const SOCKET = DockerRuntime.defaultSocket();

// ------------------------------------------------------------------ the world
/** Each yard: its site in the testbed (same name), its control plane's loopback address and its prices. */
const YARDS = {
  cloud: { control: "127.0.1.1", cpu: "200 units", mem: "100 units" },
  "edge-a": { control: "127.0.1.2", cpu: "400 units", mem: "200 units" },
  "edge-b": { control: "127.0.1.3", cpu: "400 units", mem: "200 units" },
  "edge-t": { control: "127.0.1.4", cpu: "400 units", mem: "200 units" },
} as const;
type YardName = keyof typeof YARDS;
/** The client networks (testbed nodes): A and B near an edge each, C (no reverse names) near the cloud and transit. */
const SUBNETS = ["A", "B", "C"] as const;
type SubnetName = (typeof SUBNETS)[number];
/** The site where each subnet's clients end up served: whose round trip the ICON's estimate is held against. */
const CHOSEN: Record<SubnetName, YardName> = { A: "edge-a", B: "edge-b", C: "cloud" };
const TOPOLOGY = path.join(projectRoot, "scripts/netbed/topologies/demo.json");
/** The owner's dev key (index in the market's keys) and how long it stays away at least. */
const OWNER_KEY = 10;
const OWNER_AWAY_MIN_S = 60;
/** A client request's deadline, redirects included. */
const REQUEST_TIMEOUT_MS = 5000;

await run("bash", [path.join(projectRoot, "scripts/docker.sh"), "start"]);
await run("bash", [path.join(projectRoot, "scripts/images.sh")]);
const runtime = new DockerRuntime({ socketPath: SOCKET, yardId: "demo-probe" });
const imageId = await runtime.imageId("icon/web:1");
if (!imageId) throw new Error("icon/web:1 is missing: run bash scripts/images.sh");
// The demo's own tag of the agent image it just built: other checkouts on the same engine rebuild icon/agent:1,
// and the yards must find the image the sidecars were deployed with for as long as the demo runs.
const AGENT_IMAGE = `icon/agent:demo-${process.pid}`;
await runtime.docker.getImage("icon/agent:1").tag({ repo: "icon/agent", tag: `demo-${process.pid}` });

const m = await startMarket();
say("chain", `embedded Hardhat chain at ${m.chain.url}; market deployed (token ${m.deployment.token})`);
const yards: Partial<Record<YardName, YardProcess>> = {};
const yardIds: Record<string, YardName> = {};
const operators = new Map<string, YardName>();
const cleanup: Array<() => Promise<unknown>> = [];
let exitCode = 0;
/** Everything undone once, last registered first, whether the story ends or a signal comes first. */
let cleaned: Promise<void> | undefined;
const cleanUp = (): Promise<void> =>
  (cleaned ??= (async () => {
    for (const c of [...cleanup].reverse()) await c().catch(() => {});
    await m.close().catch(() => {});
    await runtime.docker
      .getImage(AGENT_IMAGE)
      .remove({ noprune: true })
      .catch(() => {});
  })());
// Ctrl-C (or a test's timeout) must not leave yards, containers or the chain behind.
for (const sig of ["SIGINT", "SIGTERM"] as const)
  process.once(sig, () => {
    console.error(`demo: ${sig}: cleaning up`);
    void cleanUp().then(() => process.exit(130));
  });
let consoleUrl: string | undefined;
try {
  if (CONSOLE) {
    const { ensureConsoleBuilt, startConsoleServer } = await import("./lib/console-server.ts");
    await ensureConsoleBuilt();
    // The ICONs' status (GET /icons) from the demo's yards, as they start and while they run.
    const init = {
      deployment: m.deployment,
      rpcUrl: m.chain.url,
      yardHttp: () => Object.values(yards).map((y) => y.http),
    };
    const server = await startConsoleServer({ ...init, port: 4173 }).catch(() =>
      startConsoleServer({ ...init, port: 0 }),
    );
    cleanup.push(() => server.close());
    consoleUrl = server.url;
    say(
      "console",
      `owner console at ${server.url}: the owner is the dev chain's account ${OWNER_KEY} (${new Wallet(m.keys[OWNER_KEY]!).address}, Hardhat's public dev mnemonic)`,
    );
  }
  // The WAN: namespaces, delay elements, routes, the ISPs' DNS. Everything of it dies with this process.
  const bed = await Netbed.start(await loadTopology(TOPOLOGY), { prefix: "demo" });
  cleanup.push(() => bed.close());
  const ZONE = Object.fromEntries(Object.keys(YARDS).map((n) => [n, domainOf(bed, n)])) as Record<YardName, string>;
  const clientNet = new NetbedClients(bed, Object.fromEntries(Object.keys(YARDS).map((n) => [n, bed.address(n)])));
  const rtt = (subnet: SubnetName, yard: YardName): number => bed.rttMs(subnet, yard);
  say(
    "wan",
    `testbed up (${bed.nodes().length} namespaces, ${bed.plan.links.length} delayed links); configured round trips ` +
      SUBNETS.map(
        (s) =>
          `${s} (${bed.subnet(s)}): ${(Object.keys(YARDS) as YardName[]).map((y) => `${y} ${rtt(s, y)} ms`).join(", ")}`,
      ).join("; ") +
      "; no ALTO server",
  );

  // Registered first: a yard that does not come up must not leave the others running.
  cleanup.push(async () => {
    await Promise.all(
      Object.entries(yards).map(async ([name, y]) => {
        y.child.kill("SIGTERM");
        // A yard's graceful stop is bounded; one that overstays is killed, and the demo says so.
        const stopped = await Promise.race([y.exited.then(() => true), sleep(30_000).then(() => false)]);
        if (stopped) return;
        console.error(`demo: yard ${name} did not stop within 30 s of SIGTERM: killed`);
        y.child.kill("SIGKILL");
        await y.exited;
      }),
    );
    for (const id of Object.keys(yardIds))
      await removeYardContainers(id).catch((e: unknown) =>
        console.error(`demo: cleanup of yard ${id}: ${(e as Error).message}`),
      );
  });
  // The discovery DNS server's port is picked first: each yard's DNS responder forwards to it what is not a
  // semantic name (its sidecars' SRV and PTR lookups); its records name the yards, so it starts after them.
  const dnsPort = await reserveDnsPort();
  const startYard = async (name: YardName, i: number): Promise<void> => {
    const y = YARDS[name];
    const key = m.keys[1 + i]!;
    operators.set(new Wallet(key).address.toLowerCase(), name);
    await m.admin.mint(new Wallet(key).address, m.admin.parse("1000"));
    const yardId = `demo-${name}-${process.pid}`;
    yardIds[yardId] = name;
    const file = await writeYardConfig(
      m,
      yardConfig(m, yardId, {
        // Its public side in its site's namespace (ingress, the clients' round trips, traceroute and ping), its
        // control plane on its loopback address.
        ...atSite(bed, name, y.control),
        listing: { domain: `${name}.icon.test`, region: name, stake: "100 iUSD" },
        pricing: { floorPerSecond: "10 units", cpuPerCoreSecond: y.cpu, memoryPerGiBSecond: y.mem },
        // Room for a few leases of service (250 mCPU / 64 MiB) plus agent sidecar (100 mCPU / 160 MiB).
        capacity: { cpuMillis: 2000, memoryMiB: 2048, pidsPerLease: 64 },
        overlay: { flowHalfLifeS: 2, dnsUpstream: `127.0.0.1:${dnsPort.port}` },
        // Every yard's control plane listens on a loopback address: their sidecars' /dial must reach there.
        agentGateway: { dialLoopback: true },
        ingress: { rttSampleS: 2 },
      }),
    );
    yards[name] = await startYardProcess(file, key);
    say("yard", `${name} listed and staked; ingress on ${bed.address(name)} in its site; ${yards[name]!.addr}`);
  };
  // The first alone: each `icon yard start` runs the set-up first, and three at once would race on its image build.
  const names = Object.keys(YARDS) as YardName[];
  await startYard(names[0]!, 0);
  await Promise.all(names.slice(1).map((n, i) => startYard(n, i + 1)));

  // The public DNS view: each IEP's SRV record in its own zone (pointing at its yard's control plane), the routers'
  // and clients' reverse names of the testbed (C's clients have none). The owner names only the cloud's domain; the
  // ICONs find the edges through their clients' names and the routers on the way to them.
  const records = publicDnsRecords(
    bed,
    Object.fromEntries((Object.keys(YARDS) as YardName[]).map((n) => [n, yards[n]!.addr])),
  );
  await dnsPort.release();
  const dns = await startDnsmasq({ records, port: dnsPort.port });
  cleanup.push(() => dns.stop());
  say(
    "dns",
    `dnsmasq at ${dns.server} (the yards' DNS upstream): ${(Object.keys(YARDS) as YardName[]).map((n) => `_edge._tcp.${ZONE[n]} → ${n}`).join(", ")}; ` +
      `the testbed's reverse names (routers; clients of A and B)`,
  );

  // ---------------------------------------------------------------- the god view
  const reader = await MarketClient.connect({ deployment: m.deployment, provider: m.provider });
  const ownerAddress = new Wallet(m.keys[OWNER_KEY]!).address;
  const app = { root: 0n, accounts: new Set<bigint>(), leases: new Set<bigint>(), iconKeys: new Set<string>() };
  const funding: ChainEvent[] = [];
  const chain = new ChainWatch({ market: reader.market, onEvent: (e) => narrateChain(e) });
  await chain.start();
  cleanup.push(() => chain.stop());

  const counts = { replications: 0, migrations: 0, terminations: 0, replacements: 0, replicaFounderings: 0 };
  const learned = new Set<string>();
  /** Yards the ICONs found only by path tomography (eDisco), and each round trip an ICON measured at its site. */
  const pathFound = new Set<string>();
  const rttSeen: Array<{ yard: string; subnet: string; rttMs: number; lijMs: number; atMs: number }> = [];
  /** Per client subnet (CIDR), the domains with IEPs the ICONs' traces of its path named. */
  const pathDomains = new Map<string, Set<string>>();
  let replacedAt: number | undefined;
  let ownerBack = false;
  let observed = 0;
  const sidecars = new SidecarLogs({ socket: SOCKET, yardIds: Object.keys(yardIds), onLine: narrateSidecar });
  sidecars.start();
  cleanup.push(() => sidecars.stop());

  // ---------------------------------------------------------------- the owner deploys, then goes offline
  await m.admin.mint(ownerAddress, m.admin.parse("50"));
  const dir = await mkdtemp(path.join(tmpdir(), "icon-demo-"));
  const appFile = path.join(dir, "app.json");
  const state = path.join(dir, "origin");
  await writeFile(
    appFile,
    JSON.stringify({
      service: {
        image: "icon/web:1",
        imageDigest: "0x" + imageId.slice("sha256:".length),
        ports: [8080],
        httpPorts: [8080],
        // deployApp fills in the app's namespace label r<root> (demo.r<root>.web.prod).
        name: "demo.web.prod",
        cpuMillis: 250,
        memoryMiB: 64,
        slotSeconds: 600,
      },
      discovery: { domains: ["icon.test"], dnsServers: [dns.server], learnDomains: true },
      initialRegion: "cloud",
      agent: {
        periodMs: 1000,
        halfLifeS: 1.5,
        coolDownS: 6,
        confirmations: 3,
        warmupS: 4,
        graceS: 60,
        // The next slot is bought a minute into each 10-minute slot, so renewals fall inside the owner's absence.
        renewBeforeS: 540,
        reportEveryMs: 1000,
        idleRate: 0.3,
        minKeepShare: 0.5,
        refLatencyMs: 100,
      },
      // The agent's share of every lease: the defaults (100 mCPU, 160 MiB), on top of the service's.
      sidecar: { image: AGENT_IMAGE },
    }),
  );
  // A budget sized to the unit for the story (slots of 600 s: 0.0552 iUSD at the cloud, 0.1104 iUSD at an edge,
  // service and agent): the origin's first slot and its next, and a replica's two slots (the least a replica is
  // given), 0.0008 iUSD to spare. What is paid covers the story; the renewals a minute into each lease do not: the
  // replication's two relayed intents (0.001 iUSD each) come out of what the origin kept for its next slot, and the
  // replica's move costs it what its old lease ran and the fee for ending it. Neither renewal is bought while the
  // owner is away (each lease still runs for minutes), so no lease changes under the clients.
  const deposit = m.admin.parse("0.332");
  say(
    "owner",
    "icon app deploy --deposit 0.332 --weight 0.7 --migrate-threshold 0.3 --replicate-threshold 0.5 --terminate-threshold 0.2 --max-price 0.002 (ICON keys hold no ETH: yards relay their calls for at most 0.005 iUSD each, 1 iUSD a day for the whole tree)",
  );
  const deployOut = await runIcon(
    m,
    [
      "app",
      "deploy",
      ...["--config", appFile, "--state", state, "--deposit", "0.332", "--wait", "120"],
      ...["--weight", "0.7", "--migrate-threshold", "0.3", "--replicate-threshold", "0.5"],
      ...["--terminate-threshold", "0.2", "--max-price", "0.002"],
      ...["--max-relay-fee", "0.005", "--relay-allowance-per-day", "1"],
    ],
    m.keys[OWNER_KEY]!,
  );
  for (const line of deployOut.split("\n").filter(Boolean)) say("owner", `│ ${line}`);
  const mark = await handedOver(state);
  if (!mark) throw new Error(`icon app deploy exited but ${state} is not marked handed over`);
  const offlineAt = mark.atMs;
  app.root = BigInt(/application (\d+) created/.exec(deployOut)![1]!);
  const entry = mark.endpoint;
  say(
    "owner",
    `goes offline: the origin runs in the sidecar of lease ${mark.leaseId} at ${mark.yard}; service entry point http://${entry}; the owner's processes have ended`,
  );

  // Budget over time (for the plot), read from the chain.
  const budget: Array<[number, number]> = [];
  const sampler = setInterval(() => {
    void appStatus(reader, app.root)
      .then((s) => budget.push([T(), toTokens(s.spent, reader.tokenInfo)]))
      .catch(() => {});
  }, 2000);
  cleanup.push(async () => clearInterval(sampler));

  // ---------------------------------------------------------------- the story
  // Each phase lasts long enough that its second half (where latency is measured) follows the move's settling.
  const phase = SHORT ? 12_000 : 15_000;
  const near = await startClients({
    network: clientNet,
    subnet: "C",
    entry,
    clients: 1,
    intervalMs: 300,
    timeoutMs: REQUEST_TIMEOUT_MS,
  });
  const moving = await startClients({
    network: clientNet,
    subnet: "A",
    entry,
    clients: 6,
    intervalMs: 50,
    timeoutMs: REQUEST_TIMEOUT_MS,
  });
  cleanup.push(() => Promise.all([near.stop(), moving.stop()]));
  const tA = Date.now();
  const marks: Array<[number, string]> = [[T(), "load from A"]];
  const phases: Array<[string, number]> = [["A", tA]];
  say("clients", `6 clients in subnet A and 1 in C start sending requests to http://${entry}`);

  await waitFor("a replication", () => counts.replications > 0, 120_000);
  const tRep = Date.now();
  marks.push([T(), "replica at edge-a"]);
  await sleep(phase);
  const latA = { before: moving.p50(tA, tRep), after: moving.p50(Date.now() - phase / 2, Date.now()) };
  say("clients", `subnet A p50: ${latA.before.toFixed(1)} ms before the replica, ${latA.after.toFixed(1)} ms after`);

  moving.setSubnet("B");
  const tB = Date.now();
  phases.push(["B", tB]);
  marks.push([T(), "clients move to B"]);
  say("clients", "the 6 clients move to subnet B (they keep using the instance they were sent to)");
  await waitFor("a migration", () => counts.migrations > 0, 120_000);
  const tMig = Date.now();
  marks.push([T(), "replica moves to edge-b"]);
  await sleep(phase);
  const latB = { before: moving.p50(tB, tMig), after: moving.p50(Date.now() - phase / 2, Date.now()) };
  say("clients", `subnet B p50: ${latB.before.toFixed(1)} ms before the move, ${latB.after.toFixed(1)} ms after`);
  // The replica at edge-b renews a minute into its lease: the move cost it what its old lease ran and the relay fee
  // for ending it, so its balance falls short of the next slot and it founders up the tree to the owner.
  if (counts.replicaFounderings === 0) {
    say("demo", "the load in B goes on until the replica's renewal is due (a minute into its lease)");
    await waitFor("the replica's funding request", () => counts.replicaFounderings > 0, 150_000);
    await chain.refresh();
  }

  // Mid-story: the edge yard that hosts the replica now dies — its process and its containers. Nothing of it
  // restarts; its listing stays in the registry (a dead yard does not unlist itself).
  await sidecars.refresh();
  const hosting = (await sidecars.running()).map((c) => yardIds[c.yardId]!).find((n) => n !== "cloud");
  if (!hosting) throw new Error("no edge yard runs an agent sidecar: nothing to kill");
  const killedId = Object.keys(yardIds).find((id) => yardIds[id] === hosting)!;
  const lostAgents = (await sidecars.running()).filter((c) => c.yardId === killedId).map((c) => c.id);
  const tKill = Date.now();
  yards[hosting]!.child.kill("SIGKILL");
  await yards[hosting]!.exited;
  await removeYardContainers(killedId);
  phases.push(["yardLoss", tKill]);
  marks.push([T(), `${hosting} killed`]);
  say(
    "demo",
    `KILLED yard ${hosting} (SIGKILL; its ${lostAgents.length} agent sidecar(s) and every container removed)`,
  );
  await waitFor("the lost replica to be placed again", () => replacedAt, 120_000);
  // Recovered when every moving client was served again by a request started after the re-placement.
  const tRecovered = await waitFor(
    "every client to be served again",
    () => {
      const firsts = Array.from({ length: 6 }, (_, i) =>
        moving.samples().find((s) => s.client === i && s.atMs >= replacedAt!),
      );
      return firsts.every((s) => s !== undefined) ? Math.max(...firsts.map((s) => s!.atMs)) : undefined;
    },
    60_000,
  );
  phases.push(["afterRecovery", tRecovered]);
  marks.push([T(tRecovered), "recovered"]);
  const recoveryS = (tRecovered - tKill) / 1000;
  say(
    "demo",
    `recovered ${recoveryS.toFixed(1)} s after the kill (re-placed after ${((replacedAt! - tKill) / 1000).toFixed(1)} s; every client served again since)`,
  );
  await sleep(phase);
  const servedAfterRecovery = moving.count(tRecovered, Date.now());

  // The load ends, subnet C's client too: the replica's budget flowing back up lets the origin buy its next slot,
  // and a renewal's Deploy takes the lease's containers over at once, cutting the connections open to its endpoint
  // (yard-node/leases.ts carryOver), which no client of the story should meet.
  await Promise.all([moving.stop(), near.stop()]);
  const tEnd = Date.now();
  phases.push(["idle", tEnd]);
  marks.push([T(), "the load ends"]);
  say("clients", "the clients in B and C stop");
  await waitFor("the idle replica to terminate", () => counts.terminations > 0, 120_000);
  marks.push([T(), "replica terminated"]);

  // The owner stays away at least a minute; the story usually takes longer.
  const awayS = (Date.now() - offlineAt) / 1000;
  if (awayS < OWNER_AWAY_MIN_S) {
    say("owner", `still away (${awayS.toFixed(0)} s so far)`);
    await sleep((OWNER_AWAY_MIN_S - awayS) * 1000 + 500);
  }
  await sidecars.refresh();
  await chain.refresh();
  const agentsInContainers = sidecars.containers().length;
  say(
    "demo",
    `${agentsInContainers} ICON instances ran as agent sidecars: ${sidecars
      .containers()
      .map((c) => `lease ${c.leaseId} at ${yardIds[c.yardId]}`)
      .join(", ")}`,
  );
  const failures = [...moving.failures(), ...near.failures()];
  const killedHost = `${bed.address(hosting)}:`;
  const phaseOf = (f: LoadFailure): string =>
    // A request under way to the killed yard when it died (started up to one request timeout before) failed with it.
    f.atMs >= tKill - REQUEST_TIMEOUT_MS && f.atMs < tRecovered && f.target.startsWith(killedHost)
      ? "yardLoss"
      : ([...phases].reverse().find(([, at]) => f.atMs >= at)?.[0] ?? "A");
  const failedRequests: Record<string, number> = Object.fromEntries(phases.map(([p]) => [p, 0]));
  for (const f of failures) {
    const p = phaseOf(f);
    failedRequests[p] = (failedRequests[p] ?? 0) + 1;
  }
  failedRequests.total = failures.length;
  const why = new Map<string, number>();
  for (const f of failures) {
    const k = `${phaseOf(f)}: ${f.reason} at ${f.target}`;
    why.set(k, (why.get(k) ?? 0) + 1);
  }
  for (const [k, n] of why) say("clients", `failed ${n}× in phase ${k}`);
  const failedOutsideLoss = failures.length - failedRequests.yardLoss!;
  const recoveredFromYardLoss =
    counts.replacements > 0 &&
    sidecars.containers().some((c) => c.seenAtMs >= tKill && c.yardId !== killedId) &&
    servedAfterRecovery > 0 &&
    failedRequests.afterRecovery === 0;
  // What the owner finds on return: the requests on chain, each pending until money reached its account in full.
  const requests = await fundingRequests(reader, app.root);
  const pending = requests.filter(stillOpen);
  say(
    "books",
    `${requests.length} funding request(s) on chain (${requests.map((r) => `account ${r.account} for ${reader.format(r.amount)}`).join(", ") || "none"}); no standing top-up rule exists in the market (the owner answers FundingRequested by hand), so ${pending.length} of them ${pending.length === 1 ? "was" : "were"} left pending while the owner was away`,
  );

  // What the owner sees on return (`icon app status`): the tree, the leases, the money.
  for (const line of formatStatus(reader, await appStatus(reader, app.root))) say("status", line);

  // ---------------------------------------------------------------- the owner returns and winds down
  const returnedAt = Date.now();
  ownerBack = true;
  const ownerOfflineS = (returnedAt - offlineAt) / 1000;
  const owner = await clientFor(m, OWNER_KEY);
  // The ICONs' keys first (every open account's, deepest first): an agent could otherwise open a new lease in the
  // moment between the end of its lease and its yard stopping the sidecar. The owner controls them from now on (no
  // intent of an ICON's passes). Then every live lease ends and every open replica account is closed (its balance
  // goes up), so that the root holds everything left.
  const open = (await reader.appAccounts(app.root))
    .filter((a) => !a.closed)
    .sort((x, y) => (y.depth !== x.depth ? y.depth - x.depth : Number(y.id - x.id)));
  for (const a of open) await (await owner.market.getFunction("setController")(a.id, ownerAddress)).wait();
  const ended: bigint[] = [];
  for (const a of open)
    for (const id of await reader.leasesOf(a.id))
      if (["Running", "Scheduled"].includes((await reader.lease(id)).state)) {
        await owner.terminate(id);
        ended.push(id);
      }
  const closedByOwner: bigint[] = [];
  for (const a of open)
    if (a.id !== app.root) {
      await owner.closeAccount(a.id);
      closedByOwner.push(a.id);
    }
  const rest = (await owner.account(app.root)).balance;
  await owner.withdrawFromRoot(app.root, rest, ownerAddress);
  say(
    "owner",
    `back after ${ownerOfflineS.toFixed(0)} s: took the ICONs' keys back (account(s) ${open.map((a) => a.id).join(", ")}), terminated lease(s) ${ended.join(", ") || "(none live)"}, closed replica account(s) ${closedByOwner.join(", ") || "(none open)"}; withdrew ${owner.format(rest)} from the application`,
  );
  const after = await appStatus(reader, app.root);
  const books = await conserved(reader, app.root, deposit, rest);
  const f = (v: bigint): string => owner.format(v);
  say(
    "books",
    `at block ${books.blockTag}: deposit ${f(deposit)} = in accounts ${f(books.held)} + claimed by yards ${f(books.claimed)} + accrued, unclaimed ${f(books.escrow)} + relay fees ${f(books.relayFees)} + back to the owner ${f(rest)} → ${books.ok ? "balanced" : "NOT BALANCED"}; market solvent: ${books.solvency.ok} (holds ${f(books.solvency.held)} = balances ${f(books.solvency.balances)} + escrow ${f(books.solvency.escrow)} + earnings ${f(books.solvency.earnings)})`,
  );
  budget.push([T(), toTokens(after.spent, reader.tokenInfo)]);

  // The plot.
  await mkdir(OUT, { recursive: true });
  const series = (h: ClientLoad, name: string) => ({
    name,
    points: h.series(1000).map((b) => [(b.tMs - t0) / 1000, b.p50] as [number, number]),
  });
  const plotFile = path.join(OUT, "plot.svg");
  await writeFile(
    plotFile,
    await renderSvg(
      timeChartSpec({
        title: "ICON demo (owner offline): client p50 latency per subnet and budget spent",
        panels: [
          {
            label: "client p50 latency",
            unit: "ms",
            series: [series(moving, "moving clients (A, then B)"), series(near, "subnet C")],
          },
          { label: "spent", unit: reader.tokenInfo.symbol, series: [{ name: "spent", points: budget }] },
        ],
        marks,
      }),
    ),
  );
  say("demo", `plot written to ${plotFile}`);

  // ICON keys hold no ETH for their whole life: never funded, never a transaction of their own (all relayed).
  await chain.refresh();
  let iconKeyGasWei = 0n;
  let iconKeyTransactions = 0;
  for (const k of app.iconKeys) {
    iconKeyGasWei += await m.provider.getBalance(k);
    iconKeyTransactions += await m.provider.getTransactionCount(k);
  }
  say(
    "books",
    `${app.iconKeys.size} ICON keys on chain: ${iconKeyGasWei} wei between them, ${iconKeyTransactions} transactions of their own; yards relayed their calls for ${f(books.relayFees)}`,
  );
  // The ICONs' own measured round trips against the testbed's configured ones: for each subnet, the median of what
  // the ICON serving it at its chosen site reported there.
  // The figure is l_ij's network term (the round trip); l_ij itself adds the service's own latency at the site.
  const latencyEstimates: Record<string, { estimateMs: number; configuredMs: number; samples: number; lijMs: number }> =
    {};
  const latencyEstimateErrorPct: Record<string, number> = {};
  for (const s of SUBNETS) {
    const seen = rttSeen.filter((r) => r.yard === CHOSEN[s] && r.subnet === bed.subnet(s));
    const configuredMs = rtt(s, CHOSEN[s]);
    const estimateMs = median(seen.map((r) => r.rttMs));
    const lijMs = median(seen.map((r) => r.lijMs));
    latencyEstimates[s] = { estimateMs: round(estimateMs), configuredMs, samples: seen.length, lijMs };
    latencyEstimateErrorPct[s] = round((100 * Math.abs(estimateMs - configuredMs)) / configuredMs);
    say(
      "wan",
      seen.length === 0
        ? `subnet ${s}: no ICON reported a measured round trip at ${CHOSEN[s]} (was it served elsewhere?); the testbed is configured for ${configuredMs} ms`
        : `subnet ${s} at ${CHOSEN[s]}: the ICON measured ${estimateMs.toFixed(1)} ms (median of ${seen.length}; l_ij with the service's own latency ${lijMs} ms), the testbed is configured for ${configuredMs} ms`,
    );
  }
  const summary = {
    oracle: false,
    pathDiscovered: pathFound.size,
    pathDiscoveredYards: [...pathFound].sort(),
    pathDomains: Object.fromEntries(
      SUBNETS.map((s) => [s, [...(pathDomains.get(bed.subnet(s)!) ?? [])].sort()]),
    ) as Record<SubnetName, string[]>,
    latencyEstimateErrorPct,
    latencyEstimates,
    replications: counts.replications,
    migrations: counts.migrations,
    learnedDomains: [...learned].sort(),
    terminations: counts.terminations,
    latencyBeforeMs: { A: round(latA.before), B: round(latB.before) },
    latencyAfterMs: { A: round(latA.after), B: round(latB.after) },
    requests: moving.count() + near.count(),
    failedRequests,
    agentsInContainers,
    ownerOfflineS: round(ownerOfflineS),
    killedYard: hosting,
    recoveredFromYardLoss,
    recoveryS: round(recoveryS),
    replacements: counts.replacements,
    fundingRequests: requests.length,
    fundingAmounts: requests.map((r) => r.amount.toString()),
    fundingAnswered: requests.length - pending.length,
    fundingPending: pending.length,
    deposit: deposit.toString(),
    spent: books.spent.toString(),
    returnedToOwner: rest.toString(),
    budgetConserved: books.ok,
    iconKeys: app.iconKeys.size,
    iconKeyGasWei: iconKeyGasWei.toString(),
    iconKeyTransactions,
    relayFees: books.relayFees.toString(),
    plot: plotFile,
    durationS: round(T()),
  };
  console.log(`DEMO-SUMMARY ${JSON.stringify(summary)}`);
  const ok =
    summary.agentsInContainers >= 3 &&
    iconKeyGasWei === 0n &&
    iconKeyTransactions === 0 &&
    summary.ownerOfflineS >= OWNER_AWAY_MIN_S &&
    recoveredFromYardLoss &&
    failedOutsideLoss === 0 &&
    summary.budgetConserved &&
    requests.length >= 1 &&
    requests.length === funding.length &&
    pending.length === requests.length &&
    summary.replications >= 1 &&
    summary.migrations >= 1 &&
    summary.learnedDomains.includes(ZONE["edge-a"]) &&
    summary.learnedDomains.includes(ZONE["edge-b"]) &&
    summary.pathDiscovered >= 1 &&
    pathFound.has("edge-t") &&
    summary.pathDomains.C.includes(ZONE["edge-t"]) &&
    Object.values(latencyEstimateErrorPct).every((e) => e <= 15) &&
    latA.after < latA.before * 0.5 &&
    latB.after < latB.before * 0.5;
  if (!ok) exitCode = 1;
  if (consoleUrl) {
    say("console", `the story is over; the owner console stays up at ${consoleUrl} until Ctrl-C`);
    await new Promise<never>(() => {}); // the SIGINT/SIGTERM handler above cleans up and exits
  }

  // ---------------------------------------------------------------- narration
  function narrateChain(e: ChainEvent): void {
    const n = (k: string): bigint => e.args[k] as bigint;
    const s = (k: string): string => e.args[k] as string;
    const fmt = (v: bigint): string => reader.format(v);
    const key = (k: string): string => `${k.slice(0, 8)}…`;
    const yard = (addr: string): string => operators.get(addr.toLowerCase()) ?? key(addr);
    switch (e.name) {
      case "AppCreated":
        if (s("owner").toLowerCase() !== ownerAddress.toLowerCase()) return;
        app.accounts.add(n("root"));
        app.iconKeys.add(s("controller"));
        return say("chain", `application ${n("root")} created by the owner; its origin's key ${key(s("controller"))}`);
      case "AccountCreated":
        if (!app.accounts.has(n("parent"))) return;
        app.accounts.add(n("account"));
        app.iconKeys.add(s("controller"));
        return say(
          "chain",
          `account ${n("account")} created below ${n("parent")} for ICON key ${key(s("controller"))}`,
        );
      case "ControllerChanged":
        if (!app.accounts.has(n("account"))) return;
        if (s("controller").toLowerCase() !== ownerAddress.toLowerCase()) app.iconKeys.add(s("controller"));
        return say("chain", `account ${n("account")} is controlled by ${key(s("controller"))} now`);
      case "Allocated":
        if (!app.accounts.has(n("parent"))) return;
        return say("chain", `account ${n("parent")} allocated ${fmt(n("amount"))} to ${n("child")}`);
      case "AccountClosed":
        if (!app.accounts.has(n("account"))) return;
        // A replica's account closes as it terminates (by itself, or finished by its parent: its agent stops with
        // its lease) — or at the owner's wind-down, which is not an ICON's termination.
        if (!ownerBack) counts.terminations++;
        return say("chain", `account ${n("account")} closed, ${fmt(n("returned"))} back to the parent`);
      case "FundingRequested":
        if (!app.accounts.has(n("account"))) return;
        funding.push(e);
        return say(
          "chain",
          `account ${n("account")} asks ${n("parent") === 0n ? "the owner" : `its parent ${n("parent")}`} for ${fmt(n("amount"))} (FundingRequested)`,
        );
      case "Relayed":
        if (!app.accounts.has(n("account"))) return;
        app.iconKeys.add(s("signer"));
        return say(
          "chain",
          `${yard(s("relayer"))} relayed an intent of ${key(s("signer"))} (account ${n("account")}), fee ${fmt(n("fee"))}`,
        );
      case "LeaseOpened":
        if (!app.accounts.has(n("account"))) return;
        app.leases.add(n("id"));
        return say(
          "chain",
          `lease ${n("id")} opened at ${yard(s("provider"))} for account ${n("account")}: ${fmt(n("pricePerSecond"))}/s, ${fmt(n("deposit"))} into escrow`,
        );
      case "LeaseTerminated":
        if (!app.leases.has(n("id"))) return;
        return say("chain", `lease ${n("id")} terminated, ${fmt(n("refund"))} refunded`);
      case "LeaseCancelled":
        if (!app.leases.has(n("id"))) return;
        return say("chain", `lease ${n("id")} cancelled (start missed), ${fmt(n("refund"))} refunded`);
      case "Withdrawn":
        if (!app.accounts.has(n("root"))) return;
        return say("chain", `${fmt(n("amount"))} withdrawn from application ${n("root")}`);
    }
  }

  function narrateSidecar(c: AgentContainer, line: string): void {
    const who = `${yardIds[c.yardId]}/${c.leaseId}`;
    const ev = /^\S+Z (\S+) (\w+): (.*)$/.exec(line);
    if (!ev) {
      if (/"level":"(warn|error)"|Error/.test(line)) say(who, line.slice(0, 300));
      else if (/^ICON .* running|terminated itself|retired/.test(line)) say(who, line);
      return;
    }
    const [, icon, kind, text] = ev as unknown as [string, string, string, string];
    if (kind === "replicated" && /lost with yard/.test(text)) {
      counts.replacements++;
      replacedAt ??= Date.now();
    } else if (kind === "replicated") counts.replications++;
    // A move in sidecars is told twice: by the old instance when it hands over, by the successor when it finished.
    if (kind === "migrated" && /^moved from/.test(text)) counts.migrations++;
    if (kind === "tree" && icon !== "origin" && /^foundering: asked for/.test(text)) counts.replicaFounderings++;
    if (kind === "discovered") {
      const d = /looking for _edge\._tcp\.(\S+)$/.exec(text)?.[1];
      if (d && !/^hop \d+ on the path/.test(text)) learned.add(d);
      const y = /^yard (\S+) found only by path tomography/.exec(text)?.[1];
      if (y) pathFound.add(y);
      const p = /^path to (\S+): \d+ hops, \d+ named; IEP domains on it: (.*)$/.exec(text);
      for (const d of p?.[2]!.matchAll(/(\S+) \(hop \d+, [^)]*\)/g) ?? [])
        pathDomains.set(p![1]!, new Set([...(pathDomains.get(p![1]!) ?? []), d[1]!]));
    }
    if (kind === "observe") {
      const at = /^at (\S+): (.*); U=/.exec(text);
      for (const m of at?.[2]!.matchAll(/(\S+) [\d.]+\/s (\d+) ms \(rtt ([\d.]+)\)/g) ?? [])
        rttSeen.push({ yard: at![1]!, subnet: m[1]!, lijMs: Number(m[2]), rttMs: Number(m[3]), atMs: Date.now() });
    }
    if (kind === "observe" && !/→ (replicate|migrate|terminate)/.test(text) && observed++ % 5 !== 0) return;
    say(who, `${icon} ${kind}: ${text}`);
  }
} catch (e) {
  console.error(`demo failed: ${(e as Error).stack ?? String(e)}`);
  exitCode = 1;
} finally {
  await cleanUp();
}
process.exit(exitCode);

// ------------------------------------------------------------------ helpers

function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}

async function run(cmd: string, a: string[]): Promise<void> {
  await promisify(execFile)(cmd, a, { env: { ...process.env, ICON_DOCKER_SOCKET: SOCKET } });
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
  const docker = ["-H", `unix://${SOCKET}`];
  const run = (a: string[]) => promisify(execFile)("/usr/bin/docker", [...docker, ...a]);
  const { stdout } = await run(["ps", "-aq", "--filter", `label=icon.yard=${yardId}`]);
  const ids = stdout.split("\n").filter(Boolean);
  if (ids.length > 0) await run(["rm", "-f", ...ids]);
  const nets = await run(["network", "ls", "-q", "--filter", `label=icon.yard=${yardId}`]);
  const names = [...nets.stdout.split("\n").filter(Boolean), `icon-${yardId}`];
  for (const n of new Set(names))
    await run(["network", "rm", n]).catch((e: { stderr?: string }) => {
      if (!/not found|No such network/i.test(e.stderr ?? ""))
        console.error(`demo: removing network ${n} of yard ${yardId}: ${(e.stderr ?? String(e)).trim()}`);
    });
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
    for (const args of await c.logs(c.market, "Relayed", [null, a.id], { toBlock: blockTag }))
      relayFees += args[4] as bigint;
    for (const id of await c.leasesOf(a.id)) {
      escrow += await read<bigint>("escrowOf", id);
      for (const args of await c.logs(c.market, "LeaseClaimed", [id], { toBlock: blockTag }))
        claimed += args[1] as bigint;
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
