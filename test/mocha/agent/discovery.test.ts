/**
 * Candidate yards found by libp2p itself — mDNS on the loopback interface and provider records in a Kademlia DHT
 * reached through a bootstrap peer — checked against the registry on the embedded chain like every other
 * candidate: a peer no listing names is never dialled, a listed yard without stake is dropped with the reason.
 * The registry listings here carry a dummy multiaddr, so every address that works came from libp2p.
 */
import { expect } from "chai";
import type { Libp2p } from "@libp2p/interface";
import {
  MarketClient,
  RejectCode,
  createIconNode,
  findYardProviders,
  peerIdBytes,
  provideYard,
  serveLeases,
  signPeerBinding,
  type LeaseProvider,
} from "../../../protocol/index.ts";
import { discoverYards, type YardRef } from "../../../icon-agent/market.ts";
import { network, deployMarket, deploymentOf, listing, params, type Market } from "../../helpers/market.ts";

const conn = await network.create();

/** A yard that only answers capacity queries (what discovery asks), counting them. */
function capacityOnly(m: Market, operator: Market["provider"], node: Libp2p, registry: string) {
  const asked = { count: 0 };
  const p: LeaseProvider = {
    async capacity() {
      asked.count++;
      return {
        cpuMillisFree: 1000,
        memoryMiBFree: 1024,
        cpuPricePerSecond: 10n,
        memoryPricePerSecond: 5n,
        region: `region-of-${node.peerId.toString().slice(-4)}`,
        binding: await signPeerBinding(operator, node.peerId, m.chainId, registry),
      };
    },
    async quote() {
      return { reject: RejectCode.REJECT_UNSPECIFIED, message: "discovery test: no quotes" };
    },
    async accept() {
      return { reject: RejectCode.REJECT_UNSPECIFIED, message: "discovery test: no leases" };
    },
  };
  return { p, asked };
}

async function until(f: () => Promise<boolean> | boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await f()) return true;
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}

describe("discovery through libp2p: mDNS and the DHT, filtered by the registry", function () {
  this.timeout(90_000);
  let m: Market;
  let client: MarketClient;
  const nodes: Libp2p[] = [];
  const stops: (() => Promise<void>)[] = [];
  let lan: Libp2p; // listed and staked, found by mDNS
  let announced: Libp2p; // listed and staked, found in the DHT
  let unstaked: Libp2p; // listed, no stake, found by mDNS
  let stranger: Libp2p; // in no listing, found by mDNS
  let dhtPeer: Libp2p; // a plain DHT node everyone bootstraps from
  const asked: Record<string, { count: number }> = {};

  before(async () => {
    m = await deployMarket(conn);
    const deployment = await deploymentOf(m);
    client = await MarketClient.connect({ deployment, provider: m.ethers.provider, signer: m.stranger });
    dhtPeer = await createIconNode({ dht: true, dhtPrivateAddresses: true });
    const boot = [dhtPeer.getMultiaddrs()[0]!.toString()];
    lan = await createIconNode({ mdns: true });
    announced = await createIconNode({ dht: true, dhtPrivateAddresses: true, bootstrap: boot });
    unstaked = await createIconNode({ mdns: true });
    stranger = await createIconNode({ mdns: true });
    nodes.push(dhtPeer, lan, announced, unstaked, stranger);
    const register = async (op: Market["provider"], node: Libp2p, suffix: string, stake: boolean) => {
      await m.registry.connect(op).register({ ...listing(suffix), peerId: peerIdBytes(node.peerId) });
      if (stake) await m.registry.connect(op).stake(params.minStake * 10n);
    };
    await register(m.provider, lan, "a1", true);
    await register(m.provider2, announced, "a2", true);
    await register(m.child, unstaked, "a3", false);
    for (const [name, op, node] of [
      ["lan", m.provider, lan],
      ["announced", m.provider2, announced],
      ["unstaked", m.child, unstaked],
      ["stranger", m.stranger, stranger],
    ] as const) {
      const y = capacityOnly(m, op, node, deployment.registry);
      asked[name] = y.asked;
      stops.push(await serveLeases(node, y.p));
    }
    // The announcing yard needs its bootstrap peer in its routing table before a provider record can land.
    expect(await until(() => announced.getConnections(dhtPeer.peerId).length > 0, 15_000)).to.equal(true);
    expect(
      await until(async () => {
        await provideYard(announced, AbortSignal.timeout(5000)).catch(() => {});
        const probe = await createIconNode({ dht: true, dhtPrivateAddresses: true, bootstrap: boot });
        try {
          await until(() => probe.getConnections(dhtPeer.peerId).length > 0, 5000);
          return (await findYardProviders(probe, { timeoutMs: 3000 })).some(
            (y) => y.peerId === announced.peerId.toString(),
          );
        } finally {
          await probe.stop();
        }
      }, 30_000),
      "the yard's provider record reaches the DHT",
    ).to.equal(true);
  });

  after(async () => {
    for (const s of stops) await s();
    for (const n of nodes) await n.stop();
  });

  it("finds a listed, staked yard by mDNS and one announced in the DHT; never dials a peer no listing names", async () => {
    const agent = await createIconNode({
      mdns: true,
      dht: true,
      dhtPrivateAddresses: true,
      bootstrap: [dhtPeer.getMultiaddrs()[0]!.toString()],
    });
    nodes.push(agent);
    const skipped: string[] = [];
    let yards: YardRef[] = [];
    const found = await until(async () => {
      yards = await discoverYards({
        node: agent,
        client,
        peers: true,
        dht: true,
        onSkip: (what, why) => skipped.push(`${what}: ${why}`),
      });
      const ids = yards.map((y) => y.peerId);
      return (
        ids.includes(lan.peerId.toString()) &&
        ids.includes(announced.peerId.toString()) &&
        skipped.some((s) => s.startsWith(unstaked.peerId.toString()))
      );
    }, 30_000);
    expect(found, `found ${yards.map((y) => y.name).join(", ")}; skipped ${skipped.join("; ")}`).to.equal(true);
    const byId = new Map(yards.map((y) => [y.peerId, y]));
    expect(byId.get(lan.peerId.toString())!.operator).to.equal(m.provider.address);
    expect(byId.get(announced.peerId.toString())!.operator).to.equal(m.provider2.address);
    // Addresses from libp2p, not from the listing's dummy multiaddr.
    for (const y of yards) expect(y.addrs[0]).to.not.include("/tcp/4001/");
    expect(byId.has(unstaked.peerId.toString())).to.equal(false);
    expect(byId.has(stranger.peerId.toString())).to.equal(false);
    expect(byId.has(dhtPeer.peerId.toString())).to.equal(false);
    // The unstaked yard was listed, so it was asked, and dropped for its stake; the stranger was never asked.
    expect(asked.unstaked!.count).to.be.greaterThan(0);
    expect(skipped.filter((s) => s.startsWith(unstaked.peerId.toString())).join()).to.match(/stake/i);
    expect(asked.stranger!.count).to.equal(0);
  });

  it("never dials a peer that announces itself in the DHT without a listing", async () => {
    const boot = [dhtPeer.getMultiaddrs()[0]!.toString()];
    const impostor = await createIconNode({ dht: true, dhtPrivateAddresses: true, bootstrap: boot });
    nodes.push(impostor);
    const y = capacityOnly(m, m.stranger, impostor, client.deployment.registry);
    stops.push(await serveLeases(impostor, y.p));
    expect(await until(() => impostor.getConnections(dhtPeer.peerId).length > 0, 15_000)).to.equal(true);
    const agent = await createIconNode({ dht: true, dhtPrivateAddresses: true, bootstrap: boot });
    nodes.push(agent);
    // The impostor's record is in the DHT: the lookup returns it …
    expect(
      await until(async () => {
        await provideYard(impostor, AbortSignal.timeout(5000)).catch(() => {});
        return (await findYardProviders(agent, { timeoutMs: 3000 })).some(
          (p) => p.peerId === impostor.peerId.toString(),
        );
      }, 30_000),
    ).to.equal(true);
    // … and discovery keeps the listed yard and never asks the impostor anything.
    const yards = await discoverYards({ node: agent, client, peers: true, dht: true });
    expect(yards.map((r) => r.peerId)).to.include(announced.peerId.toString());
    expect(yards.map((r) => r.peerId)).to.not.include(impostor.peerId.toString());
    expect(y.asked.count).to.equal(0);
  });
});
