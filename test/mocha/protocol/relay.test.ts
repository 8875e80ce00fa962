/**
 * Relayed intents end to end: real libp2p nodes on loopback (TCP + noise + yamux), the yard's relay service
 * (yard-node/relay.ts) sending from its operator's key, an ICON whose key holds no ETH at all, its MarketClient
 * relaying every market call through IntentSender (protocol/relay/sender.ts), on the embedded chain with the real
 * market. Every amount is checked to the unit: what the ICON's account paid, what each relayer earned.
 */
import { expect } from "chai";
import { Wallet, type Signer } from "ethers";
import type { Libp2p } from "@libp2p/interface";
import { lpStream } from "@libp2p/utils";
import {
  ChainError,
  IntentSender,
  MarketClient,
  RELAY_PROTOCOL,
  createIconNode,
  isIconError,
  relayIntent,
  relayTerms,
  type SignedIntent,
} from "../../../protocol/index.ts";
import { createLogger } from "../../../protocol/log.ts";
import { Metrics } from "../../../yard-node/metrics.ts";
import { YardMetrics } from "../../../yard-node/yard-metrics.ts";
import { relayChainOf, relayService, type RelayChain, type RelayServiceOptions } from "../../../yard-node/relay.ts";
import {
  defaultPolicy,
  deployMarket,
  deploymentOf,
  makeOffer,
  network,
  signOffer,
  listProvider,
  USD,
  type Market,
} from "../../helpers/market.ts";
import { ACCEPTANCE_TYPES } from "../../../protocol/eip712.ts";

const conn = await network.create();
const FEE = 1_000n;
const CAP = 5_000n;
const quiet = createLogger({ level: "error" });

interface TestYard {
  node: Libp2p;
  operator: Signer;
  addrs: string[];
  stop(): Promise<void>;
}

describe("relayed intents (/icon/relay/1.0.0): an ICON whose key holds no ETH", function () {
  this.timeout(120_000);
  let m: Market;
  let icon: Wallet;
  let root: bigint;
  let iconNode: Libp2p;
  const yards: TestYard[] = [];

  /** A yard relaying from `operator`, asking `fee`; `wrap` may put a fault-injecting fake around its chain. */
  async function startYard(
    operator: Signer,
    o: Partial<RelayServiceOptions> & { wrap?: (c: RelayChain) => RelayChain } = {},
  ): Promise<TestYard> {
    const node = await createIconNode();
    const chain = await MarketClient.connect({
      deployment: await deploymentOf(m),
      provider: m.ethers.provider,
      signer: operator,
    });
    const real = relayChainOf(chain);
    const service = relayService({
      chain: o.wrap ? o.wrap(real) : real,
      fee: FEE,
      log: quiet,
      metrics: new YardMetrics(new Metrics()),
      ...o,
    })({ registrar: node });
    await service.start();
    const y = {
      node,
      operator,
      addrs: node.getMultiaddrs().map(String),
      stop: async () => {
        await service.stop();
        await node.stop();
      },
    };
    yards.push(y);
    return y;
  }

  /** The ICON's client, relaying through `through` (in that order); `now` is its wall clock. */
  async function iconClient(
    through: TestYard[],
    account = root,
    key: Wallet = icon,
    now?: () => number,
  ): Promise<MarketClient> {
    const client = await MarketClient.connect({
      deployment: await deploymentOf(m),
      provider: m.ethers.provider,
      signer: key,
    });
    client.useRelay(
      new IntentSender({
        node: iconNode,
        client,
        account,
        maxFee: async () => (await client.app(root)).policy.maxRelayFee,
        yards: () => through.map((y) => y.addrs),
        ...(now ? { now } : {}),
      }),
    );
    return client;
  }

  const earned = async (y: TestYard) => m.market.earningsOf(await y.operator.getAddress());
  const balanceOf = async (id: bigint) => (await m.market.account(id)).balance;
  const eth = (a: string) => m.ethers.provider.getBalance(a);

  before(async () => {
    m = await deployMarket(conn);
    await listProvider(m, m.provider);
    icon = new Wallet(Wallet.createRandom().privateKey, m.ethers.provider);
    const policy = { ...defaultPolicy(), maxRelayFee: CAP, relayAllowancePerDay: USD(1) };
    await (await m.market.connect(m.owner).createApp(icon.address, policy, USD(100))).wait();
    root = await m.market.accountCount();
    iconNode = await createIconNode();
  });
  after(async () => {
    for (const y of yards) await y.stop();
    await iconNode.stop();
  });

  it("creates, funds, asks, takes back and closes a child and ends a lease — every call relayed, each repaid exactly the fee", async () => {
    const a = await startYard(m.stranger);
    const client = await iconClient([a]);
    expect(await eth(icon.address)).to.equal(0n);
    const start = await balanceOf(root);

    const childKey = Wallet.createRandom();
    const child = await client.createAccount(root, childKey.address);
    expect((await m.market.account(child)).controller).to.equal(childKey.address);
    await client.allocate(root, child, 100_000n);
    expect(await balanceOf(child)).to.equal(100_000n);
    const asked = await client.requestFunding(root, 5_000n);
    const ev = asked.logs.map((l) => m.market.interface.parseLog(l)).find((p) => p?.name === "FundingRequested");
    expect(ev?.args[3]).to.equal(5_000n);
    await client.returnToParent(child, 40_000n);
    await client.closeAccount(child);
    expect((await m.market.account(child)).closed).to.equal(true);

    // A lease the ICON accepted (the yard relays openLease with its acceptance, as always), ended by an intent.
    const offer = await makeOffer(m, root);
    const tenantSig = await icon.signTypedData(m.domain, ACCEPTANCE_TYPES, { offer });
    await (await m.market.connect(m.stranger).openLease(offer, await signOffer(m, offer), tenantSig)).wait();
    const leaseId = await m.market.leaseCount();
    const deposit = offer.pricePerSecond * (offer.end - offer.start);
    expect(await client.terminate(leaseId)).to.equal(deposit); // not started: all of it back

    // Six intents: the child's 100 000 came back (40 000 + 60 000), the lease's deposit too; six fees went out.
    expect(await balanceOf(root)).to.equal(start - 6n * FEE);
    expect(await earned(a)).to.equal(6n * FEE);
    expect(await eth(icon.address)).to.equal(0n);
  });

  it("a call the market refuses is refused with the market's reason, and the yard sends nothing", async () => {
    const a = await startYard(m.provider2);
    const client = await iconClient([a]);
    const child = await client.createAccount(root, Wallet.createRandom().address);
    const operator = await a.operator.getAddress();
    const [balance, gas, earnings] = [await balanceOf(root), await eth(operator), await earned(a)];
    const err = await client.allocate(root, child, balance + 1n).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(ChainError);
    expect(isIconError(err, "BudgetInsufficientBalance")).to.equal(true);
    // Nothing moved and nothing was sent: the operator's ETH is untouched (only a simulation ran).
    expect(await balanceOf(root)).to.equal(balance);
    expect(await eth(operator)).to.equal(gas);
    expect(await earned(a)).to.equal(earnings);
  });

  it("passes over a yard that asks more than the owner's cap and one that cannot be reached", async () => {
    const dear = await startYard(m.deployer, { fee: CAP + 1n });
    const gone = await startYard(m.owner);
    const goneAddrs = gone.addrs;
    await gone.stop();
    yards.splice(yards.indexOf(gone), 1);
    const cheap = await startYard(m.stranger);
    const client = await iconClient([dear, { ...gone, addrs: goneAddrs }, cheap]);
    const [dearBefore, cheapBefore] = [await earned(dear), await earned(cheap)];
    await client.requestFunding(root, 1n);
    expect(await earned(dear)).to.equal(dearBefore);
    expect(await earned(cheap)).to.equal(cheapBefore + FEE);
  });

  it("when a yard sends and then fails, the next yard gets a copy with the same nonce and the operation runs exactly once", async () => {
    // SendsThenFailsFake: relays for real, then answers as if the chain had failed (a reply lost after sending).
    const flaky = await startYard(m.provider, {
      wrap: (c) => ({
        ...c,
        relayIntent: async (s) => {
          await c.relayIntent(s);
          throw new ChainError("CHAIN_FAILED", "SendsThenFailsFake: the answer was lost after sending");
        },
      }),
    });
    const next = await startYard(m.provider2);
    const client = await iconClient([flaky, next]);
    const child = await client.createAccount(root, Wallet.createRandom().address);
    const [flakyBefore, nextBefore, rootBefore] = [await earned(flaky), await earned(next), await balanceOf(root)];
    const receipt = await client.allocate(root, child, 7n);
    expect(receipt.status).to.equal(1);
    expect(await balanceOf(child)).to.equal(7n);
    expect(await balanceOf(root)).to.equal(rootBefore - 7n - FEE);
    expect(await earned(flaky)).to.equal(flakyBefore + FEE);
    expect(await earned(next)).to.equal(nextBefore);
  });

  it("each yard's copy names that yard alone and shares one nonce: a copy captured on the way cannot be run by anyone else, nor after another copy ran", async () => {
    // RecordsAndFailsFake: keeps the signed copy it was given and answers as if the chain had failed, sending nothing.
    let captured: SignedIntent | undefined;
    const recorder = await startYard(m.deployer, {
      wrap: (c) => ({
        ...c,
        relayIntent: async (signed) => {
          captured = signed;
          throw new ChainError("CHAIN_FAILED", "RecordsAndFailsFake: nothing was sent");
        },
      }),
    });
    const next = await startYard(m.provider2);
    const client = await iconClient([recorder, next]);
    const receipt = await client.requestFunding(root, 3n);
    expect(receipt.status).to.equal(1);
    expect(captured!.intent.relayer).to.equal(m.deployer.address);
    const ran = receipt.logs.map((l) => m.market.interface.parseLog(l)).find((p) => p?.name === "Relayed")!;
    expect(ran.args[2]).to.equal(m.provider2.address);
    expect(ran.args[3]).to.equal(captured!.intent.nonce);
    // Anyone else who saw the captured copy cannot take its fee; the yard it names cannot run it a second time.
    await expect(
      m.market.connect(m.stranger).relay(captured!.intent, captured!.signature),
    ).to.be.revertedWithCustomError(m.market, "RelayWrongRelayer");
    await expect(
      m.market.connect(m.deployer).relay(captured!.intent, captured!.signature),
    ).to.be.revertedWithCustomError(m.market, "LeaseNonceUsed");
  });

  it("bounds each application's intents at a yard, whatever peers they come through", async () => {
    const y = await startYard(m.stranger, { perAppBurst: 1, perAppPerMinute: 1 });
    const client = await iconClient([y]);
    await client.requestFunding(root, 1n);
    const other = await createIconNode();
    try {
      const terms = await relayTerms(other, y.node.getMultiaddrs());
      const signed = await client.intents.requestFunding(root, 1n, { fee: terms.fee, relayer: terms.relayer });
      const err = await relayIntent(other, y.node.getMultiaddrs(), signed).catch((e: unknown) => e);
      expect(err).to.have.property("code", "RELAY_BUSY");
      expect((err as Error).message).to.contain(`application ${root}`);
    } finally {
      await other.stop();
    }
  });

  it("a chain whose last block is minutes old (no traffic) does not make the intent look expired to the yard", async () => {
    // The yard's and the ICON's wall clocks run 5 minutes ahead of the chain's last block, as when nothing was mined.
    const ahead = () => Date.now() + 300_000;
    const y = await startYard(m.stranger, { now: ahead });
    const client = await iconClient([y], root, icon, ahead);
    const before = await earned(y);
    expect((await client.requestFunding(root, 1n)).status).to.equal(1);
    expect(await earned(y)).to.equal(before + FEE);
  });

  it("the yard refuses a wrong relayer, a low fee and a deadline too close before simulating, and a flood from one peer", async () => {
    const y = await startYard(m.stranger, { perPeerBurst: 2, perPeerPerMinute: 1 });
    const terms = await relayTerms(iconNode, y.node.getMultiaddrs());
    expect(terms.fee).to.equal(FEE);
    expect(terms.relayer).to.equal(m.stranger.address);
    const nowS = BigInt(Math.floor(Date.now() / 1000));
    const base: SignedIntent = {
      intent: {
        signer: icon.address,
        account: root,
        data: m.market.interface.encodeFunctionData("requestFunding", [root, 1n]),
        fee: FEE,
        relayer: terms.relayer,
        nonce: 1n,
        deadline: nowS + 600n,
      },
      signature: "0x" + "00".repeat(65),
    };
    const send = (s: SignedIntent) => relayIntent(iconNode, y.node.getMultiaddrs(), s).catch((e: unknown) => e);
    expect(await send({ ...base, intent: { ...base.intent, relayer: m.owner.address } })).to.have.property(
      "code",
      "RELAY_WRONG_RELAYER",
    );
    expect(await send({ ...base, intent: { ...base.intent, fee: FEE - 1n } })).to.have.property(
      "code",
      "RELAY_FEE_TOO_LOW",
    );
    expect(await send({ ...base, intent: { ...base.intent, deadline: nowS + 5n } })).to.have.property(
      "code",
      "RELAY_EXPIRED",
    );
    // A bad signature passes these checks and is refused by the market's simulation; the third in a row is a flood.
    expect(await send(base)).to.have.property("code", "RELAY_REFUSED");
    expect(await send(base)).to.have.property("code", "RELAY_REFUSED");
    expect(await send(base)).to.have.property("code", "RELAY_BUSY");
  });

  it("stays up when a peer sends garbage or hangs up mid-frame", async () => {
    const y = await startYard(m.stranger);
    for (const bytes of [
      new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f]),
      new Uint8Array([5, 1, 2]),
      new Uint8Array(0),
    ]) {
      const s = await iconNode.dialProtocol(y.node.getMultiaddrs(), RELAY_PROTOCOL);
      await s.send(bytes);
      await s.close().catch(() => {});
    }
    const s = await iconNode.dialProtocol(y.node.getMultiaddrs(), RELAY_PROTOCOL);
    const lp = lpStream(s);
    await lp.write(new Uint8Array([0x1a, 0x02, 0x0a, 0x00]));
    s.abort(new Error("gone"));
    expect((await relayTerms(iconNode, y.node.getMultiaddrs())).fee).to.equal(FEE);
  });
});
