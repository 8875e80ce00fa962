/**
 * The testbed's client end: runs inside a client network's namespace (Netbed.spawn) and opens TCP connections from
 * there for a load generator in the root namespace, which reaches it over a Unix socket (a path on the shared file
 * system crosses namespaces; an address does not).
 *
 * Per connection on the Unix socket, one request line `<host> <port> [<source address>]\n`; the answer is one line,
 * `ok\n` once the TCP connection from this namespace is up (then bytes flow both ways untouched until either side
 * closes), or `error <code>\n` and the end. The TCP connection is the kernel's, through the bed's delay elements:
 * what the yard at the other end sees — its source address, its round trip — is a client's in this network.
 *
 *   node scripts/netbed/forward.ts <unix socket path>      (prints "ready" once it listens)
 */
import { rmSync } from "node:fs";
import net from "node:net";

const MAX_LINE = 200;
const socketPath = process.argv[2];
if (!socketPath) {
  console.error("usage: node scripts/netbed/forward.ts <unix socket path>");
  process.exit(2);
}

// Half-open both ways: a client that ends its writes still gets the whole answer, as from the yard's ingress.
const server = net.createServer({ allowHalfOpen: true }, (local) => {
  let head = Buffer.alloc(0);
  local.on("error", () => {});
  const refuse = (): void => {
    local.off("data", onData);
    local.end("error BAD_REQUEST\n");
    local.destroySoon();
  };
  const onData = (d: Buffer): void => {
    head = Buffer.concat([head, d]);
    const nl = head.indexOf(10);
    if (nl < 0) {
      if (head.length > MAX_LINE) refuse();
      return;
    }
    local.off("data", onData);
    local.pause();
    const rest = head.subarray(nl + 1);
    const [host, port, src] = head.subarray(0, nl).toString("utf8").trim().split(" ");
    const p = Number(port);
    if (!host || net.isIP(host) === 0 || !Number.isInteger(p) || p < 1 || p > 65535 || (src && net.isIP(src) === 0)) {
      refuse();
      return;
    }
    const remote = net.connect({ host, port: p, allowHalfOpen: true, ...(src ? { localAddress: src } : {}) });
    remote.once("error", (e: NodeJS.ErrnoException) => {
      if (local.writable && !connected) local.end(`error ${e.code ?? "ECONNECT"}\n`);
      else local.destroy();
    });
    let connected = false;
    remote.once("connect", () => {
      connected = true;
      remote.setNoDelay(true);
      local.write("ok\n");
      if (rest.length > 0) remote.write(rest);
      local.pipe(remote);
      remote.pipe(local);
      local.resume();
    });
    local.once("close", () => remote.destroy());
    remote.once("close", () => local.destroy());
  };
  local.on("data", onData);
});
let listening = false;
server.on("error", (e) => {
  console.error(`forward: ${e.message}`);
  // Once listening, an error is an accept failure (EMFILE): that connection is lost, the forwarder goes on.
  if (!listening) process.exit(1);
});
// A forwarder killed before this one left its socket file behind.
rmSync(socketPath, { force: true });
server.listen(socketPath, () => {
  listening = true;
  process.stdout.write("ready\n");
});
