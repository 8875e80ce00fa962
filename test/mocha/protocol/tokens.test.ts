/**
 * Real tokens: the market deployed (through `deployMarket`, as `icon deploy --token` does) over a USDC-like token
 * (6 decimals, name "USD Coin", permit version "2") with and without ERC-5267, and over a token without permit;
 * MarketClient creates an application, funds it and stakes with each, every balance exact. A token that takes a
 * fee on transfer or rebases is refused before anything of the market is deployed; so is one whose way back reverts
 * (its transferFrom, or every move after the first), the refusal saying what the probe left at its fresh address.
 */
import { expect } from "chai";
import { readFile } from "node:fs/promises";
import path from "node:path";
import {
  Contract,
  ContractFactory,
  JsonRpcProvider,
  NonceManager,
  Wallet,
  getCreateAddress,
  id,
  type InterfaceAbi,
} from "ethers";
import { MarketClient, isIconError, type Deployment } from "../../../protocol/index.ts";
import { permitSupport } from "../../../protocol/chain/permit.ts";
import { deployMarket, devKeys, projectRoot, startDevChain, type DevChain } from "../../../scripts/lib/hardhat.ts";
import type { Policy } from "../../../protocol/index.ts";

const USDC = (n: number): bigint => BigInt(Math.round(n * 1e6));
const POLICY: Policy = {
  weightBps: 5000,
  migrateThresholdBps: 1000,
  replicateThresholdBps: 1000,
  terminateThresholdBps: 1000,
  maxPricePerSecond: 0n,
  maxRelayFee: 50_000n,
  relayAllowancePerDay: 5_000_000n,
};

describe("real tokens: permit domains, tokens without permit, tokens that do not move exactly", function () {
  this.timeout(180_000);
  let chain: DevChain;
  let provider: JsonRpcProvider;
  let admin: NonceManager;
  const keys = devKeys(20);

  async function deployToken(name: string, ...args: unknown[]): Promise<Contract> {
    const file = path.join(projectRoot, `artifacts/contracts/mocks/${name}.sol/${name}.json`);
    const artifact = JSON.parse(await readFile(file, "utf8")) as { abi: InterfaceAbi; bytecode: string };
    const c = await new ContractFactory(artifact.abi, artifact.bytecode, admin).deploy(...args);
    await c.waitForDeployment();
    return c as Contract;
  }

  async function mint(token: Contract, to: string, amount: bigint): Promise<void> {
    await (await token.getFunction("mint")(to, amount)).wait();
  }

  const client = (d: Deployment, key: string, progress: string[] = []): Promise<MarketClient> =>
    MarketClient.connect({
      deployment: d,
      provider,
      signer: new Wallet(key, provider),
      onProgress: (l) => progress.push(l),
    });

  before(async () => {
    chain = await startDevChain("127.0.0.1", 0);
    provider = new JsonRpcProvider(chain.url, undefined, { staticNetwork: true, cacheTimeout: -1 });
    // Its own key: deployMarket sends from keys[0] and keys[1], which this nonce manager would not count.
    admin = new NonceManager(new Wallet(keys[10]!, provider));
  });
  after(async () => {
    provider.destroy();
    await chain.close();
  });

  const cases = [
    {
      title: "a USDC-like token stating its domain through ERC-5267",
      mock: "UsdcLikeTokenMock",
      args: [true],
      symbol: "USDC",
      permit: "ERC-5267",
    },
    {
      title: "a USDC-like token without ERC-5267 (as FiatToken)",
      mock: "UsdcLikeTokenMock",
      args: [false],
      symbol: "USDC",
      permit: "name() and version()",
    },
    {
      title: "a token without permit",
      mock: "NoPermitTokenMock",
      args: [],
      symbol: "PLAIN",
      permit: null,
      reason: "has no ERC-2612 permit",
    },
    {
      title: "a token whose permit is DAI's, not ERC-2612's",
      mock: "DaiLikeTokenMock",
      args: [],
      symbol: "DAIL",
      permit: null,
      reason: "has a permit of another kind than ERC-2612's",
    },
  ] as const;

  for (const [i, t] of cases.entries()) {
    it(`${t.title}: create an application, fund it, stake — every balance exact`, async () => {
      const token = await deployToken(t.mock, ...t.args);
      const tokenAddress = await token.getAddress();
      const deployer = new Wallet(keys[0]!).address;
      await mint(token, deployer, USDC(0.01));
      const lines: string[] = [];
      const d = await deployMarket(chain.url, keys[0]!, { token: tokenAddress }, (l) => lines.push(l));
      // The probe's 0.01 came back exactly.
      expect(await token.getFunction("balanceOf")(deployer)).to.equal(USDC(0.01));
      expect(lines.some((l) => l.includes("moves exactly"))).to.equal(true, lines.join("\n"));

      const support = await permitSupport(provider, tokenAddress, 31337n);
      if (t.permit) {
        expect(support).to.deep.include({ kind: "permit", source: t.permit });
        if (support.kind === "permit") expect(support.domain).to.deep.include({ name: "USD Coin", version: "2" });
      } else {
        expect(support.kind).to.equal("approve");
      }

      const [ownerKey, operatorKey] = [keys[12 + 2 * i]!, keys[13 + 2 * i]!];
      const progress: string[] = [];
      const owner = await client(d, ownerKey, progress);
      const operator = await client(d, operatorKey);
      expect(owner.tokenInfo).to.deep.equal({ symbol: t.symbol, decimals: 6 });
      const ownerAddr = await owner.address();
      await mint(token, ownerAddr, USDC(100));
      await mint(token, await operator.address(), USDC(250));

      const nonce0 = await provider.getTransactionCount(ownerAddr);
      const root = await owner.createApp(Wallet.createRandom().address, POLICY, owner.parse("12.345678"));
      // A permit: one transaction; otherwise approve then create, said in a progress line.
      expect(await provider.getTransactionCount(ownerAddr)).to.equal(nonce0 + (t.permit ? 1 : 2));
      const said = progress.filter((l) => l.includes("approving the market first"));
      expect(said).to.have.length(t.permit ? 0 : 1);
      if (!t.permit) expect(said[0]).to.contain(t.reason).and.contain("creating the application");

      await owner.fund(root, owner.parse("0.000001"));
      expect(await provider.getTransactionCount(ownerAddr)).to.equal(nonce0 + (t.permit ? 2 : 4));
      expect((await owner.account(root)).balance).to.equal(12_345_679n);
      expect(await owner.balanceOf(ownerAddr)).to.equal(USDC(100) - 12_345_679n);
      expect(await owner.balanceOf(d.market)).to.equal(12_345_679n);
      expect(owner.format(await owner.balanceOf(d.market))).to.equal(`12.345679 ${owner.tokenInfo.symbol}`);

      await operator.stake(operator.parse("100.5"));
      const status = await operator.providerStatus(await operator.address());
      expect(status.total).to.equal(100_500_000n);
      expect(await operator.balanceOf(d.registry)).to.equal(100_500_000n);
      expect(await operator.balanceOf(await operator.address())).to.equal(USDC(250) - 100_500_000n);
      expect((await owner.solvency()).ok).to.equal(true);
    });
  }

  async function refusedBeforeDeploying(token: Contract, pattern: RegExp): Promise<void> {
    const message = await deployRefused(token, keys[1]!, "TOKEN_NOT_EXACT");
    expect(message)
      .to.match(pattern)
      .and.match(/tokens that take a fee on transfer or rebase are not supported/);
  }

  /** `icon deploy --token` as `key` over `token`, refused with `code` before anything of the market is deployed; the
   * refusal's sentence. */
  async function deployRefused(token: Contract, key: string, code: "TOKEN_NOT_EXACT" | "TOKEN_MOVE_REVERTS") {
    const deployer = new Wallet(key).address;
    const [nonce, lines] = [await provider.getTransactionCount(deployer), [] as string[]];
    let error: unknown;
    try {
      await deployMarket(chain.url, key, { token: await token.getAddress() }, (l) => lines.push(l));
    } catch (e) {
      error = e;
    }
    expect(isIconError(error, code), String(error)).to.equal(true);
    // Nothing of the market exists: no contract created from any nonce the deployer used.
    const after = await provider.getTransactionCount(deployer);
    for (let n = nonce; n <= after + 3; n++)
      expect(await provider.getCode(getCreateAddress({ from: deployer, nonce: n }))).to.equal("0x");
    return (error as Error).message;
  }

  it("refuses a token that takes a fee on transfer (FeeOnTransferTokenFake, 0.3 %) before deploying anything", async () => {
    const fee = await deployToken("FeeOnTransferTokenFake");
    await mint(fee, new Wallet(keys[1]!).address, USDC(5));
    await (await fee.getFunction("setFee")(30)).wait();
    await refusedBeforeDeploying(
      fee,
      /sending 0\.01 FEE to a fresh address took 0\.01 FEE from the sender and delivered 0\.00997 FEE/,
    );
  });

  it("refuses a rebasing token (RebasingTokenFake) before deploying anything", async () => {
    const reb = await deployToken("RebasingTokenFake");
    await mint(reb, new Wallet(keys[1]!).address, USDC(5));
    await refusedBeforeDeploying(reb, /it answers sharesOf\(address\) \(stETH-style shares\): it rebases/);
  });

  it("the transfer probe alone sees a token rebase between blocks", async () => {
    const { probeToken } = await import("../../../protocol/chain/token-probe.ts");
    const reb = await deployToken("RebasingTokenFake");
    const signer = new Wallet(keys[1]!, provider);
    // No rebase until the probe's first transfer, which therefore moves exactly: only the fresh address's balance
    // growing in the blocks after it can refuse the token.
    await (await reb.getFunction("rebaseAfterNextTransfer")()).wait();
    await mint(reb, await signer.getAddress(), USDC(5));
    // Only the transfer legs (the fake also answers sharesOf, which the full probe refuses first).
    let error: unknown;
    try {
      await probeToken({ token: await reb.getAddress(), deployer: signer, signals: false });
    } catch (e) {
      error = e;
    }
    expect(isIconError(error, "TOKEN_NOT_EXACT"), String(error)).to.equal(true);
    expect((error as Error).message).to.match(
      /the fresh address's 0\.01 REB became 0\.01\d+ REB in \d+ block\(s\) without a transfer/,
    );
  });

  it("refuses a token whose transferFrom reverts (RevertingTokenFake) before deploying anything; the 0.01 comes back by the fresh address's own transfer", async () => {
    const { probeKey } = await import("../../../protocol/chain/token-probe.ts");
    const token = await deployToken("RevertingTokenFake");
    const deployer = new Wallet(keys[13]!).address;
    const fresh = new Wallet(probeKey(keys[13]!, await token.getAddress(), 31337n)).address;
    await mint(token, deployer, USDC(5));
    await (await token.getFunction("setTransferFromReverts")(true)).wait();
    const message = await deployRefused(token, keys[13]!, "TOKEN_MOVE_REVERTS");
    expect(message)
      .to.contain(`taking 0.01 STUCK from the probe's fresh address ${fresh} back to the deployer by transferFrom`)
      .and.contain(`revert data ${id("RevertingTokenTransferFromOff(address,address,uint256)").slice(0, 10)}`)
      .and.contain("its 0.01 STUCK went back to the deployer by the fresh address's own transfer");
    expect(await token.getFunction("balanceOf")(deployer)).to.equal(USDC(5));
    expect(await token.getFunction("balanceOf")(fresh)).to.equal(0n);
    // What the fresh address keeps (a reserve for a transfer's fee, under the sweep's threshold) is said exactly.
    const eth = await provider.getBalance(fresh);
    expect(message).to.contain(eth > 0n ? `the fresh address still holds ${eth} wei of ETH` : "holds nothing");
  });

  it("refuses a token that reverts on its second move, saying exactly what it left where; the next probe sends it back", async () => {
    const { probeKey, probeToken } = await import("../../../protocol/chain/token-probe.ts");
    const token = await deployToken("RevertingTokenFake");
    const deployer = new Wallet(keys[14]!, provider);
    const fresh = new Wallet(probeKey(keys[14]!, await token.getAddress(), 31337n)).address;
    await mint(token, deployer.address, USDC(5));
    await (await token.getFunction("setMovesLeft")(1)).wait();
    const message = await deployRefused(token, keys[14]!, "TOKEN_MOVE_REVERTS");
    const noMoves = `revert data ${id("RevertingTokenNoMovesLeft(address,address,uint256)").slice(0, 10)}`;
    expect(message).to.contain(`${noMoves}); the fresh address's own transfer back failed too (execution reverted`);
    expect(await token.getFunction("balanceOf")(fresh)).to.equal(USDC(0.01));
    expect(await token.getFunction("balanceOf")(deployer.address)).to.equal(USDC(4.99));
    expect(message).to.contain(
      `the fresh address still holds 0.01 STUCK and ${await provider.getBalance(fresh)} wei of ETH`,
    );
    // Once the token moves again, the next probe by this deployer sends the 0.01 back first.
    await (await token.getFunction("setMovesLeft")(2n ** 256n - 1n)).wait();
    await probeToken({ token: await token.getAddress(), deployer });
    expect(await token.getFunction("balanceOf")(fresh)).to.equal(0n);
    expect(await token.getFunction("balanceOf")(deployer.address)).to.equal(USDC(5));
  });

  it("loses nothing when a probe stopped half-way: the next run sends back the fresh address's tokens and ETH", async () => {
    const { probeKey, probeToken } = await import("../../../protocol/chain/token-probe.ts");
    const token = await deployToken("NoPermitTokenMock");
    const t = await token.getAddress();
    const deployer = new Wallet(keys[12]!, provider);
    // The fresh address is the deployer's to derive: a run that stopped after the way there left 0.01 PLAIN and
    // 0.01 ETH (gas money) at it.
    const fresh = new Wallet(probeKey(keys[12]!, t, 31337n)).address;
    await mint(token, deployer.address, USDC(1));
    await (await (token.connect(deployer) as Contract).getFunction("transfer")(fresh, USDC(0.01))).wait();
    await (await deployer.sendTransaction({ to: fresh, value: 10n ** 16n })).wait();
    const lines: string[] = [];
    await probeToken({ token: t, deployer, log: (l) => lines.push(l) });
    expect(lines).to.include(
      `the probe's fresh address ${fresh} holds 0.01 PLAIN from an earlier run: sending it back`,
    );
    expect(lines.join("\n")).to.contain(`sending 0.01 PLAIN to a fresh address ${fresh} and back`);
    expect(await token.getFunction("balanceOf")(fresh)).to.equal(0n);
    expect(await token.getFunction("balanceOf")(deployer.address)).to.equal(USDC(1));
    // The ETH came back too, but for a reserve (five times a transfer's gas) for the fee of the transfer back.
    expect(await provider.getBalance(fresh)).to.be.lessThan(10n ** 15n);
  });

  it("signs a permit whose deadline is an hour after the chain's time when the chain's clock runs ahead", async () => {
    const token = await deployToken("UsdcLikeTokenMock", true);
    await mint(token, new Wallet(keys[0]!).address, USDC(0.01));
    const d = await deployMarket(chain.url, keys[0]!, { token: await token.getAddress() });
    const owner = await client(d, keys[8]!);
    await mint(token, await owner.address(), USDC(3));
    // Two blocks four hours apart: the chain is now ahead of this machine's clock by more than an hour.
    await provider.send("hardhat_mine", ["0x2", "0x3840"]);
    const nonce = await provider.getTransactionCount(await owner.address());
    const root = await owner.createApp(Wallet.createRandom().address, POLICY, USDC(3));
    expect(await provider.getTransactionCount(await owner.address())).to.equal(nonce + 1);
    expect((await owner.account(root)).balance).to.equal(USDC(3));
  });

  it("refuses to probe with a deployer that holds too little, saying how much to send", async () => {
    const token = await deployToken("NoPermitTokenMock");
    let error: unknown;
    try {
      await deployMarket(chain.url, keys[11]!, { token: await token.getAddress() });
    } catch (e) {
      error = e;
    }
    expect(isIconError(error, "TOKEN_PROBE_UNFUNDED"), String(error)).to.equal(true);
    expect((error as Error).message)
      .to.contain("holds 0 PLAIN")
      .and.contain("send the deployer at least 0.01 PLAIN");
  });
});
