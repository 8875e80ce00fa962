/**
 * The project's real Docker engine for tests (scripts/docker.sh; socket ICON_DOCKER_SOCKET or
 * /run/icon-docker/docker.sock). `useDockerYard()` registers mocha hooks: before — make sure the engine runs and
 * the local images exist (both scripts are idempotent and quick when nothing is to do); after — remove every
 * container and network of the yards the suite made. Each yard has a yard id of its own, unique to the test run,
 * so suites (and parallel runs) never see one another's containers.
 *
 * @example
 *   const yards = useDockerYard();
 *   it("...", async () => { const { runtime } = yards.get(); ... });
 */
import Docker from "dockerode";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import path from "node:path";
import { Writable } from "node:stream";
import { promisify } from "node:util";
import { poll } from "../../scripts/lib/testbed.ts";
import { DockerRuntime } from "../../yard-node/docker.ts";
import { splice } from "./faults.ts";

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, "../..");

export const WEB_IMAGE = "icon/web:1";
/**
 * A UDP and TCP echo server on 5353 (scripts/images/echo.c): UDP replies carry $ECHO_PREFIX; TCP echoes each
 * connection's bytes, thousands of connections at once on one thread.
 */
export const ECHO_IMAGE = "icon/echo:1";
export const BUSYBOX_IMAGE = "icon/busybox:1";

/** One test yard: its runtime, a raw dockerode client on the same engine (to cross-check), its id. */
export interface TestYard {
  runtime: DockerRuntime;
  docker: Docker;
  yardId: string;
}

/** A yard id unique to this process and call: lower case (it also names test images). */
export function testYardId(tag = "t"): string {
  return `test-${tag}-${process.pid}-${randomBytes(3).toString("hex")}`;
}

let engineReady: Promise<void> | undefined;

/** Starts the project's engine and builds the images unless they are there (once per process). */
export function ensureEngine(): Promise<void> {
  engineReady ??= (async () => {
    for (const script of ["docker.sh", "images.sh"]) {
      try {
        await run("bash", [path.join(ROOT, "scripts", script), ...(script === "docker.sh" ? ["start"] : [])], {
          env: { ...process.env, ICON_DOCKER_SOCKET: DockerRuntime.defaultSocket() },
        });
      } catch (e) {
        const stderr = (e as { stderr?: string }).stderr ?? "";
        throw new Error(`scripts/${script} failed (the Docker tests need the project's engine):\n${stderr}`, {
          cause: e,
        });
      }
    }
  })();
  return engineReady;
}

/** Removes every container and network labelled with `yardId` (and the yard's default network and firewall table). */
export async function cleanupYard(docker: Docker, yardId: string): Promise<void> {
  const label = `icon.yard=${yardId}`;
  const containers = await docker.listContainers({ all: true, filters: { label: [label] } });
  await Promise.all(
    containers.map((c) =>
      docker
        .getContainer(c.Id)
        .remove({ force: true, v: true })
        .catch(() => undefined),
    ),
  );
  const networks = await docker.listNetworks({ filters: { label: [label] } });
  const names = new Set([...networks.map((n) => n.Name), `icon-${yardId}`]);
  for (const name of names) {
    await docker
      .getNetwork(name)
      .remove()
      .catch(() => undefined);
  }
  // The yard's host firewall table (yard-node/firewall.ts), left behind when a test killed the yard.
  await run("nft", ["delete", "table", "inet", `icon-yard-${yardId}`]).catch(() => undefined);
}

/** A yard on the project's engine; `cleanupYard` removes what it leaves. */
export function newTestYard(tag?: string, socketPath = DockerRuntime.defaultSocket()): TestYard {
  const yardId = testYardId(tag);
  return {
    yardId,
    runtime: new DockerRuntime({ socketPath, yardId }),
    docker: new Docker({ socketPath: DockerRuntime.defaultSocket() }),
  };
}

/**
 * Mocha hooks for a suite: `before` ensures the engine, `after` cleans up every yard made with `make()`.
 * `get()` is the suite's first yard (made in `before`).
 */
export function useDockerYard(tag?: string): { get(): TestYard; make(tag?: string, socketPath?: string): TestYard } {
  const made: TestYard[] = [];
  const make = (t?: string, socketPath?: string) => {
    const yard = newTestYard(t ?? tag, socketPath);
    made.push(yard);
    return yard;
  };
  before(async function () {
    this.timeout(120_000);
    await ensureEngine();
    make();
  });
  after(async function () {
    this.timeout(60_000);
    for (const yard of made) await cleanupYard(yard.docker, yard.yardId);
  });
  return {
    get() {
      if (made.length === 0) throw new Error("useDockerYard: the before hook has not run");
      return made[0];
    },
    make,
  };
}

/** Waits until `check` returns a value other than undefined/false; fails after `timeoutMs` (testbed's poll). */
export const waitFor = poll;

/** The value of a cgroup file of a container (cgroup v1 cgroupfs, v2, or systemd layouts). */
export async function cgroupFile(controller: string, containerId: string, file: string): Promise<string> {
  const candidates = [
    `/sys/fs/cgroup/${controller}/docker/${containerId}/${file}`,
    `/sys/fs/cgroup/${controller}/system.slice/docker-${containerId}.scope/${file}`,
    `/sys/fs/cgroup/docker/${containerId}/${file}`,
    `/sys/fs/cgroup/system.slice/docker-${containerId}.scope/${file}`,
  ];
  for (const c of candidates) {
    try {
      return (await readFile(c, "utf8")).trim();
    } catch {
      // not this layout
    }
  }
  throw new Error(`no cgroup file ${file} for container ${containerId} (tried ${candidates.join(", ")})`);
}

/**
 * A unix socket in front of the real engine's socket, forwarding every connection byte for byte, that a test can
 * break on demand: `cut()` drops every open connection (as an engine restart does), `close()` stops accepting
 * (connections are refused, the socket file is gone), `open()` accepts again, `dropNew` closes each new connection
 * at once (counting it in `accepted`, which makes retry rates measurable). It injects a fault the real engine
 * cannot produce on demand without disturbing every other user of the shared engine.
 */
export class FlakyDockerSocketFake {
  readonly path: string;
  readonly target: string;
  /** Connections accepted so far. */
  accepted = 0;
  /** When true, every new connection is closed as soon as it is accepted (an engine that is going down). */
  dropNew = false;
  #server: Server | undefined;
  #sockets = new Set<Socket>();

  constructor(o: { path: string; target: string }) {
    this.path = o.path;
    this.target = o.target;
  }

  async open(): Promise<void> {
    if (this.#server) return;
    const server = createServer((client) => {
      this.accepted++;
      if (this.dropNew) {
        client.destroy();
        return;
      }
      const upstream = createConnection(this.target);
      splice(client, upstream, this.#sockets);
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.path, () => resolve());
    });
    this.#server = server;
  }

  /** Drops every open connection (both directions). */
  cut(): void {
    for (const s of this.#sockets) s.destroy();
    this.#sockets.clear();
  }

  /** Stops accepting and drops every connection. */
  async close(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    this.cut();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** Runs `script` with sh inside a running container (as its user); its stdout and stderr, and its exit code. */
/**
 * The ICON's sealed state a running agent sidecar holds in its tmpfs (`/run/icon/sealed`, written by the image's
 * entry from its standard input), once it is there and not empty, within `timeoutMs`.
 */
export async function sealedInSidecar(docker: Docker, id: string, timeoutMs: number): Promise<Buffer> {
  return waitFor(
    "the sealed state in the sidecar's tmpfs",
    async () => {
      const r = await execIn(docker, id, "base64 /run/icon/sealed");
      const b = r.code === 0 ? Buffer.from(r.out, "base64") : undefined;
      return b && b.length > 0 ? b : undefined;
    },
    timeoutMs,
  );
}

export async function execIn(docker: Docker, id: string, script: string): Promise<{ out: string; code: number }> {
  const exec = await docker
    .getContainer(id)
    .exec({ Cmd: ["sh", "-c", script], AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({ hijack: true, stdin: false });
  const chunks: Buffer[] = [];
  const sink = new Writable({
    write(c: Buffer, _e, cb) {
      chunks.push(c);
      cb();
    },
  });
  docker.modem.demuxStream(stream, sink, sink);
  await new Promise<void>((resolve, reject) => {
    stream.on("end", () => resolve());
    stream.on("close", () => resolve());
    stream.on("error", reject);
  });
  const info = await exec.inspect();
  return { out: Buffer.concat(chunks).toString(), code: info.ExitCode ?? -1 };
}
