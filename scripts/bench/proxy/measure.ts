/**
 * bench:proxy's measuring tools: wrk runs (requests/s, p50/p99 latency, errors, wrk's own CPU time) and the CPU
 * share of each process taking part, of interrupts, of the hypervisor's steal and of other jobs, from /proc.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import os from "node:os";
import { LOAD } from "./config.ts";

export interface Wrk {
  rps: number;
  requests: number;
  p50Us: number;
  p99Us: number;
  errors: number;
}

/** wrk runs under way (each a process group: sh and wrk). */
const wrks = new Set<ChildProcess>();
const CLK_TCK = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());

/** Parses wrk's report (with --latency). */
function parseWrk(out: string): Wrk {
  const num = (re: RegExp): number => {
    const m = re.exec(out);
    if (!m) throw new Error(`wrk's report has no ${re.source}:\n${out}`);
    return Number(m[1]);
  };
  const us = (p: number): number => {
    const m = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s)\\s*$`, "m").exec(out);
    if (!m) throw new Error(`wrk's report has no ${p}% latency:\n${out}`);
    return Math.round(Number(m[1]) * { us: 1, ms: 1e3, s: 1e6 }[m[2] as "us" | "ms" | "s"] * 100) / 100;
  };
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out);
  const errors = (sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0) + (non2xx ? Number(non2xx[1]) : 0);
  return {
    rps: num(/Requests\/sec:\s+([\d.]+)/),
    requests: num(/(\d+) requests in/),
    p50Us: us(50),
    p99Us: us(99),
    errors,
  };
}

/**
 * Runs wrk against `endpoint` (host:port). wrk runs under a shell that prints its own /proc stat after reaping wrk: the
 * children's CPU time there (cutime + cstime) is wrk's.
 */
export function wrk(endpoint: string, connections: number, seconds: number): Promise<Wrk & { cpuS: number }> {
  const args = [`-t${LOAD.threads}`, `-c${connections}`, `-d${seconds}s`, "--latency", `http://${endpoint}/`];
  const script = 'wrk "$@" && echo "@stat $(cat /proc/$$/stat)"';
  return new Promise((resolve, reject) => {
    // In a process group of its own, so that an interrupted run can stop the shell and wrk together.
    const c = spawn("sh", ["-c", script, "sh", ...args], { detached: true, stdio: ["ignore", "pipe", "pipe"] });
    wrks.add(c);
    let out = "";
    let err = "";
    c.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
    c.stderr.setEncoding("utf8").on("data", (d: string) => (err += d));
    c.once("error", reject);
    c.once("close", (code, signal) => {
      wrks.delete(c);
      if (code !== 0) return reject(new Error(`wrk ${args.join(" ")} failed (${code ?? signal}): ${err}`));
      const stat = /^@stat .*\) (.*)$/m.exec(out)?.[1]?.split(" ");
      const cpuS = stat ? (Number(stat[13]) + Number(stat[14])) / CLK_TCK : NaN;
      resolve({ ...parseWrk(out), cpuS });
    });
  });
}

/** utime + stime of `pid` (all its threads) in seconds. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}
/**
 * The machine's CPU time (all cores, ticks) from /proc/stat: processes' (user + nice + system), interrupts' (irq +
 * softirq: loopback TCP is largely softirq work, which this kernel does not charge to any process), stolen by the
 * hypervisor, and the total.
 */
function machineTicks(): { tasks: number; irq: number; steal: number; total: number } {
  const f = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
  return { tasks: f[0]! + f[1]! + f[2]!, irq: f[5]! + f[6]!, steal: f[7]!, total: f.reduce((a, b) => a + b, 0) };
}

/**
 * Runs `work` and returns its result with the CPU share (% of one core) of each process in `pids` and of `extra`
 * (CPU seconds of processes that are gone when `work` is done), interrupts, steal, and the others: processes' CPU
 * that is none of these (other jobs on the machine).
 */
export async function withCpu<T>(
  pids: Record<string, number>,
  work: () => Promise<T>,
  extra: (result: T) => Record<string, number> = () => ({}),
): Promise<{ result: T; cpu: Record<string, number> }> {
  const before = Object.fromEntries(Object.entries(pids).map(([k, p]) => [k, cpuSeconds(p)]));
  const m0 = machineTicks();
  const t0 = performance.now();
  const result = await work();
  const s = (performance.now() - t0) / 1000;
  const m1 = machineTicks();
  const cpu: Record<string, number> = {};
  for (const [k, p] of Object.entries(pids)) cpu[k] = Math.round(((cpuSeconds(p) - before[k]!) / s) * 100);
  const share = (k: "tasks" | "irq" | "steal"): number =>
    Math.round(((m1[k] - m0[k]) / (m1.total - m0.total)) * os.availableParallelism() * 100);
  for (const [k, cpuS] of Object.entries(extra(result))) cpu[k] = Math.round((cpuS / s) * 100);
  const ours = Object.values(cpu).reduce((sum, v) => sum + v, 0);
  cpu.irq = share("irq");
  cpu.steal = share("steal");
  cpu.others = Math.max(0, share("tasks") - ours);
  return { result, cpu };
}
export const showCpu = (cpu: Record<string, number>): string =>
  Object.entries(cpu)
    .filter(([, v]) => v >= 2)
    .map(([k, v]) => `${k} ${v} %`)
    .join(", ");

/** Stops the wrk runs under way (an interrupted bench): the shell and wrk of each, by its process group. */
export function stopWrks(): void {
  for (const c of wrks) if (c.pid && c.exitCode === null) process.kill(-c.pid, "SIGTERM");
}
