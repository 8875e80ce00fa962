/**
 * An ICON's transactions as relayed intents: installed into the ICON's MarketClient (`client.useRelay(sender)`),
 * it turns each market call an ICON makes — createAccount, allocate, returnToParent, closeAccount, requestFunding,
 * terminate — into an EIP-712 intent signed by the ICON key and has a yard submit it over /icon/relay/1.0.0
 * (relay.ts). The key never needs ETH; the relayer is repaid from `account` (the ICON's own budget account) within
 * the owner's caps, which the market enforces.
 *
 * Yards are tried in the order `yards()` gives them (the ICON's own yard first): one that cannot be reached, is
 * busy, asks more than the owner allows, or serves another market is skipped. Each yard gets its own copy of the
 * intent, naming it as the only relayer (nobody who sees the transaction can take its fee), and every copy carries
 * the nonce of the first: the market runs a nonce once, so whichever copy runs, no other can. Once a yard may have
 * sent its copy (the stream died, the chain failed at the yard, the named transaction does not show this intent),
 * nothing is reported as refused unless the chain shows it was not mined: a later "nonce used" means an earlier
 * copy ran, and its receipt is found by its Relayed event; when it cannot be found, the outcome is reported as
 * unknown (CHAIN_TIMEOUT) with the time until which a yard could still send it (intents live 180 s). A refusal
 * names the market's error only when the market's ABI has that name (a yard cannot make up codes). The result is
 * always the receipt as the ICON's own RPC reports it, with the ICON's Relayed event in it; nothing the yard says is
 * taken on trust but the transaction hash.
 *
 * @example
 *   client.useRelay(new IntentSender({ node, client, account, maxFee, yards: () => [ownYardAddrs] }));
 *   await client.allocate(account, child, amount); // relayed; the key holds 0 ETH
 */
import type { Contract, Provider, TransactionReceipt } from "ethers";
import type { Libp2p } from "@libp2p/interface";
import { multiaddr, type Multiaddr } from "@multiformats/multiaddr";
import { ChainError, isIconError, type ErrorCode } from "../errors.ts";
import type { SignedIntent } from "../eip712.ts";
import type { IntentClient } from "../chain/intents.ts";
import { contractLogs } from "../chain/logs.ts";
import type { RelayHook } from "../chain/transactions.ts";
import { relayIntent, relayTerms, type RelayError, type RelayTermsInfo } from "./relay.ts";

/** The market calls an ICON makes through a relayer (IconMarket's allow-list). */
export const RELAYED_CALLS = new Set([
  "createAccount",
  "allocate",
  "returnToParent",
  "closeAccount",
  "requestFunding",
  "terminate",
]);

/** How long a signed intent stays valid: a yard that holds it back can send it only this long. */
const INTENT_TTL_S = 180;
/** Refusals given before the yard sent anything. */
const NOT_SENT = [
  "RELAY_BAD_FRAME",
  "RELAY_WRONG_RELAYER",
  "RELAY_FEE_TOO_LOW",
  "RELAY_EXPIRED",
  "RELAY_BUSY",
] as const;
/** A yard's terms are asked again after this long. */
const TERMS_TTL_MS = 60_000;
/** How long the ICON's own RPC may lag behind the yard's before the receipt counts as missing. */
const RECEIPT_WAIT_MS = 30_000;

/** What the sender uses of the ICON's client. */
export interface IntentSenderClient {
  readonly intents: Pick<IntentClient, "sign">;
  readonly market: Contract;
  readonly provider: Provider;
  readonly deployment: { chainId: number | bigint; market: string };
  /** Widest eth_getLogs call (MarketClient.logWindow; default logs.ts's). */
  readonly logWindow?: number;
}

export interface IntentSenderOptions {
  node: Pick<Libp2p, "dialProtocol">;
  client: IntentSenderClient;
  /** The budget account that repays the relayer (one the key controls). */
  account: bigint;
  /** The owner's cap on one intent's fee (Policy.maxRelayFee of the ICON's application), read fresh. */
  maxFee: () => Promise<bigint>;
  /** Relaying yards in order of preference, each as its dialable multiaddrs (with /p2p/). */
  yards: () => string[][];
  onProgress?: (line: string) => void;
  now?: () => number;
  /**
   * Throws when this sender's ICON may not act (an agent instance that handed its ICON over, icon-agent/pair.ts):
   * asked before every signature (each yard's copy), so nothing is signed or sent after the fence.
   */
  gate?: () => void;
}

/** Relays an ICON's market calls; see the module header. */
export class IntentSender implements RelayHook {
  readonly #o: IntentSenderOptions;
  readonly #terms = new Map<string, { at: number; terms: RelayTermsInfo }>();

  constructor(o: IntentSenderOptions) {
    this.#o = o;
  }

  relays(c: Contract, fn: string): boolean {
    return RELAYED_CALLS.has(fn) && String(c.target).toLowerCase() === this.#o.client.deployment.market.toLowerCase();
  }

  async send(action: string, c: Contract, fn: string, args: unknown[]): Promise<TransactionReceipt> {
    const o = this.#o;
    o.gate?.();
    const now = o.now ?? Date.now;
    const since = await o.client.provider.getBlockNumber().catch(() => 0);
    const cap = await o.maxFee();
    const market = o.client.deployment.market.toLowerCase();
    // Two clocks judge the deadline: the market's (block time, at mining) and the yard's (its wall clock, which
    // wants time left to mine). A dev chain's time may run ahead (time travel) or lag (no block for minutes): the
    // deadline counts from the later of the two, so neither finds it too close.
    const chainS = BigInt((await o.client.provider.getBlock("latest").catch(() => null))?.timestamp ?? 0);
    const wallS = BigInt(Math.floor(now() / 1000));
    const deadline = (chainS > wallS ? chainS : wallS) + BigInt(INTENT_TTL_S);
    /** One nonce for every yard's copy of the intent: whichever runs first, no other can run after it. */
    let first: SignedIntent | undefined;
    /** A yard took the intent and may have sent it: from now on nothing may be reported as refused unless mined. */
    let handedOver = false;
    const problems: string[] = [];
    const problem = (label: string, e: unknown): void => {
      problems.push(`${label}: ${(e as Error).message.split("\n")[0]}`);
      this.#terms.delete(label);
    };
    for (const addrs of o.yards()) {
      if (addrs.length === 0) continue;
      const where: Multiaddr[] = addrs.map((a) => multiaddr(a));
      const label = addrs[0]!;
      let terms: RelayTermsInfo;
      try {
        terms = await this.#termsOf(label, where, now());
      } catch (e) {
        problem(label, e);
        continue;
      }
      if (terms.chainId !== BigInt(o.client.deployment.chainId) || terms.market.toLowerCase() !== market) {
        problems.push(`${label} relays to another market`);
        continue;
      }
      if (terms.fee > cap) {
        problems.push(`${label} asks ${terms.fee} token units per intent, above the owner's cap of ${cap}`);
        continue;
      }
      // Named for this yard alone (nobody else can submit it and take its fee), with the nonce of the first copy.
      // Asked before every copy, not only the first: a fence set while an earlier copy was out (a yard that did not
      // answer) stops the next one from being signed.
      try {
        o.gate?.();
      } catch (e) {
        if (!handedOver) throw e;
        throw new ChainError(
          "CHAIN_TIMEOUT",
          `${action}: stopped before another copy was signed (${(e as Error).message}); an earlier copy (nonce ${first!.intent.nonce}) may still run until ${deadline}`,
          { cause: e },
        );
      }
      const signed = await o.client.intents.sign(fn, args, o.account, {
        fee: terms.fee,
        relayer: terms.relayer,
        deadline,
        ...(first ? { nonce: first.intent.nonce } : {}),
      });
      first ??= signed;
      o.onProgress?.(`${action}: relayed through ${label} …`);
      let txHash: string;
      try {
        ({ txHash } = await relayIntent(o.node, where, signed));
      } catch (e) {
        if (isIconError(e, NOT_SENT)) {
          problem(label, e);
          continue;
        }
        if (isIconError(e, "RELAY_REFUSED")) {
          const code = (e as RelayError).contractError;
          if (handedOver || code === "LeaseNonceUsed") {
            const found = await this.#findMined(action, first, since);
            if (found) return found;
          }
          // Refused by the market's own simulation, and no yard had it before: no other yard will do better.
          if (!handedOver) throw this.#refusal(action, code, e);
          problem(label, e);
          continue;
        }
        // Anything else (the chain failed at the yard, the stream died, no answer in time): it may have been sent.
        handedOver = true;
        problem(label, e);
        continue;
      }
      try {
        return await this.#receipt(action, txHash, signed);
      } catch (e) {
        // The named transaction reverted or does not carry this intent: the nonce is still unused, or mined elsewhere.
        if (!isIconError(e, ["REVERTED", "NO_EVENT"])) throw e;
        handedOver = true;
        problem(label, e);
      }
    }
    if (first && handedOver) {
      const found = await this.#findMined(action, first, since);
      if (found) return found;
      throw new ChainError(
        "CHAIN_TIMEOUT",
        `${action}: outcome unknown — a yard may still send intent ${first.intent.nonce} until ${new Date(Number(first.intent.deadline) * 1000).toISOString()}; read the chain before doing it again (${problems.join("; ")})`,
      );
    }
    throw new ChainError(
      "CHAIN_UNREACHABLE",
      `${action}: no yard relayed it (${problems.join("; ") || "no relaying yard is known yet"})`,
    );
  }

  /**
   * The market's refusal as a ChainError with its error name as the code: only a name the market's ABI has, or a
   * relayer's gas cap (RELAY_GAS_TOO_HIGH); any other code a yard sends is not believed.
   */
  #refusal(action: string, code: string, cause: unknown): ChainError {
    let known: boolean;
    try {
      known = code === "RELAY_GAS_TOO_HIGH" || (code !== "" && this.#o.client.market.interface.getError(code) !== null);
    } catch {
      known = false;
    }
    return new ChainError(
      (known ? code : "CHAIN_FAILED") as ErrorCode,
      `${action} was refused: ${(cause as Error).message}`,
      {
        cause,
      },
    );
  }

  async #termsOf(label: string, where: Multiaddr[], now: number): Promise<RelayTermsInfo> {
    const known = this.#terms.get(label);
    if (known && now - known.at < TERMS_TTL_MS) return known.terms;
    const terms = await relayTerms(this.#o.node, where);
    this.#terms.set(label, { at: now, terms });
    return terms;
  }

  /** The receipt of `txHash` from the ICON's own RPC, with this intent's Relayed event in it. */
  async #receipt(action: string, txHash: string, signed: SignedIntent): Promise<TransactionReceipt> {
    const provider = this.#o.client.provider;
    const until = Date.now() + RECEIPT_WAIT_MS;
    for (;;) {
      const r = await provider.getTransactionReceipt(txHash);
      if (r) {
        if (r.status !== 1)
          throw new ChainError("REVERTED", `${action} was reverted by the contract (transaction ${txHash})`);
        if (!this.#carries(r, signed))
          throw new ChainError(
            "NO_EVENT",
            `${action}: the yard answered with transaction ${txHash}, which does not carry this intent`,
          );
        this.#o.onProgress?.(
          `${action}: confirmed in block ${r.blockNumber} (relayed, fee ${signed.intent.fee} units)`,
        );
        return r;
      }
      if (Date.now() > until)
        throw new ChainError("CHAIN_TIMEOUT", `${action}: the RPC does not know transaction ${txHash} the yard named`);
      await new Promise((ok) => setTimeout(ok, 250));
    }
  }

  #carries(r: TransactionReceipt, signed: SignedIntent): boolean {
    const market = this.#o.client.market;
    return r.logs.some((log) => {
      if (log.address.toLowerCase() !== this.#o.client.deployment.market.toLowerCase()) return false;
      const p = market.interface.parseLog(log);
      return (
        p?.name === "Relayed" &&
        String(p.args[0]).toLowerCase() === signed.intent.signer.toLowerCase() &&
        BigInt(p.args[3] as bigint) === signed.intent.nonce
      );
    });
  }

  /** The receipt of the transaction that ran `signed`, searched from block `since` (undefined if none did). */
  async #findMined(action: string, signed: SignedIntent, since: number): Promise<TransactionReceipt | undefined> {
    const market = this.#o.client.market;
    const filter = market.filters.Relayed!(signed.intent.signer, signed.intent.account);
    const events = await contractLogs(market, filter, { fromBlock: since, window: this.#o.client.logWindow });
    for (const ev of events) {
      const r = await this.#o.client.provider.getTransactionReceipt(ev.transactionHash);
      if (r && this.#carries(r, signed)) return this.#receipt(action, ev.transactionHash, signed);
    }
    return undefined;
  }
}
