/**
 * The tree's events (tree.ts) as the sentences of the agent's timeline.
 *
 * @example
 *   onEvent: (e) => emit("tree", describeTreeEvent(e, (x) => client.format(x)))
 */
import type { TreeNodeRef, TreePolicy } from "../protocol/index.ts";
import type { ChildEvent } from "./tree-children.ts";
import type { FundingEvent } from "./tree-funding.ts";

/** What happened in the tree, for the agent's timeline. */
export type TreeEvent =
  | { type: "attached"; parent: TreeNodeRef; origin: TreeNodeRef }
  | { type: "reattached"; from?: bigint; parent: TreeNodeRef; reason: string }
  | { type: "report-failed"; parent: bigint; misses: number; error: string }
  | { type: "reattach-failed"; tried: bigint[]; error: string }
  | ChildEvent
  | FundingEvent
  | { type: "policy"; policy: TreePolicy }
  | { type: "left"; newParent?: bigint }
  | { type: "refounded"; from: bigint; why: string };

/** One sentence for people per tree event; `format` writes token amounts. */
export function describeTreeEvent(e: TreeEvent, format: (units: bigint) => string): string {
  switch (e.type) {
    case "attached":
      return `attached to parent ${e.parent.account} (origin ${e.origin.account})`;
    case "reattached":
      return `re-attached to ${e.parent.account}${e.from !== undefined ? ` (was ${e.from})` : ""}: ${e.reason}`;
    case "report-failed":
      return `report to parent ${e.parent} failed (${e.misses} in a row): ${e.error}`;
    case "reattach-failed":
      return `could not re-attach (tried ${e.tried.join(", ")}): ${e.error}`;
    case "child-joined":
      return `child ${e.account} joined`;
    case "child-left":
      return `child ${e.account} left (${e.reason})`;
    case "funding-requested":
      return `asked the parent for ${format(e.amount)}, granted ${format(e.granted)}: ${e.note}`;
    case "funding-granted":
      return `allocated ${format(e.amount)} to child ${e.child}`;
    case "funding-reclaimed":
      return `took ${format(e.amount)} back from child ${e.from} (beyond its next slot) for a sibling`;
    case "funding-denied":
      return `could not fund child ${e.child} with ${format(e.amount)}: ${e.note}`;
    case "funding-escalated":
      return `asked the owner on chain for ${format(e.amount)}`;
    case "policy":
      return `policy v${e.policy.version} in force (w=${e.policy.weightBps / 100} %)`;
    case "left":
      return `left the tree${e.newParent !== undefined ? `; children re-parent to ${e.newParent}` : ""}`;
    case "refounded":
      return `took the role of the lost origin ${e.from} (this ICON is the tree's root now): ${e.why}`;
  }
}
