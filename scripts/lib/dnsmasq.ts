/**
 * A real DNS server for tests and the demo: dnsmasq (Debian) on 127.0.0.1 and a free port, serving records given
 * as BIND zone-file lines — the same lines `zoneRecords` prints for operators — translated into dnsmasq options
 * (srv-host=, txt-record=, ptr-record=, cname=, host-record=). Nothing is forwarded upstream: names under the served domains that
 * have no record answer NXDOMAIN, other names REFUSED.
 *
 * @example
 *   const dns = await startDnsmasq({ records: zoneRecords({ domain, host, port, peerId }) });
 *   try { ... createResolver({ servers: [dns.server] }) ... } finally { await dns.stop(); }
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createSocket } from "node:dgram";
import { access, constants, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Resolver } from "node:dns/promises";
import { createServer, isIP } from "node:net";

/** Options of {@link startDnsmasq}. */
export interface DnsmasqOptions {
  /**
   * BIND lines with absolute names: `<name>. [ttl] [IN] SRV|TXT|PTR|CNAME|A|AAAA <data>`; `;` comments and blanks
   * ignored. dnsmasq serves a CNAME only towards a name it holds itself, and refuses to start on a CNAME loop.
   */
  records: string[];
  /** Domains answered locally (NXDOMAIN when a name has no record); default: the last label of every name. */
  localDomains?: string[];
  /**
   * Port to listen on (UDP and TCP; one {@link reserveDnsPort} held until now, so that others can be told it
   * first): dnsmasq starts there or not at all. Default a free one.
   */
  port?: number;
}

/** A running dnsmasq. */
export interface Dnsmasq {
  /** "127.0.0.1:<port>", the form createResolver's `servers` takes. */
  server: string;
  port: number;
  /** The generated dnsmasq configuration lines (for assertions and debugging). */
  config: string[];
  /** Stops dnsmasq and removes its temporary directory. */
  stop(): Promise<void>;
}

const SETUP_HINT = "run `bash scripts/setup-system.sh` (as root) to install it";

/**
 * Translates BIND lines into dnsmasq options. Throws on records it cannot express (other types, relative names,
 * TXT strings with quotes or backslashes).
 */
export function dnsmasqRecordOptions(records: string[]): { options: string[]; names: string[] } {
  const options: string[] = [];
  const hosts = new Map<string, string[]>();
  const names = new Set<string>();
  for (const raw of records) {
    const line = stripComment(raw).trim();
    if (line === "") continue;
    const m = /^(\S+)\s+(?:(\d+)\s+)?(?:IN\s+)?(SRV|TXT|PTR|CNAME|AAAA|A)\s+(.+)$/i.exec(line);
    if (!m) throw new Error(`dnsmasq helper: cannot read the zone line ${JSON.stringify(raw)}`);
    const [, owner, , type, data] = m;
    if (!owner.endsWith(".")) throw new Error(`dnsmasq helper: the name in ${JSON.stringify(raw)} must end in "."`);
    const name = owner.slice(0, -1).toLowerCase();
    names.add(name);
    switch (type.toUpperCase()) {
      case "SRV": {
        const srv = /^(\d+)\s+(\d+)\s+(\d+)\s+(\S+)$/.exec(data.trim());
        if (!srv) throw new Error(`dnsmasq helper: SRV data must be "<prio> <weight> <port> <target>." in ${raw}`);
        const [, priority, weight, port, target] = srv;
        const host = target === "." ? "" : target.replace(/\.$/, "");
        options.push(`srv-host=${name},${host},${port},${priority},${weight}`);
        break;
      }
      case "PTR":
      case "CNAME": {
        const target = data.trim();
        if (!/^[a-z0-9.-]+\.$/i.test(target))
          throw new Error(`dnsmasq helper: ${type} data must be an absolute host name ending in "." in ${raw}`);
        const option = type.toUpperCase() === "PTR" ? "ptr-record" : "cname";
        options.push(`${option}=${name},${target.slice(0, -1)}`);
        break;
      }
      case "TXT": {
        const strings = parseTxtData(data, raw);
        for (const s of strings) {
          if (/["\\]/.test(s)) throw new Error(`dnsmasq helper: TXT strings with " or \\ are not supported: ${raw}`);
        }
        options.push(`txt-record=${name},${strings.map((s) => `"${s}"`).join(",")}`);
        break;
      }
      default: {
        const address = data.trim();
        const family = isIP(address);
        if (family !== (type.toUpperCase() === "A" ? 4 : 6)) {
          throw new Error(`dnsmasq helper: ${type} data "${address}" is not an IPv${type === "A" ? 4 : 6} address`);
        }
        hosts.set(name, [...(hosts.get(name) ?? []), address]);
      }
    }
  }
  for (const [name, addresses] of hosts) options.push(`host-record=${name},${addresses.join(",")}`);
  return { options, names: [...names] };
}

/** Starts dnsmasq on 127.0.0.1 with `records`; resolves once it answers queries. */
export async function startDnsmasq(o: DnsmasqOptions): Promise<Dnsmasq> {
  const binary = await findDnsmasq();
  const { options, names } = dnsmasqRecordOptions(o.records);
  const local = o.localDomains ?? [...new Set(names.map((n) => n.split(".").pop()!))];
  const dir = await mkdtemp(path.join(tmpdir(), "icon-dnsmasq-"));
  let lastError: Error | undefined;
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      const port = attempt === 0 && o.port !== undefined ? o.port : await freeUdpPort();
      const config = [
        "no-resolv",
        "no-hosts",
        "no-poll",
        `port=${port}`,
        "listen-address=127.0.0.1",
        "bind-interfaces",
        "pid-file=",
        "log-facility=-",
        ...local.map((d) => `local=/${d}/`),
        ...options,
      ];
      const file = path.join(dir, "dnsmasq.conf");
      await writeFile(file, config.join("\n") + "\n");
      const child = spawn(binary, ["--keep-in-foreground", `--conf-file=${file}`], {
        stdio: ["ignore", "ignore", "pipe"],
      });
      running.add(child);
      let stderr = "";
      child.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr += d));
      const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
      const spawnError = new Promise<Error>((resolve) => child.once("error", resolve));
      const ready = await Promise.race([
        waitUntilAnswering(port).then(() => "ready" as const),
        exited.then((code) => new Error(`dnsmasq exited (code ${code}) at start:\n${stderr.trim()}`)),
        spawnError,
      ]);
      if (ready === "ready") {
        const server = `127.0.0.1:${port}`;
        return {
          server,
          port,
          config,
          async stop() {
            await stopChild(child, exited);
            await rm(dir, { recursive: true, force: true });
          },
        };
      }
      await stopChild(child, exited);
      lastError = ready;
      if (!/address already in use/i.test(ready.message) || o.port !== undefined) break;
    }
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
  await rm(dir, { recursive: true, force: true });
  throw lastError ?? new Error("dnsmasq did not start");
}

/**
 * A loopback port held for dnsmasq, UDP and TCP (it listens on both): bound here until `release()`, so that nothing
 * started meanwhile (a yard's ephemeral listeners) takes it. Release it right before `startDnsmasq({ port })`.
 */
export async function reserveDnsPort(): Promise<{ port: number; release(): Promise<void> }> {
  for (let attempt = 0; ; attempt++) {
    const socket = createSocket("udp4");
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.bind(0, "127.0.0.1", () => resolve());
    });
    const { port } = socket.address();
    const tcp = createServer();
    const bound = await new Promise<boolean>((resolve) => {
      tcp.once("error", () => resolve(false));
      tcp.listen(port, "127.0.0.1", () => resolve(true));
    });
    if (bound)
      return {
        port,
        release: async () => {
          await new Promise<void>((resolve) => socket.close(() => resolve()));
          await new Promise<void>((resolve) => tcp.close(() => resolve()));
        },
      };
    await new Promise<void>((resolve) => socket.close(() => resolve()));
    if (attempt >= 20) throw new Error("dnsmasq helper: found no loopback port free for both UDP and TCP");
  }
}

/** A loopback port that no UDP socket is bound to right now (closed again before returning). */
export async function freeUdpPort(): Promise<number> {
  const socket = createSocket("udp4");
  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(0, "127.0.0.1", () => resolve());
  });
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

const running = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

async function stopChild(child: ChildProcess, exited: Promise<unknown>): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 2000);
    await exited;
    clearTimeout(timer);
  }
  running.delete(child);
}

async function findDnsmasq(): Promise<string> {
  const dirs = [...(process.env.PATH ?? "").split(path.delimiter), "/usr/sbin", "/sbin", "/usr/local/sbin"];
  for (const dir of dirs.filter((d) => d !== "")) {
    const file = path.join(dir, "dnsmasq");
    try {
      await access(file, constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  throw new Error(`dnsmasq is not installed (looked in PATH and /usr/sbin): ${SETUP_HINT}`);
}

async function waitUntilAnswering(port: number): Promise<void> {
  const resolver = new Resolver({ timeout: 200, tries: 1 });
  resolver.setServers([`127.0.0.1:${port}`]);
  const deadline = Date.now() + 5000;
  for (;;) {
    try {
      await resolver.resolveTxt("probe.invalid");
      return;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== "ECONNREFUSED" && code !== "ETIMEOUT") return; // an answer (REFUSED, NXDOMAIN): it is up
      if (Date.now() > deadline)
        throw new Error(`dnsmasq did not answer on 127.0.0.1:${port} within 5 s`, { cause: e });
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}

function stripComment(line: string): string {
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    if (line[i] === '"' && line[i - 1] !== "\\") quoted = !quoted;
    else if (line[i] === ";" && !quoted) return line.slice(0, i);
  }
  return line;
}

/** `"a b" "c"` or `plain` → the character-strings of one TXT record. */
function parseTxtData(data: string, raw: string): string[] {
  const strings: string[] = [];
  const re = /\s*(?:"((?:[^"\\]|\\.)*)"|([^\s"]+))/gy;
  let m: RegExpExecArray | null;
  let end = 0;
  while ((m = re.exec(data)) !== null) {
    strings.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, "$1") : m[2]);
    end = re.lastIndex;
  }
  if (data.slice(end).trim() !== "" || strings.length === 0) {
    throw new Error(`dnsmasq helper: cannot read the TXT data of ${JSON.stringify(raw)}`);
  }
  return strings;
}
