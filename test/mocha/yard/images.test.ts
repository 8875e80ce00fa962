/**
 * Image upload to a yard (/icon/image/1.0.0) end to end: embedded chain, real libp2p on loopback, real Docker. Each
 * run builds images of its own (a busybox httpd rootfs with a random page, `docker import`ed, saved to a tarball and
 * removed from the engine), so the yard never has them until a tenant uploads them. Covered: upload → the image is
 * on the yard → a Deploy runs it; a second push answers "present"; an interrupted upload resumes at the yard's
 * offset; tampered, foreign, garbage and oversized tarballs are refused (BAD_IMAGE) and leave nothing behind; access
 * by a stranger, for an unknown lease, or expired is refused; a Deploy of an image the yard lacks says to upload it.
 */
import { expect } from "chai";
import Docker from "dockerode";
import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { chmod, copyFile, mkdir, mkdtemp, readFile, readdir, rm, stat, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { promisify } from "node:util";
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
  signLeaseAccess,
  yardServiceLimits,
  type LeaseAccess,
  type YardMessage,
} from "../../../protocol/index.ts";
import { parseYardConfig } from "../../../yard-node/config.ts";
import type { DockerRuntime } from "../../../yard-node/docker.ts";
import { createLogger, silentLogger } from "../../../yard-node/log.ts";
import { Yard } from "../../../yard-node/yard.ts";
import { cleanupYard, useDockerYard, waitFor } from "../../helpers/docker.ts";
import { expectRejection } from "../../helpers/yard.ts";
import { Tenant, USD, httpGet, startMarket, yardConfig, type TestMarket } from "../../../scripts/lib/testbed.ts";

const log = process.env.ICON_TEST_LOG ? createLogger({ level: "debug" }) : silentLogger;
const run = promisify(execFile);
const MAX_IMAGE_BYTES = 16 << 20;

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

/**
 * Speaks /icon/image/1.0.0 by hand, to send what pushImage never would (an offer whose tarSha256 is not the bytes'
 * own). Returns the yard's last frame: an error, or imageLoaded.
 */
async function rawUpload(
  node: Libp2p,
  yard: Multiaddr,
  o: { access: LeaseAccess; imageId: string; tarSha256: string; data: Buffer },
): Promise<YardMessage> {
  const signal = AbortSignal.timeout(30_000);
  const stream = await node.dialProtocol(yard, IMAGE_PROTOCOL, { signal });
  const lp = lpStream(stream, { maxDataLength: yardServiceLimits.maxFrameBytes });
  const read = async (): Promise<YardMessage> => decodeYardFrame((await lp.read({ signal })).subarray());
  try {
    const size = BigInt(o.data.length);
    await lp.write(encodeYardFrame({ type: "imageOffer", ...o, size }), { signal });
    const status = await read();
    if (status.type !== "imageStatus") return status;
    for (let at = Number(status.offset); at < o.data.length; at += yardServiceLimits.chunkBytes) {
      const data = o.data.subarray(at, at + yardServiceLimits.chunkBytes);
      await lp.write(encodeYardFrame({ type: "imageChunk", offset: BigInt(at), data }), { signal });
    }
    return await read();
  } finally {
    await stream.close().catch(() => stream.abort(new Error("close failed")));
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
  const images: Record<"a" | "resume" | "target" | "other" | "bundled", TestImage> = {} as never;
  /** One tarball holding two images: images.bundled and images.other. */
  let bundle: string;
  // Registered before useDockerYard's hooks: the yard stops before the suite's containers are removed (a running
  // yard would restart what the cleanup removes).
  after(async function () {
    this.timeout(60_000);
    await tenant?.stop();
    await yard?.stop();
    const made = suiteYard();
    if (made) await cleanupYard(made.docker, made.yardId);
    for (const image of Object.values(images))
      await made?.docker
        .getImage(image.id)
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
    for (const name of ["a", "resume", "target", "other", "bundled"] as const)
      images[name] = await makeImage(engine, runtime, work, name);
    bundle = path.join(work, "bundle.tar");
    const getImages = (engine as unknown as { getImages(o: { names: string[] }): Promise<NodeJS.ReadableStream> })
      .getImages;
    await pipeline(
      await getImages.call(engine, { names: [images.bundled.id, images.other.id] }),
      createWriteStream(bundle),
    );
    for (const image of Object.values(images)) await forget(runtime, image);
    m = await startMarket();
    const operator = new Wallet(m.keys[1]!, m.provider);
    await m.admin.mint(operator.address, USD(1000));
    const config = parseYardConfig(
      yardConfig(m, yardId, {
        lease: {
          startLeadS: 2,
          earlyStartS: 2,
          claimIntervalS: 5,
          stopTimeoutS: 1,
          imageGraceS: 3600,
          minSlotS: 5,
        },
        images: { maxBytes: MAX_IMAGE_BYTES },
      }),
      `${m.dir}/${yardId}.json`,
    );
    yard = await Yard.start({ config, wallet: operator, log });
    tenant = await Tenant.create(m, 2, 3, USD(100));
    addr = yard.node.getMultiaddrs()[0]!;
  });

  const uploads = () => path.join(yard.config.dataDir, "uploads");
  const access = (leaseId: bigint, validForS?: number) =>
    signLeaseAccess(tenant.icon, tenant.owner.domain(), leaseId, tenant.node.peerId, validForS);
  /** Opens a lease for `image` (the negotiation stays open, ready for a Deploy). */
  const open = (image: string) => tenant.open(addr, tenant.rfq(image, { slotSeconds: 60 }));
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
    const part = path.join(uploads(), `${(await fileSha256(image.tarball)).slice(2)}.part`);
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
        /loaded as .*, not sha256:/,
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
        /loaded as/,
      );
      expect(e.yardCode).to.equal(YardErrorCode.BAD_IMAGE);
      expect(await docker.get().runtime.imageId(images.resume.id)).to.equal(images.resume.id);
    });

    it("garbage bytes: BAD_IMAGE", async () => {
      const garbage = path.join(work, "garbage.tar");
      await writeFile(garbage, randomBytes(200_000));
      const e = await expectRejection(
        pushImage(tenant.node, addr, { access: await access(target), imageId: images.target.hex, tarball: garbage }),
        YardServiceError,
        /not a docker image archive/,
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
});
