/**
 * Crash safety of the yard as an operator runs it: `icon yard start` in its own process, `kill -9` with a dozen
 * leases active, things change while it is dead (leases expire, a container dies, a stray container appears),
 * then a restart: every active lease is served again at the same endpoint, expired leases are cleaned up and
 * paid, no container is left without a lease and no lease without its container. SIGTERM stops it cleanly.
 * And the window a kill can hit between a mined confirmStart and the row that records it: the restarted yard asks
 * the chain and is paid for the slot it served.
 */
import { expect } from "chai";
import { readFileSync } from "node:fs";
import path from "node:path";
import { Wallet } from "ethers";
import { multiaddr } from "@multiformats/multiaddr";
import { LEASE_FLAGS } from "../../../protocol/index.ts";
import { parseYardConfig } from "../../../yard-node/config.ts";
import { YardDb } from "../../../yard-node/db.ts";
import { DockerRuntime } from "../../../yard-node/docker.ts";
import { silentLogger } from "../../../protocol/log.ts";
import { Yard } from "../../../yard-node/yard.ts";
import { BUSYBOX_IMAGE, WEB_IMAGE, useDockerYard, waitFor } from "../../helpers/docker.ts";
import {
  Tenant,
  USD,
  httpGet,
  startMarket,
  startYardProcess,
  type YardProcess,
  writeYardConfig,
  yardConfig,
  type TestMarket,
} from "../../../scripts/lib/testbed.ts";

type Leased = Awaited<ReturnType<Tenant["lease"]>>;

describe("yard crash safety (kill -9 with active leases, restart)", function () {
  this.timeout(240_000);
  after(async () => {
    yard?.child.kill("SIGKILL");
    await tenant?.stop();
    await m?.close();
  });
  // (registered before useDockerYard: mocha runs after-hooks in order, so the yards stop before the
  // engine cleanup, and a yard still running cannot recreate containers behind it)
  const docker = useDockerYard("crash");
  let m: TestMarket;
  let tenant: Tenant;
  let yard: YardProcess | undefined;

  before(async () => {
    m = await startMarket();
    tenant = await Tenant.create(m, 2, 3, USD(100));
  });

  it("serves every active lease again, cleans up expired ones, leaves nothing orphaned, claims everything", async () => {
    const { yardId, runtime } = docker.get();
    const operator = new Wallet(m.keys[1]!, m.provider);
    await m.admin.mint(operator.address, USD(1000));
    const file = await writeYardConfig(m, yardConfig(m, yardId));
    yard = await startYardProcess(file, m.keys[1]!);
    // Started as an operator starts it: the launcher's V8 flags reach the yard's Node (scripts/icon).
    const argv = readFileSync(`/proc/${yard.child.pid}/cmdline`, "utf8").split("\0");
    expect(argv).to.include.members(["--max-semi-space-size=1", "--heap-growing-percent=100"]);
    const web = "0x" + (await runtime.imageId(WEB_IMAGE))!.slice(7);
    const addr = multiaddr(yard.addr);

    // 10 leases that outlive the crash, 2 that expire while the yard is dead.
    const long: Leased[] = [];
    for (let i = 0; i < 10; i++) long.push(await tenant.lease(addr, web, { slotSeconds: 120, cpuMillis: 100 }));
    const short: Leased[] = [];
    for (let i = 0; i < 2; i++) short.push(await tenant.lease(addr, web, { slotSeconds: 12, cpuMillis: 100 }));
    for (const l of [...long, ...short]) expect(await httpGet(l.endpoint)).to.include("icon-web-ok");
    // Let the yard confirm the starts on chain (so the short leases owe it money).
    await waitFor(
      "every start confirmed",
      async () => {
        for (const l of [...long, ...short]) if (!((await m.admin.lease(l.leaseId)).flags & 1)) return false;
        return true;
      },
      20_000,
    );

    yard.child.kill("SIGKILL");
    expect(await yard.exited).to.equal(null);

    // While it is dead: a container dies, a stray container of this yard appears, the short leases end.
    const before = await runtime.list();
    expect(before).to.have.length(12);
    const victim = before.find((c) => c.leaseId === long[0]!.leaseId)!;
    await runtime.stop(victim.id, 0);
    const stray = await runtime.create({
      leaseId: 999_999n,
      image: BUSYBOX_IMAGE,
      command: ["sleep", "600"],
      ports: [],
      limits: { cpuMillis: 100, memoryMiB: 16, pids: 16 },
      stopTimeoutS: 0,
    });
    await runtime.start(stray.id);
    const lastEnd = Math.max(...short.map((s) => Number(s.offer.end)));
    await waitFor(
      "the short leases to end",
      async () => (await m.provider.getBlock("latest"))!.timestamp > lastEnd || Date.now() / 1000 > lastEnd + 1,
      30_000,
    );

    yard = await startYardProcess(file, m.keys[1]!);

    // Every active lease is served at the same endpoint.
    for (const l of long) {
      const body = await waitFor(
        `lease ${l.leaseId} served`,
        () => httpGet(l.endpoint, 1000).catch(() => undefined),
        20_000,
      );
      expect(body).to.include("icon-web-ok");
    }
    // No container without a lease, no lease without a container.
    await waitFor(
      "containers to match the active leases",
      async () => {
        const ids = (await runtime.list()).map((c) => c.leaseId).sort((a, b) => Number(a - b));
        return JSON.stringify(ids.map(String)) === JSON.stringify(long.map((l) => String(l.leaseId)));
      },
      20_000,
    );
    const containers = await runtime.list();
    expect(containers.every((c) => c.running)).to.equal(true);
    // Expired leases were paid in full.
    for (const s of short) {
      await waitFor(
        `lease ${s.leaseId} claimed to its end`,
        async () => (await m.admin.lease(s.leaseId)).claimedUntil === s.offer.end,
        20_000,
      );
    }
    const metrics = await fetch(`${yard.http}/metrics`)
      .then((r) => r.text())
      .catch((e: Error) => {
        throw new Error(`GET /metrics failed (${e.message}); the yard said:\n${yard!.err.join("")}`, { cause: e });
      });
    expect(metrics).to.match(/icon_yard_reconcile_actions_total\{action="removed_orphan"\} 1/);
    expect(metrics).to.match(/icon_yard_reconcile_actions_total\{action="removed_expired"\} 2/);
    expect(metrics).to.match(/icon_yard_reconcile_actions_total\{action="restarted"\} 1/);
    expect(metrics).to.match(/icon_yard_leases_active 10/);

    // Graceful stop: exit code 0; the containers stay for the next start.
    yard.child.kill("SIGTERM");
    expect(await yard.exited).to.equal(0);
    expect((await runtime.list()).filter((c) => c.running)).to.have.length(10);
    yard = undefined;
    expect((await new DockerRuntime({ socketPath: DockerRuntime.defaultSocket(), yardId }).list()).length).to.equal(10);
    expect((await m.admin.solvency()).ok).to.equal(true);
  });
});

describe("yard database behind the chain (killed after confirmStart was mined, before it was recorded)", function () {
  this.timeout(120_000);
  after(async () => {
    await yard?.stop();
    await tenant?.stop();
    await m?.close();
  });
  const docker = useDockerYard("lag");
  let m: TestMarket;
  let tenant: Tenant;
  let yard: Yard | undefined;

  before(async () => {
    m = await startMarket();
    tenant = await Tenant.create(m, 2, 3, USD(100));
  });

  it("claims the served slot to its end: the chain, not the yard's database, says whether the start was confirmed", async () => {
    const { yardId, runtime } = docker.get();
    const wallet = new Wallet(m.keys[1]!, m.provider);
    await m.admin.mint(wallet.address, USD(1000));
    // No interim claim: the only payment is the final one after the restart.
    const lease = { startLeadS: 2, earlyStartS: 2, claimIntervalS: 3600, stopTimeoutS: 1, minSlotS: 5 };
    const config = parseYardConfig(yardConfig(m, yardId, { lease }), `${yardId}.json`);
    yard = await Yard.start({ config, wallet, log: silentLogger });
    const web = "0x" + (await runtime.imageId(WEB_IMAGE))!.slice(7);
    // A slot long enough that the yard is stopped well inside it, even on a loaded machine.
    const l = await tenant.lease(yard.node.getMultiaddrs()[0]!, web, { slotSeconds: 25, cpuMillis: 100 });
    expect(await httpGet(l.endpoint)).to.include("icon-web-ok");
    await waitFor(
      "the start confirmed on chain",
      async () => ((await m.admin.lease(l.leaseId)).flags & LEASE_FLAGS.confirmed) !== 0,
      20_000,
    );
    await yard.stop();
    yard = undefined;
    // The window a kill -9 can hit: the confirmStart transaction is mined, the row does not say so.
    const db = new YardDb(path.join(config.dataDir, "yard.db"));
    const row = db.lease(l.leaseId)!;
    expect(row.confirmed).to.equal(true);
    expect(row.status, "the yard was stopped inside the slot (nothing claimed yet)").to.equal("deployed");
    expect((await m.admin.lease(l.leaseId)).claimedUntil < l.offer.end).to.equal(true);
    db.update(l.leaseId, { confirmed: false });
    db.close();
    await waitFor(
      "the slot to end",
      async () =>
        (await m.provider.getBlock("latest"))!.timestamp > Number(l.offer.end) ||
        Date.now() / 1000 > Number(l.offer.end) + 1,
      45_000,
    );

    yard = await Yard.start({ config, wallet, log: silentLogger });
    await waitFor(
      "the lease claimed to its end",
      async () => (await m.admin.lease(l.leaseId)).claimedUntil === l.offer.end,
      20_000,
    );
    await waitFor(
      "the lease settled in the yard's database",
      async () => yard!.db.lease(l.leaseId)!.status === "settled",
      10_000,
    );
    // The yard counts a claim once its follower has read the LeaseClaimed event in a buried block (reorg.test.ts),
    // a pass after the settlement.
    const paid = (l.offer.end - l.offer.start) * l.offer.pricePerSecond;
    expect(paid > 0n).to.equal(true);
    await waitFor("the claim counted", () => BigInt(yard!.status().earningsClaimed) >= paid, 10_000);
    expect(BigInt(yard.status().earningsClaimed)).to.equal(paid);
    expect((await m.admin.solvency()).ok).to.equal(true);
  });
});
