/**
 * Instance epochs in the overlay tree (issue 16 item 5, "never two instances acting for one ICON"): two instances of
 * one ICON — the same key and the same libp2p identity, as a migration's old and new instance are — attach to the
 * same parent; the parent keeps the higher epoch and refuses the old instance's reports and attaches
 * (TREE_STALE_EPOCH), and an instance that stopped acting sends nothing. Real chain, real libp2p nodes on loopback.
 */
import { expect } from "chai";
import { Wallet } from "ethers";
import type { Libp2p } from "@libp2p/interface";
import { generateKeyPair } from "@libp2p/crypto/keys";
import {
  TreeError,
  TreeErrorCode,
  createIconNode,
  dialableAddrs,
  signTreeMember,
  treeDomain,
  treeRequest,
  type MarketClient,
  type TreeSubnet,
} from "../../../protocol/index.ts";
import { TreeMember, type TreeEvent } from "../../../icon-agent/tree.ts";
import { TEST_POLICY, USD, clientFor, poll, startMarket, type TestMarket } from "../../../scripts/lib/testbed.ts";

const PERIOD = 300;
const sn = (subnet: string, rate: number): TreeSubnet => ({ subnet, rate, latencyMs: 10, requests: 1n });

async function refusal(p: Promise<unknown>): Promise<TreeError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof TreeError) return e;
    throw new Error(`expected a TreeError, got ${String(e)}`, { cause: e });
  }
  throw new Error("expected a refusal, but the request was accepted");
}

describe("tree: instance epochs (a parent never takes a handed-over instance for its child)", function () {
  this.timeout(120_000);
  let m: TestMarket;
  let owner: MarketClient;
  let root: bigint;
  let child: bigint;
  const nodes: Libp2p[] = [];
  const members: TreeMember[] = [];
  let O: TreeMember;
  let oNode: Libp2p;
  const wallet = (i: number) => new Wallet(m.keys[i]!);

  /** A tree member of `account` (key `key`) on `node`, with epoch and acting as given. */
  async function member(
    node: Libp2p,
    key: number,
    account: bigint,
    o: { parent?: TreeMember; epoch?: () => number; acting?: () => boolean; local?: TreeSubnet[]; log?: TreeEvent[] },
  ): Promise<TreeMember> {
    const t = new TreeMember({
      node,
      signer: wallet(key),
      account,
      client: await clientFor(m, key),
      parent: o.parent && { account: root, addrs: oNode.getMultiaddrs().map(String) },
      reportEveryMs: PERIOD,
      local: () => o.local ?? [],
      whereAmI: () => ({ endpoint: "s.test:8080", location: "yard-s", leaseId: 7n }),
      ...(o.epoch ? { epoch: o.epoch } : {}),
      ...(o.acting ? { acting: o.acting } : {}),
      onEvent: (e) => o.log?.push(e),
    });
    members.push(t);
    await t.start();
    return t;
  }

  before(async () => {
    m = await startMarket();
    owner = await clientFor(m, 1, USD(1000));
    root = await owner.createApp(wallet(2).address, TEST_POLICY, USD(100));
    child = await owner.createAccount(root, wallet(3).address);
    await owner.allocate(root, child, USD(5));
    oNode = await createIconNode();
    nodes.push(oNode);
    O = await member(oNode, 2, root, {});
  });

  after(async () => {
    for (const t of members) await t.stop().catch(() => {});
    await Promise.allSettled(nodes.map(async (n) => n.stop()));
    await m?.close();
  });

  it("keeps the higher epoch of two instances with one key and one peer id, refuses the lower one's reports and attaches", async () => {
    // The old and the new instance share the ICON's key and its libp2p identity (the sealed state carries both).
    const identity = await generateKeyPair("Ed25519");
    const oldNode = await createIconNode({ privateKey: identity });
    const newNode = await createIconNode({ privateKey: identity });
    nodes.push(oldNode, newNode);
    expect(oldNode.peerId.equals(newNode.peerId)).to.equal(true);
    const oldLog: TreeEvent[] = [];
    await member(oldNode, 3, child, { parent: O, epoch: () => 1, local: [sn("10.1.0.0/24", 4)], log: oldLog });
    await poll("O to take instance 1's report", () =>
      O.aggregate().some((s) => s.subnet === "10.1.0.0/24" && s.rate === 4),
    );
    expect(O.children().map((c) => [c.account, c.epoch])).to.deep.equal([[child, 1n]]);

    // The successor attaches as instance 2 (from another address, same peer id) and reports its own view.
    await member(newNode, 3, child, { parent: O, epoch: () => 2, local: [sn("10.2.0.0/24", 8)] });
    expect(O.children().map((c) => [c.account, c.epoch])).to.deep.equal([[child, 2n]]);
    await poll("O to hold instance 2's report", () =>
      O.aggregate().some((s) => s.subnet === "10.2.0.0/24" && s.rate === 8),
    );
    // Instance 1 keeps trying: every report (and the re-attach after three misses) is refused as stale.
    await poll("instance 1 to be refused as stale", () =>
      oldLog.some((e) => e.type === "report-failed" && e.error.startsWith("TREE_STALE_EPOCH")),
    );
    await poll("instance 1's re-attach to be refused too", () =>
      oldLog.some((e) => e.type === "reattach-failed" && e.error.includes("TREE_STALE_EPOCH")),
    );
    // Whatever instance 1 sent, O's view is instance 2's alone.
    await poll("instance 1's subnet gone from O's view", () => !O.aggregate().some((s) => s.subnet === "10.1.0.0/24"));
    expect(O.aggregate().find((s) => s.subnet === "10.2.0.0/24")?.rate).to.equal(8);
    expect(O.children().map((c) => [c.account, c.epoch])).to.deep.equal([[child, 2n]]);
  });

  it("refuses a lower epoch from anyone holding the key before anything changes", async () => {
    // A third node with the ICON's key (another peer id): its proof is valid, its epochs are what is judged.
    const x = await createIconNode();
    nodes.push(x);
    const domain = treeDomain(BigInt(m.deployment.chainId), m.deployment.market);
    const proof = await signTreeMember(wallet(3), domain, child, x.peerId);
    const to = () => dialableAddrs(oNode.getMultiaddrs().map(String));
    const attach = (epoch: bigint) =>
      treeRequest(x, to(), { type: "attach", proof, addrs: [], endpoint: "", location: "", epoch });
    const report = (epoch: bigint) =>
      treeRequest(x, to(), {
        type: "report",
        proof,
        subnets: [sn("10.66.0.0/24", 1000)],
        endpoint: "",
        location: "",
        descendants: 0,
        epoch,
      });
    const before = O.children().map((c) => [c.account, c.peerId, c.epoch]);
    for (const r of [await refusal(attach(1n)), await refusal(report(1n)), await refusal(report(0n))]) {
      expect(r.treeCode).to.equal(TreeErrorCode.TREE_STALE_EPOCH);
      expect(r.message).to.match(new RegExp(`account ${child} speaks here as instance 2 already`));
    }
    // Refused before anything changed: the child, its epoch and O's view are instance 2's.
    expect(O.children().map((c) => [c.account, c.peerId, c.epoch])).to.deep.equal(before);
    expect(O.aggregate().some((s) => s.subnet === "10.66.0.0/24")).to.equal(false);
    // The same epoch from a peer that did not attach: not attached (the epoch is not the only check).
    expect((await refusal(report(2n))).treeCode).to.equal(TreeErrorCode.TREE_NOT_ATTACHED);
  });

  it("an instance that stopped acting sends no report and asks for no money; its parent drops it as silent", async () => {
    const acct = await owner.createAccount(root, wallet(4).address);
    const node = await createIconNode();
    nodes.push(node);
    let acting = true;
    const t = await member(node, 4, acct, { parent: O, acting: () => acting, local: [sn("10.4.0.0/24", 2)] });
    await poll("O to take its report", () => O.children().some((c) => c.account === acct && c.subnets.length === 1));
    acting = false; // the hand-over's fence (pair.ts)
    const refused = await refusal(t.requestFunding(USD(1)));
    expect(refused.treeCode).to.equal(TreeErrorCode.TREE_LEAVING);
    // No report for three periods: O prunes it (it would not, had a single report arrived).
    await poll("O to drop the fenced instance as silent", () => !O.children().some((c) => c.account === acct), 20_000);
    expect((await owner.account(acct)).balance).to.equal(0n);
  });
});
