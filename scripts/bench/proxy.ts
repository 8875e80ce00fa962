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
 * Usage: npm run bench:proxy   (progress on stderr; last line: one JSON object)
 */
import { execFile, execFileSync, fork, spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { Worker, isMainThread, parentPort } from "node:worker_threads";
import { Wallet } from "ethers";
import { defaultCrypto } from "@libp2p/noise/crypto";
import { peerIdFromString } from "@libp2p/peer-id";
import { multiaddr } from "@multiformats/multiaddr";
import { createIconNode } from "../../protocol/net/node.ts";
import { appServiceName, setRouting, signLeaseAccess } from "../../protocol/index.ts";
import { DockerRuntime, Ingress, type IngressRoute, TunnelManager, type TunnelTarget } from "../../yard-node/index.ts";
import type { TunnelHeader } from "../../protocol/index.ts";
import {
  Tenant,
  USD,
  removeYardLeftovers,
  startMarket,
  startYardProcess,
  writeYardConfig,
  yardConfig,
  type TestMarket,
  type YardProcess,
} from "../lib/testbed.ts";

const ROUNDS = 3;
const LOAD = { threads: 1, connections: 64, seconds: 10 };
const LATENCY_BLOCKS = 5;
const LATENCY_SECONDS = 1;
const WARMUP_SECONDS = 2;
const BULK_BYTES = 1024 ** 3;
/** Warm-up transfer through each bulk path (a fresh path is slower at first: JIT, the yamux window still growing). */
const BULK_WARMUP_BYTES = 256 * 1024 ** 2;
/** Bulk transfers per round on each crypto (alternating). */
const BULK_PAIRS = 2;
/** A service key as the yards name them: the bench's tunnels need no chain, so application 1's namespace (r1). */
const SERVICE = appServiceName({ app: "web", service: "proxy", servicens: "bench" }, 1n);
const BULK_PORT = 9;
const BODY = "hello from the upstream\n";
/** The upstream image (scripts/images.sh) and its port. */
const IMAGE = "icon/http-return:1";
/** The sink of the bulk path through real yards: icon/echo:1 discarding what it reads (scripts/images/echo.c). */
const SINK_IMAGE = "icon/echo:1";
const SINK_PORT = 9000;
const UPSTREAM_PORT = 8080;
/** The upstream's lease at yard B (one core: HAProxy runs one thread) and yard A's idle lease. */
const UPSTREAM_LEASE = { slotSeconds: 3600, cpuMillis: 1000, memoryMiB: 128 };
const IDLE_LEASE = { slotSeconds: 3600, cpuMillis: 100, memoryMiB: 32 };
const ROOT = path.resolve(import.meta.dirname, "../..");
const run = promisify(execFile);

const say = (line: string): void => void process.stderr.write(`${line}\n`);
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

// ---------------------------------------------------------------------------------------------------------------
// The bulk path's far end: a child process with its own libp2p node and TunnelManager, forwarding to the bulk sink.
// A second node and TunnelManager, on @libp2p/noise's default crypto, serve the reference bulk path.

/** The bulk far end's peers: the project's noise crypto and the reference one (the library's default). */
interface BulkEndInfo {
  peer: string;
  addrs: string[];
  refPeer: string;
  refAddrs: string[];
  /** The node on the project's crypto with @libp2p/yamux's own window updates (yamuxWindow "library"). */
  libPeer: string;
  libAddrs: string[];
}

/**
 * Three libp2p nodes, each with a TunnelManager: the project's stack (protocol/net/noise-crypto.ts, yamux window
 * updates at half the window), the reference of the bulk path (@libp2p/noise's default crypto) and the reference
 * of the bare tunnel's requests/s (the project's crypto with @libp2p/yamux's window update per data frame); `stop`
 * ends all six.
 */
async function tunnelEnds(resolve: (h: TunnelHeader) => Promise<TunnelTarget>) {
  const node = await createIconNode();
  const refNode = await createIconNode({ noiseCrypto: defaultCrypto });
  const libNode = await createIconNode({ yamuxWindow: "library" });
  const tunnels = new TunnelManager(node, { resolve });
  const refTunnels = new TunnelManager(refNode, { resolve });
  const libTunnels = new TunnelManager(libNode, { resolve });
  for (const t of [tunnels, refTunnels, libTunnels]) await t.start();
  const stop = async (): Promise<void> => {
    for (const t of [tunnels, refTunnels, libTunnels]) await t.stop();
    for (const n of [node, refNode, libNode]) await n.stop();
  };
  return { node, refNode, libNode, tunnels, refTunnels, libTunnels, stop };
}

/** A child process's end: `stop`, then exit, on the parent's "stop" message or when the parent goes away. */
function stopWithParent(stop: () => Promise<void>): void {
  const end = async (): Promise<void> => {
    await stop();
    process.exit(0);
  };
  process.on("message", (m: { cmd: string }) => {
    if (m.cmd === "stop") void end();
  });
  process.on("disconnect", () => void end());
}

async function bulkEnd(sinkPort: number, upstreamHost: string): Promise<void> {
  const resolve = async (h: TunnelHeader): Promise<TunnelTarget> => {
    if (h.port === BULK_PORT) return { host: "127.0.0.1", port: sinkPort };
    if (h.port === UPSTREAM_PORT) return { host: upstreamHost, port: UPSTREAM_PORT };
    return { error: `nothing on port ${h.port}` };
  };
  const { node, refNode, libNode, stop } = await tunnelEnds(resolve);
  stopWithParent(stop);
  const addrs = (n: typeof node): string[] => n.getMultiaddrs().map((a) => a.toString());
  const info: BulkEndInfo = {
    peer: node.peerId.toString(),
    addrs: addrs(node),
    refPeer: refNode.peerId.toString(),
    refAddrs: addrs(refNode),
    libPeer: libNode.peerId.toString(),
    libAddrs: addrs(libNode),
  };
  process.send!(info);
}

// ---------------------------------------------------------------------------------------------------------------
// The bare Ingress: yard-node's Ingress class in a child process of its own (not this one, whose heap holds the
// embedded chain and makes every garbage collection of a process that moves bytes costlier), with a `local` route
// to the upstream container and the bulk paths' near end: `remote` routes through a TunnelManager to the far end,
// on each crypto.

interface BareIngressSetup {
  upstream: { host: string; port: number };
  far: BulkEndInfo;
}
interface BareIngressPorts {
  ingressPort: number;
  bulkPort: number;
  refBulkPort: number;
  /** Requests through a tunnel to the far end and on to the upstream: the project's stack, and yamux's own pacing. */
  tunnelPort: number;
  libTunnelPort: number;
}

async function bareIngress(): Promise<void> {
  const setup = await new Promise<BareIngressSetup>((resolve) => process.once("message", resolve));
  const ingress = new Ingress("127.0.0.1");
  const { tunnels, refTunnels, libTunnels, stop } = await tunnelEnds(async () => ({
    error: "this end serves no tunnels",
  }));
  stopWithParent(async () => {
    await ingress.closeAll();
    await stop();
  });
  const far = setup.far;
  const toFar = { tunnels, peer: peerIdFromString(far.peer), addrs: far.addrs.map((a) => multiaddr(a)) };
  const refToFar = {
    tunnels: refTunnels,
    peer: peerIdFromString(far.refPeer),
    addrs: far.refAddrs.map((a) => multiaddr(a)),
  };
  const libToFar = {
    tunnels: libTunnels,
    peer: peerIdFromString(far.libPeer),
    addrs: far.libAddrs.map((a) => multiaddr(a)),
  };
  const remote = (port: number, instanceId: bigint, via: typeof toFar): IngressRoute => ({
    upstream: (client) => ({
      kind: "remote",
      connect: () => {
        const h: TunnelHeader = {
          service: SERVICE,
          instanceId,
          port,
          client: net.isIP(client) ? client : "127.0.0.1",
        };
        return via.tunnels.open(via.peer, via.addrs, h);
      },
    }),
  });
  const ports: BareIngressPorts = {
    ingressPort: await ingress.open(
      1n,
      UPSTREAM_PORT,
      { upstream: () => ({ kind: "local", ...setup.upstream }) },
      0,
      "tcp",
    ),
    bulkPort: await ingress.open(3n, BULK_PORT, remote(BULK_PORT, 3n, toFar), 0, "tcp"),
    refBulkPort: await ingress.open(4n, BULK_PORT, remote(BULK_PORT, 4n, refToFar), 0, "tcp"),
    tunnelPort: await ingress.open(5n, UPSTREAM_PORT, remote(UPSTREAM_PORT, 5n, toFar), 0, "tcp"),
    libTunnelPort: await ingress.open(6n, UPSTREAM_PORT, remote(UPSTREAM_PORT, 6n, libToFar), 0, "tcp"),
  };
  process.send!(ports);
}

// ---------------------------------------------------------------------------------------------------------------
// Bulk source and sink: a worker thread (its own event loop, so it never delays the Ingress in this process).

function bulkWorker(): void {
  const port = parentPort!;
  let want = 0;
  let done: ((received: number) => void) | undefined;
  const sink = net.createServer((s) => {
    let received = 0;
    s.on("data", (d: Buffer) => {
      received += d.byteLength;
      if (received >= want && done) {
        done(received);
        done = undefined;
      }
    });
    s.on("error", () => {});
  });
  sink.listen(0, "127.0.0.1", () => port.postMessage({ sinkPort: (sink.address() as net.AddressInfo).port }));
  const chunk = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < chunk.length; i += 4) chunk.writeUInt32LE((Math.random() * 2 ** 32) >>> 0, i);
  /** Sends `bytes` to host:port, ends its side and times until the far side has closed (it read everything). */
  const push = (m: { host: string; port: number; bytes: number }): void => {
    const s = net.connect(m.port, m.host);
    let t0 = 0;
    let c0: NodeJS.CpuUsage | undefined;
    let sent = 0;
    s.on("error", (e) => port.postMessage({ error: e.message }));
    s.on("data", () => {});
    s.once("close", (hadError) => {
      if (hadError) return;
      const ms = performance.now() - t0;
      const c = process.threadCpuUsage(c0);
      port.postMessage(
        sent === m.bytes
          ? { received: sent, ms, cpuS: (c.user + c.system) / 1e6 }
          : { error: `closed after ${sent} of ${m.bytes} bytes` },
      );
    });
    s.once("connect", async () => {
      t0 = performance.now();
      c0 = process.threadCpuUsage();
      while (sent < m.bytes && !s.destroyed) {
        const n = Math.min(chunk.length, m.bytes - sent);
        sent += n;
        if (!s.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
          await new Promise((r) => s.once("drain", r));
        }
      }
      s.end();
    });
  };
  port.on(
    "message",
    (
      m:
        | { cmd: "bulk"; port: number; bytes: number }
        | { cmd: "push"; host: string; port: number; bytes: number }
        | { cmd: "stop" },
    ) => {
      if (m.cmd === "stop") {
        sink.close();
        port.close();
        return;
      }
      if (m.cmd === "push") {
        push(m);
        return;
      }
      want = m.bytes;
      const s = net.connect(m.port, "127.0.0.1");
      const finished = new Promise<number>((resolve) => (done = resolve));
      s.on("error", (e) => port.postMessage({ error: e.message }));
      s.once("connect", async () => {
        const t0 = performance.now();
        const c0 = process.threadCpuUsage();
        let sent = 0;
        while (sent < m.bytes) {
          const n = Math.min(chunk.length, m.bytes - sent);
          sent += n;
          if (!s.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
            await new Promise((r) => s.once("drain", r));
          }
        }
        // Timed to the sink's last byte with the connection still open, as in the runs BENCHMARKS.md records (the
        // Ingress carries a half-close since, so end() would work too).
        const received = await finished;
        const ms = performance.now() - t0;
        const c = process.threadCpuUsage(c0);
        s.destroy();
        port.postMessage({ received, ms, cpuS: (c.user + c.system) / 1e6 });
      });
    },
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Main: the paths, wrk and the figures.

interface Wrk {
  rps: number;
  requests: number;
  p50Us: number;
  p99Us: number;
  errors: number;
}

const children = new Set<ChildProcess>();
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
function wrk(endpoint: string, connections: number, seconds: number): Promise<Wrk & { cpuS: number }> {
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
async function withCpu<T>(
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
const showCpu = (cpu: Record<string, number>): string =>
  Object.entries(cpu)
    .filter(([, v]) => v >= 2)
    .map(([k, v]) => `${k} ${v} %`)
    .join(", ");

function which(bin: string): string | undefined {
  for (const dir of [...(process.env.PATH ?? "").split(":"), "/usr/sbin", "/usr/bin"]) {
    if (dir && existsSync(path.join(dir, bin))) return path.join(dir, bin);
  }
  return undefined;
}

/**
 * Installs Debian's haproxy and wrk when missing. (On a host run by systemd the package also enables its own
 * haproxy.service, whose default configuration listens on nothing; in containers nothing is started.)
 */
function ensurePackages(): { haproxy: string } {
  const missing = ["haproxy", "wrk"].filter((b) => !which(b));
  if (missing.length > 0) {
    if (process.getuid?.() !== 0)
      throw new Error(`${missing.join(" and ")} missing: apt-get install ${missing.join(" ")}`);
    say(`installing ${missing.join(" ")} (apt-get) …`);
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    const install = (): void =>
      void execFileSync("apt-get", ["install", "-y", "-q", "--no-install-recommends", ...missing], {
        env,
        stdio: ["ignore", 2, 2],
      });
    try {
      install();
    } catch {
      execFileSync("apt-get", ["update", "-q"], { env, stdio: ["ignore", 2, 2] });
      install();
    }
  }
  const haproxy = which("haproxy");
  if (!haproxy || !which("wrk")) throw new Error("haproxy or wrk is still missing after apt-get install");
  return { haproxy };
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const { port } = s.address() as net.AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function waitPort(port: number, what: string, child?: ChildProcess): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (child && child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, "127.0.0.1");
      s.once("connect", () => {
        s.destroy();
        resolve(true);
      });
      s.once("error", () => resolve(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`${what} does not listen on 127.0.0.1:${port}`);
}

/** GET http://`endpoint`/ on a connection of its own: "<status> <body>". */
function httpGet(endpoint: string): Promise<string> {
  const [host, port] = splitEndpoint(endpoint);
  return new Promise((resolve, reject) => {
    http
      .get({ host, port, path: "/", agent: false, timeout: 5000 }, (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => (body += d));
        res.on("end", () => resolve(`${res.statusCode} ${body}`));
      })
      .on("timeout", function (this: http.ClientRequest) {
        this.destroy(new Error(`no answer from ${endpoint} within 5 s`));
      })
      .on("error", reject);
  });
}

function splitEndpoint(endpoint: string): [string, number] {
  const i = endpoint.lastIndexOf(":");
  return [endpoint.slice(0, i), Number(endpoint.slice(i + 1))];
}

async function startHaproxy(bin: string, dir: string, name: string, config: string, port: number) {
  const file = path.join(dir, `${name}.cfg`);
  await writeFile(file, config);
  const c = spawn(bin, ["-db", "-f", file], { stdio: ["ignore", 2, 2] });
  children.add(c);
  c.once("exit", () => children.delete(c));
  await waitPort(port, `haproxy (${name})`, c);
  return c;
}

async function stopChild(c: ChildProcess | undefined, graceful?: () => void): Promise<void> {
  if (!c || c.exitCode !== null || c.signalCode !== null) return;
  const exited = new Promise((r) => c.once("exit", r));
  if (graceful) graceful();
  else c.kill("SIGTERM");
  if ((await Promise.race([exited, sleep(5000, "timeout")])) === "timeout") {
    c.kill("SIGKILL");
    await exited;
  }
  children.delete(c);
}

const HAPROXY_DEFAULTS = `
  timeout connect 5s
  timeout client 60s
  timeout server 60s`;

/** The host pid of a container's main process (the child of the engine's init, pid 1 inside), for its CPU share. */
async function containerProcess(runtime: DockerRuntime, id: string): Promise<number> {
  const init = (await runtime.docker.getContainer(id).inspect()).State.Pid;
  const kids = readFileSync(`/proc/${init}/task/${init}/children`, "utf8").trim().split(/\s+/).filter(Boolean);
  return kids.length > 0 ? Number(kids[0]) : init;
}

/** SIGTERM, then SIGKILL after 15 s; says what a yard that did not exit cleanly wrote. */
async function stopYard(name: string, y: YardProcess | undefined): Promise<void> {
  if (!y || y.child.exitCode !== null || y.child.signalCode !== null) return;
  y.child.kill("SIGTERM");
  const code = await Promise.race([y.exited, sleep(15_000, "timeout" as const)]);
  if (code === "timeout") {
    y.child.kill("SIGKILL");
    await y.exited;
  } else if (code !== 0) say(`yard ${name} exited with ${code}: ${y.err.join("").slice(-2000)}`);
}

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
  let m: TestMarket | undefined;
  let tenant: Tenant | undefined;
  let yardA: YardProcess | undefined;
  let yardB: YardProcess | undefined;
  let hap: ChildProcess | undefined;
  let b: ChildProcess | undefined;
  let near: ChildProcess | undefined;
  let worker: Worker | undefined;
  let cleaning: Promise<void> | undefined;
  const cleanup = (): Promise<void> =>
    (cleaning ??= (async () => {
      for (const c of wrks) if (c.pid && c.exitCode === null) process.kill(-c.pid, "SIGTERM");
      for (const c of [near, b]) await stopChild(c, c?.connected ? () => c.send({ cmd: "stop" }) : undefined);
      if (worker) {
        worker.postMessage({ cmd: "stop" });
        await worker.terminate();
      }
      await stopChild(hap);
      await Promise.all([stopYard("A", yardA), stopYard("B", yardB)]);
      await tenant?.stop().catch(() => {});
      for (const r of Object.values(runtimes)) await removeYardLeftovers(r, say);
      for (const c of children) c.kill("SIGKILL");
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
    // The market and two yards as processes (B first in the logs only: they start side by side).
    say(`starting the market (embedded chain) and yards ${yardIds.a}, ${yardIds.b} …`);
    const market = (m = await startMarket());
    const operators = { a: 1, b: 4 };
    for (const k of Object.values(operators)) await market.admin.mint(new Wallet(market.keys[k]!).address, USD(1000));
    tenant = await Tenant.create(market, 2, 3, USD(1000));
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
      config(yardIds.a, cidr(100)).then(async (f) => (yardA = await startYardProcess(f, market.keys[operators.a]!))),
      config(yardIds.b, cidr(125)).then(async (f) => (yardB = await startYardProcess(f, market.keys[operators.b]!))),
    ]);
    for (const r of started) if (r.status === "rejected") throw r.reason;
    if (!yardA || !yardB) throw new Error("a yard did not start");
    const addrA = multiaddr(yardA.addr);
    const addrB = multiaddr(yardB.addr);
    const peerB = /\/p2p\/([^/]+)$/.exec(yardB.addr)?.[1];
    if (!peerB) throw new Error(`yard B's address ${yardB.addr} names no peer`);

    // The upstream: a lease at yard B; yard A's lease forwards to it through a stub.
    const t = tenant;
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

    // HAProxy as an L4 proxy, to the container.
    const hapPort = await freePort();
    hap = await startHaproxy(
      haproxy,
      dir,
      "proxy",
      `global\n  nbthread 1\n  maxconn 4096\ndefaults\n  mode tcp${HAPROXY_DEFAULTS}
frontend proxy
  bind 127.0.0.1:${hapPort}
  default_backend upstream
backend upstream
  server upstream ${direct}\n`,
      hapPort,
    );

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

    const paths = [
      { name: "direct", endpoint: direct },
      { name: "proxy", endpoint: up.endpoint },
      { name: "tunnel", endpoint: idle.endpoint },
      { name: "haproxy", endpoint: `127.0.0.1:${hapPort}` },
      { name: "ingress", endpoint: `127.0.0.1:${ingressPort}` },
      { name: "bareTunnel", endpoint: `127.0.0.1:${ports.tunnelPort}` },
      { name: "bareTunnelLib", endpoint: `127.0.0.1:${ports.libTunnelPort}` },
    ] as const;
    type Name = (typeof paths)[number]["name"];
    for (const p of paths) {
      const got = await httpGet(p.endpoint);
      if (got !== `200 ${BODY}`) throw new Error(`${p.name} path (${p.endpoint}) answered ${JSON.stringify(got)}`);
    }
    const pids = {
      yardA: yardA.child.pid!,
      yardB: yardB.child.pid!,
      upstream: upstreamPid,
      haproxy: hap.pid!,
      ingress: near.pid!,
      far: b.pid!,
      bench: process.pid,
    };
    say(
      `upstream ${IMAGE} lease ${up.leaseId} at yard B: container ${container.id.slice(0, 12)} at ${direct} ` +
        `(pid ${upstreamPid}); yard B's ingress ${up.endpoint}; yard A's ingress ${idle.endpoint} (lease ` +
        `${idle.leaseId}, stub → B); haproxy :${hapPort}; bare Ingress :${ingressPort} (bulk :${bulkPort}, ` +
        `bulk on the default noise crypto :${refBulkPort})`,
    );
    say(`warm-up: ${WARMUP_SECONDS} s of wrk -c${LOAD.connections} per path …`);
    for (const p of paths) await wrk(p.endpoint, LOAD.connections, WARMUP_SECONDS);

    type BulkResult = { received: number; ms: number; cpuS: number } | { error: string };
    /**
     * One transfer by the source/sink worker (`msg`), with the CPU shares of `pids`. The source and sink are a worker
     * thread of this process: their share moves out of this process's (`bench`). (Not an `extra` of withCpu, which
     * would count them twice and clamp the others' share to 0 before a correction.)
     */
    const transfer = async (
      pids: Record<string, number>,
      msg: { cmd: "bulk"; port: number; bytes: number } | { cmd: "push"; host: string; port: number; bytes: number },
      what: string,
    ): Promise<{ gbps: number; ms: number; gib: number; cpu: Record<string, number>; sourceSink: number }> => {
      const measured = await withCpu({ ...pids, bench: process.pid }, () => {
        const r = new Promise<BulkResult>((resolve) => w.once("message", resolve));
        w.postMessage(msg);
        return r;
      });
      const result = measured.result;
      if ("error" in result) throw new Error(`${what} failed: ${result.error}`);
      const sourceSink = Math.round((result.cpuS / (result.ms / 1000)) * 100);
      const { bench, ...rest } = measured.cpu;
      return {
        gbps: (result.received * 8) / (result.ms / 1000) / 1e9,
        ms: result.ms,
        gib: result.received / 1024 ** 3,
        cpu: { ...rest, bench: bench! - sourceSink },
        sourceSink,
      };
    };
    const bulk = async (
      port: number,
      bytes = BULK_BYTES,
    ): Promise<{ gbps: number; cpu: Record<string, number>; perGiB: { a: number; b: number } }> => {
      const t = await transfer({ near: nc.pid!, far: bc.pid! }, { cmd: "bulk", port, bytes }, "bulk transfer");
      const { near, far, bench, ...rest } = t.cpu;
      const cpu: Record<string, number> = { near: near!, far: far!, sourceSink: t.sourceSink, bench: bench!, ...rest };
      const cpuS = (who: string): number => ((cpu[who]! / 100) * t.ms) / 1000 / t.gib;
      return { gbps: t.gbps, cpu, perGiB: { a: cpuS("near"), b: cpuS("far") } };
    };

    /** 1 GiB through yard A's stub endpoint, the tunnel and yard B into the sink container. */
    const [viaHost, viaPort] = splitEndpoint(viaA.endpoint);
    const yardsBulk = async (bytes = BULK_BYTES): Promise<{ gbps: number; cpu: Record<string, number> }> => {
      const t = await transfer(
        { yardA: yardA!.child.pid!, yardB: yardB!.child.pid! },
        { cmd: "push", host: viaHost, port: viaPort, bytes },
        "bulk transfer through the yards",
      );
      return { gbps: t.gbps, cpu: { ...t.cpu, source: t.sourceSink } };
    };

    say(`warm-up: ${BULK_WARMUP_BYTES / 1024 ** 2} MiB through each bulk path …`);
    for (const port of [bulkPort, refBulkPort]) await bulk(port, BULK_WARMUP_BYTES);
    await yardsBulk(BULK_WARMUP_BYTES);

    const rps = Object.fromEntries(paths.map((p) => [p.name, [] as number[]])) as Record<Name, number[]>;
    const cpuLoad = Object.fromEntries(paths.map((p) => [p.name, [] as Record<string, number>[]])) as Record<
      Name,
      Record<string, number>[]
    >;
    /** Per latency block: each path's p50 and p99 (µs) on one connection. */
    const blocks: Record<Name, { p50: number; p99: number }>[] = [];
    /** Bulk Gbit/s on the project's noise crypto and on the library's default; within-pair ratios (ours / default). */
    const gbps: number[] = [];
    const refGbps: number[] = [];
    const ratios: number[] = [];
    /** Bulk Gbit/s through the two real yards into the sink container. */
    const yardsGbps: number[] = [];
    /** CPU seconds per GiB of the near and the far end per bulk transfer, on each crypto. */
    const perGiB: Record<"ours" | "ref", { a: number[]; b: number[] }> = {
      ours: { a: [], b: [] },
      ref: { a: [], b: [] },
    };
    for (let round = 0; round < ROUNDS; round++) {
      const rotate = <T>(xs: readonly T[], by: number): T[] => xs.map((_, i) => xs[(i + by) % xs.length]!);
      for (const p of rotate(paths, round)) {
        const { result, cpu } = await withCpu(
          pids,
          () => wrk(p.endpoint, LOAD.connections, LOAD.seconds),
          (r) => ({ wrk: r.cpuS }),
        );
        if (result.errors > 0) say(`  ${p.name}: ${result.errors} socket errors or non-2xx responses`);
        rps[p.name].push(result.rps);
        cpuLoad[p.name].push(cpu);
        say(
          `round ${round + 1} ${p.name.padEnd(13)} ${Math.round(result.rps).toString().padStart(6)} req/s  p50 ${result.p50Us} µs  p99 ${result.p99Us} µs   CPU: ${showCpu(cpu)}`,
        );
      }
      for (let k = 0; k < LATENCY_BLOCKS; k++) {
        const block = {} as Record<Name, { p50: number; p99: number }>;
        for (const p of rotate(paths, k)) {
          const r = await wrk(p.endpoint, 1, LATENCY_SECONDS);
          block[p.name] = { p50: r.p50Us, p99: r.p99Us };
        }
        blocks.push(block);
      }
      const last = blocks.slice(-LATENCY_BLOCKS);
      say(
        `round ${round + 1} 1 connection, p50 / p99 µs (median of ${LATENCY_BLOCKS} × ${LATENCY_SECONDS} s): ` +
          paths
            .map(
              (p) => `${p.name} ${median(last.map((b) => b[p.name].p50))} / ${median(last.map((b) => b[p.name].p99))}`,
            )
            .join(", "),
      );
      for (let k = 0; k < BULK_PAIRS; k++) {
        const pair: Record<"ours" | "ref", number> = { ours: 0, ref: 0 };
        for (const which of (round + k) % 2 === 0 ? (["ours", "ref"] as const) : (["ref", "ours"] as const)) {
          const bk = await bulk(which === "ours" ? bulkPort : refBulkPort);
          pair[which] = bk.gbps;
          perGiB[which].a.push(bk.perGiB.a);
          perGiB[which].b.push(bk.perGiB.b);
          const label = which === "ours" ? "noise-crypto.ts" : "default crypto ";
          say(
            `round ${round + 1} tunnel bulk 1 GiB, ${label}: ${bk.gbps.toFixed(2)} Gbit/s   CPU: ${showCpu(bk.cpu)}; CPU s per GiB: near end ${bk.perGiB.a.toFixed(2)}, far end ${bk.perGiB.b.toFixed(2)}`,
          );
        }
        gbps.push(pair.ours);
        refGbps.push(pair.ref);
        ratios.push(pair.ours / pair.ref);
      }
      const yb = await yardsBulk();
      yardsGbps.push(yb.gbps);
      say(
        `round ${round + 1} bulk 1 GiB through two yards into a container: ${yb.gbps.toFixed(2)} Gbit/s   CPU: ${showCpu(yb.cpu)}`,
      );
    }

    /** Added latency of `name` over direct: the median over all blocks of the difference within the block. */
    const added = (name: Name, q: "p50" | "p99"): number => median(blocks.map((b) => b[name][q] - b.direct[q]));
    const out = {
      directRps: Math.round(median(rps.direct)),
      proxyRps: Math.round(median(rps.proxy)),
      haproxyRps: Math.round(median(rps.haproxy)),
      tunnelRps: Math.round(median(rps.tunnel)),
      proxyAddedP50Us: Math.round(added("proxy", "p50")),
      proxyAddedP99Us: Math.round(added("proxy", "p99")),
      tunnelGbps: +median(gbps).toFixed(2),
      tunnelDefaultCryptoGbps: +median(refGbps).toFixed(2),
      tunnelVsDefaultCrypto: +median(ratios).toFixed(2),
      tunnelYardsGbps: +median(yardsGbps).toFixed(2),
      bareIngressRps: Math.round(median(rps.ingress)),
      bareTunnelRps: Math.round(median(rps.bareTunnel)),
      bareTunnelLibraryWindowRps: Math.round(median(rps.bareTunnelLib)),
      /** Median over the rounds of the within-round ratio (both measured in every round). */
      bareTunnelVsLibraryWindow: +median(rps.bareTunnel.map((r, i) => r / rps.bareTunnelLib[i]!)).toFixed(2),
    };
    const medCpu = (name: Name): Record<string, number> =>
      Object.fromEntries(Object.keys(cpuLoad[name][0]!).map((k) => [k, median(cpuLoad[name].map((c) => c[k]!))]));
    /** CPU time per request (µs) of a process, from its median CPU share and the median requests/s. */
    const perRequest = (name: Name, who: string): string =>
      ((medCpu(name)[who]! / 100 / median(rps[name])) * 1e6).toFixed(1);
    say("");
    say(`requests/s (wrk -t${LOAD.threads} -c${LOAD.connections} -d${LOAD.seconds}s, median of ${ROUNDS}):`);
    for (const p of paths) {
      say(`  ${p.name.padEnd(13)} ${Math.round(median(rps[p.name]))}   CPU: ${showCpu(medCpu(p.name))}`);
    }
    say(`  proxy / haproxy = ${(out.proxyRps / out.haproxyRps).toFixed(2)}   target >= 0.5`);
    say(
      `  CPU per request: yard B's ingress ${perRequest("proxy", "yardB")} µs, HAProxy ${perRequest("haproxy", "haproxy")} µs, ` +
        `tunnel yard A ${perRequest("tunnel", "yardA")} µs + yard B ${perRequest("tunnel", "yardB")} µs, ` +
        `bare Ingress ${perRequest("ingress", "ingress")} µs, ` +
        `upstream ${perRequest("direct", "upstream")} µs, wrk ${perRequest("direct", "wrk")} µs`,
    );
    say(
      `  bare tunnel, near end + far end: ${perRequest("bareTunnel", "ingress")} + ${perRequest("bareTunnel", "far")} µs ` +
        `(yamux window updates at half the window), ${perRequest("bareTunnelLib", "ingress")} + ` +
        `${perRequest("bareTunnelLib", "far")} µs (@libp2p/yamux's, one per data frame); within-round ratio of ` +
        `requests/s ${out.bareTunnelVsLibraryWindow}`,
    );
    say(`added latency (1 connection, sequential requests; µs, median over ${blocks.length} interleaved blocks):`);
    for (const name of ["proxy", "tunnel", "haproxy", "ingress", "bareTunnel", "bareTunnelLib"] as const) {
      say(`  ${name.padEnd(13)} p50 +${added(name, "p50").toFixed(0)}  p99 +${added(name, "p99").toFixed(0)}`);
    }
    say(
      `  (direct p50 ${median(blocks.map((b) => b.direct.p50))} µs, p99 ${median(blocks.map((b) => b.direct.p99))} µs)   target: proxy p50 <= 100 µs`,
    );
    const list = (xs: number[]): string => xs.map((x) => x.toFixed(2)).join(", ");
    say(`tunnel bulk (median of ${gbps.length} × 1 GiB): ${out.tunnelGbps} Gbit/s (${list(gbps)})   target >= 1`);
    say(`  on @libp2p/noise's default crypto: ${out.tunnelDefaultCryptoGbps} Gbit/s (${list(refGbps)})`);
    say(`  through two real yards into a container: ${out.tunnelYardsGbps} Gbit/s (${list(yardsGbps)})`);
    say(`  within-pair ratio, noise-crypto.ts / default: median ${out.tunnelVsDefaultCrypto} (${list(ratios)})`);
    const cpuPerGiB = (which: "ours" | "ref"): string =>
      `near end ${median(perGiB[which].a).toFixed(2)}, far end ${median(perGiB[which].b).toFixed(2)}`;
    say(`  CPU s per GiB (medians): noise-crypto.ts ${cpuPerGiB("ours")}; default crypto ${cpuPerGiB("ref")}`);
    console.log(JSON.stringify(out));
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
