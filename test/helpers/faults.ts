/** Fault injectors in front of real parts, for what the real part cannot produce on demand. */
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
