/**
 * Batch claims: reading what one `claimMany` transaction credited, lease by lease (its LeaseClaimed events).
 */
import type { Contract, ContractTransactionReceipt } from "ethers";

/** Most leases one claimMany may name (the contract's MAX_CLAIM_BATCH). */
export const MAX_CLAIM_BATCH = 256;

/** The amount credited per lease id by the market's LeaseClaimed events in `receipt`. */
export function claimedAmounts(receipt: ContractTransactionReceipt, market: Contract): Map<bigint, bigint> {
  const out = new Map<bigint, bigint>();
  const address = String(market.target).toLowerCase();
  for (const log of receipt.logs) {
    if (log.address.toLowerCase() !== address) continue;
    const parsed = market.interface.parseLog(log);
    if (parsed?.name === "LeaseClaimed") out.set(BigInt(parsed.args[0] as bigint), BigInt(parsed.args[1] as bigint));
  }
  return out;
}
