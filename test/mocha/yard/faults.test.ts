/**
 * The yard through outages of what it depends on, end to end (embedded chain, real libp2p, real Docker):
 *  - the chain's JSON-RPC goes away: running leases keep running and serving, a slot that ends meanwhile is ended
 *    on time, RFQs are refused with a reason, and once the chain is back the yard catches up with what happened
 *    on chain meanwhile (a termination) and is paid to the second;
 *  - the Docker engine goes away: the yard keeps answering and no lease changes state; a container that died
 *    meanwhile is restarted once the engine is back.
 * The outages are injected by fakes in front of the real parts (a TCP proxy before the chain, a unix socket proxy
 * before the engine), so nothing else sharing the chain or the engine is disturbed.
 */
import { expect } from "chai";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Wallet } from "ethers";
import type { Multiaddr } from "@multiformats/multiaddr";
import { LeaseRejectedError, RejectCode } from "../../../protocol/index.ts";
import { parseYardConfig, type YardConfigInput } from "../../../yard-node/config.ts";
import { DockerRuntime } from "../../../yard-node/docker.ts";
import { createLogger, silentLogger } from "../../../protocol/log.ts";
import { Yard } from "../../../yard-node/yard.ts";
import { FlakyDockerSocketFake, WEB_IMAGE, cleanupYard, useDockerYard, waitFor } from "../../helpers/docker.ts";
import { expectRejection } from "../../helpers/yard.ts";
import { FlakyRpcProxyFake } from "../../helpers/faults.ts";
import {
  Tenant,
  USD,
  clientFor,
  httpGet,
  startMarket,
  yardConfig,
  type TestMarket,
} from "../../../scripts/lib/testbed.ts";

const log = process.env.ICON_TEST_LOG ? createLogger({ level: "debug" }) : silentLogger;

/** Removes the suite's containers (nothing when useDockerYard's before hook failed). */
async function cleanupSuite(docker: ReturnType<typeof useDockerYard>): Promise<void> {
  let made;
  try {
    made = docker.get();
  } catch {
    return;
  }
  await cleanupYard(made.docker, made.yardId);
}

/** The value of a metric line (`name{labels} value`) in /metrics, or 0 when absent. */
async function metric(yard: Yard, line: string): Promise<number> {
  const text = await (await fetch(`${yard.httpUrl}/metrics`)).text();
  const found = text.split("\n").find((l) => l.startsWith(`${line} `));
  return found ? Number(found.slice(line.length + 1)) : 0;
}

/** Test-friendly lease timings: 5 s slots allowed, claims every 5 s, images kept. */
const LEASE: YardConfigInput["lease"] = {
  startLeadS: 2,
  earlyStartS: 2,
  claimIntervalS: 5,
  stopTimeoutS: 1,
  imageGraceS: 3600,
  minSlotS: 5,
};

describe("yard through a chain outage (JSON-RPC unreachable, then back)", function () {
  this.timeout(180_000);
  let m: TestMarket;
  let proxy: FlakyRpcProxyFake;
  let yard: Yard;
  let tenant: Tenant;
  let web: string;
  let addr: Multiaddr;
  // Registered before useDockerYard's hooks: the yard stops before the suite's containers are removed.
  after(async function () {
    this.timeout(60_000);
    await tenant?.stop();
    await yard?.stop();
    await proxy?.down();
    await cleanupSuite(docker);
    await m?.close();
  });
  const docker = useDockerYard("rpc");

  before(async function () {
    this.timeout(120_000);
    m = await startMarket();
    proxy = new FlakyRpcProxyFake(m.chain.url);
    await proxy.up();
    const { yardId, runtime } = docker.get();
    // No provider on the operator's wallet: the yard connects to chain.rpcUrl (the proxy) itself.
    const operator = new Wallet(m.keys[1]!);
    await m.admin.mint(operator.address, USD(1000));
    const input = yardConfig(m, yardId, { lease: LEASE });
    input.chain = { ...input.chain, rpcUrl: proxy.url };
    yard = await Yard.start({ config: parseYardConfig(input, `${m.dir}/${yardId}.json`), wallet: operator, log });
    expect(proxy.accepted).to.be.greaterThan(0);
    tenant = await Tenant.create(m, 2, 3, USD(100));
    web = "0x" + (await runtime.imageId(WEB_IMAGE))!.slice("sha256:".length);
    addr = yard.node.getMultiaddrs()[0]!;
  });

  it("serves on, ends a slot on time and refuses RFQs with a reason; once back it catches up and is paid exactly", async () => {
    const { runtime } = docker.get();
    const long = await tenant.lease(addr, web, { slotSeconds: 60 });
    const terminated = await tenant.lease(addr, web, { slotSeconds: 60 });
    const ending = await tenant.lease(addr, web, { slotSeconds: 10 });
    const all = [long, terminated, ending];
    await waitFor("every start confirmed", () => all.every((l) => yard.db.lease(l.leaseId)!.confirmed), 15_000);
    const containerOf = (l: { leaseId: bigint }) => yard.db.lease(l.leaseId)!.containerId!;
    const endingContainer = containerOf(ending);
    const terminatedContainer = containerOf(terminated);
    expect(Number(ending.offer.end)).to.be.greaterThan(Date.now() / 1000 + 2, "the short lease ends during the outage");

    await proxy.down();
    const downAt = Date.now();

    // An RFQ is refused at once, with a reason a person understands.
    const asked = Date.now();
    const refused = await expectRejection(
      tenant.open(addr, tenant.rfq(web, { slotSeconds: 30 })),
      LeaseRejectedError,
      /cannot reach the chain/,
    );
    expect(refused.reject).to.equal(RejectCode.INTERNAL);
    expect(Date.now() - asked).to.be.lessThan(3000);

    // The tenant terminates a lease on chain with its own client (not through the yard's proxy).
    const icon = await clientFor(m, 3);
    await icon.terminate(terminated.leaseId);
    const stoppedAt = (await m.admin.lease(terminated.leaseId)).stoppedAt;
    expect(stoppedAt).to.be.greaterThan(0n);

    // Everything keeps running and serving through the ingress.
    for (const l of all) expect(await httpGet(l.endpoint)).to.include("icon-web-ok");

    // The short lease's slot ends: its container goes on time, though the chain is unreachable.
    await waitFor("the ended lease's container to go", async () => !(await runtime.inspect(endingContainer)), 20_000);
    const lateS = Date.now() / 1000 - Number(ending.offer.end);
    expect(lateS).to.be.lessThan(4);
    expect(yard.db.lease(ending.leaseId)!.status).to.equal("ended");
    await waitFor(
      "the ingress of the ended lease to close",
      () =>
        httpGet(ending.endpoint, 500).then(
          () => false,
          () => true,
        ),
      5000,
    );
    // The termination cannot be known yet: that lease still runs; the others too.
    expect((await runtime.inspect(terminatedContainer))?.running).to.equal(true);
    expect(await httpGet(long.endpoint)).to.include("icon-web-ok");
    expect(yard.status().chain.up).to.equal(false);
    expect(await metric(yard, "icon_yard_chain_up")).to.equal(0);
    expect(yard.db.lease(long.leaseId)!.status).to.equal("deployed");

    await proxy.up();
    const upAt = Date.now();
    await waitFor(
      "the terminated lease's container to stop",
      async () => !(await runtime.inspect(terminatedContainer)),
      30_000,
    );
    const stoppedAfterMs = Date.now() - upAt;
    await waitFor(
      "the ended lease to be claimed to its end",
      async () => (await m.admin.lease(ending.leaseId)).claimedUntil === ending.offer.end,
      30_000,
    );
    await waitFor(
      "the terminated lease to be claimed to its stop",
      async () => (await m.admin.lease(terminated.leaseId)).claimedUntil === stoppedAt,
      30_000,
    );
    const caughtUpMs = Date.now() - upAt;
    log.info("chain outage", { outageMs: upAt - downAt, stoppedAfterMs, caughtUpMs, lateS });
    expect(await metric(yard, "icon_yard_chain_up")).to.equal(1);
    expect(yard.status().chain.up).to.equal(true);
    await waitFor("both leases to settle", () =>
      [ending, terminated].every((l) => yard.db.lease(l.leaseId)!.status === "settled"),
    );
    expect(await httpGet(long.endpoint)).to.include("icon-web-ok");
    // RFQs are answered again.
    const again = await tenant.open(addr, tenant.rfq(web, { slotSeconds: 30 }));
    await again.session.close();
    expect((await m.admin.solvency()).ok).to.equal(true);
  });
});

describe("yard through a Docker engine outage (socket unreachable, then back)", function () {
  this.timeout(180_000);
  let m: TestMarket;
  let fake: FlakyDockerSocketFake;
  let sockets: string;
  let yard: Yard;
  let tenant: Tenant;
  let web: string;
  let addr: Multiaddr;
  after(async function () {
    this.timeout(60_000);
    await tenant?.stop();
    await yard?.stop();
    await fake?.close();
    await cleanupSuite(docker);
    await m?.close();
    if (sockets) await rm(sockets, { recursive: true, force: true });
  });
  const docker = useDockerYard("dkr");

  before(async function () {
    this.timeout(120_000);
    m = await startMarket();
    sockets = await mkdtemp(path.join(tmpdir(), "icon-docker-fake-"));
    fake = new FlakyDockerSocketFake({
      path: path.join(sockets, "docker.sock"),
      target: DockerRuntime.defaultSocket(),
    });
    await fake.open();
    const { yardId, runtime: direct } = docker.get();
    const operator = new Wallet(m.keys[1]!, m.provider);
    await m.admin.mint(operator.address, USD(1000));
    const config = parseYardConfig(yardConfig(m, yardId, { lease: LEASE }), `${m.dir}/${yardId}.json`);
    const runtime = new DockerRuntime({ socketPath: fake.path, yardId });
    yard = await Yard.start({ config, wallet: operator, runtime, log });
    tenant = await Tenant.create(m, 2, 3, USD(100));
    web = "0x" + (await direct.imageId(WEB_IMAGE))!.slice("sha256:".length);
    addr = yard.node.getMultiaddrs()[0]!;
  });

  it("keeps answering with every lease in its state; once the engine is back it restarts what died meanwhile", async () => {
    const { docker: engine } = docker.get();
    const kept = await tenant.lease(addr, web, { slotSeconds: 60 });
    const victim = await tenant.lease(addr, web, { slotSeconds: 60 });
    // Its container is due to start while the engine is unreachable.
    const late = await tenant.lease(addr, web, {
      slotSeconds: 60,
      earliestStart: BigInt(Math.floor(Date.now() / 1000) + 9),
    });
    const all = [kept, victim, late];
    await waitFor("the running leases confirmed", () => yard.db.lease(victim.leaseId)!.confirmed, 15_000);
    expect(yard.db.lease(late.leaseId)!.containerId).to.equal(undefined);
    const victimContainer = yard.db.lease(victim.leaseId)!.containerId!;
    const restartedBefore = await metric(yard, 'icon_yard_reconcile_actions_total{action="restarted"}');

    await fake.close();
    const downAt = Date.now();
    // Killed behind the yard's back, on the real engine: the yard's event stream is cut, so it cannot see it.
    await engine.getContainer(victimContainer).kill();
    // The late lease's start makes the yard reach for the engine: it notices, and says so.
    await waitFor("the yard to notice the engine is gone", () => !yard.status().docker.up, 20_000);
    const health = await fetch(`${yard.httpUrl}/healthz`);
    expect(health.status).to.equal(503);
    expect(await health.text()).to.match(/docker unreachable/);
    const status = (await (await fetch(`${yard.httpUrl}/status`)).json()) as { leases: { status: string }[] };
    expect(status.leases.map((l) => l.status)).to.deep.equal(["deployed", "deployed", "deployed"]);
    expect(await httpGet(kept.endpoint)).to.include("icon-web-ok");
    // A few ticks more without the engine: nothing is marked failed or ended.
    await new Promise((r) => setTimeout(r, 2000));
    for (const l of all) {
      const row = yard.db.lease(l.leaseId)!;
      expect(row.status, `lease ${l.leaseId}`).to.equal("deployed");
      expect(row.restarts, `lease ${l.leaseId}`).to.equal(0);
      expect(row.stoppedAt).to.equal(undefined);
    }
    expect(await httpGet(kept.endpoint)).to.include("icon-web-ok");

    await fake.open();
    const upAt = Date.now();
    await waitFor(
      "the killed container to be restarted",
      async () => (await metric(yard, 'icon_yard_reconcile_actions_total{action="restarted"}')) > restartedBefore,
      20_000,
    );
    const body = await waitFor("the victim served again", () => httpGet(victim.endpoint, 1000).catch(() => undefined));
    expect(body).to.include("icon-web-ok");
    const restartedMs = Date.now() - upAt;
    expect(yard.db.lease(victim.leaseId)!.containerId).to.equal(victimContainer);
    expect(yard.db.lease(victim.leaseId)!.restarts).to.equal(1);
    expect(
      await waitFor("the late lease served", () => httpGet(late.endpoint, 1000).catch(() => undefined)),
    ).to.include("icon-web-ok");
    expect(await httpGet(kept.endpoint)).to.include("icon-web-ok");
    await waitFor("the yard to see the engine again", () => yard.status().docker.up, 10_000);
    expect((await fetch(`${yard.httpUrl}/healthz`)).status).to.equal(200);
    for (const l of all) expect(yard.db.lease(l.leaseId)!.status).to.equal("deployed");
    log.info("docker outage", { outageMs: upAt - downAt, restartedMs });
  });
});
