/**
 * What the page reads from the chain, straight from the deployment's RPC endpoint (no wallet needed to look):
 * the token, an owner's applications, an application's accounts, leases and funding requests. Logs are read in
 * numeric ranges from the deployment's block (protocol/chain/logs.ts), as every reader of the project does.
 */
import {
  Contract,
  JsonRpcProvider,
  type EventLog,
  type JsonRpcPayload,
  type JsonRpcResult,
  type Log,
  type TypedDataDomain,
} from "ethers";
import { iconMarketAbi, iepRegistryAbi, testTokenAbi } from "../../protocol/chain/abi.generated.ts";
import type { Deployment } from "../../protocol/chain/deployment-schema.ts";
import { toChainError } from "../../protocol/chain/errors.ts";
import { DEFAULT_LOG_WINDOW, LogMemo } from "../../protocol/chain/logs.ts";
import { readFundingRequests, type FundingRequest } from "../../protocol/chain/funding.ts";
import { leaseCost } from "../../protocol/chain/lease-cost.ts";
import { permitSupport } from "../../protocol/chain/permit.ts";
import type { Policy } from "../../protocol/chain/types.ts";
import { formatAmount, parseAmount, type TokenInfo } from "../../protocol/units.ts";
import { retryRead } from "./retry.ts";

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

export type { FundingRequest };

export interface AppView {
  root: bigint;
  owner: string;
  policy: Policy;
  version: number;
  accounts: AccountView[];
}

type Row = Record<string, unknown> & unknown[];
const args = (l: EventLog | Log): Row => (l as unknown as { args: Row }).args;

/** The page's JSON-RPC endpoint: a request that failed at the network (the host's network changed under it) is sent
 * again (retry.ts); an answer, an RPC error included, is not. The page only reads through it — a method that sends
 * (`eth_send…`) would be sent once. */
class ReadingProvider extends JsonRpcProvider {
  override _send(payload: JsonRpcPayload | JsonRpcPayload[]): Promise<JsonRpcResult[]> {
    const sends = [payload].flat().some((p) => p.method.startsWith("eth_send"));
    return sends ? super._send(payload) : retryRead(() => super._send(payload));
  }
}

/** The market seen read-only through the deployment's RPC endpoint. */
export class ConsoleChain {
  readonly deployment: Deployment;
  readonly provider: JsonRpcProvider;
  readonly token: Contract;
  readonly market: Contract;
  readonly registry: Contract;
  readonly tokenInfo: TokenInfo;
  /** The token's EIP-712 domain when it takes ERC-2612 permits (protocol/chain/permit.ts), else null (then approve). */
  readonly permit: TypedDataDomain | null;

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
    const p = new ReadingProvider(rpcUrl, d.chainId, { staticNetwork: true, cacheTimeout: -1, batchMaxCount: 1 });
    const token = new Contract(d.token, testTokenAbi, p);
    const call = (name: string, ...a: unknown[]): Promise<unknown> => token.getFunction(name).staticCall(...a);
    try {
      const [chainId, symbol, decimals, support] = await Promise.all([
        p.send("eth_chainId", []),
        call("symbol"),
        call("decimals"),
        // The CLI's discovery (protocol/chain/permit.ts): ERC-5267 or name()/version(), checked against
        // DOMAIN_SEPARATOR(); a token whose domain cannot be established is approved instead.
        permitSupport(p, d.token, BigInt(d.chainId)),
      ]);
      if (Number(BigInt(String(chainId))) !== d.chainId)
        throw new Error(`the RPC endpoint serves chain ${BigInt(String(chainId))}, the deployment is for ${d.chainId}`);
      const permit = support.kind === "permit" ? support.domain : null;
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

  /** Every read of logs goes through this memo: a refresh reads only the blocks since the last one (and the last
   * 64 again, for a reorganisation), never the whole history again. Bounded to 256 distinct filters. */
  readonly #memo = new LogMemo(256);

  /** `event`'s logs of `c` matching `topics`, from the deployment's block to the head (remembered, see #memo). */
  rawLogs(c: Contract, event: string, ...topics: unknown[]): Promise<Array<EventLog | Log>> {
    const range = { fromBlock: this.deployment.blockNumber, window: DEFAULT_LOG_WINDOW };
    return this.#memo.logs(c, c.filters[event]!(...topics), range);
  }

  async #logs(what: string, c: Contract, event: string, ...topics: unknown[]): Promise<Row[]> {
    try {
      return (await this.rawLogs(c, event, ...topics)).map(args);
    } catch (e) {
      throw toChainError(e, what, this.tokenInfo);
    }
  }

  readonly #blockTimes = new Map<number, Promise<bigint>>();

  /** A block's timestamp (s), read once per block and remembered (a mined block's time never changes). */
  blockTime(block: number): Promise<bigint> {
    let t = this.#blockTimes.get(block);
    if (!t) {
      t = this.provider.getBlock(block).then((b) => BigInt(b?.timestamp ?? 0));
      t.catch(() => this.#blockTimes.delete(block));
      this.#blockTimes.set(block, t);
    }
    return t;
  }

  #maxDepth?: Promise<number>;

  /** How many levels below the root the market lets a tree grow (`maxDepth()`, a constant: read once). */
  maxDepth(): Promise<number> {
    this.#maxDepth ??= this.#read<bigint>("reading the tree's depth bound", this.market, "maxDepth").then(Number);
    this.#maxDepth.catch(() => (this.#maxDepth = undefined));
    return this.#maxDepth;
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

  /** Budget account `id` as the chain holds it now. */
  async account(id: bigint): Promise<AccountView> {
    const a = await this.#read<Row>(`reading account ${id}`, this.market, "account", id);
    return {
      id,
      parent: BigInt(a.parent as bigint),
      controller: String(a.controller),
      balance: BigInt(a.balance as bigint),
      depth: Number(a.depth),
      closed: Boolean(a.closed),
    };
  }

  /** Owner, policy and accounts (parents before children) of the application rooted at `root`. */
  async app(root: bigint): Promise<AppView> {
    const [owner, pol] = await Promise.all([
      this.#read<string>("reading the owner", this.market, "ownerOf", root),
      this.#read<Row>("reading the policy", this.market, "policyOf", root),
    ]);
    // The tree level by level: the accounts created under the last level's ids (AccountCreated's parent is indexed),
    // never every account of the market. The contract bounds the depth (maxDepth).
    const ids = [root];
    for (let level = [root]; level.length > 0;) {
      const created = await this.#logs(
        "reading the application's accounts",
        this.market,
        "AccountCreated",
        null,
        level,
      );
      level = created.map((a) => BigInt(a[0] as bigint)).filter((id) => !ids.includes(id));
      ids.push(...level);
    }
    const accounts = await Promise.all(ids.map((id) => this.account(id)));
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

  /** The application's funding requests, oldest first, each with what the top-ups since answered of it (partly
   * answered ones oldest first) — the CLI's rule, protocol/chain/funding.ts. */
  async fundingRequests(root: bigint): Promise<FundingRequest[]> {
    try {
      const range = { fromBlock: this.deployment.blockNumber, window: DEFAULT_LOG_WINDOW };
      return await readFundingRequests(this.market, root, {
        fromBlock: this.deployment.blockNumber,
        window: DEFAULT_LOG_WINDOW,
        blockTime: (b) => this.blockTime(b),
        read: (c, filter) => this.#memo.logs(c, filter, range),
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
    const ids = app.accounts.map((a) => a.id);
    let moves: Array<{ block: number; delta: bigint }>;
    try {
      const [funded, withdrawn] = await Promise.all([
        this.rawLogs(m, "Funded", ids),
        this.rawLogs(m, "Withdrawn", app.root),
      ]);
      moves = [
        ...funded.map((l) => ({ block: l.blockNumber, delta: BigInt(args(l)[2] as bigint) })),
        ...withdrawn.map((l) => ({ block: l.blockNumber, delta: -BigInt(args(l)[2] as bigint) })),
      ];
    } catch (e) {
      throw toChainError(e, "reading the application's deposits", this.tokenInfo);
    }
    const blocks = [...new Set(moves.map((x) => x.block))];
    const times = new Map(await Promise.all(blocks.map(async (b) => [b, await this.blockTime(b)] as const)));
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
        spent: leases.reduce((s, l) => s + leaseCost(l, t), 0n),
      }));
  }
}

/** The application's money at chain time `t` (s): put in net, and spent on leases. */
export interface MoneyPoint {
  t: bigint;
  deposited: bigint;
  spent: bigint;
}

/** Seconds a lease has left at chain time `now` (0 once it ended, was stopped or settled). */
export function leaseTimeLeft(l: LeaseView, now: bigint): bigint {
  if (l.state !== "Running" && l.state !== "Scheduled") return 0n;
  return l.end > now ? l.end - now : 0n;
}
