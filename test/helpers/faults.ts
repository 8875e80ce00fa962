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
 * every `everyMs`, as a VPN coming up or Docker starting would. Chromium fails every request in flight with
 * net::ERR_NETWORK_CHANGED on such a change (a dummy link is not available in this kernel; a veth pair's address
 * changes are observed by Chromium without failing requests — checked in Chromium 150). One value unique among the
 * host's live processes, this process's pid, names both the address (198.19.128.0/17 holds one per pid: pid_max is
 * 32768 here) and its label (`lo:nc<pid>`), so parallel runs never touch each other's. At start, every `lo:nc<pid>`
 * address whose pid is gone (a run killed before its `stop()`) is removed. `stop()` ends the loop and removes the
 * address; `changes` counts the adds and removals made.
 */
export class AddressChurn {
  readonly label = `lo:nc${process.pid}`;
  readonly address = `198.19.${128 + ((process.pid >> 8) & 127)}.${process.pid & 255}/32`;
  changes = 0;
  /** The loop's failure (`ip` refused), if any: the churn then stopped. */
  error: Error | undefined;
  #running = true;
  readonly #loop: Promise<void>;

  constructor(everyMs = 60) {
    this.#loop = this.#churn(everyMs).catch((e: Error) => {
      this.error = e;
    });
  }

  async #churn(everyMs: number): Promise<void> {
    await sweepLeftChurn();
    while (this.#running) {
      await ipRun(["addr", "add", this.address, "dev", "lo", "label", this.label]);
      this.changes++;
      await new Promise((r) => setTimeout(r, everyMs));
      await ipRun(["addr", "del", this.address, "dev", "lo", "label", this.label]);
      this.changes++;
      await new Promise((r) => setTimeout(r, everyMs));
    }
  }

  async stop(): Promise<void> {
    this.#running = false;
    await this.#loop;
    await ipRun(["addr", "del", this.address, "dev", "lo", "label", this.label]).catch(() => {});
  }
}

/** Removes the `lo:nc<pid>` addresses of churns whose process is gone (SIGKILLed before its `stop()`). */
async function sweepLeftChurn(): Promise<void> {
  const out = await new Promise<string>((resolve, reject) =>
    execFile("ip", ["-j", "addr", "show", "dev", "lo"], (e, stdout) => (e ? reject(e) : resolve(stdout))),
  );
  const links = JSON.parse(out) as Array<{ addr_info: Array<{ local: string; prefixlen: number; label?: string }> }>;
  for (const a of links[0]?.addr_info ?? []) {
    const pid = /^lo:nc(\d+)$/.exec(a.label ?? "")?.[1];
    if (pid === undefined || alive(Number(pid))) continue;
    await ipRun(["addr", "del", `${a.local}/${a.prefixlen}`, "dev", "lo", "label", a.label!]).catch(() => {});
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

function ipRun(args: string[]): Promise<void> {
  return new Promise((resolve, reject) =>
    execFile("ip", args, (e, _out, err) =>
      e ? reject(new Error(`ip ${args.join(" ")}: ${err || e.message}`)) : resolve(),
    ),
  );
}
