/**
 * The agent gateway's forwards and peer proofs (yard-node/agent-gateway-forward.ts), attacked at unit level with
 * real sockets and real libp2p nodes on loopback: concurrent /dials of one target, the per-lease bound under
 * concurrency, openings racing a lease's end or the yard's stop, a renewal taking the forwards over, the targets a
 * sidecar may not make the yard dial, the one answer for every unreachable address, the peer store after proofs
 * of made-up peers, and the yard's own listener. The host firewall is a real HostFirewall that is not installed
 * (it keeps its set in memory, as it does before install): its `allowed()` is what would be in nftables.
 */
import { expect } from "chai";
import net from "node:net";
import type { Libp2p } from "@libp2p/interface";
import { generateKeyPair } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import { createLibp2p } from "libp2p";
import { tcp } from "@libp2p/tcp";
import { noise } from "@libp2p/noise";
import { yamux } from "@libp2p/yamux";
import { createIconNode } from "../../../protocol/net/node.ts";
import { silentLogger } from "../../../protocol/log.ts";
import { HostFirewall } from "../../../yard-node/firewall.ts";
import { GatewayRefusal } from "../../../yard-node/agent-gateway-rpc.ts";
import { UNREACHED, authenticatePeer, Forwards } from "../../../yard-node/agent-gateway-forward.ts";

/** Whether something listens on 127.0.0.1:`port`. */
const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = net.connect({ host: "127.0.0.1", port });
    s.on("connect", () => (s.destroy(), resolve(true)));
    s.on("error", () => resolve(false));
  });

/** The refusal `p` rejects with (fails when it resolves or throws something else). */
async function refusal(p: Promise<unknown>): Promise<GatewayRefusal> {
  try {
    await p;
  } catch (e) {
    if (e instanceof GatewayRefusal) return e;
    throw e;
  }
  throw new Error("expected a refusal");
}

describe("agent gateway forwards and peer proofs (unit, real sockets)", function () {
  this.timeout(60_000);
  let firewall: HostFirewall;
  /** The sidecar address of each running lease (the test's word; 127.0.0.1 is where the test connects from). */
  let running: Map<string, string>;
  let forwards: Forwards;
  const make = (maxPerLease = 32) =>
    new Forwards({
      gateway: "127.0.0.1",
      sidecarIp: (id) => running.get(id),
      firewall: () => firewall,
      maxPerLease,
      connectionsPerForward: 4,
      idleMs: 60_000,
      onCount: () => {},
      onRefused: () => {},
      log: silentLogger,
    });
  const target = (port: number) => ({ host: "127.0.0.1", port });

  beforeEach(() => {
    firewall = new HostFirewall({ yardId: "fwd-test" });
    running = new Map([
      ["1", "127.0.0.1"],
      ["2", "127.0.0.1"],
    ]);
  });
  afterEach(async () => {
    await forwards?.closeAll();
  });

  it("concurrent /dials of one target share one listener: no listener or firewall element leaks", async () => {
    forwards = make();
    const ports = await Promise.all(Array.from({ length: 8 }, () => forwards.open("1", "P", target(9))));
    expect(new Set(ports).size, `ports ${ports.join(",")}`).to.equal(1);
    expect(forwards.count()).to.equal(1);
    expect(firewall.allowed().map((a) => a.port)).to.deep.equal([ports[0]]);
    await forwards.closeLease("1");
    expect(firewall.allowed()).to.deep.equal([]);
    expect(await listening(ports[0]!)).to.equal(false);
  });

  it("holds the per-lease bound when many targets open at once (the least recently used idle one makes room)", async () => {
    forwards = make(2);
    const ports = await Promise.all(Array.from({ length: 6 }, (_, i) => forwards.open("1", "P", target(100 + i))));
    expect(forwards.count("1")).to.equal(2);
    expect(firewall.allowed()).to.have.length(2);
    let live = 0;
    for (const p of ports) if (await listening(p)) live++;
    expect(live, "listeners left open").to.equal(2);
  });

  it("an opening that races the lease's end or the yard's stop leaves nothing; none opens after the stop", async () => {
    forwards = make();
    const racing = forwards.open("1", "P", target(9));
    await forwards.closeLease("1");
    expect((await refusal(racing)).status).to.equal(403);
    // The sidecar is gone (the stop window): nothing opens for it.
    running.delete("2");
    expect((await refusal(forwards.open("2", "P", target(9)))).status).to.equal(403);
    running.set("2", "127.0.0.1");
    const beforeStop = forwards.open("2", "P", target(10));
    await forwards.closeAll();
    expect((await refusal(beforeStop)).status).to.equal(503);
    expect((await refusal(forwards.open("2", "P", target(11)))).status).to.equal(503);
    expect(forwards.count()).to.equal(0);
    expect(firewall.allowed()).to.deep.equal([]);
  });

  it("a renewal takes a lease's forwards over: same port, its connections stay up, served for the renewal", async () => {
    const echo = net.createServer((s) => s.pipe(s).on("error", () => {}));
    await new Promise<void>((resolve) => echo.listen(0, "127.0.0.1", resolve));
    try {
      forwards = make();
      const port = await forwards.open("1", "P", target((echo.address() as net.AddressInfo).port));
      const c = net.connect({ host: "127.0.0.1", port });
      await new Promise((resolve) => c.once("connect", resolve));
      forwards.move("1", "3");
      running.delete("1");
      running.set("3", "127.0.0.1");
      c.write("ping");
      const got = await new Promise<string>((resolve) => c.once("data", (d) => resolve(d.toString())));
      expect(got).to.equal("ping");
      expect(forwards.ports("3")).to.deep.equal([port]);
      expect(forwards.ports("1")).to.deep.equal([]);
      expect(await forwards.open("3", "P", target((echo.address() as net.AddressInfo).port))).to.equal(port);
      c.destroy();
      // An opening for the renewal under way while the move brings a forward to the same target: one stays.
      running.set("1", "127.0.0.1");
      const second = await forwards.open("1", "Q", target(9));
      const racing = forwards.open("3", "Q", target(9));
      forwards.move("1", "3");
      expect(await racing).to.equal(second);
      expect(forwards.count()).to.equal(2);
      expect(firewall.allowed()).to.have.length(2);
    } finally {
      echo.close();
    }
  });

  describe("authenticatePeer", () => {
    let yard: Libp2p;
    let other: Libp2p;
    before(async () => {
      yard = await createIconNode({ listen: ["/ip4/127.0.0.1/tcp/0"] });
      other = await createIconNode({ listen: ["/ip4/127.0.0.1/tcp/0"] });
    });
    after(async () => {
      await yard?.stop();
      await other?.stop();
    });
    const signal = () => AbortSignal.timeout(20_000);
    const addrOf = (n: Libp2p) =>
      n
        .getMultiaddrs()[0]!
        .toString()
        .replace(/\/p2p\/.*$/, "");

    it("refuses loopback (unless dialLoopback), link-local, unspecified and multicast targets without dialing", async () => {
      const peer = other.peerId.toString();
      const before = yard.getConnections().length;
      for (const [a, loop, why] of [
        [addrOf(other), false, /loopback/],
        ["/ip6/::1/tcp/4001", false, /loopback/],
        ["/ip4/169.254.169.254/tcp/80", true, /link-local/],
        ["/ip6/fe80::1/tcp/80", true, /link-local/],
        ["/ip4/0.0.0.0/tcp/80", true, /unspecified/],
        ["/ip4/224.0.0.1/tcp/80", true, /multicast/],
      ] as const) {
        const r = await refusal(authenticatePeer(yard, peer, [a], signal(), loop));
        expect(r.status, a).to.equal(400);
        expect(r.message, a).to.match(why);
      }
      expect(yard.getConnections().length).to.equal(before);
      // Allowed, it is proven.
      expect(await authenticatePeer(yard, peer, [addrOf(other)], signal(), true)).to.deep.equal({
        host: "127.0.0.1",
        port: Number(addrOf(other).split("/")[4]),
      });
    });

    it("answers one sentence whatever failed (closed port, another service, another peer): no port scanner", async () => {
      const closed = net.createServer();
      await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
      const closedPort = (closed.address() as net.AddressInfo).port;
      await new Promise<void>((resolve) => closed.close(() => resolve()));
      const echo = net.createServer((s) => s.pipe(s).on("error", () => {}));
      await new Promise<void>((resolve) => echo.listen(0, "127.0.0.1", resolve));
      try {
        const made = peerIdFromPrivateKey(await generateKeyPair("Ed25519")).toString();
        const messages = new Set<string>();
        for (const a of [
          `/ip4/127.0.0.1/tcp/${closedPort}`,
          `/ip4/127.0.0.1/tcp/${(echo.address() as net.AddressInfo).port}`,
          addrOf(other),
        ]) {
          const r = await refusal(authenticatePeer(yard, made, [a], signal(), true));
          expect(r.status, a).to.equal(502);
          messages.add(r.message);
        }
        expect([...messages]).to.deep.equal([UNREACHED]);
      } finally {
        echo.close();
      }
    });

    it("does not keep made-up peers in the yard's peer store after their proof failed; a known peer stays", async () => {
      const made = Array.from({ length: 3 }, () => generateKeyPair("Ed25519"));
      for (const k of await Promise.all(made)) {
        const id = peerIdFromPrivateKey(k);
        await refusal(authenticatePeer(yard, id.toString(), ["/ip4/127.0.0.1/tcp/1"], signal(), true));
        expect(await yard.peerStore.has(id), id.toString()).to.equal(false);
      }
      await yard.peerStore.merge(other.peerId, { tags: { kept: { value: 1 } } });
      await authenticatePeer(yard, other.peerId.toString(), [addrOf(other)], signal(), true);
      expect(await yard.peerStore.has(other.peerId)).to.equal(true);
    });

    it("forwards the yard's own peer id to its TCP listener, not to an address it announces", async () => {
      const announcing = await createLibp2p({
        addresses: { listen: ["/ip4/127.0.0.1/tcp/0"], announce: ["/ip4/203.0.113.7/tcp/4001"] },
        transports: [tcp()],
        connectionEncrypters: [noise()],
        streamMuxers: [yamux()],
      });
      try {
        expect(announcing.getMultiaddrs().map(String)[0]).to.match(/^\/ip4\/203\.0\.113\.7\/tcp\/4001/);
        const t = await authenticatePeer(announcing, announcing.peerId.toString(), [], signal());
        expect(t.host).to.equal("127.0.0.1");
        expect(t.port).to.not.equal(4001);
        expect(await listening(t.port)).to.equal(true);
      } finally {
        await announcing.stop();
      }
    });
  });
});
