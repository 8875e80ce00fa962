/**
 * The HTTP redirects an ICON keeps at its own yard: each child's subnets sent to the child's endpoint. Planned by
 * redirects.ts (pure), set through the yard's routing call only when they change; in sidecar placement a replica
 * that went silent keeps its subnets for a while (`held`). Composed by moves.ts.
 *
 * @example
 *   const r = new YardRedirects({ node, env, seed, tree, observation, emit });
 *   await r.update(); // after the tree changed
 */
import { multiaddr } from "@multiformats/multiaddr";
import type { Libp2p } from "@libp2p/interface";
import { setRouting } from "../protocol/index.ts";
import type { AgentEnv } from "./config.ts";
import { PLACEMENT_GRACE_PERIODS } from "./decision.ts";
import type { Observation } from "./observation.ts";
import { planRedirects, type HeldRedirect } from "./redirects.ts";
import { servingLease, type AgentSeed, type Emit } from "./state.ts";
import type { TreeMember } from "./tree.ts";

/** What the redirects use of the agent. */
export interface YardRedirectsComponents {
  node: Libp2p;
  env: AgentEnv;
  seed: AgentSeed;
  tree: Pick<TreeMember, "children">;
  observation: Pick<Observation, "accessFor">;
  emit: Emit;
}

export class YardRedirects {
  readonly #c: YardRedirectsComponents;
  #key = "";
  /** Sidecar placement: where each replica served and which subnets, held while it is silent. */
  readonly #held = new Map<bigint, HeldRedirect>();
  #delegated = new Set<string>();

  constructor(components: YardRedirectsComponents) {
    this.#c = components;
  }

  /** Subnets redirected to children at this ICON's yard (theirs to decide about). */
  get delegated(): ReadonlySet<string> {
    return this.#delegated;
  }

  /** The subnets held for replica `account` while it is silent. */
  servedBy(account: bigint): string[] {
    return [...(this.#held.get(account)?.subnets ?? [])];
  }

  /** A replica that left the tree for good (it terminated, or re-parented elsewhere): no redirect held for it. */
  forget(account: bigint): void {
    this.#held.delete(account);
  }

  /** The placement changed: the next update sets the redirects at the new yard whatever they are. */
  reset(): void {
    this.#key = "";
  }

  /** Sets the redirects at this ICON's yard when they changed (`extra`: children placed elsewhere just now). */
  async update(extra = new Map<bigint, string>()): Promise<void> {
    const { seed, env, tree } = this.#c;
    const p = seed.placement;
    if (!p) return;
    // Sidecar placement: a replica that does not report (booting after its hand-over, restarting, or lost until it
    // is placed again) keeps its subnets redirected for a while (redirects.ts).
    const redirects = planRedirects({
      extra,
      reported: tree.children(),
      recorded: seed.children,
      idleRate: env.idleRate,
      ...(env.sidecar ? { held: this.#held } : {}),
      nowMs: Date.now(),
      holdMs: Math.max(60_000, 60 * env.reportEveryMs),
      // A replica at a new endpoint (placed again, moved) keeps its subnets for a grace whatever it reports.
      graceMs: PLACEMENT_GRACE_PERIODS * env.reportEveryMs,
    });
    const key = JSON.stringify(redirects);
    if (key === this.#key) return;
    await setRouting(
      this.#c.node,
      p.yard.addrs.map((a) => multiaddr(a)),
      { access: await this.#c.observation.accessFor(servingLease(p)), redirects },
    );
    this.#key = key;
    this.#delegated = new Set(redirects.map((r) => r.subnet));
    this.#c.emit(
      "tree",
      `redirects at ${p.yard.name}: ${redirects.map((r) => `${r.subnet} → ${r.location}`).join(", ") || "none"}`,
    );
  }
}
