/**
 * A listening TCP socket inside another network namespace, for a yard whose public side lives there (a testbed
 * site: `publicNetns` in the yard's config). A socket belongs to the namespace it was created in, whatever process
 * holds it later; so a short-lived Node process started under `nsenter --net=<netns>` creates and binds it and
 * hands it over the IPC channel (SCM_RIGHTS), then exits. The yard accepts on it as on any listener: clients reach
 * it through the namespace's network (its routes, its delays), while the yard's containers stay on its own bridge.
 *
 * Needs `nsenter` (util-linux) and the right to enter the namespace (root). Errors: the binding's own (EADDRINUSE,
 * EADDRNOTAVAIL, …) come back with their `code`; anything else is a NETNS_LISTEN_FAILED IconError naming the fix.
 *
 * @example
 *   const handle = await listenInNetns("/run/netns/site-a", "198.18.1.1", 8080);
 *   server.listen(handle);  // server: a net.Server or http.Server with its own handlers
 */
import { spawn } from "node:child_process";
import type net from "node:net";
import { IconError } from "../protocol/index.ts";

// The helper's whole program (CommonJS, `node -e`): bind, hand the socket over, exit once it is sent.
const HELPER = `
const net = require("node:net");
process.once("message", (m) => {
  const s = net.createServer();
  s.once("error", (e) => process.send({ error: e.message, code: e.code }, () => process.exit(0)));
  s.listen({ host: m.host, port: m.port, backlog: m.backlog }, () =>
    process.send({ port: s.address().port }, s, { keepOpen: false }, () => process.exit(0)));
});
`;

/** Binds host:port inside `netns` (a path for `nsenter --net=`) and returns the listening handle. */
export function listenInNetns(netns: string, host: string, port: number, backlog = 4096): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const child = spawn("nsenter", [`--net=${netns}`, process.execPath, "-e", HELPER], {
      stdio: ["ignore", "ignore", "pipe", "ipc"],
    });
    let stderr = "";
    let settled = false;
    const done = (f: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      f();
    };
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      done(() => reject(failed(netns, "no answer within 10 s")));
    }, 10_000);
    child.stderr!.setEncoding("utf8");
    child.stderr!.on("data", (d: string) => {
      if (stderr.length < 2048) stderr += d;
    });
    child.on("error", (e: NodeJS.ErrnoException) =>
      done(() => reject(failed(netns, e.code === "ENOENT" ? "nsenter is missing (install util-linux)" : e.message, e))),
    );
    child.on("message", (m: { port?: number; error?: string; code?: string }, handle?: net.Server) => {
      // Settled already (timed out): a socket that arrives late is closed, never left listening unserved.
      if (settled) return void handle?.close();
      if (m.error !== undefined) {
        const e = Object.assign(new Error(`listening on ${host}:${port} in ${netns}: ${m.error}`), { code: m.code });
        return done(() => reject(e));
      }
      if (!handle) return done(() => reject(failed(netns, "the listening socket did not arrive")));
      done(() => resolve(handle));
    });
    // "close" comes after the IPC channel and stdio are drained: a message sent before the exit is seen first.
    child.on("close", (code) =>
      done(() =>
        reject(failed(netns, `the helper ended (code ${code}) before binding: ${stderr.trim() || "no output"}`)),
      ),
    );
    child.send({ host, port, backlog });
  });
}

function failed(netns: string, why: string, cause?: unknown): IconError {
  return new IconError(
    "NETNS_LISTEN_FAILED",
    `cannot listen in network namespace ${netns}: ${why}; check that it exists (ip netns list, or a /proc/<pid>/ns/net of a process in it) and that the yard runs as root`,
    cause === undefined ? {} : { cause },
  );
}
