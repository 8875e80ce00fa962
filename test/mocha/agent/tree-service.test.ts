/**
 * The tree's served side as a service of the agent's libp2p node (tree-service.ts), gated on the agent's readiness:
 * the node the agent builds (gateway.ts agentNode) registers `/icon/tree/1.0.0` at its start, and until the ICON's
 * tree member starts — which the agent does once its state is reconciled with the chain — a child's attach is
 * refused (the stream reset, no answer frame) and reaches nothing; from the member's start it is answered; a join
 * that failed refuses again until the next try, as the member's stop does; the node's stop unregisters the protocol.
 * Real chain, real libp2p nodes on loopback.
 */
import { expect } from "chai";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Wallet } from "ethers";
import type { Libp2p } from "@libp2p/interface";
import { generateKeyPair } from "@libp2p/crypto/keys";
import type { Ping } from "@libp2p/ping";
import {
  TREE_PROTOCOL,
  TreeError,
  createIconNode,
  dialableAddrs,
  signTreeMember,
  treeDomain,
  treeRequest,
  type MarketClient,
  type TreeMemberProof,
} from "../../../protocol/index.ts";
import type { AgentEnv } from "../../../icon-agent/config.ts";
import { agentNode } from "../../../icon-agent/gateway.ts";
import { TreeMember, treeServing } from "../../../icon-agent/tree.ts";
import { TEST_POLICY, USD, clientFor, startMarket, type TestMarket } from "../../../scripts/lib/testbed.ts";

const PERIOD = 300;

/** How a request ended: answered (its reply or error frame), or refused without an answer (the stream reset). */
async function outcome(p: Promise<{ reply: { type: string } }>): Promise<string> {
  try {
    return `answered ${(await p).reply.type}`;
  } catch (e) {
    return e instanceof TreeError ? `answered error ${e.treeCode}` : "refused";
  }
}

describe("tree: the served side as a service of the agent's node, gated on its readiness", function () {
  this.timeout(120_000);
  let m: TestMarket;
  let owner: MarketClient;
  let root: bigint;
  let child: bigint;
  let orphan: bigint;
  let dir: string;
  const nodes: Libp2p[] = [];
  const members: TreeMember[] = [];
  const wallet = (i: number) => new Wallet(m.keys[i]!);
  // The part of the agent's env its node reads (config.ts: listenHost's default, no p2p discovery).
  const env = { listenHost: "127.0.0.1" } as AgentEnv;

  before(async () => {
    m = await startMarket();
    owner = await clientFor(m, 1, USD(1000));
    root = await owner.createApp(wallet(2).address, TEST_POLICY, USD(100));
    child = await owner.createAccount(root, wallet(3).address);
    orphan = await owner.createAccount(root, wallet(4).address);
    dir = await mkdtemp(path.join(tmpdir(), "icon-tree-service-"));
    for (const d of ["o", "g"]) await mkdir(path.join(dir, d)); // the agents' state directories
  });

  after(async () => {
    for (const t of members) await t.stop().catch(() => {});
    await Promise.allSettled(nodes.map(async (n) => n.stop()));
    await m?.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function member(node: Libp2p, key: number, account: bigint, parentAddrs?: string[]): Promise<TreeMember> {
    const t = new TreeMember({
      node,
      serving: treeServing(node),
      signer: wallet(key),
      account,
      client: await clientFor(m, key),
      parent: parentAddrs && { account: root, addrs: parentAddrs },
      reportEveryMs: PERIOD,
      local: () => [],
      whereAmI: () => ({ endpoint: "o.test:8080", location: "yard-o" }),
    });
    members.push(t);
    return t;
  }

  it("refuses a child before the member starts, answers it from then on, refuses again after its stop; the node's stop unregisters it", async () => {
    const node = await agentNode(path.join(dir, "o"), env, await generateKeyPair("Ed25519"), undefined);
    nodes.push(node);
    expect(node.getProtocols()).to.include(TREE_PROTOCOL); // registered with the node, before the agent is ready
    const O = await member(node, 2, root);

    const x = await createIconNode();
    nodes.push(x);
    const proof: TreeMemberProof = await signTreeMember(
      wallet(3),
      treeDomain(BigInt(m.deployment.chainId), m.deployment.market),
      child,
      x.peerId,
    );
    const attach = () =>
      outcome(
        treeRequest(x, dialableAddrs(node.getMultiaddrs().map(String)), {
          type: "attach",
          proof,
          addrs: [],
          endpoint: "c.test:8080",
          location: "yard-c",
          epoch: 0n,
        }),
      );

    // The agent is still recovering: the child's attach is refused, and nothing of it reached the member.
    expect(await attach()).to.equal("refused");
    expect(O.children()).to.deep.equal([]);

    await O.start();
    expect(await attach()).to.equal("answered attached");
    expect(O.children().map((c) => c.account)).to.deep.equal([child]);

    await O.stop();
    expect(await attach()).to.equal("refused");

    await node.stop();
    expect(node.getProtocols()).to.not.include(TREE_PROTOCOL);
  });

  it("a member whose join failed refuses its children while its node stays up", async () => {
    // A parent that is not there: a closed port on loopback, with a peer id nobody holds.
    const nowhere = await createIconNode();
    const dead = `/ip4/127.0.0.1/tcp/1/p2p/${nowhere.peerId.toString()}`;
    await nowhere.stop();
    const node = await agentNode(path.join(dir, "g"), env, await generateKeyPair("Ed25519"), undefined);
    nodes.push(node);
    const G = await member(node, 4, orphan, [dead]);

    const x = await createIconNode();
    nodes.push(x);
    // A stranger's report: answered with an error frame while G serves, refused while it does not.
    const proof = await signTreeMember(
      Wallet.createRandom(),
      treeDomain(BigInt(m.deployment.chainId), m.deployment.market),
      child,
      x.peerId,
    );
    const report = () =>
      outcome(
        treeRequest(x, dialableAddrs(node.getMultiaddrs().map(String)), {
          type: "report",
          proof,
          subnets: [],
          endpoint: "",
          location: "",
          descendants: 0,
          epoch: 0n,
        }),
      );

    expect(await report()).to.equal("refused");
    let joinError: unknown;
    await G.start().catch((e: unknown) => (joinError = e));
    expect(joinError).to.be.instanceOf(Error);
    // As before the service existed: a failed join serves nothing until the agent tries again — the node is up and
    // reachable (it answers a ping), the protocol registered with it, the gate closed.
    expect(await report()).to.equal("refused");
    expect(await (x.services as { ping: Ping }).ping.ping(node.getMultiaddrs()[0]!)).to.be.a("number");
    expect(node.getProtocols()).to.include(TREE_PROTOCOL);
  });
});
