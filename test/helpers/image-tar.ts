/**
 * Hand-made `docker save` archives for the image upload tests: a tiny tar writer (ustar headers, GNU long names),
 * an image built from layer tars of the test's choosing (optionally gzip-compressed, as `docker load` accepts),
 * and a re-packer that changes the manifest and adds a `repositories` file to a real `docker save` tarball. They
 * make what a hostile tenant would send; the yard's own reader lives in yard-node/image-archive.ts.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";

const run = promisify(execFile);

/** One entry of `tarOf`: a file (type "0", the default), a directory ("5") or a symbolic link ("2"). */
export interface TarEntry {
  name: string;
  data?: Buffer;
  type?: "0" | "2" | "5";
  link?: string;
}

function header(name: string, size: number, type: string, link = ""): Buffer {
  const h = Buffer.alloc(512);
  const put = (at: number, len: number, s: string) => h.write(s, at, Math.min(len, Buffer.byteLength(s)), "utf8");
  const octal = (at: number, len: number, n: number) => put(at, len, n.toString(8).padStart(len - 1, "0") + "\0");
  put(0, 100, name);
  octal(100, 8, type === "5" ? 0o755 : 0o644);
  octal(108, 8, 0);
  octal(116, 8, 0);
  octal(124, 12, size);
  octal(136, 12, 0);
  put(148, 8, "        ");
  put(156, 1, type);
  put(157, 100, link);
  put(257, 8, "ustar\x0000");
  let sum = 0;
  for (const b of h) sum += b;
  put(148, 8, sum.toString(8).padStart(6, "0") + "\0 ");
  return h;
}

const pad = (n: number) => Buffer.alloc((512 - (n % 512)) % 512);

/** A tar archive of `entries`; names longer than 100 bytes get a GNU long-name entry. */
export function tarOf(entries: TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const data = e.data ?? Buffer.alloc(0);
    let name = e.name;
    if (Buffer.byteLength(name) > 100) {
      const long = Buffer.from(name + "\0");
      parts.push(header("././@LongLink", long.length, "L"), long, pad(long.length));
      name = name.slice(0, 100);
    }
    parts.push(header(name, e.type === "0" || e.type === undefined ? data.length : 0, e.type ?? "0", e.link));
    if ((e.type ?? "0") === "0") parts.push(data, pad(data.length));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

/**
 * A `docker save` archive of an image made of `layers` (each an uncompressed layer tar): its config, the layers
 * (gzip-compressed when `gzipLayers`), and a manifest with `repoTags`; `extra` entries are appended. Returns the
 * archive and the image id (the config's sha256).
 */
export function imageTar(o: {
  layers: Buffer[];
  gzipLayers?: boolean;
  repoTags?: string[] | null;
  extra?: TarEntry[];
  /** Bytes of padding in the manifest (a "huge manifest"). */
  manifestPad?: number;
  /** Layer file names (default `layer<i>/layer.tar`). */
  layerNames?: string[];
  /** Layers written as a symbolic link to the given target instead of their bytes (by index). */
  links?: Record<number, string>;
}): { tar: Buffer; id: string; hex: string } {
  const config = Buffer.from(
    JSON.stringify({
      architecture: "amd64",
      os: "linux",
      created: "2026-01-01T00:00:00Z",
      config: { Cmd: ["/bin/busybox", "true"] },
      rootfs: { type: "layers", diff_ids: o.layers.map((l) => `sha256:${sha(l)}`) },
    }),
  );
  const hex = sha(config);
  const names = o.layerNames ?? o.layers.map((_, i) => `layer${i}/layer.tar`);
  const manifest: Record<string, unknown> = {
    Config: `${hex}.json`,
    RepoTags: o.repoTags ?? null,
    Layers: names,
  };
  if (o.manifestPad) manifest.Padding = "x".repeat(o.manifestPad);
  const entries: TarEntry[] = [{ name: `${hex}.json`, data: config }];
  o.layers.forEach((l, i) =>
    entries.push(
      o.links?.[i] !== undefined
        ? { name: names[i]!, type: "2", link: o.links[i] }
        : { name: names[i]!, data: o.gzipLayers ? gzipSync(l) : l },
    ),
  );
  entries.push({ name: "manifest.json", data: Buffer.from(JSON.stringify([manifest])) }, ...(o.extra ?? []));
  return { tar: tarOf(entries), id: `sha256:${hex}`, hex: `0x${hex}` };
}

/** A layer tar holding one file `name` of `size` zero bytes. */
export function zeroLayer(name: string, size: number): Buffer {
  return tarOf([{ name, data: Buffer.alloc(size) }]);
}

/**
 * Re-packs the `docker save` tarball `from` into `to` with the manifest's RepoTags set to `repoTags` and, when
 * given, a legacy `repositories` file (repository → tag → top layer id) naming `repositories`.
 */
export async function retag(
  from: string,
  to: string,
  o: { repoTags: string[]; repositories?: string[]; bundle?: string },
): Promise<void> {
  const dir = await mkdtemp(`${to}.d-`);
  try {
    await mkdir(dir, { recursive: true });
    await run("tar", ["-C", dir, "-xf", from]);
    if (o.bundle) await run("tar", ["-C", dir, "-xf", o.bundle]);
    const manifest = JSON.parse(await readFile(path.join(dir, "manifest.json"), "utf8")) as {
      Layers: string[];
      RepoTags: string[] | null;
    }[];
    for (const m of manifest) m.RepoTags = o.repoTags;
    await writeFile(path.join(dir, "manifest.json"), JSON.stringify(manifest));
    if (o.repositories) {
      const top = path.dirname(manifest[0]!.Layers.at(-1)!);
      const repos: Record<string, Record<string, string>> = {};
      for (const ref of o.repositories) {
        const at = ref.lastIndexOf(":");
        (repos[ref.slice(0, at)] ??= {})[ref.slice(at + 1)] = top;
      }
      await writeFile(path.join(dir, "repositories"), JSON.stringify(repos));
    }
    await run("tar", ["-C", dir, "--owner=0", "--group=0", "-cf", to, "."]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
