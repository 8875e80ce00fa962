/**
 * The simulator's clock: a discrete-event queue (binary heap on time, then insertion order, so equal times run in
 * the order they were scheduled and every run is repeatable).
 *
 * @example
 *   const q = new EventQueue();
 *   q.at(5000, () => tick());
 *   q.run(3_600_000);
 */
interface Ev {
  t: number;
  seq: number;
  fn: () => void;
}

export class EventQueue {
  #heap: Ev[] = [];
  #seq = 0;
  /** Simulated time (ms). */
  now = 0;
  /** Events run so far. */
  processed = 0;

  /** Runs `fn` at time `t` (ms, not before now). */
  at(t: number, fn: () => void): void {
    const e = { t: Math.max(t, this.now), seq: this.#seq++, fn };
    const h = this.#heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  /** Runs `fn` `ms` from now. */
  after(ms: number, fn: () => void): void {
    this.at(this.now + ms, fn);
  }

  /** Runs events in time order until none is left or the next is after `until` (ms). */
  run(until: number): void {
    const h = this.#heap;
    while (h.length > 0 && h[0]!.t <= until) {
      const e = h[0]!;
      const last = h.pop()!;
      if (h.length > 0) {
        h[0] = last;
        let i = 0;
        for (;;) {
          const l = 2 * i + 1;
          const r = l + 1;
          let m = i;
          if (l < h.length && less(h[l]!, h[m]!)) m = l;
          if (r < h.length && less(h[r]!, h[m]!)) m = r;
          if (m === i) break;
          [h[i], h[m]] = [h[m]!, h[i]!];
          i = m;
        }
      }
      this.now = e.t;
      this.processed++;
      e.fn();
    }
    this.now = Math.max(this.now, until);
  }
}

function less(a: Ev, b: Ev): boolean {
  return a.t < b.t || (a.t === b.t && a.seq < b.seq);
}
