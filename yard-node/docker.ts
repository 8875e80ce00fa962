/**
 * `ContainerRuntime` on a real Docker engine, through dockerode on the engine's unix socket (the project's own
 * engine by default: `bash scripts/docker.sh start`, socket `ICON_DOCKER_SOCKET` or /run/icon-docker/docker.sock).
 *
 * Every lease container is created the same way, whatever the spec asks:
 *  - name `icon-<yardId>-lease-<leaseId>` (`…-agent` for the agent sidecar), labels `icon.yard`, `icon.lease` and
 *    `icon.role`;
 *  - on the yard's own bridge network (`icon-<yardId>`, created on demand) whose containers cannot reach one
 *    another (`enable_icc=false`); the host reaches them on their network address; no port is published, the host
 *    network is never used;
 *  - limits: NanoCpus, Memory = MemorySwap (no swap), PidsLimit; user 65534:65534, every capability dropped,
 *    no-new-privileges, read-only root filesystem with a 16 MiB tmpfs on /tmp (it counts toward the memory
 *    limit), an init process as pid 1, no restart policy, json-file logs capped at 2 × 10 MB;
 *  - an agent sidecar also gets a 1 MiB tmpfs at /run/icon (mode 0700, owned by 65534) and an open standard input
 *    that closes after its first writer: `startWithInput` attaches, starts, writes the secret and closes, so the
 *    secret is in no part of the container's configuration (env, command, labels, mounts) nor its logs.
 * What the engine actually applied is read back with `inspect` (`ContainerInfo.limits`), never assumed.
 *
 * Containers of other yards on the same engine are invisible: `list()` filters by label, `inspect()` answers
 * `undefined`, and start/stop/remove/logs refuse them (CONTAINER_FOREIGN).
 *
 * Rooms: this file keeps the containers and composes the images (docker-images.ts), the network
 * (docker-network.ts) and the event watch (docker-events.ts); docker-engine.ts holds the labels and engine errors.
 *
 * Errors are `IconError`s: DOCKER_UNREACHABLE (names the socket and how to start the engine), IMAGE_NOT_FOUND,
 * CONTAINER_EXISTS, CONTAINER_NOT_FOUND, CONTAINER_FOREIGN, CONTAINER_SPEC_REJECTED, IMAGE_LOAD_FAILED,
 * NETWORK_MISCONFIGURED, DOCKER_ERROR; a bad spec or yard id is a ConfigError (BAD_CONTAINER_SPEC, BAD_YARD_ID).
 */
import Docker from "dockerode";
import { isIP } from "node:net";
import { ConfigError, IconError } from "../protocol/errors.ts";
import {
  LABEL_LEASE,
  LABEL_ROLE,
  LABEL_YARD,
  containerNotFound,
  engineCall,
  engineMessage,
  imageNotFound,
  notFoundOr,
  statusOf,
} from "./docker-engine.ts";
import { watchEngineEvents, type DockerWatchOptions } from "./docker-events.ts";
import { DockerImages } from "./docker-images.ts";
import { DockerNetwork } from "./docker-network.ts";
import {
  AGENT_SECRET_DIR,
  type AppliedLimits,
  type ContainerInfo,
  type ContainerLimits,
  type ContainerRole,
  type ContainerRuntime,
  type ContainerSpec,
  type NetworkInfo,
  type RuntimeEvent,
} from "./runtime.ts";

/** The user every lease container runs as (nobody:nogroup). */
export const CONTAINER_USER = "65534:65534";
/** The tmpfs every container gets on /tmp (the root filesystem is read-only). */
export const CONTAINER_TMPFS = "rw,nosuid,nodev,size=16m,mode=1777";
/** The agent sidecar's secret directory: only its user reads it; 1 MiB holds the largest secret many times. */
export const AGENT_SECRET_TMPFS = "rw,nosuid,nodev,noexec,size=1m,mode=0700,uid=65534,gid=65534";
/** How long writing an agent's secret to its standard input may take (a local socket: milliseconds). */
const INPUT_TIMEOUT_MS = 15_000;
const DEFAULT_SOCKET = "/run/icon-docker/docker.sock";
const PING_TIMEOUT_MS = 5000;

/**
 * The host settings of every lease container: on the yard's network with nothing published, the lease's CPU, memory
 * (no swap) and pid limits, no capabilities, no new privileges, a read-only root with a tmpfs at /tmp (and, for an
 * agent sidecar, its secret's tmpfs), an init, bounded logs, never restarted by the engine (the yard restarts it).
 */
export function leaseHostConfig(
  network: string,
  limits: { cpuMillis: number; memoryMiB: number; pids: number },
  agent: boolean,
): Docker.HostConfig {
  return {
    NetworkMode: network,
    PortBindings: {},
    PublishAllPorts: false,
    Privileged: false,
    NanoCpus: limits.cpuMillis * 1_000_000,
    Memory: limits.memoryMiB * 1024 * 1024,
    MemorySwap: limits.memoryMiB * 1024 * 1024,
    PidsLimit: limits.pids,
    CapDrop: ["ALL"],
    SecurityOpt: ["no-new-privileges"],
    ReadonlyRootfs: true,
    Init: true,
    Tmpfs: { "/tmp": CONTAINER_TMPFS, ...(agent ? { [AGENT_SECRET_DIR]: AGENT_SECRET_TMPFS } : {}) },
    RestartPolicy: { Name: "no" },
    LogConfig: { Type: "json-file", Config: { "max-size": "10m", "max-file": "2" } },
  };
}

/** Docker's own lower bounds (below them it answers 400 or treats the value as "unlimited"). */
const MIN_CPU_MILLIS = 10;
const MIN_MEMORY_MIB = 6;

export interface DockerRuntimeOptions {
  /** The engine's unix socket. */
  socketPath: string;
  /** Names this yard's containers and network: letters, digits, `_`, `.`, `-` (at most 48 characters). */
  yardId: string;
  /** The yard's container network; default `icon-<yardId>`. */
  network?: string;
}

type Inspect = Docker.ContainerInspectInfo;

export class DockerRuntime implements ContainerRuntime {
  readonly socketPath: string;
  readonly yardId: string;
  readonly network: string;
  readonly docker: Docker;
  readonly #images: DockerImages;
  readonly #net: DockerNetwork;

  constructor(o: DockerRuntimeOptions) {
    if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,47}$/.test(o.yardId)) {
      throw new ConfigError(
        "BAD_YARD_ID",
        `yardId ${JSON.stringify(o.yardId)} must be 1-48 letters, digits, "_", "." or "-", starting with a letter or digit`,
      );
    }
    this.socketPath = o.socketPath;
    this.yardId = o.yardId;
    this.network = o.network ?? `icon-${o.yardId}`;
    this.docker = new Docker({ socketPath: o.socketPath });
    this.#images = new DockerImages({ docker: this.docker, yardId: this.yardId, socketPath: this.socketPath });
    this.#net = new DockerNetwork({
      docker: this.docker,
      yardId: this.yardId,
      socketPath: this.socketPath,
      network: this.network,
    });
  }

  /** ICON_DOCKER_SOCKET, or the project engine's default socket /run/icon-docker/docker.sock. */
  static defaultSocket(): string {
    return process.env.ICON_DOCKER_SOCKET || DEFAULT_SOCKET;
  }

  /** The container name of a lease's service (or of its agent sidecar). */
  containerName(leaseId: bigint, role: ContainerRole = "service"): string {
    return `icon-${this.yardId}-lease-${leaseId}${role === "agent" ? "-agent" : ""}`;
  }

  async ping(): Promise<void> {
    const ping = this.docker.ping as unknown as (o: { abortSignal: AbortSignal }) => Promise<unknown>;
    await this.#call("reaching the engine (ping)", () =>
      ping.call(this.docker, { abortSignal: AbortSignal.timeout(PING_TIMEOUT_MS) }),
    );
  }
  imageId(ref: string): Promise<string | undefined> {
    return this.#images.imageId(ref);
  }

  loadImage(tar: AsyncIterable<Uint8Array> | NodeJS.ReadableStream): Promise<string[]> {
    return this.#images.loadImage(tar);
  }

  saveImage(ref: string): Promise<NodeJS.ReadableStream> {
    return this.#images.saveImage(ref);
  }

  /** The name this yard gives an image it loaded: `icon-upload/<yardId>:<the first 12 hex digits of its id>`. */
  uploadName(id: string): string {
    return this.#images.uploadName(id);
  }

  nameImage(id: string): Promise<string> {
    return this.#images.nameImage(id);
  }

  removeImage(ref: string, o: { ifUntagged?: boolean } = {}): Promise<void> {
    return this.#images.removeImage(ref, o);
  }

  async create(spec: ContainerSpec): Promise<ContainerInfo> {
    checkSpec(spec);
    await this.#net.ensure();
    const role = spec.role ?? "service";
    const agent = role === "agent";
    const name = this.containerName(spec.leaseId, role);
    const options: Docker.ContainerCreateOptions = {
      name,
      Image: spec.image,
      Cmd: spec.command,
      Env: spec.env,
      User: CONTAINER_USER,
      Labels: { [LABEL_YARD]: this.yardId, [LABEL_LEASE]: spec.leaseId.toString(), [LABEL_ROLE]: role },
      ...(agent ? { OpenStdin: true, StdinOnce: true, AttachStdin: false } : {}),
      // Documentation only: nothing is published, the yard reaches the container on its network address.
      ExposedPorts: Object.fromEntries(spec.ports.map((p) => [`${p}/tcp`, {}])),
      StopTimeout: spec.stopTimeoutS,
      HostConfig: { ...leaseHostConfig(this.network, spec.limits, agent), Dns: spec.dns },
      NetworkingConfig: { EndpointsConfig: { [this.network]: {} } },
    };
    let id: string;
    try {
      id = (await this.#call(`creating ${name}`, () => this.docker.createContainer(options))).id;
    } catch (e) {
      throw this.#createError(e, spec, name);
    }
    const info = await this.inspect(id);
    if (!info) throw new IconError("CONTAINER_NOT_FOUND", `${name} (${id}) vanished right after it was created`);
    return info;
  }

  /** The error to throw for a refused create. */
  #createError(e: unknown, spec: ContainerSpec, name: string): unknown {
    const status = statusOf(e);
    if (status === 409) {
      return new IconError(
        "CONTAINER_EXISTS",
        `a container for lease ${spec.leaseId} already exists (${name}); reconcile it (inspect, remove) before creating another`,
        { details: { name, leaseId: spec.leaseId.toString() }, cause: e },
      );
    }
    if (status === 404 && /image/i.test(engineMessage(e))) return imageNotFound(spec.image, e);
    if (status === 400) {
      return new IconError("CONTAINER_SPEC_REJECTED", `the engine refused ${name}: ${engineMessage(e)}`, {
        details: { name },
        cause: e,
      });
    }
    return e;
  }

  async start(id: string): Promise<ContainerInfo> {
    await this.#own(id, "start");
    await this.#startOwned(id);
    const info = await this.inspect(id);
    if (!info) throw containerNotFound(id);
    return info;
  }

  /** Starts container `id` (already checked to be this yard's); no error when it runs already. */
  async #startOwned(id: string): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.#call(`starting container ${id}`, () => this.docker.getContainer(id).start());
        break;
      } catch (e) {
        if (statusOf(e) === 304) break; // already running
        // The engine checks the network only at start: it was removed behind the yard's back (e.g. `docker
        // network prune` while no container ran); make it again (same name) and retry once.
        if (attempt === 0 && /network \S+ not found/i.test(engineMessage(e))) {
          this.#net.forget();
          await this.#net.ensure();
          continue;
        }
        throw notFoundOr(e, id);
      }
    }
  }

  async startWithInput(id: string, input: Uint8Array): Promise<ContainerInfo> {
    await this.#own(id, "start");
    const c = this.docker.getContainer(id);
    // Attached before the start (as `docker start -ai`), so the process reads the bytes from its first read on.
    const stream = (await this.#call(`attaching to container ${id}`, () =>
      c.attach({ stream: true, stdin: true, stdout: false, stderr: false, hijack: true }),
    )) as NodeJS.ReadWriteStream & { destroy(): void };
    try {
      await this.#startOwned(id);
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new IconError("DOCKER_ERROR", `writing to container ${id}'s standard input timed out`)),
          INPUT_TIMEOUT_MS,
        );
        stream.once("error", (e) => {
          clearTimeout(timer);
          reject(new IconError("DOCKER_ERROR", `writing to container ${id}'s standard input failed`, { cause: e }));
        });
        stream.write(input, () => {
          clearTimeout(timer);
          resolve();
        });
      });
      // End of input: with StdinOnce the engine closes the process's standard input when this writer leaves.
      stream.end();
    } finally {
      // The hijacked socket has nothing more to carry either way.
      setTimeout(() => stream.destroy(), 1000).unref();
    }
    const info = await this.inspect(id);
    if (!info) throw containerNotFound(id);
    return info;
  }

  async resize(id: string, limits: Pick<ContainerLimits, "cpuMillis" | "memoryMiB">): Promise<ContainerInfo> {
    await this.#own(id, "resize");
    const memory = limits.memoryMiB * 1024 * 1024;
    await this.#call(`changing container ${id}'s limits`, () =>
      this.docker
        .getContainer(id)
        .update({ NanoCpus: limits.cpuMillis * 1_000_000, Memory: memory, MemorySwap: memory }),
    ).catch((e: unknown) => {
      throw notFoundOr(e, id);
    });
    const info = await this.inspect(id);
    if (!info) throw containerNotFound(id);
    return info;
  }

  async stop(id: string, timeoutS?: number): Promise<void> {
    if (!(await this.#own(id, "stop", { missingOk: true }))) return;
    try {
      await this.#call(`stopping container ${id}`, () =>
        this.docker.getContainer(id).stop(timeoutS === undefined ? {} : { t: timeoutS }),
      );
    } catch (e) {
      const status = statusOf(e);
      if (status === 304 || status === 404) return; // already stopped, or gone
      throw e;
    }
  }

  async remove(id: string): Promise<void> {
    if (!(await this.#own(id, "remove", { missingOk: true }))) return;
    try {
      await this.#call(`removing container ${id}`, () => this.docker.getContainer(id).remove({ force: true, v: true }));
    } catch (e) {
      const status = statusOf(e);
      if (status === 404) return;
      if (status === 409 && /already in progress/i.test(engineMessage(e))) return;
      throw e;
    }
  }

  async inspect(id: string): Promise<ContainerInfo | undefined> {
    const raw = await this.#inspectRaw(id);
    if (!raw || raw.Config.Labels?.[LABEL_YARD] !== this.yardId) return undefined;
    return this.#info(raw);
  }

  async list(o: { leaseId?: bigint; role?: ContainerRole } = {}): Promise<ContainerInfo[]> {
    const label = [`${LABEL_YARD}=${this.yardId}`];
    if (o.leaseId !== undefined) label.push(`${LABEL_LEASE}=${o.leaseId}`);
    // Service containers of earlier versions carry no role label: filter agents in, services by exclusion.
    if (o.role === "agent") label.push(`${LABEL_ROLE}=agent`);
    const summaries = await this.#call("listing containers", () =>
      this.docker.listContainers({ all: true, filters: { label } }),
    );
    const infos = await Promise.all(summaries.map((s) => this.inspect(s.Id)));
    return infos
      .filter((i): i is ContainerInfo => i !== undefined && (o.role === undefined || i.role === o.role))
      .sort((a, b) => compareBig(a.leaseId, b.leaseId));
  }

  async logs(id: string, o: { tail?: number } = {}): Promise<string> {
    await this.#own(id, "read the logs of");
    let data: Buffer;
    try {
      const options = {
        stdout: true,
        stderr: true,
        follow: false as const,
        ...(o.tail === undefined ? {} : { tail: o.tail }),
      };
      data = await this.#call(`reading the logs of ${id}`, () => this.docker.getContainer(id).logs(options));
    } catch (e) {
      throw notFoundOr(e, id);
    }
    return Buffer.isBuffer(data) ? demuxDockerLog(data) : typeof data === "string" ? data : JSON.stringify(data);
  }

  watch(on: (e: RuntimeEvent) => void, o: DockerWatchOptions): void {
    void watchEngineEvents(this.docker, this.yardId, on, o);
  }

  /** Removes the yard's network (when no container uses it any more); no error when it is gone. */
  removeNetwork(): Promise<void> {
    return this.#net.remove();
  }

  /** The yard's network (created when missing): see {@link DockerNetwork.info}. */
  networkInfo(): Promise<NetworkInfo> {
    return this.#net.info();
  }

  // ---- internals ---------------------------------------------------------------------------------------------------

  async #inspectRaw(id: string): Promise<Inspect | undefined> {
    try {
      return await this.#call(`inspecting container ${id}`, () => this.docker.getContainer(id).inspect());
    } catch (e) {
      if (statusOf(e) === 404) return undefined;
      throw e;
    }
  }

  /** The container when it is this yard's; undefined when it does not exist (and `missingOk`). */
  async #own(id: string, what: string, o: { missingOk?: boolean } = {}): Promise<Inspect | undefined> {
    const raw = await this.#inspectRaw(id);
    if (!raw) {
      if (o.missingOk) return undefined;
      throw containerNotFound(id);
    }
    if (raw.Config.Labels?.[LABEL_YARD] !== this.yardId) {
      throw new IconError(
        "CONTAINER_FOREIGN",
        `container ${id} is not one of yard ${this.yardId}'s containers; refusing to ${what} it`,
        { details: { id, yard: raw.Config.Labels?.[LABEL_YARD] ?? null } },
      );
    }
    return raw;
  }

  #info(raw: Inspect): ContainerInfo | undefined {
    const lease = raw.Config.Labels?.[LABEL_LEASE];
    if (lease === undefined || !/^\d+$/.test(lease)) return undefined;
    const host = raw.HostConfig;
    const limits: AppliedLimits = {
      nanoCpus: host.NanoCpus ?? 0,
      memoryBytes: host.Memory ?? 0,
      memorySwapBytes: host.MemorySwap ?? 0,
      pidsLimit: host.PidsLimit ?? 0,
      capDrop: host.CapDrop ?? [],
      capAdd: host.CapAdd ?? [],
      securityOpt: host.SecurityOpt ?? [],
      privileged: host.Privileged ?? false,
      readonlyRootfs: host.ReadonlyRootfs ?? false,
      networkMode: host.NetworkMode ?? "",
      user: raw.Config.User ?? "",
      publishedPorts: publishedPorts(raw),
    };
    return {
      id: raw.Id,
      leaseId: BigInt(lease),
      role: raw.Config.Labels?.[LABEL_ROLE] === "agent" ? "agent" : "service",
      image: raw.Image,
      running: raw.State.Running,
      status: raw.State.Status,
      exitCode: raw.State.ExitCode,
      oomKilled: raw.State.OOMKilled,
      ip: raw.NetworkSettings.Networks?.[this.network]?.IPAddress ?? "",
      limits,
    };
  }

  /** Runs one engine call, turning "cannot reach the engine" into DOCKER_UNREACHABLE. */
  #call<T>(what: string, run: () => Promise<T>): Promise<T> {
    return engineCall(this.socketPath, what, run);
  }
}

/**
 * Docker's log stream of a container without a TTY: frames of an 8-byte header (stream 0/1/2, three zero bytes,
 * payload length as a big-endian uint32) and the payload. Returns the payloads as text, in order; bytes that are
 * not a frame (a TTY container's raw output, a cut-off frame) are kept as they are.
 */
export function demuxDockerLog(buf: Buffer): string {
  const parts: Buffer[] = [];
  let i = 0;
  while (i < buf.length) {
    const header = i + 8 <= buf.length && buf[i] <= 2 && buf[i + 1] === 0 && buf[i + 2] === 0 && buf[i + 3] === 0;
    if (!header) {
      parts.push(buf.subarray(i));
      break;
    }
    const size = buf.readUInt32BE(i + 4);
    parts.push(buf.subarray(i + 8, i + 8 + size));
    i += 8 + size;
  }
  return Buffer.concat(parts).toString("utf8");
}

function checkSpec(spec: ContainerSpec): void {
  const bad = (field: string, why: string) =>
    new ConfigError("BAD_CONTAINER_SPEC", `container spec of lease ${spec.leaseId}: ${field} ${why}`, {
      details: { leaseId: spec.leaseId.toString(), field },
    });
  const int = (v: number, min: number, max: number) => Number.isSafeInteger(v) && v >= min && v <= max;
  if (typeof spec.leaseId !== "bigint" || spec.leaseId < 0n) throw bad("leaseId", "must be a bigint >= 0");
  if (typeof spec.image !== "string" || spec.image === "") throw bad("image", "must be an image id or reference");
  const { cpuMillis, memoryMiB, pids } = spec.limits;
  // 0 means "unlimited" to Docker: every limit must be a real one.
  if (!int(cpuMillis, MIN_CPU_MILLIS, 1_000_000))
    throw bad("limits.cpuMillis", `${cpuMillis} is not an integer >= ${MIN_CPU_MILLIS}`);
  if (!int(memoryMiB, MIN_MEMORY_MIB, 1 << 30))
    throw bad("limits.memoryMiB", `${memoryMiB} is not an integer >= ${MIN_MEMORY_MIB}`);
  if (!int(pids, 1, 1 << 22)) throw bad("limits.pids", `${pids} is not an integer >= 1`);
  if (!int(spec.stopTimeoutS, 0, 3600))
    throw bad("stopTimeoutS", `${spec.stopTimeoutS} is not an integer from 0 to 3600`);
  for (const p of spec.ports) if (!int(p, 1, 65535)) throw bad("ports", `contain ${p}, not a TCP port`);
  for (const d of spec.dns ?? []) if (!isIP(d)) throw bad("dns", `contain ${JSON.stringify(d)}, not an IP address`);
}

function publishedPorts(raw: Inspect): number {
  const bindings = new Set<string>();
  const add = (ports: Record<string, Array<{ HostIp?: string; HostPort?: string }> | null> | undefined) => {
    for (const [port, list] of Object.entries(ports ?? {})) {
      for (const b of list ?? []) bindings.add(`${port} ${b.HostIp ?? ""}:${b.HostPort ?? ""}`);
    }
  };
  add(raw.HostConfig.PortBindings as Parameters<typeof add>[0]);
  add(raw.NetworkSettings.Ports as Parameters<typeof add>[0]);
  const exposedAll = raw.HostConfig.PublishAllPorts ? Object.keys(raw.Config.ExposedPorts ?? {}).length : 0;
  return Math.max(bindings.size, exposedAll);
}

function compareBig(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
