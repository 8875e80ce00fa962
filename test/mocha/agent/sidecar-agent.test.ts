/**
 * A real ICON agent in a real sidecar (icon/agent:1, its sealed state on standard input) at a real yard with the
 * real agent gateway, on a real chain, with a second yard: everything the agent reaches, it reaches through its
 * yard's gateway (ICON_GATEWAY) — the chain through /rpc, the cost map through /alto, its own yard's telemetry,
 * lease and relay services and the other yard's lease service through /dial forwards — and its key holds 0 ETH.
 *
 * The ICON is deployed as `icon app deploy` does (deployApp: a fresh key, the application funded); the test, as
 * the owner's deploy would, opens its lease at yard A with an agent part carrying its sealed state (placement: that
 * lease), and, as a crash between opening and saving would leave it, a lease at yard B the state does not know.
 * From inside its sidecar the agent then:
 *  - terminates the unknown lease at B with a relayed intent (its yard relays it, repaid from its account);
 *  - reads its balance and policy (/rpc), its telemetry at A (a forward to A's own libp2p listener) and the ALTO
 *    cost map (/alto): a period gets as far as observing;
 *  - probes yard B's lease service (discovery of its seeds: a capacity query) through a forward, where B sees the
 *    agent's own peer id arrive and learns its announced address (A's ingress, not the container's).
 *  - pushes its status to its gateway, which yard A serves to the owner's signed read grant (GET /icons): the
 *    policy version in force, and the next one once the owner publishes it.
 * Renewals from inside the sidecar: sidecar-renew.test.ts; a migration raced by a crash: pair-race.test.ts.
 */
import { expect } from "chai";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Wallet } from "ethers";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import {
  AltoMap,
  LeaseSecret,
  STATUS_GRANT_TYPES,
  loadOrCreatePeerKey,
  serveAlto,
  statusGrantQuery,
  type AgentPart,
  type IconStatusAnswer,
} from "../../../protocol/index.ts";
import { agentEnvFrom, deployApp, readAgentState, sealAgentState, writeAgentState } from "../../../icon-agent/index.ts";
import { probeYard } from "../../../icon-agent/market.ts";
import { AGENT_INGRESS_KEY } from "../../../yard-node/agent-gateway.ts";
import type { Yard } from "../../../yard-node/yard.ts";
import { buildAgentImage, docker } from "../../helpers/agent-image.ts";
import { WEB_IMAGE, waitFor } from "../../helpers/docker.ts";
import { FAST_LEASE, useTwoYards } from "../../helpers/yard.ts";
import { TEST_POLICY, Tenant, USD, clientFor, type TestMarket } from "../../../scripts/lib/testbed.ts";

/** This checkout's agent, under the suite's own tag (test/helpers/agent-image.ts). */
const AGENT_IMAGE = `icon/agent:sidecar-test-${process.pid}`;

/** A cost map over loopback (the yards' host): one PID, 1 ms. */
function costMap(): AltoMap {
  return new AltoMap(
    { meta: { vtag: { "resource-id": "net", tag: "1" } }, "network-map": { lo: { ipv4: ["127.0.0.0/8"] } } },
    {
      meta: {
        "dependent-vtags": [{ "resource-id": "net", tag: "1" }],
        "cost-type": { "cost-mode": "numerical", "cost-metric": "delay" },
      },
      "cost-map": { lo: { lo: 1 } },
    },
  );
}

describe("ICON agent in its sidecar (everything through its yard's gateway)", function () {
  this.timeout(300_000);
  let tenant: Tenant | undefined;
  let alto: { url: string; close(): Promise<void> } | undefined;
  let altoHits = 0;
  const two = useTwoYards("sca", {
    // ALTO through the gateway: the server the yards name for their sidecars.
    start: async ({ idA, idB, yard }) => {
      alto = await serveAlto(() => (altoHits++, costMap()));
      const overrides = { lease: FAST_LEASE, agentGateway: { dialLoopback: true, altoUrl: alto.url } };
      const a = await yard(1, idA, overrides);
      return { a, b: await yard(5, idB, overrides) };
    },
    stopFirst: () => [tenant, alto && { stop: () => alto!.close() }],
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

  const counter = (y: Yard, name: string, labels: Record<string, string> = {}) =>
    Number((y.metrics as unknown as { get(n: string, l: object): unknown }).get(name, labels) ?? 0);

  it("reads the chain, observes at its yard, probes the other yard and relays its intents, all through the gateway, holding 0 ETH", async () => {
    const addrA = a.node.getMultiaddrs()[0]!.toString();
    const addrB = b.node.getMultiaddrs()[0]!.toString();
    const owner = await clientFor(m, 2, USD(100));
    const shape = { cpuMillis: 600, memoryMiB: 384, slotSeconds: 180 };
    const env = agentEnvFrom(
      {
        service: { image: WEB_IMAGE, imageDigest: web, ports: [8080], httpPorts: [8080], ...shape },
        discovery: { seeds: [addrA, addrB] },
        // Loopback names the yards need nothing else; the state's ALTO server is one the sidecar cannot reach.
        network: { altoUrl: "http://127.0.0.1:9" },
        agent: { periodMs: 1000, reportEveryMs: 1000, renewBeforeS: 10, warmupS: 0 },
      },
      m.chain.url,
      m.deployment,
    );
    const dir = path.join(await mkdtemp(path.join(tmpdir(), "icon-sidecar-agent-")), "origin");
    const app = await deployApp({ owner, env, policy: TEST_POLICY, deposit: USD(5), dir });
    const state = await readAgentState(dir);
    const icon = new Wallet(state.key, m.provider);
    expect(icon.address).to.equal(app.icon);
    expect(await m.provider.getBalance(icon.address), "a fresh ICON key holds no ETH").to.equal(0n);
    const agentPeerId = peerIdFromPrivateKey(await loadOrCreatePeerKey(path.join(dir, "peer.key")));
    const agentPeer = agentPeerId.toString();
    const seenAtB = new Set<string>();
    b.node.addEventListener("peer:connect", (e) => seenAtB.add(e.detail.toString()));

    tenant = await Tenant.forIcon(owner, icon, app.root);
    // What a crash between opening and saving leaves: a live lease of the account at B the state does not know.
    const orphan = await tenant.open(b.node.getMultiaddrs()[0]!, tenant.rfq(web, { slotSeconds: 120 }));
    await orphan.session.close();
    // Its lease at A, and the state that names it, sealed into the lease's agent part.
    const opened = await tenant.open(a.node.getMultiaddrs()[0]!, tenant.rfq(web, shape));
    const yardA = await probeYard(tenant.node, owner, [addrA]);
    await writeAgentState(
      dir,
      state.env,
      {
        ...state.seed,
        placement: {
          leaseId: opened.leaseId,
          leaseStart: opened.offer.start,
          yard: yardA,
          endpoint: "",
          pricePerSecond: opened.offer.pricePerSecond,
          end: opened.offer.end,
          since: Date.now() / 1000,
        },
      },
      state.key,
    );
    const agent: AgentPart = {
      imageRef: AGENT_IMAGE,
      imageDigest: agentImage,
      command: [],
      cpuMillis: 250,
      memoryMiB: 256,
      secret: LeaseSecret.of(Buffer.from(await sealAgentState(dir))),
    };
    const rpcBefore = counter(a, "icon_yard_gateway_requests_total", { outcome: "ok" });
    const r = await opened.session.request({
      type: "deploy",
      spec: {
        leaseId: opened.leaseId,
        imageRef: WEB_IMAGE,
        imageDigest: web,
        command: [],
        env: [],
        ports: [8080],
        httpPorts: [8080],
        agent,
      },
    });
    await opened.session.close();
    expect(r.type, r.type === "failed" ? r.message : "").to.equal("running");

    // The agent's output, kept as it comes.
    const engine = two.get().engine;
    let output = "";
    const read = async (): Promise<string> => {
      const id = a.db.lease(opened.leaseId)?.agentContainerId;
      if (id) {
        const now = await engine.runtime.logs(id).catch(() => "");
        if (now.length > output.length) output = now;
      }
      return output;
    };
    /** Waits as waitFor does; a timeout shows the agent's output. */
    const until = <T>(what: string, check: () => Promise<T | undefined | false>, ms: number): Promise<T> =>
      waitFor(what, check, ms).catch(async (e: unknown) => {
        throw new Error(`${(e as Error).message}; the agent's output:\n${await read()}`);
      });
    const agentPort = a.db.lease(opened.leaseId)!.ingress[AGENT_INGRESS_KEY]!;
    await until("the agent to run in its sidecar", async () => /running; peer/.test(await read()), 60_000);
    // It announces where the yard's ingress exposes it, not the container's address.
    expect(output).to.include(`/ip4/127.0.0.1/tcp/${agentPort}/p2p/${agentPeer}`);

    // 1. A relayed intent through its yard: the unknown lease at B terminated, the relayer repaid by the account.
    await until(
      "the unknown lease at B to be terminated",
      async () => !["Scheduled", "Running"].includes((await owner.lease(orphan.leaseId)).state),
      60_000,
    );
    expect(await read()).to.match(
      new RegExp(`lease ${orphan.leaseId} was open but unknown to the saved state: terminated`),
    );
    expect(await owner.relayFeesOf(app.root), "the relayer was repaid from the ICON's account").to.be.greaterThan(0n);

    // 2. Its telemetry at A read (a period got as far as observing), the cost map through /alto, yard B's lease
    //    service reached from the agent's own peer id (B learned the address it announces).
    await until("a period to observe its clients at A", async () => /observe: at /.test(await read()), 60_000);
    expect(altoHits, "the ALTO server the yard names was read").to.be.greaterThan(0);
    expect(output).to.not.match(/cost map: /);
    expect(output).to.not.match(/candidate .* skipped/);
    await until("yard B to see the agent's own peer", async () => seenAtB.has(agentPeer), 60_000);
    const atB = await until(
      "yard B to learn the agent's announced address",
      async () => {
        const p = await b.node.peerStore.get(agentPeerId);
        const addrs = p.addresses.map((x) => x.multiaddr.toString());
        return addrs.length > 0 ? addrs : undefined;
      },
      30_000,
    );
    expect(atB).to.include(`/ip4/127.0.0.1/tcp/${agentPort}`);
    // All of it through the gateway: its requests were served (the chain reads among them), and its forwards open.
    expect(counter(a, "icon_yard_gateway_requests_total", { outcome: "ok" })).to.be.greaterThan(rpcBefore + 5);
    expect(a.gateway.forwardPorts(opened.leaseId).length, "forwards to yard A and yard B").to.be.at.least(2);

    // 3. Its key never held ETH: every write above went through a yard.
    expect(await m.provider.getBalance(icon.address)).to.equal(0n);
    expect(await m.provider.getTransactionCount(icon.address)).to.equal(0);

    // 4. Its status for its owner: pushed to its gateway each period, served by yard A at GET /icons to the owner's
    //    signed read grant — the policy version in force, then the next one once the owner published it (hot-swap).
    const ownerKey = new Wallet(m.keys[2]!);
    const served = async (): Promise<IconStatusAnswer["icons"]> => {
      const grant = {
        app: app.root,
        yard: a.operator,
        reader: ownerKey.address,
        expiry: BigInt(Math.floor(Date.now() / 1000) + 300),
      };
      const sig = await ownerKey.signTypedData(a.chain.domain(), STATUS_GRANT_TYPES, grant);
      const res = await fetch(`${a.httpUrl}/icons?${statusGrantQuery(grant, sig)}`);
      return ((await res.json()) as IconStatusAnswer).icons;
    };
    const first = await until("the ICON's status at its yard", async () => (await served())[0], 60_000);
    expect([first.leaseId, first.leaseAccount, first.report.policyVersion]).to.deep.equal([
      opened.leaseId.toString(),
      app.root.toString(),
      1,
    ]);
    expect(first.report.name).to.equal(state.seed.name);
    await owner.setPolicy(app.root, { ...TEST_POLICY, weightBps: 3000 });
    await until("the ICON to report policy v2", async () => (await served())[0]?.report.policyVersion === 2, 60_000);
  });
});
