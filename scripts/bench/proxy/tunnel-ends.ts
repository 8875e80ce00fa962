/**
 * bench:proxy's tunnel pair, each end a child process of the bench (not the bench itself, whose heap holds the
 * embedded chain): the bulk path's far end (`bulkEnd`: libp2p nodes with a TunnelManager each, forwarding to the
 * bulk sink or the upstream container) and the bare Ingress (`bareIngress`: yard-node's Ingress alone, with a
 * `local` route to the container and `remote` routes through TunnelManagers to the far end).
 */
import net from "node:net";
import { defaultCrypto } from "@libp2p/noise/crypto";
import { peerIdFromString } from "@libp2p/peer-id";
import { multiaddr } from "@multiformats/multiaddr";
import { createIconNode } from "../../../protocol/net/node.ts";
import type { TunnelHeader } from "../../../protocol/index.ts";
import { Ingress, type IngressRoute, TunnelManager, type TunnelTarget } from "../../../yard-node/index.ts";
import { BULK_PORT, SERVICE, UPSTREAM_PORT } from "./config.ts";

// The bulk path's far end: a child process with its own libp2p node and TunnelManager, forwarding to the bulk sink.
// A second node and TunnelManager, on @libp2p/noise's default crypto, serve the reference bulk path.

/** The bulk far end's peers: the project's noise crypto and the reference one (the library's default). */
export interface BulkEndInfo {
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

export async function bulkEnd(sinkPort: number, upstreamHost: string): Promise<void> {
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
// The bare Ingress: yard-node's Ingress class in a child process of its own (not the bench's, whose heap holds the
// embedded chain and makes every garbage collection of a process that moves bytes costlier), with a `local` route
// to the upstream container and the bulk paths' near end: `remote` routes through a TunnelManager to the far end,
// on each crypto.

export interface BareIngressSetup {
  upstream: { host: string; port: number };
  far: BulkEndInfo;
}
export interface BareIngressPorts {
  ingressPort: number;
  bulkPort: number;
  refBulkPort: number;
  /** Requests through a tunnel to the far end and on to the upstream: the project's stack, and yamux's own pacing. */
  tunnelPort: number;
  libTunnelPort: number;
}

export async function bareIngress(): Promise<void> {
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
