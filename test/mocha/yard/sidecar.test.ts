/**
 * A lease carries its ICON: a Deploy's agent part runs as a sidecar beside the service, inside the lease's limits,
 * with its secret delivered on standard input into a tmpfs at /run/icon. Real chain, real libp2p, real Docker, the
 * yard as an operator runs it (`icon yard start` in its own process, logging at debug). The test sidecar is
 * icon/busybox:1 whose command copies its standard input into /run/icon/secret and then idles.
 *
 * The secret's bytes (as text, hex, base64, or a JSON array or object of numbers) must appear in none of: the
 * yard's database directory, its log output, its HTTP endpoints (/status, /metrics, /healthz), `docker inspect` of
 * both containers (config, env, labels, cmd, mounts) and the sidecar's logs, the yard process's environment.
 */
import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { Wallet } from "ethers";
import { multiaddr, type Multiaddr } from "@multiformats/multiaddr";
import { LeaseRejectedError, LeaseSecret, RejectCode, leaseLimits, type AgentPart } from "../../../protocol/index.ts";
import { BUSYBOX_IMAGE, WEB_IMAGE, execIn, useDockerYard, waitFor } from "../../helpers/docker.ts";
import {
  Tenant,
  USD,
  clientFor,
  httpGet,
  startMarket,
  startYardProcess,
  writeYardConfig,
  yardConfig,
  type TestMarket,
  type YardProcess,
} from "../../../scripts/lib/testbed.ts";

/** The test sidecar's entry: the secret from standard input into the tmpfs, then something observable. */
const SIDECAR_COMMAND = [
  "sh",
  "-c",
  'umask 077; cat > /run/icon/secret; echo "agent up with $(wc -c < /run/icon/secret) bytes"; exec sleep 3600',
];

/** The encodings in which a leaked secret would show: text, hex, base64 (three alignments), JSON numbers. */
function encodings(secret: Buffer): string[] {
  const token = secret.subarray(0, 48);
  const forms = [token.toString("latin1"), token.toString("hex"), secret.toString("base64").slice(0, 40)];
  for (let i = 0; i < 3; i++) forms.push(token.subarray(i).toString("base64").slice(4, 40));
  forms.push([...token.subarray(0, 12)].join(","));
  forms.push([...token.subarray(0, 6)].map((b, i) => `"${i}":${b}`).join(","));
  return forms;
}

/** The encodings of `secret` found in `where` (empty: none). */
function leaks(secret: Buffer, where: Buffer | string): string[] {
  const hay = typeof where === "string" ? where : where.toString("latin1");
  return encodings(secret).filter((f) => hay.includes(f));
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await filesUnder(p)));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

/** Runs each stop in order, whatever an earlier one did. */
async function stopAll(stops: (() => unknown)[]): Promise<void> {
  for (const stop of stops) await Promise.resolve(stop()).catch(() => undefined);
}

describe("agent sidecar (a lease carries its ICON)", function () {
  this.timeout(300_000);
  /** The yard as a process (started again in place by the restart tests), its config file and data directory. */
  let yard: YardProcess | undefined;
  let file: string;
  let dataDir: string;
  let addr: Multiaddr;
  /** The market and the tenant (owner key 2, ICON key 3). */
  let m: TestMarket;
  let tenant: Tenant;
  /** Image ids (0x…) of the service (web) and of the test sidecar (busybox). */
  let web: string;
  let busybox: string;
  // Registered before useDockerYard's hooks: the yard stops before the engine cleanup.
  after(() => stopAll([() => yard?.child.kill("SIGKILL"), () => tenant?.stop(), () => m?.close()]));
  const docker = useDockerYard("sidecar");

  /** An agent part running the test sidecar with `secret` and a share of 50 mCPU and 16 MiB. */
  const agentPart = (secret: Buffer, over: Partial<AgentPart> = {}): AgentPart => ({
    imageRef: BUSYBOX_IMAGE,
    imageDigest: busybox,
    command: SIDECAR_COMMAND,
    cpuMillis: 50,
    memoryMiB: 16,
    secret: LeaseSecret.of(secret),
    ...over,
  });

  /** Opens a lease of the web image (250 mCPU, 64 MiB unless `over` says otherwise) with the test sidecar. */
  const leaseWithAgent = (secret: Buffer, over: Parameters<Tenant["rfq"]>[1] = {}) =>
    tenant.lease(addr, web, { cpuMillis: 250, memoryMiB: 64, ...over }, { agent: agentPart(secret) });
  /** The content of /run/icon/secret in container `id`, or undefined when it cannot be read (yet). */
  const secretIn = async (id: string): Promise<Buffer | undefined> => {
    const r = await execIn(docker.get().docker, id, "base64 /run/icon/secret");
    return r.code === 0 ? Buffer.from(r.out, "base64") : undefined;
  };
  const raw = (id: string) => docker.get().docker.getContainer(id).inspect();
  const containersOf = (leaseId: bigint) => docker.get().runtime.list({ leaseId });
  const status = async () =>
    (await (await fetch(`${yard!.http}/status`)).json()) as {
      leases: { id: string; status: string; running: boolean; agentRunning?: boolean; note: string }[];
    };

  before(async () => {
    m = await startMarket();
    tenant = await Tenant.create(m, 2, 3, USD(100));
    const { yardId, runtime } = docker.get();
    await m.admin.mint(new Wallet(m.keys[1]!, m.provider).address, USD(1000));
    const config = yardConfig(m, yardId, {
      lease: { startLeadS: 2, earlyStartS: 2, claimIntervalS: 5, stopTimeoutS: 1, imageGraceS: 0, minSlotS: 5 },
    });
    dataDir = config.dataDir;
    file = await writeYardConfig(m, config);
    yard = await startYardProcess(file, m.keys[1]!, { logLevel: "debug" });
    addr = multiaddr(yard.addr);
    web = "0x" + (await runtime.imageId(WEB_IMAGE))!.slice(7);
    busybox = "0x" + (await runtime.imageId(BUSYBOX_IMAGE))!.slice(7);
  });

  it("a Deploy without an agent part runs the service alone with the whole lease, as before", async () => {
    const l = await tenant.lease(addr, web, { slotSeconds: 20, cpuMillis: 200, memoryMiB: 64 });
    expect(await httpGet(l.endpoint)).to.include("icon-web-ok");
    const cs = await containersOf(l.leaseId);
    expect(cs.map((c) => c.role)).to.deep.equal(["service"]);
    expect(cs[0]!.limits.nanoCpus).to.equal(200 * 1e6);
    expect(cs[0]!.limits.memoryBytes).to.equal(64 * 1024 * 1024);
    const entry = (await status()).leases.find((x) => x.id === l.leaseId.toString())!;
    expect(entry.running).to.equal(true);
    expect(entry).to.not.have.property("agentRunning");
  });

  it("refuses an agent share larger than the lease and an oversize secret, with nothing started or stored", async () => {
    // Share: the service would be left with less than a container needs.
    const big = await tenant.open(addr, tenant.rfq(web, { slotSeconds: 20, cpuMillis: 100, memoryMiB: 32 }));
    const r = await big.session.request({
      type: "deploy",
      spec: {
        leaseId: big.leaseId,
        imageRef: WEB_IMAGE,
        imageDigest: web,
        command: [],
        env: [],
        ports: [8080],
        agent: agentPart(randomBytes(64), { cpuMillis: 100 }),
      },
    });
    await big.session.close();
    expect(r.type).to.equal("failed");
    expect(r.type === "failed" && r.message).to.match(
      /agent's share .* leaves the service 0 mCPU .* name a smaller share/,
    );
    // Oversize secret: refused when the frame is read, before any logic.
    const huge = await tenant.open(addr, tenant.rfq(web, { slotSeconds: 20, cpuMillis: 100, memoryMiB: 32 }));
    const refused = huge.session.request({
      type: "deploy",
      spec: {
        leaseId: huge.leaseId,
        imageRef: WEB_IMAGE,
        imageDigest: web,
        command: [],
        env: [],
        ports: [8080],
        agent: agentPart(randomBytes(leaseLimits.maxSecretBytes + 1)),
      },
    });
    const e = await refused.then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(e).to.be.instanceOf(LeaseRejectedError);
    expect((e as LeaseRejectedError).reject).to.equal(RejectCode.BAD_REQUEST);
    expect((e as LeaseRejectedError).message).to.match(/agent\.secret must be 1\.\.65536 bytes, got 65537/);
    // Nothing started, nothing stored: the leases wait for a Deploy as if none had come.
    await new Promise((r) => setTimeout(r, 3000));
    for (const id of [big.leaseId, huge.leaseId]) {
      expect(await containersOf(id)).to.deep.equal([]);
      expect((await status()).leases.find((x) => x.id === id.toString())!.status).to.equal("open");
    }
  });

  it("runs the sidecar beside the service: secret in /run/icon, both hardened, limits split, restarted with its secret, gone at the end, the secret in none of db, logs, endpoints, inspect, environment", async () => {
    const secret = Buffer.concat([
      Buffer.from("icon-key:"),
      Buffer.from(randomBytes(32).toString("hex")),
      randomBytes(2000),
    ]);
    const l = await leaseWithAgent(secret, { slotSeconds: 120 });
    expect(await httpGet(l.endpoint)).to.include("icon-web-ok");
    const { service, agent } = await waitFor(
      "both containers running",
      async () => {
        const cs = await containersOf(l.leaseId);
        const service = cs.find((c) => c.role === "service");
        const agent = cs.find((c) => c.role === "agent");
        return service?.running && agent?.running ? { service, agent } : undefined;
      },
      20_000,
    );
    // The sidecar has its secret, readable only by its own user.
    await waitFor("the secret in /run/icon", async () => (await secretIn(agent.id))?.equals(secret), 10_000);
    expect((await execIn(docker.get().docker, agent.id, "stat -c '%a %u' /run/icon")).out.trim()).to.equal("700 65534");
    // Limits: the agent's share, and the rest for the service; both hardened alike.
    expect(agent.limits.nanoCpus).to.equal(50 * 1e6);
    expect(agent.limits.memoryBytes).to.equal(16 * 1024 * 1024);
    expect(service.limits.nanoCpus).to.equal(200 * 1e6);
    expect(service.limits.memoryBytes).to.equal(48 * 1024 * 1024);
    for (const c of [service, agent]) {
      expect(c.limits.privileged).to.equal(false);
      expect(c.limits.readonlyRootfs).to.equal(true);
      expect(c.limits.user).to.equal("65534:65534");
      expect(c.limits.capDrop).to.deep.equal(["ALL"]);
      expect(c.limits.securityOpt).to.include("no-new-privileges");
      expect(c.limits.pidsLimit).to.equal(64);
      expect(c.limits.publishedPorts).to.equal(0);
    }
    expect((await raw(agent.id)).Config.Labels).to.include({
      "icon.lease": l.leaseId.toString(),
      "icon.role": "agent",
    });

    // Killed: it comes back (the yard restarts it like the service) with its secret re-delivered.
    const startedAt = (await raw(agent.id)).State.StartedAt;
    await docker.get().docker.getContainer(agent.id).kill();
    await waitFor(
      "the sidecar to run again",
      async () => {
        const s = (await raw(agent.id)).State;
        return s.Running && s.StartedAt !== startedAt;
      },
      30_000,
    );
    await waitFor("the secret again", async () => (await secretIn(agent.id))?.equals(secret), 10_000);
    expect((await status()).leases.find((x) => x.id === l.leaseId.toString())!.agentRunning).to.equal(true);

    // The four places (and the endpoints): the secret is in none of them. (The search does find each encoding.)
    for (const form of [secret.toString("hex"), secret.toString("base64"), JSON.stringify([...secret])])
      expect(leaks(secret, form)).to.not.deep.equal([]);
    const found: string[] = [];
    for (const f of await filesUnder(dataDir))
      for (const x of leaks(secret, await readFile(f))) found.push(`${path.relative(dataDir, f)}: ${x}`);
    for (const x of leaks(secret, yard!.out.join("") + yard!.err.join(""))) found.push(`yard log: ${x}`);
    for (const p of ["/status", "/metrics", "/healthz"]) {
      const body = await (await fetch(`${yard!.http}${p}`)).text();
      for (const x of leaks(secret, body)) found.push(`${p}: ${x}`);
    }
    for (const c of [service, agent]) {
      for (const x of leaks(secret, JSON.stringify(await raw(c.id)))) found.push(`docker inspect ${c.role}: ${x}`);
      const logs = await docker.get().runtime.logs(c.id);
      for (const x of leaks(secret, logs)) found.push(`docker logs ${c.role}: ${x}`);
    }
    for (const x of leaks(secret, await readFile(`/proc/${yard!.child.pid}/environ`))) found.push(`environ: ${x}`);
    expect(found).to.deep.equal([]);
    // The log does say what happened, without the secret.
    expect(yard!.err.join("")).to.match(/agent sidecar running/);
    expect(await docker.get().runtime.logs(agent.id)).to.match(/agent up with 2073 bytes/);

    // A yard killed and started again no longer holds the secret: the running sidecar keeps running with its
    // tmpfs; once it dies it stays down and is reported, and the service keeps serving.
    yard!.child.kill("SIGKILL");
    await yard!.exited;
    yard = await startYardProcess(file, m.keys[1]!, { logLevel: "debug" });
    addr = multiaddr(yard.addr);
    await waitFor(
      "the restarted yard to see the sidecar running",
      async () => (await status()).leases.find((x) => x.id === l.leaseId.toString())?.agentRunning === true,
      20_000,
    );
    expect(await secretIn(agent.id)).to.deep.equal(secret);
    await docker.get().docker.getContainer(agent.id).kill();
    const entry = await waitFor(
      "the lost sidecar reported",
      async () => {
        const e = (await status()).leases.find((x) => x.id === l.leaseId.toString())!;
        return e.agentRunning === false && /no longer holds its secret/.test(e.note) ? e : undefined;
      },
      20_000,
    );
    expect(entry.running).to.equal(true);
    expect(await httpGet(l.endpoint)).to.include("icon-web-ok");
    await new Promise((r) => setTimeout(r, 2000));
    expect((await raw(agent.id)).State.Running, "no start without its secret").to.equal(false);
    expect(await (await fetch(`${yard!.http}/metrics`)).text()).to.match(/icon_yard_agent_sidecars_lost_total 1/);

    // The lease's end (terminated by the ICON on chain): both containers go.
    await (await clientFor(m, 3)).terminate(l.leaseId);
    await waitFor("both containers gone", async () => (await containersOf(l.leaseId)).length === 0, 30_000);
  });

  it("a renewal with the same agent carries the running sidecar over; its next restart gets the renewal's secret", async () => {
    const first = randomBytes(128);
    const renewed = randomBytes(128);
    const a = await leaseWithAgent(first, { slotSeconds: 10 });
    const sidecar = await waitFor(
      "the first lease's sidecar",
      async () => (await containersOf(a.leaseId)).find((c) => c.role === "agent" && c.running),
      20_000,
    );
    const b = await leaseWithAgent(renewed, { slotSeconds: 20, renewsLeaseId: a.leaseId });
    expect(b.endpoint).to.equal(a.endpoint);
    await waitFor("the first lease's end", () => Date.now() / 1000 > Number(a.offer.end) + 2, 30_000);
    const st = (await raw(sidecar.id)).State;
    expect(st.Running, "the same sidecar runs on").to.equal(true);
    expect((await containersOf(b.leaseId)).filter((c) => c.role === "agent")).to.deep.equal([]);
    await docker.get().docker.getContainer(sidecar.id).kill();
    await waitFor(
      "the sidecar restarted with the renewal's secret",
      async () => (await secretIn(sidecar.id))?.equals(renewed),
      30_000,
    );
    await waitFor("gone at the renewal's end", async () => !(await raw(sidecar.id).catch(() => undefined)), 40_000);
  });

  it("reconciles after a restart: a sidecar whose lease ended while the yard was down is removed", async () => {
    const secret = randomBytes(256);
    const l = await leaseWithAgent(secret, { slotSeconds: 15 });
    await waitFor("two containers", async () => (await containersOf(l.leaseId)).every((c) => c.running), 20_000);
    expect((await containersOf(l.leaseId)).map((c) => c.role).sort()).to.deep.equal(["agent", "service"]);
    yard!.child.kill("SIGKILL");
    await yard!.exited;
    await waitFor("the slot to end", () => Date.now() / 1000 > Number(l.offer.end) + 1, 30_000);
    yard = await startYardProcess(file, m.keys[1]!, { logLevel: "debug" });
    addr = multiaddr(yard.addr);
    await waitFor("nothing of the lease left", async () => (await containersOf(l.leaseId)).length === 0, 30_000);
  });
});
