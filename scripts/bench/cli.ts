/**
 * How fast `icon` starts, as a user runs it (scripts/icon: the light set-up, then the built CLI in .build/):
 *  - help: `icon --help` (goal ≤ 300 ms): no chain, no Docker, nothing heavy imported.
 *  - budgetShow: `icon budget show <root>` against an embedded dev chain serving JSON-RPC on loopback (goal
 *    ≤ 1000 ms): the deployment found by chain id (deployments/chain-31337.json in the working directory, as a user
 *    has it after `icon deploy`), the market client loaded, the account tree read.
 * Each is run RUNS times after one warm-up run (which also brings .build/ up to date); wall time from spawn to exit
 * (median and p90), and the CPU the process and its children spent (user + sys from /proc/self/stat's cutime and
 * cstime, 10 ms ticks; median): on a busy machine wall time includes waiting for a core, CPU time does not.
 *
 * Usage: npm run bench:cli [-- --runs 15]   (progress on stderr; last line: one JSON object)
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import path from "node:path";
import { parseArgs, promisify } from "node:util";
import { defaultDeploymentPath, writeDeployment } from "../../protocol/chain/deployment.ts";
import { deployMarket, devKeys, projectRoot, startDevChain } from "../lib/hardhat.ts";

const run = promisify(execFile);
const icon = path.join(projectRoot, "scripts/icon");
const { values } = parseArgs({ options: { runs: { type: "string", default: "15" } } });
const RUNS = Number(values.runs);
if (!Number.isInteger(RUNS) || RUNS < 1)
  throw new Error(`--runs must be a positive whole number, got "${values.runs}"`);
const say = (line: string): void => void process.stderr.write(`[bench:cli] ${line}\n`);

/** CPU time (ms) of this process's waited-for children so far: cutime + cstime, clock ticks of 10 ms. */
function childrenCpuMs(): number {
  const stat = readFileSync("/proc/self/stat", "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[13]) + Number(fields[14])) * 10; // fields 16 and 17 of proc(5), counted from state (3)
}

const quantile = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]!;
};

async function measure(
  name: string,
  args: string[],
  cwd: string,
): Promise<{ medianMs: number; p90Ms: number; cpuMedianMs: number }> {
  const once = async (): Promise<{ wall: number; cpu: number }> => {
    const cpu0 = childrenCpuMs();
    const t0 = performance.now();
    await run(icon, args, { cwd, env: { ...process.env, ICON_PRIVATE_KEY: "" } });
    return { wall: performance.now() - t0, cpu: childrenCpuMs() - cpu0 };
  };
  await once(); // warm-up: .build/ current, files in the page cache
  const walls: number[] = [];
  const cpus: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const r = await once();
    walls.push(r.wall);
    cpus.push(r.cpu);
  }
  const result = {
    medianMs: Math.round(quantile(walls, 0.5)),
    p90Ms: Math.round(quantile(walls, 0.9)),
    cpuMedianMs: Math.round(quantile(cpus, 0.5)),
  };
  say(`icon ${args.join(" ")}: ${JSON.stringify(result)} (${name}, ${RUNS} runs)`);
  return result;
}

const dir = await mkdtemp(path.join(tmpdir(), "icon-bench-cli-"));
const chain = await startDevChain("127.0.0.1", 0);
try {
  const help = await measure("help", ["--help"], dir);
  say("deploying the market and creating an application on the dev chain …");
  const deployment = await deployMarket(chain.url, devKeys(1)[0]!);
  await writeDeployment(path.join(dir, defaultDeploymentPath(deployment.chainId)), deployment);
  const controller = "0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc";
  const owner = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"; // dev account 0, the test token's owner
  await run(icon, ["--rpc", chain.url, "token", "mint", owner, "100", "--dev-account", "0"], { cwd: dir });
  const created = await run(
    icon,
    ["--rpc", chain.url, "budget", "create", "--controller", controller, "--deposit", "10", "--dev-account", "0"],
    { cwd: dir },
  );
  const root = /application (\d+) created/.exec(created.stdout)?.[1];
  if (!root) throw new Error(`budget create printed no application id: ${created.stdout}${created.stderr}`);
  const budgetShow = await measure("budgetShow", ["--rpc", chain.url, "budget", "show", root], dir);
  process.stdout.write(
    JSON.stringify({
      bench: "cli",
      runs: RUNS,
      help: { ...help, goalMs: 300 },
      budgetShow: { ...budgetShow, goalMs: 1000 },
      loadAverage1m: Number(loadavg()[0]!.toFixed(2)),
      cpus: availableParallelism(),
    }) + "\n",
  );
} finally {
  await chain.close();
  await rm(dir, { recursive: true, force: true });
}
