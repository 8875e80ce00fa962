/**
 * The ICON overlay tree (`/icon/tree/1.0.0`, icon-agent/tree.ts) on a real chain (JSON-RPC, contracts deployed)
 * with real libp2p nodes on loopback: origin O, child C (account under O's), grandchild G (under C's).
 * Aggregated reports with exact sums and rate-weighted latency, the owner's policy travelling down the acks,
 * refusals of forged/expired proofs and of accounts that do not descend, foundering up the tree with exact
 * on-chain balance moves (and the owner asked on chain when the origin lacks), leaving with re-parenting, and an
 * orphan re-attaching to its grandparent when its parent's node dies.
 */
import { expect } from "chai";
import { Wallet } from "ethers";
import type { Libp2p } from "@libp2p/interface";
import {
  TreeError,
  TreeErrorCode,
  createIconNode,
  decodeTreeFrame,
  dialableAddrs,
  encodeTreeFrame,
  foldSubnets,
  mergeSubnets,
  signTreeMember,
  treeDomain,
  treeRequest,
  type BudgetAccount,
  type MarketClient,
  type Policy,
  type TreeMemberProof,
  type TreeMessage,
  type TreeSubnet,
} from "../../../protocol/index.ts";
import { TreeEnvelope } from "../../../protocol/schema/generated/tree.js";
import { TreeMember, type TreeEvent } from "../../../icon-agent/tree.ts";
import { TEST_POLICY, USD, clientFor, poll, startMarket, type TestMarket } from "../../../scripts/lib/testbed.ts";

const PERIOD = 300;
const POLICY = TEST_POLICY;

const sn = (subnet: string, rate: number, latencyMs: number, requests: bigint): TreeSubnet => ({
  subnet,
  rate,
  latencyMs,
  requests,
});
const bySubnet = (xs: TreeSubnet[]): TreeSubnet[] => [...xs].sort((a, b) => a.subnet.localeCompare(b.subnet));
/** Comparable form (NaN → null, so deep equality works). */
const plain = (xs: TreeSubnet[]) =>
  bySubnet(xs).map((s) => ({ ...s, latencyMs: Number.isNaN(s.latencyMs) ? null : s.latencyMs }));

/** Whether two aggregates are equal (exactly: the numbers are chosen to be exact in binary). */
function same(a: TreeSubnet[], b: TreeSubnet[]): boolean {
  try {
    expect(plain(a)).to.deep.equal(plain(b));
    return true;
  } catch {
    return false;
  }
}

async function refusal(p: Promise<unknown>): Promise<TreeError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof TreeError) return e;
    throw new Error(`expected a TreeError, got ${String(e)}`, { cause: e });
  }
  throw new Error("expected a refusal, but the request was accepted");
}

describe("ICON overlay tree over libp2p (real chain, real nodes)", function () {
  this.timeout(180_000);
  let m: TestMarket;
  let owner: MarketClient;
  let root: bigint;
  let cAcct: bigint;
  let gAcct: bigint;
  let sAcct: bigint;
  let c2Acct: bigint;
  let g2Acct: bigint;
  let foreign: bigint;
  const nodes: Libp2p[] = [];
  const members: TreeMember[] = [];
  const events = new Map<string, TreeEvent[]>();
  let O: TreeMember;
  let C: TreeMember;
  let G: TreeMember;
  let cNode: Libp2p;
  let x: Libp2p;

  // Own observations, already smoothed (what the daemon's observer would hand over).
  const oLocal = [sn("10.0.0.0/24", 10, 20, 100n)];
  const cLocal = [sn("10.0.0.0/24", 30, 40, 300n), sn("10.1.0.0/24", 5, 10, 50n)];
  const gLocal = [sn("10.1.0.0/24", 15, 30, 150n), sn("10.2.0.0/24", 2, NaN, 20n)];

  const wallet = (i: number) => new Wallet(m.keys[i]!);
  /** What each of C's children must keep when C re-allocates among them (absent: left alone). */
  const keeps = new Map<bigint, bigint>();
  const balance = async (id: bigint) => (await owner.account(id)).balance;

  /** Where each member serves (its whereAmI), by name; a default when absent. */
  const where = new Map<string, { endpoint: string; location: string; leaseId: bigint }>();
  const accountOf = new Map<TreeMember, bigint>();
  const nodeOf = new Map<TreeMember, Libp2p>();
  const addrsOf = (t: TreeMember) => nodeOf.get(t)!.getMultiaddrs().map(String);

  /** Starts an ICON's tree member on a fresh node (key `key` controls `account`). */
  async function start(
    name: string,
    key: number,
    account: bigint,
    parent?: TreeMember,
    local: TreeSubnet[] = [],
    extra: { fundingReserve?: bigint; childKeeps?: (a: BudgetAccount) => Promise<bigint | undefined> } = {},
  ): Promise<{ t: TreeMember; node: Libp2p }> {
    const node = await createIconNode();
    nodes.push(node);
    const log: TreeEvent[] = [];
    events.set(name, log);
    const t = new TreeMember({
      node,
      signer: wallet(key),
      account,
      client: await clientFor(m, key),
      parent: parent && { account: accountOf.get(parent)!, addrs: addrsOf(parent) },
      reportEveryMs: PERIOD,
      local: () => local,
      whereAmI: () =>
        where.get(name) ?? { endpoint: `${name.toLowerCase()}.test:8080`, location: `yard-${name}`, leaseId: 7n },
      onEvent: (e) => log.push(e),
      ...extra,
    });
    accountOf.set(t, account);
    nodeOf.set(t, node);
    await t.start();
    members.push(t);
    return { t, node };
  }
  const ev = (name: string, type: TreeEvent["type"]) => events.get(name)!.filter((e) => e.type === type);
  /** A request from the stranger node x (not a member) to `target`. */
  const fromX = (target: TreeMember, msg: TreeMessage) =>
    treeRequest(x, dialableAddrs(addrsOf(target)), msg, AbortSignal.timeout(5000));
  const attachMsg = (proof: TreeMemberProof): TreeMessage => ({
    type: "attach",
    proof,
    addrs: x.getMultiaddrs().map(String),
    endpoint: "",
    location: "",
    epoch: 0n,
  });

  before(async () => {
    m = await startMarket();
    owner = await clientFor(m, 1, USD(1000));
    root = await owner.createApp(wallet(2).address, POLICY, USD(100));
    cAcct = await owner.createAccount(root, wallet(3).address);
    gAcct = await owner.createAccount(cAcct, wallet(4).address);
    sAcct = await owner.createAccount(root, wallet(6).address);
    c2Acct = await owner.createAccount(root, wallet(7).address);
    g2Acct = await owner.createAccount(c2Acct, wallet(8).address);
    foreign = await owner.createApp(wallet(9).address, POLICY, 0n);
    await owner.allocate(root, cAcct, USD(1));
    x = await createIconNode();
    nodes.push(x);
  });

  after(async () => {
    for (const t of members) await t.stop().catch(() => {});
    await Promise.allSettled(nodes.map(async (n) => n.stop()));
    await m?.close();
  });

  it("validates frames strictly: limits, finite non-negative numbers, multiaddrs, 65-byte proofs", () => {
    const proof = { account: 1n, expires: 1n, signature: new Uint8Array(65).fill(1) };
    const report = (subnets: Array<{ subnet: string; rate: number; latencyMs?: number; requests: bigint }>) =>
      TreeEnvelope.encode({ report: { proof, subnets, endpoint: "", location: "", descendants: 0, epoch: 0n } });
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return (e as TreeError).treeCode;
      }
      return "accepted";
    };
    const BAD = TreeErrorCode.TREE_BAD_FRAME;
    const many = Array.from({ length: 257 }, (_, i) => ({
      subnet: `10.${i >> 8}.${i & 255}.0/24`,
      rate: 1,
      requests: 1n,
    }));
    expect(code(() => decodeTreeFrame(report(many)))).to.equal(BAD);
    expect(code(() => decodeTreeFrame(report(many.slice(0, 256))))).to.equal("accepted");
    for (const rate of [NaN, -1, Infinity])
      expect(code(() => decodeTreeFrame(report([{ subnet: "10.0.0.0/24", rate, requests: 0n }])))).to.equal(BAD);
    expect(
      code(() => decodeTreeFrame(report([{ subnet: "10.0.0.0/24", rate: 1, latencyMs: -3, requests: 0n }]))),
    ).to.equal(BAD);
    expect(code(() => decodeTreeFrame(report([{ subnet: "not a subnet", rate: 1, requests: 0n }])))).to.equal(BAD);
    expect(
      code(() =>
        decodeTreeFrame(
          report([
            { subnet: "10.0.0.0/24", rate: 1, requests: 0n },
            { subnet: "10.0.0.0/24", rate: 2, requests: 0n },
          ]),
        ),
      ),
    ).to.equal(BAD);
    const attach = (o: { addrs?: string[]; endpoint?: string; signature?: Uint8Array }) =>
      TreeEnvelope.encode({
        attach: {
          proof: { ...proof, signature: Uint8Array.from(o.signature ?? proof.signature) },
          addrs: o.addrs ?? [],
          endpoint: o.endpoint ?? "",
          location: "",
          epoch: 0n,
        },
      });
    expect(code(() => decodeTreeFrame(attach({ addrs: Array(9).fill("/ip4/127.0.0.1/tcp/1") })))).to.equal(BAD);
    expect(code(() => decodeTreeFrame(attach({ addrs: ["/ip4/300.1.1.1/tcp/1"] })))).to.equal(BAD);
    expect(code(() => decodeTreeFrame(attach({ endpoint: "x".repeat(257) })))).to.equal(BAD);
    expect(code(() => decodeTreeFrame(attach({ endpoint: "a\nb" })))).to.equal(BAD);
    expect(code(() => decodeTreeFrame(attach({ signature: new Uint8Array(64) })))).to.equal(BAD);
    expect(code(() => decodeTreeFrame(new Uint8Array(64 * 1024 + 1)))).to.equal(BAD);
    expect(code(() => decodeTreeFrame(TreeEnvelope.encode({ funding: { proof, amount: new Uint8Array() } })))).to.equal(
      BAD,
    );
    const policy = {
      version: 1,
      weightBps: 10_001,
      migrateThresholdBps: 0,
      replicateThresholdBps: 0,
      terminateThresholdBps: 0,
      maxPricePerSecond: new Uint8Array(),
      maxRelayFee: new Uint8Array(),
      relayAllowancePerDay: new Uint8Array(),
    };
    expect(code(() => decodeTreeFrame(TreeEnvelope.encode({ reportAck: { policy, ancestors: [] } })))).to.equal(BAD);
    // Round trip keeps exact numbers, an unmeasured latency stays NaN and amounts are uint96.
    const sig = "0x" + "11".repeat(65);
    const back = decodeTreeFrame(
      encodeTreeFrame({
        type: "report",
        proof: { account: 7n, expires: 9n, signature: sig },
        subnets: [sn("10.9.0.0/24", 12.5, NaN, 3n), sn("2001:db8::/48", 0.001, 17.25, 2n ** 60n)],
        endpoint: "h:1",
        location: "l",
        descendants: 4,
        epoch: 3n,
      }),
    );
    expect(back.type === "report" && back.epoch).to.equal(3n); // the instance epoch survives the round trip
    expect(back.type === "report" && plain(back.subnets)).to.deep.equal(
      plain([sn("10.9.0.0/24", 12.5, NaN, 3n), sn("2001:db8::/48", 0.001, 17.25, 2n ** 60n)]),
    );
    // The application's total rate in an ack: kept exactly, absent stays absent, not finite or negative refused.
    const ack = (appRate?: number): Uint8Array =>
      encodeTreeFrame({ type: "reportAck", ancestors: [], ...(appRate === undefined ? {} : { appRate }) });
    const rate = (m: ReturnType<typeof decodeTreeFrame>): number | undefined =>
      m.type === "reportAck" ? m.appRate : NaN;
    expect(rate(decodeTreeFrame(ack(1234.5)))).to.equal(1234.5);
    expect(rate(decodeTreeFrame(ack(0)))).to.equal(0);
    expect(decodeTreeFrame(ack())).to.not.have.property("appRate");
    for (const bad of [NaN, -1, Infinity, 1e300]) expect(code(() => decodeTreeFrame(ack(bad)))).to.equal(BAD);
    const f = decodeTreeFrame(encodeTreeFrame({ type: "fundingReply", granted: (1n << 96n) - 1n, note: "ok" }));
    expect(f).to.deep.equal({ type: "fundingReply", granted: (1n << 96n) - 1n, note: "ok" });
    // Folding past the limit keeps totals exact.
    const folded = foldSubnets(
      many.map((s, i) => sn(s.subnet, i + 1, 10, 1n)),
      256,
    );
    expect(folded).to.have.length(256);
    expect(folded.reduce((a, s) => a + s.rate, 0)).to.equal((257 * 258) / 2);
    expect(folded.find((s) => s.subnet === "*")!.rate).to.equal(1 + 2);
    expect(plain(mergeSubnets([[sn("a/1", 0, 5, 1n)], [sn("a/1", 0, 15, 1n)]]))).to.deep.equal(
      plain([sn("a/1", 0, 10, 2n)]),
    );
  });

  it("attaches O ← C ← G and reports aggregates up: exact sums, rate-weighted mean latency", async () => {
    O = (await start("O", 2, root, undefined, oLocal)).t;
    C = (await start("C", 3, cAcct, O, cLocal, { fundingReserve: USD(0.5), childKeeps: async (a) => keeps.get(a.id) }))
      .t;
    const g = await start("G", 4, gAcct, C, gLocal);
    G = g.t;
    cNode = nodeOf.get(C)!;
    expect(O.parent).to.equal(undefined);
    expect(O.origin.account).to.equal(root);
    expect(G.parent!.account).to.equal(cAcct);
    expect(G.origin.account).to.equal(root);
    expect(G.ancestors.map((a) => a.account)).to.deep.equal([cAcct, root]);
    expect(ev("G", "attached")).to.have.length(1);
    expect(ev("O", "child-joined").map((e) => e.type === "child-joined" && e.account)).to.deep.equal([cAcct]);

    const expected = [
      // (10·20 + 30·40) / 40 = 35; (5·10 + 15·30) / 20 = 25; 10.2.0.0/24 is not measured anywhere.
      sn("10.0.0.0/24", 40, 35, 400n),
      sn("10.1.0.0/24", 20, 25, 200n),
      sn("10.2.0.0/24", 2, NaN, 20n),
    ];
    await poll("O's aggregate to cover the whole tree", () => same(O.aggregate(), expected));
    expect(plain(O.aggregate())).to.deep.equal(plain(expected));
    expect(plain(C.aggregate())).to.deep.equal(
      plain([sn("10.0.0.0/24", 30, 40, 300n), sn("10.1.0.0/24", 20, 25, 200n), sn("10.2.0.0/24", 2, NaN, 20n)]),
    );
    const kids = O.children();
    expect(kids.map((k) => k.account)).to.deep.equal([cAcct]);
    expect(kids[0]!.descendants).to.equal(1);
    expect(kids[0]!.endpoint).to.equal("c.test:8080");
    expect(kids[0]!.location).to.equal("yard-C");
    expect(C.children()[0]!.account).to.equal(gAcct);
    expect(plain(C.children()[0]!.subnets)).to.deep.equal(plain(gLocal));
    expect(O.descendants()).to.equal(2);
  });

  it("carries the owner's on-chain policy and the application's total rate down the acks to the grandchild", async () => {
    expect(G.policy()).to.deep.equal({ ...POLICY, version: 1 });
    const next: Policy = { ...POLICY, weightBps: 8000, migrateThresholdBps: 2500, maxPricePerSecond: 1234n };
    await owner.setPolicy(root, next);
    await poll("the new policy at G", () => G.policy()?.version === 2, 15_000);
    expect(G.policy()).to.deep.equal({ ...next, version: 2 });
    expect(C.policy()).to.deep.equal({ ...next, version: 2 });
    const seen = ev("G", "policy").map((e) => e.type === "policy" && e.policy.version);
    expect(seen).to.deep.equal([1, 2]);
    // The application's total rate goes down the same acks: O's aggregate (40 + 20 + 2 requests/s).
    expect(O.appRate()).to.equal(62);
    await poll("the application's total at G", () => G.appRate() === 62, 15_000);
    expect(C.appRate()).to.equal(62);
  });

  it("tells each child where its parent serves, and follows the parent when it moves", async () => {
    expect(G.parentPlace).to.deep.equal({ endpoint: "c.test:8080", location: "yard-C", instanceId: 7n });
    expect(C.parentPlace).to.deep.equal({ endpoint: "o.test:8080", location: "yard-O", instanceId: 7n });
    where.set("C", { endpoint: "c2.test:9090", location: "yard-C2", leaseId: 8n });
    await poll("G to learn C's new place", () => G.parentPlace?.endpoint === "c2.test:9090", 15_000);
    expect(G.parentPlace).to.deep.equal({ endpoint: "c2.test:9090", location: "yard-C2", instanceId: 8n });
    where.delete("C");
    await poll("G to learn C's place again", () => G.parentPlace?.endpoint === "c.test:8080", 15_000);
  });

  it("refuses tampered, copied, expired and foreign proofs and non-descendants, and changes nothing", async () => {
    const domain = treeDomain(BigInt(m.deployment.chainId), m.deployment.market);
    const before = {
      o: O.children().map((k) => k.account),
      c: C.children().map((k) => k.account),
      agg: plain(O.aggregate()),
      balances: await Promise.all([root, cAcct, gAcct, sAcct].map(balance)),
    };
    const valid = await signTreeMember(wallet(6), domain, sAcct, x.peerId);

    // Signed by S's controller for x, then the account changed: the signature no longer recovers to C's controller.
    const tampered = await refusal(fromX(C, attachMsg({ ...valid, account: gAcct })));
    expect(tampered.treeCode).to.equal(TreeErrorCode.TREE_BAD_PROOF);
    expect(tampered.code).to.equal("TREE_BAD_PROOF");
    const flipped =
      valid.signature.slice(0, 10) + (valid.signature[10] === "a" ? "b" : "a") + valid.signature.slice(11);
    expect((await refusal(fromX(O, attachMsg({ ...valid, signature: flipped })))).treeCode).to.equal(
      TreeErrorCode.TREE_BAD_PROOF,
    );
    // G's genuine proof, copied by x: it names G's peer id, not x's.
    const copied = await signTreeMember(wallet(4), domain, gAcct, nodeOf.get(G)!.peerId);
    expect((await refusal(fromX(C, attachMsg(copied)))).treeCode).to.equal(TreeErrorCode.TREE_BAD_PROOF);
    // Signed by a key that does not control the account.
    const stranger = await signTreeMember(wallet(5), domain, gAcct, x.peerId);
    expect((await refusal(fromX(C, attachMsg(stranger)))).treeCode).to.equal(TreeErrorCode.TREE_BAD_PROOF);
    // Expired, or valid for more than an hour.
    const expired = await signTreeMember(wallet(6), domain, sAcct, x.peerId, -5);
    const expiredErr = await refusal(fromX(O, attachMsg(expired)));
    expect(expiredErr.treeCode).to.equal(TreeErrorCode.TREE_PROOF_EXPIRED);
    expect(expiredErr.message).to.match(/expired/);
    const tooLong = await signTreeMember(wallet(6), domain, sAcct, x.peerId, 7200);
    expect((await refusal(fromX(O, attachMsg(tooLong)))).treeCode).to.equal(TreeErrorCode.TREE_PROOF_EXPIRED);
    // Another chain or market: same key, other domain.
    const otherDomain = await signTreeMember(
      wallet(6),
      treeDomain(BigInt(m.deployment.chainId) + 1n, m.deployment.market),
      sAcct,
      x.peerId,
    );
    expect((await refusal(fromX(O, attachMsg(otherDomain)))).treeCode).to.equal(TreeErrorCode.TREE_BAD_PROOF);

    // Valid proofs of accounts that do not descend from the receiver's: a sibling of C, C's own parent, another app.
    const sibling = await refusal(fromX(C, attachMsg(valid)));
    expect(sibling.treeCode).to.equal(TreeErrorCode.TREE_NOT_DESCENDANT);
    expect(sibling.code).to.equal("TREE_NOT_DESCENDANT");
    expect(sibling.message).to.match(new RegExp(`account ${sAcct} does not descend from account ${cAcct}`));
    const up = await signTreeMember(wallet(3), domain, cAcct, x.peerId);
    expect((await refusal(fromX(G, attachMsg(up)))).treeCode).to.equal(TreeErrorCode.TREE_NOT_DESCENDANT);
    const other = await signTreeMember(wallet(9), domain, foreign, x.peerId);
    expect((await refusal(fromX(O, attachMsg(other)))).treeCode).to.equal(TreeErrorCode.TREE_NOT_DESCENDANT);

    // A valid descendant that never attached may neither report nor ask for money.
    const report: TreeMessage = {
      type: "report",
      proof: valid,
      subnets: [sn("10.66.0.0/24", 1000, 1, 1000n)],
      endpoint: "",
      location: "",
      descendants: 0,
      epoch: 0n,
    };
    expect((await refusal(fromX(O, report))).treeCode).to.equal(TreeErrorCode.TREE_NOT_ATTACHED);
    expect((await refusal(fromX(O, { type: "funding", proof: valid, amount: USD(1) }))).treeCode).to.equal(
      TreeErrorCode.TREE_NOT_ATTACHED,
    );
    expect((await refusal(fromX(O, { type: "funding", proof: stranger, amount: USD(1) }))).treeCode).to.equal(
      TreeErrorCode.TREE_BAD_PROOF,
    );

    expect(O.children().map((k) => k.account)).to.deep.equal(before.o);
    expect(C.children().map((k) => k.account)).to.deep.equal(before.c);
    expect(plain(O.aggregate())).to.deep.equal(before.agg);
    expect(await Promise.all([root, cAcct, gAcct, sAcct].map(balance))).to.deep.equal(before.balances);
    expect(ev("O", "child-joined")).to.have.length(1);
    expect(ev("C", "child-joined")).to.have.length(1);
  });

  it("founders up the tree: G asks, C lacks and asks O, O allocates to C, C to G — exact on-chain moves", async () => {
    const [o0, c0, g0] = await Promise.all([root, cAcct, gAcct].map(balance));
    expect(c0).to.equal(USD(1));
    expect(g0).to.equal(0n);
    // C keeps a reserve of 0.5: it can spend 0.5 of its 1, so it asks O for the other 4.5.
    const granted = await G.requestFunding(USD(5));
    expect(granted).to.equal(USD(5));
    expect(await balance(gAcct)).to.equal(USD(5));
    expect(await balance(cAcct)).to.equal(USD(0.5));
    expect(await balance(root)).to.equal(o0 - USD(4.5));
    const cAsked = ev("C", "funding-requested")[0];
    expect(cAsked).to.include({ amount: USD(4.5), granted: USD(4.5) });
    expect(ev("O", "funding-granted")[0]).to.include({ child: cAcct, amount: USD(4.5) });
    expect(ev("C", "funding-granted")[0]).to.include({ child: gAcct, amount: USD(5) });
    expect(ev("G", "funding-requested")[0]).to.include({ amount: USD(5), granted: USD(5) });

    // The origin lacks too: it asks the owner on chain (FundingRequested) and everyone answers 0; nothing moves.
    const [o1, c1, g1] = await Promise.all([root, cAcct, gAcct].map(balance));
    const ask = USD(500);
    const none = await G.requestFunding(ask);
    expect(none).to.equal(0n);
    expect(await Promise.all([root, cAcct, gAcct].map(balance))).to.deep.equal([o1, c1, g1]);
    const shortfallAtC = ask - (c1 - USD(0.5)); // what C cannot spend, asked of O
    const shortfallAtO = shortfallAtC - o1; // what O lacks of that, asked of the owner
    const logs = await owner.logs(owner.market, "FundingRequested", [root, root]);
    expect(logs).to.have.length(1);
    const args = logs[0]!;
    expect(args.slice(0, 4)).to.deep.equal([root, root, 0n, shortfallAtO]);
    expect(ev("O", "funding-escalated")[0]).to.include({ account: root, amount: shortfallAtO });
    expect(ev("C", "funding-requested")[1]).to.include({ amount: shortfallAtC, granted: 0n });
    const gNote = ev("G", "funding-requested")[1];
    expect(gNote).to.include({ amount: ask, granted: 0n });
    expect(gNote?.type === "funding-requested" && gNote.note).to.match(/owner was asked on chain/);
    expect(ev("C", "funding-denied")[0]).to.include({ child: gAcct, amount: ask });
  });

  it("re-allocates among the children before asking up: C takes a sibling's surplus beyond what it must keep", async () => {
    const hAcct = await owner.createAccount(cAcct, wallet(5).address);
    await owner.allocate(root, cAcct, USD(3));
    await owner.allocate(cAcct, hAcct, USD(3));
    keeps.set(hAcct, USD(1));
    const [o0, c0, g0] = await Promise.all([root, cAcct, gAcct].map(balance));
    expect(c0).to.equal(USD(0.5)); // all of it C's reserve
    const askedUp = ev("C", "funding-requested").length;

    // G asks 2: C can spend nothing, H holds 2 beyond its keep → taken back and allocated to G; O is not asked.
    expect(await G.requestFunding(USD(2))).to.equal(USD(2));
    expect(await Promise.all([root, cAcct, gAcct, hAcct].map(balance))).to.deep.equal([o0, c0, g0 + USD(2), USD(1)]);
    expect(ev("C", "funding-reclaimed")).to.have.length(1);
    expect(ev("C", "funding-reclaimed")[0]).to.include({ from: hAcct, amount: USD(2) });
    expect(ev("C", "funding-requested")).to.have.length(askedUp);

    // Nothing left beyond H's keep: the next request goes up to O, and H keeps what it must.
    expect(await G.requestFunding(USD(1))).to.equal(USD(1));
    expect(await Promise.all([root, cAcct, gAcct, hAcct].map(balance))).to.deep.equal([
      o0 - USD(1),
      c0,
      g0 + USD(3),
      USD(1),
    ]);
    expect(ev("C", "funding-reclaimed")).to.have.length(1);
    expect(ev("C", "funding-requested")[askedUp]).to.include({ amount: USD(1), granted: USD(1) });

    // A request the tree cannot meet takes nothing from the siblings: H's surplus stays where it is.
    await owner.allocate(root, cAcct, USD(2));
    await owner.allocate(cAcct, hAcct, USD(2));
    const before = await Promise.all([root, cAcct, gAcct, hAcct].map(balance));
    expect(await G.requestFunding(USD(5000))).to.equal(0n);
    expect(await Promise.all([root, cAcct, gAcct, hAcct].map(balance))).to.deep.equal(before);
    expect(ev("C", "funding-reclaimed")).to.have.length(1);

    // A running child that asks for more than twice what it keeps is refused outright; nothing moves.
    keeps.set(gAcct, USD(1));
    try {
      expect(await G.requestFunding(USD(3))).to.equal(0n);
    } finally {
      keeps.delete(gAcct);
    }
    expect(await Promise.all([root, cAcct, gAcct, hAcct].map(balance))).to.deep.equal(before);
    const refused = ev("C", "funding-denied").at(-1);
    expect(refused?.type === "funding-denied" && refused.note).to.match(/more than twice what it keeps/);
  });

  it("leave(): the terminating ICON re-parents its children to its own parent, then detaches", async () => {
    const c2 = await start("C2", 7, c2Acct, O);
    const g2 = await start("G2", 8, g2Acct, c2.t);
    await poll("C2 to report G2 to O", () => O.children().find((k) => k.account === c2Acct)?.descendants === 1);
    await c2.t.leave();
    expect(O.children().map((k) => k.account)).to.not.include(c2Acct);
    expect(ev("O", "child-left").map((e) => e.type === "child-left" && [e.account, e.reason])).to.deep.include([
      c2Acct,
      "detached",
    ]);
    await poll("G2 to re-parent to O", () => g2.t.parent?.account === root, 10_000);
    const moved = ev("G2", "reattached")[0];
    expect(moved).to.include({ from: c2Acct });
    expect(moved?.type === "reattached" && moved.reason).to.match(/left the tree/);
    expect(g2.t.ancestors.map((a) => a.account)).to.deep.equal([root]);
    await poll("O to list G2", () => O.children().some((k) => k.account === g2Acct));
    // The leaver refuses new children, so nobody attaches to a terminating ICON.
    const domain = treeDomain(BigInt(m.deployment.chainId), m.deployment.market);
    const p = await signTreeMember(wallet(8), domain, g2Acct, x.peerId);
    expect((await refusal(fromX(c2.t, attachMsg(p)))).treeCode).to.equal(TreeErrorCode.TREE_LEAVING);
    // Nor does it fund anyone: its account is about to close.
    expect((await refusal(fromX(c2.t, { type: "funding", proof: p, amount: USD(1) }))).treeCode).to.equal(
      TreeErrorCode.TREE_LEAVING,
    );
    await c2.t.stop();
    await c2.node.stop();
  });

  it("an orphan re-attaches to its grandparent when its parent's node dies; O's aggregate then includes it", async () => {
    const t0 = Date.now();
    await C.stop(); // a crash: C tells nobody
    await cNode.stop();
    await poll("G to re-attach to O", () => G.parent?.account === root, 20_000);
    const reattachMs = Date.now() - t0;
    const moved = ev("G", "reattached")[0];
    expect(moved).to.include({ from: cAcct });
    expect(moved?.type === "reattached" && moved.parent.account).to.equal(root);
    expect(ev("G", "report-failed").length).to.be.at.least(3);
    await poll("O to drop the silent C", () => !O.children().some((k) => k.account === cAcct), 20_000);
    await poll("O's child-left event for C", () =>
      ev("O", "child-left").some((e) => e.type === "child-left" && e.account === cAcct && e.reason === "silent"),
    );
    await poll("G's report at O", () => O.children().find((k) => k.account === gAcct)?.subnets.length === 2);
    // O, G and G2 (which observes nothing) remain; C's own traffic is gone with it.
    expect(
      O.children()
        .map((k) => k.account)
        .sort(),
    ).to.deep.equal([gAcct, g2Acct].sort());
    expect(plain(O.aggregate())).to.deep.equal(plain(mergeSubnets([oLocal, gLocal])));
    expect(reattachMs).to.be.below(20 * PERIOD);

    // Adopted by O but still C's account on chain: O cannot allocate to it, so G asks the owner on chain.
    const before = await balance(gAcct);
    expect(await G.requestFunding(USD(2))).to.equal(0n);
    expect(await balance(gAcct)).to.equal(before);
    const logs = await owner.logs(owner.market, "FundingRequested", [root, gAcct]);
    expect(logs.at(-1)!.slice(0, 4)).to.deep.equal([root, gAcct, cAcct, USD(2)]);
  });

  it("a request waits at most the time its asker gives it: a parent slow to answer costs the bound, not the minute", async () => {
    const pAcct = await owner.createAccount(root, wallet(10).address);
    const kAcct = await owner.createAccount(pAcct, wallet(11).address);
    // The fault, injected: the parent takes 8 s to look at its children, so its answer comes that late.
    const slow = () => new Promise<bigint>((res) => setTimeout(() => res(USD(1)), 8000));
    const p = await start("P", 10, pAcct, O, [], { childKeeps: slow });
    const k = await start("K", 11, kAcct, p.t);
    await poll("P to list K", () => p.t.children().some((c) => c.account === kAcct));
    const t0 = Date.now();
    const e = await k.t.requestFunding(USD(0.5), { timeoutMs: 1500 }).then(
      () => undefined,
      (x: unknown) => x,
    );
    const took = Date.now() - t0;
    expect(e, "the request ended unanswered").to.be.instanceOf(Error);
    expect(took).to.be.within(1400, 6000);
    expect(await balance(kAcct)).to.equal(0n);
  });
});
