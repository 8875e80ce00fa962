/**
 * libp2p node factory shared by yards and agents: TCP, noise (authenticated, encrypted; ChaCha20-Poly1305 on
 * node:crypto, see noise-crypto.ts) — or TCP through an agent gateway (gateway-transport.ts) —, yamux (window updates at half the window, see yamux-window.ts), identify,
 * ping; optional mDNS (LAN), bootstrap list and Kademlia DHT.
 * Keys persist in a file so a yard keeps its peer id (which its registry listing names) across restarts.
 *
 * @example
 *   const node = await createIconNode({ privateKey: await loadOrCreatePeerKey(".icon/peer.key"), listen: ["/ip4/127.0.0.1/tcp/0"] });
 */
import { readFile, writeFile, mkdir } from "node:fs/promises";
import path from "node:path";
import { createLibp2p, type Libp2p } from "libp2p";
import { tcp } from "@libp2p/tcp";
import { noise, type ICryptoInterface } from "@libp2p/noise";
import { yamux } from "@libp2p/yamux";
import { identify } from "@libp2p/identify";
import { ping } from "@libp2p/ping";
import { mdns } from "@libp2p/mdns";
import { bootstrap } from "@libp2p/bootstrap";
import { kadDHT, passthroughMapper, removePrivateAddressesMapper } from "@libp2p/kad-dht";
import { CID } from "multiformats/cid";
import * as raw from "multiformats/codecs/raw";
import { sha256 } from "multiformats/hashes/sha2";
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from "@libp2p/crypto/keys";
import type { AbortOptions, Connection, ContentRouting, PeerId, PrivateKey, Stream } from "@libp2p/interface";
import type { Multiaddr } from "@multiformats/multiaddr";
import { ConfigError } from "../errors.ts";
import { noiseCrypto } from "./noise-crypto.ts";
import { gatewayTcp, type GatewayDialer } from "./gateway-transport.ts";
import { halfWindowYamux, type YamuxWindowStats } from "./yamux-window.ts";
import type { HandlerRegistrar, ReadyGate } from "./ready.ts";

/**
 * The node's components a project service takes (js-libp2p hands them to each service factory): the registrar its
 * handlers go to, the connection manager it dials with. A service is `(components) => Startable`, started and
 * stopped with the node.
 */
export interface IconServiceComponents {
  peerId: PeerId;
  registrar: HandlerRegistrar;
  connectionManager: {
    getConnections(peer?: PeerId): Connection[];
    openConnection(
      peer: PeerId | Multiaddr | Multiaddr[],
      options?: AbortOptions & { priority?: number },
    ): Promise<Connection>;
  };
}

/**
 * The rest of js-libp2p's components that a service dialling by itself takes (the yard's overlay: route queries and
 * pushes, DHT announcements, pings): streams opened as `Libp2p.dialProtocol` opens them, the node's addresses, its
 * content routing, and the services built before it by name (`ping`).
 */
export interface IconNodeComponents extends IconServiceComponents {
  connectionManager: IconServiceComponents["connectionManager"] & {
    openStream(
      peer: PeerId | Multiaddr | Multiaddr[],
      protocols: string | string[],
      options?: AbortOptions & { priority?: number },
    ): Promise<Stream>;
  };
  addressManager: { getAddresses(): Multiaddr[] };
  contentRouting: ContentRouting;
  ping?: { ping(peer: PeerId, options?: AbortOptions): Promise<number> };
}

/**
 * The components js-libp2p hands a service, with the registrar gated on `ready` (ready.ts): what a daemon hands
 * each of its protocol services. (js-libp2p's components are a proxy that throws on a service not configured: the
 * view names each part, `ping` read when used, undefined on a node without it.)
 */
export function gatedComponents(c: IconNodeComponents, ready: Pick<ReadyGate, "registrar">): IconNodeComponents {
  return {
    peerId: c.peerId,
    registrar: ready.registrar(c.registrar),
    connectionManager: c.connectionManager,
    addressManager: c.addressManager,
    contentRouting: c.contentRouting,
    // Read, not tested with `in`: js-libp2p's proxy has only a `get` trap (its services are not the target's
    // properties), and throws MissingServiceError for a service the node was built without.
    get ping() {
      try {
        return c.ping;
      } catch {
        return undefined;
      }
    },
  };
}

/** Options of {@link createIconNode}. */
export interface IconNodeOptions {
  privateKey?: PrivateKey;
  /** Listen multiaddrs; loopback by default (tests and single-machine use). */
  listen?: string[];
  /**
   * The addresses others reach this node at, announced instead of the listen addresses (an agent in its sidecar
   * listens on the container's 0.0.0.0 and is reached through its yard's ingress).
   */
  announce?: string[];
  /**
   * Dial every outbound connection through this gateway (an agent in its sidecar: gateway-transport.ts); a dial
   * of an address without /p2p/ is refused.
   */
  gateway?: GatewayDialer;
  /** Multiaddrs (with /p2p/<id>) dialled at start. */
  bootstrap?: string[];
  /** Discover peers on the LAN with mDNS. */
  mdns?: boolean;
  /** Run a Kademlia DHT (wide-area discovery: yards provide {@link yardProviderKey}, agents look it up). */
  dht?: boolean;
  /**
   * Keep private and loopback addresses in the DHT's routing table and provider records (a LAN, a test bed on
   * one machine). Off by default: on the internet a private address of another host is unreachable noise.
   */
  dhtPrivateAddresses?: boolean;
  /** Connections per second one host may open before it is refused (libp2p's default is 5; a yard serving
   * many ICONs behind one address needs more). */
  inboundConnectionThreshold?: number;
  /** Inbound connections still in their handshake at once (libp2p's default is 10). */
  maxIncomingPendingConnections?: number;
  /** Noise's crypto: {@link noiseCrypto} unless given (tests and benchmarks compare it with @libp2p/noise's own). */
  noiseCrypto?: ICryptoInterface;
  /**
   * Yamux's window updates: "half" (default) sends one when the remote's credit falls below half the window
   * (yamux-window.ts); "library" keeps @libp2p/yamux's one per data frame (tests and benchmarks compare them).
   */
  yamuxWindow?: "half" | "library";
  /**
   * The daemon's protocol services in js-libp2p's shape, `(components) => Startable`, by name: libp2p builds them
   * with the node and starts and stops them with it (gate their handlers on the daemon's readiness: ready.ts).
   */
  services?: Record<string, (components: IconNodeComponents) => unknown>;
}

const windowStats = new WeakMap<Libp2p, YamuxWindowStats>();

/** The window-update counters of a node made by {@link createIconNode} with `yamuxWindow: "half"`, else undefined. */
export function yamuxWindowStats(node: Libp2p): YamuxWindowStats | undefined {
  return windowStats.get(node);
}

/** Creates and starts a libp2p node with the project's transport stack. */
export async function createIconNode(o: IconNodeOptions = {}): Promise<Libp2p> {
  const peerDiscovery = [];
  if (o.bootstrap && o.bootstrap.length > 0) peerDiscovery.push(bootstrap({ list: o.bootstrap }));
  if (o.mdns) peerDiscovery.push(mdns({ serviceTag: "icon-market" }));
  const base = { identify: identify(), ping: ping() };
  const dht = kadDHT({
    protocol: "/icon/kad/1.0.0",
    clientMode: false,
    peerInfoMapper: o.dhtPrivateAddresses ? passthroughMapper : removePrivateAddressesMapper,
  });
  const services = { ...(o.dht ? { ...base, dht } : base), ...o.services };
  const muxer = o.yamuxWindow === "library" ? undefined : halfWindowYamux();
  const node = await createLibp2p({
    privateKey: o.privateKey,
    addresses: { listen: o.listen ?? ["/ip4/127.0.0.1/tcp/0"], ...(o.announce ? { announce: o.announce } : {}) },
    transports: [o.gateway ? gatewayTcp({ gateway: o.gateway }) : tcp()],
    connectionEncrypters: [noise({ crypto: o.noiseCrypto ?? noiseCrypto })],
    streamMuxers: [muxer ?? yamux()],
    peerDiscovery,
    connectionManager: {
      inboundConnectionThreshold: o.inboundConnectionThreshold ?? 5,
      maxIncomingPendingConnections: o.maxIncomingPendingConnections ?? 10,
    },
    services: services as typeof base,
  });
  if (muxer) windowStats.set(node, muxer.stats);
  if (o.mdns) {
    // mDNS finds peers but does not dial them: dial what it finds.
    node.addEventListener("peer:discovery", (evt) => {
      void node.dial(evt.detail.multiaddrs).catch(() => {});
    });
  }
  return node;
}

/** A DHT key: a raw CID of sha256(`name`). */
async function dhtKey(name: string): Promise<CID> {
  return CID.create(1, raw.code, await sha256.digest(new TextEncoder().encode(name)));
}

/** The DHT key under which yards announce themselves: sha256("/icon/yard/1.0.0"). */
export function yardProviderKey(): Promise<CID> {
  return dhtKey("/icon/yard/1.0.0");
}

/** The DHT key under which a yard announces that it runs instances of `service` (`app.appns.service.servicens`). */
export function serviceProviderKey(service: string): Promise<CID> {
  return dhtKey(`/icon/service/1.0.0/${service}`);
}

/** Announces `node` as a yard in the DHT (a provider record for {@link yardProviderKey}); needs `dht: true`. */
export async function provideYard(node: Libp2p, signal?: AbortSignal): Promise<void> {
  await node.contentRouting.provide(await yardProviderKey(), { signal });
}

/**
 * Yards announced in the DHT: peer ids with the addresses their provider records carry, at most `max`, within
 * `timeoutMs`. Untrusted: anyone can provide the key, so callers check each yard against the registry.
 */
export async function findYardProviders(
  node: Libp2p,
  o: { max?: number; timeoutMs?: number } = {},
): Promise<{ peerId: string; addrs: string[] }[]> {
  return findProviders(node, await yardProviderKey(), o);
}

/** Providers of `key` in the DHT (not `node` itself), at most `max` (16), within `timeoutMs` (5000). */
export async function findProviders(
  node: Pick<Libp2p, "peerId" | "contentRouting">,
  key: CID,
  o: { max?: number; timeoutMs?: number } = {},
): Promise<{ peerId: string; addrs: string[] }[]> {
  const out = new Map<string, string[]>();
  const signal = AbortSignal.timeout(o.timeoutMs ?? 5000);
  try {
    for await (const p of node.contentRouting.findProviders(key, { signal })) {
      const id = p.id.toString();
      if (id === node.peerId.toString() || out.has(id)) continue;
      out.set(
        id,
        p.multiaddrs.map((a) => `${a.toString().replace(/\/p2p\/[^/]+$/, "")}/p2p/${id}`),
      );
      if (out.size >= (o.max ?? 16)) break;
    }
  } catch (e) {
    // A lookup that ran out of time keeps what it found; anything else is the caller's to report.
    if (!signal.aborted) throw e;
  }
  return [...out].map(([peerId, addrs]) => ({ peerId, addrs }));
}

/** Loads the node's Ed25519 key from `file`, creating it (mode 0600) on first use. */
export async function loadOrCreatePeerKey(file: string): Promise<PrivateKey> {
  try {
    return privateKeyFromProtobuf(await readFile(file));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") {
      throw new ConfigError(
        "BAD_PEER_KEY",
        `${file} is not a libp2p private key (protobuf); move it away to create a new one`,
        { cause: e },
      );
    }
  }
  const key = await generateKeyPair("Ed25519");
  await mkdir(path.dirname(file), { recursive: true });
  try {
    await writeFile(file, privateKeyToProtobuf(key), { mode: 0o600, flag: "wx" });
  } catch (e) {
    // Another process created it first: use that key, so both agree on the peer id.
    if ((e as NodeJS.ErrnoException).code === "EEXIST") return privateKeyFromProtobuf(await readFile(file));
    throw e;
  }
  return key;
}
