/**
 * DockerRuntime against the project's real Docker engine (scripts/docker.sh; the helper starts it and builds the
 * images when needed): limits and security settings read back from the engine, HTTP to a container from the host,
 * OOM kill, fork bomb, per-yard isolation, logs, image save/load, events and their reconnection.
 *
 * The engine restart test stops and starts the shared engine (live restore keeps containers running; about 3 s);
 * reconnection under a flaky socket is tested through FlakyDockerSocketFake.
 */
import { expect } from "chai";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { promisify } from "node:util";
import { IconError } from "../../../protocol/errors.ts";
import { DockerRuntime, demuxDockerLog } from "../../../yard-node/docker.ts";
import type { ContainerInfo, ContainerSpec, RuntimeEvent } from "../../../yard-node/runtime.ts";
import {
  BUSYBOX_IMAGE,
  FlakyDockerSocketFake,
  WEB_IMAGE,
  cgroupFile,
  useDockerYard,
  waitFor,
} from "../../helpers/docker.ts";

const run = promisify(execFile);
const MiB = 1024 * 1024;
const LIMITS = { cpuMillis: 250, memoryMiB: 64, pids: 32 };

function spec(leaseId: bigint, over: Partial<ContainerSpec> = {}): ContainerSpec {
  return { leaseId, image: WEB_IMAGE, ports: [8080], limits: LIMITS, stopTimeoutS: 1, ...over };
}

/** Rejection of `p`, or a failure when it resolves. */
async function rejectionOf(p: Promise<unknown>): Promise<IconError> {
  try {
    await p;
  } catch (e) {
    expect(e).to.be.instanceOf(IconError);
    return e as IconError;
  }
  expect.fail("expected the promise to reject");
}

/** GET http://ip:port/ from the host. */
function httpGet(ip: string, port: number, timeoutMs = 1000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: ip, port, path: "/", timeout: timeoutMs }, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (d: string) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`no answer from ${ip}:${port} within ${timeoutMs} ms`)));
    req.on("error", reject);
    req.end();
  });
}

async function waitExited(rt: DockerRuntime, id: string, timeoutMs = 15_000): Promise<ContainerInfo> {
  return waitFor(
    `container ${id.slice(0, 12)} to exit`,
    async () => {
      const info = await rt.inspect(id);
      return info && !info.running && info.status === "exited" ? info : undefined;
    },
    timeoutMs,
  );
}

/** Starts `watch` and resolves once the event stream is connected; events accumulate in `events`. */
async function watching(
  rt: DockerRuntime,
  signal: AbortSignal,
): Promise<{ events: RuntimeEvent[]; reconnects: () => number; connects: () => number }> {
  const events: RuntimeEvent[] = [];
  let reconnects = 0;
  let connects = 0;
  rt.watch((e) => events.push(e), { signal, onReconnect: () => reconnects++, onConnect: () => connects++ });
  await waitFor("the event stream to connect", () => connects > 0, 5000);
  return { events, reconnects: () => reconnects, connects: () => connects };
}

describe("DockerRuntime (real engine)", function () {
  this.timeout(60_000);
  const yards = useDockerYard("rt");
  const aborts: AbortController[] = [];
  const watchSignal = () => {
    const c = new AbortController();
    aborts.push(c);
    return c.signal;
  };
  after(() => aborts.forEach((c) => c.abort()));

  it("pings the engine; a runtime on a missing socket fails with DOCKER_UNREACHABLE naming the socket and the fix", async () => {
    await yards.get().runtime.ping();
    const missing = path.join(tmpdir(), `icon-no-docker-${process.pid}.sock`);
    const rt = new DockerRuntime({ socketPath: missing, yardId: "nobody" });
    const e = await rejectionOf(rt.ping());
    expect(e.code).to.equal("DOCKER_UNREACHABLE");
    expect(e.message).to.include(missing).and.include("scripts/docker.sh start").and.include("npm run docker start");
    expect((await rejectionOf(rt.list())).code).to.equal("DOCKER_UNREACHABLE");
  });

  it("defaultSocket is ICON_DOCKER_SOCKET or the project engine's socket", () => {
    const saved = process.env.ICON_DOCKER_SOCKET;
    try {
      process.env.ICON_DOCKER_SOCKET = "/tmp/x/docker.sock";
      expect(DockerRuntime.defaultSocket()).to.equal("/tmp/x/docker.sock");
      delete process.env.ICON_DOCKER_SOCKET;
      expect(DockerRuntime.defaultSocket()).to.equal("/run/icon-docker/docker.sock");
    } finally {
      if (saved === undefined) delete process.env.ICON_DOCKER_SOCKET;
      else process.env.ICON_DOCKER_SOCKET = saved;
    }
  });

  // The suite's web lease (lease 1), running through all the tests as the "neighbour".
  let web: ContainerInfo;
  before(async () => {
    const { runtime } = yards.get();
    const created = await runtime.create(spec(1n));
    expect(created.running).to.equal(false);
    expect(created.status).to.equal("created");
    expect(created.ip).to.equal("");
    web = await runtime.start(created.id);
  });

  it("has the limits and security settings it asked for, as the engine reports them", async () => {
    const { runtime, docker } = yards.get();
    const info = (await runtime.inspect(web.id))!;
    expect(info.leaseId).to.equal(1n);
    expect(info.running).to.equal(true);
    expect(info.image).to.equal(await runtime.imageId(WEB_IMAGE));
    expect(info.limits).to.deep.equal({
      nanoCpus: 250_000_000,
      memoryBytes: 64 * MiB,
      memorySwapBytes: 64 * MiB,
      pidsLimit: 32,
      capDrop: ["ALL"],
      capAdd: [],
      securityOpt: ["no-new-privileges"],
      privileged: false,
      readonlyRootfs: true,
      networkMode: runtime.network,
      user: "65534:65534",
      publishedPorts: 0,
    });
    // Cross-checked with the raw engine answer: labels, name, only the yard's network, no host ports.
    const raw = await docker.getContainer(web.id).inspect();
    expect(raw.Name).to.equal(`/icon-${runtime.yardId}-lease-1`);
    expect(raw.Config.Labels).to.include({ "icon.yard": runtime.yardId, "icon.lease": "1" });
    expect(Object.keys(raw.NetworkSettings.Networks)).to.deep.equal([runtime.network]);
    expect(raw.HostConfig.NetworkMode).to.not.equal("host");
    expect(Object.values(raw.NetworkSettings.Ports ?? {}).every((b) => b === null)).to.equal(true);
    expect(raw.HostConfig.Init).to.equal(true);
    expect(raw.HostConfig.Tmpfs).to.have.property("/tmp");
    const network = await docker.getNetwork(runtime.network).inspect();
    expect(network.Driver).to.equal("bridge");
    expect(network.Options).to.include({ "com.docker.network.bridge.enable_icc": "false" });
    // The kernel's view: the memory and pids cgroups hold the asked values; the processes run as 65534.
    expect(Number(await cgroupFile("memory", web.id, "memory.limit_in_bytes"))).to.equal(64 * MiB);
    expect(Number(await cgroupFile("pids", web.id, "pids.max"))).to.equal(32);
    const status = await readFile(`/proc/${raw.State.Pid}/status`, "utf8");
    expect(status).to.match(/^Uid:\s+65534\s+65534\s+65534\s+65534$/m);
    expect(status).to.match(/^CapEff:\s+0+$/m);
    expect(status).to.match(/^NoNewPrivs:\s+1$/m);
  });

  it("answers HTTP on its network address from the host; another container of the yard cannot reach it", async () => {
    const { runtime } = yards.get();
    expect(web.ip).to.match(/^\d+\.\d+\.\d+\.\d+$/);
    const answer = await waitFor("httpd to answer", () => httpGet(web.ip, 8080).catch(() => undefined), 5000);
    expect(answer.status).to.equal(200);
    expect(answer.body).to.include("icon-web-ok");
    // enable_icc=false: a neighbour on the same network times out where the host gets an answer.
    const probe = await runtime.create(
      spec(2n, {
        image: BUSYBOX_IMAGE,
        command: ["sh", "-c", `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 1 ${web.ip} 8080 2>&1; echo "rc=$?"`],
      }),
    );
    await runtime.start(probe.id);
    await waitExited(runtime, probe.id);
    const logs = await runtime.logs(probe.id);
    expect(logs).to.not.include("icon-web-ok");
    expect(logs).to.equal("nc: timed out\nrc=1\n");
    await runtime.remove(probe.id);
  });

  it("keeps the root filesystem read-only and /tmp writable, as user 65534; logs() returns demultiplexed text", async () => {
    const { runtime } = yards.get();
    // touch says "Read-only file system" (EROFS) where a writable root would say "Permission denied" to 65534.
    const script = ["touch /etc/x", "echo hi >/tmp/x && cat /tmp/x", "id -u", "sleep 0.1", "echo last"].join("; ");
    const c = await runtime.create(spec(3n, { image: BUSYBOX_IMAGE, command: ["sh", "-c", script] }));
    await runtime.start(c.id);
    const done = await waitExited(runtime, c.id);
    expect(done.exitCode).to.equal(0);
    expect(done.ip).to.equal("");
    // stdout and stderr are separate streams in the engine: their relative order is by timestamp only.
    const logs = await runtime.logs(c.id);
    expect(logs.split("\n").sort()).to.deep.equal(
      ["", "touch: /etc/x: Read-only file system", "hi", "65534", "last"].sort(),
    );
    // Within one stream the order holds; the engine copies the two streams in separate loops, so the stderr
    // line may land anywhere (CI saw it after "hi"), and only stdout's order is asserted.
    expect(logs.split("\n").filter((line) => !line.startsWith("touch:"))).to.deep.equal(["hi", "65534", "last", ""]);
    expect([...logs].filter((ch) => ch.charCodeAt(0) < 9)).to.deep.equal([]); // no frame header bytes
    expect(await runtime.logs(c.id, { tail: 1 })).to.equal("last\n");
    await runtime.remove(c.id);
  });

  it("an agent container (beside the lease's service) gets startWithInput's bytes on standard input, into a 0700 tmpfs at /run/icon", async () => {
    const { runtime, docker } = yards.get();
    const service = await runtime.create(spec(44n, { image: BUSYBOX_IMAGE, command: ["sleep", "60"] }));
    const entry = "cat > /run/icon/secret; stat -c '%a %U' /run/icon; wc -c < /run/icon/secret; exec sleep 60";
    const agent = await runtime.create(
      spec(44n, { image: BUSYBOX_IMAGE, role: "agent", ports: [], command: ["sh", "-c", entry] }),
    );
    expect([service.role, agent.role]).to.deep.equal(["service", "agent"]);
    const input = Buffer.alloc(50_000, 7);
    expect((await runtime.startWithInput(agent.id, input)).running).to.equal(true);
    await waitFor("the entry to read its input", async () => /50000/.test(await runtime.logs(agent.id)), 10_000);
    expect((await runtime.logs(agent.id)).split("\n")).to.deep.equal(["700 nobody", "50000", ""]);
    const raw = await docker.getContainer(agent.id).inspect();
    expect(raw.Name).to.equal(`/${runtime.containerName(44n, "agent")}`);
    expect(raw.Config).to.include({ OpenStdin: true, StdinOnce: true });
    expect(raw.Config.Labels).to.include({ "icon.lease": "44", "icon.role": "agent" });
    expect(raw.HostConfig.Tmpfs?.["/run/icon"]).to.include("mode=0700");
    expect((await runtime.list({ leaseId: 44n, role: "agent" })).map((c) => c.id)).to.deep.equal([agent.id]);
    expect((await runtime.list({ leaseId: 44n, role: "service" })).map((c) => c.id)).to.deep.equal([service.id]);
    for (const c of [service, agent]) await runtime.remove(c.id);
  });

  it("refuses a second container for the same lease (CONTAINER_EXISTS), an unknown image, and limits Docker would read as unlimited", async () => {
    const { runtime } = yards.get();
    const e = await rejectionOf(runtime.create(spec(1n)));
    expect(e.code).to.equal("CONTAINER_EXISTS");
    expect(e.message).to.include("lease 1");
    const missing = await rejectionOf(runtime.create(spec(4n, { image: "icon/not-there:1" })));
    expect(missing.code).to.equal("IMAGE_NOT_FOUND");
    for (const limits of [
      { ...LIMITS, pids: 0 },
      { ...LIMITS, memoryMiB: 0 },
      { ...LIMITS, cpuMillis: 0 },
    ]) {
      expect((await rejectionOf(runtime.create(spec(5n, { limits })))).code).to.equal("BAD_CONTAINER_SPEC");
    }
    // Past the host's CPUs: Docker's own check answers 400.
    const tooMany = await rejectionOf(runtime.create(spec(5n, { limits: { ...LIMITS, cpuMillis: 999_000 } })));
    expect(tooMany.code).to.equal("CONTAINER_SPEC_REJECTED");
    expect(tooMany.message).to.match(/CPU/i);
    const leases = (await runtime.list()).map((c) => c.leaseId);
    expect(leases).to.include(1n).and.not.include(4n).and.not.include(5n);
  });

  it("makes the yard network again when it was removed behind its back; refuses one without enable_icc=false", async () => {
    const { runtime, docker } = yards.make("net");
    const first = await runtime.create(spec(1n, { image: BUSYBOX_IMAGE, command: ["true"] }));
    await runtime.remove(first.id);
    await docker.getNetwork(runtime.network).remove();
    const second = await runtime.create(spec(1n, { image: BUSYBOX_IMAGE, command: ["true"] }));
    expect(second.limits.networkMode).to.equal(runtime.network);
    await runtime.start(second.id); // the engine finds the network missing only now
    const network = await docker.getNetwork(runtime.network).inspect();
    expect(network.Options).to.include({ "com.docker.network.bridge.enable_icc": "false" });
    await runtime.remove(second.id);
    await runtime.removeNetwork();
    await docker.createNetwork({ Name: runtime.network, Driver: "bridge", Labels: { "icon.yard": runtime.yardId } });
    const fresh = new DockerRuntime({ socketPath: runtime.socketPath, yardId: runtime.yardId });
    const e = await rejectionOf(fresh.create(spec(2n, { image: BUSYBOX_IMAGE })));
    expect(e.code).to.equal("NETWORK_MISCONFIGURED");
    expect(e.message).to.include(runtime.network);
  });

  it("OOM-kills a container that allocates past its memory limit, and watch() reports it for that lease", async () => {
    const { runtime } = yards.get();
    const w = await watching(runtime, watchSignal());
    const c = await runtime.create(
      spec(10n, {
        image: BUSYBOX_IMAGE,
        command: ["sh", "-c", "x=a; while :; do x=$x$x; done"],
        limits: { cpuMillis: 500, memoryMiB: 16, pids: 16 },
      }),
    );
    await runtime.start(c.id);
    const done = await waitExited(runtime, c.id);
    expect(done.oomKilled).to.equal(true);
    expect(done.exitCode).to.equal(137);
    await waitFor("the die event", () => w.events.find((e) => e.kind === "die" && e.containerId === c.id), 5000);
    const mine = w.events.filter((e) => e.containerId === c.id);
    expect(mine.every((e) => e.leaseId === 10n)).to.equal(true);
    expect(mine.map((e) => e.kind)).to.include.members(["start", "oom", "die"]);
    expect(mine.find((e) => e.kind === "die")!.exitCode).to.equal(137);
    await runtime.remove(c.id);
    await waitFor("the destroy event", () => w.events.find((e) => e.kind === "destroy" && e.containerId === c.id));
  });

  it("holds a fork bomb at the pids limit; the neighbour keeps serving", async () => {
    const { runtime, docker } = yards.get();
    const pids = 16;
    const c = await runtime.create(
      spec(11n, {
        image: BUSYBOX_IMAGE,
        // The bomb runs in a subshell; the root shell becomes `sleep` (exec: no fork needed) and keeps the
        // container up, so that it can be observed and must be removed while the bomb is at the limit.
        command: ["sh", "-c", "(f(){ f & f & sleep 60; }; f) & exec sleep 60"],
        limits: { cpuMillis: 200, memoryMiB: 32, pids },
      }),
    );
    await runtime.start(c.id);
    // Sample the container's pids cgroup while the bomb runs: never above the limit, and the kernel counts the
    // forks it refused at the limit ("max <count>" in pids.events). A shell whose fork is refused dies, so the
    // count settles below the limit.
    let peak = 0;
    let refused = -1;
    for (let i = 0; i < 40; i++) {
      peak = Math.max(peak, Number(await cgroupFile("pids", c.id, "pids.current")));
      refused = Number(/^max (\d+)$/m.exec(await cgroupFile("pids", c.id, "pids.events"))![1]);
      await new Promise((r) => setTimeout(r, 25));
    }
    expect(peak, "pids.current").to.be.greaterThan(1).and.at.most(pids);
    expect(refused, "forks refused at the limit (pids.events)").to.be.greaterThan(0);
    expect((await runtime.inspect(c.id))?.running, "the container survives its bomb").to.equal(true);
    const logs = await runtime.logs(c.id);
    expect(logs).to.include("can't fork");
    const started = Date.now();
    await runtime.remove(c.id);
    expect(Date.now() - started).to.be.below(10_000);
    await docker
      .getContainer(c.id)
      .inspect()
      .then(
        () => expect.fail("the container should be gone"),
        (e: { statusCode?: number }) => expect(e.statusCode).to.equal(404),
      );
    const web = (await runtime.list()).find((i) => i.leaseId === 1n)!;
    expect((await httpGet(web.ip, 8080)).status).to.equal(200);
  });

  it("list() and inspect() see only the yard's own containers; another yard cannot stop or remove them", async () => {
    const { runtime } = yards.get();
    const other = yards.make("other").runtime;
    const mine = await runtime.list();
    expect(mine.length).to.be.greaterThan(0);
    expect(await other.list()).to.deep.equal([]);
    expect(await other.inspect(mine[0].id)).to.equal(undefined);
    expect((await rejectionOf(other.stop(mine[0].id))).code).to.equal("CONTAINER_FOREIGN");
    expect((await rejectionOf(other.remove(mine[0].id))).code).to.equal("CONTAINER_FOREIGN");
    expect((await runtime.inspect(mine[0].id))?.running).to.equal(true);
    // The other yard's own container is not in this yard's list, even for the same lease id.
    const theirs = await other.create(spec(1n, { image: BUSYBOX_IMAGE, command: ["true"] }));
    expect((await other.list()).map((c) => c.id)).to.deep.equal([theirs.id]);
    expect((await runtime.list()).map((c) => c.id)).to.not.include(theirs.id);
    expect(theirs.limits.networkMode).to.equal(other.network).and.not.equal(runtime.network);
  });

  it("stop, remove and inspect of an unknown container do not throw; start and logs say CONTAINER_NOT_FOUND", async () => {
    const { runtime } = yards.get();
    const unknown = "0".repeat(64);
    await runtime.stop(unknown);
    await runtime.remove(unknown);
    expect(await runtime.inspect(unknown)).to.equal(undefined);
    expect(await runtime.imageId("icon/not-there:1")).to.equal(undefined);
    await runtime.removeImage("icon/not-there:1");
    expect((await rejectionOf(runtime.start(unknown))).code).to.equal("CONTAINER_NOT_FOUND");
    expect((await rejectionOf(runtime.logs(unknown))).code).to.equal("CONTAINER_NOT_FOUND");
    expect((await rejectionOf(runtime.saveImage("icon/not-there:1"))).code).to.equal("IMAGE_NOT_FOUND");
  });

  it("stops a running container within its stop timeout and removes it; both again are no-ops", async () => {
    const { runtime } = yards.get();
    // sh as pid 2 ignores SIGTERM here: the engine must SIGKILL after stopTimeoutS.
    const c = await runtime.create(
      spec(12n, { image: BUSYBOX_IMAGE, command: ["sh", "-c", "trap '' TERM; sleep 60"], stopTimeoutS: 1 }),
    );
    await runtime.start(c.id);
    const started = Date.now();
    await runtime.stop(c.id);
    const took = Date.now() - started;
    expect(took).to.be.within(900, 5000);
    const stopped = (await runtime.inspect(c.id))!;
    expect(stopped.running).to.equal(false);
    expect(stopped.exitCode).to.equal(137);
    await runtime.stop(c.id);
    await runtime.remove(c.id);
    await runtime.remove(c.id);
    expect(await runtime.inspect(c.id)).to.equal(undefined);
  });

  it("saveImage → loadImage gives back the same image id (by reference and by id); garbage is IMAGE_LOAD_FAILED", async () => {
    const { runtime, docker, yardId } = yards.get();
    // An image of this test alone (so it can be removed and loaded again): a commit of a busybox container.
    const base = await runtime.create(spec(13n, { image: BUSYBOX_IMAGE, command: ["true"] }));
    const repo = `icon-test/${yardId}`;
    await docker.getContainer(base.id).commit({ repo, tag: "1", changes: ['LABEL icon.test="save-load"'] });
    const ref = `${repo}:1`;
    const id = (await runtime.imageId(ref))!;
    expect(id).to.match(/^sha256:[0-9a-f]{64}$/);
    try {
      const saved = await collect(await runtime.saveImage(ref));
      expect(saved.length).to.be.greaterThan(1024);
      await runtime.remove(base.id);
      await runtime.removeImage(ref);
      expect(await runtime.imageId(ref)).to.equal(undefined);
      expect(await runtime.loadImage(Readable.from([saved]))).to.deep.equal([id]); // "Loaded image: <ref>"
      expect(await runtime.imageId(ref)).to.equal(id);

      const byId = await collect(await runtime.saveImage(id));
      await runtime.removeImage(ref);
      expect(await runtime.imageId(id)).to.equal(undefined);
      expect(await runtime.loadImage(chunks(byId, 4096))).to.deep.equal([id]); // "Loaded image ID: <id>"
      expect(await runtime.imageId(id)).to.equal(id);

      const garbage = await rejectionOf(runtime.loadImage(Readable.from([Buffer.from("not a tarball")])));
      expect(garbage.code).to.equal("IMAGE_LOAD_FAILED");
      const broken = async function* () {
        yield byId.subarray(0, 4096);
        throw new Error("disk read error");
      };
      const failed = await rejectionOf(runtime.loadImage(broken()));
      expect(failed.code).to.equal("IMAGE_LOAD_FAILED");
      expect(failed.message).to.include("disk read error");
    } finally {
      await runtime.removeImage(ref).catch(() => undefined);
      await runtime.removeImage(id).catch(() => undefined);
    }
  });

  it("watch() delivers start/die(exit code)/destroy for the yard's containers only, and stops when aborted", async () => {
    const { runtime } = yards.get();
    const other = yards.make("watch").runtime;
    const controller = new AbortController();
    aborts.push(controller);
    const w = await watching(runtime, controller.signal);
    const theirs = await other.create(spec(1n, { image: BUSYBOX_IMAGE, command: ["sh", "-c", "exit 4"] }));
    await other.start(theirs.id);
    const c = await runtime.create(spec(20n, { image: BUSYBOX_IMAGE, command: ["sh", "-c", "exit 3"] }));
    await runtime.start(c.id);
    await waitExited(runtime, c.id);
    await runtime.remove(c.id);
    await waitFor("the destroy event", () => w.events.find((e) => e.kind === "destroy" && e.containerId === c.id));
    expect(w.events.filter((e) => e.containerId === c.id)).to.deep.equal([
      { kind: "start", leaseId: 20n, role: "service", containerId: c.id },
      { kind: "die", leaseId: 20n, role: "service", containerId: c.id, exitCode: 3 },
      { kind: "destroy", leaseId: 20n, role: "service", containerId: c.id },
    ]);
    expect(w.events.filter((e) => e.containerId === theirs.id)).to.deep.equal([]);
    controller.abort();
    const count = w.events.length;
    const after = await runtime.create(spec(21n, { image: BUSYBOX_IMAGE, command: ["true"] }));
    await runtime.start(after.id);
    await waitExited(runtime, after.id);
    await new Promise((r) => setTimeout(r, 200));
    expect(w.events.length).to.equal(count);
    expect(w.reconnects()).to.equal(0);
    await runtime.remove(after.id);
  });

  it("watch() reconnects with backoff when the engine's socket goes away and comes back, then reports onReconnect", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "icon-flaky-"));
    const fake = new FlakyDockerSocketFake({
      path: path.join(dir, "docker.sock"),
      target: DockerRuntime.defaultSocket(),
    });
    await fake.open();
    const controller = new AbortController();
    aborts.push(controller);
    try {
      const runtime = yards.make("flaky", fake.path).runtime;
      const w = await watching(runtime, controller.signal);
      expect(w.reconnects()).to.equal(0);

      // A dropped connection (the socket stays): reconnects at once.
      fake.cut();
      await waitFor("the reconnection after a cut", () => w.reconnects() === 1, 5000);

      // The socket is gone for a while: attempts back off (100, 200, 400, 800 ms ...) instead of spinning.
      await fake.close();
      const acceptedBefore = fake.accepted;
      await new Promise((r) => setTimeout(r, 1200));
      expect(w.reconnects()).to.equal(1);
      await fake.open();
      await waitFor("the reconnection after the socket came back", () => w.reconnects() === 2, 5000);
      expect(fake.accepted - acceptedBefore).to.equal(1);

      // Events flow again through the new connection.
      const c = await runtime.create(spec(30n, { image: BUSYBOX_IMAGE, command: ["sh", "-c", "exit 5"] }));
      await runtime.start(c.id);
      const die = await waitFor("the die event", () =>
        w.events.find((e) => e.kind === "die" && e.containerId === c.id),
      );
      expect(die).to.deep.equal({ kind: "die", leaseId: 30n, role: "service", containerId: c.id, exitCode: 5 });

      // Aborted: no more connections, even when the socket drops again.
      controller.abort();
      await new Promise((r) => setTimeout(r, 50));
      const accepted = fake.accepted;
      fake.cut();
      await new Promise((r) => setTimeout(r, 500));
      expect(fake.accepted).to.equal(accepted);
      await runtime.remove(c.id);
    } finally {
      controller.abort();
      await fake.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("watch() backs off (100 ms, doubling) while the engine keeps refusing or dropping the event stream", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "icon-flaky-"));
    const fake = new FlakyDockerSocketFake({
      path: path.join(dir, "docker.sock"),
      target: DockerRuntime.defaultSocket(),
    });
    await fake.open();
    const controllers = [new AbortController(), new AbortController()];
    aborts.push(...controllers);
    try {
      const runtime = yards.make("backoff", fake.path).runtime;
      // Every connection is closed before an answer: attempts at ~0, 100, 300, 700, 1500 ms.
      fake.dropNew = true;
      let connects = 0;
      runtime.watch(() => undefined, { signal: controllers[0].signal, onConnect: () => connects++ });
      await new Promise((r) => setTimeout(r, 1600));
      controllers[0].abort();
      expect(connects).to.equal(0);
      expect(fake.accepted).to.be.within(4, 6);

      // Each stream is dropped right after it is established: reconnections at the same pace.
      fake.dropNew = false;
      await new Promise((r) => setTimeout(r, 100)); // the aborted watcher's pending attempt has ended
      let reconnects = 0;
      connects = 0;
      runtime.watch(() => undefined, {
        signal: controllers[1].signal,
        onConnect: () => {
          connects++;
          fake.cut();
        },
        onReconnect: () => reconnects++,
      });
      await new Promise((r) => setTimeout(r, 1600));
      controllers[1].abort();
      expect(connects).to.be.within(4, 6);
      expect(reconnects).to.equal(connects - 1);
    } finally {
      controllers.forEach((c) => c.abort());
      await fake.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("demuxDockerLog reads the 8-byte frame headers and keeps bytes that are not frames", () => {
    const frame = (stream: number, text: string) => {
      const payload = Buffer.from(text);
      const header = Buffer.alloc(8);
      header[0] = stream;
      header.writeUInt32BE(payload.length, 4);
      return Buffer.concat([header, payload]);
    };
    const euro = Buffer.from("€");
    expect(demuxDockerLog(Buffer.concat([frame(1, "out\n"), frame(2, "err\n"), frame(1, "")]))).to.equal("out\nerr\n");
    expect(demuxDockerLog(Buffer.from("raw tty output\n"))).to.equal("raw tty output\n");
    expect(demuxDockerLog(Buffer.alloc(0))).to.equal("");
    // A multi-byte character cut across two frames is decoded whole.
    const a = Buffer.concat([Buffer.from([1, 0, 0, 0, 0, 0, 0, 2]), euro.subarray(0, 2)]);
    const b = Buffer.concat([Buffer.from([1, 0, 0, 0, 0, 0, 0, 1]), euro.subarray(2)]);
    expect(demuxDockerLog(Buffer.concat([a, b]))).to.equal("€");
  });
});

describe("DockerRuntime across an engine restart", function () {
  this.timeout(60_000);
  const yards = useDockerYard("restart");

  it("keeps the container running (live restore), reconnects watch() and sees events again", async function () {
    const { runtime } = yards.get();
    const controller = new AbortController();
    try {
      const web = await runtime.start((await runtime.create(spec(1n))).id);
      await waitFor("httpd", () => httpGet(web.ip, 8080).catch(() => undefined), 5000);
      const w = await watching(runtime, controller.signal);
      const script = path.resolve(import.meta.dirname, "../../../scripts/docker.sh");
      const started = Date.now();
      await run("bash", [script, "stop"]);
      await run("bash", [script, "start"]);
      const restartMs = Date.now() - started;
      await waitFor("the reconnection", () => w.reconnects() >= 1, 10_000);
      expect(restartMs).to.be.below(10_000);
      const after = (await runtime.inspect(web.id))!;
      expect(after.running).to.equal(true);
      expect(after.ip).to.equal(web.ip);
      expect((await httpGet(web.ip, 8080)).status).to.equal(200);
      await runtime.stop(web.id, 0);
      await waitFor("the die event", () => w.events.find((e) => e.kind === "die" && e.containerId === web.id));
    } finally {
      controller.abort();
    }
  });
});

async function collect(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) parts.push(chunk);
  return Buffer.concat(parts);
}

async function* chunks(buf: Buffer, size: number): AsyncIterable<Uint8Array> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}
