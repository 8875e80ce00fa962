/**
 * bench:proxy's measuring loops: the warm-ups, then ROUNDS rounds of wrk under load on every path (order rotating),
 * one-connection latency blocks alternating between the paths, bulk transfer pairs through the bare tunnel on each
 * noise crypto, and one bulk transfer through the two yards into the sink container; the CPU shares of the processes
 * taking part with each. Returns the samples for the report.
 */
import type { Worker } from "node:worker_threads";
import {
  BULK_BYTES,
  BULK_PAIRS,
  BULK_WARMUP_BYTES,
  LATENCY_BLOCKS,
  LATENCY_SECONDS,
  LOAD,
  ROUNDS,
  WARMUP_SECONDS,
  median,
  say,
} from "./config.ts";
import type { BulkCommand, BulkResult } from "./bulk-worker.ts";
import { splitEndpoint } from "./host.ts";
import { showCpu, withCpu, wrk } from "./measure.ts";
import type { PathName, Samples } from "./report.ts";

/** A path the requests take: its name in the figures and the host:port wrk loads. */
export interface BenchPath {
  name: PathName;
  endpoint: string;
}

/** What the loops use: the paths, the processes to watch, the bulk worker and the bulk paths' ends. */
export interface RoundsComponents {
  paths: readonly BenchPath[];
  /** The processes whose CPU share each wrk run reports. */
  pids: Record<string, number>;
  /** The bulk source/sink worker thread (bulk-worker.ts). */
  worker: Worker;
  /** The bare tunnel's ends (the bare Ingress process, the far end) and its bulk ports on each noise crypto. */
  nearPid: number;
  farPid: number;
  bulkPorts: { ours: number; ref: number };
  /** The two yards' processes, and yard A's endpoint whose stub leads to the sink container at yard B. */
  yardPids: { yardA: number; yardB: number };
  viaEndpoint: string;
}

export async function measureRounds(c: RoundsComponents): Promise<Samples> {
  const { paths, pids, worker: w } = c;
  const bulkPort = c.bulkPorts.ours;
  const refBulkPort = c.bulkPorts.ref;
  say(`warm-up: ${WARMUP_SECONDS} s of wrk -c${LOAD.connections} per path …`);
  for (const p of paths) await wrk(p.endpoint, LOAD.connections, WARMUP_SECONDS);
  /**
   * One transfer by the source/sink worker (`msg`), with the CPU shares of `pids`. The source and sink are a worker
   * thread of this process: their share moves out of this process's (`bench`). (Not an `extra` of withCpu, which
   * would count them twice and clamp the others' share to 0 before a correction.)
   */
  const transfer = async (
    pids: Record<string, number>,
    msg: Exclude<BulkCommand, { cmd: "stop" }>,
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
    const t = await transfer({ near: c.nearPid, far: c.farPid }, { cmd: "bulk", port, bytes }, "bulk transfer");
    const { near, far, bench, ...rest } = t.cpu;
    const cpu: Record<string, number> = { near: near!, far: far!, sourceSink: t.sourceSink, bench: bench!, ...rest };
    const cpuS = (who: string): number => ((cpu[who]! / 100) * t.ms) / 1000 / t.gib;
    return { gbps: t.gbps, cpu, perGiB: { a: cpuS("near"), b: cpuS("far") } };
  };

  /** 1 GiB through yard A's stub endpoint, the tunnel and yard B into the sink container. */
  const [viaHost, viaPort] = splitEndpoint(c.viaEndpoint);
  const yardsBulk = async (bytes = BULK_BYTES): Promise<{ gbps: number; cpu: Record<string, number> }> => {
    const t = await transfer(
      c.yardPids,
      { cmd: "push", host: viaHost, port: viaPort, bytes },
      "bulk transfer through the yards",
    );
    return { gbps: t.gbps, cpu: { ...t.cpu, source: t.sourceSink } };
  };

  say(`warm-up: ${BULK_WARMUP_BYTES / 1024 ** 2} MiB through each bulk path …`);
  for (const port of [bulkPort, refBulkPort]) await bulk(port, BULK_WARMUP_BYTES);
  await yardsBulk(BULK_WARMUP_BYTES);

  const rps = Object.fromEntries(paths.map((p) => [p.name, [] as number[]])) as Record<PathName, number[]>;
  const cpuLoad = Object.fromEntries(paths.map((p) => [p.name, [] as Record<string, number>[]])) as Record<
    PathName,
    Record<string, number>[]
  >;
  /** Per latency block: each path's p50 and p99 (µs) on one connection. */
  const blocks: Record<PathName, { p50: number; p99: number }>[] = [];
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
      const block = {} as Record<PathName, { p50: number; p99: number }>;
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
          .map((p) => `${p.name} ${median(last.map((b) => b[p.name].p50))} / ${median(last.map((b) => b[p.name].p99))}`)
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
  return { rps, cpuLoad, blocks, gbps, refGbps, ratios, yardsGbps, perGiB };
}
