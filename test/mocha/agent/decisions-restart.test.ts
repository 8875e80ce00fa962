/**
 * An ICON's last decisions survive a restart of its agent (icon-agent/state.ts DecisionStore, decisions.json in the
 * state directory): real embedded chain with the market deployed, real agents opened from one state directory (their
 * libp2p node on loopback; no yard, no period run). A first agent takes on a move whose "after" is still to be
 * measured and stops; a second agent opened from the same directory reports it, its "before" included. The store
 * itself keeps the newest 16 whatever is written, in the order written, and a file not of its shape counts as none.
 * A successor restarted before its start dropped the carried moves keeps its own newer ones (both restored in one
 * call, nothing saved before); a write that fails is an "error" event; in a sidecar (its state directory a tmpfs
 * rebuilt after a crash) the decisions come back from the lease's last report its yard holds (keptDecisions; the
 * gateway's answer stood in for here, the real GET /status in agent-gateway.test.ts), and an agent opened with a
 * gateway (a stand-in HTTP server: /self, /rpc passed to the chain, GET /status) asks for it and reports them.
 */
import { expect } from "chai";
import { Wallet } from "ethers";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { Agent } from "../../../icon-agent/agent.ts";
import { agentEnvFrom } from "../../../icon-agent/config.ts";
import { StatusReporter, keptDecisions } from "../../../icon-agent/status-report.ts";
import {
  DecisionStore,
  readAgentState,
  saveAgentState,
  writeAgentState,
  type AgentEvent,
  type PlacedDecision,
} from "../../../icon-agent/state.ts";
import type { Deployment } from "../../../protocol/index.ts";
import { deployMarket, devKeys, startDevChain, type DevChain } from "../../../scripts/lib/hardhat.ts";
import { CONFIG_SERVICE } from "../../helpers/app.ts";

const service = CONFIG_SERVICE;

const PEER = "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA";

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

  it("a successor restarted before its start dropped the carried moves keeps its own newer decisions (nothing saved before all are in)", async () => {
    const env = agentEnvFrom({ service, discovery: { registry: true } }, chain.url, deployment);
    // Every list the agent asks its store to keep, in order (a spy on DecisionStore.save; the writes are real).
    const saved: string[][] = [];
    const save = DecisionStore.prototype.save;
    DecisionStore.prototype.save = function (this: DecisionStore, d: readonly PlacedDecision[]) {
      saved.push(d.map((x) => x.text));
      return save.call(this, d);
    };
    try {
      // Three restarts: before, the carried move alone was saved first, racing the read of the file (when that write
      // landed first, the file ended with the carried move alone).
      for (let round = 0; round < 3; round++) {
        const state = path.join(dir, `successor-${round}`);
        const carried = [move(Date.now() - 9000, "migrate to edge-a")];
        const seed = {
          ...{ name: "successor", account: 8n, root: 8n, subnets: [], children: {}, replicas: 0, instance: 3 },
          carried: {
            controller: { rates: [], latencies: [], lastActionAt: null, streak: { key: "", count: 0 } },
            children: [],
            decisions: carried,
          },
        };
        await writeAgentState(state, env, seed, Wallet.createRandom().privateKey);
        // What it had decided since, kept before it stopped; its seed still carries the predecessor's move.
        const own = [...carried, move(Date.now() - 4000, "stay 1"), move(Date.now() - 2000, "stay 2")];
        const store = new DecisionStore(state);
        await store.save(own);
        const events: AgentEvent[] = [];
        saved.length = 0;
        const agent = await Agent.open(state, { spawn: async () => {}, onEvent: (e) => void events.push(e) });
        try {
          // Nothing saved before both lists are in: the first list kept holds them all.
          expect(saved[0], `round ${round}`).to.deep.equal(["migrate to edge-a", "stay 1", "stay 2"]);
          expect(agent.statusReport().decisions.map((d) => d.text)).to.deep.equal([
            "migrate to edge-a",
            "stay 1",
            "stay 2",
          ]);
        } finally {
          await agent.stop();
        }
        expect(
          (await store.read()).map((d) => d.text),
          `round ${round}`,
        ).to.deep.equal(["migrate to edge-a", "stay 1", "stay 2"]);
        expect(events.filter((e) => e.kind === "error")).to.deep.equal([]);
      }
    } finally {
      DecisionStore.prototype.save = save; // restored by this test itself, pass or fail
    }
  });

  it("tells through the agent's events that decisions.json cannot be written, and still opens", async () => {
    const state = path.join(dir, "unwritable");
    const env = agentEnvFrom({ service, discovery: { registry: true } }, chain.url, deployment);
    const seed = {
      ...{ name: "unwritable", account: 9n, root: 9n, subnets: [], children: {}, replicas: 0, instance: 2 },
      carried: {
        controller: { rates: [], latencies: [], lastActionAt: null, streak: { key: "", count: 0 } },
        children: [],
        decisions: [move(Date.now() - 1000)],
      },
    };
    await writeAgentState(state, env, seed, Wallet.createRandom().privateKey);
    // A directory where the file goes: every write of it fails (as a full or read-only disk would).
    await mkdir(path.join(state, "decisions.json", "x"), { recursive: true });
    const events: AgentEvent[] = [];
    const agent = await Agent.open(state, { spawn: async () => {}, onEvent: (e) => void events.push(e) });
    await agent.stop();
    const errors = events.filter((e) => e.kind === "error").map((e) => e.text);
    expect(errors.length, errors.join("; ")).to.be.at.least(1);
    expect(errors[0]).to.match(/^keeping decisions\.json: /);
  });

  it("takes its decisions back from its lease's last report at its yard when its state directory lost them (a sidecar's tmpfs)", async () => {
    const d = path.join(dir, "fresh-tmpfs");
    await mkdir(d, { recursive: true });
    const reported = {
      name: "o",
      account: "1",
      instance: 1,
      policyVersion: 1,
      atMs: Date.now(),
      subnets: [],
      decisions: [{ ...move(Date.now() - 3000), at: undefined }].map(({ at: _at, ...r }) => r),
    };
    // The gateway's answer stands in here (the real GET /status: agent-gateway.test.ts); the file is none.
    const gateway = { lastStatus: async () => reported };
    const errors: string[] = [];
    const kept = await keptDecisions(new DecisionStore(d), gateway, "peer-here", (t) => void errors.push(t));
    const back = new StatusReporter(() => ({ gateway: undefined, instance: 1, policyVersion: 1 }));
    back.restore(kept, 32);
    expect(back.decisions()).to.deep.equal([{ ...reported.decisions[0]!, at: "peer-here" }]);
    // Made "here" as far as it knows: the move's "after" is not filled in at this place.
    const r = back.report(
      { name: "o", account: 1n, subnets: [{ subnet: "198.18.4.0/24", rate: 1, latencyMs: { "peer-here": 5 } }] },
      "peer-here",
    );
    expect(r.decisions[0]!.latency[0]!.afterMs).to.equal(null);
    // A yard that cannot say: none from it, said through onError, the file's kept.
    await new DecisionStore(d).save([move(Date.now() - 500, "stay")]);
    const failing = { lastStatus: async () => Promise.reject(new Error("GATEWAY_REFUSED 404")) };
    const fromFile = await keptDecisions(new DecisionStore(d), failing, "peer-here", (t) => void errors.push(t));
    expect(fromFile.map((x) => x.text)).to.deep.equal(["stay"]);
    expect(errors).to.deep.equal([
      "the yard's last status report of this lease could not be read: GATEWAY_REFUSED 404",
    ]);
  });

  it("an agent opened in its sidecar with an empty state directory reports the decisions its gateway's GET /status kept", async () => {
    const state = path.join(dir, "sidecar-tmpfs");
    const env = agentEnvFrom({ service, discovery: { registry: true } }, chain.url, deployment);
    await writeAgentState(
      state,
      env,
      { name: "sidecar", account: 10n, root: 10n, subnets: [], children: {}, replicas: 0 },
      Wallet.createRandom().privateKey,
    );
    const reported = {
      name: "sidecar",
      account: "10",
      instance: 1,
      policyVersion: 1,
      atMs: Date.now(),
      subnets: [],
      decisions: [{ ...move(Date.now() - 3000, "migrate to edge-c"), at: undefined }].map(({ at: _at, ...r }) => r),
    };
    // A stand-in for the yard's gateway (the real one: agent-gateway.test.ts): /self, /rpc passed to the chain,
    // GET /status with the lease's kept report; nothing else.
    const asked: string[] = [];
    const gw = http.createServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString()));
      req.on("end", () => {
        asked.push(`${req.method} ${req.url}`);
        if (req.method === "GET" && req.url === "/self")
          return void res.end(
            JSON.stringify({
              leaseId: "7",
              yard: { peerId: PEER, addrs: ["/ip4/127.0.0.1/tcp/4001"] },
              agentAddrs: [],
              rpc: "/rpc",
              alto: null,
              dns: null,
            }),
          );
        if (req.method === "GET" && req.url === "/status") return void res.end(JSON.stringify({ report: reported }));
        if (req.method === "POST" && req.url === "/rpc")
          return void fetch(chain.url, { method: "POST", headers: { "content-type": "application/json" }, body })
            .then(async (r) => res.writeHead(r.status, { "content-type": "application/json" }).end(await r.text()))
            .catch(() => res.writeHead(502).end());
        res.writeHead(404).end("no such path");
      });
    });
    await new Promise<void>((r) => gw.listen(0, "127.0.0.1", r));
    try {
      const url = `http://127.0.0.1:${(gw.address() as AddressInfo).port}`;
      const events: AgentEvent[] = [];
      const agent = await Agent.open(
        state,
        { spawn: async () => {}, onEvent: (e) => void events.push(e) },
        { gateway: url },
      );
      try {
        expect(asked).to.include("GET /status");
        expect(agent.statusReport().decisions).to.deep.equal(reported.decisions);
        expect(events.filter((e) => e.kind === "error")).to.deep.equal([]);
      } finally {
        await agent.stop();
      }
    } finally {
      gw.closeAllConnections();
      await new Promise((r) => gw.close(r));
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
