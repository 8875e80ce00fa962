/**
 * Yards at the sites of the packet-level testbed (netbed.ts): what a yard's config needs to have its public side —
 * ingress listeners, the clients' round trips, its probe's traceroute and ping — in its site's namespace while its
 * control plane (libp2p, its agent gateway, its ICON agents' listeners) stays on a loopback address of the root
 * namespace; and the public DNS view the yards' DNS responders forward to: each yard's `_edge._tcp` SRV record in
 * its site's domain (pointing at its control plane) and the testbed's reverse names. Used by the demo, the
 * tomography test and bench:netview.
 *
 * @example
 *   const file = await writeYardConfig(m, yardConfig(m, id, { ...atSite(bed, "edge-t", "127.0.1.4"), ... }));
 *   const y = await startYardProcess(file, key);
 *   const dns = await startDnsmasq({ records: publicDnsRecords(bed, { "edge-t": y.addr }), port });
 */
import { zoneRecords } from "../../protocol/index.ts";
import type { YardConfigInput } from "../../yard-node/index.ts";
import type { Netbed } from "./netbed.ts";

/** Config fields of a yard whose site is `site` of `bed` and whose control plane listens on `control`. */
export function atSite(
  bed: Netbed,
  site: string,
  control: string,
): Pick<YardConfigInput, "listen" | "publicHost" | "publicNetns"> {
  return {
    listen: [`/ip4/${control}/tcp/0`],
    publicHost: bed.address(site),
    publicNetns: bed.netnsPath(site),
  };
}

/** The DNS domain of `node`'s network. */
export function domainOf(bed: Netbed, node: string): string {
  const n = bed.plan.nodes.get(node);
  if (!n) throw new Error(`no node "${node}" in the testbed`);
  return bed.plan.topology.networks[n.network]!.domain;
}

/**
 * The public DNS view as BIND lines: for each site's yard (its libp2p multiaddr `/ip4/…/tcp/…/p2p/…`) the
 * `_edge._tcp.<site's domain>` SRV record → `<site>.<domain>` at that address, and the testbed's reverse names.
 */
export function publicDnsRecords(bed: Netbed, yards: Record<string, string>): string[] {
  const records = Object.entries(yards).flatMap(([site, addr]) => {
    const ma = /^\/ip4\/([^/]+)\/tcp\/(\d+)\/p2p\/(\w+)$/.exec(addr);
    if (!ma) throw new Error(`yard of ${site}: ${addr} is not /ip4/<address>/tcp/<port>/p2p/<peer id>`);
    const domain = domainOf(bed, site);
    return zoneRecords({ domain, host: `${site}.${domain}`, port: Number(ma[2]), peerId: ma[3]!, addresses: [ma[1]!] });
  });
  return [...records, ...bed.publicRecords()];
}
