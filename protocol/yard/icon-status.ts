/**
 * What only the ICONs know, as their yards serve it to the app's owner: an ICON's status report (its policy version
 * in force, per client subnet the request rate and latency, its last decisions with their utility numbers), pushed
 * by its sidecar to its yard's agent gateway (`POST /status`), kept there in memory (the latest per lease) and
 * served at the yard's `GET /icons` only to a read grant signed by the app's owner or a controller of one of its
 * accounts, and only at the yard the grant names (its operator's address, `GET /icons/yard`) (PROTOCOL.md "ICON status").
 * Browser-safe (the owner console signs the grant with the same types).
 *
 * @example
 *   const { operator } = await (await fetch(`${yardHttp}/icons/yard`)).json();
 *   const grant = { app: 1n, yard: operator, reader: owner.address, expiry: BigInt(now + 600) };
 *   const sig = await owner.signTypedData(marketDomain(chainId, market), STATUS_GRANT_TYPES, grant);
 *   await fetch(`${yardHttp}/icons?${statusGrantQuery(grant, sig)}`);
 */

/** Bounds both sides know. */
export const iconStatusLimits = {
  /** Largest report body a sidecar may push (bytes). */
  maxBytes: 16 * 1024,
  /** Client subnets in one report (the busiest first). */
  maxSubnets: 32,
  /** Decisions in one report (the newest). */
  maxDecisions: 16,
  /** Longest text (a name, a subnet, a decision's words). */
  maxText: 200,
  /** Pushes per second per lease kept over time, and the burst. */
  pushesPerSecond: 1,
  pushBurst: 5,
  /** Longest validity of a read grant (seconds after the yard's clock). */
  maxGrantS: 3600,
} as const;

/** One client subnet as the ICON measures it (EWMA of the latency it observes). */
export interface SubnetReport {
  subnet: string;
  ratePerS: number;
  latencyMs: number | null;
}

/** One decision of the ICON: its words, the utility of staying (`u`) and of the chosen move (`uBest`), and per
 * client subnet the latency before the move and the latency measured after it (null until measured). */
export interface DecisionReport {
  atMs: number;
  text: string;
  u: number | null;
  uBest: number | null;
  latency: { subnet: string; beforeMs: number | null; afterMs: number | null }[];
}

/** An ICON's report (pushed by its sidecar). */
export interface IconStatusReport {
  name: string;
  /** Its budget account (decimal string). */
  account: string;
  /** The instance of the ICON in this lease (a handover starts the next). */
  instance: number;
  /** The app policy's version the ICON acts under. */
  policyVersion: number;
  atMs: number;
  subnets: SubnetReport[];
  decisions: DecisionReport[];
}

/** A report as the yard serves it: what the yard knows (lease, yard, when it came) around what the ICON said. */
export interface ServedIconStatus {
  leaseId: string;
  yardId: string;
  /** The lease's budget account, from the yard's own record (not the ICON's word). */
  leaseAccount: string;
  receivedAtMs: number;
  report: IconStatusReport;
}

/** `GET /icons`'s answer. */
export interface IconStatusAnswer {
  yardId: string;
  app: string;
  icons: ServedIconStatus[];
}

/** A read grant: `reader` may read the ICON status of application `app` at the yard whose operator is `yard` (the
 * address of the key its listing on chain is bound to) until `expiry` (unix seconds). Any other yard refuses it. */
export interface StatusGrant {
  app: bigint;
  yard: string;
  reader: string;
  expiry: bigint;
}

/** EIP-712 types of a read grant (primary type `StatusGrant`), signed in the market's domain (chain id, market). */
export const STATUS_GRANT_TYPES = {
  StatusGrant: [
    { name: "app", type: "uint64" },
    { name: "yard", type: "address" },
    { name: "reader", type: "address" },
    { name: "expiry", type: "uint64" },
  ],
};

/** What a yard says of itself at `GET /icons/yard`: the operator address its read grants must name. */
export interface YardIdentity {
  yardId: string;
  operator: string;
}

/** The query string naming a grant and its signature (`app`, `yard`, `reader`, `expiry`, `sig`). */
export function statusGrantQuery(g: StatusGrant, signature: string): string {
  return new URLSearchParams({
    app: g.app.toString(),
    yard: g.yard,
    reader: g.reader,
    expiry: g.expiry.toString(),
    sig: signature,
  }).toString();
}

/** The grant and signature of a query, or the sentence saying what is missing or malformed. */
export function parseStatusGrantQuery(q: URLSearchParams): { grant: StatusGrant; signature: string } | string {
  const [app, yard, reader, expiry, sig] = ["app", "yard", "reader", "expiry", "sig"].map((k) => q.get(k) ?? "");
  if (!/^[0-9]{1,19}$/.test(app!)) return "app must be an application id (its root account)";
  if (!/^0x[0-9a-fA-F]{40}$/.test(yard!)) return "yard must be the address of the yard's operator";
  if (!/^0x[0-9a-fA-F]{40}$/.test(reader!)) return "reader must be an address";
  if (!/^[0-9]{1,12}$/.test(expiry!)) return "expiry must be unix seconds";
  if (!/^0x[0-9a-fA-F]{130}$/.test(sig!)) return "sig must be a 65-byte signature in hex";
  return { grant: { app: BigInt(app!), yard: yard!, reader: reader!, expiry: BigInt(expiry!) }, signature: sig! };
}

/** Longest yard URL a grant of the owner console's `GET /icons` may be bound to. */
const MAX_YARD_URL = 512;

/** A grant bound to the yard URL its words name (the owner console's `GET /icons`): that yard only is passed it. */
export interface BoundStatusGrant {
  /** The yard's HTTP URL as the console lists it (`GET /yards`). */
  url: string;
  grant: StatusGrant;
  signature: string;
}

/** Grants for several yards in one query (the owner console's `GET /icons`): per yard a `grant` parameter, the
 * grant's own query ({@link statusGrantQuery}) with `url`, the yard URL it was signed for. */
export function statusGrantsQuery(grants: readonly { url: string; query: string }[]): string {
  return new URLSearchParams(
    grants.map((g): [string, string] => ["grant", `${g.query}&${new URLSearchParams({ url: g.url }).toString()}`]),
  ).toString();
}

/** The grants of a {@link statusGrantsQuery} (at most `max`, one per yard URL), or the sentence naming the first that
 * is malformed. */
export function parseStatusGrantsQuery(q: URLSearchParams, max: number): BoundStatusGrant[] | string {
  const all = q.getAll("grant");
  if (all.length === 0) return "no grant given";
  if (all.length > max) return `at most ${max} grants (one per yard)`;
  const out: BoundStatusGrant[] = [];
  for (const [i, g] of all.entries()) {
    const p = new URLSearchParams(g);
    const url = p.get("url") ?? "";
    if (!/^https?:\/\/[^\s]+$/.test(url) || url.length > MAX_YARD_URL)
      return `grant ${i + 1}: url must be the yard's HTTP URL the grant was signed for`;
    if (out.some((o) => o.url === url)) return `grant ${i + 1}: a second grant for ${url} (one per yard)`;
    const r = parseStatusGrantQuery(p);
    if (typeof r === "string") return `grant ${i + 1}: ${r}`;
    out.push({ url, ...r });
  }
  return out;
}

// ------------------------------------------------------------------------------------------------ validation

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const num = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);
const numOrNull = (v: unknown): v is number | null => v === null || (num(v) && v >= 0);
/** Text within the length bound and without control characters (shown to owners as it is). */
const text = (v: unknown): v is string =>
  typeof v === "string" && v.length <= iconStatusLimits.maxText && ![...v].some((c) => c.charCodeAt(0) < 0x20);

/** Fails unless `o` has exactly the keys `keys`. */
function exactKeys(o: Obj, keys: string[], what: string): string | undefined {
  const extra = Object.keys(o).filter((k) => !keys.includes(k));
  if (extra.length) return `${what} has an unknown field "${extra[0]!.slice(0, 32)}"`;
  const missing = keys.filter((k) => !(k in o));
  if (missing.length) return `${what} lacks "${missing[0]}"`;
  return undefined;
}

function subnet(v: unknown, i: number): SubnetReport | string {
  const w = `subnets[${i}]`;
  if (!isObj(v)) return `${w} is not an object`;
  const bad = exactKeys(v, ["subnet", "ratePerS", "latencyMs"], w);
  if (bad) return bad;
  if (!text(v.subnet) || !num(v.ratePerS) || v.ratePerS < 0 || !numOrNull(v.latencyMs))
    return `${w} needs a subnet (text), ratePerS ≥ 0 and latencyMs ≥ 0 or null`;
  return { subnet: v.subnet, ratePerS: v.ratePerS, latencyMs: v.latencyMs };
}

/** One decision of a status report (named `w` in the sentence), exactly its documented shape, or the sentence why not;
 * also what an agent reads back from its own decisions.json. */
export function parseDecisionReport(v: unknown, w = "the decision"): DecisionReport | string {
  if (!isObj(v)) return `${w} is not an object`;
  const bad = exactKeys(v, ["atMs", "text", "u", "uBest", "latency"], w);
  if (bad) return bad;
  if (!num(v.atMs) || !text(v.text) || !(v.u === null || num(v.u)) || !(v.uBest === null || num(v.uBest)))
    return `${w} needs atMs, text, and u and uBest as numbers or null`;
  if (!Array.isArray(v.latency) || v.latency.length > iconStatusLimits.maxSubnets)
    return `${w}.latency must be a list of at most ${iconStatusLimits.maxSubnets}`;
  const latency: DecisionReport["latency"] = [];
  for (const l of v.latency as unknown[]) {
    if (!isObj(l) || exactKeys(l, ["subnet", "beforeMs", "afterMs"], w) !== undefined)
      return `${w}.latency holds something other than { subnet, beforeMs, afterMs }`;
    if (!text(l.subnet) || !numOrNull(l.beforeMs) || !numOrNull(l.afterMs))
      return `${w}.latency needs a subnet and beforeMs/afterMs ≥ 0 or null`;
    latency.push({ subnet: l.subnet, beforeMs: l.beforeMs, afterMs: l.afterMs });
  }
  return { atMs: v.atMs, text: v.text, u: v.u, uBest: v.uBest, latency };
}

/** An ICON status report from decoded JSON, exactly the documented shape within its bounds, or the sentence why not. */
export function parseIconStatusReport(v: unknown): IconStatusReport | string {
  if (!isObj(v)) return "the report is not a JSON object";
  const bad = exactKeys(
    v,
    ["name", "account", "instance", "policyVersion", "atMs", "subnets", "decisions"],
    "the report",
  );
  if (bad) return bad;
  if (!text(v.name)) return `name must be text of at most ${iconStatusLimits.maxText} characters`;
  if (typeof v.account !== "string" || !/^[0-9]{1,19}$/.test(v.account)) return "account must be a decimal id";
  for (const k of ["instance", "policyVersion", "atMs"] as const)
    if (!Number.isSafeInteger(v[k]) || (v[k] as number) < 0) return `${k} must be a whole number ≥ 0`;
  if (!Array.isArray(v.subnets) || v.subnets.length > iconStatusLimits.maxSubnets)
    return `subnets must be a list of at most ${iconStatusLimits.maxSubnets}`;
  if (!Array.isArray(v.decisions) || v.decisions.length > iconStatusLimits.maxDecisions)
    return `decisions must be a list of at most ${iconStatusLimits.maxDecisions}`;
  const subnets: SubnetReport[] = [];
  for (const [i, s] of (v.subnets as unknown[]).entries()) {
    const r = subnet(s, i);
    if (typeof r === "string") return r;
    subnets.push(r);
  }
  const decisions: DecisionReport[] = [];
  for (const [i, d] of (v.decisions as unknown[]).entries()) {
    const r = parseDecisionReport(d, `decisions[${i}]`);
    if (typeof r === "string") return r;
    decisions.push(r);
  }
  return {
    name: v.name,
    account: v.account,
    instance: v.instance as number,
    policyVersion: v.policyVersion as number,
    atMs: v.atMs as number,
    subnets,
    decisions,
  };
}
