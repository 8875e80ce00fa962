/**
 * `ContainerRuntime` on a real Docker engine, through dockerode on the engine's unix socket (the project's own
 * engine by default: `bash scripts/docker.sh start`, socket `ICON_DOCKER_SOCKET` or /run/icon-docker/docker.sock).
 *
 * Every lease container is created the same way, whatever the spec asks:
 *  - name `icon-<yardId>-lease-<leaseId>`, labels `icon.yard` and `icon.lease`;
 *  - on the yard's own bridge network (`icon-<yardId>`, created on demand) whose containers cannot reach one
 *    another (`enable_icc=false`); the host reaches them on their network address; no port is published, the host
 *    network is never used;
 *  - limits: NanoCpus, Memory = MemorySwap (no swap), PidsLimit; user 65534:65534, every capability dropped,
 *    no-new-privileges, read-only root filesystem with a 16 MiB tmpfs on /tmp (it counts toward the memory
 *    limit), an init process as pid 1, no restart policy, json-file logs capped at 2 × 10 MB.
 * What the engine actually applied is read back with `inspect` (`ContainerInfo.limits`), never assumed.
 *
 * Containers of other yards on the same engine are invisible: `list()` filters by label, `inspect()` answers
 * `undefined`, and start/stop/remove/logs refuse them (CONTAINER_FOREIGN).
 *
 * Errors are `IconError`s: DOCKER_UNREACHABLE (names the socket and how to start the engine), IMAGE_NOT_FOUND,
 * CONTAINER_EXISTS, CONTAINER_NOT_FOUND, CONTAINER_FOREIGN, CONTAINER_SPEC_REJECTED, IMAGE_LOAD_FAILED,
 * NETWORK_MISCONFIGURED, DOCKER_ERROR; a bad spec or yard id is a ConfigError (BAD_CONTAINER_SPEC, BAD_YARD_ID).
 */
import Docker from "dockerode";
import { isIPv4, isIP } from "node:net";
import { Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { ConfigError, IconError } from "../protocol/errors.ts";
import type {
  AppliedLimits,
  ContainerInfo,
  ContainerRuntime,
  ContainerSpec,
  NetworkInfo,
  RuntimeEvent,
} from "./runtime.ts";

export const LABEL_YARD = "icon.yard";
export const LABEL_LEASE = "icon.lease";
/** The user every lease container runs as (nobody:nogroup). */
export const CONTAINER_USER = "65534:65534";
/** The tmpfs every container gets on /tmp (the root filesystem is read-only). */
export const CONTAINER_TMPFS = "rw,nosuid,nodev,size=16m,mode=1777";
const DEFAULT_SOCKET = "/run/icon-docker/docker.sock";
const PING_TIMEOUT_MS = 5000;
const WATCH_BACKOFF_MIN_MS = 100;
const WATCH_BACKOFF_MAX_MS = 5000;
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

/** `watch()` options: the interface's, plus `onConnect`. */
export interface DockerWatchOptions {
  signal: AbortSignal;
  /** After every successful (re)connection but the first: events may have been missed, reconcile. */
  onReconnect?: () => void;
  /** After every successful connection, the first included: events from now on are delivered. */
  onConnect?: () => void;
}

type Inspect = Docker.ContainerInspectInfo;

export class DockerRuntime implements ContainerRuntime {
  readonly socketPath: string;
  readonly yardId: string;
  readonly network: string;
  readonly docker: Docker;
  #network: Promise<void> | undefined;

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
  }

  /** ICON_DOCKER_SOCKET, or the project engine's default socket /run/icon-docker/docker.sock. */
  static defaultSocket(): string {
    return process.env.ICON_DOCKER_SOCKET || DEFAULT_SOCKET;
  }

  /** The container name of a lease. */
  containerName(leaseId: bigint): string {
    return `icon-${this.yardId}-lease-${leaseId}`;
  }

  async ping(): Promise<void> {
    const ping = this.docker.ping as unknown as (o: { abortSignal: AbortSignal }) => Promise<unknown>;
    await this.#call("reaching the engine (ping)", () =>
      ping.call(this.docker, { abortSignal: AbortSignal.timeout(PING_TIMEOUT_MS) }),
    );
  }

  async imageId(ref: string): Promise<string | undefined> {
    try {
      const image = await this.#call(`inspecting image ${ref}`, () => this.docker.getImage(ref).inspect());
      return image.Id;
    } catch (e) {
      if (statusOf(e) === 404) return undefined;
      throw e;
    }
  }

  async loadImage(tar: AsyncIterable<Uint8Array> | NodeJS.ReadableStream): Promise<string[]> {
    const input = tar instanceof Readable ? tar : Readable.from(tar as AsyncIterable<Uint8Array>);
    let inputError: unknown;
    input.once("error", (e) => (inputError = e));
    let output: NodeJS.ReadableStream;
    try {
      output = await this.#call("loading an image", () => this.docker.loadImage(input, { quiet: true }));
    } catch (e) {
      if (inputError !== undefined) {
        throw new IconError("IMAGE_LOAD_FAILED", `reading the image tarball failed: ${String(inputError)}`, {
          cause: inputError,
        });
      }
      if (statusOf(e) === undefined) throw e;
      throw new IconError("IMAGE_LOAD_FAILED", `the engine refused the image tarball: ${engineMessage(e)}`, {
        details: { socket: this.socketPath },
        cause: e,
      });
    }
    const lines: string[] = [];
    let text = "";
    try {
      for await (const chunk of output as AsyncIterable<Buffer | string>) text += chunk.toString();
    } catch (e) {
      throw this.#wrap(e, "reading the answer to an image load");
    }
    const ids: string[] = [];
    for (const raw of text.split("\n")) {
      if (raw.trim() === "") continue;
      let message: { stream?: string; error?: string; errorDetail?: { message?: string } };
      try {
        message = JSON.parse(raw) as typeof message;
      } catch {
        lines.push(raw);
        continue;
      }
      if (message.error !== undefined || message.errorDetail !== undefined) {
        throw new IconError(
          "IMAGE_LOAD_FAILED",
          `the engine refused the image tarball: ${message.errorDetail?.message ?? message.error}`,
          { details: { socket: this.socketPath } },
        );
      }
      // One message may report several images, one per line.
      for (const raw of (message.stream ?? "").split("\n")) {
        const line = raw.trim();
        if (!line) continue;
        lines.push(line);
        const byId = /^Loaded image ID: (sha256:[0-9a-f]{64})$/.exec(line);
        const byRef = /^Loaded image: (\S+)$/.exec(line);
        if (byId) ids.push(byId[1]);
        else if (byRef) {
          const id = await this.imageId(byRef[1]);
          if (id === undefined) {
            throw new IconError("IMAGE_LOAD_FAILED", `the engine loaded ${byRef[1]} but does not know it afterwards`);
          }
          ids.push(id);
        }
      }
    }
    if (ids.length === 0) {
      throw new IconError(
        "IMAGE_LOAD_FAILED",
        `the engine loaded no image from the tarball (it said: ${JSON.stringify(lines.join(" | "))})`,
        { details: { socket: this.socketPath } },
      );
    }
    return [...new Set(ids)];
  }

  async saveImage(ref: string): Promise<NodeJS.ReadableStream> {
    if ((await this.imageId(ref)) === undefined) throw imageNotFound(ref);
    return this.#call(`saving image ${ref}`, () => this.docker.getImage(ref).get());
  }

  /** The name this yard gives an image it loaded: `icon-upload/<yardId>:<the first 12 hex digits of its id>`. */
  uploadName(id: string): string {
    return `icon-upload/${this.yardId}:${id.replace(/^sha256:/, "").slice(0, 12)}`;
  }

  async nameImage(id: string): Promise<string> {
    const name = this.uploadName(id);
    const at = name.lastIndexOf(":");
    await this.#call(`naming image ${id}`, () =>
      this.docker.getImage(id).tag({ repo: name.slice(0, at), tag: name.slice(at + 1) }),
    );
    return name;
  }

  async removeImage(ref: string, o: { ifUntagged?: boolean } = {}): Promise<void> {
    try {
      if (o.ifUntagged) {
        const tags = (await this.#call(`inspecting image ${ref}`, () => this.docker.getImage(ref).inspect())).RepoTags;
        const own = `icon-upload/${this.yardId}:`;
        const others = (tags ?? []).filter((t) => !t.startsWith(own));
        if (others.length > 0)
          throw new IconError("IMAGE_TAGGED", `image ${ref} is named ${others.join(", ")}; it is left in place`);
        // The yard's own name goes first (removing the last name of an unused image removes the image too).
        for (const t of tags ?? []) await this.#call(`removing name ${t}`, () => this.docker.getImage(t).remove());
      }
      await this.#call(`removing image ${ref}`, () => this.docker.getImage(ref).remove());
    } catch (e) {
      if (statusOf(e) === 404) return;
      if (statusOf(e) === 409) {
        throw new IconError("IMAGE_IN_USE", `image ${ref} is used by a container: ${engineMessage(e)}`, { cause: e });
      }
      throw e;
    }
  }

  async create(spec: ContainerSpec): Promise<ContainerInfo> {
    checkSpec(spec);
    await this.#ensureNetwork();
    const name = this.containerName(spec.leaseId);
    const options: Docker.ContainerCreateOptions = {
      name,
      Image: spec.image,
      Cmd: spec.command,
      Env: spec.env,
      User: CONTAINER_USER,
      Labels: { [LABEL_YARD]: this.yardId, [LABEL_LEASE]: spec.leaseId.toString() },
      // Documentation only: nothing is published, the yard reaches the container on its network address.
      ExposedPorts: Object.fromEntries(spec.ports.map((p) => [`${p}/tcp`, {}])),
      StopTimeout: spec.stopTimeoutS,
      HostConfig: {
        NetworkMode: this.network,
        PortBindings: {},
        PublishAllPorts: false,
        Privileged: false,
        NanoCpus: spec.limits.cpuMillis * 1_000_000,
        Memory: spec.limits.memoryMiB * 1024 * 1024,
        MemorySwap: spec.limits.memoryMiB * 1024 * 1024,
        PidsLimit: spec.limits.pids,
        CapDrop: ["ALL"],
        SecurityOpt: ["no-new-privileges"],
        ReadonlyRootfs: true,
        Init: true,
        Tmpfs: { "/tmp": CONTAINER_TMPFS },
        RestartPolicy: { Name: "no" },
        LogConfig: { Type: "json-file", Config: { "max-size": "10m", "max-file": "2" } },
        Dns: spec.dns,
      },
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
    for (let attempt = 0; ; attempt++) {
      try {
        await this.#call(`starting container ${id}`, () => this.docker.getContainer(id).start());
        break;
      } catch (e) {
        if (statusOf(e) === 304) break; // already running
        // The engine checks the network only at start: it was removed behind the yard's back (e.g. `docker
        // network prune` while no container ran); make it again (same name) and retry once.
        if (attempt === 0 && /network \S+ not found/i.test(engineMessage(e))) {
          this.#network = undefined;
          await this.#ensureNetwork();
          continue;
        }
        throw notFoundOr(e, id);
      }
    }
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

  async list(o: { leaseId?: bigint } = {}): Promise<ContainerInfo[]> {
    const label = [`${LABEL_YARD}=${this.yardId}`];
    if (o.leaseId !== undefined) label.push(`${LABEL_LEASE}=${o.leaseId}`);
    const summaries = await this.#call("listing containers", () =>
      this.docker.listContainers({ all: true, filters: { label } }),
    );
    const infos = await Promise.all(summaries.map((s) => this.inspect(s.Id)));
    return infos.filter((i): i is ContainerInfo => i !== undefined).sort((a, b) => compareBig(a.leaseId, b.leaseId));
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
    void this.#watchLoop(on, o);
  }

  /** Removes the yard's network (when no container uses it any more); no error when it is gone. */
  async removeNetwork(): Promise<void> {
    this.#network = undefined;
    try {
      await this.#call(`removing network ${this.network}`, () => this.docker.getNetwork(this.network).remove());
    } catch (e) {
      if (statusOf(e) !== 404) throw e;
    }
  }

  // ---- internals ---------------------------------------------------------------------------------------------------

  async #watchLoop(on: (e: RuntimeEvent) => void, o: DockerWatchOptions): Promise<void> {
    const { signal } = o;
    const filters = {
      label: [`${LABEL_YARD}=${this.yardId}`],
      type: ["container"],
      event: ["start", "die", "oom", "destroy"],
    };
    const options = { filters, abortSignal: signal } as Docker.GetEventsOptions & { abortSignal: AbortSignal };
    // Between attempts: 100 ms, doubling up to 5 s; back to 100 ms after a connection that lasted 5 s or more
    // (a stream the engine keeps dropping at once must not turn into a busy loop).
    let delay = WATCH_BACKOFF_MIN_MS;
    let connections = 0;
    const pause = async () => {
      await sleep(delay, undefined, { signal }).catch(() => undefined); // an abort ends the pause (and the loop)
      delay = Math.min(delay * 2, WATCH_BACKOFF_MAX_MS);
    };
    while (!signal.aborted) {
      let stream: NodeJS.ReadableStream;
      try {
        stream = await this.docker.getEvents(options);
      } catch {
        await pause(); // the engine is down or restarting
        continue;
      }
      connections++;
      if (connections > 1) callSafely(o.onReconnect);
      callSafely(o.onConnect);
      const since = Date.now();
      await pumpEvents(stream, signal, (event) => callSafely(() => on(event)));
      if (signal.aborted) return;
      if (Date.now() - since >= WATCH_BACKOFF_MAX_MS) delay = WATCH_BACKOFF_MIN_MS;
      await pause();
    }
  }

  /**
   * The yard's network (created when missing): name, the host's bridge interface (Docker's
   * `com.docker.network.bridge.name` option when set, else `br-` and the first 12 hex digits of the network id),
   * IPv4 subnet and gateway (the host's address on the bridge).
   */
  async networkInfo(): Promise<NetworkInfo> {
    for (let attempt = 0; ; attempt++) {
      await this.#ensureNetwork();
      let raw: {
        Id: string;
        Options?: Record<string, string>;
        IPAM?: { Config?: { Subnet?: string; Gateway?: string }[] };
      };
      try {
        raw = await this.#call(`inspecting network ${this.network}`, () =>
          this.docker.getNetwork(this.network).inspect(),
        );
      } catch (e) {
        if (statusOf(e) !== 404 || attempt > 0) throw e;
        this.#network = undefined; // removed behind the yard's back: make it again
        continue;
      }
      const v4 = (raw.IPAM?.Config ?? []).find((c) => c.Subnet !== undefined && isIPv4(c.Subnet.split("/")[0]));
      if (!v4?.Subnet || !v4.Gateway || !isIPv4(v4.Gateway)) {
        throw new IconError(
          "NETWORK_MISCONFIGURED",
          `network ${this.network} has no IPv4 subnet and gateway (IPAM ${JSON.stringify(raw.IPAM?.Config ?? [])}); ` +
            `remove it (docker network rm ${this.network}) so that the yard creates it`,
          { details: { network: this.network } },
        );
      }
      const bridge = raw.Options?.["com.docker.network.bridge.name"] || `br-${raw.Id.slice(0, 12)}`;
      return { name: this.network, bridge, subnet: v4.Subnet, gateway: v4.Gateway };
    }
  }

  async #ensureNetwork(): Promise<void> {
    this.#network ??= this.#createNetwork().catch((e: unknown) => {
      this.#network = undefined;
      throw e;
    });
    return this.#network;
  }

  async #createNetwork(): Promise<void> {
    const network = this.docker.getNetwork(this.network);
    for (let attempt = 0; ; attempt++) {
      try {
        const info = (await this.#call(`inspecting network ${this.network}`, () => network.inspect())) as {
          Driver?: string;
          Options?: Record<string, string>;
        };
        if (info.Driver !== "bridge" || info.Options?.["com.docker.network.bridge.enable_icc"] !== "false") {
          throw new IconError(
            "NETWORK_MISCONFIGURED",
            `network ${this.network} exists but is not a bridge with enable_icc=false (driver ${info.Driver}); ` +
              `remove it (docker network rm ${this.network}) so that the yard creates it`,
            { details: { network: this.network } },
          );
        }
        return;
      } catch (e) {
        if (statusOf(e) !== 404 || attempt > 0) throw e;
      }
      try {
        await this.#call(`creating network ${this.network}`, () =>
          this.docker.createNetwork({
            Name: this.network,
            Driver: "bridge",
            CheckDuplicate: true,
            Internal: false,
            Labels: { [LABEL_YARD]: this.yardId },
            Options: { "com.docker.network.bridge.enable_icc": "false" },
          }),
        );
        return;
      } catch (e) {
        if (statusOf(e) !== 409) throw e; // 409: created meanwhile by someone else; check it on the next turn
      }
    }
  }

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
  async #call<T>(what: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (e) {
      throw this.#wrap(e, what);
    }
  }

  #wrap(e: unknown, what: string): unknown {
    if (e instanceof IconError) return e;
    const status = (e as { statusCode?: unknown } | null)?.statusCode;
    if (typeof status === "number") {
      // The engine answered with an error; `statusOf`/`engineMessage` read the status and its message back.
      const message = rawEngineMessage(e);
      return new IconError("DOCKER_ERROR", `the Docker engine refused ${what}: ${message} (HTTP ${status})`, {
        details: { socket: this.socketPath, status, message },
        cause: e,
      });
    }
    const code = (e as NodeJS.ErrnoException).code;
    const name = (e as Error).name;
    const why =
      code === "ENOENT"
        ? "the socket does not exist"
        : code === "ECONNREFUSED"
          ? "nothing listens on the socket"
          : code === "EACCES"
            ? "permission denied (run as root, or as a member of the socket's group)"
            : name === "TimeoutError" || name === "AbortError"
              ? "no answer in time"
              : (code ?? (e as Error).message ?? String(e));
    return new IconError(
      "DOCKER_UNREACHABLE",
      `the Docker engine at unix://${this.socketPath} could not be reached while ${what}: ${why}; ` +
        "start the project's engine with `npm run docker start` (or `bash scripts/docker.sh start`), " +
        "or point ICON_DOCKER_SOCKET at a running engine",
      { details: { socket: this.socketPath, code: code ?? null }, cause: e },
    );
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

/** One engine event as JSON; the fields `watch()` uses. */
interface EngineEvent {
  Type?: string;
  Action?: string;
  status?: string;
  id?: string;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
}

/** The RuntimeEvent of one event line, or undefined for anything else. */
export function toRuntimeEvent(e: EngineEvent): RuntimeEvent | undefined {
  const action = e.Action ?? e.status;
  if (action !== "start" && action !== "die" && action !== "oom" && action !== "destroy") return undefined;
  const attributes = e.Actor?.Attributes ?? {};
  const lease = attributes[LABEL_LEASE];
  if (lease === undefined || !/^\d+$/.test(lease)) return undefined;
  const event: RuntimeEvent = { kind: action, leaseId: BigInt(lease), containerId: e.Actor?.ID ?? e.id ?? "" };
  if (action === "die" && attributes.exitCode !== undefined) event.exitCode = Number(attributes.exitCode);
  return event;
}

/** Reads newline-delimited JSON events until the stream ends, fails or `signal` aborts. */
function pumpEvents(stream: NodeJS.ReadableStream, signal: AbortSignal, on: (e: RuntimeEvent) => void): Promise<void> {
  return new Promise<void>((resolve) => {
    let pending = "";
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      signal.removeEventListener("abort", finish);
      stream.removeListener("data", data);
      (stream as Readable).destroy?.();
      resolve();
    };
    const data = (chunk: Buffer | string) => {
      pending += chunk.toString();
      let nl: number;
      while ((nl = pending.indexOf("\n")) >= 0) {
        const line = pending.slice(0, nl).trim();
        pending = pending.slice(nl + 1);
        if (line === "") continue;
        let parsed: EngineEvent;
        try {
          parsed = JSON.parse(line) as EngineEvent;
        } catch {
          continue; // not an event
        }
        const event = toRuntimeEvent(parsed);
        if (event) on(event);
      }
    };
    stream.on("data", data);
    stream.once("end", finish);
    stream.once("close", finish);
    stream.once("error", finish);
    signal.addEventListener("abort", finish, { once: true });
    if (signal.aborted) finish();
  });
}

/** Calls `f`; an exception in a caller's callback is rethrown on its own (an uncaught exception, not ours). */
function callSafely(f: (() => void) | undefined): void {
  if (!f) return;
  try {
    f();
  } catch (e) {
    queueMicrotask(() => {
      throw e;
    });
  }
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

/** The HTTP status of an engine error (DOCKER_ERROR), or undefined. */
function statusOf(e: unknown): number | undefined {
  const status = e instanceof IconError && e.code === "DOCKER_ERROR" ? e.details.status : undefined;
  return typeof status === "number" ? status : undefined;
}

/** The engine's own words in a DOCKER_ERROR. */
function engineMessage(e: unknown): string {
  return e instanceof IconError && typeof e.details.message === "string" ? e.details.message : String(e);
}

/** The engine's message in a dockerode error ("No such image: …"), without dockerode's prefix. */
function rawEngineMessage(e: unknown): string {
  const json = (e as { json?: unknown }).json;
  if (json && typeof json === "object" && typeof (json as { message?: unknown }).message === "string") {
    return (json as { message: string }).message;
  }
  if (typeof json === "string" && json.trim() !== "") return json.trim();
  if (Buffer.isBuffer(json) && json.length > 0) return json.toString("utf8").trim();
  return (e as Error).message ?? String(e);
}

function imageNotFound(ref: string, cause?: unknown): IconError {
  return new IconError(
    "IMAGE_NOT_FOUND",
    `image ${ref} is not in the engine; load it first (the yard never pulls from a registry)`,
    { details: { image: ref }, cause },
  );
}

function containerNotFound(id: string, cause?: unknown): IconError {
  return new IconError("CONTAINER_NOT_FOUND", `no container ${id}`, { details: { id }, cause });
}

function notFoundOr(e: unknown, id: string): unknown {
  return statusOf(e) === 404 ? containerNotFound(id, e) : e;
}

function compareBig(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
