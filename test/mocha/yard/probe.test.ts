/**
 * /icon/probe/1.0.0 end to end: embedded chain, a real yard (real libp2p on loopback, real Docker) with two tenants'
 * running leases, and a real multi-hop path: a chain of network namespaces of this test's own (names `pb<random>…`,
 * addresses from 198.18.0.0/15, removed after) — the yard's site `y`, router `a`, router `b` (which sends no ICMP
 * time-exceeded: a silent hop) and a client network 198.19.9.0/24 with a host at .10. The yard measures from `y`
 * (`probe.netns`) with the real traceroute and ping.
 *
 * The yard's ingress is on loopback, so no request from 198.19.9.0/24 can reach it: the test puts requests from
 * that subnet into the leases' flow records directly (`yard.overlay.flows(id).record(…)`), as the ingress would.
 *
 * Covered: the holder probes its client subnet and gets the hops, a silent hop, the target reached, its rtt, the
 * packets sent, signed by the operator; a target that does not answer; non-holders (a stranger's key, another
 * tenant's key, an access signed for another peer, an unknown lease) refused; targets outside the lease's recent
 * client subnets, special addresses and names refused; one probe in flight per lease and maxConcurrent in all;
 * the per-lease rate limit (the (n+1)-th refused with a retry time); an agent in its sidecar reaches the protocol
 * of its own yard through the agent gateway's forward; malformed frames, silent streams and a flood keep the yard
 * answering; a yard with probing off or a missing site namespace says so; an ended lease may not probe.
 */
import { expect } from "chai";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";
import { Wallet } from "ethers";
import type { Libp2p } from "@libp2p/interface";
import type { Multiaddr } from "@multiformats/multiaddr";
import { lpStream } from "@libp2p/utils";
import { multiaddr } from "@multiformats/multiaddr";
import {
  PROBE_PROTOCOL,
  ProbeError,
  ProbeErrorCode,
  createIconNode,
  decodeProbeFrame,
  encodeProbeFrame,
  probeLimits,
  probePath,
  probeReportSigner,
  signLeaseAccess,
  type LeaseAccess,
  type ProbeMessage,
} from "../../../protocol/index.ts";
import { createLogger, silentLogger } from "../../../protocol/log.ts";
import type { Yard } from "../../../yard-node/yard.ts";
import { agentEnvFrom } from "../../../icon-agent/config.ts";
import { Observation } from "../../../icon-agent/observation.ts";
import type { Placement } from "../../../icon-agent/state.ts";
import { Forwards, authenticatePeer } from "../../../yard-node/agent-gateway-forward.ts";
import { HostFirewall } from "../../../yard-node/firewall.ts";
import { leaseHolderCheck } from "../../../yard-node/access.ts";
import { Metrics } from "../../../yard-node/metrics.ts";
import { probeService } from "../../../yard-node/probe.ts";
import { defaultServiceCidr } from "../../../yard-node/network.ts";
import { YardMetrics } from "../../../yard-node/yard-metrics.ts";
import { WEB_IMAGE, useDockerYard, waitFor } from "../../helpers/docker.ts";
import { FAST_LEASE, expectRejection, startTestYard } from "../../helpers/yard.ts";
import { Tenant, USD, clientFor, startMarket, type TestMarket } from "../../../scripts/lib/testbed.ts";

const log = process.env.ICON_TEST_LOG ? createLogger({ level: "debug" }) : silentLogger;
const run = promisify(execFile);

/** The namespace chain y — a — b — c of this run; `netns` is the yard site's path. */
interface Chain {
  prefix: string;
  netns: string;
  remove(): Promise<void>;
}

/** `ip` inside namespace `ns` (or on the host when undefined). */
const ip = (ns: string | undefined, ...args: string[]) => run("ip", ns ? ["-n", ns, ...args] : args);

async function makeChain(): Promise<Chain> {
  const prefix = `pb${randomBytes(3).toString("hex")}`;
  const [y, a, b, c] = ["y", "a", "b", "c"].map((n) => prefix + n) as [string, string, string, string];
  const remove = async (): Promise<void> => {
    for (const ns of [y, a, b, c]) await ip(undefined, "netns", "del", ns).catch(() => {});
  };
  try {
    for (const ns of [y, a, b, c]) {
      await ip(undefined, "netns", "add", ns);
      await ip(ns, "link", "set", "lo", "up");
    }
    /** A veth pair `<prefix><l>` in `n1` (address `a1`) and `<prefix><r>` in `n2` (address `a2`). */
    const link = async (n1: string, l: string, a1: string, n2: string, r: string, a2: string): Promise<void> => {
      await ip(
        undefined,
        "link",
        "add",
        prefix + l,
        "netns",
        n1,
        "type",
        "veth",
        "peer",
        "name",
        prefix + r,
        "netns",
        n2,
      );
      await ip(n1, "addr", "add", a1, "dev", prefix + l);
      await ip(n2, "addr", "add", a2, "dev", prefix + r);
      await ip(n1, "link", "set", prefix + l, "up");
      await ip(n2, "link", "set", prefix + r, "up");
    };
    await link(y, "y0", "198.18.1.1/30", a, "a0", "198.18.1.2/30");
    await link(a, "a1", "198.18.2.1/30", b, "b0", "198.18.2.2/30");
    await link(b, "b1", "198.19.9.1/24", c, "c0", "198.19.9.10/24");
    await ip(y, "route", "add", "default", "via", "198.18.1.2");
    await ip(a, "route", "add", "default", "via", "198.18.2.2");
    await ip(b, "route", "add", "default", "via", "198.18.2.1");
    await ip(c, "route", "add", "default", "via", "198.19.9.1");
    for (const r of [a, b]) await run("ip", ["netns", "exec", r, "sysctl", "-qw", "net.ipv4.ip_forward=1"]);
    // Router b forwards but never says "time exceeded": a silent hop.
    await run("ip", ["netns", "exec", b, "nft", "add table ip pbsilent"]);
    await run("ip", [
      "netns",
      "exec",
      b,
      "nft",
      "add chain ip pbsilent out { type filter hook output priority 0 ; policy accept ; }",
    ]);
    await run("ip", ["netns", "exec", b, "nft", "add rule ip pbsilent out icmp type time-exceeded drop"]);
  } catch (e) {
    await remove();
    throw e;
  }
  return { prefix, netns: `/run/netns/${y}`, remove };
}

/** The probe's refusal code of `p` (which must reject with a ProbeError matching `re`). */
async function refusal(p: Promise<unknown>, re: RegExp): Promise<ProbeError> {
  return expectRejection(p, ProbeError, re);
}

/** One /icon/probe/1.0.0 stream spoken by hand (10 s for the whole exchange). */
async function rawStream(node: Libp2p, yard: Multiaddr) {
  const signal = AbortSignal.timeout(15_000);
  const stream = await node.dialProtocol(yard, PROBE_PROTOCOL, { signal });
  const lp = lpStream(stream, { maxDataLength: probeLimits.maxFrameBytes });
  return {
    stream,
    lp,
    read: async (): Promise<ProbeMessage> => decodeProbeFrame((await lp.read({ signal })).subarray()),
  };
}

describe("probe service /icon/probe/1.0.0 (real yard, leases, libp2p; a namespace chain)", function () {
  this.timeout(240_000);
  const stopLater: { stop(): Promise<void> }[] = [];
  after(async () => {
    for (const t of stopLater) await t.stop();
    await attacker?.stop();
    await tenant?.stop();
    await other?.stop();
    await yard?.stop();
    await m?.close();
    await chain?.remove();
    if (chain) {
      const { stdout } = await run("ip", ["netns", "list"]);
      expect(stdout, "the test's namespaces are gone").to.not.include(chain.prefix);
    }
  });
  // (registered after the hook above: mocha runs after-hooks in order, so the yard stops before the engine cleanup)
  const docker = useDockerYard("pb");
  let chain: Chain;
  let m: TestMarket;
  let yard: Yard;
  let tenant: Tenant;
  let other: Tenant;
  let attacker: Libp2p;
  let operator: Wallet;
  let addr: Multiaddr;
  let leaseA: bigint;
  let leaseB: bigint;
  const CLIENT = "198.19.9.10";

  const access = (t: Tenant, leaseId: bigint, signer: Wallet = t.icon, peer = t.node.peerId): Promise<LeaseAccess> =>
    signLeaseAccess(signer, t.owner.domain(), leaseId, peer);

  before(async () => {
    chain = await makeChain();
    m = await startMarket();
    operator = new Wallet(m.keys[1]!, m.provider);
    yard = await startTestYard(
      m,
      1,
      docker.get().yardId,
      { lease: FAST_LEASE, probe: { netns: chain.netns, perLeaseBurst: 3, perLeaseEveryS: 60, maxConcurrent: 1 } },
      log,
    );
    addr = yard.node.getMultiaddrs()[0]!;
    tenant = await Tenant.create(m, 2, 3, USD(100));
    other = await Tenant.create(m, 4, 5, USD(100));
    attacker = await createIconNode();
    const web = "0x" + (await docker.get().runtime.imageId(WEB_IMAGE))!.slice("sha256:".length);
    leaseA = (await tenant.lease(addr, web, { slotSeconds: 180 })).leaseId;
    leaseB = (await other.lease(addr, web, { slotSeconds: 180 })).leaseId;
    await waitFor("both containers running", () => yard.status().leases.filter((l) => l.running).length === 2, 30_000);
    // Requests from the client network, as the ingress would record them (see the header).
    yard.overlay.flows(leaseA).record(CLIENT, 4);
  });

  let firstSeq = 0n;
  it("the holder probes its client subnet: the hops (a silent one too), the target reached, signed by the operator", async () => {
    const t0 = Date.now();
    const nonce = "0x" + "ab".repeat(32);
    const r = await probePath(tenant.node, addr, {
      leaseId: leaseA,
      access: await access(tenant, leaseA),
      target: CLIENT,
      nonce,
      domain: tenant.owner.domain(),
      operator: operator.address,
    });
    // The asker's nonce and the lease's answer count are signed: a report is not replayed for another request.
    expect(r.nonce).to.equal(nonce);
    expect(r.seq).to.be.greaterThan(0n);
    firstSeq = r.seq;
    expect(probeReportSigner({ ...r, nonce: "0x" + "ac".repeat(32) }, tenant.owner.domain())).to.not.equal(
      operator.address,
    );
    expect(probeReportSigner({ ...r, seq: r.seq + 1n }, tenant.owner.domain())).to.not.equal(operator.address);
    expect(r.hops.map((h) => [h.ttl, h.address])).to.deep.equal([
      [1, "198.18.1.2"],
      [2, undefined],
      [3, CLIENT],
    ]);
    expect(r.hops[0]!.rttMs).to.be.a("number").greaterThan(0);
    expect(r.hops[1]!.rttMs).to.equal(undefined);
    expect(r.reached).to.equal(true);
    expect(r.rttMs).to.be.a("number").greaterThan(0).lessThan(1000);
    // One traceroute probe per TTL up to the yard's maxHops (16), all at once, and 3 pings.
    expect(r.packets).to.equal(16 + 3);
    expect(r.elapsedMs).to.be.lessThan(10_000);
    expect(Number(r.at)).to.be.within(t0 - 1000, Date.now());
    expect(r.leaseId).to.equal(leaseA);
    expect(r.yard).to.equal(operator.address);
    expect(probeReportSigner(r, tenant.owner.domain())).to.equal(operator.address);
    // A forged figure is not what the operator signed.
    expect(probeReportSigner({ ...r, rttMs: (r.rttMs ?? 0) + 5 }, tenant.owner.domain())).to.not.equal(
      operator.address,
    );
  });

  it("a client address where no one answers: the path up to the silence, not reached, no rtt", async () => {
    const r = await probePath(tenant.node, addr, {
      leaseId: leaseA,
      access: await access(tenant, leaseA),
      target: "::ffff:198.19.9.99", // as a dual-stack socket names the client: asked for as IPv4
      maxHops: 4,
    });
    expect(r.target).to.equal("198.19.9.99");
    // Without a nonce of the asker's, 16 random bytes; the lease's next answer counts one up.
    expect(r.nonce).to.match(/^0x[0-9a-f]{32}$/);
    expect(r.seq).to.equal(firstSeq + 1n);
    expect(r.reached).to.equal(false);
    expect(r.rttMs).to.equal(undefined);
    expect(r.hops.map((h) => h.address)).to.deep.equal(["198.18.1.2", undefined, undefined, undefined]);
    expect(r.packets).to.equal(4 + 3);
  });

  it("refuses anyone but the lease's holder: a stranger's key, another tenant's key, another peer's access, an unknown lease", async () => {
    const stranger = new Wallet(m.keys[9]!);
    const ask = (t: Tenant, leaseId: bigint, a: LeaseAccess) =>
      probePath(t.node, addr, { leaseId, access: a, target: CLIENT });
    let e = await refusal(ask(tenant, leaseA, await access(tenant, leaseA, stranger)), /does not hold lease/);
    expect(e.probeCode).to.equal(ProbeErrorCode.DENIED);
    expect(e.code).to.equal("PROBE_DENIED");
    // The other tenant is a lease holder here too, but not of A.
    e = await refusal(ask(other, leaseA, await access(other, leaseA)), /does not hold lease/);
    expect(e.probeCode).to.equal(ProbeErrorCode.DENIED);
    // The holder's own signature, but for another peer's requests: a captured access is useless to others.
    e = await refusal(ask(other, leaseA, await access(tenant, leaseA, tenant.icon, tenant.node.peerId)), /./);
    expect(e.probeCode).to.equal(ProbeErrorCode.DENIED);
    e = await refusal(ask(tenant, 999_999n, await access(tenant, 999_999n)), /not held at this yard/);
    expect(e.probeCode).to.equal(ProbeErrorCode.UNKNOWN_LEASE);
    // The other tenant's own lease has other clients: A's subnet is not B's to probe.
    e = await refusal(ask(other, leaseB, await access(other, leaseB)), /no subnet that was a client of lease/);
    expect(e.probeCode).to.equal(ProbeErrorCode.NOT_A_CLIENT);
  });

  it("refuses targets outside the lease's recent client subnets, special addresses and names", async () => {
    const a = await access(tenant, leaseA);
    const ask = (target: string) => probePath(tenant.node, addr, { leaseId: leaseA, access: a, target });
    for (const target of ["198.19.10.10", "198.18.1.2"])
      expect((await refusal(ask(target), /no subnet that was a client/)).probeCode).to.equal(
        ProbeErrorCode.NOT_A_CLIENT,
      );
    // A subnet whose last request is older than clientRecentS (600 s) is no longer the lease's client.
    yard.overlay.flows(leaseA).record("198.19.12.5", 4, Date.now() - 700_000);
    expect((await refusal(ask("198.19.12.5"), /no subnet/)).probeCode).to.equal(ProbeErrorCode.NOT_A_CLIENT);
    for (const [target, re] of [
      ["224.0.0.1", /multicast/],
      ["0.0.0.0", /unspecified/],
      ["example.com", /not an IP address/],
      ["2001:db8::1%lo", /not an IP address/],
      ["fe80::1", /link-local/],
    ] as const)
      expect((await refusal(ask(target), re)).probeCode).to.equal(ProbeErrorCode.BAD_TARGET);
  });

  it("refuses loopback, IPv4 in IPv6 forms, other spellings, network and broadcast, the yard's own, relayed-only subnets", async () => {
    // Client subnets that reach these addresses: a loopback client, a `::1` client (::/48), a client in the yard's
    // service range and container bridge, an IPv6 one, and one named only by an active yard's tunnel header.
    const flows = yard.overlay.flows(leaseA);
    const service = defaultServiceCidr(docker.get().yardId).replace(/\.0\/24$/, "");
    const bridge = (await docker.get().runtime.networkInfo!()).gateway;
    for (const c of ["127.0.0.9", "::1", `${service}.7`, bridge, "2001:db8:9::5"]) flows.record(c, 4);
    flows.record("198.19.14.5", 4, Date.now(), true);
    // Spoken by hand: probePath writes targets canonically, the yard must refuse the other spellings itself.
    // From a node of the holder's own (the per-peer request rate of the tenant's node is the other tests').
    const asker = await createIconNode();
    const a = await access(tenant, leaseA, tenant.icon, asker.peerId);
    const ask = async (target: string): Promise<ProbeMessage> => {
      const s = await rawStream(asker, addr);
      await s.lp.write(encodeProbeFrame({ type: "request", access: a, target, maxHops: 4, nonce: "0x" }));
      const m = await s.read();
      await s.stream.close().catch(() => undefined);
      return m;
    };
    try {
      for (const [target, re] of [
        ["127.0.0.1", /loopback/],
        ["::1", /loopback/],
        ["::ffff:a9fe:a9fe", /IPv6 form of an IPv4 address/],
        ["::ffff:198.19.9.10", /IPv6 form of an IPv4 address/],
        ["::a9fe:a9fe", /IPv6 form of an IPv4 address/],
        ["64:ff9b::a9fe:a9fe", /IPv6 form of an IPv4 address/],
        ["2001:DB8:9::5", /not written canonically: ask for 2001:db8:9::5/],
        ["2001:db8:9:0::5", /not written canonically: ask for 2001:db8:9::5/],
        ["198.19.9.0", /network or broadcast address of 198\.19\.9\.0\/24/],
        ["198.19.9.255", /network or broadcast address/],
        ["2001:db8:9::", /network or broadcast address of 2001:db8:9::\/48/],
        [`${service}.7`, /this yard's own/],
        [bridge, /this yard's own/],
      ] as const)
        expect(await ask(target), target)
          .to.deep.include({ type: "error", code: ProbeErrorCode.BAD_TARGET })
          .and.satisfy((m: ProbeMessage) => m.type === "error" && re.test(m.message));
      expect(await ask("198.19.14.5")).to.deep.include({ type: "error", code: ProbeErrorCode.NOT_A_CLIENT });
    } finally {
      await asker.stop();
    }
  });

  it("one probe in flight per lease, and maxConcurrent (1 here) in all: the others are told to retry shortly", async () => {
    // A measurement that takes a while (a client address where no one answers: ~2.5 s).
    const slow = probePath(tenant.node, addr, {
      leaseId: leaseA,
      access: await access(tenant, leaseA),
      target: "198.19.9.99",
      maxHops: 4,
    });
    await waitFor("the slow probe measuring", () => yard.metrics.get("icon_yard_probes_measuring") === 1, 10_000);
    // The same lease from another node of its holder: its probe is under way.
    const second = await createIconNode();
    try {
      const e = await refusal(
        probePath(second, addr, {
          leaseId: leaseA,
          access: await access(tenant, leaseA, tenant.icon, second.peerId),
          target: CLIENT,
        }),
        /a probe of lease \d+ is under way/,
      );
      expect(e.probeCode).to.equal(ProbeErrorCode.BUSY);
      expect(e.retryAfterMs).to.be.greaterThan(0);
    } finally {
      await second.stop();
    }
    // Another lease while the yard measures its one path at once.
    yard.overlay.flows(leaseB).record(CLIENT, 4);
    const e = await refusal(
      probePath(other.node, addr, { leaseId: leaseB, access: await access(other, leaseB), target: CLIENT }),
      /this yard measures 1 paths at once: retry shortly/,
    );
    expect(e.probeCode).to.equal(ProbeErrorCode.BUSY);
    expect((await slow).reached).to.equal(false);
    expect(yard.metrics.get("icon_yard_probes_measuring")).to.equal(0);
  });

  it("rate-limits each lease: the burst is spent, the next probe is refused with a retry time", async () => {
    // A's burst of 3 was spent above (refusals spend none, and one refills every 60 s): the next is refused.
    const a = await access(tenant, leaseA);
    const ask = () => probePath(tenant.node, addr, { leaseId: leaseA, access: a, target: CLIENT, maxHops: 4 });
    const e = await refusal(ask(), /may probe 3 times at once and once every 60 s after: retry in \d+ s/);
    expect(e.probeCode).to.equal(ProbeErrorCode.RATE_LIMITED);
    expect(e.retryAfterMs).to.be.greaterThan(0).and.at.most(60_000);
    // Another lease's budget is its own: B probes its client at once.
    const b = await probePath(other.node, addr, {
      leaseId: leaseB,
      access: await access(other, leaseB),
      target: CLIENT,
      maxHops: 4,
    });
    expect(b.reached).to.equal(true);
  });

  it("an agent in its sidecar reaches this protocol of its own yard: the gateway's forward to the yard's own peer id", async () => {
    // What the agent gateway's POST /dial of the yard's own peer id opens (agent-gateway-forward.ts), with the
    // sidecar's address the test's own 127.0.0.1; the firewall is a HostFirewall that is not installed.
    const forwards = new Forwards({
      gateway: "127.0.0.1",
      sidecarIp: () => "127.0.0.1",
      firewall: () => new HostFirewall({ yardId: `${chain.prefix}fw` }),
      maxPerLease: 4,
      connectionsPerForward: 4,
      idleMs: 60_000,
      onCount: () => {},
      onRefused: () => {},
      log: silentLogger,
    });
    const sidecar = await createIconNode();
    try {
      const self = yard.node.peerId.toString();
      const target = await authenticatePeer(yard.node, self, [], AbortSignal.timeout(10_000));
      const port = await forwards.open(leaseB.toString(), self, target);
      const via = multiaddr(`/ip4/127.0.0.1/tcp/${port}/p2p/${self}`);
      const r = await probePath(sidecar, via, {
        leaseId: leaseB,
        access: await signLeaseAccess(other.icon, other.owner.domain(), leaseB, sidecar.peerId),
        target: CLIENT,
        maxHops: 4,
        domain: other.owner.domain(),
        operator: operator.address,
      });
      expect(r.reached).to.equal(true);
      expect(r.hops.at(-1)?.address).to.equal(CLIENT);
    } finally {
      await forwards.closeAll();
      await sidecar.stop();
    }
  });

  it("malformed frames, silent streams and a flood leave the yard answering", async () => {
    // Garbage, a wrong message, an oversized length prefix: each answered BAD_FRAME (or the stream reset).
    const frames: [string, (s: Awaited<ReturnType<typeof rawStream>>) => unknown][] = [
      ["garbage", (s) => s.lp.write(Uint8Array.of(0xff, 0xff, 0xff))],
      [
        "a yard's message",
        (s) =>
          s.lp.write(encodeProbeFrame({ type: "error", code: ProbeErrorCode.DENIED, message: "x", retryAfterMs: 0 })),
      ],
      ["a 256 MiB length prefix", (s) => s.stream.send(Uint8Array.of(0xfe, 0xff, 0xff, 0x7f))],
    ];
    for (const [what, send] of frames) {
      const s = await rawStream(attacker, addr);
      await send(s);
      expect(await s.read(), what).to.include({ type: "error", code: ProbeErrorCode.BAD_FRAME });
      s.stream.abort(new Error("done"));
    }
    // A stream that never sends holds the peer's one request; a second from the same peer is told to wait.
    const silent = await rawStream(attacker, addr);
    const second = await rawStream(attacker, addr);
    await second.lp.write(
      encodeProbeFrame({
        type: "request",
        access: await access(tenant, leaseA),
        target: CLIENT,
        maxHops: 0,
        nonce: "0x",
      }),
    );
    const busy = await second.read();
    expect(busy).to.include({ type: "error", code: ProbeErrorCode.BUSY });
    silent.stream.abort(new Error("done"));
    second.stream.abort(new Error("done"));
    // A flood of 100 streams at once on one connection: each refused or reset, all within the bound.
    const flood = await Promise.allSettled(
      Array.from({ length: 100 }, async () => {
        const s = await rawStream(attacker, addr);
        await s.lp.write(Uint8Array.from(randomBytes(64)));
        return s.read().finally(() => s.stream.abort(new Error("done")));
      }),
    );
    const answered = flood.filter((f) => f.status === "fulfilled").map((f) => f.value);
    for (const a of answered) expect(a.type).to.equal("error");
    // Beyond 4 streams per connection the rest were reset by the muxer, unread.
    expect(answered.length).to.be.within(1, 8);
    // One after another: past its burst of 20 requests the attacker is told to slow down, before a frame is read.
    const said: string[] = [];
    for (let i = 0; i < 25; i++) {
      const s = await rawStream(attacker, addr);
      await s.lp.write(Uint8Array.of(0xff, 0xff, 0xff));
      const a = await s.read();
      said.push(a.type === "error" ? a.message : a.type);
      s.stream.abort(new Error("done"));
    }
    expect(said.filter((m) => /slow down/.test(m)).length, said.join("\n")).to.be.greaterThan(0);
    // The yard is up and serves a holder at once (B's burst of 3 has one left, and has refilled a little).
    const r = await probePath(other.node, addr, {
      leaseId: leaseB,
      access: await access(other, leaseB),
      target: CLIENT,
      maxHops: 4,
    });
    expect(r.reached).to.equal(true);
    expect(yard.status().leases.length).to.be.greaterThan(0);
    // Counted: the answers (and the packets they cost), and the refusals by their code.
    const metrics = yard.metrics.render();
    expect(metrics).to.match(/icon_yard_probes_total\{outcome="answered"\} [5-9]/);
    expect(metrics).to.match(/icon_yard_probes_total\{outcome="busy"\} [1-9]/);
    expect(metrics).to.match(/icon_yard_probes_total\{outcome="rate_limited"\} 1/);
    expect(metrics).to.match(/icon_yard_probes_total\{outcome="bad_frame"\} [1-9]/);
    expect(metrics).to.match(/icon_yard_probes_total\{outcome="not_a_client"\} [1-9]/);
    expect(metrics).to.match(/icon_yard_probe_packets_total [1-9]\d+/);
  });

  it("a yard whose probes are disabled, or whose tools cannot run, says so (DISABLED, FAILED)", async () => {
    // A second probe service over this yard's own lease records, chain and flows, on a node of its own, with the
    // config a broken deployment would have: probing off, or a site namespace that does not exist.
    const variants = [
      { probe: { ...yard.config.probe, enabled: false }, code: ProbeErrorCode.DISABLED, re: /does not probe/ },
      {
        probe: { ...yard.config.probe, netns: `/run/netns/${chain.prefix}missing` },
        code: ProbeErrorCode.FAILED,
        re: /the measurement could not run at this yard \(its operator's log says why\)/,
      },
    ];
    for (const v of variants) {
      const lines: string[] = [];
      const log = createLogger({ level: "warn", write: (line: string) => lines.push(line) });
      const node = await createIconNode({ listen: ["/ip4/127.0.0.1/tcp/0"] });
      const service = probeService({
        config: v.probe,
        authorize: leaseHolderCheck(yard.db, yard.chain),
        running: (id) => yard.status().leases.some((l) => l.id === id.toString() && l.running),
        clients: (id) => yard.overlay.flows(id).snapshot(),
        signer: operator,
        operator: operator.address,
        domain: () => yard.chain.domain(),
        log,
        metrics: new YardMetrics(new Metrics()),
      })({ registrar: node });
      await service.start();
      try {
        const e = await refusal(
          probePath(tenant.node, node.getMultiaddrs()[0]!, {
            leaseId: leaseA,
            access: await access(tenant, leaseA),
            target: CLIENT,
          }),
          v.re,
        );
        expect(e.probeCode).to.equal(v.code);
        if (v.code === ProbeErrorCode.FAILED) expect(lines.join("\n")).to.match(/nsenter: cannot open/);
      } finally {
        await service.stop();
        await node.stop();
      }
    }
  });

  it("an ICON's observation traces from its own yard (Observation.probeOwnYard, the agent's default path probe)", async () => {
    const third = await Tenant.create(m, 6, 7, USD(100));
    stopLater.push(third);
    const web = "0x" + (await docker.get().runtime.imageId(WEB_IMAGE))!.slice("sha256:".length);
    const l = await third.lease(addr, web, { slotSeconds: 120 });
    yard.overlay.flows(l.leaseId).record(CLIENT, 4);
    const env = agentEnvFrom(
      {
        service: { image: "icon/web:1", imageDigest: web, ports: [8080], cpuMillis: 250, memoryMiB: 64 },
        discovery: { domains: ["icon.test"] },
      },
      "http://127.0.0.1:1",
      third.owner.deployment,
    );
    const placed = {
      leaseId: l.leaseId,
      yard: {
        peerId: yard.node.peerId.toString(),
        addrs: [addr.toString()],
        host: "127.0.0.1",
        name: "y",
        operator: operator.address,
      },
    } as unknown as Placement;
    const seen = new Observation({
      env,
      seed: { root: third.account, placement: placed },
      node: third.node,
      client: third.owner,
      signer: third.icon,
      tree: { policy: () => undefined },
      emit: () => {},
      probeOwnYard: true,
    });
    const hops = await seen.probeOwnYard("198.19.9.0/24", { signal: AbortSignal.timeout(20_000), client: CLIENT });
    expect(hops.map((h) => h.address)).to.deep.equal(["198.18.1.2", undefined, CLIENT]);
    // Not placed: nothing to trace from.
    const unplaced = new Observation({
      env,
      seed: { root: third.account },
      node: third.node,
      client: third.owner,
      signer: third.icon,
      tree: { policy: () => undefined },
      emit: () => {},
    });
    await expectRejection(
      unplaced.probeOwnYard("198.19.9.0/24", { signal: AbortSignal.timeout(5_000) }),
      Error,
      /not placed/,
    );
  });

  it("an ended lease may not probe", async () => {
    const icon = await clientFor(m, 5);
    await icon.terminate(leaseB);
    await waitFor("lease B to end", () => ["ended", "settled"].includes(yard.db.lease(leaseB)!.status), 20_000);
    const e = await refusal(
      probePath(other.node, addr, { leaseId: leaseB, access: await access(other, leaseB), target: CLIENT }),
      /not running here now/,
    );
    expect(e.probeCode).to.equal(ProbeErrorCode.NOT_RUNNING);
  });
});
