/**
 * The agent through a reorganisation shallower than its `chainConfirmations`: a termination of its placement's
 * lease seen, then reorganised away (test/helpers/reorg.ts), must not make its recovery give the placement up and
 * place again (a second lease, paid for, while the first runs on); a termination buried under the depth does.
 * Recovery runs in this process on the embedded chain with MarketClient as the ICON; what it would start or save
 * is recorded (the rest of the agent is not needed to decide this).
 */
import { expect } from "chai";
import { Wallet } from "ethers";
import { Recovery, type RecoveryComponents } from "../../../icon-agent/recovery.ts";
import { liveBuried } from "../../../icon-agent/leases.ts";
import { defaultChainConfirmations } from "../../../icon-agent/config.ts";
import type { AgentSeed, Placement } from "../../../icon-agent/state.ts";
import { markReorg, reorg } from "../../helpers/reorg.ts";
import { network, marketWithApp, marketClient, createApp, makeOffer, openLease, USD } from "../../helpers/market.ts";

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
    const placement = { leaseId: id, leaseStart: offer.start, end: offer.end, yard: { operator: m.provider.address } };
    const seed = { account, root: account, placement: placement as unknown as Placement, children: {}, replicas: 0 };
    const said: string[] = [];
    const recovery = new Recovery({
      dir: "/nonexistent-icon-reorg-test",
      seed: seed as unknown as AgentSeed,
      client,
      wallet: Wallet.createRandom(),
      childKey: () => Wallet.createRandom(),
      clientFor: () => Promise.reject(new Error("no replica in this test")),
      spawn: () => Promise.reject(new Error("no replica in this test")),
      save: async () => undefined,
      emit: (kind: string, text: string) => void said.push(`${kind}: ${text}`),
      moves: { finishMove: async () => undefined, finishTermination: async () => undefined },
      confirmations,
    } as unknown as RecoveryComponents);
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
