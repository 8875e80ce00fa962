/**
 * A process's footprint from /proc, for the benchmarks that measure a daemon from outside (bench:lease: the yard
 * process, and the agent's Node inside its container, seen from the host): resident memory and CPU time.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

/** VmRSS of `pid` in MiB. */
export function rssMiB(pid: number): number {
  const kb = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
  if (kb === undefined) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(kb) / 1024;
}

const CLK_TCK = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());

/** utime + stime of `pid` (all its threads) in seconds. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after "(comm)": state is field 3, utime 14 and stime 15 (1-based, over the whole line).
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}
