/**
 * Routing policies: how the proxy picks an instance for a new connection to a ServiceIP. A policy is one
 * object behind {@link RoutingPolicy}; adding one is adding it to a registry, nothing else changes.
 */
import type { Instance, PickContext, RoutingPolicy } from "./types.ts";

/** Round-robin over the instances, in a stable order (by instance id), one counter per service. */
export class RoundRobin implements RoutingPolicy {
  readonly name = "rr";
  readonly #next = new Map<string, number>();
  pick(instances: readonly Instance[]): Instance | undefined {
    if (instances.length === 0) return undefined;
    const sorted = [...instances].sort((a, b) =>
      a.instanceId < b.instanceId ? -1 : a.instanceId > b.instanceId ? 1 : 0,
    );
    const key = sorted[0]!.service;
    const i = (this.#next.get(key) ?? 0) % sorted.length;
    this.#next.set(key, i + 1);
    return sorted[i];
  }
}

/** The instance with the lowest measured latency; unmeasured instances come after measured ones. */
export class Closest implements RoutingPolicy {
  readonly name = "closest";
  readonly measures = true;
  pick(instances: readonly Instance[]): Instance | undefined {
    return this.keep(instances, 1)[0];
  }
  keep(instances: readonly Instance[], k: number): Instance[] {
    const lat = (i: Instance): number => i.latencyMs ?? Number.POSITIVE_INFINITY;
    return [...instances].sort((a, b) => lat(a) - lat(b) || (a.instanceId < b.instanceId ? -1 : 1)).slice(0, k);
  }
}

/** The instance the name pins (`<id>.none`), or nothing. */
export class Pinned implements RoutingPolicy {
  readonly name = "none";
  pick(instances: readonly Instance[], ctx: PickContext): Instance | undefined {
    return instances.find((i) => i.instanceId === ctx.instanceId);
  }
  /**
   * The pinned instance always stays, however long ago it was confirmed (DNS answered its name, so pruning must
   * not turn it into NO_ROUTE); the rest of the k are the most recently confirmed.
   */
  keep(instances: readonly Instance[], k: number, ctx: PickContext = {}): Instance[] {
    const pinned = instances.filter((i) => i.instanceId === ctx.instanceId);
    const rest = [...instances]
      .filter((i) => i.instanceId !== ctx.instanceId)
      .sort((a, b) => b.updatedAt - a.updatedAt)
      .slice(0, Math.max(0, k - pinned.length));
    return [...pinned, ...rest];
  }
}

/** Policies by name. */
export class PolicyRegistry {
  readonly #policies = new Map<string, RoutingPolicy>();
  constructor(policies: RoutingPolicy[] = [new RoundRobin(), new Closest(), new Pinned()]) {
    for (const p of policies) this.add(p);
  }
  add(p: RoutingPolicy): void {
    this.#policies.set(p.name, p);
  }
  get(name: string): RoutingPolicy | undefined {
    return this.#policies.get(name);
  }
  names(): string[] {
    return [...this.#policies.keys()];
  }
}

/**
 * The k instances worth keeping for `policy` (k-pruning): its own choice, or the k most recently confirmed. `ctx`
 * is the pick's context (a pinned name's instance is kept whatever its age).
 */
export function prune(
  policy: RoutingPolicy,
  instances: readonly Instance[],
  k: number,
  ctx: PickContext = {},
): Instance[] {
  if (instances.length <= k) return [...instances];
  if (policy.keep) return policy.keep(instances, k, ctx);
  return [...instances].sort((a, b) => b.updatedAt - a.updatedAt).slice(0, k);
}
