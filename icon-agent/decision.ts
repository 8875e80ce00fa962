/**
 * An ICON's decisions (paper §3–§4): where to be, given where its clients are. Pure — no clock, no network —
 * so it is property-tested; the agent feeds it observations and carries out what it returns.
 *
 * Utility of serving the subnets S from location j (paper eq. 1, a cost: lower is better):
 *
 *   U_j = (1 − w) · b̂_j + w · Σ_i λ_i · l̂_ij
 *
 * with the terms made dimensionless so that w means what the owner thinks it means:
 *   b̂_j  = price_j / maxPrice               (the owner's price cap; 1 = the most the owner pays)
 *   l̂_ij = l_ij / refLatencyMs, λ_i as a share of the total rate (Σ λ_i = 1)
 *
 * One utility for the whole application: an ICON serving the share σ of its requests ({@link appShare}) weighs its
 * price by 1/σ — U_j = (1 − w) · b̂_j / σ + w · Σ_i λ_i · l̂_ij — so σ·U_j is its part of eq. 1 summed over the
 * application and every relative improvement below is the application's (σ = 1 without `Situation.otherRate`).
 *
 * Candidate actions, each with its estimated relative improvement Δ = (U_now − U_after) / U_now:
 *   migrate to c      U_after = U_c
 *   replicate to c    U_after = (1 − w)(b̂_j + b̂_c) + w Σ_i λ_i min(l̂_ij, l̂_ic)   (subnets go to the nearer)
 *   terminate         (non-origin ICONs) the parent serves my subnets: U_after = w Σ_i λ_i l̂_i,parent (its price
 *                     is paid anyway); fires when my own gain over that, (U_after − U_now) / U_after, is below
 *                     the termination threshold — and below the replication threshold less the `hysteresis` band,
 *                     so a replica just placed is not terminated, nor a terminated one placed again, on noise —
 *                     or when the ICON is idle (total rate ≤ idleRate) — never while the subnets it was placed
 *                     for are in their grace (`graced`: their clients may still be on their way), and an ICON in
 *                     its grace without load stays
 * The origin is pinned (its endpoint is where clients enter): it replicates but never migrates. A replica
 * replicates only while the subnets staying with it keep `minKeepShare` of its load — otherwise moving is
 * what the numbers say, and a replica left behind would only go idle.
 * An action fires only when Δ passes the owner's threshold for it, the ICON can pay for it, and the cool-down
 * since the last action has passed. Observations are smoothed (EWMA over `halfLifeS`) before they are used, and
 * an action must win `confirmations` evaluations in a row (hysteresis), so load that changes faster than the
 * ICON can react does not make it flap (§4.2 "Stability").
 */

export interface Knobs {
  /** w of eq. 1, 0..1: weight of latency against cost. */
  weight: number;
  /** Relative improvements (0..1) an action must pass. */
  migrateThreshold: number;
  replicateThreshold: number;
  /** A non-origin ICON terminates when its gain over its parent is below this (0..1). */
  terminateThreshold: number;
  /** The band between replicating and terminating (0..1): see {@link terminateBelow}. */
  hysteresis?: number;
  /** The owner's price cap per second (token units); prices are measured against it. */
  maxPricePerSecond: bigint;
  /** Latency that counts as 1 in the utility (ms). */
  refLatencyMs: number;
  /** A non-origin ICON whose clients send at most this many requests per second in total is idle and
   * terminates (its parent takes the rest); default 0. */
  idleRate?: number;
  /** A replica (not the origin) replicates only while the subnets that stay with it carry at least this share of
   * its requests; below that the move is a migration in disguise (default 0). */
  minKeepShare?: number;
}

/** A client subnet as the ICON sees it: smoothed rate and the latency from each location (ms). */
export interface SubnetView {
  subnet: string;
  rate: number;
  /** location id → latency (ms) from this subnet; must include the current location. */
  latencyMs: Record<string, number>;
}

export interface Candidate {
  location: string;
  pricePerSecond: bigint;
}

export interface Situation {
  here: Candidate;
  /** The parent's location (undefined for the origin). */
  parent?: Candidate;
  candidates: Candidate[];
  subnets: SubnetView[];
  /** What the ICON can spend (on-chain balance minus what is committed). */
  balance: bigint;
  /** Seconds of a new lease (the cost of a move is price × slot). */
  slotSeconds: number;
  /** The origin stays where its clients first reach it (its endpoint is the service's entry point): it
   * replicates but does not migrate. */
  pinned?: boolean;
  /**
   * Subnets this ICON was placed for whose clients may still be on their way ({@link gracedSubnets}): while any is,
   * it neither terminates nor moves on a view without load.
   */
  graced?: readonly string[];
  /** Requests/s the rest of the application serves (the origin: its children's aggregate; below it: the total the
   * report acks pass down less the ICON's own reported rate): sets σ ({@link appShare}); absent, σ = 1. */
  otherRate?: number;
}

/**
 * Periods a (re-)placed replica's subnets stay in their grace, at its parent (redirects.ts, in report periods) and
 * at the replica (in its decision periods, from its placement): its agent's boot and first reports (a parent counts
 * a child gone after 3 silent periods, so a new one is expected within 3), its clients' way back (a request to the
 * lost yard timing out: about 5 periods at the demo's 1 s), and its smoothed rate rising above `idleRate` and
 * reaching its parent (2 periods).
 */
export const PLACEMENT_GRACE_PERIODS = 10;

/**
 * The subnets of `placedFor` still in their grace at `nowS`: all of them within {@link PLACEMENT_GRACE_PERIODS}
 * periods of `periodS` of the placement (`sinceS`), none after. (pure)
 */
export function gracedSubnets(placedFor: readonly string[], sinceS: number, nowS: number, periodS: number): string[] {
  return nowS - sinceS < PLACEMENT_GRACE_PERIODS * periodS ? [...new Set(placedFor)] : [];
}

export type Action =
  | { kind: "stay" }
  | { kind: "migrate"; to: Candidate }
  | { kind: "replicate"; to: Candidate; subnets: string[] }
  | { kind: "terminate" };

export interface Evaluation {
  action: Action;
  /** U at the current location and after the action. */
  uNow: number;
  uAfter: number;
  /** Relative improvement of the action (terminate: the ICON's own gain over its parent, which is what the threshold
   * tests; 0 for an idle ICON, which terminates whatever its gain). */
  improvement: number;
  /** Why, in a sentence. */
  reason: string;
}

const share = (subnets: SubnetView[]): number[] => {
  const total = subnets.reduce((a, s) => a + Math.max(0, s.rate), 0);
  return subnets.map((s) => (total > 0 ? Math.max(0, s.rate) / total : 0));
};

/** σ: the share of the application's requests `subnets` carry, rate ÷ (rate + `otherRate`); 1 without either. */
export function appShare(subnets: readonly SubnetView[], otherRate: number | undefined): number {
  const own = subnets.reduce((a, s) => a + Math.max(0, s.rate), 0);
  if (otherRate === undefined || !Number.isFinite(otherRate) || !(otherRate > 0) || !(own > 0)) return 1;
  return own / (own + otherRate);
}

/** The termination threshold in force: the owner's, with a `hysteresis` band at most `replicateThreshold − band`. */
export function terminateBelow(k: Knobs): number {
  return k.hysteresis === undefined
    ? k.terminateThreshold
    : Math.min(k.terminateThreshold, k.replicateThreshold - k.hysteresis);
}

/** b̂ of a price. */
export function priceTerm(k: Knobs, price: bigint): number {
  if (k.maxPricePerSecond <= 0n) return 0;
  return Number((price * 1_000_000n) / k.maxPricePerSecond) / 1_000_000;
}

/** Σ_i λ_i l̂_ij for location j, with the rates as shares (a subnet without a latency to j counts as refLatency×10). */
export function latencyTerm(k: Knobs, subnets: SubnetView[], location: string): number {
  const w = share(subnets);
  return subnets.reduce((a, s, i) => a + w[i]! * ((s.latencyMs[location] ?? k.refLatencyMs * 10) / k.refLatencyMs), 0);
}

/** U_j of eq. 1 for an ICON serving the share `sigma` of the application ({@link appShare}; 1: all of it). */
export function utility(k: Knobs, subnets: SubnetView[], at: Candidate, sigma = 1): number {
  return ((1 - k.weight) * priceTerm(k, at.pricePerSecond)) / sigma + k.weight * latencyTerm(k, subnets, at.location);
}

/** U after replicating to `c`: both leases paid, every subnet served from the nearer of here and `c`. */
export function replicateUtility(k: Knobs, subnets: SubnetView[], here: Candidate, c: Candidate, sigma = 1): number {
  const w = share(subnets);
  const lat = subnets.reduce(
    (a, x, i) =>
      a +
      (w[i]! * Math.min(x.latencyMs[here.location] ?? k.refLatencyMs * 10, x.latencyMs[c.location] ?? Infinity)) /
        k.refLatencyMs,
    0,
  );
  return (
    ((1 - k.weight) * (priceTerm(k, here.pricePerSecond) + priceTerm(k, c.pricePerSecond))) / sigma + k.weight * lat
  );
}

/** The subnets that `c` serves with less latency than `here` (those a replica at `c` takes over). */
export function servedBetter(subnets: SubnetView[], here: string, c: string): SubnetView[] {
  return subnets.filter((x) => (x.latencyMs[c] ?? Infinity) < (x.latencyMs[here] ?? Infinity));
}

/**
 * Whether `action` — a migrate or replicate the controller fired in situation `s` — still passes its threshold with
 * `quoted` as its target: a quote from the yard it chose or another one, at the price quoted (which may differ from
 * the listed price the decision used). A bid takes only quotes for which this holds, so an action never lands
 * where it does not pay. Undefined when it holds; otherwise why not, in a sentence.
 */
export function stillPays(k: Knobs, s: Situation, action: Action, quoted: Candidate): string | undefined {
  if (action.kind !== "migrate" && action.kind !== "replicate") return `a ${action.kind} takes no quote`;
  const sigma = appShare(s.subnets, s.otherRate);
  const uNow = utility(k, s.subnets, s.here, sigma);
  const pct = (x: number): string => `${(x * 100).toFixed(1)} %`;
  if (quoted.location === s.here.location) return "it is where the ICON already is";
  if (quoted.pricePerSecond * BigInt(s.slotSeconds) > s.balance) return "a slot there costs more than the balance";
  if (action.kind === "migrate") {
    if (s.pinned) return "the ICON is pinned";
    const d = uNow > 0 ? (uNow - utility(k, s.subnets, quoted, sigma)) / uNow : 0;
    return d > k.migrateThreshold
      ? undefined
      : `moving there improves U by ${pct(d)} at the quoted price, not above the ${pct(k.migrateThreshold)} threshold`;
  }
  const moved = servedBetter(s.subnets, s.here.location, quoted.location).map((x) => x.subnet);
  if ([...moved].sort().join() !== [...action.subnets].sort().join())
    return `a replica there would serve ${moved.join(", ") || "no subnet"}, not ${action.subnets.join(", ")}`;
  const d = uNow > 0 ? (uNow - replicateUtility(k, s.subnets, s.here, quoted, sigma)) / uNow : 0;
  return d > k.replicateThreshold
    ? undefined
    : `a replica there improves U by ${pct(d)} at the quoted price, not above the ${pct(k.replicateThreshold)} threshold`;
}

/** The best action now, without memory (thresholds and budget applied; no cool-down or hysteresis). */
export function evaluate(k: Knobs, s: Situation): Evaluation {
  const sigma = appShare(s.subnets, s.otherRate);
  const uNow = utility(k, s.subnets, s.here, sigma);
  const afford = (c: Candidate): boolean => c.pricePerSecond * BigInt(s.slotSeconds) <= s.balance;
  const rel = (after: number): number => (uNow > 0 ? (uNow - after) / uNow : 0);
  let best: Evaluation = {
    action: { kind: "stay" },
    uNow,
    uAfter: uNow,
    improvement: 0,
    reason: "no action passes its threshold",
  };

  // Terminate: a non-origin ICON that is idle, or whose parent would serve its clients nearly as well — not while
  // the subnets it was placed for are in their grace (their clients are sent here only once it runs, and come on
  // their own time): then, without load, it waits instead of deciding on an empty view.
  const total = s.subnets.reduce((a, x) => a + Math.max(0, x.rate), 0);
  const graced = s.parent ? (s.graced ?? []) : [];
  if (graced.length > 0 && total <= (k.idleRate ?? 0))
    return { ...best, reason: `placed for ${graced.join(", ")}: their clients may still be on their way (grace)` };
  if (graced.length === 0 && s.parent && total <= (k.idleRate ?? 0)) {
    return {
      action: { kind: "terminate" },
      uNow,
      uAfter: uNow,
      improvement: 0,
      reason: `idle: ${total.toFixed(2)} requests/s from all subnets (≤ ${k.idleRate ?? 0}), the parent takes the rest`,
    };
  }
  if (s.parent && graced.length === 0) {
    const uParent = k.weight * latencyTerm(k, s.subnets, s.parent.location);
    const gain = uParent > 0 ? (uParent - uNow) / uParent : -1;
    const below = terminateBelow(k);
    if (gain < below) {
      return {
        action: { kind: "terminate" },
        uNow,
        uAfter: uParent,
        improvement: gain,
        reason: `serving here gains ${(gain * 100).toFixed(1)} % over the parent${sigma < 1 ? ` (at ${(sigma * 100).toFixed(1)} % of the application's requests)` : ""}, below the termination threshold of ${(below * 100).toFixed(1)} %`,
      };
    }
  }
  const w = share(s.subnets);
  for (const c of s.candidates) {
    if (c.location === s.here.location || !afford(c)) continue;
    const uMig = utility(k, s.subnets, c, sigma);
    const dMig = rel(uMig);
    if (!s.pinned && dMig > k.migrateThreshold && dMig > best.improvement) {
      best = {
        action: { kind: "migrate", to: c },
        uNow,
        uAfter: uMig,
        improvement: dMig,
        reason: `moving to ${c.location} improves U from ${uNow.toFixed(3)} to ${uMig.toFixed(3)} (${(dMig * 100).toFixed(1)} % > ${(k.migrateThreshold * 100).toFixed(1)} %)`,
      };
    }
    const moved = servedBetter(s.subnets, s.here.location, c.location);
    if (moved.length === 0 || moved.length === s.subnets.length) continue;
    const kept = s.subnets.reduce((a, x, i) => a + (moved.includes(x) ? 0 : w[i]!), 0);
    if (!s.pinned && kept < (k.minKeepShare ?? 0)) continue;
    const uRep = replicateUtility(k, s.subnets, s.here, c, sigma);
    const dRep = rel(uRep);
    if (dRep > k.replicateThreshold && dRep > best.improvement) {
      best = {
        action: { kind: "replicate", to: c, subnets: moved.map((x) => x.subnet) },
        uNow,
        uAfter: uRep,
        improvement: dRep,
        reason: `a replica at ${c.location} for ${moved.map((x) => x.subnet).join(", ")} improves U from ${uNow.toFixed(3)} to ${uRep.toFixed(3)} (${(dRep * 100).toFixed(1)} % > ${(k.replicateThreshold * 100).toFixed(1)} %)`,
      };
    }
  }
  return best;
}

/** Exponentially smoothed value with a half-life in seconds (time passed in, for determinism). */
export class Ewma {
  readonly halfLifeS: number;
  value: number | undefined;
  #at = 0;
  constructor(halfLifeS: number) {
    this.halfLifeS = halfLifeS;
  }
  /** When it was last updated (s). */
  get at(): number {
    return this.#at;
  }
  /** Continues from `value` last updated at `at` (a handed-over Controller, {@link Controller.restore}). */
  static from(halfLifeS: number, value: number, at: number): Ewma {
    const e = new Ewma(halfLifeS);
    e.value = value;
    e.#at = at;
    return e;
  }
  update(x: number, nowS: number): number {
    if (this.value === undefined) {
      this.value = x;
    } else {
      const a = 1 - Math.pow(0.5, Math.max(0, nowS - this.#at) / this.halfLifeS);
      this.value += a * (x - this.value);
    }
    this.#at = nowS;
    return this.value;
  }
}

export interface ControllerOptions {
  /** Smoothing of rates and latencies (s). */
  halfLifeS: number;
  /** Least time between two actions (s): at least the time a move takes. */
  coolDownS: number;
  /** Evaluations in a row an action must win before it fires. */
  confirmations: number;
}

/**
 * What a Controller has learned, as plain data that travels with a handed-over ICON (pair.ts): its smoothed values
 * (key, value, last update in s), the time of its last action (null: none yet) and the streak of its current
 * candidate action. Bounded: {@link CONTROLLER_SNAPSHOT_LIMITS}, the most recently updated kept.
 */
export interface ControllerSnapshot {
  rates: [string, number, number][];
  latencies: [string, number, number][];
  lastActionAt: number | null;
  streak: { key: string; count: number };
}

/** At most this many smoothed rates and latencies travel (a few KiB of the sealed state's 64 KiB). */
export const CONTROLLER_SNAPSHOT_LIMITS = { rates: 64, latencies: 192, keyBytes: 200 } as const;

/** The stateful wrapper: smoothing, hysteresis and cool-down around {@link evaluate}. */
export class Controller {
  readonly o: ControllerOptions;
  readonly #rates = new Map<string, Ewma>();
  readonly #lat = new Map<string, Ewma>();
  #lastActionAt = Number.NEGATIVE_INFINITY;
  #streak: { key: string; count: number } = { key: "stay", count: 0 };

  constructor(o: ControllerOptions) {
    this.o = o;
  }

  /**
   * Smooths observations without deciding (a placement's warm-up): the first decision after it then rests on the
   * history, not on one raw sample that may fall in a lull.
   */
  observe(subnets: readonly SubnetView[], nowS: number): SubnetView[] {
    return subnets.map((x) => {
      const r = this.#ewma(this.#rates, x.subnet, x.rate, nowS);
      const latencyMs: Record<string, number> = {};
      for (const [loc, l] of Object.entries(x.latencyMs))
        latencyMs[loc] = this.#ewma(this.#lat, `${x.subnet}@${loc}`, l, nowS);
      return { subnet: x.subnet, rate: r, latencyMs };
    });
  }

  /** Smooths the raw observations of `s` at time `nowS` and decides; returns the evaluation and whether it fires. */
  step(k: Knobs, s: Situation, nowS: number): Evaluation & { fire: boolean; smoothed: SubnetView[] } {
    const smoothed = this.observe(s.subnets, nowS);
    const e = evaluate(k, { ...s, subnets: smoothed });
    const key = e.action.kind === "stay" ? "stay" : `${e.action.kind}:${"to" in e.action ? e.action.to.location : ""}`;
    this.#streak = key === this.#streak.key ? { key, count: this.#streak.count + 1 } : { key, count: 1 };
    const cooled = nowS - this.#lastActionAt >= this.o.coolDownS;
    const fire = e.action.kind !== "stay" && cooled && this.#streak.count >= this.o.confirmations;
    if (fire) {
      this.#lastActionAt = nowS;
      this.#streak = { key: "stay", count: 0 };
    }
    return { ...e, fire, smoothed };
  }

  /** What it has learned so far ({@link ControllerSnapshot}), bounded. */
  snapshot(): ControllerSnapshot {
    const take = (m: Map<string, Ewma>, n: number): [string, number, number][] =>
      [...m.entries()]
        .filter(([, e]) => e.value !== undefined && Number.isFinite(e.value))
        .sort((a, b) => b[1].at - a[1].at)
        .slice(0, n)
        .map(([k, e]) => [k, e.value!, e.at]);
    return {
      rates: take(this.#rates, CONTROLLER_SNAPSHOT_LIMITS.rates),
      latencies: take(this.#lat, CONTROLLER_SNAPSHOT_LIMITS.latencies),
      lastActionAt: Number.isFinite(this.#lastActionAt) ? this.#lastActionAt : null,
      streak: { ...this.#streak },
    };
  }

  /**
   * Continues from `s` (a predecessor's {@link snapshot}): its smoothed values, cool-down and streak. The snapshot
   * came through the sealed state, so entries out of bounds or not finite are skipped, not trusted.
   */
  restore(s: ControllerSnapshot): void {
    const L = CONTROLLER_SNAPSHOT_LIMITS;
    const ok = (x: unknown): x is [string, number, number] =>
      Array.isArray(x) &&
      typeof x[0] === "string" &&
      x[0].length <= L.keyBytes &&
      Number.isFinite(x[1]) &&
      x[1] >= 0 &&
      Number.isFinite(x[2]);
    for (const [list, m, n] of [
      [s.rates, this.#rates, L.rates],
      [s.latencies, this.#lat, L.latencies],
    ] as const)
      for (const x of (Array.isArray(list) ? list : []).slice(0, n))
        if (ok(x)) m.set(x[0], Ewma.from(this.o.halfLifeS, x[1], x[2]));
    if (typeof s.lastActionAt === "number" && Number.isFinite(s.lastActionAt)) this.#lastActionAt = s.lastActionAt;
    if (s.streak && typeof s.streak.key === "string" && Number.isInteger(s.streak.count) && s.streak.count >= 0)
      this.#streak = { key: s.streak.key.slice(0, L.keyBytes), count: s.streak.count };
  }

  #ewma(m: Map<string, Ewma>, key: string, x: number, nowS: number): number {
    let e = m.get(key);
    if (!e) {
      e = new Ewma(this.o.halfLifeS);
      m.set(key, e);
    }
    return e.update(x, nowS);
  }
}

/** Knobs from the owner's on-chain policy (basis points). */
export function knobsFromPolicy(
  p: {
    weightBps: number;
    migrateThresholdBps: number;
    replicateThresholdBps: number;
    terminateThresholdBps: number;
    maxPricePerSecond: bigint;
  },
  refLatencyMs = 100,
): Knobs {
  return {
    weight: p.weightBps / 10_000,
    migrateThreshold: p.migrateThresholdBps / 10_000,
    replicateThreshold: p.replicateThresholdBps / 10_000,
    terminateThreshold: p.terminateThresholdBps / 10_000,
    maxPricePerSecond: p.maxPricePerSecond,
    refLatencyMs,
  };
}

/** What a replica is given: see {@link replicaShare}. */
export interface ReplicaShareInput {
  /** The parent's balance (token units). */
  balance: bigint;
  /** What the parent keeps for itself: its own next slot. */
  reserve: bigint;
  /** Requests per second of the subnets the replica takes over, and of all the parent serves (≥ movedRate). */
  movedRate: number;
  totalRate: number;
  /** The least a replica is given: two slots at its yard's listed price. */
  floor: bigint;
}

/**
 * The inputs of {@link replicaShare} as the agent forms them (moves.ts replicate): it keeps its own next slot at
 * its current price (`reserve`), gives the replica at least two slots at the target's listed price (`floor`), and
 * splits by the rates of the subnets the replica takes over (`moved`) against all it serves (`subnets`).
 * One function for the agent and the simulator (scripts/sim/), so their budget arithmetic cannot drift apart.
 *
 * @example
 *   replicaBudgetInputs({ balance: 10_000n, ownPricePerSecond: 2n, targetPricePerSecond: 3n, slotSeconds: 600,
 *     subnets: [{ subnet: "a", rate: 3, latencyMs: {} }, { subnet: "b", rate: 1, latencyMs: {} }], moved: ["b"] });
 *   // { balance: 10_000n, reserve: 1_200n, movedRate: 1, totalRate: 4, floor: 3_600n }
 */
export function replicaBudgetInputs(o: {
  balance: bigint;
  ownPricePerSecond: bigint;
  targetPricePerSecond: bigint;
  slotSeconds: number;
  subnets: readonly SubnetView[];
  moved: readonly string[];
}): ReplicaShareInput {
  const slot = BigInt(o.slotSeconds);
  return {
    balance: o.balance,
    reserve: o.ownPricePerSecond * slot,
    movedRate: o.subnets.filter((s) => o.moved.includes(s.subnet)).reduce((a, s) => a + s.rate, 0),
    totalRate: o.subnets.reduce((a, s) => a + s.rate, 0),
    floor: o.targetPricePerSecond * slot * 2n,
  };
}

/**
 * The replica's budget share: of what the parent can spend — its balance less `reserve` — the part in proportion to
 * the demand the replica takes over (to a basis point, rounded down to whole token units), and at least `floor`.
 * `share` is undefined when the spendable balance cannot pay that (the replication does not happen).
 *
 * @example
 *   replicaShare({ balance: 1000n, reserve: 100n, movedRate: 3, totalRate: 4, floor: 50n }); // { spendable: 900n, share: 675n }
 */
export function replicaShare(o: ReplicaShareInput): { spendable: bigint; share?: bigint } {
  const spendable = o.balance > o.reserve ? o.balance - o.reserve : 0n;
  // A share of the demand, however small the rates (no floor under the total: 2.5e-10 of 2.5e-10 is all of it).
  const bps = o.totalRate > 0 ? BigInt(Math.min(10_000, Math.round((o.movedRate / o.totalRate) * 10_000))) : 0n;
  let share = (spendable * bps) / 10_000n;
  if (share < o.floor) share = o.floor;
  return share > spendable ? { spendable } : { spendable, share };
}

/** An action as the agent's timeline names it, yards by their names where `yards` knows them. */
export function describeAction(a: Action, yards: readonly { peerId: string; name: string }[]): string {
  const name = (c: Candidate): string => yards.find((y) => y.peerId === c.location)?.name ?? c.location;
  switch (a.kind) {
    case "replicate":
      return `replicate to ${name(a.to)} for ${a.subnets.join(", ")}`;
    case "migrate":
      return `migrate to ${name(a.to)}`;
    default:
      return a.kind;
  }
}

/** What {@link renewalPlan} decides from. */
export interface RenewalInput {
  /** The account's balance (token units). */
  balance: bigint;
  /**
   * The price the renewal is expected at: the yard's current price for the lease (its listed price, or what it
   * quoted when a renewal bid failed), not the old lease's — a yard's price may have moved since.
   */
  pricePerSecond: bigint;
  /** The configured slot. */
  slotSeconds: number;
  /**
   * The most one relayed intent of the ICON costs (the policy's maxRelayFee). The renewal leaves
   * {@link INTENT_RESERVE} of them in the account for the ICON's own next intents: a short renewal spends the balance
   * only down to that reserve, and a request asks for it too, and for its own fee.
   */
  relayFee: bigint;
  /** Seconds left of the lease being renewed, and the renewal window (`renewBeforeS`) it is in. */
  leftS: number;
  renewBeforeS: number;
  /** Whether money was asked for (and answered) for this lease already. */
  asked: boolean;
}

/**
 * How many relayed intents of its own an ICON can still pay for after a renewal: the funding request for the next
 * lease's renewal (the owner must see it), and winding down — terminating its lease and closing its account.
 */
export const INTENT_RESERVE = 3n;

/** A renewal's next step: buy a slot of `slotSeconds`, ask the parent for `amount`, or wait for an answer. */
export type RenewalPlan =
  { kind: "renew"; slotSeconds: number } | { kind: "ask"; amount: bigint } | { kind: "wait"; why: string };

/** The shortest renewal worth buying when money is short: a tenth of the slot, and never under 10 s. */
export function shortestRenewalS(slotSeconds: number): number {
  return Math.max(10, Math.ceil(slotSeconds / 10));
}

/**
 * The renewal (foundering, paper §4.2): a whole slot when the balance beyond the reserve (INTENT_RESERVE ×
 * `relayFee`) pays it; short of money, ask the parent once for this lease's shortfall (the reserve and the request's
 * own fee included: a top-up of what was asked renews whole); unanswered, wait while more than half the
 * renewal window is left (the owner may answer), then buy the longest slot the balance beyond the reserve pays
 * rather than let the lease lapse — or nothing, when that is shorter than {@link shortestRenewalS}. Never spends
 * into the reserve.
 *
 * @example
 *   renewalPlan({ balance: 53n, relayFee: 1n, pricePerSecond: 1n, slotSeconds: 100, leftS: 20, renewBeforeS: 60, asked: true });
 *   // { kind: "renew", slotSeconds: 50 }
 */
export function renewalPlan(o: RenewalInput): RenewalPlan {
  const reserve = INTENT_RESERVE * o.relayFee;
  const spendable = o.balance > reserve ? o.balance - reserve : 0n;
  const need = o.pricePerSecond * BigInt(o.slotSeconds);
  if (spendable >= need) return { kind: "renew", slotSeconds: o.slotSeconds };
  if (!o.asked) return { kind: "ask", amount: need + reserve + o.relayFee - o.balance };
  if (o.leftS > o.renewBeforeS / 2) return { kind: "wait", why: "the request for money is not answered yet" };
  const buys = spendable / o.pricePerSecond;
  const shortest = shortestRenewalS(o.slotSeconds);
  if (buys < BigInt(shortest))
    return {
      kind: "wait",
      why: `the balance buys ${buys} s, less than the shortest renewal (${shortest} s)${reserve > 0n ? ` beside the ${reserve} kept for the ICON's own intents` : ""}`,
    };
  return { kind: "renew", slotSeconds: Number(buys) };
}
