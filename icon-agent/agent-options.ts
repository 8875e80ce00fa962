/**
 * How an agent is run: what its runner hands it (hooks: how a replica's agent starts, where its events go, the
 * path probe) and how it is opened (inside a sidecar through its yard's gateway; a retired copy only to settle).
 * The CLI reads these from its environment; nothing in icon-agent/ reads process.env.
 */
import type { PathProbe } from "./edisco.ts";
import type { AgentEvent } from "./state.ts";

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
