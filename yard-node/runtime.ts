/**
 * The yard's view of a container engine. The yard never talks to Docker directly: it goes through this
 * interface, which `DockerRuntime` (yard-node/docker.ts) implements with dockerode against a real engine.
 *
 * Every container the yard creates carries three labels: `icon.yard` (the yard's id, so several yards can share
 * one engine without touching each other's containers), `icon.lease` (the lease id, decimal) and `icon.role`
 * (`service`, or `agent` for a lease's agent sidecar; a container without it is a service).
 */

/** What a container is to its lease: the tenant's service, or the ICON's agent beside it. */
export type ContainerRole = "service" | "agent";

/** Where an agent sidecar finds its secret: a tmpfs only its user can read, filled from its standard input. */
export const AGENT_SECRET_DIR = "/run/icon";

/** Resource limits of one lease's container. */
export interface ContainerLimits {
  /** CPU in thousandths of a core (1000 = one core). */
  cpuMillis: number;
  /** Memory in MiB; swap is never granted beyond it. */
  memoryMiB: number;
  /** Most processes/threads the container may have. */
  pids: number;
}

/** What to run for one lease. */
export interface ContainerSpec {
  leaseId: bigint;
  /** Image id (`sha256:…`) or a local reference. */
  image: string;
  command?: string[];
  env?: string[];
  /** Container ports the yard will carry traffic to (TCP). */
  ports: number[];
  limits: ContainerLimits;
  /** Seconds Docker waits after SIGTERM before SIGKILL. */
  stopTimeoutS: number;
  /** DNS servers (IP addresses) of the container, e.g. the yard's resolver; default: the engine's. */
  dns?: string[];
  /**
   * Default `service`. An `agent` container is named `…-agent`, gets a tmpfs at {@link AGENT_SECRET_DIR} (mode
   * 0700, owned by its user) and an open standard input that closes after the first writer: start it with
   * {@link ContainerRuntime.startWithInput}.
   */
  role?: ContainerRole;
}

/** The security settings and limits of a container as the engine reports them (read back, not assumed). */
export interface AppliedLimits {
  nanoCpus: number;
  memoryBytes: number;
  memorySwapBytes: number;
  pidsLimit: number;
  capDrop: string[];
  capAdd: string[];
  securityOpt: string[];
  privileged: boolean;
  readonlyRootfs: boolean;
  networkMode: string;
  user: string;
  /** Host port bindings (must be empty: ports are reached only through the yard). */
  publishedPorts: number;
}

export interface ContainerInfo {
  id: string;
  leaseId: bigint;
  role: ContainerRole;
  image: string;
  running: boolean;
  /** Engine state string: created, running, exited, … */
  status: string;
  exitCode: number;
  oomKilled: boolean;
  /** Address on the yard's container network (empty when not running). */
  ip: string;
  limits: AppliedLimits;
}

/** Something that happened to one of the yard's containers. */
export interface RuntimeEvent {
  kind: "start" | "die" | "oom" | "destroy";
  leaseId: bigint;
  role: ContainerRole;
  containerId: string;
  exitCode?: number;
}

/** The yard's container network as the host sees it. */
export interface NetworkInfo {
  /** The engine's network name. */
  name: string;
  /** The host's bridge interface of the network (e.g. `br-0123456789ab`). */
  bridge: string;
  /** IPv4 subnet (CIDR) and the gateway address, which is the host's address on the bridge. */
  subnet: string;
  gateway: string;
}

export interface ContainerRuntime {
  /** Throws a clear error when the engine is unreachable. */
  ping(): Promise<void>;
  /** The image's id when present locally (by id `sha256:…` or reference). */
  imageId(ref: string): Promise<string | undefined>;
  /**
   * Loads a `docker save` tarball as it is (its tags too: the yard passes only archives it rewrote, which carry
   * none — yard-node/image-archive.ts); returns the ids of the images it contained.
   */
  loadImage(tar: AsyncIterable<Uint8Array> | NodeJS.ReadableStream): Promise<string[]>;
  /** Writes `docker save` of the image into the returned stream. */
  saveImage(ref: string): Promise<NodeJS.ReadableStream>;
  /**
   * Gives an image this yard loaded the yard's own name for it (never one an upload chose), so that pruning
   * dangling images leaves it; returns the name.
   */
  nameImage(id: string): Promise<string>;
  /**
   * Removes the image; with `ifUntagged`, refuses (IMAGE_TAGGED) when it carries a name other than the yard's own
   * ({@link nameImage}), which goes with it. No error when gone.
   */
  removeImage(ref: string, o?: { ifUntagged?: boolean }): Promise<void>;
  /** Creates (does not start) the lease's container with the limits and security settings applied. */
  create(spec: ContainerSpec): Promise<ContainerInfo>;
  start(id: string): Promise<ContainerInfo>;
  /**
   * Starts a container created with an open standard input (role `agent`) and writes `input` to it, then closes
   * it: the bytes reach the container's process and nothing else (not its config, env, labels, logs or mounts).
   */
  startWithInput(id: string, input: Uint8Array): Promise<ContainerInfo>;
  /**
   * Changes a container's CPU and memory limits in place (it keeps running; memory and swap alike, so no swap is
   * granted): a lease's service takes the share its agent sidecar gave up, or gives up the share a new one takes.
   */
  resize(id: string, limits: Pick<ContainerLimits, "cpuMillis" | "memoryMiB">): Promise<ContainerInfo>;
  /** Stops (SIGTERM, then SIGKILL after the timeout); no error when already stopped or gone. */
  stop(id: string, timeoutS?: number): Promise<void>;
  /** Removes the container (forcefully); no error when already gone. */
  remove(id: string): Promise<void>;
  inspect(id: string): Promise<ContainerInfo | undefined>;
  /** Every container of this yard (by label), running or not; only lease `leaseId`'s (and `role`'s) when given. */
  list(o?: { leaseId?: bigint; role?: ContainerRole }): Promise<ContainerInfo[]>;
  /** The last `tail` lines of stdout and stderr, demultiplexed, as text. */
  logs(id: string, o?: { tail?: number }): Promise<string>;
  /** Calls `on` for each event of this yard's containers until `signal` aborts; reconnects after an engine
   * restart (calling `onReconnect` so the yard can reconcile what it missed). */
  watch(on: (e: RuntimeEvent) => void, o: { signal: AbortSignal; onReconnect?: () => void }): void;
  /** The yard's container network (created when missing); runtimes without a host bridge leave it out. */
  networkInfo?(): Promise<NetworkInfo>;
}
