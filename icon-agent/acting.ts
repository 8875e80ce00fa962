/**
 * The fence of one agent instance (issue 16 item 5, "never two instances acting for one ICON"): one flag that every
 * place the agent acts asks — the period loop, the tree (reports, attaches, funding answers and requests) and the
 * relay sender before every signature — plus a count of the acts in flight, so that fencing waits for a funding
 * answer or a relayed intent already under way before the state is handed on, and a scoped permit for the few acts
 * a fenced instance must still do itself (ending the lease of a move it undoes).
 *
 * @example
 *   const fence = new ActingFence(name);
 *   sender = new IntentSender({ ..., gate: () => fence.check() });
 *   await fence.fence();                                  // nothing new starts; waits for what runs (bounded)
 *   await fence.permit(() => client.terminate(next));      // the undo's own act goes through the gate
 *   fence.unfence();
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { IconError } from "../protocol/index.ts";

/** How long {@link ActingFence.fence} waits for the acts in flight by default. */
export const FENCE_WAIT_MS = 60_000;

export class ActingFence {
  readonly #name: () => string;
  #acting = true;
  #inFlight = 0;
  #idle: (() => void)[] = [];
  /** Set inside {@link permit}: the act it runs (and everything it awaits) may go through a closed fence. */
  readonly #permit = new AsyncLocalStorage<true>();

  constructor(name: () => string) {
    this.#name = name;
  }

  /** Whether this instance acts (not fenced). */
  get acting(): boolean {
    return this.#acting;
  }

  /** Whether an act may go ahead here and now: the instance acts, or the act runs inside a {@link permit}. */
  allowed(): boolean {
    return this.#acting || this.#permit.getStore() === true;
  }

  /** Throws RETIRED unless {@link allowed}: asked before every signature of a relayed intent. */
  check(): void {
    if (!this.allowed()) throw new IconError("RETIRED", `${this.#name()}: this instance handed its ICON over`);
  }

  /** Acts in flight now (funding answers, relayed intents). */
  get inFlight(): number {
    return this.#inFlight;
  }

  /**
   * Stops every act from starting and waits, at most `maxWaitMs`, for those in flight to finish. Resolves true when
   * none is left, false when the wait ran out (whatever still runs signs nothing more: every signature asks).
   */
  async fence(maxWaitMs = FENCE_WAIT_MS): Promise<boolean> {
    this.#acting = false;
    if (this.#inFlight === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    const idle = new Promise<boolean>((resolve) => this.#idle.push(() => resolve(true)));
    const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), maxWaitMs)));
    try {
      return await Promise.race([idle, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Acts again (a hand-over that failed and was undone). */
  unfence(): void {
    this.#acting = true;
  }

  /** Runs `act` with the fence open for it alone (and what it awaits), whatever the flag says. */
  permit<T>(act: () => Promise<T>): Promise<T> {
    return this.#permit.run(true, act);
  }

  /**
   * Counts `act` as in flight until it settles ({@link fence} waits for it). The count starts before `act` asks the
   * flag, so a fence set meanwhile either is seen by `act` or waits for it.
   */
  async track<T>(act: () => Promise<T>): Promise<T> {
    this.#inFlight++;
    try {
      return await act();
    } finally {
      if (--this.#inFlight === 0) for (const done of this.#idle.splice(0)) done();
    }
  }
}
