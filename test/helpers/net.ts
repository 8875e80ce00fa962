/**
 * Plain TCP helpers for tests that proxy connections (Ingress, tunnels): a server on loopback that allows
 * half-open sockets and closes whatever is still open when asked.
 */
import { once } from "node:events";
import net from "node:net";

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
