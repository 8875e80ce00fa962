/**
 * The ICON agent against two real yards (in-process, real Docker, real chain): bidding with counter-offers and
 * the budget limit, and crash recovery from the agent's directory and the chain.
 */
import { expect } from "chai";
import { execFile, spawn } from "node:child_process";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { promisify } from "node:util";
import { tmpdir } from "node:os";
import path from "node:path";
import { Wallet } from "ethers";
import type { Libp2p } from "@libp2p/interface";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import type { Ed25519PrivateKey } from "@libp2p/interface";
import {
  IntentSender,
  MarketClient,
  createIconNode,
  loadOrCreatePeerKey,
  type IconError,
} from "../../../protocol/index.ts";
import { Agent } from "../../../icon-agent/agent.ts";
import { readAgentState, saveAgentState, writeAgentState, type AgentEvent } from "../../../icon-agent/state.ts";
import { replicaKey } from "../../../icon-agent/leases.ts";
import { appStatus, deployApp } from "../../../icon-agent/app.ts";
import { agentEnvFrom, type AgentEnv } from "../../../icon-agent/config.ts";
import { bid, discoverYards, listedPrice, type YardRef } from "../../../icon-agent/market.ts";
import { INTENT_RESERVE, shortestRenewalS } from "../../../icon-agent/decision.ts";
import { useTwoYards } from "../../helpers/yard.ts";
import { ICON_CLI, alive, deployWebApp } from "../../helpers/app.ts";
import type { YardConfigInput } from "../../../yard-node/config.ts";
import { Yard } from "../../../yard-node/yard.ts";
import { createLogger } from "../../../protocol/log.ts";
import { TEST_POLICY, USD, clientFor, type TestMarket } from "../../../scripts/lib/testbed.ts";
import { WEB_IMAGE, waitFor } from "../../helpers/docker.ts";

const log = createLogger({ level: "error" });

describe("ICON agent: bidding and crash recovery (two yards, real containers)", function () {
  this.timeout(180_000);
  const two = useTwoYards("agent", {
    log,
    stopFirst: () => [node, dhtPeer],
    start: async ({ idA, idB, yard }) => {
      // Yards announce themselves on libp2p too: cheap by mDNS, dear in a DHT that this plain node bootstraps.
      dhtPeer = await createIconNode({ dht: true, dhtPrivateAddresses: true });
      const p2p = {
        cheap: { mdns: true },
        dear: { dht: true, dhtPrivateAddresses: true, bootstrap: [dhtPeer.getMultiaddrs()[0]!.toString()] },
      } as Record<string, YardConfigInput["p2p"]>;
      const start = (key: number, yardId: string, region: string, pricing: Record<string, unknown>) =>
        yard(key, yardId, {
          listing: { domain: `${region}.icon.test`, region, stake: "100 iUSD" },
          pricing: {
            floorPerSecond: "10 units",
            cpuPerCoreSecond: "200 units",
            memoryPerGiBSecond: "100 units",
            ...pricing,
          } as YardConfigInput["pricing"],
          overlay: { semanticDns: false },
          p2p: p2p[region],
        });
      const a = await start(1, idA, "cheap", {});
      // Asks 50 % above its listed price at any utilization: a counter-offer at the listed price brings it down.
      const b = await start(2, idB, "dear", {
        cpuPerCoreSecond: "400 units",
        surcharge: [{ aboveUtilization: 0, bps: 5000 }],
      });
      return { a, b };
    },
  });
  let m: TestMarket;
  let cheap: Yard;
  let dear: Yard;
  let node: Libp2p;
  let dhtPeer: Libp2p;
  let digest: string;
  let owner: MarketClient;
  let refs: YardRef[];

  const spec = () => ({
    imageRef: WEB_IMAGE,
    imageDigest: digest,
    command: [],
    env: [],
    ports: [8080],
    httpPorts: [8080],
  });
  const rfq = (slotSeconds = 120) => ({
    cpuMillis: 250,
    memoryMiB: 64,
    slotSeconds,
    earliestStart: 0n,
    imageRef: WEB_IMAGE,
    imageDigest: digest,
  });

  before(async () => {
    ({ m, a: cheap, b: dear } = two.get());
    digest = await two.imageId(WEB_IMAGE);
    owner = await clientFor(m, 10, USD(100));
    node = await createIconNode();
    const seeds = [cheap, dear].map((y) => y.node.getMultiaddrs()[0]!.toString());
    const skipped: string[] = [];
    refs = await discoverYards({ node, client: owner, seeds, onSkip: (w, why) => skipped.push(`${w}: ${why}`) });
    expect(skipped).to.deep.equal([]);
    expect(refs.map((r) => r.name).sort()).to.deep.equal(["cheap", "dear"]);
    // The same two from the registry alone (no seeds): listings, bindings and stakes checked on chain.
    const fromRegistry = await discoverYards({ node, client: owner, registry: true });
    expect(fromRegistry.map((r) => r.peerId).sort()).to.deep.equal(refs.map((r) => r.peerId).sort());
    // And from libp2p alone (no seeds, no DNS, no listing's addresses): cheap by mDNS, dear from its DHT record.
    const finder = await createIconNode({
      mdns: true,
      dht: true,
      dhtPrivateAddresses: true,
      bootstrap: [dhtPeer.getMultiaddrs()[0]!.toString()],
    });
    try {
      let viaP2p: YardRef[] = [];
      await waitFor(
        "both yards through libp2p",
        async () => {
          viaP2p = await discoverYards({ node: finder, client: owner, peers: true, dht: true });
          return viaP2p.length === 2;
        },
        30_000,
      );
      expect(viaP2p.map((r) => r.peerId).sort()).to.deep.equal(refs.map((r) => r.peerId).sort());
    } finally {
      await finder.stop();
    }
  });

  /**
   * A client of ICON key `signer` as an agent has one: its market calls relayed by the yards (the key holds no ETH),
   * repaid from `account` of the application rooted at `root`.
   */
  async function relayedClient(signer: Wallet, account: bigint, root: bigint): Promise<MarketClient> {
    const c = await MarketClient.connect({ deployment: m.deployment, provider: m.provider, signer });
    c.useRelay(
      new IntentSender({
        node,
        client: c,
        account,
        maxFee: async () => (await c.app(root)).policy.maxRelayFee,
        yards: () => refs.map((r) => r.addrs),
      }),
    );
    return c;
  }

  /** A budget account controlled by a fresh key (funded with `deposit`) and a client for that key. */
  async function account(deposit: bigint): Promise<{ id: bigint; key: Wallet; icon: MarketClient }> {
    const key = new Wallet(Wallet.createRandom().privateKey, m.provider);
    const id = await owner.createApp(key.address, TEST_POLICY, deposit);
    const icon = await MarketClient.connect({ deployment: m.deployment, provider: m.provider, signer: key });
    return { id, key, icon };
  }

  /** An app whose origin ICON starts at the cheap yard (state in a fresh directory), with its event log. */
  async function deployOrigin(
    tag: string,
    discovery: Record<string, unknown>,
    o: { slotSeconds?: number; renewBeforeS?: number; deposit?: bigint } = {},
  ) {
    const dir = path.join(await mkdtemp(path.join(tmpdir(), tag)), "origin");
    const env: AgentEnv = agentEnvFrom(
      {
        service: {
          image: WEB_IMAGE,
          imageDigest: digest,
          ports: [8080],
          httpPorts: [8080],
          // Deployed as shop.r<root>.web.prod by the origin and every replica (child accounts, same root).
          name: "shop.web.prod",
          cpuMillis: 250,
          memoryMiB: 64,
          slotSeconds: o.slotSeconds ?? 600,
        },
        discovery,
        initialRegion: "cheap",
        agent: {
          periodMs: 500,
          reportEveryMs: 500,
          warmupS: 3600,
          ...(o.renewBeforeS !== undefined ? { renewBeforeS: o.renewBeforeS } : {}),
        },
      },
      m.chain.url,
      m.deployment,
    );
    const policy = {
      weightBps: 7000,
      migrateThresholdBps: 3000,
      replicateThresholdBps: 5000,
      terminateThresholdBps: 2000,
      maxPricePerSecond: 5000n,
      maxRelayFee: 50_000n,
      relayAllowancePerDay: 5_000_000n,
    };
    const app = await deployApp({ owner, env, policy, deposit: o.deposit ?? USD(5), dir });
    const events: AgentEvent[] = [];
    const spawned: string[] = [];
    const hooks = {
      spawn: async (d: string) => void spawned.push(d),
      onEvent: (e: AgentEvent) => void events.push(e),
    };
    // As the deploy stored it: the service key with the application's namespace filled in (shop.r<root>.web.prod).
    const stored = (await readAgentState(dir)).env;
    expect(stored.spec.service).to.equal(`shop.r${app.root}.web.prod`);
    return { dir, env: stored, app, events, hooks, spawned };
  }

  it("bids in parallel, counters a surcharged ask down to the listed price, takes the best by score and opens nothing elsewhere", async () => {
    const { id, key } = await account(USD(10));
    const d = refs.find((r) => r.name === "dear")!;
    const notes: string[] = [];
    const won = await bid({
      node,
      signer: key,
      client: owner,
      account: id,
      yards: refs,
      rfq: rfq(),
      spec: spec(),
      maxPrice: 0n,
      budget: USD(10),
      // Prefer the dear yard whatever it asks: the outcome shows the price the counter-offer got.
      score: (y) => (y.name === "dear" ? 0 : 1),
      onQuote: (y, _p, note) => notes.push(`${y.name}: ${note}`),
    });
    expect(won.yard.name).to.equal("dear");
    const listed = listedPrice(d, rfq());
    expect(notes).to.include(`dear: asks ${(listed * 15_000n + 9_999n) / 10_000n}/s; counter ${listed}/s`);
    expect(won.offer.pricePerSecond).to.equal(listed);
    expect(await owner.leasesOf(id)).to.deep.equal([won.leaseId]);
    expect((await owner.lease(won.leaseId)).provider).to.equal(d.operator);
    expect((await owner.account(id)).balance).to.equal(USD(10) - listed * 120n);
  });

  it("takes only quotes at which the action still pays (accept): the best by score refused, the next wins; all refused, nothing opens", async () => {
    const { id, key } = await account(USD(10));
    const asked: string[] = [];
    const won = await bid({
      node,
      signer: key,
      client: owner,
      account: id,
      yards: refs,
      rfq: rfq(),
      spec: spec(),
      maxPrice: 0n,
      budget: USD(10),
      score: (y) => (y.name === "cheap" ? 0 : 1),
      accept: (y, price) => {
        asked.push(`${y.name} ${price}`);
        return y.name === "cheap" ? "moving there improves U by 3.0 %, not above the 20.0 % threshold" : undefined;
      },
    });
    expect(won.yard.name).to.not.equal("cheap");
    expect(asked.map((a) => a.split(" ")[0]).sort()).to.deep.equal(refs.map((r) => r.name).sort());
    expect(await owner.leasesOf(id)).to.deep.equal([won.leaseId]);
    await owner.terminate(won.leaseId);

    const none = await account(USD(10));
    const refused = await bid({
      node,
      signer: none.key,
      client: owner,
      account: none.id,
      yards: refs,
      rfq: rfq(),
      spec: spec(),
      maxPrice: 0n,
      budget: USD(10),
      score: () => 0,
      accept: () => "a replica there would serve B, not A",
    }).then(
      () => new Error("a lease was won that does not pay"),
      (e: Error) => e,
    );
    expect(refused.message).to.match(/no yard gave a usable quote \(.*at which a replica there would serve B, not A/);
    expect(await owner.leasesOf(none.id)).to.deep.equal([]);
    expect((await owner.account(none.id)).balance).to.equal(USD(10));
  });

  it("counters within the owner's cap: at the listed price when the cap allows it, nothing when the yard's floor is above the cap", async () => {
    const d = refs.find((r) => r.name === "dear")!;
    const listed = listedPrice(d, rfq());
    const { id, key } = await account(USD(10));
    const notes: string[] = [];
    const won = await bid({
      node,
      signer: key,
      client: owner,
      account: id,
      yards: [d],
      rfq: rfq(),
      spec: spec(),
      maxPrice: listed + 1n, // the yard asks 1.5 × listed; the ICON counters at its listed price, under the cap
      budget: USD(10),
      score: () => 0,
      onQuote: (y, _p, note) => notes.push(note),
    });
    // The RFQ carries the cap as its maximum: the surcharged yard asks that much, the counter brings it down.
    expect(notes[0]).to.equal(`asks ${listed + 1n}/s; counter ${listed}/s`);
    expect(won.offer.pricePerSecond).to.equal(listed);
    await owner.terminate(won.leaseId);
    const tight = await account(USD(10));
    let why = "";
    // A yard that lost the chain for a moment says "retry later" (the chain is slow under coverage): ask again, as
    // the agent does next period.
    for (let attempt = 0; attempt < 5 && (attempt === 0 || /retry later/.test(why)); attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, 1000));
      const refused = await bid({
        node,
        signer: tight.key,
        client: owner,
        account: tight.id,
        yards: [d],
        rfq: rfq(),
        spec: spec(),
        maxPrice: listed - 1n, // the counter goes in at the cap; the yard's lowest price is above it
        budget: USD(10),
        score: () => 0,
      }).then(
        () => new Error("a lease was won above the cap"),
        (e: Error) => e,
      );
      why = refused.message;
    }
    expect(why, why).to.match(/dear: .*(above the cap|floor|lowest)/i);
    expect(await owner.leasesOf(tight.id)).to.deep.equal([]);
    expect((await owner.account(tight.id)).balance).to.equal(USD(10));
  });

  it("never commits more than the on-chain balance with two decisions at once: one lease opens, the other is refused, nothing else moves", async () => {
    const c = refs.find((r) => r.name === "cheap")!;
    const d = refs.find((r) => r.name === "dear")!;
    const cheapCost = listedPrice(c, rfq()) * 120n;
    const dearCost = listedPrice(d, rfq()) * 120n;
    // Either lease alone fits the balance, both together do not; each decision saw the whole balance.
    const deposit = cheapCost + dearCost - 1n;
    const { id, key } = await account(deposit);
    const one = (y: YardRef) =>
      bid({
        node,
        signer: key,
        client: owner,
        account: id,
        yards: [y],
        rfq: rfq(),
        spec: spec(),
        maxPrice: 0n,
        budget: deposit,
        score: () => 0,
      });
    const results = await Promise.allSettled([one(c), one(d)]);
    const won = results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
    const lost = results.flatMap((r) => (r.status === "rejected" ? [r.reason as Error] : []));
    expect(won.length, lost.map((e) => e.message).join("; ")).to.equal(1);
    expect(lost.length).to.equal(1);
    const w = won[0]!;
    expect(await owner.leasesOf(id)).to.deep.equal([w.leaseId]);
    expect((await owner.account(id)).balance).to.equal(deposit - w.offer.pricePerSecond * 120n);
    await owner.terminate(w.leaseId);
  });

  it("never commits more than the ICON's balance: every quote above it is dropped, nothing opens, nothing moves", async () => {
    const { id, key } = await account(1000n);
    const before = (await owner.account(id)).balance;
    let err: Error | undefined;
    try {
      await bid({
        node,
        signer: key,
        client: owner,
        account: id,
        yards: refs,
        rfq: rfq(600),
        spec: spec(),
        maxPrice: 0n,
        budget: before,
        score: () => 0,
      });
    } catch (e) {
      err = e as Error;
    }
    // The balance caps the price it asks for: 1000 units over 600 s is at most 1 unit per second.
    expect(err?.message).to.match(
      /no yard gave a usable quote \(.*above your maximum of 0\.000001 iUSD\/s.*above your maximum of 0\.000001 iUSD\/s/,
    );
    expect(await owner.leasesOf(id)).to.deep.equal([]);
    expect((await owner.account(id)).balance).to.equal(before);
  });

  it("renews its lease at the same yard before it ends, the container carrying over; short of money it founders to the owner on chain first", async () => {
    const SLOT = 60;
    const c = refs.find((r) => r.name === "cheap")!;
    const slotCost = listedPrice(c, rfq(SLOT)) * BigInt(SLOT);
    // Enough for the first slot and half of the next.
    const { dir, app, events, hooks } = await deployOrigin(
      "icon-agent-renew-",
      { seeds: [c.addrs[0]!] },
      { slotSeconds: SLOT, renewBeforeS: 50, deposit: (slotCost * 3n) / 2n },
    );
    const agent = await Agent.open(dir, hooks);
    await agent.start();
    const texts = () => events.map((e) => e.text).join("\n");
    try {
      const placed = await waitFor("the origin to be placed", () => agent.seed.placement, 30_000);
      expect(placed.yard.name).to.equal("cheap");
      expect(placed.end - placed.leaseStart).to.equal(BigInt(SLOT));
      // Within renewBeforeS of the end the renewal is due; the balance covers half of it: the origin asks the owner
      // for the rest, three relay fees to keep (decision.ts INTENT_RESERVE) and the request's own fee (the policy's
      // cap of 50 000 units each).
      await waitFor("a foundering request", () => /foundering: asked for/.test(texts()), 30_000);
      const need = placed.pricePerSecond * BigInt(SLOT);
      const keep = INTENT_RESERVE * 50_000n + 50_000n;
      // The request itself was a relayed intent: its fee left the balance after the ICON measured its shortfall.
      const balance = (await owner.account(app.root)).balance + (await owner.relayFeesOf(app.root));
      expect(balance < need).to.equal(true);
      const amount = need + keep - balance;
      expect(texts()).to.contain(`foundering: asked for ${owner.format(amount)}, granted ${owner.format(0n)}`);
      const asked = await owner.logs(owner.market, "FundingRequested", [app.root]);
      expect(asked.map((a) => a.slice(1).map(String))).to.deep.equal([[String(app.root), "0", String(amount)]]);
      expect(await owner.leasesOf(app.root)).to.deep.equal([placed.leaseId]);
      // The owner answers with what was asked; the next period buys the whole next slot at the same yard, starting
      // where the lease ends.
      await owner.fund(app.root, amount);
      const renewal = await waitFor("the renewal", () => agent.seed.placement?.renewal, 30_000);
      expect(renewal.leaseStart).to.equal(placed.end);
      expect(renewal.end).to.equal(placed.end + BigInt(SLOT));
      const r = await owner.lease(renewal.leaseId);
      expect(r.provider).to.equal(c.operator);
      expect(r.account).to.equal(app.root);
      expect(await owner.leasesOf(app.root)).to.deep.equal([placed.leaseId, renewal.leaseId]);
      // Said once the renewal is saved (moves.ts: the placement first, then the state written, then the event).
      await waitFor(
        "the renewal's event",
        () => texts().includes(`lease ${renewal.leaseId} renews ${placed.leaseId} at cheap`),
        10_000,
      );
      // At the old lease's end the renewal takes over: same endpoint, the same container serving throughout.
      const until = (Number(placed.end) + 10) * 1000;
      let served = 0;
      while (agent.seed.placement?.leaseId !== renewal.leaseId) {
        if (Date.now() > until) throw new Error("the renewal never took over");
        expect((await fetch(`http://${placed.endpoint}/`)).status).to.equal(200);
        served++;
        await new Promise((res) => setTimeout(res, 250));
      }
      expect(served).to.be.greaterThan(10);
      expect(agent.seed.placement!.endpoint).to.equal(placed.endpoint);
      for (let i = 0; i < 10; i++) expect((await fetch(`http://${placed.endpoint}/`)).status).to.equal(200);
      // The yard confirms the renewal's start on chain once it has carried the container over.
      await waitFor(
        "the renewal confirmed on chain",
        async () => (await owner.lease(renewal.leaseId)).state === "Running",
        15_000,
      );
      expect((await owner.lease(placed.leaseId)).state).to.be.oneOf(["Ended", "Settled"]);
      for (let i = 0; i < 5; i++) expect((await fetch(`http://${placed.endpoint}/`)).status).to.equal(200);
    } finally {
      await agent.stop();
      for (const id of await owner.leasesOf(app.root)) await owner.terminate(id).catch(() => {});
    }
  });

  it("short of money and unanswered it asks once for the lease (a restart does not ask again), waits half the renewal window, then renews at the yard's price for the slot its balance pays beyond three relay fees instead of letting the lease lapse", async () => {
    const SLOT = 60;
    const c = refs.find((r) => r.name === "cheap")!;
    const price = listedPrice(c, rfq(SLOT));
    const slotCost = price * BigInt(SLOT);
    // What the ICON keeps for its own next intents: three times the policy's fee cap (deployOrigin's 50 000 units).
    const reserve = INTENT_RESERVE * 50_000n;
    // Enough for the first slot and three quarters of the next beside the reserve; the owner never answers.
    const { dir, app, events, hooks } = await deployOrigin(
      "icon-agent-short-",
      { seeds: [c.addrs[0]!] },
      { slotSeconds: SLOT, renewBeforeS: 40, deposit: (slotCost * 7n) / 4n + reserve },
    );
    let agent = await Agent.open(dir, hooks);
    await agent.start();
    const texts = () => events.map((e) => e.text).join("\n");
    try {
      const placed = await waitFor("the origin to be placed", () => agent.seed.placement, 30_000);
      expect(placed.pricePerSecond).to.equal(price);
      // As if the yard had been cheaper when the lease was bought (a fault injected into the agent's state file):
      // planned at that price, the renewal would look paid and the bid would fail every period without asking.
      await agent.stop();
      const { env, seed } = await readAgentState(dir);
      seed.placement!.pricePerSecond = price / 4n;
      await saveAgentState(dir, env, seed);
      agent = await Agent.open(dir, hooks);
      await agent.start();
      await waitFor("a foundering request", () => /foundering: asked for/.test(texts()), 40_000);
      const askedAtS = Math.floor(Date.now() / 1000);
      // Restarted after asking: the state remembers the request for this lease.
      await agent.stop();
      agent = await Agent.open(dir, hooks);
      await agent.start();
      const renewal = await waitFor("the shorter renewal", () => agent.seed.placement?.renewal, 40_000);
      // Not before half the window (20 s) was left: the owner had that long to answer.
      expect(Number(placed.end) - Math.floor(Date.now() / 1000)).to.be.at.most(21);
      expect(Math.floor(Date.now() / 1000) - askedAtS).to.be.at.least(15);
      // One request for this lease, however many periods and restarts passed meanwhile, for the whole slot at the
      // yard's price with the reserve.
      const asked = await owner.logs(owner.market, "FundingRequested", [app.root]);
      expect(asked).to.have.length(1);
      expect(texts().match(/foundering: asked for/g)).to.have.length(1);
      expect(texts().match(/the request for money is not answered yet/g)?.length).to.be.within(1, 2);
      const fees = await owner.relayFeesOf(app.root);
      const had = (slotCost * 7n) / 4n + reserve - price * BigInt(SLOT) - fees;
      const atAsk = (slotCost * 7n) / 4n + reserve - slotCost;
      expect(asked[0]![3]).to.equal(slotCost + reserve + 50_000n - atAsk);
      // The slot the balance paid beyond the reserve (what was left after the first slot and the request's relay
      // fee), to the second, at the yard's price; the reserve stays in the account.
      const seconds = (had - reserve) / price;
      expect(renewal.leaseStart).to.equal(placed.end);
      expect(renewal.pricePerSecond).to.equal(price);
      expect(renewal.end - renewal.leaseStart).to.equal(seconds);
      expect(seconds >= BigInt(shortestRenewalS(SLOT)) && seconds < BigInt(SLOT)).to.equal(true);
      const left = (await owner.account(app.root)).balance;
      expect(left).to.equal(had - seconds * price);
      expect(left >= reserve).to.equal(true);
      // The event comes after the state is saved, not with the renewal in memory: waited for, not assumed there.
      const said = `lease ${renewal.leaseId} renews ${placed.leaseId} at cheap until ${renewal.end} (${seconds} s of ${SLOT}: what the balance pays)`;
      await waitFor(`the event "${said}"`, () => texts().includes(said), 10_000);
      const r = await owner.lease(renewal.leaseId);
      expect([r.provider, r.account, r.state]).to.deep.equal([c.operator, app.root, "Scheduled"]);
    } finally {
      await agent.stop();
      for (const id of await owner.leasesOf(app.root)) await owner.terminate(id).catch(() => {});
    }
  });

  it("a yard whose price rose since the lease: the renewal is planned at its price now — asked for once, bought whole once answered — not bid for at the old price every period", async () => {
    const SLOT = 60;
    const c = refs.find((r) => r.name === "cheap")!;
    const old = listedPrice(c, rfq(SLOT));
    const raised = {
      ...c,
      cpuPricePerSecond: 2n * c.cpuPricePerSecond,
      memoryPricePerSecond: 2n * c.memoryPricePerSecond,
    };
    const now = listedPrice(raised, rfq(SLOT));
    // The first slot and one and a half of the next at the old price: less than one at the new.
    const deposit = (old * BigInt(SLOT) * 5n) / 2n;
    const { dir, app, events, hooks } = await deployOrigin(
      "icon-agent-rise-",
      { seeds: [c.addrs[0]!] },
      { slotSeconds: SLOT, renewBeforeS: 40, deposit },
    );
    const agent = await Agent.open(dir, hooks);
    await agent.start();
    const texts = () => events.map((e) => e.text).join("\n");
    const saved = { ...cheap.prices };
    try {
      const placed = await waitFor("the origin to be placed", () => agent.seed.placement, 30_000);
      expect(placed.pricePerSecond).to.equal(old);
      // The operator doubles its prices (the running yard's own, as a restart with a new config would).
      cheap.prices.cpuPerCoreSecond *= 2n;
      cheap.prices.memoryPerGiBSecond *= 2n;
      await waitFor("a foundering request", () => /foundering: asked for/.test(texts()), 40_000);
      const asked = await owner.logs(owner.market, "FundingRequested", [app.root]);
      expect(asked).to.have.length(1);
      // The whole slot at the new price, three relay fees to keep and the request's own (the cap, 50 000 units).
      const amount = asked[0]![3] as bigint;
      expect(amount).to.equal(now * BigInt(SLOT) + INTENT_RESERVE * 50_000n + 50_000n - (deposit - old * BigInt(SLOT)));
      await owner.fund(app.root, amount);
      const renewal = await waitFor("the renewal", () => agent.seed.placement?.renewal, 30_000);
      expect(renewal.pricePerSecond).to.equal(now);
      expect(renewal.end - renewal.leaseStart).to.equal(BigInt(SLOT));
      // At most one bid at a price the ICON had not seen yet (its yard list may lag the rise), never one a period.
      expect((texts().match(/no yard gave a usable quote/g) ?? []).length).to.be.at.most(1);
      expect(await owner.logs(owner.market, "FundingRequested", [app.root])).to.have.length(1);
    } finally {
      Object.assign(cheap.prices, saved);
      await agent.stop();
      for (const id of await owner.leasesOf(app.root)) await owner.terminate(id).catch(() => {});
    }
  });

  it("crash: restarted from its directory and the chain it resumes its lease, ends a lease it never saved and closes an orphan replica account", async () => {
    const { dir, app, events, hooks } = await deployOrigin("icon-agent-", {
      seeds: [cheap, dear].map((y) => y.node.getMultiaddrs()[0]!.toString()),
    });
    let agent = await Agent.open(dir, hooks);
    await agent.start();
    const placed = await waitFor("the origin to be placed", () => agent.seed.placement, 30_000);
    expect(placed.yard.name).to.equal("cheap");
    await waitFor("a status file", async () => (await readAgentState(dir)).seed.placement?.leaseId === placed.leaseId);
    const peer = agent.node.peerId.toString();
    // One agent per state directory: a second one is refused while the first runs.
    const second = await Agent.open(dir, hooks).then(
      async (a) => (await a.stop(), undefined),
      (e: IconError) => e,
    );
    expect(second?.code).to.equal("AGENT_RUNNING");
    expect(second?.message).to.contain(`another agent (pid ${process.pid}) runs the ICON in ${dir}`);
    await agent.stop(); // as a crash: nothing is cleaned up, the lease runs on

    // While it is down: a lease opened in its name that its state never recorded, and a funded child account
    // that no agent runs (as if it died in the middle of replicating).
    const { key } = await readAgentState(dir);
    const icon = await relayedClient(new Wallet(key, m.provider), app.root, app.root);
    const stray = await bid({
      node,
      signer: new Wallet(key, m.provider),
      client: owner,
      account: app.root,
      yards: refs.filter((r) => r.name === "dear"),
      rfq: rfq(),
      spec: spec(),
      maxPrice: 0n,
      budget: USD(5),
      score: () => 0,
    });
    const orphan = await icon.createAccount(app.root, Wallet.createRandom().address);
    await icon.allocate(app.root, orphan, USD(1));
    const before = (await owner.account(app.root)).balance;
    // A write the crash interrupted (its process is gone), and a lock a dead process left.
    const leftover = path.join(dir, `agent.json.999999.${"0".repeat(8)}-0000-0000-0000-${"0".repeat(12)}.tmp`);
    await writeFile(leftover, "{");
    await writeFile(path.join(dir, "agent.lock"), "999999\n");

    agent = await Agent.open(dir, hooks);
    await agent.start();
    try {
      expect(await readFile(leftover, "utf8").catch(() => "gone")).to.equal("gone");
      expect((await readFile(path.join(dir, "agent.lock"), "utf8")).trim()).to.equal(String(process.pid));
      expect(agent.node.peerId.toString()).to.equal(peer);
      expect(agent.seed.placement!.leaseId).to.equal(placed.leaseId);
      expect((await owner.lease(placed.leaseId)).state).to.be.oneOf(["Scheduled", "Running"]);
      expect((await owner.lease(stray.leaseId)).state).to.be.oneOf(["Ended", "Settled"]);
      const o = await owner.account(orphan);
      expect(o.closed).to.equal(true);
      expect(o.balance).to.equal(0n);
      const after = (await owner.account(app.root)).balance;
      // The orphan's dollar came back, and the stray lease's unused time was refunded (it ran a few seconds).
      expect(after - before > USD(1)).to.equal(true);
      expect(after - before <= USD(1) + stray.offer.pricePerSecond * 120n).to.equal(true);
      expect(await owner.leasesOf(app.root)).to.deep.equal([placed.leaseId, stray.leaseId]);
      // It observes its clients again: one period reads the yard's telemetry for the resumed lease.
      await agent.tick();
      expect(agent.status().placement!.leaseId).to.equal(placed.leaseId);
      expect(events.map((e) => e.text).join("\n")).to.contain(
        `lease ${stray.leaseId} was open but unknown to the saved state`,
      );
    } finally {
      await agent.stop();
      await owner.terminate(placed.leaseId).catch(() => {});
    }
  });

  it("crash in the middle of a migration and of replications: the restart finishes the move, unwinds the replica that has no state and adopts the one that has", async () => {
    const { dir, env, app, events, hooks, spawned } = await deployOrigin("icon-agent-mid-", { registry: true });
    let agent = await Agent.open(dir, hooks);
    await agent.start();
    const old = await waitFor("the origin to be placed", () => agent.seed.placement, 30_000);
    await agent.stop();

    // What a crash right after the new lease of a move was saved, and one right after a replica's lease was
    // bought, leave behind.
    const { key, seed } = await readAgentState(dir);
    const origin = new Wallet(key, m.provider);
    const dearRef = refs.find((r) => r.name === "dear")!;
    const moved = await bid({
      node,
      signer: origin,
      client: owner,
      account: app.root,
      yards: [dearRef],
      rfq: rfq(600),
      spec: spec(),
      maxPrice: 0n,
      budget: USD(5),
      score: () => 0,
    });
    // What the agent did before the crash, as it does it: the origin's calls relayed by a yard (its key has no ETH).
    const icon = await relayedClient(origin, app.root, app.root);
    const childKey = new Wallet(replicaKey(key, 1), m.provider);
    const child = await icon.createAccount(app.root, childKey.address);
    await icon.allocate(app.root, child, USD(1));
    const replicaLease = await bid({
      node,
      signer: childKey,
      client: owner,
      account: child,
      yards: [dearRef],
      rfq: rfq(120),
      spec: spec(),
      maxPrice: 0n,
      budget: USD(1),
      score: () => 0,
    });
    // A second replica got as far as its state directory (key, account, live lease), not as far as being recorded.
    const adoptKey = new Wallet(replicaKey(key, 2), m.provider);
    const adopt = await icon.createAccount(app.root, adoptKey.address);
    await icon.allocate(app.root, adopt, USD(1));
    const adoptLease = await bid({
      node,
      signer: adoptKey,
      client: owner,
      account: adopt,
      yards: [dearRef],
      rfq: rfq(120),
      spec: spec(),
      maxPrice: 0n,
      budget: USD(1),
      score: () => 0,
    });
    const adoptDir = path.join(dir, "children", String(adopt));
    await writeAgentState(
      adoptDir,
      env,
      {
        name: "origin.2",
        account: adopt,
        root: app.root,
        parent: { account: app.root, addrs: [] },
        placement: {
          leaseId: adoptLease.leaseId,
          leaseStart: adoptLease.offer.start,
          yard: dearRef,
          endpoint: adoptLease.endpoint,
          pricePerSecond: adoptLease.offer.pricePerSecond,
          end: adoptLease.offer.end,
          since: Date.now() / 1000,
        },
        subnets: ["10.9.9.0/24"],
        children: {},
        replicas: 0,
      },
      adoptKey.privateKey,
    );
    const movingSeed = {
      ...seed,
      replicas: 2,
      moving: {
        leaseId: moved.leaseId,
        leaseStart: moved.offer.start,
        yard: dearRef,
        endpoint: moved.endpoint,
        pricePerSecond: moved.offer.pricePerSecond,
        end: moved.offer.end,
        since: Date.now() / 1000,
      },
    };
    await writeAgentState(dir, env, movingSeed, key);

    agent = await Agent.open(dir, hooks);
    await agent.start();
    try {
      expect(agent.seed.placement!.leaseId).to.equal(moved.leaseId);
      expect(agent.seed.moving).to.equal(undefined);
      expect((await owner.lease(old.leaseId)).state).to.be.oneOf(["Ended", "Settled"]);
      expect(events.map((e) => e.text).join("\n")).to.contain(
        `moved from cheap to dear (lease ${old.leaseId} → ${moved.leaseId})`,
      );
      // The replica that never got its agent: its lease ended with its derived key, its account closed.
      expect((await owner.lease(replicaLease.leaseId)).state).to.be.oneOf(["Ended", "Settled"]);
      const c = await owner.account(child);
      expect(c.closed).to.equal(true);
      expect(c.balance).to.equal(0n);
      expect(events.map((e) => e.text).join("\n")).to.contain(
        `replica account ${child} never got its agent: 1 lease(s) ended`,
      );
      // The replica's key never held ETH nor sent a transaction of its own: its lease was ended by a relayed intent.
      expect(await m.provider.getBalance(childKey.address)).to.equal(0n);
      expect(await m.provider.getTransactionCount(childKey.address)).to.equal(0);
      // The one with a state directory is adopted: its agent started, its lease and money left where they are.
      expect(spawned).to.deep.equal([adoptDir]);
      expect(agent.seed.children[String(adopt)]).to.deep.include({ name: "origin.2", started: true });
      expect((await owner.lease(adoptLease.leaseId)).state).to.be.oneOf(["Scheduled", "Running"]);
      expect((await owner.account(adopt)).closed).to.equal(false);
      expect(events.map((e) => e.text).join("\n")).to.contain(`adopted replica origin.2 (account ${adopt}`);
      // Every unit is accounted for: the root holds the deposit less what the leases cost while they ran.
      const st = await appStatus(owner, app.root);
      expect(st.held + st.spent + st.escrowed).to.equal(USD(5));
    } finally {
      await agent.stop();
      await owner.terminate(moved.leaseId).catch(() => {});
      await owner.terminate(adoptLease.leaseId).catch(() => {});
    }
  });

  it("terminates an ICON that has a replica of its own: the replica re-parents to the origin and keeps serving, the balance goes up", async () => {
    const { dir, env, app, events } = await deployOrigin("icon-agent-reparent-", { registry: true });
    const agents: Agent[] = [];
    const hooks = {
      // Replicas run in this process, each as its own Agent (own key, node, account), as `icon agent run` would.
      spawn: async (d: string) => {
        const a = await Agent.open(d, hooks);
        agents.push(a);
        await a.start();
      },
      onEvent: (e: AgentEvent) => void events.push(e),
    };
    const leases: bigint[] = [];
    let origin = await Agent.open(dir, hooks);
    agents.push(origin);
    try {
      await origin.start();
      const home = await waitFor("the origin to be placed", () => origin.seed.placement, 30_000);
      const originAddrs = origin.addrs; // the same after its restart (its peer key and port are in its directory)
      await origin.stop();
      // While it is stopped: a replica P of the origin (at dear) with a replica C of its own (at cheap), as two
      // replications leave them.
      const { key } = await readAgentState(dir);
      const icon = await relayedClient(new Wallet(key, m.provider), app.root, app.root);
      const pKey = new Wallet(replicaKey(key, 1), m.provider);
      const p = await icon.createAccount(app.root, pKey.address);
      await icon.allocate(app.root, p, USD(2));
      const pClient = await relayedClient(pKey, p, app.root);
      const cKey = new Wallet(replicaKey(pKey.privateKey, 1), m.provider);
      const c = await pClient.createAccount(p, cKey.address);
      await pClient.allocate(p, c, USD(1));
      const place = async (signer: Wallet, account: bigint, yard: string, budget: bigint) => {
        const ref = refs.find((r) => r.name === yard)!;
        const w = await bid({
          node,
          signer,
          client: owner,
          account,
          yards: [ref],
          rfq: rfq(600),
          spec: spec(),
          maxPrice: 0n,
          budget,
          score: () => 0,
        });
        return {
          leaseId: w.leaseId,
          leaseStart: w.offer.start,
          yard: ref,
          endpoint: w.endpoint,
          pricePerSecond: w.offer.pricePerSecond,
          end: w.offer.end,
          since: Date.now() / 1000,
        };
      };
      const pPlace = await place(pKey, p, "dear", USD(2));
      const cPlace = await place(cKey, c, "cheap", USD(1));
      leases.push(pPlace.leaseId, cPlace.leaseId);
      const pDir = path.join(dir, "children", String(p));
      const cDir = path.join(pDir, "children", String(c));
      // P's libp2p identity and port are fixed up front so that C's state can name P as its parent.
      const pPeer = peerIdFromPrivateKey((await loadOrCreatePeerKey(path.join(pDir, "peer.key"))) as Ed25519PrivateKey);
      const probe = await createIconNode();
      const pPort = Number(/\/tcp\/(\d+)/.exec(probe.getMultiaddrs()[0]!.toString())![1]);
      await probe.stop();
      await writeFile(path.join(pDir, "port"), String(pPort));
      // P is idle (no clients) and may decide 20 s after its placement: time for C to attach to it first (C starts
      // before P serves the tree, and retries every 10 periods).
      await writeAgentState(
        pDir,
        { ...env, warmupS: 20 },
        {
          name: "origin.1",
          account: p,
          root: app.root,
          parent: { account: app.root, addrs: originAddrs, placement: home },
          placement: pPlace,
          subnets: [],
          children: {}, // C's start not recorded either: P adopts it
          replicas: 1,
        },
        pKey.privateKey,
      );
      await writeAgentState(
        cDir,
        env, // warmupS 3600: C does not decide during the test
        {
          name: "origin.1.1",
          account: c,
          root: app.root,
          parent: { account: p, addrs: [`/ip4/127.0.0.1/tcp/${pPort}/p2p/${pPeer.toString()}`], placement: pPlace },
          placement: cPlace,
          subnets: ["10.7.7.0/24"],
          children: {},
          replicas: 0,
        },
        cKey.privateKey,
      );
      // The restarted origin finds P's state (its start not recorded) and adopts it; P starts C the same way.
      origin = await Agent.open(dir, hooks);
      agents.push(origin);
      await origin.start();
      const pAgent = await waitFor("P's agent", () => agents.find((a) => a.name === "origin.1"), 30_000);
      const cAgent = await waitFor("C's agent", () => agents.find((a) => a.name === "origin.1.1"), 30_000);
      await waitFor("C attached to P", () => cAgent.tree.parent?.account === p, 30_000);
      const rootBefore = (await owner.account(app.root)).balance;
      const pBalance = (await owner.account(p)).balance;
      await waitFor("P to terminate", () => pAgent.seed.done === true, 60_000);
      const text = events.map((e) => e.text).join("\n");
      expect(text).to.not.contain("terminate deferred");
      // P: its lease ended, its account closed, everything it held (plus its lease's refund) at the origin.
      expect((await owner.lease(pPlace.leaseId)).state).to.be.oneOf(["Ended", "Settled"]);
      const pAcc = await owner.account(p);
      expect(pAcc.closed).to.equal(true);
      expect(pAcc.balance).to.equal(0n);
      const rootAfter = (await owner.account(app.root)).balance;
      expect(rootAfter - rootBefore >= pBalance).to.equal(true);
      expect(rootAfter - rootBefore <= pBalance + pPlace.pricePerSecond * 600n).to.equal(true);
      // C: re-parented to the origin in the tree, reporting there, its lease and account untouched.
      await waitFor("C to re-attach to the origin", () => cAgent.tree.parent?.account === app.root, 30_000);
      await waitFor(
        "the origin to count C as its child",
        () => origin.tree.children().some((k) => k.account === c),
        30_000,
      );
      expect((await owner.lease(cPlace.leaseId)).state).to.be.oneOf(["Scheduled", "Running"]);
      const cAcc = await owner.account(c);
      expect([cAcc.closed, cAcc.balance > 0n]).to.deep.equal([false, true]);
      expect(cAgent.seed.done ?? false).to.equal(false);
      // The owner hot-swaps the policy on chain: the origin reads it, and it reaches the running replica down the tree.
      const { policy } = await owner.app(app.root);
      await owner.setPolicy(app.root, { ...policy, replicateThresholdBps: 4500 });
      await waitFor("the new policy at C", () => cAgent.tree.policy()?.replicateThresholdBps === 4500, 30_000);
      // C restarted from its directory and the chain resumes its lease and its place in the tree: its saved
      // ancestors lead it to the origin (its account's parent P is gone).
      await cAgent.stop();
      const restarted = await Agent.open(cDir, hooks);
      agents.push(restarted);
      await restarted.start();
      expect(restarted.seed.placement!.leaseId).to.equal(cPlace.leaseId);
      await waitFor("the restarted C under the origin", () => restarted.tree.parent?.account === app.root, 30_000);
      expect((await owner.lease(cPlace.leaseId)).state).to.be.oneOf(["Scheduled", "Running"]);
    } finally {
      for (const a of agents.reverse()) await a.stop().catch(() => {});
      for (const id of [...(await owner.leasesOf(app.root)), ...leases]) await owner.terminate(id).catch(() => {});
    }
  });

  it("runs as `icon app deploy` + `icon agent run` processes; kill -9 and a restart resume the same lease", async () => {
    // `app deploy` funds the budget and starts the origin's agent in the background, waiting until it is placed.
    const dep = await deployWebApp(m, {
      digest,
      cpuMillis: 250,
      initialRegion: "dear",
      waitS: 60,
      tmpPrefix: "icon-agent-cli-",
    });
    const { state, env, global } = dep;
    const icon = ICON_CLI;
    const root = BigInt(/application (\d+) created with 3 iUSD/.exec(dep.stdout)![1]!);
    const deployedPid = Number(/origin ICON started \(pid (\d+), log /.exec(dep.stdout)![1]!);
    const placedMatch = /origin ICON placed at dear \(lease (\d+)\); clients reach it at (\S+)/.exec(dep.stdout)!;
    const placedLease = BigInt(placedMatch[1]!);
    const endpoint = placedMatch[2]!;
    expect(await owner.leasesOf(root)).to.deep.equal([placedLease]);
    expect(await readFile(path.join(state, "agent.log"), "utf8")).to.match(/origin placed: running at dear/);
    // The deployed agent holds the state: stop it (SIGTERM leaves the lease running) before the processes below.
    process.kill(deployedPid, "SIGTERM");
    await waitFor("the deployed agent to stop", () => !alive(deployedPid), 20_000);
    const start = () => {
      const child = spawn(icon, ["agent", "run", ...global, "--state", state], { stdio: ["ignore", "pipe", "pipe"] });
      const out: string[] = [];
      child.stdout!.on("data", (d: Buffer) => out.push(d.toString()));
      child.stderr!.on("data", (d: Buffer) => out.push(d.toString()));
      return { child, out, exited: new Promise((r) => child.once("exit", r)) };
    };
    const first = start();
    try {
      const status = path.join(state, "status.json");
      const leaseOf = async () => /"leaseId": "n:(\d+)"/.exec(await readFile(status, "utf8").catch(() => ""))?.[1];
      await waitFor(
        "the agent process to run",
        () => /ICON origin \(account \d+\) running/.test(first.out.join("")),
        30_000,
      );
      const lease = BigInt((await leaseOf())!);
      expect(lease).to.equal(placedLease); // resumed, not placed again
      expect((await owner.lease(lease)).provider).to.equal(refs.find((r) => r.name === "dear")!.operator);
      // A second `icon agent run` on the same state is refused, saying who runs it; the first runs on.
      const twice = start();
      expect(await twice.exited).to.not.equal(0);
      expect(twice.out.join("")).to.contain(`another agent (pid ${first.child.pid}) runs the ICON in ${state}`);
      expect(first.child.exitCode).to.equal(null);
      first.child.kill("SIGKILL");
      await first.exited;
      const second = start();
      try {
        await waitFor(
          "the restarted agent to run",
          () => /ICON origin \(account \d+\) running/.test(second.out.join("")),
          30_000,
        );
        await new Promise((r) => setTimeout(r, 1500));
        expect(await owner.leasesOf(root)).to.deep.equal([lease]);
        expect(BigInt((await leaseOf())!)).to.equal(lease);
        expect(second.out.join("")).to.not.match(/placed: running/);
        expect(second.out.join("")).to.not.contain((await readFile(path.join(state, "key"), "utf8")).trim());
        // `icon app status` shows the tree with its placement and spend, and — once clients came — the latency per
        // client subnet the ICON observes.
        for (let i = 0; i < 20; i++) expect((await fetch(`http://${endpoint}/`)).status).to.equal(200);
        const status = async () =>
          (await promisify(execFile)(icon, ["app", "status", String(root), ...global, "--state", state], { env }))
            .stdout;
        const shown = await waitFor(
          "app status to show the clients' subnet",
          async () => {
            const t = await status();
            return /127\.0\.0\.0\/24\s+\d+\.\d+ req\/s\s+\d+\.\d ms/.test(t) ? t : undefined;
          },
          30_000,
        );
        expect(shown).to.match(
          new RegExp(
            `account ${root} ICON 0x[0-9a-fA-F]{8}… balance [\\d.]+ iUSD; lease ${lease} (Running|Scheduled) at 0x`,
          ),
        );
        expect(shown).to.match(/money: [\d.]+ iUSD in accounts, [\d.]+ iUSD in escrow, [\d.]+ iUSD spent/);
        expect(shown).to.match(new RegExp(`ICON origin \\(account ${root}\\) at dear`));
      } finally {
        second.child.kill("SIGTERM");
        expect(await second.exited).to.equal(0);
      }
    } finally {
      first.child.kill("SIGKILL");
      if (alive(deployedPid)) process.kill(deployedPid, "SIGKILL");
      await owner.terminate((await owner.leasesOf(root))[0]!).catch(() => {});
    }
  });
});
