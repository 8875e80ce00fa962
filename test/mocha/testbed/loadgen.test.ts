/**
 * The testbed's client load generator against plain node:http servers behind the WAN emulator: redirects
 * followed once and remembered, latency that carries the WAN delay, failures with their reasons (and a restart
 * from the entry point), moving the clients to another subnet, and the statistics.
 */
import { expect } from "chai";
import http from "node:http";
import type net from "node:net";
import { ConfigError } from "../../../protocol/index.ts";
import { startClients, type ClientLoad } from "../../../scripts/lib/loadgen.ts";
import { WanEmulator } from "../../../scripts/lib/wan.ts";

const HOSTS = { origin: "127.0.1.1", replica: "127.0.1.2", bad: "127.0.1.3" };
const SUBNETS = { A: "127.10.1.0/24", B: "127.10.2.0/24" };
/** One-way delays: A is near the replica, B near the origin. */
const DELAY = {
  A: { origin: 30, replica: 10, bad: 5 },
  B: { origin: 15, replica: 40, bad: 5 },
};
const IN_A = /^127\.10\.1\.\d+$/;
const IN_B = /^127\.10\.2\.\d+$/;

interface Seen {
  from: string;
  url: string;
  host: string;
}

async function until(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected a rejection");
}

describe("testbed client load generator (through the WAN emulator)", function () {
  this.timeout(30_000);
  let wan: WanEmulator;
  const servers: http.Server[] = [];
  const loads: ClientLoad[] = [];
  const seen: Record<keyof typeof HOSTS, Seen[]> = { origin: [], replica: [], bad: [] };
  const at = { origin: "", replica: "", bad: "" };
  let replicaDown = false;

  async function serve(name: keyof typeof HOSTS, handler: http.RequestListener): Promise<string> {
    const server = http.createServer((req, res) => {
      seen[name].push({ from: req.socket.remoteAddress ?? "", url: req.url ?? "", host: req.headers.host ?? "" });
      handler(req, res);
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, HOSTS[name], () => resolve()));
    return `${HOSTS[name]}:${(server.address() as net.AddressInfo).port}`;
  }

  beforeEach(async () => {
    for (const k of Object.keys(seen) as (keyof typeof HOSTS)[]) seen[k] = [];
    replicaDown = false;
    wan = await WanEmulator.start({ subnets: SUBNETS, yards: HOSTS, delayMs: structuredClone(DELAY) });
    // The origin sends subnet A to the replica, and /hangup requests to the bad server; it answers the rest.
    at.origin = await serve("origin", (req, res) => {
      if (req.url === "/hangup") res.writeHead(307, { location: `http://${at.bad}${req.url}` }).end();
      else if (IN_A.test(req.socket.remoteAddress ?? ""))
        res.writeHead(307, { location: `http://${at.replica}${req.url}` }).end();
      else res.writeHead(200, { "content-type": "text/plain" }).end("origin\n");
    });
    at.replica = await serve("replica", (req, res) =>
      replicaDown ? req.socket.destroy() : res.writeHead(200).end("replica\n".repeat(100)),
    );
    at.bad = await serve("bad", (req, res) => {
      if (req.url === "/hangup") req.socket.destroy();
      else if (req.url === "/loop") res.writeHead(308, { location: `http://${at.bad}/loop` }).end();
      else if (req.url === "/busy") res.writeHead(503).end("busy\n");
      // "/silent": no answer
    });
  });

  afterEach(async () => {
    await Promise.all(loads.splice(0).map((l) => l.stop()));
    await wan.close();
    for (const s of servers) s.closeAllConnections();
    await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  });

  async function start(o: Omit<Parameters<typeof startClients>[0], "network">): Promise<ClientLoad> {
    const load = await startClients({ network: wan, ...o });
    loads.push(load);
    return load;
  }

  it("follows the origin's redirect once per client and stays on the replica, with the WAN delay in its latency", async () => {
    const load = await start({ subnet: "A", entry: at.origin, clients: 3, intervalMs: 20, path: "/probe?x=1" });
    await until("30 samples", () => load.count() >= 30);
    await load.stop();
    const samples = load.samples();
    expect(load.failures()).to.deep.equal([]);
    expect(samples.every((s) => s.servedBy === at.replica && s.yard === "replica" && s.subnet === "A")).to.equal(true);
    // The origin saw the first request of each client only, from subnet A, with the path asked for.
    expect(seen.origin).to.have.length(3);
    expect(seen.origin.every((r) => IN_A.test(r.from) && r.url === "/probe?x=1" && r.host === at.origin)).to.equal(
      true,
    );
    expect(seen.replica.every((r) => IN_A.test(r.from) && r.url === "/probe?x=1" && r.host === at.replica)).to.equal(
      true,
    );
    // Aborted requests at stop() may have reached the replica without being recorded.
    expect(seen.replica.length).to.be.within(samples.length, samples.length + 3);
    const first = samples.filter((s) => s.redirects === 1);
    expect(first.map((s) => s.client).sort()).to.deep.equal([0, 1, 2]);
    expect(samples.filter((s) => s.redirects !== 1).every((s) => s.redirects === 0)).to.equal(true);
    // A fresh connection costs one RTT per hop: origin (2×30) then replica (2×10).
    for (const s of first) expect(s.latencyMs).to.be.at.least(80);
    const rtt = wan.rttMs("A", "replica");
    expect(load.p50()).to.be.at.least(rtt);
    expect(load.p50()).to.be.below(rtt + 40);
    for (const s of samples) expect(s.latencyMs).to.be.at.least(rtt);

    // The statistics over the same samples.
    expect(load.count()).to.equal(samples.length);
    const mid = samples[Math.floor(samples.length / 2)]!.atMs;
    expect(load.count(undefined, mid) + load.count(mid)).to.equal(samples.length);
    expect(load.p50(0, load.startedAtMs)).to.be.NaN;
    const series = load.series(100);
    expect(series[0]!.tMs).to.equal(load.startedAtMs);
    series.forEach((b, i) => {
      expect(b.tMs).to.equal(load.startedAtMs + i * 100);
      expect(b.n).to.equal(load.count(b.tMs, b.tMs + 100));
      if (b.n === 0) expect(b.p50).to.be.NaN;
      else expect(b.p50).to.equal(load.p50(b.tMs, b.tMs + 100));
    });
    expect(series.reduce((n, b) => n + b.n, 0)).to.equal(samples.length);
  });

  it("moves the clients with setSubnet: the servers see the new subnet and the latency follows", async () => {
    const load = await start({ subnet: "B", entry: at.origin, clients: 2, intervalMs: 20 });
    await until("10 samples from B", () => load.count() >= 10);
    expect(load.subnet).to.equal("B");
    const rttB = wan.rttMs("B", "origin");
    expect(load.p50()).to.be.within(rttB, rttB + 40);
    expect(seen.origin.every((r) => IN_B.test(r.from))).to.equal(true);
    expect(seen.replica).to.have.length(0);

    load.setSubnet("A");
    const moved = Date.now();
    expect(load.subnet).to.equal("A");
    await until("10 samples from A", () => load.samples().filter((s) => s.subnet === "A").length >= 10);
    await load.stop();
    const fromA = load.samples().filter((s) => s.subnet === "A");
    // From A the origin redirects to the replica, where the clients stay.
    expect(fromA.every((s) => s.servedBy === at.replica)).to.equal(true);
    expect(seen.replica.length).to.be.at.least(fromA.length);
    expect(seen.replica.every((r) => IN_A.test(r.from))).to.equal(true);
    expect(seen.origin.filter((r) => IN_A.test(r.from))).to.have.length(2);
    const rttA = wan.rttMs("A", "replica");
    expect(load.p50(moved)).to.be.within(rttA, rttA + 40);
    expect(load.failures()).to.deep.equal([]);
    expect(() => load.setSubnet("Z")).to.throw(ConfigError, /subnet: "Z" is not a subnet of the network \(A, B\)/);
  });

  it("counts failures with their reason: a hang-up after a redirect, a 503, a redirect loop, a timeout", async () => {
    // The origin redirects /hangup to a server that drops the connection: every request fails at the second hop,
    // and the next one starts at the origin again.
    const hangup = await start({ subnet: "B", entry: at.origin, clients: 2, intervalMs: 10, path: "/hangup" });
    await until("6 failures", () => hangup.failures().length >= 6);
    await hangup.stop();
    const failures = hangup.failures();
    expect(hangup.samples()).to.deep.equal([]);
    expect(hangup.count()).to.equal(0);
    expect(hangup.p50()).to.be.NaN;
    for (const f of failures) {
      expect(f.target).to.equal(at.bad);
      expect(f.subnet).to.equal("B");
      expect(f.reason).to.match(/ECONNRESET|socket hang up/);
    }
    expect(seen.origin.length).to.be.within(failures.length, failures.length + 2);
    expect(seen.bad.length).to.be.within(failures.length, failures.length + 2);

    const reasons = async (path: string, timeoutMs?: number): Promise<string[]> => {
      const load = await start({ subnet: "A", entry: at.bad, clients: 1, intervalMs: 10, path, timeoutMs });
      await until(`failures of ${path}`, () => load.failures().length >= 2);
      await load.stop();
      expect(load.count()).to.equal(0);
      return [...new Set(load.failures().map((f) => f.reason))];
    };
    expect(await reasons("/busy")).to.deep.equal(["HTTP 503"]);
    expect(await reasons("/loop")).to.deep.equal(["more than 5 redirects"]);
    expect(await reasons("/silent", 150)).to.deep.equal(["timeout after 150 ms"]);
  });

  it("sends a client back to the entry point when the instance it was sent to fails", async () => {
    const load = await start({ subnet: "A", entry: at.origin, clients: 1, intervalMs: 10 });
    await until("3 samples", () => load.count() >= 3);
    expect(seen.origin).to.have.length(1);
    replicaDown = true;
    await until("a failure at the replica", () => load.failures().length >= 1);
    replicaDown = false;
    const n = load.count();
    await until("3 more samples", () => load.count() >= n + 3);
    await load.stop();
    const failures = load.failures();
    for (const f of failures) {
      expect(f.target).to.equal(at.replica);
      expect(f.reason).to.match(/ECONNRESET|socket hang up/);
    }
    // Each failure sent the client back to the origin, which redirected it to the replica again.
    expect(seen.origin).to.have.length(1 + failures.length);
    expect(load.samples().filter((s) => s.redirects === 1).length).to.be.at.least(2);
  });

  it("stop() aborts requests in flight without recording them", async () => {
    const load = await start({ subnet: "A", entry: at.bad, clients: 2, intervalMs: 10, path: "/silent" });
    await until("both requests to arrive", () => seen.bad.length >= 2);
    const t0 = Date.now();
    await load.stop();
    expect(Date.now() - t0).to.be.below(1000); // the default timeout is 5 s
    expect(load.failures()).to.deep.equal([]);
    expect(load.samples()).to.deep.equal([]);
  });

  it("refuses bad options with the option at fault", async () => {
    const bad = async (o: Partial<Parameters<typeof startClients>[0]>, re: RegExp): Promise<void> => {
      const e = await rejection(
        startClients({ network: wan, subnet: "A", entry: at.origin, clients: 1, intervalMs: 10, ...o }),
      );
      expect(e).to.be.instanceOf(ConfigError);
      expect(e.message).to.match(re);
    };
    await bad({ subnet: "C" }, /^subnet: "C" is not a subnet of the network \(A, B\)/);
    await bad({ entry: "127.0.9.9:80" }, /^entry: "127\.0\.9\.9:80" is not "host:port" with the public host of a yard/);
    await bad({ entry: "origin" }, /^entry: /);
    await bad({ clients: 0 }, /^clients: 0 is not a count/);
    await bad({ intervalMs: -1 }, /^intervalMs: /);
    await bad({ timeoutMs: 0 }, /^timeoutMs: /);
    await bad({ path: "probe" }, /^path: "probe" must start with "\/"/);
  });
});
