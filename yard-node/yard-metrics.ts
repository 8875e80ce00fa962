/**
 * Every metric the yard exports, declared once: name, type and help. Rooms count through `YardMetrics` (names
 * checked by the compiler, help never repeated at a call site); `/metrics` renders them all, a declared family at 0
 * before its first count. The exposition itself is metrics.ts.
 */
import type { Metrics } from "./metrics.ts";

const INGRESS_REFUSED =
  "Ingress connections refused at once, by the cap that was full (a client address's, the port's)";

export const YARD_METRICS = {
  icon_yard_quotes_total: { type: "counter", help: "Quotes signed" },
  icon_yard_rejects_total: { type: "counter", help: "Refused RFQs, counters and accepts by reason" },
  icon_yard_leases_opened_total: { type: "counter", help: "Leases opened" },
  icon_yard_earnings_claimed_units_total: { type: "counter", help: "Token units claimed from leases" },
  icon_yard_gas_spent_wei_total: {
    type: "counter",
    help: "Wei the operator's key spent on gas (gasUsed × effective gas price, reverted transactions too), by function: claimMany, claim, confirmStart, openLease, relay, …",
  },
  icon_yard_reconcile_actions_total: { type: "counter", help: "Actions taken to make Docker match the leases" },
  icon_yard_container_exits_total: { type: "counter", help: "Containers that exited on their own, by reason" },
  icon_yard_container_restarts_total: { type: "counter", help: "Containers restarted after they exited" },
  icon_yard_deploys_refused_total: { type: "counter", help: "Deploys refused by reason" },
  icon_yard_agent_handovers_kept_total: {
    type: "counter",
    help: "Deploys whose agent part was marked once (a hand-over sent again) at a lease whose agent runs or is held: nothing changed",
  },
  icon_yard_relayed_total: {
    type: "counter",
    help: "ICON intents relayed to the market, by outcome (mined, refused by the market, chain failure)",
  },
  icon_yard_relay_fees_units_total: {
    type: "counter",
    help: "Token units the market repaid this yard for relayed intents (credited to its earnings)",
  },
  icon_yard_probes_total: {
    type: "counter",
    help: "Path probes (/icon/probe/1.0.0) by outcome: answered, or the refusal (denied, not_a_client, rate_limited, busy, …)",
  },
  icon_yard_rtt_queries_total: {
    type: "counter",
    help: "Capacity queries with rtt targets by outcome: measured, over_budget, disabled, failed, bad_target",
  },
  icon_yard_rtt_packets_total: {
    type: "counter",
    help: "Echo requests sent for capacity queries' rtt targets (a candidate's measured l_ij)",
  },
  icon_yard_probe_packets_total: {
    type: "counter",
    help: "Packets the path probes sent towards lease holders' clients (traceroute probes and pings)",
  },
  icon_yard_agent_sidecars_lost_total: {
    type: "counter",
    help: "Agent sidecars left down: down after a yard restart took their secret, failing past maxRestarts, image gone",
  },
  icon_yard_gateway_requests_total: {
    type: "counter",
    help: "Agent gateway requests by outcome: ok, refused (a method, body or peer the gateway does not carry), limited (over a sidecar's rate or concurrency), failed (the upstream failed)",
  },
  icon_yard_gateway_refused_sources_total: {
    type: "counter",
    help: "Connections to the agent gateway or its forwards from an address that is no running sidecar (or not the forward's), closed at once",
  },
  // (counters whose values the scrape copies from the ingress's own counts)
  icon_yard_ingress_refused_total: { type: "counter", help: INGRESS_REFUSED },
  icon_yard_ingress_idle_closed_total: {
    type: "counter",
    help: "Ingress connections closed after no byte either way for ingress.tcpIdleS or httpIdleS",
  },
  icon_yard_udp_sessions_evicted_total: {
    type: "counter",
    help: "UDP ingress sessions closed to make room for a new source, by the cap that was full",
  },
  icon_yard_udp_datagrams_dropped_total: {
    type: "counter",
    help: "UDP datagrams dropped because their tunnel stream lagged by more than 1 MiB",
  },
  icon_yard_tunnels_untrusted_client_total: {
    type: "counter",
    help: "Tunnels from peers that are no active yard: counted under the peer's own address, not the header's client",
  },
  icon_yard_leases_active: { type: "gauge", help: "Leases opened and not yet ended" },
  icon_yard_claims_dust_units_total: {
    type: "counter",
    help: "Token units of ended leases given up as dust: their claim never paid for its gas (claims.ts DUST_AFTER_S)",
  },
  icon_yard_claims_waiting: {
    type: "gauge",
    help: "Due claims held back by the claim policy: their gas would cost more than they collect, or the fee is above the cap",
  },
  icon_yard_gateway_forwards_open: { type: "gauge", help: "Agent gateway forwards (libp2p, per sidecar) open now" },
  icon_yard_containers_running: { type: "gauge", help: "Lease containers running" },
  icon_yard_probes_measuring: { type: "gauge", help: "Path probes measuring now (at most probe.maxConcurrent)" },
  icon_yard_capacity_cpu_millis: { type: "gauge", help: "CPU capacity in mCPU" },
  icon_yard_capacity_memory_mib: { type: "gauge", help: "Memory capacity in MiB" },
  icon_yard_quotes_per_second: { type: "gauge", help: "Quotes signed per second over the last minute" },
  icon_yard_flow_redirects_per_second: {
    type: "gauge",
    help: "Smoothed HTTP redirects (307, not served here) per lease and client subnet",
  },
  icon_yard_flow_requests_per_second: { type: "gauge", help: "Smoothed request rate per lease and client subnet (λ)" },
  icon_yard_flow_latency_ms: { type: "gauge", help: "Smoothed request latency per lease and client subnet" },
  icon_yard_flow_rtt_ms: {
    type: "gauge",
    help: "Smoothed network round trip (the kernel's minimum RTT of the ingress's TCP connections) per lease and client subnet",
  },
  icon_yard_udp_sessions: { type: "gauge", help: "UDP ingress sessions open (one socket or tunnel stream each)" },
  icon_yard_last_resort_caught: {
    type: "gauge",
    help: "Errors no handler took, caught by the process's last-resort handler and survived",
  },
  icon_yard_chain_up: { type: "gauge", help: "1 when the chain RPC answers" },
  icon_yard_docker_up: { type: "gauge", help: "1 when the Docker engine answers" },
  icon_yard_chain_cursor_block: { type: "gauge", help: "Last block whose events were processed" },
} as const satisfies Record<string, { type: "counter" | "gauge"; help: string }>;

export type YardMetricName = keyof typeof YARD_METRICS;
type Labels = Record<string, string>;

/**
 * The yard's metrics by declared name. Counters are exported (at 0) from the start; gauges are set at each scrape
 * (a gauge family nobody set is left out, so a departed lease leaves no series behind).
 */
export class YardMetrics {
  readonly #m: Metrics;

  constructor(m: Metrics) {
    this.#m = m;
    for (const [name, d] of Object.entries(YARD_METRICS)) if (d.type === "counter") m.declare(name, d.help, d.type);
  }

  inc(name: YardMetricName, labels: Labels = {}, by: number | bigint = 1): void {
    this.#m.inc(name, YARD_METRICS[name].help, labels, by);
  }

  set(name: YardMetricName, value: number | bigint, labels: Labels = {}): void {
    this.#m.set(name, YARD_METRICS[name].help, value, labels);
  }

  clear(name: YardMetricName): void {
    this.#m.clear(name);
  }

  /** Registers a function that sets gauges right before each scrape. */
  collect(fn: () => void): void {
    this.#m.collect(fn);
  }

  get(name: YardMetricName, labels: Labels = {}): number | bigint | undefined {
    return this.#m.get(name, labels);
  }

  /** The exposition (Prometheus text format 0.0.4) of every family. */
  render(): string {
    return this.#m.render();
  }
}
