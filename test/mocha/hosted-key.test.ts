/**
 * Issue 16, item 7: what a dishonest yard can do with the ICON key it hosts. The yard holds the key of a replica
 * (a child account deep in an application's tree) and relays its intents itself, so it can sign anything that key
 * can sign and submit it as it likes. The contracts bound it: leases only within the owner's price cap, money moves
 * only inside the tree (down to its own children, up to its parent), never out of the tree, and relay fees within
 * the owner's per-intent cap and the application's daily allowance (one for the whole tree: children it creates do
 * not multiply it). contracts/README.md, "What a yard that hosts an ICON key can do".
 */
import { expect } from "chai";
import { Wallet, type Provider } from "ethers";
import {
  network,
  deployMarket,
  deploymentOf,
  listProvider,
  makeOffer,
  signOffer,
  defaultPolicy,
  USD,
} from "../helpers/market.ts";
import { MarketClient } from "../../protocol/chain/client.ts";
import { ACCEPTANCE_TYPES } from "../../protocol/eip712.ts";

const conn = await network.create();
const { loadFixture } = conn.networkHelpers;
const { ethers } = conn;

const DAY = 86_400;
const CAP = 1_000n; // the owner's price cap, token units per second
const MAX_FEE = 30_000n;
const ALLOWANCE = 100_000n;

/**
 * App A: root (origin key) → hosted (the yard's key) and sibling; hosted → grandchild. App B: another owner's root.
 * The yard (m.provider2) is the relayer and holds the hosted key.
 */
async function ready() {
  const m = await deployMarket(conn);
  await listProvider(m, m.provider);
  const provider = ethers.provider as unknown as Provider;
  const deployment = await deploymentOf(m);
  const policy = { ...defaultPolicy(CAP), maxRelayFee: MAX_FEE, relayAllowancePerDay: ALLOWANCE };
  const originKey = Wallet.createRandom().connect(ethers.provider);
  const hostedKey = Wallet.createRandom().connect(ethers.provider);
  await (await m.market.connect(m.owner).createApp(originKey.address, policy, USD(1_000))).wait();
  const rootA = await m.market.accountCount();
  await (await m.market.connect(m.stranger).createApp(m.stranger.address, policy, USD(1_000))).wait();
  const rootB = await m.market.accountCount();
  const owner = await MarketClient.connect({ deployment, provider, signer: m.owner });
  const relay = await MarketClient.connect({ deployment, provider, signer: m.provider2 });
  const origin = await MarketClient.connect({ deployment, provider, signer: originKey });
  const childOf = async (c: MarketClient, parent: bigint, controller: string) => {
    const r = await relay.relay(await c.intents.createAccount(parent, controller));
    return BigInt(r.events.find((e) => e.name === "AccountCreated")!.args[0] as bigint);
  };
  const hosted = await childOf(origin, rootA, hostedKey.address);
  const sibling = await childOf(origin, rootA, originKey.address);
  await relay.relay(await origin.intents.allocate(rootA, hosted, USD(100)));
  await relay.relay(await origin.intents.allocate(rootA, sibling, USD(100)));
  const yard = await MarketClient.connect({ deployment, provider, signer: hostedKey });
  const grandchild = await childOf(yard, hosted, hostedKey.address);
  return { m, hostedKey, yard, rootA, rootB, hosted, sibling, grandchild, owner };
}

/** The yard's own relaying client (made per test: a fixture's snapshot would confuse its nonce manager). */
async function yardRelayer(m: Awaited<ReturnType<typeof ready>>["m"]): Promise<MarketClient> {
  const provider = ethers.provider as unknown as Provider;
  return MarketClient.connect({ deployment: await deploymentOf(m), provider, signer: m.provider2 });
}

/** Relays `signed` through the client (simulation first) and returns the refusal's code. */
async function refused(relayer: MarketClient, signed: Promise<Parameters<MarketClient["relay"]>[0]>) {
  const e = (await relayer.relay(await signed).then(
    () => null,
    (err: unknown) => err,
  )) as { code?: string } | null;
  expect(e, "the contracts accepted an abuse").to.not.equal(null);
  return e!.code;
}

describe("hosted-key abuse: what a yard can do with the ICON key it hosts (issue 16, item 7)", () => {
  it("cannot open a lease above the owner's price cap (LeaseInvalidPrice), only within it", async () => {
    const { m, hostedKey, hosted } = await loadFixture(ready);
    const open = async (pricePerSecond: bigint) => {
      const offer = await makeOffer(m, hosted, { pricePerSecond });
      const acceptance = await hostedKey.signTypedData(m.domain, ACCEPTANCE_TYPES, { offer });
      return m.market.connect(m.provider2).openLease(offer, await signOffer(m, offer), acceptance);
    };
    await expect(open(CAP + 1n))
      .to.be.revertedWithCustomError(m.market, "LeaseInvalidPrice")
      .withArgs(CAP + 1n, CAP);
    await (await open(CAP)).wait();
  });

  it("cannot allocate outside its own children: not to a sibling, its parent, another app's account or an unknown one (BudgetNotChild)", async () => {
    const { m, yard, hosted, sibling, rootA, rootB, grandchild } = await loadFixture(ready);
    const relayer = await yardRelayer(m);
    for (const target of [sibling, rootA, rootB, 999n]) {
      const code = await refused(relayer, yard.intents.allocate(hosted, target, 1n));
      expect(code, `allocate to ${target}`).to.be.oneOf(["BudgetNotChild", "BudgetUnknownAccount"]);
    }
    // Allocating from an account it does not control (the root, the sibling, app B's root) runs as the hosted key.
    for (const from of [rootA, sibling, rootB]) {
      const code = await refused(relayer, yard.intents.allocate(from, hosted, 1n, { account: hosted }));
      expect(code, `allocate from ${from}`).to.equal("BudgetUnauthorized");
    }
    // Inside its subtree it may: down to its own child.
    await relayer.relay(await yard.intents.allocate(hosted, grandchild, USD(1)));
  });

  it("cannot move money out of the tree: withdraw, fund, setController, setPolicy, withdrawEarnings are not relayable (RelayNotAllowed) and refuse the key directly", async () => {
    const { m, yard, hostedKey, hosted, rootA, rootB } = await loadFixture(ready);
    const relayer = await yardRelayer(m);
    const p = defaultPolicy();
    const abuses: [string, unknown[]][] = [
      ["withdraw", [rootA, USD(1), hostedKey.address]],
      ["fund", [rootB, USD(1)]],
      ["setController", [rootA, hostedKey.address]],
      ["setController", [hosted, hostedKey.address]],
      ["setPolicy", [rootA, { ...p, maxRelayFee: USD(1_000), relayAllowancePerDay: USD(1_000) }]],
      ["withdrawEarnings", [hostedKey.address]],
    ];
    for (const [fn, args] of abuses) {
      expect(await refused(relayer, yard.intents.sign(fn, args, hosted)), fn).to.equal("RelayNotAllowed");
    }
    // Even with gas of its own, the key is refused by the functions themselves.
    await (await m.deployer.sendTransaction({ to: hostedKey.address, value: 10n ** 17n })).wait();
    const direct = m.market.connect(hostedKey);
    await expect(direct.withdraw(rootA, USD(1), hostedKey.address)).to.be.revertedWithCustomError(
      m.market,
      "BudgetUnauthorized",
    );
    await expect(direct.withdraw(hosted, USD(1), hostedKey.address)).to.be.revertedWithCustomError(
      m.market,
      "BudgetNotRoot",
    );
    await expect(direct.setPolicy(rootA, p)).to.be.revertedWithCustomError(m.market, "BudgetUnauthorized");
    await expect(direct.setController(hosted, hostedKey.address)).to.be.revertedWithCustomError(
      m.market,
      "BudgetUnauthorized",
    );
  });

  it("cannot terminate another application's lease or act on another app's account (LeaseUnauthorized, RelayUnauthorized)", async () => {
    const { m, yard, hosted, rootB } = await loadFixture(ready);
    const relayer = await yardRelayer(m);
    const offer = await makeOffer(m, rootB, { pricePerSecond: 10n });
    const acceptance = await m.stranger.signTypedData(m.domain, ACCEPTANCE_TYPES, { offer });
    await (await m.market.connect(m.stranger).openLease(offer, await signOffer(m, offer), acceptance)).wait();
    const lease = await m.market.leaseCount();
    expect(await refused(relayer, yard.intents.terminate(lease, { account: hosted }))).to.equal("LeaseUnauthorized");
    expect(await refused(relayer, yard.intents.requestFunding(hosted, 1n, { account: rootB }))).to.equal(
      "RelayUnauthorized",
    );
  });

  it("cannot pay itself more than the owner's caps: per intent (RelayFeeTooHigh) and per day (RelayAllowanceExceeded)", async () => {
    const { m, yard, hosted } = await loadFixture(ready);
    const relayer = await yardRelayer(m);
    expect(await refused(relayer, yard.intents.requestFunding(hosted, 1n, { fee: MAX_FEE + 1n }))).to.equal(
      "RelayFeeTooHigh",
    );
    const earnedBefore = await m.market.earningsOf(m.provider2.address);
    const balanceBefore = (await m.market.account(hosted)).balance;
    // The day's allowance may already be partly used if the fixture ran near midnight: count what is left.
    const day = BigInt(Math.floor((await conn.networkHelpers.time.latest()) / 86_400));
    let left = ALLOWANCE - (await m.market.relayFeesPaid(hosted, day));
    let paid = 0n;
    while (left >= MAX_FEE) {
      await relayer.relay(await yard.intents.requestFunding(hosted, 1n, { fee: MAX_FEE }));
      left -= MAX_FEE;
      paid += MAX_FEE;
    }
    if (left > 0n) {
      await relayer.relay(await yard.intents.requestFunding(hosted, 1n, { fee: left }));
      paid += left;
    }
    expect(await refused(relayer, yard.intents.requestFunding(hosted, 1n, { fee: 1n }))).to.equal(
      "RelayAllowanceExceeded",
    );
    // Free intents still run: the cap bounds money, not service.
    await relayer.relay(await yard.intents.requestFunding(hosted, 1n));
    expect(await m.market.earningsOf(m.provider2.address)).to.equal(earnedBefore + paid);
    expect((await m.market.account(hosted)).balance).to.equal(balanceBefore - paid);
    expect(paid).to.be.at.most(ALLOWANCE);
  });

  it("cannot multiply the daily allowance by creating children: the spend is the application's (its root's), refused with RelayAllowanceExceeded naming the root, and takes fees again the next UTC day", async () => {
    const { m, yard, hostedKey, hosted, rootA, rootB } = await loadFixture(ready);
    const relayer = await yardRelayer(m);
    // Start just after a UTC midnight so every relay below shares a day.
    const t = await conn.networkHelpers.time.latest();
    await conn.networkHelpers.time.increaseTo((Math.floor(t / DAY) + 1) * DAY + 10);
    const day = BigInt(Math.floor((await conn.networkHelpers.time.latest()) / DAY));
    const children: bigint[] = [];
    for (let k = 0; k < 4; k++) {
      const r = await relayer.relay(await yard.intents.createAccount(hosted, hostedKey.address));
      const child = BigInt(r.events.find((e) => e.name === "AccountCreated")!.args[0] as bigint);
      await relayer.relay(await yard.intents.allocate(hosted, child, USD(1)));
      children.push(child);
    }
    const earnedBefore = await m.market.earningsOf(m.provider2.address);
    const raw = async (account: bigint, fee: bigint) => {
      const s = await yard.intents.requestFunding(account, 1n, { fee });
      return m.market.connect(m.provider2).relay(s.intent, s.signature);
    };
    // Each child pays up to the cap per intent: three fit in the application's allowance, the fourth does not.
    for (const child of children.slice(0, 3)) await (await raw(child, MAX_FEE)).wait();
    await expect(raw(children[3]!, MAX_FEE))
      .to.be.revertedWithCustomError(m.market, "RelayAllowanceExceeded")
      .withArgs(rootA, 3n * MAX_FEE, MAX_FEE, ALLOWANCE);
    const rest = ALLOWANCE - 3n * MAX_FEE;
    await (await raw(children[3]!, rest)).wait();
    // Every account the key controls is refused now, and every account of the tree reads the application's spend.
    for (const account of [...children, hosted]) {
      await expect(raw(account, 1n))
        .to.be.revertedWithCustomError(m.market, "RelayAllowanceExceeded")
        .withArgs(rootA, ALLOWANCE, 1n, ALLOWANCE);
    }
    for (const account of [...children, hosted, rootA]) {
      expect(await m.market.relayFeesPaid(account, day), `relayFeesPaid(${account})`).to.equal(ALLOWANCE);
    }
    expect((await m.market.earningsOf(m.provider2.address)) - earnedBefore).to.equal(ALLOWANCE);
    // Another application's spend is its own.
    expect(await m.market.relayFeesPaid(rootB, day)).to.equal(0n);

    await conn.networkHelpers.time.increase(DAY);
    await (await raw(children[0]!, MAX_FEE)).wait();
    expect(await m.market.relayFeesPaid(rootA, day + 1n)).to.equal(MAX_FEE);
    expect((await m.market.earningsOf(m.provider2.address)) - earnedBefore).to.equal(ALLOWANCE + MAX_FEE);
  });

  it("the most it can do to the tree's money: move it inside the tree; the owner's total is unchanged but for capped fees", async () => {
    const { m, yard, hosted, grandchild, rootA, sibling, owner } = await loadFixture(ready);
    const relayer = await yardRelayer(m);
    const tree = async () => {
      let sum = 0n;
      for (const a of await owner.appAccounts(rootA)) sum += a.balance;
      return sum;
    };
    const before = await tree();
    // Four fees within the application's daily allowance (ALLOWANCE = 100 000 for the whole tree).
    const fee = ALLOWANCE / 4n;
    await relayer.relay(await yard.intents.allocate(hosted, grandchild, USD(50), { fee }));
    await relayer.relay(await yard.intents.closeAccount(grandchild, { fee }));
    await relayer.relay(await yard.intents.returnToParent(hosted, USD(10), { fee }));
    await relayer.relay(await yard.intents.closeAccount(hosted, { fee }));
    expect(await tree()).to.equal(before - 4n * fee);
    expect((await m.market.account(sibling)).balance).to.equal(USD(100));
  });
});
