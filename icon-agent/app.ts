/**
 * The app owner's side: deploy an application (fund its budget, publish the policy, give the origin ICON a key
 * of its own — it holds no ETH: yards relay its calls) and read its state back from the chain (the tree of accounts, placements, spend).
 *
 * @example
 *   const { root, dir } = await deployApp({ owner, env, policy, deposit: owner.parse("20"), dir: "./app" });
 *   const agent = await Agent.open(dir, { spawn });   // or: icon agent run --state ./app
 *   console.log(formatStatus(owner, await appStatus(owner, root)));
 */
import { Wallet } from "ethers";
import { ConfigError, appNamespace, appServiceName, type MarketClient, type Policy } from "../protocol/index.ts";
import { readFundingRequests, stillOpen, type FundingRequest } from "../protocol/chain/funding.ts";
import { leaseCost, leaseEscrowed } from "../protocol/chain/lease-cost.ts";
import type { AgentEnv } from "./config.ts";
import { readAgentState, writeAgentState } from "./state.ts";

export interface DeployAppOptions {
  /** The owner's client (with its key). */
  owner: MarketClient;
  env: AgentEnv;
  policy: Policy;
  deposit: bigint;
  /** State directory of the origin ICON (its key is written there with mode 0600). */
  dir: string;
}

/**
 * The service key of the application rooted at `root` for the config's `service.name` (`app.service.servicens`,
 * see config.ts): `app.r<root>.service.servicens`, the application's namespace filled in.
 */
export function serviceKeyFor(name: string, root: bigint): string {
  const [app, service, servicens] = name.split(".") as [string, string, string];
  return appServiceName({ app, service, servicens }, root);
}

/**
 * Creates and funds the application; writes the origin's state; returns the root account, its namespace label
 * (`r<root>`) and the service key the ICONs deploy (`app.r<root>.service.servicens`, when the config names one).
 */
export async function deployApp(o: DeployAppOptions): Promise<DeployedApp> {
  // The key is on disk before any money moves: a failure below never strands a funded account without its key.
  const key = await writeOrigin(o.env, o.dir);
  const root = await o.owner.createApp(new Wallet(key).address, o.policy, o.deposit);
  return bindOrigin(o.dir, root, { env: o.env, key });
}

/** A deployed application: its root account, the origin's state directory and key address, its namespace label and
 * the service key its ICONs deploy (when the config names one). */
export interface DeployedApp {
  root: bigint;
  dir: string;
  icon: string;
  namespace: string;
  service?: string;
}

/**
 * The origin ICON's key and state in `dir` (key mode 0600), bound to no application yet (account 0): for an
 * application its owner creates elsewhere — from a browser wallet in the owner console — naming the returned address
 * as its controller; {@link adoptApp} binds it then. Nothing is sent.
 */
export async function prepareOrigin(env: AgentEnv, dir: string): Promise<string> {
  return new Wallet(await writeOrigin(env, dir)).address;
}

/** A new origin key and its state in `dir`, bound to no application (account 0); returns the key. */
async function writeOrigin(env: AgentEnv, dir: string): Promise<string> {
  const key = Wallet.createRandom().privateKey;
  await writeAgentState(
    dir,
    env,
    { name: "origin", account: 0n, root: 0n, subnets: [], children: {}, replicas: 0 },
    key,
  );
  return key;
}

/**
 * Binds the origin prepared in `dir` ({@link prepareOrigin}) to application `root`, once the chain shows `root` is an
 * application root, open, whose controller is the origin's key; refused with a sentence otherwise, nothing written.
 * Nothing is sent: the owner created and funded the application.
 */
export async function adoptApp(c: MarketClient, dir: string, root: bigint): Promise<DeployedApp> {
  const { env, seed, key } = await readAgentState(dir);
  const icon = new Wallet(key).address;
  const mine = env.deployment;
  if (mine.chainId !== c.deployment.chainId || mine.market.toLowerCase() !== c.deployment.market.toLowerCase())
    throw new ConfigError(
      "WRONG_CHAIN",
      `${dir} was prepared for the market ${mine.market} on chain ${mine.chainId}, not ${c.deployment.market} on chain ${c.deployment.chainId}: give the --rpc and --deployment icon app key had, or prepare again for this market`,
    );
  if (seed.root !== 0n)
    throw new ConfigError(
      "STATE_EXISTS",
      seed.root === root
        ? `${dir} is the origin of application ${root} already; run it with icon agent run --state ${dir}`
        : `${dir} holds the origin of application ${seed.root}, not ${root}; prepare another with icon app key`,
    );
  const a = await c.account(root);
  if (a.root !== root)
    throw new ConfigError("NOT_ROOT", `account ${root} is not an application root (its root is ${a.root})`);
  if (a.closed) throw new ConfigError("APP_CLOSED", `application ${root} is closed (wound down)`);
  if (a.controller.toLowerCase() !== icon.toLowerCase())
    throw new ConfigError(
      "NOT_CONTROLLER",
      `application ${root}'s controller is ${a.controller}, not this origin's key ${icon}: create the application with controller ${icon}, or take its key back and hand it over (setController)`,
    );
  return bindOrigin(dir, root, { env, key });
}

/** Writes the origin's state in `dir`, prepared as `prepared`, as application `root`'s (the service key's namespace
 * filled in). */
async function bindOrigin(
  dir: string,
  root: bigint,
  { env: prepared, key }: { env: AgentEnv; key: string },
): Promise<DeployedApp> {
  // The namespace comes from the root account, known only now: the ICONs deploy the full service key.
  const service = prepared.spec.service === undefined ? undefined : serviceKeyFor(prepared.spec.service, root);
  const env = service === undefined ? prepared : { ...prepared, spec: { ...prepared.spec, service } };
  await writeAgentState(dir, env, { name: "origin", account: root, root, subnets: [], children: {}, replicas: 0 }, key);
  const icon = new Wallet(key).address;
  return { root, dir, icon, namespace: appNamespace(root), ...(service ? { service } : {}) };
}

export interface LeaseView {
  id: bigint;
  state: string;
  provider: string;
  pricePerSecond: bigint;
  start: bigint;
  end: bigint;
  stoppedAt: bigint;
  /** Paid or owed to the provider for the time it ran (price × (effective end − start), up to now). */
  cost: bigint;
}

export interface AppStatus {
  root: bigint;
  owner: string;
  policy: Policy;
  policyVersion: number;
  accounts: { id: bigint; parent: bigint; controller: string; balance: bigint; closed: boolean; leases: LeaseView[] }[];
  /** Σ cost of every lease of the application, and the relay fees. */
  spent: bigint;
  /** Σ fees the application's accounts paid yards for relaying their ICONs' intents (part of `spent`). */
  relayFees: bigint;
  /** Σ account balances. */
  held: bigint;
  /** Deposit still in escrow for time not yet run. */
  escrowed: bigint;
  /** The application's requests for money to the owner or a parent (FundingRequested), oldest first. */
  fundingRequests: FundingRequest[];
}

export { stillOpen, type FundingRequest };

/** The application's funding requests, oldest first, each with what the top-ups since answered of it (the rule is
 * protocol/chain/funding.ts's, the owner console's too). */
export async function fundingRequests(c: MarketClient, root: bigint): Promise<FundingRequest[]> {
  const provider = c.market.runner!.provider!;
  return readFundingRequests(c.market, root, {
    fromBlock: c.deployment.blockNumber,
    window: c.logWindow,
    blockTime: async (b) => BigInt((await provider.getBlock(b))!.timestamp),
  });
}

/** Reads the application's tree, leases and money from the chain at time `nowS` (chain time). */
export async function appStatus(c: MarketClient, root: bigint, nowS?: bigint): Promise<AppStatus> {
  const app = await c.app(root);
  const now = nowS ?? BigInt((await c.market.runner!.provider!.getBlock("latest"))!.timestamp);
  const accounts: AppStatus["accounts"] = [];
  let spent = 0n;
  let held = 0n;
  let escrowed = 0n;
  let relayFees = 0n;
  for (const a of await c.appAccounts(root)) {
    relayFees += await c.relayFeesOf(a.id);
    const leases: LeaseView[] = [];
    for (const id of await c.leasesOf(a.id)) {
      const l = await c.lease(id);
      // protocol/chain/lease-cost.ts: a missed start or a cancelled lease costs nothing.
      const cost = leaseCost(l, now);
      spent += cost;
      escrowed += leaseEscrowed(l, now);
      leases.push({
        id,
        state: l.state,
        provider: l.provider,
        pricePerSecond: l.pricePerSecond,
        start: l.start,
        end: l.end,
        stoppedAt: l.stoppedAt,
        cost,
      });
    }
    held += a.balance;
    accounts.push({
      id: a.id,
      parent: a.parent,
      controller: a.controller,
      balance: a.balance,
      closed: a.closed,
      leases,
    });
  }
  spent += relayFees;
  const requests = await fundingRequests(c, root);
  return {
    root,
    owner: app.owner,
    policy: app.policy,
    policyVersion: app.version,
    accounts,
    spent,
    relayFees,
    held,
    escrowed,
    fundingRequests: requests,
  };
}

/** The status as lines for people (amounts with the token's decimals). */
export function formatStatus(c: MarketClient, s: AppStatus): string[] {
  const f = (v: bigint): string => c.format(v);
  const p = s.policy;
  const lines = [
    `application ${s.root} (owner ${s.owner}), policy v${s.policyVersion}: w=${p.weightBps / 100} %, migrate ${p.migrateThresholdBps / 100} %, replicate ${p.replicateThresholdBps / 100} %, terminate ${p.terminateThresholdBps / 100} %, max ${f(p.maxPricePerSecond)}/s, relay fee ≤ ${f(p.maxRelayFee)} (≤ ${f(p.relayAllowancePerDay)}/day)`,
    `money: ${f(s.held)} in accounts, ${f(s.escrowed)} in escrow, ${f(s.spent)} spent (${f(s.relayFees)} of it on relayed intents)`,
  ];
  const depth = new Map<bigint, number>();
  for (const a of s.accounts) {
    const d = a.parent === 0n ? 0 : (depth.get(a.parent) ?? 0) + 1;
    depth.set(a.id, d);
    const live = a.leases.filter((l) => l.state === "Running" || l.state === "Scheduled");
    lines.push(
      `${"  ".repeat(d + 1)}account ${a.id}${a.closed ? " (closed)" : ""} ICON ${a.controller.slice(0, 10)}… balance ${f(a.balance)}; ` +
        (live.length > 0
          ? live
              .map(
                (l) =>
                  `lease ${l.id} ${l.state} at ${l.provider.slice(0, 10)}… ${f(l.pricePerSecond)}/s until ${l.end}`,
              )
              .join(", ")
          : "no live lease") +
        `; ${a.leases.length} lease(s), cost ${f(a.leases.reduce((x, l) => x + l.cost, 0n))}`,
    );
  }
  const pending = s.fundingRequests.filter(stillOpen);
  const partly = pending.filter((r) => r.answered > 0n).length;
  lines.push(
    `funding requests: ${s.fundingRequests.length}, ${pending.length} pending${partly > 0 ? ` (${partly} of them partly answered)` : ""} (no standing top-up rule: the owner answers by funding the account)`,
  );
  for (const r of s.fundingRequests)
    lines.push(
      `  account ${r.account} asked ${r.parent === 0n ? "the owner" : `account ${r.parent}`} for ${f(r.amount)} at ${new Date(Number(r.atS) * 1000).toISOString()} (block ${r.block}): ` +
        (r.answered === 0n
          ? "pending"
          : r.answered < r.amount
            ? `partly answered: ${f(r.answered)} of ${f(r.amount)} came since`
            : "answered"),
    );
  return lines;
}
