/**
 * The money chart: what the owner put into an application against what its leases have cost, over time — a
 * Vega-Lite spec compiled in the page and drawn as SVG by Vega. Loaded on demand (its own chunk: Vega is most of
 * the page's weight and the first view does not need it). Vega's expressions are run by vega-interpreter from
 * their parsed form (`ast: true`): Vega's default code generation would need `new Function`, which the page's
 * Content-Security-Policy forbids.
 */
import { parse, View } from "vega";
import { expressionInterpreter } from "vega-interpreter";
import { compile, type TopLevelSpec } from "vega-lite";
import { formatUnits } from "ethers";
import type { TokenInfo } from "../../protocol/units.ts";
import type { MoneyPoint } from "./chain.ts";

/** The Vega-Lite spec of the chart (amounts as numbers of tokens: only drawn, never counted with). */
export function moneySpec(points: MoneyPoint[], token: TokenInfo): TopLevelSpec {
  const tokens = (v: bigint): number => Number(formatUnits(v, token.decimals));
  const values = points.flatMap((p) => [
    { time: Number(p.t) * 1000, series: "put in (net)", amount: tokens(p.deposited) },
    { time: Number(p.t) * 1000, series: "spent on leases", amount: tokens(p.spent) },
  ]);
  return {
    description: `What the owner put into the application against what its leases have cost, in ${token.symbol}, over time (UTC).`,
    width: 640,
    height: 200,
    autosize: { type: "fit", contains: "padding" },
    data: { values },
    mark: { type: "line", interpolate: "step-after", strokeWidth: 2 },
    encoding: {
      x: {
        field: "time",
        type: "temporal",
        scale: { type: "utc" },
        title: "time (UTC)",
        axis: { format: "%H:%M:%S", labelOverlap: true },
      },
      y: { field: "amount", type: "quantitative", title: `amount (${token.symbol})`, axis: { labelOverlap: true } },
      color: {
        field: "series",
        type: "nominal",
        title: null,
        scale: { domain: ["put in (net)", "spent on leases"], range: ["#0b5cad", "#c2410c"] },
        legend: { orient: "top" },
      },
    },
    config: {
      font: "system-ui, sans-serif",
      axis: { labelFontSize: 11, titleFontSize: 12 },
      legend: { labelFontSize: 12 },
    },
  };
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
