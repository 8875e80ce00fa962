/**
 * The agent's state directory: what an ICON must find again after a crash, and the files that say how it is doing.
 *
 *   agent.json   its environment and seed (placement, children, moves under way), protocol/json.ts's codec
 *   key          its private key (mode 0600)
 *   agent.lock   the pid of the one agent running it (lockStateDir)
 *   status.json  its status, rewritten every period (readAgentStatus reads it and its replicas' under children/)
 *   decisions.json  its last 16 decisions for its status report, each move with its latency before (and after, once
 *                measured), rewritten when one is made or measured (DecisionStore), read back at start
 *
 * sealAgentState / unsealAgentState carry agent.json, key, peer.key and port as one blob to the ICON's sidecar (the
 * lease's Deploy carries it as the agent's secret; `icon agent run --state-from-stdin` writes it back into a tmpfs).
 *
 * Every file is written whole, aside and renamed into place (writeAtomic): a crash leaves the old file or the new.
 *
 * @example
 *   await writeAgentState(dir, env, { name: "origin", account, root, subnets: [], children: {}, replicas: 0 }, key);
 *   const release = await lockStateDir(dir);   // IconError AGENT_RUNNING while another agent runs it
 *   const { env, seed } = await readAgentState(dir);
 */
import { link, mkdir, readFile, readdir, rename, rm, writeFile } from "node:fs/promises";
import { randomUUID } from "node:crypto";
import path from "node:path";
import {
  IconError,
  fromJson,
  iconStatusLimits,
  parseDecisionReport,
  toJson,
  type DecisionReport,
} from "../protocol/index.ts";
import type { AgentEnv } from "./config.ts";
import type { ControllerSnapshot, SubnetView } from "./decision.ts";
import type { YardRef } from "./market.ts";
import type { TreeSubnet } from "./tree.ts";

/**
 * The lease whose containers serve the placement now: a renewal takes them over (with the clients' flows and the
 * routing rules) at its Deploy, before its slot starts (yard-node/renewal.ts) — telemetry, routing and probes go there.
 */
export function servingLease(p: Pick<Placement, "leaseId" | "renewal">): bigint {
  return p.renewal?.leaseId ?? p.leaseId;
}

export interface Placement {
  leaseId: bigint;
  /** Slot start of the current lease (unix s). */
  leaseStart: bigint;
  yard: YardRef;
  endpoint: string;
  pricePerSecond: bigint;
  end: bigint;
  since: number;
  /** The next slot, bought ahead at the same yard (same container and endpoint); it takes over at its start. */
  renewal?: { leaseId: bigint; leaseStart: bigint; end: bigint; pricePerSecond: bigint };
}

export interface AgentSeed {
  name: string;
  account: bigint;
  root: bigint;
  parent?: { account: bigint; addrs: string[]; placement?: Placement };
  placement?: Placement;
  /** Subnets the parent handed over. */
  subnets: string[];
  /**
   * The subnets the current placement is for, when not `subnets`: placed again after its yard was lost, what the
   * lost instance served (its parent's redirects); moved, what it served before the move. They are in their grace
   * for the first periods at the placement (decision.ts gracedSubnets).
   */
  placedFor?: string[];
  /** The lease whose renewal this ICON asked money for and got an answer (asked once per lease, restarts too). */
  fundingAskedFor?: bigint;
  /** Replicas made, by account; `started` once its agent was launched. */
  children: Record<string, { name: string; subnets: string[]; started?: boolean }>;
  replicas: number;
  /** The tree's ancestors as last seen (parent first): where a restarted replica re-attaches if its parent is gone. */
  ancestors?: { account: bigint; addrs: string[] }[];
  /** A migration under way: the new placement, saved before the old yard is told (finished on restart). */
  moving?: Placement;
  /** Termination under way (each step is skipped when already done; finished on restart). */
  terminating?: boolean;
  done?: boolean;
  /**
   * Which running instance of this ICON this state belongs to: every hand-over into a sidecar seals the state with
   * this + 1, so of two copies of one ICON the later instance is known (tree attach and report carry it; a parent
   * refuses a lower one).
   */
  instance?: number;
  /**
   * This copy was handed over (a migration moved service and agent, pair.ts): the ICON runs as instance `instance`
   * in the sidecar of lease `leaseId` at `yard`. An agent started from it never acts as this instance. `moving` and
   * `carried` (the new placement and what the successor continues from; its state is this seed with them, without
   * `retired`, at `instance`) let a copy restarted between the fence and the hand-over finish it (pair.ts
   * settleRetired); a record without them (written before they were) only exits.
   */
  retired?: {
    leaseId: bigint;
    yard: string;
    instance: number;
    atMs: number;
    moving?: Placement;
    carried?: CarriedState;
  };
  /**
   * What a migrating instance hands its successor beyond the seed (pair.ts): the Controller's smoothed observations
   * and cool-down, the tree's children (told the new address at the successor's start) and the policy version it
   * acted on. Used once at the successor's start, then dropped.
   */
  carried?: CarriedState;
}

/** See {@link AgentSeed.carried}. */
export interface CarriedState {
  controller: ControllerSnapshot;
  /** At most 64, each as the tree knew it (account, libp2p addresses, instance epoch). */
  children: { account: bigint; addrs: string[]; epoch: bigint }[];
  policyVersion?: number;
  /** The predecessor's moves whose "after" latency is still to be measured (status-report.ts carry), each with the
   * place it was made at: the successor's status report fills it at its own place. */
  decisions?: PlacedDecision[];
}

/** The sentence of a retired copy ({@link AgentSeed.retired}), or undefined when `seed` may act. */
export function retiredNote(seed: Pick<AgentSeed, "name" | "retired">): string | undefined {
  const r = seed.retired;
  return r
    ? `ICON ${seed.name} was handed over to lease ${r.leaseId} at ${r.yard} (instance ${r.instance}): this copy is retired and does not act`
    : undefined;
}

export interface AgentEvent {
  icon: string;
  kind:
    | "placed"
    | "renewed"
    | "observe"
    | "decide"
    | "replicated"
    | "migrated"
    | "terminated"
    | "error"
    | "tree"
    | "bid"
    | "discovered"
    /** The chain's RPC made it wait: rate-limited, a connection cut, a switch to another endpoint (chain/rpc.ts). */
    | "chain";
  text: string;
  data?: Record<string, unknown>;
}

/** Reports one event of the agent's timeline (each room is handed the agent's). */
export type Emit = (kind: AgentEvent["kind"], text: string, data?: Record<string, unknown>) => void;

/** The agent's status as written to `<stateDir>/status.json` every period. */
export interface AgentStatus {
  name: string;
  account: bigint;
  balance: bigint;
  placement?: Placement;
  subnets: SubnetView[];
  aggregate: TreeSubnet[];
  children: { account: bigint; endpoint?: string; location?: string }[];
  last?: string;
  /** Wei the ICON's key spent on gas (0 while its calls are relayed: the yards pay), by function. */
  gasSpentWei?: { total: bigint; byKind: Record<string, bigint> };
  atMs: number;
}

/** An agent's status from its parts (agent.ts writes it every period). */
export function agentStatus(a: {
  seed: Pick<AgentSeed, "name" | "account" | "placement">;
  balance: bigint;
  own: SubnetView[];
  last: string | undefined;
  tree: { aggregate(): TreeSubnet[]; children(): Array<{ account: bigint; endpoint?: string; location?: string }> };
  spent: { total: bigint; byKind(): Map<string, bigint> };
}): AgentStatus {
  const { seed, tree, spent } = a;
  return {
    ...{ name: seed.name, account: seed.account, balance: a.balance, placement: seed.placement, subnets: a.own },
    aggregate: tree.aggregate(),
    children: tree.children().map((c) => ({ account: c.account, endpoint: c.endpoint, location: c.location })),
    last: a.last,
    gasSpentWei: { total: spent.total, byKind: Object.fromEntries(spent.byKind()) },
    atMs: Date.now(),
  };
}

/** State as text: bigints tagged (protocol/json.ts), indented for the people who read these files. */
export const encodeState = (v: unknown): string => toJson(v, 2);

/** Writes `text` (or bytes) to `file` whole: aside, then renamed into place. */
export async function writeAtomic(file: string, text: string | Uint8Array, mode = 0o644): Promise<void> {
  // A name of its own per write: two writers of one file must not share (and rename away) one temporary file.
  const tmp = `${file}.${process.pid}.${randomUUID()}.tmp`;
  await writeFile(tmp, text, { mode });
  await rename(tmp, file);
}

/** Writes a new agent's state directory (key with mode 0600). */
export async function writeAgentState(dir: string, env: AgentEnv, seed: AgentSeed, privateKey: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeAtomic(path.join(dir, "key"), `${privateKey}\n`, 0o600);
  await saveAgentState(dir, env, seed);
}

/** Saves the environment and seed of the agent in `dir` (agent.json). */
export async function saveAgentState(dir: string, env: AgentEnv, seed: AgentSeed): Promise<void> {
  await writeAtomic(path.join(dir, "agent.json"), encodeState({ env, seed }));
}

/** Reads what {@link writeAgentState} wrote. */
export async function readAgentState(dir: string): Promise<{ env: AgentEnv; seed: AgentSeed; key: string }> {
  const { env, seed } = fromJson<{ env: AgentEnv; seed: AgentSeed }>(
    await readFile(path.join(dir, "agent.json"), "utf8"),
  );
  const key = (await readFile(path.join(dir, "key"), "utf8")).trim();
  return { env, seed, key };
}

/** Writes the agent's status (status.json). */
export async function writeAgentStatus(dir: string, status: AgentStatus): Promise<void> {
  await writeAtomic(path.join(dir, "status.json"), encodeState(status));
}

/** The status files of the ICON in `dir` and of the replicas it made (children/<account>/), parents first. */
export async function readAgentStatus(dir: string): Promise<AgentStatus[]> {
  const out: AgentStatus[] = [];
  const s = await readFile(path.join(dir, "status.json"), "utf8").then(fromJson<AgentStatus>, () => undefined);
  if (s) out.push(s);
  const kids = await readdir(path.join(dir, "children")).catch(() => [] as string[]);
  for (const k of kids.sort()) out.push(...(await readAgentStatus(path.join(dir, "children", k))));
  return out;
}

/** A decision of the status report with the place it was made at (its "after" is measured elsewhere). */
export type PlacedDecision = DecisionReport & { at: string };

const DECISIONS = "decisions.json";

/** One decision read back: the report's decision (parseDecisionReport, the yard's own check) and the place it was
 * made at, or undefined when its shape is not what {@link DecisionStore} writes. */
function placedDecision(v: unknown): PlacedDecision | undefined {
  if (typeof v !== "object" || v === null) return undefined;
  const { at, ...decision } = v as { at?: unknown };
  const d = parseDecisionReport(decision);
  return typeof d === "string" || typeof at !== "string" ? undefined : { ...d, at };
}

/**
 * The ICON's last decisions in its state directory (decisions.json), so that its status report does not start empty
 * after a restart: at most `iconStatusLimits.maxDecisions` (16, the newest), each written whole (writeAtomic), one
 * write at a time in the order they were asked for (a later list never overwritten by an earlier one).
 */
export class DecisionStore {
  readonly #file: string;
  readonly #onError: (e: Error) => void;
  #writing: Promise<void> = Promise.resolve();

  /** `onError` is told of a write that failed (the agent emits it; the next write tries again). */
  constructor(dir: string, onError: (e: Error) => void = () => {}) {
    this.#file = path.join(dir, DECISIONS);
    this.#onError = onError;
  }

  /** The decisions kept, oldest first (none when there is no file; a file not of this shape counts as none). */
  async read(): Promise<PlacedDecision[]> {
    const text = await readFile(this.#file, "utf8").catch(() => undefined);
    if (text === undefined) return [];
    let v: unknown;
    try {
      v = fromJson<unknown>(text);
    } catch {
      return [];
    }
    const list = (v as { decisions?: unknown } | null)?.decisions;
    if (!Array.isArray(list)) return [];
    return list
      .slice(-iconStatusLimits.maxDecisions)
      .map(placedDecision)
      .filter((d) => d !== undefined);
  }

  /** Keeps `decisions` (the newest 16) as the file's content, after the writes asked before. */
  save(decisions: readonly PlacedDecision[]): Promise<void> {
    const text = encodeState({ v: 1, decisions: decisions.slice(-iconStatusLimits.maxDecisions) });
    this.#writing = this.#writing
      .then(() => writeAtomic(this.#file, text))
      .catch((e: unknown) => this.#onError(e as Error));
    return this.#writing;
  }

  /** Resolves once every write asked for is done (a stopping agent waits for it). */
  flushed(): Promise<void> {
    return this.#writing;
  }
}

/** Lock files this process holds (a lock naming this process's pid that is not here is a dead predecessor's). */
const heldLocks = new Set<string>();

/**
 * Takes `<dir>/agent.lock` for this process — one agent per state directory, or two would bid, move and pay twice
 * — and returns its release. The lock appears with its pid already in it (written aside, then hard-linked into
 * place, which fails if a lock exists). A lock whose process is gone (a crash, `kill -9`; or this very pid, reused
 * by a restarted container, but not held here) is taken over; one whose process lives is refused with IconError
 * AGENT_RUNNING.
 */
export async function lockStateDir(dir: string): Promise<() => Promise<void>> {
  const file = path.resolve(dir, "agent.lock");
  const readPid = async (f: string) => Number((await readFile(f, "utf8").catch(() => "")).trim());
  for (let attempt = 0; attempt < 5; attempt++) {
    const mine = `${file}.${process.pid}.${randomUUID()}`;
    await writeFile(mine, `${process.pid}\n`, { mode: 0o600 });
    try {
      await link(mine, file);
      heldLocks.add(file);
      let released = false;
      return async () => {
        if (released) return;
        released = true;
        heldLocks.delete(file);
        if ((await readPid(file)) === process.pid) await rm(file, { force: true });
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    } finally {
      await rm(mine, { force: true });
    }
    const pid = await readPid(file);
    const live = Number.isInteger(pid) && pid > 0 && (pid === process.pid ? heldLocks.has(file) : processAlive(pid));
    if (live)
      throw new IconError(
        "AGENT_RUNNING",
        `another agent (pid ${pid}) runs the ICON in ${dir}: stop it first (if pid ${pid} is no ICON agent, ` +
          `remove ${file})`,
        { details: { pid, lock: file } },
      );
    // Its process is gone: move it aside and check that what moved is that dead lock (another agent may have
    // taken over in between); if not, put it back.
    const grave = `${file}.stale.${randomUUID()}`;
    try {
      await rename(file, grave);
    } catch {
      continue; // someone else moved it first
    }
    if ((await readPid(grave)) !== pid) await link(grave, file).catch(() => {});
    await rm(grave, { force: true });
  }
  throw new IconError("AGENT_RUNNING", `could not take ${file}: other agents keep taking it`);
}

/** Removes leftovers of writes and lock attempts that a crash interrupted (their process is gone). */
export async function removeLeftovers(dir: string): Promise<void> {
  for (const f of await readdir(dir)) {
    const pid = Number(/\.(\d+)\.[0-9a-f-]{36}(\.tmp)?$/.exec(f)?.[1] ?? 0);
    if ((pid > 0 && pid !== process.pid && !processAlive(pid)) || f.startsWith("agent.lock.stale."))
      await rm(path.join(dir, f), { force: true });
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM"; // alive, someone else's
  }
}

/** Whether a live agent holds the lock of the state directory `dir`. */
export async function stateDirLocked(dir: string): Promise<boolean> {
  const file = path.resolve(dir, "agent.lock");
  const pid = Number((await readFile(file, "utf8").catch(() => "")).trim());
  if (!Number.isInteger(pid) || pid <= 0) return false;
  return pid === process.pid ? heldLocks.has(file) : processAlive(pid);
}

/** The files of a state directory that travel with an ICON to its sidecar: all it needs to resume. */
const SEALED_FILES = ["agent.json", "key", "peer.key", "port"] as const;
/** Largest sealed state: it travels as a Deploy's agent secret (protocol/lease/limits.ts, 64 KiB). */
export const SEALED_STATE_MAX_BYTES = 64 * 1024;

/**
 * An ICON's state directory as one blob, to hand to its sidecar through the lease (the Deploy's agent secret, which
 * the yard keeps in memory only and writes to the sidecar's standard input): `{"v":1,"files":{name: base64}}` of
 * agent.json, key and, when present, peer.key (its libp2p identity) and port. `agentJson` replaces agent.json's
 * text (a hand-over seals the next instance's state without writing it here). `maxBytes` (default
 * {@link SEALED_STATE_MAX_BYTES}, the most a Deploy carries) only for measuring (pair.ts fitCarried).
 */
export async function sealAgentState(
  dir: string,
  o: { agentJson?: string; maxBytes?: number } = {},
): Promise<Uint8Array> {
  const files: Record<string, string> = {};
  for (const name of SEALED_FILES) {
    const given = name === "agent.json" && o.agentJson !== undefined ? Buffer.from(o.agentJson) : undefined;
    const bytes =
      given ??
      (await readFile(path.join(dir, name)).catch((e: NodeJS.ErrnoException) => {
        if (e.code === "ENOENT" && (name === "peer.key" || name === "port")) return undefined;
        throw new IconError("NO_STATE", `${dir} has no ${name}: it holds no ICON to seal`, { cause: e });
      }));
    if (bytes) files[name] = bytes.toString("base64");
  }
  const out = Buffer.from(JSON.stringify({ v: 1, files }));
  if (out.length > (o.maxBytes ?? SEALED_STATE_MAX_BYTES))
    throw new IconError(
      "BAD_SEALED_STATE",
      `the sealed state of ${dir} is ${out.length} bytes; at most ${SEALED_STATE_MAX_BYTES}`,
    );
  return out;
}

/**
 * Writes what {@link sealAgentState} made into `dir` (created 0700; every file 0600, written whole). Refuses, with
 * nothing written, anything else: another version, a file not in the list, agent.json or key missing, too large.
 */
export async function unsealAgentState(sealed: Uint8Array, dir: string): Promise<void> {
  const bad = (why: string): IconError =>
    new IconError("BAD_SEALED_STATE", `the ICON's sealed state ${why}; the deploy that sent it must seal it again`);
  if (sealed.length > SEALED_STATE_MAX_BYTES) throw bad(`is ${sealed.length} bytes; at most ${SEALED_STATE_MAX_BYTES}`);
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(sealed).toString("utf8"));
  } catch {
    throw bad("is not JSON");
  }
  const o = v as { v?: unknown; files?: unknown };
  if (typeof o !== "object" || o === null || o.v !== 1) throw bad("is not version 1");
  if (typeof o.files !== "object" || o.files === null) throw bad("has no files");
  const files = o.files as Record<string, unknown>;
  const allowed = new Set<string>(SEALED_FILES);
  for (const [name, value] of Object.entries(files)) {
    if (!allowed.has(name)) throw bad(`names a file it may not (${JSON.stringify(name.slice(0, 40))})`);
    if (typeof value !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(value)) throw bad(`has ${name} not in base64`);
  }
  if (!files["agent.json"] || !files.key) throw bad("lacks agent.json or key");
  await mkdir(dir, { recursive: true, mode: 0o700 });
  for (const [name, value] of Object.entries(files))
    await writeAtomic(path.join(dir, name), Buffer.from(value as string, "base64"), 0o600);
}

/** The mark of a state directory whose ICON was handed into its lease's sidecar (handedOver). */
const HANDED_OVER = "handed-over.json";

/** Where and when the ICON of a state directory was handed over, as {@link markHandedOver} wrote it. */
export interface HandOverMark {
  leaseId: bigint;
  yard: string;
  endpoint: string;
  /** The instance epoch the sidecar runs. */
  instance: number;
  atMs: number;
  /**
   * Written before the hand-over's Redeploy is sent and replaced once the yard answered Running: a mark with it set
   * means the outcome is not known (a crash, or an answer lost after the yard may have started the sidecar) —
   * `icon agent run` resolves it before this copy acts (handover.ts resolveHandingOver).
   */
  handingOver?: boolean;
}

/**
 * Marks `dir` as handed over: its ICON runs in the sidecar of lease `leaseId` now, and `icon agent run --state dir`
 * refuses to act on this copy unless told `--take-back`.
 */
export async function markHandedOver(dir: string, mark: HandOverMark): Promise<void> {
  await writeAtomic(path.join(dir, HANDED_OVER), encodeState(mark));
}

/** The hand-over mark of `dir`, or undefined when its ICON was not handed over (or was taken back). */
export async function handedOver(dir: string): Promise<HandOverMark | undefined> {
  return readFile(path.join(dir, HANDED_OVER), "utf8").then(fromJson<HandOverMark>, () => undefined);
}

/** Removes the hand-over mark (`--take-back`: the owner's copy acts again). */
export async function clearHandedOver(dir: string): Promise<void> {
  await rm(path.join(dir, HANDED_OVER), { force: true });
}
