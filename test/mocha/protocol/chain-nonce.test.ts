/**
 * MarketClient and a second sender with the same key (a yard restarted while its last transaction was in flight,
 * an operator's CLI next to its yard): a transaction whose nonce the other sender already used is sent again with
 * a fresh nonce instead of failing the action.
 */
import { expect } from "chai";
import { Wallet } from "ethers";
import { MarketClient } from "../../../protocol/index.ts";
import { startMarket, type TestMarket } from "../../../scripts/lib/testbed.ts";

describe("MarketClient: a nonce taken by another sender with the same key", function () {
  this.timeout(60_000);
  let m: TestMarket;
  before(async () => {
    m = await startMarket();
  });
  after(async () => m.close());

  it("sends again with a fresh nonce and the action goes through", async () => {
    const key = m.keys[6]!;
    const progress: string[] = [];
    const c = await MarketClient.connect({
      deployment: m.deployment,
      provider: m.provider,
      signer: new Wallet(key, m.provider),
      onProgress: (s) => progress.push(s),
    });
    const other = new Wallet(key, m.provider);
    const [x, y] = [Wallet.createRandom().address, Wallet.createRandom().address];
    await c.ensureAllowance(x, 1n); // the client's nonce manager counts on from this transaction
    const before = await m.provider.getTransactionCount(other.address);
    await (await other.sendTransaction({ to: other.address, value: 0n })).wait(); // takes the next nonce
    await c.ensureAllowance(y, 2n);
    expect(await c.token.getFunction("allowance")(other.address, y)).to.equal(2n);
    expect(await m.provider.getTransactionCount(other.address)).to.equal(before + 2);
    expect(progress.filter((p) => p.includes("nonce already used"))).to.have.length(1);
  });
});
