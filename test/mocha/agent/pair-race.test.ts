/**
 * The race (issue 16 item 5, "never two instances acting for one ICON"), end to end: a real ICON agent (this
 * checkout's icon/agent image) in its lease's sidecar at yard A, a replica whose clients — real HTTP requests from
 * 127.10.1.0/24 — are far nearer yard B by the ALTO cost map its yard's gateway serves. It decides to migrate and
 * moves the pair (pair.ts): the service at B, its own lease fenced (a Redeploy at A with a retired state), instance 2
 * handed into B's sidecar. Right after the fence, while the hand-over is under way, the old sidecar is killed
 * (`docker kill`; the moment taken from the yards' side: A stored the fence's Redeploy, B is taking the hand-over),
 * so A restarts it from what it holds. Then:
 *  - the restarted old instance settles retired (it confirms the successor, then stays up idle, doing nothing);
 *  - from the fence on, every intent relayed for the ICON's account is relayed by B — the new instance's yard — and
 *    comes after the fence (its Relayed events, their relayer and block);
 *  - the parent (a real tree member in this process, reached through the gateway) holds epoch 2 for the child;
 *  - the new instance at B finishes the move (the old lease ended, A's stub pointing at the new lease), says what it
 *    continues from (the smoothed observations of 127.10.1.0/24) before its first decision at B;
 *  - the money is exact: held + escrowed + spent (relay fees included) = the deposit; the ICON key holds 0 ETH.
 * Real chain, real yards on two loopback hosts (127.0.1.1, 127.0.1.2), real Docker, real libp2p.
 */
import { expect } from "chai";
import http from "node:http";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Wallet } from "ethers";
import type { Libp2p } from "@libp2p/interface";
import { AltoMap, MarketClient, createIconNode, loadOrCreatePeerKey, serveAlto } from "../../../protocol/index.ts";
import { agentEnvFrom, appStatus, deployApp, readAgentState, writeAgentState } from "../../../icon-agent/index.ts";
import { live } from "../../../icon-agent/leases.ts";
import { TreeMember, type TreeEvent } from "../../../icon-agent/tree.ts";
import type { Yard } from "../../../yard-node/yard.ts";
import { buildAgentImage, docker, placeInSidecar, sidecarOutput } from "../../helpers/agent-image.ts";
import { WEB_IMAGE } from "../../helpers/docker.ts";
import { FAST_LEASE, useTwoYards } from "../../helpers/yard.ts";
import { TEST_POLICY, Tenant, USD, clientFor, type TestMarket } from "../../../scripts/lib/testbed.ts";

/** This checkout's agent, under the suite's own tag (test/helpers/agent-image.ts). */
const AGENT_IMAGE = `icon/agent:race-test-${process.pid}`;
const HOST_A = "127.0.1.1";
const HOST_B = "127.0.1.2";
/** The replica's clients: 100 ms one way from A, 1 ms from B. */
const CLIENTS = "127.10.1.0/24";
const DEPOSIT = USD(5);

/** The cost map the yards name for their sidecars: the clients far from A, near B; everything else 1 ms. */
function costMap(): AltoMap {
  const pids = { ya: [`${HOST_A}/32`], yb: [`${HOST_B}/32`], cl: [CLIENTS], lo: ["127.0.0.0/8"] };
  const names = Object.keys(pids);
  const far = (x: string, y: string) => (x === "cl" && y === "ya") || (x === "ya" && y === "cl");
  const costs = Object.fromEntries(
    names.map((x) => [x, Object.fromEntries(names.map((y) => [y, far(x, y) ? 100 : 1]))]),
  );
  return new AltoMap(
    {
      meta: { vtag: { "resource-id": "net", tag: "1" } },
      "network-map": Object.fromEntries(Object.entries(pids).map(([k, v]) => [k, { ipv4: v }])),
    },
    {
      meta: {
        "dependent-vtags": [{ "resource-id": "net", tag: "1" }],
        "cost-type": { "cost-mode": "numerical", "cost-metric": "delay" },
      },
      "cost-map": costs,
    },
  );
}

/** One GET from `from` to http://`endpoint`/, following redirects (a stub's 307) at most 3 times; the status. */
function get(endpoint: string, from: string, hops = 3): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get(
      {
        host: endpoint.split(":")[0],
        port: Number(endpoint.split(":")[1]),
        path: "/",
        localAddress: from,
        timeout: 3000,
      },
      (res) => {
        res.resume();
        const to = /^http:\/\/([^/]+)/.exec(res.headers.location ?? "")?.[1];
        if (res.statusCode && res.statusCode >= 300 && res.statusCode < 400 && to && hops > 0)
          resolve(get(to, from, hops - 1));
        else resolve(res.statusCode ?? 0);
      },
    );
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(0));
  });
}

describe("the race: the old sidecar killed right after its fence never acts again, the new one finishes the move", function () {
  this.timeout(420_000);
  let alto: { url: string; close(): Promise<void> } | undefined;
  let tenant: Tenant | undefined;
  let parentNode: Libp2p | undefined;
  let parent: TreeMember | undefined;
  let clientsOn = true;
  const two = useTwoYards("race", {
    start: async ({ idA, idB, yard }) => {
      alto = await serveAlto(() => costMap());
      const at = (host: string) => ({
        lease: FAST_LEASE,
        listen: [`/ip4/${host}/tcp/0`],
        publicHost: host,
        agentGateway: { dialLoopback: true, altoUrl: alto!.url },
        // No kernel round trips read: on loopback they are ~0 ms and the agent would take them over the ALTO map,
        // which is what places the clients far from A here (observation.ts latencies).
        ingress: { rttSampleS: 0 },
      });
      const a = await yard(1, idA, at(HOST_A));
      return { a, b: await yard(5, idB, at(HOST_B)) };
    },
    stopFirst: () => [
      { stop: () => void (clientsOn = false) },
      parent,
      parentNode,
      tenant,
      alto && { stop: () => alto!.close() },
    ],
  });
  let m: TestMarket;
  let a: Yard;
  let b: Yard;
  let web: string;
  let agentImage: string;

  before(async () => {
    ({ m, a, b } = two.get());
    web = await two.imageId(WEB_IMAGE);
    await buildAgentImage(AGENT_IMAGE);
    agentImage = await two.imageId(AGENT_IMAGE);
  });
  after(() => docker(["rmi", "-f", AGENT_IMAGE]).catch(() => {}));

  it("kills the old sidecar between fence and hand-over: it restarts retired, only the new instance relays, the parent holds epoch 2, the move finishes, the money is exact", async () => {
    const engine = two.get().engine;
    const addrA = a.node.getMultiaddrs()[0]!.toString();
    const addrB = b.node.getMultiaddrs()[0]!.toString();
    const owner = await clientFor(m, 2, USD(100));
    const env = agentEnvFrom(
      {
        service: {
          image: WEB_IMAGE,
          imageDigest: web,
          ports: [8080],
          httpPorts: [8080],
          cpuMillis: 250,
          memoryMiB: 128,
          slotSeconds: 600,
        },
        discovery: { seeds: [addrA, addrB] },
        // The state's ALTO server is one a sidecar cannot reach: the yard's (via /alto) is what it reads.
        network: { altoUrl: "http://127.0.0.1:9" },
        agent: { periodMs: 1000, reportEveryMs: 1000, warmupS: 2, coolDownS: 5, confirmations: 2, halfLifeS: 10 },
        sidecar: { image: AGENT_IMAGE, cpuMillis: 250, memoryMiB: 256 },
      },
      m.chain.url,
      m.deployment,
      { local: false, agentImageDigest: agentImage },
    );
    const base = await mkdtemp(path.join(tmpdir(), "icon-pair-race-"));
    const app = await deployApp({ owner, env, policy: TEST_POLICY, deposit: DEPOSIT, dir: path.join(base, "origin") });
    const rootKey = new Wallet((await readAgentState(path.join(base, "origin"))).key, m.provider);

    // The parent: the origin's tree member, in this process (its agent is not what is tested here).
    parentNode = await createIconNode({ listen: ["/ip4/127.0.0.1/tcp/0"] });
    const parentEvents: TreeEvent[] = [];
    parent = new TreeMember({
      node: parentNode,
      signer: rootKey,
      account: app.root,
      client: await MarketClient.connect({ deployment: m.deployment, provider: m.provider, signer: rootKey }),
      reportEveryMs: 1000,
      local: () => [],
      whereAmI: () => ({}),
      onEvent: (e) => void parentEvents.push(e),
    });
    await parent.start();

    // The ICON: a replica of the origin (not pinned), its own account and key, instance 1 in its sidecar at A.
    const key = Wallet.createRandom();
    const child = await owner.createAccount(app.root, key.address);
    await owner.allocate(app.root, child, USD(3));
    const dir = path.join(base, "replica");
    await writeAgentState(
      dir,
      env,
      {
        name: "race.1",
        account: child,
        root: app.root,
        parent: { account: app.root, addrs: parentNode.getMultiaddrs().map(String) },
        subnets: [CLIENTS],
        children: {},
        replicas: 0,
        instance: 1,
      },
      key.privateKey,
    );
    await loadOrCreatePeerKey(path.join(dir, "peer.key"));
    tenant = await Tenant.forIcon(owner, new Wallet(key.privateKey, m.provider), child);
    const rfq = { cpuMillis: 500, memoryMiB: 384, slotSeconds: 600 };
    const { leaseId: L0 } = await placeInSidecar({ tenant, dir, yard: a, rfq, webDigest: web });
    const endpointA = (await readAgentState(dir)).seed.placement!.endpoint;
    const oldOut = sidecarOutput(
      () => a,
      () => L0,
    );
    await oldOut.until(
      "instance 1 to run in its sidecar at A",
      async () => /running; peer/.test(await oldOut.read()),
      60_000,
    );
    await oldOut.until(
      "the parent to hold the child at epoch 1",
      async () => parent!.children().find((c) => c.account === child)?.epoch === 1n,
      60_000,
    );

    // The moment, from the yards' side: A stores the fence (the second Deploy of L0: its retired state), then B the
    // hand-over (a Deploy with the agent part for the new lease) — the old sidecar is killed right then. Taps on the
    // two yards' database writes, observing only (what is written passes unchanged).
    const oldContainer = a.db.lease(L0)!.agentContainerId!;
    let fence: { block: Promise<number> } | undefined;
    let killed: Promise<unknown> | undefined;
    let next: bigint | undefined;
    const updateA = a.db.update.bind(a.db);
    a.db.update = ((id, f) => {
      updateA(id, f);
      if (id === L0 && f.spec !== undefined && !fence) fence = { block: m.provider.getBlockNumber() };
    }) as typeof a.db.update;
    const updateB = b.db.update.bind(b.db);
    b.db.update = ((id, f) => {
      updateB(id, f);
      if (fence && !killed && f.spec?.agent) {
        next = id;
        killed = engine.docker.getContainer(oldContainer).kill();
      }
    }) as typeof b.db.update;

    // The clients: 4 loops from 127.10.1.0/24 to the ICON's endpoint at A (a stub's redirect followed).
    const loops = [2, 3, 4, 5].map(async (h) => {
      while (clientsOn) {
        await get(endpointA, `127.10.1.${h}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    });

    try {
      await oldOut.until(
        "instance 1 to decide to migrate",
        async () => /decide: migrate to /.test(await oldOut.read()),
        120_000,
      );
      await oldOut.until("the old sidecar killed during the hand-over", async () => killed !== undefined, 90_000);
      await killed;
      const fenceBlock = await fence!.block;
      const L1 = next!;
      expect(L1).to.not.equal(L0);
      expect((await owner.lease(L1)).provider).to.equal(new Wallet(m.keys[5]!).address);

      // 1. The restarted old instance settles retired: it confirms the successor and stays up (pair.ts stayRetired)
      // — or, when instance 2 ended lease L0 first, its yard refuses it the chain and stops it with its lease
      // (pair-crash.test confirms a successor deterministically). Which comes first is a race the system does not order: a restarted sidecar at 250 millicpu
      // takes ≈ 2.5 s to its first chain read, and instance 2 ends L0 ≈ 2 s after the restart on a quiet machine.
      // Either way it never acts (the checks below and in 4.).
      const confirmed = new RegExp(`lease ${L1} at \\S+ runs instance 2 \\(its hand-over confirmed\\)`);
      const settled = await oldOut.until(
        "the restarted old sidecar to confirm its successor, or its lease to end first",
        async () => {
          if (confirmed.test(await oldOut.read())) return "confirmed";
          const row = a.db.lease(L0);
          const stopped = row?.status !== "deployed" || row.stoppedAt !== undefined;
          return !live((await owner.lease(L0)).state) && stopped ? "ended first" : undefined;
        },
        60_000,
      );
      if (settled === "ended first") {
        // Its yard stops the sidecar with the lease: nothing of it runs on.
        await oldOut.until(
          "the old sidecar stopped with its lease",
          async () =>
            (
              await engine.docker
                .getContainer(oldContainer)
                .inspect()
                .catch(() => undefined)
            )?.State?.Running !== true,
          60_000,
        );
      }
      expect(await oldOut.read()).to.match(
        new RegExp(`lease ${L0} fenced: a restart of its sidecar finds instance 1 retired`),
      );
      // Instance 1 said it runs once, at its first start: the restarted copy never started acting.
      expect((await oldOut.read()).match(/running; peer/g)).to.have.length(1);

      // 2. The new instance at B finishes the move: the old lease ended, A's stub points at the new lease.
      const newOut = sidecarOutput(
        () => b,
        () => L1,
      );
      await newOut.until(
        "instance 2 to finish the move at B",
        async () => new RegExp(`\\(lease ${L0} → ${L1}\\)`).test(await newOut.read()),
        120_000,
      );
      expect(live((await owner.lease(L0)).state), "the old lease ended").to.equal(false);
      expect(live((await owner.lease(L1)).state)).to.equal(true);
      const stub = a.db.routingRules().find((r) => r.leaseId === L0)?.stub;
      expect(stub?.instanceId, "A's stub points at the new lease").to.equal(L1);
      // It continues from instance 1's smoothed observations of the clients, said before its first decision at B.
      const text = await newOut.until(
        "instance 2's first decision at B",
        async () => {
          const t = await newOut.read();
          return /observe: at /.test(t) ? t : undefined;
        },
        60_000,
      );
      const carried = text.search(
        /instance 2 continues from its predecessor's smoothed observations: 127\.10\.1\.0\/24 \d/,
      );
      expect(carried, "the carried observations named").to.be.greaterThan(-1);
      expect(carried).to.be.lessThan(text.search(/observe: at /));

      // 3. The parent holds epoch 2 for the child.
      await newOut.until(
        "the parent to hold the child at epoch 2",
        async () => parent!.children().find((c) => c.account === child)?.epoch === 2n,
        60_000,
      );

      // 4. From the fence on, only the new instance's yard relayed for the account, and only after the fence.
      const market = owner.market;
      const relayed = await market.queryFilter(market.filters.Relayed!(null, child), 0, "latest");
      const after = relayed.filter((e) => e.blockNumber > fenceBlock);
      expect(after.length, "the old lease's end was relayed by the new instance").to.be.greaterThan(0);
      const yardB = new Wallet(m.keys[5]!).address;
      for (const e of relayed) {
        const relayer = (e as unknown as { args: { relayer: string } }).args.relayer;
        if (e.blockNumber > fenceBlock) expect(relayer, `intent in block ${e.blockNumber}`).to.equal(yardB);
      }
      expect((await oldOut.read()).split("\n").filter((l) => /renewed|replicated|terminated/.test(l))).to.deep.equal(
        [],
      );

      // 5. The money: every unit of the deposit is held, in escrow or spent (relay fees included); the key has no ETH.
      const st = await appStatus(owner, app.root);
      expect(st.relayFees).to.be.greaterThan(0n);
      expect(st.held + st.escrowed + st.spent).to.equal(DEPOSIT);
      expect(await m.provider.getBalance(key.address)).to.equal(0n);
      expect(await m.provider.getTransactionCount(key.address)).to.equal(0);
    } finally {
      clientsOn = false;
      await Promise.all(loops);
      a.db.update = updateA;
      b.db.update = updateB;
      for (const id of await owner.leasesOf(child)) await owner.terminate(id).catch(() => {});
    }
  });
});
