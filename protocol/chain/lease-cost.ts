/**
 * What a lease has cost its account at a chain time — one rule for the CLI (`icon app status`,
 * icon-agent/app.ts) and the owner console (console/src/chain.ts, views.ts). Browser-safe (no imports).
 */

/** The fields of a lease the cost depends on; `state` as the contract computes it (LEASE_STATES' names). */
export interface LeaseCostInput {
  state: string;
  pricePerSecond: bigint;
  start: bigint;
  end: bigint;
  /** 0 while not stopped early. */
  stoppedAt: bigint;
}

/** When the lease stops or stopped running: when it was stopped early, else its end (never after its end). */
export function leaseStop(l: LeaseCostInput): bigint {
  return l.stoppedAt > 0n && l.stoppedAt < l.end ? l.stoppedAt : l.end;
}

/**
 * What the lease has cost at chain time `now` (s): its price × the seconds it ran, from its start to `now` or its
 * stop, whichever is first. A lease whose start the yard missed (StartMissed) or that was cancelled for it owes
 * nothing: its whole deposit goes (or went) back. One that never existed (None) costs nothing.
 */
export function leaseCost(l: LeaseCostInput, now: bigint): bigint {
  if (l.state === "StartMissed" || l.state === "Cancelled" || l.state === "None") return 0n;
  const stop = leaseStop(l);
  const ranTo = stop < now ? stop : now;
  return ranTo > l.start ? l.pricePerSecond * (ranTo - l.start) : 0n;
}

/** What of the lease's deposit is still held in escrow at `now`: its full price over its slot less its cost, 0 for a
 * cancelled lease (its deposit went back). */
export function leaseEscrowed(l: LeaseCostInput, now: bigint): bigint {
  if (l.state === "Cancelled" || l.state === "None") return 0n;
  const stop = leaseStop(l);
  return (stop > l.start ? l.pricePerSecond * (stop - l.start) : 0n) - leaseCost(l, now);
}
