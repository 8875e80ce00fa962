/**
 * Ingress: the only way into a lease's containers. Containers publish no host ports; for each exposed container
 * port the yard listens on its public host and splices each accepted TCP connection to the container's address
 * on the yard's private container network. A lease's ingress port is kept in the database and re-bound after a
 * restart, so clients keep the same endpoint.
 */
import net from "node:net";

export interface Target {
  host: string;
  port: number;
}

interface Listener {
  server: net.Server;
  sockets: Set<net.Socket>;
}

export class Ingress {
  readonly host: string;
  readonly #listeners = new Map<string, Listener>();
  connections = 0;

  constructor(host: string) {
    this.host = host;
  }

  /** Listens for lease `leaseId`'s container port (on `preferred` when free); returns the bound port.
   * `target()` is asked on every connection: undefined (container not running) refuses it. */
  async open(leaseId: bigint, containerPort: number, target: () => Target | undefined, preferred = 0): Promise<number> {
    const key = `${leaseId}/${containerPort}`;
    const existing = this.#listeners.get(key);
    if (existing) return (existing.server.address() as net.AddressInfo).port;
    const sockets = new Set<net.Socket>();
    const server = net.createServer((client) => {
      const t = target();
      if (!t) {
        client.destroy();
        return;
      }
      this.connections++;
      const upstream = net.connect(t.port, t.host);
      sockets.add(client).add(upstream);
      client.setNoDelay(true);
      upstream.setNoDelay(true);
      const done = (): void => {
        client.destroy();
        upstream.destroy();
        sockets.delete(client);
        sockets.delete(upstream);
      };
      client.on("error", done).on("close", done);
      upstream.on("error", done).on("close", done);
      client.pipe(upstream);
      upstream.pipe(client);
    });
    const listen = (port: number): Promise<void> =>
      new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, this.host, () => {
          server.off("error", reject);
          resolve();
        });
      });
    try {
      await listen(preferred);
    } catch (e) {
      if (preferred === 0 || (e as NodeJS.ErrnoException).code !== "EADDRINUSE") throw e;
      await listen(0);
    }
    this.#listeners.set(key, { server, sockets });
    return (server.address() as net.AddressInfo).port;
  }

  /** Stops listening for lease `leaseId` and cuts its open connections. */
  async close(leaseId: bigint): Promise<void> {
    const prefix = `${leaseId}/`;
    await Promise.all([...this.#listeners].filter(([k]) => k.startsWith(prefix)).map(([k, l]) => this.#closeOne(k, l)));
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.#listeners].map(([k, l]) => this.#closeOne(k, l)));
  }

  get open_(): number {
    return this.#listeners.size;
  }

  async #closeOne(key: string, l: Listener): Promise<void> {
    this.#listeners.delete(key);
    for (const s of l.sockets) s.destroy();
    await new Promise<void>((resolve) => l.server.close(() => resolve()));
  }
}
