/**
 * Passive round-trip time per client subnet (issue 17: measured l_ij at the ICON's own site). The kernel keeps a
 * round-trip estimate for every TCP connection; the yard reads it for the connections its ingress accepted and
 * hands each connection's `minrtt` to the lease's flow observer, which smooths it per subnet (flows.ts).
 *
 * Why `minrtt` and not the smoothed `rtt`: on request/response traffic the client often acknowledges an answer
 * only with its next request (delayed ACK, think time), so the smoothed RTT carries the client's pauses; the
 * kernel's windowed minimum is the path's propagation round trip, which is what l_ij means.
 *
 * Two readings of iproute2's `ss` (sock_diag underneath), spawned with argument lists: the open connections every
 * `everyMs` (`ss -tinH state established src <ingress host>`, at most one at a time, time and output bounded), and
 * the connections as they close (`ss -tinHE`, the kernel's socket-destroy events, one long-lived process restarted
 * when it ends; it needs CAP_NET_ADMIN) — short connections close between two rounds. Only connections to a lease's
 * ingress port count. A missing `ss` turns the sampler off with one warning. With `netns` set (a testbed whose site is a network namespace) it runs under
 * `nsenter --net=<netns>`.
 *
 * @example
 *   const rtt = new KernelRtt({ host: "0.0.0.0", ports: () => ingress.leasePorts(), record: (lease, ip, ms) => ..., log });
 *   rtt.start();  ...  rtt.stop();
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { isIP } from "node:net";
import type { Logger } from "../../protocol/log.ts";

/** One established connection as `ss -ti` shows it. */
export interface SsConnection {
  localIp: string;
  localPort: number;
  peerIp: string;
  peerPort: number;
  /** The kernel's windowed minimum round trip, ms. */
  minRttMs?: number;
  /** The kernel's smoothed round trip, ms. */
  rttMs?: number;
}

/** `1.2.3.4:80`, `[::ffff:1.2.3.4]:80`, `[2001:db8::1]:80`, `*:80` → ip and port; undefined when not one. */
function endpoint(s: string): { ip: string; port: number } | undefined {
  const m = /^\[?([^\]]*?)\]?:(\d{1,5})$/.exec(s);
  if (!m) return undefined;
  const ip = m[1]!.replace(/%.*$/, "").replace(/^::ffff:(?=\d+\.)/i, "");
  const port = Number(m[2]);
  if (isIP(ip) === 0 || port > 65535) return undefined;
  return { ip, port };
}

function ms(info: string, key: string): number | undefined {
  const m = new RegExp(`(?:^|\\s)${key}:(\\d+(?:\\.\\d+)?)`).exec(info);
  if (!m) return undefined;
  const v = Number(m[1]);
  return Number.isFinite(v) && v >= 0 ? v : undefined;
}

/** Reads `ss -ti` output line by line: a socket line (`[state] Recv-Q Send-Q local peer`) then its indented info line. */
export class SsLines {
  #last: SsConnection | undefined;

  /** Takes one line; returns the connection it completes, if any. */
  push(line: string): SsConnection | undefined {
    if (line.length === 0) return undefined;
    if (/^\s/.test(line)) {
      const c = this.#last;
      this.#last = undefined;
      if (!c) return undefined;
      const min = ms(line, "minrtt");
      const m = /(?:^|\s)rtt:(\d+(?:\.\d+)?)\//.exec(line);
      if (min !== undefined) c.minRttMs = min;
      if (m) c.rttMs = Number(m[1]);
      return c;
    }
    const f = line.trim().split(/\s+/);
    const at = /^\d+$/.test(f[0] ?? "") ? 0 : 1;
    const local = endpoint(f[at + 2] ?? "");
    const peer = endpoint(f[at + 3] ?? "");
    this.#last =
      local && peer ? { localIp: local.ip, localPort: local.port, peerIp: peer.ip, peerPort: peer.port } : undefined;
    return undefined;
  }
}

/** Parses a whole `ss -tinH` output (see {@link SsLines}); at most `max` connections. */
export function parseSs(text: string, max = 100_000): SsConnection[] {
  const lines = new SsLines();
  const out: SsConnection[] = [];
  for (const line of text.split("\n")) {
    if (out.length >= max) break;
    const c = lines.push(line);
    if (c) out.push(c);
  }
  return out;
}

/** Connections read in one round at most (parsing 100 000 takes ≈ 0.65 s of the event loop). */
const MAX_ROWS = 20_000;
/** Ports named in ss's filter at most; with more, every connection of the host is read and filtered here. */
const MAX_FILTER_PORTS = 64;

/** What the sampler uses of the yard. */
export interface KernelRttComponents {
  /** The ingress's listening host ("0.0.0.0", "::" or an address). */
  host: string;
  /** The ingress's bound client ports now: port → lease id. */
  ports(): ReadonlyMap<number, bigint>;
  /** One connection's round trip to `client` on lease `leaseId`'s ingress. */
  record(leaseId: bigint, client: string, rttMs: number): void;
  log: Logger;
}

/** Settings of the sampler. */
export interface KernelRttInit {
  /** How often the connections are read, ms (0 = never). */
  everyMs?: number;
  /** Run `ss` inside this network namespace (a path for `nsenter --net=`). */
  netns?: string;
  /** The `ss` binary. */
  ss?: string;
}

/**
 * Reads the kernel's round trip of the ingress's connections (see the file's header): the open ones every `everyMs`,
 * and each one as it closes, from the kernel's socket-destroy events (`ss -tinHE`), so a connection that lives less
 * than a round of sampling (HTTP/1.0, a client that closes after each answer) is measured too.
 */
export class KernelRtt {
  readonly #c: KernelRttComponents;
  readonly #everyMs: number;
  readonly #netns: string | undefined;
  readonly #ss: string;
  #timer: NodeJS.Timeout | undefined;
  #events: ChildProcess | undefined;
  #restart: NodeJS.Timeout | undefined;
  #running = false;
  #off = false;
  #stopped = true;
  #quickEnds = 0;
  /** Rounds read, and connections recorded in all (open ones read in rounds, closed ones from the events). */
  rounds = 0;
  samples = 0;
  closedSamples = 0;
  /** Times the closing-connections stream overran (a burst of closes) and was followed again. */
  overruns = 0;

  constructor(components: KernelRttComponents, init: KernelRttInit = {}) {
    this.#c = components;
    this.#everyMs = init.everyMs ?? 5_000;
    this.#netns = init.netns;
    this.#ss = init.ss ?? "ss";
  }

  start(): void {
    if (this.#everyMs <= 0 || !this.#stopped) return;
    this.#stopped = false;
    this.#timer = setInterval(() => void this.sample(), this.#everyMs);
    this.#timer.unref();
    this.#follow();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    if (this.#restart) clearTimeout(this.#restart);
    this.#timer = this.#restart = undefined;
    this.#events?.kill("SIGKILL");
    this.#events = undefined;
  }

  /** Whether the stream of closing connections is being read now. */
  get following(): boolean {
    return this.#events !== undefined && this.#events.exitCode === null;
  }

  /** One round: reads the open connections and records each one's round trip; resolves with the number recorded. */
  async sample(): Promise<number> {
    if (this.#running || this.#off) return 0;
    const ports = this.#c.ports();
    if (ports.size === 0) return 0;
    this.#running = true;
    try {
      const text = await this.#read(ports);
      if (text === undefined) return 0;
      // One figure per client address a round (its least): a client with many connections has one vote.
      const least = new Map<string, { lease: bigint; ip: string; ms: number }>();
      for (const c of parseSs(text, MAX_ROWS)) {
        const r = this.#mine(c, ports);
        if (!r) continue;
        const k = `${r.lease}/${c.peerIp}`;
        const had = least.get(k);
        if (!had || r.ms < had.ms) least.set(k, { lease: r.lease, ip: c.peerIp, ms: r.ms });
      }
      for (const r of least.values()) this.#c.record(r.lease, r.ip, r.ms);
      this.rounds++;
      this.samples += least.size;
      return least.size;
    } finally {
      this.#running = false;
    }
  }

  /** The lease and round trip of `c` when it is a connection to one of the ingress's lease ports on its host. */
  #mine(c: SsConnection, ports: ReadonlyMap<number, bigint>): { lease: bigint; ms: number } | undefined {
    const lease = ports.get(c.localPort);
    const ms = c.minRttMs ?? c.rttMs;
    if (lease === undefined || ms === undefined) return undefined;
    // Another address of this host with the same port number is someone else's listener.
    if (!this.#wildcard && c.localIp !== this.#c.host) return undefined;
    return { lease, ms };
  }

  get #wildcard(): boolean {
    return this.#c.host === "0.0.0.0" || this.#c.host === "::" || this.#c.host === "";
  }

  /** ss with `args` (in the namespace when set); `lineBuffered` under coreutils' stdbuf -oL: ss writes its events
   * through stdio, which holds them in a 4 KiB buffer when its output is a pipe — a few closing connections would
   * never reach the yard. */
  #command(args: string[], lineBuffered = false): [string, string[]] {
    const ss = lineBuffered ? ["stdbuf", "-oL", this.#ss, ...args] : [this.#ss, ...args];
    return this.#netns ? ["nsenter", [`--net=${this.#netns}`, ...ss]] : [ss[0]!, ss.slice(1)];
  }

  /** `( sport = :p1 or … )` for ss, while the ports are few enough for one filter. */
  #portFilter(ports: ReadonlyMap<number, bigint>): string[] {
    if (ports.size === 0 || ports.size > MAX_FILTER_PORTS) return [];
    return ["(", ...[...ports.keys()].flatMap((p, i) => (i === 0 ? [] : ["or"]).concat(["sport", "=", `:${p}`])), ")"];
  }

  /**
   * Follows the kernel's socket-destroy events (needs CAP_NET_ADMIN). Ended by a netlink overrun (a burst of
   * closing connections: ENOBUFS) it follows again after a second; otherwise after 10 s, and not at all after three
   * ends right at its start (no permission, an ss without -E). A failed start (no descriptors left) is an end.
   */
  #follow(): void {
    if (this.#stopped || this.#off) return;
    const [cmd, args] = this.#command(["-tinHE"], true);
    let child: ChildProcess;
    const startedAt = Date.now();
    try {
      child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
      // A reader on the side: it never keeps the yard's process alive (stop() ends it anyway).
      child.unref();
      if (!child.stdout || !child.stderr) throw new Error("no pipes to ss (descriptors exhausted?)");
      (child.stdout as unknown as { unref?(): void }).unref?.();
      (child.stderr as unknown as { unref?(): void }).unref?.();
    } catch (e) {
      this.#c.log.debug("could not start following closing connections; again in 10 s", { error: e });
      this.#again(10_000);
      return;
    }
    this.#events = child;
    const lines = new SsLines();
    let buf = "";
    let err = "";
    const seen = new Map<string, number>();
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      buf += chunk;
      let nl: number;
      const ports = this.#c.ports();
      const now = Date.now();
      while ((nl = buf.indexOf("\n")) >= 0) {
        const c = lines.push(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
        const r = c && this.#mine(c, ports);
        if (!c || !r) continue;
        // One figure per client address per second: a client opening connections in a loop has one vote.
        const k = `${r.lease}/${c.peerIp}`;
        if (now - (seen.get(k) ?? 0) < 1_000) continue;
        if (seen.size >= 10_000) seen.clear();
        seen.set(k, now);
        this.#c.record(r.lease, c.peerIp, r.ms);
        this.closedSamples++;
      }
      if (buf.length > 64 * 1024) buf = ""; // no line is that long: not ss's output
    });
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk: string) => {
      if (err.length < 1024) err += chunk;
    });
    child.on("error", (e: NodeJS.ErrnoException) => {
      if (e.code === "ENOENT") this.#missing(cmd);
    });
    child.on("close", (code) => {
      if (this.#events === child) this.#events = undefined;
      if (this.#stopped || this.#off) return;
      if (/no buffer space|ENOBUFS|netlink receive error/i.test(err)) {
        this.overruns++;
        this.#again(1_000);
        return;
      }
      this.#quickEnds = Date.now() - startedAt < 2_000 ? this.#quickEnds + 1 : 0;
      if (this.#quickEnds >= 3) {
        this.#c.log.warn(
          "cannot follow closing connections (ss -E ended at once three times: it needs CAP_NET_ADMIN and an iproute2 with -E); connections shorter than a round go unmeasured",
          { stderr: err.trim() },
        );
        return;
      }
      this.#c.log.debug("the stream of closing connections ended; following again in 10 s", {
        code,
        stderr: err.trim(),
      });
      this.#again(10_000);
    });
  }

  #again(ms: number): void {
    this.#restart = setTimeout(() => this.#follow(), ms);
    this.#restart.unref();
  }

  #missing(cmd: string): void {
    if (this.#off) return;
    this.#off = true;
    this.#c.log.warn(`${cmd} is missing: no passive round-trip times (install iproute2)`, {});
  }

  #read(ports: ReadonlyMap<number, bigint>): Promise<string | undefined> {
    const filter = ["-tinH", "state", "established"];
    if (!this.#wildcard) filter.push("src", this.#c.host);
    filter.push(...this.#portFilter(ports));
    const [cmd, args] = this.#command(filter);
    return new Promise((resolve) => {
      execFile(cmd, args, { timeout: 4_000, maxBuffer: 32 * 1024 * 1024 }, (e, stdout) => {
        if (!e) return resolve(stdout);
        if ((e as NodeJS.ErrnoException).code === "ENOENT") this.#missing(cmd);
        else this.#c.log.debug("reading the kernel's round-trip times failed", { error: e.message });
        resolve(undefined);
      });
    });
  }
}
