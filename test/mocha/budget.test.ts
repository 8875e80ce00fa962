import { expect } from "chai";
import { anyValue } from "@nomicfoundation/hardhat-ethers-chai-matchers/withArgs";
import {
  network,
  deployMarket,
  createApp,
  defaultPolicy,
  accountsTotal,
  signPermit,
  listProvider,
  makeOffer,
  signOffer,
  signAcceptance,
  USD,
  type Market,
} from "../helpers/market.ts";

const conn = await network.create();
const { loadFixture, time } = conn.networkHelpers;
const { ethers } = conn;

const ROOT = 1n;

async function bare() {
  return deployMarket(conn);
}

/** Market plus an app (root 1, owner `owner`, controller `icon`, 1000 tokens). */
async function withApp() {
  const m = await deployMarket(conn);
  await createApp(m);
  const signers = await ethers.getSigners();
  return { m, keyA: signers[7], keyB: signers[8], keyAA: signers[9] };
}

/** Root 1 (icon) with children A = 2 (keyA, 300) and B = 3 (keyB, 200), and A's child AA = 4 (keyAA, 100). */
async function withTree() {
  const f = await withApp();
  const { m, keyA, keyB, keyAA } = f;
  await m.market.connect(m.icon).createAccount(ROOT, keyA.address);
  await m.market.connect(m.icon).createAccount(ROOT, keyB.address);
  await m.market.connect(keyA).createAccount(2n, keyAA.address);
  await m.market.connect(m.icon).allocate(ROOT, 2n, USD(300));
  await m.market.connect(m.icon).allocate(ROOT, 3n, USD(200));
  await m.market.connect(keyA).allocate(2n, 4n, USD(100));
  return { ...f, A: 2n, B: 3n, AA: 4n };
}

/** A signer without tokens or approvals (`m.child`), funded with tokens but no allowance. */
async function withPermitSigner() {
  const f = await withApp();
  await f.m.token.connect(f.m.deployer).mint(f.m.child.address, USD(10_000));
  return f;
}

async function balanceOf(m: Market, id: bigint): Promise<bigint> {
  return (await m.market.account(id)).balance;
}

async function deadline(): Promise<bigint> {
  return BigInt(await time.latest()) + 3_600n;
}

function policyTuple(p: ReturnType<typeof defaultPolicy>) {
  return [
    p.weightBps,
    p.migrateThresholdBps,
    p.replicateThresholdBps,
    p.terminateThresholdBps,
    p.maxPricePerSecond,
    p.maxRelayFee,
    p.relayAllowancePerDay,
  ];
}

describe("BudgetTree", () => {
  describe("createApp", () => {
    it("creates an app from an approved deposit: root account, owner, policy version 1", async () => {
      const m = await loadFixture(bare);
      const policy = defaultPolicy(USD(1));
      const marketAddr = await m.market.getAddress();
      const tx = m.market.connect(m.owner).createApp(m.icon.address, policy, USD(1_000));
      await expect(tx).to.emit(m.market, "AppCreated").withArgs(ROOT, m.owner.address, m.icon.address);
      await expect(tx).to.emit(m.market, "PolicyUpdated").withArgs(ROOT, 1n, policyTuple(policy));
      await expect(tx).to.emit(m.market, "Funded").withArgs(ROOT, m.owner.address, USD(1_000));
      await expect(tx).to.changeTokenBalances(ethers, m.token, [m.owner, marketAddr], [-USD(1_000), USD(1_000)]);
      const a = await m.market.account(ROOT);
      expect([a.controller, a.balance, a.parent, a.root, a.depth, a.closed]).to.deep.equal([
        m.icon.address,
        USD(1_000),
        0n,
        ROOT,
        0n,
        false,
      ]);
      expect(await m.market.ownerOf(ROOT)).to.equal(m.owner.address);
      const [p, version] = await m.market.policyOf(ROOT);
      expect(version).to.equal(1n);
      expect(p.maxPricePerSecond).to.equal(USD(1));
      expect(await m.market.accountCount()).to.equal(1n);
    });

    it("creates an app without a deposit and takes no tokens", async () => {
      const { m } = await loadFixture(withApp);
      await expect(m.market.connect(m.stranger).createApp(m.icon.address, defaultPolicy(), 0n))
        .to.emit(m.market, "AppCreated")
        .withArgs(2n, m.stranger.address, m.icon.address)
        .and.not.to.emit(m.market, "Funded");
      expect(await balanceOf(m, 2n)).to.equal(0n);
    });

    it("refuses an app with a zero controller", async () => {
      const { m } = await loadFixture(withApp);
      await expect(m.market.connect(m.owner).createApp(ethers.ZeroAddress, defaultPolicy(), 0n))
        .to.be.revertedWithCustomError(m.market, "BudgetZeroValue")
        .withArgs("controller");
    });

    it("refuses an app whose deposit is not approved", async () => {
      const { m } = await loadFixture(withPermitSigner);
      await expect(
        m.market.connect(m.child).createApp(m.icon.address, defaultPolicy(), 1n),
      ).to.be.revertedWithCustomError(m.token, "ERC20InsufficientAllowance");
    });

    it("creates an app with an ERC-2612 permit instead of an approval", async () => {
      const { m } = await loadFixture(withPermitSigner);
      const dl = await deadline();
      const { v, r, s } = await signPermit(m, m.child, USD(250), dl);
      const tx = m.market.connect(m.child).createAppWithPermit(m.icon.address, defaultPolicy(), USD(250), dl, v, r, s);
      await expect(tx).to.emit(m.market, "AppCreated").withArgs(2n, m.child.address, m.icon.address);
      await expect(tx).to.emit(m.market, "Funded").withArgs(2n, m.child.address, USD(250));
      expect(await balanceOf(m, 2n)).to.equal(USD(250));
      expect(await m.market.ownerOf(2n)).to.equal(m.child.address);
      expect(await m.token.allowance(m.child.address, await m.market.getAddress())).to.equal(0n);
      expect(await m.token.nonces(m.child.address)).to.equal(1n);
    });

    it("still creates the app when a front-runner already submitted the permit", async () => {
      const { m } = await loadFixture(withPermitSigner);
      const dl = await deadline();
      const marketAddr = await m.market.getAddress();
      const { v, r, s } = await signPermit(m, m.child, USD(250), dl);
      await m.token.connect(m.stranger).permit(m.child.address, marketAddr, USD(250), dl, v, r, s);
      await expect(
        m.market.connect(m.child).createAppWithPermit(m.icon.address, defaultPolicy(), USD(250), dl, v, r, s),
      )
        .to.emit(m.market, "Funded")
        .withArgs(2n, m.child.address, USD(250));
      expect(await balanceOf(m, 2n)).to.equal(USD(250));
    });

    it("refuses an app whose permit is invalid and no allowance exists", async () => {
      const { m } = await loadFixture(withPermitSigner);
      const dl = await deadline();
      const { v, r, s } = await signPermit(m, m.child, USD(250), dl);
      // Permit signed for 250 but 251 requested: the permit fails silently, then the transfer has no allowance.
      await expect(
        m.market.connect(m.child).createAppWithPermit(m.icon.address, defaultPolicy(), USD(251), dl, v, r, s),
      ).to.be.revertedWithCustomError(m.token, "ERC20InsufficientAllowance");
    });

    const badPolicies: Array<keyof ReturnType<typeof defaultPolicy>> = [
      "weightBps",
      "migrateThresholdBps",
      "replicateThresholdBps",
      "terminateThresholdBps",
    ];
    for (const field of badPolicies) {
      it(`refuses an app whose policy ${field} is above 10000 bps`, async () => {
        const { m } = await loadFixture(withApp);
        await expect(m.market.connect(m.owner).createApp(m.icon.address, { ...defaultPolicy(), [field]: 10_001 }, 0n))
          .to.be.revertedWithCustomError(m.market, "BudgetInvalidPolicy")
          .withArgs(field);
      });
    }
  });

  describe("fund and fundWithPermit", () => {
    it("lets anyone fund an open account and emits Funded", async () => {
      const { m, A } = await loadFixture(withTree);
      const before = await balanceOf(m, A);
      await expect(m.market.connect(m.stranger).fund(A, USD(7)))
        .to.emit(m.market, "Funded")
        .withArgs(A, m.stranger.address, USD(7));
      expect(await balanceOf(m, A)).to.equal(before + USD(7));
    });

    it("refuses to fund zero, an unknown account or a closed account", async () => {
      const { m, AA } = await loadFixture(withTree);
      await expect(m.market.connect(m.owner).fund(ROOT, 0n))
        .to.be.revertedWithCustomError(m.market, "BudgetZeroValue")
        .withArgs("amount");
      await expect(m.market.connect(m.owner).fund(99n, 1n))
        .to.be.revertedWithCustomError(m.market, "BudgetUnknownAccount")
        .withArgs(99n);
      await expect(m.market.connect(m.owner).fund(0n, 1n))
        .to.be.revertedWithCustomError(m.market, "BudgetUnknownAccount")
        .withArgs(0n);
      await m.market.connect(m.owner).closeAccount(AA);
      await expect(m.market.connect(m.owner).fund(AA, 1n))
        .to.be.revertedWithCustomError(m.market, "BudgetAccountClosed")
        .withArgs(AA);
    });

    it("funds an account with an ERC-2612 permit", async () => {
      const { m } = await loadFixture(withPermitSigner);
      const dl = await deadline();
      const { v, r, s } = await signPermit(m, m.child, USD(40), dl);
      await expect(m.market.connect(m.child).fundWithPermit(ROOT, USD(40), dl, v, r, s))
        .to.emit(m.market, "Funded")
        .withArgs(ROOT, m.child.address, USD(40));
      expect(await balanceOf(m, ROOT)).to.equal(USD(1_040));
    });

    it("still funds with a permit that a front-runner already used", async () => {
      const { m } = await loadFixture(withPermitSigner);
      const dl = await deadline();
      const { v, r, s } = await signPermit(m, m.child, USD(40), dl);
      await m.token.connect(m.stranger).permit(m.child.address, await m.market.getAddress(), USD(40), dl, v, r, s);
      await expect(m.market.connect(m.child).fundWithPermit(ROOT, USD(40), dl, v, r, s))
        .to.emit(m.market, "Funded")
        .withArgs(ROOT, m.child.address, USD(40));
    });

    it("refuses to fund with an expired permit and no allowance", async () => {
      const { m } = await loadFixture(withPermitSigner);
      const dl = BigInt(await time.latest()) + 10n;
      const { v, r, s } = await signPermit(m, m.child, USD(40), dl);
      await time.increaseTo(dl + 1n);
      await expect(m.market.connect(m.child).fundWithPermit(ROOT, USD(40), dl, v, r, s)).to.be.revertedWithCustomError(
        m.token,
        "ERC20InsufficientAllowance",
      );
    });
  });

  describe("withdraw", () => {
    it("lets the owner move money out of the root to any address", async () => {
      const { m } = await loadFixture(withApp);
      const marketAddr = await m.market.getAddress();
      const tx = m.market.connect(m.owner).withdraw(ROOT, USD(100), m.stranger.address);
      await expect(tx).to.emit(m.market, "Withdrawn").withArgs(ROOT, m.stranger.address, USD(100));
      await expect(tx).to.changeTokenBalances(ethers, m.token, [marketAddr, m.stranger], [-USD(100), USD(100)]);
      expect(await balanceOf(m, ROOT)).to.equal(USD(900));
    });

    it("refuses a withdrawal by anyone but the owner, including the root's controller", async () => {
      const { m } = await loadFixture(withApp);
      for (const s of [m.icon, m.stranger]) {
        await expect(m.market.connect(s).withdraw(ROOT, 1n, s.address))
          .to.be.revertedWithCustomError(m.market, "BudgetUnauthorized")
          .withArgs(ROOT, s.address);
      }
    });

    it("refuses a withdrawal from any account but the root", async () => {
      const { m, A } = await loadFixture(withTree);
      await expect(m.market.connect(m.owner).withdraw(A, 1n, m.owner.address))
        .to.be.revertedWithCustomError(m.market, "BudgetNotRoot")
        .withArgs(A);
    });

    it("refuses a withdrawal beyond the root balance, to the zero address or from an unknown account", async () => {
      const { m } = await loadFixture(withApp);
      await expect(m.market.connect(m.owner).withdraw(ROOT, USD(1_000) + 1n, m.owner.address))
        .to.be.revertedWithCustomError(m.market, "BudgetInsufficientBalance")
        .withArgs(ROOT, USD(1_000), USD(1_000) + 1n);
      await expect(m.market.connect(m.owner).withdraw(ROOT, 1n, ethers.ZeroAddress))
        .to.be.revertedWithCustomError(m.market, "BudgetZeroValue")
        .withArgs("to");
      await expect(m.market.connect(m.owner).withdraw(ROOT, 0n, m.owner.address))
        .to.be.revertedWithCustomError(m.market, "BudgetZeroValue")
        .withArgs("amount");
      await expect(m.market.connect(m.owner).withdraw(5n, 1n, m.owner.address))
        .to.be.revertedWithCustomError(m.market, "BudgetUnknownAccount")
        .withArgs(5n);
    });
  });

  describe("createAccount", () => {
    it("lets the parent's controller create a child and emits AccountCreated", async () => {
      const { m, keyA } = await loadFixture(withApp);
      await expect(m.market.connect(m.icon).createAccount(ROOT, keyA.address))
        .to.emit(m.market, "AccountCreated")
        .withArgs(2n, ROOT, keyA.address);
      const a = await m.market.account(2n);
      expect([a.controller, a.balance, a.parent, a.root, a.depth, a.closed]).to.deep.equal([
        keyA.address,
        0n,
        ROOT,
        ROOT,
        1n,
        false,
      ]);
      expect(await m.market.accountCount()).to.equal(2n);
    });

    it("lets the owner create a child anywhere in its tree", async () => {
      const { m, AA, keyB } = await loadFixture(withTree);
      await expect(m.market.connect(m.owner).createAccount(AA, keyB.address))
        .to.emit(m.market, "AccountCreated")
        .withArgs(5n, AA, keyB.address);
      expect((await m.market.account(5n)).depth).to.equal(3n);
      expect((await m.market.account(5n)).root).to.equal(ROOT);
    });

    it("refuses a child created by anyone else, a zero controller, an unknown or a closed parent", async () => {
      const { m, A, AA, keyA, keyB } = await loadFixture(withTree);
      await expect(m.market.connect(keyB).createAccount(A, keyB.address))
        .to.be.revertedWithCustomError(m.market, "BudgetUnauthorized")
        .withArgs(A, keyB.address);
      await expect(m.market.connect(m.stranger).createAccount(ROOT, m.stranger.address))
        .to.be.revertedWithCustomError(m.market, "BudgetUnauthorized")
        .withArgs(ROOT, m.stranger.address);
      await expect(m.market.connect(keyA).createAccount(A, ethers.ZeroAddress))
        .to.be.revertedWithCustomError(m.market, "BudgetZeroValue")
        .withArgs("controller");
      await expect(m.market.connect(keyA).createAccount(77n, keyA.address))
        .to.be.revertedWithCustomError(m.market, "BudgetUnknownAccount")
        .withArgs(77n);
      await m.market.connect(keyA).closeAccount(AA);
      await expect(m.market.connect(m.owner).createAccount(AA, keyA.address))
        .to.be.revertedWithCustomError(m.market, "BudgetAccountClosed")
        .withArgs(AA);
    });

    it("allows maxDepth levels below the root and refuses one more (BudgetDepthExceeded)", async () => {
      const { m, keyA } = await loadFixture(withApp);
      const maxDepth = await m.market.maxDepth();
      expect(maxDepth).to.equal(8n);
      let parent = ROOT;
      for (let d = 1n; d <= maxDepth; d++) {
        await m.market.connect(m.owner).createAccount(parent, keyA.address);
        parent = await m.market.accountCount();
        expect((await m.market.account(parent)).depth).to.equal(d);
      }
      await expect(m.market.connect(m.owner).createAccount(parent, keyA.address))
        .to.be.revertedWithCustomError(m.market, "BudgetDepthExceeded")
        .withArgs(maxDepth + 1n, maxDepth);
    });
  });

  describe("allocate", () => {
    it("moves money from a parent to its child and emits Allocated", async () => {
      const { m, A, keyA } = await loadFixture(withTree);
      await expect(m.market.connect(m.icon).allocate(ROOT, A, USD(50)))
        .to.emit(m.market, "Allocated")
        .withArgs(ROOT, A, USD(50));
      expect(await balanceOf(m, ROOT)).to.equal(USD(450));
      expect(await balanceOf(m, A)).to.equal(USD(250));
      // The owner may allocate at any level.
      await expect(m.market.connect(m.owner).allocate(A, 4n, USD(1)))
        .to.emit(m.market, "Allocated")
        .withArgs(A, 4n, USD(1));
      expect(keyA.address).to.not.equal(m.owner.address);
    });

    it("refuses an allocation pulled by the child's own controller", async () => {
      const { m, A, keyA } = await loadFixture(withTree);
      await expect(m.market.connect(keyA).allocate(ROOT, A, USD(1)))
        .to.be.revertedWithCustomError(m.market, "BudgetUnauthorized")
        .withArgs(ROOT, keyA.address);
    });

    it("refuses an allocation to an account that is not a direct child", async () => {
      const { m, AA } = await loadFixture(withTree);
      await expect(m.market.connect(m.icon).allocate(ROOT, AA, USD(1)))
        .to.be.revertedWithCustomError(m.market, "BudgetNotChild")
        .withArgs(ROOT, AA);
      await expect(m.market.connect(m.icon).allocate(ROOT, ROOT, USD(1)))
        .to.be.revertedWithCustomError(m.market, "BudgetNotChild")
        .withArgs(ROOT, ROOT);
    });

    it("refuses an allocation of zero, beyond the parent's balance, or to a closed or unknown child", async () => {
      const { m, A, AA, keyA } = await loadFixture(withTree);
      await expect(m.market.connect(keyA).allocate(A, AA, 0n))
        .to.be.revertedWithCustomError(m.market, "BudgetZeroValue")
        .withArgs("amount");
      await expect(m.market.connect(keyA).allocate(A, AA, USD(200) + 1n))
        .to.be.revertedWithCustomError(m.market, "BudgetInsufficientBalance")
        .withArgs(A, USD(200), USD(200) + 1n);
      await expect(m.market.connect(keyA).allocate(A, 42n, 1n))
        .to.be.revertedWithCustomError(m.market, "BudgetUnknownAccount")
        .withArgs(42n);
      await m.market.connect(keyA).closeAccount(AA);
      await expect(m.market.connect(keyA).allocate(A, AA, 1n))
        .to.be.revertedWithCustomError(m.market, "BudgetAccountClosed")
        .withArgs(AA);
    });
  });

  describe("returnToParent", () => {
    it("lets the child's controller, the parent's controller and the owner hand money back", async () => {
      const { m, A, AA, keyA, keyAA } = await loadFixture(withTree);
      for (const s of [keyAA, keyA, m.owner]) {
        await expect(m.market.connect(s).returnToParent(AA, USD(10)))
          .to.emit(m.market, "ReturnedToParent")
          .withArgs(AA, A, USD(10));
      }
      expect(await balanceOf(m, AA)).to.equal(USD(70));
      expect(await balanceOf(m, A)).to.equal(USD(230));
    });

    it("refuses a return by a stranger or by a grandparent's controller", async () => {
      const { m, AA } = await loadFixture(withTree);
      for (const s of [m.stranger, m.icon]) {
        await expect(m.market.connect(s).returnToParent(AA, 1n))
          .to.be.revertedWithCustomError(m.market, "BudgetUnauthorized")
          .withArgs(AA, s.address);
      }
    });

    it("refuses a return of zero, beyond the balance, or from a root (which has no parent)", async () => {
      const { m, AA, keyAA } = await loadFixture(withTree);
      await expect(m.market.connect(keyAA).returnToParent(AA, 0n))
        .to.be.revertedWithCustomError(m.market, "BudgetZeroValue")
        .withArgs("amount");
      await expect(m.market.connect(keyAA).returnToParent(AA, USD(100) + 1n))
        .to.be.revertedWithCustomError(m.market, "BudgetInsufficientBalance")
        .withArgs(AA, USD(100), USD(100) + 1n);
      await expect(m.market.connect(m.owner).returnToParent(ROOT, 1n))
        .to.be.revertedWithCustomError(m.market, "BudgetRootHasNoParent")
        .withArgs(ROOT);
    });
  });

  describe("closeAccount", () => {
    it("returns the whole balance to the parent, closes the account and emits AccountClosed", async () => {
      const { m, A, AA, keyAA } = await loadFixture(withTree);
      const tx = m.market.connect(keyAA).closeAccount(AA);
      await expect(tx).to.emit(m.market, "ReturnedToParent").withArgs(AA, A, USD(100));
      await expect(tx).to.emit(m.market, "AccountClosed").withArgs(AA, USD(100));
      const a = await m.market.account(AA);
      expect(a.closed).to.equal(true);
      expect(a.balance).to.equal(0n);
      expect(await balanceOf(m, A)).to.equal(USD(300));
    });

    it("refuses to close twice, to close a root, or to be closed by a stranger", async () => {
      const { m, AA, keyA } = await loadFixture(withTree);
      await expect(m.market.connect(m.stranger).closeAccount(AA))
        .to.be.revertedWithCustomError(m.market, "BudgetUnauthorized")
        .withArgs(AA, m.stranger.address);
      await expect(m.market.connect(m.owner).closeAccount(ROOT))
        .to.be.revertedWithCustomError(m.market, "BudgetRootHasNoParent")
        .withArgs(ROOT);
      await m.market.connect(keyA).closeAccount(AA);
      await expect(m.market.connect(keyA).closeAccount(AA))
        .to.be.revertedWithCustomError(m.market, "BudgetAccountClosed")
        .withArgs(AA);
      await expect(m.market.connect(m.owner).closeAccount(99n))
        .to.be.revertedWithCustomError(m.market, "BudgetUnknownAccount")
        .withArgs(99n);
    });
  });

  describe("setController", () => {
    it("lets the owner replace the root's controller, and the old key loses its power", async () => {
      const { m, keyB } = await loadFixture(withTree);
      await expect(m.market.connect(m.owner).setController(ROOT, keyB.address))
        .to.emit(m.market, "ControllerChanged")
        .withArgs(ROOT, keyB.address);
      expect((await m.market.account(ROOT)).controller).to.equal(keyB.address);
      await expect(m.market.connect(m.icon).allocate(ROOT, 2n, 1n))
        .to.be.revertedWithCustomError(m.market, "BudgetUnauthorized")
        .withArgs(ROOT, m.icon.address);
      await expect(m.market.connect(keyB).allocate(ROOT, 2n, 1n)).to.emit(m.market, "Allocated");
    });

    it("lets the parent's controller replace a child's controller", async () => {
      const { m, AA, keyA, keyB } = await loadFixture(withTree);
      await expect(m.market.connect(keyA).setController(AA, keyB.address))
        .to.emit(m.market, "ControllerChanged")
        .withArgs(AA, keyB.address);
    });

    it("refuses a controller change by the account's own controller, the root's controller for the root, or a stranger", async () => {
      const { m, A, AA, keyAA, keyB } = await loadFixture(withTree);
      await expect(m.market.connect(keyAA).setController(AA, keyB.address))
        .to.be.revertedWithCustomError(m.market, "BudgetUnauthorized")
        .withArgs(AA, keyAA.address);
      await expect(m.market.connect(m.icon).setController(ROOT, keyB.address))
        .to.be.revertedWithCustomError(m.market, "BudgetUnauthorized")
        .withArgs(ROOT, m.icon.address);
      await expect(m.market.connect(m.icon).setController(AA, keyB.address))
        .to.be.revertedWithCustomError(m.market, "BudgetUnauthorized")
        .withArgs(AA, m.icon.address);
      await expect(m.market.connect(m.stranger).setController(A, m.stranger.address))
        .to.be.revertedWithCustomError(m.market, "BudgetUnauthorized")
        .withArgs(A, m.stranger.address);
    });

    it("refuses a zero controller and an unknown account", async () => {
      const { m } = await loadFixture(withTree);
      await expect(m.market.connect(m.owner).setController(ROOT, ethers.ZeroAddress))
        .to.be.revertedWithCustomError(m.market, "BudgetZeroValue")
        .withArgs("controller");
      await expect(m.market.connect(m.owner).setController(12n, m.owner.address))
        .to.be.revertedWithCustomError(m.market, "BudgetUnknownAccount")
        .withArgs(12n);
    });
  });

  describe("requestFunding", () => {
    it("emits FundingRequested, and the request travels up: each parent asks its own parent up to the root", async () => {
      const { m, A, AA, keyA, keyAA } = await loadFixture(withTree);
      await expect(m.market.connect(keyAA).requestFunding(AA, USD(30)))
        .to.emit(m.market, "FundingRequested")
        .withArgs(ROOT, AA, A, USD(30));
      await expect(m.market.connect(keyA).requestFunding(A, USD(30)))
        .to.emit(m.market, "FundingRequested")
        .withArgs(ROOT, A, ROOT, USD(30));
      // The root asks the owner: its parent is "none".
      await expect(m.market.connect(m.icon).requestFunding(ROOT, USD(30)))
        .to.emit(m.market, "FundingRequested")
        .withArgs(ROOT, ROOT, 0n, USD(30));
    });

    it("refuses a funding request by anyone but the account's controller (not even its parent or the owner)", async () => {
      const { m, AA, keyA } = await loadFixture(withTree);
      for (const s of [keyA, m.owner, m.stranger]) {
        await expect(m.market.connect(s).requestFunding(AA, 1n))
          .to.be.revertedWithCustomError(m.market, "BudgetUnauthorized")
          .withArgs(AA, s.address);
      }
    });

    it("refuses a funding request of zero or for an unknown account", async () => {
      const { m, AA, keyAA } = await loadFixture(withTree);
      await expect(m.market.connect(keyAA).requestFunding(AA, 0n))
        .to.be.revertedWithCustomError(m.market, "BudgetZeroValue")
        .withArgs("amount");
      await expect(m.market.connect(keyAA).requestFunding(55n, 1n))
        .to.be.revertedWithCustomError(m.market, "BudgetUnknownAccount")
        .withArgs(55n);
    });
  });

  describe("setPolicy", () => {
    it("publishes a new policy, increments the version and emits PolicyUpdated", async () => {
      const { m } = await loadFixture(withApp);
      const p2 = {
        weightBps: 10_000,
        migrateThresholdBps: 0,
        replicateThresholdBps: 10_000,
        terminateThresholdBps: 0,
        maxPricePerSecond: USD(3),
        maxRelayFee: 50_000n,
        relayAllowancePerDay: 5_000_000n,
      };
      await expect(m.market.connect(m.owner).setPolicy(ROOT, p2))
        .to.emit(m.market, "PolicyUpdated")
        .withArgs(ROOT, 2n, policyTuple(p2));
      const p3 = defaultPolicy(7n);
      await expect(m.market.connect(m.owner).setPolicy(ROOT, p3))
        .to.emit(m.market, "PolicyUpdated")
        .withArgs(ROOT, 3n, anyValue);
      const [p, version] = await m.market.policyOf(ROOT);
      expect(version).to.equal(3n);
      expect([
        p.weightBps,
        p.migrateThresholdBps,
        p.replicateThresholdBps,
        p.terminateThresholdBps,
        p.maxPricePerSecond,
        p.maxRelayFee,
        p.relayAllowancePerDay,
      ]).to.deep.equal(policyTuple(p3).map(BigInt));
    });

    it("refuses a policy from anyone but the owner", async () => {
      const { m } = await loadFixture(withApp);
      for (const s of [m.icon, m.stranger]) {
        await expect(m.market.connect(s).setPolicy(ROOT, defaultPolicy()))
          .to.be.revertedWithCustomError(m.market, "BudgetUnauthorized")
          .withArgs(ROOT, s.address);
      }
    });

    it("refuses a policy on an account that is not a root", async () => {
      const { m, A } = await loadFixture(withTree);
      await expect(m.market.connect(m.owner).setPolicy(A, defaultPolicy()))
        .to.be.revertedWithCustomError(m.market, "BudgetNotRoot")
        .withArgs(A);
      await expect(m.market.connect(m.owner).setPolicy(9n, defaultPolicy()))
        .to.be.revertedWithCustomError(m.market, "BudgetUnknownAccount")
        .withArgs(9n);
    });

    for (const field of [
      "weightBps",
      "migrateThresholdBps",
      "replicateThresholdBps",
      "terminateThresholdBps",
    ] as const) {
      it(`refuses a policy whose ${field} is above 10000 bps and keeps the version`, async () => {
        const { m } = await loadFixture(withApp);
        await expect(m.market.connect(m.owner).setPolicy(ROOT, { ...defaultPolicy(), [field]: 10_001 }))
          .to.be.revertedWithCustomError(m.market, "BudgetInvalidPolicy")
          .withArgs(field);
        expect((await m.market.policyOf(ROOT))[1]).to.equal(1n);
      });
    }
  });

  describe("isolation and balances", () => {
    it("a sibling cannot draw on a sibling", async () => {
      const { m, A, B, keyB } = await loadFixture(withTree);
      await expect(m.market.connect(keyB).allocate(A, B, 1n))
        .to.be.revertedWithCustomError(m.market, "BudgetUnauthorized")
        .withArgs(A, keyB.address);
      await expect(m.market.connect(keyB).allocate(B, A, 1n))
        .to.be.revertedWithCustomError(m.market, "BudgetNotChild")
        .withArgs(B, A);
      await expect(m.market.connect(keyB).returnToParent(A, 1n))
        .to.be.revertedWithCustomError(m.market, "BudgetUnauthorized")
        .withArgs(A, keyB.address);
      await expect(m.market.connect(keyB).closeAccount(A))
        .to.be.revertedWithCustomError(m.market, "BudgetUnauthorized")
        .withArgs(A, keyB.address);
      await expect(m.market.connect(keyB).setController(A, keyB.address))
        .to.be.revertedWithCustomError(m.market, "BudgetUnauthorized")
        .withArgs(A, keyB.address);
      await expect(m.market.connect(keyB).createAccount(A, keyB.address))
        .to.be.revertedWithCustomError(m.market, "BudgetUnauthorized")
        .withArgs(A, keyB.address);
      expect(await balanceOf(m, A)).to.equal(USD(200));
      expect(await balanceOf(m, B)).to.equal(USD(200));
    });

    it("a child never spends beyond its balance: allocations, returns and leases are all bounded", async () => {
      const { m, AA, keyAA } = await loadFixture(withTree);
      await m.market.connect(keyAA).createAccount(AA, keyAA.address);
      const leaf = await m.market.accountCount();
      await expect(m.market.connect(keyAA).allocate(AA, leaf, USD(100) + 1n))
        .to.be.revertedWithCustomError(m.market, "BudgetInsufficientBalance")
        .withArgs(AA, USD(100), USD(100) + 1n);
      // A lease deposit is 100/s x 3600 s = 360000 units; give the leaf one unit less.
      const deposit = 100n * 3600n;
      await m.market.connect(keyAA).allocate(AA, leaf, deposit - 1n);
      await expect(m.market.connect(keyAA).returnToParent(leaf, deposit))
        .to.be.revertedWithCustomError(m.market, "BudgetInsufficientBalance")
        .withArgs(leaf, deposit - 1n, deposit);
      await listProvider(m, m.provider);
      const offer = await makeOffer(m, leaf, { pricePerSecond: 100n });
      expect(offer.end - offer.start).to.equal(3600n);
      const providerSig = await signOffer(m, offer);
      const tenantSig = await signAcceptance(m, offer, keyAA);
      await expect(m.market.connect(m.stranger).openLease(offer, providerSig, tenantSig))
        .to.be.revertedWithCustomError(m.market, "BudgetInsufficientBalance")
        .withArgs(leaf, deposit - 1n, deposit);
      expect(await balanceOf(m, leaf)).to.equal(deposit - 1n);
      // One more unit and the same signed offer opens.
      await m.market.connect(keyAA).allocate(AA, leaf, 1n);
      await expect(m.market.connect(m.stranger).openLease(offer, providerSig, tenantSig)).to.emit(
        m.market,
        "LeaseOpened",
      );
      expect(await balanceOf(m, leaf)).to.equal(0n);
    });

    it("keeps token.balanceOf(market) equal to the sum of account balances after every step of a scripted sequence", async () => {
      const { m, keyA, keyB, keyAA } = await loadFixture(withPermitSigner);
      const market = m.market;
      const marketAddr = await market.getAddress();
      const steps: Array<[string, () => Promise<unknown>]> = [
        ["fund root", () => market.connect(m.stranger).fund(ROOT, USD(50))],
        ["create A", () => market.connect(m.icon).createAccount(ROOT, keyA.address)],
        ["create B", () => market.connect(m.owner).createAccount(ROOT, keyB.address)],
        ["allocate A", () => market.connect(m.icon).allocate(ROOT, 2n, USD(300))],
        ["allocate B", () => market.connect(m.icon).allocate(ROOT, 3n, USD(200))],
        ["create AA", () => market.connect(keyA).createAccount(2n, keyAA.address)],
        ["allocate AA", () => market.connect(keyA).allocate(2n, 4n, USD(120))],
        ["fund AA directly", () => market.connect(m.owner).fund(4n, USD(5))],
        ["return from AA", () => market.connect(keyAA).returnToParent(4n, USD(40))],
        ["close AA", () => market.connect(keyA).closeAccount(4n)],
        ["withdraw from root", () => market.connect(m.owner).withdraw(ROOT, USD(100), m.owner.address)],
        [
          "fund B with a permit",
          async () => {
            const dl = await deadline();
            const { v, r, s } = await signPermit(m, m.child, USD(25), dl);
            return market.connect(m.child).fundWithPermit(3n, USD(25), dl, v, r, s);
          },
        ],
        ["second app", () => market.connect(m.stranger).createApp(keyB.address, defaultPolicy(), USD(500))],
        ["close B", () => market.connect(m.owner).closeAccount(3n)],
        ["second app withdraws", () => market.connect(m.stranger).withdraw(5n, USD(499), m.stranger.address)],
        [
          "failed overdraft",
          () =>
            market
              .connect(m.owner)
              .withdraw(ROOT, USD(1_000_000), m.owner.address)
              .catch(() => undefined),
        ],
        ["return everything from A", async () => market.connect(keyA).returnToParent(2n, await balanceOf(m, 2n))],
        [
          "owner empties root",
          async () => market.connect(m.owner).withdraw(ROOT, await balanceOf(m, ROOT), m.owner.address),
        ],
      ];
      expect(await m.token.balanceOf(marketAddr)).to.equal(await accountsTotal(m));
      for (const [name, step] of steps) {
        const tx = await step();
        if (tx && typeof (tx as { wait?: unknown }).wait === "function")
          await (tx as { wait(): Promise<unknown> }).wait();
        expect(await m.token.balanceOf(marketAddr), `after "${name}"`).to.equal(await accountsTotal(m));
      }
      // Only what the second app left behind is still in the vault.
      expect(await m.token.balanceOf(marketAddr)).to.equal(USD(1));
      expect(await balanceOf(m, 5n)).to.equal(USD(1));
    });
  });
});
