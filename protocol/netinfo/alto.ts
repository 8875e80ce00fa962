/**
 * Network information in the ALTO format (RFC 7285): a network map groups addresses into PIDs (provider-defined
 * identifiers), a cost map gives the cost between PIDs. ICONs use it to estimate the latency l_ij from a client
 * subnet i to a candidate yard j that does not serve the subnet yet (the yard that does serve it measures l_ij
 * itself, see yard-node/overlay/flows.ts).
 *
 * The map is an optional input: ICONs measure l_ij themselves where they can (icon-agent/observation.ts: the
 * yard's kernel round trip at their own site, a candidate's signed round trip), use the map elsewhere, and report
 * when a measurement and the map disagree; the demo runs with no ALTO server. What a map adds: clients do not
 * answer probes in general, a probe from a yard measures the yard→client direction of a path the client's traffic
 * may not take, and a network operator knows its path costs, which is what ALTO is for.
 *
 * Served resources (RFC 7285 §9, §11.2): the information resource directory at `/`
 * (application/alto-directory+json), the network map at `/networkmap` (application/alto-networkmap+json) and a
 * cost map at `/costmap` (application/alto-costmap+json, cost mode numerical, metric `delay-ow` in ms as in
 * RFC 8896, or `routingcost`).
 *
 * @example
 *   const map = await fetchAltoMap("http://127.0.0.1:8181");
 *   map.cost("10.1.0.7", "127.0.0.3");  // → 40 (ms), or undefined when either address is in no PID
 */
import http from "node:http";
import { isIPv4, isIPv6 } from "node:net";
import { ConfigError, IconError } from "../errors.ts";

export const ALTO_MEDIA = {
  directory: "application/alto-directory+json",
  networkMap: "application/alto-networkmap+json",
  costMap: "application/alto-costmap+json",
  error: "application/alto-error+json",
} as const;

/** A network map: PID → address prefixes. */
export interface NetworkMap {
  meta: { vtag: { "resource-id": string; tag: string } };
  "network-map": Record<string, { ipv4?: string[]; ipv6?: string[] }>;
}

/** A cost map: source PID → destination PID → cost. */
export interface CostMap {
  meta: {
    "dependent-vtags": { "resource-id": string; tag: string }[];
    "cost-type": { "cost-mode": "numerical" | "ordinal"; "cost-metric": string };
  };
  "cost-map": Record<string, Record<string, number>>;
}

const PID_RE = /^[A-Za-z0-9\-:@_.]{1,64}$/; // RFC 7285 §10.1 PIDName characters, bounded length

function bad(field: string, fix: string): ConfigError {
  return new ConfigError("BAD_ALTO_MAP", `${field}: ${fix}`);
}

interface Prefix {
  family: 4 | 6;
  bits: number;
  value: bigint;
  pid: string;
}

function toBig(ip: string): { family: 4 | 6; value: bigint } | undefined {
  const addr = ip.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/i, "$1");
  if (isIPv4(addr)) return { family: 4, value: addr.split(".").reduce((a, o) => (a << 8n) | BigInt(Number(o)), 0n) };
  if (isIPv6(addr)) {
    const [h, t] = addr.split("::") as [string, string | undefined];
    const hs = h ? h.split(":") : [];
    const ts = t ? t.split(":") : [];
    if (addr.includes(".")) return undefined; // embedded IPv4 forms are not used in maps
    const groups = t === undefined ? hs : [...hs, ...Array(8 - hs.length - ts.length).fill("0"), ...ts];
    if (groups.length !== 8) return undefined;
    return { family: 6, value: groups.reduce((a, g) => (a << 16n) | BigInt(parseInt(g || "0", 16)), 0n) };
  }
  return undefined;
}

function parsePrefix(text: string, pid: string, field: string): Prefix {
  const [ip, len] = text.split("/");
  const v = ip ? toBig(ip) : undefined;
  const max = v?.family === 4 ? 32 : 128;
  const bits = Number(len);
  if (!v || !/^\d{1,3}$/.test(len ?? "") || bits > max)
    throw bad(field, `"${text}" is not an address prefix like 10.1.0.0/24 or 2001:db8::/48`);
  const mask = bits === 0 ? 0n : ((1n << BigInt(bits)) - 1n) << BigInt(max - bits);
  return { family: v.family, bits, value: v.value & mask, pid };
}

/** A validated network map and cost map, with lookups. */
export class AltoMap {
  readonly network: NetworkMap;
  readonly costs: CostMap;
  readonly #prefixes: Prefix[];

  constructor(network: NetworkMap, costs: CostMap) {
    this.network = network;
    this.costs = costs;
    this.#prefixes = AltoMap.validate(network, costs);
  }

  /** Checks both maps (names, prefixes, numbers, the cost map's dependency on this network map). */
  static validate(network: NetworkMap, costs: CostMap): Prefix[] {
    const tag = network?.meta?.vtag;
    if (!tag || typeof tag["resource-id"] !== "string" || typeof tag.tag !== "string")
      throw bad("network map meta.vtag", 'give {"resource-id": "...", "tag": "..."}');
    const pids = network["network-map"];
    if (!pids || typeof pids !== "object") throw bad("network-map", "must map PID names to address prefixes");
    const prefixes: Prefix[] = [];
    for (const [pid, addrs] of Object.entries(pids)) {
      if (!PID_RE.test(pid)) throw bad(`network-map.${pid}`, "PID names use letters, digits and -:@_. (≤ 64)");
      for (const fam of ["ipv4", "ipv6"] as const) {
        for (const [i, p] of (addrs[fam] ?? []).entries()) {
          const x = parsePrefix(p, pid, `network-map.${pid}.${fam}[${i}]`);
          if ((fam === "ipv4") !== (x.family === 4))
            throw bad(`network-map.${pid}.${fam}[${i}]`, `"${p}" is not ${fam}`);
          prefixes.push(x);
        }
      }
    }
    const dep = costs?.meta?.["dependent-vtags"]?.[0];
    if (!dep || dep["resource-id"] !== tag["resource-id"] || dep.tag !== tag.tag)
      throw bad(
        "cost map meta.dependent-vtags",
        "must name the network map's resource-id and tag (RFC 7285 §11.2.3.6)",
      );
    const ct = costs.meta["cost-type"];
    if (!ct || ct["cost-mode"] !== "numerical") throw bad("cost map meta.cost-type", 'use "cost-mode": "numerical"');
    for (const [src, row] of Object.entries(costs["cost-map"] ?? {})) {
      if (!(src in pids)) throw bad(`cost-map.${src}`, "is not a PID of the network map");
      for (const [dst, c] of Object.entries(row)) {
        if (!(dst in pids)) throw bad(`cost-map.${src}.${dst}`, "is not a PID of the network map");
        if (typeof c !== "number" || !Number.isFinite(c) || c < 0)
          throw bad(`cost-map.${src}.${dst}`, "costs are finite numbers ≥ 0");
      }
    }
    return prefixes.sort((a, b) => b.bits - a.bits);
  }

  /** The PID of `ip` by longest-prefix match, if any. */
  pidOf(ip: string): string | undefined {
    const v = toBig(ip);
    if (!v) return undefined;
    const max = v.family === 4 ? 32 : 128;
    for (const p of this.#prefixes) {
      if (p.family !== v.family) continue;
      const mask = p.bits === 0 ? 0n : ((1n << BigInt(p.bits)) - 1n) << BigInt(max - p.bits);
      if ((v.value & mask) === p.value) return p.pid;
    }
    return undefined;
  }

  /** Cost from the PID of `from` to the PID of `to` (ms for delay metrics); undefined when unknown. */
  cost(from: string, to: string): number | undefined {
    const a = this.pidOf(from);
    const b = this.pidOf(to);
    if (!a || !b) return undefined;
    return this.costs["cost-map"][a]?.[b];
  }

  /** Cost between two PIDs by name. */
  pidCost(from: string, to: string): number | undefined {
    return this.costs["cost-map"][from]?.[to];
  }
}

/**
 * `uri` (from an ALTO directory) against `base`: a path is taken below base's own path, so a server reached under a
 * prefix (an agent gateway's `/alto`) keeps it; a full URL is used as it is.
 */
export function altoUri(base: string, uri: string): string {
  return uri.startsWith("/") ? `${base.replace(/\/+$/, "")}${uri}` : new URL(uri, base).toString();
}

/** Fetches the network map and cost map from an ALTO server's directory at `base`. */
export async function fetchAltoMap(base: string, signal: AbortSignal = AbortSignal.timeout(5000)): Promise<AltoMap> {
  const get = async <T>(path: string, media: string): Promise<T> => {
    let res: Response;
    try {
      res = await fetch(altoUri(base, path), { headers: { accept: media }, signal });
    } catch (e) {
      throw new IconError("ALTO_UNREACHABLE", `no ALTO server answers at ${base}: ${(e as Error).message}`);
    }
    if (!res.ok) throw new IconError("ALTO_FAILED", `${path} at ${base} answered HTTP ${res.status}`);
    const type = res.headers.get("content-type") ?? "";
    if (!type.startsWith(media)) throw new IconError("ALTO_FAILED", `${path} at ${base} is ${type}, not ${media}`);
    return (await res.json()) as T;
  };
  const dir = await get<{ resources: Record<string, { uri: string; "media-type": string }> }>(
    "/",
    ALTO_MEDIA.directory,
  );
  const nm = Object.values(dir.resources ?? {}).find((r) => r["media-type"] === ALTO_MEDIA.networkMap);
  const cm = Object.values(dir.resources ?? {}).find((r) => r["media-type"] === ALTO_MEDIA.costMap);
  if (!nm || !cm) throw new IconError("ALTO_FAILED", `the directory at ${base} lists no network map and cost map`);
  return new AltoMap(
    await get<NetworkMap>(nm.uri, ALTO_MEDIA.networkMap),
    await get<CostMap>(cm.uri, ALTO_MEDIA.costMap),
  );
}

/** Serves `map` as an ALTO information resource directory, network map and cost map on host:port. */
export async function serveAlto(
  map: AltoMap | (() => AltoMap),
  host = "127.0.0.1",
  port = 0,
): Promise<{ url: string; close(): Promise<void> }> {
  const current = (): AltoMap => (typeof map === "function" ? map() : map);
  const server = http.createServer((req, res) => {
    const send = (status: number, media: string, body: unknown): void => {
      res.writeHead(status, { "content-type": media, "cache-control": "no-store" }).end(JSON.stringify(body));
    };
    if (req.method !== "GET") {
      send(405, ALTO_MEDIA.error, { meta: { code: "E_INVALID_FIELD_VALUE" } });
      return;
    }
    const m = current();
    switch ((req.url ?? "/").split("?")[0]) {
      case "/":
        send(200, ALTO_MEDIA.directory, {
          meta: { "cost-types": { delay: m.costs.meta["cost-type"] } },
          resources: {
            "icon-networkmap": { uri: "/networkmap", "media-type": ALTO_MEDIA.networkMap },
            "icon-costmap": {
              uri: "/costmap",
              "media-type": ALTO_MEDIA.costMap,
              capabilities: { "cost-type-names": ["delay"] },
              uses: ["icon-networkmap"],
            },
          },
        });
        return;
      case "/networkmap":
        send(200, ALTO_MEDIA.networkMap, m.network);
        return;
      case "/costmap":
        send(200, ALTO_MEDIA.costMap, m.costs);
        return;
      default:
        send(404, ALTO_MEDIA.error, { meta: { code: "E_INVALID_FIELD_VALUE", field: "uri" } });
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const a = server.address() as { port: number };
  return {
    url: `http://${host}:${a.port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
