/**
 * TCP through a gateway: the libp2p transport of an ICON agent in its sidecar (issue 16 item 3), where the only
 * way out is its yard's agent gateway (protocol/yard/gateway.ts). It wraps @libp2p/tcp rather than rewriting it:
 * listening is plain TCP (the yard's ingress brings inbound connections in); every outbound dial first asks the
 * gateway for a forward to the target peer at the target address (`POST /dial`), then dials that forward with the
 * same `/p2p/<peer>`, so noise still authenticates the far peer end to end and the gateway can only ever splice
 * bytes to a node it has authenticated as that peer.
 *
 * A multiaddr without /p2p/ names no peer the gateway could check: such dials are refused here (DIAL_NEEDS_PEER)
 * before anything is sent. A name (/dns4, /dns6, /dns) is resolved here, by the sidecar's resolver (the yard's DNS
 * responder), and the gateway is asked for the address it led to: the gateway dials addresses, never names. libp2p records a successful dial's remote address (the forward) in its peer store; a
 * later dial of that forward asks the gateway again for the address it stood for, and a dial of any other address
 * on the gateway's own IP is refused (nothing but the gateway's listeners is there).
 *
 * @example
 *   const node = await createIconNode({ listen: ["/ip4/0.0.0.0/tcp/4100"], announce, gateway: { ip, dial } });
 */
import { lookup } from "node:dns/promises";
import { serviceCapabilities, transportSymbol } from "@libp2p/interface";
import type { Connection, CreateListenerOptions, DialTransportOptions, Listener, Transport } from "@libp2p/interface";
import { tcp, type TCPComponents, type TCPOptions } from "@libp2p/tcp";
import { multiaddr, type Multiaddr } from "@multiformats/multiaddr";
import { IconError } from "../errors.ts";

/** The multicodec of /p2p/. */
const P2P = 421;

/** Where an agent's outbound libp2p dials go first. */
export interface GatewayDialer {
  /** The gateway's own IP address: every forward it answers is on it. */
  readonly ip: string;
  /**
   * A forward to `peer` at `addr` (a TCP transport address without /p2p/): the gateway's `/ip4/<ip>/tcp/<port>`.
   * Throws when the gateway refuses (the peer is unreachable or is not who it claims).
   */
  dial(peer: string, addr: string, signal: AbortSignal): Promise<string>;
}

/** Options of {@link gatewayTcp}. */
export interface GatewayTcpInit {
  gateway: GatewayDialer;
  tcp?: TCPOptions;
}

/** Most forwards remembered (gateway address → the address it stands for); the oldest is forgotten first. */
const MAX_REMEMBERED = 256;

class GatewayTcp implements Transport {
  readonly [transportSymbol] = true;
  readonly [Symbol.toStringTag] = "@icon/gateway-tcp";
  readonly [serviceCapabilities] = ["@libp2p/transport"];
  readonly #inner: Transport;
  readonly #gateway: GatewayDialer;
  /** Forward address (with /p2p/) → the target address it was made for. */
  readonly #forwards = new Map<string, string>();

  constructor(inner: Transport, gateway: GatewayDialer) {
    this.#inner = inner;
    this.#gateway = gateway;
  }

  async dial(ma: Multiaddr, options: DialTransportOptions): Promise<Connection> {
    const peer = ma.getComponents().findLast((c) => c.code === P2P)?.value;
    if (!peer)
      throw new IconError(
        "DIAL_NEEDS_PEER",
        `cannot dial ${ma.toString()} through the agent gateway: the address names no peer (/p2p/<id>) the gateway could authenticate`,
      );
    const bare = ma.decapsulateCode(P2P).toString();
    let target = bare;
    if (hostOf(bare) === this.#gateway.ip) {
      const was = this.#forwards.get(ma.toString());
      if (!was)
        throw new IconError(
          "DIAL_NEEDS_PEER",
          `${ma.toString()} is on the agent gateway's own address but is no forward it gave: not dialled`,
        );
      target = was;
    }
    target = await resolved(target);
    options.signal.throwIfAborted();
    const forward = multiaddr(`${await this.#gateway.dial(peer, target, options.signal)}/p2p/${peer}`);
    this.#remember(forward.toString(), target);
    return this.#inner.dial(forward, options);
  }

  #remember(forward: string, target: string): void {
    this.#forwards.delete(forward);
    this.#forwards.set(forward, target);
    if (this.#forwards.size > MAX_REMEMBERED) this.#forwards.delete(this.#forwards.keys().next().value!);
  }

  createListener(options: CreateListenerOptions): Listener {
    return this.#inner.createListener(options);
  }

  listenFilter(multiaddrs: Multiaddr[]): Multiaddr[] {
    return this.#inner.listenFilter(multiaddrs);
  }

  dialFilter(multiaddrs: Multiaddr[]): Multiaddr[] {
    return this.#inner.dialFilter(multiaddrs);
  }
}

/** `addr` with a dns/dns4/dns6 host replaced by the first address it resolves to (of that family). */
async function resolved(addr: string): Promise<string> {
  const m = /^\/(dns|dns4|dns6)\/([^/]+)(\/tcp\/\d+)$/.exec(addr);
  if (!m) return addr;
  const family = m[1] === "dns4" ? 4 : m[1] === "dns6" ? 6 : 0;
  let a: { address: string; family: number };
  try {
    a = await lookup(m[2]!, { family });
  } catch (e) {
    throw new IconError("DNS_FAILED", `cannot resolve ${m[2]} to dial ${addr}: ${(e as Error).message}`, { cause: e });
  }
  return `/ip${a.family}/${a.address}${m[3]}`;
}

function hostOf(addr: string): string | undefined {
  return /^\/(?:ip4|ip6|dns4|dns6)\/([^/]+)\//.exec(addr)?.[1];
}

/** @libp2p/tcp with every outbound dial made through `init.gateway` (see the file's header). */
export function gatewayTcp(init: GatewayTcpInit): (components: TCPComponents) => Transport {
  const inner = tcp(init.tcp);
  return (components) => new GatewayTcp(inner(components), init.gateway);
}
