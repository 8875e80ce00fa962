/**
 * An ICON's last decisions survive a restart of its agent (icon-agent/state.ts DecisionStore, decisions.json in the
 * state directory): real embedded chain with the market deployed, real agents opened from one state directory (their
 * libp2p node on loopback; no yard, no period run). A first agent takes on a move whose "after" is still to be
 * measured and stops; a second agent opened from the same directory reports it, its "before" included. The store
 * itself keeps the newest 16 whatever is written, in the order written, and a file not of its shape counts as none.
 */
import { expect } from "chai";
import { Wallet } from "ethers";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Agent } from "../../../icon-agent/agent.ts";
import { agentEnvFrom } from "../../../icon-agent/config.ts";
import { StatusReporter } from "../../../icon-agent/status-report.ts";
import {
  DecisionStore,
  readAgentState,
  saveAgentState,
  writeAgentState,
  type PlacedDecision,
} from "../../../icon-agent/state.ts";
import type { Deployment } from "../../../protocol/index.ts";
import { deployMarket, devKeys, startDevChain, type DevChain } from "../../../scripts/lib/hardhat.ts";

const service = {
  image: "icon/web:1",
  imageDigest: "0x" + "ab".repeat(32),
  ports: [8080],
  cpuMillis: 250,
  memoryMiB: 64,
};

const move = (atMs: number, text = "migrate to edge-b"): PlacedDecision => ({
  atMs,
  text,
  u: 0.41,
  uBest: 0.73,
  latency: [{ subnet: "198.18.4.0/24", beforeMs: 31.5, afterMs: null }],
  at: "peer-of-cloud",
});

describe("ICON decisions kept across an agent restart", function () {
  this.timeout(120_000);
  let chain: DevChain;
  let deployment: Deployment;
  let dir: string;

  before(async () => {
    chain = await startDevChain("127.0.0.1", 0);
    deployment = await deployMarket(chain.url, devKeys(1)[0]!);
    dir = await mkdtemp(path.join(tmpdir(), "icon-decisions-"));
  });

  after(async () => {
    await chain?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("a restarted agent's next report holds the decisions of the one before, a move's latency before included", async () => {
    const state = path.join(dir, "origin");
    const env = agentEnvFrom({ service, discovery: { registry: true } }, chain.url, deployment);
    const made = [move(Date.now() - 5000, "migrate to edge-a"), move(Date.now() - 1000)];
    const seed = {
      ...{ name: "origin", account: 7n, root: 7n, subnets: [], children: {}, replicas: 0, instance: 2 },
      carried: {
        controller: { rates: [], latencies: [], lastActionAt: null, streak: { key: "", count: 0 } },
        children: [],
        decisions: made,
      },
    };
    await writeAgentState(state, env, seed, Wallet.createRandom().privateKey);
    const hooks = { spawn: async () => {} };
    const first = await Agent.open(state, hooks);
    const before = first.statusReport().decisions;
    await first.stop(); // as a restart: nothing handed over
    expect(before.map((d) => d.text)).to.deep.equal(["migrate to edge-a", "migrate to edge-b"]);
    // What a successor does once its start is done: the carried part dropped from its seed.
    const saved = await readAgentState(state);
    delete saved.seed.carried;
    await saveAgentState(state, saved.env, saved.seed);

    const second = await Agent.open(state, hooks);
    try {
      const report = second.statusReport();
      expect(report.decisions).to.deep.equal(before);
      expect(report.decisions[1]).to.deep.equal({
        atMs: made[1]!.atMs,
        text: "migrate to edge-b",
        u: 0.41,
        uBest: 0.73,
        latency: [{ subnet: "198.18.4.0/24", beforeMs: 31.5, afterMs: null }],
      });
    } finally {
      await second.stop();
    }
  });

  it("keeps what the reporter decides and measures, the newest 16 in order; a file not of its shape is none", async () => {
    const d = path.join(dir, "store");
    await mkdir(d, { recursive: true });
    const store = new DecisionStore(d);
    const r = new StatusReporter(
      () => ({ gateway: undefined, instance: 1, policyVersion: 1 }),
      (x) => void store.save(x),
    );
    const here = [{ subnet: "198.18.4.0/24", rate: 5, latencyMs: { A: 31.5, B: 9 } }];
    r.decided("migrate to B", 0.4, 0.7, here, "A", true);
    for (let i = 0; i < 20; i++) r.decided(`stay ${i}`, 0.4, 0.4, [], "A", false);
    await store.flushed();
    expect((await store.read()).map((x) => x.text)).to.deep.equal(
      Array.from({ length: 16 }, (_, i) => `stay ${i + 4}`),
    );
    // A move measured at its new place: the "after" is kept too.
    const m = new DecisionStore(d);
    const r2 = new StatusReporter(
      () => ({ gateway: undefined, instance: 1, policyVersion: 1 }),
      (x) => void m.save(x),
    );
    r2.decided("migrate to B", 0.4, 0.7, here, "A", true);
    r2.report({ name: "o", account: 1n, subnets: [{ subnet: "198.18.4.0/24", rate: 5, latencyMs: { B: 8.25 } }] }, "B");
    await m.flushed();
    expect((await m.read()).map((x) => x.latency)).to.deep.equal([
      [{ subnet: "198.18.4.0/24", beforeMs: 31.5, afterMs: 8.25 }],
    ]);
    // A restarted reporter restores them once, however often they are given.
    const back = new StatusReporter(() => ({ gateway: undefined, instance: 1, policyVersion: 1 }));
    back.restore(await m.read(), 16);
    back.restore(await m.read(), 16);
    expect(back.decisions().map((x) => x.text)).to.deep.equal(["migrate to B"]);
    // Not its shape: none, and nothing thrown.
    for (const text of ["{", '{"v":1,"decisions":[{"atMs":"soon"}]}', "[]"]) {
      await writeFile(path.join(d, "decisions.json"), text);
      expect((await store.read()).length, text).to.equal(0);
    }
    expect(await readFile(path.join(d, "decisions.json"), "utf8")).to.equal("[]");
  });
});
