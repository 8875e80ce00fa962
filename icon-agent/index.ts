/**
 * icon-agent/: the ICON's controller — observation, decisions, bidding, the overlay tree, budget moves. This file is
 * its public surface: code outside icon-agent/ imports only from here (ESLint enforces it; tests may reach inside).
 * Rooms and who may import whom: ARCHITECTURE.md.
 *
 * @example
 *   import { Agent, readAgentStatus } from "../icon-agent/index.ts";
 *   const agent = await Agent.open(stateDir, { spawn: async (dir) => startAgentProcess(dir) });
 *   await agent.start();
 */
export { Agent } from "./agent.ts";
export type { AgentHooks, AgentOpenOptions } from "./agent-options.ts";
export { GatewayClient, gatewayTimeouts, type Sidecar } from "./gateway.ts";
export {
  adoptApp,
  appStatus,
  deployApp,
  prepareOrigin,
  formatStatus,
  fundingRequests,
  serviceKeyFor,
  stillOpen,
  type AppStatus,
  type DeployAppOptions,
  type DeployedApp,
  type FundingRequest,
} from "./app.ts";
export {
  endSidecar,
  handOver,
  handOverReplica,
  handOverSelf,
  placedOrDone,
  refusedByYard,
  resolveHandingOver,
  sealedAgentPart,
  takeBack,
} from "./handover.ts";
export { ActingFence } from "./acting.ts";
export {
  agentTimingDefaults,
  agentEnvFrom,
  sidecarConfigOf,
  appConfigSchema,
  type AgentEnv,
  type AppConfigInput,
  type ServiceSpec,
  type SidecarSpec,
} from "./config.ts";
export {
  clearHandedOver,
  handedOver,
  markHandedOver,
  readAgentState,
  readAgentStatus,
  retiredNote,
  sealAgentState,
  stateDirLocked,
  unsealAgentState,
  writeAgentState,
  writeAtomic,
  SEALED_STATE_MAX_BYTES,
  type AgentEvent,
  type AgentSeed,
  type AgentStatus,
  type HandOverMark,
  type Placement,
} from "./state.ts";
// The pure rules, for the simulator (scripts/sim/): it drives these with its own time, network and ledger.
export {
  Controller,
  evaluate,
  appShare,
  gracedSubnets,
  knobsFromPolicy,
  priceTerm,
  renewalPlan,
  replicaBudgetInputs,
  replicaShare,
  replicateUtility,
  stillPays,
  terminateBelow,
  utility,
  INTENT_RESERVE,
  PLACEMENT_GRACE_PERIODS,
  type Action,
  type Candidate,
  type ControllerOptions,
  type Evaluation,
  type Knobs,
  type Situation,
  type SubnetView,
} from "./decision.ts";
export {
  asksTooMuch,
  isLive,
  reattachCandidates,
  reparentCandidates,
  MISSED_REPORTS_BEFORE_REATTACH,
  SILENT_PERIODS,
} from "./tree-rules.ts";
export { LOSS_RULES, lossDecision, successorOf } from "./loss.ts";
