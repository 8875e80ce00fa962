/**
 * The yard's overlay proxy end to end (embedded chain, real libp2p, real Docker, two yards): flow observation
 * exported over the telemetry protocol, HTTP redirects of new clients (counted apart from the requests served), a
 * migration under HTTP load through a redirection stub with zero failed requests, and 1,000 client connections
 * through one yard open at the same time (each echoed end to end before any closes).
 */
import { expect } from "chai";
import net from "node:net";
import { Wallet } from "ethers";
import { OverlayError, readTelemetry, setRouting, signLeaseAccess, type LeaseAccess } from "../../../protocol/index.ts";
import { createLogger, silentLogger } from "../../../protocol/log.ts";
import { Yard } from "../../../yard-node/yard.ts";
import { ECHO_IMAGE, WEB_IMAGE, waitFor } from "../../helpers/docker.ts";
import { FAST_LEASE, expectRejection, useTwoYards } from "../../helpers/yard.ts";
import { Tenant, USD, clientFor, type TestMarket } from "../../../scripts/lib/testbed.ts";

const log = process.env.ICON_TEST_LOG ? createLogger({ level: "debug" }) : silentLogger;

describe("overlay proxy: flows, redirects, stubs, load (two yards)", function () {
  this.timeout(240_000);
  const over = { lease: FAST_LEASE, capacity: { cpuMillis: 4000, memoryMiB: 4096, pidsPerLease: 2048 } };
  const two = useTwoYards("ovl", { overrides: over, log, stopFirst: () => [tenant] });
  let m: TestMarket;
  let a: Yard;
  let b: Yard;
  let tenant: Tenant;
  let web: string;

  const access = (leaseId: bigint): Promise<LeaseAccess> =>
    signLeaseAccess(tenant.icon, tenant.owner.domain(), leaseId, tenant.node.peerId);

  before(async () => {
    ({ m, a, b } = two.get());
    tenant = await Tenant.create(m, 2, 3, USD(200));
    web = await two.imageId(WEB_IMAGE);
  });

  it("observes requests per client subnet and exports them to the lease holder only", async () => {
    const l = await tenant.lease(a.node.getMultiaddrs()[0]!, web, { slotSeconds: 60 }, { httpPorts: [8080] });
    for (let i = 0; i < 40; i++) {
      const r = await fetch(`http://${l.endpoint}/`);
      expect(await r.text()).to.include("icon-web-ok");
    }
    // The web image closes each connection after its answer: the yard measures them as they close, from the
    // kernel's socket-destroy events (kernel-rtt.ts).
    await waitFor("the closed connections' round trips", () => a.rtt.closedSamples > 0, 15_000);
    const t = await readTelemetry(tenant.node, a.node.getMultiaddrs()[0]!, { access: await access(l.leaseId) });
    expect(t.flows).to.have.length(1);
    const f = t.flows[0]!;
    expect(f.subnet).to.equal("127.0.0.0/24");
    expect(f.requests).to.equal(40n);
    expect(f.client).to.equal("127.0.0.1"); // the latest client, for reverse-DNS discovery
    expect(f.rate).to.be.greaterThan(0);
    expect(f.latencyMs).to.be.greaterThan(0).and.lessThan(1000);
    expect(f.rttMs).to.be.greaterThan(0).and.lessThan(50); // loopback: the kernel's estimate, not the service's time
    expect(a.metrics.render()).to.match(
      new RegExp(`icon_yard_flow_rtt_ms\\{lease="${l.leaseId}",subnet="127.0.0.0/24"\\} [0-9.]+`),
    );
    expect(a.metrics.render()).to.match(
      new RegExp(`icon_yard_flow_requests_per_second\\{lease="${l.leaseId}",subnet="127.0.0.0/24"\\} [0-9.]+`),
    );
    const stranger = await signLeaseAccess(
      new Wallet(m.keys[9]!),
      tenant.owner.domain(),
      l.leaseId,
      tenant.node.peerId,
    );
    await expectRejection(
      readTelemetry(tenant.node, a.node.getMultiaddrs()[0]!, { access: stranger }),
      OverlayError,
      /does not hold lease/,
    );
    // The lease ends: its flow series leave /metrics (they are set anew at every scrape, not kept frozen).
    await (await clientFor(m, 3)).terminate(l.leaseId);
    await waitFor(
      "the ended lease's flow series to leave /metrics",
      () => !a.metrics.render().includes(`lease="${l.leaseId}"`),
      15_000,
    );
  });

  it("redirects a new client connection from a subnet to a closer ICON (HTTP 307), and stops when told", async () => {
    const la = await tenant.lease(a.node.getMultiaddrs()[0]!, web, { slotSeconds: 60 }, { httpPorts: [8080] });
    const lb = await tenant.lease(b.node.getMultiaddrs()[0]!, web, { slotSeconds: 60 }, { httpPorts: [8080] });
    await setRouting(tenant.node, a.node.getMultiaddrs()[0]!, {
      access: await access(la.leaseId),
      redirects: [{ subnet: "127.0.0.0/24", location: `http://${lb.endpoint}` }],
    });
    const r = await fetch(`http://${la.endpoint}/index.html`, { redirect: "manual" });
    expect(r.status).to.equal(307);
    expect(r.headers.get("location")).to.equal(`http://${lb.endpoint}/index.html`);
    expect(await (await fetch(`http://${la.endpoint}/`)).text()).to.include("icon-web-ok");
    await setRouting(tenant.node, a.node.getMultiaddrs()[0]!, { access: await access(la.leaseId), redirects: [] });
    expect((await fetch(`http://${la.endpoint}/`, { redirect: "manual" })).status).to.equal(200);
    // The two redirected requests were served elsewhere: A's flows count only the last one, the redirects apart.
    const t = await readTelemetry(tenant.node, a.node.getMultiaddrs()[0]!, { access: await access(la.leaseId) });
    expect(t.flows.map((f) => [f.subnet, f.requests])).to.deep.equal([["127.0.0.0/24", 1n]]);
    expect(a.overlay.flows(la.leaseId).redirects()[0]).to.deep.include({ subnet: "127.0.0.0/24", redirects: 2 });
    expect(a.metrics.render()).to.match(
      new RegExp(`icon_yard_flow_redirects_per_second\\{lease="${la.leaseId}",subnet="127.0.0.0/24"\\} [0-9.]+`),
    );
  });

  it("migrates under HTTP load through a redirection stub: zero failed requests", async () => {
    const old = await tenant.lease(a.node.getMultiaddrs()[0]!, web, { slotSeconds: 120 }, { httpPorts: [8080] });
    let stop = false;
    let ok = 0;
    const failures: string[] = [];
    const worker = async (): Promise<void> => {
      while (!stop) {
        try {
          const r = await fetch(`http://${old.endpoint}/`, { signal: AbortSignal.timeout(5000) });
          const body = await r.text();
          if (r.status !== 200 || !body.includes("icon-web-ok")) failures.push(`HTTP ${r.status}`);
          else ok++;
        } catch (e) {
          failures.push((e as Error).message);
        }
      }
    };
    const workers = Array.from({ length: 4 }, worker);
    await new Promise((r) => setTimeout(r, 500));
    // Make before break: the new instance runs, the stub points there, then the old lease ends.
    const neu = await tenant.lease(b.node.getMultiaddrs()[0]!, web, { slotSeconds: 120 }, { httpPorts: [8080] });
    await setRouting(tenant.node, a.node.getMultiaddrs()[0]!, {
      access: await access(old.leaseId),
      redirects: [],
      stub: {
        yard: b.node.peerId.toString(),
        addrs: b.node.getMultiaddrs().map(String),
        instanceId: neu.leaseId,
        endpoint: neu.endpoint,
        graceS: 60,
      },
    });
    await new Promise((r) => setTimeout(r, 500));
    const icon = await clientFor(m, 3);
    await icon.terminate(old.leaseId);
    await waitFor("the old container to stop", () => a.db.lease(old.leaseId)!.status !== "deployed", 15_000);
    await new Promise((r) => setTimeout(r, 1500));
    stop = true;
    await Promise.all(workers);
    expect(failures, failures.slice(0, 5).join("; ")).to.have.length(0);
    expect(ok).to.be.greaterThan(20);
    const tb = await readTelemetry(tenant.node, b.node.getMultiaddrs()[0]!, { access: await access(neu.leaseId) });
    expect(Number(tb.flows[0]?.requests ?? 0n)).to.be.greaterThan(0);
    // The old yard still answers at the old endpoint during the grace period.
    expect((await fetch(`http://${old.endpoint}/`, { redirect: "manual" })).status).to.equal(307);
  });

  it("carries 1,000 client connections through one yard at once, every one open end to end, with zero errors", async () => {
    // The upstream serves every connection on one thread (icon/echo:1), so the yard is what is under load, not a
    // server that forks per connection.
    const echo = await two.imageId(ECHO_IMAGE);
    const l = await tenant.lease(
      a.node.getMultiaddrs()[0]!,
      echo,
      { slotSeconds: 120, cpuMillis: 1000, memoryMiB: 256 },
      { ports: [5353], imageRef: ECHO_IMAGE },
    );
    const N = 1000;
    const [host, port] = l.endpoint.split(":") as [string, string];
    const connections0 = a.ingress.connections;
    const errors0 = a.ingress.errors;
    /** Sends `msg` on `s` and resolves when exactly that has come back. */
    const roundTrip = (s: net.Socket, msg: string): Promise<void> =>
      new Promise((resolve, reject) => {
        let got = "";
        const onData = (d: Buffer): void => {
          got += d.toString();
          if (got.length < msg.length) return;
          s.off("data", onData);
          if (got === msg) resolve();
          else reject(new Error(`echoed ${JSON.stringify(got.slice(0, 40))}`));
        };
        s.on("data", onData);
        s.write(msg);
      });
    const sockets: net.Socket[] = [];
    try {
      // Phase 1: every connection opens and its first message comes back from the container; none closes before
      // all have, so at the end of this phase all N are open end to end at the same time.
      const opened = await Promise.allSettled(
        Array.from(
          { length: N },
          (_, i) =>
            new Promise<net.Socket>((resolve, reject) => {
              const s = net.connect(Number(port), host);
              sockets.push(s);
              s.setTimeout(60_000, () => s.destroy(new Error("timeout")));
              s.once("error", reject);
              s.once("connect", () => roundTrip(s, `hello ${i}\n`).then(() => resolve(s), reject));
            }),
        ),
      );
      const failed = opened.flatMap((r) => (r.status === "rejected" ? [String(r.reason)] : []));
      expect(failed, failed.slice(0, 3).join("; ")).to.have.length(0);
      expect(sockets.filter((s) => !s.destroyed && !s.readableEnded)).to.have.length(N);
      // Phase 2: each sends again over the same connection, then closes.
      const second = await Promise.allSettled(
        sockets.map((s, i) => roundTrip(s, `bye ${i}\n`).then(() => void s.end())),
      );
      const bad = second.flatMap((r) => (r.status === "rejected" ? [String(r.reason)] : []));
      expect(bad, bad.slice(0, 3).join("; ")).to.have.length(0);
      expect(a.ingress.connections - connections0).to.equal(N);
      expect(a.ingress.errors - errors0).to.equal(0);
    } finally {
      for (const s of sockets) s.destroy();
    }
  });
});
