/**
 * The testbed's client load generator on a small packet-level testbed (scripts/lib/netbed.ts): clients leave from
 * client networks A and B (NetbedClients), plain node:http servers run in the namespaces of the sites "origin",
 * "replica" and "bad". Redirects followed once and remembered, latency that carries the path's delay, failures with
 * their reasons (and a restart from the entry point), moving the clients to another subnet, and the statistics.
 * Needs root (the bed's namespaces).
 */
import { expect } from "chai";
import type { ChildProcess } from "node:child_process";
import { ConfigError } from "../../../protocol/index.ts";
import { startClients, type ClientLoad } from "../../../scripts/lib/loadgen.ts";
import { Netbed } from "../../../scripts/lib/netbed.ts";
import { NetbedClients } from "../../../scripts/lib/netbed-clients.ts";

type Site = "origin" | "replica" | "bad";
const SITES: Site[] = ["origin", "replica", "bad"];

/**
 * A is near the replica, B near the origin. One-way delays along the routes: A→replica 10, A→bad 5, A→origin 35;
 * B→origin 15, B→replica 30, B→bad 25 ms.
 */
const TOPOLOGY = {
  networks: { lg: { domain: "lg.test" } },
  nodes: {
    A: { network: "lg", role: "clients" },
    B: { network: "lg", role: "clients" },
    ra: { network: "lg", role: "router" },
    rb: { network: "lg", role: "router" },
    origin: { network: "lg", role: "site" },
    replica: { network: "lg", role: "site" },
    bad: { network: "lg", role: "site" },
  },
  links: [
    { a: "A", b: "ra", delayMs: 2 },
    { a: "B", b: "rb", delayMs: 2 },
    { a: "ra", b: "rb", delayMs: 20 },
    { a: "ra", b: "replica", delayMs: 8 },
    { a: "ra", b: "bad", delayMs: 3 },
    { a: "rb", b: "origin", delayMs: 13 },
  ],
};

/**
 * A site's server, run inside its namespace: one line `seen {from,url,host}` per request before it answers, and
 * per line on stdin (`down <n>`, `up <n>`, `sync <n>`) the replica's state set and `ack <n>` once done.
 */
const SERVER = `
const c = JSON.parse(process.argv[1]);
let down = false;
const server = require("node:http").createServer((req, res) => {
  const from = req.socket.remoteAddress ?? "";
  process.stdout.write("seen " + JSON.stringify({ from, url: req.url, host: req.headers.host }) + "\\n");
  if (c.role === "origin") {
    if (req.url === "/hangup") res.writeHead(307, { location: "http://" + c.at.bad + req.url }).end();
    else if (from.startsWith(c.inA)) res.writeHead(307, { location: "http://" + c.at.replica + req.url }).end();
    else res.writeHead(200, { "content-type": "text/plain" }).end("origin\\n");
  } else if (c.role === "replica") {
    if (down) req.socket.destroy();
    else res.writeHead(200).end("replica\\n".repeat(100));
  } else if (req.url === "/hangup") req.socket.destroy();
  else if (req.url === "/loop") res.writeHead(308, { location: "http://" + c.at.bad + "/loop" }).end();
  else if (req.url === "/busy") res.writeHead(503).end("busy\\n");
  // "/silent": no answer
});
server.listen(c.port, c.host, () => process.stdout.write("listening\\n"));
require("node:readline").createInterface({ input: process.stdin }).on("line", (line) => {
  const [what, n] = line.split(" ");
  if (what === "down") down = true;
  if (what === "up") down = false;
  process.stdout.write("ack " + n + "\\n");
});
`;

interface Seen {
  from: string;
  url: string;
  host: string;
}

async function until(what: string, cond: () => boolean, ms = 15_000): Promise<void> {
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

describe("testbed client load generator (on a packet-level testbed)", function () {
  this.timeout(60_000);
  let bed: Netbed;
  let clients: NetbedClients;
  /** The subnets' address prefixes, "198.18.k.". */
  const prefix = { A: "", B: "" };
  const inA = (ip: string): boolean => ip.startsWith(prefix.A);
  const inB = (ip: string): boolean => ip.startsWith(prefix.B);
  const loads: ClientLoad[] = [];
  const servers = new Map<Site, ChildProcess>();
  const acked = new Set<number>();
  let commands = 0;
  let port = 8100;
  const seen: Record<Site, Seen[]> = { origin: [], replica: [], bad: [] };
  const at: Record<Site, string> = { origin: "", replica: "", bad: "" };

  before(async () => {
    bed = await Netbed.start(TOPOLOGY, { prefix: `lgt${process.pid}` });
    clients = new NetbedClients(bed, Object.fromEntries(SITES.map((s) => [s, bed.address(s)])));
    prefix.A = bed.subnet("A")!.replace(/0\/24$/, "");
    prefix.B = bed.subnet("B")!.replace(/0\/24$/, "");
  });
  after(async () => {
    await bed?.close();
  });

  /** Starts a site's server on this test's port; resolves once it listens. */
  async function serve(site: Site): Promise<void> {
    const child = bed.spawn(site, process.execPath, [
      "-e",
      SERVER,
      JSON.stringify({ role: site, host: bed.address(site), port, inA: prefix.A, at }),
    ]);
    servers.set(site, child);
    let err = "";
    child.stderr!.setEncoding("utf8").on("data", (d: string) => (err += d));
    let rest = "";
    await new Promise<void>((resolve, reject) => {
      child.once("exit", (code) => reject(new Error(`the ${site} server exited (${code}): ${err}`)));
      child.stdout!.setEncoding("utf8").on("data", (d: string) => {
        const lines = (rest + d).split("\n");
        rest = lines.pop()!;
        for (const line of lines) {
          if (line === "listening") resolve();
          else if (line.startsWith("seen ")) seen[site].push(JSON.parse(line.slice(5)) as Seen);
          else if (line.startsWith("ack ")) acked.add(Number(line.slice(4)));
        }
      });
    });
  }

  /** Sends `what` to the site's server and waits for its answer: every request it saw before is in `seen`. */
  async function tell(site: Site, what: "down" | "up" | "sync"): Promise<void> {
    const n = ++commands;
    servers.get(site)!.stdin!.write(`${what} ${n}\n`);
    await until(`the ${site} server's answer to ${what}`, () => acked.has(n));
  }

  /** Every request the servers saw so far is in `seen`. */
  const synced = (): Promise<unknown> => Promise.all(SITES.map((s) => tell(s, "sync")));

  beforeEach(async () => {
    for (const s of SITES) seen[s] = [];
    port++; // a fresh port per test: a request still under way from the last test meets no server
    for (const s of SITES) at[s] = `${bed.address(s)}:${port}`;
    // The origin sends subnet A to the replica, and /hangup requests to the bad server; it answers the rest.
    await Promise.all(SITES.map(serve));
  });

  afterEach(async () => {
    await Promise.all(loads.splice(0).map((l) => l.stop()));
    for (const child of servers.values()) child.kill("SIGKILL");
    servers.clear();
  });

  async function start(o: Omit<Parameters<typeof startClients>[0], "network">): Promise<ClientLoad> {
    const load = await startClients({ network: clients, ...o });
    loads.push(load);
    return load;
  }

  const SLACK_MS = 90;

  it("follows the origin's redirect once per client and stays on the replica, with the path's delay in its latency", async () => {
    const load = await start({ subnet: "A", entry: at.origin, clients: 3, intervalMs: 20, path: "/probe?x=1" });
    await until("30 samples", () => load.count() >= 30);
    await load.stop();
    await synced();
    const samples = load.samples();
    expect(load.failures()).to.deep.equal([]);
    expect(samples.every((s) => s.servedBy === at.replica && s.yard === "replica" && s.subnet === "A")).to.equal(true);
    // The origin saw the first request of each client only, from subnet A, with the path asked for.
    expect(seen.origin).to.have.length(3);
    expect(seen.origin.every((r) => inA(r.from) && r.url === "/probe?x=1" && r.host === at.origin)).to.equal(true);
    expect(seen.replica.every((r) => inA(r.from) && r.url === "/probe?x=1" && r.host === at.replica)).to.equal(true);
    // Three clients, three distinct source addresses of A.
    expect(new Set(seen.replica.map((r) => r.from))).to.have.property("size", 3);
    // Aborted requests at stop() may have reached the replica without being recorded.
    expect(seen.replica.length).to.be.within(samples.length, samples.length + 3);
    const first = samples.filter((s) => s.redirects === 1);
    expect(first.map((s) => s.client).sort()).to.deep.equal([0, 1, 2]);
    expect(samples.filter((s) => s.redirects !== 1).every((s) => s.redirects === 0)).to.equal(true);
    // A fresh connection costs two round trips of its path (the handshake, then the request): origin (2 × 70 ms)
    // then replica (2 × 20 ms). The bed never delivers early.
    const rttOrigin = bed.rttMs("A", "origin");
    const rtt = bed.rttMs("A", "replica");
    expect([rttOrigin, rtt]).to.deep.equal([70, 20]);
    for (const s of first) expect(s.latencyMs).to.be.at.least(2 * (rttOrigin + rtt) - 1);
    expect(load.p50()).to.be.at.least(2 * rtt - 1);
    // The lower bound is exact (the timed queue never delivers early); above it a busy 2-core machine adds tens of
    // ms (81 ms against 2 × 20 + 40 seen under load 10). SLACK_MS keeps every bound below the 140 ms the origin's
    // path would give from A, so a client that did not follow the redirect still fails it.
    expect(load.p50()).to.be.below(2 * rtt + SLACK_MS);
    for (const s of samples) expect(s.latencyMs).to.be.at.least(2 * rtt - 1);

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
    await synced();
    expect(load.subnet).to.equal("B");
    const rttB = bed.rttMs("B", "origin");
    expect(load.p50()).to.be.within(2 * rttB - 1, 2 * rttB + SLACK_MS);
    expect(seen.origin.every((r) => inB(r.from))).to.equal(true);
    expect(seen.replica).to.have.length(0);

    load.setSubnet("A");
    const moved = Date.now();
    expect(load.subnet).to.equal("A");
    await until("10 samples from A", () => load.samples().filter((s) => s.subnet === "A").length >= 10);
    await load.stop();
    await synced();
    const fromA = load.samples().filter((s) => s.subnet === "A");
    // From A the origin redirects to the replica, where the clients stay.
    expect(fromA.every((s) => s.servedBy === at.replica)).to.equal(true);
    expect(seen.replica.length).to.be.at.least(fromA.length);
    expect(seen.replica.every((r) => inA(r.from))).to.equal(true);
    expect(seen.origin.filter((r) => inA(r.from))).to.have.length(2);
    const rttA = bed.rttMs("A", "replica");
    expect(load.p50(moved)).to.be.within(2 * rttA - 1, 2 * rttA + SLACK_MS);
    expect(load.failures()).to.deep.equal([]);
    expect(() => load.setSubnet("Z")).to.throw(ConfigError, /subnet: "Z" is not a subnet of the network \(A, B\)/);
  });

  it("counts failures with their reason: a hang-up after a redirect, a 503, a redirect loop, a timeout", async () => {
    // The origin redirects /hangup to a server that drops the connection: every request fails at the second hop,
    // and the next one starts at the origin again.
    const hangup = await start({ subnet: "B", entry: at.origin, clients: 2, intervalMs: 10, path: "/hangup" });
    await until("6 failures", () => hangup.failures().length >= 6);
    await hangup.stop();
    await synced();
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
    await synced();
    expect(seen.origin).to.have.length(1);
    await tell("replica", "down");
    await until("a failure at the replica", () => load.failures().length >= 1);
    await tell("replica", "up");
    const n = load.count();
    await until("3 more samples", () => load.count() >= n + 3);
    await load.stop();
    await synced();
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
        startClients({ network: clients, subnet: "A", entry: at.origin, clients: 1, intervalMs: 10, ...o }),
      );
      expect(e).to.be.instanceOf(ConfigError);
      expect(e.message).to.match(re);
    };
    await bad({ subnet: "C" }, /^subnet: "C" is not a subnet of the network \(A, B\)/);
    await bad(
      { entry: "198.18.9.9:80" },
      /^entry: "198\.18\.9\.9:80" is not "host:port" with the public host of a yard/,
    );
    await bad({ entry: "origin" }, /^entry: /);
    await bad({ clients: 0 }, /^clients: 0 is not a count/);
    await bad({ intervalMs: -1 }, /^intervalMs: /);
    await bad({ timeoutMs: 0 }, /^timeoutMs: /);
    await bad({ path: "probe" }, /^path: "probe" must start with "\/"/);
  });
});
