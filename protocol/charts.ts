/**
 * The project's charts: Vega-Lite specs built by plain functions (JSON in, JSON out — the owner console uses the
 * same functions in the browser, console/src/chart.ts, drawn there by Vega under its CSP), rendered to SVG in Node
 * without a browser by `renderSvg` (vega's View with renderer "none" and its `toSVG()`). Browser-safe: no node:
 * import (scripts/lib/charts.ts re-exports it for the demo).
 *
 * What every chart here guarantees: nice ticks (Vega-Lite's `nice` scales and d3-format tick labels, so 74.5 or
 * 0.00306 never appear as ticks), axis titles with their units, tick labels that drop rather than overlap
 * (`labelOverlap`), and phase labels set in lanes so that no two overlap (`phaseLanes`).
 *
 * @example
 *   const svg = await renderSvg(timeChartSpec({ title: "demo", panels: [{ label: "p50 latency", unit: "ms",
 *     series: [{ name: "A", points: [[0, 240], [5, 20]] }] }], marks: [[3, "shift"]] }));
 */
import type { TopLevelSpec } from "vega-lite";

export type { TopLevelSpec };

export interface Series {
  name: string;
  /** [x, y] in increasing x. */
  points: Array<[number, number]>;
}

export interface Panel {
  /** What the y axis shows, and its unit ("ms", "iUSD", "messages per period"). */
  label: string;
  unit: string;
  series: Series[];
  /** d3-format of the y tick labels (default: Vega-Lite's, from the tick step). */
  format?: string;
  scale?: "linear" | "log";
  /** How points join (default "linear"; "step-after" for amounts that change at events, such as money). */
  interpolate?: "linear" | "step-after";
}

export interface TimeChartOptions {
  title: string;
  panels: Panel[];
  /** Vertical markers: [x, text] (phases of a run). */
  marks?: Array<[number, string]>;
  /** The x axis's title and unit (default "time", "s"). */
  xLabel?: string;
  xUnit?: string;
  width?: number;
  panelHeight?: number;
}

const FONT_PX = 11;
/** Estimated width of one character of an 11 px sans-serif label (px); generous, so the lanes hold. */
const CHAR_PX = 6.6;
const LANE_PX = 14;

/**
 * The lane (0, 1, …) of each marker's label so that no two labels overlap: a label starts 3 px right of its x and is
 * `text.length × CHAR_PX` wide; each goes to the first lane whose last label ended 6 px before it starts.
 */
export function phaseLanes(marks: ReadonlyArray<[number, string]>, x0: number, x1: number, widthPx: number): number[] {
  const px = (x: number): number => ((x - x0) / (x1 - x0 || 1)) * widthPx;
  const ends: number[] = [];
  const lanes = new Array<number>(marks.length).fill(0);
  [...marks.keys()]
    .sort((a, b) => marks[a]![0] - marks[b]![0])
    .forEach((k) => {
      const start = px(marks[k]![0]) + 3;
      const end = start + marks[k]![1].length * CHAR_PX;
      let lane = ends.findIndex((e) => e + 6 <= start);
      if (lane < 0) lane = ends.length;
      ends[lane] = end;
      lanes[k] = lane;
    });
  return lanes;
}

const title = (label: string, unit: string): string => (unit ? `${label} (${unit})` : label);

const AXIS = {
  labelOverlap: true,
  labelFontSize: FONT_PX,
  titleFontSize: FONT_PX + 1,
  tickCount: 6,
  grid: true,
} as const;

/** Panels over a shared x axis (time by default), one y scale each, with phase markers labelled in lanes. */
export function timeChartSpec(o: TimeChartOptions): TopLevelSpec {
  const width = o.width ?? 640;
  const height = o.panelHeight ?? 200;
  const xs = o.panels.flatMap((p) => p.series.flatMap((s) => s.points.map(([x]) => x)));
  const marks = o.marks ?? [];
  const x0 = Math.min(0, ...xs);
  const x1 = Math.max(1, ...xs, ...marks.map(([x]) => x));
  const lanes = phaseLanes(marks, x0, x1, width);
  const x = {
    field: "x",
    type: "quantitative" as const,
    title: title(o.xLabel ?? "time", o.xUnit ?? "s"),
    scale: { domain: [x0, x1], nice: false, zero: false },
    axis: AXIS,
  };
  // Labels above the first panel, lane 0 nearest to it (negative pixels: outside the plot, under the title).
  const markData = marks.map(([mx, text], k) => ({ x: mx, text, py: -4 - lanes[k]! * LANE_PX }));
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: { text: o.title, fontSize: 14, offset: 6 },
    background: "white",
    config: { font: "sans-serif", legend: { labelFontSize: FONT_PX, labelLimit: 260 } },
    resolve: { scale: { color: "independent" } },
    vconcat: o.panels.map((p, i) => {
      const layers: object[] = [
        {
          data: {
            values: p.series.flatMap((s) =>
              s.points.filter(([, y]) => Number.isFinite(y)).map(([px, py]) => ({ x: px, y: py, series: s.name })),
            ),
          },
          mark: { type: "line", strokeWidth: 1.8, interpolate: p.interpolate ?? "linear" },
          encoding: {
            x,
            y: {
              field: "y",
              type: "quantitative",
              title: title(p.label, p.unit),
              scale: { type: p.scale ?? "linear", nice: true, ...(p.scale === "log" ? {} : { zero: true }) },
              axis: { ...AXIS, ...(p.format ? { format: p.format } : {}) },
            },
            color: { field: "series", type: "nominal", title: null, legend: { orient: "right" } },
          },
        },
      ];
      if (marks.length > 0) {
        layers.push({
          data: { values: markData },
          mark: { type: "rule", strokeDash: [4, 3], color: "#999" },
          encoding: { x: { field: "x", type: "quantitative" } },
        });
        if (i === 0)
          layers.push({
            data: { values: markData },
            mark: { type: "text", align: "left", dx: 3, fontSize: FONT_PX, color: "#444", baseline: "bottom" },
            encoding: {
              x: { field: "x", type: "quantitative" },
              y: { field: "py", type: "quantitative", scale: null },
              text: { field: "text" },
            },
          });
      }
      return { width, height, layer: layers };
    }),
  } as TopLevelSpec;
}

export interface XYChartOptions {
  title: string;
  x: { label: string; unit: string; scale?: "linear" | "log"; format?: string };
  y: { label: string; unit: string; scale?: "linear" | "log"; format?: string };
  series: Series[];
  /** Draw points as well as lines (few x values). */
  points?: boolean;
  width?: number;
  height?: number;
}

/** Lines of series over a numeric x (Fig. 4, Fig. 5, cost over time). */
export function xyChartSpec(o: XYChartOptions): TopLevelSpec {
  const axis = (a: XYChartOptions["x"]) => ({ ...AXIS, ...(a.format ? { format: a.format } : {}) });
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: { text: o.title, fontSize: 14 },
    background: "white",
    config: { font: "sans-serif", legend: { labelFontSize: FONT_PX, labelLimit: 300 } },
    width: o.width ?? 640,
    height: o.height ?? 320,
    data: { values: o.series.flatMap((s) => s.points.map(([x, y]) => ({ x, y, series: s.name }))) },
    mark: { type: "line", point: o.points ?? false, strokeWidth: 1.8 },
    encoding: {
      x: {
        field: "x",
        type: "quantitative",
        title: title(o.x.label, o.x.unit),
        scale: { type: o.x.scale ?? "linear", nice: true },
        axis: axis(o.x),
      },
      y: {
        field: "y",
        type: "quantitative",
        title: title(o.y.label, o.y.unit),
        scale: { type: o.y.scale ?? "linear", nice: true, ...(o.y.scale === "log" ? {} : { zero: true }) },
        axis: axis(o.y),
      },
      color: { field: "series", type: "nominal", title: null, legend: { orient: "bottom", columns: 1 } },
    },
  } as TopLevelSpec;
}

export interface BarChartOptions {
  title: string;
  /** Category axis label, and the value's label and unit. */
  category: string;
  value: { label: string; unit: string; format?: string };
  /** [category, group, value] */
  bars: Array<[string, string, number]>;
  /** A reference line (a goal) on the value axis. */
  goal?: { value: number; label: string };
  width?: number;
  height?: number;
}

/** Grouped bars (moves per shift by scenario and design), with an optional goal line. */
export function barChartSpec(o: BarChartOptions): TopLevelSpec {
  const layers: object[] = [
    {
      mark: { type: "bar" },
      encoding: {
        x: { field: "category", type: "nominal", title: o.category, axis: { ...AXIS, labelAngle: 0, grid: false } },
        xOffset: { field: "group" },
        y: {
          field: "value",
          type: "quantitative",
          title: title(o.value.label, o.value.unit),
          scale: { nice: true },
          axis: { ...AXIS, ...(o.value.format ? { format: o.value.format } : {}) },
        },
        color: { field: "group", type: "nominal", title: null, legend: { orient: "bottom" } },
      },
    },
  ];
  // The goal: a dashed red line across the plot, named in a legend of its own below it (a label inside the plot would
  // cover the bars).
  if (o.goal)
    layers.push({
      data: { values: [{ g: o.goal.value }] },
      mark: { type: "rule", strokeDash: [6, 4], strokeWidth: 1.5 },
      encoding: {
        y: { field: "g", type: "quantitative" },
        stroke: {
          datum: o.goal.label,
          type: "nominal",
          scale: { range: ["#c00"] },
          legend: { orient: "bottom", title: null, symbolType: "stroke", symbolStrokeWidth: 1.5, symbolDash: [6, 4] },
        },
      },
    });
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: { text: o.title, fontSize: 14 },
    background: "white",
    // Legend names whole (no "caida-a…"), in as many columns as fit.
    config: { font: "sans-serif", legend: { labelFontSize: FONT_PX, labelLimit: 400, columns: 2 } },
    resolve: { scale: { color: "independent", stroke: "independent" } },
    width: o.width ?? 520,
    height: o.height ?? 280,
    data: { values: o.bars.map(([category, group, value]) => ({ category, group, value })) },
    layer: layers,
  } as TopLevelSpec;
}

/** Renders a Vega-Lite spec to SVG text, without a browser (vega's headless View). */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const [vega, vl] = await Promise.all([import("vega"), import("vega-lite")]);
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
