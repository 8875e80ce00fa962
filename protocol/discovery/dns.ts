/**
 * DNS SRV discovery: an IEP publishes its yards in its own DNS zone; an agent turns the domain into dialable
 * libp2p multiaddrs with the peer id each yard must prove (noise authenticates it, the registry binds it).
 *
 * The records, one set per yard (what {@link zoneRecords} emits for an operator to paste into the zone):
 *
 *   _edge._tcp.<domain>. <ttl> IN SRV <priority> <weight> <port> <host>.
 *   <host>.              <ttl> IN TXT "icon-v=1" "icon-peer=<peer id>"
 *   <host>.              <ttl> IN A <ipv4>            (and/or AAAA; optional here, the yard needs one to be dialled)
 *
 * Rule: the TXT record that names the peer id lives on the SRV *target* name, not on the service name. Several
 * yards under one domain are several SRV records with distinct targets, and each target carries its own TXT,
 * so no TXT syntax has to pair peer ids with targets, and each yard's records can be added or removed alone.
 * Plain DNS and dnsmasq serve TXT at any name, so this works everywhere. Consequences:
 *   - one target name per yard: two yards on one machine get two names (two A records, one address);
 *   - a target whose TXT names more than one distinct peer id is skipped as ambiguous;
 *   - SRV targets are host names (RFC 2782); an IP-literal target found in the wild is still accepted (its TXT is
 *     looked up under that name) and becomes an /ip4 or /ip6 address, but {@link zoneRecords} never emits one.
 * TXT parsing: every character-string of a record is read as whitespace-separated key=value pairs (keys case-
 * insensitive), so `"icon-v=1" "icon-peer=…"` and `"icon-v=1 icon-peer=…"` mean the same. The ICON record is the
 * one holding `icon-peer=`; other TXT records at the name (SPF, verification tokens) are ignored. A missing
 * `icon-v` means version 1; another version is skipped.
 *
 * Order: SRV priority ascending (lower is preferred), then weight descending (RFC 2782 picks higher weights
 * more often; a list has to be deterministic), then host and port. Yards that fail a check are skipped and the
 * reason goes to `onSkip`; an unknown domain (NXDOMAIN) or one without SRV records gives an empty list.
 *
 * Multiaddrs: `/dns4/<host>/tcp/<port>/p2p/<id>` by default, which libp2p resolves with the system resolver
 * when dialling. When the zone is only known to the configured `servers` (a private or test server), pass
 * `resolveHosts: true`: the target's A/AAAA records are fetched from the same servers and the yard gets
 * `/ip4/…` / `/ip6/…` multiaddrs instead.
 *
 * @example
 *   zoneRecords({ domain: "edge.example.com", host: "yard1.edge.example.com", port: 4001, peerId, addresses: ["203.0.113.7"] });
 *   const dns = createResolver({ servers: ["127.0.0.1:5353"], timeoutMs: 2000 });
 *   for (const yard of await dns.discoverYards("edge.example.com", { signal })) await node.dial(multiaddr(yard.multiaddr));
 */
import { Resolver } from "node:dns/promises";
import { isIP, isIPv4, isIPv6 } from "node:net";
import { getBytes, isHexString } from "ethers";
import { multiaddr as parseMultiaddr } from "@multiformats/multiaddr";
import { peerIdFromMultihash, peerIdFromString } from "@libp2p/peer-id";
import type { PeerId } from "@libp2p/interface";
import * as Digest from "multiformats/hashes/digest";
import { ConfigError, IconError, isIconError, type ErrorCode } from "../errors.ts";
import { peerIdBytes } from "../lease/binding.ts";

/** The SRV service label under which IEPs publish their yards. */
export const EDGE_SERVICE = "_edge._tcp";
/** The version of the TXT format this code writes and reads (`icon-v=1`). */
export const ICON_TXT_VERSION = "1";

const DEFAULT_TTL = 300;
const DEFAULT_PRIORITY = 10;
const DEFAULT_WEIGHT = 10;
const DEFAULT_TIMEOUT_MS = 5000;
const DEFAULT_TRIES = 2;

/** One yard's records, input of {@link zoneRecords}. */
export interface ZoneRecordOptions {
  /** The IEP's domain; the SRV record is `_edge._tcp.<domain>.`. */
  domain: string;
  /** The yard's host name, the SRV target (one name per yard). */
  host: string;
  /** The TCP port the yard's libp2p node listens on. */
  port: number;
  /** The yard's peer id: a PeerId, its string (12D3KooW…) or its multihash bytes as 0x-hex (registry form). */
  peerId: PeerId | string;
  /** Seconds; default 300. */
  ttl?: number;
  /** SRV priority, 0..65535, lower is preferred; default 10. */
  priority?: number;
  /** SRV weight, 0..65535, higher is picked more often among equal priorities; default 10. */
  weight?: number;
  /** IPv4/IPv6 addresses of `host`, emitted as A/AAAA records. Leave out when the host already has them. */
  addresses?: string[];
}

/** The SRV name of `domain`: `_edge._tcp.<domain>` (validated, lower case, no trailing dot). */
export function edgeServiceName(domain: string): string {
  return `${EDGE_SERVICE}.${checkDnsName("domain", domain)}`;
}

/**
 * The BIND zone-file lines that publish one yard: SRV at `_edge._tcp.<domain>.`, TXT with the peer id at the
 * target `<host>.`, and A/AAAA for `addresses`. Names are absolute (trailing dot), so the lines paste into any
 * zone. Throws ConfigError naming the field and the fix when an input is invalid.
 */
export function zoneRecords(o: ZoneRecordOptions): string[] {
  const domain = checkDnsName("domain", o.domain);
  if (typeof o.host === "string" && isIP(o.host.replace(/^\[|\]$/g, ""))) {
    throw new ConfigError(
      "BAD_DOMAIN",
      `host "${o.host}" is an IP address, but an SRV target must be a host name (RFC 2782): name the yard, ` +
        `e.g. host: "yard1.${domain}", and pass addresses: ["${o.host}"] to emit its A/AAAA record`,
    );
  }
  const host = checkDnsName("host", o.host);
  const port = checkInteger("port", o.port, 1, 65535, "BAD_PORT", "the TCP port the yard's libp2p node listens on");
  const ttl = checkInteger("ttl", o.ttl ?? DEFAULT_TTL, 0, 2 ** 31 - 1, "BAD_SRV_FIELD", "seconds, e.g. 300");
  const priority = checkInteger("priority", o.priority ?? DEFAULT_PRIORITY, 0, 65535, "BAD_SRV_FIELD", "lower wins");
  const weight = checkInteger("weight", o.weight ?? DEFAULT_WEIGHT, 0, 65535, "BAD_SRV_FIELD", "higher wins");
  const peer = toPeerId(o.peerId);
  const lines = [
    `${EDGE_SERVICE}.${domain}. ${ttl} IN SRV ${priority} ${weight} ${port} ${host}.`,
    `${host}. ${ttl} IN TXT "icon-v=${ICON_TXT_VERSION}" "icon-peer=${peer.toString()}"`,
  ];
  (o.addresses ?? []).forEach((address, i) => {
    const family = isIP(address);
    if (family === 0) {
      throw new ConfigError(
        "BAD_ADDRESS",
        `addresses[${i}] "${address}" is not an IPv4 or IPv6 address; give the yard's public address, e.g. 203.0.113.7`,
      );
    }
    lines.push(`${host}. ${ttl} IN ${family === 4 ? "A" : "AAAA"} ${address}`);
  });
  return lines;
}

/** Options of {@link createResolver}. */
export interface DnsResolverOptions {
  /** DNS servers as "ip", "ip:port" or "[ipv6]:port"; default: the system's (resolv.conf). */
  servers?: string[];
  /** Budget in ms for one whole `discoverYards` call (all its queries); default 5000. */
  timeoutMs?: number;
  /** Tries per query and server within that budget; default 2. */
  tries?: number;
}

/** An SRV record as found, before its checks. */
export interface SrvTarget {
  host: string;
  port: number;
  priority: number;
  weight: number;
}

/** A discovered yard: dial `multiaddr` (or any of `multiaddrs`) and expect the remote peer to be `peerId`. */
export interface DnsYard extends SrvTarget {
  /** The peer id string from the TXT record (12D3KooW…). */
  peerId: string;
  /** The same peer id as 0x-hex multihash bytes: the form the registry listing stores (see peerIdBytes). */
  peerIdBytes: string;
  /** The preferred dialable address, with /p2p/<peerId>. */
  multiaddr: string;
  /** Every dialable address (one unless `resolveHosts` found several A/AAAA records). */
  multiaddrs: string[];
}

/** Options of {@link DnsResolver.discoverYards}. */
export interface DiscoverOptions {
  /** Aborts the lookup; the promise rejects with `signal.reason`. */
  signal?: AbortSignal;
  /** Called for every SRV record that is skipped, with a sentence saying why. */
  onSkip?: (reason: string, record: SrvTarget) => void;
  /** Resolve targets' A/AAAA from the same servers and return /ip4 and /ip6 multiaddrs instead of /dns4. */
  resolveHosts?: boolean;
  /**
   * Check at most this many SRV records (after sorting: the preferred ones), so a zone with thousands of records
   * costs a bounded number of TXT and A/AAAA lookups; default all (the owner's zone is trusted).
   */
  maxRecords?: number;
}

/** A resolver bound to a set of DNS servers. */
export interface DnsResolver {
  /** The servers queried, as "ip:port" strings (the system's when none were configured). */
  readonly servers: readonly string[];
  /** The yards published under `_edge._tcp.<domain>`, sorted by priority then weight. */
  discoverYards(domain: string, options?: DiscoverOptions): Promise<DnsYard[]>;
  /**
   * The domains a client's address points into, to look for IEPs near it (`_edge._tcp.<domain>`): the PTR names
   * of `address`, each without its first label and then each parent with at least two labels, most specific first
   * (`c7.lab.isp.example` → `lab.isp.example`, `isp.example`); at most {@link CLIENT_DOMAIN_LIMITS}. Empty when the
   * address has no PTR record or the server refuses reverse lookups (a private zone's server); DNS_UNREACHABLE when
   * no server answers. The names come from whoever runs the client's reverse zone: treat them as untrusted.
   */
  clientDomains(address: string, options?: { signal?: AbortSignal }): Promise<string[]>;
  /**
   * The PTR names of `address` (lower case, without the trailing dot), only those that are valid host names of at
   * least two labels, at most `max` (default {@link CLIENT_DOMAIN_LIMITS}.names) however many the answer holds.
   * Empty when there is no PTR record or the server refuses reverse lookups; DNS_UNREACHABLE when no server answers.
   * Untrusted like `clientDomains`.
   */
  ptrNames(address: string, options?: { signal?: AbortSignal; max?: number }): Promise<string[]>;
}

/**
 * A DNS resolver for yard discovery on `servers` (or the system's). Lookups fail with IconError code
 * DNS_UNREACHABLE when no server answers within `timeoutMs`, and DNS_FAILED when a server answers with an error
 * (SERVFAIL, REFUSED, …); a missing domain is not an error.
 */
export function createResolver(o: DnsResolverOptions = {}): DnsResolver {
  const timeoutMs = checkInteger("timeoutMs", o.timeoutMs ?? DEFAULT_TIMEOUT_MS, 1, 600_000, "BAD_DNS_OPTION", "ms");
  const tries = checkInteger("tries", o.tries ?? DEFAULT_TRIES, 1, 10, "BAD_DNS_OPTION", "e.g. 2");
  let configured: string[] | undefined;
  if (o.servers !== undefined) {
    if (!Array.isArray(o.servers) || o.servers.length === 0) {
      throw new ConfigError(
        "BAD_DNS_SERVER",
        `servers is empty: leave it out to use the system's DNS servers, or list some, e.g. ["127.0.0.1:5353"]`,
      );
    }
    configured = o.servers.map((s, i) => checkServer(`servers[${i}]`, s));
  }
  // c-ares gives each try `perTry` ms (maxTimeout stops it from doubling); the whole call is also capped below.
  const perTry = Math.max(1, Math.floor(timeoutMs / tries));
  const make = (): Resolver => {
    const r = new Resolver({ timeout: perTry, tries, maxTimeout: perTry });
    if (configured) r.setServers(configured);
    return r;
  };
  const servers = Object.freeze(make().getServers());

  /** Runs `run` with a fresh resolver under the whole-call budget and the caller's signal. */
  async function budgeted<T>(
    name: string,
    signal: AbortSignal | undefined,
    run: (c: Context) => Promise<T>,
  ): Promise<T> {
    signal?.throwIfAborted();
    const resolver = make();
    const context = { resolver, servers, timeoutMs, tries };
    const work = run(context);
    work.catch(() => {}); // once the guard below wins, `work` rejects with ECANCELLED: nobody listens anymore
    let stop = (): void => {};
    const guard = new Promise<never>((_, reject) => {
      const timer = setTimeout(() => {
        resolver.cancel();
        reject(unreachable(context, name, `no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      const onAbort = (): void => {
        resolver.cancel();
        reject(signal!.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      stop = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
      };
    });
    try {
      return await Promise.race([work, guard]);
    } finally {
      stop();
      resolver.cancel(); // queries of skipped or failed siblings still in flight
    }
  }

  async function discoverYards(domain: string, options: DiscoverOptions = {}): Promise<DnsYard[]> {
    const name = edgeServiceName(domain);
    return budgeted(name, options.signal, (c) => discover(c, name, options));
  }

  async function ptrNames(address: string, options: { signal?: AbortSignal; max?: number } = {}): Promise<string[]> {
    if (isIP(address) === 0)
      throw new ConfigError("BAD_ADDRESS", `${JSON.stringify(address)} is not an IP address to look up (PTR)`);
    const max = options.max ?? CLIENT_DOMAIN_LIMITS.names;
    const what = `PTR ${address}`;
    return budgeted(what, options.signal, async (c) => {
      let names: string[];
      try {
        // resolvePtr on the arpa name, not reverse(): c-ares's reverse() says ENOTFOUND for an unreachable server.
        names = (await query(c, what, () => c.resolver.resolvePtr(reverseName(address)))) ?? [];
      } catch (e) {
        if (isIconError(e, "DNS_FAILED")) return []; // REFUSED/SERVFAIL: no reverse zone there
        throw e;
      }
      const out: string[] = [];
      for (const raw of names) {
        if (out.length >= max) break;
        const name = hostName(raw);
        if (name !== undefined && !out.includes(name)) out.push(name);
      }
      return out;
    });
  }

  async function clientDomains(address: string, options: { signal?: AbortSignal } = {}): Promise<string[]> {
    return domainsOf(await ptrNames(address, { ...options, max: CLIENT_DOMAIN_LIMITS.names }));
  }

  return { servers, discoverYards, clientDomains, ptrNames };
}

/** The PTR name of an address: `4.3.2.1.in-addr.arpa`, or the 32 nibbles of an IPv6 address under `ip6.arpa`. */
export function reverseName(address: string): string {
  if (isIPv4(address)) return `${address.split(".").reverse().join(".")}.in-addr.arpa`;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  if (mapped) return reverseName(mapped);
  const bare = address.replace(/%.*$/, "");
  if (!isIPv6(bare) || bare.includes("."))
    throw new ConfigError("BAD_ADDRESS", `${JSON.stringify(address)} is not an IP address to look up (PTR)`);
  const [head, tail] = bare.toLowerCase().split("::") as [string, string | undefined];
  const groups = (s: string | undefined) => (s ? s.split(":") : []);
  const h = groups(head);
  const t = groups(tail);
  const all = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill("0"), ...t];
  const hex = all.map((g) => g.padStart(4, "0")).join("");
  return `${[...hex].reverse().join(".")}.ip6.arpa`;
}

/** Bounds on what one client's PTR answer can make an agent look up (the answer is not trusted). */
export const CLIENT_DOMAIN_LIMITS = { names: 2, domainsPerName: 3 } as const;

/**
 * Parent domains (≥ 2 labels, valid host names) of the first {@link CLIENT_DOMAIN_LIMITS}.names names, at most
 * `domainsPerName` each, without the name itself, most specific first, each once.
 */
export function domainsOf(names: string[]): string[] {
  const out = new Set<string>();
  for (const raw of names.slice(0, CLIENT_DOMAIN_LIMITS.names)) {
    let name: string;
    try {
      name = checkDnsName("name", raw);
    } catch {
      continue;
    }
    const labels = name.split(".");
    for (let i = 1; labels.length - i >= 2 && i <= CLIENT_DOMAIN_LIMITS.domainsPerName; i++)
      out.add(labels.slice(i).join("."));
  }
  return [...out];
}

interface Context {
  resolver: Resolver;
  servers: readonly string[];
  timeoutMs: number;
  tries: number;
}

async function discover(c: Context, name: string, o: DiscoverOptions): Promise<DnsYard[]> {
  const all = (await query(c, `SRV ${name}`, () => c.resolver.resolveSrv(name))) ?? [];
  const records =
    o.maxRecords === undefined || all.length <= o.maxRecords
      ? all
      : all
          .sort((a, b) => a.priority - b.priority || b.weight - a.weight || (a.name < b.name ? -1 : 1))
          .slice(0, Math.max(0, o.maxRecords));
  const found = await Promise.all(
    records.map(async (r): Promise<DnsYard | undefined> => {
      const target: SrvTarget = {
        host: r.name.replace(/\.$/, "").toLowerCase(),
        port: r.port,
        priority: r.priority,
        weight: r.weight,
      };
      const skip = (reason: string): undefined => {
        o.onSkip?.(`${name} → ${target.host || "."}:${target.port}: ${reason}`, target);
        return undefined;
      };
      if (target.host === "") return skip(`the target "." says the domain offers no ${EDGE_SERVICE} service`);
      if (target.port === 0) return skip("port 0 cannot be dialled");
      const txt = await query(c, `TXT ${target.host}`, () => c.resolver.resolveTxt(target.host));
      const read = readIconTxt(txt ?? [], target.host);
      if ("reason" in read) return skip(read.reason);
      const bare = target.host.replace(/^\[|\]$/g, "");
      let addresses: string[];
      if (isIP(bare)) addresses = [bare];
      else if (!o.resolveHosts) addresses = [];
      else {
        const [v4, v6] = await Promise.all([
          query(c, `A ${target.host}`, () => c.resolver.resolve4(target.host)),
          query(c, `AAAA ${target.host}`, () => c.resolver.resolve6(target.host)),
        ]);
        addresses = [...(v4 ?? []), ...(v6 ?? [])];
        if (addresses.length === 0) return skip(`${target.host} has no A or AAAA record to dial`);
      }
      const suffix = `/tcp/${target.port}/p2p/${read.peer.toString()}`;
      const multiaddrs = (
        addresses.length === 0
          ? [`/dns4/${target.host}${suffix}`]
          : addresses.map((a) => `/${isIPv4(a) ? "ip4" : "ip6"}/${a}${suffix}`)
      ).map((m) => parseMultiaddr(m).toString());
      return {
        ...target,
        peerId: read.peer.toString(),
        peerIdBytes: peerIdBytes(read.peer),
        multiaddr: multiaddrs[0],
        multiaddrs,
      };
    }),
  );
  return found
    .filter((y): y is DnsYard => y !== undefined)
    .sort(
      (a, b) =>
        a.priority - b.priority ||
        b.weight - a.weight ||
        (a.host < b.host ? -1 : a.host > b.host ? 1 : 0) ||
        a.port - b.port,
    );
}

/** Runs one query; "no such name" and "no such record" are `undefined`, other failures typed errors. */
async function query<T>(c: Context, what: string, run: () => Promise<T>): Promise<T | undefined> {
  try {
    return await run();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOTFOUND" || code === "ENODATA") return undefined;
    if (code === "ECANCELLED") throw e; // the deadline or the signal cancelled it and already settled the call
    if (code === "ETIMEOUT") throw unreachable(c, what, `no answer within ${c.timeoutMs} ms`, e);
    if (code === "ECONNREFUSED") throw unreachable(c, what, "the connection was refused (nothing listens there)", e);
    const answer = code === "ESERVFAIL" ? "SERVFAIL" : code === "EREFUSED" ? "REFUSED" : (code ?? "an error");
    throw new IconError(
      "DNS_FAILED",
      `DNS ${serverWord(c)} answered ${answer} to ${what}: it neither serves that zone nor ` +
        `forwards to one that does; point the resolver's servers at a DNS server for the domain`,
      { details: { servers: [...c.servers], query: what, code }, cause: e },
    );
  }
}

function unreachable(c: Context, what: string, why: string, cause?: unknown): IconError {
  return new IconError(
    "DNS_UNREACHABLE",
    `DNS ${serverWord(c)} could not be reached for ${what}: ${why} (${c.tries} tries, ${c.timeoutMs} ms budget); ` +
      `check that the server runs and listens on that address and port`,
    { details: { servers: [...c.servers], query: what }, cause },
  );
}

/** "server 127.0.0.1:53" or "servers 10.0.0.1:53, 10.0.0.2:53". */
function serverWord(c: Context): string {
  if (c.servers.length === 0) return "server (none configured in resolv.conf)";
  return `${c.servers.length === 1 ? "server" : "servers"} ${c.servers.join(", ")}`;
}

/** Finds the one peer id in the TXT records at `host`, or says why there is none. */
function readIconTxt(records: string[][], host: string): { peer: PeerId } | { reason: string } {
  const fix = `publish ${host}. IN TXT "icon-v=${ICON_TXT_VERSION}" "icon-peer=<peer id>"`;
  if (records.length === 0) return { reason: `${host} has no TXT record; ${fix}` };
  const ids = new Set<string>();
  const versions = new Set<string>();
  for (const record of records) {
    const pairs = record.flatMap((chunk) => chunk.split(/\s+/)).filter((t) => t !== "");
    const values = (key: string): string[] =>
      pairs.filter((p) => p.toLowerCase().startsWith(`${key}=`)).map((p) => p.slice(key.length + 1));
    const peers = values("icon-peer");
    if (peers.length === 0) continue;
    const version = values("icon-v")[0] ?? ICON_TXT_VERSION;
    if (version !== ICON_TXT_VERSION) {
      versions.add(version);
      continue;
    }
    peers.forEach((p) => ids.add(p));
  }
  if (ids.size === 0) {
    return versions.size > 0
      ? { reason: `${host}'s TXT record is icon-v=${[...versions].join(",")}, this code reads icon-v=1` }
      : { reason: `${host} has TXT records but none with "icon-peer=<peer id>"; ${fix}` };
  }
  if (ids.size > 1) {
    return {
      reason: `${host}'s TXT names ${ids.size} peer ids (${[...ids].join(", ")}); a target name must belong to one yard`,
    };
  }
  const [text] = ids;
  try {
    const peer = peerIdFromString(text);
    if (peer.type === "url") throw new Error("a URL peer id cannot be dialled");
    return { peer };
  } catch (e) {
    return { reason: `icon-peer="${text}" at ${host} is not a libp2p peer id (${(e as Error).message})` };
  }
}

/** A PeerId from a PeerId, its string form or its 0x-hex multihash bytes. */
function toPeerId(value: PeerId | string): PeerId {
  if (typeof value !== "string") {
    if (value && typeof value.toMultihash === "function") return value;
  } else {
    try {
      const peer = isHexString(value) ? peerIdFromMultihash(Digest.decode(getBytes(value))) : peerIdFromString(value);
      if (peer.type !== "url") return peer;
    } catch {
      // reported below
    }
  }
  throw new ConfigError(
    "BAD_PEER_ID",
    `peerId "${String(value)}" is not a libp2p peer id: pass the yard's PeerId (node.peerId), its string ` +
      `(12D3KooW…) or its multihash bytes as 0x-hex as stored in the registry listing`,
  );
}

/** `raw` as a valid host name of two labels or more (lower case, no trailing dot), or undefined. */
export function hostName(raw: string): string | undefined {
  try {
    return checkDnsName("name", raw);
  } catch {
    return undefined;
  }
}

/** A host name per RFC 1123, fully qualified: lower case, without the trailing dot. */
function checkDnsName(field: string, value: unknown): string {
  const fail = (why: string): never => {
    throw new ConfigError(
      "BAD_DOMAIN",
      `${field} "${String(value)}" ${why}; give a fully qualified host name such as ${
        field === "host" ? "yard1.edge.example.com" : "edge.example.com"
      }`,
    );
  };
  if (typeof value !== "string" || value.trim() === "") return fail("is empty");
  const name = value.trim().replace(/\.$/, "").toLowerCase();
  if (/[^\x20-\x7e]/.test(name))
    return fail("has non-ASCII characters (write internationalised names as xn-- punycode)");
  if (name.length > 253) return fail(`is ${name.length} characters long, DNS allows 253`);
  const labels = name.split(".");
  if (labels.length < 2) return fail("is a single label");
  for (const label of labels) {
    if (label === "") return fail("has an empty label (two dots in a row, or a leading dot)");
    if (label.length > 63) return fail(`has the label "${label}" of ${label.length} characters, DNS allows 63`);
    if (!/^[a-z0-9-]+$/.test(label)) return fail(`has the label "${label}": use only letters, digits and '-'`);
    if (label.startsWith("-") || label.endsWith("-")) return fail(`has the label "${label}" starting or ending in '-'`);
  }
  if (/^[0-9]+$/.test(labels[labels.length - 1])) return fail("ends in a numeric label (it looks like an IP address)");
  return name;
}

function checkInteger(field: string, value: unknown, min: number, max: number, code: ErrorCode, hint: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(code, `${field} is ${String(value)} but must be an integer from ${min} to ${max} (${hint})`);
  }
  return value;
}

/** "ip", "ip:port", "[ipv6]" or "[ipv6]:port" → the form Resolver.setServers takes. */
function checkServer(field: string, value: unknown): string {
  const fail = (why: string): never => {
    throw new ConfigError(
      "BAD_DNS_SERVER",
      `${field} "${String(value)}" ${why}; write a DNS server as an IP address with an optional port, ` +
        `e.g. "127.0.0.1:5353", "10.0.0.2" or "[::1]:53"`,
    );
  };
  if (typeof value !== "string") return fail("is not a string");
  const text = value.trim();
  let host = text;
  let port: string | undefined;
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  const v4 = /^([^:]+):(\d+)$/.exec(text);
  if (v6) [, host, port] = v6;
  else if (v4) [, host, port] = v4;
  if (!isIPv4(host) && !isIPv6(host)) return fail("is not an IP address (host names cannot be used here)");
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) return fail("has a port outside 1..65535");
  const p = port ?? "53";
  return isIPv6(host) ? `[${host}]:${p}` : `${host}:${p}`;
}
