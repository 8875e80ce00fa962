/**
 * The operator's pricing policy, in exact integer token units (pure: no clock, no chain).
 *
 *   base     = max(floor, ceil(cpuPerCoreSecond · cpuMillis / 1000) + ceil(memoryPerGiBSecond · memoryMiB / 1024))
 *   surcharge: the highest tier whose `aboveUtilization` is below the utilization the yard would reach with this
 *              lease (max of CPU and memory share) adds `bps` basis points: price = ceil(base · (10000 + bps) / 10000)
 *
 * A counter-offer is accepted at the tenant's price when it is at least `base` (the yard's price without
 * surcharge); below that, the yard answers with `base`.
 */
import type { Prices } from "./config.ts";
import type { Resources } from "./ledger.ts";

const BPS = 10_000n;

function ceilDiv(a: bigint, b: bigint): bigint {
  return (a + b - 1n) / b;
}

/** The yard's lowest price per second for `r` (no surcharge). */
export function basePrice(p: Prices, r: Resources): bigint {
  const cpu = ceilDiv(p.cpuPerCoreSecond * BigInt(r.cpuMillis), 1000n);
  const mem = ceilDiv(p.memoryPerGiBSecond * BigInt(r.memoryMiB), 1024n);
  const sum = cpu + mem;
  return sum > p.floorPerSecond ? sum : p.floorPerSecond;
}

/** Surcharge (basis points) at `utilization` (0..1, with the requested lease counted). */
export function surchargeBps(p: Prices, utilization: number): number {
  let bps = 0;
  for (const t of p.surcharge) if (utilization > t.aboveUtilization) bps = t.bps;
  return bps;
}

/** The asking price per second: base plus the utilization surcharge. */
export function askPrice(p: Prices, r: Resources, utilization: number): { price: bigint; base: bigint; bps: number } {
  const base = basePrice(p, r);
  const bps = surchargeBps(p, utilization);
  return { price: ceilDiv(base * (BPS + BigInt(bps)), BPS), base, bps };
}

/** The price to quote after a counter-offer of `counter`: the counter itself when it covers `base`. */
export function counterPrice(ask: bigint, base: bigint, counter: bigint): bigint {
  if (counter >= ask) return ask;
  return counter >= base ? counter : base;
}

/** Utilization with `extra` added on top of `used`, as the larger of the CPU and memory shares. */
export function utilization(capacity: Resources, used: Resources, extra: Resources): number {
  return Math.max(
    (used.cpuMillis + extra.cpuMillis) / capacity.cpuMillis,
    (used.memoryMiB + extra.memoryMiB) / capacity.memoryMiB,
  );
}
