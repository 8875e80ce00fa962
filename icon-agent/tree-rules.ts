/**
 * The overlay tree's rules as pure functions (no clock, no network), used by tree.ts and tree-children.ts and by the
 * simulator (scripts/sim/), which drives them with its own time and network: when a child counts as live, and where
 * an ICON goes when its parent is lost or leaves.
 *
 * @example
 *   const live = children.filter((c) => isLive(c.lastReportMs, nowMs, reportEveryMs));
 *   const next = reattachCandidates({ self, ancestors, parent, extra, successor });
 */

/** Report periods a child may stay silent before its parent counts it gone. */
export const SILENT_PERIODS = 3;

/** Whether a child last heard from at `lastReportMs` is live at `nowMs`: heard within {@link SILENT_PERIODS} periods. */
export function isLive(lastReportMs: number, nowMs: number, reportEveryMs: number): boolean {
  return lastReportMs >= nowMs - SILENT_PERIODS * reportEveryMs;
}

/** What {@link reattachCandidates} orders. */
export interface ReattachInput<N extends { account: bigint }> {
  /** My own account (never a candidate). */
  self: bigint;
  /** My ancestors as my parent last told me, parent first, origin last (may be empty). */
  ancestors: readonly N[];
  /** The parent I was configured with (used when no ancestors are known). */
  parent?: N;
  /** Ancestors I was started with (a restarted ICON's saved list). */
  extra: readonly N[];
  /** The origin's successor (its oldest live child), when named. */
  successor?: N;
}

/**
 * Where to go when the parent is lost: the other ancestors, nearest first, then the saved ones, the origin's
 * successor (once it has taken the role the orphans attach there), and the lost parent itself last; without
 * duplicates or myself.
 */
export function reattachCandidates<N extends { account: bigint }>(o: ReattachInput<N>): N[] {
  const list = o.ancestors.length > 0 ? [...o.ancestors] : o.parent ? [o.parent] : [];
  const ordered = [...list.slice(1), ...o.extra, ...(o.successor ? [o.successor] : []), ...list.slice(0, 1)];
  const seen = new Set<bigint>();
  return ordered.filter((n) => n.account !== o.self && !seen.has(n.account) && seen.add(n.account));
}

/** My parent leaves naming `newParent` (its own parent): go there first, else up my other ancestors. */
export function reparentCandidates<N extends { account: bigint }>(ancestors: readonly N[], newParent?: N): N[] {
  const rest = ancestors.slice(1).filter((n) => n.account !== newParent?.account);
  return newParent ? [newParent, ...rest] : rest;
}
