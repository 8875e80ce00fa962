/**
 * The simulator (scripts/sim/): that it runs the agent's own rules — the functions it calls are icon-agent's, and the
 * owner's policy moves the simulated ICONs as it moves the agent's decision — and small cases against numbers worked
 * out by hand: delays on a three-node line, the oracle's placement, the reports counted per period, the ledger,
 * the charts' label lanes.
 */
import { expect } from "chai";
import * as agent from "../../../icon-agent/index.ts";
import { Controller as DecisionController, evaluate, knobsFromPolicy } from "../../../icon-agent/decision.ts";
import { reattachCandidates } from "../../../icon-agent/tree-rules.ts";
import { phaseLanes, renderSvg, timeChartSpec } from "../../../scripts/lib/charts.ts";
import { EventQueue } from "../../../scripts/sim/events.ts";
import { Ledger } from "../../../scripts/sim/ledger.ts";
import { loadSolver, placementCost, solvePlacement, type PlacementProblem } from "../../../scripts/sim/oracle.ts";
import { runMany } from "../../../scripts/sim/many.ts";
import { fig4, fig5 } from "../../../scripts/sim/scatter.ts";
import { scenario } from "../../../scripts/sim/scenarios.ts";
import { buildNetwork, loadTopology, syntheticTopology, type CompactTopology } from "../../../scripts/sim/topology.ts";
import { SIM_POLICY, defaultSimOptions, runTree, type SimOptions } from "../../../scripts/sim/tree-sim.ts";

/** A — 200 km — B — 400 km — C: one-way 1 ms + 0.1 ms a hop, 2 ms + 0.1 ms. */
const LINE: CompactTopology = {
  name: "line",
  source: { repository: "test", path: "", commit: "", licence: "", note: "" },
  nodes: [
    ["A", 0, 0],
    ["B", 1, 0],
    ["C", 2, 0],
  ],
  links: [
    [0, 1, 200],
    [1, 2, 400],
  ],
};

// Float comparisons as |a − b| < ε, not chai's closeTo: with Hardhat's chai matchers loaded in the same process
// (`npm run test:fast` shares mocha workers between suites) closeTo takes only integers ("1.1 is not an integer").
describe("simulator (scripts/sim)", function () {
  this.timeout(60_000);

  before(async () => {
    await loadSolver();
  });

  it("drives icon-agent's own functions, not copies", () => {
    // The simulator imports these from icon-agent/index.ts; they are decision.ts's and tree-rules.ts's objects.
    expect(agent.Controller).to.equal(DecisionController);
    expect(agent.evaluate).to.equal(evaluate);
    expect(agent.reattachCandidates).to.equal(reattachCandidates);
  });

  it("a policy threshold moves the simulated ICONs as it moves the agent's decision", () => {
    const net = buildNetwork(loadTopology("geant2009"), { sitesPerNode: 3, seed: 1 });
    const sc = scenario(net, "shift", 2400, 11);
    const run = (o: SimOptions): ReturnType<typeof runTree> =>
      runTree(net, sc, new EventQueue(), o, 11, 60, () => undefined);
    const base = defaultSimOptions();
    const strict: SimOptions = {
      ...base,
      policy: { ...SIM_POLICY, replicateThresholdBps: 9900, migrateThresholdBps: 9900 },
    };
    const a = run(base);
    const b = run(strict);
    expect(a.fired.replicate + a.fired.migrate, "the default policy places replicas").to.be.greaterThan(0);
    expect(b.fired.replicate + b.fired.migrate, "a 99 % threshold stops every placement").to.equal(0);
    // The agent's decision on one situation flips the same way: a replica halves the latency of half the load.
    const situation = {
      here: { location: "h", pricePerSecond: 100n },
      candidates: [{ location: "c", pricePerSecond: 100n }],
      subnets: [
        { subnet: "10.0.0.0/16", rate: 5, latencyMs: { h: 10, c: 40 } },
        { subnet: "10.1.0.0/16", rate: 5, latencyMs: { h: 60, c: 10 } },
      ],
      balance: 10n ** 9n,
      slotSeconds: 600,
      pinned: true,
    };
    expect(evaluate(knobsFromPolicy(base.policy), situation).action.kind).to.equal("replicate");
    expect(evaluate(knobsFromPolicy(strict.policy), situation).action.kind).to.equal("stay");
    expect(a.ledger.solvent() && b.ledger.solvent()).to.equal(true);
    // budgetOverruns: spends the rules let through that a balance could not pay (the ledger refused them).
    expect(a.ledger.refusals + b.ledger.refusals, JSON.stringify([...a.ledger.refused])).to.equal(0);
  });

  it("a replica the demand left behind terminates: the application's total comes down with the acks (decision.ts appShare)", () => {
    // GÉANT, 40 min of shifting demand (a shift at 20 min). Before the application-wide utility this run placed 3
    // replicas and terminated none (4 ICONs at once); each replica weighed its price as if it served everything.
    const net = buildNetwork(loadTopology("geant2009"), { sitesPerNode: 3, seed: 1 });
    const sc = scenario(net, "shift", 2400, 11);
    const r = runTree(net, sc, new EventQueue(), defaultSimOptions(), 11, 60, () => undefined);
    expect(r.fired.terminate, JSON.stringify(r.fired)).to.be.at.least(1);
    expect(r.maxIcons).to.be.at.most(2);
    expect(r.ledger.refusals).to.equal(0);
  });

  it("every simulated ICON's period goes through decision.ts's Controller.step: forced quiet, nothing is placed", () => {
    const net = buildNetwork(loadTopology("geant2009"), { sitesPerNode: 3, seed: 1 });
    const sc = scenario(net, "shift", 2400, 11);
    const proto = DecisionController.prototype;
    const step = proto.step;
    let calls = 0;
    try {
      proto.step = function (this: DecisionController, ...a: Parameters<typeof step>) {
        calls++;
        return step.apply(this, a);
      };
      const a = runTree(net, sc, new EventQueue(), defaultSimOptions(), 11, 60, () => undefined);
      expect(calls, "Controller.step called").to.be.greaterThan(100);
      expect(a.fired.replicate + a.fired.migrate, "placements with the real step").to.be.greaterThan(0);
      // The same step, its decision never firing: the simulator places, moves and ends nothing on its own.
      calls = 0;
      proto.step = function (this: DecisionController, ...a: Parameters<typeof step>) {
        calls++;
        return { ...step.apply(this, a), fire: false };
      };
      const b = runTree(net, sc, new EventQueue(), defaultSimOptions(), 11, 60, () => undefined);
      expect(calls).to.be.greaterThan(100);
      expect(b.fired).to.deep.equal({ migrate: 0, replicate: 0, terminate: 0 });
      expect(b.maxIcons, "only the origin runs").to.equal(1);
    } finally {
      proto.step = step;
    }
    expect(DecisionController.prototype.step).to.equal(step);
  });

  it("many applications on one queue: every one's ICONs decide, nothing overspends", () => {
    const m = runMany(4, 2400);
    expect(m.iconsServingMax, "at least each application's origin").to.be.at.least(4);
    expect(m.controllerSteps).to.be.greaterThan(4 * 300);
    expect(m.budgetOverruns).to.equal(0);
    expect(m.lapses).to.equal(0);
  });

  it("delays along shortest paths, as computed by hand", () => {
    const net = buildNetwork(LINE, { sitesPerNode: 1, seed: 1, clientMs: 2 });
    expect(Math.abs(net.oneWay(0, 1) - 1.1)).to.be.below(1e-9);
    expect(Math.abs(net.oneWay(0, 2) - 3.2)).to.be.below(1e-9);
    expect(net.hops(0, 2)).to.equal(2);
    expect(net.path(0, 2)).to.deep.equal([0, 1, 2]);
    expect(net.center).to.equal(1);
    const c = net.sites[2]!;
    // 2 × (client 2 ms + path 3.2 ms + the site's access)
    expect(Math.abs(net.rttMs(0, c) - 2 * (2 + 3.2 + c.accessMs))).to.be.below(1e-9);
    // The synthetic graph for growth curves is connected: every pair has a finite delay.
    const syn = buildNetwork(syntheticTopology(40, 2), { sitesPerNode: 1, seed: 1 });
    for (let a = 0; a < 40; a++) for (let b = 0; b < 40; b++) expect(syn.oneWay(a, b)).to.be.lessThan(Infinity);
  });

  it("the oracle's placement on a small case, as computed by hand", () => {
    // Two subnets, three sites. Open costs 0.1, 0.1, 0.5; serving costs per subnet below.
    const serve = [
      [0.1, 0.5, 0.2],
      [0.5, 0.1, 0.2],
    ];
    const p: PlacementProblem = { shares: [0.5, 0.5], open: [0.1, 0.1, 0.5], serve: (i, j) => serve[i]![j]! };
    // {0}: 0.1 + 0.5·0.1 + 0.5·0.5 = 0.40; {1}: 0.40; {2}: 0.5 + 0.2 = 0.70; {0,1}: 0.2 + 0.1 = 0.30 (best).
    const r = solvePlacement(p);
    expect(r.exact).to.equal(true);
    expect(r.sites).to.deep.equal([0, 1]);
    expect(Math.abs(r.cost - 0.3)).to.be.below(1e-9);
    // With site 2 pinned open: {2}: 0.70; {2,0}: 0.6 + 0.05 + 0.1 = 0.75; {2,0,1}: 0.8; so {2} alone.
    const pinned = solvePlacement({ ...p, pinned: 2 });
    expect(pinned.sites).to.deep.equal([2]);
    expect(Math.abs(placementCost(p, [2]) - 0.7)).to.be.below(1e-9);
  });

  it("counts report messages per period as computed by hand", () => {
    // Three ICONs on a three-node line (one site per node): the origin at B (the centre) and two at random sites.
    const net = buildNetwork(LINE, { sitesPerNode: 1, seed: 1 });
    const p = fig4(net, 3, 5, new EventQueue());
    // Two non-origin ICONs: two reports a period in each design; the orchestrator receives both.
    expect(p.tree.messages).to.equal(2);
    expect(p.central.messages).to.equal(2);
    expect(p.central.atRoot).to.equal(2);
    // The origin's aggregate carries every ICON's rate: the totals are exact.
    expect(Math.abs(p.rootTotalRatio - 1)).to.be.below(1e-9);
    // Seed 5 scatters both at C. Tree: the first is the origin's child (C–B, 1 link), the second the first's (same
    // node, no link); the origin hears from one child. Centrally both reports cross C–B: 2 links, 2 at the root.
    expect(p.tree.links).to.equal(1);
    expect(p.tree.atRoot).to.equal(1);
    expect(p.tree.depth).to.equal(2);
    expect(p.central.links).to.equal(2);
    const f = fig5(net, 3, 5, 20);
    expect(f.treeMs).to.be.at.most(f.centralMs);
  });

  it("a replica's budget inputs are the agent's (one function for moves.ts and the simulator)", () => {
    const subnets = [
      { subnet: "a", rate: 3, latencyMs: {} },
      { subnet: "b", rate: 1, latencyMs: {} },
    ];
    const input = agent.replicaBudgetInputs({
      balance: 10_000n,
      ownPricePerSecond: 2n,
      targetPricePerSecond: 3n,
      slotSeconds: 600,
      subnets,
      moved: ["b"],
    });
    // Keeps its own next slot (2 × 600), gives at least two slots at the target (2 × 3 × 600), splits 1 : 4.
    expect(input).to.deep.equal({ balance: 10_000n, reserve: 1_200n, movedRate: 1, totalRate: 4, floor: 3_600n });
    // (10,000 − 1,200) × 25 % = 2,200 < 3,600: the floor.
    expect(agent.replicaShare(input)).to.deep.equal({ spendable: 8_800n, share: 3_600n });
  });

  it("the ledger refuses a spend beyond a balance and stays solvent", () => {
    const l = new Ledger();
    const root = l.createAccount();
    l.deposit(root, 1000n);
    const child = l.createAccount(root);
    expect(l.allocate(root, child, 600n)).to.equal(true);
    expect(l.pay(child, 601n, "lease")).to.equal(false);
    expect(l.refused.get("lease")).to.equal(1);
    expect(l.pay(child, 600n)).to.equal(true);
    l.close(child, root);
    expect(l.balance(root)).to.equal(400n);
    expect(l.solvent()).to.equal(true);
  });

  it("chart phase labels that would overlap go to separate lanes; axes carry units", async () => {
    const marks: Array<[number, string]> = [
      [0, "start"],
      [1, "clients at A"],
      [2, "replica placed"],
      [50, "clients move to B"],
    ];
    const lanes = phaseLanes(marks, 0, 100, 600);
    expect(new Set(lanes.slice(0, 3)).size, "three labels within 12 px: three lanes").to.equal(3);
    expect(lanes[3]).to.equal(0);
    const svg = await renderSvg(
      timeChartSpec({
        title: "t",
        panels: [
          {
            label: "p50 latency",
            unit: "ms",
            series: [
              {
                name: "A",
                points: [
                  [0, 74.5],
                  [10, 0.00306],
                ],
              },
            ],
          },
        ],
        marks,
      }),
    );
    expect(svg).to.match(/^<svg/);
    expect(svg).to.include("p50 latency (ms)");
    expect(svg).to.include("time (s)");
    expect(svg).to.not.include(">74.5<");
  });
});
