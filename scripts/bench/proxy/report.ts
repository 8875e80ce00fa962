/**
 * bench:proxy's report: the figures from the rounds' samples (medians; added latency as the median of same-block
 * differences to direct), the summary on stderr (requests/s and CPU shares per path, CPU time per request, added
 * latency, bulk throughput and CPU per GiB) and the last line, one JSON object.
 */
import { LOAD, ROUNDS, median, say } from "./config.ts";
import { showCpu } from "./measure.ts";

/** The paths, in the order of the first round. */
export const PATH_NAMES = ["direct", "proxy", "tunnel", "haproxy", "ingress", "bareTunnel", "bareTunnelLib"] as const;
export type PathName = (typeof PATH_NAMES)[number];

/** What the rounds measured. */
export interface Samples {
  /** Requests/s of each path, one per round, and the CPU shares of the processes during each. */
  rps: Record<PathName, number[]>;
  cpuLoad: Record<PathName, Record<string, number>[]>;
  /** Per latency block: each path's p50 and p99 (µs) on one connection. */
  blocks: Record<PathName, { p50: number; p99: number }>[];
  /** Bulk Gbit/s on the project's noise crypto and on the library's default; within-pair ratios (ours / default). */
  gbps: number[];
  refGbps: number[];
  ratios: number[];
  /** Bulk Gbit/s through the two real yards into the sink container. */
  yardsGbps: number[];
  /** CPU seconds per GiB of the near and the far end per bulk transfer, on each crypto. */
  perGiB: Record<"ours" | "ref", { a: number[]; b: number[] }>;
}

/** Prints the summary on stderr and the figures as one JSON line on stdout. */
export function report(s: Samples): void {
  const { rps, cpuLoad, blocks, gbps, refGbps, ratios, yardsGbps, perGiB } = s;
  /** Added latency of `name` over direct: the median over all blocks of the difference within the block. */
  const added = (name: PathName, q: "p50" | "p99"): number => median(blocks.map((b) => b[name][q] - b.direct[q]));
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
  const medCpu = (name: PathName): Record<string, number> =>
    Object.fromEntries(Object.keys(cpuLoad[name][0]!).map((k) => [k, median(cpuLoad[name].map((c) => c[k]!))]));
  /** CPU time per request (µs) of a process, from its median CPU share and the median requests/s. */
  const perRequest = (name: PathName, who: string): string =>
    ((medCpu(name)[who]! / 100 / median(rps[name])) * 1e6).toFixed(1);
  say("");
  say(`requests/s (wrk -t${LOAD.threads} -c${LOAD.connections} -d${LOAD.seconds}s, median of ${ROUNDS}):`);
  for (const name of PATH_NAMES) {
    say(`  ${name.padEnd(13)} ${Math.round(median(rps[name]))}   CPU: ${showCpu(medCpu(name))}`);
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
}
