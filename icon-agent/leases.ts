/**
 * What the chain says about an ICON's leases and replica keys, read and used by recovery (recovery.ts) and the
 * moves (moves.ts) alike: which leases are live, which one renews a placement, the derived key of a replica, and
 * the gas a replica's key gives back.
 *
 * @example
 *   const open = await liveLeases(client, account);
 *   const key = new Wallet(replicaKey(iconKey, 1), provider);
 *   await sweepGas(key, parentAddress);
 */
import { concat, keccak256, toBeHex, toUtf8Bytes, type Signer } from "ethers";
import { waitForReceipt, type LeaseRecord, type MarketClient } from "../protocol/index.ts";
import type { Placement } from "./state.ts";

/** Whether a lease in `state` still runs or is about to (its money is committed). */
export function live(state: string): boolean {
  return state === "Running" || state === "Scheduled";
}

/** The live leases of `account`. */
export async function liveLeases(client: MarketClient, account: bigint): Promise<bigint[]> {
  const out: bigint[] = [];
  for (const id of await client.leasesOf(account)) if (live((await client.lease(id)).state)) out.push(id);
  return out;
}

/** A live lease of `account` at the placement's yard that starts where the placement ends (its renewal). */
export async function successorOf(
  client: MarketClient,
  account: bigint,
  p: Placement,
): Promise<(LeaseRecord & { id: bigint }) | undefined> {
  for (const id of await client.leasesOf(account)) {
    const l = await client.lease(id);
    if (live(l.state) && l.provider.toLowerCase() === p.yard.operator.toLowerCase() && l.start === p.end)
      return { ...l, id };
  }
  return undefined;
}

/**
 * The private key of the n-th replica of the ICON whose key is `parentKey`: keccak256(parentKey ‖ "icon-replica-key"
 * ‖ n). Derived rather than random so that a crash at any point of a replication leaves an account the parent can
 * still find and unwind; the parent controls the replica's account on chain anyway.
 */
export function replicaKey(parentKey: string, n: number): string {
  return keccak256(concat([parentKey, toUtf8Bytes("icon-replica-key"), toBeHex(n, 32)]));
}

/**
 * Sends the ETH `from` holds to `to`, less what one plain transfer may cost at most (21 000 gas × max fee; the
 * unused part of that stays with `from` as dust). Returns the amount sent: 0 when the balance would not pay for the
 * transfer twice over. For the gas a parent handed a replica's key: a replica that ends gives it back.
 */
export async function sweepGas(from: Signer, to: string): Promise<bigint> {
  const provider = from.provider!;
  const [balance, fee] = await Promise.all([provider.getBalance(await from.getAddress()), provider.getFeeData()]);
  const maxFee = fee.maxFeePerGas ?? fee.gasPrice ?? 0n;
  const cost = 21_000n * maxFee;
  if (maxFee === 0n || balance <= 2n * cost) return 0n;
  const value = balance - cost;
  const eip1559 = fee.maxFeePerGas !== null;
  try {
    const tx = await from.sendTransaction({
      to,
      value,
      gasLimit: 21_000n,
      ...(eip1559
        ? { maxFeePerGas: maxFee, maxPriorityFeePerGas: fee.maxPriorityFeePerGas ?? 0n }
        : { gasPrice: maxFee }),
    });
    // Bounded: a transfer that is not mined in a minute (fees rose past its cap) is not waited for.
    await waitForReceipt(provider, tx, { action: `returning gas to ${to}`, timeoutMs: 60_000 });
    return value;
  } catch (e) {
    (from as Signer & { reset?: () => void }).reset?.(); // a NonceManager counts from the chain again
    throw e;
  }
}
