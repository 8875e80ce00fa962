/**
 * A candidate's measured l_ij (issue 17, item 3) end to end: embedded chain, a real yard (real libp2p on loopback,
 * real Docker) whose site is a node of the packet-level testbed (scripts/lib/netbed.ts: real namespaces, real
 * per-packet delays) — clients `A` 1 ms from router `gw`, candidate site `near` 4 ms beyond it (10 ms round trip to
 * A), the ICON's own site `far` 19 ms beyond it (40 ms). The yard pings from `near` (`probe.netns`).
 *
 * Covered: a capacity query naming A's subnet gets the round trip ≈ the configured 10 ms, signed by the operator and
 * bound to the asker (a tampered figure, or a report shown by another peer, is refused); an ICON's Observation with
 * no ALTO map gives the candidate l_ij ≈ 10 ms + service (within 15 %) through real discovery, and tells it once; a
 * subnet that gets busy while a discovery is under way makes the next one come at once; bad targets are
 * refused whole with nothing sent; a flood of queries keeps getting answers while the measurements stop at the
 * per-peer and global budgets and the packets the yard sends stay bounded (the testbed's own link counters).
 */
import { expect } from "chai";
import { Wallet } from "ethers";
import type { Libp2p } from "@libp2p/interface";
import type { Multiaddr } from "@multiformats/multiaddr";
import {
  LeaseRejectedError,
  LeaseSession,
  RejectCode,
  RttStatus,
  createIconNode,
  rttReportSigner,
  type MarketClient,
  type RttTarget,
  type SignedRttReport,
} from "../../../protocol/index.ts";
import { createLogger, silentLogger } from "../../../protocol/log.ts";
import type { Yard } from "../../../yard-node/yard.ts";
import { agentEnvFrom } from "../../../icon-agent/config.ts";
import { checkRttReport } from "../../../icon-agent/measured.ts";
import { probeYard, type YardRef } from "../../../icon-agent/market.ts";
import { Observation } from "../../../icon-agent/observation.ts";
import type { AgentEvent } from "../../../icon-agent/state.ts";
import { Netbed } from "../../../scripts/lib/netbed.ts";
import { useDockerYard } from "../../helpers/docker.ts";
import { FAST_LEASE, expectRejection, startTestYard } from "../../helpers/yard.ts";
import { clientFor, startMarket, type TestMarket } from "../../../scripts/lib/testbed.ts";

const log = process.env.ICON_TEST_LOG ? createLogger({ level: "debug" }) : silentLogger;

const TOPOLOGY = {
  networks: { a: { domain: "a.rtt.test" } },
  nodes: {
    A: { network: "a", role: "clients" },
    gw: { network: "a", role: "router" },
    near: { network: "a", role: "site" },
    far: { network: "a", role: "site" },
  },
  links: [
    { a: "A", b: "gw", delayMs: 1 },
    { a: "gw", b: "near", delayMs: 4 },
    { a: "gw", b: "far", delayMs: 19 },
  ],
};
/** The file-order index of the gw–near link (its b→a direction carries the yard's echo requests). */
const NEAR_LINK = 1;
/** Global budget: echo requests a second, all peers together (burst: one full query, 8 × 3 = 24). */
const PACKETS_PER_S = 3;

describe("measured l_ij at a candidate: capacity queries with rtt targets (real yard, netbed delays)", function () {
  this.timeout(240_000);
  let bed: Netbed;
  let m: TestMarket;
  let yard: Yard;
  let addr: Multiaddr;
  let client: MarketClient;
  let operator: Wallet;
  const nodes: Libp2p[] = [];
  let subnet: string;
  let targets: RttTarget[];

  after(async () => {
    for (const n of nodes) await n.stop();
    await yard?.stop();
    await m?.close();
    await bed?.close();
  });
  // (registered after the hook above: mocha runs after-hooks in order, so the yard stops before the engine cleanup)
  const docker = useDockerYard("rt");

  const node = async (): Promise<Libp2p> => {
    const n = await createIconNode();
    nodes.push(n);
    return n;
  };
  /** One capacity query by hand: the answer's signed report (or the refusal). */
  const ask = async (n: Libp2p, ts: RttTarget[]): Promise<SignedRttReport | undefined> => {
    const s = await LeaseSession.open(n, addr, { signal: AbortSignal.timeout(15_000) });
    try {
      const a = await s.request({ type: "capacityQuery", rttTargets: ts });
      if (a.type === "reject") throw new LeaseRejectedError(a.code, a.message);
      if (a.type !== "capacityAnswer") throw new Error(`answered ${a.type}`);
      return a.answer.rtt;
    } finally {
      await s.close();
    }
  };
  const packetsSent = (): number => Number(yard.metrics.get("icon_yard_rtt_packets_total") ?? 0);

  before(async () => {
    bed = await Netbed.start(TOPOLOGY, { prefix: `rtt${process.pid}` });
    m = await startMarket();
    operator = new Wallet(m.keys[1]!, m.provider);
    yard = await startTestYard(
      m,
      1,
      docker.get().yardId,
      {
        lease: FAST_LEASE,
        probe: {
          netns: bed.netnsPath("near"),
          rttPerPeerBurst: 2,
          rttPerPeerEveryS: 600,
          rttPacketsPerS: PACKETS_PER_S,
        },
      },
      log,
    );
    addr = yard.node.getMultiaddrs()[0]!;
    client = await clientFor(m, 2);
    subnet = bed.subnet("A")!;
    targets = [{ subnet, target: bed.address("A") }];
  });

  it("measures towards the client subnet: the configured round trip, signed by the operator, bound to the asker", async () => {
    expect(bed.rttMs("near", "A")).to.equal(10);
    const icon = await node();
    const t0 = Date.now();
    const y = await probeYard(icon, client, [addr.toString()], undefined, targets);
    expect(y.rttError).to.equal(undefined);
    const rtt = y.rtt!.rttMs[subnet]!;
    expect(rtt, "the least of 3 echoes ≈ 10 ms, within 15 %").to.be.within(8.5, 11.5);
    expect(Date.now() - t0, "measured within the 3 s bound").to.be.below(5000);

    // By hand, for the report itself (a second measured query: the per-peer burst is 2).
    const r = (await ask(icon, targets))!;
    expect(r.status).to.equal(RttStatus.RTT_MEASURED);
    expect(r.yard).to.equal(operator.address);
    expect(rttReportSigner(r, client.domain())).to.equal(operator.address);
    const check = (x: SignedRttReport, asker = icon) =>
      checkRttReport(x, { operator: operator.address, asker: asker.peerId, asked: targets, domain: client.domain() });
    expect(check(r)).to.have.property("rttMs");
    // A tampered figure is not what the operator signed.
    const tampered = { ...r, figures: [{ ...r.figures[0]!, rttMs: 1 }] };
    expect(rttReportSigner(tampered, client.domain())).to.not.equal(operator.address);
    expect(check(tampered)).to.deep.equal({ error: "its round-trip report is not signed by its operator: not used" });
    // Another peer cannot pass it off as its own.
    expect(check(r, await node())).to.deep.equal({
      error: "its round-trip report was made for another peer: not used",
    });
    // The third from the same peer: over its budget, still answered (and signed), no figures.
    const over = (await ask(icon, targets))!;
    expect(over.status).to.equal(RttStatus.RTT_OVER_BUDGET);
    expect(over.figures).to.deep.equal([]);
    expect(rttReportSigner(over, client.domain())).to.equal(operator.address);
    expect(check(over)).to.deep.equal({ error: "no round trips measured: over_budget" });
  });

  /** An agent whose only discovery is the yard under test, as a seed. */
  const seededEnv = (): ReturnType<typeof agentEnvFrom> =>
    agentEnvFrom(
      {
        service: {
          image: "icon/web:1",
          imageDigest: "0x" + "ab".repeat(32),
          ports: [8080],
          cpuMillis: 250,
          memoryMiB: 64,
        },
        discovery: { domains: [], seeds: [addr.toString()] },
      },
      "http://127.0.0.1:1",
      client.deployment,
    );

  it("an Observation with no ALTO map gives the candidate its measured l_ij through real discovery", async () => {
    const icon = await node();
    const env = seededEnv();
    expect(env.altoUrl).to.equal(undefined);
    const events: AgentEvent[] = [];
    const seen = new Observation({
      env,
      seed: { root: 1n },
      node: icon,
      client,
      signer: Wallet.createRandom(),
      tree: { policy: () => undefined },
      emit: (kind, text, data) =>
        events.push({ atMs: Date.now(), icon: "t", kind, text, ...(data ? { data } : {}) } as AgentEvent),
    });
    seen.askRtts([{ subnet, rate: 5, latencyMs: 3, requests: 50n, client: bed.address("A") }]);
    await seen.refreshYards();
    expect(seen.yards.map((y) => y.peerId)).to.deep.equal([yard.node.peerId.toString()]);
    // The ICON's own site, 40 ms away as its yard's kernel measured it (telemetry rttMs).
    const here = { peerId: "P-far", name: "far", host: "198.18.250.1" } as YardRef;
    const l = seen.latencies(subnet, 3, here, 40);
    expect(l["P-far"]).to.equal(43);
    const candidate = l[yard.node.peerId.toString()]!;
    expect(candidate, "10 ms round trip + 3 ms service, within 15 %").to.be.within(13 * 0.85, 13 * 1.15);
    expect(events.filter((e) => /round-trip report/.test(e.text))).to.deep.equal([]);
    // The moment the candidate became a measured one for the subnet is told once (bench:netview's discoveryMs).
    const told = events.filter((e) => e.kind === "discovered" && e.data?.subnet === subnet);
    expect(told.map((e) => e.text)).to.have.length(1);
    expect(told[0]!.text).to.match(
      new RegExp(`^yard \\S+ measured ${subnet.replace(/\./g, "\\.")}: round trip [\\d.]+ ms`),
    );
    expect(Math.abs((told[0]!.data!.rttMs as number) + 3 - candidate), "its figure is the one l_ij uses").to.be.below(
      1e-9,
    );
  });

  it("news that comes while a discovery is under way makes the next period discover again, not 30 s later", async () => {
    const env = seededEnv();
    const seen = new Observation({
      env,
      seed: { root: 1n },
      node: await node(),
      client,
      signer: Wallet.createRandom(),
      tree: { policy: () => undefined },
      emit: () => {},
    });
    const a = { subnet, rate: 5, latencyMs: 3, requests: 50n, client: bed.address("A") };
    seen.askRtts([a]);
    const first = seen.refreshYards();
    // While the first discovery is under way, a subnet never asked about gets busy (its host does not answer).
    seen.askRtts([a, { subnet: "198.18.250.0/24", rate: 4, latencyMs: 3, requests: 40n, client: "198.18.250.7" }]);
    await first;
    const afterFirst = seen.yards;
    expect(afterFirst).to.have.length(1);
    await seen.refreshYards();
    await seen.settle();
    expect(seen.yards, "a second discovery ran at once").to.not.equal(afterFirst);
    // Without news the 30 s period holds.
    const afterSecond = seen.yards;
    await seen.refreshYards();
    await seen.settle();
    expect(seen.yards, "no discovery without news").to.equal(afterSecond);
  });

  it("refuses bad targets whole, before anything is sent", async () => {
    const icon = await node();
    const before = packetsSent();
    const bad: Array<[RttTarget[], RegExp]> = [
      [[{ subnet, target: "198.18.77.1" }], /is not in/],
      [[{ subnet: "127.0.0.0/24", target: "127.0.0.1" }], /loopback/],
      [[{ subnet: "224.0.0.0/24", target: "224.0.0.1" }], /multicast/],
      [[{ subnet: "169.254.1.0/24", target: "169.254.1.1" }], /link-local/],
      [[{ subnet: "::ffff:0:0/96", target: "::ffff:127.0.0.1" }], /an IPv6 form of an IPv4 address/],
      [[{ subnet: "::/64", target: "::1" }], /loopback/],
      [[{ subnet: "198.0.0.0/8", target: bed.address("A") }], /wider than a client subnet/],
      [[targets[0]!, { subnet: "0.0.0.0/24", target: "0.0.0.1" }], /unspecified/],
    ];
    for (const [ts, re] of bad) {
      const e = await expectRejection(ask(icon, ts), LeaseRejectedError, re);
      expect(e.reject).to.equal(RejectCode.BAD_REQUEST);
    }
    // More than 8: the frame itself is refused.
    const nine = Array.from({ length: 9 }, () => targets[0]!);
    const e = await expectRejection(ask(icon, nine), LeaseRejectedError, /names at most 8 rttTargets/);
    expect(e.reject).to.equal(RejectCode.BAD_REQUEST);
    expect(packetsSent()).to.equal(before);
    // The same peer's good query is still measured: the refusals spent none of its budget.
    expect((await ask(icon, targets))!.status).to.equal(RttStatus.RTT_MEASURED);
  });

  it("a flood of queries from many peers: all answered, measurements stop at the global budget, packets bounded", async () => {
    const link0 = (await bed.linkStats(NEAR_LINK)).ba.received;
    const sent0 = packetsSent();
    const t0 = Date.now();
    const peers = await Promise.all(Array.from({ length: 24 }, () => node()));
    const reports = await Promise.all(peers.map((p) => ask(p, targets)));
    const elapsedS = (Date.now() - t0) / 1000;
    expect(reports.every((r) => r !== undefined)).to.equal(true);
    const measured = reports.filter((r) => r!.status === RttStatus.RTT_MEASURED).length;
    const over = reports.filter((r) => r!.status === RttStatus.RTT_OVER_BUDGET).length;
    expect(measured + over).to.equal(24);
    expect(over, "most were over the global budget").to.be.greaterThan(0);
    const outcome = (o: string) => Number(yard.metrics.get("icon_yard_rtt_queries_total", { outcome: o }) ?? 0);
    expect(outcome("over_budget")).to.be.at.least(over);
    expect(outcome("bad_target")).to.be.at.least(8);
    // The bucket held at most a burst of 24 echo requests (8 queries of 3), refilled PACKETS_PER_S a second.
    const bound = 24 + PACKETS_PER_S * elapsedS + 3;
    expect(packetsSent() - sent0).to.be.at.most(bound);
    const onTheWire = (await bed.linkStats(NEAR_LINK)).ba.received - link0;
    expect(onTheWire, "echo requests the yard's site sent towards the clients").to.be.at.most(bound);
    expect(onTheWire).to.be.at.least(3);
  });
});
