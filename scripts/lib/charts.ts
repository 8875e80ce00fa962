/**
 * The demo's charts: the Vega-Lite specs and the headless SVG renderer live in protocol/charts.ts, browser-safe, so
 * that the owner console (console/src/chart.ts) draws from the same spec code as `demo-out/plot.svg`.
 */
export * from "../../protocol/charts.ts";
