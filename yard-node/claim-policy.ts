/**
 * The yard's claim policy, pure: which of the leases due this tick are claimed now and which wait, weighing the gas a
 * claim costs against what it collects. The token is not ETH, so gas is converted with the operator's price of
 * ETH in the market's token (`chain.fees.gasTokenPrice`, token units per 10^18 wei); without that price gas is not
 * weighed (every due lease is claimed, as before the policy).
 *
 * - A lease that has ended is always claimed: its last claim settles it and releases its collateral, and waiting
 *   collects nothing more (claims anyway before settlement, so nothing is left on the table).
 * - The others join one claimMany when what they collect pays for them: each at least the gas of one more lease in a
 *   batch, and together at least the gas they add to the transaction (the whole transaction when no ended lease
 *   pays its fixed part). Otherwise they wait; the accrual grows every second, so they are claimed later.
 * - When the chain asks more than the cap (`feePerGas` undefined) nothing is sent: everything waits.
 *
 * The gas of a claimMany of n leases is `perTx + n × perLease` (BENCHMARKS.md "Batch claims": 40 083 gas for 1,
 * 151 719 for 10, 647 879 for 50 fit 27 700 + 12 400 n; rounded up).
 *
 * @example
 *   const plan = planClaims(due, { feePerGas: 10_000_000n, unitsPerEth: 3_000_000_000n }, CLAIM_GAS);
 *   // plan.claim: ids to claim now (claimMany when ≥ 2); plan.wait: the others, with what they would cost
 */
import { MAX_CLAIM_BATCH } from "../protocol/chain/claims.ts";

/** A lease whose claim is due. */
export interface DueClaim {
  id: bigint;
  /** Token units it would collect now (an estimate never above what the chain pays). */
  accrued: bigint;
  /** The lease has ended: this claim is its last (it settles it). */
  final: boolean;
}

/** Gas of a claimMany of n leases: `perTx + n × perLease` (one more perTx per {@link MAX_CLAIM_BATCH}). */
export interface ClaimGas {
  perTx: bigint;
  perLease: bigint;
}

/** Measured (BENCHMARKS.md "Batch claims"), rounded up. */
export const CLAIM_GAS: ClaimGas = { perTx: 28_000n, perLease: 12_500n };

/** What gas costs now. */
export interface ClaimFacts {
  /** Wei a unit of gas is expected to cost (base fee + tip); undefined when the chain asks more than the cap. */
  feePerGas: bigint | undefined;
  /** Token units one ETH (10^18 wei) is worth; undefined: gas is not weighed. */
  unitsPerEth: bigint | undefined;
}

export interface ClaimPlan {
  /** Claimed now, in one claimMany per {@link MAX_CLAIM_BATCH} (or a single claim when alone). */
  claim: bigint[];
  /** Waiting: what each collects, and the gas its claim would cost now in token units. */
  wait: { id: bigint; accrued: bigint; cost: bigint }[];
  /** Why anything waits, for the log. */
  reason?: "fee above cap" | "gas above accrual";
}

const WEI_PER_ETH = 10n ** 18n;

/** Token units of `gas` at `facts` (rounded up: the policy never underestimates a cost). */
export function gasCost(gas: bigint, facts: Required<{ [K in keyof ClaimFacts]: bigint }>): bigint {
  const wei = gas * facts.feePerGas * facts.unitsPerEth;
  return (wei + WEI_PER_ETH - 1n) / WEI_PER_ETH;
}

/** Gas of claiming `n` leases in batches. */
export function claimGas(n: number, g: ClaimGas = CLAIM_GAS): bigint {
  if (n === 0) return 0n;
  return BigInt(Math.ceil(n / MAX_CLAIM_BATCH)) * g.perTx + BigInt(n) * g.perLease;
}

/** Decides which due claims go now (see the module header). */
export function planClaims(due: readonly DueClaim[], facts: ClaimFacts, g: ClaimGas = CLAIM_GAS): ClaimPlan {
  if (facts.feePerGas === undefined)
    return { claim: [], wait: due.map((d) => ({ id: d.id, accrued: d.accrued, cost: 0n })), reason: "fee above cap" };
  if (facts.unitsPerEth === undefined) return { claim: due.map((d) => d.id), wait: [] };
  const f = { feePerGas: facts.feePerGas, unitsPerEth: facts.unitsPerEth };
  const finals = due.filter((d) => d.final);
  const others = due
    .filter((d) => !d.final)
    .sort((a, b) => (a.accrued > b.accrued ? -1 : a.accrued < b.accrued ? 1 : 0));
  const marginal = gasCost(g.perLease, f);
  // Each joins only if it pays at least its own share of gas; sorted by what they collect, the best come first.
  const paying = others.filter((d) => d.accrued >= marginal);
  const added = gasCost(claimGas(finals.length + paying.length, g), f) - gasCost(claimGas(finals.length, g), f);
  const sum = paying.reduce((s, d) => s + d.accrued, 0n);
  const join = sum >= added ? paying : [];
  const joined = new Set(join.map((d) => d.id));
  const wait = others
    .filter((d) => !joined.has(d.id))
    .map((d) => ({ id: d.id, accrued: d.accrued, cost: gasCost(claimGas(1, g), f) }));
  return {
    claim: [...finals.map((d) => d.id), ...join.map((d) => d.id)],
    wait,
    ...(wait.length > 0 ? { reason: "gas above accrual" as const } : {}),
  };
}
