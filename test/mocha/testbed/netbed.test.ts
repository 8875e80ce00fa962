/**
 * The packet-level WAN testbed (scripts/lib/netbed.ts) on real namespaces, TUN devices, kernel forwarding and
 * dnsmasq: ping, TCP connects and the kernel's TCP round-trip estimate see the configured delays, traceroute lists
 * every router with its PTR name from the ISPs' DNS, the PTR-less client network has no names, `_edge._tcp` SRV
 * answers inside the namespaces, loss, rate and the queue bound act as configured, bad topologies are refused with
 * the field named, and nothing of a bed remains after close() or after its controller is killed with SIGKILL.
 * Needs root.
 */
import { expect } from "chai";
import { spawn } from "node:child_process";
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigError, isIconError } from "../../../protocol/index.ts";
import { Netbed, loadTopology, sweepStaleBeds, type Topology } from "../../../scripts/lib/netbed.ts";
import { NetbedClients } from "../../../scripts/lib/netbed-clients.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const DEMO = path.join(root, "scripts/netbed/topologies/demo.json");
const TAG = `nbt${process.pid}`;

/** ping's share of lost echoes. */
function pingSummary(out: string): { lossPct: number } {
  const loss = /([\d.]+)% packet loss/.exec(out);
  if (!loss) throw new Error(`no ping summary in:\n${out}`);
  return { lossPct: Number(loss[1]) };
}

/** ping's per-echo round trips, ascending. */
function pingTimes(out: string): number[] {
  const times = [...out.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1])).sort((a, b) => a - b);
  if (times.length === 0) throw new Error(`no echo came back:\n${out}`);
  return times;
}

/**
 * The round trip a path gives: the least of several echoes. The testbed never delivers early, so the least is the
 * path's own delay; a busy machine (other suites beside this one, a kernel without preemption) adds milliseconds to
 * some echoes, at times to most of a short burst, which is the machine's, not the bed's. The median is checked too,
 * loosely: a bed that delays most packets too long still fails.
 */
function pingRtt(out: string, configured: number): number {
  const times = pingTimes(out);
  expect(times[times.length >> 1], `median of ${times.join(", ")} ms`).to.be.below(2 * configured + 10);
  return times[0]!;
}

function within(measured: number, configured: number): boolean {
  return Math.abs(measured - configured) <= Math.max(0.15 * configured, 1);
}

/** Every process whose network namespace is one of `inodes`. */
function holdersOf(inodes: Set<number>): number[] {
  const out: number[] = [];
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if (inodes.has(statSync(`/proc/${e}/ns/net`).ino)) out.push(Number(e));
    } catch {
      // gone meanwhile, or a kernel thread
    }
  }
  return out;
}

async function until(what: string, ok: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("testbed: packet-level WAN (namespaces, delay elements, routers, dnsmasq)", function () {
  this.timeout(120_000);
  let bed: Netbed;
  let demo: Topology;

  before(async () => {
    demo = await loadTopology(DEMO);
    bed = await Netbed.start(demo, { prefix: `${TAG}-demo` });
  });
  after(async () => {
    await bed?.close();
  });

  it("gives ping the configured round trip (±15 % or ±1 ms) on short and long paths", async () => {
    const pairs: [string, string][] = [
      ["A", "edge-a"],
      ["A", "cloud"],
      ["C", "cloud"],
      ["edge-a", "edge-b"],
      ["edge-t", "a-gw"],
    ];
    await Promise.all(
      pairs.map(async ([a, b]) => {
        const r = await bed.exec(a, "ping", ["-n", "-c", "20", "-i", "0.02", bed.address(b)]);
        expect(pingSummary(r.stdout).lossPct, `${a}→${b}`).to.equal(0);
        const rtt = pingRtt(r.stdout, bed.rttMs(a, b));
        expect(within(rtt, bed.rttMs(a, b)), `${a}→${b}: ping ${rtt} ms, configured ${bed.rttMs(a, b)} ms`).to.equal(
          true,
        );
      }),
    );
    expect(bed.rttMs("A", "edge-a")).to.equal(16);
    expect(bed.rttMs("A", "cloud")).to.equal(124);
  });

  it("makes a TCP connect take one configured round trip (the least of 5)", async () => {
    const cloud = bed.address("cloud");
    const server = bed.spawn("cloud", process.execPath, [
      "-e",
      `require("net").createServer((s) => s.end()).listen(7070, "${cloud}", () => console.log("listening"))`,
    ]);
    try {
      await new Promise<void>((resolve, reject) => {
        server.stdout!.on("data", (d: Buffer) => d.toString().includes("listening") && resolve());
        server.once("exit", (code) => reject(new Error(`server exited ${code}`)));
      });
      const client = `const net = require("net"); const times = [];
        const one = () => { const t = performance.now(); const s = net.connect(7070, "${cloud}", () => {
          times.push(performance.now() - t); s.destroy(); times.length < 5 ? one() : console.log(JSON.stringify(times)); }); };
        one();`;
      const r = await bed.exec("A", process.execPath, ["-e", client]);
      const times = (JSON.parse(r.stdout) as number[]).sort((x, y) => x - y);
      const rtt = bed.rttMs("A", "cloud");
      expect(within(times[0]!, rtt), `connect ${times.join(", ")} ms against ${rtt} ms`).to.equal(true);
    } finally {
      server.kill("SIGKILL");
    }
  });

  it("carries load generator clients from a client network's namespace: their own source addresses, the path's round trips, errors named", async () => {
    const cloud = bed.address("cloud");
    const server = bed.spawn("cloud", process.execPath, [
      "-e",
      `require("http").createServer((q, r) => r.end(q.socket.remoteAddress)).listen(7072, "${cloud}", () => console.log("listening"))`,
    ]);
    try {
      await new Promise<void>((resolve, reject) => {
        server.stdout!.on("data", (d: Buffer) => d.toString().includes("listening") && resolve());
        server.once("exit", (code) => reject(new Error(`server exited ${code}`)));
      });
      const clients = new NetbedClients(bed, { cloud });
      expect(clients.subnetNames().sort()).to.deep.equal(["A", "B", "C"]);
      expect(clients.yardOf(`${cloud}:7072`)).to.equal("cloud");
      const seen: string[] = [];
      for (const subnet of ["A", "C"]) {
        for (const client of [0, 3]) {
          const t = performance.now();
          const sock = await clients.connect(subnet, `${cloud}:7072`, client, AbortSignal.timeout(10_000));
          const connectMs = performance.now() - t;
          sock.write(`GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
          const answer = await new Promise<string>((r) => {
            let text = "";
            sock.on("data", (d) => (text += d)).once("close", () => r(text));
            sock.resume();
          });
          seen.push(answer.split("\r\n\r\n")[1]!);
          // A connect is one round trip along the bed (and a little for the Unix socket and the forwarder).
          expect(connectMs, `${subnet} connect`).to.be.at.least(bed.rttMs(subnet, "cloud") - 1);
        }
      }
      expect(seen).to.deep.equal([
        clients.sourceOf("A", 0),
        clients.sourceOf("A", 3),
        clients.sourceOf("C", 0),
        clients.sourceOf("C", 3),
      ]);
      expect(seen[0]).to.match(/^198\.18\.1\.10$/);
      // Nothing listens there: the forwarder's answer names the error.
      const refused = await clients.connect("A", `${cloud}:7073`, 0, AbortSignal.timeout(10_000)).then(
        () => undefined,
        (e: NodeJS.ErrnoException) => e,
      );
      expect(refused?.code).to.equal("ECONNREFUSED");
      expect(() => clients.sourceOf("edge-a", 0)).to.throw(/not a client network/);
      // Garbage and an endless first line at the forwarder's socket: refused, each connection closed, it goes on.
      const ask = (text: string): Promise<string> =>
        new Promise((resolve, reject) => {
          const s = net.connect(path.join(bed.dir, "clients-A.sock"));
          let got = "";
          s.on("data", (d) => (got += d)).once("close", () => resolve(got));
          s.once("error", reject);
          s.end(text);
        });
      expect(await ask("not an address\n")).to.equal("error BAD_REQUEST\n");
      expect(await ask(`${cloud} 99999 ${clients.sourceOf("A", 0)}\n`)).to.equal("error BAD_REQUEST\n");
      expect(await ask("x".repeat(10_000))).to.equal("error BAD_REQUEST\n");
      // A forwarder that dies (killed, crashed) is started again by the next connection, on the same socket path.
      const forwarder = bed
        .pids()
        .find((pid) => readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("clients-A.sock"));
      expect(forwarder, "the forwarder of A runs").to.not.equal(undefined);
      process.kill(forwarder!, "SIGKILL");
      await until("the forwarder of A to be gone", () => !existsSync(`/proc/${forwarder}`));
      let again: string | undefined;
      for (let i = 0; i < 50 && again === undefined; i++) {
        const sock = await clients
          .connect("A", `${cloud}:7072`, 1, AbortSignal.timeout(10_000))
          .catch(() => new Promise<undefined>((r) => setTimeout(() => r(undefined), 100)));
        if (!sock) continue;
        sock.write(`GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
        again = await new Promise<string>((r) => {
          let text = "";
          sock.on("data", (d) => (text += d)).once("close", () => r(text));
          sock.resume();
        });
      }
      expect(again?.split("\r\n\r\n")[1]).to.equal(clients.sourceOf("A", 1));
    } finally {
      server.kill("SIGKILL");
    }
  });

  it("gives the kernel's TCP round-trip estimate (ss -ti) the configured round trip, from any address of a subnet", async () => {
    const cloud = bed.address("cloud");
    const client = bed.address("A").replace(/\.1$/, ".77"); // the whole /24 is the client network's own
    const server = bed.spawn("cloud", process.execPath, [
      "-e",
      `require("net").createServer((s) => s.pipe(s)).listen(7071, "${cloud}", () => console.log("listening"))`,
    ]);
    let talker: ReturnType<typeof bed.spawn> | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        server.stdout!.on("data", (d: Buffer) => d.toString().includes("listening") && resolve());
        server.once("exit", (code) => reject(new Error(`server exited ${code}`)));
      });
      // Only once the server listens (a client started beside it may connect first and be refused).
      talker = bed.spawn("A", process.execPath, [
        "-e",
        `const s = require("net").connect({ port: 7071, host: "${cloud}", localAddress: "${client}" });
         let n = 0; s.on("data", () => (++n < 10 ? s.write("x".repeat(100)) : console.log("done")));
         s.on("connect", () => s.write("x".repeat(100))); process.stdin.on("end", () => s.destroy()); process.stdin.resume();`,
      ]);
      const t = talker;
      await new Promise<void>((resolve, reject) => {
        t.stdout!.on("data", (d: Buffer) => d.toString().includes("done") && resolve());
        t.once("exit", (code) => reject(new Error(`client exited ${code}`)));
      });
      const ss = await bed.exec("cloud", "ss", ["-tin", "state", "established", "dst", client]);
      const srtt = /\brtt:([\d.]+)\//.exec(ss.stdout);
      const minrtt = /\bminrtt:([\d.]+)/.exec(ss.stdout);
      expect(srtt && minrtt, ss.stdout).to.not.equal(null);
      const rtt = bed.rttMs("A", "cloud");
      expect(within(Number(minrtt![1]), rtt), `minrtt ${minrtt![1]} ms against ${rtt} ms`).to.equal(true);
      expect(Number(srtt![1]), ss.stdout).to.be.within(rtt * 0.85, 2 * rtt + 10);
    } finally {
      talker?.stdin!.end();
      talker?.kill("SIGKILL");
      server.kill("SIGKILL");
    }
  });

  it("traceroute from a site towards a client lists each router hop with its PTR name from the ISPs' dnsmasq", async () => {
    const r = await bed.exec("cloud", "traceroute", ["-q", "2", "-w", "3", bed.address("A")]);
    const hops = r.stdout
      .split("\n")
      .slice(1)
      .map((l) => /^\s*\d+\s+(\S+) \((\S+)\)/.exec(l))
      .filter((m) => m !== null)
      .map((m) => ({ name: m[1], address: m[2] }));
    const path = ["cloud-gw", "t-r2", "t-r1", "a-core", "a-gw"];
    expect(hops.map((h) => h.name)).to.deep.equal([
      "cloud-gw.icon.test",
      "t-r2.transit.test",
      "t-r1.transit.test",
      "a-core.a.isp.test",
      "a-gw.a.isp.test",
      "client-198-18-1-1.a.isp.test",
    ]);
    expect(hops.map((h) => h.address)).to.deep.equal([...path.map((n) => bed.address(n)), bed.address("A")]);
  });

  it("gives the PTR-less client network no names, while its routers keep theirs", async () => {
    const host = bed.address("C").replace(/\.1$/, ".77");
    const trace = await bed.exec("edge-t", "traceroute", ["-q", "2", "-w", "3", host]);
    const last = trace.stdout.trim().split("\n").pop()!;
    expect(last).to.match(new RegExp(`\\s${host.replace(/\./g, "\\.")} \\(${host.replace(/\./g, "\\.")}\\)`));
    expect(trace.stdout).to.include("c-gw.c.isp.test");
    const ptr = await bed.exec("edge-t", "dig", ["-x", host]);
    expect(ptr.stdout).to.include("status: NXDOMAIN");
    const named = await bed.exec("edge-t", "dig", ["+short", "-x", bed.address("B").replace(/\.1$/, ".9")]);
    expect(named.stdout.trim()).to.equal("client-198-18-2-9.b.isp.test.");
  });

  it("answers _edge._tcp SRV lookups inside a namespace, its own network's and another's, and publishes at run time", async () => {
    const own = await bed.exec("A", "dig", ["+short", "SRV", "_edge._tcp.a.isp.test"]);
    expect(own.stdout.trim()).to.equal("0 0 4001 edge-a.a.isp.test.");
    const other = await bed.exec("C", "dig", ["+short", "SRV", "_edge._tcp.transit.test"]);
    expect(other.stdout.trim()).to.equal("0 0 4001 edge-t.transit.test.");
    const a = await bed.exec("C", "dig", ["+short", "edge-t.transit.test"]);
    expect(a.stdout.trim()).to.equal(bed.address("edge-t"));
    expect(bed.resolver("C")).to.equal(bed.address("c-gw"));
    // Published at run time (a yard's peer id once it is known), then withdrawn, then back as in the file.
    await bed.setIep("edge-t", { port: 4101, txt: ["icon-v=1", "icon-peer=12D3KooWtest"] });
    const srv = await bed.exec("C", "dig", ["+short", "SRV", "_edge._tcp.transit.test"]);
    expect(srv.stdout.trim()).to.equal("0 0 4101 edge-t.transit.test.");
    const txt = await bed.exec("C", "dig", ["+short", "TXT", "edge-t.transit.test"]);
    expect(txt.stdout.trim()).to.equal('"icon-v=1" "icon-peer=12D3KooWtest"');
    await bed.setIep("edge-t", undefined);
    const none = await bed.exec("C", "dig", ["SRV", "_edge._tcp.transit.test"]);
    expect(none.stdout).to.match(/status: NXDOMAIN|ANSWER: 0,/);
    await bed.setIep("edge-t", { port: 4001 });
    const back = await bed.exec("C", "dig", ["+short", "SRV", "_edge._tcp.transit.test"]);
    expect(back.stdout.trim()).to.equal("0 0 4001 edge-t.transit.test.");
    let refused: unknown;
    try {
      await bed.setIep("t-r1", { port: 1 });
    } catch (e) {
      refused = e;
    }
    expect(isIconError(refused, "BAD_TOPOLOGY")).to.equal(true);
  });

  it("drops about the configured share with a loss, serialises at the rate and bounds the queue (drops counted)", async () => {
    const t: Topology = {
      networks: { x: { domain: "x.test", dns: "r" } },
      nodes: {
        r: { network: "x", role: "router" },
        lossy: { network: "x", role: "site" },
        slow: { network: "x", role: "site", iep: { port: 9, txt: ["icon-v=1", "icon-peer=none"] } },
        asym: { network: "x", role: "site" },
      },
      links: [
        { a: "r", b: "lossy", delayMs: 1, lossPct: 20 },
        { a: "r", b: "slow", delayMs: 2, rateBps: 1_000_000, queuePackets: 8 },
        { a: "r", b: "asym", delayMs: 3, delayBackMs: 9 },
      ],
    };
    const small = await Netbed.start(t, { prefix: `${TAG}-loss` });
    try {
      const r = await small.exec("r", "ping", ["-n", "-q", "-c", "400", "-i", "0.005", small.address("lossy")]);
      const { lossPct } = pingSummary(r.stdout);
      // Both directions drop 20 %: an echo comes back with probability 0.8² (36 % lost).
      expect(lossPct).to.be.within(26, 46);
      const s = await small.linkStats(0);
      expect(s.ab.dropLoss / s.ab.received).to.be.within(0.14, 0.26);
      // 1400 bytes of payload: 1428 bytes on the wire take 11.4 ms each way at 1 Mbit/s, plus 2 ms of delay.
      const big = await small.exec("r", "ping", ["-n", "-c", "5", "-i", "0.2", "-s", "1400", small.address("slow")]);
      expect(pingRtt(big.stdout, 26.8)).to.be.within(2 * (2 + 11.4) - 1, 2 * (2 + 11.4) * 1.15);
      // 20 echoes of 1428 bytes at once (ping's preload) into a 1 Mbit/s link with 8 places: 12 find it full.
      await small.exec("r", "ping", [
        "-n",
        "-q",
        "-c",
        "20",
        "-l",
        "20",
        "-W",
        "1",
        "-s",
        "1400",
        small.address("slow"),
      ]);
      const q = await small.linkStats(1);
      expect(q.ab.dropQueue).to.be.within(8, 12);
      expect(q.ab.maxQueued).to.equal(8);
      // Each direction its own delay: 3 ms there, 9 ms back.
      expect(small.rttMs("r", "asym")).to.equal(12);
      const asym = await small.exec("asym", "ping", ["-n", "-c", "5", "-i", "0.05", small.address("r")]);
      expect(within(pingRtt(asym.stdout, 12), 12), asym.stdout).to.equal(true);
      const txt = await small.exec("r", "dig", ["+short", "TXT", "slow.x.test"]);
      expect(txt.stdout.trim()).to.equal('"icon-v=1" "icon-peer=none"');
    } finally {
      await small.close();
    }
  });

  it("refuses a bad topology with a clear error naming the field, before making anything", async () => {
    const refusal = async (t: unknown, field: RegExp): Promise<void> => {
      const prefix = `${TAG}-bad`;
      let err: unknown;
      try {
        await (await Netbed.start(t, { prefix })).close();
      } catch (e) {
        err = e;
      }
      expect(err).to.be.instanceOf(ConfigError);
      expect(isIconError(err, "BAD_TOPOLOGY"), String(err)).to.equal(true);
      expect((err as Error).message).to.match(field);
      expect(existsSync(`/tmp/icon-netbed/${prefix}-${process.pid}`)).to.equal(false);
    };
    const links = demo.links;
    await refusal(
      { ...demo, links: [{ ...links[0], b: "nowhere" }] },
      /^topology\.links\[0\]\.b: "nowhere" is not in nodes/,
    );
    await refusal({ ...demo, links: [{ ...links[0], delayMs: -1 }] }, /^topology\.links\[0\]\.delayMs: /);
    await refusal(
      { ...demo, links: [...links, { a: "A", b: "b-gw", delayMs: 1 }] },
      /^topology\.nodes\.A: a clients node has one link/,
    );
    await refusal(
      { ...demo, links: links.filter((l) => l.b !== "t-r2") },
      /^topology\.links: .* cannot be reached from/,
    );
    await refusal(
      { ...demo, nodes: { ...demo.nodes, A: { network: "zz", role: "clients" } } },
      /^topology\.nodes\.A\.network: "zz" is not in networks/,
    );
    let unknown: unknown;
    try {
      await bed.exec("nowhere", "true", []);
    } catch (e) {
      unknown = e;
    }
    expect(isIconError(unknown, "UNKNOWN_NODE")).to.equal(true);
    await refusal({ ...demo, extra: 1 }, /^topology \(top level\): Unrecognized key/);
    await refusal(
      { ...demo, networks: { ...demo.networks, a: { domain: "A_ISP" } } },
      /^topology\.networks\.a\.domain: a lower-case DNS name/,
    );
  });

  it("leaves no namespace, device or process after close()", async () => {
    const t = await loadTopology(DEMO);
    const b = await Netbed.start(t, { prefix: `${TAG}-close` });
    const inodes = new Set(b.nodes().map((n) => statSync(b.netnsPath(n)).ino));
    const pids = b.pids();
    expect(holdersOf(inodes).length).to.be.at.least(inodes.size);
    await b.close();
    expect(pids.filter((p) => existsSync(`/proc/${p}`))).to.deep.equal([]);
    expect(holdersOf(inodes)).to.deep.equal([]);
    expect(existsSync(b.dir)).to.equal(false);
  });

  it("leaves no namespace, device or process after its controller is killed with SIGKILL", async () => {
    const child = spawn(process.execPath, [path.join(root, "test/helpers/netbed-child.ts"), `${TAG}-kill`], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const exited = new Promise<void>((r) => child.once("exit", () => r()));
    const line = await new Promise<string>((resolve, reject) => {
      let out = "";
      child.stdout!.on("data", (d: Buffer) => {
        out += d.toString();
        if (out.includes("\n")) resolve(out.split("\n")[0]!);
      });
      child.once("exit", (code) => reject(new Error(`controller exited ${code} before it was ready`)));
    });
    const ready = JSON.parse(line) as { pids: number[]; namespaces: number[]; dir: string };
    const inodes = new Set(ready.namespaces);
    expect(ready.pids.length).to.be.greaterThan(30); // 16 holders, 15 delay elements, 5 dnsmasq
    expect(holdersOf(inodes).length).to.be.at.least(inodes.size);
    child.kill("SIGKILL");
    await exited;
    await until("every process of the killed bed is gone", () => ready.pids.every((p) => !existsSync(`/proc/${p}`)));
    await until("no process is in any of its namespaces", () => holdersOf(inodes).length === 0);
    // The root namespace never held a device of the bed; its directory goes with the next bed's sweep.
    const links = await new Promise<string>((resolve) => {
      const ip = spawn("ip", ["-o", "link"], { stdio: ["ignore", "pipe", "ignore"] });
      let out = "";
      ip.stdout.on("data", (d: Buffer) => (out += d.toString()));
      ip.once("close", () => resolve(out));
    });
    expect(links).to.not.match(/: nbl\d+[:@]/);
    expect(existsSync(ready.dir)).to.equal(true);
    await sweepStaleBeds();
    expect(existsSync(ready.dir)).to.equal(false);
  });
});
