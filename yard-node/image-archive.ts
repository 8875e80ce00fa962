/**
 * An uploaded `docker save` tarball, checked and rewritten before the engine sees it. `docker load` would apply
 * the archive's own names (manifest.json `RepoTags`, the legacy `repositories` file, OCI index annotations) to
 * the whole engine, load every image the archive carries, and accept compressed input of any expanded size. So
 * the yard never hands the upload to the engine as it came: `prepareImageArchive` reads the tar (ustar headers,
 * pax and GNU long names and sizes, base-256 numbers) and refuses what it cannot vouch for, and
 * `rewrittenArchive` streams a new archive that holds exactly one image — the offered one, found by the sha256
 * of its config — with no name at all: `manifest.json` (`RepoTags: null`), the config and its layers. Nothing
 * else of the upload reaches Docker.
 *
 * Refused (BAD_IMAGE, with a sentence): compressed input (gzip, bzip2, xz, zstd) — the archive or any layer;
 * entries whose path is absolute or climbs out (`..`); links that lead out of the archive or to no file; a name
 * given twice; sparse files (in the archive or in a layer: they expand to any size); devices, FIFOs and other
 * special entries; a manifest over 1 MiB or a config over 4 MiB; a tar that ends early or whose header
 * checksums fail; an archive that does not carry the offered image.
 *
 * With compression and sparse files refused, what Docker extracts is at most the bytes uploaded: the layers'
 * files are in the upload byte for byte, and the upload is bounded by `images.maxBytes`.
 */
import { createHash } from "node:crypto";
import type { FileHandle } from "node:fs/promises";
import path from "node:path/posix";
import { YardErrorCode, YardServiceError } from "../protocol/index.ts";

export const archiveLimits = {
  /** Largest manifest.json: a real one is a few hundred bytes per image. */
  maxManifestBytes: 1 << 20,
  /** Largest image config (JSON with the image's history). */
  maxConfigBytes: 4 << 20,
  /** Largest pax extended header or GNU long name. */
  maxExtendedHeaderBytes: 64 << 10,
  /** Most entries in the archive (a `docker save` of one image has about four per layer). */
  maxEntries: 10_000,
  /** Most images in the manifest and layers per image (overlay2 stacks at most 128). */
  maxImages: 64,
  maxLayers: 128,
  /** Links followed from a manifest path to a file. */
  maxLinkHops: 8,
} as const;

/** One entry of a tar archive: where its data lies in the file. */
export interface TarEntry {
  name: string;
  type: "file" | "dir" | "symlink" | "hardlink" | "other";
  /** The raw type flag, for messages. */
  flag: string;
  link: string;
  /** Byte offset of the data in the file, and its length. */
  offset: number;
  size: number;
}

/** What the yard will hand to Docker: the image's config and its layers, by position in the uploaded file. */
export interface PreparedImage {
  /** `sha256:<hex>` of the config: the image id. */
  id: string;
  config: { offset: number; size: number };
  /** One per distinct layer file, in manifest order; `order` maps the manifest's layers onto them. */
  layers: { offset: number; size: number }[];
  order: number[];
  /** Bytes Docker will extract: the layers' sizes (no compression, no sparse files). */
  loadedBytes: number;
}

const refuse = (message: string, cause?: unknown): YardServiceError =>
  new YardServiceError(YardErrorCode.BAD_IMAGE, message, { cause });

const COMPRESSED: [string, number[]][] = [
  ["gzip", [0x1f, 0x8b]],
  ["bzip2", [0x42, 0x5a, 0x68]],
  ["xz", [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
  ["zstd", [0x28, 0xb5, 0x2f, 0xfd]],
];

/** The compression format whose magic number `head` starts with, if any. */
export function compressionOf(head: Uint8Array): string | undefined {
  for (const [name, magic] of COMPRESSED) if (magic.every((b, i) => head[i] === b)) return name;
  return undefined;
}

async function readAt(fh: FileHandle, offset: number, length: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  let got = 0;
  while (got < length) {
    const { bytesRead } = await fh.read(buf, got, length - got, offset + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return got === length ? buf : buf.subarray(0, got);
}

function cString(b: Buffer): string {
  const nul = b.indexOf(0);
  return (nul >= 0 ? b.subarray(0, nul) : b).toString("utf8");
}

/** A numeric header field: octal text, or base-256 when the top bit of the first byte is set. */
function numeric(b: Buffer, what: string): number {
  if (b[0]! & 0x80) {
    if (b[0] === 0xff) throw refuse(`a tar header carries a negative ${what}`);
    let n = b[0]! & 0x7f;
    for (let i = 1; i < b.length; i++) {
      n = n * 256 + b[i]!;
      if (n > Number.MAX_SAFE_INTEGER) throw refuse(`a tar header carries a ${what} beyond 2^53`);
    }
    return n;
  }
  const text = cString(b).trim();
  if (!/^[0-7]*$/.test(text))
    throw refuse(`a tar header carries a ${what} that is not a number (${JSON.stringify(text)})`);
  return text === "" ? 0 : parseInt(text, 8);
}

function checksumOk(h: Buffer): boolean {
  const text = cString(h.subarray(148, 156)).trim();
  if (!/^[0-7]{1,7}$/.test(text)) return false;
  const stored = parseInt(text, 8);
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < 512; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : h[i]!;
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return stored === unsigned || stored === signed;
}

/** Records of a pax extended header (`"<len> <key>=<value>\n"`…). */
function paxRecords(data: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  let at = 0;
  while (at < data.length) {
    if (data[at] === 0) break;
    const space = data.indexOf(0x20, at);
    const len = space > at ? Number(data.subarray(at, space).toString("latin1")) : NaN;
    if (!Number.isInteger(len) || len <= space - at || at + len > data.length)
      throw refuse("a pax extended header is malformed");
    const record = data.subarray(space + 1, at + len - 1).toString("utf8");
    const eq = record.indexOf("=");
    if (eq <= 0) throw refuse("a pax extended header record has no key");
    out.set(record.slice(0, eq), record.slice(eq + 1));
    at += len;
  }
  return out;
}

/**
 * Every entry of the tar archive that lies in `[start, end)` of `fh`, in order. Extended headers (pax `x`, GNU
 * `L`/`K`) are folded into the entry they describe; pax global headers are skipped. Sparse entries are refused.
 * `what` names the archive in messages.
 */
export async function readTar(
  fh: FileHandle,
  o: { start: number; end: number; what: string; maxEntries?: number },
): Promise<TarEntry[]> {
  const entries: TarEntry[] = [];
  let pos = o.start;
  let pax = new Map<string, string>();
  let longName: string | undefined;
  let longLink: string | undefined;
  const max = o.maxEntries ?? archiveLimits.maxEntries;
  for (;;) {
    if (pos + 512 > o.end) {
      // The end-of-archive blocks are optional in practice (Docker's reader stops at EOF too).
      if (pos === o.end && longName === undefined && longLink === undefined && pax.size === 0) return entries;
      throw refuse(`${o.what} ends in the middle of a tar header`);
    }
    const h = await readAt(fh, pos, 512);
    if (h.every((b) => b === 0)) return entries;
    if (!checksumOk(h)) throw refuse(`${o.what} is not a tar archive (a header checksum at byte ${pos} fails)`);
    const flag = String.fromCharCode(h[156]!);
    const paxSize = pax.get("size");
    const size = paxSize !== undefined ? Number(paxSize) : numeric(h.subarray(124, 136), "size");
    if (!Number.isSafeInteger(size) || size < 0) throw refuse(`${o.what} has an entry of invalid size`);
    const dataAt = pos + 512;
    const next = dataAt + Math.ceil(size / 512) * 512;
    if (dataAt + size > o.end) throw refuse(`${o.what} ends in the middle of an entry (it is truncated)`);
    const extended = async (): Promise<Buffer> => {
      if (size > archiveLimits.maxExtendedHeaderBytes)
        throw refuse(
          `${o.what} has an extended header of ${size} bytes; at most ${archiveLimits.maxExtendedHeaderBytes}`,
        );
      return readAt(fh, dataAt, size);
    };
    pos = next;
    if (flag === "x") {
      for (const [k, v] of paxRecords(await extended())) pax.set(k, v);
      continue;
    }
    if (flag === "g") {
      await extended();
      continue;
    }
    if (flag === "L") {
      longName = cString(await extended());
      continue;
    }
    if (flag === "K") {
      longLink = cString(await extended());
      continue;
    }
    if (flag === "S" || [...pax.keys()].some((k) => k.startsWith("GNU.sparse.")))
      throw refuse(
        `${o.what} holds a sparse file, which would expand beyond its uploaded size; sparse files are refused`,
      );
    const ustar = h.subarray(257, 263).toString("latin1") === "ustar\0";
    const prefix = ustar ? cString(h.subarray(345, 500)) : "";
    const short = cString(h.subarray(0, 100));
    const name = pax.get("path") ?? longName ?? (prefix ? `${prefix}/${short}` : short);
    const link = pax.get("linkpath") ?? longLink ?? cString(h.subarray(157, 257));
    const type =
      flag === "0" || flag === "\0" || flag === "7"
        ? "file"
        : flag === "5"
          ? "dir"
          : flag === "2"
            ? "symlink"
            : flag === "1"
              ? "hardlink"
              : "other";
    if (entries.length >= max) throw refuse(`${o.what} has more than ${max} entries`);
    entries.push({ name, type, flag, link, offset: dataAt, size: type === "file" ? size : 0 });
    pax = new Map();
    longName = undefined;
    longLink = undefined;
  }
}

/** `name` as a relative path inside the archive (no `./`, no trailing `/`); throws when it is unsafe. */
export function archivePath(name: string): string {
  if (name.includes("\0") || name.startsWith("/") || name.includes("\\"))
    throw refuse(`the tarball has an entry with an unsafe path (${JSON.stringify(name.slice(0, 200))})`);
  const parts = name.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.includes("..") || (parts.length === 0 && name !== "." && name !== "./"))
    throw refuse(`the tarball has an entry with an unsafe path (${JSON.stringify(name.slice(0, 200))})`);
  return parts.join("/");
}

/**
 * Checks the uploaded archive `fh` (`size` bytes) and finds image `imageId` (`sha256:<hex>`) in it; throws a
 * BAD_IMAGE YardServiceError with a sentence for anything the yard refuses (see the module comment).
 */
export async function prepareImageArchive(fh: FileHandle, size: number, imageId: string): Promise<PreparedImage> {
  const head = await readAt(fh, 0, 8);
  const packed = compressionOf(head);
  if (packed)
    throw refuse(
      `the tarball is ${packed}-compressed; compressed uploads are refused (their expanded size is unbounded): send the plain \`docker save\` tar`,
    );
  const entries = await readTar(fh, { start: 0, end: size, what: "the tarball" });
  const byName = new Map<string, TarEntry>();
  for (const e of entries) {
    const name = archivePath(e.name);
    if (name === "") continue;
    if (byName.has(name)) throw refuse(`the tarball names ${JSON.stringify(name.slice(0, 200))} twice`);
    if (e.type === "other")
      throw refuse(`the tarball holds a special entry (type ${JSON.stringify(e.flag)}) at ${JSON.stringify(name)}`);
    byName.set(name, e);
  }

  /** The file entry `name` leads to, following links inside the archive. */
  const resolve = (name: string, what: string): TarEntry => {
    let at = archivePath(name);
    for (let hop = 0; hop <= archiveLimits.maxLinkHops; hop++) {
      const e = byName.get(at);
      if (!e) throw refuse(`${what} names ${JSON.stringify(at.slice(0, 200))}, which is not in the tarball`);
      if (e.type === "file") return e;
      if (e.type !== "symlink" && e.type !== "hardlink")
        throw refuse(`${what} names ${JSON.stringify(at.slice(0, 200))}, which is not a file`);
      const target = e.type === "symlink" ? path.normalize(path.join(path.dirname(at), e.link)) : e.link;
      if (target.startsWith("/") || target === ".." || target.startsWith("../"))
        throw refuse(`${what} is a link that leads out of the tarball (${JSON.stringify(e.link.slice(0, 200))})`);
      at = archivePath(target);
    }
    throw refuse(`${what} is a chain of more than ${archiveLimits.maxLinkHops} links`);
  };

  const manifestEntry = byName.get("manifest.json");
  if (!manifestEntry || manifestEntry.type !== "file")
    throw refuse("the tarball is not a docker image archive (it has no manifest.json)");
  if (manifestEntry.size > archiveLimits.maxManifestBytes)
    throw refuse(
      `manifest.json is ${manifestEntry.size} bytes; at most ${archiveLimits.maxManifestBytes} are accepted`,
    );
  let manifest: unknown;
  try {
    manifest = JSON.parse((await readAt(fh, manifestEntry.offset, manifestEntry.size)).toString("utf8"));
  } catch (cause) {
    throw refuse("manifest.json is not valid JSON", cause);
  }
  if (!Array.isArray(manifest) || manifest.length === 0 || manifest.length > archiveLimits.maxImages)
    throw refuse(`manifest.json must list 1 to ${archiveLimits.maxImages} images`);

  const carried: string[] = [];
  for (const [i, m] of (manifest as unknown[]).entries()) {
    const item = m as { Config?: unknown; Layers?: unknown };
    if (
      typeof item?.Config !== "string" ||
      !Array.isArray(item.Layers) ||
      item.Layers.length > archiveLimits.maxLayers ||
      !item.Layers.every((l) => typeof l === "string")
    )
      throw refuse(`manifest.json entry ${i} needs a Config path and at most ${archiveLimits.maxLayers} Layers paths`);
    const config = resolve(item.Config, `the config of manifest entry ${i}`);
    if (config.size > archiveLimits.maxConfigBytes)
      throw refuse(`an image config of ${config.size} bytes; at most ${archiveLimits.maxConfigBytes} are accepted`);
    const id = `sha256:${createHash("sha256")
      .update(await readAt(fh, config.offset, config.size))
      .digest("hex")}`;
    carried.push(id);
    if (id !== imageId) continue;

    const layers: PreparedImage["layers"] = [];
    const order: number[] = [];
    const seen = new Map<TarEntry, number>();
    for (const [j, name] of (item.Layers as string[]).entries()) {
      const layer = resolve(name, `layer ${j} of image ${id}`);
      let k = seen.get(layer);
      if (k === undefined) {
        const kind = compressionOf(await readAt(fh, layer.offset, Math.min(8, layer.size)));
        if (kind)
          throw refuse(
            `layer ${j} is ${kind}-compressed; compressed layers are refused (their expanded size is unbounded): send \`docker save\` output with uncompressed layers`,
          );
        // The layer's own entries: a sparse file would expand beyond the bytes uploaded.
        await readTar(fh, {
          start: layer.offset,
          end: layer.offset + layer.size,
          what: `layer ${j}`,
          maxEntries: Number.MAX_SAFE_INTEGER,
        });
        k = layers.length;
        layers.push({ offset: layer.offset, size: layer.size });
        seen.set(layer, k);
      }
      order.push(k);
    }
    return {
      id,
      config: { offset: config.offset, size: config.size },
      layers,
      order,
      loadedBytes: layers.reduce((s, l) => s + l.size, 0),
    };
  }
  throw refuse(`the tarball does not carry image ${imageId} (it carries ${carried.join(", ")})`);
}

/** A ustar header of a regular file (short names only). */
function fileHeader(name: string, size: number): Buffer {
  const h = Buffer.alloc(512);
  const octal = (at: number, len: number, n: number) =>
    h.write(n.toString(8).padStart(len - 1, "0") + "\0", at, len, "latin1");
  h.write(name, 0, 100, "utf8");
  octal(100, 8, 0o644);
  octal(108, 8, 0);
  octal(116, 8, 0);
  octal(124, 12, size);
  octal(136, 12, 0);
  h.write("        ", 148, 8, "latin1");
  h.write("0", 156, 1, "latin1");
  h.write("ustar\u000000", 257, 8, "latin1");
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, "0") + "\0 ", 148, 8, "latin1");
  return h;
}

const padding = (n: number): Buffer => Buffer.alloc((512 - (n % 512)) % 512);

/**
 * The archive the yard hands to `docker load`: `manifest.json` naming no tag, the config and the layers of
 * `image`, copied from `fh` in 1 MiB pieces.
 */
export async function* rewrittenArchive(fh: FileHandle, image: PreparedImage): AsyncGenerator<Uint8Array> {
  const hex = image.id.slice("sha256:".length);
  const layerName = (k: number) => `layer-${k}.tar`;
  const manifest = Buffer.from(
    JSON.stringify([{ Config: `${hex}.json`, RepoTags: null, Layers: image.order.map(layerName) }]),
  );
  const copy = async function* (name: string, src: { offset: number; size: number }) {
    yield fileHeader(name, src.size);
    for (let at = 0; at < src.size; at += 1 << 20) {
      const piece = await readAt(fh, src.offset + at, Math.min(1 << 20, src.size - at));
      if (piece.length === 0) throw new Error(`the upload shrank while it was being loaded (${name})`);
      yield piece;
    }
    yield padding(src.size);
  };
  yield* copy(`${hex}.json`, image.config);
  for (const [k, layer] of image.layers.entries()) yield* copy(layerName(k), layer);
  yield fileHeader("manifest.json", manifest.length);
  yield manifest;
  yield padding(manifest.length);
  yield Buffer.alloc(1024);
}
