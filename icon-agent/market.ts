/**
 * The ICON's side of the market: finding yards (DNS SRV, seed multiaddrs, peers libp2p found — mDNS, bootstrap,
 * yards announced in the DHT — and listings in the registry),
 * keeping only registered and staked ones, and bidding for a lease.
 *
 * Discovery dials each candidate and asks for capacity: the answer carries the operator's signed binding of the
 * yard's peer id, checked against the registry (`verifyPeerBinding`) — a yard that is not listed, lists another
 * peer id or is not staked is dropped with the reason.
 *
 * Bidding (`bid`): RFQs to several yards in parallel; a quote above what the ICON will pay (the owner's cap, or
 * the yard's own listed base price when the quote carries a utilization surcharge) gets one counter-offer at that
 * price; quotes the ICON cannot pay from its balance are dropped, and so are quotes at which the action the bid
 * is for no longer passes its threshold (`accept`); the best remaining quote by the caller's score
 * (eq. 1 utility with the quoted price) is accepted and the others are rejected. The winner is opened on chain by
 * the yard (the ICON signs the acceptance only) and the service deployed on it.
 *
 * @example
 *   const yards = await discoverYards({ node, client, dns, domains: ["edge.example"] });
 *   const won = await bid({ node, signer, client, account, yards, rfq, spec, maxPrice, budget, score });
 */
import { multiaddr } from "@multiformats/multiaddr";
import { peerIdFromMultihash, peerIdFromString } from "@libp2p/peer-id";
import * as Digest from "multiformats/hashes/digest";
import { getBytes } from "ethers";
import type { Libp2p } from "@libp2p/interface";
import type { Signer } from "ethers";
import {
  ACCEPTANCE_TYPES,
  LeaseSession,
  RejectCode,
  findYardProviders,
  signRfqProof,
  verifyPeerBinding,
  type DeploySpec,
  type DnsResolver,
  type MarketClient,
  type Offer,
  type Rfq,
  type RttTarget,
} from "../protocol/index.ts";
import { checkRttReport, type MeasuredAt } from "./measured.ts";

/** The most yards dialled per domain learned from clients. */
export const LEARNED_YARDS_PER_DOMAIN = 8;

/** The most yards found through libp2p (peer store, DHT) dialled per discovery round. */
export const P2P_YARDS = 16;

/** An operator's listing as discovery uses it: its libp2p peer id and dialable multiaddrs. */
type ListingRef = { id: string; addrs: string[] } | { error: string } | undefined;

/** Reads `op`'s listing (undefined: not listed). */
async function listingOf(client: MarketClient, op: string): Promise<ListingRef> {
  const st = await client.providerStatus(op);
  if (!st.listing) return undefined;
  let id: string;
  try {
    id = peerIdFromMultihash(Digest.decode(getBytes(st.listing.peerId))).toString();
  } catch {
    return { error: "its listing's peer id is not a libp2p peer id" };
  }
  return { id, addrs: st.listing.multiaddrs.map((a) => (/\/p2p\/[^/]+$/.test(a) ? a : `${a}/p2p/${id}`)) };
}

/**
 * The yard of operator `op` as its registry listing names it, probed (capacity, peer binding): for a yard no
 * discovery source gave this ICON (a replica moved there on its own). Throws why not.
 */
export async function yardOfOperator(node: Libp2p, client: MarketClient, op: string): Promise<YardRef> {
  const l = await listingOf(client, op);
  if (!l) throw new Error(`${op} lists no yard`);
  if ("error" in l) throw new Error(l.error);
  if (l.addrs.length === 0) throw new Error(`${op}'s listing names no address`);
  const y = await probeYard(node, client, l.addrs);
  if (y.peerId !== l.id) throw new Error(`${op}'s listing names ${l.id}, its address answered as ${y.peerId}`);
  return y;
}

/** A registered, staked yard as the ICON knows it. */
export interface YardRef {
  /** libp2p peer id (the location's identity in utility computations). */
  peerId: string;
  /** Dialable multiaddrs with /p2p/<peerId>. */
  addrs: string[];
  /** The IP its multiaddr names (where its clients' traffic goes; the key into a network cost map). */
  host: string;
  /** The region it lists (for people). */
  name: string;
  operator: string;
  cpuPricePerSecond: bigint;
  memoryPricePerSecond: bigint;
  /** Found only by path tomography (edisco.ts): the domain on the path that published it. */
  viaPath?: string;
  /** Its signed round trips towards the subnets discovery asked about (measured.ts), checked. */
  rtt?: MeasuredAt;
  /** Why its round-trip report was not used (unsigned, tampered, over its budget, …). */
  rttError?: string;
}

/** The yard's own base price for `r` from its capacity answer (per core-second, per GiB-second). */
export function listedPrice(y: YardRef, r: { cpuMillis: number; memoryMiB: number }): bigint {
  const ceil = (a: bigint, b: bigint): bigint => (a + b - 1n) / b;
  return (
    ceil(y.cpuPricePerSecond * BigInt(r.cpuMillis), 1000n) + ceil(y.memoryPricePerSecond * BigInt(r.memoryMiB), 1024n)
  );
}

function hostOf(addrs: string[]): string {
  for (const a of addrs) {
    const m = /^\/ip[46]\/([^/]+)\//.exec(a);
    if (m) return m[1]!;
  }
  for (const a of addrs) {
    const m = /^\/dns[46]?\/([^/]+)\//.exec(a);
    if (m) return m[1]!;
  }
  return "";
}

/** Asks `addrs`' yard for capacity and checks its binding on chain; the yard, or throws why not. */
export async function probeYard(
  node: Libp2p,
  client: MarketClient,
  addrs: string[],
  signal: AbortSignal = AbortSignal.timeout(5000),
  rttTargets: RttTarget[] = [],
): Promise<YardRef> {
  const session = await LeaseSession.open(node, multiaddr(addrs[0]!), { signal });
  try {
    const a = await session.request(
      rttTargets.length > 0 ? { type: "capacityQuery", rttTargets } : { type: "capacityQuery" },
    );
    if (a.type !== "capacityAnswer") throw new Error(`expected a capacity answer, got ${a.type}`);
    const operator = await verifyPeerBinding(a.answer.binding, session.remote, client);
    const rtt =
      rttTargets.length === 0
        ? undefined
        : checkRttReport(a.answer.rtt, { operator, asker: node.peerId, asked: rttTargets, domain: client.domain() });
    return {
      ...(rtt === undefined ? {} : "error" in rtt ? { rttError: rtt.error } : { rtt }),
      peerId: session.remote.toString(),
      addrs,
      host: hostOf(addrs),
      name: a.answer.region,
      operator,
      cpuPricePerSecond: a.answer.cpuPricePerSecond,
      memoryPricePerSecond: a.answer.memoryPricePerSecond,
    };
  } finally {
    await session.close();
  }
}

export interface DiscoverOptions {
  node: Libp2p;
  client: MarketClient;
  /** DNS SRV (`_edge._tcp.<domain>`) on these domains (the owner's: trusted). */
  dns?: DnsResolver;
  domains?: string[];
  /**
   * DNS SRV on domains learned from clients' PTR names (untrusted: whoever runs a client's reverse zone chose
   * them): at most {@link LEARNED_YARDS_PER_DOMAIN} yards each, and only yards whose peer id a registry listing
   * names are dialled at all.
   */
  learnedDomains?: string[];
  /**
   * DNS SRV on domains found on the paths to clients (edisco.ts), untrusted like `learnedDomains`; a yard that no
   * other source names gets `viaPath` (its domain).
   */
  pathDomains?: string[];
  /** Multiaddrs given by the owner. */
  seeds?: string[];
  /** Also the listings of these operators in the registry. */
  operators?: string[];
  /** Also every listing in the registry (operators from its ListingUpdated events). */
  registry?: boolean;
  /**
   * Also the peers the libp2p node knows (found by mDNS, bootstrap or identify; in its peer store) and, with
   * `dht`, the yards announced in the DHT. Untrusted like learned domains: only peers whose id a registry listing
   * names are dialled, at most {@link P2P_YARDS} a round.
   */
  peers?: boolean;
  /** Look yards up in the DHT (the node runs one: `dht: true`). */
  dht?: boolean;
  /** Client subnets to ask every yard its signed round trip towards (at most 8; measured.ts). */
  rttTargets?: RttTarget[];
  onSkip?: (what: string, why: string) => void;
}

/**
 * Every registered and staked yard reachable through DNS SRV (the owner's, learned and path domains), seeds, libp2p
 * or registry listings, once each; `viaPath` on those only a path domain named.
 */
export async function discoverYards(o: DiscoverOptions): Promise<YardRef[]> {
  const found = new Map<string, string[]>(); // peer id → addrs
  const onPath = new Map<string, string>(); // peer id → the path domain that named it
  const elsewhere = new Set<string>(); // peer ids some other source named
  const add = (peer: string, addrs: string[], path?: string): void => {
    if (!found.has(peer)) found.set(peer, addrs);
    if (path === undefined) elsewhere.add(peer);
    else if (!onPath.has(peer)) onPath.set(peer, path);
  };
  // Every domain at once: each lookup has its own time budget, so a silent server costs one budget, not one each.
  const lookup = async (d: string, learned: boolean, path = false) => {
    try {
      const ys = await o.dns!.discoverYards(d, {
        resolveHosts: true,
        onSkip: (why) => o.onSkip?.(d, why),
        ...(learned ? { maxRecords: LEARNED_YARDS_PER_DOMAIN } : {}),
      });
      return { d, learned, path, ys: learned ? ys.slice(0, LEARNED_YARDS_PER_DOMAIN) : ys };
    } catch (e) {
      o.onSkip?.(`_edge._tcp.${d}`, (e as Error).message);
      return { d, learned, path, ys: [] };
    }
  };
  const owners = new Set(o.domains ?? []);
  const learnedDomains = (o.learnedDomains ?? []).filter((d) => !owners.has(d));
  const answers = await Promise.all([
    ...[...owners].map((d) => lookup(d, false)),
    ...learnedDomains.map((d) => lookup(d, true)),
    ...(o.pathDomains ?? [])
      .filter((d) => !owners.has(d) && !learnedDomains.includes(d))
      .map((d) => lookup(d, true, true)),
  ]);
  // Listings are read once per discovery, whichever source asks (the registry's own, the peer ids that untrusted
  // sources are checked against).
  const listings = new Map<string, Promise<ListingRef>>();
  const listing = (op: string): Promise<ListingRef> => {
    let l = listings.get(op);
    if (!l) listings.set(op, (l = listingOf(o.client, op)));
    return l;
  };
  let listedOps: Promise<string[]> | undefined;
  const registryOps = (): Promise<string[]> => (listedOps ??= o.client.listedOperators());
  let listedCache: Promise<Set<string>> | undefined;
  /** The peer ids the registry's current listings name. */
  const listed = (): Promise<Set<string>> =>
    (listedCache ??= (async () => {
      const out = new Set<string>();
      for (const op of await registryOps()) {
        const l = await listing(op);
        if (l && "id" in l) out.add(l.id);
      }
      return out;
    })());
  for (const { d, learned, path, ys } of answers)
    for (const y of ys) {
      if (learned && !(await listed()).has(y.peerId))
        o.onSkip?.(d, `${y.host}: peer ${y.peerId} is in no registry listing`);
      else add(y.peerId, y.multiaddrs, path ? d : undefined);
    }
  for (const s of o.seeds ?? []) {
    const id = /\/p2p\/([^/]+)$/.exec(s)?.[1];
    if (id) add(id, [s]);
    else o.onSkip?.(s, "a seed multiaddr must end in /p2p/<peer id>");
  }
  if (o.peers) for (const [id, addrs] of await libp2pCandidates(o, found, listed)) add(id, addrs);
  const operators = [...(o.operators ?? []), ...(o.registry ? await registryOps() : [])];
  for (const op of operators) {
    const l = await listing(op);
    if (!l) continue;
    if ("error" in l) o.onSkip?.(op, l.error);
    else if (l.addrs.length > 0) add(l.id, l.addrs);
  }
  const out = await Promise.all(
    [...found].map(async ([peer, addrs]) => {
      try {
        const y = await probeYard(o.node, o.client, addrs, undefined, o.rttTargets);
        if (y.peerId !== peerIdFromString(peer).toString()) throw new Error("answered with another peer id");
        const path = elsewhere.has(peer) ? undefined : onPath.get(peer);
        return path === undefined ? y : { ...y, viaPath: path };
      } catch (e) {
        o.onSkip?.(peer, (e as Error).message);
        return undefined;
      }
    }),
  );
  return out.filter((y): y is YardRef => y !== undefined);
}

/**
 * Candidates from libp2p itself: every peer in the node's peer store with an address (mDNS, bootstrap, identify)
 * and, with `dht`, the providers of the yard key — only those a registry listing names, not yet `found`, at most
 * {@link P2P_YARDS}.
 */
async function libp2pCandidates(
  o: DiscoverOptions,
  found: Map<string, string[]>,
  listed: () => Promise<Set<string>>,
): Promise<[string, string[]][]> {
  const me = o.node.peerId.toString();
  const seen = new Map<string, string[]>();
  for (const p of await o.node.peerStore.all()) {
    const id = p.id.toString();
    if (id === me || p.addresses.length === 0) continue;
    seen.set(
      id,
      p.addresses.map((a) => `${a.multiaddr.toString().replace(/\/p2p\/[^/]+$/, "")}/p2p/${id}`),
    );
  }
  if (o.dht) {
    try {
      for (const y of await findYardProviders(o.node, { max: P2P_YARDS, timeoutMs: 5000 }))
        if (y.addrs.length > 0 && !seen.has(y.peerId)) seen.set(y.peerId, y.addrs);
    } catch (e) {
      o.onSkip?.("DHT", `looking up yards failed: ${(e as Error).message}`);
    }
  }
  const fresh = [...seen].filter(([id]) => !found.has(id));
  if (fresh.length === 0) return [];
  const ids = await listed();
  return fresh.filter(([id]) => ids.has(id)).slice(0, P2P_YARDS);
}

export interface BidOptions {
  node: Libp2p;
  /** The ICON key that controls `account` (signs the acceptance). */
  signer: Signer;
  client: MarketClient;
  account: bigint;
  yards: YardRef[];
  rfq: Omit<Rfq, "tenantAccount" | "maxPricePerSecond">;
  spec: Omit<DeploySpec, "leaseId">;
  /** The most per second the ICON pays (the owner's cap). */
  maxPrice: bigint;
  /** What the ICON may commit: price × slot must fit. */
  budget: bigint;
  /** Lower is better (eq. 1 utility with the quoted price). */
  score: (yard: YardRef, pricePerSecond: bigint) => number;
  /**
   * Whether the action the bid is for still pays with this yard at its quoted price (decision.ts `stillPays`):
   * undefined takes the quote, a sentence drops it (the yard is told no, the sentence is in the error when no quote
   * is left). Without it every usable quote competes.
   */
  accept?: (yard: YardRef, pricePerSecond: bigint) => string | undefined;
  onQuote?: (yard: YardRef, price: bigint, note: string) => void;
  /** Ends a lease that opened but could not be deployed (the tenant's terminate; its unused deposit returns). */
  release?: (leaseId: bigint) => Promise<unknown>;
}

/** Checks an offer's terms against what the ICON asked for, before it signs anything. */
export function checkOffer(
  offer: Offer,
  o: { account: bigint; token: string; operator: string; rfq: BidOptions["rfq"]; budget: bigint; nowS?: number },
): void {
  const nowS = BigInt(Math.floor(o.nowS ?? Date.now() / 1000));
  const bad = (what: string): never => {
    throw new Error(`the offer ${what}; not signed`);
  };
  if (offer.account !== o.account) bad(`names account ${offer.account}, not ${o.account}`);
  if (offer.token.toLowerCase() !== o.token.toLowerCase()) bad(`pays in ${offer.token}, not the market's token`);
  if (offer.provider.toLowerCase() !== o.operator.toLowerCase())
    bad(`comes from ${offer.provider}, not the yard's operator ${o.operator}`);
  if (offer.cpuMillis !== o.rfq.cpuMillis || offer.memoryMiB !== o.rfq.memoryMiB)
    bad(`is for ${offer.cpuMillis} mCPU / ${offer.memoryMiB} MiB, not ${o.rfq.cpuMillis} / ${o.rfq.memoryMiB}`);
  if (offer.end - offer.start !== BigInt(o.rfq.slotSeconds))
    bad(`lasts ${offer.end - offer.start} s, not the ${o.rfq.slotSeconds} s asked for`);
  // A renewal starts where the old lease ends; anything else starts within minutes.
  if (o.rfq.renewsLeaseId === undefined && offer.start > nowS + 600n) bad(`starts at ${offer.start}, too far ahead`);
  if (offer.specHash.toLowerCase() !== o.rfq.imageDigest.toLowerCase()) bad(`is for another image (${offer.specHash})`);
  if (offer.pricePerSecond * (offer.end - offer.start) > o.budget)
    bad(`costs ${offer.pricePerSecond * (offer.end - offer.start)}, more than the ${o.budget} the ICON can commit`);
}

export interface Won {
  yard: YardRef;
  leaseId: bigint;
  offer: Offer;
  endpoint: string;
}

/** Runs the auction described above; the opened and deployed lease, or throws why none could be had. */
export async function bid(o: BidOptions): Promise<Won> {
  const slot = BigInt(o.rfq.slotSeconds);
  // The most the ICON can pay per second: the owner's cap (0 = none) and what its balance covers for the slot.
  const affordable = o.budget / slot;
  const ceiling = o.maxPrice > 0n && o.maxPrice < affordable ? o.maxPrice : affordable;
  if (ceiling === 0n) throw new Error(`the ICON can commit ${o.budget}, not enough for one second of a lease`);
  // Proof that this node speaks for the account, so that yards hold capacity for it beyond their anonymous share.
  const proof = await signRfqProof(o.signer, { domain: o.client.domain(), account: o.account, peer: o.node.peerId });
  const rfq: Rfq = { ...o.rfq, tenantAccount: o.account, maxPricePerSecond: ceiling, proof };
  const why: string[] = [];
  const quotes = await Promise.all(
    o.yards.map(async (yard) => {
      let session: LeaseSession | undefined;
      try {
        session = await LeaseSession.open(o.node, multiaddr(yard.addrs[0]!));
        let q = await session.request({ type: "rfq", rfq });
        if (q.type !== "quote") throw new Error(`answered ${q.type}`);
        const fair = listedPrice(yard, o.rfq);
        const want = o.maxPrice > 0n && o.maxPrice < fair ? o.maxPrice : fair;
        if (q.offer.pricePerSecond > want && (o.maxPrice === 0n || want <= o.maxPrice)) {
          o.onQuote?.(yard, q.offer.pricePerSecond, `asks ${q.offer.pricePerSecond}/s; counter ${want}/s`);
          q = await session.request({ type: "counter", pricePerSecond: want });
          if (q.type !== "quote") throw new Error(`answered the counter with ${q.type}`);
        }
        const price = q.offer.pricePerSecond;
        if (o.maxPrice > 0n && price > o.maxPrice) throw new Error(`quotes ${price}/s, above the cap ${o.maxPrice}/s`);
        checkOffer(q.offer, {
          account: o.account,
          token: o.client.deployment.token,
          operator: yard.operator,
          rfq: o.rfq,
          budget: o.budget,
        });
        if (price * slot > o.budget)
          throw new Error(`quotes ${price * slot} for the slot; the ICON can commit ${o.budget}`);
        const no = o.accept?.(yard, price);
        if (no !== undefined) throw new Error(`quotes ${price}/s, at which ${no}`);
        o.onQuote?.(yard, price, `quote ${price}/s`);
        return { yard, session, offer: q.offer, score: o.score(yard, price) };
      } catch (e) {
        why.push(`${yard.name}: ${(e as Error).message}`);
        if (session) await rejectQuietly(session);
        return undefined;
      }
    }),
  );
  const ok = quotes.filter((q): q is NonNullable<typeof q> => q !== undefined).sort((a, b) => a.score - b.score);
  const [best, ...rest] = ok;
  await Promise.all(rest.map((q) => rejectQuietly(q.session)));
  if (!best) throw new Error(`no yard gave a usable quote (${why.join("; ") || "no candidates"})`);
  let leaseId: bigint | undefined;
  try {
    const tenantSignature = await o.signer.signTypedData(o.client.domain(), ACCEPTANCE_TYPES, { offer: best.offer });
    const opened = await best.session.request({ type: "accept", tenantSignature });
    if (opened.type !== "opened") throw new Error(`expected opened, got ${opened.type}`);
    leaseId = opened.leaseId;
    const r = await best.session.request({ type: "deploy", spec: { ...o.spec, leaseId } });
    if (r.type !== "running")
      throw new Error(`lease ${leaseId} failed to deploy: ${r.type === "failed" ? r.message : r.type}`);
    return { yard: best.yard, leaseId, offer: best.offer, endpoint: r.endpoint };
  } catch (e) {
    // Opened but not running: end it now so its deposit comes back instead of waiting in escrow.
    if (leaseId !== undefined && o.release) {
      const id = leaseId;
      await o.release(id).catch((x: unknown) => {
        throw new Error(`${(e as Error).message}; ending lease ${id} failed too: ${(x as Error).message}`, {
          cause: e,
        });
      });
    }
    throw e;
  } finally {
    await best.session.close();
  }
}

async function rejectQuietly(s: LeaseSession): Promise<void> {
  try {
    if (s.state.phase === "quoted" || s.state.phase === "countered")
      await s.request({ type: "reject", code: RejectCode.REJECT_UNSPECIFIED, message: "another yard won the bid" });
  } catch {
    /* the stream is closed either way */
  }
  await s.close();
}
