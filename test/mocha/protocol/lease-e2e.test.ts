/**
 * Real libp2p nodes on loopback (TCP + noise + yamux) negotiate a lease with each other and open it on the
 * embedded chain through the real contracts: the yard signs the offer, the ICON signs the acceptance, the
 * yard relays openLease.
 */
import { expect } from "chai";
import { verifyTypedData } from "ethers";
import type { Libp2p } from "@libp2p/interface";
import {
  ACCEPTANCE_TYPES,
  LeaseRejectedError,
  LeaseSession,
  MarketClient,
  OFFER_TYPES,
  RejectCode,
  UntrustedPeerError,
  createIconNode,
  peerIdBytes,
  serveLeases,
  signPeerBinding,
  verifyPeerBinding,
  type LeaseProvider,
  type Offer,
  type Rfq,
} from "../../../protocol/index.ts";
import {
  network,
  deployMarket,
  createApp,
  deploymentOf,
  listing,
  params,
  USD,
  type Market,
} from "../../helpers/market.ts";

const conn = await network.create();
const FLOOR = 100n; // token units per second

/** A provider with a fixed floor price, signing with the operator key and relaying through the chain. */
function provider(m: Market, chain: MarketClient, yard: Libp2p): LeaseProvider & { opened: number } {
  let nonce = 0n;
  const p = {
    opened: 0,
    async capacity() {
      return {
        cpuMillisFree: 4000,
        memoryMiBFree: 8192,
        cpuPricePerSecond: 10n,
        memoryPricePerSecond: 5n,
        region: "eu-central",
        binding: await signPeerBinding(m.provider, yard.peerId, m.chainId, chain.deployment.registry),
      };
    },
    async quote(rfq: Rfq, counter: bigint | undefined) {
      const price = counter === undefined ? FLOOR * 2n : counter >= FLOOR ? counter : FLOOR;
      if (rfq.maxPricePerSecond < FLOOR)
        return { reject: RejectCode.PRICE_BELOW_FLOOR, message: `the floor is ${FLOOR} units/s` };
      const now = BigInt((await m.ethers.provider.getBlock("latest"))!.timestamp);
      const offer: Offer = {
        provider: m.provider.address,
        account: rfq.tenantAccount,
        token: chain.deployment.token,
        pricePerSecond: price,
        cpuMillis: rfq.cpuMillis,
        memoryMiB: rfq.memoryMiB,
        start: now + 30n,
        end: now + 30n + BigInt(rfq.slotSeconds),
        specHash: rfq.imageDigest,
        nonce: nonce++,
        deadline: now + 600n,
      };
      return { offer, providerSignature: await m.provider.signTypedData(m.domain, OFFER_TYPES, offer) };
    },
    async accept(tenantSignature: string, ctx: { lastQuote?: { offer: Offer; providerSignature: string } }) {
      const q = ctx.lastQuote!;
      const controller = (await chain.account(q.offer.account)).controller;
      if (verifyTypedData(m.domain, ACCEPTANCE_TYPES, { offer: q.offer }, tenantSignature) !== controller) {
        return {
          reject: RejectCode.BAD_SIGNATURE,
          message: "the acceptance is not signed by the account's controller",
        };
      }
      const leaseId = await chain.openLease(q.offer, q.providerSignature, tenantSignature);
      p.opened++;
      return { leaseId, txHash: "0x" + "11".repeat(32) };
    },
  };
  return p;
}

describe("lease protocol over libp2p against the contracts", function () {
  this.timeout(60_000);
  let m: Market;
  let yard: Libp2p;
  let agent: Libp2p;
  let chain: MarketClient;
  let impl: ReturnType<typeof provider>;
  let stop: () => Promise<void>;
  let account: bigint;

  const rfq = (over: Partial<Rfq> = {}): Rfq => ({
    cpuMillis: 500,
    memoryMiB: 256,
    slotSeconds: 3600,
    earliestStart: 0n,
    maxPricePerSecond: 1_000n,
    imageRef: "icon/echo:1",
    imageDigest: "0x" + "ab".repeat(32),
    tenantAccount: account,
    ...over,
  });

  before(async () => {
    m = await deployMarket(conn);
    yard = await createIconNode();
    agent = await createIconNode();
    await m.registry.connect(m.provider).register({ ...listing(), peerId: peerIdBytes(yard.peerId) });
    await m.registry.connect(m.provider).stake(params.minStake * 10n);
    account = await createApp(m, USD(1_000));
    chain = await MarketClient.connect({
      deployment: await deploymentOf(m),
      provider: m.ethers.provider,
      signer: m.stranger,
    });
    impl = provider(m, chain, yard);
    stop = await serveLeases(yard, impl);
  });
  after(async () => {
    await stop();
    await agent.stop();
    await yard.stop();
  });

  it("negotiates RFQ → Quote → Counter → Quote → Accept → Opened and the lease exists on chain at the agreed price", async () => {
    const s = await LeaseSession.open(agent, yard.getMultiaddrs()[0]!);
    const cap = await s.request({ type: "capacityQuery" });
    expect(cap.type).to.equal("capacityAnswer");
    if (cap.type !== "capacityAnswer") return;
    expect(await verifyPeerBinding(cap.answer.binding, yard.peerId, chain)).to.equal(m.provider.address);

    const q1 = await s.request({ type: "rfq", rfq: rfq() });
    expect(q1.type).to.equal("quote");
    if (q1.type !== "quote") return;
    expect(q1.offer.pricePerSecond).to.equal(FLOOR * 2n);
    const q2 = await s.request({ type: "counter", pricePerSecond: 150n });
    if (q2.type !== "quote") throw new Error("expected a quote");
    expect(q2.round).to.equal(1);
    expect(q2.offer.pricePerSecond).to.equal(150n);

    const tenantSignature = await m.icon.signTypedData(m.domain, ACCEPTANCE_TYPES, { offer: q2.offer });
    const opened = await s.request({ type: "accept", tenantSignature });
    if (opened.type !== "opened") throw new Error("expected opened");
    const lease = await chain.lease(opened.leaseId);
    expect(lease.pricePerSecond).to.equal(150n);
    expect(lease.account).to.equal(account);
    expect(lease.provider).to.equal(m.provider.address);
    expect(lease.state).to.equal("Scheduled");
    await s.close();
  });

  it("answers a retried Accept with the same request id with the same lease, never a second one", async () => {
    const s = await LeaseSession.open(agent, yard.getMultiaddrs()[0]!);
    const q = await s.request({ type: "rfq", rfq: rfq() });
    if (q.type !== "quote") throw new Error("expected a quote");
    const tenantSignature = await m.icon.signTypedData(m.domain, ACCEPTANCE_TYPES, { offer: q.offer });
    const before = s.state;
    const first = await s.request({ type: "accept", tenantSignature });
    await s.close();
    const openedBefore = impl.opened;
    const retry = await LeaseSession.open(agent, yard.getMultiaddrs()[0]!, { requestId: s.requestId, state: before });
    const second = await retry.request({ type: "accept", tenantSignature });
    expect(second).to.deep.equal(first);
    expect(impl.opened).to.equal(openedBefore);
    await retry.close();
  });

  it("refuses an RFQ below the floor with a reason code and a sentence", async () => {
    const s = await LeaseSession.open(agent, yard.getMultiaddrs()[0]!);
    const err = await s.request({ type: "rfq", rfq: rfq({ maxPricePerSecond: 10n }) }).catch((e) => e);
    expect(err).to.be.instanceOf(LeaseRejectedError);
    expect((err as LeaseRejectedError).reject).to.equal(RejectCode.PRICE_BELOW_FLOOR);
    expect((err as LeaseRejectedError).message).to.contain("floor");
  });

  it("refuses an acceptance signed by a key that does not control the account", async () => {
    const s = await LeaseSession.open(agent, yard.getMultiaddrs()[0]!);
    const q = await s.request({ type: "rfq", rfq: rfq() });
    if (q.type !== "quote") throw new Error("expected a quote");
    const forged = await m.stranger.signTypedData(m.domain, ACCEPTANCE_TYPES, { offer: q.offer });
    const err = await s.request({ type: "accept", tenantSignature: forged }).catch((e) => e);
    expect((err as LeaseRejectedError).reject).to.equal(RejectCode.BAD_SIGNATURE);
  });

  it("refuses more counter-offers than the limit with TOO_MANY_ROUNDS", async () => {
    const s = await LeaseSession.open(agent, yard.getMultiaddrs()[0]!);
    await s.request({ type: "rfq", rfq: rfq() });
    for (let i = 0; i < 3; i++) await s.request({ type: "counter", pricePerSecond: 120n });
    // The client's own state machine refuses a fourth counter before it reaches the wire.
    const err = await s.request({ type: "counter", pricePerSecond: 120n }).catch((e) => e);
    expect((err as Error).message).to.contain("at most 3 counter-offers");
  });

  it("ignores a yard whose peer id is not the one its operator registered", async () => {
    const impostor = await createIconNode();
    try {
      const binding = await signPeerBinding(m.provider, impostor.peerId, m.chainId, chain.deployment.registry);
      const err = await verifyPeerBinding(binding, impostor.peerId, chain).catch((e) => e);
      expect(err).to.be.instanceOf(UntrustedPeerError);
      expect((err as UntrustedPeerError).code).to.equal("PEER_MISMATCH");
      // A binding replayed by another peer: the signature no longer matches the remote's id.
      const stolen = await signPeerBinding(m.provider, yard.peerId, m.chainId, chain.deployment.registry);
      const err2 = await verifyPeerBinding(stolen, impostor.peerId, chain).catch((e) => e);
      expect((err2 as UntrustedPeerError).code).to.equal("BAD_BINDING");
    } finally {
      await impostor.stop();
    }
  });

  it("ignores a registered yard that is not staked", async () => {
    const lonely = await createIconNode();
    try {
      await m.registry.connect(m.provider2).register({ ...listing("77"), peerId: peerIdBytes(lonely.peerId) });
      const binding = await signPeerBinding(m.provider2, lonely.peerId, m.chainId, chain.deployment.registry);
      const err = await verifyPeerBinding(binding, lonely.peerId, chain).catch((e) => e);
      expect((err as UntrustedPeerError).code).to.equal("NOT_STAKED");
      const other = await verifyPeerBinding({ ...binding, chainId: 1n }, lonely.peerId, chain).catch((e) => e);
      expect((other as UntrustedPeerError).code).to.equal("WRONG_DOMAIN");
    } finally {
      await lonely.stop();
    }
  });
});

describe("peer binding signatures", () => {
  it("verify with viem's verifyTypedData as well as with ethers (two independent implementations)", async () => {
    const { verifyTypedData: viemVerify } = await import("viem");
    const { Wallet } = await import("ethers");
    const { PEER_BINDING_TYPES, registryDomain } = await import("../../../protocol/index.ts");
    const node = await createIconNode();
    try {
      const operator = new Wallet("0x" + "42".repeat(32));
      const registry = "0x" + "ee".repeat(20);
      const b = await signPeerBinding(operator, node.peerId, 31337n, registry);
      const ok = await viemVerify({
        address: operator.address as `0x${string}`,
        domain: { ...registryDomain(31337n, registry), verifyingContract: registry as `0x${string}` },
        types: PEER_BINDING_TYPES,
        primaryType: "PeerBinding",
        message: { peerId: peerIdBytes(node.peerId) as `0x${string}` },
        signature: b.signature as `0x${string}`,
      });
      expect(ok).to.equal(true);
      const other = await viemVerify({
        address: operator.address as `0x${string}`,
        domain: { ...registryDomain(1n, registry), verifyingContract: registry as `0x${string}` },
        types: PEER_BINDING_TYPES,
        primaryType: "PeerBinding",
        message: { peerId: peerIdBytes(node.peerId) as `0x${string}` },
        signature: b.signature as `0x${string}`,
      });
      expect(other).to.equal(false);
    } finally {
      await node.stop();
    }
  });
});
