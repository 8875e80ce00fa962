/**
 * `icon budget …`: an application's tree of budget accounts on chain — create it, fund it, open child accounts,
 * move money down and back up, take it out, publish the policy, show it. Also the policy options (weights and
 * thresholds as shares 0..1, the price cap and relay-fee caps as amounts) that `icon app` shares.
 */
import type { MarketClient } from "../../protocol/chain/client.ts";
import { ConfigError } from "../../protocol/errors.ts";
import {
  DEFAULT_POLICY_BPS,
  DEFAULT_RELAY_CAPS,
  describePolicy as describePolicyIn,
} from "../../protocol/chain/policy.ts";
import type { Policy } from "../../protocol/index.ts";
import { addressArg, client, idArg, need, out } from "./context.ts";
import { command, opt, type Command, type Options } from "./options.ts";

/** Options that set an application's policy (`budget create`, `budget policy`, `app deploy`, `app policy`). */
export const POLICY_OPTIONS = {
  weight: opt.share("--weight"),
  "migrate-threshold": opt.share("--migrate-threshold"),
  "replicate-threshold": opt.share("--replicate-threshold"),
  "terminate-threshold": opt.share("--terminate-threshold"),
  "max-price": opt.string(),
  "max-relay-fee": opt.string(),
  "relay-allowance-per-day": opt.string(),
};

export { DEFAULT_RELAY_CAPS };

/** The policy the options give; fields not given keep `base`'s value (or the defaults). */
export function policyFromOptions(o: Options<typeof POLICY_OPTIONS>, c: MarketClient, base?: Policy): Policy {
  const maxPrice = o["max-price"];
  return {
    weightBps: o.weight ?? base?.weightBps ?? DEFAULT_POLICY_BPS.weightBps,
    migrateThresholdBps: o["migrate-threshold"] ?? base?.migrateThresholdBps ?? DEFAULT_POLICY_BPS.migrateThresholdBps,
    replicateThresholdBps:
      o["replicate-threshold"] ?? base?.replicateThresholdBps ?? DEFAULT_POLICY_BPS.replicateThresholdBps,
    terminateThresholdBps:
      o["terminate-threshold"] ?? base?.terminateThresholdBps ?? DEFAULT_POLICY_BPS.terminateThresholdBps,
    maxPricePerSecond: maxPrice !== undefined ? c.parse(maxPrice, "--max-price") : (base?.maxPricePerSecond ?? 0n),
    maxRelayFee: c.parse(
      o["max-relay-fee"] ?? (base ? c.format(base.maxRelayFee) : DEFAULT_RELAY_CAPS.maxRelayFee),
      "--max-relay-fee",
    ),
    relayAllowancePerDay: c.parse(
      o["relay-allowance-per-day"] ??
        (base ? c.format(base.relayAllowancePerDay) : DEFAULT_RELAY_CAPS.relayAllowancePerDay),
      "--relay-allowance-per-day",
    ),
  };
}

/** One line describing `policy` for people, amounts with the token's decimals (protocol/chain/policy.ts). */
export function describePolicy(policy: Policy, c: MarketClient): string {
  return describePolicyIn(policy, (v) => c.format(v));
}

/** Publishes the root's policy with the options' changes (unchanged fields keep their values); returns the new one. */
export async function publishPolicy(
  c: MarketClient,
  root: bigint,
  o: Options<typeof POLICY_OPTIONS>,
): Promise<{ policy: Policy; version: number }> {
  const policy = policyFromOptions(o, c, (await c.app(root)).policy);
  await c.setPolicy(root, policy);
  return { policy, version: (await c.app(root)).version };
}

export const budgetCommands: Record<string, Command> = {
  "budget create": command({
    usage:
      "budget create --controller <address> --deposit <amount> [--weight 0..1] [--migrate-threshold 0..1] [--replicate-threshold 0..1] [--terminate-threshold 0..1] [--max-price <amount/s>] [--max-relay-fee <amount>] [--relay-allowance-per-day <amount>] [--no-permit]",
    summary:
      "create an application budget funded from your wallet (one transaction with an ERC-2612 permit when the token takes one, else approve first; --no-permit forces approve)",
    options: {
      controller: opt.address("--controller (the origin ICON's key address)"),
      deposit: opt.string(),
      "no-permit": opt.flag(),
      ...POLICY_OPTIONS,
    },
    async run(ctx, o) {
      const c = await client(ctx, true);
      const controller = o.controller ?? (await addressArg("", "--controller (the origin ICON's key address)"));
      const deposit = c.parse(o.deposit ?? "0", "--deposit");
      const root = await c.createApp(controller, policyFromOptions(o, c), deposit, !o["no-permit"]);
      out(`application ${root} created with ${c.format(deposit)}`);
    },
  }),
  "budget fund": command({
    usage: "budget fund <account> <amount>",
    summary: "deposit from your wallet into a budget account (a permit when the token takes one, else approve first)",
    async run(ctx) {
      const c = await client(ctx, true);
      const id = idArg(need(ctx, 0, "account", this.usage), "account");
      const amount = c.parse(need(ctx, 1, "amount", this.usage));
      await c.fund(id, amount);
      out(`account ${id} funded with ${c.format(amount)}`);
    },
  }),
  "budget account": command({
    usage: "budget account <parent> <controller>",
    summary: "create a child account controlled by an ICON key",
    async run(ctx) {
      const c = await client(ctx, true);
      const parent = idArg(need(ctx, 0, "parent", this.usage), "parent");
      const controller = await addressArg(need(ctx, 1, "controller", this.usage), "<controller>");
      out(`account ${await c.createAccount(parent, controller)} created under ${parent}`);
    },
  }),
  "budget allocate": command({
    usage: "budget allocate <parent> <child> <amount>",
    summary: "move money from a parent account to its child",
    async run(ctx) {
      const c = await client(ctx, true);
      const parent = idArg(need(ctx, 0, "parent", this.usage), "parent");
      const child = idArg(need(ctx, 1, "child", this.usage), "child");
      const amount = c.parse(need(ctx, 2, "amount", this.usage));
      await c.allocate(parent, child, amount);
      out(`allocated ${c.format(amount)} from ${parent} to ${child}`);
    },
  }),
  "budget return": command({
    usage: "budget return <child> <amount>",
    summary: "hand money from a child account back to its parent",
    async run(ctx) {
      const c = await client(ctx, true);
      const child = idArg(need(ctx, 0, "child", this.usage), "child");
      const amount = c.parse(need(ctx, 1, "amount", this.usage));
      await c.returnToParent(child, amount);
      out(`returned ${c.format(amount)} from ${child} to its parent`);
    },
  }),
  "budget withdraw": command({
    usage: "budget withdraw <root> <amount> [--to <address>]",
    summary: "owner: take money out of the tree (from the root account)",
    options: { to: opt.address("--to") },
    async run(ctx, o) {
      const c = await client(ctx, true);
      const root = idArg(need(ctx, 0, "root", this.usage), "root");
      const amount = c.parse(need(ctx, 1, "amount", this.usage));
      const to = o.to ?? (await c.address());
      await c.withdrawFromRoot(root, amount, to);
      out(`withdrew ${c.format(amount)} from application ${root} to ${to}`);
    },
  }),
  "budget policy": command({
    usage:
      "budget policy <root> [--weight 0..1] [--migrate-threshold 0..1] [--replicate-threshold 0..1] [--terminate-threshold 0..1] [--max-price <amount/s>] [--max-relay-fee <amount>] [--relay-allowance-per-day <amount>]",
    summary: "owner: publish a new policy (unchanged fields keep their values)",
    options: { ...POLICY_OPTIONS },
    async run(ctx, o) {
      const c = await client(ctx, true);
      const root = idArg(need(ctx, 0, "root", this.usage), "root");
      await publishPolicy(c, root, o);
      out(`policy of application ${root} updated`);
    },
  }),
  "budget show": command({
    usage: "budget show <root>",
    summary: "show an application's tree of accounts, balances and policy",
    async run(ctx) {
      const c = await client(ctx, false);
      const root = idArg(need(ctx, 0, "root", this.usage), "root");
      const a = await c.account(root);
      if (a.root !== root)
        throw new ConfigError("NOT_ROOT", `account ${root} is not an application root (its root is ${a.root})`);
      const { owner, policy, version } = await c.app(root);
      out(`application ${root}  owner ${owner}`);
      out(`policy v${version}: ${describePolicy(policy, c)}`);
      for (const acc of await c.appAccounts(root)) {
        out(
          `${"  ".repeat(acc.depth)}#${acc.id} ${c.format(acc.balance)}  controller ${acc.controller}${acc.closed ? "  (closed)" : ""}`,
        );
      }
    },
  }),
};
