/**
 * eDisco end to end on the packet-level testbed (scripts/lib/netbed.ts): a client network "C" without reverse names
 * whose ISP reaches everything only through a transit network, the transit network hosting an IEP ("edge-t", 5 ms
 * one way from C), the cloud 50 ms one way from C behind it, and a second client network "D" beside the cloud. Two
 * yards run as `icon yard start` processes with real Docker, their public sides in their sites' namespaces; dnsmasq
 * serves the public DNS view (each yard's `_edge._tcp` SRV record, the routers' reverse names — none for clients).
 * The owner deploys an ICON at the cloud with `icon app deploy` naming only the cloud's domain; the origin runs in
 * its lease's sidecar. The transit domain is reachable only through the routers on the path to C: no client PTR
 * names, not in discovery.domains, no registry discovery. Load from C (and a little from D, which keeps the pinned
 * origin serving at the cloud) must make the ICON trace the path to C, find edge-t there, place a replica at edge-t
 * (a lease opened at edge-t's operator for the app's accounts) and redirect C's clients to it, whose latency then
 * falls well below what the cloud gave them. Nothing of the run is left afterwards.
 */
import { expect } from "chai";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { access, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { Wallet } from "ethers";
import { MarketClient } from "../../../protocol/index.ts";
import { handedOver } from "../../../icon-agent/index.ts";
import { DockerRuntime } from "../../../yard-node/index.ts";
import {
  removeYardLeftovers,
  runIcon,
  startMarket,
  startYardProcess,
  writeYardConfig,
  yardConfig,
  type TestMarket,
  type YardProcess,
} from "../../../scripts/lib/testbed.ts";
import { reserveDnsPort, startDnsmasq, type Dnsmasq } from "../../../scripts/lib/dnsmasq.ts";
import { Netbed, type Topology } from "../../../scripts/lib/netbed.ts";
import { NetbedClients } from "../../../scripts/lib/netbed-clients.ts";
import { atSite, publicDnsRecords } from "../../../scripts/lib/netbed-yards.ts";
import { startClients, type ClientLoad } from "../../../scripts/lib/loadgen.ts";
import { ChainWatch } from "../../../scripts/lib/godview.ts";
import { buildAgentImage, docker } from "../../helpers/agent-image.ts";
import { WEB_IMAGE, ensureEngine, waitFor } from "../../helpers/docker.ts";

// C – c-gw – t-r1 – edge-t: 2 + 2 + 1 = 5 ms one way; C – c-gw – t-r1 – cloud-gw – cloud: 2 + 2 + 45 + 1 = 50 ms.
// D, beside the cloud (3 ms), keeps the origin busy where it is: the origin is pinned to its first placement, and a
// replica is placed only for some of its subnets (decision.ts evaluate), so C alone would never be moved off it.
const TOPOLOGY: Topology = {
  networks: {
    c: { domain: "c.isp.test" },
    transit: { domain: "transit.test" },
    cloud: { domain: "icon.test" },
  },
  nodes: {
    C: { network: "c", role: "clients", ptr: false },
    D: { network: "cloud", role: "clients", ptr: false },
    "c-gw": { network: "c", role: "router" },
    "t-r1": { network: "transit", role: "router" },
    "edge-t": { network: "transit", role: "site", iep: { port: 4001 } },
    "cloud-gw": { network: "cloud", role: "router" },
    cloud: { network: "cloud", role: "site", iep: { port: 4001 } },
  },
  links: [
    { a: "C", b: "c-gw", delayMs: 2 },
    { a: "c-gw", b: "t-r1", delayMs: 2 },
    { a: "t-r1", b: "edge-t", delayMs: 1 },
    { a: "t-r1", b: "cloud-gw", delayMs: 45 },
    { a: "cloud-gw", b: "cloud", delayMs: 1 },
    { a: "D", b: "cloud-gw", delayMs: 2 },
  ],
};

/** The two yards: their sites (same names), control-plane loopback addresses and prices (the edge dearer). */
const YARDS = {
  cloud: { control: "127.0.9.1", cpu: "200 units", mem: "100 units" },
  "edge-t": { control: "127.0.9.2", cpu: "400 units", mem: "200 units" },
} as const;
type YardName = keyof typeof YARDS;
const OWNER_KEY = 10;
const SOCKET = DockerRuntime.defaultSocket();

describe("eDisco on the packet-level testbed: an ICON finds a transit IEP on the path to PTR-less clients and uses it", function () {
  this.timeout(300_000);
  const run = `${process.pid}-${randomBytes(2).toString("hex")}`;
  const prefix = `ee-${run}`;
  const agentImage = `icon/agent:ee-test-${run}`;
  const yardIds: Record<string, YardName> = {
    [`ee-cloud-${run}`]: "cloud",
    [`ee-edge-t-${run}`]: "edge-t",
  };
  const idOf = (name: YardName): string => Object.keys(yardIds).find((id) => yardIds[id] === name)!;
  let m: TestMarket | undefined;
  let bed: Netbed | undefined;
  let dns: Dnsmasq | undefined;
  /** The public DNS view's port while it is held for dnsmasq (a failed start must not leave it bound). */
  let reserved: { release(): Promise<void> } | undefined;
  let chain: ChainWatch | undefined;
  let reading: NodeJS.Timeout | undefined;
  let load: ClientLoad | undefined;
  let near: ClientLoad | undefined;
  /** The owner's app config and the origin's state (its key among them). */
  let appDir: string | undefined;
  const yards: Partial<Record<YardName, YardProcess>> = {};
  /**
   * What each agent sidecar of the yards printed ("<yard>/<lease> <line>"), read whole from the engine every second
   * (`docker logs`, stdout and stderr; a follower's stream can end while the container lives on).
   */
  const output = new Map<string, string[]>();
  const agentLines = (): string[] => [...output.values()].flat();
  const timeline = (): string => agentLines().slice(-150).join("\n");
  const readAgents = async (): Promise<void> => {
    const ps = await docker([
      "ps",
      "-a",
      "--no-trunc",
      "--filter",
      "label=icon.role=agent",
      "--format",
      '{{.ID}} {{.Label "icon.yard"}} {{.Label "icon.lease"}}',
    ]);
    for (const [id, yardId, lease] of ps.stdout.split("\n").map((l) => l.trim().split(" "))) {
      if (!id || !yardId || !(yardId in yardIds)) continue;
      const r = await docker(["logs", id]).catch(() => undefined);
      if (!r) continue;
      const text = `${r.stdout}\n${r.stderr}`.split("\n").filter((l) => l.trim() !== "");
      // stdout and stderr apart: the agent's event lines (stdout, timestamped) in order, its warnings after them.
      if (text.length >= (output.get(id)?.length ?? 0))
        output.set(
          id,
          text.map((l) => `${yardIds[yardId]}/${lease} ${l}`),
        );
    }
  };

  let cleaned: Promise<void> | undefined;
  const cleanUp = (): Promise<void> =>
    (cleaned ??= (async () => {
      const quiet = (p: Promise<unknown> | undefined): Promise<unknown> => (p ?? Promise.resolve()).catch(() => {});
      await quiet(load?.stop());
      await quiet(near?.stop());
      clearInterval(reading);
      await quiet(chain?.stop());
      await Promise.all(
        Object.values(yards).map(async (y) => {
          y.child.kill("SIGTERM");
          await y.exited;
        }),
      );
      // A yard keeps its containers, network and firewall table for its next start; these have none.
      for (const id of Object.keys(yardIds))
        await quiet(removeYardLeftovers(new DockerRuntime({ socketPath: SOCKET, yardId: id }), () => {}));
      await quiet(reserved?.release());
      await quiet(dns?.stop());
      await quiet(bed?.close());
      await quiet(m?.close());
      await quiet(docker(["rmi", "-f", agentImage]));
      if (appDir) await quiet(rm(appDir, { recursive: true, force: true }));
    })());

  before(async function () {
    this.timeout(180_000);
    await ensureEngine();
    // This checkout's agent under the suite's own tag: other checkouts rebuild icon/agent:1 on the shared engine.
    await buildAgentImage(agentImage);
    m = await startMarket();
    bed = await Netbed.start(TOPOLOGY, { prefix });
    expect(bed.rttMs("C", "edge-t")).to.equal(10);
    expect(bed.rttMs("C", "cloud")).to.equal(100);
    expect(bed.rttMs("D", "cloud")).to.equal(6);
    // The public DNS view's port first: the yards' DNS responders forward to it; its records name the yards.
    const dnsPort = (reserved = await reserveDnsPort());
    const names = Object.keys(YARDS) as YardName[];
    for (const [i, name] of names.entries()) {
      const key = m.keys[1 + i]!;
      await m.admin.mint(new Wallet(key).address, 1_000_000_000n);
      const file = await writeYardConfig(
        m,
        yardConfig(m, idOf(name), {
          ...atSite(bed, name, YARDS[name].control),
          listing: { domain: `${name}.icon.test`, region: name, stake: "100 iUSD" },
          pricing: {
            floorPerSecond: "10 units",
            cpuPerCoreSecond: YARDS[name].cpu,
            memoryPerGiBSecond: YARDS[name].mem,
          },
          capacity: { cpuMillis: 2000, memoryMiB: 2048, pidsPerLease: 64 },
          overlay: { flowHalfLifeS: 2, dnsUpstream: `127.0.0.1:${dnsPort.port}` },
          agentGateway: { dialLoopback: true },
          ingress: { rttSampleS: 2 },
        }),
      );
      // One at a time: each `icon yard start` runs the set-up first.
      yards[name] = await startYardProcess(file, key);
    }
    const records = publicDnsRecords(bed, Object.fromEntries(names.map((n) => [n, yards[n]!.addr])));
    reserved = undefined;
    await dnsPort.release();
    // No reverse name of C's clients (only routers' and sites' names): the transit domain is only on the routers.
    const cReverse = `${bed.subnet("C")!.split(".").slice(0, 3).reverse().join(".")}.in-addr.arpa.`;
    expect(records.filter((r) => r.split(" ")[0]!.endsWith(cReverse))).to.deep.equal([]);
    dns = await startDnsmasq({ records, port: dnsPort.port });
  });
  after(async function () {
    this.timeout(120_000);
    await cleanUp();
  });

  it("traces the path to C, finds edge-t only by tomography, places an instance there and serves C from it", async () => {
    const b = bed!;
    const market = m!;
    const subnetC = b.subnet("C")!;
    const reader = await MarketClient.connect({ deployment: market.deployment, provider: market.provider });
    const ownerAddress = new Wallet(market.keys[OWNER_KEY]!).address;
    const operators = new Map<string, YardName>(
      (Object.keys(YARDS) as YardName[]).map((n, i) => [new Wallet(market.keys[1 + i]!).address.toLowerCase(), n]),
    );
    const accounts = new Set<bigint>();
    const leasesAt: Array<{ yard: YardName | undefined; lease: bigint }> = [];
    chain = new ChainWatch({
      market: reader.market,
      onEvent: (e) => {
        const a = e.args;
        if (e.name === "AppCreated" && String(a.owner).toLowerCase() === ownerAddress.toLowerCase())
          accounts.add(a.root as bigint);
        if (e.name === "AccountCreated" && accounts.has(a.parent as bigint)) accounts.add(a.account as bigint);
        if (e.name === "LeaseOpened" && accounts.has(a.account as bigint))
          leasesAt.push({ yard: operators.get(String(a.provider).toLowerCase()), lease: a.id as bigint });
      },
    });
    await chain.start();
    let busy = false;
    reading = setInterval(() => {
      if (busy) return;
      busy = true;
      void readAgents()
        .catch(() => {})
        .finally(() => (busy = false));
    }, 1000);

    // The owner deploys: only the cloud's domain; the origin handed into its lease's sidecar at the cloud.
    await market.admin.mint(ownerAddress, 50_000_000n);
    const dir = (appDir = await mkdtemp(path.join(tmpdir(), "icon-ee-")));
    const appFile = path.join(dir, "app.json");
    const state = path.join(dir, "origin");
    const web = await new DockerRuntime({ socketPath: SOCKET, yardId: "ee-probe" }).imageId(WEB_IMAGE);
    await writeFile(
      appFile,
      JSON.stringify({
        service: {
          image: WEB_IMAGE,
          imageDigest: "0x" + web!.slice("sha256:".length),
          ports: [8080],
          httpPorts: [8080],
          name: "ee.web.prod",
          cpuMillis: 250,
          memoryMiB: 64,
          slotSeconds: 600,
        },
        discovery: { domains: ["icon.test"], dnsServers: [dns!.server], learnDomains: true },
        initialRegion: "cloud",
        agent: {
          periodMs: 1000,
          halfLifeS: 1.5,
          coolDownS: 6,
          confirmations: 3,
          warmupS: 4,
          graceS: 60,
          reportEveryMs: 1000,
          idleRate: 0.3,
          refLatencyMs: 100,
        },
        sidecar: { image: agentImage },
      }),
    );
    // Latency weighs most and 30 % of U is enough to replicate or move: an instance 10 ms from C instead of 100 pays.
    const deployOut = await runIcon(
      market,
      [
        "app",
        "deploy",
        ...["--config", appFile, "--state", state, "--deposit", "2", "--wait", "120"],
        ...["--weight", "0.7", "--migrate-threshold", "0.3", "--replicate-threshold", "0.3"],
        ...["--terminate-threshold", "0.2", "--max-price", "0.002"],
        ...["--max-relay-fee", "0.005", "--relay-allowance-per-day", "1"],
      ],
      market.keys[OWNER_KEY]!,
    );
    const mark = await handedOver(state);
    expect(mark, deployOut).to.not.equal(undefined);
    expect(mark!.endpoint.startsWith(`${b.address("cloud")}:`), mark!.endpoint).to.equal(true);
    const tDeployed = Date.now();

    // Load from C, to the origin's entry point at the cloud.
    const clients = new NetbedClients(b, { cloud: b.address("cloud"), "edge-t": b.address("edge-t") });
    load = await startClients({ network: clients, subnet: "C", entry: mark!.endpoint, clients: 4, intervalMs: 100 });
    near = await startClients({ network: clients, subnet: "D", entry: mark!.endpoint, clients: 1, intervalMs: 200 });
    const until = <T>(what: string, check: () => T | undefined | false, ms: number): Promise<T> =>
      waitFor(what, check, ms).catch((e: unknown) => {
        throw new Error(`${(e as Error).message}; the agents' lines:\n${timeline()}`);
      });

    // 1. The path to C traced from the cloud: a transit router's name points to transit.test, whose SRV names edge-t.
    const cIp = subnetC.replace(/\./g, "\\.");
    const found = new RegExp(
      `discovered: yard edge-t found only by path tomography: transit\\.test on the path to ${cIp} \\(hop (\\d+), t-r1\\.transit\\.test\\)`,
    );
    const tomography = await until(
      "edge-t found by path tomography",
      () => agentLines().find((l) => found.test(l)),
      150_000,
    );
    expect(tomography.startsWith("cloud/"), tomography).to.equal(true);
    // Nothing else pointed there: no client name, no owner's domain.
    expect(agentLines().filter((l) => /a client in .* points to/.test(l))).to.deep.equal([]);
    expect(
      agentLines().some((l) =>
        /hop \d+ on the path to .* \(\S+, t-r1\.transit\.test\) points to transit\.test/.test(l),
      ),
    ).to.equal(true);

    // 2. It uses it: an instance at edge-t (a replica or a move), a lease at edge-t's operator for the app's accounts.
    const placed = await until(
      "a replica or a move to edge-t",
      () => agentLines().find((l) => /^\S+ \S+ \S+ (replicated|migrated): .*edge-t/.test(l)),
      120_000,
    );
    await chain.refresh();
    expect(
      leasesAt.filter((l) => l.yard === "edge-t"),
      JSON.stringify(leasesAt, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v)),
    ).to.have.length.at.least(1);
    const leaseThere = /replicated: .* runs at edge-t, lease (\d+);/.exec(placed)?.[1];
    if (leaseThere) expect(leasesAt.map((l) => `${l.yard} ${l.lease}`)).to.include(`edge-t ${leaseThere}`);
    // C's clients end up served by edge-t's public host, every client.
    const tPlaced = Date.now();
    const atEdge = await until(
      "every client of C to be served by edge-t",
      () => {
        // Sent there directly (a client remembers where it was redirected): no round trip to the cloud in them.
        const s = load!.samples().filter((x) => x.atMs >= tPlaced && x.yard === "edge-t" && x.redirects === 0);
        return new Set(s.map((x) => x.client)).size === 4 && s.length >= 40 ? s : undefined;
      },
      60_000,
    );
    const before = load.samples().filter((x) => x.atMs >= tDeployed && x.yard === "cloud" && x.redirects === 0);
    const p50 = (xs: number[]): number => [...xs].sort((x, y) => x - y)[xs.length >> 1]!;
    const latBefore = p50(before.map((x) => x.latencyMs));
    const latAfter = p50(atEdge.map((x) => x.latencyMs));
    console.log(
      `      ${tomography.replace(/^\S+ \S+ /, "")}\n      ${placed.replace(/^\S+ \S+ /, "")}\n` +
        `      C's p50: ${latBefore.toFixed(1)} ms at the cloud (${before.length} requests), ${latAfter.toFixed(1)} ms at edge-t (${atEdge.length})`,
    );
    expect(before.length, "requests served at the cloud before").to.be.at.least(10);
    // A fresh connection per request: ≈ 2 round trips, 200 ms at the cloud, 20 ms at edge-t (on a loaded machine more).
    expect(latBefore).to.be.at.least(150);
    expect(latAfter).to.be.below(0.5 * latBefore);
    expect(atEdge.every((x) => x.servedBy.startsWith(`${b.address("edge-t")}:`))).to.equal(true);
    // No failure after the instance at edge-t was placed; D, beside the cloud, is still served there.
    expect(load.failures().filter((f) => f.atMs >= tPlaced)).to.deep.equal([]);
    expect(near.failures().filter((f) => f.atMs >= tPlaced)).to.deep.equal([]);
    const nearAfter = near.samples().filter((x) => x.atMs >= tPlaced);
    expect(nearAfter.length).to.be.greaterThan(0);
    expect(nearAfter.every((x) => x.yard === "cloud")).to.equal(true);
  });

  it("leaves nothing behind: no bed directory, no containers, networks or firewall tables of its yards, no agent image or state", async () => {
    await cleanUp();
    const beds = await readdir("/tmp/icon-netbed").catch(() => [] as string[]);
    expect(beds.filter((d) => d.startsWith(prefix))).to.deep.equal([]);
    for (const id of Object.keys(yardIds)) {
      const ps = await docker(["ps", "-aq", "--filter", `label=icon.yard=${id}`]);
      expect(ps.stdout.trim(), `containers of ${id}`).to.equal("");
      const nets = await docker(["network", "ls", "--format", "{{.Name}}"]);
      expect(nets.stdout.split("\n").filter((n) => n.includes(id))).to.deep.equal([]);
    }
    const tables = await promisify(execFile)("nft", ["list", "tables"]);
    expect(
      tables.stdout.split("\n").filter((t) => Object.keys(yardIds).some((id) => t.includes(`icon-yard-${id}`))),
    ).to.deep.equal([]);
    if (appDir)
      expect(
        await access(appDir).then(
          () => "still there",
          () => "gone",
        ),
        appDir,
      ).to.equal("gone");
    const images = await docker(["images", "icon/agent", "--format", "{{.Tag}}"]);
    expect(images.stdout.split("\n")).to.not.include(agentImage.split(":")[1]);
  });
});
