/**
 * Routing rules survive a yard restart (embedded chain, real libp2p, real Docker, two yards): a lease migrated from
 * yard A to yard B through a redirection stub keeps its old endpoint at A forwarding (TCP, through a tunnel) to the
 * new instance after A is stopped and started again on the same data directory — until the stub's grace ends, and
 * not after; a running lease's HTTP redirects are in force again after the restart.
 */
import { expect } from "chai";
import net from "node:net";
import { setRouting, signLeaseAccess, type LeaseAccess } from "../../../protocol/index.ts";
import { createLogger, silentLogger } from "../../../protocol/log.ts";
import { Yard } from "../../../yard-node/yard.ts";
import { WEB_IMAGE, waitFor } from "../../helpers/docker.ts";
import { FAST_LEASE, useTwoYards } from "../../helpers/yard.ts";
import { Tenant, USD, clientFor, type TestMarket } from "../../../scripts/lib/testbed.ts";

const log = process.env.ICON_TEST_LOG ? createLogger({ level: "debug" }) : silentLogger;
// In the tenant's namespace shop.r<root> (set once its application exists).
let MIG = "";

/** A web container whose page is `inst-<tag>` (the rootfs is read-only; /tmp is a tmpfs). */
const page = (tag: string): string[] => [
  "sh",
  "-c",
  `mkdir -p /tmp/w && echo inst-${tag} > /tmp/w/index.html && exec httpd -f -p 8080 -h /tmp/w`,
];

/** One raw HTTP/1.0 request over a fresh TCP connection: the whole response, or the connection's error code. */
function rawGet(endpoint: string, timeoutMs = 5000): Promise<string> {
  const [host, port] = endpoint.split(":") as [string, string];
  return new Promise((resolve) => {
    const s = net.connect(Number(port), host);
    const chunks: Buffer[] = [];
    s.setTimeout(timeoutMs, () => s.destroy(Object.assign(new Error("timeout"), { code: "TIMEOUT" })));
    s.on("connect", () => s.write("GET / HTTP/1.0\r\nHost: x\r\n\r\n"));
    s.on("data", (d: Buffer) => chunks.push(d));
    s.on("error", (e: NodeJS.ErrnoException) => resolve(`error ${e.code ?? e.message}`));
    s.on("close", () => resolve(Buffer.concat(chunks).toString()));
  });
}

const tags = (text: string): string[] => [...text.matchAll(/inst-([a-z0-9-]+)/g)].map((m) => m[1]!);

describe("overlay: redirection stubs and redirects survive a yard restart (two yards)", function () {
  this.timeout(180_000);
  const two = useTwoYards("ovlrs", {
    overrides: { lease: FAST_LEASE, capacity: { cpuMillis: 4000, memoryMiB: 4096, pidsPerLease: 256 } },
    log,
    stopFirst: () => [tenant],
  });
  let m: TestMarket;
  let a: Yard;
  let b: Yard;
  let tenant: Tenant;
  let web: string;

  const access = (leaseId: bigint): Promise<LeaseAccess> =>
    signLeaseAccess(tenant.icon, tenant.owner.domain(), leaseId, tenant.node.peerId);
  const addrOf = (y: Yard) => y.node.getMultiaddrs()[0]!;

  before(async () => {
    ({ m, a, b } = two.get());
    tenant = await Tenant.create(m, 2, 3, USD(200));
    MIG = tenant.service("shop", "mig");
    web = await two.imageId(WEB_IMAGE);
  });

  it("a restarted yard forwards the old endpoint to the new instance until the stub's grace ends, not after", async () => {
    const graceS = 30;
    const old = await tenant.lease(
      addrOf(a),
      web,
      { slotSeconds: 120 },
      { command: page("old"), ports: [8080], service: MIG },
    );
    const site = await tenant.lease(addrOf(a), web, { slotSeconds: 120 }, { httpPorts: [8080] });
    const neu = await tenant.lease(
      addrOf(b),
      web,
      { slotSeconds: 120 },
      { command: page("new"), ports: [8080], service: MIG },
    );
    await waitFor("the old instance to answer", async () => tags(await rawGet(old.endpoint))[0] === "old", 20_000);
    await waitFor("the new instance to answer", async () => tags(await rawGet(neu.endpoint))[0] === "new", 20_000);
    await waitFor("the site to answer", async () => (await rawGet(site.endpoint)).includes("icon-web-ok"), 20_000);

    // Make before break: the stub points at B, then the old lease ends.
    const stubSetAt = Date.now();
    await setRouting(tenant.node, addrOf(a), {
      access: await access(old.leaseId),
      redirects: [],
      stub: {
        yard: b.node.peerId.toString(),
        addrs: b.node.getMultiaddrs().map(String),
        instanceId: neu.leaseId,
        endpoint: neu.endpoint,
        graceS,
      },
    });
    const location = "http://198.51.100.9:8080";
    await setRouting(tenant.node, addrOf(a), {
      access: await access(site.leaseId),
      redirects: [{ subnet: "127.0.0.0/24", location }],
    });
    const icon = await clientFor(m, 3);
    await icon.terminate(old.leaseId);
    await waitFor("A to end the old lease", () => a.db.lease(old.leaseId)!.status !== "deployed", 15_000);
    expect(tags(await rawGet(old.endpoint)), "forwarding before the restart").to.deep.equal(["new"]);

    // Restart A on the same data directory (same database, peer key and ingress ports).
    await a.stop();
    expect(await rawGet(old.endpoint)).to.equal("error ECONNREFUSED");
    a = await two.startAgain("a");
    expect(["ended", "settled"]).to.include(a.db.lease(old.leaseId)!.status);

    // The old endpoint forwards to the new instance (through a tunnel from the new A to B); the site redirects.
    expect(tags(await rawGet(old.endpoint)), "forwarding after the restart").to.deep.equal(["new"]);
    const tunnels0 = a.tunnels.stats().opened;
    for (let i = 0; i < 5; i++) expect(tags(await rawGet(old.endpoint))).to.deep.equal(["new"]);
    expect(a.tunnels.stats().opened - tunnels0).to.equal(5);
    const r = await fetch(`http://${site.endpoint}/index.html`, { redirect: "manual" });
    expect(r.status).to.equal(307);
    expect(r.headers.get("location")).to.equal(`${location}/index.html`);
    expect(Date.now() - stubSetAt, "checked within the grace period").to.be.lessThan(graceS * 1000);

    // The grace ends: the old endpoint closes and the stub is gone from the database.
    const until = stubSetAt + graceS * 1000;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, until - Date.now())));
    await waitFor("the old endpoint to close", async () => (await rawGet(old.endpoint)) === "error ECONNREFUSED", 5000);
    expect(a.overlay.stub(old.leaseId)).to.equal(undefined);
    expect(a.db.routingRules().map((x) => x.leaseId)).to.deep.equal([site.leaseId]);
    // Restarted once more after the grace: nothing of the stub comes back; the site's redirect does.
    await a.stop();
    a = await two.startAgain("a");
    expect(await rawGet(old.endpoint)).to.equal("error ECONNREFUSED");
    expect((await fetch(`http://${site.endpoint}/`, { redirect: "manual" })).status).to.equal(307);
  });
});
