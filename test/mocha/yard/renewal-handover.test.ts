/**
 * A renewal is invisible to clients and to the lease holder (embedded chain, real libp2p, real Docker, real HTTP
 * and TCP clients on the yard's ingress). The renewal's Deploy takes the lease's containers over at once; clients
 * whose connections are open then — an HTTP keep-alive client and a raw TCP echo client — see no reset and no failed
 * request, neither at the Deploy nor when the old lease's slot ends; the holder's telemetry of the renewal shows the
 * subnet's traffic going on (the old lease's flows, not a fresh start at 0); the redirect the holder set on the old
 * lease keeps acting; a yard restart in between keeps the redirect and the telemetry's subnets.
 */
import { expect } from "chai";
import http from "node:http";
import net from "node:net";
import { readTelemetry, setRouting, signLeaseAccess, type LeaseAccess } from "../../../protocol/index.ts";
import { createLogger, silentLogger } from "../../../protocol/log.ts";
import { ACTIVE } from "../../../yard-node/db.ts";
import type { Yard } from "../../../yard-node/yard.ts";
import { waitFor, WEB_IMAGE } from "../../helpers/docker.ts";
import { FAST_LEASE, useTwoYards } from "../../helpers/yard.ts";
import { Tenant, USD } from "../../../scripts/lib/testbed.ts";

const log = process.env.ICON_TEST_LOG ? createLogger({ level: "debug" }) : silentLogger;

/** The web image serving HTTP on 8080 and echoing TCP on 9000 (a forked `cat` per connection). */
const COMMAND = ["sh", "-c", "httpd -p 8080 -h /www && exec nc -ll -p 9000 -e cat"];
const SPEC = { command: COMMAND, ports: [8080, 9000], httpPorts: [8080] };
/** The clients that stay connected come from 127.0.1.1; the fresh connections the redirect acts on from 127.0.0.1. */
const CLIENT = "127.0.1.1";
const SUBNET = "127.0.1.0/24";
const REDIRECTED = "127.0.0.0/24";
const LOCATION = "http://198.51.100.9:8080";

/** An HTTP client on one keep-alive connection, a GET every 50 ms; every failure and every socket it used. */
function keepAliveClient(endpoint: string) {
  const [host, port] = endpoint.split(":") as [string, string];
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const sockets = new Set<net.Socket>();
  const failures: string[] = [];
  let ok = 0;
  let running = true;
  const once = (): Promise<void> =>
    new Promise((resolve) => {
      const req = http.get(
        { host, port: Number(port), localAddress: CLIENT, path: "/", agent, timeout: 5000 },
        (res) => {
          let body = "";
          res.setEncoding("utf8");
          res.on("data", (d: string) => (body += d));
          res.on("end", () => {
            if (res.statusCode === 200 && body.includes("icon-web-ok")) ok++;
            else failures.push(`HTTP ${res.statusCode}`);
            resolve();
          });
          res.on("error", (e) => {
            failures.push(`response: ${e.message}`);
            resolve();
          });
        },
      );
      req.on("socket", (s) => sockets.add(s));
      req.on("timeout", () => req.destroy(new Error("timeout")));
      req.on("error", (e: NodeJS.ErrnoException) => {
        failures.push(`request: ${e.code ?? e.message}`);
        resolve();
      });
    });
  const loop = (async () => {
    while (running) {
      await once();
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  return {
    get ok() {
      return ok;
    },
    failures,
    sockets,
    async stop(): Promise<void> {
      running = false;
      await loop;
      agent.destroy();
    },
  };
}

/** A raw TCP client on one connection to the echo port, a line every 50 ms; what came back, and any error or end. */
async function echoClient(endpoint: string) {
  const [host, port] = endpoint.split(":") as [string, string];
  const s = net.connect({ port: Number(port), host, localAddress: CLIENT });
  await new Promise<void>((resolve, reject) => s.once("connect", resolve).once("error", reject));
  const failures: string[] = [];
  let sent = "";
  let received = "";
  let stopping = false;
  s.setEncoding("utf8");
  s.on("data", (d: string) => (received += d));
  s.on("error", (e: NodeJS.ErrnoException) => failures.push(`error ${e.code ?? e.message}`));
  s.on("close", () => {
    if (!stopping) failures.push("closed");
  });
  let n = 0;
  const timer = setInterval(() => {
    const line = `line ${n++}\n`;
    sent += line;
    s.write(line);
  }, 50);
  return {
    failures,
    get lines() {
      return n;
    },
    /** Stops sending; resolves once every line sent came back (or fails after 5 s). */
    async stop(): Promise<{ sent: string; received: string }> {
      clearInterval(timer);
      await waitFor("every line echoed", () => received.length >= sent.length || failures.length > 0, 5000).catch(
        () => undefined,
      );
      stopping = true;
      s.destroy();
      return { sent, received };
    },
  };
}

describe("a renewal is invisible to clients and to the lease holder", function () {
  this.timeout(240_000);
  const two = useTwoYards("rnwho", {
    overrides: { lease: FAST_LEASE, capacity: { cpuMillis: 4000, memoryMiB: 4096, pidsPerLease: 256 } },
    log,
    stopFirst: () => [tenant],
  });
  let a: Yard;
  let tenant: Tenant;
  let web: string;

  const access = (leaseId: bigint): Promise<LeaseAccess> =>
    signLeaseAccess(tenant.icon, tenant.owner.domain(), leaseId, tenant.node.peerId);
  const addr = () => a.node.getMultiaddrs()[0]!;
  const flowOf = async (leaseId: bigint) =>
    (await readTelemetry(tenant.node, addr(), { access: await access(leaseId) })).flows.find(
      (f) => f.subnet === SUBNET,
    );
  /** A fresh connection's first request: its status and location. */
  const fresh = (endpoint: string): Promise<{ status: number | undefined; location: string | null }> => {
    const [host, port] = endpoint.split(":") as [string, string];
    return new Promise((resolve, reject) => {
      // No agent: a connection of its own, closed after the answer (fetch would reuse a pooled one).
      const req = http.get(
        { host, port: Number(port), localAddress: "127.0.0.1", path: "/", agent: false, timeout: 5000 },
        (res) => {
          res.resume();
          res.on("end", () => resolve({ status: res.statusCode, location: res.headers.location ?? null }));
        },
      );
      req.on("timeout", () => req.destroy(new Error("timeout")));
      req.on("error", reject);
    });
  };
  const tcpEndpoint = (leaseId: bigint): string => `127.0.0.1:${a.db.lease(leaseId)!.ingress["9000"]}`;

  before(async () => {
    ({ a } = two.get());
    tenant = await Tenant.create(two.get().m, 2, 3, USD(200));
    web = await two.imageId(WEB_IMAGE);
  });

  it("keeps connections, flows and redirects across the Deploy, a restart and the old slot's end", async () => {
    const old = await tenant.lease(addr(), web, { slotSeconds: 45 }, SPEC);
    const oldEnd = Number(old.offer.end);
    await waitFor("the service to answer", async () => (await fresh(old.endpoint)).status === 200, 20_000);
    const tcp = tcpEndpoint(old.leaseId);

    // Phase 1: clients open across the renewal's Deploy.
    let web1 = keepAliveClient(old.endpoint);
    let echo1 = await echoClient(tcp);
    await waitFor("the old lease's flows", async () => ((await flowOf(old.leaseId))?.requests ?? 0n) >= 20n, 15_000);
    await setRouting(tenant.node, addr(), {
      access: await access(old.leaseId),
      redirects: [{ subnet: REDIRECTED, location: LOCATION }],
    });
    expect(await fresh(old.endpoint), "the redirect acts on the old lease").to.deep.equal({
      status: 307,
      location: `${LOCATION}/`,
    });
    const before = (await flowOf(old.leaseId))!;
    const renewal = await tenant.lease(addr(), web, { slotSeconds: 30, renewsLeaseId: old.leaseId }, SPEC);
    const after = await flowOf(renewal.leaseId);
    expect(renewal.endpoint, "the endpoint keeps its port").to.equal(old.endpoint);
    expect(after, "the renewal's telemetry shows the subnet right after the Deploy").to.not.equal(undefined);
    expect(after!.requests >= before.requests, "the requests counted before go on").to.equal(true);
    expect(after!.rate, "the rate goes on, not from 0").to.be.greaterThan(before.rate / 2);
    expect(await fresh(renewal.endpoint), "the redirect still acts after the renewal").to.deep.equal({
      status: 307,
      location: `${LOCATION}/`,
    });
    expect(
      a.db.routingRules().map((r) => r.leaseId),
      "the rules are stored under the renewal",
    ).to.deep.equal([renewal.leaseId]);
    const okAtDeploy = web1.ok;
    await waitFor(
      "more requests after the Deploy",
      () => web1.ok >= okAtDeploy + 10 || web1.failures.length > 0,
      10_000,
    );
    await web1.stop();
    let echoed = await echo1.stop();
    expect(web1.failures, "no failed request across the Deploy").to.deep.equal([]);
    expect(web1.sockets.size, "one keep-alive connection throughout").to.equal(1);
    expect(echo1.failures, "no reset across the Deploy").to.deep.equal([]);
    expect(echoed.received).to.equal(echoed.sent);

    // A restart in between (the old lease still in its slot): the rules and the subnets stay with the renewal.
    await a.stop();
    a = await two.startAgain("a");
    expect(ACTIVE).to.include(a.db.lease(old.leaseId)!.status);
    const restored = await flowOf(renewal.leaseId);
    expect(restored?.requests, "the renewal's flows survive the restart").to.be.greaterThanOrEqual(before.requests);
    expect(await fresh(renewal.endpoint), "the redirect acts after the restart").to.deep.equal({
      status: 307,
      location: `${LOCATION}/`,
    });

    // Phase 2: clients open across the old lease's slot end.
    web1 = keepAliveClient(renewal.endpoint);
    echo1 = await echoClient(tcpEndpoint(renewal.leaseId));
    expect(tcpEndpoint(renewal.leaseId)).to.equal(tcp);
    await waitFor(
      "the old lease's slot to end",
      () => !ACTIVE.includes(a.db.lease(old.leaseId)!.status),
      (oldEnd - Date.now() / 1000 + 20) * 1000,
    );
    const okAtEnd = web1.ok;
    await waitFor(
      "more requests after the old lease ended",
      () => web1.ok >= okAtEnd + 20 || web1.failures.length > 0,
      10_000,
    );
    await web1.stop();
    echoed = await echo1.stop();
    expect(web1.failures, "no failed request across the old slot's end").to.deep.equal([]);
    expect(web1.sockets.size, "one keep-alive connection throughout").to.equal(1);
    expect(echo1.failures, "no reset across the old slot's end").to.deep.equal([]);
    expect(echoed.received).to.equal(echoed.sent);
    expect((await flowOf(renewal.leaseId))?.rate, "the renewal's rate after the old end").to.be.greaterThan(1);
    expect(await fresh(renewal.endpoint), "the redirect acts after the old lease ended").to.deep.equal({
      status: 307,
      location: `${LOCATION}/`,
    });
    expect(a.db.routingRules().map((r) => r.leaseId)).to.deep.equal([renewal.leaseId]);
  });
});
