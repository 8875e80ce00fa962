/**
 * A lease that carries its ICON, for `npm run bench:lease` (scripts/bench/lease.ts): the two timed runs the bench
 * alternates with its one-container pair, so that the sidecar's cost is measured against its own floor, same run.
 *  - leaseWithSidecar(): RFQ → … → Deploy with an agent part → "running", exactly like the bench's plain lease but
 *    the Deploy names a sidecar: the yard creates and starts the service and the sidecar side by side under the
 *    lease's lock, the sidecar attached and its secret written to its standard input, and answers "running" when
 *    both run. The lease is SIDECAR_LEASE (150 mCPU, 48 MiB) less the agent's share (AGENT_SHARE, 50 mCPU, 16 MiB):
 *    the service gets the plain lease's 100 mCPU and 32 MiB.
 *  - bareTwoContainers(): the floor: the same two containers made by hand on the yard's network with dockerode
 *    (no yard, no CLI), side by side as the yard makes them — the service created and started; the sidecar created
 *    with an open standard input, attached, started, the secret written and its input closed — with the same
 *    limits, user, capabilities, read-only root, tmpfs (/tmp, and /run/icon for the sidecar), init and log
 *    settings as yard-node/docker.ts; timed until both starts and the write returned, then removed (untimed).
 * The sidecar is icon/busybox:1 with the sidecar tests' entry (its secret from standard input into /run/icon, then
 * idle), not icon/agent:1: a real agent needs a sealed state of a deployed ICON per lease and, on the yard's bridge,
 * reaches no chain (the bench's listens on 127.0.0.1), so it would exit and be restarted, noise in both figures.
 * What is timed (create, attach, start, the write) does not depend on the image beyond its layers' mount, which both
 * sides pay alike. The secret is SECRET_BYTES random bytes, the size of a sealed agent state.
 */
import { randomBytes } from "node:crypto";
import type { Multiaddr } from "@multiformats/multiaddr";
import type Docker from "dockerode";
import { LeaseSecret } from "../../protocol/index.ts";
import { AGENT_SECRET_DIR, CONTAINER_USER, leaseHostConfig, type DockerRuntime } from "../../yard-node/index.ts";
import type { Tenant } from "../lib/testbed.ts";

export const SIDECAR_IMAGE = "icon/busybox:1";
/** The sidecar's entry: the secret from standard input into its tmpfs, then idle (as test/mocha/yard/sidecar.test.ts). */
const SIDECAR_COMMAND = ["sh", "-c", `umask 077; cat > ${AGENT_SECRET_DIR}/secret; exec sleep 3600`];
/** The agent's share of the lease; the service keeps the bench's plain lease (100 mCPU, 32 MiB). */
const AGENT_SHARE = { cpuMillis: 50, memoryMiB: 16 } as const;
export const SIDECAR_LEASE = { slotSeconds: 600, cpuMillis: 150, memoryMiB: 48 } as const;
/** A sealed agent state (agent.json, key, peer key, port) is ≈ 1–2 KiB. */
const SECRET_BYTES = 2048;

export interface SidecarBenchComponents {
  tenant: Pick<Tenant, "lease">;
  yardAddr: Multiaddr;
  /** The bench's runtime: its yard id is the yard's, so its network is the yard's. */
  runtime: Pick<DockerRuntime, "docker" | "network" | "imageId">;
  /** The service's image: reference and id (0x…). */
  image: string;
  imageDigest: string;
  /** Pids per container (the yard's capacity.pidsPerLease). */
  pids: number;
}

export interface SidecarBench {
  /** One whole lease with an agent sidecar: milliseconds to "running", and its ingress endpoint. */
  leaseWithSidecar(): Promise<{ ms: number; endpoint: string }>;
  /** The same two containers by hand, side by side: milliseconds until both run (then removed, untimed). */
  bareTwoContainers(): Promise<number>;
}

const now = (): number => performance.now();

/** The sidecar bench on the bench's yard; throws a sentence when the sidecar's image is not in the engine. */
export async function sidecarBench(c: SidecarBenchComponents): Promise<SidecarBench> {
  const sidecarId = await c.runtime.imageId(SIDECAR_IMAGE);
  if (!sidecarId) throw new Error(`${SIDECAR_IMAGE} is not in the engine; run bash scripts/images.sh`);
  const docker = c.runtime.docker;
  let n = 0;

  /** Create options as yard-node/docker.ts makes them (name and labels aside: these are the bench's own). */
  const options = (
    name: string,
    image: string,
    limits: { cpuMillis: number; memoryMiB: number },
    agent: boolean,
  ): Docker.ContainerCreateOptions => ({
    name,
    Image: image,
    ...(agent ? { Cmd: SIDECAR_COMMAND, OpenStdin: true, StdinOnce: true, AttachStdin: false } : {}),
    Env: [],
    User: CONTAINER_USER,
    Labels: { "icon.bench": "lease-sidecar" },
    ExposedPorts: agent ? {} : { "8080/tcp": {} },
    StopTimeout: 1,
    HostConfig: leaseHostConfig(c.runtime.network, { ...limits, pids: c.pids }, agent),
    NetworkingConfig: { EndpointsConfig: { [c.runtime.network]: {} } },
  });

  const service = async (name: string): Promise<Docker.Container> => {
    const limits = {
      cpuMillis: SIDECAR_LEASE.cpuMillis - AGENT_SHARE.cpuMillis,
      memoryMiB: SIDECAR_LEASE.memoryMiB - AGENT_SHARE.memoryMiB,
    };
    const ct = await docker.createContainer(options(name, c.image, limits, false));
    await ct.start();
    return ct;
  };
  const sidecar = async (name: string, secret: Buffer): Promise<Docker.Container> => {
    const ct = await docker.createContainer(options(name, sidecarId, AGENT_SHARE, true));
    const stream = (await ct.attach({
      stream: true,
      stdin: true,
      stdout: false,
      stderr: false,
      hijack: true,
    })) as NodeJS.ReadWriteStream & { destroy(): void };
    try {
      await ct.start();
      await new Promise<void>((resolve, reject) => {
        stream.once("error", reject);
        stream.write(secret, () => resolve());
      });
      stream.end();
    } finally {
      setTimeout(() => stream.destroy(), 1000).unref();
    }
    return ct;
  };

  return {
    async leaseWithSidecar() {
      const secret = LeaseSecret.of(randomBytes(SECRET_BYTES));
      const t0 = now();
      const { endpoint } = await c.tenant.lease(c.yardAddr, c.imageDigest, SIDECAR_LEASE, {
        agent: {
          imageRef: SIDECAR_IMAGE,
          imageDigest: "0x" + sidecarId.slice("sha256:".length),
          command: SIDECAR_COMMAND,
          ...AGENT_SHARE,
          secret,
        },
      });
      const ms = now() - t0;
      secret.wipe();
      return { ms, endpoint };
    },

    async bareTwoContainers() {
      const name = `icon-bench-bare-${process.pid}-${++n}`;
      const secret = randomBytes(SECRET_BYTES);
      const t0 = now();
      const made = await Promise.allSettled([service(`${name}-service`), sidecar(`${name}-agent`, secret)]);
      const ms = now() - t0;
      await Promise.all(
        [`${name}-service`, `${name}-agent`].map((id) =>
          docker
            .getContainer(id)
            .remove({ force: true, v: true })
            .catch(() => undefined),
        ),
      );
      for (const r of made) if (r.status === "rejected") throw r.reason;
      return ms;
    },
  };
}
