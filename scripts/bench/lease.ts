/**
 * Lease start and yard footprint, in one run, against a yard running as its own process (`icon yard start`) on the
 * project's Docker engine and an embedded automining chain:
 *  - rfqToRunningP50Ms: one whole lease as an ICON makes it (Tenant.lease): open a stream, RFQ → signed Quote →
 *    Accept → the yard relays openLease and waits for its receipt → Opened → Deploy → the yard creates and starts
 *    the container and opens its ingress → "running". Each run is a new lease of icon/web:1 (100 mCPU, 32 MiB).
 *  - dockerRunP50Ms: the floor, in the same run: a bare `docker run -d` of the same image with the limits the yard
 *    applies (CPU, memory = memory+swap, pids, every capability dropped, no-new-privileges, read-only root with a
 *    tmpfs on /tmp, user 65534, an init) on the yard's own bridge network, timed until the CLI returns, then
 *    removed. Yard and Docker runs alternate so that noise hits both alike; ratio = yard p50 / Docker p50.
 *  - rfqToRunningSidecarMs / bareTwoContainersMs / sidecarRatio: the same, for a lease that carries its ICON (the
 *    Deploy names an agent sidecar; the yard starts both containers side by side and answers "running" when both
 *    run) against the same two containers made by hand with dockerode, side by side, the secret written to the
 *    sidecar's standard input (scripts/bench/lease-sidecar.ts). Each round runs all four in turn: lease, docker run,
 *    lease with sidecar, two bare containers; medians (p50) of RUNS rounds, ratio = sidecar lease / bare two.
 *  - yardIdleRssMb / yardIdleCpuPct: the yard process's VmRSS (MiB) after 5 s ready and idle with no lease, and
 *    its CPU time (utime + stime from /proc/<pid>/stat) over a 10 s idle window divided by the window (1 s tick,
 *    chain polled every 1 s as in production).
 *  - yardRssAtLoadMb: VmRSS with 50 leases active (the latency runs' leases included, RUNS + 1 of them with a
 *    sidecar), 5 s after the last one.
 *  - agentImageMb / agentIdleRssMb / agentIdleCpuPct: the ICON agent's image (icon/agent:1) and a real agent in it,
 *    placed at this yard and idle (scripts/bench/lease-agent.ts), after the figures above.
 * Anchors: a Docker container starts in ≈ 0.57 s on an SSD (published measurements); Akash's console tells users to
 * wait 30 s for bids before a deployment can even be created.
 *
 * Usage: npm run bench:lease   (progress on stderr; last line: one JSON object)
 */
import { execFile } from "node:child_process";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { Wallet } from "ethers";
import { multiaddr } from "@multiformats/multiaddr";
import { DockerRuntime } from "../../yard-node/index.ts";
import {
  Tenant,
  USD,
  httpGet,
  poll,
  removeYardLeftovers,
  startMarket,
  startYardProcess,
  writeYardConfig,
  yardConfig,
  type YardProcess,
} from "../lib/testbed.ts";
import { measureAgent } from "./lease-agent.ts";
import { sidecarBench } from "./lease-sidecar.ts";
import { cpuSeconds, rssMiB } from "./proc.ts";

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, "../..");
const socketPath = DockerRuntime.defaultSocket();
// Debian's CLI speaks the engine's API version (a newer `docker` earlier on PATH may refuse to).
const DOCKER = "/usr/bin/docker";
const IMAGE = "icon/web:1";
const RUNS = 15;
const TARGET_LEASES = 50;
const LEASE = { slotSeconds: 600, cpuMillis: 100, memoryMiB: 32 };
const PIDS = 64;

const say = (line: string): void => void process.stderr.write(`${line}\n`);
const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const round = (x: number, digits = 1): number => +x.toFixed(digits);
const now = (): number => Number(process.hrtime.bigint()) / 1e6;

// The project's engine and images (both scripts are idempotent and quick when nothing is to do).
for (const [script, ...args] of [["docker.sh", "start"], ["images.sh"]] as const) {
  await run("bash", [path.join(ROOT, "scripts", script), ...args], {
    env: { ...process.env, ICON_DOCKER_SOCKET: socketPath },
  });
}

const yardId = `bench-lease-${process.pid}`;
const runtime = new DockerRuntime({ socketPath, yardId });
const web = await runtime.imageId(IMAGE);
if (!web) throw new Error(`${IMAGE} is not in the engine at ${socketPath}; run bash scripts/images.sh`);
const digest = "0x" + web.slice("sha256:".length);

say(`starting the market (embedded chain) and yard ${yardId} …`);
const m = await startMarket();
let yard: YardProcess | undefined;
let tenant: Tenant | undefined;
try {
  const operator = new Wallet(m.keys[1]!, m.provider);
  await m.admin.mint(operator.address, USD(1000));
  tenant = await Tenant.create(m, 2, 3, USD(1000));
  const base = yardConfig(m, yardId);
  const file = await writeYardConfig(
    m,
    yardConfig(m, yardId, {
      chain: { ...base.chain, pollMs: 1000 },
      capacity: { cpuMillis: 8000, memoryMiB: 8192, pidsPerLease: PIDS },
      // Production's claim interval and image grace: nothing but the tick and the chain poll while idle.
      lease: { startLeadS: 2, earlyStartS: 2, claimIntervalS: 300, stopTimeoutS: 1, imageGraceS: 600 },
    }),
  );
  yard = await startYardProcess(file, m.keys[1]!);
  const pid = yard.child.pid!;
  const addr = multiaddr(yard.addr);

  // Footprint at rest, on a fresh yard with no lease.
  await sleep(5000);
  const idleRss = rssMiB(pid);
  say(`yard idle RSS ${idleRss.toFixed(1)} MiB (pid ${pid}); measuring idle CPU over 10 s …`);
  const c0 = cpuSeconds(pid);
  const w0 = now();
  await sleep(10_000);
  const idleCpuPct = ((cpuSeconds(pid) - c0) / ((now() - w0) / 1000)) * 100;
  say(`yard idle CPU ${idleCpuPct.toFixed(2)} %`);

  // Latency: yard lease and bare docker run, alternating; one warm-up pair first (the tenant's first dial and the
  // yard's network creation are in the yard's warm-up, the CLI's first start in Docker's).
  const dockerRun = async (): Promise<number> => {
    const t0 = now();
    const { stdout } = await run(DOCKER, [
      "-H",
      `unix://${socketPath}`,
      "run",
      "-d",
      "--network",
      runtime.network,
      "--cpus",
      String(LEASE.cpuMillis / 1000),
      "--memory",
      `${LEASE.memoryMiB}m`,
      "--memory-swap",
      `${LEASE.memoryMiB}m`,
      "--pids-limit",
      String(PIDS),
      "--cap-drop",
      "ALL",
      "--security-opt",
      "no-new-privileges",
      "--read-only",
      "--tmpfs",
      "/tmp",
      "--user",
      "65534:65534",
      "--init",
      IMAGE,
    ]);
    const ms = now() - t0;
    await run(DOCKER, ["-H", `unix://${socketPath}`, "rm", "-f", stdout.trim()]);
    return ms;
  };
  const yardRun = async (): Promise<{ ms: number; endpoint: string }> => {
    const t0 = now();
    const { endpoint } = await tenant!.lease(addr, digest, LEASE);
    return { ms: now() - t0, endpoint };
  };
  const sidecars = await sidecarBench({
    tenant,
    yardAddr: addr,
    runtime,
    image: IMAGE,
    imageDigest: digest,
    pids: PIDS,
  });
  const endpoints: string[] = [];
  const warm = await yardRun();
  endpoints.push(warm.endpoint);
  const warmDocker = await dockerRun();
  const warmSidecar = await sidecars.leaseWithSidecar();
  endpoints.push(warmSidecar.endpoint);
  const warmBare = await sidecars.bareTwoContainers();
  say(
    `warm-up: first lease ${warm.ms.toFixed(0)} ms, first docker run ${warmDocker.toFixed(0)} ms, first lease with sidecar ${warmSidecar.ms.toFixed(0)} ms, first bare two ${warmBare.toFixed(0)} ms`,
  );
  const yardMs: number[] = [];
  const dockerMs: number[] = [];
  const sidecarMs: number[] = [];
  const bareMs: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const y = await yardRun();
    endpoints.push(y.endpoint);
    yardMs.push(y.ms);
    dockerMs.push(await dockerRun());
    const s = await sidecars.leaseWithSidecar();
    endpoints.push(s.endpoint);
    sidecarMs.push(s.ms);
    bareMs.push(await sidecars.bareTwoContainers());
    say(
      `run ${i + 1}/${RUNS}: lease ${y.ms.toFixed(0)} ms, docker run ${dockerMs.at(-1)!.toFixed(0)} ms; with sidecar ${s.ms.toFixed(0)} ms, bare two ${bareMs.at(-1)!.toFixed(0)} ms`,
    );
  }
  // Not timed: every lease really serves.
  for (const e of endpoints) await poll(`lease at ${e} to answer`, () => httpGet(e, 1000), 10_000);

  // Load: leases until 50 are active, then RSS at rest.
  const fillMs: number[] = [];
  while (endpoints.length < TARGET_LEASES) {
    const y = await yardRun();
    endpoints.push(y.endpoint);
    fillMs.push(y.ms);
  }
  say(
    `leases ${endpoints.length - fillMs.length + 1}-${endpoints.length}: p50 ${Math.round(pct(fillMs, 50))} ms, p90 ${Math.round(pct(fillMs, 90))} ms (no Docker runs in between)`,
  );
  // Leases with a running service (a lease with a sidecar has two containers).
  const running = (await runtime.list()).filter((c) => c.running && c.role === "service").length;
  await sleep(5000);
  const loadRss = rssMiB(pid);
  say(`${running} leases active (containers running); yard RSS ${loadRss.toFixed(1)} MiB`);

  // The ICON agent in its image, placed at this yard and idle (its lease is the 51st; measured after the others).
  const agent = await measureAgent({
    market: m,
    yardAddr: yard.addr,
    image: IMAGE,
    imageDigest: digest,
    docker: (args) => run(DOCKER, ["-H", `unix://${socketPath}`, ...args]),
    say,
  });

  const out = {
    rfqToRunningP50Ms: Math.round(pct(yardMs, 50)),
    dockerRunP50Ms: Math.round(pct(dockerMs, 50)),
    ratio: round(pct(yardMs, 50) / pct(dockerMs, 50), 2),
    rfqToRunningSidecarMs: Math.round(pct(sidecarMs, 50)),
    bareTwoContainersMs: Math.round(pct(bareMs, 50)),
    sidecarRatio: round(pct(sidecarMs, 50) / pct(bareMs, 50), 2),
    yardIdleRssMb: round(idleRss),
    yardIdleCpuPct: round(idleCpuPct, 2),
    leases: running,
    yardRssAtLoadMb: round(loadRss),
    ...agent,
  };
  say(
    `RFQ→running   p50 ${out.rfqToRunningP50Ms} ms, p90 ${Math.round(pct(yardMs, 90))} ms   (${RUNS} leases, chain included)`,
  );
  say(`docker run -d p50 ${out.dockerRunP50Ms} ms, p90 ${Math.round(pct(dockerMs, 90))} ms`);
  say(`ratio ${out.ratio}   target <= 1.5`);
  say(
    `with sidecar  p50 ${out.rfqToRunningSidecarMs} ms, p90 ${Math.round(pct(sidecarMs, 90))} ms; bare two containers p50 ${out.bareTwoContainersMs} ms, p90 ${Math.round(pct(bareMs, 90))} ms`,
  );
  say(`sidecar ratio ${out.sidecarRatio}   target <= 1.5`);
  say(`yard idle: RSS ${out.yardIdleRssMb} MiB (target <= 120), CPU ${out.yardIdleCpuPct} % (target <= 1)`);
  say(`yard RSS at ${out.leases} leases: ${out.yardRssAtLoadMb} MiB (target <= 200)`);
  say(
    `agent image ${out.agentImageMb} MiB; agent in it, placed and idle: RSS ${out.agentIdleRssMb} MiB (target <= 96), CPU ${out.agentIdleCpuPct} % (target <= 1)`,
  );
  console.log(JSON.stringify(out));
} finally {
  if (yard) {
    yard.child.kill("SIGTERM");
    const code = await Promise.race([yard.exited, sleep(15_000, "timeout" as const)]);
    if (code === "timeout") yard.child.kill("SIGKILL");
    else if (code !== 0) say(`the yard exited with ${code}: ${yard.out.join("").slice(-2000)}`);
  }
  await tenant?.stop();
  await removeYardLeftovers(runtime, say);
  await m.close();
}
process.exit(0);
