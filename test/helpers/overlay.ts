/**
 * An Overlay (yard-node/overlay/overlay.ts) on a bare libp2p node, as the overlay tests build it without a yard:
 * access is granted to anyone (the access check is access.test's), no local instances unless given.
 */
import type { Libp2p } from "@libp2p/interface";
import type { LeaseRow, YardDb } from "../../yard-node/db.ts";
import { silentLogger } from "../../protocol/log.ts";
import { Overlay } from "../../yard-node/overlay/overlay.ts";
import type { LocalInstance } from "../../yard-node/overlay/types.ts";

/** What a test overlay may differ in; every other component is the overlay's default. */
export interface TestOverlayInit {
  local?: () => LocalInstance[];
  /** The route epoch (ms) its answers and pushes carry. */
  epoch?: bigint;
  /** Where its routing rules and epoch are kept (none: in memory). */
  db?: YardDb;
  vouch?: (peer: string) => Promise<boolean>;
  /** Route answer TTL (default 60 s). */
  ttlS?: number;
  queryBudget?: { burst: number; refillPerS: number };
}

/** An Overlay on `node` (not started) that takes routing rules and route requests from anyone. */
export function overlayOn(node: Libp2p, o: TestOverlayInit = {}): Overlay {
  return new Overlay({
    node,
    log: silentLogger,
    authorize: async (a) => ({ id: a.leaseId }) as LeaseRow,
    local: o.local ?? (() => []),
    ttlS: o.ttlS ?? 60,
    ...(o.epoch !== undefined ? { routeEpochMs: o.epoch } : {}),
    ...(o.db ? { store: o.db } : {}),
    ...(o.vouch ? { vouch: o.vouch } : {}),
    ...(o.queryBudget ? { queryBudget: o.queryBudget } : {}),
  });
}
