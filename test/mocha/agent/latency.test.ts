/**
 * l_ij as the agent forms it (icon-agent/observation.ts `latencies`): at its own location the measured round trip
 * (the yard's kernel, telemetry `rtt_us`) + the service latency wins over the ALTO map, a disagreement between them
 * is reported once; at a candidate its signed round trip (measured.ts, while fresh) wins the same way; elsewhere,
 * and without a measurement, the map's 2 × one-way delay + the service latency.
 * A real ALTO server (protocol/netinfo/alto.ts) serves the map: subnet A 20 ms one way from "here", 5 ms from "there".
 */
import { expect } from "chai";
import { Wallet } from "ethers";
import {
  AltoMap,
  MarketClient,
  createIconNode,
  serveAlto,
  type CostMap,
  type NetworkMap,
} from "../../../protocol/index.ts";
import type { Libp2p } from "@libp2p/interface";
import { agentEnvFrom } from "../../../icon-agent/config.ts";
import { RTT_TTL_MS } from "../../../icon-agent/measured.ts";
import { Observation } from "../../../icon-agent/observation.ts";
import type { YardRef } from "../../../icon-agent/market.ts";
import type { AgentEvent } from "../../../icon-agent/state.ts";
import { network, deployMarket, deploymentOf, type Market } from "../../helpers/market.ts";

const conn = await network.create();

/** The ALTO maps: PIDs of subnet A and the two yards' public hosts, and the one-way delays (ms) both ways. */
function altoMaps(): { network: NetworkMap; costs: CostMap } {
  const vtag = { "resource-id": "icon-networkmap", tag: "latency-test-1" };
  const delayMs = { "yard-here": 20, "yard-there": 5 };
  return {
    network: {
      meta: { vtag },
      "network-map": {
        "subnet-A": { ipv4: ["127.10.1.0/24"] },
        "yard-here": { ipv4: ["127.0.1.1/32"] },
        "yard-there": { ipv4: ["127.0.1.2/32"] },
      },
    },
    costs: {
      meta: { "dependent-vtags": [{ ...vtag }], "cost-type": { "cost-mode": "numerical", "cost-metric": "delay-ow" } },
      "cost-map": {
        "subnet-A": delayMs,
        "yard-here": { "subnet-A": delayMs["yard-here"] },
        "yard-there": { "subnet-A": delayMs["yard-there"] },
      },
    },
  };
}

describe("l_ij: measured round trips (own site, candidates' signed reports) before the ALTO map", function () {
  this.timeout(60_000);
  let m: Market;
  let alto: { url: string; close(): Promise<void> };
  let node: Libp2p;

  before(async () => {
    m = await deployMarket(conn);
    alto = await serveAlto(() => {
      const x = altoMaps();
      return new AltoMap(x.network, x.costs);
    });
    node = await createIconNode();
  });
  after(async () => {
    await node?.stop();
    await alto?.close();
  });

  it("uses the measurement here, the map there, and reports a disagreement once", async () => {
    const client = await MarketClient.connect({
      deployment: await deploymentOf(m),
      provider: m.ethers.provider,
      signer: m.stranger,
    });
    const env = agentEnvFrom(
      {
        service: {
          image: "icon/web:1",
          imageDigest: "0x" + "ab".repeat(32),
          ports: [8080],
          cpuMillis: 250,
          memoryMiB: 64,
        },
        discovery: { domains: ["icon.test"] },
        network: { altoUrl: alto.url },
      },
      "http://127.0.0.1:1",
      client.deployment,
    );
    const events: AgentEvent[] = [];
    const seen = new Observation({
      env,
      seed: { root: 1n },
      node,
      client,
      signer: Wallet.createRandom(),
      tree: { policy: () => undefined },
      emit: (kind, text, data) =>
        events.push({ atMs: Date.now(), icon: "t", kind, text, ...(data ? { data } : {}) } as AgentEvent),
    });
    await seen.refreshAlto();
    const yard = (name: string, host: string): YardRef => ({ peerId: `P-${name}`, name, host }) as YardRef;
    seen.yards.push(yard("there", "127.0.1.2")); // as discovery would have found it
    const hereRef = yard("here", "127.0.1.1");

    // No measurement: the map for both (2 × one-way + 3 ms of service).
    expect(seen.latencies("127.10.1.0/24", 3, hereRef)).to.deep.equal({ "P-here": 43, "P-there": 13 });
    // Measured and close to the map: the measurement, no report.
    expect(seen.latencies("127.10.1.0/24", 3, hereRef, 41)).to.deep.equal({ "P-here": 44, "P-there": 13 });
    expect(events.filter((e) => /ALTO map says/.test(e.text))).to.have.length(0);
    // Measured far from the map: the measurement wins, and it is said once.
    expect(seen.latencies("127.10.1.0/24", 3, hereRef, 90)["P-here"]).to.equal(93);
    expect(seen.latencies("127.10.1.0/24", 3, hereRef, 91)["P-here"]).to.equal(94);
    const told = events.filter((e) => /ALTO map says/.test(e.text));
    expect(told).to.have.length(1);
    expect(told[0]!.data).to.include({ subnet: "127.10.1.0/24", measuredMs: 90, altoMs: 40 });
    expect(seen.disagreements.get("127.10.1.0/24")).to.include({ measuredMs: 91, altoMs: 40 });
    // A subnet the map does not know: the measurement alone here, nothing there.
    expect(seen.latencies("127.99.0.0/24", 3, hereRef, 12)).to.deep.equal({ "P-here": 15 });
    expect(seen.latencies("127.99.0.0/24", 3, hereRef)).to.deep.equal({ "P-here": 3 });

    // A candidate's signed round trip (measured.ts, from its capacity answer) wins over the map there too, and a
    // disagreement is reported once, under `subnet@peerId`.
    seen.measured.put("P-there", { at: Date.now(), rttMs: { "127.10.1.0/24": 30 } });
    expect(seen.latencies("127.10.1.0/24", 3, hereRef, 41)).to.deep.equal({ "P-here": 44, "P-there": 33 });
    expect(seen.latencies("127.10.1.0/24", 3, hereRef, 41)["P-there"]).to.equal(33);
    const there = events.filter((e) => /at there: .*ALTO map says/.test(e.text));
    expect(there).to.have.length(1);
    expect(there[0]!.data).to.include({ subnet: "127.10.1.0/24", measuredMs: 30, altoMs: 10, peerId: "P-there" });
    expect(seen.disagreements.get("127.10.1.0/24@P-there")).to.include({ measuredMs: 30, altoMs: 10 });
    // Close to the map: the measurement, and the disagreement is gone.
    seen.measured.put("P-there", { at: Date.now(), rttMs: { "127.10.1.0/24": 11 } });
    expect(seen.latencies("127.10.1.0/24", 3, hereRef, 41)["P-there"]).to.equal(14);
    expect(seen.disagreements.has("127.10.1.0/24@P-there")).to.equal(false);
    // A figure older than its TTL is not used: the map again.
    seen.measured.put("P-there", { at: Date.now() - RTT_TTL_MS - 1, rttMs: { "127.10.1.0/24": 30 } });
    expect(seen.latencies("127.10.1.0/24", 3, hereRef, 41)["P-there"]).to.equal(13);
  });
});
