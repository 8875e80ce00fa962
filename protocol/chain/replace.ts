/**
 * Replacing a stuck transaction: one not mined after `replaceAfterBlocks` blocks (or `replaceAfterMs`) is sent again
 * with the same nonce and the same call, its max fee and tip raised by at least 12.5 % (fees.ts `bumped`) and to
 * what the market asks now, never above the cap (the tip may so pass the configured tip bound, `maxPriorityFee`,
 * which bounds the first copy: a node takes a replacement only with a higher tip). Every copy has one nonce, so
 * exactly one is mined: the caller gets that one's receipt (receipt.ts watches them all, each from before its
 * broadcast) and the call has one effect. At the cap a transaction is no longer replaced, only waited for, and the
 * timeout's sentence says so.
 *
 * @example
 *   const r = new Replacer({ provider, signer: inner, sent: tx, fees, action, onProgress });
 *   await waitForReceipt(provider, tx, { action, timeoutMs, replace: (w) => r.replace(w), stuckNote: () => r.note });
 */
import { isError, Transaction, type AccessList, type Provider, type Signer } from "ethers";
import { isIconError } from "../errors.ts";
import { bumped, formatGasPrice, quoteFees, type FeeOptions } from "./fees.ts";

/** What a replacement copies of the transaction first sent (a TransactionResponse or a signed Transaction). */
export interface SentCall {
  to: string | null;
  data: string;
  value: bigint;
  gasLimit: bigint;
  chainId: bigint;
  nonce: number;
  accessList: AccessList | null;
  maxFeePerGas: bigint | null;
  maxPriorityFeePerGas: bigint | null;
}

export interface ReplacerInit {
  provider: Provider;
  /** Sends with the nonce given (a NonceManager's inner signer). */
  signer: Signer;
  /** The first transaction sent. */
  sent: SentCall;
  /** The latest block when it was sent (its fee quote's). */
  sentAtBlock?: number;
  fees: FeeOptions;
  action: string;
  onProgress: (line: string) => void;
}

/** Sends replacements of one transaction while it is stuck. */
export class Replacer {
  readonly #o: ReplacerInit;
  #fees: { maxFeePerGas: bigint; maxPriorityFeePerGas: bigint };
  #since: { block?: number; ms: number };
  #note: string | undefined;
  /** Replacements sent. */
  count = 0;

  constructor(init: ReplacerInit) {
    this.#o = init;
    this.#since = { block: init.sentAtBlock, ms: Date.now() };
    this.#fees = {
      maxFeePerGas: init.sent.maxFeePerGas ?? 0n,
      maxPriorityFeePerGas: init.sent.maxPriorityFeePerGas ?? 0n,
    };
  }

  /** Why the transaction may still be stuck (for the timeout's sentence), if it is known. */
  get note(): string | undefined {
    return this.#note;
  }

  /**
   * Sends a replacement if the transaction has waited past the bound; returns its hash (undefined: none sent).
   * `watch` gets the replacement's hash once it is signed, before it is broadcast (it may be mined even when the
   * broadcast's answer is lost).
   */
  async replace(watch?: (hash: string) => void): Promise<string | undefined> {
    const { provider, fees, action, sent } = this.#o;
    const head = await provider.getBlockNumber();
    this.#since.block ??= head;
    const blocks = head - this.#since.block;
    if (blocks < fees.replaceAfterBlocks && Date.now() - this.#since.ms < fees.replaceAfterMs) return undefined;
    this.#since = { block: head, ms: Date.now() };
    let market;
    try {
      market = await quoteFees(provider, fees, action);
    } catch (e) {
      // A ChainError here would end the wait for a transaction that may still be mined: note it and wait on.
      if (!isIconError(e)) throw e;
      this.#note =
        e.code === "FEE_ABOVE_CAP"
          ? `the chain's base fee is above the cap of ${formatGasPrice(fees.maxFeePerGas)}, so it was not replaced`
          : `it could not be replaced: ${e.message}`;
      return undefined;
    }
    const min = bumped(this.#fees);
    const max = (a: bigint, b: bigint): bigint => (a > b ? a : b);
    let maxFeePerGas = max(min.maxFeePerGas, market.maxFeePerGas);
    if (maxFeePerGas > fees.maxFeePerGas) maxFeePerGas = fees.maxFeePerGas;
    let maxPriorityFeePerGas = max(min.maxPriorityFeePerGas, market.maxPriorityFeePerGas);
    if (maxPriorityFeePerGas > maxFeePerGas) maxPriorityFeePerGas = maxFeePerGas;
    if (maxFeePerGas < min.maxFeePerGas || maxPriorityFeePerGas < min.maxPriorityFeePerGas) {
      this.#note = `its max fee of ${formatGasPrice(this.#fees.maxFeePerGas)} is within 12.5 % of the cap of ${formatGasPrice(fees.maxFeePerGas)}, so it can only be waited for`;
      return undefined;
    }
    // Signed first and its hash handed to `watch` before the broadcast: an answer lost on the way must not lose the
    // hash of a copy that may be mined.
    const signed = Transaction.from(
      await this.#o.signer.signTransaction({
        to: sent.to,
        data: sent.data,
        value: sent.value,
        gasLimit: sent.gasLimit,
        chainId: sent.chainId,
        nonce: sent.nonce,
        accessList: sent.accessList,
        type: 2,
        maxFeePerGas,
        maxPriorityFeePerGas,
      }),
    );
    const hash = signed.hash!;
    watch?.(hash);
    try {
      await provider.broadcastTransaction(signed.serialized);
    } catch (e) {
      // Mined meanwhile (the nonce is used: the poll finds its receipt) or refused as too cheap by this node: wait on.
      // "Already known": this copy is in the node's pool — sent.
      if (!knownCopy(e)) {
        if (isError(e, "NONCE_EXPIRED") || isError(e, "REPLACEMENT_UNDERPRICED") || stale(e)) return undefined;
        throw e;
      }
    }
    this.#fees = { maxFeePerGas, maxPriorityFeePerGas };
    this.#note = undefined;
    this.count++;
    this.#o.onProgress(
      `${action}: not mined after ${blocks} block(s); sent again as ${hash} (nonce ${sent.nonce}, max fee ${formatGasPrice(maxFeePerGas)}, tip ${formatGasPrice(maxPriorityFeePerGas)})`,
    );
    return hash;
  }
}

/** The node already has this very copy ("already known", "known transaction"): it was sent. */
function knownCopy(e: unknown): boolean {
  return /already known|known transaction/i.test(String((e as Error).message ?? e));
}

/** A node's refusal of a replacement that changes nothing: the nonce was used, the copy is known or too cheap. */
function stale(e: unknown): boolean {
  return /nonce (has already been used|too low)|underpriced/i.test(String((e as Error).message ?? e));
}
