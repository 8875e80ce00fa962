/**
 * MarketClient: the one production implementation of the chain boundary (ethers v6), used by the CLI, the
 * yard and the agent. Every write maps refusals to ChainError sentences; amounts are bigint token units.
 * Its records are types.ts; its reads and serialized writes are transactions.ts (ChainCalls).
 *
 * @example
 *   const client = await MarketClient.connect({ rpcUrl, deployment, signer: wallet });
 *   await client.stake(client.parse("250"));
 */
import {
  Contract,
  NonceManager,
  type Signature,
  type ContractTransactionReceipt,
  type Provider,
  type Signer,
  type TypedDataDomain,
} from "ethers";
import { ChainError } from "../errors.ts";
import { marketDomain, type Offer, type SignedIntent } from "../eip712.ts";
import { formatAmount, parseAmount, type TokenInfo } from "../units.ts";
import { iconMarketAbi, iepRegistryAbi, testTokenAbi } from "./abi.generated.ts";
import type { Deployment } from "./deployment.ts";
import { toChainError } from "./errors.ts";
import { LogMemo, logWindow, type LogBounds } from "./logs.ts";
import { IntentClient, type RelayOptions, type RelayResult } from "./intents.ts";
import { OutageSafeNonceManager } from "./receipt.ts";
import { permitDeadline, TokenPermits, type PermitSupport } from "./permit.ts";
import { rpcProvider } from "./rpc.ts";
import { marketSolvency } from "./audit.ts";
import { claimedAmounts } from "./claims.ts";
import { ChainCalls, type RelayHook } from "./transactions.ts";
import { LEASE_STATES, type LeaseState } from "./types.ts";
import { ChainFees, feesFrom, type FeeOptions } from "./fees.ts";
import { isValidErc1271 } from "./erc1271.ts";
import type { BudgetAccount, LeaseRecord, Listing, Policy, ProviderStatus, Solvency } from "./types.ts";
export { LEASE_FLAGS, LEASE_STATES, type LeaseState } from "./types.ts";

/** Options for {@link MarketClient.connect}. */
export interface ConnectOptions {
  deployment: Deployment;
  /** The RPC endpoint, or several (backoff, retries and failover between them: rpc.ts). */
  rpcUrl?: string | readonly string[];
  /** A line whenever the RPC makes the client wait (429, a dropped connection, a switch); default onProgress. */
  onRpcWait?: (line: string) => void;
  /** Rounds over the endpoints before a read fails (rpc.ts; default 3): 1 for a caller that retries by itself. */
  rpcRounds?: number;
  provider?: Provider;
  signer?: Signer;
  /** Called with a line of progress for every transaction (submitted, confirmed). */
  onProgress?: (line: string) => void;
  /** Widest eth_getLogs call in blocks (default `ICON_LOG_WINDOW` or 2,000: logs.ts). */
  logWindow?: number;
  /** Fee cap, tip bound, replacement bounds (default: ICON_MAX_FEE … or the defaults, fees.ts feesFrom). */
  fees?: FeeOptions;
}

type Row = Record<string, unknown> & unknown[];

/** Typed facade over the deployed token, registry and market. */
export class MarketClient {
  readonly deployment: Deployment;
  readonly provider: Provider;
  readonly signer: Signer | undefined;
  readonly token: Contract;
  readonly registry: Contract;
  readonly market: Contract;
  readonly tokenInfo: TokenInfo;
  readonly logWindow: number;
  /** The fee cap and bounds, the current quote, and the gas this client's transactions spent (fees.ts). */
  readonly fees: ChainFees;
  /** Gasless operations: sign an intent for each ICON operation without sending it (intents.ts). */
  readonly intents: IntentClient;
  readonly #calls: ChainCalls;
  readonly #memo = new LogMemo();
  readonly #permits: TokenPermits;

  private constructor(o: ConnectOptions & { provider: Provider }, tokenInfo: TokenInfo) {
    this.deployment = o.deployment;
    this.provider = o.provider;
    this.signer = o.signer;
    const runner = o.signer ?? o.provider;
    this.token = new Contract(o.deployment.token, testTokenAbi, runner);
    this.registry = new Contract(o.deployment.registry, iepRegistryAbi, runner);
    this.market = new Contract(o.deployment.market, iconMarketAbi, runner);
    this.tokenInfo = tokenInfo;
    this.logWindow = o.logWindow ?? logWindow();
    const progress = o.onProgress ?? (() => {});
    this.fees = new ChainFees(o.fees ?? feesFrom(), o.provider);
    this.#calls = new ChainCalls({ signer: o.signer, tokenInfo, fees: this.fees, onProgress: progress });
    this.#permits = new TokenPermits({
      ...{ provider: o.provider, runner, signer: o.signer, deployment: o.deployment, progress },
      read: (...a) => this.#calls.read(...a),
      readFailed: (e) => toChainError(e, "reading the token's permit domain", tokenInfo),
      address: () => this.address(),
    });
    const { market, provider, signer } = this;
    const [calls, domain] = [this.#calls, () => this.domain()];
    this.intents = new IntentClient({ market, provider, signer, calls, domain, logs: (...a) => this.logs(...a) });
  }

  /** Relayer: simulates a signed intent (a refusal costs no gas), caps its gas, submits it; the fee is our earnings. */
  async relay(signed: SignedIntent, o?: RelayOptions): Promise<RelayResult> {
    return this.intents.relay(signed, o);
  }

  /** Connects to the chain, checks the chain id matches the deployment and reads the token's metadata. */
  static async connect(o: ConnectOptions): Promise<MarketClient> {
    const provider =
      o.provider ??
      o.signer?.provider ??
      // No request cache (rpc.ts): after a failed send the nonce must be read fresh, not a cached pending count.
      rpcProvider(o.rpcUrl ?? "http://127.0.0.1:8545", { onWait: o.onRpcWait ?? o.onProgress, rounds: o.rpcRounds });
    let chainId: bigint;
    try {
      chainId = (await provider.getNetwork()).chainId;
    } catch (e) {
      throw toChainError(e, "connecting to the chain");
    }
    if (chainId !== BigInt(o.deployment.chainId)) {
      throw new ChainError(
        "WRONG_CHAIN",
        `the RPC endpoint serves chain ${chainId} but the deployment file is for chain ${o.deployment.chainId}; pass the matching --deployment or --rpc`,
      );
    }
    const token = new Contract(o.deployment.token, testTokenAbi, provider);
    let info: TokenInfo;
    try {
      const [symbol, decimals] = await Promise.all([token.getFunction("symbol")(), token.getFunction("decimals")()]);
      info = { symbol: String(symbol), decimals: Number(decimals) };
    } catch (e) {
      throw toChainError(e, `reading the token at ${o.deployment.token} (is the deployment file for this chain?)`);
    }
    // NonceManager: a fresh provider may answer two quick `pending` nonce queries alike (ethers caches
    // identical requests briefly), which would make back-to-back transactions (approve, then stake) collide.
    const connected = o.signer && !o.signer.provider ? o.signer.connect(provider) : o.signer;
    // OutageSafeNonceManager: ethers' own leaves an unhandled rejection when the RPC is down (receipt.ts).
    const signer =
      connected && !(connected instanceof NonceManager) ? new OutageSafeNonceManager(connected) : connected;
    return new MarketClient({ ...o, provider, signer }, info);
  }

  /**
   * From now on, the calls `hook` takes (an ICON's market calls: protocol/relay/sender.ts) are relayed instead of
   * sent from this client's key, which then needs no ETH.
   */
  useRelay(hook: RelayHook | undefined): void {
    this.#calls.useRelay(hook);
  }

  /** The signer's address (throws if the client is read-only). */
  async address(): Promise<string> {
    if (!this.signer)
      throw new ChainError("NO_SIGNER", "this action needs a key: pass --keystore <file> or set ICON_PRIVATE_KEY");
    return this.signer.getAddress();
  }

  /** Formats token units for people. */
  format(units: bigint): string {
    return formatAmount(units, this.tokenInfo);
  }

  /** Parses a human amount into token units. */
  parse(text: string, field = "amount"): bigint {
    return parseAmount(text, this.tokenInfo, field);
  }

  /** EIP-712 domain of this market. */
  domain(): TypedDataDomain {
    return marketDomain(BigInt(this.deployment.chainId), this.deployment.market);
  }

  // ------------------------------------------------------------------ token

  /** Token balance of `who`. */
  async balanceOf(who: string): Promise<bigint> {
    return this.#calls.read("reading a balance", this.token, "balanceOf", who);
  }

  /** Dev token only: mints `amount` to `to` (the signer must own the TestToken). */
  async mint(to: string, amount: bigint): Promise<ContractTransactionReceipt> {
    return this.#calls.send(`minting ${this.format(amount)}`, this.token, "mint", to, amount);
  }

  /** Approves `spender` for `amount` unless the allowance already covers it. */
  async ensureAllowance(spender: string, amount: bigint): Promise<void> {
    const owner = await this.address();
    const current: bigint = await this.#calls.read("reading the allowance", this.token, "allowance", owner, spender);
    if (current < amount)
      await this.#calls.send(`approving ${this.format(amount)}`, this.token, "approve", spender, amount);
  }

  /** How the market may take this token: a permit (its EIP-712 domain, read once: permit.ts) or `approve`. */
  permitSupport(): Promise<PermitSupport> {
    return this.#permits.support();
  }

  /** Signs an ERC-2612 permit for the market to take `amount` from the signer (null: the token takes none). */
  signPermit(amount: bigint, deadline: bigint): Promise<Signature | null> {
    return this.#permits.sign(amount, deadline);
  }

  /** A permit for `amount`, or null after saying (a progress line) why `approve` will be sent instead. */
  async #permitOrSay(amount: bigint, action: string): Promise<{ sig: Signature; deadline: bigint } | null> {
    const deadline = await permitDeadline(this.provider).catch((e: unknown) => {
      throw toChainError(e, `${action}: reading the chain's time`, this.tokenInfo);
    });
    return this.#permits.orSay(amount, action, deadline);
  }

  // ------------------------------------------------------------------ registry

  /** Registers or updates the signer's listing. */
  async register(listing: Listing): Promise<ContractTransactionReceipt> {
    return this.#calls.send("registering the listing", this.registry, "register", listing);
  }

  /** Stakes `amount` (approving the registry first if needed). */
  async stake(amount: bigint): Promise<ContractTransactionReceipt> {
    await this.ensureAllowance(this.deployment.registry, amount);
    return this.#calls.send(`staking ${this.format(amount)}`, this.registry, "stake", amount);
  }

  /** Starts unbonding `amount`. */
  async requestUnstake(amount: bigint): Promise<ContractTransactionReceipt> {
    return this.#calls.send(`unstaking ${this.format(amount)}`, this.registry, "requestUnstake", amount);
  }

  /** Withdraws unbonded stake to `to`. */
  async withdrawStake(to: string): Promise<ContractTransactionReceipt> {
    return this.#calls.send("withdrawing unbonded stake", this.registry, "withdraw", to);
  }

  /** Listing, stake and earnings of `provider`. */
  async providerStatus(provider: string): Promise<ProviderStatus> {
    const [l, s, available, active, earnings, p] = await Promise.all([
      this.#calls.read<Row>("reading the listing", this.registry, "listing", provider),
      this.#calls.read<Row>("reading the stake", this.registry, "stakeOf", provider),
      this.#calls.read<bigint>("reading the stake", this.registry, "availableStake", provider),
      this.#calls.read<boolean>("reading the stake", this.registry, "isActive", provider),
      this.#calls.read<bigint>("reading earnings", this.market, "earningsOf", provider),
      this.#calls.read<Row>("reading registry parameters", this.registry, "parameters"),
    ]);
    const listing: Listing | null =
      (l.peerId as string) === "0x"
        ? null
        : {
            peerId: l.peerId as string,
            multiaddrs: [...(l.multiaddrs as string[])],
            domain: l.domain as string,
            region: l.region as string,
            cpuMillis: Number(l.cpuMillis),
            memoryMiB: Number(l.memoryMiB),
            cpuPricePerSecond: l.cpuPricePerSecond as bigint,
            memoryPricePerSecond: l.memoryPricePerSecond as bigint,
          };
    return {
      listing,
      total: s.total as bigint,
      locked: s.locked as bigint,
      unbonding: s.unbonding as bigint,
      readyAt: s.readyAt as bigint,
      available,
      active,
      earnings,
      minStake: p.minStake as bigint,
      unbondingPeriod: p.unbondingPeriod as bigint,
    };
  }

  // ------------------------------------------------------------------ budget tree

  /** Creates an application funded with `deposit`: with an ERC-2612 permit when the token takes one (so one
   * transaction), else `approve` and then the creation (said in a progress line). */
  async createApp(controller: string, policy: Policy, deposit: bigint, usePermit = true): Promise<bigint> {
    const action = "creating the application";
    const p = deposit > 0n && usePermit ? await this.#permitOrSay(deposit, action) : null;
    let receipt: ContractTransactionReceipt;
    if (p) {
      const { sig, deadline } = p;
      const args = [controller, policy, deposit, deadline, sig.v, sig.r, sig.s];
      receipt = await this.#calls.send(action, this.market, "createAppWithPermit", ...args);
    } else {
      if (deposit > 0n) await this.ensureAllowance(this.deployment.market, deposit);
      receipt = await this.#calls.send(action, this.market, "createApp", controller, policy, deposit);
    }
    return this.#eventArg(receipt, "AppCreated", 0);
  }

  /** Deposits `amount` from the signer into `account` (a permit when the allowance falls short and the token takes
   * one, else `approve` first). */
  async fund(account: bigint, amount: bigint): Promise<ContractTransactionReceipt> {
    const action = `funding account ${account} with ${this.format(amount)}`;
    const allowance = await this.#calls.read<bigint>(
      "reading the allowance",
      this.token,
      "allowance",
      await this.address(),
      this.deployment.market,
    );
    const p = allowance < amount ? await this.#permitOrSay(amount, action) : null;
    if (p) {
      const { sig, deadline } = p;
      return this.#calls.send(action, this.market, "fundWithPermit", account, amount, deadline, sig.v, sig.r, sig.s);
    }
    await this.ensureAllowance(this.deployment.market, amount);
    return this.#calls.send(action, this.market, "fund", account, amount);
  }

  /** Creates a child account of `parent` controlled by `controller`. */
  async createAccount(parent: bigint, controller: string): Promise<bigint> {
    const receipt = await this.#calls.send(
      `creating a child of account ${parent}`,
      this.market,
      "createAccount",
      parent,
      controller,
    );
    return this.#eventArg(receipt, "AccountCreated", 0);
  }

  /** Moves `amount` from `parent` to its child `child`. */
  async allocate(parent: bigint, child: bigint, amount: bigint): Promise<ContractTransactionReceipt> {
    return this.#calls.send(
      `allocating ${this.format(amount)} from account ${parent} to ${child}`,
      this.market,
      "allocate",
      parent,
      child,
      amount,
    );
  }

  /** Moves `amount` from `child` back to its parent. */
  async returnToParent(child: bigint, amount: bigint): Promise<ContractTransactionReceipt> {
    return this.#calls.send(
      `returning ${this.format(amount)} from account ${child}`,
      this.market,
      "returnToParent",
      child,
      amount,
    );
  }

  /** Closes `child`, returning its balance to its parent. */
  async closeAccount(child: bigint): Promise<ContractTransactionReceipt> {
    return this.#calls.send(`closing account ${child}`, this.market, "closeAccount", child);
  }

  /**
   * Controller of `account`: asks the application's owner for `amount` more (the contract only emits
   * FundingRequested(root, account, parent, amount); the owner answers with fund() or not at all).
   */
  async requestFunding(account: bigint, amount: bigint): Promise<ContractTransactionReceipt> {
    return this.#calls.send(
      `asking the owner for ${this.format(amount)} for account ${account}`,
      this.market,
      "requestFunding",
      account,
      amount,
    );
  }

  /** Owner: takes `amount` out of the tree from `root` to `to`. */
  async withdrawFromRoot(root: bigint, amount: bigint, to: string): Promise<ContractTransactionReceipt> {
    return this.#calls.send(
      `withdrawing ${this.format(amount)} from application ${root}`,
      this.market,
      "withdraw",
      root,
      amount,
      to,
    );
  }

  /** Owner: publishes a new policy. */
  async setPolicy(root: bigint, policy: Policy): Promise<ContractTransactionReceipt> {
    return this.#calls.send(`publishing the policy of application ${root}`, this.market, "setPolicy", root, policy);
  }

  /** Reads one account. */
  async account(id: bigint): Promise<BudgetAccount> {
    const a = await this.#calls.read<Row>(`reading account ${id}`, this.market, "account", id);
    if (a.controller === "0x0000000000000000000000000000000000000000") {
      throw new ChainError("BudgetUnknownAccount", `budget account ${id} does not exist`);
    }
    return {
      id,
      controller: a.controller as string,
      balance: a.balance as bigint,
      parent: a.parent as bigint,
      root: a.root as bigint,
      depth: Number(a.depth),
      closed: a.closed as boolean,
    };
  }

  /** Every account of the application rooted at `root`, parents before children. */
  async appAccounts(root: bigint): Promise<BudgetAccount[]> {
    const count: bigint = await this.#calls.read("reading the account count", this.market, "accountCount");
    const out: BudgetAccount[] = [];
    for (let id = root; id <= count; id++) {
      const a = await this.account(id);
      if (a.root === root) out.push(a);
    }
    return out;
  }

  /** Owner of the application rooted at `root`. */
  async appOwner(root: bigint): Promise<string> {
    return this.#calls.read<string>("reading the owner", this.market, "ownerOf", root);
  }

  /** Whether the contract at `signer` accepts `signature` over `digest` (ERC-1271); false for an account with no
   * code or a contract that says no or reverts. */
  async isValidSignature(signer: string, digest: string, signature: string): Promise<boolean> {
    return isValidErc1271(this.provider, signer, digest, signature);
  }

  /** Owner and current policy of an application. */
  async app(root: bigint): Promise<{ owner: string; policy: Policy; version: number }> {
    const [owner, res] = await Promise.all([
      this.#calls.read<string>("reading the owner", this.market, "ownerOf", root),
      this.#calls.read<Row>("reading the policy", this.market, "policyOf", root),
    ]);
    const p = res[0] as Row;
    return {
      owner,
      version: Number(res[1]),
      policy: {
        weightBps: Number(p.weightBps),
        migrateThresholdBps: Number(p.migrateThresholdBps),
        replicateThresholdBps: Number(p.replicateThresholdBps),
        terminateThresholdBps: Number(p.terminateThresholdBps),
        maxPricePerSecond: p.maxPricePerSecond as bigint,
        maxRelayFee: p.maxRelayFee as bigint,
        relayAllowancePerDay: p.relayAllowancePerDay as bigint,
      },
    };
  }

  // ------------------------------------------------------------------ leases

  /** Relays an offer with both signatures; returns the new lease id. */
  async openLease(offer: Offer, providerSignature: string, tenantSignature: string): Promise<bigint> {
    return (await this.openLeaseTx(offer, providerSignature, tenantSignature)).leaseId;
  }

  /** Like {@link openLease}, also returning the transaction hash. */
  async openLeaseTx(
    offer: Offer,
    providerSignature: string,
    tenantSignature: string,
  ): Promise<{ leaseId: bigint; txHash: string }> {
    const receipt = await this.#calls.send(
      "opening the lease",
      this.market,
      "openLease",
      offer,
      providerSignature,
      tenantSignature,
    );
    return { leaseId: this.#eventArg(receipt, "LeaseOpened", 0), txHash: receipt.hash };
  }

  /** Provider: confirms the container runs. */
  async confirmStart(id: bigint): Promise<ContractTransactionReceipt> {
    return this.#calls.send(`confirming the start of lease ${id}`, this.market, "confirmStart", id);
  }

  /** Provider: moves accrued payment to earnings; returns the amount. */
  async claim(id: bigint): Promise<bigint> {
    return (await this.claimTx([id])).amounts.get(id)!;
  }

  /** Provider: claims every lease in `ids` (1–256) in one transaction; the amount per lease. */
  async claimMany(ids: bigint[]): Promise<Map<bigint, bigint>> {
    return (await this.claimTx(ids, true)).amounts;
  }

  /** {@link claim} of one id (`many` false) or {@link claimMany}, with the transaction's hash (a yard follows it). */
  async claimTx(ids: bigint[], many = ids.length > 1): Promise<{ amounts: Map<bigint, bigint>; txHash: string }> {
    const [what, fn, arg] = many
      ? [`leases ${ids.join(", ")}`, "claimMany", ids]
      : [`lease ${ids[0]}`, "claim", ids[0]];
    const receipt = await this.#calls.send(`claiming ${what}`, this.market, fn, arg);
    const amounts = claimedAmounts(receipt, this.market);
    if (!many && !amounts.has(ids[0]!)) this.#eventArg(receipt, "LeaseClaimed", 1); // throws NO_EVENT
    return { amounts, txHash: receipt.hash };
  }

  /** Tenant: ends lease `id` now; returns the refund. */
  async terminate(id: bigint): Promise<bigint> {
    const receipt = await this.#calls.send(`terminating lease ${id}`, this.market, "terminate", id);
    return this.#eventArg(receipt, "LeaseTerminated", 2);
  }

  /** Every operator that has ever published a listing (ListingUpdated events), in order of first listing. */
  async listedOperators(fromBlock?: number): Promise<string[]> {
    const logs = await this.logs(this.registry, "ListingUpdated", [], { fromBlock }, "listing the operators");
    return [...new Set(logs.map((a) => String(a[0])))];
  }

  /** Σ relay fees `account` paid (its Relayed events from `fromBlock`): what leaving the key without ETH cost it. */
  async relayFeesOf(account: bigint, fromBlock?: number): Promise<bigint> {
    const what = `reading the relay fees of account ${account}`;
    const logs = await this.logs(this.market, "Relayed", [null, account], { fromBlock }, what);
    return logs.reduce((sum, a) => sum + BigInt(a[4] as bigint), 0n);
  }

  /** Ids of every lease paid from budget account `account` (from the LeaseOpened events), oldest first. */
  async leasesOf(account: bigint, fromBlock?: number): Promise<bigint[]> {
    const what = `listing the leases of account ${account}`;
    const logs = await this.logs(this.market, "LeaseOpened", [null, null, account], { fromBlock }, what);
    return logs.map((a) => BigInt(a[0] as bigint));
  }

  /** The arguments of `c`'s `event` logs matching `topics`, from `fromBlock` (default: the deployment's block) to
   * `toBlock` (default: the head), read in ranges (logs.ts). */
  async logs(c: Contract, event: string, topics: unknown[], r: LogBounds = {}, what = `reading ${event} logs`) {
    const range = { fromBlock: r.fromBlock ?? this.deployment.blockNumber, toBlock: r.toBlock, window: this.logWindow };
    try {
      const logs = await this.#memo.logs(c, c.filters[event]!(...topics), range);
      return logs.map((l) => (l as unknown as { args: unknown[] }).args);
    } catch (e) {
      throw toChainError(e, what, this.tokenInfo);
    }
  }

  /** Anyone: cancels lease `id` whose start the provider missed; the tenant's account gets the deposit back plus
   * the provider's penalty. Returns the refund. */
  async cancelMissedStart(id: bigint): Promise<bigint> {
    const what = `cancelling lease ${id} (start missed)`;
    const receipt = await this.#calls.send(what, this.market, "cancelMissedStart", id);
    return this.#eventArg(receipt, "LeaseCancelled", 1);
  }

  /**
   * Retries releasing the collateral of a finished lease whose release failed in the registry (event
   * CollateralReleaseFailed); returns the missed-start penalty credited to the paying account (0 otherwise).
   */
  async releaseCollateral(id: bigint): Promise<bigint> {
    const what = `releasing the collateral of lease ${id}`;
    const receipt = await this.#calls.send(what, this.market, "releaseCollateral", id);
    return this.#eventArg(receipt, "CollateralReleased", 1);
  }

  /** Provider: withdraws all earnings to `to`. */
  async withdrawEarnings(to: string): Promise<ContractTransactionReceipt> {
    return this.#calls.send("withdrawing earnings", this.market, "withdrawEarnings", to);
  }

  /** Reads lease `id` and its state (as of block `blockTag` when given: a state buried under confirmations). */
  async lease(id: bigint, blockTag?: number): Promise<LeaseRecord & { state: LeaseState }> {
    const at = blockTag === undefined ? [] : [{ blockTag }];
    const [l, s] = await Promise.all([
      this.#calls.read<Row>(`reading lease ${id}`, this.market, "lease", id, ...at),
      this.#calls.read<bigint>(`reading lease ${id}`, this.market, "state", id, ...at),
    ]);
    return {
      id,
      provider: l.provider as string,
      start: l.start as bigint,
      end: l.end as bigint,
      flags: Number(l.flags),
      pricePerSecond: l.pricePerSecond as bigint,
      account: l.account as bigint,
      claimedUntil: l.claimedUntil as bigint,
      stoppedAt: l.stoppedAt as bigint,
      state: LEASE_STATES[Number(s)]!,
    };
  }

  // ------------------------------------------------------------------ audit

  /** Checks on chain that the market holds exactly Σ balances + Σ escrow + Σ earnings (audit.ts). */
  solvency(blockTag?: number): Promise<Solvency> {
    const { token, market, registry, deployment } = this;
    const relayers = (at: number) => this.intents.relayers(at);
    return marketSolvency({ calls: this.#calls, token, market, registry, deployment, relayers }, blockTag);
  }

  #eventArg(receipt: ContractTransactionReceipt, event: string, index: number): bigint {
    for (const log of receipt.logs) {
      if (log.address.toLowerCase() !== this.deployment.market.toLowerCase()) continue;
      const parsed = this.market.interface.parseLog(log);
      if (parsed?.name === event) return BigInt(parsed.args[index] as bigint);
    }
    throw new ChainError("NO_EVENT", `the transaction ${receipt.hash} emitted no ${event} event`);
  }
}
