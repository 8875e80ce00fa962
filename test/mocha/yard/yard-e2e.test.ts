/**
 * The yard end to end: embedded chain (JSON-RPC), real libp2p on loopback, real Docker. A tenant negotiates a
 * lease, deploys the web image, reaches it through the yard's ingress, the yard claims, the slot ends, the
 * container is gone and every balance is right to the unit.
 */
import { expect } from "chai";
import { Wallet } from "ethers";
import {
  LeaseRejectedError,
  RejectCode,
  YardServiceError,
  readLogs,
  signLeaseAccess,
  type Offer,
} from "../../../protocol/index.ts";
import { parseYardConfig } from "../../../yard-node/config.ts";
import { createLogger, silentLogger } from "../../../protocol/log.ts";
import { Yard } from "../../../yard-node/yard.ts";
import { DockerRuntime } from "../../../yard-node/docker.ts";
import { useDockerYard, waitFor, WEB_IMAGE } from "../../helpers/docker.ts";
import { Tenant, USD, httpGet, startMarket, yardConfig, type TestMarket } from "../../../scripts/lib/testbed.ts";
import { expectRejection } from "../../helpers/yard.ts";

const log = process.env.ICON_TEST_LOG ? createLogger({ level: "debug" }) : silentLogger;

describe("yard end to end (chain + libp2p + Docker)", function () {
  this.timeout(180_000);
  after(async () => {
    await tenant?.stop();
    await yard?.stop();
    await m?.close();
  });
  // (registered before useDockerYard: mocha runs after-hooks in order, so the yards stop before the
  // engine cleanup, and a yard still running cannot recreate containers behind it)
  const docker = useDockerYard("e2e");
  let m: TestMarket;
  let yard: Yard;
  let tenant: Tenant;
  let web: string;
  let operator: Wallet;

  before(async () => {
    m = await startMarket();
    const { yardId } = docker.get();
    operator = new Wallet(m.keys[1]!, m.provider);
    await m.admin.mint(operator.address, USD(1000));
    const config = parseYardConfig(
      yardConfig(m, yardId, {
        lease: {
          startLeadS: 2,
          earlyStartS: 2,
          claimIntervalS: 5,
          stopTimeoutS: 1,
          imageGraceS: 3600,
          maxRestarts: 1,
          minSlotS: 5,
        },
      }),
      `${m.dir}/${yardId}.json`,
    );
    yard = await Yard.start({ config, wallet: operator, log });
    tenant = await Tenant.create(m, 2, 3, USD(100));
    const id = await docker.get().runtime.imageId(WEB_IMAGE);
    web = "0x" + id!.slice("sha256:".length);
  });

  it("lists itself on chain (peer id bound, staked) and prints zone records", async () => {
    const st = await m.admin.providerStatus(operator.address);
    expect(st.listing?.domain).to.equal("test.icon");
    expect(st.active).to.equal(true);
    expect(yard.status().zone.join("\n")).to.include(`icon-peer=${yard.node.peerId.toString()}`);
  });

  it("RFQ → lease → container running with the leased limits → claims → slot end → container gone, balances exact", async () => {
    const before = await m.admin.account(tenant.account);
    const { leaseId, offer, endpoint } = await tenant.lease(yard.node.getMultiaddrs()[0]!, web, { slotSeconds: 12 });
    expect(await httpGet(endpoint)).to.include("icon-web-ok");
    const row = yard.db.lease(leaseId)!;
    const info = (await docker.get().runtime.inspect(row.containerId!))!;
    expect(info.running).to.equal(true);
    expect(info.leaseId).to.equal(leaseId);
    expect(info.limits.nanoCpus).to.equal(offer.cpuMillis * 1e6);
    expect(info.limits.memoryBytes).to.equal(offer.memoryMiB * 1024 * 1024);
    expect(info.limits.memorySwapBytes).to.equal(info.limits.memoryBytes);
    expect(info.limits.pidsLimit).to.equal(64);
    expect(info.limits.capDrop).to.deep.equal(["ALL"]);
    expect(info.limits.securityOpt).to.include("no-new-privileges");
    expect(info.limits.privileged).to.equal(false);
    expect(info.limits.publishedPorts).to.equal(0);
    expect(info.limits.networkMode).to.not.equal("host");
    // Paid while it runs: a periodic claim lands before the end.
    await waitFor(
      "a periodic claim",
      () => yard.db.lease(leaseId)!.confirmed && yard.db.lease(leaseId)!.lastClaimAt > Number(offer.start),
      15_000,
    );
    // Slot end: the container goes, the lease settles.
    await waitFor("the lease to settle", () => yard.db.lease(leaseId)!.status === "settled", 30_000);
    expect(await docker.get().runtime.inspect(row.containerId!)).to.equal(undefined);
    await waitFor(
      "the ingress to close",
      async () =>
        httpGet(endpoint, 500).then(
          () => false,
          () => true,
        ),
      5000,
    );
    const slot = offer.end - offer.start;
    const cost = offer.pricePerSecond * slot;
    expect((await m.admin.account(tenant.account)).balance).to.equal(before.balance - cost);
    const onChain = await m.admin.lease(leaseId);
    expect(onChain.claimedUntil).to.equal(offer.end);
    expect(await m.admin.market.getFunction("earningsOf")(operator.address)).to.equal(cost);
    expect((await m.admin.solvency()).ok).to.equal(true);
    // Every transaction of the operator's key is the yard's (listing, stake, openLease, confirmStart, claims): what
    // /status and /metrics say it spent on gas is theirs, to the wei.
    // (A transaction the yard sent is counted when the yard has read its receipt: the sum is compared once the yard
    // has caught up with the chain, not at the instant the last one was mined.)
    const operatorGas = async (): Promise<bigint> => {
      let sum = 0n;
      for (let b = 0; b <= (await m.provider.getBlockNumber()); b++)
        for (const tx of (await m.provider.getBlock(b, true))!.prefetchedTransactions)
          if (tx.from === operator.address) {
            const r = (await m.provider.getTransactionReceipt(tx.hash))!;
            sum += r.gasUsed * r.gasPrice;
          }
      return sum;
    };
    let spent = await operatorGas();
    await waitFor(
      "the yard's gas count to reach the chain's",
      async () => yard.status().gasSpentWei.total === (spent = await operatorGas()).toString(),
      20_000,
    ).catch(() => undefined);
    expect(yard.status().gasSpentWei.total).to.equal(spent.toString());
    const lines = [...yard.metrics.render().matchAll(/^icon_yard_gas_spent_wei_total\{kind="(\w+)"\} (\d+)$/gm)];
    expect(lines.reduce((sum, l) => sum + BigInt(l[2]!), 0n)).to.equal(spent);
    expect(lines.map((l) => l[1])).to.include.members(["openLease", "confirmStart", "register"]);
  });

  it("quotes by the operator's policy and refuses with reasons: price, budget, slot", async () => {
    const tooCheap = tenant.open(yard.node.getMultiaddrs()[0]!, tenant.rfq(web, { maxPricePerSecond: 5n }));
    await expectRejection(tooCheap, LeaseRejectedError, /lowest price/);
    const poor = tenant.open(yard.node.getMultiaddrs()[0]!, tenant.rfq(web, { slotSeconds: 1_000_000 }));
    await expectRejection(poor, LeaseRejectedError, /slots here last/);
    const broke = tenant.open(
      yard.node.getMultiaddrs()[0]!,
      tenant.rfq(web, { slotSeconds: 600_000, cpuMillis: 2000, maxPricePerSecond: 10_000n }),
    );
    await expectRejection(broke, LeaseRejectedError, /holds .* but the lease costs/);
    const metrics = yard.metrics.render();
    expect(metrics).to.match(/icon_yard_rejects_total\{reason="price"\} 1/);
    expect(metrics).to.match(/icon_yard_rejects_total\{reason="budget"\} 1/);
  });

  it("terminated on chain → the follower stops the container; the refund and the yard's pay are exact", async () => {
    const { leaseId, offer } = await tenant.lease(yard.node.getMultiaddrs()[0]!, web, { slotSeconds: 60 });
    await waitFor("start confirmed", () => yard.db.lease(leaseId)!.confirmed, 10_000);
    const icon = await (await import("../../../scripts/lib/testbed.ts")).clientFor(m, 3);
    const before = (await m.admin.account(tenant.account)).balance;
    const refund = await icon.terminate(leaseId);
    const rec = await m.admin.lease(leaseId);
    expect(refund).to.equal(offer.pricePerSecond * (offer.end - rec.stoppedAt));
    expect((await m.admin.account(tenant.account)).balance).to.equal(before + refund);
    await waitFor("the container to stop", () => yard.db.lease(leaseId)!.status === "settled", 15_000);
    expect((await docker.get().runtime.list()).filter((c) => c.leaseId === leaseId)).to.have.length(0);
    const paid = (await m.admin.lease(leaseId)).claimedUntil;
    expect(paid).to.equal(rec.stoppedAt);
    expect((await m.admin.solvency()).ok).to.equal(true);
  });

  it("lets the lease holder read its container's logs over libp2p, and no one else", async () => {
    const { leaseId } = await tenant.lease(yard.node.getMultiaddrs()[0]!, web, { slotSeconds: 30 });
    const access = await signLeaseAccess(tenant.icon, tenant.owner.domain(), leaseId, tenant.node.peerId);
    const r = await readLogs(tenant.node, yard.node.getMultiaddrs()[0]!, { access, tail: 50 });
    expect(r.state).to.equal("running");
    const stranger = await signLeaseAccess(new Wallet(m.keys[9]!), tenant.owner.domain(), leaseId, tenant.node.peerId);
    await expectRejection(
      readLogs(tenant.node, yard.node.getMultiaddrs()[0]!, { access: stranger }),
      YardServiceError,
      /does not hold lease/,
    );
    // Signed for another peer: refused (a captured signature is useless to others).
    const other = await signLeaseAccess(tenant.icon, tenant.owner.domain(), leaseId, yard.node.peerId);
    await expectRejection(
      readLogs(tenant.node, yard.node.getMultiaddrs()[0]!, { access: other }),
      YardServiceError,
      /DENIED|does not hold|malformed/,
    );
  });

  it("a container that allocates past its memory limit is killed and reported; after maxRestarts the lease is marked failed", async () => {
    const { leaseId } = await tenant.lease(
      yard.node.getMultiaddrs()[0]!,
      web,
      { slotSeconds: 60, memoryMiB: 16 },
      { command: ["sh", "-c", "x=aaaaaaaaaaaaaaaa; while :; do x=$x$x; done"], ports: [] },
    );
    await waitFor("the lease to be marked failed", () => yard.db.lease(leaseId)!.status === "failed", 30_000);
    const row = yard.db.lease(leaseId)!;
    expect(row.restarts).to.equal(1);
    expect(row.note).to.match(/out of memory/);
    const access = await signLeaseAccess(tenant.icon, tenant.owner.domain(), leaseId, tenant.node.peerId);
    const r = await readLogs(tenant.node, yard.node.getMultiaddrs()[0]!, { access });
    expect(r.oomKilled).to.equal(true);
    expect(r.exitCode).to.equal(137);
    expect(yard.metrics.render()).to.match(/icon_yard_container_exits_total\{reason="oom"\} [1-9]/);
  });

  it("honours a renewal: the next lease starts at the old one's end and the container carries over", async () => {
    const a = await tenant.lease(yard.node.getMultiaddrs()[0]!, web, { slotSeconds: 10 });
    const cid = yard.db.lease(a.leaseId)!.containerId!;
    const b = await tenant.lease(yard.node.getMultiaddrs()[0]!, web, { slotSeconds: 10, renewsLeaseId: a.leaseId });
    expect(b.offer.start).to.equal(a.offer.end);
    expect(b.endpoint).to.equal(a.endpoint);
    expect(yard.db.lease(b.leaseId)!.containerId).to.equal(cid);
    await waitFor("the first lease to settle", () => yard.db.lease(a.leaseId)!.status === "settled", 20_000);
    expect((await docker.get().runtime.inspect(cid))?.running).to.equal(true);
    expect(await httpGet(b.endpoint)).to.include("icon-web-ok");
    await waitFor("the renewal to settle", () => yard.db.lease(b.leaseId)!.status === "settled", 20_000);
    expect(await docker.get().runtime.inspect(cid)).to.equal(undefined);
  });
});

describe("yard capacity under concurrent RFQs", function () {
  this.timeout(120_000);
  after(async () => {
    for (const t of tenants ?? []) await t.stop();
    await yard?.stop();
    await m?.close();
  });
  // (registered before useDockerYard: mocha runs after-hooks in order, so the yards stop before the
  // engine cleanup, and a yard still running cannot recreate containers behind it)
  const docker = useDockerYard("cap");
  let m: TestMarket;
  let yard: Yard;
  let tenants: Tenant[];
  let web: string;

  before(async () => {
    m = await startMarket();
    const operator = new Wallet(m.keys[1]!, m.provider);
    await m.admin.mint(operator.address, USD(1000));
    const { yardId } = docker.get();
    const c = yardConfig(m, yardId, { capacity: { cpuMillis: 1000, memoryMiB: 1024 } });
    yard = await Yard.start({ config: parseYardConfig(c, "cap.json"), wallet: operator, log });
    tenants = [];
    for (let i = 0; i < 8; i++) tenants.push(await Tenant.create(m, 4 + i, 12 + (i % 8), USD(10)));
    web =
      "0x" +
      (await new DockerRuntime({ socketPath: DockerRuntime.defaultSocket(), yardId }).imageId(WEB_IMAGE))!.slice(7);
  });

  it("8 tenants ask at once for the last 1000 mCPU: exactly one gets a quote and opens, the others hear NO_CAPACITY", async () => {
    const addr = yard.node.getMultiaddrs()[0]!;
    const results = await Promise.allSettled(
      tenants.map((t) => t.open(addr, t.rfq(web, { cpuMillis: 1000, memoryMiB: 64 }))),
    );
    const won = results.filter((r) => r.status === "fulfilled");
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
    expect(won).to.have.length(1);
    for (const r of lost) {
      expect(r.reason).to.be.instanceOf(LeaseRejectedError);
      expect((r.reason as LeaseRejectedError).reject).to.equal(RejectCode.NO_CAPACITY);
      expect((r.reason as Error).message).to.match(/only 0 mCPU/);
    }
    const { leaseId, offer } = (won[0] as PromiseFulfilledResult<{ leaseId: bigint; offer: Offer }>).value;
    expect((await m.admin.lease(leaseId)).state).to.be.oneOf(["Scheduled", "Running"]);
    expect(yard.ledger.freeDuring(Number(offer.start), Number(offer.end)).cpuMillis).to.equal(0);
  });
});

describe("yard follows chain events with a confirmation depth", function () {
  this.timeout(120_000);
  after(async () => {
    await tenant?.stop();
    await yard?.stop();
    await m?.close();
  });
  // (registered before useDockerYard: mocha runs after-hooks in order, so the yards stop before the
  // engine cleanup, and a yard still running cannot recreate containers behind it)
  const docker = useDockerYard("depth");
  let m: TestMarket;
  let yard: Yard;
  let tenant: Tenant;

  before(async () => {
    m = await startMarket();
    const operator = new Wallet(m.keys[1]!, m.provider);
    await m.admin.mint(operator.address, USD(1000));
    const c = yardConfig(m, docker.get().yardId, {
      chain: { rpcUrl: m.chain.url, deployment: m.deploymentFile, confirmations: 3, pollMs: 100 },
    });
    yard = await Yard.start({ config: parseYardConfig(c, "depth.json"), wallet: operator, log });
    tenant = await Tenant.create(m, 2, 3, USD(100));
  });

  it("acts on a termination only once it is buried under 3 blocks", async () => {
    const web = "0x" + (await docker.get().runtime.imageId(WEB_IMAGE))!.slice(7);
    const { leaseId } = await tenant.lease(yard.node.getMultiaddrs()[0]!, web, { slotSeconds: 60 });
    await waitFor("start confirmed", () => yard.db.lease(leaseId)!.confirmed, 10_000);
    const icon = await (await import("../../../scripts/lib/testbed.ts")).clientFor(m, 3);
    await icon.terminate(leaseId);
    // Two more blocks: the termination has 2 confirmations, fewer than the yard's 3 — it keeps serving.
    await m.provider.send("evm_mine", []);
    await m.provider.send("evm_mine", []);
    await new Promise((r) => setTimeout(r, 1500));
    expect(yard.db.lease(leaseId)!.status).to.equal("deployed");
    expect(yard.db.lease(leaseId)!.stoppedAt).to.equal(undefined);
    // The third block buries it: the yard stops the container.
    await m.provider.send("evm_mine", []);
    await waitFor("the lease to end", () => yard.db.lease(leaseId)!.status !== "deployed", 10_000);
    expect((await docker.get().runtime.list({ leaseId })).length).to.equal(0);
  });
});
