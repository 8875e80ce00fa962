/**
 * This checkout's agent image for the tests that run a real ICON agent in a real sidecar: icon/agent:1 (Node and its
 * libraries, entry, user) with the agent bundled from these sources as scripts/images.sh bundles it, under a tag of
 * the test's own — the engine is shared, and other checkouts rebuild icon/agent:1 from their code.
 *
 * @example
 *   const image = `icon/agent:renew-test-${process.pid}`;
 *   before(() => buildAgentImage(image));
 *   after(() => docker(["rmi", "-f", image]).catch(() => {}));
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { DockerRuntime } from "../../yard-node/docker.ts";
import type { Yard } from "../../yard-node/yard.ts";
import { LeaseSecret, type Offer, type Rfq } from "../../protocol/index.ts";
import { readAgentState, sealAgentState, writeAgentState } from "../../icon-agent/state.ts";
import { probeYard } from "../../icon-agent/market.ts";
import type { Tenant } from "../../scripts/lib/testbed.ts";
import { waitFor } from "./docker.ts";

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, "../..");

/**
 * Builds `tag`: icon/agent:1 with this checkout's agent bundled into /app/icon-agent.js; `env` (e.g. a test fault,
 * ICON_FAULT_…) is set in the image, so every sidecar of it runs with it.
 */
export async function buildAgentImage(tag: string, env: Record<string, string> = {}): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), "icon-agent-image-"));
  try {
    await run(
      path.join(root, "node_modules/.bin/esbuild"),
      [
        "scripts/cli/agent-main.ts",
        "--bundle",
        "--platform=node",
        "--format=esm",
        "--target=node24",
        "--log-level=warning",
        `--outfile=${dir}/icon-agent.js`,
        '--banner:js=import { createRequire as iconCreateRequire } from "node:module"; const require = iconCreateRequire(import.meta.url);',
      ],
      { cwd: root },
    );
    const envLines = Object.entries(env).map(([k, v]) => `ENV ${k}=${JSON.stringify(v)}\n`);
    await writeFile(
      path.join(dir, "Dockerfile"),
      `FROM icon/agent:1\nCOPY icon-agent.js /app/icon-agent.js\n${envLines.join("")}`,
    );
    await docker(["build", "-q", "-t", tag, dir]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The docker CLI on the project's engine (ICON_DOCKER_SOCKET). */
export function docker(args: string[]): Promise<{ stdout: string; stderr: string }> {
  const socket = process.env.ICON_DOCKER_SOCKET ?? DockerRuntime.defaultSocket();
  return run("/usr/bin/docker", ["-H", `unix://${socket}`, ...args], { env: { ...process.env, DOCKER_BUILDKIT: "0" } });
}

/** What {@link placeInSidecar} needs: the ICON's tenant (its key and account), its state directory, where and how. */
export interface SidecarPlacement {
  tenant: Tenant;
  /** The ICON's state directory (written by deployApp or by hand): its placement is set to the new lease. */
  dir: string;
  yard: Yard;
  /** The lease's RFQ (the service's share plus the agent's). */
  rfq: Partial<Rfq>;
  /** The service (icon/web:1 on 8080 unless named). */
  webDigest: string;
  /**
   * The agent part without its secret: the state's `env.sidecar` when it names one (the ICON's own Deploys then
   * name the same agent, so the yard keeps this sidecar for them), else this.
   */
  agent?: { imageRef: string; imageDigest: string; command?: string[]; cpuMillis: number; memoryMiB: number };
}

/**
 * Places the ICON in `o.dir` as `icon app deploy` would leave it: a lease at `o.yard` opened for its account, the
 * state naming it as the placement, sealed into the agent part of the lease's Deploy. Resolves with the lease once
 * the yard answered Running (the sidecar started).
 */
export async function placeInSidecar(o: SidecarPlacement): Promise<{ leaseId: bigint; offer: Offer }> {
  const { tenant } = o;
  const opened = await tenant.open(o.yard.node.getMultiaddrs()[0]!, tenant.rfq(o.webDigest, o.rfq));
  try {
    const state = await readAgentState(o.dir);
    const yard = await probeYard(tenant.node, tenant.owner, [o.yard.node.getMultiaddrs()[0]!.toString()]);
    await writeAgentState(
      o.dir,
      state.env,
      {
        ...state.seed,
        placement: {
          leaseId: opened.leaseId,
          leaseStart: opened.offer.start,
          yard,
          endpoint: "",
          pricePerSecond: opened.offer.pricePerSecond,
          end: opened.offer.end,
          since: Date.now() / 1000,
        },
      },
      state.key,
    );
    const s = state.env.spec;
    const agent = state.env.sidecar ?? o.agent;
    if (!agent) throw new Error(`the ICON in ${o.dir} names no sidecar and none was given`);
    const r = await opened.session.request({
      type: "deploy",
      spec: {
        leaseId: opened.leaseId,
        imageRef: s.imageRef,
        imageDigest: s.imageDigest,
        command: s.command,
        env: s.env,
        ports: s.ports,
        httpPorts: s.httpPorts,
        ...(s.service ? { service: s.service } : {}),
        agent: { command: [], ...agent, secret: LeaseSecret.of(Buffer.from(await sealAgentState(o.dir))) },
      },
    });
    if (r.type !== "running") throw new Error(`deploy failed: ${r.type === "failed" ? r.message : r.type}`);
    // The placement's endpoint as the yard answered it (what the agent's own copy learns from its yard).
    const placed = await readAgentState(o.dir);
    placed.seed.placement!.endpoint = r.endpoint;
    await writeAgentState(o.dir, placed.env, placed.seed, placed.key);
    return { leaseId: opened.leaseId, offer: opened.offer };
  } finally {
    await opened.session.close();
  }
}

/**
 * The output of lease `leaseId`'s sidecar at `yard` (read through that yard's runtime: each reads only its own
 * containers) as it comes (the longest seen: a restarted container's log
 * keeps its earlier runs), and `until`, which waits as waitFor does and shows that output when it times out.
 */
export function sidecarOutput(
  yard: () => Yard,
  leaseId: () => bigint,
): {
  read(): Promise<string>;
  until<T>(what: string, check: () => Promise<T | undefined | false>, ms: number): Promise<T>;
} {
  let output = "";
  let container: string | undefined;
  const read = async (): Promise<string> => {
    container = yard().db.lease(leaseId())?.agentContainerId ?? container;
    if (container) {
      const now = await yard()
        .runtime.logs(container)
        .catch(() => "");
      if (now.length > output.length) output = now;
    }
    return output;
  };
  return {
    read,
    until: <T>(what: string, check: () => Promise<T | undefined | false>, ms: number): Promise<T> =>
      waitFor(what, check, ms).catch(async (e: unknown) => {
        const row = yard().db.lease(leaseId());
        const id = row?.agentContainerId ?? container;
        const state = id
          ? await yard()
              .runtime.inspect(id)
              .catch(() => undefined)
          : undefined;
        const where = `lease ${leaseId()} at the yard: ${row?.status ?? "unknown"}${row?.note ? ` (${row.note})` : ""}, sidecar ${id ?? "none"} ${JSON.stringify(state ?? {}, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v))}`;
        throw new Error(`${(e as Error).message}; ${where}; the agent's output:\n${await read()}`);
      }),
  };
}
