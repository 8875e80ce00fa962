/**
 * The packet-level WAN testbed's plan: a topology file (validated with zod; every message names the field and the
 * fix) turned into addresses, links, static routes, per-network dnsmasq configurations and configured round trips.
 * Pure: no I/O; scripts/lib/netbed.ts carries it out.
 *
 * Addresses, all inside 198.18.0.0/15 (RFC 2544's benchmarking range) and only ever inside the bed's namespaces:
 *   198.18.<k>.0/24     client subnets (k = 1, 2, … in file order, or a `subnet` given in 198.18.0.0/16); the client
 *                       node holds the whole /24 on lo, so any address in it can be a source address
 *   198.19.0.0/17       one /32 per router and site (its loopback: the source of everything it sends)
 *   198.19.128.0/17     a /31 per link (a's end, b's end), point-to-point TUN devices
 * Routes: hop by hop, each node's own shortest-path tree by the links' mean one-way delay (ties: fewer hops, then
 * file order), `src` the node's own address, so traceroute shows routers' loopbacks.
 * DNS: one dnsmasq per network, in the namespace of its `dns` node (default: its first router), on that node's
 * address port 53; it answers for its domain (A of routers and sites, PTR of their addresses, PTR/A for its client
 * subnets unless `ptr: false` — synthesised names `client-198-18-1-7.<domain>`, `_edge._tcp.<domain>` SRV and TXT
 * for its sites with an `iep`) and forwards the other networks' domains and reverse names to their dnsmasq. Every
 * node's resolver is its own network's dnsmasq.
 */
import { z } from "zod";
import { ConfigError } from "../../protocol/errors.ts";

const NAME_RE = /^[A-Za-z][A-Za-z0-9-]{0,30}$/;
const DOMAIN_RE = /^(?=.{1,200}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z][a-z0-9-]{0,61}[a-z0-9]$/;
const MAX_DELAY_MS = 10_000;

const nodeName = z.string().regex(NAME_RE, "a name of 1–31 letters, digits and '-', starting with a letter");
const linkSchema = z
  .object({
    a: nodeName,
    b: nodeName,
    delayMs: z.number().min(0).max(MAX_DELAY_MS, `at most ${MAX_DELAY_MS} ms`),
    delayBackMs: z.number().min(0).max(MAX_DELAY_MS, `at most ${MAX_DELAY_MS} ms`).optional(),
    lossPct: z.number().min(0).max(100, "a percentage from 0 to 100").optional(),
    rateBps: z.number().int().positive("bits per second, e.g. 10000000 for 10 Mbit/s").optional(),
    queuePackets: z.number().int().min(1).max(65536, "packets per direction, 1 to 65536").optional(),
  })
  .strict();
const iepSchema = z
  .object({
    port: z.number().int().min(1).max(65535, "a TCP port, 1 to 65535"),
    txt: z.array(z.string().regex(/^[^"\\]{1,255}$/, "TXT strings without quotes or backslashes")).optional(),
  })
  .strict();
const nodeSchema = z
  .object({
    network: nodeName,
    role: z.enum(["router", "clients", "site"]),
    subnet: z
      .string()
      .regex(/^198\.18\.\d{1,3}\.0\/24$/, 'a /24 inside 198.18.0.0/16, e.g. "198.18.7.0/24"')
      .optional(),
    ptr: z.boolean().optional(),
    iep: iepSchema.optional(),
  })
  .strict();
const topologySchema = z
  .object({
    networks: z.record(
      nodeName,
      z
        .object({
          domain: z.string().regex(DOMAIN_RE, 'a lower-case DNS name, e.g. "a.isp.test"'),
          dns: nodeName.optional(),
        })
        .strict(),
    ),
    nodes: z.record(nodeName, nodeSchema),
    links: z.array(linkSchema).min(1, "at least one link"),
  })
  .strict();

/** A topology file's content (see scripts/netbed/topologies/demo.json). */
export type Topology = z.infer<typeof topologySchema>;
export type NodeRole = "router" | "clients" | "site";
/** What a site publishes: `_edge._tcp.<domain>` SRV → `<site>.<domain>`:port, and TXT strings on that name. */
export type Iep = z.infer<typeof iepSchema>;

export interface NodePlan {
  name: string;
  network: string;
  role: NodeRole;
  /** Its own address: a router's or site's loopback /32, a client network's subnet .1. */
  address: string;
  /** A client node's /24. */
  subnet?: string;
  /** Host name (routers and sites): `<name>.<domain>`, lower case. */
  fqdn: string;
  /** `ip -batch` lines that give it its addresses and routes (the TUN devices exist and are up). */
  ipBatch: string[];
}

export interface LinkPlan {
  index: number;
  a: string;
  b: string;
  /** TUN device names: the same in both namespaces ("nbl<index>"; each lives in its own namespace). */
  dev: string;
  addressA: string;
  addressB: string;
  delayAbMs: number;
  delayBaMs: number;
  lossPct: number;
  rateBps?: number;
  queuePackets: number;
}

export interface DnsPlan {
  network: string;
  domain: string;
  /** The node whose namespace runs this dnsmasq, and the address it listens on (port 53). */
  node: string;
  address: string;
  /** dnsmasq configuration lines. */
  config: string[];
}

export interface Plan {
  /** The validated topology (a site's `iep` changes with Netbed.setIep). */
  topology: Topology;
  nodes: Map<string, NodePlan>;
  links: LinkPlan[];
  dns: Map<string, DnsPlan>;
  /** The next hop (link index) from each node towards each other node. */
  nextLink: Map<string, Map<string, number>>;
}

/** Validates a topology; throws ConfigError BAD_TOPOLOGY naming the field and the fix. */
export function parseTopology(input: unknown): Topology {
  const r = topologySchema.safeParse(input);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const field = issue.path.map((p) => (typeof p === "number" ? `[${p}]` : `.${p}`)).join("");
    throw bad(field || "(top level)", issue.message);
  }
  return r.data;
}

function bad(field: string, fix: string): ConfigError {
  return new ConfigError(
    "BAD_TOPOLOGY",
    `topology${field.startsWith(".") || field.startsWith("[") ? "" : " "}${field}: ${fix}`,
  );
}

function ipv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}
function toInt(a: string): number {
  return a.split(".").reduce((acc, o) => acc * 256 + Number(o), 0);
}
/** `1.2.3.4` → `4.3.2.1.in-addr.arpa` (octets 4 for a /32, 3 for a /24). */
export function reverseName(address: string, octets = 4): string {
  return `${address.split(".").slice(0, octets).reverse().join(".")}.in-addr.arpa`;
}

/** Validates `input` and plans the bed: addresses, links, routes and DNS. */
export function planTopology(input: unknown): Plan {
  const t = parseTopology(input);
  const names = Object.keys(t.nodes);
  const nodes = new Map<string, NodePlan>();
  const usedSubnets = new Set<string>();
  const lower = new Map<string, string>();
  for (const [name, n] of Object.entries(t.nodes)) {
    const key = name.toLowerCase();
    if (lower.has(key)) throw bad(`.nodes.${name}`, `the same name as "${lower.get(key)}" in another case: rename one`);
    lower.set(key, name);
    if (!t.networks[n.network])
      throw bad(
        `.nodes.${name}.network`,
        `"${n.network}" is not in networks: add it or use one of ${Object.keys(t.networks).join(", ")}`,
      );
    if (n.role !== "clients" && (n.subnet !== undefined || n.ptr !== undefined))
      throw bad(`.nodes.${name}`, `subnet and ptr belong to role "clients" only: remove them`);
    if (n.role !== "site" && n.iep !== undefined)
      throw bad(`.nodes.${name}.iep`, `only a "site" hosts an IEP: remove it`);
    if (n.subnet !== undefined) {
      if (Number(n.subnet.split(".")[2]) > 255) throw bad(`.nodes.${name}.subnet`, "the third octet must be 0–255");
      if (usedSubnets.has(n.subnet))
        throw bad(`.nodes.${name}.subnet`, `${n.subnet} is taken by another node: pick another /24`);
      usedSubnets.add(n.subnet);
    }
  }
  let nextSubnet = 1;
  names.forEach((name, i) => {
    const n = t.nodes[name]!;
    const domain = t.networks[n.network]!.domain;
    let subnet: string | undefined;
    let address = ipv4(toInt("198.19.0.0") + i + 1);
    if (n.role === "clients") {
      subnet = n.subnet;
      while (subnet === undefined) {
        const s = `198.18.${nextSubnet++}.0/24`;
        if (nextSubnet > 256) throw bad(`.nodes.${name}`, "no /24 left in 198.18.0.0/16: fewer client networks");
        if (!usedSubnets.has(s)) subnet = s;
      }
      usedSubnets.add(subnet);
      address = subnet.replace(/0\/24$/, "1");
    }
    nodes.set(name, {
      name,
      network: n.network,
      role: n.role,
      address,
      subnet,
      fqdn: `${name.toLowerCase()}.${domain}`,
      ipBatch: [],
    });
  });
  for (const [net, cfg] of Object.entries(t.networks)) {
    if (cfg.dns !== undefined && t.nodes[cfg.dns]?.network !== net)
      throw bad(`.networks.${net}.dns`, `"${cfg.dns}" is not a node of network ${net}: name one of its nodes`);
    if (!names.some((n) => t.nodes[n]!.network === net))
      throw bad(`.networks.${net}`, "has no node: add one or remove it");
  }

  const seen = new Set<string>();
  const links: LinkPlan[] = t.links.map((l, index) => {
    for (const end of ["a", "b"] as const) {
      if (!t.nodes[l[end]]) throw bad(`.links[${index}].${end}`, `"${l[end]}" is not in nodes: add it or fix the name`);
    }
    if (l.a === l.b) throw bad(`.links[${index}]`, "a link joins two different nodes");
    const key = [l.a, l.b].sort().join("\0");
    if (seen.has(key)) throw bad(`.links[${index}]`, `${l.a}–${l.b} is linked twice: keep one link`);
    seen.add(key);
    const base = toInt("198.19.128.0") + 2 * index;
    if (index >= 16384) throw bad(".links", "at most 16384 links");
    return {
      index,
      a: l.a,
      b: l.b,
      dev: `nbl${index}`,
      addressA: ipv4(base),
      addressB: ipv4(base + 1),
      delayAbMs: l.delayMs,
      delayBaMs: l.delayBackMs ?? l.delayMs,
      lossPct: l.lossPct ?? 0,
      rateBps: l.rateBps,
      queuePackets: l.queuePackets ?? 1024,
    };
  });
  if (names.length > 32000) throw bad(".nodes", "at most 32000 nodes");
  for (const name of names) {
    if (!links.some((l) => l.a === name || l.b === name))
      throw bad(`.nodes.${name}`, "has no link: link it to a router");
    const role = t.nodes[name]!.role;
    const degree = links.filter((l) => l.a === name || l.b === name).length;
    if (role !== "router" && degree > 1)
      throw bad(`.nodes.${name}`, `a ${role} node has one link (it does not forward): link it to one router`);
  }

  const nextLink = routes(names, links, new Set(names.filter((n) => t.nodes[n]!.role === "router")));
  for (const name of names) {
    if (nextLink.get(name)!.size !== names.length - 1) {
      const cut = names.find((o) => o !== name && !nextLink.get(name)!.has(o));
      throw bad(".links", `${cut} cannot be reached from ${name}: connect the graph`);
    }
  }
  for (const [name, node] of nodes) node.ipBatch = ipBatch(name, nodes, links, nextLink.get(name)!);
  const dns = new Map<string, DnsPlan>();
  for (const [net, cfg] of Object.entries(t.networks)) {
    const members = names.filter((n) => t.nodes[n]!.network === net);
    const host = cfg.dns ?? members.find((n) => t.nodes[n]!.role === "router") ?? members[0]!;
    dns.set(net, { network: net, domain: cfg.domain, node: host, address: nodes.get(host)!.address, config: [] });
  }
  for (const d of dns.values()) d.config = dnsmasqConfig(d, t, nodes, links, dns);
  return { topology: t, nodes, links, dns, nextLink };
}

/** Every node's shortest-path next hop (a link index) to every other node (Dijkstra; only routers forward). */
function routes(names: string[], links: LinkPlan[], routers: Set<string>): Map<string, Map<string, number>> {
  const out = new Map<string, Map<string, number>>();
  const order = new Map(names.map((n, i) => [n, i]));
  for (const src of names) {
    const dist = new Map<string, [number, number]>([[src, [0, 0]]]);
    const first = new Map<string, number>();
    const done = new Set<string>();
    for (;;) {
      let u: string | undefined;
      for (const [n, d] of dist) {
        if (done.has(n)) continue;
        const du = u === undefined ? undefined : dist.get(u)!;
        if (
          !du ||
          d[0] < du[0] ||
          (d[0] === du[0] && (d[1] < du[1] || (d[1] === du[1] && order.get(n)! < order.get(u!)!)))
        )
          u = n;
      }
      if (u === undefined) break;
      done.add(u);
      const node = u;
      // Hosts (clients, sites) end paths; only the source itself or a router passes packets on.
      if (node !== src && !routers.has(node)) continue;
      const [du, hu] = dist.get(node)!;
      for (const l of links) {
        if (l.a !== node && l.b !== node) continue;
        const v = l.a === node ? l.b : l.a;
        if (done.has(v)) continue;
        const c: [number, number] = [du + (l.delayAbMs + l.delayBaMs) / 2, hu + 1];
        const dv = dist.get(v);
        if (!dv || c[0] < dv[0] || (c[0] === dv[0] && c[1] < dv[1])) {
          dist.set(v, c);
          first.set(v, node === src ? l.index : first.get(node)!);
        }
      }
    }
    first.delete(src);
    out.set(src, first);
  }
  return out;
}

function ipBatch(name: string, nodes: Map<string, NodePlan>, links: LinkPlan[], next: Map<string, number>): string[] {
  const me = nodes.get(name)!;
  const lines = [me.subnet ? `addr add ${me.address}/24 dev lo` : `addr add ${me.address}/32 dev lo`];
  const peers = new Set<string>();
  for (const l of links) {
    if (l.a !== name && l.b !== name) continue;
    const [mine, theirs] = l.a === name ? [l.addressA, l.addressB] : [l.addressB, l.addressA];
    lines.push(`addr add ${mine}/32 peer ${theirs} dev ${l.dev}`);
    peers.add(theirs);
  }
  for (const [dest, index] of next) {
    const l = links[index]!;
    const via = l.a === name ? l.addressB : l.addressA;
    const d = nodes.get(dest)!;
    const prefixes = [d.subnet ?? `${d.address}/32`];
    for (const dl of links) {
      if (dl.a === dest) prefixes.push(`${dl.addressA}/32`);
      if (dl.b === dest) prefixes.push(`${dl.addressB}/32`);
    }
    for (const p of prefixes) {
      if (peers.has(p.replace(/\/32$/, "")) || p === `${via}/32`) continue;
      lines.push(`route add ${p} via ${via} dev ${l.dev} src ${me.address}`);
    }
  }
  return lines;
}

function dnsmasqConfig(
  d: DnsPlan,
  t: Topology,
  nodes: Map<string, NodePlan>,
  links: LinkPlan[],
  all: Map<string, DnsPlan>,
): string[] {
  const lines = [
    "no-resolv",
    "no-hosts",
    "no-poll",
    "port=53",
    `listen-address=${d.address}`,
    "bind-interfaces",
    "pid-file=",
    "log-facility=-",
    // root stays root: a change of credentials would clear the parent-death signal that ties it to the bed
    "user=root",
    "group=root",
    `local=/${d.domain}/`,
  ];
  const addressesOf = (n: NodePlan): string[] => [
    n.address,
    ...links.flatMap((l) => (l.a === n.name ? [l.addressA] : l.b === n.name ? [l.addressB] : [])),
  ];
  for (const n of nodes.values()) {
    const other = n.network !== d.network;
    const owner = all.get(n.network)!;
    if (n.role === "clients") {
      const zone = reverseName(n.address, 3);
      if (other) lines.push(`server=/${zone}/${owner.address}`);
      else {
        lines.push(`local=/${zone}/`);
        if (t.nodes[n.name]!.ptr !== false) lines.push(`synth-domain=${d.domain},${n.subnet},client-`);
      }
      continue;
    }
    for (const a of addressesOf(n)) {
      if (other) lines.push(`server=/${reverseName(a)}/${owner.address}`);
      else if (a !== n.address) lines.push(`ptr-record=${reverseName(a)},${n.fqdn}`);
    }
    if (other) continue;
    lines.push(`host-record=${n.fqdn},${n.address}`); // A, and PTR of its own address
    const iep = t.nodes[n.name]!.iep;
    if (iep) {
      lines.push(`srv-host=_edge._tcp.${d.domain},${n.fqdn},${iep.port},0,0`);
      if (iep.txt?.length) lines.push(`txt-record=${n.fqdn},${iep.txt.map((s) => `"${s}"`).join(",")}`);
    }
  }
  for (const o of all.values()) if (o.network !== d.network) lines.push(`server=/${o.domain}/${o.address}`);
  return lines;
}

/** Validates a site's IEP record (`iep` of a node); throws BAD_TOPOLOGY naming the field. */
export function parseIep(site: string, input: unknown): Iep {
  const r = iepSchema.safeParse(input);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  throw bad(
    `.nodes.${site}.iep${issue.path.map((p) => (typeof p === "number" ? `[${p}]` : `.${p}`)).join("")}`,
    issue.message,
  );
}

/** The dnsmasq configuration of `network` as the plan's topology says now. */
export function dnsmasqConfigOf(plan: Plan, network: string): string[] {
  return dnsmasqConfig(plan.dns.get(network)!, plan.topology, plan.nodes, plan.links, plan.dns);
}

/**
 * The bed's names as BIND lines for a DNS view outside the bed (Netbed.publicRecords): A of every router, PTR of
 * every router's and site's addresses (loopback and link ends) to its host name, and PTR of every address .1–.254 of
 * each client subnet with reverse names, as the network's dnsmasq synthesises them (`client-198-18-1-7.<domain>`).
 * Sites' A records and IEP SRV records are left to the caller: outside the bed a site's name points where its yard's
 * control plane listens.
 */
export function publicRecordsOf(plan: Plan): string[] {
  const lines: string[] = [];
  for (const n of plan.nodes.values()) {
    const domain = plan.topology.networks[n.network]!.domain;
    if (n.role === "clients") {
      if (plan.topology.nodes[n.name]!.ptr === false) continue;
      const base = n.subnet!.replace(/\.0\/24$/, "");
      for (let host = 1; host <= 254; host++)
        lines.push(`${reverseName(`${base}.${host}`)}. PTR client-${base.replaceAll(".", "-")}-${host}.${domain}.`);
      continue;
    }
    if (n.role === "router") lines.push(`${n.fqdn}. A ${n.address}`);
    const addresses = [
      n.address,
      ...plan.links.flatMap((l) => (l.a === n.name ? [l.addressA] : l.b === n.name ? [l.addressB] : [])),
    ];
    for (const a of addresses) lines.push(`${reverseName(a)}. PTR ${n.fqdn}.`);
  }
  return lines;
}

/** The configured one-way delay (ms) from `a` to `b` along the routes the bed installs. */
export function oneWayMs(plan: Plan, a: string, b: string): number {
  let at = a;
  let sum = 0;
  for (let hops = 0; at !== b; hops++) {
    const index = plan.nextLink.get(at)?.get(b);
    if (index === undefined || hops > plan.nodes.size)
      throw new ConfigError("UNKNOWN_NODE", `no route from ${a} to ${b}`);
    const l = plan.links[index]!;
    sum += l.a === at ? l.delayAbMs : l.delayBaMs;
    at = l.a === at ? l.b : l.a;
  }
  return sum;
}
