/**
 * Which of an account's forms the page offers to the connected address (accounts.ts): what contracts/BudgetTree.sol
 * lets that address do — createAccount and allocate take the parent's controller or the owner, returnToParent the
 * child's controller, its parent's or the owner; no account opens under a closed one or past the depth bound; a
 * closed account allocates nothing and takes nothing, but still hands up what it holds (a lease of it ended or
 * cancelled after it closed credits it its refund, a yard's penalty). No DOM here: test/mocha/console/accounts-offers.test.ts checks
 * it against the chain's answers.
 */
import type { AccountView, AppView } from "./chain.ts";

/** The same address, whatever the case of its hex digits. */
export const same = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();

/**
 * What the contract lets `me` do on account `a` of `app` (contracts/BudgetTree.sol): per action `true`, or the
 * sentence saying why it is not offered; `allocate` (from its parent) and `return` (to it) only for a child.
 */
export function offersOn(
  app: AppView,
  me: string,
  maxDepth: number,
  a: AccountView,
): { open: true | string; allocate?: true | string; return?: true | string } {
  const owner = same(me, app.owner);
  const open =
    !owner && !same(me, a.controller)
      ? `Opening an account under #${a.id} takes its controller or the owner.`
      : a.closed
        ? `Account #${a.id} is closed: no account opens under it.`
        : a.depth + 1 > maxDepth
          ? `No account opens under #${a.id}: the budget tree may be at most ${maxDepth} levels deep.`
          : true;
  const parent = a.id === app.root ? undefined : app.accounts.find((p) => p.id === a.parent);
  if (!parent) return { open };
  return {
    open,
    allocate:
      !owner && !same(me, parent.controller)
        ? `Allocating from #${parent.id} takes its controller or the owner.`
        : parent.closed
          ? `Account #${parent.id} is closed: it allocates nothing.`
          : a.closed
            ? `Account #${a.id} is closed: it takes no allocation.`
            : true,
    return:
      !owner && !same(me, a.controller) && !same(me, parent.controller)
        ? `Returning from #${a.id} takes its controller, its parent's, or the owner.`
        : true,
  };
}
