/**
 * Line charts as a standalone SVG string, for benchmarks that leave a figure
 * in docs/ (bench/scheduler-scale.ts). Written by hand rather than with a
 * plotting library: the figures are a few series of a few points, and the
 * repository takes no dependency for them. Panels sit side by side under one
 * title; x is log2 (cluster sizes double), y linear or log10.
 */

export interface Series {
  name: string;
  color: string;
  dashed?: boolean;
  /**
   * [x, y, label]; points with a y that is not finite (or not positive, on a
   * log axis) are left out. A label is written next to its point.
   */
  points: Array<[number, number, string?]>;
}

export interface Panel {
  title: string;
  xLabel: string;
  yLabel: string;
  /** The x values to label (the measured cluster sizes). */
  xTicks: number[];
  logY?: boolean;
  series: Series[];
  /** Horizontal reference lines, e.g. a target. */
  refLines?: Array<{ y: number; label: string; color: string }>;
}

export interface Figure {
  title: string;
  /** Lines under the title (machine, settings). */
  notes?: string[];
  panels: Panel[];
  panelWidth?: number;
  panelHeight?: number;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const fmt = (v: number) => (Math.abs(v) >= 100 || Number.isInteger(v) ? String(Math.round(v)) : String(Number(v.toPrecision(2))));

/** Round tick values covering [lo, hi]: 1-2-5 steps, per decade on a log axis. */
function yTicks(lo: number, hi: number, log: boolean): number[] {
  if (log) {
    const out: number[] = [];
    for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
      for (const m of [1, 2, 5]) {
        const v = m * 10 ** e;
        if (v >= lo * 0.999 && v <= hi * 1.001) out.push(v);
      }
    }
    return out;
  }
  const raw = (hi - lo) / 5;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

function panelSvg(p: Panel, x0: number, y0: number, w: number, h: number): string {
  const m = { left: 58, right: 14, top: 28, bottom: 44 };
  const pw = w - m.left - m.right;
  const ph = h - m.top - m.bottom;
  const valid = (y: number) => Number.isFinite(y) && (!p.logY || y > 0);
  const ys = [...p.series.flatMap((s) => s.points.map(([, y]) => y)), ...(p.refLines ?? []).map((r) => r.y)].filter(valid);
  let lo = ys.length ? Math.min(...ys) : 1;
  let hi = ys.length ? Math.max(...ys) : 10;
  if (p.logY) {
    // A 1-2-5 step below the lowest point, so no point sits on the frame.
    const floor = 10 ** Math.floor(Math.log10(lo * 0.9));
    lo = [5, 2, 1].map((k) => k * floor).find((v) => v < lo * 0.9) ?? floor;
    hi = 10 ** Math.ceil(Math.log10(hi));
    if (lo >= hi) hi = lo * 10;
  } else {
    lo = 0;
    hi = hi > 0 ? hi * 1.1 : 1;
  }
  const xs = p.xTicks.length ? p.xTicks : [1];
  const lx = (x: number) => Math.log2(x);
  const xlo = lx(Math.min(...xs));
  const xhi = lx(Math.max(...xs));
  const sx = (x: number) => x0 + m.left + (xhi === xlo ? pw / 2 : ((lx(x) - xlo) / (xhi - xlo)) * pw * 0.9 + pw * 0.05);
  const sy = (y: number) =>
    y0 + m.top + ph - (p.logY ? (Math.log10(y) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo)) : (y - lo) / (hi - lo)) * ph;
  const out: string[] = [];
  out.push(`<text x="${x0 + m.left + pw / 2}" y="${y0 + 16}" text-anchor="middle" font-weight="bold">${esc(p.title)}</text>`);
  out.push(`<rect x="${x0 + m.left}" y="${y0 + m.top}" width="${pw}" height="${ph}" fill="none" stroke="#888"/>`);
  for (const t of yTicks(lo, hi, p.logY ?? false)) {
    const y = sy(t).toFixed(1);
    out.push(`<line x1="${x0 + m.left}" x2="${x0 + m.left + pw}" y1="${y}" y2="${y}" stroke="#e4e4e4"/>`);
    out.push(`<text x="${x0 + m.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle" font-size="11">${fmt(t)}</text>`);
  }
  for (const t of xs) {
    const x = sx(t).toFixed(1);
    out.push(`<line x1="${x}" x2="${x}" y1="${y0 + m.top + ph}" y2="${y0 + m.top + ph + 4}" stroke="#888"/>`);
    out.push(`<text x="${x}" y="${y0 + m.top + ph + 16}" text-anchor="middle" font-size="11">${fmt(t)}</text>`);
  }
  out.push(`<text x="${x0 + m.left + pw / 2}" y="${y0 + h - 8}" text-anchor="middle" font-size="12">${esc(p.xLabel)}</text>`);
  const cy = y0 + m.top + ph / 2;
  out.push(`<text x="${x0 + 14}" y="${cy}" text-anchor="middle" font-size="12" transform="rotate(-90 ${x0 + 14} ${cy})">${esc(p.yLabel)}</text>`);
  for (const r of p.refLines ?? []) {
    if (!valid(r.y) || r.y < lo || r.y > hi) continue;
    const y = sy(r.y).toFixed(1);
    out.push(`<line x1="${x0 + m.left}" x2="${x0 + m.left + pw}" y1="${y}" y2="${y}" stroke="${r.color}" stroke-dasharray="2 3"/>`);
    out.push(`<text x="${x0 + m.left + pw - 4}" y="${Number(y) - 4}" text-anchor="end" font-size="11" fill="${r.color}">${esc(r.label)}</text>`);
  }
  p.series.forEach((s, i) => {
    const pts = s.points.filter(([, y]) => valid(y)).sort(([a], [b]) => a - b);
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
    if (pts.length > 1) {
      const d = pts.map(([x, y], k) => `${k === 0 ? 'M' : 'L'}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ');
      out.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${dash}/>`);
    }
    // Dashed series get hollow markers, so two series of one colour stay apart where they meet.
    const fill = s.dashed ? `fill="white" stroke="${s.color}" stroke-width="1.5"` : `fill="${s.color}"`;
    for (const [x, y, label] of pts) {
      out.push(`<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="3.5" ${fill}><title>${esc(`${s.name}: ${fmt(y)} at ${x}`)}</title></circle>`);
      if (label) out.push(`<text x="${sx(x).toFixed(1)}" y="${(sy(y) - 9).toFixed(1)}" text-anchor="middle" font-size="10" fill="${s.color}">${esc(label)}</text>`);
    }
    const ly = y0 + m.top + 14 + i * 16;
    const lx0 = x0 + m.left + 8;
    out.push(`<line x1="${lx0}" x2="${lx0 + 20}" y1="${ly}" y2="${ly}" stroke="${s.color}" stroke-width="2"${dash}/>`);
    out.push(`<text x="${lx0 + 26}" y="${ly}" dominant-baseline="middle" font-size="11">${esc(s.name)}</text>`);
  });
  return out.join('\n');
}

export function svgFigure(f: Figure): string {
  const w = f.panelWidth ?? 420;
  const h = f.panelHeight ?? 320;
  const head = 30 + 15 * (f.notes?.length ?? 0);
  const width = w * f.panels.length;
  const height = head + h;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="15" font-weight="bold">${esc(f.title)}</text>`,
    ...(f.notes ?? []).map((n, i) => `<text x="${width / 2}" y="${38 + i * 15}" text-anchor="middle" font-size="11" fill="#555">${esc(n)}</text>`),
    ...f.panels.map((p, i) => panelSvg(p, i * w, head, w, h)),
    '</svg>',
  ];
  return parts.join('\n') + '\n';
}
