/**
 * bench:proxy's two yards: an embedded automining chain (startMarket) with two `icon yard start` processes on it,
 * each with its own bridge network, host firewall and /24; a tenant's leases on them — the upstream (icon/http-return:1)
 * at yard B, an idle lease at yard A whose stub points at it, and the same pair for the bulk sink (icon/echo:1) —
 * and the upstream container's address and process.
 */
import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { Wallet } from "ethers";
import { multiaddr } from "@multiformats/multiaddr";
import { setRouting, signLeaseAccess } from "../../../protocol/index.ts";
import type { DockerRuntime } from "../../../yard-node/index.ts";
import { Tenant, USD, startMarket, startYardProcess, writeYardConfig, yardConfig } from "../../lib/testbed.ts";
import type { TestMarket, YardProcess } from "../../lib/testbed.ts";
import { BODY, IDLE_LEASE, IMAGE, SINK_IMAGE, SINK_PORT, UPSTREAM_LEASE, UPSTREAM_PORT, say } from "./config.ts";
import { httpGet } from "./host.ts";

/** What the set-up started, filled in as it goes, so that the bench's clean-up stops whatever did start. */
export interface TwoYards {
  market?: TestMarket;
  tenant?: Tenant;
  yardA?: YardProcess;
  yardB?: YardProcess;
}

/** What the set-up uses: the engine, the yards' ids and runtimes, and the upstream image's digest. */
export interface TwoYardsComponents {
  socketPath: string;
  yardIds: { a: string; b: string };
  runtimes: { a: DockerRuntime; b: DockerRuntime };
  digest: string;
}

/** A lease the tenant holds: its id and its public ingress endpoint. */
interface Held {
  leaseId: bigint;
  endpoint: string;
}

/** The paths' ends the set-up made. */
export interface TwoYardsPaths {
  yardA: YardProcess;
  yardB: YardProcess;
  /** The upstream's lease at yard B and yard A's idle lease whose stub points at it. */
  up: Held;
  idle: Held;
  /** Yard A's lease whose stub points at the sink lease at yard B. */
  viaA: Held;
  /** The upstream container at yard B, its address on its bridge network (host:port) and its HAProxy's host pid. */
  container: { id: string; ip: string };
  direct: string;
  upstreamPid: number;
}

/** Starts the market, the two yards and the leases, and waits until the upstream container answers. */
export async function startTwoYards(running: TwoYards, c: TwoYardsComponents): Promise<TwoYardsPaths> {
  const { socketPath, yardIds, runtimes, digest } = c;
  // The market and two yards as processes (B first in the logs only: they start side by side).
  say(`starting the market (embedded chain) and yards ${yardIds.a}, ${yardIds.b} …`);
  const market = (running.market = await startMarket());
  const operators = { a: 1, b: 4 };
  for (const k of Object.values(operators)) await market.admin.mint(new Wallet(market.keys[k]!).address, USD(1000));
  const t = (running.tenant = await Tenant.create(market, 2, 3, USD(1000)));
  const config = async (yardId: string, serviceCidr: string): Promise<string> => {
    const base = yardConfig(market, yardId);
    return writeYardConfig(
      market,
      yardConfig(market, yardId, {
        chain: { ...base.chain, pollMs: 1000 },
        capacity: { cpuMillis: 4000, memoryMiB: 4096, pidsPerLease: 64 },
        // No claim during the run; the chain polled once a second, as in production.
        lease: { startLeadS: 2, earlyStartS: 2, claimIntervalS: 3600, stopTimeoutS: 1, imageGraceS: 600 },
        overlay: { serviceCidr },
      }),
    );
  };
  const cidr = (base: number): string => `10.233.${base + (process.pid % 25)}.0/24`;
  // Side by side; both settled before going on, so that the clean-up stops one that started when the other failed.
  const started = await Promise.allSettled([
    config(yardIds.a, cidr(100)).then(
      async (f) => (running.yardA = await startYardProcess(f, market.keys[operators.a]!)),
    ),
    config(yardIds.b, cidr(125)).then(
      async (f) => (running.yardB = await startYardProcess(f, market.keys[operators.b]!)),
    ),
  ]);
  for (const r of started) if (r.status === "rejected") throw r.reason;
  const { yardA, yardB } = running;
  if (!yardA || !yardB) throw new Error("a yard did not start");
  const addrA = multiaddr(yardA.addr);
  const addrB = multiaddr(yardB.addr);
  const peerB = /\/p2p\/([^/]+)$/.exec(yardB.addr)?.[1];
  if (!peerB) throw new Error(`yard B's address ${yardB.addr} names no peer`);

  // The upstream: a lease at yard B; yard A's lease forwards to it through a stub.
  const spec = { imageRef: IMAGE, ports: [UPSTREAM_PORT] };
  const up = await t.lease(addrB, digest, { ...UPSTREAM_LEASE, imageRef: IMAGE }, spec);
  const idle = await t.lease(addrA, digest, { ...IDLE_LEASE, imageRef: IMAGE }, spec);
  /** Sets a redirection stub on `from`'s lease at yard A to `to`'s lease at yard B, as an ICON does when it moves. */
  const stub = async (from: { leaseId: bigint }, to: { leaseId: bigint; endpoint: string }): Promise<void> => {
    await setRouting(t.node, addrA, {
      access: await signLeaseAccess(t.icon, t.owner.domain(), from.leaseId, t.node.peerId),
      redirects: [],
      stub: {
        yard: peerB,
        addrs: [addrB.toString().replace(/\/p2p\/[^/]+$/, "")],
        instanceId: to.leaseId,
        endpoint: to.endpoint,
        graceS: 24 * 3600,
      },
    });
  };
  await stub(idle, up);
  // The bulk path through both yards: a sink lease at B, and a lease at A whose stub points at it.
  const sinkImage = await runtimes.b.imageId(SINK_IMAGE);
  if (!sinkImage) throw new Error(`${SINK_IMAGE} is not in the engine at ${socketPath}; run bash scripts/images.sh`);
  const sinkDigest = "0x" + sinkImage.slice("sha256:".length);
  const sinkSpec = {
    imageRef: SINK_IMAGE,
    ports: [SINK_PORT],
    command: ["/bin/echo-server", "-d", String(SINK_PORT)],
  };
  const sinkLease = await t.lease(addrB, sinkDigest, { ...UPSTREAM_LEASE, imageRef: SINK_IMAGE }, sinkSpec);
  const viaA = await t.lease(addrA, sinkDigest, { ...IDLE_LEASE, imageRef: SINK_IMAGE }, sinkSpec);
  await stub(viaA, sinkLease);
  const container = (await runtimes.b.list({ leaseId: up.leaseId })).find((c) => c.running && c.ip);
  if (!container) throw new Error(`yard B runs no container for lease ${up.leaseId}`);
  const direct = `${container.ip}:${UPSTREAM_PORT}`;
  const upstreamPid = await containerProcess(runtimes.b, container.id);
  for (let i = 0; ; i++) {
    const got = await httpGet(direct).catch((e: unknown) => String(e));
    if (got === `200 ${BODY}`) break;
    if (i >= 100) throw new Error(`the upstream container at ${direct} answered ${JSON.stringify(got)}`);
    await sleep(50);
  }
  return { yardA, yardB, up, idle, viaA, container: { id: container.id, ip: container.ip }, direct, upstreamPid };
}

/** The host pid of a container's main process (the child of the engine's init, pid 1 inside), for its CPU share. */
async function containerProcess(runtime: DockerRuntime, id: string): Promise<number> {
  const init = (await runtime.docker.getContainer(id).inspect()).State.Pid;
  const kids = readFileSync(`/proc/${init}/task/${init}/children`, "utf8").trim().split(/\s+/).filter(Boolean);
  return kids.length > 0 ? Number(kids[0]) : init;
}

/** SIGTERM, then SIGKILL after 15 s; says what a yard that did not exit cleanly wrote. */
export async function stopYard(name: string, y: YardProcess | undefined): Promise<void> {
  if (!y || y.child.exitCode !== null || y.child.signalCode !== null) return;
  y.child.kill("SIGTERM");
  const code = await Promise.race([y.exited, sleep(15_000, "timeout" as const)]);
  if (code === "timeout") {
    y.child.kill("SIGKILL");
    await y.exited;
  } else if (code !== 0) say(`yard ${name} exited with ${code}: ${y.err.join("").slice(-2000)}`);
}
