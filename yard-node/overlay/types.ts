/**
 * Shared vocabulary of the yard's overlay proxy (issue "Overlay proxy"): service names, instances, routing
 * policies. Design source: the thesis's proxy chapter (ServiceIPs per routing policy, InstanceIPs, naming
 * schema `app.appns.service.servicens.(instance|any).(policy|none)`, L4 proxying, tunnels, table query with
 * interest registration, k-pruning, LRU tunnels) and the ICON paper §3.3/§4.2 (HTTP redirection, stubs).
 * Also the types the overlay's rooms and the yard's store share (local instances, stored routing rules), so that
 * the store (db.ts) needs no import of the overlay's classes.
 */
import type { AbortOptions, Connection, ContentRouting, PeerId, Stream } from "@libp2p/interface";
import type { Multiaddr } from "@multiformats/multiaddr";
import type { HandlerRegistrar, Redirect, Stub } from "../../protocol/index.ts";

/** A service's identity: four DNS labels. Its namespace is `app.appns`. */
export interface ServiceName {
  app: string;
  appns: string;
  service: string;
  servicens: string;
}

/** `app.appns.service.servicens`. */
export function serviceKey(s: ServiceName): string {
  return `${s.app}.${s.appns}.${s.service}.${s.servicens}`;
}

/** One running instance of a service: a lease's container at some yard. */
export interface Instance {
  /** `app.appns.service.servicens` */
  service: string;
  /** The lease id (unique in the market), also the instance number in semantic names. */
  instanceId: bigint;
  /** The yard that runs it: libp2p peer id (string form) and its multiaddrs. */
  yard: string;
  addrs: string[];
  /** Container ports the instance serves: TCP, and UDP (absent when none). */
  ports: number[];
  udpPorts?: number[];
  /** Measured latency from this yard to the instance, ms (0 when local); undefined when not measured yet. */
  latencyMs?: number;
  /** Unix ms when this entry was last confirmed by the yard that runs it. */
  updatedAt: number;
}

/** What a policy may look at when it picks. */
export interface PickContext {
  /** Client (source) address, for sticky or subnet-aware policies. */
  client?: string;
  /** Instance the name pins (`<id>.none`). */
  instanceId?: bigint;
  /** The port the connection is for (only instances that serve it are picked), and its transport (default TCP). */
  port?: number;
  transport?: "tcp" | "udp";
}

/** A routing policy: picks one instance per new connection. New policies plug in without touching the rest. */
export interface RoutingPolicy {
  /** The policy label in semantic names (`rr`, `closest`, …). */
  readonly name: string;
  /**
   * The policy ranks by measured latency: the proxy measures the round trip to every instance's yard (libp2p ping,
   * cached 30 s) before it asks the policy to pick.
   */
  readonly measures?: boolean;
  pick(instances: readonly Instance[], ctx: PickContext): Instance | undefined;
  /**
   * The k instances worth keeping for this policy (k-pruning); default: the k most recently confirmed. `ctx` is
   * the context of the pick the pruning is for.
   */
  keep?(instances: readonly Instance[], k: number, ctx?: PickContext): Instance[];
}

/** A local instance, as the yard knows it. */
export interface LocalInstance {
  leaseId: bigint;
  service: string;
  ports: number[];
  /** UDP ports (none when absent). */
  udpPorts?: number[];
  /** Container address when running. */
  ip: string | undefined;
}

/** A lease's routing rules as stored: its HTTP redirects and its stub (with the unix ms its grace ends at). */
export interface StoredRoutingRules {
  leaseId: bigint;
  redirects: Redirect[];
  stub: (Stub & { until: number }) | undefined;
}

/**
 * A lease's flow observer as plain data (flows.ts): each subnet's running sums and the unix ms they were last
 * decayed to, and each subnet's redirects; a restarted yard takes them back and decays them from there.
 */
export interface FlowState {
  subnets: {
    subnet: string;
    at: number;
    count: number;
    latW: number;
    latSum: number;
    /** Each client address's latest round trip: [address, ms, at]. */
    rtts?: [string, number, number][];
    requests: number;
    client: string;
    /** The last request this yard saw from the subnet itself (not through another yard's tunnel header). */
    directAt?: number;
  }[];
  redirects: { subnet: string; at: number; count: number; redirects: number }[];
}

/** Durable routing rules (the yard's database, yard-node/db.ts), and the flows kept across a graceful restart. */
export interface RoutingRulesStore {
  routingRules(): StoredRoutingRules[];
  setRoutingRules(r: StoredRoutingRules): void;
  deleteRoutingRules(leaseId: bigint): void;
  takeFlows?(): { leaseId: bigint; state: FlowState }[];
  saveFlows?(flows: { leaseId: bigint; state: FlowState }[]): void;
}

/**
 * What the overlay uses of the libp2p node: a `Libp2p` (tests), or in a yard the view of the node's components its
 * service builds (overlay.ts `overlay`), whose registrar is the readiness gate's.
 */
export interface OverlayNode extends HandlerRegistrar {
  peerId: PeerId;
  getMultiaddrs(): Multiaddr[];
  getConnections(peer?: PeerId): Connection[];
  dialProtocol(peer: PeerId | Multiaddr | Multiaddr[], protocols: string | string[], o?: AbortOptions): Promise<Stream>;
  contentRouting: ContentRouting;
  services: { ping?: unknown };
}
