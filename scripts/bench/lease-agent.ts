/**
 * The ICON agent inside its image, for `npm run bench:lease` (scripts/bench/lease.ts): a real origin ICON deployed
 * on the bench's chain (`deployApp`, as `icon app deploy` does), its agent run in an icon/agent:1 container confined
 * as a lease's sidecar is meant to be (read-only root, every capability dropped, no new privileges, 65534, a memory
 * and pids limit), placed at the bench's yard through a seed, then left idle:
 *  - agentImageMb: the image's size (MiB, `docker image inspect` .Size: the Node binary is 121 MiB of it);
 *  - agentIdleRssMb: VmRSS (MiB) of the agent's Node, the container's pid 1 seen from the host's /proc, at the end of
 *    the idle window (the container's cgroup usage, page cache and the state directory's files included, goes to
 *    stderr beside it, from `docker stats`);
 *  - agentIdleCpuPct: that process's CPU time (utime + stime) over IDLE.windowS of idleness divided by the window,
 *    starting IDLE.settleS after the ICON is placed (its period of 5 s and tree reports as in production).
 * Host networking: the bench's chain and yard listen on 127.0.0.1, which a container on a bridge cannot reach (a
 * lease's sidecar will reach the chain and yards through its yard; not built yet). The state directory is the one
 * the deploy wrote, bind-mounted at /run/icon (owned by 65534), where a sidecar gets a tmpfs: the agent's files are
 * the same, and a bind mount lets the bench read the agent's status.json from the host.
 */
import { chmod, chown, mkdtemp, readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { agentEnvFrom, deployApp, readAgentStatus } from "../../icon-agent/index.ts";
import { TEST_POLICY, USD, clientFor, poll, type TestMarket } from "../lib/testbed.ts";
import { cpuSeconds, rssMiB } from "./proc.ts";

export const AGENT_IMAGE = "icon/agent:1";
/**
 * Seconds of idleness: first to settle after the placement (the agent's start-up garbage collected, its first
 * periods and tree rounds done), then the window its CPU time is measured over.
 */
const IDLE = { settleS: 15, windowS: 30 };

export interface AgentBenchComponents {
  market: TestMarket;
  /** The yard's libp2p address (ending in /p2p/<peer id>): the ICON's only discovery seed. */
  yardAddr: string;
  /** The service the ICON places: icon/web:1 and its image id (0x…). */
  image: string;
  imageDigest: string;
  /** Runs the Debian docker CLI against the project's engine. */
  docker(args: string[]): Promise<{ stdout: string; stderr: string }>;
  say(line: string): void;
}

export interface AgentFigures {
  agentImageMb: number;
  agentIdleRssMb: number;
  agentIdleCpuPct: number;
}

/** Deploys an ICON, runs its agent in the image until placed and idle, measures it, removes the container. */
export async function measureAgent(c: AgentBenchComponents): Promise<AgentFigures> {
  const imageBytes = Number(await text(c, ["image", "inspect", "--format", "{{.Size}}", AGENT_IMAGE]));
  const owner = await clientFor(c.market, 4, USD(100)); // lease.ts uses the dev keys 0–3
  const env = agentEnvFrom(
    {
      service: {
        image: c.image,
        imageDigest: c.imageDigest,
        ports: [8080],
        httpPorts: [8080],
        cpuMillis: 100,
        memoryMiB: 32,
        slotSeconds: 600,
      },
      discovery: { seeds: [c.yardAddr] },
    },
    c.market.chain.url,
    c.market.deployment,
  );
  const dir = path.join(await mkdtemp(path.join(tmpdir(), "icon-bench-agent-")), "origin");
  const app = await deployApp({ owner, env, policy: TEST_POLICY, deposit: USD(5), dir });
  // The agent runs as 65534: the directory and what the deploy wrote (the key, 0600) become its own.
  await chmod(path.dirname(dir), 0o755);
  for (const f of [dir, ...(await readdir(dir)).map((n) => path.join(dir, n))]) await chown(f, 65534, 65534);

  const name = `icon-bench-agent-${process.pid}`;
  c.say(`agent: application ${app.root}, origin ICON ${app.icon}; starting ${AGENT_IMAGE} as ${name} …`);
  const id = await text(c, [
    "run",
    "-d",
    "--name",
    name,
    "--label",
    "icon.bench=lease-agent",
    "--network",
    "host",
    "--read-only",
    "--cap-drop",
    "ALL",
    "--security-opt",
    "no-new-privileges",
    "--memory",
    "256m",
    "--memory-swap",
    "256m",
    "--pids-limit",
    "64",
    "-v",
    `${dir}:/run/icon`,
    AGENT_IMAGE,
  ]);
  try {
    const pid = Number(await text(c, ["inspect", "--format", "{{.State.Pid}}", id]));
    const t0 = Date.now();
    const placed = await poll(
      "the ICON in the agent container to be placed",
      async () => {
        const [s] = await readAgentStatus(dir);
        if (s?.placement?.endpoint) return s.placement;
        const running = await text(c, ["inspect", "--format", "{{.State.Running}}", id]);
        if (running !== "true") throw new Error(`the agent container stopped:\n${await logs(c, id)}`);
        return undefined;
      },
      120_000,
    );
    c.say(
      `agent: placed at ${placed.yard.name} (lease ${placed.leaseId}, ${placed.endpoint}) ${((Date.now() - t0) / 1000).toFixed(1)} s after the start; idle for ${IDLE.settleS} s …`,
    );
    await sleep(IDLE.settleS * 1000);
    const settledRss = rssMiB(pid);
    const c0 = cpuSeconds(pid);
    const w0 = performance.now();
    c.say(
      `agent: RSS ${settledRss.toFixed(1)} MiB (pid ${pid} on the host); measuring idle CPU over ${IDLE.windowS} s …`,
    );
    await sleep(IDLE.windowS * 1000);
    const cpuPct = ((cpuSeconds(pid) - c0) / ((performance.now() - w0) / 1000)) * 100;
    const rss = rssMiB(pid);
    const cgroup = await text(c, ["stats", "--no-stream", "--format", "{{.MemUsage}}", id]);
    c.say(`agent: idle RSS ${rss.toFixed(1)} MiB, CPU ${cpuPct.toFixed(2)} %; the container's cgroup: ${cgroup}`);
    const [after] = await readAgentStatus(dir);
    if (after?.placement?.leaseId !== placed.leaseId)
      throw new Error(`the agent moved while it should have been idle: ${after?.last ?? "no status"}`);
    return {
      agentImageMb: +(imageBytes / 2 ** 20).toFixed(1),
      agentIdleRssMb: +rss.toFixed(1),
      agentIdleCpuPct: +cpuPct.toFixed(2),
    };
  } finally {
    // Its lease keeps running at the yard (the bench's clean-up removes the yard's containers).
    await c.docker(["rm", "-f", id]).catch((e: Error) => c.say(`agent: could not remove ${name}: ${e.message}`));
  }
}

/** The stdout of a docker command. */
const text = async (c: AgentBenchComponents, args: string[]): Promise<string> => (await c.docker(args)).stdout.trim();

/** The end of a container's output (the agent's events on stdout, its errors on stderr). */
async function logs(c: AgentBenchComponents, id: string): Promise<string> {
  return c.docker(["logs", "--tail", "20", id]).then(
    ({ stdout, stderr }) => `${stdout}${stderr}`,
    (e: Error) => `(no logs: ${e.message})`,
  );
}
