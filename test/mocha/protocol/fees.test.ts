/**
 * EIP-1559 fees on the send path (protocol/chain/fees.ts, replace.ts, transactions.ts) on the embedded Hardhat chain:
 * every transaction is type 2 within the cap, its tip the node's suggestion bounded by the config; a market above the
 * cap refuses the action with a sentence and sends nothing; a transaction stuck below the market (automine off, the
 * next blocks' base fee raised with hardhat_setNextBlockBaseFeePerGas) is replaced with the same nonce and fees
 * ≥ 12.5 % higher, mined once, and the caller gets the replacement's receipt; the gas spent is counted exactly.
 */
import { expect } from "chai";
import { Wallet, parseEther, toQuantity } from "ethers";
import { ChainError, MarketClient, bumped, feesFrom, parseGasPrice, type FeeOptions } from "../../../protocol/index.ts";
import { Replacer } from "../../../protocol/chain/replace.ts";
import { network, deployMarket, deploymentOf, createApp, USD, type Market } from "../../helpers/market.ts";

const conn = await network.create();
const GWEI = 1_000_000_000n;

describe("fees: EIP-1559 within a cap, stuck transactions replaced, gas spent counted", function () {
  this.timeout(60_000);
  let m: Market;
  let root: bigint;

  before(async () => {
    m = await deployMarket(conn);
    root = await createApp(m, USD(10));
  });

  /** A client for a fresh key (a Wallet: signed here, sent raw, as the yard and the CLI send) with ETH and tokens. */
  async function walletClient(fees: Partial<FeeOptions>, lines: string[] = []): Promise<MarketClient> {
    const key = Wallet.createRandom(m.ethers.provider);
    await (await m.deployer.sendTransaction({ to: key.address, value: parseEther("10") })).wait();
    await (await m.token.connect(m.deployer).mint(key.address, USD(100))).wait();
    const base: FeeOptions = {
      maxFeePerGas: 500n * GWEI,
      maxPriorityFeePerGas: 2n * GWEI,
      replaceAfterBlocks: 2,
      replaceAfterMs: 600_000,
    };
    return MarketClient.connect({
      deployment: await deploymentOf(m),
      provider: m.ethers.provider,
      signer: key,
      fees: { ...base, ...fees },
      onProgress: (l) => lines.push(l),
    });
  }

  /** Resolves with the first capture of `re` in a progress line (checked on every line pushed). */
  function onLine(lines: string[], re: RegExp): Promise<string> {
    return new Promise((resolve) => {
      const check = (): boolean => {
        for (const l of lines) {
          const hit = re.exec(l);
          if (hit) {
            resolve(hit[1]!);
            return true;
          }
        }
        return false;
      };
      if (check()) return;
      const push = lines.push.bind(lines);
      lines.push = (...items: string[]): number => {
        const n = push(...items);
        check();
        return n;
      };
    });
  }

  it("sends type-2 transactions within the cap, the tip bounded by the config, and counts their gas exactly", async () => {
    const c = await walletClient({ maxPriorityFeePerGas: GWEI / 2n });
    const r1 = await c.fund(root, 50n); // the dev token takes permits: one fundWithPermit each
    const r2 = await c.fund(root, 7n);
    for (const r of [r1, r2]) {
      const tx = (await m.ethers.provider.getTransaction(r.hash))!;
      expect(tx.type).to.equal(2);
      // Hardhat suggests a 1 gwei tip: the config's 0.5 gwei bounds it.
      expect(tx.maxPriorityFeePerGas).to.equal(GWEI / 2n);
      expect(tx.maxFeePerGas! <= 500n * GWEI).to.equal(true);
    }
    // Every transaction of the key, read back from the blocks.
    const from = await c.address();
    const costs: Record<string, bigint> = {};
    for (let b = r1.blockNumber - 1; b <= r2.blockNumber; b++) {
      for (const tx of (await m.ethers.provider.getBlock(b, true))!.prefetchedTransactions) {
        if (tx.from !== from) continue;
        const r = (await m.ethers.provider.getTransactionReceipt(tx.hash))!;
        const fn = m.token.interface.parseTransaction(tx)?.name ?? m.market.interface.parseTransaction(tx)!.name;
        costs[fn] = (costs[fn] ?? 0n) + r.gasUsed * r.gasPrice;
      }
    }
    expect(Object.keys(costs).sort()).to.deep.equal(["fundWithPermit"]);
    expect(Object.fromEntries(c.fees.spent.byKind())).to.deep.equal(costs);
    expect(c.fees.spent.total).to.equal(costs.fundWithPermit!);
  });

  it("refuses with FEE_ABOVE_CAP and sends nothing when the next block's base fee is above the cap", async () => {
    const c = await walletClient({ maxFeePerGas: 3n * GWEI, maxPriorityFeePerGas: GWEI });
    const from = await c.address();
    await c.ensureAllowance(await m.market.getAddress(), USD(1));
    const nonce = await m.ethers.provider.getTransactionCount(from, "pending");
    await m.ethers.provider.send("hardhat_setNextBlockBaseFeePerGas", [toQuantity(50n * GWEI)]);
    try {
      const e = await c.fund(root, 1n).then(
        () => undefined,
        (x: unknown) => x,
      );
      expect(e).to.be.instanceOf(ChainError);
      expect((e as ChainError).code).to.equal("FEE_ABOVE_CAP");
      expect((e as Error).message).to.equal(
        `funding account ${root} with 0.000001 iUSD waits: the chain asks a base fee of 50 gwei per gas, ` +
          "above the configured cap of 3 gwei (maxFee); nothing was sent — raise the cap or try again when fees fall",
      );
      expect(await m.ethers.provider.getTransactionCount(from, "pending"), "nothing sent").to.equal(nonce);
    } finally {
      await m.ethers.provider.send("hardhat_setNextBlockBaseFeePerGas", [toQuantity(GWEI)]);
    }
    // The market is back under the cap: the same action goes through, with the nonce it would have had.
    const r = await c.fund(root, 1n);
    expect((await m.ethers.provider.getTransaction(r.hash))!.nonce).to.equal(nonce);
  });

  it("replaces a transaction stuck below the market: same nonce, fees ≥ 12.5 % higher, mined once, its receipt returned", async () => {
    const lines: string[] = [];
    const c = await walletClient({}, lines);
    const from = await c.address();
    await c.ensureAllowance(await m.market.getAddress(), USD(1)); // approved now, so the fund below is one transaction
    const provider = m.ethers.provider;
    const nonce = await provider.getTransactionCount(from, "latest");
    const accountBefore = (await c.account(root)).balance;
    const tokensBefore = await c.balanceOf(from);
    await provider.send("evm_setAutomine", [false]);
    try {
      const sent = onLine(lines, /^funding .*: sent (0x[0-9a-f]{64}),/);
      const replaced = onLine(lines, /sent again as (0x[0-9a-f]{64})/);
      const funding = c.fund(root, USD(1));
      const firstHash = await sent;
      const first = (await provider.getTransaction(firstHash))!;
      expect(first.type).to.equal(2);
      // The market moves away: the next blocks ask 100 gwei, far above what the first copy offers.
      await provider.send("hardhat_setNextBlockBaseFeePerGas", [toQuantity(100n * GWEI)]);
      expect(first.maxFeePerGas! < 100n * GWEI, "the first copy is below the new base fee").to.equal(true);
      await provider.send("evm_mine", []);
      await provider.send("evm_mine", []);
      const secondHash = await replaced;
      expect(await provider.getTransactionReceipt(firstHash), "the first copy is not mined").to.equal(null);
      const second = (await provider.getTransaction(secondHash))!;
      expect(second.nonce).to.equal(first.nonce);
      expect(second.data).to.equal(first.data);
      const floor = bumped({ maxFeePerGas: first.maxFeePerGas!, maxPriorityFeePerGas: first.maxPriorityFeePerGas! });
      expect(second.maxFeePerGas! >= floor.maxFeePerGas && second.maxFeePerGas! <= 500n * GWEI).to.equal(true);
      expect(second.maxPriorityFeePerGas! >= floor.maxPriorityFeePerGas).to.equal(true);
      await provider.send("evm_mine", []);
      const receipt = await funding;
      expect(receipt.hash).to.equal(secondHash);
      expect(await provider.getTransactionReceipt(firstHash), "never both").to.equal(null);
      expect(await provider.getTransactionCount(from, "latest")).to.equal(nonce + 1);
      // One effect: the account got the amount once, the sender paid it once.
      expect((await c.account(root)).balance).to.equal(accountBefore + USD(1));
      expect(await c.balanceOf(from)).to.equal(tokensBefore - USD(1));
      expect(c.fees.spent.byKind().get("fund")).to.equal(receipt.gasUsed * receipt.gasPrice);
    } finally {
      await provider.send("evm_setAutomine", [true]);
      await provider.send("hardhat_setNextBlockBaseFeePerGas", [toQuantity(GWEI)]);
    }
  });

  it("does not replace past the cap: a copy at the cap is only waited for, and the note says why", async () => {
    const provider = m.ethers.provider;
    const key = Wallet.createRandom(provider);
    await (await m.deployer.sendTransaction({ to: key.address, value: parseEther("1") })).wait();
    const cap = 10n * GWEI;
    const fees: FeeOptions = {
      maxFeePerGas: cap,
      maxPriorityFeePerGas: GWEI,
      replaceAfterBlocks: 1,
      replaceAfterMs: 0, // every check is past the bound
    };
    await provider.send("evm_setAutomine", [false]);
    try {
      const tx = await key.sendTransaction({
        to: key.address,
        value: 1n,
        type: 2,
        maxFeePerGas: cap,
        maxPriorityFeePerGas: GWEI,
      });
      const sentAtBlock = await provider.getBlockNumber();
      const lines: string[] = [];
      const r = new Replacer({
        provider,
        signer: key,
        sent: tx,
        sentAtBlock,
        fees,
        action: "a transfer",
        onProgress: (l) => lines.push(l),
      });
      // The market above the cap: no copy could be mined, none is sent.
      await provider.send("hardhat_setNextBlockBaseFeePerGas", [toQuantity(20n * GWEI)]);
      expect(await r.replace()).to.equal(undefined);
      expect(r.note).to.equal("the chain's base fee is above the cap of 10 gwei, so it was not replaced");
      // The market under the cap, but the copy already offers the cap: 12.5 % more is not allowed.
      await provider.send("hardhat_setNextBlockBaseFeePerGas", [toQuantity(5n * GWEI)]);
      expect(await r.replace()).to.equal(undefined);
      expect(r.note).to.equal(
        "its max fee of 10 gwei is within 12.5 % of the cap of 10 gwei, so it can only be waited for",
      );
      expect(lines).to.deep.equal([]);
      expect(r.count).to.equal(0);
    } finally {
      await provider.send("evm_setAutomine", [true]);
      await provider.send("hardhat_setNextBlockBaseFeePerGas", [toQuantity(GWEI)]);
      await provider.send("evm_mine", []);
    }
  });

  it("reads fees from config, then the environment, with sentences for bad values", () => {
    expect(parseGasPrice("0.05 gwei")).to.equal(50_000_000n);
    expect(parseGasPrice("1500000 wei")).to.equal(1_500_000n);
    expect(feesFrom({}, {})).to.deep.equal({
      maxFeePerGas: 100n * GWEI,
      maxPriorityFeePerGas: 2n * GWEI,
      replaceAfterBlocks: 3,
      replaceAfterMs: 45_000,
    });
    const env = { ICON_MAX_FEE: "20 gwei", ICON_REPLACE_AFTER_BLOCKS: "5" };
    expect(feesFrom({ maxPriorityFee: "1 gwei" }, env)).to.include({
      maxFeePerGas: 20n * GWEI,
      maxPriorityFeePerGas: GWEI,
      replaceAfterBlocks: 5,
    });
    const bad = (f: () => unknown): string => {
      try {
        f();
      } catch (e) {
        expect((e as ChainError).code).to.equal("BAD_FEE");
        return (e as Error).message;
      }
      throw new Error("accepted");
    };
    expect(bad(() => feesFrom({}, { ICON_MAX_FEE: "20" }))).to.match(/^ICON_MAX_FEE=20: a gas price like "30 gwei"/);
    expect(bad(() => feesFrom({ maxFee: "1 gwei", maxPriorityFee: "2 gwei" }, {}))).to.equal(
      'maxPriorityFee "2 gwei": must be at most maxFee (1 gwei): the tip is part of the fee; lower it or raise maxFee',
    );
    expect(bad(() => feesFrom({}, { ICON_REPLACE_AFTER_BLOCKS: "0" }))).to.match(/^ICON_REPLACE_AFTER_BLOCKS=0: /);
    // A replacement's fees: 12.5 % up, rounded up (geth, Besu and Hardhat ask ≥ 10 %).
    expect(bumped({ maxFeePerGas: 8n, maxPriorityFeePerGas: 1n })).to.deep.equal({
      maxFeePerGas: 9n,
      maxPriorityFeePerGas: 2n,
    });
  });
});
