/**
 * Renewal inside a sidecar keeps the sidecar (issue 16 item 2; icon-agent/moves.ts renewIfDue with `inSidecar`): a
 * real agent in this checkout's icon/agent image, in its lease's sidecar at a real yard with the real agent gateway,
 * on a real chain, with a short slot. Within `renewBeforeS` of its lease's end it buys the next slot at its yard,
 * and the renewal's Deploy carries its sealed state (handover.ts sealedAgentPart): the yard carries the sidecar
 * over — the same container, never restarted, its agent endpoint's port and its gateway forwards now the renewal's —
 * and after the first lease's end the same agent keeps acting: it renews a second time. Killed then, the sidecar is
 * restarted by its yard from the secret the last renewal's Deploy brought, and runs the ICON again. Its key holds
 * 0 ETH and sends no transaction throughout (the renewals are openings the yard sends; the rest is relayed).
 */
import { expect } from "chai";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Wallet } from "ethers";
import { agentEnvFrom, deployApp, readAgentState } from "../../../icon-agent/index.ts";
import { AGENT_INGRESS_KEY } from "../../../yard-node/agent-gateway.ts";
import type { Yard } from "../../../yard-node/yard.ts";
import { buildAgentImage, docker, placeInSidecar, sidecarOutput } from "../../helpers/agent-image.ts";
import { WEB_IMAGE } from "../../helpers/docker.ts";
import { FAST_LEASE, useTwoYards } from "../../helpers/yard.ts";
import { TEST_POLICY, Tenant, USD, clientFor, type TestMarket } from "../../../scripts/lib/testbed.ts";

/** This checkout's agent, under the suite's own tag (test/helpers/agent-image.ts). */
const AGENT_IMAGE = `icon/agent:renew-test-${process.pid}`;
/** A slot short enough for two renewals within the test, and when the agent renews ahead of its end. */
const SLOT_S = 60;
const RENEW_BEFORE_S = 40;

describe("ICON agent in its sidecar renews at its yard and keeps its sidecar", function () {
  this.timeout(300_000);
  let tenant: Tenant | undefined;
  const two = useTwoYards("scr", { overrides: { lease: FAST_LEASE } });
  let m: TestMarket;
  let a: Yard;
  let web: string;
  let agentImage: string;

  before(async () => {
    ({ m, a } = two.get());
    web = await two.imageId(WEB_IMAGE);
    await buildAgentImage(AGENT_IMAGE);
    agentImage = await two.imageId(AGENT_IMAGE);
  });
  after(async () => {
    await tenant?.stop();
    await docker(["rmi", "-f", AGENT_IMAGE]).catch(() => {});
  });

  it("renews with its sealed state in the renewal's Deploy: the same sidecar runs on, its forwards move, and it renews again after the first lease ended", async () => {
    const addrA = a.node.getMultiaddrs()[0]!.toString();
    const owner = await clientFor(m, 2, USD(100));
    const service = { cpuMillis: 250, memoryMiB: 128, slotSeconds: SLOT_S };
    const sidecar = { image: AGENT_IMAGE, cpuMillis: 250, memoryMiB: 256 };
    // Sidecar placement: every Deploy of the ICON, its renewals' too, names this agent part.
    const env = agentEnvFrom(
      {
        service: { image: WEB_IMAGE, imageDigest: web, ports: [8080], httpPorts: [8080], ...service },
        discovery: { seeds: [addrA] },
        agent: { periodMs: 1000, reportEveryMs: 1000, renewBeforeS: RENEW_BEFORE_S, warmupS: 3600 },
        sidecar,
      },
      m.chain.url,
      m.deployment,
      { local: false, agentImageDigest: agentImage },
    );
    const dir = path.join(await mkdtemp(path.join(tmpdir(), "icon-sidecar-renew-")), "origin");
    const app = await deployApp({ owner, env, policy: TEST_POLICY, deposit: USD(5), dir });
    const icon = new Wallet((await readAgentState(dir)).key, m.provider);
    tenant = await Tenant.forIcon(owner, icon, app.root);
    const first = await placeInSidecar({
      tenant,
      dir,
      yard: a,
      // The lease holds the service's share and the agent's, as the agent's own RFQs ask.
      rfq: { cpuMillis: 500, memoryMiB: 384, slotSeconds: SLOT_S },
      webDigest: web,
    });
    const L0 = first.leaseId;
    const engine = two.get().engine;
    let current = L0;
    const out = sidecarOutput(
      () => a,
      () => current,
    );
    await out.until("the agent to run in its sidecar", async () => /running; peer/.test(await out.read()), 60_000);
    const container = a.db.lease(L0)!.agentContainerId!;
    const startedAt = (await engine.docker.getContainer(container).inspect()).State.StartedAt;
    const agentPort = a.db.lease(L0)!.ingress[AGENT_INGRESS_KEY]!;
    // The agent reached its yard through the gateway (the period's telemetry and the relay): forwards are open.
    await out.until("a forward of the sidecar to be open", async () => a.gateway.forwardPorts(L0).length > 0, 60_000);
    const forwards = a.gateway.forwardPorts(L0);

    // 1. The first renewal: a lease of the account at the same yard whose slot follows L0's.
    const renewed = (after: bigint) =>
      out.until(
        `a renewal of lease ${after}`,
        async () => {
          const ids = await owner.leasesOf(app.root);
          for (const id of ids) {
            if (id <= after) continue;
            const l = await owner.lease(id);
            if (l.provider === (await owner.lease(after)).provider) return id;
          }
          return undefined;
        },
        (SLOT_S + 30) * 1000,
      );
    const L1 = await renewed(L0);
    await out.until(
      "the agent to say it renewed",
      async () => new RegExp(`lease ${L1} renews ${L0} at `).test(await out.read()),
      30_000,
    );
    const row1 = a.db.lease(L1)!;
    // Its Deploy carried the agent part (the yard keeps a sidecar only for a renewal running the same agent): the
    // sidecar is the renewal's now — the same container, still running, never restarted.
    expect(row1.spec?.agent?.imageRef, "the renewal's Deploy names the agent").to.equal(AGENT_IMAGE);
    expect(row1.agentContainerId, "the sidecar was carried over to the renewal").to.equal(container);
    expect(a.db.lease(L0)!.agentContainerId).to.equal(undefined);
    const s1 = (await engine.docker.getContainer(container).inspect()).State;
    expect(s1.Running).to.equal(true);
    expect(s1.StartedAt, "not restarted").to.equal(startedAt);
    expect(row1.ingress[AGENT_INGRESS_KEY], "the agent endpoint keeps its port").to.equal(agentPort);
    // The gateway's forwards went with it.
    expect(a.gateway.forwardPorts(L0)).to.deep.equal([]);
    for (const p of forwards) expect(a.gateway.forwardPorts(L1)).to.include(p);
    current = L1;

    // 2. After L0's end the same agent still acts: it takes the renewal over and renews it in turn. Not before: at
    //    L0's end (chain time) no renewal of L1 exists yet.
    const end0 = (await owner.lease(L0)).end;
    await out.until(
      "the chain's time to pass lease L0's end",
      async () => BigInt((await m.provider.getBlock("latest"))!.timestamp) > end0,
      (SLOT_S + 30) * 1000,
    );
    expect(
      (await owner.leasesOf(app.root)).filter((id) => id > L1),
      "no second renewal before L0 ended",
    ).to.deep.equal([]);
    const L2 = await renewed(L1);
    expect((await owner.lease(L2)).start, "the second renewal's slot follows the first's").to.be.greaterThanOrEqual(
      (await owner.lease(L1)).end,
    );
    await out.until(
      "the agent to say it renewed",
      async () => new RegExp(`lease ${L2} renews ${L1} at `).test(await out.read()),
      30_000,
    );
    expect(a.db.lease(L2)!.agentContainerId, "and carried over again").to.equal(container);
    const s2 = (await engine.docker.getContainer(container).inspect()).State;
    expect(s2.Running).to.equal(true);
    expect(s2.StartedAt, "one run of the agent throughout").to.equal(startedAt);
    expect(await out.read()).to.not.match(/error: renewing/);

    // 3. What the yard holds for the sidecar now came with the last renewal's Deploy (the earlier secrets were wiped
    //    as each renewal took the sidecar over): killed, the sidecar is restarted from it and runs this ICON again.
    const started = new RegExp(`ICON origin \\(account ${app.root}\\) running; peer`, "g");
    const runs = (await out.read()).match(started)?.length ?? 0;
    expect(runs, "one start so far").to.equal(1);
    await engine.docker.getContainer(container).kill();
    await out.until(
      "the yard to restart the sidecar from the renewal's sealed state",
      async () => ((await out.read()).match(started)?.length ?? 0) > runs,
      60_000,
    );
    expect(a.db.lease(L2)!.agentContainerId).to.equal(container);
    expect(await out.read()).to.not.match(/BAD_SEALED_STATE|holds no ICON/);

    // Its key held no ETH and sent nothing.
    expect(await m.provider.getBalance(icon.address)).to.equal(0n);
    expect(await m.provider.getTransactionCount(icon.address)).to.equal(0);
    for (const id of await owner.leasesOf(app.root)) await owner.terminate(id).catch(() => {});
  });
});
