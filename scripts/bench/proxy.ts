/**
 * Overlay proxy benchmark: a real yard's ingress and the encrypted tunnel between two real yards, side by side with
 * a direct connection and HAProxy, in one run, with the same load generator and the same load on every path, all
 * ending at the same upstream container.
 *
 * Upstream: a lease container on the project's Docker engine (scripts/docker.sh). Its image, icon/http-return:1
 * (scripts/images.sh, built from the host's HAProxy binary and the shared libraries `ldd` lists), runs HAProxy with
 * `nbthread 1` in `mode http` answering every request itself (`http-request return`: 200, a fixed 24-byte body,
 * keep-alive) on port 8080: a real HTTP/1.1 server in C at ≈ 4 µs of CPU per request, against ≈ 11 µs for a Node
 * http server and a fork per connection for busybox httpd (icon/web:1); the cheaper the upstream, the more the proxy
 * in front of it decides the figure (nginx is not installed). The tenant leases it at yard B (1 core, 128 MiB), so
 * yard B creates it as it creates every lease container: CPU quota, memory = memory + swap, pids limit, user 65534,
 * no capabilities, no-new-privileges, read-only root, an init, on yard B's own bridge network with no published
 * port, behind the yard's host firewall. The paths:
 *  - direct:  wrk → the container's address on its bridge network, port 8080;
 *  - proxy:   wrk → yard B's public ingress endpoint for that lease (`tcp` mode: the lease lists no httpPorts) → the
 *             container. Yard B is `icon yard start` in a process of its own (one Node thread for its data path),
 *             so this is everything a yard does per connection: the route lookup (stub or local container) and
 *             the flow observation (client, λ, latency) included;
 *  - tunnel:  wrk → yard A's public ingress endpoint for a second lease (the same image, idle, at yard A) whose
 *             holder set a redirection stub to the lease at B (`setRouting` with lease access, as an ICON does when
 *             it migrates) → yard A's TunnelManager stream (libp2p TCP + noise + yamux; noise on the project's
 *             crypto, protocol/net/noise-crypto.ts) → yard B, which resolves the instance, records the flow and
 *             connects → the same container. Two `icon yard start` processes, so each yard can have a core;
 *  - haproxy: wrk → HAProxy on the host (Debian's package, `mode tcp`, `nbthread 1`: one core against one Node
 *             thread) → the container;
 *  - ingress: wrk → yard-node's Ingress class alone in a child process (`tcp`, a local upstream: the container) →
 *             the container: the Ingress without the rest of a yard, printed as the extra figure bareIngressRps;
 *  - bareTunnel / bareTunnelLib: wrk → that Ingress process with a `remote` route → TunnelManager stream → the bulk
 *             path's far end (below) → the container: the tunnel without the rest of two yards, on the project's
 *             stack (yamux window updates at half the window, protocol/net/yamux-window.ts) and, as its reference
 *             in the same run, on @libp2p/yamux's own pacing (a window update per data frame): extra figures
 *             bareTunnelRps, bareTunnelLibraryWindowRps and their within-round ratio bareTunnelVsLibraryWindow.
 * Both yards run on an embedded automining chain in this process (startMarket; the yards poll it once a second and
 * claim nothing during the run), each with its own bridge network, host firewall and semantic addressing (a /24 of
 * its own). Yard A's own lease container takes no traffic (its ingress forwards through the stub).
 *
 * Load: wrk (Debian's package) with one thread and 64 keep-alive connections for 10 s per path (requests/s, with
 * the CPU share of every process: /proc/<pid>/stat; wrk's own from its shell's cutime; the upstream's is the
 * container's HAProxy process). Latency at low load: one connection doing sequential requests (nothing queues), in
 * 1 s blocks alternating between the paths, 5 blocks a round; the latency one traversal adds is, per block, the
 * path's p50 (p99) minus direct's, and the figure is the median over all blocks (others' jobs on the machine move
 * the absolute figures a lot; the same-block difference far less).
 * Bulk (tunnelGbps): measures the tunnel's data path, not a yard's or a container's: 1 GiB from a TCP source
 * through the bare Ingress process above with a `remote` upstream → TunnelManager stream → a libp2p node and
 * TunnelManager in another child process (yard B's tunnel end without the rest of a yard) → a TCP sink on the host
 * (source and sink in a worker thread of this process), from the source's connect until the sink has every byte. (Not
 * in this process: with the embedded chain in its heap, the near end spent ≈ 2 × the far end's CPU per GiB.) Side by
 * side with the same path over a second pair of libp2p nodes on @libp2p/noise's default crypto instead of
 * protocol/net/noise-crypto.ts: transfers alternate between the two, 2 pairs a round (order rotating), and besides
 * both medians the figure is the median over all pairs of the within-pair ratio (like the latency blocks: the
 * machine's state moves both transfers of a pair together).
 * Bulk through two real yards (tunnelYardsGbps): 1 GiB from the same source → yard A's public ingress endpoint of a
 * lease whose stub points at a lease at yard B → yard A's TunnelManager → yard B → a sink container at B
 * (icon/echo:1 in its discarding mode, `echo-server -d 9000`, one poll thread reading 64 KiB at a time), timed from
 * the source's connect until the sink closes the connection after the source's end (the sink has read everything);
 * once a round, after the bare transfers. This is the issue's "encrypted two-yard bulk throughput" through
 * everything a yard does, the container's bridge network included.
 * The machine has 2 cores: nothing is pinned, paths run one after another, and the whole set runs 3 times
 * (rounds, the order of the paths rotating); figures are medians. So every path shares the same 2 cores among
 * wrk, the proxies and the upstream: requests/s measure CPU per request of the whole chain more than one proxy's
 * ceiling; the CPU time per request of each proxy process is printed on stderr.
 * HAProxy and wrk are installed with apt-get when missing (root needed); the engine is started and the images built
 * (scripts/docker.sh start, scripts/images.sh) as bench:lease does. Containers, yards, their networks and firewall
 * tables are removed at the end, on failure and on SIGINT/SIGTERM.
 *
 * Targets: proxy ≥ 0.5 × HAProxy requests/s; added latency per traversal p50 ≤ 100 µs; tunnel ≥ 1 Gbit/s (both
 * bulk figures).
 * Anchors: a Go io.Copy proxy adds 22–27 µs; Oakestra's tunnel is within 2–10 % of WireGuard, which reaches
 * ≈ 92 % of a 1 GbE link.
 *
 * Rooms (scripts/bench/proxy/): config.ts (the settings), yards.ts (the market and the two yards, their leases and
 * stubs), host.ts (wrk and HAProxy, child processes, socket helpers), tunnel-ends.ts (the bare Ingress and the far
 * end, each a child process), bulk-worker.ts (the bulk source and sink), measure.ts (wrk and CPU shares), rounds.ts
 * (the measuring loops) and report.ts (the figures). This file wires them and is the entry of the child processes
 * and the worker too (by argument), so that each runs what it ran before the split.
 *
 * Usage: npm run bench:proxy   (progress on stderr; last line: one JSON object)
 */
import { execFile, fork, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { Worker, isMainThread } from "node:worker_threads";
import { DockerRuntime } from "../../yard-node/index.ts";
import { removeYardLeftovers } from "../lib/testbed.ts";
import { bulkWorker } from "./proxy/bulk-worker.ts";
import { BODY, IMAGE, UPSTREAM_PORT, say } from "./proxy/config.ts";
import { children, ensurePackages, httpGet, startL4Haproxy, stopChild } from "./proxy/host.ts";
import { stopWrks } from "./proxy/measure.ts";
import { report } from "./proxy/report.ts";
import { measureRounds, type BenchPath } from "./proxy/rounds.ts";
import {
  bareIngress,
  bulkEnd,
  type BareIngressPorts,
  type BareIngressSetup,
  type BulkEndInfo,
} from "./proxy/tunnel-ends.ts";
import { startTwoYards, stopYard, type TwoYards } from "./proxy/yards.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
const run = promisify(execFile);

async function main(): Promise<void> {
  const { haproxy } = ensurePackages();
  const socketPath = DockerRuntime.defaultSocket();
  // The project's engine and images (idempotent, quick when nothing is to do); icon/http-return:1 needs haproxy.
  for (const [script, ...args] of [["docker.sh", "start"], ["images.sh"]] as const) {
    await run("bash", [path.join(ROOT, "scripts", script), ...args], {
      env: { ...process.env, ICON_DOCKER_SOCKET: socketPath },
    });
  }
  const imageId = await new DockerRuntime({ socketPath, yardId: "bench-proxy" }).imageId(IMAGE);
  if (!imageId) throw new Error(`${IMAGE} is not in the engine at ${socketPath}; run bash scripts/images.sh`);
  const digest = "0x" + imageId.slice("sha256:".length);

  const dir = await mkdtemp(path.join(os.tmpdir(), "icon-bench-proxy-"));
  const yardIds = { a: `bench-proxy-a-${process.pid}`, b: `bench-proxy-b-${process.pid}` };
  const runtimes = {
    a: new DockerRuntime({ socketPath, yardId: yardIds.a }),
    b: new DockerRuntime({ socketPath, yardId: yardIds.b }),
  };
  const yards: TwoYards = {};
  let hap: ChildProcess | undefined;
  let b: ChildProcess | undefined;
  let near: ChildProcess | undefined;
  let worker: Worker | undefined;
  let cleaning: Promise<void> | undefined;
  const cleanup = (): Promise<void> =>
    (cleaning ??= (async () => {
      stopWrks();
      for (const c of [near, b]) await stopChild(c, c?.connected ? () => c.send({ cmd: "stop" }) : undefined);
      if (worker) {
        worker.postMessage({ cmd: "stop" });
        await worker.terminate();
      }
      await stopChild(hap);
      await Promise.all([stopYard("A", yards.yardA), stopYard("B", yards.yardB)]);
      await yards.tenant?.stop().catch(() => {});
      for (const r of Object.values(runtimes)) await removeYardLeftovers(r, say);
      for (const c of children) c.kill("SIGKILL");
      const m = yards.market;
      await m?.close();
      // The market's folder: the deployment file, the yards' configs and data folders.
      if (m) await rm(m.dir, { recursive: true, force: true });
      await rm(dir, { recursive: true, force: true });
    })());
  // Interrupted: the same clean-up, then exit (whatever the measurement was waiting for).
  const onSignal = (): void => {
    say("interrupted: cleaning up …");
    void cleanup()
      .catch((e: unknown) => say(`clean-up failed: ${String(e)}`))
      .finally(() => process.exit(130));
  };
  process.once("SIGINT", onSignal).once("SIGTERM", onSignal);
  try {
    const { yardA, yardB, up, idle, viaA, container, direct, upstreamPid } = await startTwoYards(yards, {
      socketPath,
      yardIds,
      runtimes,
      digest,
    });

    // HAProxy as an L4 proxy, to the container.
    const l4 = await startL4Haproxy(haproxy, dir, direct);
    hap = l4.child;
    const hapPort = l4.port;

    // Bulk source/sink worker, then the bulk path's far end.
    worker = new Worker(fileURLToPath(import.meta.url));
    const w = worker;
    const sinkPort = await new Promise<number>((resolve, reject) => {
      w.once("message", (msg: { sinkPort: number }) => resolve(msg.sinkPort));
      w.once("error", reject);
    });
    b = fork(fileURLToPath(import.meta.url), ["--bulk-end", String(sinkPort), container.ip], {
      stdio: ["ignore", 2, 2, "ipc"],
    });
    children.add(b);
    const bc = b;
    const bInfo = await new Promise<BulkEndInfo>((resolve, reject) => {
      bc.once("message", resolve);
      bc.once("exit", (code) => reject(new Error(`the bulk far end exited with ${code}`)));
    });
    // The bare Ingress process: to the container, and the bulk paths' near end.
    near = fork(fileURLToPath(import.meta.url), ["--bare-ingress"], { stdio: ["ignore", 2, 2, "ipc"] });
    children.add(near);
    const nc = near;
    const setup: BareIngressSetup = { upstream: { host: container.ip, port: UPSTREAM_PORT }, far: bInfo };
    nc.send(setup);
    const ports = await new Promise<BareIngressPorts>((resolve, reject) => {
      nc.once("message", resolve);
      nc.once("exit", (code) => reject(new Error(`the bare Ingress process exited with ${code}`)));
    });
    const { ingressPort, bulkPort, refBulkPort } = ports;

    const paths: BenchPath[] = [
      { name: "direct", endpoint: direct },
      { name: "proxy", endpoint: up.endpoint },
      { name: "tunnel", endpoint: idle.endpoint },
      { name: "haproxy", endpoint: `127.0.0.1:${hapPort}` },
      { name: "ingress", endpoint: `127.0.0.1:${ingressPort}` },
      { name: "bareTunnel", endpoint: `127.0.0.1:${ports.tunnelPort}` },
      { name: "bareTunnelLib", endpoint: `127.0.0.1:${ports.libTunnelPort}` },
    ];
    for (const p of paths) {
      const got = await httpGet(p.endpoint);
      if (got !== `200 ${BODY}`) throw new Error(`${p.name} path (${p.endpoint}) answered ${JSON.stringify(got)}`);
    }
    const pids = {
      yardA: yardA.child.pid!,
      yardB: yardB.child.pid!,
      upstream: upstreamPid,
      haproxy: l4.child.pid!,
      ingress: nc.pid!,
      far: bc.pid!,
      bench: process.pid,
    };
    say(
      `upstream ${IMAGE} lease ${up.leaseId} at yard B: container ${container.id.slice(0, 12)} at ${direct} ` +
        `(pid ${upstreamPid}); yard B's ingress ${up.endpoint}; yard A's ingress ${idle.endpoint} (lease ` +
        `${idle.leaseId}, stub → B); haproxy :${hapPort}; bare Ingress :${ingressPort} (bulk :${bulkPort}, ` +
        `bulk on the default noise crypto :${refBulkPort})`,
    );

    report(
      await measureRounds({
        paths,
        pids,
        worker: w,
        nearPid: nc.pid!,
        farPid: bc.pid!,
        bulkPorts: { ours: bulkPort, ref: refBulkPort },
        yardPids: { yardA: yardA.child.pid!, yardB: yardB.child.pid! },
        viaEndpoint: viaA.endpoint,
      }),
    );
  } finally {
    await cleanup();
    process.off("SIGINT", onSignal).off("SIGTERM", onSignal);
  }
}

if (!isMainThread) bulkWorker();
else if (process.argv[2] === "--bulk-end") await bulkEnd(Number(process.argv[3]), process.argv[4]!);
else if (process.argv[2] === "--bare-ingress") await bareIngress();
else {
  await main();
  process.exit(0);
}
