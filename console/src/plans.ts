/**
 * What each owner action asks of the wallet, step by step, in words the owner reads before the wallet is asked
 * (a permit signature, an approval, the market call) — the same calls `icon budget …` / `icon app …` make for an
 * owner (scripts/cli/budget.ts, protocol/chain/client.ts), with the token's permit when it takes one.
 */
import { Contract, type JsonRpcSigner, type TransactionReceipt } from "ethers";
import { iconMarketAbi, testTokenAbi } from "../../protocol/chain/abi.generated.ts";
import { permitDeadline, signPermit } from "../../protocol/chain/permit.ts";
import { describePolicy } from "../../protocol/chain/policy.ts";
import type { Policy } from "../../protocol/chain/types.ts";
import type { AccountView, AppView, ConsoleChain } from "./chain.ts";

/** One request to the wallet. */
export interface Step {
  kind: "signature" | "transaction";
  /** What will be signed or sent, for people, shown before the wallet is asked. */
  words: string;
  /** The CLI's name of the action, for the sentence of a refusal ("creating the application refused: …"). */
  action: string;
  /** Asks the wallet; `sent` is told a transaction's hash once the wallet sent it. A string: why nothing was asked. */
  run(sent: (hash: string) => void): Promise<TransactionReceipt | string | void>;
}

/** An owner action: its steps, and the sentence that says what it did (the CLI's line) once they all confirmed. */
export interface Plan {
  title: string;
  steps: Step[];
  done(): string;
}

/** What a plan needs: the chain (reads), the wallet's signer and the owner's address. */
export interface PlanCtx {
  chain: ConsoleChain;
  signer: JsonRpcSigner;
  owner: string;
}

function send(
  x: PlanCtx,
  words: string,
  action: string,
  target: "market" | "token",
  fn: string,
  args: () => unknown[],
): Step {
  return {
    kind: "transaction",
    words,
    action,
    async run(sent) {
      const d = x.chain.deployment;
      const c = new Contract(
        target === "market" ? d.market : d.token,
        target === "market" ? iconMarketAbi : testTokenAbi,
        x.signer,
      );
      const tx = await c.getFunction(fn).send(...args());
      sent(tx.hash);
      const r = await tx.wait();
      return r ?? undefined;
    },
  };
}

/** The steps that let the market take `amount` from the owner's wallet, then `call` with what they gave. */
async function payingSteps(
  x: PlanCtx,
  amount: bigint,
  what: string,
  plain: (permit: null) => Step,
  withPermit: (permit: () => { deadline: bigint; v: number; r: string; s: string }) => Step,
): Promise<Step[]> {
  const { chain } = x;
  const d = chain.deployment;
  if (amount > 0n && chain.permit) {
    const permit = chain.permit;
    let sig: { deadline: bigint; v: number; r: string; s: string } | undefined;
    // The CLI's deadline (protocol/chain/permit.ts): an hour after the chain's time or this machine's, the later.
    const deadline = await permitDeadline(chain.provider);
    const until = new Date(Number(deadline) * 1000).toISOString().slice(11, 16);
    const sign: Step = {
      kind: "signature",
      words: `Sign a permit (a signature: no transaction, no gas): it lets the market contract ${d.market} take ${chain.format(amount)} from your wallet ${x.owner} for ${what}, until ${until} UTC. Nothing moves until the next step.`,
      action: "signing the permit",
      async run() {
        const nonce = await chain.permitNonce(x.owner);
        const s = await signPermit(x.signer, permit, {
          owner: x.owner,
          spender: d.market,
          value: amount,
          nonce,
          deadline,
        });
        sig = { deadline, v: s.v, r: s.r, s: s.s };
      },
    };
    return [sign, withPermit(() => sig!)];
  }
  const steps: Step[] = [];
  if (amount > 0n && (await chain.allowance(x.owner, d.market)) < amount)
    steps.push(
      send(
        x,
        `Send a transaction to the token ${d.token}: approve the market contract ${d.market} to take ${chain.format(amount)} from your wallet ${x.owner} (for ${what}).`,
        `approving ${chain.format(amount)}`,
        "token",
        "approve",
        () => [d.market, amount],
      ),
    );
  return [...steps, plain(null)];
}

/** `icon budget create`: a new application with its origin ICON's key, policy and deposit. */
export async function createAppPlan(
  x: PlanCtx,
  o: { controller: string; policy: Policy; deposit: bigint },
): Promise<Plan> {
  const { chain } = x;
  let root: bigint | undefined;
  const parseRoot = (r: TransactionReceipt | string | void): void => {
    root = createdId(chain, r, "AppCreated") ?? root;
  };
  const words = `Send a transaction to the market ${chain.deployment.market}: create an application owned by you (${x.owner}) whose origin ICON acts with the key ${o.controller}, with the policy ${describePolicy(o.policy, (v) => chain.format(v))}, moving ${chain.format(o.deposit)} from your wallet into its root account.`;
  const action = "creating the application";
  const withReceipt = (s: Step): Step => ({
    ...s,
    run: async (sent) => {
      const r = await s.run(sent);
      parseRoot(r);
      return r;
    },
  });
  const steps = await payingSteps(
    x,
    o.deposit,
    "the new application's deposit",
    () => withReceipt(send(x, words, action, "market", "createApp", () => [o.controller, o.policy, o.deposit])),
    (p) =>
      withReceipt(
        send(x, words, action, "market", "createAppWithPermit", () => {
          const s = p();
          return [o.controller, o.policy, o.deposit, s.deadline, s.v, s.r, s.s];
        }),
      ),
  );
  return {
    title: "Create an application",
    steps,
    done: () => `application ${root ?? "?"} created with ${chain.format(o.deposit)}`,
  };
}

/** `icon budget fund`: money from the owner's wallet into `account` (a top-up, or the answer to a funding request). */
export async function fundPlan(x: PlanCtx, account: bigint, amount: bigint, why: string): Promise<Plan> {
  const { chain } = x;
  const words = `Send a transaction to the market ${chain.deployment.market}: move ${chain.format(amount)} from your wallet ${x.owner} into budget account ${account} (${why}).`;
  const action = `funding account ${account} with ${chain.format(amount)}`;
  const steps = await payingSteps(
    x,
    amount,
    `account ${account}`,
    () => send(x, words, action, "market", "fund", () => [account, amount]),
    (p) =>
      send(x, words, action, "market", "fundWithPermit", () => {
        const s = p();
        return [account, amount, s.deadline, s.v, s.r, s.s];
      }),
  );
  return {
    title: `Fund account ${account}`,
    steps,
    done: () => `account ${account} funded with ${chain.format(amount)}`,
  };
}

/** `icon app policy` / `icon budget policy`: a new policy, which running ICONs pick up through the tree. */
export function policyPlan(x: PlanCtx, app: AppView, policy: Policy): Plan {
  const { chain } = x;
  const text = describePolicy(policy, (v) => chain.format(v));
  return {
    title: `Change the policy of application ${app.root}`,
    steps: [
      send(
        x,
        `Send a transaction to the market ${chain.deployment.market}: publish policy v${app.version + 1} of application ${app.root}: ${text}. Running ICONs pick it up through the tree.`,
        `publishing the policy of application ${app.root}`,
        "market",
        "setPolicy",
        () => [app.root, policy],
      ),
    ],
    done: () => `application ${app.root}: policy v${app.version + 1} published: ${text}`,
  };
}

/** `icon budget withdraw`: `amount` out of the root account to `to`. */
export function withdrawPlan(x: PlanCtx, root: bigint, amount: bigint, to: string): Plan {
  const { chain } = x;
  return {
    title: `Withdraw from application ${root}`,
    steps: [
      send(
        x,
        `Send a transaction to the market ${chain.deployment.market}: take ${chain.format(amount)} out of application ${root}'s root account and pay it to ${to}.`,
        `withdrawing ${chain.format(amount)} from application ${root}`,
        "market",
        "withdraw",
        () => [root, amount, to],
      ),
    ],
    done: () => `withdrew ${chain.format(amount)} from application ${root} to ${to}`,
  };
}

/** Lease states whose deposit is still out of its account (a wind-down ends or cancels them). */
const LIVE: readonly string[] = ["Running", "Scheduled", "StartMissed"];

/** A closed account hands up everything it holds when the step runs (`returnToParent`); nothing is sent for 0. */
function returnAllStep(x: PlanCtx, a: AccountView): Step {
  const { chain } = x;
  const action = `returning from account ${a.id}`;
  return {
    kind: "transaction",
    words: `Send a transaction to the market ${chain.deployment.market}: move everything the closed account ${a.id} then holds (now ${chain.format(a.balance)}, plus what the steps above return to it) up to account ${a.parent}; nothing is sent if it then holds nothing.`,
    action,
    async run(sent) {
      const held = (await chain.account(a.id)).balance;
      if (held === 0n) return `Not sent: account ${a.id} holds nothing.`;
      return send(x, "", `returning ${chain.format(held)} from account ${a.id}`, "market", "returnToParent", () => [
        a.id,
        held,
      ]).run(sent);
    },
  };
}

/**
 * Winding an application down, planned from a fresh read of the chain when the owner asks (not the view's copy):
 * the ICONs' keys taken back from the root down (an ICON whose key is gone opens no account or lease under it),
 * every live lease ended (its unused deposit returns to its account), every lease whose start the yard missed
 * cancelled (its whole deposit returns), every open child account closed and every closed one holding money (or
 * about to: a lease of it ended above) emptied to its parent, deepest first (the balance goes up), and
 * what the root then holds withdrawn — skipped when that is nothing (the market refuses a zero withdrawal). Before
 * the withdrawal the chain is read again: money still out (an account or lease that appeared meanwhile) fails the
 * plan with a sentence instead of reporting success.
 */
export async function windDownPlan(x: PlanCtx, root: bigint): Promise<Plan> {
  const { chain, owner } = x;
  const m = chain.deployment.market;
  const app = await chain.app(root);
  const leases = await chain.leases(app.accounts.map((a) => a.id));
  const open = app.accounts.filter((a) => !a.closed);
  const rootDown = [...open].sort((p, q) => p.depth - q.depth || Number(p.id - q.id));
  const steps: Step[] = [];
  for (const a of rootDown)
    if (a.controller.toLowerCase() !== owner.toLowerCase())
      steps.push(
        send(
          x,
          `Send a transaction to the market ${m}: make your address ${owner} the controller of account ${a.id} instead of the ICON key ${a.controller} (no intent of that ICON passes from then on).`,
          `taking back account ${a.id}`,
          "market",
          "setController",
          () => [a.id, owner],
        ),
      );
  for (const l of leases)
    if (l.state === "Running" || l.state === "Scheduled")
      steps.push(
        send(
          x,
          `Send a transaction to the market ${m}: end lease ${l.id} at ${l.yard || l.provider} now; what it has not spent returns to account ${l.account}.`,
          `terminating lease ${l.id}`,
          "market",
          "terminate",
          () => [l.id],
        ),
      );
    else if (l.state === "StartMissed")
      steps.push(
        send(
          x,
          `Send a transaction to the market ${m}: cancel lease ${l.id} at ${l.yard || l.provider}, whose start the yard missed; its whole deposit returns to account ${l.account}.`,
          `cancelling lease ${l.id}`,
          "market",
          "cancelMissedStart",
          () => [l.id],
        ),
      );
  // A closed account still takes money (a lease's refund, a missed start's deposit and penalty, a slash penalty of a
  // lease of it): every closed account that holds some, has a lease this plan ends, or lies above one that does, hands
  // up what it then holds — read when its step runs, for the steps before it may have credited it.
  const byId = new Map(app.accounts.map((a) => [a.id, a]));
  const handsUp = new Set<bigint>();
  for (const a of app.accounts)
    if (a.balance > 0n || leases.some((l) => l.account === a.id && LIVE.includes(l.state)))
      for (let c = byId.get(a.id); c && c.id !== app.root; c = byId.get(c.parent)) if (c.closed) handsUp.add(c.id);
  const up = app.accounts.filter((a) => a.id !== app.root && (!a.closed || handsUp.has(a.id)));
  for (const a of up.sort((p, q) => q.depth - p.depth || Number(q.id - p.id)))
    steps.push(
      !a.closed
        ? send(
            x,
            `Send a transaction to the market ${m}: close account ${a.id}; its balance goes up to account ${a.parent}.`,
            `closing account ${a.id}`,
            "market",
            "closeAccount",
            () => [a.id],
          )
        : returnAllStep(x, a),
    );
  let rest = 0n;
  const action = `withdrawing from application ${app.root}`;
  steps.push({
    kind: "transaction",
    words: `Send a transaction to the market ${m}: take everything the root account ${app.root} then holds (now ${chain.format(app.accounts[0]!.balance)}, plus what the steps above return) out of the application and pay it to your wallet ${owner}; nothing is sent if it then holds nothing.`,
    action,
    async run(sent) {
      const now = await chain.app(app.root);
      const still = await chain.leases(now.accounts.map((a) => a.id));
      const out = [
        ...now.accounts.filter((a) => a.id !== app.root && !a.closed).map((a) => `account ${a.id} is open`),
        ...now.accounts
          .filter((a) => a.id !== app.root && a.closed && a.balance > 0n)
          .map((a) => `closed account ${a.id} holds ${chain.format(a.balance)}`),
        ...still.filter((l) => LIVE.includes(l.state)).map((l) => `lease ${l.id} is ${l.state}`),
      ];
      if (out.length > 0)
        throw new Error(
          `application ${app.root} changed while it was wound down (${out.join(", ")}): wind it down again to bring that money back`,
        );
      rest = now.accounts[0]!.balance;
      if (rest === 0n) return "Not sent: the root account holds nothing.";
      return send(x, "", action, "market", "withdraw", () => [app.root, rest, owner]).run(sent);
    },
  });
  return {
    title: `Wind down application ${app.root}`,
    steps,
    done: () =>
      rest === 0n
        ? `application ${app.root} wound down: nothing was left to withdraw`
        : `application ${app.root} wound down: withdrew ${chain.format(rest)} to ${owner}`,
  };
}

/** `icon budget account`: a child account of `parent` whose ICON acts with the key `controller`. */
export function createAccountPlan(x: PlanCtx, parent: bigint, controller: string): Plan {
  const { chain } = x;
  let child: bigint | undefined;
  const step = send(
    x,
    `Send a transaction to the market ${chain.deployment.market}: open a new budget account under account ${parent}, controlled by the key ${controller} (the ICON acting with that key may then spend what it is given). It starts with nothing: allocate to it afterwards.`,
    `creating a child of account ${parent}`,
    "market",
    "createAccount",
    () => [parent, controller],
  );
  return {
    title: `Open an account under account ${parent}`,
    steps: [
      {
        ...step,
        async run(sent) {
          const r = await step.run(sent);
          child = createdId(chain, r, "AccountCreated") ?? child;
          return r;
        },
      },
    ],
    done: () => `account ${child ?? "?"} created under ${parent}`,
  };
}

/** `icon budget allocate`: `amount` from `parent` down to its child `child`. */
export function allocatePlan(x: PlanCtx, parent: bigint, child: bigint, amount: bigint): Plan {
  const { chain } = x;
  const fmt = chain.format(amount);
  return {
    title: `Allocate to account ${child}`,
    steps: [
      send(
        x,
        `Send a transaction to the market ${chain.deployment.market}: move ${fmt} from budget account ${parent} down to its child account ${child} (no money leaves the application).`,
        `allocating ${fmt} from account ${parent} to ${child}`,
        "market",
        "allocate",
        () => [parent, child, amount],
      ),
    ],
    done: () => `allocated ${fmt} from ${parent} to ${child}`,
  };
}

/** `icon budget return`: `amount` from `child` back up to its parent `parent`. */
export function returnPlan(x: PlanCtx, child: bigint, parent: bigint, amount: bigint): Plan {
  const { chain } = x;
  const fmt = chain.format(amount);
  return {
    title: `Return from account ${child}`,
    steps: [
      send(
        x,
        `Send a transaction to the market ${chain.deployment.market}: move ${fmt} from budget account ${child} back up to its parent account ${parent} (no money leaves the application).`,
        `returning ${fmt} from account ${child}`,
        "market",
        "returnToParent",
        () => [child, amount],
      ),
    ],
    done: () => `returned ${fmt} from ${child} to its parent`,
  };
}

/** The id the market's `event` (AppCreated, AccountCreated: the id its first argument) names in receipt `r`. */
function createdId(
  chain: ConsoleChain,
  r: TransactionReceipt | string | void,
  event: "AppCreated" | "AccountCreated",
): bigint | undefined {
  let id: bigint | undefined;
  for (const log of typeof r === "object" ? r.logs : []) {
    const p = chain.market.interface.parseLog(log);
    if (p?.name === event) id = BigInt(p.args[0] as bigint);
  }
  return id;
}
