/**
 * bench:proxy's host side: wrk and HAProxy (Debian's packages, installed when missing), HAProxy as the L4 reference
 * proxy, the bench's child processes (kept in `children`, stopped gracefully or killed at the end), and small
 * socket helpers (a free port, waiting for a listener, one GET).
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import http from "node:http";
import net from "node:net";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { say } from "./config.ts";

/** The bench's child processes still running: HAProxy and the tunnel ends. */
export const children = new Set<ChildProcess>();

function which(bin: string): string | undefined {
  for (const dir of [...(process.env.PATH ?? "").split(":"), "/usr/sbin", "/usr/bin"]) {
    if (dir && existsSync(path.join(dir, bin))) return path.join(dir, bin);
  }
  return undefined;
}

/**
 * Installs Debian's haproxy and wrk when missing. (On a host run by systemd the package also enables its own
 * haproxy.service, whose default configuration listens on nothing; in containers nothing is started.)
 */
export function ensurePackages(): { haproxy: string } {
  const missing = ["haproxy", "wrk"].filter((b) => !which(b));
  if (missing.length > 0) {
    if (process.getuid?.() !== 0)
      throw new Error(`${missing.join(" and ")} missing: apt-get install ${missing.join(" ")}`);
    say(`installing ${missing.join(" ")} (apt-get) …`);
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    const install = (): void =>
      void execFileSync("apt-get", ["install", "-y", "-q", "--no-install-recommends", ...missing], {
        env,
        stdio: ["ignore", 2, 2],
      });
    try {
      install();
    } catch {
      execFileSync("apt-get", ["update", "-q"], { env, stdio: ["ignore", 2, 2] });
      install();
    }
  }
  const haproxy = which("haproxy");
  if (!haproxy || !which("wrk")) throw new Error("haproxy or wrk is still missing after apt-get install");
  return { haproxy };
}

export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const { port } = s.address() as net.AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function waitPort(port: number, what: string, child?: ChildProcess): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (child && child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, "127.0.0.1");
      s.once("connect", () => {
        s.destroy();
        resolve(true);
      });
      s.once("error", () => resolve(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`${what} does not listen on 127.0.0.1:${port}`);
}

/** GET http://`endpoint`/ on a connection of its own: "<status> <body>". */
export function httpGet(endpoint: string): Promise<string> {
  const [host, port] = splitEndpoint(endpoint);
  return new Promise((resolve, reject) => {
    http
      .get({ host, port, path: "/", agent: false, timeout: 5000 }, (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => (body += d));
        res.on("end", () => resolve(`${res.statusCode} ${body}`));
      })
      .on("timeout", function (this: http.ClientRequest) {
        this.destroy(new Error(`no answer from ${endpoint} within 5 s`));
      })
      .on("error", reject);
  });
}

export function splitEndpoint(endpoint: string): [string, number] {
  const i = endpoint.lastIndexOf(":");
  return [endpoint.slice(0, i), Number(endpoint.slice(i + 1))];
}

async function startHaproxy(bin: string, dir: string, name: string, config: string, port: number) {
  const file = path.join(dir, `${name}.cfg`);
  await writeFile(file, config);
  const c = spawn(bin, ["-db", "-f", file], { stdio: ["ignore", 2, 2] });
  children.add(c);
  c.once("exit", () => children.delete(c));
  await waitPort(port, `haproxy (${name})`, c);
  return c;
}

export async function stopChild(c: ChildProcess | undefined, graceful?: () => void): Promise<void> {
  if (!c || c.exitCode !== null || c.signalCode !== null) return;
  const exited = new Promise((r) => c.once("exit", r));
  if (graceful) graceful();
  else c.kill("SIGTERM");
  if ((await Promise.race([exited, sleep(5000, "timeout")])) === "timeout") {
    c.kill("SIGKILL");
    await exited;
  }
  children.delete(c);
}

const HAPROXY_DEFAULTS = `
  timeout connect 5s
  timeout client 60s
  timeout server 60s`;

/** HAProxy as an L4 proxy (`mode tcp`, one thread: one core against one Node thread) on a free port, to `upstream`. */
export async function startL4Haproxy(
  bin: string,
  dir: string,
  upstream: string,
): Promise<{ child: ChildProcess; port: number }> {
  const port = await freePort();
  const child = await startHaproxy(
    bin,
    dir,
    "proxy",
    `global\n  nbthread 1\n  maxconn 4096\ndefaults\n  mode tcp${HAPROXY_DEFAULTS}
frontend proxy
  bind 127.0.0.1:${port}
  default_backend upstream
backend upstream
  server upstream ${upstream}\n`,
    port,
  );
  return { child, port };
}
