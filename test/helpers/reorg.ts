/**
 * Reorganisations of the embedded Hardhat chain, as a client polling `eth_blockNumber`, `eth_getLogs` and receipts
 * sees one on a public network: blocks it has read (and the transactions, receipts and logs in them) are replaced by
 * other blocks at the same heights, and the new chain is at least as long as the old one.
 *
 * EDR (Hardhat 3) has no reorg call of its own. `evm_snapshot` at block N, then later `evm_revert` back to it, throws
 * away every block above N — and the transactions waiting in the mempool (checked: EDR keeps none of them). So
 * `reorg()` first reads the signed transactions of the blocks it is about to drop, reverts, sends back the ones the
 * caller keeps (`eth_sendRawTransaction`: same hash, same nonce, as a node's mempool re-includes a reorganised
 * transaction), and mines `depth + longer` new blocks with mining paused, so none of the new blocks is the old one
 * (the kept transactions land in the first, the rest are empty). Dropping a transaction also leaves its sender's
 * later kept transactions waiting for the missing nonce: that is what a node does too; `reorg()` reports them.
 *
 * Mining mode: the chain is left as the caller says it ran (`mining`), automine and/or interval mining.
 *
 * Not atomic as a polling client sees it: between `evm_revert` and `hardhat_mine` (the kept transactions sent back
 * in between, a few milliseconds) the head is the fork point, lower than before, and the kept transactions are
 * unknown to the node. A yard polling then reads a head that went back (its follower reads nothing new: its cursor
 * is past head − confirmations) and may take a kept transaction for vanished: an opening is held as pending and
 * adopted again by its offer hash when the new chain has it, a confirmStart or claim is made again and refused; a
 * vanished nonce it fills may make the node refuse the helper's kept transaction ("nonce too low") — it is then in
 * `stranded`, and the yard goes the dropped transaction's way. The window is milliseconds against a 100 ms poll.
 *
 * @example
 *   const point = await markReorg(provider);            // snapshot at the head, N
 *   await icon.terminate(leaseId);                      // the system acts on blocks N+1..
 *   const r = await reorg(provider, point, { drop: (tx) => tx.hash === terminateHash, mining: { auto: true } });
 *   // blocks N+1..N+r.depth are gone; the termination is not on the chain any more
 */
import { Transaction, type JsonRpcProvider, type TransactionResponse } from "ethers";

/** What a reorganisation needs of a provider: a JsonRpcProvider, or Hardhat's in-process one. */
export type ReorgProvider = Pick<
  JsonRpcProvider,
  "getBlockNumber" | "getBlock" | "getTransaction" | "getTransactionReceipt"
> & {
  send(method: string, params: unknown[]): Promise<unknown>;
};
/** Where a reorganisation will fork: the snapshot taken at block `block`. */
export interface ReorgPoint {
  snapshot: string;
  block: number;
}

/** How the chain mined before the reorganisation, restored after it. */
export interface MiningMode {
  /** Every transaction mined at once (Hardhat's default). */
  auto: boolean;
  /** A block every this many ms (0 or absent: none). */
  intervalMs?: number;
}

export interface ReorgOptions {
  /** Transactions of the dropped blocks that the new chain does not contain (default: none dropped). */
  drop?: (tx: TransactionResponse) => boolean;
  /** Blocks beyond the old head the new chain has (default 0: exactly as long). */
  longer?: number;
  /** The new chain's blocks are this many seconds later than the old ones would have been (evm_increaseTime). */
  laterS?: number;
  /**
   * The new chain's first block has this timestamp (unix s, above the fork point's), the next ones a second apart,
   * and the chain's clock goes on from there: a new chain whose blocks are earlier than the replaced ones were.
   */
  timestamp?: number;
  mining: MiningMode;
}

export interface ReorgResult {
  /** Blocks replaced: the old head − the fork point. */
  depth: number;
  /** The old head and the new one. */
  oldHead: number;
  newHead: number;
  /** Hashes of the transactions the new chain dropped, and of those it re-included (in their old order). */
  dropped: string[];
  kept: string[];
  /** Kept transactions that could not be mined (a sender's earlier nonce was dropped): waiting in the mempool. */
  stranded: string[];
}

/** Takes the snapshot a later `reorg()` forks from, at the current head. */
export async function markReorg(provider: ReorgProvider): Promise<ReorgPoint> {
  const block = await provider.getBlockNumber();
  const snapshot = (await provider.send("evm_snapshot", [])) as string;
  return { snapshot, block };
}

/**
 * Replaces every block above `point.block` by other blocks (see the module header); returns what it did. The
 * snapshot is used up (EDR forgets it and every later one on revert).
 */
export async function reorg(provider: ReorgProvider, point: ReorgPoint, o: ReorgOptions): Promise<ReorgResult> {
  const send = (method: string, params: unknown[] = []): Promise<unknown> => provider.send(method, params);
  await send("evm_setIntervalMining", [0]);
  await send("evm_setAutomine", [false]);
  try {
    const oldHead = await provider.getBlockNumber();
    if (oldHead <= point.block) throw new Error(`nothing to reorganise: the head ${oldHead} is the fork point`);
    const txs: TransactionResponse[] = [];
    for (let n = point.block + 1; n <= oldHead; n++) {
      const b = await provider.getBlock(n, true);
      if (!b) throw new Error(`block ${n} vanished before the reorganisation`);
      txs.push(...b.prefetchedTransactions);
    }
    // What waited in the mempool goes back into it as well (EDR drops it on revert).
    const pending = (await send("eth_getBlockByNumber", ["pending", false])) as { transactions: string[] } | null;
    const waiting: TransactionResponse[] = [];
    for (const h of pending?.transactions ?? []) {
      const t = await provider.getTransaction(h);
      if (t) waiting.push(t);
    }
    const dropped = txs.filter((t) => o.drop?.(t) ?? false);
    const kept = [...txs.filter((t) => !dropped.includes(t)), ...waiting];
    const raw = kept.map((t) => Transaction.from(t).serialized);
    if (!(await send("evm_revert", [point.snapshot]))) throw new Error(`snapshot ${point.snapshot} is unknown`);
    if (o.laterS) await send("evm_increaseTime", [o.laterS]);
    if (o.timestamp !== undefined) await send("evm_setNextBlockTimestamp", [o.timestamp]);
    // A node refuses one whose nonce the sender filled meanwhile (a yard polling inside the window, see above): it
    // has no receipt afterwards, so it is reported in `stranded`.
    for (const r of raw) await send("eth_sendRawTransaction", [r]).catch(() => undefined);
    const depth = oldHead - point.block;
    await send("hardhat_mine", ["0x" + (depth + (o.longer ?? 0)).toString(16), "0x1"]);
    const stranded: string[] = [];
    for (const t of kept) if (!(await provider.getTransactionReceipt(t.hash))) stranded.push(t.hash);
    return {
      depth,
      oldHead,
      newHead: await provider.getBlockNumber(),
      dropped: dropped.map((t) => t.hash),
      kept: kept.map((t) => t.hash),
      stranded,
    };
  } finally {
    await send("evm_setAutomine", [o.mining.auto]);
    if (o.mining.intervalMs) await send("evm_setIntervalMining", [o.mining.intervalMs]);
  }
}
