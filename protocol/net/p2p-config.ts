/**
 * The libp2p discovery settings a yard's and an app's config file share (`"p2p": { … }`), validated with messages
 * that name the fix, and turned into {@link IconNodeOptions}.
 *
 * @example
 *   "p2p": { "mdns": true, "bootstrap": ["/ip4/198.51.100.4/tcp/4001/p2p/12D3Koo…"], "dht": true }
 */
import { z } from "zod";
import type { IconNodeOptions } from "./node.ts";

export const p2pDiscoverySchema = z
  .object({
    /** Find peers on the local network by multicast DNS. */
    mdns: z.boolean().default(false),
    /** Peers dialled at start (multiaddrs ending in /p2p/<peer id>): entry points into the DHT. */
    bootstrap: z
      .array(z.string().regex(/^\/.*\/p2p\/\w+$/, "a multiaddr ending in /p2p/<peer id>"))
      .max(64)
      .default([]),
    /** Run the Kademlia DHT: a yard announces itself there, an ICON looks yards up there. */
    dht: z.boolean().default(false),
    /** Keep private and loopback addresses in the DHT (a LAN or one machine); off on the internet. */
    dhtPrivateAddresses: z.boolean().default(false),
  })
  .strict()
  .default({});

export type P2pDiscovery = z.output<typeof p2pDiscoverySchema>;

/** The node options for `d`. */
export function p2pNodeOptions(
  d: P2pDiscovery | undefined,
): Pick<IconNodeOptions, "mdns" | "bootstrap" | "dht" | "dhtPrivateAddresses"> {
  if (!d) return {};
  return { mdns: d.mdns, bootstrap: d.bootstrap, dht: d.dht, dhtPrivateAddresses: d.dhtPrivateAddresses };
}

/** Whether `d` turns on any way for the node to find peers by itself. */
export function p2pDiscovers(d: P2pDiscovery | undefined): boolean {
  return !!d && (d.mdns || d.dht || d.bootstrap.length > 0);
}
