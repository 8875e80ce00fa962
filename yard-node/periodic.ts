/**
 * A pass run every `ms` until stopped, whose run in flight can be awaited (the yard's tick and its chain
 * follower: stop() ends the timer, idle() lets the last pass finish its database writes before the database
 * closes). A pass must not reject (each catches its own errors).
 *
 * @example
 *   const ticker = new Periodic(() => leases.tick(), 1000);
 *   ticker.start(); …; ticker.stop(); await ticker.idle();
 */
export class Periodic {
  readonly #pass: () => Promise<void>;
  readonly #ms: number;
  readonly #inFlight = new Set<Promise<void>>();
  #timer: NodeJS.Timeout | undefined;

  constructor(pass: () => Promise<void>, ms: number) {
    this.#pass = pass;
    this.#ms = ms;
  }

  start(): void {
    this.#timer = setInterval(() => {
      const p = this.#pass();
      this.#inFlight.add(p);
      void p.finally(() => this.#inFlight.delete(p));
    }, this.#ms);
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** Settles when the pass in flight (if any) has finished. */
  async idle(): Promise<void> {
    await Promise.allSettled([...this.#inFlight]);
  }
}
