/**
 * Clients inside the packet-level testbed, for the load generator (loadgen.ts): a {@link ClientNetwork} whose
 * connections leave from a client network's namespace. Per client network one forwarder (scripts/netbed/forward.ts)
 * runs in its namespace behind a Unix socket in the bed's directory; each connection asks it for a TCP connection to
 * the target from a source address of the network's /24 (client i: .10 + i), so a yard sees distinct client
 * addresses of that subnet and the kernel's round trip along the bed's links. The forwarders die with the bed.
 *
 * @example
 *   const clients = new NetbedClients(bed, { cloud: bed.address("cloud") });
 *   const load = await startClients({ network: clients, subnet: "A", entry: `${bed.address("cloud")}:8080`, ... });
 */
import net from "node:net";
import path from "node:path";
import { ConfigError, IconError } from "../../protocol/errors.ts";
import { projectRoot } from "./hardhat.ts";
import type { ClientNetwork } from "./loadgen.ts";
import type { Netbed } from "./netbed.ts";

const FORWARDER = path.join(projectRoot, "scripts/netbed/forward.ts");
const READY_TIMEOUT_MS = 10_000;
const FIRST_CLIENT_HOST = 10;
const MAX_CLIENTS = 240;

export class NetbedClients implements ClientNetwork {
  readonly #bed: Netbed;
  /** Yard name → its public host (the site's address in the bed). */
  readonly #yards: Map<string, string>;
  readonly #forwarders = new Map<string, Promise<string>>();

  constructor(bed: Netbed, yards: Record<string, string>) {
    this.#bed = bed;
    this.#yards = new Map(Object.entries(yards));
  }

  /** The bed's client networks (nodes of role "clients"). */
  subnetNames(): string[] {
    return this.#bed.nodes().filter((n) => this.#bed.subnet(n) !== undefined);
  }

  /** The yard whose public host `hostOrTarget` ("host" or "host:port") is. */
  yardOf(hostOrTarget: string): string | undefined {
    const host = hostOrTarget.replace(/:\d+$/, "");
    for (const [name, h] of this.#yards) if (h === host) return name;
    return undefined;
  }

  /** Adds (or moves) a yard's public host. */
  setYard(name: string, host: string): void {
    this.#yards.set(name, host);
  }

  /** The source address client `client` of `subnet` uses. */
  sourceOf(subnet: string, client: number): string {
    const cidr = this.#bed.subnet(subnet);
    if (!cidr) throw new ConfigError("UNKNOWN_NODE", `"${subnet}" is not a client network of the bed`);
    if (!Number.isSafeInteger(client) || client < 0 || client >= MAX_CLIENTS)
      throw new ConfigError("BAD_LOAD_CONFIG", `client ${client}: 0 to ${MAX_CLIENTS - 1} clients per network`);
    return cidr.replace(/\.0\/24$/, `.${FIRST_CLIENT_HOST + client}`);
  }

  async connect(subnet: string, target: string, client: number, signal: AbortSignal): Promise<net.Socket> {
    const source = this.sourceOf(subnet, client);
    const i = target.lastIndexOf(":");
    const sockPath = await this.#forwarder(subnet);
    const sock = net.connect({ path: sockPath });
    return new Promise<net.Socket>((resolve, reject) => {
      let line = Buffer.alloc(0);
      const fail = (e: Error): void => {
        cleanup();
        sock.destroy();
        reject(e);
      };
      const onAbort = (): void => fail(signal.reason instanceof Error ? signal.reason : new Error("aborted"));
      const onError = (e: Error): void => fail(e);
      const onClose = (): void => fail(Object.assign(new Error("the bed's forwarder closed"), { code: "ECONNRESET" }));
      const onData = (d: Buffer): void => {
        line = Buffer.concat([line, d]);
        const nl = line.indexOf(10);
        if (nl < 0) {
          if (line.length > 200) fail(new Error(`the bed's forwarder of ${subnet} answered no line`));
          return;
        }
        const answer = line.subarray(0, nl).toString("latin1");
        if (answer !== "ok") {
          const code = answer.replace(/^error /, "") || "ECONNECT";
          return fail(Object.assign(new Error(`${code} from ${subnet} to ${target}`), { code }));
        }
        cleanup();
        // Bytes after the answer line are the target's first (a server that speaks first): the caller reads them.
        sock.pause();
        const rest = line.subarray(nl + 1);
        if (rest.length > 0) sock.unshift(rest);
        resolve(sock);
      };
      const cleanup = (): void => {
        signal.removeEventListener("abort", onAbort);
        sock.off("data", onData).off("error", onError).off("close", onClose);
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener("abort", onAbort);
      sock.on("data", onData).on("error", onError).on("close", onClose);
      sock.write(`${target.slice(0, i)} ${target.slice(i + 1)} ${source}\n`);
    });
  }

  #forwarder(subnet: string): Promise<string> {
    let p = this.#forwarders.get(subnet);
    if (!p) {
      p = this.#startForwarder(subnet);
      this.#forwarders.set(subnet, p);
      p.catch(() => this.#forwarders.delete(subnet));
    }
    return p;
  }

  async #startForwarder(subnet: string): Promise<string> {
    const sockPath = path.join(this.#bed.dir, `clients-${subnet}.sock`);
    const child = this.#bed.spawn(subnet, process.execPath, [FORWARDER, sockPath], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.on("error", (e) => (err += `\n${e.message}`));
    let out = "";
    let err = "";
    child.stderr!.setEncoding("utf8").on("data", (d: string) => (err = (err + d).slice(-2000)));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => fail("did not start in time"), READY_TIMEOUT_MS);
      const fail = (why: string): void => {
        clearTimeout(timer);
        child.kill("SIGKILL");
        reject(new IconError("NETBED_FAILED", `the client forwarder of ${subnet} ${why}: ${err.trim()}`));
      };
      child.stdout!.setEncoding("utf8").on("data", (d: string) => {
        out += d;
        if (out.includes("ready\n")) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once("exit", (code, sig) => fail(`exited (${sig ?? code})`));
      child.once("error", (e) => fail(`could not start: ${e.message}`));
    });
    child.stdout!.resume();
    child.once("exit", () => this.#forwarders.delete(subnet));
    return sockPath;
  }
}
