/**
 * The demo's report (scripts/demo.ts): the plot (latency per subnet and budget over time), the ICON keys' gas, the
 * ICONs' measured round trips against the testbed's, the one line `DEMO-SUMMARY {json}` and whether the story held.
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import type { ClientLoad } from "../lib/loadgen.ts";
import { renderSvg, timeChartSpec } from "../lib/charts.ts";
import type { GodView } from "./narration.ts";
import type { World } from "./setup.ts";
import type { Deployed, Told } from "./story.ts";
import type { WoundDown } from "./wind-down.ts";
import { CHOSEN, OWNER_AWAY_MIN_S, SUBNETS, T, median, round, say, t0, type SubnetName } from "./world.ts";

/** Writes the plot into `out`, prints the last lines and DEMO-SUMMARY; true when the story held. */
export async function report(
  w: World,
  god: GodView,
  d: Deployed,
  told: Told,
  wd: WoundDown,
  o: { out: string },
): Promise<boolean> {
  const { m, bed, rtt, zone: ZONE } = w;
  const { reader, chain, app, counts, rttSeen, pathFound, pathDomains, learned, funding } = god;
  const { moving, near, marks, latA, latB, requests, pending } = told;
  const { books, rest } = wd;
  const { deposit, budget } = d;
  const f = wd.format;

  // The plot.
  await mkdir(o.out, { recursive: true });
  const series = (h: ClientLoad, name: string) => ({
    name,
    points: h.series(1000).map((b) => [(b.tMs - t0) / 1000, b.p50] as [number, number]),
  });
  const plotFile = path.join(o.out, "plot.svg");
  await writeFile(
    plotFile,
    await renderSvg(
      timeChartSpec({
        title: "ICON demo (owner offline): client p50 latency per subnet and budget spent",
        panels: [
          {
            label: "client p50 latency",
            unit: "ms",
            series: [series(moving, "moving clients (A, then B)"), series(near, "subnet C")],
          },
          { label: "spent", unit: reader.tokenInfo.symbol, series: [{ name: "spent", points: budget }] },
        ],
        marks,
      }),
    ),
  );
  say("demo", `plot written to ${plotFile}`);

  // ICON keys hold no ETH for their whole life: never funded, never a transaction of their own (all relayed).
  await chain.refresh();
  let iconKeyGasWei = 0n;
  let iconKeyTransactions = 0;
  for (const k of app.iconKeys) {
    iconKeyGasWei += await m.provider.getBalance(k);
    iconKeyTransactions += await m.provider.getTransactionCount(k);
  }
  say(
    "books",
    `${app.iconKeys.size} ICON keys on chain: ${iconKeyGasWei} wei between them, ${iconKeyTransactions} transactions of their own; yards relayed their calls for ${f(books.relayFees)}`,
  );
  // The ICONs' own measured round trips against the testbed's configured ones: for each subnet, the median of what
  // the ICON serving it at its chosen site reported there.
  // The figure is l_ij's network term (the round trip); l_ij itself adds the service's own latency at the site.
  const latencyEstimates: Record<string, { estimateMs: number; configuredMs: number; samples: number; lijMs: number }> =
    {};
  const latencyEstimateErrorPct: Record<string, number> = {};
  for (const s of SUBNETS) {
    const seen = rttSeen.filter((r) => r.yard === CHOSEN[s] && r.subnet === bed.subnet(s));
    const configuredMs = rtt(s, CHOSEN[s]);
    const estimateMs = median(seen.map((r) => r.rttMs));
    const lijMs = median(seen.map((r) => r.lijMs));
    latencyEstimates[s] = { estimateMs: round(estimateMs), configuredMs, samples: seen.length, lijMs };
    latencyEstimateErrorPct[s] = round((100 * Math.abs(estimateMs - configuredMs)) / configuredMs);
    say(
      "wan",
      seen.length === 0
        ? `subnet ${s}: no ICON reported a measured round trip at ${CHOSEN[s]} (was it served elsewhere?); the testbed is configured for ${configuredMs} ms`
        : `subnet ${s} at ${CHOSEN[s]}: the ICON measured ${estimateMs.toFixed(1)} ms (median of ${seen.length}; l_ij with the service's own latency ${lijMs} ms), the testbed is configured for ${configuredMs} ms`,
    );
  }
  const summary = {
    oracle: false,
    pathDiscovered: pathFound.size,
    pathDiscoveredYards: [...pathFound].sort(),
    pathDomains: Object.fromEntries(
      SUBNETS.map((s) => [s, [...(pathDomains.get(bed.subnet(s)!) ?? [])].sort()]),
    ) as Record<SubnetName, string[]>,
    latencyEstimateErrorPct,
    latencyEstimates,
    replications: counts.replications,
    migrations: counts.migrations,
    learnedDomains: [...learned].sort(),
    terminations: counts.terminations,
    latencyBeforeMs: { A: round(latA.before), B: round(latB.before) },
    latencyAfterMs: { A: round(latA.after), B: round(latB.after) },
    requests: moving.count() + near.count(),
    failedRequests: told.failedRequests,
    agentsInContainers: told.agentsInContainers,
    ownerOfflineS: round(wd.ownerOfflineS),
    killedYard: told.hosting,
    recoveredFromYardLoss: told.recoveredFromYardLoss,
    recoveryS: round(told.recoveryS),
    replacements: counts.replacements,
    fundingRequests: requests.length,
    fundingAmounts: requests.map((r) => r.amount.toString()),
    fundingAnswered: requests.length - pending.length,
    fundingPending: pending.length,
    deposit: deposit.toString(),
    spent: books.spent.toString(),
    returnedToOwner: rest.toString(),
    budgetConserved: books.ok,
    iconKeys: app.iconKeys.size,
    iconKeyGasWei: iconKeyGasWei.toString(),
    iconKeyTransactions,
    relayFees: books.relayFees.toString(),
    plot: plotFile,
    durationS: round(T()),
  };
  console.log(`DEMO-SUMMARY ${JSON.stringify(summary)}`);
  return (
    summary.agentsInContainers >= 3 &&
    iconKeyGasWei === 0n &&
    iconKeyTransactions === 0 &&
    summary.ownerOfflineS >= OWNER_AWAY_MIN_S &&
    told.recoveredFromYardLoss &&
    told.failedOutsideLoss === 0 &&
    summary.budgetConserved &&
    requests.length >= 1 &&
    requests.length === funding.length &&
    pending.length === requests.length &&
    summary.replications >= 1 &&
    summary.migrations >= 1 &&
    summary.learnedDomains.includes(ZONE["edge-a"]) &&
    summary.learnedDomains.includes(ZONE["edge-b"]) &&
    summary.pathDiscovered >= 1 &&
    pathFound.has("edge-t") &&
    summary.pathDomains.C.includes(ZONE["edge-t"]) &&
    Object.values(latencyEstimateErrorPct).every((e) => e <= 15) &&
    latA.after < latA.before * 0.5 &&
    latB.after < latB.before * 0.5
  );
}
