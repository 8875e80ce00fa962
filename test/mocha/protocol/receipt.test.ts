/**
 * waitForReceipt (protocol/chain/receipt.ts) on a real chain, with the RPC endpoint taken away by a proxy in front of
 * it: the receipt of a mined transaction; the RPC down for a while and back — polling goes on, the receipt comes, and
 * nothing is left as an unhandled rejection (what ethers' own `wait()` leaves, ethers-io/ethers.js#4822); no
 * receipt by the deadline (CHAIN_TIMEOUT, with the node's last error); a nonce another transaction used
 * (TX_REPLACED); a transaction mined but reverted (REVERTED). And MarketClient's sends while the RPC is down: a clear
 * CHAIN_UNREACHABLE and no unhandled rejection (ethers' NonceManager left one, which ended a CI run: receipt.ts).
 */
import { expect } from "chai";
import { Contract, JsonRpcProvider, Wallet, hexlify, randomBytes } from "ethers";
import { ChainError, MarketClient, toChainError, waitForReceipt } from "../../../protocol/index.ts";
import { TEST_POLICY, startMarket, type TestMarket } from "../../../scripts/lib/testbed.ts";
import { FlakyRpcProxyFake } from "../../helpers/faults.ts";

describe("waitForReceipt and MarketClient through an RPC outage", function () {
  this.timeout(60_000);
  let m: TestMarket;
  let proxy: FlakyRpcProxyFake;
  let viaProxy: JsonRpcProvider;
  let sender: Wallet;
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown): void => void unhandled.push(e);

  before(async () => {
    m = await startMarket();
    proxy = new FlakyRpcProxyFake(m.chain.url);
    await proxy.up();
    viaProxy = new JsonRpcProvider(proxy.url, undefined, { staticNetwork: true, cacheTimeout: -1 });
    sender = new Wallet(m.keys[7]!, m.provider);
    process.on("unhandledRejection", onUnhandled);
  });
  after(async () => {
    process.off("unhandledRejection", onUnhandled);
    viaProxy?.destroy();
    await proxy?.down();
    await m?.close();
  });

  const send = () => sender.sendTransaction({ to: Wallet.createRandom().address, value: 1n });

  it("returns the receipt of a mined transaction", async () => {
    const tx = await send();
    const r = await waitForReceipt(viaProxy, tx, { action: "a transfer", timeoutMs: 10_000 });
    expect(r.hash).to.equal(tx.hash);
    expect(r.status).to.equal(1);
  });

  it("polls on while the RPC is down and returns once it is back; no unhandled rejection", async () => {
    const tx = await send();
    await proxy.down();
    const waiting = waitForReceipt(viaProxy, tx, { action: "a transfer", timeoutMs: 20_000, pollMs: 50 });
    let settled = false;
    void waiting.then(
      () => (settled = true),
      () => (settled = true),
    );
    await new Promise((r) => setTimeout(r, 1500));
    expect(settled, "answered while the RPC was down").to.equal(false);
    await proxy.up();
    const r = await waiting;
    expect(r.hash).to.equal(tx.hash);
    await new Promise((r) => setTimeout(r, 200));
    expect(unhandled).to.deep.equal([]);
  });

  it("gives up at the deadline with CHAIN_TIMEOUT, naming the node's last error", async () => {
    await proxy.down();
    try {
      const never = { hash: hexlify(randomBytes(32)), from: sender.address, nonce: 1_000_000 };
      const t0 = Date.now();
      const e = await waitForReceipt(viaProxy, never, { action: "a transfer", timeoutMs: 700, pollMs: 50 }).then(
        () => undefined,
        (x: unknown) => x,
      );
      expect(e).to.be.instanceOf(ChainError);
      expect((e as ChainError).code).to.equal("CHAIN_TIMEOUT");
      expect((e as Error).message).to.match(
        /^a transfer: no receipt for transaction 0x[0-9a-f]{64} within 1 s; the node/,
      );
      expect(Date.now() - t0).to.be.within(600, 5000);
    } finally {
      await proxy.up();
    }
    expect(unhandled).to.deep.equal([]);
  });

  it("says TX_REPLACED when another transaction with its nonce was mined instead", async () => {
    await send(); // the sender's nonce 0.. are used
    const lost = { hash: hexlify(randomBytes(32)), from: sender.address, nonce: 0 };
    const e = await waitForReceipt(viaProxy, lost, { action: "a transfer", timeoutMs: 10_000, pollMs: 5 }).then(
      () => undefined,
      (x: unknown) => x,
    );
    expect((e as ChainError).code).to.equal("TX_REPLACED");
    expect((e as Error).message).to.contain(`another transaction from ${sender.address} with nonce 0 was mined`);
  });

  it("says REVERTED for a transaction mined with status 0", async () => {
    // A token transfer of more than the sender holds, with a gas limit so that nothing estimates it first. With
    // automine on the node refuses it at once; queued while automine is off, it is mined as a failed transaction.
    const token = new Contract(m.deployment.token, ["function transfer(address,uint256) returns (bool)"], sender);
    await m.provider.send("evm_setAutomine", [false]);
    let tx;
    try {
      tx = await token.getFunction("transfer").send(Wallet.createRandom().address, 10n ** 40n, { gasLimit: 100_000n });
      await m.provider.send("evm_mine", []);
    } finally {
      await m.provider.send("evm_setAutomine", [true]);
    }
    const e = await waitForReceipt(viaProxy, tx, { action: "a transfer", timeoutMs: 10_000 }).then(
      () => undefined,
      (x: unknown) => x,
    );
    expect((e as ChainError).code).to.equal("REVERTED");
    expect((e as Error).message).to.match(
      /^a transfer was reverted by the contract \(transaction 0x[0-9a-f]{64}, block \d+\)$/,
    );
  });

  it("refuses with CHAIN_UNREACHABLE (the nonce query and the gas estimate both fail), then works once the RPC is back", async () => {
    const key = new Wallet(m.keys[8]!);
    const root = await m.admin.createApp(key.address, TEST_POLICY, 0n);
    const c = await MarketClient.connect({ deployment: m.deployment, rpcUrl: proxy.url, signer: key });
    await proxy.down();
    for (let i = 0; i < 3; i++) {
      // Straight to a transaction: the signer asks for the nonce and populates the transaction at once.
      const e = await c.requestFunding(root, 5n).then(
        () => undefined,
        (x: unknown) => x,
      );
      expect((e as ChainError).code, String(e)).to.equal("CHAIN_UNREACHABLE");
    }
    await new Promise((r) => setTimeout(r, 300));
    expect(unhandled.map(String)).to.deep.equal([]);
    await proxy.up();
    const receipt = await c.requestFunding(root, 5n);
    expect(receipt.status).to.equal(1);
  });

  it("classifies a connection refused, reset or cut under a request as CHAIN_UNREACHABLE, and an answer's failure not", () => {
    const reset = Object.assign(new Error("socket hang up"), { code: "ECONNRESET" });
    const shapes: unknown[] = [
      reset,
      Object.assign(new Error("could not coalesce error"), { code: "UNKNOWN_ERROR", error: reset }),
      new Error("request failed", { cause: Object.assign(new Error("write EPIPE"), { code: "EPIPE" }) }),
      new Error("fetch failed"),
    ];
    for (const e of shapes) expect(toChainError(e, "sending").code, String(e)).to.equal("CHAIN_UNREACHABLE");
    const answered = Object.assign(new Error("nonce too low"), { code: "UNKNOWN_ERROR" });
    expect(toChainError(answered, "sending").code).to.equal("CHAIN_FAILED");
  });
});
