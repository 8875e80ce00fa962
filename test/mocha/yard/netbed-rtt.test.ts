/**
 * Passive round trip per client subnet, end to end on the packet-level testbed (scripts/lib/netbed.ts): a real yard
 * whose public side lives in a site namespace (`publicNetns`), a client network two delayed links away, real HTTP
 * requests through the yard's ingress to a real container. The yard's telemetry must show the subnet's round trip
 * as the links configure it (within 15 %), from the kernel's estimate alone — no map, no oracle — and a second subnet
 * at another distance its own figure.
 */
import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { readTelemetry, signLeaseAccess } from "../../../protocol/index.ts";
import { createLogger, silentLogger } from "../../../protocol/log.ts";
import type { Yard } from "../../../yard-node/yard.ts";
import { Netbed, type Topology } from "../../../scripts/lib/netbed.ts";
import { Tenant, USD, startMarket, type TestMarket } from "../../../scripts/lib/testbed.ts";
import { WEB_IMAGE, useDockerYard, waitFor } from "../../helpers/docker.ts";
import { FAST_LEASE, startTestYard } from "../../helpers/yard.ts";

const log = process.env.ICON_TEST_LOG ? createLogger({ level: "debug" }) : silentLogger;

// Clients "near" 2 × (1 + 4) = 10 ms and "far" 2 × (1 + 4 + 20) = 50 ms from the site.
const TOPOLOGY: Topology = {
  networks: { isp: { domain: "isp.test", dns: "r1" } },
  nodes: {
    near: { network: "isp", role: "clients" },
    far: { network: "isp", role: "clients" },
    r1: { network: "isp", role: "router" },
    r2: { network: "isp", role: "router" },
    site: { network: "isp", role: "site" },
  },
  links: [
    { a: "near", b: "r1", delayMs: 1 },
    { a: "r1", b: "site", delayMs: 4 },
    { a: "far", b: "r2", delayMs: 1 },
    { a: "r2", b: "r1", delayMs: 20 },
  ],
};

/** A client inside `node`'s namespace: `n` HTTP requests, one connection each (the web image closes after each). */
const CLIENT = (url: string, n: number): string => `(async () => {
  let ok = 0;
  for (let i = 0; i < ${n}; i++) { const r = await fetch(${JSON.stringify(url)}); if ((await r.text()).includes("icon-web-ok")) ok++; }
  process.stdout.write(String(ok));
})().catch((e) => { process.stderr.write(String(e)); process.exit(2); });`;

describe("passive round trip per subnet on the packet-level testbed (publicNetns, kernel-rtt)", function () {
  this.timeout(180_000);
  const docker = useDockerYard("nbr");
  let bed: Netbed;
  let m: TestMarket;
  let yard: Yard;
  let tenant: Tenant;

  before(async () => {
    bed = await Netbed.start(TOPOLOGY, { prefix: `nbr-${randomBytes(3).toString("hex")}` });
    m = await startMarket();
    yard = await startTestYard(
      m,
      1,
      docker.get().yardId,
      { lease: FAST_LEASE, publicHost: bed.address("site"), publicNetns: bed.netnsPath("site") },
      log,
    );
    tenant = await Tenant.create(m, 2, 3, USD(100));
  });
  after(async () => {
    await tenant?.node.stop();
    await yard?.stop();
    await m?.close();
    await bed?.close();
  });

  it("shows each subnet's configured round trip in the lease holder's telemetry, measured by the kernel", async () => {
    const web = "0x" + (await docker.get().runtime.imageId(WEB_IMAGE))!.slice("sha256:".length);
    const addr = yard.node.getMultiaddrs()[0]!;
    const l = await tenant.lease(addr, web, { slotSeconds: 120 }, { httpPorts: [8080] });
    expect(l.endpoint.startsWith(`${bed.address("site")}:`)).to.equal(true);
    const url = `http://${l.endpoint}/`;
    const [near, far] = await Promise.all([
      bed.exec("near", process.execPath, ["-e", CLIENT(url, 20)]),
      bed.exec("far", process.execPath, ["-e", CLIENT(url, 20)]),
    ]);
    expect([near.stdout, far.stdout], `${near.stderr} ${far.stderr}`).to.deep.equal(["20", "20"]);
    const access = await signLeaseAccess(tenant.icon, tenant.owner.domain(), l.leaseId, tenant.node.peerId);
    const rttOf = async (subnet: string): Promise<number> => {
      const t = await readTelemetry(tenant.node, addr, { access });
      return t.flows.find((f) => f.subnet === subnet)?.rttMs ?? NaN;
    };
    const nearSubnet = bed.subnet("near")!;
    const farSubnet = bed.subnet("far")!;
    // The closed connections' figures arrive from the kernel's socket-destroy events.
    await waitFor(
      "both subnets' round trips",
      async () => {
        const [a, b] = await Promise.all([rttOf(nearSubnet), rttOf(farSubnet)]);
        return Number.isFinite(a) && Number.isFinite(b);
      },
      30_000,
    );
    const measured = { near: await rttOf(nearSubnet), far: await rttOf(farSubnet) };
    const configured = { near: bed.rttMs("near", "site"), far: bed.rttMs("far", "site") };
    expect(configured).to.deep.equal({ near: 10, far: 50 });
    // What ping sees on the same paths in the same run (the bed's own overhead: ≈ 0.1 ms per link crossed, and
    // late wake-ups on a loaded machine): the median of 10 echoes.
    const ping = async (node: string): Promise<number> => {
      const r = await bed.exec(node, "ping", ["-n", "-c", "10", "-i", "0.05", bed.address("site")]);
      const t = [...r.stdout.matchAll(/time=([\d.]+) ms/g)].map((x) => Number(x[1])).sort((a, b) => a - b);
      expect(t.length, r.stdout).to.be.greaterThan(5);
      return t[t.length >> 1]!;
    };
    const pinged = { near: await ping("near"), far: await ping("far") };
    console.log(
      `      yard ${JSON.stringify(measured)} ms, ping ${JSON.stringify(pinged)} ms, configured ${JSON.stringify(configured)} ms`,
    );
    // The yard's passive figure is what ping measures on the path (15 %, or 1 ms), and the path is what the
    // topology configures (the bound for an ICON's estimate: 15 %, plus 1.5 ms of the bed's own overhead).
    for (const k of ["near", "far"] as const) {
      expect(measured[k], k).to.be.within(
        pinged[k] - Math.max(0.15 * pinged[k], 1),
        pinged[k] + Math.max(0.15 * pinged[k], 1),
      );
      expect(measured[k], k).to.be.within(configured[k] * 0.85, configured[k] * 1.15 + 1.5);
    }
    expect(yard.rtt.closedSamples).to.be.greaterThan(0);
  });

  it("refuses a Deploy with UDP ports: the UDP ingress is not bound in the site namespace", async () => {
    const web = "0x" + (await docker.get().runtime.imageId(WEB_IMAGE))!.slice("sha256:".length);
    const e = await tenant.lease(yard.node.getMultiaddrs()[0]!, web, { slotSeconds: 60 }, { udpPorts: [9000] }).then(
      () => undefined,
      (x: unknown) => x as Error,
    );
    expect(e?.message).to.match(/UDP ports are not served .*publicNetns/);
  });
});
