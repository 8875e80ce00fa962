/**
 * The chain clients behind a public-like RPC (scripts/lib/rpc-proxy.ts's PublicRpcProxyFake in front of the embedded
 * chain), one fault at a time, each test also showing the fault breaks a client without the handling
 * (protocol/chain/rpc.ts, logs.ts): log ranges capped at the public RPCs' sizes, 429 with Retry-After per client, a
 * connection cut mid-answer (a read; a transaction whose answer was lost: checked by hash on every endpoint, sent
 * again only as the same bytes, "nonce too low" then meaning sent; a replacement whose answer was lost, still
 * watched), Retry-After 0 and above the longest wait, credentials in a URL, a lagging endpoint beside a fresh one (a
 * log query never served by an endpoint below its toBlock; receipts, transactions and latest nonces the freshest
 * of both after a failover to the lagging one), an endpoint that switches to a dead upstream or goes away
 * (failover), a 429 through a yard's agent gateway; and the log queries the proxy saw from MarketClient's readers:
 * each with a numeric range within the window.
 */
import { expect } from "chai";
import { once } from "node:events";
import { createServer, type AddressInfo } from "node:net";
import { JsonRpcProvider, Wallet, keccak256, toQuantity } from "ethers";
import {
  ChainError,
  MarketClient,
  RpcEndpoints,
  rpcProvider,
  rpcUrlList,
  waitForReceipt,
} from "../../../protocol/index.ts";
import { Replacer } from "../../../protocol/chain/replace.ts";
import { PublicRpcProxyFake, checkRanged } from "../../../scripts/lib/rpc-proxy.ts";
import { GatewayRefusal, RpcFilter } from "../../../yard-node/agent-gateway-rpc.ts";
import { TEST_POLICY, USD, clientFor, startMarket, type TestMarket } from "../../../scripts/lib/testbed.ts";

describe("chain clients behind a public-like RPC", function () {
  this.timeout(120_000);
  let m: TestMarket;
  const proxies: PublicRpcProxyFake[] = [];
  const providers: JsonRpcProvider[] = [];
  const proxy = async (...a: Parameters<typeof PublicRpcProxyFake.start>) => {
    const p = await PublicRpcProxyFake.start(...a);
    proxies.push(p);
    return p;
  };
  const endpoints = (urls: string | string[], lines: string[] = [], o = {}): RpcEndpoints => {
    const p = rpcProvider(urls, { onWait: (l) => lines.push(l), ...o });
    providers.push(p);
    return p;
  };
  /** Dev key `i` signing through `p` with the failover client (its wait lines in `lines`); its nonce on the chain now. */
  const signerVia = async (p: PublicRpcProxyFake, i: number) => {
    const lines: string[] = [];
    const provider = endpoints(p.url, lines);
    const wallet = new Wallet(m.keys[i]!, provider);
    const client = await MarketClient.connect({ deployment: m.deployment, provider, signer: wallet });
    return { lines, wallet, client, before: await m.provider.getTransactionCount(wallet.address) };
  };
  const plain = (url: string): JsonRpcProvider => {
    const p = new JsonRpcProvider(url, 31337, { staticNetwork: true, cacheTimeout: -1 });
    providers.push(p);
    return p;
  };

  before(async () => {
    m = await startMarket();
  });
  after(async () => {
    for (const p of providers) p.destroy();
    for (const p of proxies) await p.close();
    await m?.close();
  });

  it("reads logs over a range wider than the RPC's cap, window by window, none wider than the cap", async () => {
    const p = await proxy([m.chain.url], { maxLogRange: 100 });
    const to = Wallet.createRandom().address;
    for (let i = 0; i < 3; i++) {
      await m.admin.mint(to, 1n);
      await m.provider.send("hardhat_mine", ["0x96"]); // 150 blocks between the transfers
    }
    const client = await MarketClient.connect({ deployment: m.deployment, provider: endpoints(p.url) });
    // Without the windows: one call over the whole history, refused as a public RPC refuses it.
    const head = await m.provider.getBlockNumber();
    const err = await client.token.queryFilter("Transfer", m.deployment.blockNumber, head).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).to.match(/query exceeds max block range 100/);
    const logs = await client.logs(client.token, "Transfer", [null, to]);
    expect(logs).to.have.length(3);
    const served = p.callsOf("eth_getLogs").filter((c) => c.outcome === "served");
    for (const c of served) {
      const f = c.params[0] as { fromBlock: string; toBlock: string };
      expect(Number(f.toBlock) - Number(f.fromBlock) + 1).to.be.at.most(100);
    }
    expect(p.unranged).to.deep.equal([]);
  });

  it("waits out a 429 as long as Retry-After says (seconds), saying so; ethers' own retry gives up", async () => {
    const p = await proxy([m.chain.url], { rateLimit: { requests: 3, windowMs: 2_000, retryAfterS: 2 } });
    const lines: string[] = [];
    const provider = endpoints(p.url, lines);
    const t0 = Date.now();
    for (let i = 0; i < 6; i++) await provider.getBalance(Wallet.createRandom().address);
    expect(
      lines.some((l) =>
        /^RPC http:\/\/127\.0\.0\.1:\d+ rate-limited \(429\) on eth_getBalance, retrying in 2 s$/.test(l),
      ),
      lines.join("\n"),
    ).to.equal(true);
    expect(Date.now() - t0).to.be.at.least(1_900);
    // After each 429 the client stayed away for the 2 s the proxy asked for.
    const calls = p.calls;
    for (let i = 0; i < calls.length - 1; i++)
      if (calls[i]!.outcome === "rate-limited") expect(calls[i + 1]!.at - calls[i]!.at).to.be.at.least(1_900);
    // ethers reads Retry-After as milliseconds (FetchRequest): it asks again at once and gives up.
    const bare = plain(p.url);
    await new Promise((r) => setTimeout(r, 2_100));
    const failed = await (async () => {
      for (let i = 0; i < 6; i++) await bare.getBalance(Wallet.createRandom().address);
    })().then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(failed?.message).to.match(/429|retry limit/i);
  });

  it("a 429 with Retry-After 0 pauses at least the backoff and counts toward maxRateLimited: no hot loop", async () => {
    const p = await proxy([m.chain.url], { every429: { n: 1, retryAfterS: 0 } });
    const provider = endpoints(p.url, [], { backoffMs: 100, maxRateLimited: 5 });
    const t0 = Date.now();
    const call = provider.getBalance(Wallet.createRandom().address).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    const err = await Promise.race([call, new Promise<string>((r) => setTimeout(() => r("still asking"), 5_000))]);
    // Two calls (eth_chainId beside eth_getBalance), each given up after its 6th 429.
    expect(p.calls.length, p.calls.map((c) => c.method).join(" ")).to.be.at.most(12);
    expect(err).to.be.instanceOf(Error);
    expect((err as Error).message).to.match(/429/);
    expect(Date.now() - t0).to.be.at.least(5 * 100 - 50);
  });

  it("a Retry-After above the longest wait pauses that endpoint and fails over; alone, it fails the call", async () => {
    const a = await proxy([m.chain.url], { every429: { n: 1, retryAfterS: 120 } });
    const b = await proxy([m.chain.url]);
    const lines: string[] = [];
    const provider = endpoints([a.url, b.url], lines);
    const who = Wallet.createRandom().address;
    expect(await provider.getBalance(who)).to.equal(0n);
    const seen = a.calls.length; // eth_chainId and eth_getBalance, sent at once
    expect(await provider.getBalance(who)).to.equal(0n);
    expect(await provider.getBalance(who)).to.equal(0n);
    expect(a.calls.length, "a is left alone while paused").to.equal(seen);
    expect(lines.join("\n")).to.include(`rate-limited (429) on eth_getBalance for 120 s, using ${b.url}`);
    const alone = endpoints(a.url, [], { maxRetryAfterMs: 60_000 });
    const err = await alone.getBalance(who).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).to.match(/rate-limited \(429\) for 120 s, longer than the 60 s this client waits/);
  });

  it("reads again after a connection cut mid-answer; a bare provider fails", async () => {
    const p = await proxy([m.chain.url]);
    const lines: string[] = [];
    const client = await MarketClient.connect({ deployment: m.deployment, provider: endpoints(p.url, lines) });
    p.dropNext(2, "eth_call");
    expect(await client.balanceOf(await m.admin.address())).to.be.a("bigint");
    expect(p.callsOf("eth_call").filter((c) => c.outcome === "dropped")).to.have.length(2);
    expect(lines.join("\n")).to.match(/failed on eth_call .*retrying in/);
    const bare = await MarketClient.connect({ deployment: m.deployment, provider: plain(p.url) });
    p.dropNext(1, "eth_call");
    const err = await bare.balanceOf(await m.admin.address()).then(
      () => undefined,
      (e: unknown) => e as ChainError,
    );
    expect(err).to.be.instanceOf(ChainError);
  });

  it("a transaction whose answer was cut is looked up by hash, not sent twice", async () => {
    const p = await proxy([m.chain.url]);
    const { lines, wallet, client, before } = await signerVia(p, 9);
    p.dropNext(1, "eth_sendRawTransaction");
    await client.ensureAllowance(m.deployment.market, 12_345n);
    expect(p.callsOf("eth_sendRawTransaction")).to.have.length(1);
    expect(p.callsOf("eth_sendRawTransaction")[0]!.outcome).to.equal("dropped");
    expect(await m.provider.getTransactionCount(wallet.address)).to.equal(before + 1);
    expect(lines.join("\n")).to.match(/answer to sending 0x[0-9a-f]{64} was lost; asking whether it arrived/);
    // Without the look-up: the send fails though the transaction went out (a caller would send another).
    const bare = new Wallet(m.keys[9]!, plain(p.url));
    p.dropNext(1, "eth_sendRawTransaction");
    const err = await bare.sendTransaction({ to: bare.address, value: 0n }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err).to.be.instanceOf(Error);
    expect(await m.provider.getTransactionCount(wallet.address)).to.equal(before + 2);
  });

  it("a cut send whose look-ups fail too is an error saying it may have been sent, with its hash", async () => {
    const p = await proxy([m.chain.url]);
    const provider = endpoints(p.url, [], { rounds: 1 });
    const wallet = new Wallet(m.keys[5]!, provider);
    const before = await m.provider.getTransactionCount(wallet.address);
    p.dropNext(3, ["eth_sendRawTransaction", "eth_getTransactionByHash", "eth_getTransactionCount"]);
    const err = await wallet
      .sendTransaction({ to: wallet.address, value: 0n, nonce: before, gasLimit: 21_000n, chainId: 31337n })
      .then(
        () => undefined,
        (e: unknown) => e as Error,
      );
    const sent = p.callsOf("eth_sendRawTransaction");
    expect(sent, "not sent again").to.have.length(1);
    const hash = keccak256(String(sent[0]!.params[0]));
    expect(err?.message).to.include(`transaction ${hash} may have been sent`);
    expect(await m.provider.getTransactionCount(wallet.address)).to.equal(before + 1);
  });

  it("a cut send looked up on a lagging endpoint goes again as the same bytes; 'nonce too low' then means sent: one transaction", async () => {
    // The lagging endpoint neither shows the mined transaction by hash nor counts its nonce: the look-up finds nothing.
    const p = await proxy([m.chain.url], { lagBlocks: 3, lagReleaseMs: 2_000, lagTransactions: true });
    await m.provider.send("hardhat_mine", ["0x3"]); // the key's last transaction is within what the proxy serves
    const { lines, wallet, client, before } = await signerVia(p, 7);
    p.dropNext(1, "eth_sendRawTransaction");
    await client.ensureAllowance(m.deployment.market, 54_321n);
    const sends = p.callsOf("eth_sendRawTransaction");
    expect(sends.map((c) => c.outcome)).to.deep.equal(["dropped", "served"]);
    expect(sends[1]!.params[0], "the same signed bytes").to.equal(sends[0]!.params[0]);
    expect(await m.provider.getTransactionCount(wallet.address), "one transaction").to.equal(before + 1);
    expect(lines.join("\n")).to.match(/answer to sending 0x[0-9a-f]{64} was lost/);
  });

  it("a replacement whose answer was cut is still watched: its receipt is the one returned", async () => {
    const p = await proxy([m.chain.url]);
    const provider = plain(p.url);
    const key = new Wallet(m.keys[6]!, provider);
    const GWEI = 1_000_000_000n;
    await m.provider.send("evm_setAutomine", [false]);
    try {
      const tx = await key.sendTransaction({
        to: key.address,
        value: 1n,
        type: 2,
        maxFeePerGas: 2n * GWEI,
        maxPriorityFeePerGas: GWEI,
      });
      const sentAtBlock = await m.provider.getBlockNumber();
      // The market moves above the first copy's max fee: it stays unmined.
      await m.provider.send("hardhat_setNextBlockBaseFeePerGas", [toQuantity(10n * GWEI)]);
      await m.provider.send("evm_mine", []);
      const r = new Replacer({
        provider,
        signer: key,
        sent: tx,
        sentAtBlock,
        fees: {
          maxFeePerGas: 100n * GWEI,
          maxPriorityFeePerGas: 2n * GWEI,
          replaceAfterBlocks: 1,
          replaceAfterMs: 600_000,
        },
        action: "a transfer",
        onProgress: () => {},
      });
      p.dropNext(1, "eth_sendRawTransaction");
      const receipt = waitForReceipt(provider, tx, {
        action: "a transfer",
        timeoutMs: 60_000,
        pollMs: 50,
        replace: (watch) => r.replace(watch),
      });
      receipt.catch(() => {});
      const cut = await new Promise<string>((resolve) => {
        const t = setInterval(() => {
          const c = p.callsOf("eth_sendRawTransaction").find((x) => x.outcome === "dropped");
          if (!c) return;
          clearInterval(t);
          resolve(String(c.params[0]));
        }, 20);
      });
      await m.provider.send("evm_mine", []); // the cut copy reached the chain: it is mined
      const got = await receipt;
      expect(got.hash).to.equal(keccak256(cut));
      expect(got.hash).to.not.equal(tx.hash);
      expect(await m.provider.getTransactionCount(key.address, "latest")).to.equal(tx.nonce + 1);
    } finally {
      await m.provider.send("evm_setAutomine", [true]);
      await m.provider.send("hardhat_setNextBlockBaseFeePerGas", [toQuantity(GWEI)]);
      await m.provider.send("evm_mine", []);
    }
  });

  it("keeps to the freshest of a lagging and a fresh endpoint (the lagging one alone never shows the receipt)", async () => {
    const lagging = await proxy([m.chain.url], { lagBlocks: 3 });
    const fresh = await proxy([m.chain.url]);
    const sender = new Wallet(m.keys[8]!, m.provider);
    const send = () => sender.sendTransaction({ to: Wallet.createRandom().address, value: 1n });
    // Alone, the lagging endpoint serves a head 3 blocks old: a transaction just mined has no receipt there.
    const tx0 = await send();
    const alone = endpoints(lagging.url);
    expect(await alone.getBlockNumber()).to.equal((await m.provider.getBlockNumber()) - 3);
    const err = await waitForReceipt(alone, tx0, { action: "a transfer", timeoutMs: 1_500, pollMs: 100 }).then(
      () => undefined,
      (e: unknown) => e as ChainError,
    );
    expect(err?.code).to.equal("CHAIN_TIMEOUT");
    const both = endpoints([lagging.url, fresh.url]);
    const tx = await send();
    expect(await both.getBlockNumber()).to.equal(await m.provider.getBlockNumber());
    expect(both.currentUrl).to.equal(fresh.url);
    const r = await waitForReceipt(both, tx, { action: "a transfer", timeoutMs: 10_000, pollMs: 100 });
    expect(r.hash).to.equal(tx.hash);
  });

  it("after a failover to a lagging endpoint, asks receipts, transactions and latest nonces of every endpoint and takes the freshest", async () => {
    const fresh = await proxy([m.chain.url, "http://127.0.0.1:1"]);
    const lagging = await proxy([m.chain.url], { lagBlocks: 3, lagTransactions: true });
    const provider = endpoints([fresh.url, lagging.url], [], { backoffMs: 1 });
    const who = Wallet.createRandom().address;
    await provider.getBlockNumber(); // both heads known, the fresh endpoint's the highest
    expect(provider.currentUrl).to.equal(fresh.url);
    fresh.use(1); // the fresh endpoint's upstream dies for one read: the provider fails over to the lagging one
    expect(await provider.getBalance(who)).to.equal(0n);
    expect(provider.currentUrl).to.equal(lagging.url);
    fresh.use(0);
    const sender = new Wallet(m.keys[8]!, m.provider);
    const tx = await sender.sendTransaction({ to: who, value: 1n });
    const mined = (await tx.wait())!;
    const nonce = await m.provider.getTransactionCount(sender.address, "latest");
    // The lagging endpoint alone (or a provider over it alone, unchanged: one call each) has none of it yet.
    const alone = endpoints(lagging.url);
    const before = lagging.callsOf("eth_getTransactionReceipt").length;
    expect(await alone.send("eth_getTransactionReceipt", [tx.hash])).to.equal(null);
    expect(lagging.callsOf("eth_getTransactionReceipt").length).to.equal(before + 1);
    expect(await alone.send("eth_getTransactionByHash", [tx.hash])).to.equal(null);
    expect(await alone.getTransactionCount(sender.address, "latest")).to.be.below(nonce);
    // Over both, still on the lagging endpoint: the receipt is there, the transaction mined, the nonce current.
    expect(provider.currentUrl).to.equal(lagging.url);
    const receipt = (await provider.send("eth_getTransactionReceipt", [tx.hash])) as { blockNumber: string } | null;
    expect(receipt?.blockNumber).to.equal(toQuantity(mined.blockNumber));
    const byHash = (await provider.send("eth_getTransactionByHash", [tx.hash])) as { blockNumber: string | null };
    expect(byHash?.blockNumber).to.equal(receipt?.blockNumber);
    expect(await provider.getTransactionCount(sender.address, "latest")).to.equal(nonce);
    expect(await provider.getTransactionCount(sender.address, "pending")).to.equal(nonce);
    expect((await provider.getTransactionReceipt(tx.hash))?.hash).to.equal(tx.hash);
  });

  it("never sends a log query to an endpoint whose head is below its toBlock: after a failover it waits for one that has it", async () => {
    const fresh = await proxy([m.chain.url, "http://127.0.0.1:1"]);
    const lagging = await proxy([m.chain.url], { lagBlocks: 3 });
    const lines: string[] = [];
    const provider = endpoints([fresh.url, lagging.url], lines, { rounds: 5 });
    const to = Wallet.createRandom().address;
    await m.admin.mint(to, 7n);
    const head = await provider.getBlockNumber(); // both heads known: the fresh one's, 3 behind it the lagging one's
    expect(head).to.equal(await m.provider.getBlockNumber());
    fresh.use(1); // the fresh endpoint's upstream dies: a failover would land on the lagging one
    const query = provider.getLogs({ address: m.deployment.token, fromBlock: head - 5, toBlock: head });
    setTimeout(() => fresh.use(0), 600);
    const logs = await query;
    expect(logs.map((l) => l.blockNumber)).to.include(head); // the mint's Transfer, not cut short at the lagging head
    expect(lagging.callsOf("eth_getLogs"), "the lagging endpoint was never asked").to.deep.equal([]);
    expect(lines.join("\n")).to.match(/behind block \d+ \(at \d+\) for eth_getLogs, waiting/);
  });

  it("fails over when its endpoint switches to a dead upstream (502) or goes away, and names the one it uses", async () => {
    const a = await proxy([m.chain.url, "http://127.0.0.1:1"]); // undici refuses port 1 ("bad port"): a dead upstream
    const b = await proxy([m.chain.url]);
    const lines: string[] = [];
    const provider = endpoints([a.url, b.url], lines);
    const who = Wallet.createRandom().address;
    expect(await provider.getBalance(who)).to.equal(0n);
    expect(provider.currentUrl).to.equal(a.url);
    a.use(1);
    expect(await provider.getBalance(who)).to.equal(0n);
    expect(provider.currentUrl).to.equal(b.url);
    expect(lines.join("\n")).to.include(`failed on eth_getBalance (HTTP_502), using ${b.url}`);
    // b goes away: back to a, once its upstream is back.
    a.use(0);
    await b.close();
    await new Promise((r) => setTimeout(r, 300)); // a's pause after its 502 (the first backoff) is over
    expect(await provider.getBalance(who)).to.equal(0n);
    expect(provider.currentUrl).to.equal(a.url);
    // Only a bare single endpoint: the dead upstream is an error at once.
    a.use(1);
    const err = await plain(a.url)
      .getBalance(who)
      .then(
        () => undefined,
        (e: unknown) => e as Error,
      );
    expect(err).to.be.instanceOf(Error);
    a.use(0);
  });

  it("concurrent calls over a dead endpoint and a rate-limited one all wait for the 429 to pass: an earlier call's answer does not end its pause", async () => {
    // A port nothing listens on (undici refuses well-known ones such as 9 itself).
    const free = createServer().listen(0, "127.0.0.1");
    await once(free, "listening");
    const dead = `http://127.0.0.1:${(free.address() as AddressInfo).port}`;
    free.close();
    const who = Wallet.createRandom().address;
    // Every 4th request is a 429: some of six calls in flight get one while others, sent before it, are answered.
    // The answered ones once marked the endpoint "not rate-limited" under the 429's pause, and the calls waiting on
    // it counted the dead endpoint's refusals as rounds and gave up (8 of 10 rounds failed).
    for (let round = 0; round < 10; round++) {
      const p = await proxy([m.chain.url], { every429: { n: 4, retryAfterS: 1 } });
      const lines: string[] = [];
      const provider = endpoints([dead, p.url], lines);
      const got = await Promise.all(
        Array.from({ length: 6 }, (_, k) => (k % 2 ? provider.getBalance(who) : provider.getBlockNumber())),
      );
      expect(got, lines.join("\n")).to.have.length(6);
      expect(p.calls.some((c) => c.outcome === "rate-limited")).to.equal(true);
    }
  });

  it("MarketClient's log readers send only ranged eth_getLogs within the window", async () => {
    const p = await proxy([m.chain.url], { maxLogRange: 2_000 });
    const owner = await clientFor(m, 2, USD(100));
    const root = await owner.createApp(Wallet.createRandom().address, TEST_POLICY, USD(10));
    await m.provider.send("hardhat_mine", ["0x1388"]); // 5,000 blocks: three windows
    const c = await MarketClient.connect({ deployment: m.deployment, provider: endpoints(p.url) });
    await c.leasesOf(root);
    await c.listedOperators();
    await c.relayFeesOf(root);
    await c.solvency();
    expect(p.callsOf("eth_getLogs").length).to.be.at.least(3);
    checkRanged(p, 2_000);
  });

  it("a yard's agent gateway passes the chain RPC's 429 on as a 429 (the sidecar's client waits), not as a 502", async () => {
    const p = await proxy([m.chain.url], { every429: { n: 1, retryAfterS: 1 } });
    const filter = new RpcFilter({
      rpcUrl: p.url,
      maxAnswerBytes: 1 << 20,
      callGas: 10_000_000n,
      upstreamConcurrent: 2,
    });
    const e = await filter.handle({ jsonrpc: "2.0", id: 1, method: "eth_blockNumber", params: [] }).then(
      () => undefined,
      (x: unknown) => x as GatewayRefusal,
    );
    expect(e).to.be.instanceOf(GatewayRefusal);
    expect(e!.status).to.equal(429);
  });

  it("sends a URL's credentials as Basic authorization, and names endpoints without them in every line and error", async () => {
    const p = await proxy([m.chain.url]);
    const port = new URL(p.url).port;
    const lines: string[] = [];
    const provider = endpoints(`http://alice:s3cret@127.0.0.1:${port}/v2/KEY123`, lines);
    expect(await provider.getBalance(Wallet.createRandom().address)).to.equal(0n);
    const auth = p.callsOf("eth_getBalance")[0]!.authorization;
    expect(auth).to.equal(`Basic ${Buffer.from("alice:s3cret").toString("base64")}`);
    // A dead endpoint with credentials: the lines and the error name it by scheme and host only.
    const dead = endpoints(
      ["http://bob:hunter2@127.0.0.1:1/v2/KEY456", `http://alice:s3cret@127.0.0.1:${port}`],
      lines,
    );
    expect(await dead.getBalance(Wallet.createRandom().address)).to.equal(0n);
    const alone = endpoints("http://bob:hunter2@127.0.0.1:1/v2/KEY456", lines, { rounds: 1, backoffMs: 10 });
    const err = await alone.getBalance(Wallet.createRandom().address).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err).to.be.instanceOf(Error);
    const said = `${lines.join("\n")}\n${err!.message}`;
    expect(said).to.include("http://127.0.0.1:1");
    for (const secret of ["s3cret", "hunter2", "KEY123", "KEY456", "alice", "bob"]) expect(said).to.not.include(secret);
  });

  it("parses RPC URL lists and refuses a bad one with a sentence", () => {
    expect(rpcUrlList("http://a:1, http://b:2")).to.deep.equal(["http://a:1", "http://b:2"]);
    expect(rpcUrlList(["http://a:1", "http://a:1"])).to.deep.equal(["http://a:1"]);
    expect(() => rpcUrlList("localhost:8545")).to.throw(/not an http:\/\/ or https:\/\/ URL: write it as/);
    expect(() => rpcUrlList(" ")).to.throw(/is empty/);
  });
});
