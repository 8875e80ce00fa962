/**
 * What the owner sees on return (`icon app status`, icon-agent/app.ts): the application's funding requests on chain,
 * pending until money reaches the asking account (no standing top-up rule exists), each with its account, amount
 * and chain time; each top-up answers the account's open requests oldest first, partly when it is less.
 */
import { expect } from "chai";
import { Wallet } from "ethers";
import { appStatus, formatStatus } from "../../../icon-agent/app.ts";
import { TEST_POLICY, USD, clientFor, startMarket, type TestMarket } from "../../../scripts/lib/testbed.ts";

describe("app status: funding requests", function () {
  this.timeout(60_000);
  let m: TestMarket;
  before(async () => {
    m = await startMarket();
  });
  after(async () => {
    await m.close();
  });

  it("lists each request with its account, amount and time, pending until the owner or the parent moves money to that account", async () => {
    const owner = await clientFor(m, 10, USD(100));
    // The ICON keys here send their own transactions (dev keys with ETH): what is tested is what status reads.
    const origin = await clientFor(m, 11);
    const replica = await clientFor(m, 12);
    const root = await owner.createApp(new Wallet(m.keys[11]!).address, TEST_POLICY, USD(5));
    const child = await origin.createAccount(root, new Wallet(m.keys[12]!).address);
    // The deposit came before any request: it answers none.
    let s = await appStatus(owner, root);
    expect(s.fundingRequests).to.deep.equal([]);
    expect(formatStatus(owner, s)).to.include(
      "funding requests: 0, 0 pending (no standing top-up rule: the owner answers by funding the account)",
    );

    const r1 = await origin.requestFunding(root, USD(1.5));
    const r2 = await replica.requestFunding(child, USD(0.25));
    const t1 = BigInt((await m.provider.getBlock(r1.blockNumber))!.timestamp);
    s = await appStatus(owner, root);
    expect(s.fundingRequests.map((r) => [r.account, r.parent, r.amount, r.block, r.atS, r.answered])).to.deep.equal([
      [root, 0n, USD(1.5), r1.blockNumber, t1, 0n],
      [child, root, USD(0.25), r2.blockNumber, s.fundingRequests[1]!.atS, 0n],
    ]);
    let lines = formatStatus(owner, s);
    expect(lines).to.include(
      "funding requests: 2, 2 pending (no standing top-up rule: the owner answers by funding the account)",
    );
    expect(lines).to.include(
      `  account ${root} asked the owner for 1.5 iUSD at ${new Date(Number(t1) * 1000).toISOString()} (block ${r1.blockNumber}): pending`,
    );
    expect(
      lines.some(
        (l) => l.startsWith(`  account ${child} asked account ${root} for 0.25 iUSD at `) && l.endsWith(": pending"),
      ),
    ).to.equal(true);

    // The parent answers its child; another account's top-up answers nothing of the root's.
    await origin.allocate(root, child, USD(0.25));
    s = await appStatus(owner, root);
    expect(s.fundingRequests.map((r) => r.answered)).to.deep.equal([0n, USD(0.25)]);
    // The owner answers by hand: the root funded after its request; what is beyond the request answers nothing.
    await owner.fund(root, USD(2));
    s = await appStatus(owner, root);
    expect(s.fundingRequests.map((r) => r.answered)).to.deep.equal([USD(1.5), USD(0.25)]);
    expect(formatStatus(owner, s)).to.include(
      "funding requests: 2, 0 pending (no standing top-up rule: the owner answers by funding the account)",
    );
    // A later request is pending again: the earlier top-up came before it.
    await origin.requestFunding(root, USD(1));
    s = await appStatus(owner, root);
    expect(s.fundingRequests.map((r) => r.answered)).to.deep.equal([USD(1.5), USD(0.25), 0n]);

    // Two requests open, then top-ups smaller than both: each answers the oldest open request first, partly when
    // it is less, and the next top-up goes on where the last one stopped.
    const r4 = await origin.requestFunding(root, USD(0.5));
    await owner.fund(root, USD(0.4));
    s = await appStatus(owner, root);
    expect(s.fundingRequests.map((r) => r.answered)).to.deep.equal([USD(1.5), USD(0.25), USD(0.4), 0n]);
    lines = formatStatus(owner, s);
    expect(lines).to.include(
      "funding requests: 4, 2 pending (1 of them partly answered) (no standing top-up rule: the owner answers by funding the account)",
    );
    expect(
      lines.some(
        (l) =>
          l.startsWith(`  account ${root} asked the owner for 1 iUSD at `) &&
          l.endsWith(": partly answered: 0.4 iUSD of 1 iUSD came since"),
      ),
    ).to.equal(true);
    expect(lines.some((l) => l.includes(`(block ${r4.blockNumber}): pending`))).to.equal(true);
    await owner.fund(root, USD(0.7));
    s = await appStatus(owner, root);
    expect(s.fundingRequests.map((r) => r.answered)).to.deep.equal([USD(1.5), USD(0.25), USD(1), USD(0.1)]);
    await owner.fund(root, USD(1));
    s = await appStatus(owner, root);
    expect(s.fundingRequests.map((r) => r.answered)).to.deep.equal([USD(1.5), USD(0.25), USD(1), USD(0.5)]);
    lines = formatStatus(owner, s);
    expect(lines).to.include(
      "funding requests: 4, 0 pending (no standing top-up rule: the owner answers by funding the account)",
    );
    expect(lines.some((l) => l.includes(`(block ${r4.blockNumber}): answered`))).to.equal(true);
  });
});
