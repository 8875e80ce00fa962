import { expect } from "chai";
import { id as keccakId } from "ethers";
import {
  network,
  deployMarket,
  listProvider,
  createApp,
  makeOffer,
  signOffer,
  signAcceptance,
  openWith,
  vaultBook,
  listing,
  params,
  USD,
  LEASE_MARKET_ROLE,
  ARBITER_ROLE,
  type Connection,
  type Market,
} from "../helpers/market.ts";
import { ACCEPTANCE_TYPES, OFFER_TYPES, marketDomain, type Offer } from "../../protocol/eip712.ts";

const conn = await network.create();
const { loadFixture, time, mine } = conn.networkHelpers;
const { ethers } = conn;

// Two fresh chains used only by the cross-chain replay: same deployer, same nonces, so the same addresses.
const chainA = await network.create();
const chainB = await network.create({ override: { chainId: 1337 } });

const P = 100n;

async function ready() {
  const m = await deployMarket(conn);
  await listProvider(m, m.provider);
  const acct = await createApp(m, USD(10_000));
  return { m, acct };
}

async function withLease() {
  const { m, acct } = await ready();
  const offer = await makeOffer(m, acct, { pricePerSecond: P });
  const providerSig = await signOffer(m, offer);
  const tenantSig = await signAcceptance(m, offer);
  await openWith(m, offer, providerSig, tenantSig);
  await m.market.connect(m.provider).confirmStart(1n);
  return { m, acct, offer, providerSig, tenantSig, id: 1n };
}

/** Root 1 (icon) with siblings A = 2 (keyA) and B = 3 (keyB), 1000 tokens each. */
async function withSiblings() {
  const { m } = await ready();
  const [, , , , , , , keyA, keyB] = await ethers.getSigners();
  await m.market.connect(m.icon).createAccount(1n, keyA.address);
  await m.market.connect(m.icon).createAccount(1n, keyB.address);
  await m.market.connect(m.icon).allocate(1n, 2n, USD(1_000));
  await m.market.connect(m.icon).allocate(1n, 3n, USD(1_000));
  return { m, keyA, keyB, A: 2n, B: 3n };
}

/** A second IconMarket over the same token and registry, with the market role and an identical app (account 1). */
async function withSecondMarket() {
  const { m, acct } = await ready();
  const market2 = await ethers.deployContract("IconMarket", [
    await m.token.getAddress(),
    await m.registry.getAddress(),
    params.startWindow,
    params.collateralBps,
  ]);
  await m.manager.connect(m.deployer).grantRole(LEASE_MARKET_ROLE, await market2.getAddress(), 0n);
  await m.token.connect(m.owner).approve(await market2.getAddress(), ethers.MaxUint256);
  await market2.connect(m.owner).createApp(
    m.icon.address,
    {
      weightBps: 0,
      migrateThresholdBps: 0,
      replicateThresholdBps: 0,
      terminateThresholdBps: 0,
      maxPricePerSecond: 0n,
      maxRelayFee: 50_000n,
      relayAllowancePerDay: 5_000_000n,
    },
    USD(10_000),
  );
  return { m, acct, market2 };
}

async function setUpChain(c: Connection) {
  const m = await deployMarket(c);
  await listProvider(m, m.provider);
  const acct = await createApp(m, USD(10_000));
  return { m, acct };
}

/** A separate registry + market + AccessManager stack over the re-entrant fake token, wired like the Ignition module. */
async function reentrantStack() {
  const [deployer, provider, owner, icon] = await ethers.getSigners();
  const token = await ethers.deployContract("ReentrantTokenFake");
  const manager = await ethers.deployContract("AccessManager", [deployer.address]);
  const registry = await ethers.deployContract("IEPRegistry", [
    await manager.getAddress(),
    await token.getAddress(),
    {
      minStake: params.minStake,
      unbondingPeriod: params.unbondingPeriod,
      slashCapBps: params.slashCapBps,
      slashDelay: params.arbiterDelay,
    },
  ]);
  const market = await ethers.deployContract("IconMarket", [
    await token.getAddress(),
    await registry.getAddress(),
    params.startWindow,
    params.collateralBps,
  ]);
  const registryAddr = await registry.getAddress();
  const marketAddr = await market.getAddress();
  const sel = (sig: string) => keccakId(sig).slice(0, 10);
  await manager.setTargetFunctionRole(
    registryAddr,
    [
      sel("lockStake(address,uint256)"),
      sel("unlockStake(address,uint256)"),
      sel("slashLocked(address,uint256,address)"),
    ],
    LEASE_MARKET_ROLE,
  );
  await manager.grantRole(LEASE_MARKET_ROLE, marketAddr, 0n);
  await manager.setTargetFunctionRole(registryAddr, [sel("slash(address,uint256,address,bytes32)")], ARBITER_ROLE);
  await manager.grantRole(ARBITER_ROLE, deployer.address, params.arbiterDelay);

  for (const s of [provider, owner]) {
    await token.mint(s.address, USD(1_000_000));
    await token.connect(s).approve(marketAddr, ethers.MaxUint256);
    await token.connect(s).approve(registryAddr, ethers.MaxUint256);
  }
  await registry.connect(provider).register(listing("ee"));
  await registry.connect(provider).stake(params.minStake * 10n);
  await market.connect(owner).createApp(
    icon.address,
    {
      weightBps: 0,
      migrateThresholdBps: 0,
      replicateThresholdBps: 0,
      terminateThresholdBps: 0,
      maxPricePerSecond: 0n,
      maxRelayFee: 50_000n,
      relayAllowancePerDay: 5_000_000n,
    },
    USD(1_000),
  );

  // One lease, confirmed and claimed, so the provider has earnings to withdraw.
  const t = BigInt(await time.latest());
  const domain = marketDomain((await ethers.provider.getNetwork()).chainId, marketAddr);
  const offer: Offer = {
    provider: provider.address,
    account: 1n,
    token: await token.getAddress(),
    pricePerSecond: P,
    cpuMillis: 500,
    memoryMiB: 256,
    start: t + 10n,
    end: t + 10n + 3_600n,
    specHash: ethers.ZeroHash,
    nonce: 1n,
    deadline: t + 600n,
  };
  await market
    .connect(owner)
    .openLease(
      offer,
      await provider.signTypedData(domain, OFFER_TYPES, offer),
      await icon.signTypedData(domain, ACCEPTANCE_TYPES, { offer }),
    );
  await market.connect(provider).confirmStart(1n);
  await time.setNextBlockTimestamp(offer.start + 100n);
  await market.connect(provider).claim(1n);
  const guardError = market.interface.getError("ReentrancyGuardReentrantCall")!.selector;
  return { token, manager, registry, market, deployer, provider, owner, icon, offer, guardError };
}

describe("attacks", () => {
  describe("signatures and replay", () => {
    it("refuses an accepted offer replayed (LeaseNonceUsed)", async () => {
      const { m, offer, providerSig, tenantSig } = await loadFixture(withLease);
      await expect(openWith(m, offer, providerSig, tenantSig))
        .to.be.revertedWithCustomError(m.market, "LeaseNonceUsed")
        .withArgs(m.provider.address, offer.nonce);
      expect(await m.market.leaseCount()).to.equal(1n);
    });

    it("refuses an offer replayed on another chain (same contract address, chain id 1337)", async () => {
      const a = await setUpChain(chainA);
      const b = await setUpChain(chainB);
      expect(b.m.chainId).to.equal(1337n);
      expect(a.m.chainId).to.equal(31337n);
      expect(await b.m.market.getAddress()).to.equal(await a.m.market.getAddress());
      expect(await b.m.token.getAddress()).to.equal(await a.m.token.getAddress());
      expect(b.acct).to.equal(a.acct);
      const [tA, tB] = [
        BigInt(await chainA.networkHelpers.time.latest()),
        BigInt(await chainB.networkHelpers.time.latest()),
      ];
      const t = (tA > tB ? tA : tB) + 100n;
      const offer = await makeOffer(a.m, a.acct, { start: t, end: t + 3_600n, deadline: t });
      const providerSig = await signOffer(a.m, offer);
      const tenantSig = await signAcceptance(a.m, offer);
      await expect(openWith(a.m, offer, providerSig, tenantSig)).to.emit(a.m.market, "LeaseOpened");
      await expect(openWith(b.m, offer, providerSig, tenantSig))
        .to.be.revertedWithCustomError(b.m.market, "LeaseInvalidSignature")
        .withArgs(b.m.provider.address);
    });

    it("refuses signatures made over a domain with another chain id", async () => {
      const { m, acct } = await loadFixture(ready);
      const offer = await makeOffer(m, acct);
      const other = marketDomain(m.chainId + 1n, await m.market.getAddress());
      const providerSig = await m.provider.signTypedData(other, OFFER_TYPES, offer);
      const tenantSig = await m.icon.signTypedData(other, ACCEPTANCE_TYPES, { offer });
      await expect(openWith(m, offer, providerSig, tenantSig))
        .to.be.revertedWithCustomError(m.market, "LeaseInvalidSignature")
        .withArgs(m.provider.address);
      // Right provider signature, wrong-chain acceptance: the tenant check fails.
      await expect(openWith(m, offer, await signOffer(m, offer), tenantSig))
        .to.be.revertedWithCustomError(m.market, "LeaseInvalidSignature")
        .withArgs(m.icon.address);
    });

    it("refuses an offer replayed against another market contract on the same token and registry", async () => {
      const { m, acct, market2 } = await loadFixture(withSecondMarket);
      const offer = await makeOffer(m, acct);
      const providerSig = await signOffer(m, offer);
      const tenantSig = await signAcceptance(m, offer);
      await expect(openWith(m, offer, providerSig, tenantSig)).to.emit(m.market, "LeaseOpened");
      await expect(market2.connect(m.stranger).openLease(offer, providerSig, tenantSig))
        .to.be.revertedWithCustomError(market2, "LeaseInvalidSignature")
        .withArgs(m.provider.address);
      // Control: the same terms signed for the second market's domain do open there.
      const domain2 = marketDomain(m.chainId, await market2.getAddress());
      await expect(
        market2
          .connect(m.stranger)
          .openLease(
            offer,
            await m.provider.signTypedData(domain2, OFFER_TYPES, offer),
            await m.icon.signTypedData(domain2, ACCEPTANCE_TYPES, { offer }),
          ),
      ).to.emit(market2, "LeaseOpened");
    });

    it("refuses an expired offer", async () => {
      const { m, acct } = await loadFixture(ready);
      const t = BigInt(await time.latest());
      const offer = await makeOffer(m, acct, { start: t + 1_000n, end: t + 2_000n, deadline: t + 100n });
      const providerSig = await signOffer(m, offer);
      const tenantSig = await signAcceptance(m, offer);
      await time.setNextBlockTimestamp(offer.deadline + 1n);
      await expect(openWith(m, offer, providerSig, tenantSig))
        .to.be.revertedWithCustomError(m.market, "LeaseOfferExpired")
        .withArgs(offer.deadline, offer.deadline + 1n);
    });

    it("refuses an offer whose nonce the provider cancelled", async () => {
      const { m, acct } = await loadFixture(ready);
      const offer = await makeOffer(m, acct);
      const providerSig = await signOffer(m, offer);
      const tenantSig = await signAcceptance(m, offer);
      await m.market.connect(m.provider).invalidateNonces(offer.nonce >> 8n, 1n << (offer.nonce & 0xffn));
      await expect(openWith(m, offer, providerSig, tenantSig))
        .to.be.revertedWithCustomError(m.market, "LeaseNonceUsed")
        .withArgs(m.provider.address, offer.nonce);
    });

    type Tamper = {
      field: keyof Offer;
      change: (o: Offer, m: Market) => Promise<Partial<Offer>> | Partial<Offer>;
      error: string;
      args: (o: Offer, m: Market) => Promise<unknown[]> | unknown[];
    };
    const sigFails = (o: Offer) => [o.provider];
    const tampers: Tamper[] = [
      {
        field: "provider",
        change: (_o, m) => ({ provider: m.provider2.address }),
        error: "LeaseInvalidSignature",
        args: (_o, m) => [m.provider2.address],
      },
      { field: "account", change: () => ({ account: 2n }), error: "LeaseInvalidSignature", args: sigFails },
      {
        field: "token",
        change: (_o, m) => ({ token: m.stranger.address }),
        error: "LeaseWrongToken",
        args: async (_o, m) => [m.stranger.address, await m.token.getAddress()],
      },
      {
        field: "pricePerSecond",
        change: (o) => ({ pricePerSecond: o.pricePerSecond - 1n }),
        error: "LeaseInvalidSignature",
        args: sigFails,
      },
      {
        field: "cpuMillis",
        change: (o) => ({ cpuMillis: o.cpuMillis * 2 }),
        error: "LeaseInvalidSignature",
        args: sigFails,
      },
      {
        field: "memoryMiB",
        change: (o) => ({ memoryMiB: o.memoryMiB * 2 }),
        error: "LeaseInvalidSignature",
        args: sigFails,
      },
      { field: "start", change: (o) => ({ start: o.start + 1n }), error: "LeaseInvalidSignature", args: sigFails },
      { field: "end", change: (o) => ({ end: o.end - 1n }), error: "LeaseInvalidSignature", args: sigFails },
      {
        field: "specHash",
        change: () => ({ specHash: keccakId("evil@sha256:other") }),
        error: "LeaseInvalidSignature",
        args: sigFails,
      },
      { field: "nonce", change: (o) => ({ nonce: o.nonce + 1n }), error: "LeaseInvalidSignature", args: sigFails },
      {
        field: "deadline",
        change: (o) => ({ deadline: o.deadline + 1n }),
        error: "LeaseInvalidSignature",
        args: sigFails,
      },
    ];
    for (const t of tampers) {
      it(`refuses an offer whose ${t.field} was changed after signing (${t.error})`, async () => {
        const { m, acct } = await loadFixture(ready);
        // A second account (same controller) and a second listed provider make the changed values otherwise valid.
        await m.market.connect(m.owner).createApp(
          m.icon.address,
          {
            weightBps: 0,
            migrateThresholdBps: 0,
            replicateThresholdBps: 0,
            terminateThresholdBps: 0,
            maxPricePerSecond: 0n,
            maxRelayFee: 50_000n,
            relayAllowancePerDay: 5_000_000n,
          },
          USD(1_000),
        );
        await listProvider(m, m.provider2);
        const offer = await makeOffer(m, acct, { pricePerSecond: P });
        const providerSig = await signOffer(m, offer);
        const tenantSig = await signAcceptance(m, offer);
        const tampered = { ...offer, ...(await t.change(offer, m)) };
        expect(tampered[t.field]).to.not.equal(offer[t.field]);
        await expect(openWith(m, tampered, providerSig, tenantSig))
          .to.be.revertedWithCustomError(m.market, t.error)
          .withArgs(...(await t.args(offer, m)));
        // The untouched offer still opens: only the tampering was refused.
        await expect(openWith(m, offer, providerSig, tenantSig)).to.emit(m.market, "LeaseOpened");
      });
    }

    it("refuses an acceptance of a different offer than the one the provider signed", async () => {
      const { m, acct } = await loadFixture(ready);
      const offer = await makeOffer(m, acct);
      const cheaper = { ...offer, pricePerSecond: offer.pricePerSecond - 1n };
      // The provider signs the real offer; the tenant signed a cheaper one: the tenant check fails.
      await expect(openWith(m, offer, await signOffer(m, offer), await signAcceptance(m, cheaper)))
        .to.be.revertedWithCustomError(m.market, "LeaseInvalidSignature")
        .withArgs(m.icon.address);
      // An offer signature cannot stand in for an acceptance (different type hash).
      await expect(
        openWith(m, offer, await signOffer(m, offer), await m.icon.signTypedData(m.domain, OFFER_TYPES, offer)),
      )
        .to.be.revertedWithCustomError(m.market, "LeaseInvalidSignature")
        .withArgs(m.icon.address);
    });

    it("refuses a malleable (high-s) copy or a bad v of either signature; the real pair still opens", async () => {
      const { m, acct } = await loadFixture(ready);
      const offer = await makeOffer(m, acct);
      const [providerSig, tenantSig] = [await signOffer(m, offer), await signAcceptance(m, offer)];
      const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
      const highS = (sig: string): string => {
        const x = ethers.Signature.from(sig);
        return ethers.concat([x.r, ethers.toBeHex(n - BigInt(x.s), 32), x.v === 27 ? "0x1c" : "0x1b"]);
      };
      const badV = (sig: string): string => ethers.concat([ethers.dataSlice(sig, 0, 64), "0x1d"]);
      for (const [p, t, signer] of [
        [highS(providerSig), tenantSig, m.provider.address],
        [badV(providerSig), tenantSig, m.provider.address],
        [providerSig, highS(tenantSig), m.icon.address],
        [providerSig, badV(tenantSig), m.icon.address],
        [providerSig, ethers.dataSlice(tenantSig, 0, 64), m.icon.address], // 64 bytes: no ECDSA, no ERC-1271
      ] as const) {
        await expect(openWith(m, offer, p, t))
          .to.be.revertedWithCustomError(m.market, "LeaseInvalidSignature")
          .withArgs(signer);
      }
      await expect(openWith(m, offer, providerSig, tenantSig)).to.emit(m.market, "LeaseOpened");
    });

    it("refuses an offer whose calldata holds a value wider than its field (reverts as the ABI decoder does)", async () => {
      const { m, acct } = await loadFixture(ready);
      const offer = await makeOffer(m, acct);
      const [providerSig, tenantSig] = [await signOffer(m, offer), await signAcceptance(m, offer)];
      const data = m.market.interface.encodeFunctionData("openLease", [offer, providerSig, tenantSig]);
      const to = await m.market.getAddress();
      // The offer's words follow the selector: provider, account, token, price, cpu, memory, start, end, …; a bit
      // set just above each narrow field's width (the value the signatures cover is unchanged below it).
      const widths = [160, 64, 160, 96, 32, 32, 40, 40];
      for (const [i, bits] of widths.entries()) {
        const at = 4 + 32 * i;
        const word = BigInt(ethers.dataSlice(data, at, at + 32)) | (1n << BigInt(bits));
        const dirty = ethers.concat([
          ethers.dataSlice(data, 0, at),
          ethers.toBeHex(word, 32),
          ethers.dataSlice(data, at + 32),
        ]);
        await expect(m.stranger.sendTransaction({ to, data: dirty }), `field ${i}`).to.be.revertedWithoutReason(ethers);
      }
      await expect(m.stranger.sendTransaction({ to, data })).to.emit(m.market, "LeaseOpened");
    });
  });

  describe("re-entry through a malicious token", () => {
    it("refuses re-entry into market.withdraw during a budget withdrawal (ReentrancyGuardReentrantCall)", async () => {
      const s = await loadFixture(reentrantStack);
      const data = s.market.interface.encodeFunctionData("withdraw", [1n, USD(1), s.owner.address]);
      await s.token.arm(await s.market.getAddress(), data);
      const before = (await s.market.account(1n)).balance;
      await s.market.connect(s.owner).withdraw(1n, USD(10), s.owner.address);
      expect(await s.token.reentered()).to.equal(true);
      expect(await s.token.reentrySucceeded()).to.equal(false);
      expect(await s.token.reentryError()).to.equal(s.guardError);
      expect((await s.market.account(1n)).balance).to.equal(before - USD(10));
    });

    it("refuses re-entry into market.withdrawEarnings during an earnings withdrawal (ReentrancyGuardReentrantCall)", async () => {
      const s = await loadFixture(reentrantStack);
      const earnings = await s.market.earningsOf(s.provider.address);
      expect(earnings).to.equal(P * 100n);
      await s.token.arm(
        await s.market.getAddress(),
        s.market.interface.encodeFunctionData("withdrawEarnings", [s.provider.address]),
      );
      await s.market.connect(s.provider).withdrawEarnings(s.provider.address);
      expect(await s.token.reentered()).to.equal(true);
      expect(await s.token.reentrySucceeded()).to.equal(false);
      expect(await s.token.reentryError()).to.equal(s.guardError);
      expect(await s.market.earningsOf(s.provider.address)).to.equal(0n);
    });

    it("refuses re-entry into market.terminate during a payout (ReentrancyGuardReentrantCall)", async () => {
      const s = await loadFixture(reentrantStack);
      await s.token.arm(await s.market.getAddress(), s.market.interface.encodeFunctionData("terminate", [1n]));
      await s.market.connect(s.provider).withdrawEarnings(s.provider.address);
      expect(await s.token.reentrySucceeded()).to.equal(false);
      expect(await s.token.reentryError()).to.equal(s.guardError);
      expect(await s.market.state(1n)).to.equal(2n); // still running
    });

    it("refuses re-entry into market.claim during a payout: claim moves no tokens and only the provider may call it", async () => {
      const s = await loadFixture(reentrantStack);
      const tokenAddr = await s.token.getAddress();
      await s.token.arm(await s.market.getAddress(), s.market.interface.encodeFunctionData("claim", [1n]));
      const claimedUntil = (await s.market.lease(1n)).claimedUntil;
      await s.market.connect(s.provider).withdrawEarnings(s.provider.address);
      expect(await s.token.reentered()).to.equal(true);
      expect(await s.token.reentrySucceeded()).to.equal(false);
      // claim() carries no reentrancy guard since payouts became pull-based; the inner call fails on the caller check.
      expect(await s.token.reentryError()).to.equal(
        s.market.interface.encodeErrorResult("LeaseUnauthorized", [1n, tokenAddr]),
      );
      expect((await s.market.lease(1n)).claimedUntil).to.equal(claimedUntil);
    });

    it("refuses re-entry into market.claimMany during a payout (ReentrancyGuardReentrantCall, checked before the caller)", async () => {
      const s = await loadFixture(reentrantStack);
      await s.token.arm(await s.market.getAddress(), s.market.interface.encodeFunctionData("claimMany", [[1n]]));
      const claimedUntil = (await s.market.lease(1n)).claimedUntil;
      await s.market.connect(s.provider).withdrawEarnings(s.provider.address);
      expect(await s.token.reentered()).to.equal(true);
      expect(await s.token.reentrySucceeded()).to.equal(false);
      expect(await s.token.reentryError()).to.equal(s.guardError);
      expect((await s.market.lease(1n)).claimedUntil).to.equal(claimedUntil);
    });

    it("refuses re-entry into registry.withdraw during a stake withdrawal (ReentrancyGuardReentrantCall)", async () => {
      const s = await loadFixture(reentrantStack);
      await s.registry.connect(s.provider).requestUnstake(USD(10));
      await time.increase(params.unbondingPeriod);
      await s.token.arm(
        await s.registry.getAddress(),
        s.registry.interface.encodeFunctionData("withdraw", [s.provider.address]),
      );
      const before = await s.token.balanceOf(s.provider.address);
      await s.registry.connect(s.provider).withdraw(s.provider.address);
      expect(await s.token.reentered()).to.equal(true);
      expect(await s.token.reentrySucceeded()).to.equal(false);
      expect(await s.token.reentryError()).to.equal(
        s.registry.interface.getError("ReentrancyGuardReentrantCall")!.selector,
      );
      expect((await s.token.balanceOf(s.provider.address)) - before).to.equal(USD(10));
      expect((await s.registry.stakeOf(s.provider.address)).total).to.equal(params.minStake * 10n - USD(10));
    });
  });

  describe("economic attacks", () => {
    it("does not let a 1-wei donation plus a termination in the block right before shrink the provider's claim", async () => {
      const { m, id, offer } = await loadFixture(withLease);
      const marketAddr = await m.market.getAddress();
      await time.increaseTo(offer.start + 500n);
      const stopAt = offer.start + 600n;
      // Front-run block: a 1-unit donation to the market and the tenant's termination.
      await conn.provider.request({ method: "evm_setAutomine", params: [false] });
      try {
        await m.token.connect(m.stranger).transfer(marketAddr, 1n, { gasLimit: 200_000n });
        await m.market.connect(m.icon).terminate(id, { gasLimit: 500_000n });
        await time.setNextBlockTimestamp(stopAt);
        await mine();
      } finally {
        await conn.provider.request({ method: "evm_setAutomine", params: [true] });
      }
      expect((await m.market.lease(id)).stoppedAt).to.equal(stopAt);
      // The provider's claim in the next block.
      await expect(m.market.connect(m.provider).claim(id))
        .to.emit(m.market, "LeaseClaimed")
        .withArgs(id, P * (stopAt - offer.start), stopAt);
      expect(await m.market.earningsOf(m.provider.address)).to.equal(P * (stopAt - offer.start));
      const { vault, owed } = await vaultBook(m);
      expect(vault).to.equal(owed + 1n); // the donation is surplus, never owed to anyone
    });

    it("a sibling cannot draw on a sibling: neither through the tree nor by accepting a lease paid by it", async () => {
      const { m, keyA, keyB, A, B } = await loadFixture(withSiblings);
      await expect(m.market.connect(keyB).allocate(A, B, 1n))
        .to.be.revertedWithCustomError(m.market, "BudgetUnauthorized")
        .withArgs(A, keyB.address);
      await expect(m.market.connect(keyB).returnToParent(A, 1n))
        .to.be.revertedWithCustomError(m.market, "BudgetUnauthorized")
        .withArgs(A, keyB.address);
      const offer = await makeOffer(m, A);
      await expect(openWith(m, offer, await signOffer(m, offer), await signAcceptance(m, offer, keyB)))
        .to.be.revertedWithCustomError(m.market, "LeaseInvalidSignature")
        .withArgs(keyA.address);
      expect((await m.market.account(A)).balance).to.equal(USD(1_000));
    });

    it("refuses claim by anyone but the provider", async () => {
      const { m, id, offer } = await loadFixture(withLease);
      await time.increaseTo(offer.start + 100n);
      for (const s of [m.stranger, m.icon, m.owner]) {
        await expect(m.market.connect(s).claim(id))
          .to.be.revertedWithCustomError(m.market, "LeaseUnauthorized")
          .withArgs(id, s.address);
      }
    });

    it("refuses terminate by anyone but the tenant (controller or owner), including the provider", async () => {
      const { m, id } = await loadFixture(withLease);
      for (const s of [m.stranger, m.provider, m.provider2]) {
        await expect(m.market.connect(s).terminate(id))
          .to.be.revertedWithCustomError(m.market, "LeaseUnauthorized")
          .withArgs(id, s.address);
      }
    });

    it("refuses a budget withdrawal by anyone but the app owner", async () => {
      const { m, acct } = await loadFixture(ready);
      for (const s of [m.icon, m.stranger, m.provider]) {
        await expect(m.market.connect(s).withdraw(acct, 1n, s.address))
          .to.be.revertedWithCustomError(m.market, "BudgetUnauthorized")
          .withArgs(acct, s.address);
      }
    });

    it("refuses to let anyone but the provider withdraw its stake or its earnings", async () => {
      const { m, id, offer } = await loadFixture(withLease);
      await m.registry.connect(m.provider).requestUnstake(USD(10));
      await time.increaseTo(offer.end + params.unbondingPeriod);
      await m.market.connect(m.stranger).settle(id);
      // A stranger's calls only ever look at the stranger's own balances.
      await expect(m.registry.connect(m.stranger).withdraw(m.stranger.address))
        .to.be.revertedWithCustomError(m.registry, "RegistryNothingToWithdraw")
        .withArgs(m.stranger.address);
      await expect(m.market.connect(m.stranger).withdrawEarnings(m.stranger.address))
        .to.be.revertedWithCustomError(m.market, "LeaseNoEarnings")
        .withArgs(m.stranger.address);
      expect((await m.registry.stakeOf(m.provider.address)).unbonding).to.equal(USD(10));
      expect(await m.market.earningsOf(m.provider.address)).to.equal(P * (offer.end - offer.start));
    });

    it("refuses to unstake below what active leases need", async () => {
      const { m } = await loadFixture(withLease);
      const s = await m.registry.stakeOf(m.provider.address);
      const free = s.total - s.locked;
      expect(s.locked).to.be.greaterThan(0n);
      await expect(m.registry.connect(m.provider).requestUnstake(s.total))
        .to.be.revertedWithCustomError(m.registry, "RegistryInsufficientStake")
        .withArgs(m.provider.address, free, s.total);
    });

    it("refuses an arbiter slash above the cap", async () => {
      const { m } = await loadFixture(ready);
      const total = (await m.registry.stakeOf(m.provider.address)).total;
      const cap = (total * params.slashCapBps) / 10_000n;
      const registryAddr = await m.registry.getAddress();
      const data = m.registry.interface.encodeFunctionData("slash", [
        m.provider.address,
        cap + 1n,
        m.deployer.address,
        keccakId("greedy"),
      ]);
      await m.manager.connect(m.deployer).schedule(registryAddr, data, 0n);
      await time.increase(params.arbiterDelay);
      await expect(m.manager.connect(m.deployer).execute(registryAddr, data))
        .to.be.revertedWithCustomError(m.registry, "RegistrySlashAboveCap")
        .withArgs(m.provider.address, cap + 1n, cap);
      expect((await m.registry.stakeOf(m.provider.address)).total).to.equal(total);
    });
  });
});
