/**
 * MarketClient's calls to its contracts (client.ts composes this room): reads that map a revert to a ChainError
 * sentence, and writes sent one at a time per client (so nonces never collide), each waited for with a bound and
 * reported as progress lines; a nonce another sender took is retried with a fresh one, at most twice — only when no
 * endpoint knows the signed transaction's hash (it is signed before it is broadcast, so the hash is always known). Every write is
 * an EIP-1559 transaction within the client's fee cap (fees.ts: refused with FEE_ABOVE_CAP, nothing sent, when the
 * market asks more), replaced with the same nonce and higher fees while it is stuck (replace.ts), and its gas is
 * added to the client's spend, per function, whether it succeeded or reverted.
 */
import {
  NonceManager,
  Transaction,
  type Provider,
  type Contract,
  type ContractTransactionReceipt,
  type Signer,
  type TransactionReceipt,
} from "ethers";
import { ChainError } from "../errors.ts";
import type { TokenInfo } from "../units.ts";
import { toChainError } from "./errors.ts";
import type { ChainFees } from "./fees.ts";
import { waitForReceipt } from "./receipt.ts";
import { Replacer, type SentCall } from "./replace.ts";
import { RpcEndpoints } from "./rpc.ts";

/** How long a transaction may take to be mined before the action fails (it may still be mined later). */
const TX_TIMEOUT_MS = 120_000;

/**
 * Sends some of a client's calls another way than a transaction of its own: an ICON's market calls become intents
 * a yard relays (protocol/relay/sender.ts), so its key needs no ETH.
 */
export interface RelayHook {
  /** True when `fn` of `c` goes through this hook. */
  relays(c: Contract, fn: string): boolean;
  /** Has `fn(...args)` of `c` run; resolves with the mined receipt (ChainError sentences, as a send). */
  send(action: string, c: Contract, fn: string, args: unknown[]): Promise<TransactionReceipt>;
}

/** What the calls use of the client. */
export interface ChainCallsComponents {
  signer: Signer | undefined;
  /** When set, the calls it takes are relayed instead of sent (queued with the others all the same). */
  relay?: RelayHook;
  tokenInfo: TokenInfo;
  /** The fee cap and bounds, the quote, and the spend every mined transaction is added to. */
  fees: ChainFees;
  /** Called with a line of progress for every transaction (submitted, confirmed). */
  onProgress: (line: string) => void;
}

/** Reads and serialized writes of one client. */
export class ChainCalls {
  readonly #c: ChainCallsComponents;
  /** Transactions from one client go out one at a time, so nonces never collide (and reset() is safe). */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(components: ChainCallsComponents) {
    this.#c = { ...components };
  }

  /** Relays the calls `hook` takes from now on (undefined: sends them all again). */
  useRelay(hook: RelayHook | undefined): void {
    this.#c.relay = hook;
  }

  /** Calls view or pure function `fn` of `c`; a failure is a ChainError saying `action` failed. */
  async read<T>(action: string, c: Contract, fn: string, ...args: unknown[]): Promise<T> {
    try {
      return (await c.getFunction(fn).staticCall(...args)) as T;
    } catch (e) {
      throw toChainError(e, action, this.#c.tokenInfo);
    }
  }

  /** Sends `fn(...args)` to `c` after this client's earlier transactions; resolves with its receipt. */
  send(action: string, c: Contract, fn: string, ...args: unknown[]): Promise<ContractTransactionReceipt> {
    const run = this.#queue.then(() => this.#sendNow(action, c, fn, ...args));
    this.#queue = run.catch(() => {});
    return run;
  }

  async #sendNow(action: string, c: Contract, fn: string, ...args: unknown[]): Promise<ContractTransactionReceipt> {
    const relay = this.#c.relay;
    if (relay?.relays(c, fn)) return (await relay.send(action, c, fn, args)) as ContractTransactionReceipt;
    if (!this.#c.signer)
      throw new ChainError("NO_SIGNER", `${action} needs a key: pass --keystore <file> or set ICON_PRIVATE_KEY`);
    const signer = this.#c.signer;
    const { fees } = this.#c;
    for (let attempt = 1; ; attempt++) {
      try {
        const quote = await fees.quote(action);
        const populated = await c.getFunction(fn).populateTransaction(...args);
        const provider = c.runner!.provider!;
        // Signed here and broadcast after, so the hash is known whatever the broadcast answers.
        const request = await signer.populateTransaction({
          ...populated,
          type: 2,
          maxFeePerGas: quote.maxFeePerGas,
          maxPriorityFeePerGas: quote.maxPriorityFeePerGas,
        });
        // A signer that cannot sign without sending (Hardhat's own, a browser wallet's) sends as before: its answer,
        // if lost, cannot be looked up by a hash known in advance.
        const signed = await signer.signTransaction(request).catch(() => undefined);
        let tx: SentCall & { hash: string | null; from: string | null };
        if (signed === undefined) tx = await signer.sendTransaction(request);
        else {
          tx = Transaction.from(signed);
          try {
            await provider.broadcastTransaction(signed);
          } catch (e) {
            // "Nonce too low" for bytes that may have reached a node before: ours is the transaction that took the
            // nonce, unless no endpoint knows its hash (then another sender's did, and a fresh nonce is sent below).
            if (!nonceTaken(e) || (await knownAnywhere(provider, tx.hash!)) === false) throw e;
          }
          if (signer instanceof NonceManager) signer.increment();
        }
        this.#c.onProgress(`${action}: sent ${tx.hash}, waiting for confirmation …`);
        const replacer = new Replacer({
          provider,
          // Replacements name their nonce: the NonceManager would give them a new one.
          signer: signer instanceof NonceManager ? signer.signer : signer,
          sent: tx,
          sentAtBlock: quote.block,
          fees: fees.options,
          action,
          onProgress: this.#c.onProgress,
        });
        // One confirmation, bounded: a stalled chain fails the action instead of hanging it. Polled by
        // waitForReceipt, not tx.wait(): that one can end the process with an unhandled rejection while the RPC is
        // down (receipt.ts).
        const receipt = await waitForReceipt(
          provider,
          { hash: tx.hash!, from: tx.from!, nonce: tx.nonce },
          {
            action,
            timeoutMs: TX_TIMEOUT_MS,
            replace: (watch) => replacer.replace(watch),
            stuckNote: () => replacer.note,
            onMined: (r) => fees.spent.add(fn, r),
          },
        );
        this.#c.onProgress(`${action}: confirmed in block ${receipt.blockNumber} (gas ${receipt.gasUsed})`);
        return receipt as ContractTransactionReceipt;
      } catch (e) {
        if (signer instanceof NonceManager) signer.reset();
        // The node refused the nonce before the transaction went anywhere (another sender with this key — e.g. a
        // process that just stopped — used it): sending again with a fresh nonce is the same transaction, once.
        if (attempt < 3 && nonceTaken(e)) {
          this.#c.onProgress(`${action}: nonce already used, sending again with a fresh one`);
          continue;
        }
        throw toChainError(e, action, this.#c.tokenInfo);
      }
    }
  }
}

/**
 * Whether any endpoint knows transaction `hash` (every endpoint of an RpcEndpoints; undefined: none could be asked,
 * so it may have been sent).
 */
async function knownAnywhere(provider: Provider, hash: string): Promise<boolean | undefined> {
  if (provider instanceof RpcEndpoints) return provider.knownToAny(hash);
  try {
    return (await provider.getTransaction(hash)) !== null;
  } catch {
    return undefined;
  }
}

/** The node refused a transaction because its nonce was already used (nothing was sent). */
function nonceTaken(e: unknown): boolean {
  const code = (e as { code?: unknown }).code;
  return code === "NONCE_EXPIRED" || /nonce (has already been used|too low)/i.test(String((e as Error).message ?? e));
}
