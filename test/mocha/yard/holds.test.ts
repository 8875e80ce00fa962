/**
 * Capacity holds against strangers, on a real yard (embedded chain over JSON-RPC, libp2p on loopback, Docker
 * engine behind it): a quote holds capacity, so who may make the yard hold how much is bounded — per peer, per
 * account, and for RFQs without a proof of control by a small anonymous share.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { expect } from "chai";
import { Contract, ContractFactory, Wallet, type InterfaceAbi, type Signer } from "ethers";
import type { Libp2p } from "@libp2p/interface";
import {
  ACCEPTANCE_TYPES,
  LeaseRejectedError,
  LeaseSession,
  RejectCode,
  createIconNode,
  marketDomain,
  signRfqProof,
  type Rfq,
} from "../../../protocol/index.ts";
import { silentLogger } from "../../../protocol/log.ts";
import type { Yard } from "../../../yard-node/yard.ts";
import { useDockerYard, waitFor } from "../../helpers/docker.ts";
import { FAST_LEASE, startTestYard } from "../../helpers/yard.ts";
import { Tenant, USD, startMarket, type TestMarket } from "../../../scripts/lib/testbed.ts";
import { projectRoot } from "../../../scripts/lib/hardhat.ts";

const DIGEST = "0x" + "ab".repeat(32);

/** Sends one RFQ from `node` and leaves the negotiation open; the reply type or the reject code's name. */
async function ask(node: Libp2p, yard: Yard, rfq: Rfq): Promise<{ outcome: string; message: string }> {
  const s = await LeaseSession.open(node, yard.node.getMultiaddrs()[0]!);
  try {
    const m = await s.request({ type: "rfq", rfq });
    return { outcome: m.type, message: "" };
  } catch (e) {
    if (e instanceof LeaseRejectedError) return { outcome: RejectCode[e.reject]!, message: e.message };
    throw e;
  }
}

describe("yard capacity holds against strangers", function () {
  this.timeout(180_000);
  const nodes: Libp2p[] = [];
  after(async () => {
    await Promise.all(nodes.map((n) => n.stop()));
    await victim?.stop();
    await yard?.stop();
    await m?.close();
  });
  const docker = useDockerYard("holds");
  let m: TestMarket;
  let yard: Yard;
  let victim: Tenant;

  before(async () => {
    m = await startMarket();
    yard = await startTestYard(
      m,
      1,
      docker.get().yardId,
      {
        capacity: { cpuMillis: 1000, memoryMiB: 1024 },
        docker: { hostFirewall: false },
        holds: { perAccount: 3, perPeer: 4 },
        lease: { ...FAST_LEASE, quoteValidityS: 15 },
      },
      silentLogger,
    );
    victim = await Tenant.create(m, 2, 3, USD(100));
  });

  const fresh = async (): Promise<Libp2p> => {
    const n = await createIconNode();
    nodes.push(n);
    return n;
  };
  /** CPU held by quotes without a proof of control, now. */
  const anonymousCpu = (): number => yard.ledger.holds((h) => !h.proven).reduce((sum, h) => sum + h.cpuMillis, 0);

  it("many throwaway peers with no key naming a funded account cannot stop its controller from getting capacity", async () => {
    const throwaway = await Promise.all(Array.from({ length: 12 }, () => createIconNode()));
    nodes.push(...throwaway);
    // Each stranger asks three times for a tenth of the yard, naming the victim's funded account.
    const outcomes = await Promise.all(
      throwaway.map(async (n) => {
        const out: string[] = [];
        for (let i = 0; i < 3; i++) out.push((await ask(n, yard, victim.rfq(DIGEST, { cpuMillis: 100 }))).outcome);
        return out;
      }),
    );
    // At most the anonymous share (10 % of 1000 mCPU) is held by strangers.
    expect(outcomes.flat().filter((o) => o === "quote").length).to.be.at.least(1);
    expect(outcomes.flat().filter((o) => o !== "quote")).to.satisfy((xs: string[]) =>
      xs.every((o) => o === "NO_CAPACITY" || o === "RATE_LIMITED"),
    );
    expect(anonymousCpu()).to.be.at.most(100);
    const { leaseId } = await victim.open(yard.node.getMultiaddrs()[0]!, victim.rfq(DIGEST, { cpuMillis: 600 }));
    expect((await m.admin.lease(leaseId)).state).to.be.oneOf(["Scheduled", "Running"]);
  });

  it("an RFQ without a proof holds at most once per peer, and says how to get more", async () => {
    const n = await fresh();
    const first = await ask(n, yard, victim.rfq(DIGEST, { cpuMillis: 10, memoryMiB: 16 }));
    // (the anonymous share may still be held by the previous test's strangers: then the first is refused too)
    expect(first.outcome).to.be.oneOf(["quote", "NO_CAPACITY"]);
    if (first.outcome === "quote") {
      const second = await ask(n, yard, victim.rfq(DIGEST, { cpuMillis: 10, memoryMiB: 16 }));
      expect(second.outcome).to.equal("RATE_LIMITED");
      expect(second.message).to.match(/already holds 1 quote\(s\) without a proof of control.*sign the RFQ/);
    } else {
      expect(first.message).to.match(/share 10 % of this yard.*sign the RFQ with the account's controller/);
    }
  });

  it("refuses a proof for another peer, chain or contract, by a non-controller, or expired, each with its reason", async () => {
    const n = await fresh();
    const other = await fresh();
    const domain = victim.owner.domain();
    const account = victim.account;
    const rfq = victim.rfq(DIGEST, { cpuMillis: 10, memoryMiB: 16 });
    const cases: [string, Promise<Rfq["proof"]>, RegExp][] = [
      [
        "another peer",
        signRfqProof(victim.icon, { domain, account, peer: other.peerId }),
        /names another libp2p peer than .*, which sent it/,
      ],
      [
        "another chain",
        signRfqProof(victim.icon, { domain: marketDomain(1n, domain.verifyingContract!), account, peer: n.peerId }),
        /is signed for chain 1; this market is on chain 31337/,
      ],
      [
        "another contract",
        signRfqProof(victim.icon, { domain: marketDomain(31337n, "0x" + "cc".repeat(20)), account, peer: n.peerId }),
        /is signed for market contract 0x[cC]{40}; this yard serves/,
      ],
      [
        "a non-controller",
        signRfqProof(Wallet.createRandom(), { domain, account, peer: n.peerId }),
        /is signed by 0x[0-9a-fA-F]{40}, which neither controls account \d+ \(controller 0x[0-9a-fA-F]{40}\) nor owns its application/,
      ],
      [
        "a forged signer field",
        signRfqProof(Wallet.createRandom(), { domain, account, peer: n.peerId }).then((p) => ({
          ...p,
          signer: victim.icon.address,
        })),
        /is not a valid signature of 0x[0-9a-fA-F]{40} \(the controller\)/,
      ],
      [
        "expired",
        signRfqProof(victim.icon, {
          domain,
          account,
          peer: n.peerId,
          expiry: BigInt(Math.floor(Date.now() / 1000) - 1),
        }),
        /expired at \d+; sign a new one/,
      ],
      [
        "too long-lived",
        signRfqProof(victim.icon, {
          domain,
          account,
          peer: n.peerId,
          expiry: BigInt(Math.floor(Date.now() / 1000) + 3 * 86_400),
        }),
        /more than 86400 s ahead/,
      ],
    ];
    for (const [what, proof, re] of cases) {
      const r = await ask(n, yard, { ...rfq, proof: await proof });
      expect(r.outcome, what).to.equal("BAD_SIGNATURE");
      expect(r.message, what).to.match(re);
    }
    // The application's owner may sign for any account of its app.
    const byOwner = await signRfqProof(victim.owner.signer!, { domain, account, peer: n.peerId });
    expect((await ask(n, yard, { ...rfq, proof: byOwner })).outcome).to.equal("quote");
    expect(yard.ledger.holds((h) => h.peer === n.peerId.toString() && h.proven)).to.have.length(1);
  });

  it("accepts a proof from a smart-contract controller (ERC-1271) signed by its owner key, and refuses one it does not accept", async () => {
    const t = await Tenant.create(m, 12, 13, USD(10));
    try {
      const artifact = JSON.parse(
        await readFile(
          path.join(projectRoot, "artifacts/contracts/mocks/ERC1271WalletMock.sol/ERC1271WalletMock.json"),
          "utf8",
        ),
      ) as { abi: InterfaceAbi; bytecode: string };
      const owner = t.owner.signer!;
      const wallet = await new ContractFactory(artifact.abi, artifact.bytecode, owner).deploy(t.icon.address);
      await wallet.waitForDeployment();
      const walletAddress = await wallet.getAddress();
      const market = new Contract(
        m.deployment.market,
        ["function setController(uint64 id, address controller)"],
        owner,
      );
      await (await market.getFunction("setController")(t.account, walletAddress)).wait();
      const n = await fresh();
      const rfq = t.rfq(DIGEST, { cpuMillis: 10, memoryMiB: 16 });
      const sign = async (key: Signer) => ({
        ...(await signRfqProof(key, { domain: t.owner.domain(), account: t.account, peer: n.peerId })),
        signer: walletAddress,
      });
      const refused = await ask(n, yard, { ...rfq, proof: await sign(Wallet.createRandom()) });
      expect(refused.outcome).to.equal("BAD_SIGNATURE");
      expect(refused.message).to.match(/is not a valid signature of 0x[0-9a-fA-F]{40} \(the controller\)/);
      expect((await ask(n, yard, { ...rfq, proof: await sign(t.icon) })).outcome).to.equal("quote");
      expect(yard.ledger.holds((h) => h.peer === n.peerId.toString() && h.proven)).to.have.length(1);
    } finally {
      await t.stop();
    }
  });

  it("bounds proven holds per account (3) and per peer (4), and by the account's balance", async () => {
    const a = await Tenant.create(m, 4, 5, USD(100));
    const b = await Tenant.create(m, 6, 7, USD(100));
    const poor = await Tenant.create(m, 8, 9, 1000n);
    try {
      const small = { cpuMillis: 10, memoryMiB: 16 };
      const proven = async (t: Tenant, n: Libp2p): Promise<Rfq> => ({
        ...t.rfq(DIGEST, small),
        proof: await signRfqProof(t.icon, { domain: t.owner.domain(), account: t.account, peer: n.peerId }),
      });
      // Per account: three peers of the account's controller hold three quotes; a fourth peer is refused.
      const peers = await Promise.all([fresh(), fresh(), fresh(), fresh()]);
      for (const n of peers.slice(0, 3)) expect((await ask(n, yard, await proven(a, n))).outcome).to.equal("quote");
      const fourth = await ask(peers[3]!, yard, await proven(a, peers[3]!));
      expect(fourth.outcome).to.equal("RATE_LIMITED");
      expect(fourth.message).to.match(new RegExp(`account ${a.account} already holds 3 quotes here \\(limit 3\\)`));
      // Per peer: one peer speaking for two accounts holds four quotes at most.
      const n = await fresh();
      for (let i = 0; i < 3; i++) expect((await ask(n, yard, await proven(b, n))).outcome).to.equal("quote");
      const bRfq = await proven(poor, n);
      expect((await ask(n, yard, bRfq)).outcome).to.equal("quote");
      const fifth = await ask(n, yard, await proven(poor, n));
      expect(fifth.outcome).to.equal("RATE_LIMITED");
      expect(fifth.message).to.match(/this peer already holds 4 quotes here \(limit 4\)/);
      // By balance: the poor account (1000 units) affords one 60 s quote at 10 units/s, not two at once.
      const p = await fresh();
      const second = await ask(p, yard, await proven(poor, p));
      expect(second.outcome).to.equal("BUDGET_TOO_SMALL");
      expect(second.message).to.match(/would cost 600 \+ 600/);
    } finally {
      await Promise.all([a.stop(), b.stop(), poor.stop()]);
    }
  });

  it("counters move a negotiation's hold instead of adding one, and a quote whose hold expired cannot be accepted", async () => {
    const n = await fresh();
    const t = await Tenant.create(m, 10, 11, USD(100));
    try {
      const s = await LeaseSession.open(n, yard.node.getMultiaddrs()[0]!);
      const proof = await signRfqProof(t.icon, { domain: t.owner.domain(), account: t.account, peer: n.peerId });
      const q = await s.request({ type: "rfq", rfq: { ...t.rfq(DIGEST, { cpuMillis: 10, memoryMiB: 16 }), proof } });
      expect(q.type).to.equal("quote");
      const mine = () => yard.ledger.holds((h) => h.peer === n.peerId.toString());
      for (let i = 0; i < 3; i++) {
        expect((await s.request({ type: "counter", pricePerSecond: 10n })).type).to.equal("quote");
        expect(mine()).to.have.length(1);
      }
      // (a fourth counter is refused with TOO_MANY_ROUNDS: lease-e2e.test.ts "refuses more counter-offers than the limit")
      await s.close();
      // A second negotiation: quoted, then the hold expires (quoteValidityS 15) and the accept is refused.
      const s2 = await LeaseSession.open(n, yard.node.getMultiaddrs()[0]!);
      const q2 = await s2.request({ type: "rfq", rfq: { ...t.rfq(DIGEST, { cpuMillis: 10, memoryMiB: 16 }), proof } });
      if (q2.type !== "quote") throw new Error(`expected a quote, got ${q2.type}`);
      await waitFor("the hold to expire", () => mine().length === 0, 40_000);
      const tenantSignature = await t.icon.signTypedData(t.owner.domain(), ACCEPTANCE_TYPES, { offer: q2.offer });
      await expectReject(s2.request({ type: "accept", tenantSignature }), RejectCode.EXPIRED);
    } finally {
      await t.stop();
    }
  });
});

async function expectReject(p: Promise<unknown>, code: RejectCode): Promise<void> {
  try {
    await p;
  } catch (e) {
    if (e instanceof LeaseRejectedError && e.reject === code) return;
    throw e;
  }
  throw new Error(`expected a rejection with ${RejectCode[code]}`);
}
