/**
 * How an agent is run: what its runner hands it (hooks: how a replica's agent starts, where its events go, the
 * path probe) and how it is opened (inside a sidecar through its yard's gateway; a retired copy only to settle), and
 * what it is opened from ({@link openAgentParts}). The CLI reads these from its environment; nothing in icon-agent/
 * reads process.env.
 */
import path from "node:path";
import { Wallet, type JsonRpcProvider } from "ethers";
import type { Libp2p } from "@libp2p/interface";
import {
  ConfigError,
  IconError,
  MarketClient,
  gatewayLimits,
  loadOrCreatePeerKey,
  namespaceProblem,
  rpcProvider,
} from "../protocol/index.ts";
import type { AgentEnv } from "./config.ts";
import type { PathProbe } from "./edisco.ts";
import { agentNode, openSidecar, type Sidecar } from "./gateway.ts";
import {
  lockStateDir,
  readAgentState,
  removeLeftovers,
  retiredNote,
  type AgentEvent,
  type AgentSeed,
} from "./state.ts";

export interface AgentHooks {
  /** Starts the agent of a new replica from its state directory (local placement: a process here). */
  spawn(dir: string): Promise<void>;
  /**
   * This agent runs inside its lease's sidecar (the CLI entry unsealed its state from standard input, or the yard
   * set ICON_GATEWAY): its renewals carry its sealed state again.
   */
  inSidecar?: boolean;
  onEvent?(e: AgentEvent): void;
  /**
   * A retired instance took its lease's state back (pair.ts stayRetired: its successor proven gone) while the
   * process runs on fenced: the CLI stops it, and its yard restarts the sidecar from the state it now holds.
   */
  actAgain?(): void;
  /**
   * Traces the path towards a client subnet: the seam path tomography (edisco.ts) uses to reach the yard's probe
   * service; absent, the agent traces through its own yard's `/icon/probe/1.0.0`.
   */
  pathProbe?: PathProbe;
}

/** How the agent is run (the CLI reads these from its environment; nothing in icon-agent/ reads process.env). */
export interface AgentOpenOptions {
  /**
   * The agent gateway of the yard whose sidecar this agent runs in (the value of ICON_GATEWAY, `http://<ip>:<port>`):
   * the chain, libp2p, DNS and the cost map are then reached through it (see "Inside its sidecar" in the README).
   */
  gateway?: string;
  /** Open a copy whose state is retired, only to settle it ({@link Agent.settleRetired}); it starts only if it acts. */
  retired?: boolean;
}

/** What an agent is built from, its state directory locked (`release` unlocks it). */
export interface AgentParts {
  env: AgentEnv;
  seed: AgentSeed;
  wallet: Wallet;
  client: MarketClient;
  node: Libp2p;
  rpc: JsonRpcProvider;
  sidecar: Sidecar | undefined;
  release: () => Promise<void>;
}

/**
 * Reads and checks the state directory (a retired state only with `options.retired`; a service outside the
 * application's namespace refused with the fix), reaches the sidecar's gateway, locks the directory, removes
 * leftovers, and builds the chain client, the wallet and the libp2p node; a step that fails unlocks the directory.
 */
export async function openAgentParts(dir: string, hooks: AgentHooks, options: AgentOpenOptions): Promise<AgentParts> {
  const { env, seed, key } = await readAgentState(dir);
  const retired = retiredNote(seed);
  if (retired && !options.retired) throw new IconError("RETIRED", retired);
  // Yards refuse a Deploy outside the application's namespace: say so before anything is bid for.
  const wrongNamespace = env.spec.service && seed.root > 0n ? namespaceProblem(env.spec.service, seed.root) : undefined;
  if (wrongNamespace)
    throw new ConfigError("BAD_SERVICE_NAME", `${wrongNamespace}; fix spec.service in ${path.join(dir, "agent.json")}`);
  const sidecar = options.gateway === undefined ? undefined : await openSidecar(options.gateway);
  const release = await lockStateDir(dir);
  try {
    await removeLeftovers(dir);
    // No request cache: after a failed transaction the nonce is read again, and must be read fresh. Through the
    // gateway, batches stay within what it serves.
    const rpc = rpcProvider(sidecar ? sidecar.gateway.url(sidecar.self.rpc) : (env.rpcUrls ?? env.rpcUrl), {
      pollingInterval: 200,
      onWait: (text) => hooks.onEvent?.({ icon: seed.name, kind: "chain", text }),
      ...(sidecar ? { batchMaxCount: gatewayLimits.maxBatch } : {}),
    });
    const wallet = new Wallet(key, rpc);
    const client = await MarketClient.connect({ deployment: env.deployment, provider: rpc, signer: wallet });
    const peerKey = await loadOrCreatePeerKey(path.join(dir, "peer.key"));
    const node = await agentNode(dir, env, peerKey, sidecar);
    return { env, seed, wallet, client, node, rpc, sidecar, release };
  } catch (e) {
    await release();
    throw e;
  }
}
