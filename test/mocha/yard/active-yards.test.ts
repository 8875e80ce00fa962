/**
 * The registry's active yards (yard-node/overlay/yards.ts), on a real chain: listed and staked peers are trusted,
 * an unstaked listing or a peer in no listing is not; a peer listed after the last reading is trusted once a tunnel
 * from it has asked for a new one; a registry read that fails keeps the last reading; `ipOf` reads a
 * connection's address; `vouch` (whose routes the overlay takes) waits for a new reading, rate-limited.
 */
import { expect } from "chai";
import { multiaddr } from "@multiformats/multiaddr";
import { generateKeyPair } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import type { PeerId } from "@libp2p/interface";
import { MarketClient, peerIdBytes } from "../../../protocol/index.ts";
import { ActiveYards, ipOf, type RegistryReader } from "../../../yard-node/overlay/yards.ts";
import { poll } from "../../../scripts/lib/testbed.ts";
import { network, deployMarket, deploymentOf, listing, params, type Market } from "../../helpers/market.ts";

const conn = await network.create();
const newPeer = async (): Promise<PeerId> => peerIdFromPrivateKey(await generateKeyPair("Ed25519"));

describe("active yards (whose tunnels' client address counts)", function () {
  this.timeout(60_000);
  let m: Market;
  let client: MarketClient;
  const register = async (op: Market["provider"], peer: PeerId, suffix: string, stake: boolean) => {
    await m.registry.connect(op).register({ ...listing(suffix), peerId: peerIdBytes(peer) });
    if (stake) await m.registry.connect(op).stake(params.minStake * 10n);
  };

  /** The real client as a reader, counting its registry readings. */
  const countingReader = (): { counting: RegistryReader; reads: () => number } => {
    let n = 0;
    return {
      counting: {
        listedOperators: async () => {
          n++;
          return client.listedOperators();
        },
        providerStatus: (op) => client.providerStatus(op),
      },
      reads: () => n,
    };
  };

  before(async () => {
    m = await deployMarket(conn);
    client = await MarketClient.connect({
      deployment: await deploymentOf(m),
      provider: m.ethers.provider,
      signer: m.stranger,
    });
  });

  it("trusts listed and staked peers only; a peer listed later is trusted after the reading its tunnel asked for", async () => {
    const staked = await newPeer();
    const unstaked = await newPeer();
    const stranger = await newPeer();
    const late = await newPeer();
    await register(m.provider, staked, "b1", true);
    await register(m.child, unstaked, "b2", false);
    const yards = new ActiveYards(client, { missRefreshMs: 0 });
    await yards.refresh();
    expect([...yards.peers]).to.deep.equal([staked.toString()]);
    expect(yards.trusts(staked.toString())).to.equal(true);
    expect(yards.trusts(unstaked.toString())).to.equal(false);
    expect(yards.trusts(stranger.toString())).to.equal(false);

    await register(m.provider2, late, "b3", true);
    // The first tunnel from it counts under its address (the check never waits for the chain) and asks for a
    // reading; a later one is trusted.
    expect(yards.trusts(late.toString())).to.equal(false);
    await poll("a new reading after the miss", () => yards.peers.has(late.toString()));
    expect(yards.trusts(late.toString())).to.equal(true);
    expect(yards.trusts(unstaked.toString())).to.equal(false);
  });

  it("asks for a new reading at most every missRefreshMs, however many tunnels miss", async () => {
    const { counting, reads } = countingReader();
    const yards = new ActiveYards(counting, { missRefreshMs: 60_000 });
    await yards.refresh();
    expect(reads()).to.equal(1);
    const stranger = (await newPeer()).toString();
    for (let i = 0; i < 50; i++) expect(yards.trusts(stranger)).to.equal(false);
    await new Promise((r) => setTimeout(r, 100));
    expect(reads(), "no reading within missRefreshMs of the last").to.equal(1);
  });

  it("vouch (routes): waits for a new reading, so a yard listed since the last one is believed on its first answer; strangers cost at most one reading per vouchRefreshMs", async () => {
    const { counting, reads } = countingReader();
    const yards = new ActiveYards(counting, { vouchRefreshMs: 200 });
    await yards.refresh();
    const late = await newPeer();
    await register(m.owner, late, "b4", true);
    await new Promise((r) => setTimeout(r, 250));
    expect(yards.peers.has(late.toString())).to.equal(false);
    expect(await yards.vouch(late.toString()), "listed and staked since the last reading").to.equal(true);
    expect(reads()).to.equal(2);
    const stranger = (await newPeer()).toString();
    await new Promise((r) => setTimeout(r, 250));
    const answers = await Promise.all(Array.from({ length: 20 }, () => yards.vouch(stranger)));
    expect(answers.every((a) => a === false)).to.equal(true);
    expect(reads(), "twenty asks at once share one reading").to.equal(3);
    for (let i = 0; i < 20; i++) expect(await yards.vouch(stranger)).to.equal(false);
    expect(reads(), "no reading within vouchRefreshMs of the last").to.equal(3);
    await new Promise((r) => setTimeout(r, 250));
    expect(await yards.vouch(stranger)).to.equal(false);
    expect(reads()).to.equal(4);
    // A known yard is vouched for without a reading.
    expect(await yards.vouch(late.toString())).to.equal(true);
    expect(reads()).to.equal(4);
  });

  it("keeps the last reading when the registry cannot be read (chain down), and logs it once", async () => {
    let down = false;
    const warned: string[] = [];
    // Injects the outage: the real client, failing while `down`.
    const faultInjectingReader: RegistryReader = {
      listedOperators: async () => {
        if (down) throw new Error("connect ECONNREFUSED 127.0.0.1:8545");
        return client.listedOperators();
      },
      providerStatus: (op) => client.providerStatus(op),
    };
    const yards = new ActiveYards(faultInjectingReader, { log: { warn: (msg) => void warned.push(msg) } });
    await yards.refresh();
    const before = [...yards.peers];
    expect(before.length).to.be.greaterThan(0);
    down = true;
    await yards.refresh();
    await yards.refresh();
    expect([...yards.peers]).to.deep.equal(before);
    expect(warned).to.have.length(1);
    expect(warned[0]).to.match(/keeping the last reading/);
    down = false;
    await yards.refresh();
    expect([...yards.peers]).to.deep.equal(before);
  });

  it("ipOf: the IP a connection's address starts with, nothing for a name", () => {
    expect(ipOf(multiaddr("/ip4/203.0.113.7/tcp/4001"))).to.equal("203.0.113.7");
    expect(ipOf(multiaddr("/ip6/2001:db8::1/tcp/4001"))).to.equal("2001:db8::1");
    expect(ipOf(multiaddr("/dns4/yard.example/tcp/4001"))).to.equal(undefined);
  });
});
