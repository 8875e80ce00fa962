/**
 * The yard's answer to a Deploy of a lease it no longer serves ("lease N has ended"), in one place for both sides:
 * the yard words its Failed answer with {@link inactiveLeaseSentence}, an agent reads it back with
 * {@link inactiveLeaseStatus}. A yard ends a lease's containers (the agent sidecar first) before the lease leaves
 * its active statuses, under the lease's lock, so this answer proves that no sidecar of that lease runs there
 * (icon-agent/pair.ts takes a migrated ICON back only on such proof).
 *
 * @example
 *   return { failed: inactiveLeaseSentence(l.id, l.status) };          // yard
 *   inactiveLeaseStatus(e.message, leaseId) === "ended";               // agent: the sidecar is gone
 */

/** The statuses of a lease a yard has stopped serving: its containers are stopped and removed. */
export const INACTIVE_LEASE_STATUSES = ["ended", "settled"] as const;
export type InactiveLeaseStatus = (typeof INACTIVE_LEASE_STATUSES)[number];

/** The Failed sentence of a Deploy of lease `id`, which is in `status` at the yard. */
export function inactiveLeaseSentence(id: bigint, status: string): string {
  return `lease ${id} has ${status}`;
}

/**
 * The inactive status a yard's Failed `message` names for lease `id` ({@link inactiveLeaseSentence}), or undefined
 * when it says something else (another lease, an active status, another refusal).
 */
export function inactiveLeaseStatus(message: string, id: bigint): InactiveLeaseStatus | undefined {
  for (const s of INACTIVE_LEASE_STATUSES) if (message.includes(inactiveLeaseSentence(id, s))) return s;
  return undefined;
}
