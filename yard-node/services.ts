/**
 * The yard's side of /icon/image/1.0.0 and /icon/logs/1.0.0 (protocol/yard/services.ts): only the lease holder
 * (the controller of the lease's paying account, or the app owner) may upload an image for a lease or read its
 * container's output. Uploads land in <dataDir>/uploads/<tar sha256>.part, so an interrupted upload resumes
 * where it stopped; a complete tarball is verified (sha256) and must load as exactly the offered image id.
 */
import { createReadStream } from "node:fs";
import { mkdir, open, rm, stat } from "node:fs/promises";
import path from "node:path";
import type { Connection, Libp2p, PeerId, Stream } from "@libp2p/interface";
import { lpStream } from "@libp2p/utils";
import {
  IMAGE_PROTOCOL,
  LOGS_PROTOCOL,
  YardErrorCode,
  YardServiceError,
  decodeYardFrame,
  encodeYardFrame,
  fileSha256,
  yardServiceLimits,
  type MarketClient,
  type YardMessage,
} from "../protocol/index.ts";
import { leaseHolderCheck } from "./access.ts";
import type { LeaseRow, YardDb } from "./db.ts";
import type { Logger } from "./log.ts";
import type { ContainerInfo, ContainerRuntime } from "./runtime.ts";

export interface YardServicesOptions {
  runtime: ContainerRuntime;
  chain: MarketClient;
  db: YardDb;
  dataDir: string;
  maxImageBytes: number;
  log: Logger;
  container: (leaseId: bigint) => { info: ContainerInfo | undefined; row: LeaseRow | undefined };
  onImageLoaded: (imageId: string) => void;
}

/** Idle time allowed between two frames of an upload. */
const IDLE_MS = 30_000;

/** Registers both handlers; returns a function that unregisters them. */
export async function serveYardServices(node: Libp2p, o: YardServicesOptions): Promise<() => Promise<void>> {
  const uploading = new Set<string>();
  const authorize = leaseHolderCheck(o.db, o.chain);

  function wrap(
    name: string,
    fn: (read: () => Promise<YardMessage>, write: (m: YardMessage) => Promise<void>, remote: PeerId) => Promise<void>,
  ) {
    return async (stream: Stream, connection: Pick<Connection, "remotePeer">): Promise<void> => {
      const lp = lpStream(stream, { maxDataLength: yardServiceLimits.maxFrameBytes });
      const read = async (): Promise<YardMessage> =>
        decodeYardFrame((await lp.read({ signal: AbortSignal.timeout(IDLE_MS) })).subarray());
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

  const image = wrap("image upload", async (read, write, remote) => {
    const offer = await read();
    if (offer.type !== "imageOffer") throw new YardServiceError(YardErrorCode.BAD_FRAME, "expected an imageOffer");
    await authorize(offer.access, remote);
    const ref = `sha256:${offer.imageId.slice(2)}`;
    if (await o.runtime.imageId(ref)) {
      o.onImageLoaded(ref);
      await write({ type: "imageStatus", present: true, offset: 0n });
      return;
    }
    if (offer.size === 0n || offer.size > BigInt(o.maxImageBytes))
      throw new YardServiceError(
        YardErrorCode.BAD_IMAGE,
        `images up to ${o.maxImageBytes} bytes are accepted here, this one has ${offer.size}`,
      );
    const tag = offer.tarSha256.slice(2);
    if (uploading.has(tag))
      throw new YardServiceError(YardErrorCode.INTERNAL, "an upload of this image is in progress; retry shortly");
    uploading.add(tag);
    const dir = path.join(o.dataDir, "uploads");
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const file = path.join(dir, `${tag}.part`);
    try {
      let offset = BigInt((await stat(file).catch(() => ({ size: 0 }))).size);
      if (offset > offer.size) {
        await rm(file, { force: true });
        offset = 0n;
      }
      await write({ type: "imageStatus", present: false, offset });
      const f = await open(file, "a");
      try {
        while (offset < offer.size) {
          const m = await read();
          if (m.type !== "imageChunk") throw new YardServiceError(YardErrorCode.BAD_FRAME, "expected an imageChunk");
          if (m.offset !== offset)
            throw new YardServiceError(YardErrorCode.BAD_FRAME, `expected the chunk at ${offset}, got ${m.offset}`);
          if (offset + BigInt(m.data.length) > offer.size)
            throw new YardServiceError(YardErrorCode.BAD_FRAME, "the chunks exceed the offered size");
          await f.write(m.data);
          offset += BigInt(m.data.length);
        }
        await f.sync();
      } finally {
        await f.close();
      }
      if ((await fileSha256(file)) !== offer.tarSha256) {
        await rm(file, { force: true });
        throw new YardServiceError(YardErrorCode.BAD_IMAGE, "the tarball's sha256 does not match the offer");
      }
      let ids: string[];
      try {
        ids = await o.runtime.loadImage(createReadStream(file));
      } catch (cause) {
        await rm(file, { force: true });
        throw new YardServiceError(YardErrorCode.BAD_IMAGE, "the tarball is not a docker image archive", { cause });
      }
      await rm(file, { force: true });
      // Only the offered image stays. Images this yard holds for leases are left alone: loading a copy of one
      // changed nothing, and removing it would take it from its lease.
      const held = new Set(o.db.images().map((i) => i.id));
      for (const id of ids) if (id !== ref && !held.has(id)) await o.runtime.removeImage(id).catch(() => {});
      if (!ids.includes(ref)) {
        throw new YardServiceError(
          YardErrorCode.BAD_IMAGE,
          `the tarball loaded as ${ids.join(", ") || "nothing"}, not ${ref}`,
        );
      }
      o.onImageLoaded(ref);
      o.log.info("image uploaded", { image: ref.slice(0, 19), bytes: offer.size, lease: offer.access.leaseId });
      await write({ type: "imageLoaded", imageId: offer.imageId });
    } finally {
      uploading.delete(tag);
    }
  });

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
    await node.unhandle(IMAGE_PROTOCOL);
    await node.unhandle(LOGS_PROTOCOL);
  };
}
