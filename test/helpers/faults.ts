/** Fault injectors in front of real parts, for what the real part cannot produce on demand. */
import { execFile } from "node:child_process";
import { createConnection, createServer, type Server, type Socket } from "node:net";

/**
 * Pipes `client` ⇄ `upstream` byte for byte, both kept in `open` until either side errors or closes, which destroys
 * both: the connection body of the fault proxies here and in docker.ts, whose `down()` destroys what `open` holds.
 */
export function splice(client: Socket, upstream: Socket, open: Set<Socket>): void {
  open.add(client).add(upstream);
  const drop = (): void => {
    client.destroy();
    upstream.destroy();
    open.delete(client);
    open.delete(upstream);
  };
  client.on("error", drop).on("close", drop);
  upstream.on("error", drop).on("close", drop);
  client.pipe(upstream);
  upstream.pipe(client);
}

/**
 * A TCP proxy on 127.0.0.1 in front of the chain's JSON-RPC port, forwarding byte for byte, that a test can take
 * down and bring back: `down()` closes the listener and destroys every connection (the port refuses, requests in
 * flight fail), `up()` listens on the same port again. It injects an outage the real part cannot produce on demand:
 * the embedded chain cannot be stopped and started again with its state, and the tenant's own client must keep
 * reaching it meanwhile.
 */
export class FlakyRpcProxyFake {
  readonly target: { host: string; port: number };
  /** The proxy's port (chosen by the first `up()`, kept afterwards). */
  port = 0;
  /** Connections accepted so far. */
  accepted = 0;
  #server: Server | undefined;
  readonly #sockets = new Set<Socket>();

  constructor(targetUrl: string) {
    const u = new URL(targetUrl);
    this.target = { host: u.hostname, port: Number(u.port) };
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async up(): Promise<void> {
    if (this.#server) return;
    const server = createServer((client) => {
      this.accepted++;
      const upstream = createConnection(this.target.port, this.target.host);
      splice(client, upstream, this.#sockets);
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.port, "127.0.0.1", () => resolve());
    });
    this.port = (server.address() as { port: number }).port;
    this.#server = server;
  }

  async down(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    for (const s of this.#sockets) s.destroy();
    this.#sockets.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/**
 * The host's addresses changing, for real: a loop adds an address of 198.18.0.0/15 to `lo` and removes it again
 * (label `lo:<name>`, /32, one of 254 per churn) every `everyMs`, as a VPN coming up or Docker starting would.
 * Chromium fails every request in flight with net::ERR_NETWORK_CHANGED on such a change (a dummy link is not
 * available in this kernel; a veth pair's address changes are observed by Chromium without failing requests —
 * checked in Chromium 150). `stop()` ends the loop and removes every address of the label; `changes` counts the
 * adds and removals made.
 */
export class AddressChurn {
  readonly label: string;
  readonly net: string;
  changes = 0;
  /** The loop's failure (`ip` refused), if any: the churn then stopped. */
  error: Error | undefined;
  #running = true;
  readonly #loop: Promise<void>;

  /** `name`: at most 12 characters, unique to the caller (the label's suffix); `third`: the /24's third octet. */
  constructor(name: string, third: number, everyMs = 60) {
    this.label = `lo:${name}`;
    this.net = `198.19.${third}`;
    this.#loop = this.#churn(everyMs).catch((e: Error) => {
      this.error = e;
    });
  }

  async #churn(everyMs: number): Promise<void> {
    for (let i = 0; this.#running; i++) {
      const a = `${this.net}.${1 + (i % 254)}/32`;
      await ipRun(["addr", "add", a, "dev", "lo", "label", this.label]);
      this.changes++;
      await new Promise((r) => setTimeout(r, everyMs));
      await ipRun(["addr", "del", a, "dev", "lo"]);
      this.changes++;
      await new Promise((r) => setTimeout(r, everyMs));
    }
  }

  async stop(): Promise<void> {
    this.#running = false;
    await this.#loop;
    await ipRun(["addr", "flush", "dev", "lo", "label", this.label]).catch(() => {});
  }
}

function ipRun(args: string[]): Promise<void> {
  return new Promise((resolve, reject) =>
    execFile("ip", args, (e, _out, err) =>
      e ? reject(new Error(`ip ${args.join(" ")}: ${err || e.message}`)) : resolve(),
    ),
  );
}
