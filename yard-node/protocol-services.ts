/**
 * The yard's protocol services as the libp2p node's services (js-libp2p's shape, `(components) => Startable`):
 * the lease negotiation (quoting.ts), the tunnels (overlay/tunnel.ts), the overlay's routes, routing rules and
 * telemetry (overlay/overlay.ts), image upload and logs (services.ts), the path probe (probe.ts) and the relay
 * (relay.ts). The node builds and starts them with its listeners, before the yard's rooms exist; each registers its
 * handlers on the readiness gate's registrar (protocol/net/ready.ts), so every stream is refused with a sentence
 * until the yard is ready, and reaches the rooms it serves from only then, through `rooms()`; outbound work (the
 * overlay's DHT announcements and sweep) begins when the gate opens. The node's stop stops them.
 *
 * @example
 *   const node = await createIconNode({ services: yardProtocolServices(init, ready, () => rooms).services });
 */
import type { Signer } from "ethers";
import type { Libp2p, Startable } from "@libp2p/interface";
import {
  gatedComponents,
  type IconNodeComponents,
  type LeaseProvider,
  type MarketClient,
  type ReadyGate,
  type TunnelHeader,
} from "../protocol/index.ts";
import type { Multiaddr } from "@multiformats/multiaddr";
import type { Logger } from "../protocol/log.ts";
import type { Authorize } from "./access.ts";
import type { Prices, YardConfig } from "./config.ts";
import type { YardDb } from "./db.ts";
import type { LeaseLifecycle } from "./leases.ts";
import { defaultServiceCidr } from "./network.ts";
import { overlay, type Overlay, type OverlayOptions } from "./overlay/overlay.ts";
import { tunnels, type TunnelManager, type TunnelTarget } from "./overlay/tunnel.ts";
import { probeService } from "./probe.ts";
import type { Quoting } from "./quoting.ts";
import { leaseNegotiation } from "./quoting.ts";
import { relayChainOf, relayService } from "./relay.ts";
import type { ContainerRuntime } from "./runtime.ts";
import { yardServices } from "./services.ts";
import type { YardMetrics } from "./yard-metrics.ts";

/** What the services reach of the yard once it is ready. */
export interface ServedRooms {
  node: Pick<Libp2p, "getMultiaddrs">;
  quoting: Pick<Quoting, "capacity" | "quote" | "accept">;
  leases: Pick<LeaseLifecycle, "deploy" | "terminate" | "containerOf">;
  /** What the overlay asks of the yard: its running instances, namespace and route checks, the datagram bridge. */
  overlay: Required<Pick<OverlayOptions, "local" | "admit" | "vouch" | "checkRoute" | "udpBridge">>;
  resolveTunnel: (h: TunnelHeader, remote: string, remoteAddr: Multiaddr) => Promise<TunnelTarget>;
  now: () => number;
}

/** What the services are built from (all there before the node is). */
export interface ProtocolServicesInit {
  config: YardConfig;
  chain: MarketClient;
  runtime: ContainerRuntime;
  db: YardDb;
  wallet: Signer;
  operator: string;
  prices: Prices;
  metrics: YardMetrics;
  /** Whether a lease access is its holder's (access.ts). */
  holder: Authorize;
  log: Logger;
}

/**
 * The node's services by name, and the tunnel manager and the overlay once the node has built them. `rooms()` is
 * read only inside handlers, which run once `ready` is open, and by outbound work, which begins then.
 */
export function yardProtocolServices(
  init: ProtocolServicesInit,
  ready: ReadyGate,
  rooms: () => ServedRooms,
): {
  services: Record<string, (components: IconNodeComponents) => Startable>;
  tunnels: () => TunnelManager;
  overlay: () => Overlay;
} {
  const { config, chain, runtime, db, holder, log, metrics } = init;
  const built: { tunnels?: TunnelManager; overlay?: Overlay } = {};
  const get = <K extends keyof typeof built>(name: K): NonNullable<(typeof built)[K]> => {
    const s = built[name];
    if (!s) throw new Error(`the node has not built the ${name} service`);
    return s;
  };
  const gated = (c: IconNodeComponents): IconNodeComponents => gatedComponents(c, ready);
  const o = config.overlay;
  const services = {
    lease: (c: IconNodeComponents) =>
      leaseNegotiation({
        provider: provider(rooms, holder),
        onError: (e) => log.debug("negotiation stream failed", { error: e }),
      })(gated(c)),
    tunnels: (c: IconNodeComponents) =>
      (built.tunnels = tunnels({
        resolve: (h, remote, remoteAddr) => rooms().resolveTunnel(h, remote.toString(), remoteAddr),
        log: log.child("tunnels"),
        maxPeers: o.maxTunnelPeers,
        idleMs: o.tunnelIdleS * 1000,
      })(gated(c))),
    overlay: (c: IconNodeComponents) =>
      (built.overlay = overlay({
        ready,
        log: log.child("overlay"),
        tunnels: { open: (peer, addrs, h) => get("tunnels").open(peer, addrs, h) },
        admit: (from, to, id) => rooms().overlay.admit(from, to, id),
        authorize: holder, // the lease negotiation's own check (one cache of holders)
        vouch: (peer) => rooms().overlay.vouch(peer),
        checkRoute: (yard, service, id) => rooms().overlay.checkRoute(yard, service, id),
        udpBridge: (ip, port) => rooms().overlay.udpBridge(ip, port),
        local: () => rooms().overlay.local(),
        store: db,
        routeEpochMs: db.nextRouteEpoch(),
        peers: o.peers,
        dht: config.p2p.dht,
        k: o.k,
        ttlS: o.routeTtlS,
        halfLifeS: o.flowHalfLifeS,
      })(gated(c))),
    yardServices: (c: IconNodeComponents) =>
      yardServices({
        runtime,
        chain,
        db,
        dataDir: config.dataDir,
        maxImageBytes: config.images.maxBytes,
        maxPartialBytesPerHolder: config.images.maxPartialBytesPerHolder,
        maxPartialBytes: config.images.maxPartialBytes,
        partialIdleS: config.images.partialIdleS,
        log,
        container: (id) => rooms().leases.containerOf(id),
        onImageLoaded: (id) => db.touchImage(id, rooms().now()),
      })(gated(c)),
    probe: (c: IconNodeComponents) =>
      probeService({
        // The tools run where the yard's public side is, unless the probe names its own namespace.
        config: { ...config.probe, netns: config.probe.netns ?? config.publicNetns },
        authorize: holder,
        running: (id) => {
          const { row, info } = rooms().leases.containerOf(id);
          return row?.status === "deployed" && info?.running === true;
        },
        clients: (id) => get("overlay").flows(id).snapshot(),
        own: async () => [
          config.publicHost,
          o.serviceCidr ?? defaultServiceCidr(config.yardId),
          ...rooms()
            .node.getMultiaddrs()
            .map((m) => m.toString().split("/")[2] ?? ""),
          ...[(await runtime.networkInfo?.().catch(() => undefined))?.subnet ?? ""],
        ],
        signer: init.wallet,
        operator: init.operator,
        domain: () => chain.domain(),
        log: log.child("probe"),
        metrics,
      })(gated(c)),
    relay: (c: IconNodeComponents) =>
      relayService({
        chain: relayChainOf(chain),
        fee: init.prices.relayFee,
        log: log.child("relay"),
        metrics,
      })(gated(c)),
  };
  return { services, tunnels: () => get("tunnels"), overlay: () => get("overlay") };
}

/** The lease negotiation's provider: the quoting and lease rooms, read at each request. */
function provider(rooms: () => ServedRooms, holder: Authorize): LeaseProvider {
  return {
    capacity: (ctx, rttTargets) => rooms().quoting.capacity(ctx, rttTargets),
    quote: (rfq, counter, ctx) => rooms().quoting.quote(rfq, counter, ctx),
    accept: (signature, ctx) => rooms().quoting.accept(signature, ctx),
    deploy: (spec) => rooms().leases.deploy(spec),
    terminate: (id) => rooms().leases.terminate(id),
    // Another Deploy of a lease held here (e.g. its agent part added: an ICON handed into its sidecar), only for
    // the lease's holder (its access signature bound to this stream's peer), checked before anything is read.
    redeploy: async (access, spec, ctx) => {
      try {
        await holder(access, ctx.remote);
      } catch (e) {
        return { failed: `not deployed: ${(e as Error).message}` };
      }
      return rooms().leases.deploy(spec);
    },
  };
}
