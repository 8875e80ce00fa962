/**
 * The console's "after" of a move its ICON cannot measure (console/src/icon-after.ts): after a replication the subnet
 * is served by the replica, so its latency after the move is what another ICON of the application reports for it
 * since the decision — hand-computed cases, no browser.
 */
import { expect } from "chai";
import { afterElsewhere } from "../../../console/src/icon-after.ts";
import type { ServedIconStatus } from "../../../protocol/yard/icon-status.ts";

const served = (
  name: string,
  account: string,
  atMs: number,
  subnets: { subnet: string; ratePerS: number; latencyMs: number | null }[],
): ServedIconStatus => ({
  leaseId: String(atMs),
  yardId: "edge-a",
  leaseAccount: account,
  receivedAtMs: atMs,
  report: { name, account, instance: 1, policyVersion: 1, atMs, subnets, decisions: [] },
});

describe("owner console: a replication's after, as the replica reports it", () => {
  const S = "198.18.4.0/24";
  const origin = served("origin", "1", 5_000, [{ subnet: S, ratePerS: 0, latencyMs: 40 }]);

  it("takes the newest report of another ICON serving the subnet since the decision", () => {
    const a = served("replica-1", "2", 3_000, [{ subnet: S, ratePerS: 4, latencyMs: 12 }]);
    const b = served("replica-1", "2", 4_000, [{ subnet: S, ratePerS: 4, latencyMs: 9.5 }]);
    expect(afterElsewhere(S, 2_000, origin, [origin, a, b])).to.deep.equal({ ms: 9.5, by: "replica-1" });
  });

  it("never the deciding ICON itself (nor another instance of it), a report from before the decision, nor an idle or unmeasured subnet", () => {
    const self2 = served("origin", "1", 9_000, [{ subnet: S, ratePerS: 4, latencyMs: 7 }]);
    const before = served("replica-1", "2", 1_000, [{ subnet: S, ratePerS: 4, latencyMs: 12 }]);
    const idle = served("replica-2", "3", 9_000, [{ subnet: S, ratePerS: 0, latencyMs: 3 }]);
    const unmeasured = served("replica-3", "4", 9_000, [{ subnet: S, ratePerS: 4, latencyMs: null }]);
    const other = served("replica-4", "5", 9_000, [{ subnet: "198.18.6.0/24", ratePerS: 4, latencyMs: 3 }]);
    expect(afterElsewhere(S, 2_000, origin, [origin, self2, before, idle, unmeasured, other])).to.equal(undefined);
  });
});
