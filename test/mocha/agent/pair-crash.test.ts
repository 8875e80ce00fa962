/**
 * A crash between the fence and the hand-over (issue 16 item 5, "nothing lost on a crash"), end to end: a real ICON
 * agent in its lease's sidecar at yard A, whose clients (real HTTP requests from 127.10.1.0/24) are far nearer yard B,
 * decides to migrate and moves the pair (pair.ts). Its image carries the test fault ICON_FAULT_PAIR_CRASH (pair.ts
 * testFaultCrash), which kills the agent's process at one exact step; the yard restarts the sidecar from what it
 * holds — the retired state, which carries the successor:
 *  - `fenced` (after the fence, before the hand-over's Deploy was sent), B not serving /icon/lease for 15 s from the
 *    fence (a test fault): the restarted copy retries without exiting (A restarts it once, gives it up never), then
 *    sends the successor's hand-over itself; instance 2 runs at B within a bounded time and finishes the move;
 *  - `handed` (the Deploy answered, before the old instance recorded it): the successor already runs; whatever the
 *    restarted copy sends again changes nothing at B (one agent Deploy stored, one sidecar start).
 * Both: the parent holds epoch 2, every intent relayed for the account after the fence is relayed by B (the new
 * instance's yard) — one instance acting — and the money is exact. Real chain, real yards on two loopback hosts,
 * real Docker, real libp2p.
 */
import { expect } from "chai";
import http from "node:http";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Wallet } from "ethers";
import type { Libp2p } from "@libp2p/interface";
import type { Registrar } from "@libp2p/interface-internal";
import {
  AltoMap,
  LEASE_PROTOCOL,
  MarketClient,
  createIconNode,
  loadOrCreatePeerKey,
  serveAlto,
} from "../../../protocol/index.ts";
import { agentEnvFrom, appStatus, deployApp, readAgentState, writeAgentState } from "../../../icon-agent/index.ts";
import { live } from "../../../icon-agent/leases.ts";
import { TreeMember } from "../../../icon-agent/tree.ts";
import type { Yard } from "../../../yard-node/yard.ts";
import { buildAgentImage, docker, placeInSidecar, sidecarOutput } from "../../helpers/agent-image.ts";
import { WEB_IMAGE } from "../../helpers/docker.ts";
import { FAST_LEASE, useTwoYards } from "../../helpers/yard.ts";
import { TEST_POLICY, Tenant, USD, clientFor, type TestMarket } from "../../../scripts/lib/testbed.ts";

/** This checkout's agent with the crash fault at one step, under the suite's own tags. */
const IMAGE = (step: string) => `icon/agent:crash-${step}-test-${process.pid}`;
const STEPS = ["fenced", "handed"] as const;
const HOST_A = "127.0.1.1";
const HOST_B = "127.0.1.2";
/** The ICON's clients: 100 ms one way from A, 1 ms from B. */
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

describe("a crash between the fence and the hand-over: the retired copy finishes the hand-over, one instance acts (pair.ts settleRetired)", function () {
  this.timeout(600_000);
  let alto: { url: string; close(): Promise<void> } | undefined;
  const stoppable: { stop(): unknown }[] = [];
  let clientsOn = true;
  const two = useTwoYards("crash", {
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
    stopFirst: () => [{ stop: () => void (clientsOn = false) }, ...stoppable, alto && { stop: () => alto!.close() }],
  });
  let m: TestMarket;
  let a: Yard;
  let b: Yard;
  let web: string;
  const images: Record<string, string> = {};

  before(async () => {
    ({ m, a, b } = two.get());
    web = await two.imageId(WEB_IMAGE);
    for (const step of STEPS) {
      await buildAgentImage(IMAGE(step), { ICON_FAULT_PAIR_CRASH: step });
      images[step] = await two.imageId(IMAGE(step));
    }
  });
  after(() => Promise.all(STEPS.map((s) => docker(["rmi", "-f", IMAGE(s)]).catch(() => {}))));

  /** Hand-overs sent again that yard B kept unchanged (agent parts marked once, the lease's agent running or held). */
  const kept = () => Number(b.metrics.get("icon_yard_agent_handovers_kept_total") ?? 0);

  /** One ICON (a replica of a fresh application) moved from A to B by its own agent, crashing at `step`. */
  async function crashAt(step: (typeof STEPS)[number], o: { onFence?: () => void } = {}) {
    const addrA = a.node.getMultiaddrs()[0]!.toString();
    const addrB = b.node.getMultiaddrs()[0]!.toString();
    const owner = await clientFor(m, step === "fenced" ? 2 : 3, USD(100));
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
        network: { altoUrl: "http://127.0.0.1:9" },
        agent: { periodMs: 1000, reportEveryMs: 1000, warmupS: 2, coolDownS: 5, confirmations: 2, halfLifeS: 10 },
        sidecar: { image: IMAGE(step), cpuMillis: 250, memoryMiB: 256 },
      },
      m.chain.url,
      m.deployment,
      { local: false, agentImageDigest: images[step]! },
    );
    const base = await mkdtemp(path.join(tmpdir(), `icon-pair-crash-${step}-`));
    const app = await deployApp({ owner, env, policy: TEST_POLICY, deposit: DEPOSIT, dir: path.join(base, "origin") });
    const rootKey = new Wallet((await readAgentState(path.join(base, "origin"))).key, m.provider);

    // The parent: the origin's tree member, in this process (it keeps the highest epoch it saw per child).
    const parentNode: Libp2p = await createIconNode({ listen: ["/ip4/127.0.0.1/tcp/0"] });
    stoppable.push(parentNode);
    const parent = new TreeMember({
      node: parentNode,
      signer: rootKey,
      account: app.root,
      client: await MarketClient.connect({ deployment: m.deployment, provider: m.provider, signer: rootKey }),
      reportEveryMs: 1000,
      local: () => [],
      whereAmI: () => ({}),
      onEvent: () => {},
    });
    stoppable.unshift(parent);
    await parent.start();

    const key = Wallet.createRandom();
    const child = await owner.createAccount(app.root, key.address);
    await owner.allocate(app.root, child, USD(3));
    const name = `crash-${step}.1`;
    const dir = path.join(base, "replica");
    await writeAgentState(
      dir,
      env,
      {
        name,
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
    const tenant = await Tenant.forIcon(owner, new Wallet(key.privateKey, m.provider), child);
    stoppable.unshift(tenant);
    const rfq = { cpuMillis: 500, memoryMiB: 384, slotSeconds: 600 };
    const { leaseId: L0 } = await placeInSidecar({ tenant, dir, yard: a, rfq, webDigest: web });
    const endpointA = (await readAgentState(dir)).seed.placement!.endpoint;
    const oldOut = sidecarOutput(
      () => a,
      () => L0,
    );
    await oldOut.until("instance 1 to run at A", async () => /running; peer/.test(await oldOut.read()), 60_000);
    await oldOut.until(
      "the parent to hold the child at epoch 1",
      async () => parent.children().find((c) => c.account === child)?.epoch === 1n,
      60_000,
    );

    // Observing only: A stores the fence (the second Deploy of L0), B each Deploy with an agent part.
    let fence: { block: Promise<number>; atMs: number } | undefined;
    const agentDeploysAtB: bigint[] = [];
    const updateA = a.db.update.bind(a.db);
    a.db.update = ((id, f) => {
      updateA(id, f);
      if (id === L0 && f.spec !== undefined && !fence) {
        fence = { block: m.provider.getBlockNumber(), atMs: Date.now() };
        o.onFence?.();
      }
    }) as typeof a.db.update;
    const updateB = b.db.update.bind(b.db);
    b.db.update = ((id, f) => {
      updateB(id, f);
      if (f.spec?.agent) agentDeploysAtB.push(id);
    }) as typeof b.db.update;
    const loops = [2, 3, 4, 5].map(async (h) => {
      while (clientsOn) {
        await get(endpointA, `127.10.1.${h}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    });
    const restore = async () => {
      a.db.update = updateA;
      b.db.update = updateB;
    };
    return { owner, app, child, key, L0, oldOut, parent, loops, restore, fence: () => fence, agentDeploysAtB };
  }

  /** What both steps must show once the successor runs: epoch 2 at the parent, one acting instance, exact money. */
  async function oneInstance(
    s: Awaited<ReturnType<typeof crashAt>>,
    L1: bigint,
    newOut: ReturnType<typeof sidecarOutput>,
  ) {
    await newOut.until(
      "the parent to hold the child at epoch 2",
      async () => s.parent.children().find((c) => c.account === s.child)?.epoch === 2n,
      60_000,
    );
    const fenceBlock = await s.fence()!.block;
    const market = s.owner.market;
    const relayed = await market.queryFilter(market.filters.Relayed!(null, s.child), 0, "latest");
    const yardB = new Wallet(m.keys[5]!).address;
    const after = relayed.filter((e) => e.blockNumber > fenceBlock);
    expect(after.length, "the old lease's end was relayed by the new instance").to.be.greaterThan(0);
    for (const e of after)
      expect((e as unknown as { args: { relayer: string } }).args.relayer, `intent in block ${e.blockNumber}`).to.equal(
        yardB,
      );
    expect(live((await s.owner.lease(s.L0)).state), "the old lease ended").to.equal(false);
    expect(live((await s.owner.lease(L1)).state)).to.equal(true);
    const st = await appStatus(s.owner, s.app.root);
    expect(st.held + st.escrowed + st.spent).to.equal(DEPOSIT);
    expect(await m.provider.getBalance(s.key.address)).to.equal(0n);
  }

  it("crash after the fence, before the hand-over's Deploy, B unreachable for longer than A's restarts take: the restarted retired copy stays up, retries, sends it once B answers; instance 2 runs at B and finishes the move; the old sidecar is neither restarted again nor lost", async () => {
    // TEST FAULT: B stops answering /icon/lease from the moment the fence is stored at A until UNREACHABLE_MS later
    // — longer than A's maxRestarts (3) restarts of a sidecar that exits take (a tick each) — as a yard that cannot
    // be reached. Connections to B still open; the protocol is not served.
    const UNREACHABLE_MS = 15_000;
    const reg = (b.node as unknown as { components: { registrar: Registrar } }).components.registrar;
    const held = reg.getHandler(LEASE_PROTOCOL);
    let reachable: Promise<void> | undefined;
    const s = await crashAt("fenced", {
      onFence: () => {
        reachable = b.node.unhandle(LEASE_PROTOCOL).then(async () => {
          await new Promise((r) => setTimeout(r, UNREACHABLE_MS));
          await b.node.handle(LEASE_PROTOCOL, held.handler, held.options);
        });
      },
    });
    const restartsAt = (y: Yard) => Number(y.metrics.get("icon_yard_container_restarts_total") ?? 0);
    const lostAt = (y: Yard) => Number(y.metrics.get("icon_yard_agent_sidecars_lost_total") ?? 0);
    const restartsBefore = restartsAt(a);
    try {
      await s.oldOut.until(
        "instance 1 to decide to migrate",
        async () => /decide: migrate to /.test(await s.oldOut.read()),
        120_000,
      );
      await s.oldOut.until("the fence stored at A", async () => s.fence() !== undefined, 90_000);
      // Restarted by A from the retired state: B does not answer, so it retries without exiting (pair.ts stayRetired).
      await s.oldOut.until(
        "the restarted copy to retry while B cannot be reached",
        async () => /settling the retired copy: .*again in \d+ s/.test(await s.oldOut.read()),
        60_000,
      );
      const keptBefore = kept();
      // Once B answers again: it finds the new lease live, hands instance 2 into it and stays up, retired.
      const text = await s.oldOut.until(
        "the restarted copy to confirm the successor",
        async () => {
          const t = await s.oldOut.read();
          return /runs instance 2 \(its hand-over confirmed\)/.test(t) ? t : undefined;
        },
        90_000,
      );
      await reachable;
      const L1 = s.agentDeploysAtB[0]!;
      expect(text).to.include(`lease ${L1} at `);
      expect(text).to.not.include("this copy is retired and does not act"); // the line it says when it stops
      // The hand-over the restarted copy sent is the one that started the successor (nothing was there to keep).
      expect(kept()).to.equal(keptBefore);
      // One restart (the crash); the retired copy did not exit since, nor was its sidecar given up.
      expect(restartsAt(a) - restartsBefore).to.equal(1);
      expect(lostAt(a)).to.equal(0);
      expect(a.db.lease(s.L0)?.note ?? "").to.not.match(/stopped restarting|no longer holds/);
      const oldSidecar = a.db.lease(s.L0)?.agentContainerId;
      if (oldSidecar && live((await s.owner.lease(s.L0)).state))
        expect((await docker(["inspect", "-f", "{{.State.Running}}", oldSidecar])).stdout.trim()).to.equal("true");
      const newOut = sidecarOutput(
        () => b,
        () => L1,
      );
      await newOut.until(
        "instance 2 to finish the move at B",
        async () => new RegExp(`\\(lease ${s.L0} → ${L1}\\)`).test(await newOut.read()),
        120_000,
      );
      console.log(
        `      successor finished the move ${((Date.now() - s.fence()!.atMs) / 1000).toFixed(1)} s after the fence (B unreachable for the first ${UNREACHABLE_MS / 1000} s)`,
      );
      await oneInstance(s, L1, newOut);
      // The old lease ended with the old sidecar stopped by A: stopped at the lease's end, not lost.
      expect(restartsAt(a) - restartsBefore).to.equal(1);
      expect(lostAt(a)).to.equal(0);
    } finally {
      await reachable?.catch(() => {});
      clientsOn = false;
      await Promise.all(s.loops);
      await s.restore();
      for (const id of await s.owner.leasesOf(s.child)) await s.owner.terminate(id).catch(() => {});
    }
  });

  it("crash after the hand-over's Deploy was answered, before the old instance recorded it: nothing is handed over twice, one instance acts", async () => {
    clientsOn = true;
    const s = await crashAt("handed");
    const keptBefore = kept();
    try {
      await s.oldOut.until(
        "instance 1 to decide to migrate",
        async () => /decide: migrate to /.test(await s.oldOut.read()),
        120_000,
      );
      await s.oldOut.until("the hand-over stored at B", async () => s.agentDeploysAtB.length > 0, 90_000);
      const L1 = s.agentDeploysAtB[0]!;
      // A slow successor (the fault: its sidecar paused as soon as it exists) lets the restarted old copy settle
      // while the new lease still runs it: the hand-over it sends again must change nothing at B.
      const successor = await s.oldOut.until(
        "the successor's sidecar at B",
        async () => b.db.lease(L1)?.agentContainerId,
        30_000,
      );
      await docker(["pause", successor]);
      try {
        await s.oldOut.until(
          "the restarted old copy to settle and stay up retired",
          async () => /runs instance 2 \(its hand-over confirmed\)/.test(await s.oldOut.read()),
          90_000,
        );
      } finally {
        await docker(["unpause", successor]);
      }
      const newOut = sidecarOutput(
        () => b,
        () => L1,
      );
      await newOut.until(
        "instance 2 to finish the move at B",
        async () => new RegExp(`\\(lease ${s.L0} → ${L1}\\)`).test(await newOut.read()),
        120_000,
      );
      await oneInstance(s, L1, newOut);
      // One sidecar at B that started once; each hand-over the restarted old copy sent again was kept by B unchanged
      // (every confirmation it said is one B counted as kept).
      expect(new Set(s.agentDeploysAtB)).to.deep.equal(new Set([L1]));
      const out = await newOut.until(
        "instance 2 running at B",
        async () => {
          const t = await newOut.read();
          return /running; peer/.test(t) ? t : undefined;
        },
        60_000,
      );
      expect(out.match(/running; peer/g)).to.have.length(1);
      const old = await s.oldOut.read();
      const confirmed = old.match(/its hand-over confirmed/g)?.length ?? 0;
      expect(confirmed).to.be.greaterThan(0);
      expect(kept() - keptBefore).to.equal(confirmed);
      expect(old.split("\n").filter((l) => /renewed|replicated|terminated/.test(l))).to.deep.equal([]);
      console.log(
        `      the restarted old copy sent the hand-over again ${confirmed} time(s); B kept it unchanged each time`,
      );
    } finally {
      clientsOn = false;
      await Promise.all(s.loops);
      await s.restore();
      for (const id of await s.owner.leasesOf(s.child)) await s.owner.terminate(id).catch(() => {});
    }
  });
});
