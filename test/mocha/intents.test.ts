/**
 * Gasless ICON operations (contracts/IntentRelay.sol, protocol/chain/intents.ts): every ICON operation relayed for a
 * key that holds 0 ETH, the relayer repaid exactly its fee from the ICON's account, and every way a relayer or a
 * stranger could overcharge, replay or redirect an intent refused.
 */
import { expect } from "chai";
import { TypedDataEncoder, Wallet, ZeroAddress, id, type Provider } from "ethers";
import {
  network,
  deployMarket,
  deploymentOf,
  listProvider,
  makeOffer,
  signOffer,
  defaultPolicy,
  USD,
  type Market,
} from "../helpers/market.ts";
import { MarketClient } from "../../protocol/chain/client.ts";
import { ACCEPTANCE_TYPES, INTENT_TYPES, type SignedIntent } from "../../protocol/eip712.ts";
import { isIconError } from "../../protocol/errors.ts";

const conn = await network.create();
const { loadFixture, time } = conn.networkHelpers;
const { ethers } = conn;

const FEE = 20_000n; // 0.02 of a 6-decimal token
const DAY = 86_400;

/** A market, a listed provider, an app whose root is controlled by a fresh 0-ETH key, and two clients. */
async function ready() {
  const m = await deployMarket(conn);
  await listProvider(m, m.provider);
  const iconKey = Wallet.createRandom().connect(ethers.provider);
  const childKey = Wallet.createRandom().connect(ethers.provider);
  await (await m.market.connect(m.owner).createApp(iconKey.address, defaultPolicy(), USD(1_000))).wait();
  const root = await m.market.accountCount();
  const deployment = await deploymentOf(m);
  const provider = ethers.provider as unknown as Provider;
  const icon = await MarketClient.connect({ deployment, provider, signer: iconKey });
  const child = await MarketClient.connect({ deployment, provider, signer: childKey });
  return { m, iconKey, childKey, root, icon, child };
}

/**
 * The relayer's client: the stranger, not a provider (relay fees are earnings of whoever relays). Made in each test,
 * not in a fixture: a fixture's snapshot is restored under it, and its nonce manager would remember later nonces.
 */
async function relayerOf(m: Market): Promise<MarketClient> {
  const provider = ethers.provider as unknown as Provider;
  return MarketClient.connect({ deployment: await deploymentOf(m), provider, signer: m.stranger });
}

async function withChild() {
  const f = await ready();
  const relayer = await relayerOf(f.m);
  const r = await relayer.relay(await f.icon.intents.createAccount(f.root, f.childKey.address, { fee: FEE }));
  const childId = BigInt(r.events.find((e) => e.name === "AccountCreated")!.args[0] as bigint);
  await relayer.relay(await f.icon.intents.allocate(f.root, childId, USD(100), { fee: FEE }));
  return { ...f, childId };
}

const balance = async (m: Market, account: bigint) => (await m.market.account(account)).balance;
const eth = (a: string) => ethers.provider.getBalance(a);

/** Relays `signed` straight through the contract (no client simulation), from `from` (default: the stranger). */
function rawRelay(m: Market, s: SignedIntent, from = m.stranger) {
  return m.market.connect(from).relay(s.intent, s.signature);
}

describe("intent relay (issue 16, item 4)", () => {
  describe("every ICON operation, relayed for a key with 0 ETH", () => {
    it("createAccount, allocate, returnToParent, requestFunding, terminate and closeAccount: the relayer earns exactly each fee, the paying account loses exactly the fee plus the operation's own move", async () => {
      const { m, iconKey, childKey, root, icon, child } = await loadFixture(ready);
      const relayer = await relayerOf(m);
      const earned = () => m.market.earningsOf(m.stranger.address);
      expect([await eth(iconKey.address), await eth(childKey.address)]).to.deep.equal([0n, 0n]);

      // createAccount: fee from the root.
      let rootBefore = await balance(m, root);
      let earnedBefore = await earned();
      const created = await relayer.relay(await icon.intents.createAccount(root, childKey.address, { fee: FEE }));
      const childId = BigInt(created.events.find((e) => e.name === "AccountCreated")!.args[0] as bigint);
      expect((await m.market.account(childId)).controller).to.equal(childKey.address);
      expect(created.fee).to.equal(FEE);
      expect(await earned()).to.equal(earnedBefore + FEE);
      expect(await balance(m, root)).to.equal(rootBefore - FEE);

      // allocate: fee and amount from the root.
      rootBefore = await balance(m, root);
      earnedBefore = await earned();
      await relayer.relay(await icon.intents.allocate(root, childId, USD(100), { fee: FEE }));
      expect(await balance(m, root)).to.equal(rootBefore - FEE - USD(100));
      expect(await balance(m, childId)).to.equal(USD(100));
      expect(await earned()).to.equal(earnedBefore + FEE);

      // returnToParent by the child's key: fee from the child.
      rootBefore = await balance(m, root);
      earnedBefore = await earned();
      await relayer.relay(await child.intents.returnToParent(childId, USD(10), { fee: FEE }));
      expect(await balance(m, childId)).to.equal(USD(90) - FEE);
      expect(await balance(m, root)).to.equal(rootBefore + USD(10));
      expect(await earned()).to.equal(earnedBefore + FEE);

      // requestFunding: only an event, and the fee.
      const asked = await relayer.relay(await child.intents.requestFunding(childId, USD(5), { fee: FEE }));
      const req = asked.events.find((e) => e.name === "FundingRequested")!;
      expect(req.args.map(String)).to.deep.equal([root, childId, root, USD(5)].map(String));
      expect(await balance(m, childId)).to.equal(USD(90) - 2n * FEE);

      // terminate a lease the child's key accepted (openLease is relayed by the yard as before).
      const offer = await makeOffer(m, childId, { pricePerSecond: 1_000n });
      const acceptance = await childKey.signTypedData(m.domain, ACCEPTANCE_TYPES, { offer });
      await (await m.market.connect(m.stranger).openLease(offer, await signOffer(m, offer), acceptance)).wait();
      const leaseId = await m.market.leaseCount();
      const childBefore = await balance(m, childId);
      earnedBefore = await earned();
      const ended = await relayer.relay(await child.intents.terminate(leaseId, { fee: FEE }));
      const refund = BigInt(ended.events.find((e) => e.name === "LeaseTerminated")!.args[2] as bigint);
      expect(refund).to.equal(offer.pricePerSecond * (offer.end - offer.start));
      expect(await balance(m, childId)).to.equal(childBefore + refund - FEE);
      expect(await earned()).to.equal(earnedBefore + FEE);

      // closeAccount: the fee is paid first, the rest goes up.
      const left = await balance(m, childId);
      rootBefore = await balance(m, root);
      await relayer.relay(await child.intents.closeAccount(childId, { fee: FEE }));
      expect((await m.market.account(childId)).closed).to.equal(true);
      expect(await balance(m, childId)).to.equal(0n);
      expect(await balance(m, root)).to.equal(rootBefore + left - FEE);

      expect([await eth(iconKey.address), await eth(childKey.address)]).to.deep.equal([0n, 0n]);
      const s = await relayer.solvency();
      expect([s.ok, s.surplus]).to.deep.equal([true, 0n]);
      expect(s.earnings).to.equal(6n * FEE);
    });

    it("the owner's key may relay too, and a fee of 0 pays nobody", async () => {
      const { m, root } = await loadFixture(ready);
      const relayer = await relayerOf(m);
      const ownerClient = await MarketClient.connect({
        deployment: await deploymentOf(m),
        provider: ethers.provider as unknown as Provider,
        signer: m.owner,
      });
      const before = await balance(m, root);
      const r = await relayer.relay(await ownerClient.intents.createAccount(root, m.child.address));
      expect(r.fee).to.equal(0n);
      expect(await balance(m, root)).to.equal(before);
      expect(await m.market.earningsOf(m.stranger.address)).to.equal(0n);
    });

    it("Relayed names signer, account, relayer, nonce and fee; hashIntent is the EIP-712 digest the client signs", async () => {
      const { m, iconKey, root, icon } = await loadFixture(ready);
      const s = await icon.intents.requestFunding(root, USD(1), { fee: FEE });
      expect(await m.market.hashIntent(s.intent)).to.equal(TypedDataEncoder.hash(m.domain, INTENT_TYPES, s.intent));
      expect(await m.market.INTENT_TYPEHASH()).to.equal(
        id("Intent(address signer,uint64 account,bytes data,uint96 fee,address relayer,uint256 nonce,uint40 deadline)"),
      );
      expect(TypedDataEncoder.from(INTENT_TYPES).encodeType("Intent")).to.equal(
        "Intent(address signer,uint64 account,bytes data,uint96 fee,address relayer,uint256 nonce,uint40 deadline)",
      );
      await expect(rawRelay(m, s))
        .to.emit(m.market, "Relayed")
        .withArgs(iconKey.address, root, m.stranger.address, s.intent.nonce, FEE);
      expect(await m.market.isNonceUsed(iconKey.address, s.intent.nonce)).to.equal(true);
    });

    it("two clients of one key never pick the same nonce, and 256 intents of a client share one nonce word", async () => {
      const { root, icon, m } = await loadFixture(ready);
      const other = await MarketClient.connect({
        deployment: await deploymentOf(m),
        provider: ethers.provider as unknown as Provider,
        signer: icon.signer,
      });
      const a = await Promise.all([0, 1, 2].map(() => icon.intents.requestFunding(root, 1n)));
      const b = await other.intents.requestFunding(root, 1n);
      const nonces = [...a, b].map((s) => s.intent.nonce);
      expect(new Set(nonces).size).to.equal(4);
      expect(new Set(a.map((s) => s.intent.nonce >> 8n)).size).to.equal(1);
      expect(b.intent.nonce >> 8n).to.not.equal(a[0]!.intent.nonce >> 8n);
    });
  });

  describe("what a relayer cannot do", () => {
    it("refuses an intent relayed twice (LeaseNonceUsed: the signer's nonce bitmap)", async () => {
      const { m, iconKey, root, icon } = await loadFixture(ready);
      const s = await icon.intents.requestFunding(root, USD(1), { fee: FEE });
      await (await rawRelay(m, s)).wait();
      await expect(rawRelay(m, s))
        .to.be.revertedWithCustomError(m.market, "LeaseNonceUsed")
        .withArgs(iconKey.address, s.intent.nonce);
      await expect(rawRelay(m, s, m.provider2)).to.be.revertedWithCustomError(m.market, "LeaseNonceUsed");
    });

    it("refuses an intent whose nonce the key burnt with invalidateNonces", async () => {
      const { m, root, icon } = await loadFixture(withChild);
      const s = await icon.intents.requestFunding(root, USD(1));
      // invalidateNonces is a direct call keyed by msg.sender, so it needs gas: this key is given some for the test.
      const key = icon.signer!;
      await (await m.deployer.sendTransaction({ to: await key.getAddress(), value: 10n ** 16n })).wait();
      await (await m.market.connect(key).invalidateNonces(s.intent.nonce >> 8n, 1n << (s.intent.nonce & 0xffn))).wait();
      await expect(rawRelay(m, s)).to.be.revertedWithCustomError(m.market, "LeaseNonceUsed");
    });

    it("refuses a tampered fee, call, account, relayer or deadline (RelayInvalidSignature)", async () => {
      const { m, iconKey, root, childId, icon } = await loadFixture(withChild);
      const s = await icon.intents.allocate(root, childId, USD(1), { fee: FEE });
      const data = m.market.interface.encodeFunctionData("allocate", [root, childId, USD(50)]);
      const tampered = [
        { ...s.intent, fee: FEE + 1n },
        { ...s.intent, data },
        { ...s.intent, account: childId },
        { ...s.intent, relayer: m.stranger.address },
        { ...s.intent, deadline: s.intent.deadline + 1n },
        { ...s.intent, nonce: s.intent.nonce + 1n },
      ];
      for (const intent of tampered) {
        await expect(m.market.connect(m.stranger).relay(intent, s.signature))
          .to.be.revertedWithCustomError(m.market, "RelayInvalidSignature")
          .withArgs(iconKey.address);
      }
      // A signature by another key naming the ICON as signer.
      const forged = await m.stranger.signTypedData(m.domain, INTENT_TYPES, s.intent);
      await expect(m.market.connect(m.stranger).relay(s.intent, forged)).to.be.revertedWithCustomError(
        m.market,
        "RelayInvalidSignature",
      );
      // A malleable (high-s) copy of the real signature.
      const sig = ethers.Signature.from(s.signature);
      const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
      const highS = ethers.concat([sig.r, ethers.toBeHex(n - BigInt(sig.s), 32), sig.v === 27 ? "0x1c" : "0x1b"]);
      await expect(m.market.connect(m.stranger).relay(s.intent, highS)).to.be.revertedWithCustomError(
        m.market,
        "RelayInvalidSignature",
      );
      await (await rawRelay(m, s)).wait(); // the untampered one still works
    });

    it("refuses an intent signed for another chain or another market deployment (RelayInvalidSignature)", async () => {
      const { m, iconKey, root, icon } = await loadFixture(ready);
      const s = await icon.intents.requestFunding(root, USD(1));
      const otherChain = await iconKey.signTypedData({ ...m.domain, chainId: 1n }, INTENT_TYPES, s.intent);
      await expect(rawRelay(m, { ...s, signature: otherChain })).to.be.revertedWithCustomError(
        m.market,
        "RelayInvalidSignature",
      );
      // A second deployment on the same chain: the intent signed for the first is worthless there.
      const m2 = await deployMarket(conn);
      await (await m2.market.connect(m2.owner).createApp(iconKey.address, defaultPolicy(), USD(10))).wait();
      await expect(m2.market.connect(m2.stranger).relay(s.intent, s.signature)).to.be.revertedWithCustomError(
        m2.market,
        "RelayInvalidSignature",
      );
    });

    it("refuses an expired intent (RelayExpired)", async () => {
      const { m, root, icon } = await loadFixture(ready);
      const s = await icon.intents.requestFunding(root, USD(1), { ttlSeconds: 60 });
      await time.increase(61);
      await expect(rawRelay(m, s)).to.be.revertedWithCustomError(m.market, "RelayExpired");
    });

    it("refuses a relayer other than the one the intent names (RelayWrongRelayer)", async () => {
      const { m, root, icon } = await loadFixture(ready);
      const s = await icon.intents.requestFunding(root, USD(1), { relayer: m.provider2.address });
      await expect(rawRelay(m, s))
        .to.be.revertedWithCustomError(m.market, "RelayWrongRelayer")
        .withArgs(m.provider2.address, m.stranger.address);
      await (await rawRelay(m, s, m.provider2)).wait();
    });

    it("refuses a fee above the policy's maxRelayFee, and any fee when it is 0 (RelayFeeTooHigh)", async () => {
      const { m, root, icon } = await loadFixture(ready);
      const max = defaultPolicy().maxRelayFee;
      await expect(rawRelay(m, await icon.intents.requestFunding(root, 1n, { fee: max + 1n })))
        .to.be.revertedWithCustomError(m.market, "RelayFeeTooHigh")
        .withArgs(max + 1n, max);
      await (await rawRelay(m, await icon.intents.requestFunding(root, 1n, { fee: max }))).wait();
      await (await m.market.connect(m.owner).setPolicy(root, { ...defaultPolicy(), maxRelayFee: 0n })).wait();
      await expect(rawRelay(m, await icon.intents.requestFunding(root, 1n, { fee: 1n })))
        .to.be.revertedWithCustomError(m.market, "RelayFeeTooHigh")
        .withArgs(1n, 0n);
      await (await rawRelay(m, await icon.intents.requestFunding(root, 1n))).wait(); // a free intent still runs
    });

    it("refuses fees beyond the application's daily allowance, and takes them again the next UTC day (RelayAllowanceExceeded)", async () => {
      const { m, root, icon } = await loadFixture(ready);
      // Start just after a UTC midnight so the three relays share a day.
      const t = await time.latest();
      await time.increaseTo((Math.floor(t / DAY) + 1) * DAY + 10);
      const policy = { ...defaultPolicy(), maxRelayFee: FEE, relayAllowancePerDay: 3n * FEE };
      await (await m.market.connect(m.owner).setPolicy(root, policy)).wait();
      for (let i = 0; i < 3; i++)
        await (await rawRelay(m, await icon.intents.requestFunding(root, 1n, { fee: FEE }))).wait();
      const day = BigInt(Math.floor((await time.latest()) / DAY));
      expect(await m.market.relayFeesPaid(root, day)).to.equal(3n * FEE);
      await expect(rawRelay(m, await icon.intents.requestFunding(root, 1n, { fee: 1n })))
        .to.be.revertedWithCustomError(m.market, "RelayAllowanceExceeded")
        .withArgs(root, 3n * FEE, 1n, 3n * FEE);
      await time.increase(DAY);
      await (await rawRelay(m, await icon.intents.requestFunding(root, 1n, { fee: FEE }))).wait();
      expect(await m.market.relayFeesPaid(root, day + 1n)).to.equal(FEE);
      expect(await m.market.relayFeesPaid(root, day)).to.equal(0n); // the slot holds the current day only
    });

    it("refuses every call outside the allow-list, even signed by the owner (RelayNotAllowed)", async () => {
      const { m, root, icon } = await loadFixture(ready);
      const owner = await MarketClient.connect({
        deployment: await deploymentOf(m),
        provider: ethers.provider as unknown as Provider,
        signer: m.owner,
      });
      const p = defaultPolicy();
      const calls: [string, unknown[]][] = [
        ["withdraw", [root, USD(1), m.owner.address]],
        ["setPolicy", [root, { ...p, maxRelayFee: USD(1000), relayAllowancePerDay: USD(1000) }]],
        ["setController", [root, m.stranger.address]],
        ["fund", [root, 1n]],
        ["withdrawEarnings", [m.owner.address]],
        ["invalidateNonces", [0n, 1n]],
        ["createApp", [m.owner.address, p, 0n]],
      ];
      for (const [fn, args] of calls) {
        for (const c of [owner, icon]) {
          const s = await c.intents.sign(fn, args, root);
          const selector = s.intent.data.slice(0, 10);
          await expect(rawRelay(m, s)).to.be.revertedWithCustomError(m.market, "RelayNotAllowed").withArgs(selector);
        }
      }
      // relay itself, and call data too short for a selector.
      const inner = await icon.intents.requestFunding(root, 1n);
      const nested = await icon.intents.sign("relay", [inner.intent, inner.signature], root);
      await expect(rawRelay(m, nested)).to.be.revertedWithCustomError(m.market, "RelayNotAllowed");
      const short = { ...inner.intent, data: "0x1234", nonce: inner.intent.nonce + 7n };
      const shortSig = await (icon.signer as Wallet).signTypedData(m.domain, INTENT_TYPES, short);
      await expect(m.market.connect(m.stranger).relay(short, shortSig))
        .to.be.revertedWithCustomError(m.market, "RelayNotAllowed")
        .withArgs("0x00000000");
    });

    it("refuses an intent that charges an account its signer does not control (RelayUnauthorized)", async () => {
      const { m, root, childId, child } = await loadFixture(withChild);
      const relayer = await relayerOf(m);
      // The child's key tries to have the root pay the fee of its own operation.
      const s = await child.intents.requestFunding(childId, 1n, { fee: FEE, account: root });
      await expect(rawRelay(m, s))
        .to.be.revertedWithCustomError(m.market, "RelayUnauthorized")
        .withArgs(root, await child.signer!.getAddress());
      // A stranger's key.
      const stranger = await MarketClient.connect({
        deployment: await deploymentOf(m),
        provider: ethers.provider as unknown as Provider,
        signer: Wallet.createRandom(),
      });
      const t = await stranger.intents.allocate(root, childId, 1n);
      const err = await relayer.relay(t).catch((e: unknown) => e);
      expect(isIconError(err, "RelayUnauthorized"), String(err)).to.equal(true);
    });

    it("the inner call's error comes back as it is, and nothing happens: no fee, nonce unused", async () => {
      const { m, iconKey, root, childId, child, icon } = await loadFixture(withChild);
      const earned = await m.market.earningsOf(m.stranger.address);
      const rootBefore = await balance(m, root);
      const big = await icon.intents.allocate(root, childId, USD(1_000_000), { fee: FEE });
      await expect(rawRelay(m, big))
        .to.be.revertedWithCustomError(m.market, "BudgetInsufficientBalance")
        .withArgs(root, rootBefore - FEE, USD(1_000_000));
      // The child's key may pay from its own account but may not allocate from the root: the call runs as the child.
      const s = await child.intents.allocate(root, childId, 1n, { fee: FEE, account: childId });
      await expect(rawRelay(m, s))
        .to.be.revertedWithCustomError(m.market, "BudgetUnauthorized")
        .withArgs(root, await child.signer!.getAddress());
      expect(await m.market.earningsOf(m.stranger.address)).to.equal(earned);
      expect(await balance(m, root)).to.equal(rootBefore);
      expect(await m.market.isNonceUsed(iconKey.address, big.intent.nonce)).to.equal(false);
    });

    it("the client simulates first: a refused intent costs the relayer no gas and fails with the contract's sentence", async () => {
      const { m, root, icon } = await loadFixture(ready);
      const relayer = await relayerOf(m);
      const before = await eth(m.stranger.address);
      const block = await ethers.provider.getBlockNumber();
      const ok = await icon.intents.createAccount(root, m.child.address);
      const [predicted] = m.market.interface.decodeFunctionResult("createAccount", await relayer.intents.simulate(ok));
      expect(predicted).to.equal((await m.market.accountCount()) + 1n); // simulate: the call's own return data
      const s = await icon.intents.requestFunding(root, 1n, { fee: USD(1) });
      const err = await relayer.relay(s).catch((e: unknown) => e);
      expect(isIconError(err, "RelayFeeTooHigh"), String(err)).to.equal(true);
      expect(String((err as Error).message)).to.match(/relaying requestFunding\(.*above the application's cap/);
      expect(await eth(m.stranger.address)).to.equal(before);
      expect(await ethers.provider.getBlockNumber()).to.equal(block);
    });
  });

  describe("an account below one fee", () => {
    /** The child, with a lease of 3 600 s at 1 000 units/s scheduled, left holding `left` (< FEE) by returnToParent. */
    async function poorChild() {
      const f = await withChild();
      const relayer = await relayerOf(f.m);
      const offer = await makeOffer(f.m, f.childId, { pricePerSecond: 1_000n });
      const acceptance = await f.childKey.signTypedData(f.m.domain, ACCEPTANCE_TYPES, { offer });
      await (await f.m.market.connect(f.m.stranger).openLease(offer, await signOffer(f.m, offer), acceptance)).wait();
      const lease = await f.m.market.leaseCount();
      const left = FEE / 4n;
      await relayer.relay(await f.child.intents.returnToParent(f.childId, (await balance(f.m, f.childId)) - left));
      expect(await balance(f.m, f.childId)).to.equal(left);
      return { ...f, offer, lease, left };
    }

    it("terminates its lease by intent and pays the fee out of the refund (paid after the call; exact amounts)", async () => {
      const { m, childId, child, offer, lease, left, childKey } = await loadFixture(poorChild);
      const relayer = await relayerOf(m);
      const earned = await m.market.earningsOf(m.stranger.address);
      const s = await child.intents.terminate(lease, { fee: FEE });
      const refund = offer.pricePerSecond * (offer.end - offer.start);
      await expect(rawRelay(m, s))
        .to.emit(m.market, "Relayed")
        .withArgs(childKey.address, childId, m.stranger.address, s.intent.nonce, FEE)
        .and.to.emit(m.market, "LeaseTerminated");
      expect(await balance(m, childId)).to.equal(left + refund - FEE);
      expect(await m.market.earningsOf(m.stranger.address)).to.equal(earned + FEE);
      const sol = await relayer.solvency();
      expect([sol.ok, sol.surplus]).to.deep.equal([true, 0n]);
    });

    it("is refused when its call brings it nothing (BudgetInsufficientBalance): nothing changes, the nonce stays unused", async () => {
      const { m, root, childId, child, left, childKey } = await loadFixture(poorChild);
      const relayer = await relayerOf(m);
      const earned = await m.market.earningsOf(m.stranger.address);
      const rootBefore = await balance(m, root);
      const day = BigInt(Math.floor((await time.latest()) / DAY));
      const spent = await m.market.relayFeesPaid(root, day);
      const asks = await child.intents.requestFunding(childId, USD(1), { fee: FEE });
      await expect(rawRelay(m, asks))
        .to.be.revertedWithCustomError(m.market, "BudgetInsufficientBalance")
        .withArgs(childId, left, FEE);
      // Closing its own account sends the balance up first: still nothing to pay with.
      const closes = await child.intents.closeAccount(childId, { fee: FEE });
      await expect(rawRelay(m, closes))
        .to.be.revertedWithCustomError(m.market, "BudgetInsufficientBalance")
        .withArgs(childId, 0n, FEE);
      // Through the client: the simulation refuses it, nothing is sent.
      const err = await relayer.relay(asks).catch((e: unknown) => e);
      expect(isIconError(err, "BudgetInsufficientBalance"), String(err)).to.equal(true);
      expect(await balance(m, childId)).to.equal(left);
      expect(await balance(m, root)).to.equal(rootBefore);
      expect(await m.market.earningsOf(m.stranger.address)).to.equal(earned);
      expect(await m.market.relayFeesPaid(root, day)).to.equal(spent);
      for (const x of [asks, closes])
        expect(await m.market.isNonceUsed(childKey.address, x.intent.nonce)).to.equal(false);
      expect((await m.market.account(childId)).closed).to.equal(false);
    });
  });

  describe("the relayer's gas cap", () => {
    /** An app whose root is controlled by a contract signer that burns `burn` gas in each signature check. */
    async function contractSigned(m: Market, burn: bigint) {
      const key = Wallet.createRandom();
      const signer = await ethers.deployContract("GasBurningSignerFake", [key.address, burn]);
      const address = await signer.getAddress();
      await (await m.market.connect(m.owner).createApp(address, defaultPolicy(), USD(10))).wait();
      const root = await m.market.accountCount();
      const intent = {
        signer: address,
        account: root,
        data: m.market.interface.encodeFunctionData("requestFunding", [root, 1n]),
        fee: FEE,
        relayer: ZeroAddress,
        nonce: 1n,
        deadline: BigInt(await time.latest()) + 600n,
      };
      return { intent, signature: await key.signTypedData(m.domain, INTENT_TYPES, intent) };
    }

    it("refuses an intent whose contract signer burns 10M gas in its signature check (RELAY_GAS_TOO_HIGH): nothing sent, the relayer's ETH unchanged", async function () {
      // 10M gas is simulated and estimated several times: slow in the coverage run's instrumented chain (over 40 s at
      // load 18 in one CI run), a second or two otherwise.
      this.timeout(240_000);
      const { m } = await loadFixture(ready);
      const relayer = await relayerOf(m);
      const s = await contractSigned(m, 10_000_000n);
      await relayer.intents.simulate(s); // valid: the contract does accept it, at a price
      const before = await eth(m.stranger.address);
      const block = await ethers.provider.getBlockNumber();
      const err = await relayer.relay(s).catch((e: unknown) => e);
      expect(isIconError(err, "RELAY_GAS_TOO_HIGH"), String(err)).to.equal(true);
      expect(String((err as Error).message)).to.match(/estimated \d+ gas, above the relayer's cap of 400000/);
      expect(await eth(m.stranger.address)).to.equal(before);
      expect(await ethers.provider.getBlockNumber()).to.equal(block);
      expect(await m.market.isNonceUsed(s.intent.signer, s.intent.nonce)).to.equal(false);
    });

    it("sends a light one with a gas limit of the estimate plus a quarter, at most maxGas; a lower maxGas refuses it", async () => {
      const { m, root, icon } = await loadFixture(ready);
      const relayer = await relayerOf(m);
      const cheap = await contractSigned(m, 0n);
      const r = await relayer.relay(cheap);
      expect(r.fee).to.equal(FEE);
      const tx = (await ethers.provider.getTransaction(r.txHash))!;
      expect(tx.gasLimit).to.be.at.most(400_000n);
      expect(tx.gasLimit).to.be.at.least(r.gasUsed);
      const s = await icon.intents.requestFunding(root, 1n, { fee: FEE });
      const err = await relayer.relay(s, { maxGas: 50_000n }).catch((e: unknown) => e);
      expect(isIconError(err, "RELAY_GAS_TOO_HIGH"), String(err)).to.equal(true);
      expect(String((err as Error).message)).to.match(/above the relayer's cap of 50000/);
      const ok = await relayer.relay(s, { maxGas: 200_000n });
      const sent = (await ethers.provider.getTransaction(ok.txHash))!;
      expect(sent.gasLimit).to.be.at.most(200_000n);
      expect(ok.gasUsed).to.be.below(sent.gasLimit);
    });
  });
});
