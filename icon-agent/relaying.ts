/**
 * How an ICON's market calls reach the chain without ETH of its own (README "Keys without ETH"): each call is an
 * intent its key signs and a yard relays (protocol/relay/sender.ts), asked of its yards in order, and — for an
 * agent instance — behind its fence (acting.ts): every signature asks it, and every call counts as in flight until it
 * settles, so a fence waits for it.
 *
 * @example
 *   client.useRelay(relayedCalls({ node, client, account, root, fence, yards: () => relayYards(seed, yards, seeds) }));
 */
import type { Libp2p } from "@libp2p/interface";
import { IntentSender, type MarketClient, type RelayHook } from "../protocol/index.ts";
import type { ActingFence } from "./acting.ts";
import type { YardRef } from "./market.ts";
import type { AgentSeed } from "./state.ts";

/** `client`'s relayed calls as intents of its key, repaid from `account` within application `root`'s caps. */
export function relayedCalls(o: {
  node: Libp2p;
  client: MarketClient;
  account: bigint;
  root: bigint;
  fence: ActingFence;
  yards: () => string[][];
}): RelayHook {
  const sender = new IntentSender({
    node: o.node,
    client: o.client,
    account: o.account,
    maxFee: async () => (await o.client.app(o.root)).policy.maxRelayFee,
    yards: o.yards,
    gate: () => o.fence.check(),
  });
  return {
    relays: (c, fn) => sender.relays(c, fn),
    send: (action, c, fn, args) => o.fence.track(() => sender.send(action, c, fn, args)),
  };
}

/**
 * Yards that may relay an ICON's intents, best first: its own yard, its parent's, then every candidate it knows
 * (when its own yard is gone, any active yard will do) and the configured seeds.
 */
export function relayYards(
  seed: Pick<AgentSeed, "placement" | "parent">,
  candidates: readonly YardRef[],
  seeds: readonly string[],
): string[][] {
  const out = new Map<string, string[]>();
  const add = (addrs: string[] | undefined): void => {
    if (addrs?.length && !out.has(addrs[0]!)) out.set(addrs[0]!, addrs);
  };
  add(seed.placement?.yard.addrs);
  add(seed.parent?.placement?.yard.addrs);
  for (const y of candidates) add(y.addrs);
  for (const s of seeds) add([s]);
  return [...out.values()];
}
