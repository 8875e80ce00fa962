/**
 * An application's policy as owners set it: the defaults a new application gets and one sentence describing a
 * policy. Shared by the CLI (`icon budget …`, `icon app …`) and the owner console (console/), so both propose the
 * same defaults and describe a policy in the same words. Browser-safe (no node: imports).
 */
import { ConfigError } from "../errors.ts";
import type { Policy } from "./types.ts";

/** Weights and thresholds of a new application, in basis points (the CLI's `--weight 0.5` etc. when not given). */
export const DEFAULT_POLICY_BPS = {
  weightBps: 5000,
  migrateThresholdBps: 2000,
  replicateThresholdBps: 3000,
  terminateThresholdBps: 500,
} as const;

/**
 * Relay-fee caps of a new application, as amounts of the token (6 decimals on the dev token: 50 000 and 5 000 000
 * units). One relayed operation costs a yard roughly 60–200 k gas; 0.05 tokens repays that on an L2 or a quiet L1
 * with room to spare, and 5 tokens a day lets one ICON relay about a hundred operations a day at the cap — several
 * times what renewals, replication and funding requests need — while bounding what a dishonest relayer can take.
 */
export const DEFAULT_RELAY_CAPS = { maxRelayFee: "0.05", relayAllowancePerDay: "5" } as const;

/** One line describing `policy` for people; `fmt` shows token units with the token's decimals and symbol. */
export function describePolicy(policy: Policy, fmt: (units: bigint) => string): string {
  const pct = (bps: number): string => `${(bps / 100).toFixed(2)} %`;
  const cap = policy.maxPricePerSecond === 0n ? "none" : fmt(policy.maxPricePerSecond) + "/s";
  return `w ${policy.weightBps / 10_000}, migrate ≥ ${pct(policy.migrateThresholdBps)}, replicate ≥ ${pct(policy.replicateThresholdBps)}, terminate < ${pct(policy.terminateThresholdBps)}, max price ${cap}, max relay fee ${fmt(policy.maxRelayFee)}, relay allowance ${fmt(policy.relayAllowancePerDay)}/day`;
}

/** A share typed as 0..1 (e.g. "0.25") as basis points; `name` names the field in the sentence of a refusal. */
export function parseShare(text: string, name: string): number {
  const n = Number(text.trim());
  if (text.trim() === "" || !Number.isFinite(n) || n < 0 || n > 1)
    throw new ConfigError("BAD_OPTION", `${name} must be a number between 0 and 1 (e.g. 0.25), got "${text}"`);
  return Math.round(n * 10_000);
}
