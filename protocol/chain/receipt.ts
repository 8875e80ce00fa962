/**
 * Sending a transaction and waiting for its receipt so that an RPC outage is an error the caller gets, never an
 * unhandled rejection that ends the process.
 *
 * `OutageSafeNonceManager`: ethers' NonceManager.sendTransaction asks for the nonce, then awaits the transaction's
 * population (gas estimate, fees) before it awaits the nonce; when the RPC is down both fail, the population's
 * error is thrown, and the nonce query's rejection is left without a handler — Node ends the process. Seen as a
 * yard's test run dying with `Unhandled promise rejection: connect ECONNREFUSED` when its claim went out as the
 * chain went away; reproduced in test/mocha/protocol/receipt.test.ts.
 *
 * `waitForReceipt`, instead of ethers' `TransactionResponse.wait()`:
 * `wait()` polls for the receipt through block subscribers whose async handlers' promises nobody holds (ethers'
 * OnBlockSubscriber; `receipt.confirmations()` in its listener): a node call that fails there is an unhandled
 * rejection too (ethers-io/ethers.js#4822, open). A yard or an agent must ride out an outage, so it polls
 * `eth_getTransactionReceipt` itself: a failed poll is retried until the deadline, and every rejection is its own.
 *
 * @example
 *   const tx = await contract.getFunction("claim").send(id);
 *   const receipt = await waitForReceipt(provider, tx, { action: "claiming lease 7", timeoutMs: 120_000 });
 */
import {
  NonceManager,
  type Provider,
  type TransactionReceipt,
  type TransactionRequest,
  type TransactionResponse,
} from "ethers";
import { ChainError } from "../errors.ts";

export interface WaitForReceiptOptions {
  /** What the transaction does, for the error sentences ("claiming lease 7"). */
  action: string;
  /** Give up after this long (ms). */
  timeoutMs: number;
  /** Between polls (ms); default 250. */
  pollMs?: number;
  /**
   * Asked every few empty polls (≈ 1 s): may send a replacement of the transaction (same nonce, higher fees) and
   * return its hash, which is then watched too — as is every hash given to `watch` (a replacement signed, whose
   * broadcast may fail after reaching a node); the first of them mined is the receipt (one nonce: one is mined).
   */
  replace?: (watch: (hash: string) => void) => Promise<string | undefined>;
  /** Given every mined receipt before its status is judged (a reverted transaction's gas is spent too). */
  onMined?: (r: TransactionReceipt) => void;
  /** Added to the CHAIN_TIMEOUT sentence (why it may be stuck). */
  stuckNote?: () => string | undefined;
}

/** What is needed of a sent transaction. */
export interface SentTransaction {
  hash: string;
  from: string;
  nonce: number;
}

/** Polls after every this many empty answers whether another transaction took the nonce. */
const REPLACEMENT_CHECK_EVERY = 8;
/** Asks `replace` after every this many empty answers. */
const STUCK_CHECK_EVERY = 4;

/**
 * The receipt of `tx` — or of a replacement `o.replace` sent — once it is mined (one confirmation). Throws a ChainError
 * when it was mined but reverted (REVERTED), when a transaction with its nonce was mined that is none of them
 * (TX_REPLACED), or when no receipt came within `timeoutMs` (CHAIN_TIMEOUT, naming the last error the node gave).
 */
export async function waitForReceipt(
  provider: Provider,
  tx: SentTransaction,
  o: WaitForReceiptOptions,
): Promise<TransactionReceipt> {
  const deadline = Date.now() + o.timeoutMs;
  const pollMs = o.pollMs ?? 250;
  const hashes = [tx.hash];
  let lastError: unknown;
  const mined = (r: TransactionReceipt): TransactionReceipt => {
    o.onMined?.(r);
    if (r.status === 0)
      throw new ChainError(
        "REVERTED",
        `${o.action} was reverted by the contract (transaction ${r.hash}, block ${r.blockNumber})`,
      );
    return r;
  };
  /** The receipt of whichever of the hashes is mined (newest first: a replacement is likelier). */
  const anyReceipt = async (): Promise<TransactionReceipt | null> => {
    for (const h of [...hashes].reverse()) {
      const r = await provider.getTransactionReceipt(h);
      if (r) return r;
    }
    return null;
  };
  for (let i = 0; ; i++) {
    try {
      const r = await anyReceipt();
      if (r) return mined(r);
      if (i > 0 && i % REPLACEMENT_CHECK_EVERY === 0) {
        const next = await provider.getTransactionCount(tx.from, "latest");
        if (next > tx.nonce) {
          // The nonce is used: by one of these transactions (its receipt just arrived) or by another one.
          const again = await anyReceipt();
          if (again) return mined(again);
          throw new ChainError(
            "TX_REPLACED",
            `${o.action} did not happen: another transaction from ${tx.from} with nonce ${tx.nonce} was mined instead of ${hashes.join(" or ")}`,
          );
        }
      }
      if (o.replace && i > 0 && i % STUCK_CHECK_EVERY === 0) {
        const watch = (h: string): void => {
          if (!hashes.includes(h)) hashes.push(h);
        };
        const h = await o.replace(watch);
        if (h !== undefined) watch(h);
      }
    } catch (e) {
      if (e instanceof ChainError) throw e;
      lastError = e; // the node did not answer this time: ask again until the deadline
    }
    if (Date.now() >= deadline) {
      const why = lastError instanceof Error ? `; the node last said: ${lastError.message.split("\n")[0]}` : "";
      const stuck = o.stuckNote?.();
      throw new ChainError(
        "CHAIN_TIMEOUT",
        `${o.action}: no receipt for transaction ${hashes.join(" or ")} within ${Math.round(o.timeoutMs / 1000)} s${stuck ? `; ${stuck}` : ""}${why}`,
        { cause: lastError },
      );
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** ethers' NonceManager whose sendTransaction leaves no rejection without a handler (see the module header). */
export class OutageSafeNonceManager extends NonceManager {
  override async sendTransaction(tx: TransactionRequest): Promise<TransactionResponse> {
    const nonce = this.getNonce("pending");
    // Awaited below; handled here as well, for when the population fails first.
    nonce.catch(() => {});
    this.increment();
    const populated = await this.signer.populateTransaction(tx);
    populated.nonce = await nonce;
    return await this.signer.sendTransaction(populated);
  }
}
