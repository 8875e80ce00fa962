/**
 * The yard's virtual addresses (thesis, proxy chapter): one ServiceIP per (service, routing policy) and one
 * InstanceIP per (service, instance), allocated from a CIDR of the yard (default 10.233.0.0/16) and stable for the
 * lifetime of the `VirtualIps` object (the yard's): asking again for the same name gives the same address, and a
 * released address is handed out again only after every other address of the CIDR has been used.
 *
 * Each allocated address is put on a host interface as a /32 (`ip addr add <ip>/32 dev <device>`), so that the
 * yard's proxy can `listen(port, ip)` on exactly that address. The device is the yard's Docker bridge
 * (`DockerRuntime.networkInfo().bridge`, see {@link VirtualIps.onNetwork}): a container on the bridge reaches the
 * address through its default gateway (the host on the bridge; Linux accepts a packet for any local address on any
 * interface), and the addresses vanish with the bridge if the yard dies without cleaning up. `release()` and
 * `close()` remove them (`ip addr del`); `removeStale()` removes leftovers of a previous run on the same device.
 *
 * Addresses of the CIDR that some other interface of the host already has are skipped (another yard, another
 * program; the host's addresses are read once, at the first allocation: give each yard on a host its own range). Needs CAP_NET_ADMIN (root) for `ip`. Errors: VIRTUAL_IP_FAILED (`ip` failed, its words quoted),
 * VIRTUAL_IPS_EXHAUSTED, VIRTUAL_IPS_CLOSED; a bad CIDR, device or name is a ConfigError / BAD_SEMANTIC_NAME.
 */
import { execFile } from "node:child_process";
import { isIPv4 } from "node:net";
import { ConfigError, IconError } from "../../protocol/errors.ts";
import type { ContainerRuntime, NetworkInfo } from "../runtime.ts";
import { formatName, parseName, parseServiceKey, type SemanticName } from "./names.ts";
import type { ServiceName } from "./types.ts";

export const DEFAULT_VIRTUAL_CIDR = "10.233.0.0/16";

/** Runs `ip` with the given arguments; resolves with its stdout, rejects with an error carrying `stderr`. */
export type IpCommand = (args: string[]) => Promise<string>;

export interface VirtualIpsOptions {
  /** The host interface the addresses go on (the yard's bridge). */
  device: string;
  /** IPv4 CIDR to allocate from; default {@link DEFAULT_VIRTUAL_CIDR}. */
  cidr?: string;
  /** Runs `ip` (tests may pass a fake); default: the `ip` program of iproute2. */
  ip?: IpCommand;
}

/** One allocated address and what it stands for. */
export interface VirtualIp {
  ip: string;
  name: SemanticName;
}

interface Entry {
  ip: string;
  n: number;
  name: SemanticName;
  /** Settles when the address is on the device (rejects when adding it failed). */
  ready: Promise<void>;
}

export class VirtualIps {
  readonly device: string;
  readonly cidr: string;
  readonly #ip: IpCommand;
  readonly #first: number;
  readonly #last: number;
  /** Canonical name text → entry, and the reverse. */
  readonly #byName = new Map<string, Entry>();
  readonly #byIp = new Map<number, Entry>();
  /** The next address to try: allocation goes round the CIDR, so released addresses are reused last. */
  #cursor: number;
  #foreign: Promise<Set<number>> | undefined;
  #closed = false;

  constructor(o: VirtualIpsOptions) {
    if (typeof o.device !== "string" || !/^[a-zA-Z0-9_.:-]{1,15}$/.test(o.device)) {
      throw new ConfigError("BAD_DEVICE", `device ${JSON.stringify(o.device)} is not a network interface name`);
    }
    this.device = o.device;
    this.cidr = o.cidr ?? DEFAULT_VIRTUAL_CIDR;
    const { base, prefix } = parseCidr(this.cidr);
    const size = 2 ** (32 - prefix);
    // A /31 or /32 has no network and broadcast address to leave out.
    this.#first = prefix >= 31 ? base : base + 1;
    this.#last = prefix >= 31 ? base + size - 1 : base + size - 2;
    this.#cursor = this.#first;
    this.#ip = o.ip ?? runIp;
  }

  /** Virtual addresses on the bridge of `runtime`'s network; the CIDR must not overlap the network's subnet. */
  static async onNetwork(
    runtime: ContainerRuntime,
    o: { cidr?: string; ip?: IpCommand } = {},
  ): Promise<{ ips: VirtualIps; network: NetworkInfo }> {
    if (!runtime.networkInfo) {
      throw new ConfigError("NO_BRIDGE", "the container runtime has no host bridge to put virtual addresses on");
    }
    const network = await runtime.networkInfo();
    const cidr = o.cidr ?? DEFAULT_VIRTUAL_CIDR;
    parseCidr(cidr);
    if (overlaps(cidr, network.subnet)) {
      throw new ConfigError(
        "BAD_VIRTUAL_CIDR",
        `the virtual address range ${cidr} overlaps the container network ${network.name} (${network.subnet}); ` +
          "choose another range",
        { details: { cidr, subnet: network.subnet } },
      );
    }
    return { ips: new VirtualIps({ device: network.bridge, cidr, ip: o.ip }), network };
  }

  /** The ServiceIP of `service` (a ServiceName or `app.appns.service.servicens`) for a routing policy. */
  async serviceIp(service: ServiceName | string, policy: string): Promise<string> {
    return this.allocate({ kind: "service", service: toService(service), policy });
  }

  /** The InstanceIP of `service`'s instance (lease) `instanceId`. */
  async instanceIp(service: ServiceName | string, instanceId: bigint): Promise<string> {
    return this.allocate({ kind: "instance", service: toService(service), instanceId });
  }

  /**
   * The address of a semantic name (parsed, or its text): the one it already has, or a new one put on the device.
   * Concurrent calls for one name share one address.
   */
  async allocate(name: SemanticName | string): Promise<string> {
    const n = typeof name === "string" ? parseName(name) : name;
    const key = formatName(n);
    this.#open();
    const known = this.#byName.get(key);
    if (known) {
      await known.ready;
      return known.ip;
    }
    const foreignPromise = (this.#foreign ??= this.#readForeign());
    const foreign = await foreignPromise.catch((e: unknown) => {
      this.#foreign = undefined;
      throw e;
    });
    this.#open();
    const again = this.#byName.get(key); // allocated by a concurrent call meanwhile
    if (again) {
      await again.ready;
      return again.ip;
    }
    const num = this.#free(foreign);
    const ip = toIp(num);
    const entry: Entry = { ip, n: num, name: parseName(key), ready: this.#add(ip) };
    this.#byName.set(key, entry);
    this.#byIp.set(num, entry);
    try {
      await entry.ready;
    } catch (e) {
      if (this.#byName.get(key) === entry) this.#byName.delete(key);
      if (this.#byIp.get(num) === entry) this.#byIp.delete(num);
      throw e;
    }
    return ip;
  }

  /** The address a name has, without allocating one. */
  get(name: SemanticName | string): string | undefined {
    const n = typeof name === "string" ? parseName(name) : name;
    return this.#byName.get(formatName(n))?.ip;
  }

  /** What an address stands for (reverse lookup), or undefined when it is not allocated. */
  lookup(ip: string): SemanticName | undefined {
    if (!isIPv4(ip)) return undefined;
    const e = this.#byIp.get(toNum(ip));
    return e ? structuredClone(e.name) : undefined;
  }

  /** Every allocated address, in allocation order. */
  entries(): VirtualIp[] {
    return [...this.#byName.values()].map((e) => ({ ip: e.ip, name: structuredClone(e.name) }));
  }

  get size(): number {
    return this.#byName.size;
  }

  /**
   * Releases an address (given as itself or by its name) and removes it from the device; false when it was not
   * allocated. A later allocation of the same name gets a new address.
   */
  async release(what: string | SemanticName): Promise<boolean> {
    let entry: Entry | undefined;
    if (typeof what === "string" && isIPv4(what)) entry = this.#byIp.get(toNum(what));
    else entry = this.#byName.get(formatName(typeof what === "string" ? parseName(what) : what));
    if (!entry) return false;
    this.#byName.delete(formatName(entry.name));
    this.#byIp.delete(entry.n);
    try {
      await entry.ready;
    } catch {
      return true; // never added
    }
    await this.#del(entry.ip);
    return true;
  }

  /** Removes addresses of the CIDR from the device that this object did not allocate (a crashed run's); returns them. */
  async removeStale(): Promise<string[]> {
    const stale = (await this.#hostAddresses())
      .filter((a) => a.device === this.device && this.#inRange(a.n) && !this.#byIp.has(a.n))
      .map((a) => toIp(a.n));
    for (const ip of stale) await this.#del(ip);
    return stale;
  }

  /** Releases every address (removing them from the device); later allocations fail with VIRTUAL_IPS_CLOSED. */
  async close(): Promise<void> {
    this.#closed = true;
    const entries = [...this.#byName.values()];
    const failures: unknown[] = [];
    for (const e of entries) {
      try {
        await this.release(e.ip);
      } catch (err) {
        failures.push(err);
      }
    }
    if (failures.length > 0) throw failures[0];
  }

  #open(): void {
    if (this.#closed) throw new IconError("VIRTUAL_IPS_CLOSED", "the yard's virtual addresses are closed");
  }

  #inRange(n: number): boolean {
    return n >= this.#first && n <= this.#last;
  }

  /** The next free address at or after the cursor (wrapping round). */
  #free(foreign: Set<number>): number {
    const size = this.#last - this.#first + 1;
    for (let i = 0; i < size; i++) {
      const n = this.#first + ((this.#cursor - this.#first + i) % size);
      if (this.#byIp.has(n) || foreign.has(n)) continue;
      this.#cursor = n === this.#last ? this.#first : n + 1;
      return n;
    }
    throw new IconError(
      "VIRTUAL_IPS_EXHAUSTED",
      `every address of ${this.cidr} is in use (${this.#byIp.size} allocated); configure a larger range`,
      { details: { cidr: this.cidr } },
    );
  }

  async #add(ip: string): Promise<void> {
    try {
      await this.#ip(["addr", "add", `${ip}/32`, "dev", this.device]);
    } catch (e) {
      if (/already assigned|File exists/i.test(stderrOf(e))) return; // left by a previous run: adopt it
      throw ipFailed(`ip addr add ${ip}/32 dev ${this.device}`, e);
    }
  }

  async #del(ip: string): Promise<void> {
    try {
      await this.#ip(["addr", "del", `${ip}/32`, "dev", this.device]);
    } catch (e) {
      if (/not found|Cannot assign|Cannot find device/i.test(stderrOf(e))) return; // already gone
      throw ipFailed(`ip addr del ${ip}/32 dev ${this.device}`, e);
    }
  }

  /** Addresses of the CIDR that other interfaces have. */
  async #readForeign(): Promise<Set<number>> {
    const all = await this.#hostAddresses();
    return new Set(all.filter((a) => a.device !== this.device && this.#inRange(a.n)).map((a) => a.n));
  }

  async #hostAddresses(): Promise<{ device: string; n: number }[]> {
    let out: string;
    try {
      out = await this.#ip(["-j", "-4", "addr", "show"]);
    } catch (e) {
      throw ipFailed("ip -j -4 addr show", e);
    }
    let parsed: { ifname?: string; addr_info?: { family?: string; local?: string }[] }[];
    try {
      parsed = JSON.parse(out || "[]") as typeof parsed;
    } catch (e) {
      throw new IconError("VIRTUAL_IP_FAILED", "`ip -j -4 addr show` printed something that is not JSON", {
        cause: e,
      });
    }
    const found: { device: string; n: number }[] = [];
    for (const link of parsed) {
      for (const a of link.addr_info ?? []) {
        if (a.family === "inet" && typeof a.local === "string" && isIPv4(a.local)) {
          found.push({ device: link.ifname ?? "", n: toNum(a.local) });
        }
      }
    }
    return found;
  }
}

/** `base` (as a 32-bit number) and prefix of an IPv4 CIDR; throws ConfigError BAD_VIRTUAL_CIDR. */
export function parseCidr(cidr: string): { base: number; prefix: number } {
  const m = typeof cidr === "string" ? /^(\d+\.\d+\.\d+\.\d+)\/(\d{1,2})$/.exec(cidr) : null;
  const prefix = m ? Number(m[2]) : NaN;
  if (!m || !isIPv4(m[1]) || !(prefix >= 8 && prefix <= 32)) {
    throw new ConfigError(
      "BAD_VIRTUAL_CIDR",
      `virtual address range ${JSON.stringify(cidr)} must be an IPv4 CIDR from /8 to /32 (e.g. ${DEFAULT_VIRTUAL_CIDR})`,
      { details: { cidr } },
    );
  }
  const n = toNum(m[1]);
  const base = prefix === 32 ? n : (n & (~0 << (32 - prefix))) >>> 0;
  if (base !== n) {
    throw new ConfigError(
      "BAD_VIRTUAL_CIDR",
      `virtual address range ${cidr} has host bits set; did you mean ${toIp(base)}/${prefix}?`,
      { details: { cidr } },
    );
  }
  return { base, prefix };
}

/** True when two IPv4 CIDRs share an address. */
export function overlaps(a: string, b: string): boolean {
  const x = parseCidrLoose(a);
  const y = parseCidrLoose(b);
  const prefix = Math.min(x.prefix, y.prefix);
  const mask = prefix === 0 ? 0 : (~0 << (32 - prefix)) >>> 0;
  return (x.n & mask) >>> 0 === (y.n & mask) >>> 0;
}

function parseCidrLoose(cidr: string): { n: number; prefix: number } {
  const [ip, p] = cidr.split("/");
  if (!isIPv4(ip)) throw new ConfigError("BAD_VIRTUAL_CIDR", `${JSON.stringify(cidr)} is not an IPv4 CIDR`);
  return { n: toNum(ip), prefix: p === undefined ? 32 : Number(p) };
}

function toNum(ip: string): number {
  return ip.split(".").reduce((acc, part) => acc * 256 + Number(part), 0);
}

function toIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

function toService(s: ServiceName | string): ServiceName {
  return typeof s === "string" ? parseServiceKey(s) : s;
}

function runIp(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile("ip", args, { timeout: 10_000, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(Object.assign(error, { stderr: String(stderr) }));
      else resolve(String(stdout));
    });
  });
}

function stderrOf(e: unknown): string {
  const stderr = (e as { stderr?: unknown } | null)?.stderr;
  return typeof stderr === "string" ? stderr.trim() : "";
}

function ipFailed(command: string, e: unknown): IconError {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  const why =
    code === "ENOENT"
      ? "the `ip` program (iproute2) is not installed"
      : stderrOf(e) || (e as Error)?.message || String(e);
  return new IconError(
    "VIRTUAL_IP_FAILED",
    `\`${command}\` failed: ${why} (virtual addresses need iproute2 and CAP_NET_ADMIN, i.e. root)`,
    { details: { command }, cause: e },
  );
}
