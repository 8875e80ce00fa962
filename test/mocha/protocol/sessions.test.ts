/**
 * The lease handler's negotiation session table under throwaway negotiations, over real libp2p on loopback:
 * each peer has a bounded share, and a full table makes room by taking from the peer that holds the most, so
 * neither one peer nor a crowd of peers opening negotiations and walking away locks anyone else out.
 */
import { expect } from "chai";
import type { Libp2p } from "@libp2p/interface";
import type { Multiaddr } from "@multiformats/multiaddr";
import { LeaseSession, RejectCode, createIconNode, serveLeases, type LeaseProvider } from "../../../protocol/index.ts";
import { fixedQuote, sampleRfq } from "../../helpers/lease-fixtures.ts";

const provider: LeaseProvider = {
  async capacity() {
    throw new Error("not used");
  },
  quote: (r) => fixedQuote(r),
  async accept() {
    return { leaseId: 7n, txHash: "0x" + "00".repeat(32) };
  },
};

/** Opens `n` negotiations from `node`, each left in the quoted phase (the stream closed, the session kept). */
async function abandon(node: Libp2p, addr: Multiaddr, n: number): Promise<string[]> {
  const outcomes: string[] = [];
  for (let i = 0; i < n; i++) {
    const s = await LeaseSession.open(node, addr);
    outcomes.push(
      await s.request({ type: "rfq", rfq: sampleRfq }).then(
        (m) => m.type,
        (e: { reject?: RejectCode }) => (e.reject === RejectCode.RATE_LIMITED ? "limited" : "error"),
      ),
    );
    await s.close();
  }
  return outcomes;
}

describe("lease handler session table", function () {
  this.timeout(120_000);
  const nodes: Libp2p[] = [];
  const node = async (yard = false): Promise<Libp2p> => {
    // A yard node accepts connections as Yard.start configures it (100 per second per host).
    const n = await createIconNode(yard ? { inboundConnectionThreshold: 100, maxIncomingPendingConnections: 64 } : {});
    nodes.push(n);
    return n;
  };
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map((n) => n.stop()));
  });
  /** Runs `body` against a yard node serving leases with a table of 32 sessions, 8 per peer, and no rate limit. */
  const withTable = async (body: (addr: Multiaddr) => Promise<void>): Promise<void> => {
    const yard = await node(true);
    const stop = await serveLeases(yard, provider, {
      ratePerSecond: 1e6,
      burst: 1e6,
      maxSessions: 32,
      maxSessionsPerPeer: 8,
    });
    try {
      await body(yard.getMultiaddrs()[0]!);
    } finally {
      await stop();
    }
  };

  it("one peer opening and abandoning negotiations fills only its own share: others still negotiate, and an open negotiation of another peer survives", async () => {
    await withTable(async (addr) => {
      const honest = await node();
      const open = await LeaseSession.open(honest, addr);
      expect((await open.request({ type: "rfq", rfq: sampleRfq })).type).to.equal("quote");
      const attacker = await node();
      // Every one of the attacker's negotiations is answered (its own oldest ones make room), none refused.
      expect(await abandon(attacker, addr, 100)).to.deep.equal(Array(100).fill("quote"));
      const newcomer = await node();
      expect(await abandon(newcomer, addr, 1)).to.deep.equal(["quote"]);
      // The honest peer's negotiation opened before the flood still accepts.
      expect((await open.request({ type: "accept", tenantSignature: "0x" + "11".repeat(65) })).type).to.equal("opened");
    });
  });

  it("many peers filling the whole table cannot lock out a newcomer or evict a peer's single open negotiation", async () => {
    await withTable(async (addr) => {
      const honest = await node();
      const open = await LeaseSession.open(honest, addr);
      expect((await open.request({ type: "rfq", rfq: sampleRfq })).type).to.equal("quote");
      // Ten peers × 8 negotiations = 80 sessions wanted in a table of 32.
      const attackers = await Promise.all(Array.from({ length: 10 }, () => node()));
      const outcomes = (await Promise.all(attackers.map((a) => abandon(a, addr, 8)))).flat();
      expect(outcomes.filter((o) => o === "error")).to.deep.equal([]);
      for (let i = 0; i < 3; i++) {
        const newcomer = await node();
        expect(await abandon(newcomer, addr, 1)).to.deep.equal(["quote"]);
      }
      expect((await open.request({ type: "accept", tenantSignature: "0x" + "11".repeat(65) })).type).to.equal("opened");
    });
  });
});
