/**
 * A move's "after" latency that the deciding ICON cannot measure itself: after a replication the subnets it handed
 * on are served by the replica, so their latency after the move is what another ICON of the application (not the
 * deciding one, nor another instance of it) reports for them since the decision — the newest such report.
 * No DOM here: icons.ts shows it, test/mocha/console/icon-after.test.ts checks it.
 */
import type { ServedIconStatus } from "../../protocol/yard/icon-status.ts";

/** Subnet `subnet`'s latency after a decision of `self` at `decidedAtMs`, as another ICON serving it reports it. */
export function afterElsewhere(
  subnet: string,
  decidedAtMs: number,
  self: ServedIconStatus,
  all: readonly ServedIconStatus[],
): { ms: number; by: string } | undefined {
  let best: { ms: number; by: string; at: number } | undefined;
  for (const o of all) {
    if (o.report.account === self.report.account || o.report.atMs <= decidedAtMs) continue;
    const n = o.report.subnets.find((s) => s.subnet === subnet && s.latencyMs !== null && s.ratePerS > 0);
    if (n && (!best || o.report.atMs > best.at)) best = { ms: n.latencyMs!, by: o.report.name, at: o.report.atMs };
  }
  return best && { ms: best.ms, by: best.by };
}
