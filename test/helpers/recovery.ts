/**
 * An ICON's Recovery (icon-agent/recovery.ts) over a seed and a MarketClient alone, as the reorganisation tests run
 * it: no directory, no replica to spawn, nothing saved, what it says collected in `said` ("kind: text").
 */
import { Wallet } from "ethers";
import type { MarketClient } from "../../protocol/index.ts";
import { Recovery, type RecoveryComponents } from "../../icon-agent/recovery.ts";
import type { AgentSeed } from "../../icon-agent/state.ts";

export function recoveryOver(o: {
  seed: unknown;
  client: MarketClient;
  said: string[];
  confirmations: number;
}): Recovery {
  return new Recovery({
    dir: "/nonexistent-icon-reorg-test",
    seed: o.seed as AgentSeed,
    client: o.client,
    wallet: Wallet.createRandom(),
    childKey: () => Wallet.createRandom(),
    clientFor: () => Promise.reject(new Error("no replica in this test")),
    spawn: () => Promise.reject(new Error("no replica in this test")),
    save: async () => undefined,
    emit: (kind: string, text: string) => void o.said.push(`${kind}: ${text}`),
    moves: { finishMove: async () => undefined, finishTermination: async () => undefined },
    confirmations: o.confirmations,
  } as unknown as RecoveryComponents);
}
