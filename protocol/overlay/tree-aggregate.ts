/**
 * What the overlay tree's reports add up to (tree.ts carries them): a subnet observation's checks, the merge of a
 * node's own observations with its children's (rates and requests add up, latency is the rate-weighted mean) and the
 * fold that keeps a report within the limit with exact totals.
 *
 * @example
 *   const up = foldSubnets(mergeSubnets([own.filter(isValidTreeSubnet), ...children.map((c) => c.subnets)]));
 */
import { TREE_SUBNET_RE, treeLimits, type TreeSubnet } from "./tree.ts";

/** Whether `s` passes the report checks (subnet syntax, finite non-negative rate and latency or NaN). */
export function isValidTreeSubnet(s: TreeSubnet): boolean {
  return (
    s.subnet.length <= 64 &&
    TREE_SUBNET_RE.test(s.subnet) &&
    Number.isFinite(s.rate) &&
    s.rate >= 0 &&
    s.rate <= treeLimits.maxRate &&
    (Number.isNaN(s.latencyMs) || (s.latencyMs >= 0 && s.latencyMs <= treeLimits.maxLatencyMs)) &&
    s.requests >= 0n &&
    s.requests < 1n << 64n
  );
}

/**
 * Merges subnet observations: rates and request counts add up per subnet, latency is the rate-weighted mean
 * of the measured entries (the plain mean when every measured entry has rate 0; NaN when none is measured).
 */
export function mergeSubnets(lists: TreeSubnet[][]): TreeSubnet[] {
  const acc = new Map<
    string,
    { rate: number; requests: bigint; latW: number; w: number; latSum: number; latN: number }
  >();
  for (const list of lists)
    for (const s of list) {
      const k = s.subnet.toLowerCase();
      let e = acc.get(k);
      if (!e) {
        e = { rate: 0, requests: 0n, latW: 0, w: 0, latSum: 0, latN: 0 };
        acc.set(k, e);
      }
      e.rate += s.rate;
      e.requests += s.requests;
      if (Number.isFinite(s.latencyMs)) {
        e.latW += s.rate * s.latencyMs;
        e.w += s.rate;
        e.latSum += s.latencyMs;
        e.latN++;
      }
    }
  return [...acc].map(([subnet, e]) => ({
    subnet,
    rate: e.rate,
    requests: e.requests,
    latencyMs: e.w > 0 ? e.latW / e.w : e.latN > 0 ? e.latSum / e.latN : NaN,
  }));
}

/** The busiest `max - 1` subnets, and the rest folded into `*`, so totals stay exact within the report limit. */
export function foldSubnets(subnets: TreeSubnet[], max: number = treeLimits.maxSubnets): TreeSubnet[] {
  const sorted = [...subnets].sort((a, b) => b.rate - a.rate || a.subnet.localeCompare(b.subnet));
  if (sorted.length <= max) return sorted;
  const keep = sorted.filter((s) => s.subnet !== "*").slice(0, max - 1);
  const kept = new Set(keep);
  const rest = sorted.filter((s) => !kept.has(s)).map((s) => ({ ...s, subnet: "*" }));
  return [...keep, ...mergeSubnets([rest])];
}
