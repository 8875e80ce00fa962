/**
 * The agent through a reorganisation shallower than its `chainConfirmations`: a termination of its placement's
 * lease seen, then reorganised away (test/helpers/reorg.ts), must not make its recovery give the placement up and
 * place again (a second lease, paid for, while the first runs on); a termination buried under the depth does.
 * An opening the reorganisation dropped and the chain included again later under another id (another lease of the
 * same account took its id first) is adopted under the new id, bound to the placement's account, yard and slot — not
 * the lease that holds the old id, and not a second lease bought: exactly one paid.
 * Recovery runs in this process on the embedded chain with MarketClient as the ICON; what it would start or save
 * is recorded (the rest of the agent is not needed to decide this).
 */
import { expect } from "chai";
import { Transaction } from "ethers";
import { recoveryOver } from "../../helpers/recovery.ts";
import { liveBuried } from "../../../icon-agent/leases.ts";
import { defaultChainConfirmations } from "../../../icon-agent/config.ts";
import type { Placement } from "../../../icon-agent/state.ts";
import { markReorg, reorg } from "../../helpers/reorg.ts";
import {
  network,
  deployMarket,
  listProvider,
  marketWithApp,
  marketClient,
  createApp,
  makeOffer,
  openLease,
  signAcceptance,
  signOffer,
  chainNow,
  USD,
} from "../../helpers/market.ts";

const conn = await network.create();
const DEPTH = 3;

describe("agent recovery through a reorganisation shallower than its confirmation depth", function () {
  this.timeout(60_000);

  /** A running lease of `m.icon`'s account, the agent's placement, and a Recovery over it with `confirmations`. */
  async function setUp(confirmations: number) {
    const { m, account } = await marketWithApp(conn);
    const offer = await makeOffer(m, account, { pricePerSecond: 100n });
    const id = await openLease(m, offer);
    await conn.networkHelpers.time.increaseTo(offer.start + 1n);
    await m.market.connect(m.provider).confirmStart(id);
    const client = await marketClient(m, m.icon);
    const placement = {
      leaseId: id,
      leaseStart: offer.start,
      end: offer.end,
      pricePerSecond: offer.pricePerSecond,
      yard: { operator: m.provider.address },
    };
    const seed = { account, root: account, placement: placement as unknown as Placement, children: {}, replicas: 0 };
    const said: string[] = [];
    const recovery = recoveryOver({ seed, client, said, confirmations });
    return { m, id, seed, said, recovery, client };
  }

  it("keeps its placement while the lease's termination is shallower than the depth, and the reorganisation drops it", async () => {
    const { m, id, seed, said, recovery } = await setUp(DEPTH);
    const point = await markReorg(m.ethers.provider);
    await (await m.market.connect(m.icon).terminate(id)).wait();
    await conn.networkHelpers.mine(1);
    expect(await m.market.state(id)).to.equal(4n); // Ended, 2 blocks deep
    await recovery.recover();
    expect(seed.placement, `the placement was given up: ${said.join("; ")}`).to.not.equal(undefined);
    expect(seed.placement!.leaseId).to.equal(id);
    const r = await reorg(m.ethers.provider, point, {
      drop: (tx) => m.market.interface.parseTransaction({ data: tx.data })?.name === "terminate",
      mining: { auto: true },
    });
    expect([r.depth, r.dropped.length]).to.deep.equal([2, 1]);
    expect(await m.market.state(id)).to.equal(2n); // Running: the termination is gone
    await recovery.recover();
    expect(seed.placement?.leaseId).to.equal(id);
    expect(said.filter((s) => s.startsWith("placed"))).to.deep.equal([]);
  });

  it("places again once the termination is buried under the depth", async () => {
    const { m, id, seed, said, recovery, client } = await setUp(DEPTH);
    await (await m.market.connect(m.icon).terminate(id)).wait();
    await conn.networkHelpers.mine(DEPTH - 1);
    await recovery.recover();
    expect(seed.placement, `2 blocks deep, yet given up: ${said.join("; ")}`).to.not.equal(undefined);
    await conn.networkHelpers.mine(1);
    expect(await liveBuried(client, id, DEPTH)).to.equal("gone");
    await recovery.recover();
    expect(seed.placement).to.equal(undefined);
    expect(said.some((s) => s.startsWith(`placed: lease ${id} is Ended on chain`))).to.equal(true);
  });

  it("adopts its lease re-keyed by a reorganisation under the new id, not the lease that took the old id: one lease paid, balances exact", async () => {
    const m = await deployMarket(conn);
    await listProvider(m, m.provider);
    await listProvider(m, m.provider2);
    const account = await createApp(m, USD(1_000));
    const before = (await m.market.account(account)).balance as bigint;
    const t = await chainNow(m);
    const offer = await makeOffer(m, account, { pricePerSecond: 100n, start: t + 120n, end: t + 720n });
    const point = await markReorg(m.ethers.provider);
    const id = await openLease(m, offer);
    await conn.networkHelpers.mine(1);
    const opening = (await m.ethers.provider.getBlock(point.block + 1, true))!.prefetchedTransactions[0]!;
    const r = await reorg(m.ethers.provider, point, { drop: (tx) => tx.hash === opening.hash, mining: { auto: true } });
    expect([r.depth, r.dropped.length]).to.deep.equal([2, 1]);
    // The new chain: another lease of the same account (at another yard) takes the id, then the original lands.
    const o2 = await makeOffer(m, account, { provider: m.provider2.address, pricePerSecond: 1n, start: t + 900n });
    o2.end = o2.start + 10n;
    // (sent by another account than the dropped opening's sender: its nonce is the one the original holds)
    const ps = await signOffer(m, o2, m.provider2);
    await (await m.market.connect(m.owner).openLease(o2, ps, await signAcceptance(m, o2))).wait();
    expect(await m.market.leaseCount()).to.equal(id);
    await m.ethers.provider.send("eth_sendRawTransaction", [Transaction.from(opening).serialized]);
    const moved = id + 1n;
    expect(await m.market.leaseCount()).to.equal(moved);
    const client = await marketClient(m, m.icon);
    expect((await client.lease(moved)).provider).to.equal(m.provider.address);
    const placement = {
      leaseId: id,
      leaseStart: offer.start,
      end: offer.end,
      pricePerSecond: offer.pricePerSecond,
      yard: { operator: m.provider.address },
    };
    const seed = { account, root: account, placement: placement as unknown as Placement, children: {}, replicas: 0 };
    const said: string[] = [];
    const recovery = recoveryOver({ seed, client, said, confirmations: DEPTH });
    // Opened in the newest blocks: not taken yet, and not ended either (the placement is kept as it is).
    await recovery.recover();
    expect(seed.placement?.leaseId, said.join("; ")).to.equal(id);
    expect((await client.lease(moved)).state).to.equal("Scheduled");
    // Buried now: the running agent's periodic sweep adopts it (no restart needed; yard/reorg.test adopts at a start).
    await conn.networkHelpers.mine(DEPTH);
    await recovery.sweep();
    expect(seed.placement?.leaseId, `not adopted: ${said.join("; ")}`).to.equal(moved);
    expect(said.filter((s) => s.startsWith("placed"))).to.deep.equal([]);
    expect(said.some((s) => s.includes(`included again as lease ${moved}`))).to.equal(true);
    // The lease under the old id is not the placement's: unknown to the state, the sweep ends it (full refund).
    expect((await client.lease(id)).state).to.be.oneOf(["Ended", "Settled"]);
    const live: bigint[] = [];
    for (const l of await client.leasesOf(account))
      if (["Running", "Scheduled"].includes((await client.lease(l)).state)) live.push(l);
    expect(live).to.deep.equal([moved]);
    const cost = offer.pricePerSecond * (offer.end - offer.start);
    expect((await m.market.account(account)).balance).to.equal(before - cost);
  });

  it("tells a lease live at the head and below it (go), at neither (give up), at one only (wait)", async () => {
    const { m, id, client } = await setUp(DEPTH);
    const account = await createApp(m, USD(1_000));
    const fresh = await openLease(m, await makeOffer(m, account, { pricePerSecond: 100n }));
    expect(await liveBuried(client, fresh, DEPTH), "opened in the newest block").to.equal("unsure");
    await conn.networkHelpers.mine(DEPTH);
    expect(await liveBuried(client, fresh, DEPTH)).to.equal("live");
    await (await m.market.connect(m.icon).terminate(id)).wait();
    expect(await liveBuried(client, id, DEPTH), "ended in the newest block").to.equal("unsure");
    await conn.networkHelpers.mine(DEPTH);
    expect(await liveBuried(client, id, DEPTH)).to.equal("gone");
    expect(await liveBuried(client, 999n, DEPTH), "never opened").to.equal("gone");
  });

  it("takes 2 blocks by default, 0 on the embedded development chain", () => {
    expect([defaultChainConfirmations(8453), defaultChainConfirmations(31337)]).to.deep.equal([2, 0]);
  });
});
