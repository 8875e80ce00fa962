/**
 * The yard's claim policy, pure: which of the leases due this tick are claimed now and which wait, weighing the gas a
 * claim costs against what it collects. The token is not ETH, so gas is converted with the operator's price of
 * ETH in the market's token (`chain.fees.gasTokenPrice`, token units per 10^18 wei); without that price gas is not
 * weighed (every due lease with something to collect is claimed, as before the policy).
 *
 * - A lease that has ended with nothing left to collect by the yard's estimate (its final claim was sent and is not
 *   yet buried, or nothing accrued) is idle: never claimed (the chain would refuse it and the whole batch) and never
 *   counted as paying a transaction; the caller checks whether it is settled.
 * - An ended lease whose settlement releases its collateral (it ran to the end of its slot; `releases`) is always
 *   claimed: it pays the transaction's fixed part, and waiting collects nothing more.
 * - The others (running leases, and ended ones the tenant terminated: terminate() already released their
 *   collateral) join one claimMany when what they collect pays for them: each at least the gas of one more lease in
 *   a batch, and together at least the gas they add to the transaction (the whole transaction when no releasing
 *   lease pays its fixed part). Otherwise they wait; a running lease's accrual grows, an ended one rides along with
 *   the next batch that goes (claims.ts gives one up as dust after a bound).
 * - When the chain asks more than the cap (`feePerGas` undefined) nothing is sent: everything waits.
 *
 * The gas of a claimMany of n leases is `perTx + n × perLease` (BENCHMARKS.md "Batch claims": 40 083 gas for 1,
 * 151 719 for 10, 647 879 for 50 fit 27 700 + 12 400 n; rounded up). On an OP-stack chain each transaction also pays
 * an L1 data fee the gas price does not show: `l1FeePerTx` (wei, config `chain.fees.l1FeePerClaim`) is added to
 * each transaction's cost.
 *
 * @example
 *   const plan = planClaims(due, { feePerGas: 10_000_000n, unitsPerEth: 3_000_000_000n }, CLAIM_GAS);
 *   // plan.claim: ids to claim now (claimMany when ≥ 2); plan.wait: the others, with what they would cost;
 *   // plan.idle: ended leases with nothing left to collect
 */
import { MAX_CLAIM_BATCH } from "../protocol/chain/claims.ts";

/** A lease whose claim is due. */
export interface DueClaim {
  id: bigint;
  /** Token units it would collect now (an estimate never above what the chain pays). */
  accrued: bigint;
  /** The lease has ended: this claim is its last (it settles it). */
  final: boolean;
  /** Ended and settling it releases the provider's collateral (not terminated: terminate() released it). */
  releases?: boolean;
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
  /** Wei each transaction pays beyond its gas (an OP-stack chain's L1 data fee); 0 when absent. */
  l1FeePerTx?: bigint;
}

export interface ClaimPlan {
  /** Claimed now, in one claimMany per {@link MAX_CLAIM_BATCH} (or a single claim when alone). */
  claim: bigint[];
  /** Waiting: what each collects, and the gas its claim would cost now in token units. */
  wait: { id: bigint; accrued: bigint; cost: bigint }[];
  /** Ended with nothing left to collect (final claim sent, not yet buried): not claimed; checked for settlement. */
  idle: bigint[];
  /** Why anything waits, for the log. */
  reason?: "fee above cap" | "gas above accrual";
}

const WEI_PER_ETH = 10n ** 18n;

/** Token units of `gas` at `facts`, plus `txs` transactions' L1 fee (rounded up: never underestimates a cost). */
export function gasCost(
  gas: bigint,
  facts: Pick<ClaimFacts, "l1FeePerTx"> & { feePerGas: bigint; unitsPerEth: bigint },
  txs = 0n,
): bigint {
  const wei = (gas * facts.feePerGas + txs * (facts.l1FeePerTx ?? 0n)) * facts.unitsPerEth;
  return (wei + WEI_PER_ETH - 1n) / WEI_PER_ETH;
}

/** Transactions of claiming `n` leases in batches. */
export function claimTxs(n: number): bigint {
  return BigInt(Math.ceil(n / MAX_CLAIM_BATCH));
}

/** Gas of claiming `n` leases in batches. */
export function claimGas(n: number, g: ClaimGas = CLAIM_GAS): bigint {
  if (n === 0) return 0n;
  return claimTxs(n) * g.perTx + BigInt(n) * g.perLease;
}

/** Token units of claiming `n` leases in batches at `f`: their gas and their transactions' L1 fee. */
export function claimCost(n: number, f: Parameters<typeof gasCost>[1], g: ClaimGas = CLAIM_GAS): bigint {
  return gasCost(claimGas(n, g), f, claimTxs(n));
}

/** Decides which due claims go now (see the module header). */
export function planClaims(due: readonly DueClaim[], facts: ClaimFacts, g: ClaimGas = CLAIM_GAS): ClaimPlan {
  const idle = due.filter((d) => d.final && d.accrued === 0n).map((d) => d.id);
  const live = due.filter((d) => !(d.final && d.accrued === 0n));
  if (facts.feePerGas === undefined)
    return {
      claim: [],
      wait: live.map((d) => ({ id: d.id, accrued: d.accrued, cost: 0n })),
      idle,
      reason: "fee above cap",
    };
  if (facts.unitsPerEth === undefined) return { claim: live.map((d) => d.id), wait: [], idle };
  const f = { feePerGas: facts.feePerGas, unitsPerEth: facts.unitsPerEth, l1FeePerTx: facts.l1FeePerTx };
  const payers = live.filter((d) => d.final && d.releases);
  const others = live
    .filter((d) => !(d.final && d.releases))
    .sort((a, b) => (a.accrued > b.accrued ? -1 : a.accrued < b.accrued ? 1 : 0));
  const marginal = gasCost(g.perLease, f);
  // Each joins only if it pays at least its own share of gas; sorted by what they collect, the best come first.
  const paying = others.filter((d) => d.accrued >= marginal);
  const added = claimCost(payers.length + paying.length, f, g) - claimCost(payers.length, f, g);
  const sum = paying.reduce((s, d) => s + d.accrued, 0n);
  const join = sum >= added ? paying : [];
  const joined = new Set(join.map((d) => d.id));
  const wait = others
    .filter((d) => !joined.has(d.id))
    .map((d) => ({ id: d.id, accrued: d.accrued, cost: claimCost(1, f, g) }));
  return {
    claim: [...payers.map((d) => d.id), ...join.map((d) => d.id)],
    wait,
    idle,
    ...(wait.length > 0 ? { reason: "gas above accrual" as const } : {}),
  };
}
