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
      const text = await this.#read();
      if (text === undefined) return 0;
      let n = 0;
      for (const c of parseSs(text)) if (this.#take(c, ports)) n++;
      this.rounds++;
      this.samples += n;
      return n;
    } finally {
      this.#running = false;
    }
  }

  #take(c: SsConnection, ports: ReadonlyMap<number, bigint>): boolean {
    const lease = ports.get(c.localPort);
    const rtt = c.minRttMs ?? c.rttMs;
    if (lease === undefined || rtt === undefined) return false;
    this.#c.record(lease, c.peerIp, rtt);
    return true;
  }

  #command(args: string[]): [string, string[]] {
    return this.#netns ? ["nsenter", [`--net=${this.#netns}`, this.#ss, ...args]] : [this.#ss, args];
  }

  /** Follows the kernel's socket-destroy events (needs CAP_NET_ADMIN); restarted 10 s after it ends. */
  #follow(): void {
    if (this.#stopped || this.#off) return;
    const [cmd, args] = this.#command(["-tinHE"]);
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    const startedAt = Date.now();
    this.#events = child;
    // A reader on the side: it never keeps the yard's process alive (stop() ends it anyway).
    child.unref();
    (child.stdout as unknown as { unref?(): void }).unref?.();
    (child.stderr as unknown as { unref?(): void }).unref?.();
    const lines = new SsLines();
    let buf = "";
    let err = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      buf += chunk;
      let nl: number;
      const ports = this.#c.ports();
      while ((nl = buf.indexOf("\n")) >= 0) {
        const c = lines.push(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
        if (c && this.#take(c, ports)) this.closedSamples++;
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
      // Ended at once three times in a row (no CAP_NET_ADMIN, an ss without -E): rounds only, said once.
      this.#quickEnds = Date.now() - startedAt < 2_000 ? this.#quickEnds + 1 : 0;
      if (this.#quickEnds >= 3) {
        this.#c.log.warn(
          "cannot follow closing connections (ss -E needs CAP_NET_ADMIN); connections shorter than a round go unmeasured",
          {
            stderr: err.trim(),
          },
        );
        return;
      }
      this.#c.log.debug("the stream of closing connections ended; following again in 10 s", {
        code,
        stderr: err.trim(),
      });
      this.#restart = setTimeout(() => this.#follow(), 10_000);
      this.#restart.unref();
    });
  }

  #missing(cmd: string): void {
    if (this.#off) return;
    this.#off = true;
    this.#c.log.warn(`${cmd} is missing: no passive round-trip times (install iproute2)`, {});
  }

  #read(): Promise<string | undefined> {
    const filter = ["-tinH", "state", "established"];
    const wildcard = this.#c.host === "0.0.0.0" || this.#c.host === "::" || this.#c.host === "";
    if (!wildcard) filter.push("src", this.#c.host);
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
