/**
 * The demo's set-up (scripts/demo.ts): the Docker engine and images, the embedded chain with the market, and — once
 * the clean-up is in place — the owner console (--console), the WAN testbed's namespaces, the four yards and the
 * public DNS view. Everything started registers its undoing in `cleanup`.
 */
import path from "node:path";
import { Wallet } from "ethers";
import { DockerRuntime } from "../../yard-node/index.ts";
import { projectRoot } from "../lib/hardhat.ts";
import { startMarket, startYardProcess, writeYardConfig, yardConfig } from "../lib/testbed.ts";
import type { TestMarket, YardProcess } from "../lib/testbed.ts";
import { reserveDnsPort, startDnsmasq, type Dnsmasq } from "../lib/dnsmasq.ts";
import { Netbed, loadTopology } from "../lib/netbed.ts";
import { NetbedClients } from "../lib/netbed-clients.ts";
import { atSite, domainOf, publicDnsRecords } from "../lib/netbed-yards.ts";
import {
  OWNER_KEY,
  SOCKET,
  SUBNETS,
  TOPOLOGY,
  YARDS,
  removeYardContainers,
  run,
  say,
  sleep,
  type SubnetName,
  type YardName,
} from "./world.ts";

/** The engine and the chain, and the clean-up that undoes whatever is started from here on. */
export interface Base {
  m: TestMarket;
  runtime: DockerRuntime;
  /** icon/web:1's image id. */
  imageId: string;
  /** The demo's own tag of the agent image. */
  agentImage: string;
  /** What `cleanUp` undoes, last registered first. */
  cleanup: Array<() => Promise<unknown>>;
  /** Everything undone once, whether the story ends or a signal comes first. */
  cleanUp(): Promise<void>;
}

/** The world the story runs in. */
export interface World extends Base {
  bed: Netbed;
  /** Each yard's DNS zone in the testbed. */
  zone: Record<YardName, string>;
  clientNet: NetbedClients;
  /** The testbed's configured round trip from a subnet to a yard's site (ms). */
  rtt(subnet: SubnetName, yard: YardName): number;
  yards: Partial<Record<YardName, YardProcess>>;
  /** Yard id → its name in the story. */
  yardIds: Record<string, YardName>;
  /** Operator address (lower case) → its yard's name. */
  operators: Map<string, YardName>;
  dns: Dnsmasq;
  consoleUrl: string | undefined;
}

/** The engine, its images and the chain; Ctrl-C (or a test's timeout) from here on cleans up and exits 130. */
export async function prepare(): Promise<Base> {
  await run("bash", [path.join(projectRoot, "scripts/docker.sh"), "start"]);
  await run("bash", [path.join(projectRoot, "scripts/images.sh")]);
  const runtime = new DockerRuntime({ socketPath: SOCKET, yardId: "demo-probe" });
  const imageId = await runtime.imageId("icon/web:1");
  if (!imageId) throw new Error("icon/web:1 is missing: run bash scripts/images.sh");
  // The demo's own tag of the agent image it just built: other checkouts on the same engine rebuild icon/agent:1,
  // and the yards must find the image the sidecars were deployed with for as long as the demo runs.
  const agentImage = `icon/agent:demo-${process.pid}`;
  await runtime.docker.getImage("icon/agent:1").tag({ repo: "icon/agent", tag: `demo-${process.pid}` });

  const m = await startMarket();
  say("chain", `embedded Hardhat chain at ${m.chain.url}; market deployed (token ${m.deployment.token})`);
  const cleanup: Array<() => Promise<unknown>> = [];
  let cleaned: Promise<void> | undefined;
  const cleanUp = (): Promise<void> =>
    (cleaned ??= (async () => {
      for (const c of [...cleanup].reverse()) await c().catch(() => {});
      await m.close().catch(() => {});
      await runtime.docker
        .getImage(agentImage)
        .remove({ noprune: true })
        .catch(() => {});
    })());
  // Ctrl-C (or a test's timeout) must not leave yards, containers or the chain behind.
  for (const sig of ["SIGINT", "SIGTERM"] as const)
    process.once(sig, () => {
      console.error(`demo: ${sig}: cleaning up`);
      void cleanUp().then(() => process.exit(130));
    });
  return { m, runtime, imageId, agentImage, cleanup, cleanUp };
}

/** The owner console (with `console`), the WAN testbed, the four yards listed and staked, the public DNS view. */
export async function setUp(base: Base, o: { console: boolean }): Promise<World> {
  const { m, cleanup } = base;
  const yards: Partial<Record<YardName, YardProcess>> = {};
  const yardIds: Record<string, YardName> = {};
  const operators = new Map<string, YardName>();
  let consoleUrl: string | undefined;
  if (o.console) {
    const { ensureConsoleBuilt, startConsoleServer } = await import("../lib/console-server.ts");
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
  return { ...base, bed, zone: ZONE, clientNet, rtt, yards, yardIds, operators, dns, consoleUrl };
}
