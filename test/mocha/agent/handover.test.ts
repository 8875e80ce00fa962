/**
 * Sidecar placement (issue 16): `icon app deploy` places the origin from the owner's machine, hands it into its
 * lease's agent sidecar and exits; the owner's copy refuses to act; a hand-over the yard refuses leaves the local
 * agent acting and the money where it was. Two real yards in this process (real Docker, real chain, libp2p on
 * loopback), the CLI as processes. The sidecar's agent cannot reach the chain from inside its container until the
 * yard's gateway exists: these tests check the hand-over itself (the container, its image and role, what the yard
 * holds), not what the agent does in there later.
 */
import { expect } from "chai";
import { execFile, spawn } from "node:child_process";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import type Docker from "dockerode";
import { Wallet } from "ethers";
import type { Libp2p } from "@libp2p/interface";
import { multiaddr } from "@multiformats/multiaddr";
import { Agent } from "../../../icon-agent/agent.ts";
import { appStatus, deployApp } from "../../../icon-agent/app.ts";
import { agentEnvFrom } from "../../../icon-agent/config.ts";
import { replicaKey } from "../../../icon-agent/leases.ts";
import { bid, discoverYards, type YardRef } from "../../../icon-agent/market.ts";
import {
  handedOver,
  readAgentState,
  unsealAgentState,
  writeAgentState,
  type AgentEvent,
} from "../../../icon-agent/state.ts";
import {
  IntentSender,
  LeaseSecret,
  MarketClient,
  createIconNode,
  redeployLease,
  signLeaseAccess,
  toJson,
  type DeploySpec,
} from "../../../protocol/index.ts";
import { TEST_POLICY, USD, clientFor } from "../../../scripts/lib/testbed.ts";
import { ICON_CLI, alive, deployWebApp } from "../../helpers/app.ts";
import { BUSYBOX_IMAGE, WEB_IMAGE, sealedInSidecar, waitFor } from "../../helpers/docker.ts";
import { useTwoYards } from "../../helpers/yard.ts";
import type { Yard } from "../../../yard-node/yard.ts";

/** A sidecar that keeps what the yard writes to its standard input (the sealed state) in its tmpfs, then idles. */
/** The suite's own tag of the agent image (see before). */
const AGENT_TAG = `handover-test-${process.pid}`;
const KEEPER = ["sh", "-c", "umask 077; cat > /run/icon/sealed; exec sleep 3600"];

describe("ICON hand-over into its lease's sidecar (icon app deploy, sidecar placement)", function () {
  this.timeout(240_000);
  const two = useTwoYards("handover", { overrides: { overlay: { semanticDns: false } } });
  let digest: string;
  let owner: MarketClient;
  let docker: Docker;
  let yards: Yard[];
  let node: Libp2p;
  let refs: YardRef[];

  before(async () => {
    const { m, a, b } = two.get();
    yards = [a, b];
    digest = await two.imageId(WEB_IMAGE);
    owner = await clientFor(m, 10, USD(100));
    docker = two.get().engine.docker;
    // The engine is shared (other checkouts rebuild icon/agent:1 from their own code and drop the image it named):
    // this suite's own tag keeps the image it deploys on the engine for as long as it runs.
    await docker.getImage("icon/agent:1").tag({ repo: "icon/agent", tag: AGENT_TAG });
    node = await createIconNode();
    refs = await discoverYards({ node, client: owner, seeds: yards.map((y) => y.node.getMultiaddrs()[0]!.toString()) });
  });
  after(async () => {
    await node?.stop();
    await docker
      ?.getImage(`icon/agent:${AGENT_TAG}`)
      .remove({ noprune: true })
      .catch(() => {});
  });

  /** A client of ICON key `signer` as an agent has one: its market calls relayed by the yards, paid by `account`. */
  async function relayedClient(signer: Wallet, account: bigint, root: bigint): Promise<MarketClient> {
    const { m } = two.get();
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

  /** The containers of lease `id` at these two yards (the engine is shared: other yards' leases share ids). */
  const containersOf = async (id: bigint) => {
    const ours = new Set(yards.map((y) => y.config.yardId));
    const all = await docker.listContainers({ all: true, filters: { label: [`icon.lease=${id}`] } });
    return all
      .filter((c) => ours.has(c.Labels["icon.yard"] ?? ""))
      .map((c) => ({ id: c.Id, role: c.Labels["icon.role"] ?? "service", image: c.Image, state: c.State }));
  };

  it("deploys, hands the origin into its lease's sidecar and exits; the owner's copy refuses to act", async () => {
    const { m } = two.get();
    const dep = await deployWebApp(m, {
      digest,
      cpuMillis: 250,
      initialRegion: yards[0]!.config.listing!.region,
      waitS: 90,
      tmpPrefix: "icon-handover-",
      sidecar: { image: `icon/agent:${AGENT_TAG}` },
    });
    const root = BigInt(/application (\d+) created with 3 iUSD/.exec(dep.stdout)![1]!);
    const pid = Number(/origin ICON started here for its first placement \(pid (\d+),/.exec(dep.stdout)![1]!);
    const h = /origin ICON runs in the agent sidecar of lease (\d+) at \S+ \(instance 1\)/.exec(dep.stdout);
    expect(h, dep.stdout).to.not.equal(null);
    const lease = BigInt(h![1]!);
    expect(dep.stdout).to.contain("nothing of yours needs to run now");
    // No agent of the owner's remains: the process ended, its lock is gone, the lease is the one it placed.
    expect(alive(pid)).to.equal(false);
    const lock = await readFile(path.join(dep.state, "agent.lock"), "utf8").catch(() => undefined);
    expect(lock === undefined || !alive(Number(lock.trim()))).to.equal(true);
    expect(await owner.leasesOf(root)).to.deep.equal([lease]);
    // The lease runs its service and the agent sidecar, from icon/agent:1; the yard holds the secret.
    const cs = await containersOf(lease);
    const agent = cs.find((c) => c.role === "agent");
    expect(agent, JSON.stringify(cs)).to.not.equal(undefined);
    const agentImage = await two.imageId(`icon/agent:${AGENT_TAG}`);
    expect((await docker.getContainer(agent!.id).inspect()).Image).to.equal(`sha256:${agentImage.slice(2)}`);
    const holder = yards.find((y) => y.db.lease(lease)?.spec?.agent)!;
    // The yard reports the sidecar of the lease running (its operator's /status).
    const reported = await (await fetch(`${holder.httpUrl}/status`)).json();
    expect(
      (reported as { leases: { id: string; agentRunning?: boolean }[] }).leases.find((l) => l.id === String(lease)),
    ).to.include({ agentRunning: true });
    expect(holder.db.lease(lease)!.spec!.agent).to.include({ cpuMillis: 100, memoryMiB: 160 });
    expect(holder.db.lease(lease)!.offer).to.include({ cpuMillis: 350, memoryMiB: 224 }); // service + agent share
    await waitFor(
      "the sidecar container started",
      async () => (await containersOf(lease)).some((c) => c.role === "agent" && c.state === "running"),
      30_000,
    );
    // The owner's copy is marked handed over (instance 1 runs in the sidecar) and refuses to act, with a sentence.
    const mark = await handedOver(dep.state);
    expect(mark).to.include({ leaseId: lease, instance: 1 });
    const refused = await promisify(execFile)(ICON_CLI, ["agent", "run", ...dep.global, "--state", dep.state], {
      env: dep.env,
    }).then(
      () => expect.fail("agent run on a handed-over copy must be refused"),
      (e: { code: number; stderr: string }) => e,
    );
    expect(refused.code).to.equal(1);
    expect(refused.stderr).to.contain(`was handed into the sidecar of lease ${lease}`);
    expect(refused.stderr).to.contain("give --take-back");
    // The owner returns: --take-back stops the sidecar (the lease deployed again without it) before this copy acts.
    const back = spawn(ICON_CLI, ["agent", "run", ...dep.global, "--state", dep.state, "--take-back"], {
      env: dep.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const said: string[] = [];
    back.stdout!.on("data", (d: Buffer) => said.push(d.toString()));
    back.stderr!.on("data", (d: Buffer) => said.push(d.toString()));
    const exited = new Promise((r) => back.once("exit", r));
    try {
      await waitFor(
        "the origin running here again",
        () => /ICON origin \(account \d+\) running/.test(said.join("")),
        30_000,
      );
      expect(said.join("")).to.contain(`took the ICON back from lease ${lease} at`);
      expect(said.join("")).to.contain(`the sidecar of lease ${lease} at`);
      expect(holder.db.lease(lease)!.spec!.agent).to.equal(undefined);
      expect((await containersOf(lease)).map((c) => c.role)).to.deep.equal(["service"]);
      expect(await handedOver(dep.state)).to.equal(undefined);
      expect((await readAgentState(dep.state)).seed.instance, "the instance after the sidecar's").to.equal(2);
      expect(await owner.leasesOf(root)).to.deep.equal([lease]); // the same lease, not placed again
    } finally {
      back.kill("SIGTERM");
      await exited;
      await owner.terminate(lease).catch(() => {});
    }
  });

  it("a hand-over the yard refuses leaves the local agent acting, says why and loses no money", async () => {
    const { m } = two.get();
    // An agent image no yard has: the yard answers the hand-over's Deploy with Failed and changes nothing.
    const failed = await deployWebApp(m, {
      digest,
      cpuMillis: 250,
      initialRegion: yards[1]!.config.listing!.region,
      waitS: 90,
      tmpPrefix: "icon-handover-fail-",
      sidecar: { image: `icon/agent:${AGENT_TAG}`, imageDigest: "0x" + "ab".repeat(32) },
    }).then(
      () => expect.fail("the deploy must fail"),
      (e: { code: number; stdout: string; stderr: string }) => e,
    );
    expect(failed.code).to.equal(1);
    expect(failed.stderr).to.match(/handing the ICON in .* into lease \d+ at \S+ failed: .*is not on this yard/);
    expect(failed.stderr).to.contain("goes on running it here");
    const root = BigInt(/application (\d+) created with 3 iUSD/.exec(failed.stdout)![1]!);
    const pid = Number(/\(pid (\d+),/.exec(failed.stdout)![1]!);
    try {
      expect(alive(pid), "the local agent goes on").to.equal(true);
      const [lease] = await owner.leasesOf(root);
      expect((await owner.lease(lease!)).state).to.be.oneOf(["Scheduled", "Running"]);
      expect((await containersOf(lease!)).map((c) => c.role)).to.deep.equal(["service"]);
      // Every unit of the deposit is in the account, in escrow or spent on the lease's time: nothing went missing.
      const st = await appStatus(owner, root);
      expect(st.held + st.escrowed + st.spent).to.equal(USD(3));
      // It still acts: its periods keep rewriting its status.
      const state = /\(state in (\S+)\)/.exec(failed.stdout)![1]!;
      const since = Date.now();
      await waitFor(
        "a period of the local agent after the failed hand-over",
        async () => {
          const t = await readFile(path.join(state, "status.json"), "utf8").catch(() => "");
          return Number(/"atMs": (\d+)/.exec(t)?.[1] ?? 0) > since;
        },
        20_000,
      );
      expect(await handedOver(state)).to.equal(undefined);
    } finally {
      process.kill(pid, "SIGTERM");
      await waitFor("the local agent to stop", () => !alive(pid), 20_000);
      for (const id of await owner.leasesOf(root)) await owner.terminate(id).catch(() => {});
    }
  });

  it("a parent in sidecar placement hands its replica into the replica's lease: the sealed state is the replica's, no local process starts", async () => {
    const { m } = two.get();
    const busybox = await two.imageId(BUSYBOX_IMAGE);
    const dir = path.join(await mkdtemp(path.join(tmpdir(), "icon-handover-replica-")), "origin");
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
      agent: { periodMs: 500, reportEveryMs: 500, warmupS: 3600 },
    };
    const built = agentEnvFrom(raw, m.chain.url, m.deployment, { local: false, agentImageDigest: busybox });
    // The keeper stands in for the agent image: the sidecar keeps the sealed state it was given, for this test to read.
    const env = { ...built, sidecar: { ...built.sidecar!, imageRef: BUSYBOX_IMAGE, command: KEEPER } };
    expect(env.sidecar).to.include({ cpuMillis: 100, memoryMiB: 160 });
    const app = await deployApp({ owner, env, policy: TEST_POLICY, deposit: USD(5), dir });
    const events: AgentEvent[] = [];
    const spawned: string[] = [];
    const hooks = { spawn: async (d: string) => void spawned.push(d), onEvent: (e: AgentEvent) => void events.push(e) };
    let agent = await Agent.open(dir, hooks);
    await agent.start();
    await waitFor("the origin to be placed", () => agent.seed.placement, 30_000);
    await agent.stop();
    // What a replication leaves once the replica's lease runs and its state directory is written: the parent's next
    // step (its recovery on restart, as replicate's own) launches it — in sidecar placement, the hand-over.
    const { key } = await readAgentState(dir);
    const origin = new Wallet(key, m.provider);
    const icon = await relayedClient(origin, app.root, app.root);
    const childKey = new Wallet(replicaKey(key, 1), m.provider);
    const child = await icon.createAccount(app.root, childKey.address);
    await icon.allocate(app.root, child, USD(1));
    const won = await bid({
      node,
      signer: childKey,
      client: owner,
      account: child,
      yards: refs,
      rfq: {
        cpuMillis: 350,
        memoryMiB: 224,
        slotSeconds: 120,
        earliestStart: 0n,
        imageRef: WEB_IMAGE,
        imageDigest: digest,
      },
      spec: { imageRef: WEB_IMAGE, imageDigest: digest, command: [], env: [], ports: [8080], httpPorts: [8080] },
      maxPrice: 0n,
      budget: USD(1),
      score: () => 0,
    });
    const childDir = path.join(dir, "children", String(child));
    const placement = {
      leaseId: won.leaseId,
      leaseStart: won.offer.start,
      yard: won.yard,
      endpoint: won.endpoint,
      pricePerSecond: won.offer.pricePerSecond,
      end: won.offer.end,
      since: Date.now() / 1000,
    };
    await writeAgentState(
      childDir,
      env,
      {
        name: "origin.1",
        account: child,
        root: app.root,
        parent: { account: app.root, addrs: [] },
        placement,
        subnets: ["10.9.9.0/24"],
        children: {},
        replicas: 0,
      },
      childKey.privateKey,
    );
    const { seed } = await readAgentState(dir);
    await writeAgentState(
      dir,
      env,
      { ...seed, replicas: 1, children: { [String(child)]: { name: "origin.1", subnets: ["10.9.9.0/24"] } } },
      key,
    );
    agent = await Agent.open(dir, hooks);
    try {
      await agent.start();
      // Handed over, recorded as started, and no local process asked for.
      expect(spawned).to.deep.equal([]);
      expect(agent.seed.children[String(child)]).to.deep.include({ started: true });
      expect(events.map((e) => e.text).join("\n")).to.contain(
        `replica origin.1 handed into the sidecar of lease ${won.leaseId}`,
      );
      const holder = yards.find((y) => y.db.lease(won.leaseId))!;
      expect(holder.db.lease(won.leaseId)!.spec!.agent).to.include({
        imageDigest: busybox,
        cpuMillis: 100,
        memoryMiB: 160,
      });
      // What the sidecar got on its standard input unseals to the replica: its account, key and placement, instance 1.
      const sidecar = await waitFor(
        "the replica's sidecar",
        async () => (await containersOf(won.leaseId)).find((c) => c.role === "agent" && c.state === "running"),
        30_000,
      );
      const sealed = await sealedInSidecar(docker, sidecar.id, 20_000);
      const out = path.join(await mkdtemp(path.join(tmpdir(), "icon-unsealed-")), "icon");
      await unsealAgentState(sealed, out);
      const got = await readAgentState(out);
      expect(got.seed.account).to.equal(child);
      expect(got.key).to.equal(childKey.privateKey);
      expect(got.seed.placement!.leaseId).to.equal(won.leaseId);
      expect(got.seed.instance).to.equal(1);
      expect(got.env.sidecar).to.deep.equal(env.sidecar);
      // The parent's copy of the replica stays with it (its recovery needs it), at the instance it had.
      expect((await readAgentState(childDir)).seed.instance).to.equal(undefined);
      // The service kept running through it, resized to the lease minus the agent's share.
      const service = (await containersOf(won.leaseId)).find((c) => c.role === "service")!;
      expect(service.state).to.equal("running");
      const limits = (await docker.getContainer(service.id).inspect()).HostConfig;
      expect([limits.NanoCpus, limits.Memory]).to.deep.equal([250e6, 64 * 2 ** 20]);
      expect(await m.provider.getBalance(childKey.address)).to.equal(0n);
    } finally {
      await agent.stop();
      for (const id of [...(await owner.leasesOf(app.root)), won.leaseId]) await owner.terminate(id).catch(() => {});
    }
  });

  it("refuses a Redeploy from anyone but the lease's holder on its own peer, and changes nothing", async () => {
    const { m } = two.get();
    const holderKey = new Wallet(Wallet.createRandom().privateKey, m.provider);
    const root = await owner.createApp(holderKey.address, TEST_POLICY, USD(2));
    const won = await bid({
      node,
      signer: holderKey,
      client: owner,
      account: root,
      yards: refs,
      rfq: {
        cpuMillis: 250,
        memoryMiB: 64,
        slotSeconds: 120,
        earliestStart: 0n,
        imageRef: WEB_IMAGE,
        imageDigest: digest,
      },
      spec: { imageRef: WEB_IMAGE, imageDigest: digest, command: [], env: [], ports: [8080] },
      maxPrice: 0n,
      budget: USD(2),
      score: () => 0,
    });
    const yard = yards.find((y) => y.db.lease(won.leaseId))!;
    const before = toJson(yard.db.lease(won.leaseId)!.spec);
    const at = multiaddr(won.yard.addrs[0]!);
    const busybox = await two.imageId(BUSYBOX_IMAGE);
    const spec = (): DeploySpec => ({
      leaseId: won.leaseId,
      imageRef: WEB_IMAGE,
      imageDigest: digest,
      command: [],
      env: [],
      ports: [8080],
      agent: {
        imageRef: BUSYBOX_IMAGE,
        imageDigest: busybox,
        command: KEEPER,
        cpuMillis: 50,
        memoryMiB: 16,
        secret: LeaseSecret.of(Buffer.from("x")),
      },
    });
    const stranger = await createIconNode();
    try {
      const attempts = [
        // a key that holds no part of the lease
        { from: node, access: await signLeaseAccess(Wallet.createRandom(), owner.domain(), won.leaseId, node.peerId) },
        // the holder's signature, but for another peer (captured and replayed by a stranger)
        { from: stranger, access: await signLeaseAccess(holderKey, owner.domain(), won.leaseId, node.peerId) },
        // the holder's, expired
        { from: node, access: await signLeaseAccess(holderKey, owner.domain(), won.leaseId, node.peerId, -10) },
        // the holder's for another lease
        { from: node, access: await signLeaseAccess(holderKey, owner.domain(), won.leaseId + 1000n, node.peerId) },
      ];
      for (const [i, a] of attempts.entries()) {
        const err = await redeployLease(a.from, at, a.access, { ...spec(), leaseId: a.access.leaseId }).then(
          () => expect.fail(`attempt ${i} must be refused`),
          (e: Error) => e,
        );
        expect(err.message, `attempt ${i}`).to.match(/not deployed: |not held at this yard/);
      }
      expect(toJson(yard.db.lease(won.leaseId)!.spec)).to.equal(before);
      expect((await containersOf(won.leaseId)).map((c) => c.role)).to.deep.equal(["service"]);
      // The holder's own, from its own peer, goes through (and the yard is still up after the attempts).
      const ok = await redeployLease(
        node,
        at,
        await signLeaseAccess(holderKey, owner.domain(), won.leaseId, node.peerId),
        spec(),
      );
      expect(ok.endpoint).to.equal(won.endpoint);
      expect(yard.db.lease(won.leaseId)!.spec!.agent).to.include({ cpuMillis: 50, memoryMiB: 16 });
    } finally {
      await stranger.stop();
      await owner.terminate(won.leaseId).catch(() => {});
    }
  });
});
