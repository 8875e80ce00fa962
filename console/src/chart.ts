/**
 * The money chart: what the owner put into an application against what its leases have cost, over time — the
 * demo's Vega-Lite time chart (protocol/charts.ts: nice ticks, units on axes, labels that drop rather than overlap)
 * compiled in the page and drawn as SVG by Vega. Loaded on demand (its own chunk: Vega is most of
 * the page's weight and the first view does not need it). Vega's expressions are run by vega-interpreter from
 * their parsed form (`ast: true`): Vega's default code generation would need `new Function`, which the page's
 * Content-Security-Policy forbids.
 */
import { parse, View } from "vega";
import { expressionInterpreter } from "vega-interpreter";
import { compile } from "vega-lite";
import { formatUnits } from "ethers";
import { timeChartSpec, type TopLevelSpec } from "../../protocol/charts.ts";
import type { TokenInfo } from "../../protocol/units.ts";
import type { MoneyPoint } from "./chain.ts";

/**
 * The Vega-Lite spec of the chart: the demo's time chart (protocol/charts.ts, the spec code `demo-out/plot.svg` is
 * drawn from), one panel in the token, x in seconds since the application's first point (amounts as numbers of
 * tokens: only drawn, never counted with).
 */
export function moneySpec(points: MoneyPoint[], token: TokenInfo): TopLevelSpec {
  const tokens = (v: bigint): number => Number(formatUnits(v, token.decimals));
  const t0 = points[0]?.t ?? 0n;
  const series = (name: string, of: (p: MoneyPoint) => bigint) => ({
    name,
    points: points.map((p) => [Number(p.t - t0), tokens(of(p))] as [number, number]),
  });
  const start = t0 === 0n ? "" : ` from ${new Date(Number(t0) * 1000).toISOString().slice(11, 19)} UTC`;
  return timeChartSpec({
    title: `Put in against spent${start}`,
    panels: [
      {
        label: "amount",
        unit: token.symbol,
        interpolate: "step-after",
        series: [series("put in (net)", (p) => p.deposited), series("spent on leases", (p) => p.spent)],
      },
    ],
    xLabel: "time since the first point",
    xUnit: "s",
    panelHeight: 180,
  });
}

/** Draws the chart into `el` (replacing what it held); returns the view to finalize when the page re-renders. */
export async function renderMoneyChart(el: HTMLElement, points: MoneyPoint[], token: TokenInfo): Promise<View> {
  const vg = compile(moneySpec(points, token)).spec;
  const view = new View(parse(vg, undefined, { ast: true }), {
    expr: expressionInterpreter,
    renderer: "svg",
    container: el,
    hover: false,
  });
  await view.runAsync();
  return view;
}
