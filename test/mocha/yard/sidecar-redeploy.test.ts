/**
 * The sidecar when a lease's agent changes: another Deploy of an active lease (through the yard's deploy: over
 * /icon/lease a lease takes one Deploy, in the negotiation that opened it) and a renewal with another agent. The
 * lease's containers never hold more than its CPU and memory, the old sidecar goes with its secret, a refused agent
 * part changes nothing; a renewal takes its predecessor's containers over under that lease's lock; the secret is
 * written to the sidecar from a copy that a concurrent wipe cannot zero.
 *
 * The lease lifecycle runs in this process on the real Docker engine and a real database; the chain, network and
 * routing around it are stand-ins (nothing here reaches them but no-ops), and the engine is wrapped only to hold or
 * observe a call at a chosen moment (fault injection). No ticker runs: each step is one awaited call.
 */
import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { LeaseSecret, type AgentPart, type DeploySpec, type Offer } from "../../../protocol/index.ts";
import { silentLogger } from "../../../protocol/log.ts";
import type { DockerRuntime } from "../../../yard-node/docker.ts";
import { YardDb } from "../../../yard-node/db.ts";
import { LeaseLifecycle, type LeaseLifecycleComponents } from "../../../yard-node/leases.ts";
import type { ContainerInfo, ContainerRuntime } from "../../../yard-node/runtime.ts";
import { BUSYBOX_IMAGE, WEB_IMAGE, execIn, useDockerYard, waitFor } from "../../helpers/docker.ts";

/** The test sidecar: the secret from standard input into its tmpfs, then idle. */
const SIDECAR_COMMAND = ["sh", "-c", "umask 077; cat > /run/icon/secret; exec sleep 3600"];
const MiB = 1024 * 1024;

/** Calls of the engine a test holds or watches (fault injection); the engine does the rest. */
interface Hooks {
  stop?: (id: string) => Promise<void> | void;
  imageId?: (ref: string) => void;
  startWithInput?: (input: Uint8Array) => void;
}

function hooked(real: DockerRuntime, hooks: Hooks): ContainerRuntime {
  return new Proxy(real, {
    get(target, p) {
      if (p === "stop")
        return async (id: string, timeoutS?: number) => {
          await hooks.stop?.(id);
          return target.stop(id, timeoutS);
        };
      if (p === "imageId")
        return async (ref: string) => {
          const r = await target.imageId(ref);
          hooks.imageId?.(ref);
          return r;
        };
      if (p === "startWithInput")
        return (id: string, input: Uint8Array) => {
          hooks.startWithInput?.(input);
          return target.startWithInput(id, input);
        };
      const v: unknown = Reflect.get(target, p, target);
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

describe("agent sidecar: a changed agent part, a renewal's lock, the secret in flight", function () {
  this.timeout(180_000);
  const docker = useDockerYard("redeploy");
  let web: string;
  let busybox: string;
  let db: YardDb;
  let hooks: Hooks;
  let leases: LeaseLifecycle;
  let nextId = 1n;

  before(async () => {
    const { runtime } = docker.get();
    web = "0x" + (await runtime.imageId(WEB_IMAGE))!.slice(7);
    busybox = "0x" + (await runtime.imageId(BUSYBOX_IMAGE))!.slice(7);
    db = new YardDb(path.join(await mkdtemp(path.join(tmpdir(), "icon-redeploy-")), "yard.db"));
  });
  after(() => db?.close());

  beforeEach(() => {
    hooks = {};
    const now = () => Math.floor(Date.now() / 1000);
    const components: LeaseLifecycleComponents = {
      config: {
        lease: { earlyStartS: 2, stopTimeoutS: 1, maxRestarts: 3, claimIntervalS: 5, imageGraceS: 1e6 },
        capacity: { pidsPerLease: 64 },
        publicHost: "127.0.0.1",
      } as unknown as LeaseLifecycleComponents["config"],
      runtime: hooked(docker.get().runtime, hooks),
      db,
      chain: {
        lease: async () => undefined,
        confirmStart: async () => undefined,
        claimTx: async () => undefined,
        format: String,
        fees: { quote: async () => ({ maxFeePerGas: 1n, maxPriorityFeePerGas: 0n, baseFeePerGas: 1n, block: 0 }) },
      } as unknown as LeaseLifecycleComponents["chain"],
      watch: { call: (_what: string, fn: () => Promise<unknown>) => fn(), now } as LeaseLifecycleComponents["watch"],
      ledger: { endAt: () => undefined },
      owners: { rootOf: async () => 1n },
      overlay: { localChanged: () => undefined },
      // No gateway in this test: sidecars get no environment.
      gateway: { env: () => [], leaseEnded: async () => undefined, leaseMoved: () => undefined },
      network: {
        openIngress: async () => undefined,
        closeEndpoints: async () => undefined,
        recheck: async () => undefined,
        wantFirewallCheck: () => undefined,
        carryService: () => undefined,
        carryAgent: () => true,
        addressing: undefined,
      } as unknown as LeaseLifecycleComponents["network"],
      containers: new Map<string, ContainerInfo>(),
      metrics: { inc: () => undefined, set: () => undefined },
      log: silentLogger,
      signal: new AbortController().signal,
    };
    leases = new LeaseLifecycle(components);
  });

  /** A lease of the web image (250 mCPU, 64 MiB) whose slot runs now; `renews` makes it a renewal. */
  const openLease = (renews?: bigint): bigint => {
    const id = nextId++;
    const now = BigInt(Math.floor(Date.now() / 1000));
    const offer = {
      provider: "0x" + "11".repeat(20),
      account: 1n,
      token: "0x" + "22".repeat(20),
      pricePerSecond: 1n,
      cpuMillis: 250,
      memoryMiB: 64,
      start: now - 1n,
      end: now + 600n,
      specHash: web,
      nonce: id,
      deadline: now + 60n,
    } satisfies Offer;
    db.addLease(id, offer, "0x" + id.toString(16).padStart(64, "0"), renews);
    return id;
  };
  const agentPart = (secret: Buffer, share = { cpuMillis: 50, memoryMiB: 16 }): AgentPart => ({
    imageRef: BUSYBOX_IMAGE,
    imageDigest: busybox,
    command: SIDECAR_COMMAND,
    ...share,
    secret: LeaseSecret.of(secret),
  });
  const spec = (leaseId: bigint, agent?: AgentPart): DeploySpec => ({
    leaseId,
    imageRef: WEB_IMAGE,
    imageDigest: web,
    command: [],
    env: [],
    ports: [8080],
    ...(agent ? { agent } : {}),
  });
  const deploy = async (s: DeploySpec): Promise<void> => {
    const r = await leases.deploy(s);
    if ("failed" in r) throw new Error(`deploy failed: ${r.failed}`);
  };
  const inspect = (id: string | undefined) => (id ? docker.get().runtime.inspect(id) : undefined);
  const raw = (id: string) => docker.get().docker.getContainer(id).inspect();
  /** The content of /run/icon/secret in container `id` once `length` bytes are there. */
  const secretIn = (id: string, length: number): Promise<Buffer> =>
    waitFor(
      `${length} bytes in the sidecar's /run/icon/secret`,
      async () => {
        const r = await execIn(docker.get().docker, id, "base64 /run/icon/secret");
        const b = r.code === 0 ? Buffer.from(r.out, "base64") : undefined;
        return b?.length === length ? b : undefined;
      },
      20_000,
    );
  /** The lease's service and sidecar as the engine reports them now. */
  const both = async (leaseId: bigint) => {
    const row = db.lease(leaseId)!;
    return { row, service: await inspect(row.containerId), agent: await inspect(row.agentContainerId) };
  };
  const cpu = (c: ContainerInfo | undefined) => (c?.limits.nanoCpus ?? 0) / 1e6;
  const mem = (c: ContainerInfo | undefined) => (c?.limits.memoryBytes ?? 0) / MiB;

  it("another Deploy without the agent part ends the sidecar and gives the running service the whole lease", async () => {
    const id = openLease();
    await deploy(spec(id, agentPart(randomBytes(64))));
    const before = await both(id);
    expect(before.agent?.running).to.equal(true);
    expect([cpu(before.service), mem(before.service)]).to.deep.equal([200, 48]);
    const startedAt = (await raw(before.service!.id)).State.StartedAt;

    await deploy(spec(id));
    const after = await both(id);
    expect(after.row.agentContainerId).to.equal(undefined);
    expect(await inspect(before.agent!.id), "the old sidecar is removed").to.equal(undefined);
    expect(after.service!.id, "the same service, resized in place").to.equal(before.service!.id);
    expect(after.service!.running).to.equal(true);
    expect((await raw(after.service!.id)).State.StartedAt, "not restarted").to.equal(startedAt);
    expect([cpu(after.service), mem(after.service)]).to.deep.equal([250, 64]);
    expect(leases.agentRunning(id)).to.equal(undefined);
  });

  it("another Deploy with a different agent replaces the sidecar; service and agent add up to the lease", async () => {
    const id = openLease();
    await deploy(spec(id, agentPart(randomBytes(64))));
    const before = await both(id);
    const second = randomBytes(96);
    await deploy(spec(id, agentPart(second, { cpuMillis: 100, memoryMiB: 24 })));
    const after = await both(id);
    expect(await inspect(before.agent!.id), "the old sidecar is removed").to.equal(undefined);
    expect(after.agent!.id).to.not.equal(before.agent!.id);
    expect(after.agent!.running).to.equal(true);
    expect(await secretIn(after.agent!.id, second.length)).to.deep.equal(second);
    expect(after.service!.id).to.equal(before.service!.id);
    expect([cpu(after.agent), mem(after.agent)]).to.deep.equal([100, 24]);
    expect([cpu(after.service), mem(after.service)]).to.deep.equal([150, 40]);
    expect([cpu(after.agent) + cpu(after.service), mem(after.agent) + mem(after.service)]).to.deep.equal([250, 64]);
  });

  it("another Deploy whose agent part is refused leaves everything as it was", async () => {
    const id = openLease();
    const first = randomBytes(64);
    await deploy(spec(id, agentPart(first)));
    const before = await both(id);
    const r = await leases.deploy(spec(id, agentPart(randomBytes(64), { cpuMillis: 245, memoryMiB: 16 })));
    expect("failed" in r && r.failed).to.match(/leaves the service 5 mCPU/);
    const after = await both(id);
    expect(after.row.spec).to.deep.equal(before.row.spec);
    expect([after.service!.id, after.agent!.id]).to.deep.equal([before.service!.id, before.agent!.id]);
    expect([after.service!.running, after.agent!.running]).to.deep.equal([true, true]);
    expect([cpu(after.service), mem(after.service), cpu(after.agent), mem(after.agent)]).to.deep.equal([
      200, 48, 50, 16,
    ]);
    expect(await secretIn(after.agent!.id, first.length)).to.deep.equal(first);
  });

  it("a renewal with another agent fits the carried-over service to its share before the new sidecar starts", async () => {
    const a = openLease();
    await deploy(spec(a, agentPart(randomBytes(64))));
    const old = await both(a);
    const b = openLease(a);
    await deploy(spec(b, agentPart(randomBytes(64), { cpuMillis: 100, memoryMiB: 24 })));
    const renewed = await both(b);
    expect(renewed.service!.id, "the service carried over").to.equal(old.service!.id);
    expect(await inspect(old.agent!.id), "the old agent's sidecar is removed").to.equal(undefined);
    expect([cpu(renewed.service), mem(renewed.service)]).to.deep.equal([150, 40]);
    expect([cpu(renewed.agent), mem(renewed.agent)]).to.deep.equal([100, 24]);
  });

  it("a renewal waits for its predecessor's lock: what the predecessor is ending is not carried over", async () => {
    const a = openLease();
    await deploy(spec(a, agentPart(randomBytes(64))));
    const old = await both(a);
    // The predecessor's end is held inside its lock, at its sidecar's stop.
    const gate = Promise.withResolvers<void>();
    const entered = Promise.withResolvers<void>();
    hooks.stop = async (cid) => {
      if (cid !== old.agent!.id) return;
      entered.resolve();
      await gate.promise;
    };
    const ending = leases.terminate(a);
    await entered.promise;
    // The hold ends once the renewal's Deploy has checked its agent image, the last engine call before the
    // carry-over: anything the renewal does without the predecessor's lock it does before the hold ends.
    const b = openLease(a);
    hooks.imageId = (ref) => {
      if (ref === `sha256:${busybox.slice(2)}`) setImmediate(() => gate.resolve());
    };
    const renewing = deploy(spec(b, agentPart(randomBytes(64))));
    await Promise.all([ending, renewing]);
    const renewed = await both(b);
    expect(db.lease(a)!.status).to.equal("ended");
    expect(await inspect(old.agent!.id)).to.equal(undefined);
    expect(await inspect(old.service!.id)).to.equal(undefined);
    expect(renewed.service?.running, "the renewal's own service runs").to.equal(true);
    expect(renewed.agent?.running, "the renewal's own sidecar runs").to.equal(true);
    expect([renewed.service!.id, renewed.agent!.id]).to.not.include.members([old.service!.id, old.agent!.id]);
  });

  it("writes the secret to the sidecar from a copy: a wipe during the write does not reach it, and the copy is wiped after", async () => {
    const id = openLease();
    const secret = randomBytes(128);
    let written: Uint8Array | undefined;
    hooks.startWithInput = (input) => {
      written = input;
      // The yard stops (or the lease ends) while the bytes are on their way.
      leases.wipeSecrets();
    };
    await deploy(spec(id, agentPart(secret)));
    const { agent } = await both(id);
    expect(await secretIn(agent!.id, secret.length)).to.deep.equal(secret);
    expect(written!.length).to.equal(128);
    expect(
      written!.every((x) => x === 0),
      "the copy is wiped once written",
    ).to.equal(true);
  });
});
