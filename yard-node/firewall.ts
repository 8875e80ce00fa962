/**
 * The host firewall of the yard's container network: containers must not reach services of the host itself.
 *
 * A packet from a container to an address of the host (the bridge's gateway, the yard's virtual addresses, any
 * other address of the host, another yard's virtual addresses) is delivered locally and goes through the host's
 * INPUT hook, whose policy normally accepts it — so without this a container could connect to anything the host
 * serves on 0.0.0.0. The yard installs an nftables table of its own, `inet icon-yard-<yardId>`, whose input chain,
 * for packets arriving from the yard's bridge interface only:
 *  - accepts packets of connections the host opened (ct state established/related: the ingress and the semantic
 *    listeners connecting to containers, UDP replies to the yard's datagram bridge);
 *  - accepts exactly the (address, protocol, port) triples in the set `allowed`: the DNS responder on the gateway
 *    (UDP and TCP 53) and each ServiceIP/InstanceIP listener (TCP) — added by the yard as it opens them;
 *  - drops everything else (counted).
 * Traffic of other interfaces, and containers' traffic to the outside (the FORWARD hook), are not affected.
 *
 * The table is replaced atomically (`nft -f`: create, delete, define in one transaction), so a table left by a
 * yard that died is taken over on the next start, and removed by `remove()` when the yard stops. Needs `nft`
 * (Debian package nftables) and CAP_NET_ADMIN (root); `install()` rejects with HOST_FIREWALL_FAILED otherwise,
 * with the reason (`nft` missing, not permitted, its own words).
 */
import { execFile } from "node:child_process";
import { isIPv4 } from "node:net";
import { ConfigError, IconError } from "../protocol/errors.ts";

/** Runs `nft -f -` with `script` on its standard input; rejects with an error carrying `stderr`. */
export type NftCommand = (script: string) => Promise<void>;

export interface HostFirewallOptions {
  /** Names the table (`icon-yard-<yardId>`). */
  yardId: string;
  /** Runs nft (tests may pass a fake); default: the `nft` program. */
  nft?: NftCommand;
}

/** One (address, protocol, port) the yard's containers may reach on the host. */
export interface Allowed {
  ip: string;
  proto: "tcp" | "udp";
  port: number;
}

export class HostFirewall {
  readonly table: string;
  readonly #nft: NftCommand;
  /** The bridge it filters, once installed. */
  #bridge: string | undefined;
  readonly #allowed = new Map<string, Allowed>();

  constructor(o: HostFirewallOptions) {
    if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(o.yardId))
      throw new ConfigError("BAD_YARD_ID", `yard id ${JSON.stringify(o.yardId)} cannot name an nftables table`);
    this.table = `icon-yard-${o.yardId}`;
    this.#nft = o.nft ?? runNft;
  }

  /** The bridge interface filtered, when installed. */
  get bridge(): string | undefined {
    return this.#bridge;
  }

  /** What containers may reach on the host (kept across re-installs). */
  allowed(): Allowed[] {
    return [...this.#allowed.values()];
  }

  /** Installs (or replaces) the table for the bridge interface `bridge`, with every triple allowed so far. */
  async install(bridge: string): Promise<void> {
    if (!/^[a-zA-Z0-9_.:-]{1,15}$/.test(bridge))
      throw new ConfigError("BAD_DEVICE", `${JSON.stringify(bridge)} is not a network interface name`);
    const elements = [...this.#allowed.values()].map(element);
    const script = [
      // Create (so that the delete cannot fail), delete, define: one transaction.
      `table inet ${this.table}`,
      `delete table inet ${this.table}`,
      `table inet ${this.table} {`,
      `  set allowed {`,
      `    type ipv4_addr . inet_proto . inet_service`,
      ...(elements.length > 0 ? [`    elements = { ${elements.join(", ")} }`] : []),
      `  }`,
      `  chain input {`,
      `    type filter hook input priority filter; policy accept;`,
      `    iifname != "${bridge}" accept`,
      `    ct state established,related accept`,
      `    ip daddr . meta l4proto . th dport @allowed accept`,
      `    counter drop`,
      `  }`,
      `}`,
      "",
    ].join("\n");
    await this.#run(script, `installing table inet ${this.table}`);
    this.#bridge = bridge;
  }

  /** Lets containers reach `ip`:`port` over `proto` (a listener of the yard on the host); idempotent. */
  async allow(a: Allowed): Promise<void> {
    if (!isIPv4(a.ip) || !Number.isInteger(a.port) || a.port < 1 || a.port > 65535)
      throw new ConfigError("BAD_ALLOWED", `cannot allow ${a.proto} ${a.ip}:${a.port}`);
    const key = element(a);
    if (this.#allowed.has(key)) return;
    this.#allowed.set(key, { ...a });
    if (this.#bridge === undefined) return; // installed with the others
    try {
      await this.#run(`add element inet ${this.table} allowed { ${key} }\n`, `allowing ${a.proto} ${a.ip}:${a.port}`);
    } catch (e) {
      this.#allowed.delete(key);
      throw e;
    }
  }

  /** Takes back what {@link allow} let through (a listener the yard closed); nothing when it was not allowed. */
  async revoke(a: Allowed): Promise<void> {
    const key = element(a);
    if (!this.#allowed.delete(key) || this.#bridge === undefined) return;
    await this.#run(`delete element inet ${this.table} allowed { ${key} }\n`, `revoking ${a.proto} ${a.ip}:${a.port}`);
  }

  /** Removes the table (nothing when it is not there). */
  async remove(): Promise<void> {
    this.#bridge = undefined;
    // Create-then-delete: succeeds whether or not the table exists.
    await this.#run(`table inet ${this.table}\ndelete table inet ${this.table}\n`, `removing table inet ${this.table}`);
  }

  async #run(script: string, what: string): Promise<void> {
    try {
      await this.#nft(script);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException | null)?.code;
      const stderr = stderrOf(e);
      const why =
        code === "ENOENT"
          ? "the `nft` program is not installed (Debian package nftables)"
          : /Operation not permitted|Permission denied/i.test(stderr)
            ? "not permitted (nftables needs CAP_NET_ADMIN, i.e. root)"
            : stderr || (e as Error)?.message || String(e);
      throw new IconError("HOST_FIREWALL_FAILED", `${what} failed: ${why}`, {
        details: { table: this.table },
        cause: e,
      });
    }
  }
}

function element(a: Allowed): string {
  return `${a.ip} . ${a.proto} . ${a.port}`;
}

function runNft(script: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = execFile("nft", ["-f", "-"], { timeout: 10_000 }, (error, _stdout, stderr) => {
      if (error) reject(Object.assign(error, { stderr: String(stderr) }));
      else resolve();
    });
    child.stdin?.on("error", () => {}); // nft missing: the callback reports ENOENT
    child.stdin?.end(script);
  });
}

function stderrOf(e: unknown): string {
  const stderr = (e as { stderr?: unknown } | null)?.stderr;
  return typeof stderr === "string" ? stderr.trim() : "";
}
