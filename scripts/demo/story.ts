/**
 * The demo's story (scripts/demo.ts), from the owner's `icon app deploy` to what the owner finds on return: load
 * from subnet A and the replication, the clients' move to B and the replica's migration, its foundering up to the
 * owner, the edge yard killed and the recovery, the load's end and the idle replica's termination; then the failed
 * requests per phase, the funding requests left pending and `icon app status`.
 */
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { toTokens } from "../../protocol/index.ts";
import {
  appStatus,
  formatStatus,
  fundingRequests,
  handedOver,
  stillOpen,
  type FundingRequest,
} from "../../icon-agent/index.ts";
import { runIcon } from "../lib/testbed.ts";
import { startClients, type ClientLoad, type LoadFailure } from "../lib/loadgen.ts";
import type { GodView } from "./narration.ts";
import type { World } from "./setup.ts";
import {
  OWNER_AWAY_MIN_S,
  OWNER_KEY,
  REQUEST_TIMEOUT_MS,
  T,
  removeYardContainers,
  say,
  sleep,
  waitFor,
  type YardName,
} from "./world.ts";

/** The application as the owner left it. */
export interface Deployed {
  deposit: bigint;
  /** When the owner went offline (epoch ms). */
  offlineAt: number;
  /** The service's entry point, host:port. */
  entry: string;
  /** The budget spent over time, for the plot: [s since the start, tokens]. */
  budget: Array<[number, number]>;
}

/** What the story measured. */
export interface Told {
  near: ClientLoad;
  moving: ClientLoad;
  /** The plot's marks: [s since the start, what happened]. */
  marks: Array<[number, string]>;
  latA: { before: number; after: number };
  latB: { before: number; after: number };
  /** The yard killed mid-story. */
  hosting: YardName;
  recoveryS: number;
  recoveredFromYardLoss: boolean;
  agentsInContainers: number;
  failedRequests: Record<string, number>;
  failedOutsideLoss: number;
  /** The application's funding requests on chain, and those still pending. */
  requests: FundingRequest[];
  pending: FundingRequest[];
}

/** The owner deploys the application (`icon app deploy`) and goes offline once it is handed over. */
export async function deploy(w: World, god: GodView): Promise<Deployed> {
  const { m } = w;
  const { reader, app } = god;
  await m.admin.mint(god.ownerAddress, m.admin.parse("50"));
  const dir = await mkdtemp(path.join(tmpdir(), "icon-demo-"));
  const appFile = path.join(dir, "app.json");
  const state = path.join(dir, "origin");
  await writeFile(
    appFile,
    JSON.stringify({
      service: {
        image: "icon/web:1",
        imageDigest: "0x" + w.imageId.slice("sha256:".length),
        ports: [8080],
        httpPorts: [8080],
        // deployApp fills in the app's namespace label r<root> (demo.r<root>.web.prod).
        name: "demo.web.prod",
        cpuMillis: 250,
        memoryMiB: 64,
        slotSeconds: 600,
      },
      discovery: { domains: ["icon.test"], dnsServers: [w.dns.server], learnDomains: true },
      initialRegion: "cloud",
      agent: {
        periodMs: 1000,
        halfLifeS: 1.5,
        coolDownS: 6,
        confirmations: 3,
        warmupS: 4,
        graceS: 60,
        // The next slot is bought a minute into each 10-minute slot, so renewals fall inside the owner's absence.
        renewBeforeS: 540,
        reportEveryMs: 1000,
        idleRate: 0.3,
        minKeepShare: 0.5,
        refLatencyMs: 100,
      },
      // The agent's share of every lease: the defaults (100 mCPU, 160 MiB), on top of the service's.
      sidecar: { image: w.agentImage },
    }),
  );
  // A budget sized to the unit for the story (slots of 600 s: 0.0552 iUSD at the cloud, 0.1104 iUSD at an edge,
  // service and agent): the origin's first slot and its next, and a replica's two slots (the least a replica is
  // given), 0.0008 iUSD to spare. What is paid covers the story; the renewals a minute into each lease do not: the
  // replication's two relayed intents (0.001 iUSD each) come out of what the origin kept for its next slot, and the
  // replica's move costs it what its old lease ran and the fee for ending it. Neither renewal is bought while the
  // owner is away (each lease still runs for minutes), so no lease changes under the clients.
  const deposit = m.admin.parse("0.332");
  say(
    "owner",
    "icon app deploy --deposit 0.332 --weight 0.7 --migrate-threshold 0.3 --replicate-threshold 0.5 --terminate-threshold 0.2 --max-price 0.002 (ICON keys hold no ETH: yards relay their calls for at most 0.005 iUSD each, 1 iUSD a day for the whole tree)",
  );
  const deployOut = await runIcon(
    m,
    [
      "app",
      "deploy",
      ...["--config", appFile, "--state", state, "--deposit", "0.332", "--wait", "120"],
      ...["--weight", "0.7", "--migrate-threshold", "0.3", "--replicate-threshold", "0.5"],
      ...["--terminate-threshold", "0.2", "--max-price", "0.002"],
      ...["--max-relay-fee", "0.005", "--relay-allowance-per-day", "1"],
    ],
    m.keys[OWNER_KEY]!,
  );
  for (const line of deployOut.split("\n").filter(Boolean)) say("owner", `│ ${line}`);
  const mark = await handedOver(state);
  if (!mark) throw new Error(`icon app deploy exited but ${state} is not marked handed over`);
  const offlineAt = mark.atMs;
  app.root = BigInt(/application (\d+) created/.exec(deployOut)![1]!);
  const entry = mark.endpoint;
  say(
    "owner",
    `goes offline: the origin runs in the sidecar of lease ${mark.leaseId} at ${mark.yard}; service entry point http://${entry}; the owner's processes have ended`,
  );

  // Budget over time (for the plot), read from the chain.
  const budget: Array<[number, number]> = [];
  const sampler = setInterval(() => {
    void appStatus(reader, app.root)
      .then((s) => budget.push([T(), toTokens(s.spent, reader.tokenInfo)]))
      .catch(() => {});
  }, 2000);
  w.cleanup.push(async () => clearInterval(sampler));
  return { deposit, offlineAt, entry, budget };
}

/** The story while the owner is away, up to what the owner finds on return. */
export async function tell(w: World, god: GodView, d: Deployed, o: { short: boolean }): Promise<Told> {
  const { bed, clientNet, yards, yardIds } = w;
  const { counts, chain, sidecars, reader, app } = god;
  const { entry, offlineAt } = d;
  // Each phase lasts long enough that its second half (where latency is measured) follows the move's settling.
  const phase = o.short ? 12_000 : 15_000;
  const near = await startClients({
    network: clientNet,
    subnet: "C",
    entry,
    clients: 1,
    intervalMs: 300,
    timeoutMs: REQUEST_TIMEOUT_MS,
  });
  const moving = await startClients({
    network: clientNet,
    subnet: "A",
    entry,
    clients: 6,
    intervalMs: 50,
    timeoutMs: REQUEST_TIMEOUT_MS,
  });
  w.cleanup.push(() => Promise.all([near.stop(), moving.stop()]));
  const tA = Date.now();
  const marks: Array<[number, string]> = [[T(), "load from A"]];
  const phases: Array<[string, number]> = [["A", tA]];
  say("clients", `6 clients in subnet A and 1 in C start sending requests to http://${entry}`);
  /**
   * Waits for `what` (the ICON's move towards the moving clients), marks it on the plot and lets a phase pass: the
   * moving clients' p50 from `since` to the move, and over the phase's second half.
   */
  const settle = async (
    what: string,
    done: () => boolean,
    mark: string,
    since: number,
  ): Promise<{ before: number; after: number }> => {
    await waitFor(what, done, 120_000);
    const tMove = Date.now();
    marks.push([T(), mark]);
    await sleep(phase);
    return { before: moving.p50(since, tMove), after: moving.p50(Date.now() - phase / 2, Date.now()) };
  };

  const latA = await settle("a replication", () => counts.replications > 0, "replica at edge-a", tA);
  say("clients", `subnet A p50: ${latA.before.toFixed(1)} ms before the replica, ${latA.after.toFixed(1)} ms after`);

  moving.setSubnet("B");
  const tB = Date.now();
  phases.push(["B", tB]);
  marks.push([T(), "clients move to B"]);
  say("clients", "the 6 clients move to subnet B (they keep using the instance they were sent to)");
  const latB = await settle("a migration", () => counts.migrations > 0, "replica moves to edge-b", tB);
  say("clients", `subnet B p50: ${latB.before.toFixed(1)} ms before the move, ${latB.after.toFixed(1)} ms after`);
  // The replica at edge-b renews a minute into its lease: the move cost it what its old lease ran and the relay fee
  // for ending it, so its balance falls short of the next slot and it founders up the tree to the owner.
  if (counts.replicaFounderings === 0) {
    say("demo", "the load in B goes on until the replica's renewal is due (a minute into its lease)");
    await waitFor("the replica's funding request", () => counts.replicaFounderings > 0, 150_000);
    await chain.refresh();
  }

  // Mid-story: the edge yard that hosts the replica now dies — its process and its containers. Nothing of it
  // restarts; its listing stays in the registry (a dead yard does not unlist itself).
  await sidecars.refresh();
  const hosting = (await sidecars.running()).map((c) => yardIds[c.yardId]!).find((n) => n !== "cloud");
  if (!hosting) throw new Error("no edge yard runs an agent sidecar: nothing to kill");
  const killedId = Object.keys(yardIds).find((id) => yardIds[id] === hosting)!;
  const lostAgents = (await sidecars.running()).filter((c) => c.yardId === killedId).map((c) => c.id);
  const tKill = Date.now();
  yards[hosting]!.child.kill("SIGKILL");
  await yards[hosting]!.exited;
  await removeYardContainers(killedId);
  phases.push(["yardLoss", tKill]);
  marks.push([T(), `${hosting} killed`]);
  say(
    "demo",
    `KILLED yard ${hosting} (SIGKILL; its ${lostAgents.length} agent sidecar(s) and every container removed)`,
  );
  await waitFor("the lost replica to be placed again", () => god.replacedAt, 120_000);
  const replacedAt = god.replacedAt!;
  // Recovered when every moving client was served again by a request started after the re-placement.
  const tRecovered = await waitFor(
    "every client to be served again",
    () => {
      const firsts = Array.from({ length: 6 }, (_, i) =>
        moving.samples().find((s) => s.client === i && s.atMs >= replacedAt),
      );
      return firsts.every((s) => s !== undefined) ? Math.max(...firsts.map((s) => s!.atMs)) : undefined;
    },
    60_000,
  );
  phases.push(["afterRecovery", tRecovered]);
  marks.push([T(tRecovered), "recovered"]);
  const recoveryS = (tRecovered - tKill) / 1000;
  say(
    "demo",
    `recovered ${recoveryS.toFixed(1)} s after the kill (re-placed after ${((replacedAt - tKill) / 1000).toFixed(1)} s; every client served again since)`,
  );
  await sleep(phase);
  const servedAfterRecovery = moving.count(tRecovered, Date.now());

  // The load ends, subnet C's client too: the replica's budget flowing back up lets the origin buy its next slot,
  // and a renewal's Deploy takes the lease's containers over at once, cutting the connections open to its endpoint
  // (yard-node/leases.ts carryOver), which no client of the story should meet.
  await Promise.all([moving.stop(), near.stop()]);
  const tEnd = Date.now();
  phases.push(["idle", tEnd]);
  marks.push([T(), "the load ends"]);
  say("clients", "the clients in B and C stop");
  await waitFor("the idle replica to terminate", () => counts.terminations > 0, 120_000);
  marks.push([T(), "replica terminated"]);

  // The owner stays away at least a minute; the story usually takes longer.
  const awayS = (Date.now() - offlineAt) / 1000;
  if (awayS < OWNER_AWAY_MIN_S) {
    say("owner", `still away (${awayS.toFixed(0)} s so far)`);
    await sleep((OWNER_AWAY_MIN_S - awayS) * 1000 + 500);
  }
  await sidecars.refresh();
  await chain.refresh();
  const agentsInContainers = sidecars.containers().length;
  say(
    "demo",
    `${agentsInContainers} ICON instances ran as agent sidecars: ${sidecars
      .containers()
      .map((c) => `lease ${c.leaseId} at ${yardIds[c.yardId]}`)
      .join(", ")}`,
  );
  const failures = [...moving.failures(), ...near.failures()];
  const killedHost = `${bed.address(hosting)}:`;
  const phaseOf = (f: LoadFailure): string =>
    // A request under way to the killed yard when it died (started up to one request timeout before) failed with it.
    f.atMs >= tKill - REQUEST_TIMEOUT_MS && f.atMs < tRecovered && f.target.startsWith(killedHost)
      ? "yardLoss"
      : ([...phases].reverse().find(([, at]) => f.atMs >= at)?.[0] ?? "A");
  const failedRequests: Record<string, number> = Object.fromEntries(phases.map(([p]) => [p, 0]));
  for (const f of failures) {
    const p = phaseOf(f);
    failedRequests[p] = (failedRequests[p] ?? 0) + 1;
  }
  failedRequests.total = failures.length;
  const why = new Map<string, number>();
  for (const f of failures) {
    const k = `${phaseOf(f)}: ${f.reason} at ${f.target}`;
    why.set(k, (why.get(k) ?? 0) + 1);
  }
  for (const [k, n] of why) say("clients", `failed ${n}× in phase ${k}`);
  const failedOutsideLoss = failures.length - failedRequests.yardLoss!;
  const recoveredFromYardLoss =
    counts.replacements > 0 &&
    sidecars.containers().some((c) => c.seenAtMs >= tKill && c.yardId !== killedId) &&
    servedAfterRecovery > 0 &&
    failedRequests.afterRecovery === 0;
  // What the owner finds on return: the requests on chain, each pending until money reached its account in full.
  const requests = await fundingRequests(reader, app.root);
  const pending = requests.filter(stillOpen);
  say(
    "books",
    `${requests.length} funding request(s) on chain (${requests.map((r) => `account ${r.account} for ${reader.format(r.amount)}`).join(", ") || "none"}); no standing top-up rule exists in the market (the owner answers FundingRequested by hand), so ${pending.length} of them ${pending.length === 1 ? "was" : "were"} left pending while the owner was away`,
  );

  // What the owner sees on return (`icon app status`): the tree, the leases, the money.
  for (const line of formatStatus(reader, await appStatus(reader, app.root))) say("status", line);
  return {
    near,
    moving,
    marks,
    latA,
    latB,
    hosting,
    recoveryS,
    recoveredFromYardLoss,
    agentsInContainers,
    failedRequests,
    failedOutsideLoss,
    requests,
    pending,
  };
}
