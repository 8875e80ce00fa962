/**
 * An ICON's transactions as relayed intents: installed into the ICON's MarketClient (`client.useRelay(sender)`),
 * it turns each market call an ICON makes — createAccount, allocate, returnToParent, closeAccount, requestFunding,
 * terminate — into an EIP-712 intent signed by the ICON key and has a yard submit it over /icon/relay/1.0.0
 * (relay.ts). The key never needs ETH; the relayer is repaid from `account` (the ICON's own budget account) within
 * the owner's caps, which the market enforces.
 *
 * Yards are tried in the order `yards()` gives them (the ICON's own yard first): one that cannot be reached, is
 * busy, asks more than the owner allows, or serves another market is skipped. An intent is signed once: when a yard
 * fails after it may have sent the transaction (the stream died, the chain failed), the same signed intent goes to
 * the next yard — the market runs a nonce once, so it can never run twice — and a refusal because the nonce is
 * already used means an earlier yard did send it: its receipt is found by its Relayed event. The result is always
 * the receipt as the ICON's own RPC reports it, with the ICON's Relayed event in it; nothing the yard says is
 * taken on trust but the transaction hash.
 *
 * @example
 *   client.useRelay(new IntentSender({ node, client, account, maxFee, yards: () => [ownYardAddrs] }));
 *   await client.allocate(account, child, amount); // relayed; the key holds 0 ETH
 */
import { ZeroAddress, type Contract, type Provider, type TransactionReceipt } from "ethers";
import type { Libp2p } from "@libp2p/interface";
import { multiaddr, type Multiaddr } from "@multiformats/multiaddr";
import { ChainError, isIconError, type ErrorCode } from "../errors.ts";
import type { SignedIntent } from "../eip712.ts";
import type { IntentClient } from "../chain/intents.ts";
import type { RelayHook } from "../chain/transactions.ts";
import { relayIntent, relayTerms, type RelayTermsInfo } from "./relay.ts";

/** The market calls an ICON makes through a relayer (IconMarket's allow-list). */
export const RELAYED_CALLS = new Set([
  "createAccount",
  "allocate",
  "returnToParent",
  "closeAccount",
  "requestFunding",
  "terminate",
]);

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
    const now = o.now ?? Date.now;
    const since = await o.client.provider.getBlockNumber().catch(() => 0);
    const cap = await o.maxFee();
    let signed: SignedIntent | undefined;
    /** A yard may have sent it: a later "nonce used" means it was mined. */
    let maybeSent = false;
    const problems: string[] = [];
    for (const addrs of o.yards()) {
      if (addrs.length === 0) continue;
      const where: Multiaddr[] = addrs.map((a) => multiaddr(a));
      const label = addrs[0]!;
      try {
        const terms = await this.#termsOf(label, where, now());
        const market = o.client.deployment.market.toLowerCase();
        if (terms.chainId !== BigInt(o.client.deployment.chainId) || terms.market.toLowerCase() !== market) {
          problems.push(`${label} relays to another market`);
          continue;
        }
        if (signed && signed.intent.fee < terms.fee) {
          problems.push(`${label} asks ${terms.fee} units, more than the intent already signed pays`);
          continue;
        }
        if (!signed) {
          if (terms.fee > cap) {
            problems.push(`${label} asks ${terms.fee} token units per intent, above the owner's cap of ${cap}`);
            continue;
          }
          // The relayer is left open: the same signed intent may have to go to the next yard.
          signed = await o.client.intents.sign(fn, args, o.account, { fee: terms.fee, relayer: ZeroAddress });
        }
        o.onProgress?.(`${action}: relayed through ${label} …`);
        const { txHash } = await relayIntent(o.node, where, signed);
        return await this.#receipt(action, txHash, signed);
      } catch (e) {
        if (isIconError(e, "RELAY_REFUSED")) {
          const code = (e as { contractError?: string }).contractError;
          if (signed && maybeSent && code === "LeaseNonceUsed") {
            const found = await this.#findMined(action, signed, since);
            if (found) return found;
          }
          // The market refuses it: no other yard will do better. The error carries the market's reason.
          throw new ChainError((code || "CHAIN_FAILED") as ErrorCode, `${action} was refused: ${e.message}`, {
            cause: e,
          });
        }
        if (isIconError(e, ["RELAY_CHAIN", "RELAY_INTERNAL"]) || (signed && !isIconError(e))) maybeSent = true;
        problems.push(`${label}: ${(e as Error).message.split("\n")[0]}`);
        this.#terms.delete(label);
      }
    }
    if (signed && maybeSent) {
      const found = await this.#findMined(action, signed, since);
      if (found) return found;
    }
    throw new ChainError(
      "CHAIN_UNREACHABLE",
      `${action}: no yard relayed it (${problems.join("; ") || "no relaying yard is known yet"})`,
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
    const events = await market.queryFilter(
      market.filters.Relayed!(signed.intent.signer, signed.intent.account),
      since,
    );
    for (const ev of events) {
      const r = await this.#o.client.provider.getTransactionReceipt(ev.transactionHash);
      if (r && this.#carries(r, signed)) return this.#receipt(action, ev.transactionHash, signed);
    }
    return undefined;
  }
}
