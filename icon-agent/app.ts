/**
 * The app owner's side: deploy an application (fund its budget, publish the policy, give the origin ICON a key
 * of its own — it holds no ETH: yards relay its calls) and read its state back from the chain (the tree of accounts, placements, spend).
 *
 * @example
 *   const { root, dir } = await deployApp({ owner, env, policy, deposit: owner.parse("20"), dir: "./app" });
 *   const agent = await Agent.open(dir, { spawn });   // or: icon agent run --state ./app
 *   console.log(formatStatus(owner, await appStatus(owner, root)));
 */
import { Wallet, type ContractEventName } from "ethers";
import { appNamespace, appServiceName, contractLogs, type MarketClient, type Policy } from "../protocol/index.ts";
import type { AgentEnv } from "./config.ts";
import { writeAgentState } from "./state.ts";

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
export async function deployApp(
  o: DeployAppOptions,
): Promise<{ root: bigint; dir: string; icon: string; namespace: string; service?: string }> {
  const key = Wallet.createRandom();
  // The key is on disk before any money moves: a failure below never strands a funded account without its key.
  await writeAgentState(
    o.dir,
    o.env,
    { name: "origin", account: 0n, root: 0n, subnets: [], children: {}, replicas: 0 },
    key.privateKey,
  );
  const root = await o.owner.createApp(key.address, o.policy, o.deposit);
  // The namespace comes from the root account, known only now: the ICONs deploy the full service key.
  const service = o.env.spec.service === undefined ? undefined : serviceKeyFor(o.env.spec.service, root);
  const env = service === undefined ? o.env : { ...o.env, spec: { ...o.env.spec, service } };
  await writeAgentState(
    o.dir,
    env,
    { name: "origin", account: root, root, subnets: [], children: {}, replicas: 0 },
    key.privateKey,
  );
  return { root, dir: o.dir, icon: key.address, namespace: appNamespace(root), ...(service ? { service } : {}) };
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

/** A FundingRequested event of the application and how much of it money that came to the account since answered. */
export interface FundingRequest {
  /** The account that asked, and the one it asked (0: the owner). */
  account: bigint;
  parent: bigint;
  amount: bigint;
  block: number;
  /** Chain time of the request (seconds). */
  atS: bigint;
  /**
   * What of `amount` the top-ups that reached the account after it (the owner's `fund`, the parent's `allocate`)
   * answered, at most `amount`: each top-up answers the account's open requests oldest first. 0 while pending;
   * between 0 and `amount`: partly answered.
   */
  answered: bigint;
}

/** A request the top-ups have not answered in full (pending, or partly answered). */
export const stillOpen = (r: FundingRequest): boolean => r.answered < r.amount;

type Log = { blockNumber: number; index: number; args: unknown[] };

/**
 * The application's funding requests (the FundingRequested events of `root`), oldest first. Each Funded or
 * Allocated to an account answers that account's requests open at the time, oldest first, up to each one's
 * amount (a top-up smaller than a request answers it partly; what is beyond every open request answers no later
 * one). No standing top-up rule exists on chain, so a request the owner has not answered by hand stays pending.
 */
export async function fundingRequests(c: MarketClient, root: bigint): Promise<FundingRequest[]> {
  const f = c.market.filters;
  const logs = async (filter: ContractEventName, fromBlock: number): Promise<Log[]> =>
    (await contractLogs(c.market, filter, { fromBlock, window: c.logWindow })) as unknown as Log[];
  const asked = await logs(f.FundingRequested!(root), c.deployment.blockNumber);
  const order = (a: Log, b: Log): number => a.blockNumber - b.blockNumber || a.index - b.index;
  const out: FundingRequest[] = [];
  for (const r of [...asked].sort(order)) {
    const block = await c.market.runner!.provider!.getBlock(r.blockNumber);
    out.push({
      account: r.args[1] as bigint,
      parent: r.args[2] as bigint,
      amount: r.args[3] as bigint,
      block: r.blockNumber,
      atS: BigInt(block!.timestamp),
      answered: 0n,
    });
  }
  for (const account of new Set(out.map((r) => r.account))) {
    const mine = asked.filter((r) => r.args[1] === account).sort(order);
    const from = mine[0]!.blockNumber;
    const topUps = [...(await logs(f.Funded!(account), from)), ...(await logs(f.Allocated!(null, account), from))];
    // Requests and top-ups in chain order: a top-up answers only the requests made before it.
    const events = [...mine.map((l) => ({ l, ask: true })), ...topUps.map((l) => ({ l, ask: false }))].sort((a, b) =>
      order(a.l, b.l),
    );
    const requests = out.filter((r) => r.account === account);
    let made = 0;
    for (const e of events) {
      if (e.ask) {
        made++;
        continue;
      }
      let left = e.l.args[2] as bigint;
      for (const r of requests.slice(0, made)) {
        if (left === 0n) break;
        const take = r.amount - r.answered < left ? r.amount - r.answered : left;
        r.answered += take;
        left -= take;
      }
    }
  }
  return out;
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
      const end = l.stoppedAt > 0n ? l.stoppedAt : l.end;
      const ranTo = end < now ? end : now;
      // A lease whose start the yard missed owes it nothing: its whole deposit waits to be cancelled back.
      const cost = ranTo > l.start && l.state !== "StartMissed" ? l.pricePerSecond * (ranTo - l.start) : 0n;
      if (l.state !== "Cancelled") {
        spent += cost;
        escrowed += l.pricePerSecond * (end - l.start) - cost;
      }
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
