/**
 * A dependency-free SVG line chart: a few series over a shared time axis, each on its own panel (its own y
 * scale), with event markers. Enough to see latency per subnet and budget over a demo run in any browser.
 *
 * @example
 *   await writeFile("plot.svg", lineChart({ title: "demo", panels: [{ label: "p50 ms", series: [{ name: "A", points: [[0, 240], [5, 20]] }] }] }));
 */

export interface Series {
  name: string;
  /** [x seconds, y] in increasing x. */
  points: Array<[number, number]>;
}

export interface Panel {
  label: string;
  series: Series[];
}

export interface ChartOptions {
  title: string;
  panels: Panel[];
  /** Vertical markers: [x seconds, text]. */
  marks?: Array<[number, string]>;
  width?: number;
  panelHeight?: number;
}

const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"];
const esc = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

export function lineChart(o: ChartOptions): string {
  const W = o.width ?? 900;
  const H = o.panelHeight ?? 220;
  const L = 70;
  const R = 160;
  const T = 40;
  const gap = 30;
  const all = o.panels.flatMap((p) => p.series.flatMap((s) => s.points.map(([x]) => x)));
  const x0 = Math.min(0, ...all);
  const x1 = Math.max(1, ...all, ...(o.marks ?? []).map(([x]) => x));
  const sx = (x: number): number => L + ((x - x0) / (x1 - x0)) * (W - L - R);
  const height = T + o.panels.length * (H + gap) + 30;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">${esc(o.title)}</text>`,
  ];
  o.panels.forEach((p, i) => {
    const top = T + i * (H + gap);
    const ys = p.series.flatMap((s) => s.points.map(([, y]) => y)).filter(Number.isFinite);
    const y1 = Math.max(1e-9, ...ys) * 1.1;
    const sy = (y: number): number => top + H - (y / y1) * H;
    out.push(`<rect x="${L}" y="${top}" width="${W - L - R}" height="${H}" fill="none" stroke="#999"/>`);
    out.push(
      `<text x="14" y="${top + H / 2}" transform="rotate(-90 14 ${top + H / 2})" text-anchor="middle">${esc(p.label)}</text>`,
    );
    for (let k = 0; k <= 4; k++) {
      const v = (y1 / 4) * k;
      out.push(
        `<text x="${L - 4}" y="${sy(v) + 4}" text-anchor="end">${v >= 100 ? v.toFixed(0) : v.toPrecision(3)}</text>`,
      );
      out.push(`<line x1="${L}" x2="${W - R}" y1="${sy(v)}" y2="${sy(v)}" stroke="#eee"/>`);
    }
    for (const [x, text] of o.marks ?? []) {
      out.push(`<line x1="${sx(x)}" x2="${sx(x)}" y1="${top}" y2="${top + H}" stroke="#bbb" stroke-dasharray="4 3"/>`);
      if (i === 0) out.push(`<text x="${sx(x) + 3}" y="${top + 12}" fill="#555">${esc(text)}</text>`);
    }
    p.series.forEach((s, j) => {
      const pts = s.points.filter(([, y]) => Number.isFinite(y));
      const color = COLORS[j % COLORS.length]!;
      if (pts.length > 0)
        out.push(
          `<polyline fill="none" stroke="${color}" stroke-width="1.8" points="${pts.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(" ")}"/>`,
        );
      out.push(`<text x="${W - R + 10}" y="${top + 16 + j * 16}" fill="${color}">${esc(s.name)}</text>`);
    });
  });
  const bottom = T + o.panels.length * (H + gap) - gap + 16;
  for (let k = 0; k <= 6; k++) {
    const x = x0 + ((x1 - x0) / 6) * k;
    out.push(`<text x="${sx(x)}" y="${bottom}" text-anchor="middle">${x.toFixed(0)} s</text>`);
  }
  out.push("</svg>");
  return out.join("\n");
}
