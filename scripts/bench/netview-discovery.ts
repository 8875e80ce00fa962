/**
 * bench:netview's discovery part: how long a client subnet the ICON has never seen waits for its candidate list.
 * On the demo topology (scripts/netbed/topologies/demo.json) with no ALTO server: a market, yards at "cloud",
 * "edge-a", "edge-b" and "edge-t" (their public sides in their sites' namespaces, as scripts/demo.ts runs them),
 * the public DNS view on dnsmasq, and one ICON deployed at cloud with `icon app deploy` (its agent in its lease's
 * sidecar; policy thresholds at 1, so it never moves and only its discovery is timed). Then load from one client
 * network at a time, each new to the ICON: C first (no reverse names: its IEP, edge-t in the transit network, can
 * only be found by path tomography, and C's path is the only one traced by then), then A (edge-a), then B (edge-b).
 *
 * discoveryMs of a subnet = from the start of its first client's first request (the load generator's sample, epoch
 * ms) to the agent's line "discovered: yard <IEP> measured <subnet>: round trip …" (icon-agent/observation.ts, told
 * when the first signed round trip of that candidate towards that subnet is kept: the IEP is discovered and its
 * l_ij measured, both). Its breakdown, from the agent's own lines (each stamped by the agent, same host clock):
 * `ptrMs` to "a client in <subnet> points to <IEP's domain>" (PTR learned), `pathMs` to "hop N on the path to
 * <subnet> … points to <IEP's domain>" (path tomography), whichever came. The candidate's measured round trip is
 * judged against the testbed's configured one. Cleans up after itself (also on Ctrl-C): sidecar followers, yards
 * and their containers, dnsmasq, the bed, the chain, the image tag.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { Wallet } from "ethers";
import { handedOver } from "../../icon-agent/index.ts";
import { DockerRuntime } from "../../yard-node/index.ts";
import { projectRoot } from "../lib/hardhat.ts";
import { reserveDnsPort, startDnsmasq } from "../lib/dnsmasq.ts";
import { SidecarLogs } from "../lib/godview.ts";
import { startClients } from "../lib/loadgen.ts";
import { Netbed, loadTopology } from "../lib/netbed.ts";
import { NetbedClients } from "../lib/netbed-clients.ts";
import { atSite, domainOf, publicDnsRecords } from "../lib/netbed-yards.ts";
import {
  removeYardLeftovers,
  runIcon,
  startMarket,
  startYardProcess,
  writeYardConfig,
  yardConfig,
  type YardProcess,
} from "../lib/testbed.ts";

/** Each yard's control-plane loopback address (not the demo's, which may run beside). */
const YARDS = { cloud: "127.0.2.1", "edge-a": "127.0.2.2", "edge-b": "127.0.2.3", "edge-t": "127.0.2.4" } as const;
type YardName = keyof typeof YARDS;
/** In this order: C's path is traced before any other's (A's and B's pass the transit network too). */
const RUNS: { subnet: string; iep: YardName }[] = [
  { subnet: "C", iep: "edge-t" },
  { subnet: "A", iep: "edge-a" },
  { subnet: "B", iep: "edge-b" },
];
const OWNER_KEY = 10;
/** A subnet's candidate list must come within this (discovery runs every 30 s at the latest). */
const RUN_TIMEOUT_MS = 120_000;

/** One subnet's discovery. */
export interface DiscoveryRun {
  subnet: string;
  iep: YardName;
  /** No reverse names: its IEP can come from path tomography only. */
  pathOnly: boolean;
  discoveryMs: number;
  /** From the first request to the first agent period whose telemetry showed the subnet (its observe line). */
  seenMs?: number;
  /** From the first request to the PTR learned / the path hop naming the IEP's domain (absent: not that way). */
  ptrMs?: number;
  pathMs?: number;
  /** The IEP's first measured round trip towards the subnet, and the testbed's configured one. */
  rttMs: number;
  configuredMs: number;
}

interface AgentLine {
  atMs: number;
  icon: string;
  kind: string;
  text: string;
}

/** Runs the discovery part; `say` prints progress. Throws when a subnet's candidate list did not come. */
export async function discoveryBench(say: (text: string) => void): Promise<DiscoveryRun[]> {
  const socket = DockerRuntime.defaultSocket();
  const runtime = new DockerRuntime({ socketPath: socket, yardId: "netview-probe" });
  const agentTag = `netview-${process.pid}`;
  await ownAgentImage(socket, `icon/agent:${agentTag}`);
  const web = await runtime.imageId("icon/web:1");
  if (!web) throw new Error("icon/web:1 is missing: run bash scripts/images.sh");

  const cleanup: Array<() => Promise<unknown>> = [];
  cleanup.push(() => runtime.docker.getImage(`icon/agent:${agentTag}`).remove({ noprune: true }));
  let cleaned: Promise<void> | undefined;
  const cleanUp = (): Promise<void> =>
    (cleaned ??= (async () => {
      for (const c of cleanup.reverse()) await c().catch(() => {});
    })());
  const onSignal = (sig: NodeJS.Signals): void => {
    say(`${sig}: cleaning up`);
    void cleanUp().then(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    const m = await startMarket();
    cleanup.push(() => m.close());
    const bed = await Netbed.start(await loadTopology(path.join(projectRoot, "scripts/netbed/topologies/demo.json")), {
      prefix: `netview-disc-${process.pid}`,
    });
    cleanup.push(() => bed.close());
    const names = Object.keys(YARDS) as YardName[];
    const yards: Partial<Record<YardName, YardProcess>> = {};
    const yardIds = names.map((n) => `nvd-${n}-${process.pid}`);
    cleanup.push(async () => {
      await Promise.all(
        Object.values(yards).map(async (y) => {
          y.child.kill("SIGTERM");
          await y.exited;
        }),
      );
      for (const id of yardIds)
        await removeYardLeftovers(new DockerRuntime({ socketPath: socket, yardId: id }), (why) => say(why));
    });
    const dnsPort = await reserveDnsPort();
    const startYard = async (name: YardName, i: number): Promise<void> => {
      const key = m.keys[1 + i]!;
      await m.admin.mint(new Wallet(key).address, m.admin.parse("1000"));
      const file = await writeYardConfig(
        m,
        yardConfig(m, yardIds[i]!, {
          ...atSite(bed, name, YARDS[name]),
          listing: { domain: `${name}.icon.test`, region: name, stake: "100 iUSD" },
          pricing: { floorPerSecond: "10 units", cpuPerCoreSecond: "200 units", memoryPerGiBSecond: "100 units" },
          capacity: { cpuMillis: 2000, memoryMiB: 2048, pidsPerLease: 64 },
          overlay: { flowHalfLifeS: 2, dnsUpstream: `127.0.0.1:${dnsPort.port}` },
          agentGateway: { dialLoopback: true },
          ingress: { rttSampleS: 2 },
        }),
      );
      yards[name] = await startYardProcess(file, key);
    };
    // The first alone: each `icon yard start` runs the set-up first, and several at once would race on it.
    await startYard(names[0]!, 0);
    await Promise.all(names.slice(1).map((n, i) => startYard(n, i + 1)));
    const records = publicDnsRecords(bed, Object.fromEntries(names.map((n) => [n, yards[n]!.addr])));
    await dnsPort.release();
    const dns = await startDnsmasq({ records, port: dnsPort.port });
    cleanup.push(() => dns.stop());
    say(`discovery: 4 yards on the demo topology, public DNS at ${dns.server}; the owner deploys an ICON at cloud …`);

    const lines: AgentLine[] = [];
    const sidecars = new SidecarLogs({
      socket,
      yardIds,
      onLine: (_c, line) => {
        const ev = /^(\S+Z) (\S+) (\w+): (.*)$/.exec(line);
        if (ev) lines.push({ atMs: Date.parse(ev[1]!), icon: ev[2]!, kind: ev[3]!, text: ev[4]! });
      },
    });
    sidecars.start();
    cleanup.push(() => sidecars.stop());

    const dir = await mkdtemp(path.join(tmpdir(), "icon-netview-"));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const state = path.join(dir, "origin");
    await writeFile(
      path.join(dir, "app.json"),
      JSON.stringify({
        service: {
          image: "icon/web:1",
          imageDigest: "0x" + web.slice("sha256:".length),
          ports: [8080],
          httpPorts: [8080],
          name: "netview.web.prod",
          cpuMillis: 250,
          memoryMiB: 64,
          slotSeconds: 600,
        },
        discovery: { domains: ["icon.test"], dnsServers: [dns.server], learnDomains: true },
        initialRegion: "cloud",
        agent: { periodMs: 1000, halfLifeS: 1.5, warmupS: 4, refLatencyMs: 100, idleRate: 0.3 },
        sidecar: { image: `icon/agent:${agentTag}` },
      }),
    );
    const owner = m.keys[OWNER_KEY]!;
    await m.admin.mint(new Wallet(owner).address, m.admin.parse("50"));
    await runIcon(
      m,
      [
        "app",
        "deploy",
        ...["--config", path.join(dir, "app.json"), "--state", state, "--deposit", "0.3", "--wait", "120"],
        ...["--weight", "0.7", "--migrate-threshold", "1", "--replicate-threshold", "1"],
        ...["--terminate-threshold", "0.2", "--max-price", "0.002"],
      ],
      owner,
    );
    const mark = await handedOver(state);
    if (!mark) throw new Error(`icon app deploy exited but ${state} is not marked handed over`);
    // The sidecar's first periods (its own discovery of the owner's domain) before any client comes.
    await waitFor("the origin's agent at work", () => lines.some((l) => l.icon === "origin"), 60_000);
    await new Promise((r) => setTimeout(r, 5000));
    const clients = new NetbedClients(bed, Object.fromEntries(names.map((n) => [n, bed.address(n)])));
    const out: DiscoveryRun[] = [];
    for (const { subnet, iep } of RUNS) {
      const cidr = bed.subnet(subnet)!;
      const domain = domainOf(bed, iep);
      const load = await startClients({ network: clients, subnet, entry: mark.endpoint, clients: 2, intervalMs: 200 });
      let done: AgentLine | undefined;
      try {
        done = await waitFor(
          `yard ${iep}'s measured round trip towards ${subnet} (${cidr})`,
          () => lines.find((l) => l.icon === "origin" && l.text.startsWith(`yard ${iep} measured ${cidr}:`)),
          RUN_TIMEOUT_MS,
        );
      } catch (e) {
        for (const l of lines.filter((x) => x.icon === "origin" && x.kind !== "observe").slice(-20))
          say(`  origin ${l.kind}: ${l.text}`);
        throw e;
      } finally {
        await load.stop();
      }
      const first = Math.min(...load.samples().map((s) => s.atMs), ...load.failures().map((f) => f.atMs));
      if (!Number.isFinite(first)) throw new Error(`no request of subnet ${subnet} was recorded`);
      const at = (re: RegExp): number | undefined => {
        const l = lines.find((x) => x.icon === "origin" && re.test(x.text));
        return l ? l.atMs - first : undefined;
      };
      const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
      // The first period whose telemetry showed the subnet (the agent's observe line names it with its figures).
      const seenMs = at(new RegExp(`^at \\S+: (.*[ ,;])?${esc(cidr)} `));
      const ptrMs = at(new RegExp(`^a client in ${esc(cidr)} points to ${esc(domain)}:`));
      const pathMs = at(new RegExp(`^hop \\d+ on the path to ${esc(cidr)} .* points to ${esc(domain)}:`));
      const run: DiscoveryRun = {
        subnet,
        iep,
        pathOnly: bed.plan.topology.nodes[subnet]!.ptr === false,
        discoveryMs: done.atMs - first,
        ...(seenMs === undefined ? {} : { seenMs }),
        ...(ptrMs === undefined ? {} : { ptrMs }),
        ...(pathMs === undefined ? {} : { pathMs }),
        rttMs: Number(/round trip ([\d.]+) ms/.exec(done.text)![1]),
        configuredMs: bed.rttMs(subnet, iep),
      };
      out.push(run);
      say(
        `discovery of ${subnet} (${cidr}): ${iep} a measured candidate after ${run.discoveryMs} ms` +
          ` (seen ${seenMs ?? "—"} ms, PTR learned ${ptrMs ?? "—"} ms, path hop ${pathMs ?? "—"} ms); its round trip ${run.rttMs} ms, configured ${run.configuredMs} ms`,
      );
      // The subnet's flows fade before the next subnet comes (half-life 2 s at the yard).
      await new Promise((r) => setTimeout(r, 3000));
    }
    return out;
  } finally {
    await cleanUp();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

/**
 * This checkout's agent image under `ref`: images.sh builds icon/agent:1 from this checkout's sources, but another
 * checkout on the same engine may rebuild that tag between the build and the tagging — so the tagged image's bundle
 * is compared with the one images.sh made here (.icon/images/agent/), and the build tried again when it differs.
 */
async function ownAgentImage(socket: string, ref: string): Promise<void> {
  const exec = promisify(execFile);
  const docker = (a: string[]) =>
    exec("/usr/bin/docker", ["-H", `unix://${socket}`, ...a], { encoding: "buffer", maxBuffer: 64 << 20 });
  const env = { ...process.env, ICON_DOCKER_SOCKET: socket };
  for (let attempt = 1; ; attempt++) {
    await exec("bash", [path.join(projectRoot, "scripts/images.sh")], { env });
    await docker(["tag", "icon/agent:1", ref]);
    const mine = await readFile(path.join(projectRoot, ".icon/images/agent/app/icon-agent.js"));
    const id = (await docker(["create", ref])).stdout.toString().trim();
    let theirs: Buffer;
    try {
      theirs = (await docker(["cp", `${id}:/app/icon-agent.js`, "-"])).stdout; // a tar of the one file
    } finally {
      await docker(["rm", "-f", id]).catch(() => {});
    }
    if (theirs.includes(mine)) return;
    await docker(["rmi", ref]).catch(() => {});
    if (attempt === 3) throw new Error("icon/agent:1 keeps being rebuilt by another checkout: no image of this one");
  }
}

async function waitFor<T>(what: string, check: () => T | undefined | false, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = check();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
