/**
 * A renewal's hand-over (composed by leases.ts): when a renewal lease's Deploy arrives, the renewal takes its
 * predecessor's containers over — the service's when it exposes the same ports, the agent sidecar's when its agent
 * part is the same — and with them everything clients and the lease holder see of them, so that the renewal is
 * invisible to both:
 *  - the ingress listeners (TCP, HTTP, UDP, the agent's) move to the renewal as they are: same ports, open
 *    connections and sessions untouched, new ones routed by the renewal's route (ingress.ts `move`);
 *  - the flows (smoothed λ, latency, round trip), redirects and redirection stub move with them, in the store too
 *    (routing-rules.ts `carry`): the holder's telemetry of the renewal goes on from the predecessor's.
 * The service's move is one synchronous step (database rows, listeners, rules): no request in between finds the
 * container on neither lease. The predecessor keeps being paid until its slot ends, runs nothing of its own, and
 * its end (leases.ts) finds nothing left to stop or close. Only a renewal its own holder opened (quoting.ts checks
 * it) carries anything over.
 *
 * @example
 *   // in the Deploy of renewal `l`, under both leases' locks, once `l`'s spec is stored
 *   await carryOver({ db, network, sidecars, log }, l, spec);
 */
import type { DeploySpec } from "../protocol/index.ts";
import type { Logger } from "../protocol/log.ts";
import { AGENT_INGRESS_KEY } from "./agent-gateway.ts";
import type { LeaseRow, YardDb } from "./db.ts";
import type { YardNetwork } from "./network.ts";
import type { AgentSidecars } from "./sidecar.ts";

export interface RenewalComponents {
  db: Pick<YardDb, "lease" | "update">;
  network: Pick<YardNetwork, "carryService" | "carryAgent" | "closeEndpoints">;
  sidecars: Pick<AgentSidecars, "carryOver">;
  log: Logger;
}

/** Renewal `l` (its `spec` stored) takes over its predecessor's containers; the caller holds both leases' locks. */
export async function carryOver(c: RenewalComponents, l: LeaseRow, spec: DeploySpec): Promise<void> {
  const { db, network, log } = c;
  const prev = db.lease(l.renews!);
  if (!prev) return;
  const service =
    prev.containerId !== undefined &&
    prev.spec !== undefined &&
    JSON.stringify(prev.spec.ports) === JSON.stringify(spec.ports);
  if (service) {
    // From here to the listeners' move nothing awaits: a request sees the container on one lease or the other.
    db.update(l.id, { containerId: prev.containerId, ingress: prev.ingress });
    // The predecessor keeps being paid until its end but no longer runs anything of its own.
    db.update(prev.id, { containerId: undefined, spec: undefined, ingress: {}, note: `renewed by lease ${l.id}` });
    network.carryService(prev.id, db.lease(l.id)!);
    log.info("lease renewed: container, endpoints and routing carried over", { lease: l.id, from: prev.id });
  }
  if (prev.agentContainerId) await c.sidecars.carryOver(prev, db.lease(l.id)!);
  // A sidecar carried over keeps its agent endpoint: the port other peers know it by (its announced agentAddrs),
  // and the connections open on it.
  const now = db.lease(l.id)!;
  if (now.agentContainerId !== undefined && now.agentContainerId === prev.agentContainerId) {
    network.carryAgent(prev.id, l.id);
    const { [AGENT_INGRESS_KEY]: port, ...rest } = db.lease(prev.id)!.ingress;
    if (port !== undefined) {
      db.update(prev.id, { ingress: rest });
      db.update(l.id, { ingress: { ...now.ingress, [AGENT_INGRESS_KEY]: port } });
    }
  }
  // What the renewal did not take of a predecessor whose service it took (an agent's listener, a UDP port it no
  // longer exposes) closes: nothing runs behind it any more.
  if (service) await network.closeEndpoints(prev.id);
}
