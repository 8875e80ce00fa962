/**
 * What the chain says about an ICON's leases and replica keys, read and used by recovery (recovery.ts) and the
 * moves (moves.ts) alike: which leases are live, which one renews a placement, the derived key of a replica, and
 * what closing an account handed up, the placement's lease found again under another id after a reorganisation. ICON keys hold no ETH: their calls are relayed (protocol/relay/sender.ts).
 *
 * @example
 *   const open = await liveLeases(client, account);
 *   const key = new Wallet(replicaKey(iconKey, 1), provider);
 */
import { concat, keccak256, toBeHex, toUtf8Bytes, type TransactionReceipt } from "ethers";
import { ChainError, type LeaseRecord, type MarketClient } from "../protocol/index.ts";
import type { Won } from "./market.ts";
import type { Placement } from "./state.ts";

/** Whether a lease in `state` still runs or is about to (its money is committed). */
export function live(state: string): boolean {
  return state === "Running" || state === "Scheduled";
}

/**
 * Whether lease `id` is live both at the head and `depth` blocks below it ("live": go ahead), at neither ("gone":
 * give it up), or at one only ("unsure": wait a period and ask again). A lease seen opened or ended only in blocks a
 * reorganisation may still replace is not yet taken for either (the agent's `chainConfirmations`; the yard does the
 * same, yard-node/chain-watch.ts). A lease that does not exist at a block is not live there. Read through
 * `client.lease(id, blockTag)`: a chain that refuses or cannot be reached throws a sentence (protocol errors).
 * With `slot`, a lease is live only as that placement's lease: of its account, at its yard, with its start and end —
 * an id a reorganisation gave to another lease is not the placement's.
 */
export async function liveBuried(
  client: MarketClient,
  id: bigint,
  depth: number,
  slot?: PlacedSlot,
): Promise<"live" | "gone" | "unsure"> {
  const mine = (l: LeaseRecord & { state: string }): boolean =>
    live(l.state) && (slot === undefined || sameSlot(l, slot));
  const atHead = mine(await client.lease(id));
  if (depth <= 0) return atHead ? "live" : "gone";
  const blockTag = Math.max(0, (await client.provider.getBlockNumber()) - depth);
  const buried = mine(await client.lease(id, blockTag));
  if (atHead && buried) return "live";
  return !atHead && !buried ? "gone" : "unsure";
}

/**
 * What binds a lease to a placement: the paying account, the yard and the slot its offer named. Not the price: the
 * state's price of a placement is what the agent planned with and may differ from the lease's (agent.test.ts injects
 * one); two leases of the account with one slot at one yard are told apart by none of these, so neither is taken.
 */
export type PlacedSlot = Pick<Placement, "yard" | "leaseStart" | "end"> & { account: bigint };

/** Whether lease `l` is the one placement `p` bought: same account, yard (operator), start and end. */
export function sameSlot(l: Pick<LeaseRecord, "account" | "provider" | "start" | "end">, p: PlacedSlot): boolean {
  return (
    l.account === p.account &&
    l.provider.toLowerCase() === p.yard.operator.toLowerCase() &&
    l.start === p.leaseStart &&
    l.end === p.end
  );
}

/**
 * The placement's own lease under another id: a reorganisation dropped its opening and the chain included the same
 * signed offer again later, under the next free id (the yard follows it there: yard-node/reorgs.ts). Bound strictly —
 * the one live lease of `account` other than `p.leaseId` with the placement's yard, start and end (two such: none
 * taken) — with whether it is live buried `depth` blocks deep too ("live") or only at the head ("unsure").
 */
export async function rekeyedOf(
  client: MarketClient,
  account: bigint,
  p: Pick<Placement, "yard" | "leaseStart" | "end" | "leaseId">,
  depth: number,
): Promise<{ id: bigint; state: "live" | "unsure" } | undefined> {
  const slot = { ...p, account };
  const found: bigint[] = [];
  for (const id of await client.leasesOf(account)) {
    if (id === p.leaseId) continue;
    const l = await client.lease(id);
    if (live(l.state) && sameSlot(l, slot)) found.push(id);
  }
  if (found.length !== 1) return undefined;
  const state = await liveBuried(client, found[0]!, depth, slot);
  return state === "gone" ? undefined : { id: found[0]!, state };
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
  p: Pick<Placement, "yard" | "end">,
): Promise<(LeaseRecord & { id: bigint }) | undefined> {
  for (const id of await client.leasesOf(account)) {
    const l = await client.lease(id);
    if (live(l.state) && l.provider.toLowerCase() === p.yard.operator.toLowerCase() && l.start === p.end)
      return { ...l, id };
  }
  return undefined;
}

/**
 * The lease that holds the ICON's containers now: the newest live lease of the placement's renewal chain at its yard.
 * A renewal's Deploy carries the service and the sidecar over at once (yard-node leases.ts), so after a renewal
 * was bought the predecessor runs nothing; a renewal bought just before a crash and not saved is found on chain.
 * Whatever acts on the running sidecar (a fence, a hand-over, taking it back) Redeploys this lease, not
 * `placement.leaseId` — the yard refuses a Redeploy of a renewed lease.
 */
export async function sidecarLease(
  client: MarketClient,
  account: bigint,
  p: Pick<Placement, "leaseId" | "end" | "yard" | "renewal">,
): Promise<Pick<Placement, "leaseId" | "yard">> {
  let leaseId = p.renewal?.leaseId ?? p.leaseId;
  let end = p.renewal?.end ?? p.end;
  // A chain of renewals is short (one is bought ahead at a time); bounded all the same.
  for (let i = 0; i < 8; i++) {
    const next = await successorOf(client, account, { ...p, end });
    if (!next || next.id === leaseId) break;
    leaseId = next.id;
    end = next.end;
  }
  return { leaseId, yard: p.yard };
}

/**
 * The private key of the n-th replica of the ICON whose key is `parentKey`: keccak256(parentKey ‖ "icon-replica-key"
 * ‖ n). Derived rather than random so that a crash at any point of a replication leaves an account the parent can
 * still find and unwind; the parent controls the replica's account on chain anyway.
 */
export function replicaKey(parentKey: string, n: number): string {
  return keccak256(concat([parentKey, toUtf8Bytes("icon-replica-key"), toBeHex(n, 32)]));
}

/** The amount an AccountClosed event in `receipt` handed up to the parent (after the relayer's fee). */
export function closedAmount(client: Pick<MarketClient, "market" | "deployment">, receipt: TransactionReceipt): bigint {
  for (const log of receipt.logs) {
    if (log.address.toLowerCase() !== client.deployment.market.toLowerCase()) continue;
    const p = client.market.interface.parseLog(log);
    if (p?.name === "AccountClosed") return BigInt(p.args[1] as bigint);
  }
  throw new ChainError("NO_EVENT", `the transaction ${receipt.hash} closed no account`);
}

/** The placement an auction `won` (market.ts bid) gives, placed now. */
export function placementOf(won: Won): Placement {
  return {
    leaseId: won.leaseId,
    yard: won.yard,
    endpoint: won.endpoint,
    pricePerSecond: won.offer.pricePerSecond,
    leaseStart: won.offer.start,
    end: won.offer.end,
    since: Date.now() / 1000,
  };
}
