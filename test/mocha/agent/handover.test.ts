/**
 * Sidecar placement (issue 16): `icon app deploy` places the origin from the owner's machine, hands it into its
 * lease's agent sidecar and exits; the owner's copy refuses to act; a hand-over the yard refuses leaves the local
 * agent acting and the money where it was. Two real yards in this process (real Docker, real chain, libp2p on
 * loopback), the CLI as processes. The sidecar's agent cannot reach the chain from inside its container until the
 * yard's gateway exists: these tests check the hand-over itself (the container, its image and role, what the yard
 * holds), not what the agent does in there later.
 */
import { expect } from "chai";
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import type Docker from "dockerode";
import { handedOver } from "../../../icon-agent/state.ts";
import { appStatus } from "../../../icon-agent/app.ts";
import type { MarketClient } from "../../../protocol/index.ts";
import { USD, clientFor } from "../../../scripts/lib/testbed.ts";
import { ICON_CLI, alive, deployWebApp } from "../../helpers/app.ts";
import { WEB_IMAGE, waitFor } from "../../helpers/docker.ts";
import { useTwoYards } from "../../helpers/yard.ts";
import type { Yard } from "../../../yard-node/yard.ts";

describe("ICON hand-over into its lease's sidecar (icon app deploy, sidecar placement)", function () {
  this.timeout(240_000);
  const two = useTwoYards("handover", { overrides: { overlay: { semanticDns: false } } });
  let digest: string;
  let owner: MarketClient;
  let docker: Docker;
  let yards: Yard[];

  before(async () => {
    const { m, a, b } = two.get();
    yards = [a, b];
    digest = await two.imageId(WEB_IMAGE);
    owner = await clientFor(m, 10, USD(100));
    docker = two.get().engine.docker;
  });

  /** The containers of lease `id` on the engine, by their role label. */
  const containersOf = async (id: bigint) => {
    const all = await docker.listContainers({ all: true, filters: { label: [`icon.lease=${id}`] } });
    return all.map((c) => ({ id: c.Id, role: c.Labels["icon.role"] ?? "service", image: c.Image, state: c.State }));
  };

  it("deploys, hands the origin into its lease's sidecar and exits; the owner's copy refuses to act", async () => {
    const { m } = two.get();
    const dep = await deployWebApp(m, {
      digest,
      cpuMillis: 250,
      initialRegion: yards[0]!.config.listing!.region,
      waitS: 90,
      tmpPrefix: "icon-handover-",
      sidecar: {},
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
    const agentImage = await two.imageId("icon/agent:1");
    expect((await docker.getContainer(agent!.id).inspect()).Image).to.equal(`sha256:${agentImage.slice(2)}`);
    const holder = yards.find((y) => y.db.lease(lease)?.spec?.agent)!;
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
    await owner.terminate(lease).catch(() => {});
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
      sidecar: { imageDigest: "0x" + "ab".repeat(32) },
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
});
