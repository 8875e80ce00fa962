/**
 * Migration moves the pair (issue 16 item 5, icon-agent/pair.ts): after the service runs in the new lease, the old
 * instance fences its own lease (a Redeploy whose state is marked retired) and hands instance e+1 into the new
 * lease's sidecar; a failed hand-over puts instance e back, ends the new lease and loses no money. Two real yards
 * (real Docker, real chain, libp2p on loopback). The sidecars run a keeper instead of the agent image (it keeps the
 * state the yard writes to its standard input, for this test to read): what is tested is what each yard holds and
 * delivers at a restart — the fence — not what an agent does inside (that needs the agent's gateway mode).
 */
import { expect } from "chai";
import { execFile } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import type Docker from "dockerode";
import { Wallet } from "ethers";
import type { Libp2p } from "@libp2p/interface";
import { Agent } from "../../../icon-agent/agent.ts";
import { appStatus, deployApp } from "../../../icon-agent/app.ts";
import { agentEnvFrom, type AgentEnv } from "../../../icon-agent/config.ts";
import { Controller } from "../../../icon-agent/decision.ts";
import { ActingFence } from "../../../icon-agent/acting.ts";
import { endSidecar, handOver, resolveHandingOver, sealedAgentPart, takeBack } from "../../../icon-agent/handover.ts";
import { live, replicaKey } from "../../../icon-agent/leases.ts";
import { bid, discoverYards, type YardRef } from "../../../icon-agent/market.ts";
import { RETIRED_RECHECK_MS, movePair, type PairComponents } from "../../../icon-agent/pair.ts";
import {
  handedOver,
  markHandedOver,
  readAgentState,
  saveAgentState,
  unsealAgentState,
  writeAgentState,
  type AgentEvent,
  type AgentSeed,
  type Placement,
} from "../../../icon-agent/state.ts";
import type { Registrar } from "@libp2p/interface-internal";
import {
  ChainError,
  IntentSender,
  LEASE_PROTOCOL,
  MarketClient,
  createIconNode,
  isIconError,
  type IconError,
} from "../../../protocol/index.ts";
import { TEST_POLICY, USD, clientFor } from "../../../scripts/lib/testbed.ts";
import { ICON_CLI } from "../../helpers/app.ts";
import { BUSYBOX_IMAGE, WEB_IMAGE, execIn, sealedInSidecar, waitFor } from "../../helpers/docker.ts";
import { useTwoYards } from "../../helpers/yard.ts";
import type { Yard } from "../../../yard-node/yard.ts";

/** The keeper: what the yard writes to the sidecar's standard input lands in its tmpfs, then it idles. */
const KEEPER = ["sh", "-c", "umask 077; cat > /run/icon/sealed; exec sleep 3600"];
const DEPOSIT = USD(5);

describe("migration moves the pair: fence, hand-over, undo (pair.ts)", function () {
  this.timeout(300_000);
  const two = useTwoYards("pair", { overrides: { overlay: { semanticDns: false } } });
  let digest: string;
  let owner: MarketClient;
  let docker: Docker;
  let yards: Yard[];
  let node: Libp2p;
  let refs: YardRef[];
  let env: AgentEnv;

  before(async () => {
    const { m, a, b } = two.get();
    yards = [a, b];
    digest = await two.imageId(WEB_IMAGE);
    const busybox = await two.imageId(BUSYBOX_IMAGE);
    owner = await clientFor(m, 10, USD(100));
    docker = two.get().engine.docker;
    node = await createIconNode();
    refs = await discoverYards({ node, client: owner, seeds: yards.map((y) => y.node.getMultiaddrs()[0]!.toString()) });
    const raw = {
      service: {
        image: WEB_IMAGE,
        imageDigest: digest,
        ports: [8080],
        httpPorts: [8080],
        cpuMillis: 250,
        memoryMiB: 64,
        slotSeconds: 600,
      },
      discovery: { registry: true },
      agent: { periodMs: 500, reportEveryMs: 500 },
    };
    const built = agentEnvFrom(raw, m.chain.url, m.deployment, { local: false, agentImageDigest: busybox });
    env = { ...built, sidecar: { ...built.sidecar!, imageRef: BUSYBOX_IMAGE, command: KEEPER } };
  });
  after(async () => {
    await node?.stop();
  });
  const closers: AbortController[] = [];
  afterEach(() => {
    for (const c of closers.splice(0)) c.abort();
  });

  /** The containers of lease `id` at these two yards (the engine is shared). */
  const containersOf = async (id: bigint) => {
    const ours = new Set(yards.map((y) => y.config.yardId));
    const all = await docker.listContainers({ all: true, filters: { label: [`icon.lease=${id}`] } });
    return all
      .filter((c) => ours.has(c.Labels["icon.yard"] ?? ""))
      .map((c) => ({ id: c.Id, role: c.Labels["icon.role"] ?? "service", state: c.State }));
  };

  /** What lease `id`'s sidecar holds in its tmpfs, unsealed (the state the yard delivered at its last start). */
  async function heldBy(id: bigint, notContainer?: string): Promise<{ seed: AgentSeed; key: string }> {
    const sidecar = await waitFor(
      `lease ${id}'s sidecar running${notContainer ? " again" : ""}`,
      async () =>
        (await containersOf(id)).find((c) => c.role === "agent" && c.state === "running" && c.id !== notContainer) ??
        (notContainer ? (await containersOf(id)).find((c) => c.role === "agent" && c.state === "running") : undefined),
      60_000,
    );
    const sealed = await sealedInSidecar(docker, sidecar.id, 30_000);
    const out = path.join(await mkdtemp(path.join(tmpdir(), "icon-pair-held-")), "icon");
    await unsealAgentState(sealed, out);
    const { seed, key } = await readAgentState(out);
    return { seed, key };
  }

  /** Kills lease `id`'s sidecar (a crash); resolves with what the yard delivered to the restarted one. */
  async function crashAndRead(id: bigint): Promise<{ seed: AgentSeed; key: string; dir: string }> {
    const running = (await containersOf(id)).find((c) => c.role === "agent" && c.state === "running")!;
    await docker.getContainer(running.id).kill();
    // The yard restarts the same container with the secret it holds: wait for a fresh start, then read it.
    const startedBefore = (await docker.getContainer(running.id).inspect()).State.StartedAt;
    const sealed = await waitFor(
      `lease ${id}'s sidecar restarted by its yard`,
      async () => {
        const s = await docker.getContainer(running.id).inspect();
        if (!s.State.Running || s.State.StartedAt === startedBefore) return undefined;
        const r = await execIn(docker, running.id, "base64 /run/icon/sealed");
        const b = r.code === 0 ? Buffer.from(r.out, "base64") : undefined;
        return b && b.length > 0 ? b : undefined;
      },
      60_000,
    );
    const dir = path.join(await mkdtemp(path.join(tmpdir(), "icon-pair-restarted-")), "icon");
    await unsealAgentState(sealed, dir);
    return { ...(await readAgentState(dir)), dir };
  }

  /** An application whose origin (instance 1) runs in its sidecar at yard `at`, and a lease for it at the other. */
  async function setUp(
    tag: string,
    o: { nextWithAgentShare: boolean; oldSlotS?: number; nextSlotS?: number; beforeNext?: () => void },
  ) {
    const { m } = two.get();
    const dir = path.join(await mkdtemp(path.join(tmpdir(), `icon-pair-${tag}-`)), "origin");
    const app = await deployApp({ owner, env, policy: TEST_POLICY, deposit: DEPOSIT, dir });
    const { key, seed } = await readAgentState(dir);
    const wallet = new Wallet(key, m.provider);
    const icon = await MarketClient.connect({ deployment: m.deployment, provider: m.provider, signer: wallet });
    // The agent's own fence (acting.ts): the relay sender asks it before every signature, as in the agent.
    const fence = new ActingFence(() => seed.name);
    icon.useRelay(
      new IntentSender({
        node,
        client: icon,
        account: app.root,
        maxFee: async () => (await icon.app(app.root)).policy.maxRelayFee,
        yards: () => refs.map((r) => r.addrs),
        gate: () => fence.check(),
      }),
    );
    const spec = { imageRef: WEB_IMAGE, imageDigest: digest, command: [], env: [], ports: [8080], httpPorts: [8080] };
    const lease = async (y: YardRef, withShare: boolean, slotSeconds = 120): Promise<Placement> => {
      const won = await bid({
        node,
        signer: wallet,
        client: owner,
        account: app.root,
        yards: [y],
        rfq: {
          // The service's 250 mCPU / 64 MiB plus the agent's 100 / 160 — or, the fault, the service's alone.
          cpuMillis: withShare ? 350 : 250,
          memoryMiB: withShare ? 224 : 64,
          slotSeconds,
          earliestStart: 0n,
          imageRef: WEB_IMAGE,
          imageDigest: digest,
        },
        spec,
        maxPrice: 0n,
        budget: USD(1),
        score: () => 0,
      });
      return {
        leaseId: won.leaseId,
        leaseStart: won.offer.start,
        yard: won.yard,
        endpoint: won.endpoint,
        pricePerSecond: won.offer.pricePerSecond,
        end: won.offer.end,
        since: Date.now() / 1000,
      };
    };
    const old = await lease(refs[0]!, true, o.oldSlotS);
    seed.placement = old;
    await saveAgentState(dir, env, seed);
    // The origin in its sidecar at the first yard: instance 1 (a hand-over seals the next instance).
    await handOver({ node, holder: wallet, client: icon, dir, placement: old, spec, sidecar: env.sidecar! });
    seed.instance = 1;
    await saveAgentState(dir, env, seed);
    expect((await heldBy(old.leaseId)).seed.instance).to.equal(1);
    o.beforeNext?.();
    const next = await lease(refs[1]!, o.nextWithAgentShare, o.nextSlotS);

    // What the old instance has learned: its Controller after a few periods of observations.
    const controller = new Controller({ halfLifeS: 30, coolDownS: 60, confirmations: 3 });
    for (let t = 0; t < 40; t += 5)
      controller.observe([{ subnet: "10.7.0.0/24", rate: 12 + t / 5, latencyMs: { x: 40 - t / 2 } }], t);
    const events: AgentEvent[] = [];
    const log: string[] = [];
    // The retired instance checks on its successor until the test ends (pair.ts stayRetired).
    const closing = new AbortController();
    closers.push(closing);
    const c: PairComponents = {
      dir,
      env,
      seed,
      node,
      wallet,
      client: icon,
      spec: () => spec,
      carried: () => ({
        controller: controller.snapshot(),
        children: [{ account: 99n, addrs: ["/ip4/127.0.0.1/tcp/9"], epoch: 0n }],
        policyVersion: 1,
      }),
      fence: async () => {
        log.push("fence");
        await fence.fence();
      },
      unfence: () => {
        log.push("unfence");
        fence.unfence();
      },
      permit: (act) => fence.permit(act),
      retire: async () => void log.push("retire"),
      settleNode: () => createIconNode({ listen: [] }),
      signal: closing.signal,
      actAgain: () => void log.push("act again"),
      save: () => saveAgentState(dir, env, seed),
      emit: (kind, text) => void events.push({ icon: seed.name, kind, text }),
    };
    return { app, dir, wallet, icon, old, next, controller, c, events, log, fence, spec };
  }

  it("fences the old lease, then hands instance 2 into the new one: a crash of the old sidecar after the fence restarts it retired, and it exits without acting", async () => {
    const s = await setUp("ok", { nextWithAgentShare: true });
    // THE race: the old sidecar is killed right after the fence (step 3), before the hand-over (step 4) is done.
    let crash: Promise<Awaited<ReturnType<typeof crashAndRead>>> | undefined;
    s.c.emit = (kind, text) => {
      s.events.push({ icon: s.c.seed.name, kind, text });
      if (text.includes("fenced")) crash = crashAndRead(s.old.leaseId);
    };
    try {
      await movePair(s.c, s.old, s.next);
      expect(s.log).to.deep.equal(["fence", "retire"]);
      expect(s.c.seed.retired).to.deep.include({ leaseId: s.next.leaseId, instance: 2 });
      expect(crash, "the fence was announced").to.not.equal(undefined);

      // The restarted old sidecar got the retired state: handed over to the new lease as instance 2.
      const restarted = await crash!;
      expect(restarted.seed.retired).to.deep.include({
        leaseId: s.next.leaseId,
        yard: s.next.yard.name,
        instance: 2,
      });
      expect(restarted.seed.instance).to.equal(1);
      // The agent's entry on that state: it confirms the successor (its hand-over sent again with `once`: the new
      // yard, which has it, keeps it), then one line, exit 0, no transaction (its key holds no ETH, nothing changed
      // on chain).
      const nonceBefore = await two.get().m.provider.getTransactionCount(s.wallet.address);
      const run = await promisify(execFile)(ICON_CLI, ["agent", "run", "--state", restarted.dir], { timeout: 60_000 });
      expect(run.stdout.trim().split("\n")).to.deep.equal([
        `ICON ${s.c.seed.name} was handed over to lease ${s.next.leaseId} at ${s.next.yard.name} (instance 2): this copy is retired and does not act`,
      ]);
      expect(await two.get().m.provider.getTransactionCount(s.wallet.address)).to.equal(nonceBefore);

      // The new lease's sidecar holds instance 2 with the move to finish and what instance 1 learned.
      const handed = await heldBy(s.next.leaseId);
      expect(handed.key).to.equal(s.wallet.privateKey);
      expect(handed.seed.instance).to.equal(2);
      expect(handed.seed.retired).to.equal(undefined);
      expect(handed.seed.placement!.leaseId).to.equal(s.old.leaseId);
      expect(handed.seed.moving!.leaseId).to.equal(s.next.leaseId);
      expect(handed.seed.carried!.controller).to.deep.equal(
        JSON.parse(JSON.stringify(s.controller.snapshot())) as unknown,
      );
      expect(handed.seed.carried!.children.map((ch) => ch.account)).to.deep.equal([99n]);
      // Make before break: both services run until the successor finishes the move.
      for (const id of [s.old.leaseId, s.next.leaseId])
        expect((await containersOf(id)).find((c) => c.role === "service")?.state).to.equal("running");
      expect(await two.get().m.provider.getBalance(s.wallet.address)).to.equal(0n);

      // The successor, started from exactly what the new sidecar holds, finishes the move at its start: the stub at
      // the old yard, the old lease ended; it tells the carried child its address and drops the carried state.
      const succDir = path.join(await mkdtemp(path.join(tmpdir(), "icon-pair-successor-")), "icon");
      await writeAgentState(succDir, env, handed.seed, handed.key);
      const seen: AgentEvent[] = [];
      const successor = await Agent.open(succDir, { spawn: async () => {}, onEvent: (e) => void seen.push(e) });
      try {
        await successor.start();
        expect(successor.seed.placement!.leaseId).to.equal(s.next.leaseId);
        expect(successor.seed.moving).to.equal(undefined);
        expect(live((await owner.lease(s.old.leaseId)).state)).to.equal(false);
        expect(live((await owner.lease(s.next.leaseId)).state)).to.equal(true);
        const text = seen.map((e) => e.text).join("\n");
        expect(text).to.contain(`(lease ${s.old.leaseId} → ${s.next.leaseId})`);
        expect(text).to.contain("told 0 of 1 children this instance's new address (not reached: 99)");
        expect((await readAgentState(succDir)).seed.carried).to.equal(undefined);
        expect((await readAgentState(succDir)).seed.instance).to.equal(2);
      } finally {
        await successor.stop();
      }
    } finally {
      for (const id of await owner.leasesOf(s.app.root)) await owner.terminate(id).catch(() => {});
    }
  });

  it("a copy restarted retired before the hand-over sends it itself (once); sent again it changes nothing at the new yard; once the new lease ended it acts again at instance 3", async () => {
    const s = await setUp("settle", { nextWithAgentShare: true });
    try {
      // What movePair leaves when its process dies right after the fence: the old lease holds the retired state,
      // whose record carries the successor; the new lease runs the service only.
      const carried = s.c.carried();
      const retired = { leaseId: s.next.leaseId, yard: s.next.yard.name, instance: 2, atMs: Date.now() };
      const fenced = { ...s.c.seed, retired: { ...retired, moving: s.next, carried } };
      await handOver({
        node,
        holder: s.wallet,
        client: s.icon,
        dir: s.dir,
        placement: s.old,
        spec: s.spec,
        sidecar: env.sidecar!,
        seed: fenced,
      });
      expect((await containersOf(s.next.leaseId)).some((c) => c.role === "agent")).to.equal(false);
      const settle = async () => {
        const restarted = await crashAndRead(s.old.leaseId);
        expect(restarted.seed.retired).to.deep.include(retired);
        const seen: string[] = [];
        const copy = await Agent.open(
          restarted.dir,
          { spawn: async () => {}, onEvent: (e) => void seen.push(e.text) },
          { retired: true },
        );
        try {
          return { outcome: await copy.settleRetired(), seed: copy.seed, seen };
        } finally {
          await copy.stop();
        }
      };

      // 1. The new lease live, nothing there: the restarted copy hands instance 2 in and stays retired.
      const first = await settle();
      expect(first.outcome).to.equal("retired");
      expect(first.seen.join("\n")).to.contain(
        `lease ${s.next.leaseId} at ${s.next.yard.name} runs instance 2 (its hand-over confirmed)`,
      );
      const handed = await heldBy(s.next.leaseId);
      expect(handed.seed.instance).to.equal(2);
      expect(handed.seed.retired).to.equal(undefined);
      expect(handed.seed.moving!.leaseId).to.equal(s.next.leaseId);
      expect(handed.seed.carried!.controller).to.deep.equal(JSON.parse(JSON.stringify(carried.controller)) as unknown);
      expect(handed.seed.carried!.children).to.deep.equal(carried.children);

      // 2. The successor has since made its yard hold a newer state (a replica recorded): a second restart of the
      // retired copy sends the hand-over again and the new yard keeps what it holds, without restarting it.
      await handOver({
        node,
        holder: s.wallet,
        client: s.icon,
        dir: s.dir,
        placement: s.next,
        spec: s.spec,
        sidecar: env.sidecar!,
        seed: { ...handed.seed, replicas: 7 },
      });
      const sidecar = (await containersOf(s.next.leaseId)).find((c) => c.role === "agent" && c.state === "running")!;
      const startedAt = (await docker.getContainer(sidecar.id).inspect()).State.StartedAt;
      expect((await settle()).outcome).to.equal("retired");
      expect((await docker.getContainer(sidecar.id).inspect()).State.StartedAt).to.equal(startedAt);
      const kept = await crashAndRead(s.next.leaseId);
      expect(kept.seed.replicas).to.equal(7);
      expect(kept.seed.instance).to.equal(2);

      // 3. The new lease ended (no successor can run): the restarted copy acts again, above epoch 2, and its own
      // lease holds that state for the next restart.
      await owner.terminate(s.next.leaseId);
      await noSidecar(s.next.leaseId);
      const third = await settle();
      expect(third.outcome).to.equal("acting");
      expect(third.seed.instance).to.equal(3);
      expect(third.seed.retired).to.equal(undefined);
      expect(third.seen.join("\n")).to.contain(`this copy acts again as instance 3 (lease ${s.old.leaseId} holds it)`);
      const back = await crashAndRead(s.old.leaseId);
      expect(back.seed.retired).to.equal(undefined);
      expect(back.seed.instance).to.equal(3);
      expect(back.seed.moving).to.equal(undefined);
      expect(await two.get().m.provider.getBalance(s.wallet.address)).to.equal(0n);
    } finally {
      for (const id of await owner.leasesOf(s.app.root)) await owner.terminate(id).catch(() => {});
    }
  });

  it("the new lease StartMissed (its yard never confirmed the start) while its yard cannot be reached: the retired copy does not act; once that yard says it ended the lease, it acts again at instance 3", async () => {
    // TEST FAULTS: the new yard's confirmStart fails (the new lease is StartMissed at its slot's end while its yard
    // still ran the successor), and later that yard stops serving /icon/lease (a yard that cannot be reached).
    let nextYard: Yard | undefined;
    let confirm: Yard["chain"]["confirmStart"] | undefined;
    const s = await setUp("missed", {
      nextWithAgentShare: true,
      nextSlotS: 20,
      beforeNext: () => {
        nextYard = yards.find((y) => y.node.peerId.equals(refs[1]!.peerId))!;
        confirm = nextYard.chain.confirmStart.bind(nextYard.chain);
        nextYard.chain.confirmStart = (async () => {
          // A revert, not a transport error: the yard does not take the chain for unreachable.
          throw new ChainError("REVERTED", "TEST FAULT: confirmStart reverted");
        }) as typeof confirm;
      },
    });
    const reg = (nextYard!.node as unknown as { components: { registrar: Registrar } }).components.registrar;
    const held = reg.getHandler(LEASE_PROTOCOL);
    let unreachable = false;
    try {
      const carried = s.c.carried();
      const retired = { leaseId: s.next.leaseId, yard: s.next.yard.name, instance: 2, atMs: Date.now() };
      const fenced = { ...s.c.seed, retired: { ...retired, moving: s.next, carried } };
      await handOver({
        node,
        ...{ holder: s.wallet, client: s.icon, dir: s.dir, placement: s.old, spec: s.spec, sidecar: env.sidecar! },
        seed: fenced,
      });
      const restarted = await crashAndRead(s.old.leaseId);
      const settle = async () => {
        const seen: string[] = [];
        const copy = await Agent.open(
          restarted.dir,
          { spawn: async () => {}, onEvent: (e) => void seen.push(e.text) },
          { retired: true },
        );
        try {
          const outcome = await copy.settleRetired().catch((e: unknown) => e as IconError);
          return { outcome, seed: copy.seed, seen };
        } finally {
          await copy.stop();
        }
      };
      // The new yard runs the successor (the hand-over sent by the restarted copy).
      expect((await settle()).outcome).to.equal("retired");
      expect((await heldBy(s.next.leaseId)).seed.instance).to.equal(2);

      // The new yard cannot be reached; the chain says StartMissed (never confirmed, its slot over): that yard may
      // still run the successor (it is not reached to say otherwise), so the copy does not act.
      await nextYard!.node.unhandle(LEASE_PROTOCOL);
      unreachable = true;
      const { m } = two.get();
      await waitFor(
        `lease ${s.next.leaseId} StartMissed on chain`,
        async () => {
          await m.provider.send("evm_mine", []);
          return (await owner.lease(s.next.leaseId)).state === "StartMissed" || undefined;
        },
        90_000,
      );
      const missed = await settle();
      expect(isIconError(missed.outcome, "RETIRED"), String(missed.outcome)).to.equal(true);
      expect((missed.outcome as IconError).message).to.contain(`lease ${s.next.leaseId} is StartMissed`);
      expect(missed.seed.retired).to.deep.include(retired);
      expect(missed.seed.instance).to.equal(1);

      // Reached again, the new yard refuses the hand-over: it has ended the lease (its sidecar stopped first).
      await nextYard!.node.handle(LEASE_PROTOCOL, held.handler, held.options);
      unreachable = false;
      await waitFor(
        `lease ${s.next.leaseId} ended at its yard`,
        async () => ["ended", "settled"].includes(nextYard!.db.lease(s.next.leaseId)?.status ?? "") || undefined,
        60_000,
      );
      const back = await settle();
      expect(back.outcome).to.equal("acting");
      expect(back.seed.instance).to.equal(3);
      expect(back.seen.join("\n")).to.match(
        new RegExp(
          `lease ${s.next.leaseId} at ${s.next.yard.name} has (ended|settled) at its yard \\(its sidecar stopped\\)`,
        ),
      );
      expect(await two.get().m.provider.getBalance(s.wallet.address)).to.equal(0n);
    } finally {
      if (unreachable) await nextYard!.node.handle(LEASE_PROTOCOL, held.handler, held.options);
      if (confirm) nextYard!.chain.confirmStart = confirm;
      for (const id of await owner.leasesOf(s.app.root)) await owner.terminate(id).catch(() => {});
    }
  });

  it("the successor renewed its lease since (the renewal carried its sidecar over): the retired copy re-sends to the renewal, which keeps it, instead of the refused renewed lease", async () => {
    const s = await setUp("renewed-next", { nextWithAgentShare: true });
    try {
      const carried = s.c.carried();
      const retired = { leaseId: s.next.leaseId, yard: s.next.yard.name, instance: 2, atMs: Date.now() };
      const fenced = { ...s.c.seed, retired: { ...retired, moving: s.next, carried } };
      await handOver({
        node,
        ...{ holder: s.wallet, client: s.icon, dir: s.dir, placement: s.old, spec: s.spec, sidecar: env.sidecar! },
        seed: fenced,
      });
      const restarted = await crashAndRead(s.old.leaseId);
      const settle = async () => {
        const seen: string[] = [];
        const copy = await Agent.open(
          restarted.dir,
          { spawn: async () => {}, onEvent: (e) => void seen.push(e.text) },
          { retired: true },
        );
        try {
          return { outcome: await copy.settleRetired(), seen };
        } finally {
          await copy.stop();
        }
      };
      expect((await settle()).outcome).to.equal("retired");
      const handed = await heldBy(s.next.leaseId);
      // The successor renews its lease from inside its sidecar: the renewal's Deploy carries its state.
      const { part } = await sealedAgentPart(s.dir, env.sidecar!, { seed: handed.seed });
      const won = await bid({
        node,
        signer: s.wallet,
        client: owner,
        account: s.app.root,
        yards: [refs[1]!],
        rfq: {
          ...{ cpuMillis: 350, memoryMiB: 224, slotSeconds: 120, earliestStart: 0n },
          ...{ imageRef: WEB_IMAGE, imageDigest: digest, renewsLeaseId: s.next.leaseId },
        },
        spec: { ...s.spec, agent: part },
        maxPrice: 0n,
        budget: USD(1),
        score: () => 0,
      }).finally(() => part.secret.wipe());
      const db = yards.find((y) => y.node.peerId.equals(refs[1]!.peerId))!.db;
      await waitFor(
        "the sidecar carried over to the renewal",
        async () => db.lease(won.leaseId)?.agentContainerId,
        30_000,
      );
      // Sent again, the hand-over goes to the renewal (a Redeploy of the renewed lease is refused: "renewed by").
      const again = await settle();
      expect(again.outcome).to.equal("retired");
      expect(again.seen.join("\n")).to.contain(
        `lease ${won.leaseId} at ${s.next.yard.name} runs instance 2 (its hand-over confirmed)`,
      );
      // The sidecar (labelled with the lease it was made for) runs on with the state the renewal carried.
      expect((await heldBy(s.next.leaseId)).seed.instance).to.equal(2);
    } finally {
      for (const id of await owner.leasesOf(s.app.root)) await owner.terminate(id).catch(() => {});
    }
  });

  it("after the hand-over the old instance keeps checking its successor: a successor lost since (its sidecar gone from the new lease) is handed over again within one re-check", async () => {
    const s = await setUp("recheck", { nextWithAgentShare: true });
    try {
      await movePair(s.c, s.old, s.next);
      expect(s.log).to.deep.equal(["fence", "retire"]);
      const first = await heldBy(s.next.leaseId);
      expect(first.seed.instance).to.equal(2);
      // The successor is lost (as when the new yard restarted before its sidecar started): the new lease's sidecar
      // stopped and its secret wiped, the service left running.
      await endSidecar({ node, holder: s.wallet, client: s.icon, placement: s.next, spec: s.spec });
      await waitFor(
        "the new lease's sidecar gone",
        async () => !(await containersOf(s.next.leaseId)).some((c) => c.role === "agent") || undefined,
        30_000,
      );
      const confirmed = () =>
        s.events.filter((e) => e.text.includes(`lease ${s.next.leaseId} at ${s.next.yard.name} runs instance 2`))
          .length;
      const before = confirmed();
      // The old instance's next re-check (every RETIRED_RECHECK_MS) hands instance 2 in again.
      await waitFor(
        "the successor handed over again",
        async () => confirmed() > before || undefined,
        RETIRED_RECHECK_MS + 30_000,
      );
      const again = await heldBy(s.next.leaseId);
      expect(again.seed.instance).to.equal(2);
      expect(again.seed.moving!.leaseId).to.equal(s.next.leaseId);
      expect(s.log).to.deep.equal(["fence", "retire"]); // it never acted again
      expect(s.c.seed.retired).to.deep.include({ leaseId: s.next.leaseId, instance: 2 });
    } finally {
      for (const id of await owner.leasesOf(s.app.root)) await owner.terminate(id).catch(() => {});
    }
  });

  it("a hand-over the new yard refuses leaves the old instance acting (instance 1 held again at its yard), the new lease ended, the money exact", async () => {
    // The fault: the new lease was bought without the agent's share, so its yard refuses the agent part.
    const s = await setUp("refused", { nextWithAgentShare: false });
    try {
      const e = await movePair(s.c, s.old, s.next).then(
        () => expect.fail("the hand-over must fail"),
        (x: unknown) => x as IconError,
      );
      expect(e.code).to.equal("HANDOVER_FAILED");
      expect(e.message).to.match(
        new RegExp(`into lease ${s.next.leaseId} at .* failed: .*leaves the service -?\\d+ mCPU and -?\\d+ MiB`),
      );
      // Fenced, then acting again; never retired. The undo ended the new lease through its own closed fence.
      expect(s.log).to.deep.equal(["fence", "unfence"]);
      expect(s.fence.acting).to.equal(true);
      expect(s.c.seed.retired).to.equal(undefined);
      expect(s.events.map((x) => x.text).join("\n")).to.match(
        new RegExp(
          `lease ${s.next.leaseId} ended .*lease ${s.old.leaseId} holds instance 1 again; deciding here again`,
        ),
      );
      // The new lease ended on chain; the old one runs its service and, restarted, its sidecar gets instance 1 back.
      expect(live((await owner.lease(s.next.leaseId)).state)).to.equal(false);
      expect((await owner.lease(s.old.leaseId)).state).to.be.oneOf(["Scheduled", "Running"]);
      const back = await crashAndRead(s.old.leaseId);
      expect(back.seed.retired).to.equal(undefined);
      expect(back.seed.instance).to.equal(1);
      expect(back.seed.moving).to.equal(undefined);
      // Every unit of the deposit is in the account, in escrow or spent on the leases' time (and the relayed fees).
      const st = await appStatus(owner, s.app.root);
      expect(st.held + st.escrowed + st.spent).to.equal(DEPOSIT);
      expect(await two.get().m.provider.getBalance(s.wallet.address)).to.equal(0n);
    } finally {
      for (const id of await owner.leasesOf(s.app.root)) await owner.terminate(id).catch(() => {});
    }
  });
  it("after a renewal carried the sidecar over, the fence lands on the renewal (a restart of the sidecar finds instance 1 retired); the yard refuses a Redeploy of the renewed lease, naming the renewal", async () => {
    // The old lease is short, so the renewal's slot (from its end) begins within the test: the yard restarts a
    // sidecar in its slot.
    const s = await setUp("renewed", { nextWithAgentShare: true, oldSlotS: 25 });
    try {
      // Instance 1 renews from inside its sidecar: the renewal's Deploy carries its sealed state (same agent part).
      const { part } = await sealedAgentPart(s.dir, env.sidecar!);
      const won = await bid({
        node,
        signer: s.wallet,
        client: owner,
        account: s.app.root,
        yards: [refs[0]!],
        rfq: {
          cpuMillis: 350,
          memoryMiB: 224,
          slotSeconds: 120,
          earliestStart: 0n,
          imageRef: WEB_IMAGE,
          imageDigest: digest,
          renewsLeaseId: s.old.leaseId,
        },
        spec: { ...s.spec, agent: part },
        maxPrice: 0n,
        budget: USD(1),
        score: () => 0,
      }).finally(() => part.secret.wipe());
      s.old.renewal = {
        leaseId: won.leaseId,
        leaseStart: won.offer.start,
        end: won.offer.end,
        pricePerSecond: won.offer.pricePerSecond,
      };
      // The yard moved the sidecar (and the service) to the renewal: the renewed lease runs nothing of its own. (The
      // containers keep the label of the lease they were made for.)
      const db = yards[0]!.db;
      const carried = await waitFor(
        "the sidecar carried over to the renewal",
        async () => db.lease(won.leaseId)?.agentContainerId,
        30_000,
      );
      const runsNothing = () => {
        const row = db.lease(s.old.leaseId)!;
        expect(row.containerId).to.equal(undefined);
        expect(row.agentContainerId).to.equal(undefined);
      };
      runsNothing();
      const agents = async () => (await containersOf(s.old.leaseId)).filter((c) => c.role === "agent").map((c) => c.id);
      expect(await agents()).to.deep.equal([carried]);

      await movePair(s.c, s.old, s.next);
      expect(s.log).to.deep.equal(["fence", "retire"]);
      expect(s.events.map((e) => e.text).join("\n")).to.contain(`lease ${won.leaseId} fenced`);
      // The renewed lease still runs nothing (a fence there would have started a second service and sidecar).
      runsNothing();
      expect(await agents()).to.deep.equal([carried]);
      // The sidecar that runs instance 1 (now the renewal's), restarted by its yard, gets the retired state.
      const restarted = await crashAndRead(s.old.leaseId);
      expect(restarted.seed.retired).to.deep.include({ leaseId: s.next.leaseId, instance: 2 });
      expect((await heldBy(s.next.leaseId)).seed.instance).to.equal(2);

      // The yard's side: a Redeploy of the lease the renewal took over is refused with a sentence naming it.
      const e = await handOver({
        node,
        holder: s.wallet,
        client: s.icon,
        dir: s.dir,
        placement: s.old,
        spec: s.spec,
        sidecar: env.sidecar!,
      }).then(
        () => expect.fail("a Redeploy of a renewed lease must be refused"),
        (x: unknown) => x as IconError,
      );
      expect(e.message).to.contain(
        `lease ${s.old.leaseId} was renewed by lease ${won.leaseId}, which runs its containers now: deploy lease ${won.leaseId} instead`,
      );
      expect(e.details.refused).to.equal(true);
      runsNothing();
    } finally {
      for (const id of await owner.leasesOf(s.app.root)) await owner.terminate(id).catch(() => {});
    }
  });
  /** Waits until no agent container of lease `id` (by its label) runs at these yards. */
  const noSidecar = (id: bigint) =>
    waitFor(
      `lease ${id}'s sidecar stopped`,
      async () => !(await containersOf(id)).some((c) => c.role === "agent" && c.state === "running") || undefined,
      60_000,
    );

  it("--take-back after the sidecar moved the pair on stops the sidecar in every live lease of the ICON, then acts as an instance above any the sidecars reached", async () => {
    const s = await setUp("takeback", { nextWithAgentShare: true });
    try {
      // The owner's copy handed the ICON into the old lease (instance 1); since then the sidecar moved the pair to
      // the new lease at the other yard (instance 2), which the owner's copy knows nothing of.
      await markHandedOver(s.dir, {
        leaseId: s.old.leaseId,
        yard: s.old.yard.name,
        endpoint: s.old.endpoint,
        instance: 1,
        atMs: Date.now(),
      });
      const moved = { ...s.c.seed, instance: 2, placement: s.next };
      await handOver({
        node,
        holder: s.wallet,
        client: s.icon,
        dir: s.dir,
        placement: s.next,
        spec: s.spec,
        sidecar: env.sidecar!,
        seed: moved,
      });
      expect((await heldBy(s.next.leaseId)).seed.instance).to.equal(2);

      const agent = await Agent.open(s.dir, { spawn: async () => {} });
      try {
        const said = await takeBack(agent);
        expect(said).to.contain(`lease ${s.old.leaseId}`).and.to.contain(`lease ${s.next.leaseId}`);
        await noSidecar(s.old.leaseId);
        await noSidecar(s.next.leaseId);
        // Above instance 2 (one lease opened since the hand-over): the parent of a child would refuse no report.
        expect(agent.seed.instance).to.equal(3);
        expect((await readAgentState(s.dir)).seed.instance).to.equal(3);
        expect(await handedOver(s.dir)).to.equal(undefined);
        // Both services run on: only the sidecars stopped.
        for (const id of [s.old.leaseId, s.next.leaseId])
          expect((await containersOf(id)).find((c) => c.role === "service")?.state).to.equal("running");
      } finally {
        await agent.stop();
      }
    } finally {
      for (const id of await owner.leasesOf(s.app.root)) await owner.terminate(id).catch(() => {});
    }
  });

  it('a hand-over left "handing over" (its answer lost) is settled before the copy acts: Running → handed over; refused → the sidecar stopped and the copy acts above the sealed instance', async () => {
    const s = await setUp("handing", { nextWithAgentShare: false });
    try {
      // The sidecar of the old lease runs instance 1: a mark for instance 1 there whose answer was lost.
      await markHandedOver(s.dir, {
        leaseId: s.old.leaseId,
        yard: s.old.yard.name,
        endpoint: s.old.endpoint,
        instance: 1,
        atMs: Date.now(),
        handingOver: true,
      });
      s.c.seed.instance = 0;
      await saveAgentState(s.dir, env, s.c.seed);
      let agent = await Agent.open(s.dir, { spawn: async () => {} });
      try {
        expect(await resolveHandingOver(agent, (await handedOver(s.dir))!)).to.equal("handed-over");
        const mark = await handedOver(s.dir);
        expect(mark).to.deep.include({ leaseId: s.old.leaseId, instance: 1 });
        expect(mark!.handingOver).to.equal(undefined);
        // The sidecar that ran kept running (same agent part): it was not restarted.
        expect(
          (await containersOf(s.old.leaseId)).filter((c) => c.role === "agent" && c.state === "running"),
        ).to.have.length(1);
      } finally {
        await agent.stop();
      }

      // The same at a lease whose yard refuses the agent part (bought without its share): nothing runs there, the
      // copy acts again — as the instance after the one it sealed.
      s.c.seed.placement = s.next;
      await saveAgentState(s.dir, env, s.c.seed);
      await markHandedOver(s.dir, {
        leaseId: s.next.leaseId,
        yard: s.next.yard.name,
        endpoint: s.next.endpoint,
        instance: 1,
        atMs: Date.now(),
        handingOver: true,
      });
      agent = await Agent.open(s.dir, { spawn: async () => {} });
      try {
        expect(await resolveHandingOver(agent, (await handedOver(s.dir))!)).to.equal("resumed");
        expect(await handedOver(s.dir)).to.equal(undefined);
        expect(agent.seed.instance).to.equal(2);
        expect((await containersOf(s.next.leaseId)).some((c) => c.role === "agent")).to.equal(false);
      } finally {
        await agent.stop();
      }
    } finally {
      for (const id of await owner.leasesOf(s.app.root)) await owner.terminate(id).catch(() => {});
    }
  });
  it("a parent restarted from an older state than its tree leaves a live child it does not know alone, counts past its key, and makes its yard hold that state without restarting the sidecar", async () => {
    const s = await setUp("stale", { nextWithAgentShare: true });
    try {
      // A replica made after the state the yard holds was sealed: account, money and a live lease, its key the
      // first derived one; the restored state counts no replica and has no children/ directory.
      const childKey = new Wallet(replicaKey(s.wallet.privateKey, 1));
      const child = await s.icon.createAccount(s.app.root, childKey.address);
      await s.icon.allocate(s.app.root, child, USD(1));
      const won = await bid({
        node,
        signer: childKey,
        client: owner,
        account: child,
        yards: [refs[1]!],
        rfq: {
          cpuMillis: 250,
          memoryMiB: 64,
          slotSeconds: 120,
          earliestStart: 0n,
          imageRef: WEB_IMAGE,
          imageDigest: digest,
        },
        spec: s.spec,
        maxPrice: 0n,
        budget: USD(1),
        score: () => 0,
      });
      expect(s.c.seed.replicas).to.equal(0);
      const sidecar = (await containersOf(s.old.leaseId)).find((c) => c.role === "agent")!;
      const startedAt = (await docker.getContainer(sidecar.id).inspect()).State.StartedAt;

      const seen: AgentEvent[] = [];
      const agent = await Agent.open(s.dir, {
        spawn: async () => {},
        inSidecar: true,
        onEvent: (e) => void seen.push(e),
      });
      try {
        await agent.start();
      } finally {
        await agent.stop();
      }
      // Left alone: its lease runs, its account is open with its money.
      expect(live((await owner.lease(won.leaseId)).state)).to.equal(true);
      expect((await owner.account(child)).closed).to.equal(false);
      expect(seen.map((e) => e.text).join("\n")).to.contain(
        `replica account ${child} (lease ${won.leaseId}) is live but unknown to this state (its key is replica 1`,
      );
      expect((await readAgentState(s.dir)).seed.replicas).to.equal(1);
      // The yard holds that state now (a restart gets it) and the sidecar was not restarted to get there.
      expect((await docker.getContainer(sidecar.id).inspect()).State.StartedAt).to.equal(startedAt);
      const restarted = await crashAndRead(s.old.leaseId);
      expect(restarted.seed.replicas).to.equal(1);
      expect(restarted.seed.instance).to.equal(1);
    } finally {
      for (const id of await owner.leasesOf(s.app.root)) await owner.terminate(id).catch(() => {});
    }
  });
});
