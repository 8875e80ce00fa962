/**
 * The yard's side of /icon/image/1.0.0 and /icon/logs/1.0.0 (protocol/yard/services.ts): only the lease holder
 * (the controller of the lease's paying account, or the app owner) may upload an image for a lease or read its
 * container's output. An upload must be the image the lease was quoted for. It lands in
 * <dataDir>/uploads/<holder address>-<tar sha256>.part, so an interrupted upload resumes where it stopped — for
 * the same holder only; a complete tarball is verified (sha256), checked and rewritten (image-archive.ts: no
 * names, no compression, only the offered image) and loaded by id. Unfinished uploads are bounded per holder and
 * in total, and deleted after `partialIdleS` without a byte.
 */
import { mkdir, open, readdir, rm, stat } from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";
import type { Connection, Libp2p, PeerId, Startable, Stream } from "@libp2p/interface";
import { lpStream } from "@libp2p/utils";
import {
  IMAGE_PROTOCOL,
  LOGS_PROTOCOL,
  YardErrorCode,
  YardServiceError,
  decodeYardFrame,
  encodeYardFrame,
  fileSha256,
  leaseAccessSigner,
  yardServiceLimits,
  type MarketClient,
  type YardMessage,
} from "../protocol/index.ts";
import { leaseHolderCheck } from "./access.ts";
import type { LeaseRow, YardDb } from "./db.ts";
import { prepareImageArchive, rewrittenArchive } from "./image-archive.ts";
import type { Logger } from "../protocol/log.ts";
import type { ContainerInfo, ContainerRuntime } from "./runtime.ts";

export interface YardServicesOptions {
  runtime: ContainerRuntime;
  chain: MarketClient;
  db: YardDb;
  dataDir: string;
  maxImageBytes: number;
  /** Bytes of unfinished uploads per lease holder and in total; idle time after which one is deleted. */
  maxPartialBytesPerHolder: number;
  maxPartialBytes: number;
  partialIdleS: number;
  log: Logger;
  container: (leaseId: bigint) => { info: ContainerInfo | undefined; row: LeaseRow | undefined };
  /** An upload loaded image `imageId` into the engine: the yard owns it from now on (and removes it after use). */
  onImageLoaded: (imageId: string) => void;
  /** Wall clock in ms (for the partial-upload sweep). */
  now?: () => number;
}

/** Idle time allowed between two frames of an upload. */
const IDLE_MS = 30_000;
/** How often unfinished uploads are swept (besides at start and before each offer). */
const SWEEP_MS = 60_000;
/** How long a new offer waits for the upload it supersedes to wind down. */
const SUPERSEDE_MS = 10_000;

const PART = /^(0x[0-9a-f]{40})-([0-9a-f]{64})\.part$/;

/** An upload in progress: its holder, the bytes it will hold, and how to stop it. */
interface ActiveUpload {
  holder: string;
  size: number;
  stop: AbortController;
  done: Promise<void>;
}

/** What the yard's services use of the node: its protocol registrar. */
export interface YardServicesComponents {
  registrar: Pick<Libp2p, "handle" | "unhandle">;
}

/**
 * The image and logs protocols as a libp2p service in the js-libp2p shape: `yardServices(init)` is a factory of
 * the node's components, and what it makes is Startable (handlers registered at start, uploads in progress
 * aborted and handlers unregistered at stop).
 */
export function yardServices(init: YardServicesOptions): (components: YardServicesComponents) => Startable {
  return ({ registrar }) => {
    let unregister: (() => Promise<void>) | undefined;
    return {
      start: async () => {
        unregister = await register(registrar, init);
      },
      stop: async () => {
        await unregister?.();
        unregister = undefined;
      },
    };
  };
}

/** Registers both handlers; returns a function that unregisters them. */
async function register(
  node: YardServicesComponents["registrar"],
  o: YardServicesOptions,
): Promise<() => Promise<void>> {
  const authorize = leaseHolderCheck(o.db, o.chain);
  const now = o.now ?? Date.now;
  const dir = path.join(o.dataDir, "uploads");
  await mkdir(dir, { recursive: true, mode: 0o700 });
  /** Uploads in progress, by file. */
  const active = new Map<string, ActiveUpload>();

  /** Unfinished uploads on disk (not in progress), after deleting those idle longer than partialIdleS. */
  async function sweep(): Promise<{ file: string; holder: string; size: number }[]> {
    const kept: { file: string; holder: string; size: number }[] = [];
    for (const name of await readdir(dir)) {
      const file = path.join(dir, name);
      if (active.has(file)) continue;
      const st = await stat(file).catch(() => undefined);
      if (!st?.isFile()) continue;
      const holder = PART.exec(name)?.[1];
      if (!holder || st.mtimeMs + o.partialIdleS * 1000 < now()) {
        await rm(file, { force: true });
        o.log.info("unfinished upload deleted", { file: name.slice(0, 60), bytes: st.size, idleS: o.partialIdleS });
        continue;
      }
      kept.push({ file, holder, size: st.size });
    }
    return kept;
  }
  await sweep();
  const sweeper = setInterval(() => {
    sweep().catch((e: unknown) => o.log.warn("sweeping unfinished uploads failed", { error: e }));
  }, SWEEP_MS);
  sweeper.unref();

  function wrap(
    name: string,
    fn: (
      read: (signal?: AbortSignal) => Promise<YardMessage>,
      write: (m: YardMessage) => Promise<void>,
      remote: PeerId,
    ) => Promise<void>,
  ) {
    return async (stream: Stream, connection: Pick<Connection, "remotePeer">): Promise<void> => {
      const lp = lpStream(stream, { maxDataLength: yardServiceLimits.maxFrameBytes });
      const read = async (signal?: AbortSignal): Promise<YardMessage> => {
        const idle = AbortSignal.timeout(IDLE_MS);
        return decodeYardFrame((await lp.read({ signal: signal ? AbortSignal.any([signal, idle]) : idle })).subarray());
      };
      const write = async (m: YardMessage): Promise<void> => {
        await lp.write(encodeYardFrame(m), { signal: AbortSignal.timeout(IDLE_MS) });
      };
      try {
        await fn(read, write, connection.remotePeer);
        await stream.close();
      } catch (e) {
        const known = e instanceof YardServiceError;
        if (!known) o.log.warn(`${name} request failed`, { error: e, peer: connection.remotePeer.toString() });
        try {
          await write({
            type: "error",
            code: known ? e.yardCode : YardErrorCode.INTERNAL,
            message: known ? e.message : "the yard failed while answering",
          });
          await stream.close();
        } catch {
          stream.abort(e as Error);
        }
      }
    };
  }

  /** Refuses an upload of `size` bytes into `file` by `holder` that would pass a bound on unfinished uploads. */
  function checkRoom(
    partials: { file: string; holder: string; size: number }[],
    file: string,
    holder: string,
    size: number,
  ): void {
    let mine = size;
    let all = size;
    for (const p of partials) {
      if (p.file === file) continue;
      all += p.size;
      if (p.holder === holder) mine += p.size;
    }
    for (const [f, a] of active) {
      if (f === file) continue;
      all += a.size;
      if (a.holder === holder) mine += a.size;
    }
    const after = `unfinished uploads are deleted after ${o.partialIdleS} s without a byte`;
    if (mine > o.maxPartialBytesPerHolder)
      throw new YardServiceError(
        YardErrorCode.BUSY,
        `your unfinished uploads at this yard would hold ${mine} bytes with this one; at most ${o.maxPartialBytesPerHolder} per lease holder: finish them first (${after})`,
      );
    if (all > o.maxPartialBytes)
      throw new YardServiceError(
        YardErrorCode.BUSY,
        `unfinished uploads at this yard would hold ${all} bytes in total with this one; at most ${o.maxPartialBytes}: retry later (${after})`,
      );
  }

  const image = wrap("image upload", async (read, write, remote) => {
    const offer = await read();
    if (offer.type !== "imageOffer") throw new YardServiceError(YardErrorCode.BAD_FRAME, "expected an imageOffer");
    const row = await authorize(offer.access, remote);
    const holder = leaseAccessSigner(offer.access, o.chain.domain(), remote).toLowerCase();
    const ref = `sha256:${offer.imageId.slice(2)}`;
    const partials = await sweep();
    if (offer.imageId.toLowerCase() !== row.offer.specHash.toLowerCase())
      throw new YardServiceError(
        YardErrorCode.BAD_IMAGE,
        `lease ${row.id} was quoted for image sha256:${row.offer.specHash.slice(2)}; upload that one (not ${ref})`,
      );
    if (await o.runtime.imageId(ref)) {
      // Only an image this yard loaded is its to keep alive (and later remove): one that was in the engine
      // before (the operator's) is used as it is and never recorded, so the yard never deletes it.
      if (o.db.images().some((i) => i.id === ref)) o.onImageLoaded(ref);
      await write({ type: "imageStatus", present: true, offset: 0n });
      return;
    }
    if (offer.size === 0n || offer.size > BigInt(o.maxImageBytes))
      throw new YardServiceError(
        YardErrorCode.BAD_IMAGE,
        `images up to ${o.maxImageBytes} bytes are accepted here, this one has ${offer.size}`,
      );
    const size = Number(offer.size);
    const file = path.join(dir, `${holder}-${offer.tarSha256.slice(2)}.part`);
    // The same holder offering the same tarball again (its link dropped and it came back before the yard
    // noticed) takes over: the older upload stops and this one resumes from its bytes.
    const older = active.get(file);
    if (older) {
      older.stop.abort(new YardServiceError(YardErrorCode.BUSY, "a newer upload of this tarball took over"));
      await Promise.race([older.done, new Promise((r) => setTimeout(r, SUPERSEDE_MS))]);
      if (active.get(file) === older)
        throw new YardServiceError(YardErrorCode.BUSY, "an upload of this tarball is winding down; retry shortly");
    }
    checkRoom(older ? await sweep() : partials, file, holder, size);
    const stop = new AbortController();
    let finished!: () => void;
    const me: ActiveUpload = { holder, size, stop, done: new Promise<void>((r) => (finished = r)) };
    active.set(file, me);
    try {
      await receive(file, offer.size, read, write, stop.signal);
      await load(file, ref, offer.tarSha256, size);
      o.onImageLoaded(ref);
      o.log.info("image uploaded", { image: ref.slice(0, 19), bytes: offer.size, lease: offer.access.leaseId });
      await write({ type: "imageLoaded", imageId: offer.imageId });
    } catch (e) {
      throw stop.signal.aborted && stop.signal.reason instanceof YardServiceError ? stop.signal.reason : e;
    } finally {
      // A partial that received nothing is not kept.
      const left = await stat(file).catch(() => undefined);
      if (left?.size === 0) await rm(file, { force: true });
      if (active.get(file) === me) active.delete(file);
      finished();
    }
  });

  /** Receives the offered bytes into `file` (resuming after what it holds). */
  async function receive(
    file: string,
    size: bigint,
    read: (signal?: AbortSignal) => Promise<YardMessage>,
    write: (m: YardMessage) => Promise<void>,
    signal: AbortSignal,
  ): Promise<void> {
    let offset = BigInt((await stat(file).catch(() => ({ size: 0 }))).size);
    if (offset > size) {
      await rm(file, { force: true });
      offset = 0n;
    }
    await write({ type: "imageStatus", present: false, offset });
    const f = await open(file, "a", 0o600);
    try {
      while (offset < size) {
        const m = await read(signal);
        if (m.type !== "imageChunk") throw new YardServiceError(YardErrorCode.BAD_FRAME, "expected an imageChunk");
        if (m.offset !== offset)
          throw new YardServiceError(YardErrorCode.BAD_FRAME, `expected the chunk at ${offset}, got ${m.offset}`);
        if (offset + BigInt(m.data.length) > size)
          throw new YardServiceError(YardErrorCode.BAD_FRAME, "the chunks exceed the offered size");
        await f.write(m.data);
        offset += BigInt(m.data.length);
      }
      await f.sync();
    } finally {
      await f.close();
    }
  }

  /**
   * Verifies the complete upload in `file`, loads image `ref` from it (rewritten: no names, nothing else), names
   * it with the yard's own name for it, and
   * deletes the file, whatever the outcome: a refused upload leaves nothing behind.
   */
  async function load(file: string, ref: string, tarSha256: string, size: number): Promise<void> {
    try {
      if ((await fileSha256(file)) !== tarSha256)
        throw new YardServiceError(YardErrorCode.BAD_IMAGE, "the tarball's sha256 does not match the offer");
      const fh = await open(file);
      let ids: string[];
      try {
        const prepared = await prepareImageArchive(fh, size, ref);
        try {
          ids = await o.runtime.loadImage(Readable.from(rewrittenArchive(fh, prepared)));
        } catch (cause) {
          throw new YardServiceError(
            YardErrorCode.BAD_IMAGE,
            `the engine refused the image: ${(cause as Error).message}`,
            { cause },
          );
        }
      } finally {
        await fh.close();
      }
      // The rewritten archive carries one image whose config hashes to `ref`: nothing else can have loaded.
      if (!ids.includes(ref))
        throw new YardServiceError(YardErrorCode.BAD_IMAGE, `the tarball loaded as ${ids.join(", ")}, not ${ref}`);
      // Under the yard's own name (never the upload's), so that an operator's pruning of dangling images keeps it.
      try {
        await o.runtime.nameImage(ref);
      } catch (cause) {
        await o.runtime.removeImage(ref).catch(() => {});
        throw new YardServiceError(YardErrorCode.INTERNAL, "the yard could not name the image it loaded; retry", {
          cause,
        });
      }
    } finally {
      await rm(file, { force: true });
    }
  }

  const logs = wrap("logs", async (read, write, remote) => {
    const req = await read();
    if (req.type !== "logsRequest") throw new YardServiceError(YardErrorCode.BAD_FRAME, "expected a logsRequest");
    await authorize(req.access, remote);
    const { info, row } = o.container(req.access.leaseId);
    const live = row?.containerId ? await o.runtime.inspect(row.containerId) : info;
    const text = live ? await o.runtime.logs(live.id, { tail: req.tail }) : "";
    const state = live
      ? live.oomKilled && !live.running
        ? "oom-killed"
        : live.status
      : row?.status === "ended" || row?.status === "settled"
        ? "ended"
        : "not started";
    await write({
      type: "logsReply",
      state,
      exitCode: live?.exitCode ?? 0,
      oomKilled: live?.oomKilled ?? false,
      restarts: row?.restarts ?? 0,
      text: (row?.note ? `[yard] ${row.note}\n` : "") + text,
    });
  });

  await node.handle(IMAGE_PROTOCOL, image, { maxInboundStreams: 4 });
  await node.handle(LOGS_PROTOCOL, logs, { maxInboundStreams: 16 });
  return async () => {
    clearInterval(sweeper);
    for (const a of active.values()) a.stop.abort(new YardServiceError(YardErrorCode.INTERNAL, "the yard is stopping"));
    await node.unhandle(IMAGE_PROTOCOL);
    await node.unhandle(LOGS_PROTOCOL);
  };
}
