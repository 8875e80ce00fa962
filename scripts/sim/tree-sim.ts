/**
 * One application's ICON tree living through a scenario, driven by the project's own rules (icon-agent/index.ts):
 * each ICON's period runs decision.ts's `Controller.step` (EWMA smoothing, thresholds, confirmations, cool-down)
 * on the `Situation` the agent builds (agent.ts: own subnets, candidates, parent, balance, pinned origin, graced
 * subnets via `gracedSubnets`); a fired action passes `stillPays` at the target's price (the bid's check) and is
 * paid as the agent pays it (`replicaShare` for a replica's budget, `renewalPlan` for renewals and funding
 * requests); reports go up with `mergeSubnets`/`foldSubnets` and the acks bring the application's total rate down
 * (tree.ts appRate), from which each ICON's `otherRate` is formed as agent.ts forms it; children count live by
 * `isLive`; an ICON whose parent is gone re-attaches by `reattachCandidates`, one whose parent terminates by
 * `reparentCandidates`; an origin whose lease lapsed hands its role to `successorOf` its children; an ICON whose
 * yard failed is placed again when loss.ts's `lossDecision` says so (its agent runs outside the yard, the default
 * without a sidecar).
 *
 * The simulator supplies: time (the event queue), the network (the topology's delays; a client subnet is served by
 * the nearest running ICON — where the tree's redirects lead it), observations (rates with ±5 % noise, round trips
 * measured exactly as the topology gives them with ±2 % noise), candidates (the IEP sites on the shortest paths
 * from the ICON to its busiest subnets — what path tomography finds — up to 8 subnets), and the chain (ledger.ts).
 */
import {
  Controller,
  agentTimingDefaults,
  asksTooMuch,
  gracedSubnets,
  isLive,
  knobsFromPolicy,
  INTENT_RESERVE,
  MISSED_REPORTS_BEFORE_REATTACH,
  lossDecision,
  LOSS_RULES,
  reattachCandidates,
  renewalPlan,
  reparentCandidates,
  replicaBudgetInputs,
  replicaShare,
  stillPays,
  successorOf,
  utility,
  type Action,
  type Candidate,
  type Knobs,
  type Situation,
  type SubnetView,
} from "../../icon-agent/index.ts";
import { foldSubnets, mergeSubnets, type TreeSubnet } from "../../protocol/index.ts";
import type { EventQueue } from "./events.ts";
import { Ledger } from "./ledger.ts";
import { Rng } from "./rng.ts";
import type { Scenario } from "./scenarios.ts";
import type { Network, Site } from "./topology.ts";

/** The owner's policy of the simulated application (on-chain units: basis points, token units per second). */
export interface SimPolicy {
  weightBps: number;
  migrateThresholdBps: number;
  replicateThresholdBps: number;
  terminateThresholdBps: number;
  maxPricePerSecond: bigint;
  maxRelayFee: bigint;
}

export const SIM_POLICY: SimPolicy = {
  weightBps: 8000,
  migrateThresholdBps: 1000,
  replicateThresholdBps: 1000,
  terminateThresholdBps: 1000,
  maxPricePerSecond: 2000n,
  maxRelayFee: 2000n,
};

export interface SimOptions {
  policy: SimPolicy;
  /** The agent's timings (icon-agent/config.ts defaults unless given). */
  timings: ReturnType<typeof agentTimingDefaults>;
  slotSeconds: number;
  /** Seconds from a placement's order to its container serving (transfer and start). */
  deployS: number;
  /** The owner's first deposit, and how much more it answers funding requests with in all. */
  deposit: bigint;
  ownerReserve: bigint;
}

export function defaultSimOptions(): SimOptions {
  return {
    policy: SIM_POLICY,
    timings: agentTimingDefaults(),
    slotSeconds: 600,
    deployS: 20,
    deposit: 20_000_000n,
    ownerReserve: 200_000_000n,
  };
}

interface Icon {
  account: bigint;
  site: Site;
  parent?: Icon;
  controller: Controller;
  /** Serving from (s); until then it is being deployed. */
  servingAt: number;
  since: number;
  placedFor: string[];
  leaseEnd: number;
  asked: boolean;
  alive: boolean;
  misses: number;
  reports: Map<bigint, { subnets: TreeSubnet[]; atMs: number }>;
  /** Periods in a row its yard was unreachable, its re-placements (ms), its last smoothed view. */
  unreachable: number;
  replaced: number[];
  view: SubnetView[];
  /** The application's total rate as this ICON last heard it (tree.ts appRate: the origin's aggregate, passed down). */
  appRate?: number;
}

/** What a run of the tree yields. */
export interface TreeRun {
  fired: { migrate: number; replicate: number; terminate: number };
  reports: number;
  reportLinks: number;
  ledger: Ledger;
  lapses: number;
  unfunded: number;
  maxIcons: number;
  /** `Controller.step` calls (decisions taken). */
  steps: number;
  /** ICONs placed again after their yard was lost (loss.ts lossDecision). */
  replaced: number;
  /** Funding requests a parent refused (tree-funding.ts: more than twice what the asker keeps). */
  fundingDenied: number;
}

const subnetName = (i: number): string => `10.${i}.0.0/16`;

/** Runs the tree through `sc` on `net`; `onSample` is called every `sampleS`. */
export function runTree(
  net: Network,
  sc: Scenario,
  q: EventQueue,
  o: SimOptions,
  seed: number,
  sampleS: number,
  onSample: OnSample,
  /** false: only schedule the run on `q` (several applications share one queue); the caller runs the queue. */
  drive = true,
): TreeRun {
  const rng = new Rng(seed);
  const T = o.timings;
  const periodMs = T.periodMs;
  const ledger = new Ledger();
  const prices = net.sites.map((s) => s.pricePerSecond);
  const failed = new Set<number>();
  const knobs: Knobs = {
    ...knobsFromPolicy(o.policy, T.refLatencyMs),
    idleRate: T.idleRate,
    minKeepShare: T.minKeepShare,
    hysteresis: T.hysteresis,
  };
  const ctl = { halfLifeS: T.halfLifeS, coolDownS: T.coolDownS, confirmations: T.confirmations };
  const icons: Icon[] = [];
  const run: TreeRun = {
    fired: { migrate: 0, replicate: 0, terminate: 0 },
    reports: 0,
    reportLinks: 0,
    ledger,
    lapses: 0,
    unfunded: 0,
    maxIcons: 0,
    steps: 0,
    replaced: 0,
    fundingDenied: 0,
  };
  const fee = o.policy.maxRelayFee;
  let ownerLeft = o.ownerReserve;
  const nowS = (): number => q.now / 1000;
  const serving = (): Icon[] => icons.filter((x) => x.alive && x.servingAt <= nowS() && !failed.has(x.site.index));
  const candidateOf = (s: Site): Candidate => ({ location: s.id, pricePerSecond: prices[s.index]! });
  const siteById = new Map(net.sites.map((s) => [s.id, s]));

  // Routing: each subnet to the nearest serving ICON.
  const routed = (): Map<Icon, number[]> => {
    const m = new Map<Icon, number[]>();
    const live = serving();
    sc.subnets.forEach((node, i) => {
      let best: Icon | undefined;
      for (const x of live) if (!best || net.rttMs(node, x.site) < net.rttMs(node, best.site)) best = x;
      if (best) m.set(best, [...(m.get(best) ?? []), i]);
    });
    return m;
  };

  const place = (site: Site, parent: Icon | undefined, account: bigint, placedFor: string[]): Icon => {
    const t = nowS();
    const x: Icon = {
      account,
      site,
      parent,
      controller: new Controller(ctl),
      servingAt: t + o.deployS,
      since: t + o.deployS,
      placedFor,
      leaseEnd: t + o.deployS + o.slotSeconds,
      asked: false,
      alive: true,
      misses: 0,
      reports: new Map(),
      unreachable: 0,
      replaced: [],
      view: [],
    };
    icons.push(x);
    q.at((t + o.deployS) * 1000 + rng.next() * periodMs, () => period(x));
    return x;
  };

  const ancestors = (x: Icon): Icon[] => {
    const out: Icon[] = [];
    for (let p = x.parent; p && out.length < 16; p = p.parent) out.push(p);
    return out;
  };

  const remove = (x: Icon, why: "terminate" | "lapse"): void => {
    x.alive = false;
    const parent = x.parent?.alive ? x.parent : undefined;
    ledger.close(x.account, parent?.account);
    if (why === "terminate") {
      // tree.leave(): the children re-parent to my parent (reparentCandidates), else up their ancestors.
      for (const c of icons.filter((c) => c.alive && c.parent === x)) {
        const next = reparentCandidates(ancestors(c), parent).find((a) => a.alive);
        c.parent = next;
      }
    }
    if (!x.parent) {
      // The origin is gone: its successor takes the role (loss.ts successorOf: the oldest live child).
      const kids = icons.filter((c) => c.alive && c.parent === x);
      const succ = successorOf(kids);
      const s = kids.find((c) => c.account === succ);
      if (s) {
        s.parent = undefined;
        for (const k of kids) if (k !== s) k.parent = s;
      }
    }
  };

  const period = (x: Icon): void => {
    if (!x.alive) return;
    const t = nowS();
    q.after(periodMs, () => period(x));
    if (failed.has(x.site.index)) {
      // Its yard is lost (the agent runs outside it: the default without a sidecar): placed again by itself once
      // loss.ts says so, at the candidate with the best utility for the subnets it last served.
      x.unreachable++;
      const d = lossDecision(LOSS_RULES, {
        silentPeriods: x.unreachable,
        unreachablePeriods: x.unreachable,
        recentMs: x.replaced,
        nowMs: q.now,
      });
      if (d.act && x.servingAt <= t) replace(x);
      return;
    }
    x.unreachable = 0;
    // Renewal (decision.ts renewalPlan): buy the next slot, ask the parent (or the owner) once, or wait.
    const price = prices[x.site.index]!;
    if (x.leaseEnd - t <= T.renewBeforeS) {
      const plan = renewalPlan({
        balance: ledger.balance(x.account),
        pricePerSecond: price,
        slotSeconds: o.slotSeconds,
        relayFee: fee,
        leftS: x.leaseEnd - t,
        renewBeforeS: T.renewBeforeS,
        asked: x.asked,
      });
      if (plan.kind === "renew") {
        if (ledger.pay(x.account, price * BigInt(plan.slotSeconds) + fee, "renewal")) {
          x.leaseEnd += plan.slotSeconds;
          x.asked = false;
        }
      } else if (plan.kind === "ask") {
        x.asked = true;
        ledger.pay(x.account, fee, "funding request's fee");
        fund(x, plan.amount);
      }
    }
    if (t >= x.leaseEnd) {
      run.lapses++;
      remove(x, "lapse");
      return;
    }
    // Report up (tree.ts #report): own subnets plus the live children's aggregates, folded.
    const mine = routed().get(x) ?? [];
    const own: SubnetView[] = mine.map((i) => ({
      subnet: subnetName(i),
      rate: sc.rate(i, t) * (0.95 + 0.1 * rng.next()),
      latencyMs: {},
    }));
    const parent = x.parent;
    if (parent) {
      const live = [...x.reports.values()].filter((r) => isLive(r.atMs, q.now, T.reportEveryMs)).map((r) => r.subnets);
      const ownTree: TreeSubnet[] = own.map((s, k) => ({
        subnet: s.subnet,
        rate: s.rate,
        latencyMs: net.rttMs(sc.subnets[mine[k]!]!, x.site),
        requests: 0n,
      }));
      const agg = foldSubnets(mergeSubnets([ownTree, ...live]));
      run.reports++;
      run.reportLinks += net.hops(x.site.node, parent.site.node);
      q.after(net.siteMs(x.site, parent.site), () => {
        if (parent.alive && !failed.has(parent.site.index)) {
          parent.reports.set(x.account, { subnets: agg, atMs: q.now });
          x.misses = 0;
          // The ack comes back with the application's total rate as the parent knows it.
          const appRate = parent.appRate;
          q.after(net.siteMs(parent.site, x.site), () => {
            if (x.parent === parent) x.appRate = appRate;
          });
        } else if (++x.misses >= MISSED_REPORTS_BEFORE_REATTACH && x.alive && x.parent === parent) {
          // tree.ts: after three failed reports, re-attach (reattachCandidates: other ancestors, the successor).
          const origin = icons.find((c) => c.alive && !c.parent && c !== x);
          x.parent = reattachCandidates({
            self: x.account,
            ancestors: ancestors(x),
            parent,
            extra: [],
            successor: origin,
          }).find((a) => a.alive && !failed.has(a.site.index));
          if (!x.parent && origin) x.parent = origin;
        }
      });
    } else {
      // The origin: the application's total rate is its own plus its live children's aggregates (tree.ts appRate).
      const live = [...x.reports.values()].filter((r) => isLive(r.atMs, q.now, T.reportEveryMs));
      x.appRate = [own, ...live.map((r) => r.subnets)].flat().reduce((a, s) => a + s.rate, 0);
    }
    // What the rest of the application serves (agent.ts: the total less its own reported rate): sets σ.
    const otherRate = Math.max(0, (x.appRate ?? 0) - own.reduce((a, s) => a + s.rate, 0));
    if (own.length === 0 && !x.parent) return;
    // Candidates: sites on the paths to the busiest subnets (path tomography), not failed.
    const busiest = mine
      .map((i, k) => [own[k]!.rate, i] as const)
      .sort((a, b) => b[0] - a[0])
      .slice(0, 8);
    const cands = new Map<number, Site>();
    for (const [, i] of busiest)
      for (const v of net.path(x.site.node, sc.subnets[i]!))
        for (const s of net.sites) if (s.node === v && !failed.has(s.index)) cands.set(s.index, s);
    cands.delete(x.site.index);
    const locs = [x.site, ...(x.parent ? [x.parent.site] : []), ...cands.values()];
    for (const [k, i] of mine.entries())
      for (const s of locs) own[k]!.latencyMs[s.id] = net.rttMs(sc.subnets[i]!, s) * (0.98 + 0.04 * rng.next());
    const active = own.filter((s) => s.rate > 0);
    if (t - x.since < T.warmupS) {
      x.controller.observe(active, t);
      return;
    }
    const situation: Situation = {
      here: candidateOf(x.site),
      parent: x.parent ? candidateOf(x.parent.site) : undefined,
      candidates: [...cands.values()].map(candidateOf),
      subnets: active,
      balance: ledger.balance(x.account),
      slotSeconds: o.slotSeconds,
      pinned: !x.parent,
      graced: gracedSubnets(x.placedFor, x.since, t, periodMs / 1000),
      otherRate,
    };
    const e = x.controller.step(knobs, situation, t);
    run.steps++;
    x.view = e.smoothed;
    if (!e.fire) return;
    act(x, { ...situation, subnets: e.smoothed }, e.action);
  };

  const act = (x: Icon, s: Situation, a: Action): void => {
    if (a.kind === "terminate") {
      run.fired.terminate++;
      remove(x, "terminate");
      return;
    }
    if (a.kind !== "migrate" && a.kind !== "replicate") return;
    const to = siteById.get(a.to.location)!;
    // The bid takes the quote only when the action still pays at the quoted (here: listed) price.
    if (stillPays(knobs, s, a, candidateOf(to)) !== undefined) return;
    const slot = prices[to.index]! * BigInt(o.slotSeconds);
    if (a.kind === "migrate") {
      if (!ledger.pay(x.account, slot + fee, "migration's lease")) return;
      run.fired.migrate++;
      const t = nowS();
      q.at((t + o.deployS) * 1000, () => {
        if (!x.alive) return;
        x.site = to;
        x.since = nowS();
        x.leaseEnd = nowS() + o.slotSeconds;
        x.placedFor = s.subnets.map((v) => v.subnet);
      });
      return;
    }
    // moves.ts replicate: the same inputs (own next slot kept, at least two slots at the target's price).
    const { share } = replicaShare(
      replicaBudgetInputs({
        balance: ledger.balance(x.account),
        ownPricePerSecond: prices[x.site.index]!,
        targetPricePerSecond: prices[to.index]!,
        slotSeconds: o.slotSeconds,
        subnets: s.subnets,
        moved: a.subnets,
      }),
    );
    if (share === undefined) {
      run.unfunded++;
      if (!x.asked) {
        x.asked = true;
        fund(x, slot * 2n);
      }
      return;
    }
    const child = ledger.createAccount(x.account);
    if (
      !ledger.pay(x.account, fee, "replica's account") ||
      !ledger.allocate(x.account, child, share, "replica's share")
    )
      return;
    if (!ledger.pay(child, slot + fee, "replica's lease")) return;
    run.fired.replicate++;
    place(to, x, child, a.subnets);
  };

  /** A lost ICON placed again (replace.ts): the best reachable site for its last view, a new slot paid. */
  const replace = (x: Icon): void => {
    const options = net.sites.filter((c) => !failed.has(c.index));
    const view =
      x.view.length > 0 ? x.view : sc.subnets.map((_, i) => ({ subnet: subnetName(i), rate: 1, latencyMs: {} }));
    const withLatency = view.map((v) => {
      const i = Number(v.subnet.split(".")[1]);
      // Measured round trips (±2 %, as the ICON's own observations), not the topology's exact ones.
      const rtt = (c: Site): number => net.rttMs(sc.subnets[i]!, c) * (0.98 + 0.04 * rng.next());
      return { ...v, latencyMs: Object.fromEntries(options.map((c) => [c.id, rtt(c)])) };
    });
    const to = options.reduce((a, b) =>
      utility(knobs, withLatency, candidateOf(b)) < utility(knobs, withLatency, candidateOf(a)) ? b : a,
    );
    const slot = prices[to.index]! * BigInt(o.slotSeconds);
    // replace.ts bids within the balance (market.ts checkOffer); short of it, it asks for money first.
    if (ledger.balance(x.account) < slot + fee) {
      if (!x.asked) {
        x.asked = true;
        fund(x, slot + INTENT_RESERVE * fee);
      }
      return;
    }
    ledger.pay(x.account, slot + fee, "re-placement's lease");
    x.replaced.push(q.now);
    run.replaced++;
    x.site = to;
    x.servingAt = nowS() + o.deployS;
    x.since = x.servingAt;
    x.leaseEnd = x.servingAt + o.slotSeconds;
  };

  /**
   * tree-funding.ts: the request goes up the tree to the first ancestor that can spend `amount` beyond its own next
   * slot and intent reserve (the origin asks the owner, who answers from what is left of its reserve); the money
   * comes down the on-chain parent links, one allocation per link. The asker's `asked` stays set until money
   * arrives (renewalPlan then waits or buys a shorter slot, as the agent does), so it never pays for a second
   * request for the same lease. A parent refuses a request of more than twice what the asker keeps (its next slot
   * and intent reserve: tree-funding.ts's rule, `asksTooMuch`); the asker may then ask again. Not modelled: a parent
   * short of money reclaiming its other children's surplus (tree-funding.ts #reclaim), and an ancestor forwarding
   * only its shortfall instead of the whole amount.
   */
  const fund = (x: Icon, amount: bigint): void => {
    const chain: Icon[] = [x];
    let delayMs = 0;
    const keeps = (c: Icon): bigint => prices[c.site.index]! * BigInt(o.slotSeconds) + INTENT_RESERVE * fee;
    for (let a = x.parent; a && a.alive; a = a.parent) {
      const asker = chain[chain.length - 1]!;
      delayMs += 2 * net.siteMs(asker.site, a.site);
      if (asksTooMuch(amount, keeps(asker))) {
        run.fundingDenied++;
        q.after(Math.max(1, delayMs), () => (x.asked = false));
        return;
      }
      chain.push(a);
      const reserve = prices[a.site.index]! * BigInt(o.slotSeconds) + INTENT_RESERVE * fee;
      if (ledger.balance(a.account) - reserve >= amount) break;
    }
    const top = chain[chain.length - 1]!;
    q.after(Math.max(1, delayMs) + (top.parent ? 0 : 1000), () => {
      if (!x.alive) return;
      if (!top.parent) {
        const reserve = prices[top.site.index]! * BigInt(o.slotSeconds) + INTENT_RESERVE * fee;
        const short = amount + reserve - ledger.balance(top.account);
        if (short > 0n) {
          const give = short < ownerLeft ? short : ownerLeft;
          ownerLeft -= give;
          ledger.deposit(top.account, give);
        }
      }
      for (let k = chain.length - 1; k > 0; k--)
        if (!ledger.allocate(chain[k]!.account, chain[k - 1]!.account, amount, "funding")) return;
      x.asked = false;
    });
  };

  // The origin at the best-connected node's cheapest site.
  const origin = net.sites
    .filter((s) => s.node === net.center)
    .sort((a, b) => Number(a.pricePerSecond - b.pricePerSecond))[0]!;
  const root = ledger.createAccount();
  ledger.deposit(root, o.deposit);
  ledger.pay(root, prices[origin.index]! * BigInt(o.slotSeconds) + fee);
  const first = place(origin, undefined, root, []);
  first.servingAt = 0;

  for (const ev of sc.events) {
    q.at(ev.atS * 1000, () => {
      if (ev.kind === "fail") {
        for (const s of net.sites) if (s.node === ev.node) failed.add(s.index);
      } else if (ev.kind === "price") {
        applyPrice(net, prices, ev.nodes, ev.factor);
      }
    });
  }
  for (let t = 0; t <= sc.durationS; t += sampleS)
    q.at(t * 1000 + 1, () => {
      const live = serving();
      run.maxIcons = Math.max(run.maxIcons, live.length);
      // The oracle keeps the application's original entry site open (as for the orchestrator), unpinned once it
      // failed — not the tree's current root, which a re-placement may have moved.
      onSample(
        nowS(),
        live.map((x) => x.site.index),
        prices,
        failed,
        origin.index,
      );
    });
  if (drive) q.run(sc.durationS * 1000 + 2);
  return run;
}

/** A price event: every site of `nodes` costs `factor` times as much (token units, rounded down). */
export function applyPrice(net: Network, prices: bigint[], nodes: readonly number[], factor: number): void {
  for (const s of net.sites)
    if (nodes.includes(s.node)) prices[s.index] = (prices[s.index]! * BigInt(Math.round(factor * 100))) / 100n;
}

/** Called every sample: the time, the sites serving, the prices and failed sites then. */
export type OnSample = (
  tS: number,
  sites: number[],
  prices: readonly bigint[],
  failed: ReadonlySet<number>,
  /** The origin's site (the oracle keeps it open). */
  pinned?: number,
) => void;
