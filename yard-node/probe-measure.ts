/**
 * The measurement behind /icon/probe/1.0.0 (probe.ts): Debian's traceroute and iputils' ping, spawned with
 * argument arrays (never a shell), optionally inside a network namespace (`nsenter --net=<path>`: a test bed whose
 * site is a namespace), each killed at a deadline; their output parsed line by line, tolerating what it does not
 * know.
 *
 *   traceroute -n -q 1 -w 1 -m <maxHops> -N <maxHops> <target>
 *       one UDP probe per TTL, all sent at once: exactly maxHops packets, about one round trip (a silent hop
 *       costs its 1 s wait, in parallel with the others)
 *   ping -n -c 3 -i 0.2 -W 1 <target>
 *       3 echo requests (no -w: with a deadline ping sends until it expires); rtt = the median of the replies
 *
 * @example
 *   const m = await measurePath("198.18.7.10", { maxHops: 16, timeoutMs: 10_000 });
 *   // { hops: [{ ttl: 1, address: "198.18.0.1", rttMs: 0.3 }, …], reached: true, rttMs: 12.1, packets: 19 }
 */
import { execFile } from "node:child_process";
import { isIP } from "node:net";
import type { PathHop } from "../protocol/index.ts";

/** What a measurement found (the service adds the target, the time and the signature). */
export interface Measurement {
  hops: PathHop[];
  reached: boolean;
  rttMs?: number;
  packets: number;
}

export interface MeasureOptions {
  maxHops: number;
  /** Time allowed for both tools together; each is killed (SIGKILL) when it runs past its share. */
  timeoutMs: number;
  /** A network namespace (a path such as /run/netns/site) to run the tools in. */
  netns?: string;
  signal?: AbortSignal;
}

/** Echo requests ping sends. */
export const PING_COUNT = 3;
/** Largest output read from one tool (64 hops of one line each fit many times over). */
const MAX_OUTPUT = 64 * 1024;

/** A tool's output: stdout, stderr, and its exit code (null when it was killed). */
interface Run {
  stdout: string;
  stderr: string;
  code: number | null;
}

/** Runs `argv` (in `netns` when given), killed after `timeoutMs` or on `signal`; never throws for an exit code. */
function runTool(argv: string[], timeoutMs: number, netns?: string, signal?: AbortSignal): Promise<Run> {
  const [file, ...args] = netns ? ["nsenter", `--net=${netns}`, "--", ...argv] : argv;
  return new Promise((resolve, reject) => {
    execFile(
      file!,
      args,
      {
        timeout: timeoutMs,
        killSignal: "SIGKILL",
        maxBuffer: MAX_OUTPUT,
        signal,
        env: { PATH: process.env.PATH ?? "" },
      },
      (error, stdout, stderr) => {
        const e = error as (NodeJS.ErrnoException & { code?: number | string; killed?: boolean }) | null;
        // Not started at all (missing binary) or aborted: the measurement failed.
        if (e && (typeof e.code === "string" || e.name === "AbortError")) return reject(e);
        resolve({ stdout, stderr, code: e ? (e.killed ? null : ((e.code as number | undefined) ?? null)) : 0 });
      },
    );
  });
}

/**
 * Parses `traceroute -n` output for `target`: one hop per numbered line, by increasing ttl, at most `maxHops`.
 * A hop with several probes (-q > 1) keeps its first address and its least rtt; `*` only = no answer. An
 * annotation (`!H`, `!N`, `!X`, `!P`, `!F-1500`, …) from a router other than the target ends the path there.
 * Lines it does not understand (the header, warnings) are skipped.
 */
export function parseTraceroute(out: string, target: string, maxHops = 64): { hops: PathHop[]; reached: boolean } {
  const hops: PathHop[] = [];
  let reached = false;
  for (const line of out.split("\n")) {
    const m = /^\s*(\d{1,3})\s+(.*)$/.exec(line);
    if (!m) continue;
    const ttl = Number(m[1]);
    if (ttl < 1 || ttl > maxHops || (hops.length > 0 && ttl <= hops[hops.length - 1]!.ttl)) continue;
    const hop: PathHop = { ttl };
    const tokens = m[2]!.trim().split(/\s+/);
    let ended = false;
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i]!;
      if (t === "*") continue;
      if (t.startsWith("!")) {
        ended = true;
        continue;
      }
      if (isIP(t) !== 0) {
        hop.address ??= t;
        continue;
      }
      if (/^\d+(\.\d+)?$/.test(t) && tokens[i + 1] === "ms") {
        const rtt = Number(t);
        if (Number.isFinite(rtt) && (hop.rttMs === undefined || rtt < hop.rttMs)) hop.rttMs = rtt;
        i++;
      }
    }
    if (hop.address === undefined) delete hop.rttMs;
    hops.push(hop);
    if (hop.address === target) {
      reached = true;
      break;
    }
    if (ended) break;
  }
  return { hops, reached };
}

/**
 * Parses iputils `ping -n` output for `target`: the packets it sent ("N packets transmitted"; `fallback` when
 * the summary is missing, e.g. it was killed) and the median round trip of the replies from the target itself
 * (undefined when none came) and the least (`minRttMs`). "From <router> … Unreachable" lines are not replies.
 */
export function parsePing(
  out: string,
  target: string,
  fallback = PING_COUNT,
): { sent: number; rttMs?: number; minRttMs?: number } {
  const times: number[] = [];
  for (const line of out.split("\n")) {
    const m = /^\d+ bytes from (\S+): .*\btime[=<]([\d.]+) ms/.exec(line);
    if (m && m[1] === target) {
      const t = Number(m[2]);
      if (Number.isFinite(t)) times.push(t);
    }
  }
  const sent = /(\d+) packets transmitted/.exec(out);
  times.sort((a, b) => a - b);
  const n = times.length;
  const rttMs = n === 0 ? undefined : n % 2 ? times[(n - 1) / 2] : (times[n / 2 - 1]! + times[n / 2]!) / 2;
  return {
    sent: sent ? Number(sent[1]) : fallback,
    ...(rttMs === undefined ? {} : { rttMs, minRttMs: times[0]! }),
  };
}

/** A measurement that could not run (the tool is missing, the namespace does not exist, it printed nothing). */
export class MeasureFailed extends Error {
  override name = "MeasureFailed";
}

/** Traceroute then ping towards `target` (an address literal the caller checked). */
export async function measurePath(target: string, o: MeasureOptions): Promise<Measurement> {
  const deadline = Date.now() + o.timeoutMs;
  const trace = await runTool(
    ["traceroute", "-n", "-q", "1", "-w", "1", "-m", String(o.maxHops), "-N", String(o.maxHops), target],
    Math.max(1000, deadline - Date.now() - 3500),
    o.netns,
    o.signal,
  ).catch((cause: unknown) => {
    throw new MeasureFailed(`traceroute could not run: ${(cause as Error).message}`, { cause });
  });
  if (!/^traceroute to /m.test(trace.stdout))
    throw new MeasureFailed(
      `traceroute printed no path: ${(trace.stderr.split("\n")[0] ?? "").slice(0, 200) || `exit ${trace.code}`}`,
    );
  const path = parseTraceroute(trace.stdout, target, o.maxHops);
  const ping = await runTool(
    ["ping", "-n", "-c", String(PING_COUNT), "-i", "0.2", "-W", "1", target],
    Math.max(500, deadline - Date.now()),
    o.netns,
    o.signal,
  ).catch((cause: unknown) => {
    throw new MeasureFailed(`ping could not run: ${(cause as Error).message}`, { cause });
  });
  const echo = parsePing(ping.stdout, target);
  const last = path.hops.at(-1);
  const rttMs = echo.rttMs ?? (path.reached ? last?.rttMs : undefined);
  return {
    hops: path.hops,
    reached: path.reached || echo.rttMs !== undefined,
    ...(rttMs === undefined ? {} : { rttMs }),
    // traceroute sent nothing when it printed no hop and failed (no route: "connect: Network is unreachable").
    packets: (path.hops.length === 0 && trace.code !== 0 ? 0 : o.maxHops) + echo.sent,
  };
}

/**
 * Ping only (no traceroute) towards `target`: the least round trip of {@link PING_COUNT} echoes and the packets sent
 * (a candidate's l_ij, yard-node/rtt.ts). The least, not the median: a busy host or a queue adds to some echoes and
 * never takes away, so the least is the path's own delay — what a placement is chosen by.
 */
export async function measureRtt(
  target: string,
  o: Pick<MeasureOptions, "timeoutMs" | "netns" | "signal">,
): Promise<{ rttMs?: number; packets: number }> {
  const ping = await runTool(
    ["ping", "-n", "-c", String(PING_COUNT), "-i", "0.2", "-W", "1", target],
    o.timeoutMs,
    o.netns,
    o.signal,
  ).catch((cause: unknown) => {
    throw new MeasureFailed(`ping could not run: ${(cause as Error).message}`, { cause });
  });
  if (!/^PING /m.test(ping.stdout))
    throw new MeasureFailed(
      `ping did not start: ${(ping.stderr.split("\n")[0] ?? "").slice(0, 200) || `exit ${ping.code}`}`,
    );
  const echo = parsePing(ping.stdout, target);
  return { ...(echo.minRttMs === undefined ? {} : { rttMs: echo.minRttMs }), packets: echo.sent };
}
