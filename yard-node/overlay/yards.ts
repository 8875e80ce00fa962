/**
 * The libp2p peers that are active yards — listed in the registry and staked — read from the chain and kept
 * fresh in the background: whose word a tunnel's `client` is taken on, and whose routes the overlay takes
 * ({@link ActiveYards.vouch}; without that, any libp2p peer could announce instances of any service and draw its
 * traffic).
 *
 * Why: a tunnel header names the original client's address, and the target yard counts the tunnel in that client
 * subnet's flows (λ), which ICONs turn into placement decisions and so into money. Anyone can open a tunnel to a
 * running instance (it reaches nothing the public ingress does not offer), so without this check anyone could make
 * up demand from any subnet. The yard takes the header's `client` only from an active yard (a yard forwarding for
 * its clients: a redirection stub, a service-to-service call); from any other peer it counts the tunnel under the
 * address the peer's connection comes from, as its public ingress would.
 *
 * The set is a snapshot: read at start, every `refreshMs`, and again (at most every `missRefreshMs`) when a peer
 * that is not in it opens a tunnel, so a yard listed since the last reading is trusted seconds later. The check
 * never waits for the chain: until the reading that includes a yard arrives, and while the chain is down, the last
 * snapshot decides (at worst a real yard's tunnels count under its own address for a while; nothing is refused).
 *
 * @example
 *   const yards = new ActiveYards(chain);
 *   yards.start();
 *   const client = yards.trusts(remotePeer) ? header.client : connectionIp;
 */
import { getBytes } from "ethers";
import { peerIdFromMultihash } from "@libp2p/peer-id";
import type { Multiaddr } from "@multiformats/multiaddr";
import * as Digest from "multiformats/hashes/digest";

/** The IP address a multiaddr starts with (`/ip4/…` or `/ip6/…`), or undefined (a DNS name, a relay). */
export function ipOf(addr: Multiaddr): string | undefined {
  const first = addr.getComponents()[0];
  return first && (first.name === "ip4" || first.name === "ip6") ? first.value : undefined;
}

/** What {@link ActiveYards} reads of the registry (MarketClient has both). */
export interface RegistryReader {
  listedOperators(): Promise<string[]>;
  providerStatus(op: string): Promise<{ listing: { peerId: string } | null; active: boolean }>;
}

/** Options of {@link ActiveYards}. */
export interface ActiveYardsOptions {
  /** Read the registry this often (default 30 000 ms). */
  refreshMs?: number;
  /** A tunnel from a peer not in the set asks for a new reading at most this often (default 5 000 ms). */
  missRefreshMs?: number;
  /** {@link ActiveYards.vouch} for a peer not in the set reads again at most this often (default 1 000 ms). */
  vouchRefreshMs?: number;
  log?: { warn(m: string, f?: object): void };
}

/** Listings read at once. */
const PARALLEL_READS = 8;

export class ActiveYards {
  readonly #reader: RegistryReader;
  readonly #refreshMs: number;
  readonly #missRefreshMs: number;
  readonly #vouchRefreshMs: number;
  readonly #log: ActiveYardsOptions["log"];
  #peers = new Set<string>();
  /** Operator address (lower case) of each peer in {@link peers}. */
  #operators = new Map<string, string>();
  #refreshing: Promise<void> | undefined;
  #lastStart = -Infinity;
  #timer: NodeJS.Timeout | undefined;
  /** Readings that failed in a row (the chain down); logged at the first. */
  #failures = 0;

  constructor(reader: RegistryReader, o: ActiveYardsOptions = {}) {
    this.#reader = reader;
    this.#refreshMs = o.refreshMs ?? 30_000;
    this.#missRefreshMs = o.missRefreshMs ?? 5_000;
    this.#vouchRefreshMs = o.vouchRefreshMs ?? 1_000;
    this.#log = o.log;
  }

  /** Reads the registry now and then every `refreshMs`. */
  start(): void {
    if (this.#timer) return;
    void this.refresh();
    this.#timer = setInterval(() => void this.refresh(), this.#refreshMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Peer ids (strings) of the active yards at the last reading. */
  get peers(): ReadonlySet<string> {
    return this.#peers;
  }

  /** The operator address (lower case) whose listing names `peer`, at the last reading; undefined when none. */
  operatorOf(peer: string): string | undefined {
    return this.#operators.get(peer);
  }

  /**
   * True when `peer` was an active yard at the last reading. A peer not in it asks for a new reading (at most every
   * `missRefreshMs`); the answer is for now, never awaited.
   */
  trusts(peer: string): boolean {
    if (this.#peers.has(peer)) return true;
    if (performance.now() - this.#lastStart >= this.#missRefreshMs) void this.refresh();
    return false;
  }

  /**
   * Whether `peer` is an active yard, for what is taken on its word (its routes). Unlike {@link trusts} this waits
   * for a new reading when `peer` is not in the last one (at most `vouchRefreshMs` apart, bounded by `waitMs`), so a
   * yard listed seconds ago is believed on its first answer; a peer that is not listed costs at most one registry
   * reading per `vouchRefreshMs`, however many ask.
   */
  async vouch(peer: string, waitMs = 3_000): Promise<boolean> {
    if (this.#peers.has(peer)) return true;
    if (!this.#refreshing && performance.now() - this.#lastStart < this.#vouchRefreshMs) return false;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.refresh(),
      new Promise<void>((r) => {
        timer = setTimeout(r, waitMs);
        timer.unref();
      }),
    ]);
    clearTimeout(timer);
    return this.#peers.has(peer);
  }

  /** Reads the registry (one reading at a time; a call during one joins it). Keeps the last set when it fails. */
  refresh(): Promise<void> {
    this.#refreshing ??= this.#read().finally(() => (this.#refreshing = undefined));
    return this.#refreshing;
  }

  async #read(): Promise<void> {
    this.#lastStart = performance.now();
    try {
      const ops = await this.#reader.listedOperators();
      const next = new Set<string>();
      const operators = new Map<string, string>();
      for (let i = 0; i < ops.length; i += PARALLEL_READS) {
        const batch = ops.slice(i, i + PARALLEL_READS);
        const statuses = await Promise.all(batch.map((op) => this.#reader.providerStatus(op)));
        for (const [j, st] of statuses.entries()) {
          if (!st.active || !st.listing) continue;
          try {
            const peer = peerIdFromMultihash(Digest.decode(getBytes(st.listing.peerId))).toString();
            next.add(peer);
            operators.set(peer, batch[j]!.toLowerCase());
          } catch {
            // A listing whose peer id is no libp2p peer id names no peer that could open a tunnel.
          }
        }
      }
      this.#peers = next;
      this.#operators = operators;
      this.#failures = 0;
    } catch (e) {
      if (this.#failures++ === 0) {
        this.#log?.warn("cannot read the registry's yards; keeping the last reading", {
          yards: this.#peers.size,
          error: (e as Error).message,
        });
      }
    }
  }
}
