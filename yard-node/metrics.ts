/**
 * Counters and gauges in the Prometheus text format (version 0.0.4), without a client library: the yard
 * exports a handful of series and each is one line.
 */
type Labels = Record<string, string>;

function key(labels: Labels): string {
  return Object.entries(labels)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}="${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`)
    .join(",");
}

interface Family {
  help: string;
  type: "counter" | "gauge";
  values: Map<string, number | bigint>;
}

export class Metrics {
  readonly #families = new Map<string, Family>();
  /** Gauges computed when scraped. */
  readonly #collectors: (() => void)[] = [];

  #family(name: string, help: string, type: Family["type"]): Family {
    let f = this.#families.get(name);
    if (!f) {
      f = { help, type, values: new Map() };
      this.#families.set(name, f);
    }
    return f;
  }

  /** Declares a family so it is exported (at 0) before its first increment. */
  declare(name: string, help: string, type: Family["type"]): void {
    this.#family(name, help, type);
  }

  inc(name: string, help: string, labels: Labels = {}, by: number | bigint = 1): void {
    const f = this.#family(name, help, "counter");
    const k = key(labels);
    const cur = f.values.get(k) ?? (typeof by === "bigint" ? 0n : 0);
    f.values.set(k, typeof by === "bigint" ? BigInt(cur) + by : Number(cur) + by);
  }

  set(name: string, help: string, value: number | bigint, labels: Labels = {}): void {
    this.#family(name, help, "gauge").values.set(key(labels), value);
  }

  /** Removes every series of `name` (a collector that sets the whole family anew starts with this). */
  clear(name: string): void {
    this.#families.get(name)?.values.clear();
  }

  get(name: string, labels: Labels = {}): number | bigint | undefined {
    return this.#families.get(name)?.values.get(key(labels));
  }

  /** Registers a function that sets gauges right before each scrape. */
  collect(fn: () => void): void {
    this.#collectors.push(fn);
  }

  render(): string {
    for (const c of this.#collectors) c();
    const out: string[] = [];
    for (const [name, f] of this.#families) {
      out.push(`# HELP ${name} ${f.help}`, `# TYPE ${name} ${f.type}`);
      if (f.values.size === 0) out.push(`${name} 0`);
      for (const [k, v] of f.values) out.push(`${name}${k ? `{${k}}` : ""} ${v.toString()}`);
    }
    return out.join("\n") + "\n";
  }
}
