/**
 * Image upload to a yard (/icon/image/1.0.0) end to end: embedded chain, real libp2p on loopback, real Docker. Each
 * run builds images of its own (a busybox httpd rootfs with a random page, `docker import`ed, saved to a tarball and
 * removed from the engine), so the yard never has them until a tenant uploads them. Covered: upload → the image is
 * on the yard → a Deploy runs it; a second push answers "present"; an interrupted upload resumes at the yard's
 * offset; tampered, foreign, garbage and oversized tarballs are refused (BAD_IMAGE) and leave nothing behind; access
 * by a stranger, for an unknown lease, or expired is refused; a Deploy of an image the yard lacks says to upload it.
 * Attacks (issue 15): tarballs that name themselves after an operator's or another image (RepoTags, `repositories`)
 * load untagged and move no name; refused uploads leave every image and tag; `../` paths, outward links, a huge
 * manifest, gzip bombs (the archive or a layer) are refused; unfinished uploads are swept and capped per holder
 * and in total, and never shared between holders; a reset at every step of an upload leaves the yard serving.
 */
import { expect } from "chai";
import Docker from "dockerode";
import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import {
  chmod,
  copyFile,
  mkdir,
  mkdtemp,
  readFile,
  readdir,
  rm,
  stat,
  truncate,
  utimes,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";
import { Wallet } from "ethers";
import type { Libp2p } from "@libp2p/interface";
import type { Multiaddr } from "@multiformats/multiaddr";
import { lpStream } from "@libp2p/utils";
import {
  IMAGE_PROTOCOL,
  LeaseSession,
  YardErrorCode,
  YardServiceError,
  decodeYardFrame,
  encodeYardFrame,
  fileSha256,
  pushImage,
  readLogs,
  signLeaseAccess,
  yardServiceLimits,
  type LeaseAccess,
  type YardMessage,
} from "../../../protocol/index.ts";
import { parseYardConfig } from "../../../yard-node/config.ts";
import type { DockerRuntime } from "../../../yard-node/docker.ts";
import { createLogger, silentLogger } from "../../../protocol/log.ts";
import { Yard } from "../../../yard-node/yard.ts";
import { WEB_IMAGE, cleanupYard, useDockerYard, waitFor } from "../../helpers/docker.ts";
import { imageTar, retag, zeroLayer } from "../../helpers/image-tar.ts";
import { FAST_LEASE, expectRejection } from "../../helpers/yard.ts";
import { Tenant, USD, httpGet, startMarket, yardConfig, type TestMarket } from "../../../scripts/lib/testbed.ts";

const log = process.env.ICON_TEST_LOG ? createLogger({ level: "debug" }) : silentLogger;
const run = promisify(execFile);
const MAX_IMAGE_BYTES = 16 << 20;
/** Unfinished uploads: per lease holder, in total, and how long one may sit idle. */
const MAX_PARTIAL_PER_HOLDER = 16 << 20;
const MAX_PARTIAL_TOTAL = 24 << 20;
const PARTIAL_IDLE_S = 600;

/** An image of this run alone, saved to `tarball` and absent from the engine. */
interface TestImage {
  /** The tag it was imported under. */
  ref: string;
  /** `sha256:…` */
  id: string;
  /** The id as the lease protocol carries it (0x-hex). */
  hex: string;
  tarball: string;
  size: number;
  /** What its web server answers on /. */
  page: string;
}

/**
 * A tiny image unique to this run: the host's static busybox serving /www/index.html (a random page) with httpd on
 * port 8080, made with `docker import` and saved by id (so loading it gives no tag back). It stays in the engine
 * until `forget` removes it.
 */
async function makeImage(docker: Docker, runtime: DockerRuntime, dir: string, name: string): Promise<TestImage> {
  const page = `icon-images-${name}-${randomBytes(8).toString("hex")}`;
  const root = path.join(dir, `${name}-root`);
  await mkdir(path.join(root, "bin"), { recursive: true });
  await mkdir(path.join(root, "www"), { recursive: true });
  await copyFile("/bin/busybox", path.join(root, "bin/busybox"));
  await chmod(path.join(root, "bin/busybox"), 0o755);
  await writeFile(path.join(root, "www/index.html"), `${page}\n`, { mode: 0o644 });
  const rootfs = path.join(dir, `${name}-rootfs.tar`);
  await run("tar", ["-C", root, "--owner=0", "--group=0", "-cf", rootfs, "."]);
  const ref = `icon-test/${runtime.yardId}-${name}:1`;
  const [repo, tag] = ref.split(":");
  const progress = await docker.importImage(rootfs, {
    repo,
    tag,
    changes: ['CMD ["/bin/busybox", "httpd", "-f", "-p", "8080", "-h", "/www"]'],
  });
  let said = "";
  for await (const chunk of progress as AsyncIterable<Buffer>) said += chunk.toString();
  const id = await runtime.imageId(ref);
  if (!id) throw new Error(`docker import of ${ref} made no image (the engine said ${said})`);
  const tarball = path.join(dir, `${name}.tar`);
  await pipeline(await runtime.saveImage(id), createWriteStream(tarball));
  return { ref, id, hex: "0x" + id.slice("sha256:".length), tarball, size: (await stat(tarball)).size, page };
}

/** Removes `image` from the engine, so that only an upload brings it back. */
async function forget(runtime: DockerRuntime, image: TestImage): Promise<void> {
  await runtime.removeImage(image.ref);
  if (await runtime.imageId(image.id)) throw new Error(`${image.id} is still in the engine after its removal`);
}

/** A stream of /icon/image/1.0.0 to `yard` spoken by hand, frame by frame; 30 s for the whole exchange. */
async function imageStream(node: Libp2p, yard: Multiaddr) {
  const signal = AbortSignal.timeout(30_000);
  const stream = await node.dialProtocol(yard, IMAGE_PROTOCOL, { signal });
  const lp = lpStream(stream, { maxDataLength: yardServiceLimits.maxFrameBytes });
  return {
    stream,
    write: (m: YardMessage) => lp.write(encodeYardFrame(m), { signal }),
    read: async (): Promise<YardMessage> => decodeYardFrame((await lp.read({ signal })).subarray()),
  };
}

/**
 * Speaks /icon/image/1.0.0 by hand, to send what pushImage never would (an offer whose tarSha256 is not the bytes'
 * own). Returns the yard's last frame: an error, or imageLoaded.
 */
async function rawUpload(
  node: Libp2p,
  yard: Multiaddr,
  o: { access: LeaseAccess; imageId: string; tarSha256: string; data: Buffer },
): Promise<YardMessage> {
  const { stream, write, read } = await imageStream(node, yard);
  try {
    await write({ type: "imageOffer", ...o, size: BigInt(o.data.length) });
    const status = await read();
    if (status.type !== "imageStatus") return status;
    for (let at = Number(status.offset); at < o.data.length; at += yardServiceLimits.chunkBytes) {
      await write({
        type: "imageChunk",
        offset: BigInt(at),
        data: o.data.subarray(at, at + yardServiceLimits.chunkBytes),
      });
    }
    return await read();
  } finally {
    await stream.close().catch(() => stream.abort(new Error("close failed")));
  }
}

/** Sends an offer by hand and returns the yard's answer, then resets the stream. */
async function rawOffer(
  node: Libp2p,
  yard: Multiaddr,
  o: { access: LeaseAccess; imageId: string; tarSha256: string; size: bigint },
): Promise<YardMessage> {
  const { stream, write, read } = await imageStream(node, yard);
  try {
    await write({ type: "imageOffer", ...o });
    return await read();
  } finally {
    stream.abort(new Error("the test is done with this offer"));
  }
}

/** Size of `file`, or undefined when it does not exist. */
async function sizeOf(file: string): Promise<number | undefined> {
  return stat(file).then(
    (s) => s.size,
    () => undefined,
  );
}

describe("yard image upload (/icon/image/1.0.0): resumable, verified, lease holders only", function () {
  this.timeout(180_000);
  let m: TestMarket;
  let yard: Yard;
  let tenant: Tenant;
  let work: string;
  let addr: Multiaddr;
  const images: Record<"a" | "resume" | "target" | "other" | "bundled" | "tagger" | "reset" | "shared", TestImage> =
    {} as never;
  /** One tarball holding two images: images.bundled and images.other. */
  let bundle: string;
  /** An image that stays in the engine under its own tag, as an operator's (or another tenant's) would. */
  let victim: TestImage;
  /** One tarball holding victim and images.other, saved by id (no tags). */
  let victimBundle: string;
  /** A second tenant (another app, another ICON key). */
  let tenant2: Tenant;
  let config: ReturnType<typeof parseYardConfig>;
  let operator: Wallet;
  /** Images the tests crafted (removed from the engine at the end, in case a yard loaded one). */
  const crafted: string[] = [];
  // Registered before useDockerYard's hooks: the yard stops before the suite's containers are removed (a running
  // yard would restart what the cleanup removes).
  after(async function () {
    this.timeout(60_000);
    await tenant?.stop();
    await tenant2?.stop();
    await yard?.stop();
    const made = suiteYard();
    if (made) await cleanupYard(made.docker, made.yardId);
    for (const image of [...Object.values(images), ...(victim ? [victim] : [])])
      await made?.docker
        .getImage(image.id)
        .remove({ force: true })
        .catch(() => undefined);
    for (const id of crafted)
      await made?.docker
        .getImage(id)
        .remove({ force: true })
        .catch(() => undefined);
    await m?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });
  const docker = useDockerYard("img");
  /** The suite's yard, or undefined when useDockerYard's before hook failed. */
  const suiteYard = () => {
    try {
      return docker.get();
    } catch {
      return undefined;
    }
  };

  before(async function () {
    this.timeout(120_000);
    const { docker: engine, runtime, yardId } = docker.get();
    work = await mkdtemp(path.join(tmpdir(), "icon-images-"));
    for (const name of ["a", "resume", "target", "other", "bundled", "tagger", "reset", "shared"] as const)
      images[name] = await makeImage(engine, runtime, work, name);
    victim = await makeImage(engine, runtime, work, "victim");
    bundle = path.join(work, "bundle.tar");
    const getImages = (engine as unknown as { getImages(o: { names: string[] }): Promise<NodeJS.ReadableStream> })
      .getImages;
    await pipeline(
      await getImages.call(engine, { names: [images.bundled.id, images.other.id] }),
      createWriteStream(bundle),
    );
    victimBundle = path.join(work, "victim-bundle.tar");
    await pipeline(
      await getImages.call(engine, { names: [victim.id, images.other.id] }),
      createWriteStream(victimBundle),
    );
    for (const image of Object.values(images)) await forget(runtime, image);
    m = await startMarket();
    operator = new Wallet(m.keys[1]!, m.provider);
    await m.admin.mint(operator.address, USD(1000));
    config = parseYardConfig(
      yardConfig(m, yardId, {
        lease: { ...FAST_LEASE, imageGraceS: 3600 },
        images: {
          maxBytes: MAX_IMAGE_BYTES,
          maxPartialBytesPerHolder: MAX_PARTIAL_PER_HOLDER,
          maxPartialBytes: MAX_PARTIAL_TOTAL,
          partialIdleS: PARTIAL_IDLE_S,
        },
      }),
      `${m.dir}/${yardId}.json`,
    );
    yard = await Yard.start({ config, wallet: operator, log });
    tenant = await Tenant.create(m, 2, 3, USD(100));
    tenant2 = await Tenant.create(m, 4, 5, USD(100));
    addr = yard.node.getMultiaddrs()[0]!;
  });

  const uploads = () => path.join(yard.config.dataDir, "uploads");
  const access = (leaseId: bigint, validForS?: number, who = tenant) =>
    signLeaseAccess(who.icon, who.owner.domain(), leaseId, who.node.peerId, validForS);
  /** Opens a lease for `image` (the negotiation stays open, ready for a Deploy). */
  const open = (image: string, who = tenant) => who.open(addr, who.rfq(image, { slotSeconds: 60 }));
  /** Opens a lease for `image` and closes its negotiation; returns the lease id. */
  const lease = async (image: string, who = tenant) => {
    const opened = await who.open(addr, who.rfq(image, { slotSeconds: 60, cpuMillis: 50, memoryMiB: 16 }));
    await opened.session.close();
    return opened.leaseId;
  };
  /** Where the yard keeps `who`'s unfinished upload of `tarball`. */
  const partOf = async (tarball: string, who = tenant) =>
    path.join(uploads(), `${who.icon.address.toLowerCase()}-${(await fileSha256(tarball)).slice(2)}.part`);
  /** The image `ref` names in the engine, or undefined. */
  const idOf = (ref: string) => docker.get().runtime.imageId(ref);
  const deploy = async (session: LeaseSession, leaseId: bigint, image: string) => {
    const reply = await session.request({
      type: "deploy",
      spec: { leaseId, imageRef: "icon/test:1", imageDigest: image, command: [], env: [], ports: [8080] },
    });
    await session.close();
    return reply;
  };

  it("a Deploy naming an image the yard lacks fails with a sentence that says to upload it", async () => {
    const { leaseId, session } = await open(images.a.hex);
    const reply = await deploy(session, leaseId, images.a.hex);
    expect(reply.type).to.equal("failed");
    expect(reply.type === "failed" && reply.message).to.match(/not on this yard; upload it/);
    expect(await docker.get().runtime.imageId(images.a.id)).to.equal(undefined);
  });

  it("pushImage uploads the tarball: the yard holds the image, a Deploy runs it; pushing again answers present", async () => {
    const { leaseId, session } = await open(images.a.hex);
    const t0 = Date.now();
    const r = await pushImage(tenant.node, addr, {
      access: await access(leaseId),
      imageId: images.a.hex,
      tarball: images.a.tarball,
    });
    const took = Date.now() - t0;
    expect(r).to.deep.equal({ sent: BigInt(images.a.size), present: false });
    expect(await docker.get().runtime.imageId(images.a.id)).to.equal(images.a.id);
    expect(await readdir(uploads())).to.deep.equal([]);
    log.info("uploaded", { bytes: images.a.size, ms: took });

    // The negotiation that opened the lease goes on: Deploy.
    const reply = await deploy(session, leaseId, images.a.hex);
    expect(reply.type, reply.type === "failed" ? reply.message : "").to.equal("running");
    const endpoint = (reply as { endpoint: string }).endpoint;
    expect(await waitFor("the uploaded image to serve", () => httpGet(endpoint).catch(() => undefined))).to.include(
      images.a.page,
    );
    const row = yard.db.lease(leaseId)!;
    expect((await docker.get().runtime.inspect(row.containerId!))?.image).to.equal(images.a.id);

    const again = await pushImage(tenant.node, addr, {
      access: await access(leaseId),
      imageId: images.a.hex,
      tarball: images.a.tarball,
    });
    expect(again).to.deep.equal({ sent: 0n, present: true });
  });

  it("an interrupted upload resumes at the offset the yard holds; the image loads", async () => {
    const image = images.resume;
    const { leaseId, session } = await open(image.hex);
    await session.close();
    const part = await partOf(image.tarball);
    const stop = new AbortController();
    const chunk = BigInt(yardServiceLimits.chunkBytes);
    const first = pushImage(tenant.node, addr, {
      access: await access(leaseId),
      imageId: image.hex,
      tarball: image.tarball,
      signal: stop.signal,
      onProgress: (sent) => {
        if (sent >= 4n * chunk) stop.abort(new Error("the tenant's link dropped"));
      },
    });
    await expectRejection(first, Error, /link dropped|abort/i);
    // The yard notices the reset stream and keeps what it received.
    let last = -1;
    const held = await waitFor(
      "the partial upload to settle",
      async () => {
        const size = await sizeOf(part);
        const settled = size !== undefined && size === last ? size : undefined;
        last = size ?? -1;
        await new Promise((r) => setTimeout(r, 200));
        return settled;
      },
      10_000,
    );
    expect(held).to.be.greaterThan(0);
    expect(held).to.be.lessThan(image.size);
    expect(held % yardServiceLimits.chunkBytes).to.equal(0);

    const r = await pushImage(tenant.node, addr, {
      access: await access(leaseId),
      imageId: image.hex,
      tarball: image.tarball,
    });
    expect(r).to.deep.equal({ sent: BigInt(image.size - held), present: false });
    expect(await docker.get().runtime.imageId(image.id)).to.equal(image.id);
    expect(await sizeOf(part)).to.equal(undefined);
  });

  describe("refusals", () => {
    let target: bigint;
    before(async () => {
      const opened = await open(images.target.hex);
      await opened.session.close();
      target = opened.leaseId;
    });
    afterEach(async () => {
      // Nothing a refused upload sent stays on the yard.
      expect(await docker.get().runtime.imageId(images.target.id)).to.equal(undefined);
      expect(await readdir(uploads())).to.deep.equal([]);
    });

    it("a tarSha256 that does not match the bytes: BAD_IMAGE", async () => {
      const data = await readFile(images.target.tarball);
      const reply = await rawUpload(tenant.node, addr, {
        access: await access(target),
        imageId: images.target.hex,
        tarSha256: "0x" + createHash("sha256").update("not these bytes").digest("hex"),
        data,
      });
      expect(reply).to.include({ type: "error", code: YardErrorCode.BAD_IMAGE });
      expect((reply as { message: string }).message).to.match(/sha256 does not match/);
    });

    it("a valid tarball of another image under the lease's image id: BAD_IMAGE, the other image is not left loaded", async () => {
      const e = await expectRejection(
        pushImage(tenant.node, addr, {
          access: await access(target),
          imageId: images.target.hex,
          tarball: images.other.tarball,
        }),
        YardServiceError,
        /does not carry image sha256:/,
      );
      expect(e.yardCode).to.equal(YardErrorCode.BAD_IMAGE);
      expect(await docker.get().runtime.imageId(images.other.id)).to.equal(undefined);
    });

    it("a tarball of an image the yard holds for another lease, under this lease's id: BAD_IMAGE, that image stays", async () => {
      // images.resume was uploaded for a lease that has not deployed yet (no container pins it in the engine).
      expect(await docker.get().runtime.imageId(images.resume.id)).to.equal(images.resume.id);
      const e = await expectRejection(
        pushImage(tenant.node, addr, {
          access: await access(target),
          imageId: images.target.hex,
          tarball: images.resume.tarball,
        }),
        YardServiceError,
        /does not carry image sha256:/,
      );
      expect(e.yardCode).to.equal(YardErrorCode.BAD_IMAGE);
      expect(await docker.get().runtime.imageId(images.resume.id)).to.equal(images.resume.id);
    });

    it("a refused upload whose tarball tags its image with another's name: the name still points where it was", async () => {
      const evil = path.join(work, "other-as-victim.tar");
      await retag(images.other.tarball, evil, { repoTags: [victim.ref], repositories: [victim.ref] });
      const e = await expectRejection(
        pushImage(tenant.node, addr, { access: await access(target), imageId: images.target.hex, tarball: evil }),
        YardServiceError,
        /does not carry image sha256:/,
      );
      expect(e.yardCode).to.equal(YardErrorCode.BAD_IMAGE);
      expect(await idOf(victim.ref)).to.equal(victim.id);
      expect(await idOf(images.other.id)).to.equal(undefined);
    });

    it("a refused upload bundling an image the engine already has: that image and its tag stay", async () => {
      const e = await expectRejection(
        pushImage(tenant.node, addr, {
          access: await access(target),
          imageId: images.target.hex,
          tarball: victimBundle,
        }),
        YardServiceError,
        /does not carry image sha256:/,
      );
      expect(e.yardCode).to.equal(YardErrorCode.BAD_IMAGE);
      expect(await idOf(victim.ref)).to.equal(victim.id);
      expect(await idOf(victim.id)).to.equal(victim.id);
      expect(await idOf(images.other.id)).to.equal(undefined);
    });

    it("a gzip-compressed tarball (a bomb: 64 MiB of zeros behind the image): BAD_IMAGE, nothing loads", async () => {
      const bomb = path.join(work, "bomb.tar.gz");
      await writeFile(bomb, gzipSync(Buffer.concat([await readFile(images.target.tarball), Buffer.alloc(64 << 20)])));
      expect((await stat(bomb)).size).to.be.lessThan(MAX_IMAGE_BYTES);
      const e = await expectRejection(
        pushImage(tenant.node, addr, { access: await access(target), imageId: images.target.hex, tarball: bomb }),
        YardServiceError,
        /compressed/,
      );
      expect(e.yardCode).to.equal(YardErrorCode.BAD_IMAGE);
    });

    it("an image other than the one the lease was quoted for: BAD_IMAGE, nothing loads", async () => {
      const small = imageTar({ layers: [zeroLayer("f", 1000)] });
      crafted.push(small.id);
      const file = path.join(work, "unquoted.tar");
      await writeFile(file, small.tar);
      const e = await expectRejection(
        pushImage(tenant.node, addr, { access: await access(target), imageId: small.hex, tarball: file }),
        YardServiceError,
        /quoted for/,
      );
      expect(e.yardCode).to.equal(YardErrorCode.BAD_IMAGE);
      expect(await idOf(small.id)).to.equal(undefined);
    });

    it("garbage bytes: BAD_IMAGE", async () => {
      const garbage = path.join(work, "garbage.tar");
      await writeFile(garbage, randomBytes(200_000));
      const e = await expectRejection(
        pushImage(tenant.node, addr, { access: await access(target), imageId: images.target.hex, tarball: garbage }),
        YardServiceError,
        /not a tar archive/,
      );
      expect(e.yardCode).to.equal(YardErrorCode.BAD_IMAGE);
    });

    it("a size above images.maxBytes: BAD_IMAGE before any byte is sent", async () => {
      const big = path.join(work, "big.tar");
      await writeFile(big, "");
      await truncate(big, MAX_IMAGE_BYTES + 1);
      const e = await expectRejection(
        pushImage(tenant.node, addr, { access: await access(target), imageId: images.target.hex, tarball: big }),
        YardServiceError,
        new RegExp(`up to ${MAX_IMAGE_BYTES} bytes`),
      );
      expect(e.yardCode).to.equal(YardErrorCode.BAD_IMAGE);
    });

    it("access signed by a stranger: DENIED", async () => {
      const stranger = await signLeaseAccess(new Wallet(m.keys[9]!), tenant.owner.domain(), target, tenant.node.peerId);
      const e = await expectRejection(
        pushImage(tenant.node, addr, { access: stranger, imageId: images.target.hex, tarball: images.target.tarball }),
        YardServiceError,
        /does not hold lease/,
      );
      expect(e.yardCode).to.equal(YardErrorCode.DENIED);
    });

    it("access for a lease the yard does not know: UNKNOWN_LEASE", async () => {
      const e = await expectRejection(
        pushImage(tenant.node, addr, {
          access: await access(target + 1000n),
          imageId: images.target.hex,
          tarball: images.target.tarball,
        }),
        YardServiceError,
        /not held at this yard/,
      );
      expect(e.yardCode).to.equal(YardErrorCode.UNKNOWN_LEASE);
    });

    it("expired access: DENIED", async () => {
      const e = await expectRejection(
        pushImage(tenant.node, addr, {
          access: await access(target, -5),
          imageId: images.target.hex,
          tarball: images.target.tarball,
        }),
        YardServiceError,
        /expired/,
      );
      expect(e.yardCode).to.equal(YardErrorCode.DENIED);
    });
  });

  it("a tarball that carries more than the offered image: the offered one loads, the rest is not left behind", async () => {
    const { leaseId, session } = await open(images.bundled.hex);
    await session.close();
    const r = await pushImage(tenant.node, addr, {
      access: await access(leaseId),
      imageId: images.bundled.hex,
      tarball: bundle,
    });
    expect(r.present).to.equal(false);
    expect(await docker.get().runtime.imageId(images.bundled.id)).to.equal(images.bundled.id);
    expect(await docker.get().runtime.imageId(images.other.id)).to.equal(undefined);
  });

  describe("uploads never touch engine-wide names, and the loaded size is bounded", () => {
    let webBefore: string | undefined;
    before(async () => {
      webBefore = await idOf(WEB_IMAGE);
      expect(webBefore, `${WEB_IMAGE} must be in the engine (scripts/images.sh)`).to.be.a("string");
    });
    afterEach(async () => {
      // Should a regression move the shared tag, put it back for every other suite on this engine.
      if ((await idOf(WEB_IMAGE)) !== webBefore)
        await docker.get().docker.getImage(webBefore!).tag({ repo: "icon/web", tag: "1" });
      expect(await idOf(victim.ref)).to.equal(victim.id);
      expect(await readdir(uploads())).to.deep.equal([]);
    });

    it("an upload whose tarball tags itself with an operator's names (RepoTags and repositories) loads under the yard's own name only", async () => {
      const image = images.tagger;
      const evil = path.join(work, "tagger-evil.tar");
      const names = [victim.ref, WEB_IMAGE];
      await retag(image.tarball, evil, { repoTags: names, repositories: names });
      const r = await pushImage(tenant.node, addr, {
        access: await access(await lease(image.hex)),
        imageId: image.hex,
        tarball: evil,
      });
      expect(r.present).to.equal(false);
      expect(await idOf(image.id)).to.equal(image.id);
      expect(await idOf(victim.ref)).to.equal(victim.id);
      expect(await idOf(WEB_IMAGE)).to.equal(webBefore);
      const inspected = await docker.get().docker.getImage(image.id).inspect();
      expect(inspected.RepoTags ?? []).to.deep.equal([docker.get().runtime.uploadName(image.id)]);
      expect(docker.get().runtime.uploadName(image.id)).to.match(/^icon-upload\/test-[a-z0-9-]+:[0-9a-f]{12}$/);
    });

    it("an offer of an image the operator put in the engine answers present and is never recorded as the yard's to remove", async () => {
      const r = await pushImage(tenant.node, addr, {
        access: await access(await lease("0x" + webBefore!.slice("sha256:".length))),
        imageId: "0x" + webBefore!.slice("sha256:".length),
        tarball: images.a.tarball,
      });
      expect(r).to.deep.equal({ sent: 0n, present: true });
      expect(yard.db.images().map((i) => i.id)).to.not.include(webBefore);
    });

    it("the yard's image collection removes an image that carries only the yard's own name, name and all", async () => {
      const img = imageTar({ layers: [zeroLayer("own", 100)] });
      crafted.push(img.id);
      const [loaded] = await docker.get().runtime.loadImage(Readable.from([img.tar]));
      expect(loaded).to.equal(img.id);
      const name = await docker.get().runtime.nameImage(img.id);
      expect(await idOf(name)).to.equal(img.id);
      await docker.get().runtime.removeImage(img.id, { ifUntagged: true });
      expect(await idOf(img.id)).to.equal(undefined);
      expect(await idOf(name)).to.equal(undefined);
    });

    it("the yard's image collection never removes an image that carries a name (IMAGE_TAGGED)", async () => {
      await expectRejection(
        docker.get().runtime.removeImage(victim.id, { ifUntagged: true }),
        Error,
        /is named .*left in place/,
      );
      expect(await idOf(victim.id)).to.equal(victim.id);
    });

    /** Opens a lease for a crafted image and uploads it; expects BAD_IMAGE with `re`; nothing of it may load. */
    const refused = async (img: { tar: Buffer; id: string; hex: string }, re: RegExp) => {
      crafted.push(img.id);
      const file = path.join(work, `crafted-${img.hex.slice(2, 14)}.tar`);
      await writeFile(file, img.tar);
      const e = await expectRejection(
        pushImage(tenant.node, addr, { access: await access(await lease(img.hex)), imageId: img.hex, tarball: file }),
        YardServiceError,
        re,
      );
      expect(e.yardCode).to.equal(YardErrorCode.BAD_IMAGE);
      expect(await idOf(img.id)).to.equal(undefined);
    };

    it("a hand-made archive with no tricks loads (the control for the refusals below)", async () => {
      const img = imageTar({
        layers: [zeroLayer("a", 3000), zeroLayer("b".repeat(150), 10)],
        layerNames: ["l0/layer.tar", `${"long/".repeat(30)}layer.tar`],
      });
      crafted.push(img.id);
      const file = path.join(work, "plain.tar");
      await writeFile(file, img.tar);
      await pushImage(tenant.node, addr, {
        access: await access(await lease(img.hex)),
        imageId: img.hex,
        tarball: file,
      });
      expect(await idOf(img.id)).to.equal(img.id);
    });

    it("an entry named ../escape: BAD_IMAGE (unsafe path)", async () => {
      const img = imageTar({ layers: [zeroLayer("f", 100)], extra: [{ name: "../escape", data: Buffer.from("x") }] });
      await refused(img, /unsafe path/);
    });

    it("a layer that is a symbolic link out of the archive: BAD_IMAGE", async () => {
      const img = imageTar({ layers: [zeroLayer("f", 100)], links: { 0: "../../../../../../etc/passwd" } });
      await refused(img, /link/);
    });

    it("a manifest.json of 2 MiB: BAD_IMAGE (manifest too large)", async () => {
      await refused(imageTar({ layers: [zeroLayer("f", 100)], manifestPad: 2 << 20 }), /manifest\.json/);
    });

    it("a layer compressed with gzip (a bomb: 40 MiB of zeros in a few KiB): BAD_IMAGE, nothing loads", async () => {
      const img = imageTar({ layers: [zeroLayer("bomb", 40 << 20)], gzipLayers: true });
      expect(img.tar.length).to.be.lessThan(1 << 20);
      await refused(img, /compressed/);
    });
  });

  describe("unfinished uploads are bounded: idle ones are swept, and each holder and the yard hold a capped share", () => {
    const plant = async (holder: string, bytes: number, ageS = 0) => {
      const file = path.join(uploads(), `${holder.toLowerCase()}-${randomBytes(32).toString("hex")}.part`);
      await mkdir(uploads(), { recursive: true });
      await writeFile(file, "");
      await truncate(file, bytes);
      if (ageS > 0) {
        const t = new Date(Date.now() - ageS * 1000);
        await utimes(file, t, t);
      }
      return file;
    };
    let target: bigint;
    before(async () => {
      target = await lease(images.target.hex);
    });
    afterEach(async () => {
      for (const f of await readdir(uploads())) await rm(path.join(uploads(), f), { force: true });
    });

    it("a partial upload idle longer than images.partialIdleS is removed before the next offer; a fresh one stays", async () => {
      const stale = await plant(Wallet.createRandom().address, 1000, PARTIAL_IDLE_S + 60);
      const fresh = await plant(Wallet.createRandom().address, 1000, PARTIAL_IDLE_S - 60);
      // Any offer will do: this one is refused for its size.
      const big = path.join(work, "big-sweep.tar");
      await writeFile(big, "");
      await truncate(big, MAX_IMAGE_BYTES + 1);
      await expectRejection(
        pushImage(tenant.node, addr, { access: await access(target), imageId: images.target.hex, tarball: big }),
        YardServiceError,
        /up to/,
      );
      expect(await sizeOf(stale)).to.equal(undefined);
      expect(await sizeOf(fresh)).to.equal(1000);
    });

    it("a holder whose unfinished uploads would pass images.maxPartialBytesPerHolder is refused with BUSY", async () => {
      await plant(tenant.icon.address, MAX_PARTIAL_PER_HOLDER - images.target.size + 1);
      const e = await expectRejection(
        pushImage(tenant.node, addr, {
          access: await access(target),
          imageId: images.target.hex,
          tarball: images.target.tarball,
        }),
        YardServiceError,
        /your unfinished uploads/,
      );
      expect(e.yardCode).to.equal(YardErrorCode.BUSY);
      expect(await sizeOf(await partOf(images.target.tarball))).to.equal(undefined);
      // Another holder is not held back by it.
      const status = await rawOffer(tenant2.node, addr, {
        access: await access(await lease(images.target.hex, tenant2), undefined, tenant2),
        imageId: images.target.hex,
        tarSha256: await fileSha256(images.target.tarball),
        size: BigInt(images.target.size),
      });
      expect(status).to.deep.include({ type: "imageStatus", present: false, offset: 0n });
    });

    it("unfinished uploads of all holders that would pass images.maxPartialBytes refuse a new one with BUSY", async () => {
      for (let i = 0; i < 3; i++) await plant(Wallet.createRandom().address, MAX_PARTIAL_TOTAL / 3);
      const e = await expectRejection(
        pushImage(tenant.node, addr, {
          access: await access(target),
          imageId: images.target.hex,
          tarball: images.target.tarball,
        }),
        YardServiceError,
        /in total/,
      );
      expect(e.yardCode).to.equal(YardErrorCode.BUSY);
    });

    it("another lease holder offering the same tarball starts at 0: it never resumes (or spoils) someone else's bytes", async () => {
      const image = images.shared;
      const mine = await lease(image.hex);
      const stop = new AbortController();
      await expectRejection(
        pushImage(tenant.node, addr, {
          access: await access(mine),
          imageId: image.hex,
          tarball: image.tarball,
          signal: stop.signal,
          onProgress: (sent) => {
            if (sent >= 3n * BigInt(yardServiceLimits.chunkBytes)) stop.abort(new Error("dropped"));
          },
        }),
        Error,
        /dropped|abort/i,
      );
      const part = await partOf(image.tarball);
      const held = await waitFor("tenant's partial upload", async () => ((await sizeOf(part)) ?? 0) > 0 || undefined);
      expect(held).to.equal(true);
      const heldBytes = (await sizeOf(part))!;
      const theirs = await lease(image.hex, tenant2);
      const status = await rawOffer(tenant2.node, addr, {
        access: await access(theirs, undefined, tenant2),
        imageId: image.hex,
        tarSha256: await fileSha256(image.tarball),
        size: BigInt(image.size),
      });
      expect(status).to.deep.include({ type: "imageStatus", present: false, offset: 0n });
      // The yard notices the reset stream and keeps nothing of tenant2's (it sent no byte).
      const theirPart = await partOf(image.tarball, tenant2);
      await waitFor("tenant2's upload to end", async () => (await sizeOf(theirPart)) === undefined || undefined);
      expect(await sizeOf(part)).to.equal(heldBytes);
      // The first holder resumes its own bytes and finishes.
      const r = await pushImage(tenant.node, addr, {
        access: await access(mine),
        imageId: image.hex,
        tarball: image.tarball,
      });
      expect(r.sent).to.equal(BigInt(image.size - heldBytes));
      expect(await idOf(image.id)).to.equal(image.id);
    });

    it("a stale partial upload left by a stopped yard is removed when the yard starts; a fresh one stays", async () => {
      const stale = await plant(Wallet.createRandom().address, 1000, PARTIAL_IDLE_S + 60);
      const fresh = await plant(Wallet.createRandom().address, 1000);
      await yard.stop();
      yard = await Yard.start({ config, wallet: operator, log });
      addr = yard.node.getMultiaddrs()[0]!;
      expect(await sizeOf(stale)).to.equal(undefined);
      expect(await sizeOf(fresh)).to.equal(1000);
    });
  });

  describe("a reset at every step of an upload: the yard stays up, nothing half-done is left", () => {
    const steps = ["after the offer", "after the status", "mid-chunks", "after the last chunk"] as const;
    let leaseId: bigint;
    before(async () => {
      leaseId = await lease(images.reset.hex);
    });
    for (const step of steps) {
      it(`reset ${step}: the yard keeps serving; a partial stays for resumption or the image is wholly loaded`, async () => {
        const image = images.reset;
        const data = await readFile(image.tarball);
        const { stream, write, read } = await imageStream(tenant.node, addr);
        await write({
          type: "imageOffer",
          access: await access(leaseId),
          imageId: image.hex,
          tarSha256: await fileSha256(image.tarball),
          size: BigInt(data.length),
        });
        if (step !== "after the offer") {
          const status = await read();
          expect(status.type).to.equal("imageStatus");
          let at = Number((status as { offset: bigint }).offset);
          const until =
            step === "after the status"
              ? at
              : step === "mid-chunks"
                ? Math.min(data.length - 1, at + 2 * yardServiceLimits.chunkBytes)
                : data.length;
          while (at < until) {
            const chunk = data.subarray(at, Math.min(until, at + yardServiceLimits.chunkBytes));
            await write({ type: "imageChunk", offset: BigInt(at), data: chunk });
            at += chunk.length;
          }
        }
        stream.abort(new Error(`reset ${step}`));
        const part = await partOf(image.tarball);
        // Settled: either the upload is complete (image loaded, no partial) or a partial of at most the size stays.
        await waitFor(
          "the yard to settle the reset upload",
          async () => {
            const size = await sizeOf(part);
            const loaded = (await idOf(image.id)) !== undefined;
            if (step === "after the last chunk") return (loaded && size === undefined) || undefined;
            return size === undefined || size < data.length || undefined;
          },
          20_000,
        );
        if (step === "after the last chunk") expect(yard.db.images().map((i) => i.id)).to.include(image.id);
        // The yard answers the next request.
        const logs = await readLogs(tenant.node, addr, { access: await access(leaseId) });
        expect(logs.state).to.equal("not started");
      });
    }

    it("after the resets the upload completes (or answers present) and nothing of it is left in uploads/", async () => {
      const image = images.reset;
      await pushImage(tenant.node, addr, { access: await access(leaseId), imageId: image.hex, tarball: image.tarball });
      expect(await idOf(image.id)).to.equal(image.id);
      expect(await readdir(uploads())).to.deep.equal([]);
    });
  });

  it("logs and uploads for another tenant's lease, signed by that other tenant's key: DENIED", async () => {
    const mine = await lease(images.a.hex);
    const e = await expectRejection(
      readLogs(tenant2.node, addr, { access: await access(mine, undefined, tenant2) }),
      YardServiceError,
      /does not hold lease/,
    );
    expect(e.yardCode).to.equal(YardErrorCode.DENIED);
    const u = await expectRejection(
      pushImage(tenant2.node, addr, {
        access: await access(mine, undefined, tenant2),
        imageId: images.a.hex,
        tarball: images.a.tarball,
      }),
      YardServiceError,
      /does not hold lease/,
    );
    expect(u.yardCode).to.equal(YardErrorCode.DENIED);
  });
});
