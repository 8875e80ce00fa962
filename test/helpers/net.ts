/**
 * Plain TCP helpers for tests that proxy connections (Ingress, tunnels): a server on loopback that allows
 * half-open sockets and closes whatever is still open when asked.
 */
import { once } from "node:events";
import net from "node:net";
import type { Duplex } from "node:stream";

/** A TCP server on loopback (half-open sockets allowed); returns its port and a closer. */
export async function tcpServer(onSocket: (s: net.Socket) => void): Promise<{
  port: number;
  server: net.Server;
  connections: () => number;
  open: () => number;
  close: () => Promise<void>;
}> {
  let n = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    n++;
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => {});
    onSocket(s);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    port: (server.address() as net.AddressInfo).port,
    server,
    connections: () => n,
    /** Connections open now. */
    open: () => sockets.size,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

/** The HTTP/1.0 request the overlay tests send: one GET of `/`. */
export const HTTP10_GET = "GET / HTTP/1.0\r\nHost: x\r\n\r\n";

/** One raw HTTP/1.0 request over a fresh TCP connection to `host:port`; resolves with the whole response. */
export function rawGet(endpoint: string, timeoutMs = 10_000): Promise<string> {
  const [host, port] = endpoint.split(":") as [string, string];
  return new Promise((resolve, reject) => {
    const s = net.connect(Number(port), host);
    const chunks: Buffer[] = [];
    s.setTimeout(timeoutMs, () => s.destroy(new Error("timeout")));
    s.on("connect", () => s.write(HTTP10_GET));
    s.on("data", (d: Buffer) => chunks.push(d));
    s.on("error", reject);
    s.on("close", () => resolve(Buffer.concat(chunks).toString()));
  });
}

/** Sends one HTTP/1.0 request over an overlay connection (a Duplex); resolves with the whole response. */
export function getOver(d: Duplex, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const t = setTimeout(() => d.destroy(new Error("timeout")), timeoutMs);
    d.on("data", (c: Buffer) => chunks.push(c));
    d.on("error", (e) => {
      clearTimeout(t);
      reject(e);
    });
    d.on("close", () => {
      clearTimeout(t);
      resolve(Buffer.concat(chunks).toString());
    });
    d.end(HTTP10_GET);
  });
}
