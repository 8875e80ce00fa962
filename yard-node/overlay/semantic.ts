/**
 * Semantic addressing for service-to-service calls: a container asks the yard's DNS responder (on its network's
 * gateway, port 53) for `app.appns.service.servicens.(instance|any).(policy|none)[.icon]` and gets a virtual
 * address — one ServiceIP per (service, policy), one InstanceIP per instance — that the yard holds on the bridge.
 * A connection to it reaches the yard's listener there, which checks the namespace rules and forwards it to an
 * instance chosen by the policy (locally, or through an encrypted tunnel to another yard). UDP ports of the
 * instances get UDP listeners on the same address: each source's datagrams go, framed, to one instance.
 *
 * Namespaces: a container reaches services of its own namespace (`app.appns`); a service opens itself to others
 * with allow patterns in its Deploy. A container without a service name reaches nothing.
 */
import net from "node:net";
import type { Logger } from "../../protocol/log.ts";
import { UdpIngress } from "../udp.ts";
import type { ContainerRuntime } from "../runtime.ts";
import { VirtualIps } from "./addresses.ts";
import { SemanticDns } from "./dns.ts";
import { allowed, parseServiceKey, type SemanticName } from "./names.ts";
import type { Overlay } from "./overlay.ts";
import { serviceKey, type ServiceName } from "./types.ts";

/** How long a UDP source that was refused is not asked about again (ms). */
const UDP_REFUSED_MS = 5_000;
/** Virtual addresses one source (a container's address) may cause to be allocated; see the options. */
const DEFAULT_MAX_ADDRESSES_PER_SOURCE = 256;
/** An address nobody resolved or connected to for this long (and with no open connection) is released (ms). */
const DEFAULT_ADDRESS_IDLE_MS = 10 * 60_000;

/** What the addressing knows of one allocated virtual address: who caused it, when it was last used. */
interface AddressUse {
  /** The source (container address) whose lookup allocated it: its allocations are bounded. */
  owner: string;
  lastUsed: number;
  /** Open TCP connections through its listeners. */
  active: number;
  /** Listeners on it, as `proto port`. */
  listeners: Set<string>;
}

export interface ServiceAddressingOptions {
  runtime: ContainerRuntime;
  overlay: Overlay;
  log: Logger;
  /** Virtual address range of this yard (distinct per yard on one host). */
  cidr: string;
  /** Where the DNS responder forwards names that are not semantic (`ip:port`); REFUSED without it. */
  dnsUpstream?: string;
  /** The lease and service of the container at `ip` (the connection's source), if it is one of ours. */
  sourceOf(ip: string): { leaseId: bigint; service?: string } | undefined;
  /** The allow rules of a local instance. */
  rulesOf(instanceId: bigint): string[] | undefined;
  /** Opens the host firewall for a listener containers must reach (the yard's HostFirewall), if there is one. */
  allow?(a: { ip: string; proto: "tcp" | "udp"; port: number }): Promise<void>;
  /** Closes it again when the listener goes (an idle address released). */
  revoke?(a: { ip: string; proto: "tcp" | "udp"; port: number }): Promise<void>;
  /**
   * Virtual addresses one source may have allocated at once (default 256): the range is shared by every tenant of
   * the yard, so no container's lookups (nor another yard's announced instances it looks up) may use it up.
   */
  maxAddressesPerSource?: number;
  /** Release an address nobody resolved or connected to for this long, ms (default 10 min; DNS answers live 5 s). */
  addressIdleMs?: number;
}

export class ServiceAddressing {
  readonly #o: ServiceAddressingOptions;
  #ips: VirtualIps | undefined;
  #dns: SemanticDns | undefined;
  #gateway = "";
  readonly #listeners = new Map<string, net.Server>();
  /** UDP listeners, one UdpIngress per virtual address. */
  readonly #udp = new Map<string, UdpIngress>();
  /** Listeners being opened (and let through the host firewall), by `ip:port`: concurrent lookups share one. */
  readonly #opening = new Map<string, Promise<void>>();
  /** Per allocated address (its text). */
  readonly #use = new Map<string, AddressUse>();
  /** Addresses allocated per source. */
  readonly #owned = new Map<string, number>();
  #sweeper: ReturnType<typeof setInterval> | undefined;
  denied = 0;
  forwarded = 0;
  /** Lookups refused because their source holds its share of addresses. */
  overQuota = 0;
  /** Idle addresses released. */
  released = 0;

  constructor(o: ServiceAddressingOptions) {
    this.#o = o;
  }

  /** Takes the virtual range on the bridge and starts the DNS responder on the gateway. */
  async start(): Promise<void> {
    const { ips, network } = await VirtualIps.onNetwork(this.#o.runtime, { cidr: this.#o.cidr });
    await ips.removeStale();
    this.#ips = ips;
    this.#gateway = network.gateway;
    this.#dns = new SemanticDns({
      resolve: (n, _q, source) => this.#resolve(n, source),
      ...(this.#o.dnsUpstream ? { upstream: this.#o.dnsUpstream } : {}),
    });
    await this.#dns.listen({ address: network.gateway, port: 53, tcp: true });
    for (const proto of ["udp", "tcp"] as const) await this.#allow(network.gateway, proto, 53);
    const idle = this.#o.addressIdleMs ?? DEFAULT_ADDRESS_IDLE_MS;
    this.#sweeper = setInterval(() => void this.releaseIdle(), Math.min(60_000, Math.max(100, idle / 4)));
    this.#sweeper.unref();
    this.#o.log.info("semantic DNS ready", { address: network.gateway, range: ips.cidr });
  }

  /** Resolvers for containers (the gateway), empty before start. */
  dnsServers(): string[] {
    return this.#gateway ? [this.#gateway] : [];
  }

  async stop(): Promise<void> {
    clearInterval(this.#sweeper);
    for (const s of this.#listeners.values()) s.close();
    this.#listeners.clear();
    for (const u of this.#udp.values()) await u.closeAll();
    this.#udp.clear();
    this.#opening.clear();
    await this.#dns?.close();
    await this.#ips?.close();
  }

  /** Namespace check of a connection from `from` (a service key, or none) to instance `instanceId` of `to`. */
  admit(from: string | undefined, to: ServiceName, instanceId: bigint): string | undefined {
    if (!from) return `only ICON services may reach ${serviceKey(to)}`;
    const rules = this.#o.rulesOf(instanceId) ?? [];
    return allowed(parseServiceKey(from), to, rules)
      ? undefined
      : `${from} may not reach ${serviceKey(to)}: not its namespace and no allow rule opens it`;
  }

  /** Addresses held now, and by the source that caused each (tests, /status). */
  addressCount(source?: string): number {
    return source === undefined ? this.#use.size : (this.#owned.get(source) ?? 0);
  }

  /**
   * The address of `n` for a lookup from `source`. Route lookups that must ask other yards spend the source's query
   * budget (Overlay.instances); a new address counts against the source's share (maxAddressesPerSource): over it
   * the name is answered as unknown, and the refusal counted.
   */
  async #resolve(n: SemanticName, source: string | undefined): Promise<string | undefined> {
    // Only policies the yard has get an address: any other label would take one of the range's addresses for
    // nothing (a container asking for made-up policies could use the whole range up).
    if (n.kind === "service" && !this.#o.overlay.policies.get(n.policy)) return undefined;
    const from = (source ?? "").replace(/^::ffff:/, "");
    const service = serviceKey(n.service);
    const instances = await this.#o.overlay.instances(service, { source: from });
    const known = n.kind === "instance" ? instances.filter((i) => i.instanceId === n.instanceId) : instances;
    if (known.length === 0) return undefined;
    let ip = this.#ips!.get(n);
    if (ip === undefined) {
      const max = this.#o.maxAddressesPerSource ?? DEFAULT_MAX_ADDRESSES_PER_SOURCE;
      if ((this.#owned.get(from) ?? 0) >= max) {
        this.overQuota++;
        this.#o.log.info("virtual address refused: the source holds its share", { source: from, max });
        return undefined;
      }
      ip = await this.#ips!.allocate(n);
    }
    let use = this.#use.get(ip);
    if (!use) {
      use = { owner: from, lastUsed: Date.now(), active: 0, listeners: new Set() };
      this.#use.set(ip, use);
      this.#owned.set(from, (this.#owned.get(from) ?? 0) + 1);
    }
    use.lastUsed = Date.now();
    for (const p of new Set(known.flatMap((i) => i.ports))) await this.#listen(ip, p, n, "tcp");
    for (const p of new Set(known.flatMap((i) => i.udpPorts ?? []))) await this.#listen(ip, p, n, "udp");
    return ip;
  }

  /**
   * Releases every address nobody resolved or connected to for `addressIdleMs` and with no open connection: its
   * listeners close, the firewall forgets them, the address leaves the bridge and its owner's share. A later lookup
   * allocates it anew. Runs on a timer once started; returns the addresses released.
   */
  async releaseIdle(at = Date.now()): Promise<string[]> {
    const idle = this.#o.addressIdleMs ?? DEFAULT_ADDRESS_IDLE_MS;
    const gone: string[] = [];
    for (const [ip, use] of this.#use) {
      if (use.active > 0 || at - use.lastUsed < idle) continue;
      this.#use.delete(ip);
      const left = (this.#owned.get(use.owner) ?? 1) - 1;
      if (left > 0) this.#owned.set(use.owner, left);
      else this.#owned.delete(use.owner);
      for (const l of use.listeners) {
        const [proto, port] = l.split(" ") as ["tcp" | "udp", string];
        this.#opening.delete(`${proto} ${ip}:${port}`);
        if (proto === "tcp") {
          this.#listeners.get(`${ip}:${port}`)?.close();
          this.#listeners.delete(`${ip}:${port}`);
        }
        await this.#o
          .revoke?.({ ip, proto, port: Number(port) })
          .catch((e: unknown) =>
            this.#o.log.warn("the host firewall kept a released listener open", { listener: `${l} ${ip}`, error: e }),
          );
      }
      const udp = this.#udp.get(ip);
      if (udp) {
        this.#udp.delete(ip);
        await udp.closeAll();
      }
      await this.#ips
        ?.release(ip)
        .catch((e: unknown) => this.#o.log.warn("could not remove an idle virtual address", { ip, error: e }));
      this.released++;
      gone.push(ip);
    }
    if (gone.length > 0) this.#o.log.info("idle virtual addresses released", { count: gone.length });
    return gone;
  }

  /** Notes a use of `ip` (a connection or a new UDP source); returns a function for the connection's end. */
  #touch(ip: string): () => void {
    const use = this.#use.get(ip);
    if (!use) return () => {};
    use.lastUsed = Date.now();
    use.active++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      use.active--;
      use.lastUsed = Date.now();
    };
  }

  /** The listener on `ip:port`, open and reachable through the host firewall when this settles. */
  #listen(ip: string, port: number, n: SemanticName, proto: "tcp" | "udp"): Promise<void> {
    const key = `${proto} ${ip}:${port}`;
    let p = this.#opening.get(key);
    if (!p) {
      p = proto === "udp" ? this.#openUdp(ip, port, n) : this.#open(ip, port, n);
      this.#opening.set(key, p);
      this.#use.get(ip)?.listeners.add(`${proto} ${port}`);
      p.catch(() => this.#opening.delete(key)); // a failed attempt is retried by the next lookup
    }
    return p;
  }

  /**
   * UDP on `ip:port`: one session per source address and port (udp.ts), each a stream of framed datagrams to an
   * instance chosen by the policy when the session's first datagram arrives — through the local datagram bridge or
   * a tunnel — with the same namespace rules as TCP. A source that was refused is not asked about again for
   * {@link UDP_REFUSED_MS}: each of its datagrams would otherwise open (and lose) a tunnel stream.
   */
  async #openUdp(ip: string, port: number, n: SemanticName): Promise<void> {
    const service = serviceKey(n.service);
    const policy = n.kind === "service" ? n.policy : "none";
    const instanceId = n.kind === "instance" ? n.instanceId : undefined;
    let ingress = this.#udp.get(ip);
    if (!ingress) {
      ingress = new UdpIngress(ip);
      this.#udp.set(ip, ingress);
    }
    const refusedUntil = new Map<string, number>();
    const refuse = (src: string, from: string | undefined, why: string): void => {
      this.denied++;
      if (refusedUntil.size > 1024) refusedUntil.clear();
      refusedUntil.set(src, Date.now() + UDP_REFUSED_MS);
      this.#o.log.info("datagrams refused by namespace rules", { from: from ?? src, to: service, why });
    };
    const bound = await ingress.open(
      0n,
      port,
      {
        upstream: (src) => {
          if ((refusedUntil.get(src) ?? 0) > Date.now()) return undefined;
          this.#touch(ip)(); // a new source's session: the address is in use
          const source = this.#o.sourceOf(src.replace(/^::ffff:/, ""));
          if (!source?.service) {
            refuse(src, undefined, "the source is not an ICON service");
            return undefined;
          }
          const ctx = {
            client: src,
            from: source.service,
            fromInstance: source.leaseId,
            instanceId,
            transport: "udp" as const,
          };
          return {
            kind: "remote",
            connect: () =>
              this.#o.overlay.connect(service, policy, port, ctx).then(
                (d) => {
                  this.forwarded++;
                  return d;
                },
                (e: Error) => {
                  refuse(src, source.service, e.message);
                  throw e;
                },
              ),
          };
        },
      },
      port,
    );
    if (bound !== port) {
      await ingress.close(0n);
      this.#udp.delete(ip);
      throw new Error(`UDP port ${port} on ${ip} is taken`);
    }
    await this.#allow(ip, "udp", port);
  }

  async #open(ip: string, port: number, n: SemanticName): Promise<void> {
    const key = `${ip}:${port}`;
    const service = serviceKey(n.service);
    // Half-open: a client may end its side after its request (nc, HTTP/1.0) and still read the answer.
    const server = net.createServer({ allowHalfOpen: true }, (client) => {
      // From its first moment: a reset while the route is picked or the tunnel opened must not reach the process.
      client.on("error", () => client.destroy());
      client.once("close", this.#touch(ip));
      const src = client.remoteAddress ?? "";
      const source = this.#o.sourceOf(src.replace(/^::ffff:/, ""));
      client.pause();
      const refuse = (why: string): void => {
        this.denied++;
        this.#o.log.info("connection refused by namespace rules", { from: source?.service ?? src, to: service, why });
        client.destroy();
      };
      if (!source?.service) {
        refuse("the source is not an ICON service");
        return;
      }
      // Local instances are checked here; a remote yard checks the tunnel header's `from` the same way.
      const policy = n.kind === "service" ? n.policy : "none";
      const ctx = {
        client: src,
        from: source.service,
        fromInstance: source.leaseId,
        instanceId: n.kind === "instance" ? n.instanceId : undefined,
      };
      this.#o.overlay
        .connect(service, policy, port, ctx)
        .then((up) => {
          this.forwarded++;
          up.on("error", () => client.destroy());
          client.on("error", () => up.destroy());
          client.on("close", () => up.destroy());
          if (client.destroyed) {
            up.destroy();
            return;
          }
          // After a clean end the pipe has ended the client: let it flush rather than cut the answer's tail.
          up.on("close", () => {
            if (!client.writableEnded) client.destroy();
          });
          client.pipe(up).pipe(client);
          client.resume();
        })
        .catch((e: Error) => refuse(e.message));
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen({ port, host: ip, backlog: 1024 }, () => {
        server.off("error", reject);
        // An accept failure (EMFILE) is the server's error event: logged, never the process's end.
        server.on("error", (e) => this.#o.log.warn("a semantic listener failed", { listener: key, error: e }));
        resolve();
      });
    });
    this.#listeners.set(key, server);
    // Before the DNS answer names the address: the container's first connection must get through.
    await this.#allow(ip, "tcp", port);
  }

  async #allow(ip: string, proto: "tcp" | "udp", port: number): Promise<void> {
    try {
      await this.#o.allow?.({ ip, proto, port });
    } catch (e) {
      this.#o.log.warn("the host firewall would not let containers reach a listener of the yard", {
        listener: `${proto} ${ip}:${port}`,
        error: e,
      });
    }
  }
}
