/**
 * Passive round trips (yard-node/overlay/kernel-rtt.ts): `ss -ti` output parsed (recorded lines, IPv6, the state
 * column, junk), each connection's minimum RTT recorded under its lease's ingress port only, smoothed per subnet
 * (flows.ts), and a live read of the kernel's estimate of real loopback connections.
 */
import { expect } from "chai";
import net from "node:net";
import { silentLogger } from "../../../protocol/log.ts";
import { FlowObserver } from "../../../yard-node/overlay/flows.ts";
import { KernelRtt, parseSs } from "../../../yard-node/overlay/kernel-rtt.ts";

const RECORDED = [
  "0      5      127.0.0.1:18555 127.0.0.2:38521",
  "\t bbr wscale:10,10 rto:204 rtt:0.052/0.038 ato:40 mss:32768 cwnd:14 bytes_sent:25 minrtt:0.014 snd_wnd:65536",
  "ESTAB 0 0 [::ffff:198.18.1.1]:8080 [::ffff:198.18.7.20]:40000",
  "\t cubic wscale:7,7 rto:260 rtt:61.5/3.2 ato:40 mss:1448 minrtt:40.125",
  "0 0 [2001:db8::1]:8080 [2001:db8:7::9%eth0]:40001",
  "\t cubic rto:204 rtt:12/1",
  "garbage line without endpoints",
  "\t rtt:99/1 minrtt:99",
  "0 0 *:* 1.2.3.4:5",
  "\t rtt:1/1",
].join("\n");

describe("kernel round trips (ss -ti)", () => {
  it("parses each socket line with its info line: addresses (IPv4-mapped, IPv6 zones), minrtt and rtt", () => {
    expect(parseSs(RECORDED)).to.deep.equal([
      { localIp: "127.0.0.1", localPort: 18555, peerIp: "127.0.0.2", peerPort: 38521, minRttMs: 0.014, rttMs: 0.052 },
      { localIp: "198.18.1.1", localPort: 8080, peerIp: "198.18.7.20", peerPort: 40000, minRttMs: 40.125, rttMs: 61.5 },
      { localIp: "2001:db8::1", localPort: 8080, peerIp: "2001:db8:7::9", peerPort: 40001, rttMs: 12 },
    ]);
    expect(parseSs(RECORDED, 1)).to.have.length(1);
    expect(parseSs("")).to.deep.equal([]);
  });

  it("smooths a subnet's round trips, takes none for a subnet without requests, and ignores nonsense", () => {
    const f = new FlowObserver({ halfLifeS: 10 });
    const t = 1_000_000;
    f.record("198.18.7.20", 3, t);
    f.recordRtt("198.18.7.21", 40, t);
    f.recordRtt("198.18.7.22", 44, t);
    f.recordRtt("198.18.7.22", NaN, t);
    f.recordRtt("198.18.7.22", -1, t);
    f.recordRtt("198.18.9.1", 5, t); // no request from 198.18.9.0/24: not a client subnet
    const s = f.snapshot(t);
    expect(s).to.have.length(1);
    expect(s[0]!.rttMs).to.equal(42);
    expect(s[0]!.latencyMs).to.equal(3);
    // Recent readings outweigh old ones: after many half-lives the new value dominates.
    f.recordRtt("198.18.7.1", 10, t + 100_000);
    expect(f.snapshot(t + 100_000)[0]!.rttMs).to.be.within(9.9, 10.1);
    // One vote per client address: a client that reports often (or games its ACKs) does not set the subnet alone.
    const g = new FlowObserver({ halfLifeS: 10 });
    g.record("198.18.8.5", 1, t);
    for (let i = 0; i < 50; i++) g.recordRtt("198.18.8.5", 300, t + i);
    g.recordRtt("198.18.8.6", 10, t);
    g.recordRtt("198.18.8.7", 12, t);
    expect(g.snapshot(t + 100)[0]!.rttMs).to.equal(12);
    // A round trip is no request: the subnet's last activity stays the last request's.
    g.recordRtt("198.18.8.6", 11, t + 500_000);
    expect(g.snapshot(t + 500_000)[0]!.lastAt).to.equal(t);
    const fresh = new FlowObserver();
    fresh.record("10.0.0.1", 1, t);
    expect(fresh.snapshot(t)[0]!.rttMs).to.be.NaN;
  });

  it("reads real connections to a lease's port from the kernel, and only that port's", async () => {
    const servers = [net.createServer((s) => s.pipe(s)), net.createServer((s) => s.pipe(s))];
    const ports = await Promise.all(
      servers.map(
        (s) => new Promise<number>((r) => s.listen(0, "127.0.0.1", () => r((s.address() as net.AddressInfo).port))),
      ),
    );
    const sockets: net.Socket[] = [];
    const recorded: [bigint, string, number][] = [];
    try {
      for (const [i, port] of ports.entries()) {
        const c = net.connect({ port, host: "127.0.0.1", localAddress: `127.0.0.${i + 2}` });
        sockets.push(c);
        await new Promise((r) => c.once("connect", r));
        for (let k = 0; k < 3; k++) {
          c.write("ping");
          await new Promise((r) => c.once("data", r));
        }
      }
      const rtt = new KernelRtt(
        {
          host: "127.0.0.1",
          ports: () => new Map([[ports[0]!, 7n]]),
          record: (...a) => recorded.push(a),
          log: silentLogger,
        },
        { everyMs: 0 },
      );
      // A second connection from the same client address: still one figure for it this round.
      const c2 = net.connect({ port: ports[0]!, host: "127.0.0.1", localAddress: "127.0.0.2" });
      sockets.push(c2);
      await new Promise((r) => c2.once("connect", r));
      c2.write("ping");
      await new Promise((r) => c2.once("data", r));
      expect(await rtt.sample()).to.equal(1);
      expect(recorded).to.have.length(1);
      const [lease, client, ms] = recorded[0]!;
      expect(lease).to.equal(7n);
      expect(client).to.equal("127.0.0.2");
      expect(ms).to.be.greaterThan(0).and.lessThan(20); // loopback
      // Another address of this host with the same port is not this ingress's: nothing taken.
      const elsewhere = new KernelRtt(
        {
          host: "127.0.0.9",
          ports: () => new Map([[ports[0]!, 7n]]),
          record: () => expect.fail("taken"),
          log: silentLogger,
        },
        { everyMs: 0 },
      );
      expect(await elsewhere.sample()).to.equal(0);
      // A missing ss turns the sampler off (a warning, no throw), and it stays off.
      const off = new KernelRtt(
        { host: "127.0.0.1", ports: () => new Map([[ports[0]!, 7n]]), record: () => {}, log: silentLogger },
        { everyMs: 0, ss: "/nonexistent/ss" },
      );
      expect(await off.sample()).to.equal(0);
      expect(await off.sample()).to.equal(0);
    } finally {
      for (const s of sockets) s.destroy();
      await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    }
  });

  it("measures connections that close between two rounds, from the kernel's socket-destroy events", async () => {
    // A server that answers once and closes, like an HTTP/1.0 service.
    const server = net.createServer((s) => s.once("data", () => s.end("bye")));
    const port = await new Promise<number>((r) =>
      server.listen(0, "127.0.0.1", () => r((server.address() as net.AddressInfo).port)),
    );
    const recorded: [bigint, string, number][] = [];
    const rtt = new KernelRtt(
      { host: "127.0.0.1", ports: () => new Map([[port, 9n]]), record: (...a) => recorded.push(a), log: silentLogger },
      { everyMs: 60_000 },
    );
    rtt.start();
    try {
      await waitUntil(() => rtt.following);
      // The stream's process is up; give it the moment it needs to subscribe, then make connections until one is seen.
      for (let i = 0; i < 50 && rtt.closedSamples === 0; i++) {
        const c = net.connect({ port, host: "127.0.0.1", localAddress: "127.0.0.4" });
        c.resume();
        await new Promise((r) => c.once("connect", r));
        c.write("x");
        await new Promise((r) => c.once("close", r));
        await new Promise((r) => setTimeout(r, 50));
      }
      await waitUntil(() => rtt.closedSamples > 0);
      expect(recorded.length).to.be.greaterThan(0);
      for (const [lease, client, ms] of recorded) {
        expect(lease).to.equal(9n);
        expect(client).to.equal("127.0.0.4"); // only the lease's side: the client's own end is no ingress port
        expect(ms).to.be.greaterThan(0).and.lessThan(20);
      }
      rtt.stop();
      expect(rtt.following).to.equal(false);
    } finally {
      rtt.stop();
      await new Promise((r) => server.close(r));
    }
  });
});

async function waitUntil(f: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 20));
  }
}
