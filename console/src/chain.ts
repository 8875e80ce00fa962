/**
 * What the page reads from the chain, straight from the deployment's RPC endpoint (no wallet needed to look):
 * the token, an owner's applications, an application's accounts, leases and funding requests. Logs are read in
 * numeric ranges from the deployment's block (protocol/chain/logs.ts), as every reader of the project does.
 */
import { Contract, JsonRpcProvider, type EventLog, type Log } from "ethers";
import { iconMarketAbi, iepRegistryAbi, testTokenAbi } from "../../protocol/chain/abi.generated.ts";
import type { Deployment } from "../../protocol/chain/deployment-schema.ts";
import { toChainError } from "../../protocol/chain/errors.ts";
import { DEFAULT_LOG_WINDOW, contractLogs } from "../../protocol/chain/logs.ts";
import type { Policy } from "../../protocol/chain/types.ts";
import { formatAmount, parseAmount, type TokenInfo } from "../../protocol/units.ts";

/** Lease lifecycle states, as the contract computes them (protocol/chain/client.ts LEASE_STATES). */
const LEASE_STATES = ["None", "Scheduled", "Running", "StartMissed", "Ended", "Settled", "Cancelled"] as const;

export interface AccountView {
  id: bigint;
  parent: bigint;
  controller: string;
  balance: bigint;
  depth: number;
  closed: boolean;
}

export interface LeaseView {
  id: bigint;
  account: bigint;
  provider: string;
  /** The yard's listed domain (its operator's listing in the registry), or "" when it has none. */
  yard: string;
  pricePerSecond: bigint;
  start: bigint;
  end: bigint;
  stoppedAt: bigint;
  state: (typeof LEASE_STATES)[number];
}

export interface FundingRequest {
  account: bigint;
  amount: bigint;
  block: number;
  /** Whether the account was funded or allocated to after the request (the owner answered it). */
  answered: boolean;
}

export interface AppView {
  root: bigint;
  owner: string;
  policy: Policy;
  version: number;
  accounts: AccountView[];
}

type Row = Record<string, unknown> & unknown[];
const args = (l: EventLog | Log): Row => (l as unknown as { args: Row }).args;

/** The market seen read-only through the deployment's RPC endpoint. */
export class ConsoleChain {
  readonly deployment: Deployment;
  readonly provider: JsonRpcProvider;
  readonly token: Contract;
  readonly market: Contract;
  readonly registry: Contract;
  readonly tokenInfo: TokenInfo;
  /** The token's EIP-712 name and version when it takes ERC-2612 permits, else null (then approve). */
  readonly permit: { name: string; version: string } | null;

  private constructor(d: Deployment, p: JsonRpcProvider, info: TokenInfo, permit: ConsoleChain["permit"]) {
    this.deployment = d;
    this.provider = p;
    this.token = new Contract(d.token, testTokenAbi, p);
    this.market = new Contract(d.market, iconMarketAbi, p);
    this.registry = new Contract(d.registry, iepRegistryAbi, p);
    this.tokenInfo = info;
    this.permit = permit;
  }

  /** Connects to `rpcUrl`, checks it serves the deployment's chain, reads the token's metadata and permit support. */
  static async open(d: Deployment, rpcUrl: string): Promise<ConsoleChain> {
    const p = new JsonRpcProvider(rpcUrl, d.chainId, { staticNetwork: true, cacheTimeout: -1, batchMaxCount: 1 });
    const token = new Contract(d.token, testTokenAbi, p);
    const call = (name: string, ...a: unknown[]): Promise<unknown> => token.getFunction(name).staticCall(...a);
    try {
      const [chainId, symbol, decimals, domain] = await Promise.all([
        p.send("eth_chainId", []),
        call("symbol"),
        call("decimals"),
        // ERC-5267 names the domain a permit is signed in; a token without it (or without nonces) takes no permit.
        Promise.all([call("eip712Domain"), call("nonces", d.market)]).catch(() => null),
      ]);
      if (Number(BigInt(String(chainId))) !== d.chainId)
        throw new Error(`the RPC endpoint serves chain ${BigInt(String(chainId))}, the deployment is for ${d.chainId}`);
      const dom = domain?.[0] as Row | undefined;
      const permit = dom ? { name: String(dom[1]), version: String(dom[2]) } : null;
      return new ConsoleChain(d, p, { symbol: String(symbol), decimals: Number(decimals) }, permit);
    } catch (e) {
      throw toChainError(e, "reading the market's token");
    }
  }

  /** Token units for people ("12.5 iUSD"). */
  format(units: bigint): string {
    return formatAmount(units, this.tokenInfo);
  }

  /** A typed amount in token units, refused (BAD_AMOUNT) as the CLI refuses it. */
  parse(text: string, field: string): bigint {
    return parseAmount(text, this.tokenInfo, field);
  }

  async #read<T>(what: string, c: Contract, fn: string, ...a: unknown[]): Promise<T> {
    try {
      return (await c.getFunction(fn).staticCall(...a)) as T;
    } catch (e) {
      throw toChainError(e, what, this.tokenInfo);
    }
  }

  async #logs(what: string, c: Contract, event: string, ...topics: unknown[]): Promise<Row[]> {
    try {
      const filter = c.filters[event]!(...topics);
      const range = { fromBlock: this.deployment.blockNumber, window: DEFAULT_LOG_WINDOW };
      return (await contractLogs(c, filter, range)).map(args);
    } catch (e) {
      throw toChainError(e, what, this.tokenInfo);
    }
  }

  /** The chain's time (the latest block's timestamp, s). */
  async now(): Promise<bigint> {
    const b = await this.provider.getBlock("latest");
    return BigInt(b?.timestamp ?? Math.floor(Date.now() / 1000));
  }

  /** Token balance of `who`. */
  balanceOf(who: string): Promise<bigint> {
    return this.#read("reading a balance", this.token, "balanceOf", who);
  }

  /** What `owner` allowed `spender` to take. */
  allowance(owner: string, spender: string): Promise<bigint> {
    return this.#read("reading the allowance", this.token, "allowance", owner, spender);
  }

  /** The owner's ERC-2612 nonce (the next permit's). */
  permitNonce(owner: string): Promise<bigint> {
    return this.#read("reading the permit nonce", this.token, "nonces", owner);
  }

  /** Roots of the applications `owner` created (AppCreated events), oldest first. */
  async appsOf(owner: string): Promise<bigint[]> {
    const logs = await this.#logs("listing your applications", this.market, "AppCreated", null, owner);
    return logs.map((a) => BigInt(a[0] as bigint));
  }

  /** Owner, policy and accounts (parents before children) of the application rooted at `root`. */
  async app(root: bigint): Promise<AppView> {
    const [owner, pol, created] = await Promise.all([
      this.#read<string>("reading the owner", this.market, "ownerOf", root),
      this.#read<Row>("reading the policy", this.market, "policyOf", root),
      this.#logs("reading the application's accounts", this.market, "AccountCreated"),
    ]);
    const ids = [root];
    for (const a of created) if (ids.includes(BigInt(a[1] as bigint))) ids.push(BigInt(a[0] as bigint));
    const accounts = await Promise.all(
      ids.map(async (id) => {
        const a = await this.#read<Row>(`reading account ${id}`, this.market, "account", id);
        return {
          id,
          parent: BigInt(a.parent as bigint),
          controller: String(a.controller),
          balance: BigInt(a.balance as bigint),
          depth: Number(a.depth),
          closed: Boolean(a.closed),
        };
      }),
    );
    const p = pol[0] as Row;
    return {
      root,
      owner,
      version: Number(pol[1]),
      accounts,
      policy: {
        weightBps: Number(p.weightBps),
        migrateThresholdBps: Number(p.migrateThresholdBps),
        replicateThresholdBps: Number(p.replicateThresholdBps),
        terminateThresholdBps: Number(p.terminateThresholdBps),
        maxPricePerSecond: BigInt(p.maxPricePerSecond as bigint),
        maxRelayFee: BigInt(p.maxRelayFee as bigint),
        relayAllowancePerDay: BigInt(p.relayAllowancePerDay as bigint),
      },
    };
  }

  /** Every lease paid from one of `accounts` (LeaseOpened events), with its state and its yard's listed domain. */
  async leases(accounts: bigint[]): Promise<LeaseView[]> {
    if (accounts.length === 0) return [];
    const opened = await this.#logs("listing the leases", this.market, "LeaseOpened", null, null, accounts);
    const domains = new Map<string, Promise<string>>();
    const domainOf = (provider: string): Promise<string> => {
      if (!domains.has(provider))
        domains.set(
          provider,
          this.#read<Row>("reading a yard's listing", this.registry, "listing", provider).then(
            (l) => String(l.domain),
            () => "",
          ),
        );
      return domains.get(provider)!;
    };
    return Promise.all(
      opened.map(async (o) => {
        const id = BigInt(o[0] as bigint);
        const [l, s] = await Promise.all([
          this.#read<Row>(`reading lease ${id}`, this.market, "lease", id),
          this.#read<bigint>(`reading lease ${id}`, this.market, "state", id),
        ]);
        return {
          id,
          account: BigInt(l.account as bigint),
          provider: String(l.provider),
          yard: await domainOf(String(l.provider)),
          pricePerSecond: BigInt(l.pricePerSecond as bigint),
          start: BigInt(l.start as bigint),
          end: BigInt(l.end as bigint),
          stoppedAt: BigInt(l.stoppedAt as bigint),
          state: LEASE_STATES[Number(s)] ?? "None",
        };
      }),
    );
  }

  /** The application's funding requests (FundingRequested), each marked answered once its account got money after. */
  async fundingRequests(root: bigint): Promise<FundingRequest[]> {
    const m = this.market;
    const range = { fromBlock: this.deployment.blockNumber, window: DEFAULT_LOG_WINDOW };
    try {
      const asked = await contractLogs(m, m.filters.FundingRequested!(root), range);
      if (asked.length === 0) return [];
      const accounts = [...new Set(asked.map((l) => BigInt(args(l)[1] as bigint)))];
      const [funded, allocated] = await Promise.all([
        contractLogs(m, m.filters.Funded!(accounts), range),
        contractLogs(m, m.filters.Allocated!(null, accounts), range),
      ]);
      const paid = [
        ...funded.map((l) => ({ account: BigInt(args(l)[0] as bigint), block: l.blockNumber })),
        ...allocated.map((l) => ({ account: BigInt(args(l)[1] as bigint), block: l.blockNumber })),
      ];
      return asked.map((l) => {
        const account = BigInt(args(l)[1] as bigint);
        return {
          account,
          amount: BigInt(args(l)[3] as bigint),
          block: l.blockNumber,
          answered: paid.some((p) => p.account === account && p.block > l.blockNumber),
        };
      });
    } catch (e) {
      throw toChainError(e, "reading the funding requests", this.tokenInfo);
    }
  }

  /**
   * The application's money over time, from its creation to `now` (chain time, s): what the owner put in net
   * (Funded into any of its accounts, less Withdrawn from the root) and what its leases have cost (each lease's
   * price × the seconds it ran), at every such event and at 48 even steps between.
   */
  async moneyOverTime(app: AppView, leases: LeaseView[], now: bigint): Promise<MoneyPoint[]> {
    const m = this.market;
    const range = { fromBlock: this.deployment.blockNumber, window: DEFAULT_LOG_WINDOW };
    const ids = app.accounts.map((a) => a.id);
    let moves: Array<{ block: number; delta: bigint }>;
    try {
      const [funded, withdrawn] = await Promise.all([
        contractLogs(m, m.filters.Funded!(ids), range),
        contractLogs(m, m.filters.Withdrawn!(app.root), range),
      ]);
      moves = [
        ...funded.map((l) => ({ block: l.blockNumber, delta: BigInt(args(l)[2] as bigint) })),
        ...withdrawn.map((l) => ({ block: l.blockNumber, delta: -BigInt(args(l)[2] as bigint) })),
      ];
    } catch (e) {
      throw toChainError(e, "reading the application's deposits", this.tokenInfo);
    }
    const blocks = [...new Set(moves.map((x) => x.block))];
    const times = new Map(
      await Promise.all(
        blocks.map(async (b) => [b, BigInt((await this.provider.getBlock(b))?.timestamp ?? 0)] as const),
      ),
    );
    const timed = moves.map((x) => ({ t: times.get(x.block)!, delta: x.delta }));
    const first = [...timed.map((x) => x.t), ...leases.map((l) => l.start)].reduce((a, b) => (b < a ? b : a), now);
    const at = new Set<bigint>([first, now, ...timed.map((x) => x.t), ...leases.flatMap((l) => [l.start, l.end])]);
    for (let i = 1n; i < 48n; i++) at.add(first + ((now - first) * i) / 48n);
    return [...at]
      .filter((t) => t >= first && t <= now)
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
      .map((t) => ({
        t,
        deposited: timed.reduce((s, x) => (x.t <= t ? s + x.delta : s), 0n),
        spent: leases.reduce((s, l) => s + leaseSpend(l, t), 0n),
      }));
  }
}

/** The application's money at chain time `t` (s): put in net, and spent on leases. */
export interface MoneyPoint {
  t: bigint;
  deposited: bigint;
  spent: bigint;
}

/** What a lease has cost so far at chain time `now`: its price × the seconds it ran (from its start to now, its
 * end or the moment it was stopped). */
export function leaseSpend(l: LeaseView, now: bigint): bigint {
  const until = [now, l.end, l.stoppedAt === 0n ? l.end : l.stoppedAt].reduce((m, v) => (v < m ? v : m));
  return until > l.start ? (until - l.start) * l.pricePerSecond : 0n;
}

/** Seconds a lease has left at chain time `now` (0 once it ended, was stopped or settled). */
export function leaseTimeLeft(l: LeaseView, now: bigint): bigint {
  if (l.state !== "Running" && l.state !== "Scheduled") return 0n;
  return l.end > now ? l.end - now : 0n;
}
