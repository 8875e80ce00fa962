/**
 * Re-founding the overlay tree (icon-agent/tree.ts `successor`, `mayRefound`) on a real chain with real libp2p nodes:
 * the origin names its oldest child in its acks, the successor takes the root's role when the origin is lost, its
 * sibling re-attaches to it; and the successor field cannot lure an ICON out of its application (a hostile parent
 * names an account of another application that accepts anyone: the ICON refuses it and nothing changes).
 * Whether the origin's yard is lost is the agent's judgement (replace.ts, loss.test.ts); here `mayRefound` is a
 * fake that says so, named as such.
 */
import { expect } from "chai";
import { Wallet } from "ethers";
import type { Libp2p } from "@libp2p/interface";
import { lpStream } from "@libp2p/utils";
import {
  TREE_PROTOCOL,
  TreeMembership,
  createIconNode,
  decodeTreeFrame,
  encodeTreeFrame,
  signTreeMember,
  treeLimits,
  type MarketClient,
  type TreeMessage,
} from "../../../protocol/index.ts";
import { TreeMember, type TreeEvent } from "../../../icon-agent/tree.ts";
import { TEST_POLICY, USD, clientFor, poll, startMarket, type TestMarket } from "../../../scripts/lib/testbed.ts";

const PERIOD = 300;

describe("re-founding the tree when the origin is lost (real chain, real nodes)", function () {
  this.timeout(120_000);
  let m: TestMarket;
  let owner: MarketClient;
  const nodes: Libp2p[] = [];
  const members: TreeMember[] = [];
  const wallet = (i: number) => new Wallet(m.keys[i]!);

  before(async () => {
    m = await startMarket();
    owner = await clientFor(m, 1, USD(1000));
  });
  after(async () => {
    for (const t of members) await t.stop().catch(() => {});
    await Promise.allSettled(nodes.map(async (n) => n.stop()));
    await m?.close();
  });

  async function member(
    key: number,
    account: bigint,
    parent: { account: bigint; addrs: string[] } | undefined,
    log: TreeEvent[],
    mayRefound?: () => Promise<string | undefined>,
  ): Promise<{ t: TreeMember; node: Libp2p }> {
    const node = await createIconNode();
    nodes.push(node);
    const t = new TreeMember({
      node,
      signer: wallet(key),
      account,
      client: await clientFor(m, key),
      parent,
      reportEveryMs: PERIOD,
      local: () => [],
      whereAmI: () => ({ endpoint: `k${key}.test:8080`, location: `yard-${key}`, leaseId: BigInt(key) }),
      onEvent: (e) => log.push(e),
      ...(mayRefound ? { mayRefound } : {}),
    });
    await t.start();
    members.push(t);
    return { t, node };
  }
  const addrs = (n: Libp2p) => n.getMultiaddrs().map(String);

  it("the origin names its oldest child; when the origin is lost that child becomes the root and its sibling re-attaches to it", async () => {
    const root = await owner.createApp(wallet(2).address, TEST_POLICY, USD(10));
    const sAcct = await owner.createAccount(root, wallet(3).address); // the oldest: the successor
    const tAcct = await owner.createAccount(root, wallet(4).address);
    const logs = { o: [] as TreeEvent[], s: [] as TreeEvent[], t: [] as TreeEvent[] };
    const asked = { s: 0, t: 0 };
    const O = await member(2, root, undefined, logs.o);
    const parent = { account: root, addrs: addrs(O.node) };
    // Fakes of the agent's judgement that the origin's yard is lost (replace.ts): they say so whenever asked.
    const S = await member(3, sAcct, parent, logs.s, async () => (asked.s++, "FAKE: the origin's yard is unreachable"));
    const T = await member(4, tAcct, parent, logs.t, async () => (asked.t++, "FAKE: the origin's yard is unreachable"));
    await poll(
      "both children told the successor",
      () => S.t.successor?.account === sAcct && T.t.successor?.account === sAcct,
      10_000,
    );
    expect(O.t.successor?.account).to.equal(sAcct);
    expect(asked).to.deep.equal({ s: 0, t: 0 }); // the origin answers: nobody is asked

    await O.t.stop();
    await O.node.stop();
    const refounded = await poll("S the root", () => logs.s.find((e) => e.type === "refounded"), 20_000);
    expect(refounded).to.deep.include({ from: root, why: "FAKE: the origin's yard is unreachable" });
    expect([S.t.isOrigin, S.t.parent]).to.deep.equal([true, undefined]);
    await poll("T under S", () => T.t.parent?.account === sAcct, 20_000);
    await poll("S counts T", () => S.t.children().some((c) => c.account === tAcct), 10_000);
    expect(T.t.isOrigin).to.equal(false);
    expect(asked.t).to.equal(0); // not the successor: never asked, never the root
    // The new root names its own successor now (its oldest live child) and reads the policy from chain.
    await poll("T told its new successor", () => T.t.successor?.account === tAcct, 10_000);
    const { policy } = await owner.app(root);
    await owner.setPolicy(root, { ...policy, replicateThresholdBps: 4321 });
    await poll("the new policy at T through S", () => T.t.policy()?.replicateThresholdBps === 4321, 10_000);
  });

  it("refuses a successor of another application that a hostile parent names, and stays where it was", async () => {
    const root = await owner.createApp(wallet(5).address, TEST_POLICY, USD(10));
    const kAcct = await owner.createAccount(root, wallet(6).address);
    const foreign = await owner.createApp(wallet(7).address, TEST_POLICY, 0n);
    const membership = new TreeMembership(owner);
    /** A raw tree peer that proves `account` with `key` and answers every request with `answer`. */
    const rawPeer = async (
      key: number,
      account: bigint,
      answer: (m: TreeMessage, me: { account: bigint; addrs: string[] }) => TreeMessage | undefined,
    ) => {
      const node = await createIconNode();
      nodes.push(node);
      const proof = await signTreeMember(wallet(key), membership.domain, account, node.peerId, 600);
      const me = { account, addrs: addrs(node) };
      await node.handle(TREE_PROTOCOL, async (stream) => {
        const lp = lpStream(stream, { maxDataLength: treeLimits.maxFrameBytes });
        const m = decodeTreeFrame((await lp.read()).subarray());
        const reply = answer(m, me) ?? {
          type: "attached",
          parent: me,
          origin: me,
          ancestors: [me],
          proof,
          successor: foreignRef,
        };
        await lp.write(encodeTreeFrame(reply));
        await stream.close();
      });
      return { node, me };
    };
    // The foreign application's root accepts anyone (hostile); the hostile parent (the real root's key) names it.
    let foreignRef: { account: bigint; addrs: string[] } = { account: foreign, addrs: [] };
    const F = await rawPeer(7, foreign, () => undefined);
    foreignRef = F.me;
    const H = await rawPeer(5, root, (msg, me) =>
      msg.type === "report" ? { type: "reportAck", ancestors: [me], successor: foreignRef } : undefined,
    );
    const log: TreeEvent[] = [];
    const K = await member(6, kAcct, { account: root, addrs: addrs(H.node) }, log);
    expect(K.t.parent?.account).to.equal(root);
    expect(K.t.successor?.account).to.equal(foreign);
    // The hostile parent goes silent: K re-attaches, the named successor is tried and refused on chain.
    await H.node.stop();
    await poll(
      "a refused re-attach",
      () => log.some((e) => e.type === "reattach-failed" && e.tried.includes(foreign)),
      20_000,
    );
    const failed = log.find((e) => e.type === "reattach-failed" && e.tried.includes(foreign));
    expect(failed?.type === "reattach-failed" && failed.error).to.match(
      new RegExp(`account ${foreign}: .*is not an ancestor of account ${kAcct}`),
    );
    expect(K.t.parent?.account).to.equal(root); // still its lost parent: it never joined the foreign tree
    expect(log.some((e) => e.type === "reattached")).to.equal(false);
  });
});
