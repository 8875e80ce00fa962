/**
 * The test bed's god view (scripts/demo.ts): what the demo narrates while the owner is offline comes from outside the
 * ICONs — the chain's events of the application's accounts and leases, and what each ICON agent prints in its sidecar
 * (`docker logs -f` of every `icon.role=agent` container of the demo's yards). Nothing here speaks for an ICON or
 * for its owner: it only reads.
 *
 * @example
 *   const logs = new SidecarLogs({ socket, yardIds, onLine: (c, line) => console.log(c.yardId, line) });
 *   logs.start();
 *   const chain = new ChainWatch({ market: client.market, onEvent: (e) => console.log(e.name) });
 *   chain.start();
 *   ...
 *   await logs.stop(); await chain.stop();
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { promisify } from "node:util";
import type { Contract, EventLog, Log } from "ethers";
import { contractLogs } from "../../protocol/chain/logs.ts";

/** An agent sidecar seen on the engine. */
export interface AgentContainer {
  id: string;
  name: string;
  yardId: string;
  leaseId: bigint;
  /** When the god view first saw it (epoch ms). */
  seenAtMs: number;
}

/** Options of {@link SidecarLogs}. */
export interface SidecarLogsOptions {
  /** The Docker engine's socket. */
  socket: string;
  /** The yards whose agent sidecars are followed. */
  yardIds: readonly string[];
  /** Each line an agent prints (stdout and stderr), as it comes. */
  onLine(c: AgentContainer, line: string): void;
  /** How often the engine is asked for new agent containers (ms); 500. */
  pollMs?: number;
}

/** Follows the output of every agent sidecar of `yardIds` from its first line (`docker logs -f` of each). */
export class SidecarLogs {
  readonly #o: SidecarLogsOptions;
  readonly #seen = new Map<string, AgentContainer>();
  readonly #followers = new Set<ChildProcess>();
  #timer: NodeJS.Timeout | undefined;
  #polling: Promise<void> = Promise.resolve();

  constructor(o: SidecarLogsOptions) {
    this.#o = o;
  }

  /** Every agent container seen so far (also those that are gone now). */
  containers(): AgentContainer[] {
    return [...this.#seen.values()];
  }

  /** The agent containers that run now (asks the engine). */
  async running(): Promise<AgentContainer[]> {
    const ids = new Set((await this.#list(false)).map((c) => c.id));
    return this.containers().filter((c) => ids.has(c.id));
  }

  start(): void {
    const tick = (): void => {
      this.#polling = this.#poll().catch(() => {});
      void this.#polling.then(() => {
        if (this.#timer) this.#timer = setTimeout(tick, this.#o.pollMs ?? 500);
      });
    };
    this.#timer = setTimeout(tick, 0);
  }

  /** Looks for new agent containers now (the demo calls it before it counts). */
  async refresh(): Promise<void> {
    await this.#polling;
    await this.#poll();
  }

  async stop(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#polling;
    for (const f of this.#followers) f.kill("SIGTERM");
  }

  async #list(all: boolean): Promise<Array<{ id: string; name: string; yardId: string; leaseId: bigint }>> {
    const { stdout } = await promisify(execFile)("/usr/bin/docker", [
      "-H",
      `unix://${this.#o.socket}`,
      "ps",
      ...(all ? ["-a"] : []),
      "--no-trunc",
      "--filter",
      "label=icon.role=agent",
      "--format",
      '{{.ID}} {{.Names}} {{.Label "icon.yard"}} {{.Label "icon.lease"}}',
    ]);
    return stdout
      .split("\n")
      .map((l) => l.trim().split(" "))
      .filter((f) => f.length === 4 && this.#o.yardIds.includes(f[2]!) && /^\d+$/.test(f[3]!))
      .map(([id, name, yardId, lease]) => ({ id: id!, name: name!, yardId: yardId!, leaseId: BigInt(lease!) }));
  }

  async #poll(): Promise<void> {
    for (const c of await this.#list(true)) {
      if (this.#seen.has(c.id)) continue;
      const seen: AgentContainer = { ...c, seenAtMs: Date.now() };
      this.#seen.set(c.id, seen);
      this.#follow(seen);
    }
  }

  /**
   * Follows a container's output (`docker logs -f --timestamps`). A follower that ends while the god view runs (the
   * engine cut the stream: "unexpected EOF") is started again from the last line's time while the container lives
   * (at most every 0.5 s), its repeated lines skipped, so that no line of an agent is lost to the narration or the
   * counts. Lines without the engine's timestamp (its own messages, such as that EOF) are not the container's.
   */
  #follow(c: AgentContainer, seen = { stdout: new Cursor(), stderr: new Cursor() }): void {
    const since = Cursor.since(seen.stdout, seen.stderr);
    const f = spawn(
      "/usr/bin/docker",
      ["-H", `unix://${this.#o.socket}`, "logs", "-f", "--timestamps", ...(since ? ["--since", since] : []), c.id],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    this.#followers.add(f);
    const startedAt = Date.now();
    f.once("exit", () => {
      this.#followers.delete(f);
      if (this.#timer === undefined) return; // stopped
      const again = (): void =>
        void this.#list(false)
          .then((running) => {
            if (this.#timer !== undefined && running.some((r) => r.id === c.id)) this.#follow(c, seen);
          })
          .catch(() => {});
      setTimeout(again, Math.max(0, 500 - (Date.now() - startedAt)));
    });
    for (const name of ["stdout", "stderr"] as const) {
      let rest = "";
      f[name]!.setEncoding("utf8").on("data", (d: string) => {
        const lines = (rest + d).split("\n");
        rest = lines.pop()!;
        for (const raw of lines) {
          const line = seen[name].take(raw);
          if (line !== undefined && line.trim() !== "") this.#o.onLine(c, line);
        }
      });
    }
  }
}

/** Where one output stream of a followed container is: its last line's time, the lines seen at that time. */
class Cursor {
  ts = "";
  #key = "";
  readonly #lines = new Set<string>();

  /** `raw` ("<RFC 3339 time> <line>") → the line when it is new, else undefined. */
  take(raw: string): string | undefined {
    const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z (.*)$/.exec(raw);
    if (!m) return undefined;
    const key = `${m[1]}.${(m[2] ?? "").padEnd(9, "0")}`;
    const line = m[3]!;
    if (key < this.#key || (key === this.#key && this.#lines.has(line))) return undefined;
    if (key !== this.#key) {
      this.#key = key;
      this.ts = raw.slice(0, raw.indexOf(" "));
      this.#lines.clear();
    }
    this.#lines.add(line);
    return line;
  }

  get key(): string {
    return this.#key;
  }

  /** The earlier of two streams' last times (where a new follower starts), or undefined before any line. */
  static since(a: Cursor, b: Cursor): string | undefined {
    const both = [a, b].filter((x) => x.key !== "");
    if (both.length === 0) return undefined;
    return both.reduce((x, y) => (y.key < x.key ? y : x)).ts;
  }
}

/** A market event as the god view narrates it. */
export interface ChainEvent {
  name: string;
  args: Record<string, unknown>;
  block: number;
  tx: string;
}

/** Polls the market contract for every event from the block it starts at (ranged reads over new blocks: protocol/chain/logs.ts). */
export class ChainWatch {
  readonly #market: Contract;
  readonly #onEvent: (e: ChainEvent) => void;
  readonly events: ChainEvent[] = [];
  #from = 0;
  #timer: NodeJS.Timeout | undefined;
  #polling: Promise<void> = Promise.resolve();

  constructor(o: { market: Contract; onEvent: (e: ChainEvent) => void }) {
    this.#market = o.market;
    this.#onEvent = o.onEvent;
  }

  async start(): Promise<void> {
    this.#from = (await this.#market.runner!.provider!.getBlockNumber()) + 1;
    const tick = (): void => {
      this.#polling = this.#poll().catch(() => {});
      void this.#polling.then(() => {
        if (this.#timer) this.#timer = setTimeout(tick, 500);
      });
    };
    this.#timer = setTimeout(tick, 0);
  }

  /** Reads up to the chain's head now (the demo calls it before it counts). */
  async refresh(): Promise<void> {
    await this.#polling;
    await this.#poll();
  }

  async stop(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#polling;
  }

  async #poll(): Promise<void> {
    const head = await this.#market.runner!.provider!.getBlockNumber();
    if (head < this.#from) return;
    const logs: Array<EventLog | Log> = await contractLogs(this.#market, "*", { fromBlock: this.#from, toBlock: head });
    this.#from = head + 1;
    for (const l of logs) {
      if (!("fragment" in l)) continue;
      const args: Record<string, unknown> = {};
      l.fragment.inputs.forEach((input, i) => (args[input.name] = l.args[i]));
      const e = { name: l.fragment.name, args, block: l.blockNumber, tx: l.transactionHash };
      this.events.push(e);
      this.#onEvent(e);
    }
  }
}
