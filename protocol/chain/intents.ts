/**
 * Gasless ICON operations (contracts/IntentRelay.sol), both sides. The ICON side builds and signs an EIP-712 intent
 * for one budget-tree or lease call without sending anything — its key holds no ETH; the relayer side (a yard)
 * simulates a signed intent first, so a refused one costs it no gas and comes back as the contract's error sentence,
 * and then submits it, earning the intent's fee from the ICON's budget account. MarketClient composes this room as
 * `client.intents`; `client.relay(signed)` is the relayer's entry.
 *
 * Nonces: the market keeps one unordered bitmap per signer (256 nonces to a storage word). Each IntentClient draws a
 * random 248-bit word when it starts and uses its 256 bits in turn, then draws another: two instances of one key (a
 * restarted agent, the old and new instance during a migration) never pick the same nonce (a collision needs two
 * equal random 248-bit words), nothing has to be stored, and 256 intents share one storage slot on chain (the first
 * write of a word costs ≈ 20 000 gas, the others ≈ 5 000).
 *
 * Gas: the relayer pays it, the intent's fee repays it. A signer may be a contract (ERC-1271) whose signature check
 * burns any amount of gas, so the relayer estimates the relay from its own address after the simulation, refuses it
 * above `maxGas` (RELAY_GAS_TOO_HIGH, nothing sent) and sends it with that estimate plus a quarter as its gas limit.
 *
 * @example
 *   const signed = await icon.intents.allocate(parent, child, amount, { fee: 20_000n });   // ICON: signs only
 *   const { txHash, fee } = await yard.relay(signed);                                        // relayer: simulate, send
 */
import type { LogBounds } from "./logs.ts";
import {
  ZeroAddress,
  randomBytes,
  toBigInt,
  type Contract,
  type ContractTransactionReceipt,
  type Provider,
  type Signer,
  type TypedDataDomain,
} from "ethers";
import { ChainError } from "../errors.ts";
import { INTENT_TYPES, type Intent, type SignedIntent } from "../eip712.ts";
import { toChainError } from "./errors.ts";
import type { ChainCalls } from "./transactions.ts";

/** How long an intent stays valid by default: long enough for a relayer on a slow chain, short for a stale one. */
export const DEFAULT_INTENT_TTL_S = 600;

/** Per-intent choices; every field has a default. */
export interface IntentOptions {
  /** Token units the relayer earns (default 0; at most the policy's maxRelayFee). */
  fee?: bigint;
  /** Only this address may submit (default: anyone). */
  relayer?: string;
  /** Unix seconds by which it must be relayed (default: the latest block's time + `ttlSeconds`). */
  deadline?: bigint;
  /** Validity when no deadline is given (default {@link DEFAULT_INTENT_TTL_S}). */
  ttlSeconds?: number;
  /** Budget account that pays the fee (default: the account the operation acts on, see each method). */
  account?: bigint;
  /** A nonce of your own (default: the next of this client's random word). */
  nonce?: bigint;
}

/** The most gas a relay may take by default: the heaviest ICON operation relayed (createAccount, ≈ 125 000 gas;
 * ≈ 180 000 with every slot written for the first time, BENCHMARKS.md) with room for a contract signer's check. */
export const DEFAULT_RELAY_MAX_GAS = 400_000n;

/** The relayer's choices for one relay. */
export interface RelayOptions {
  /** Refuse an intent whose relay is estimated above this much gas (default {@link DEFAULT_RELAY_MAX_GAS}). */
  maxGas?: bigint;
}

/** What a relayed intent did. */
export interface RelayResult {
  txHash: string;
  /** Gas of the whole relay transaction. */
  gasUsed: bigint;
  /** Token units credited to the relayer's earnings. */
  fee: bigint;
  /** The market's events in the transaction (e.g. AccountCreated carries a new child's id). */
  events: { name: string; args: unknown[] }[];
  receipt: ContractTransactionReceipt;
}

/** What the intent client uses of MarketClient. */
export interface IntentComponents {
  market: Contract;
  provider: Provider;
  signer: Signer | undefined;
  calls: ChainCalls;
  domain: () => TypedDataDomain;
  /** Ranged log reads from the deployment's block (MarketClient.logs). */
  logs: (c: Contract, event: string, topics: unknown[], range?: LogBounds) => Promise<unknown[][]>;
}

/** Builds, signs and relays intents of one client. */
export class IntentClient {
  readonly #c: IntentComponents;
  #word = 0n;
  #used = 256;

  constructor(components: IntentComponents) {
    this.#c = components;
  }

  /** Signs `createAccount(parent, controller)`; the fee comes from `parent` unless `o.account` says otherwise. */
  createAccount(parent: bigint, controller: string, o: IntentOptions = {}): Promise<SignedIntent> {
    return this.sign("createAccount", [parent, controller], o.account ?? parent, o);
  }

  /** Signs `allocate(parent, child, amount)`; the fee comes from `parent` by default. */
  allocate(parent: bigint, child: bigint, amount: bigint, o: IntentOptions = {}): Promise<SignedIntent> {
    return this.sign("allocate", [parent, child, amount], o.account ?? parent, o);
  }

  /** Signs `returnToParent(child, amount)`; the fee comes from `child` by default. */
  returnToParent(child: bigint, amount: bigint, o: IntentOptions = {}): Promise<SignedIntent> {
    return this.sign("returnToParent", [child, amount], o.account ?? child, o);
  }

  /** Signs `closeAccount(child)`; the fee comes from `child` by default (paid before the rest goes up). */
  closeAccount(child: bigint, o: IntentOptions = {}): Promise<SignedIntent> {
    return this.sign("closeAccount", [child], o.account ?? child, o);
  }

  /** Signs `requestFunding(account, amount)`; the fee comes from `account` by default. */
  requestFunding(account: bigint, amount: bigint, o: IntentOptions = {}): Promise<SignedIntent> {
    return this.sign("requestFunding", [account, amount], o.account ?? account, o);
  }

  /** Signs `terminate(lease)`; the fee comes from the lease's paying account by default (read from the chain). */
  async terminate(lease: bigint, o: IntentOptions = {}): Promise<SignedIntent> {
    const account =
      o.account ??
      (await this.#c.calls.read<{ account: bigint }>(`reading lease ${lease}`, this.#c.market, "lease", lease)).account;
    return this.sign("terminate", [lease], account, o);
  }

  /** Signs an intent to call market function `fn(...args)` paying the fee from `account` (no network write). */
  async sign(fn: string, args: unknown[], account: bigint, o: IntentOptions = {}): Promise<SignedIntent> {
    const signer = this.#c.signer;
    if (!signer) throw new ChainError("NO_SIGNER", `signing a ${fn} intent needs the ICON's key`);
    const deadline =
      o.deadline ??
      BigInt(
        ((await this.#c.provider.getBlock("latest"))?.timestamp ?? Math.floor(Date.now() / 1000)) +
          (o.ttlSeconds ?? DEFAULT_INTENT_TTL_S),
      );
    const intent: Intent = {
      signer: await signer.getAddress(),
      account,
      data: this.#c.market.interface.encodeFunctionData(fn, args),
      fee: o.fee ?? 0n,
      relayer: o.relayer ?? ZeroAddress,
      nonce: o.nonce ?? this.#nextNonce(),
      deadline,
    };
    return { intent, signature: await signer.signTypedData(this.#c.domain(), INTENT_TYPES, intent) };
  }

  /**
   * Relayer: runs the intent as a call from this client's address without sending anything; resolves with the
   * operation's abi-encoded return data, or fails with the ChainError the contract's refusal maps to (to decide
   * whether to accept an intent before queueing it).
   */
  async simulate(s: SignedIntent): Promise<string> {
    return this.#c.calls.read<string>(
      `relaying ${this.describe(s.intent)}`,
      this.#c.market,
      "relay",
      s.intent,
      s.signature,
    );
  }

  /** Relayer: runs the intent as a call first (a refusal is a ChainError naming the contract's reason, no gas
   * spent), estimates its gas (RELAY_GAS_TOO_HIGH above `o.maxGas`, nothing sent), then submits it with a gas limit
   * of at most `maxGas`; resolves when it is mined. */
  async relay(s: SignedIntent, o: RelayOptions = {}): Promise<RelayResult> {
    const what = `relaying ${this.describe(s.intent)}`;
    await this.simulate(s);
    const gasLimit = await this.#gasLimit(what, s, o.maxGas ?? DEFAULT_RELAY_MAX_GAS);
    const receipt = await this.#c.calls.send(what, this.#c.market, "relay", s.intent, s.signature, { gasLimit });
    const events: RelayResult["events"] = [];
    let fee = 0n;
    for (const log of receipt.logs) {
      if (log.address.toLowerCase() !== String(this.#c.market.target).toLowerCase()) continue;
      const parsed = this.#c.market.interface.parseLog(log);
      if (!parsed) continue;
      events.push({ name: parsed.name, args: [...parsed.args] });
      if (parsed.name === "Relayed") fee = BigInt(parsed.args[4] as bigint);
    }
    return { txHash: receipt.hash, gasUsed: receipt.gasUsed, fee, events, receipt };
  }

  /** Every address that has relayed an intent up to block `toBlock` (Relayed events), in order of first relay. */
  async relayers(toBlock: number): Promise<string[]> {
    try {
      const logs = await this.#c.logs(this.#c.market, "Relayed", [], { toBlock });
      return [...new Set(logs.map((a) => String(a[2])))];
    } catch (e) {
      throw toChainError(e, "listing the relayers");
    }
  }

  /** Digest the signer signs, as the contract computes it (`hashIntent`). */
  hash(intent: Intent): Promise<string> {
    return this.#c.calls.read<string>("hashing an intent", this.#c.market, "hashIntent", intent);
  }

  /** "allocate(1, 2, 500) by 0xab… for account 1, fee 20000" — for progress lines and logs. */
  describe(intent: Intent): string {
    let call = "an unknown call";
    try {
      const f = this.#c.market.interface.parseTransaction({ data: intent.data });
      if (f) call = `${f.name}(${f.args.map(String).join(", ")})`;
    } catch {
      // Unknown selector: the contract refuses it with RelayNotAllowed; say so after the simulation.
    }
    return `${call} by ${intent.signer} for account ${intent.account}, fee ${intent.fee}`;
  }

  /** The relay's gas estimate from this client's address plus a quarter, at most `maxGas`; refuses above it. */
  async #gasLimit(what: string, s: SignedIntent, maxGas: bigint): Promise<bigint> {
    const from = await this.#c.signer?.getAddress();
    let estimate: bigint;
    try {
      estimate = await this.#c.market.getFunction("relay").estimateGas(s.intent, s.signature, { from });
    } catch (e) {
      throw toChainError(e, what);
    }
    if (estimate > maxGas) {
      throw new ChainError(
        "RELAY_GAS_TOO_HIGH",
        `${what} would take an estimated ${estimate} gas, above the relayer's cap of ${maxGas}: a contract signer's ` +
          "signature check or the call is too heavy for one fee; refused, nothing sent",
        { details: { estimate, maxGas } },
      );
    }
    const padded = estimate + estimate / 4n;
    return padded < maxGas ? padded : maxGas;
  }

  /** The next nonce of this client's random word (a fresh word after 256). */
  #nextNonce(): bigint {
    if (this.#used >= 256) {
      this.#word = toBigInt(randomBytes(31));
      this.#used = 0;
    }
    return (this.#word << 8n) | BigInt(this.#used++);
  }
}
