/** Edge cases at the boundaries of the contracts' arithmetic and constructor checks. */
import { expect } from "chai";
import {
  network,
  deployMarket,
  listProvider,
  createApp,
  makeOffer,
  openLease,
  params,
  USD,
  ARBITER_ROLE,
} from "../helpers/market.ts";

const conn = await network.create();
const { loadFixture, time } = conn.networkHelpers;
const { ethers } = conn;

async function listed() {
  const m = await deployMarket(conn);
  await listProvider(m, m.provider);
  return m;
}

describe("edge cases", () => {
  it("an arbiter slash that cuts into lease collateral clamps the locked stake, and the lease still ends cleanly", async () => {
    const m = await loadFixture(listed);
    const acct = await createApp(m, USD(10_000));
    // 4950 tokens over 3600 s: collateral 20 % = 990 of the provider's 1000 staked.
    const offer = await makeOffer(m, acct, { pricePerSecond: USD(1.375) });
    const id = await openLease(m, offer);
    expect((await m.registry.stakeOf(m.provider.address)).locked).to.equal(USD(990));
    await m.manager.connect(m.deployer).grantRole(ARBITER_ROLE, m.stranger.address, 0n);
    await m.registry
      .connect(m.stranger)
      .slash(m.provider.address, USD(100), m.stranger.address, ethers.id("incident-1"));
    const s = await m.registry.stakeOf(m.provider.address);
    expect(s.total).to.equal(USD(900));
    expect(s.locked).to.equal(USD(900)); // clamped: locked can never exceed what is staked
    expect(await m.registry.availableStake(m.provider.address)).to.equal(0n);
    await m.market.connect(m.icon).terminate(id); // unlocks 990 against 900 locked: saturates at zero
    expect((await m.registry.stakeOf(m.provider.address)).locked).to.equal(0n);
  });

  it("a slot shorter than the start window is StartMissed at its end when never confirmed", async () => {
    const m = await loadFixture(listed);
    const acct = await createApp(m);
    const t = BigInt(await time.latest());
    const offer = await makeOffer(m, acct, { start: t + 10n, end: t + 70n }); // 60 s slot, 300 s window
    const id = await openLease(m, offer);
    await time.increaseTo(t + 69n);
    expect(await m.market.state(id)).to.equal(2n); // Running, still inside the slot
    await time.increaseTo(t + 70n);
    expect(await m.market.state(id)).to.equal(3n); // StartMissed at the end of the slot, not after the window
    await expect(m.market.cancelMissedStart(id)).to.emit(m.market, "LeaseCancelled");
  });

  it("refuses to deploy a market whose registry uses another token, a zero start window or collateral above 100 %", async () => {
    const m = await loadFixture(listed);
    const other = await ethers.deployContract("TestToken", [m.deployer.address]);
    const factory = await ethers.getContractFactory("IconMarket");
    const reg = await m.registry.getAddress();
    await expect(ethers.deployContract("IconMarket", [await other.getAddress(), reg, 300n, 2000n]))
      .to.be.revertedWithCustomError(factory, "MarketInvalidParameter")
      .withArgs("registry token");
    const token = await m.token.getAddress();
    await expect(ethers.deployContract("IconMarket", [token, reg, 0n, 2000n]))
      .to.be.revertedWithCustomError(factory, "MarketInvalidParameter")
      .withArgs("startWindow");
    await expect(ethers.deployContract("IconMarket", [token, reg, 300n, 10_001n]))
      .to.be.revertedWithCustomError(factory, "MarketInvalidParameter")
      .withArgs("collateralBps");
    expect(params.collateralBps).to.be.lessThanOrEqual(10_000n);
  });
});
