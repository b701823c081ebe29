// The figures of report.html: echarts options built from a report (pure), rendered server-side to inline SVG.
import * as echarts from 'echarts';
import type { Report } from '../artifacts/report.ts';
import { metricLabel } from './build.ts';
import { formatError, formatRate } from './console.ts';
import { escapeHtml } from './escape.ts';

export interface Figure {
  /** The element id in the page. */
  id: string;
  title: string;
  /** What the figure shows and how to read it. */
  caption: string;
  svg: string;
}

const width = 960;
const height = 380;
/** Errors above this are drawn at it, with their value written on the bar. */
const errorCap = 1;
const colors = { pass: '#2e7d32', fail: '#c62828', none: '#90a4ae', goal: '#37474f', noise: '#b0bec5' };
const percentiles = [
  { key: 'p50Us', name: 'p50', color: '#1565c0' },
  { key: 'p95Us', name: 'p95', color: '#ef6c00' },
  { key: 'p99Us', name: 'p99', color: '#6a1b9a' },
] as const;

/** Server-side text measuring runs short of the browser's fonts: keep legend items well apart. */
const legend = { top: 0, itemGap: 24 };

const percent = (v: number) => `${Math.round(100 * v)}%`;

/** An error bar: capped at errorCap with the real value written on it, colored by its verdict. */
function errorBar(error: number | null, pass: boolean | null, color?: string) {
  const value = error === null ? errorCap : Math.min(error, errorCap);
  const capped = error === null || error > errorCap;
  return {
    value,
    itemStyle: { color: color ?? (pass === null ? colors.none : pass ? colors.pass : colors.fail) },
    label: { show: capped, position: 'top' as const, formatter: formatError(error), fontSize: 10 },
  };
}

const errorAxis = (maxError: number) => ({
  type: 'value' as const,
  name: 'relative error',
  min: 0,
  max: maxError > errorCap ? errorCap : undefined,
  axisLabel: { formatter: percent },
});

/** The goal of each category as a stepped line (goals differ per metric). */
const goalLine = (goals: (number | null)[]) => ({
  type: 'line' as const,
  name: 'goal',
  step: 'middle' as const,
  symbol: 'none',
  data: goals,
  lineStyle: { color: colors.goal, type: 'dashed' as const, width: 2 },
  itemStyle: { color: colors.goal },
});

const categoryAxis = (labels: string[]) => ({
  type: 'category' as const,
  data: labels,
  axisLabel: { interval: 0, rotate: labels.length > 8 ? 35 : 0, fontSize: 11 },
});

const rowsOf = (report: Report) => report.groups.flatMap((g) => g.rows);
const platforms = (report: Report) => [
  ...new Set(rowsOf(report).flatMap((r) => (r.platform === null ? [] : [r.platform]))),
];

/** Fig. 3 (a): latency errors per percentile at each held-out load. */
export function latencyErrorOption(report: Report): echarts.EChartsOption {
  const latency = rowsOf(report).filter((r) => r.load !== null);
  const loads = [...new Set(latency.map((r) => r.load ?? 0))].sort((a, b) => a - b);
  const palette = ['#90caf9', '#42a5f5', '#1565c0', '#0d47a1', '#002171'];
  const maxError = Math.max(0, ...latency.map((r) => r.relError ?? Number.POSITIVE_INFINITY));
  const goal = Math.max(0, ...latency.map((r) => r.goal ?? 0));
  return {
    animation: false,
    legend,
    grid: { left: 70, right: 30, top: 40, bottom: 40 },
    xAxis: categoryAxis(percentiles.map((p) => p.name)),
    yAxis: errorAxis(maxError),
    series: loads.map((load, i) => ({
      type: 'bar' as const,
      name: formatRate(load),
      itemStyle: { color: palette[i % palette.length] },
      data: percentiles.map((p) => {
        const r = latency.find((x) => x.load === load && x.metric === `${p.name}_us`);
        return r ? errorBar(r.relError, r.pass, palette[i % palette.length]) : null;
      }),
      ...(i === 0 && goal > 0
        ? {
            markLine: {
              symbol: 'none',
              data: [{ yAxis: goal, name: 'goal' }],
              lineStyle: { color: colors.goal, type: 'dashed' as const, width: 2 },
              label: { formatter: `goal ${percent(goal)}` },
            },
          }
        : {}),
    })),
  };
}

/** Fig. 3 (b): every load-independent metric (the first platform's for simulated ones), bars colored by verdict. */
export function metricErrorOption(report: Report): echarts.EChartsOption {
  const first = platforms(report)[0] ?? null;
  const rows = rowsOf(report).filter((r) => r.load === null && (r.platform === null || r.platform === first));
  const maxError = Math.max(0, ...rows.map((r) => r.relError ?? Number.POSITIVE_INFINITY));
  return {
    animation: false,
    legend,
    grid: { left: 150, right: 30, top: 40, bottom: 150 },
    xAxis: categoryAxis(rows.map((r) => r.label)),
    yAxis: errorAxis(maxError),
    series: [
      { type: 'bar', name: 'clone', data: rows.map((r) => errorBar(r.relError, r.pass)) },
      ...(report.inputs.self
        ? [
            {
              type: 'bar' as const,
              name: 'noise floor',
              itemStyle: { color: colors.noise },
              data: rows.map((r) => (r.noise === null ? null : errorBar(r.noise, null, colors.noise))),
            },
          ]
        : []),
      goalLine(rows.map((r) => r.goal)),
    ],
  };
}

/** Fig. 4: latency percentiles against offered load, original solid and clone dashed, saturation marked. */
export function latencyCurveOption(report: Report): echarts.EChartsOption {
  const { original, clone } = report.latency;
  const curve = (who: 'original' | 'clone', p: (typeof percentiles)[number]) => ({
    type: 'line' as const,
    name: `${who} ${p.name}`,
    symbol: who === 'original' ? 'circle' : 'triangle',
    symbolSize: 7,
    itemStyle: { color: p.color },
    lineStyle: { color: p.color, type: who === 'original' ? ('solid' as const) : ('dashed' as const) },
    data: report.latency[who].loads.map((l) => [l.rate, l[p.key] > 0 ? l[p.key] : null]),
  });
  const saturation = (who: 'original' | 'clone', rps: number) => ({
    xAxis: rps,
    name: `${who} saturation`,
    lineStyle: { color: '#455a64', type: who === 'original' ? ('solid' as const) : ('dashed' as const) },
    label: { formatter: `${who} saturation ${formatRate(rps)}`, position: 'insideEndTop' as const },
  });
  const farthest = Math.max(
    original.saturationRps,
    clone.saturationRps,
    ...original.loads.map((l) => l.rate),
    ...clone.loads.map((l) => l.rate),
  );
  const step = 10 ** Math.floor(Math.log10(Math.max(farthest, 1)));
  const xMax = Math.ceil((farthest * 1.05) / step) * step;
  return {
    animation: false,
    legend,
    grid: { left: 80, right: 40, top: 60, bottom: 50 },
    xAxis: { type: 'value', name: 'req/s', nameLocation: 'middle', nameGap: 30, min: 0, max: xMax },
    yAxis: { type: 'log', name: 'latency (µs)' },
    series: [
      ...percentiles.map((p) => curve('original', p)),
      ...percentiles.map((p) => curve('clone', p)),
      {
        type: 'line',
        name: 'saturation',
        data: [],
        itemStyle: { color: '#455a64' },
        markLine: {
          symbol: 'none',
          data: [saturation('original', original.saturationRps), saturation('clone', clone.saturationRps)],
        },
      },
    ],
  };
}

/** Fig. 5: the simulated metrics on each platform side by side, with the goal. */
export function platformOption(report: Report): echarts.EChartsOption {
  const rows = rowsOf(report).filter((r) => r.platform !== null);
  const names = [...new Set(rows.map((r) => r.metric))];
  const find = (metric: string, platform: string) =>
    rows.find((r) => r.metric === metric && r.platform === platform);
  const palette = ['#1565c0', '#ef6c00', '#2e7d32', '#6a1b9a'];
  const maxError = Math.max(0, ...rows.map((r) => r.relError ?? Number.POSITIVE_INFINITY));
  return {
    animation: false,
    legend,
    grid: { left: 70, right: 30, top: 40, bottom: 60 },
    xAxis: categoryAxis(names.map((m) => rows.find((r) => r.metric === m)?.label ?? m)),
    yAxis: errorAxis(maxError),
    series: [
      ...platforms(report).map((platform, i) => ({
        type: 'bar' as const,
        name: `platform ${platform}`,
        itemStyle: { color: palette[i % palette.length] },
        data: names.map((m) => {
          const r = find(m, platform);
          return r ? errorBar(r.relError, r.pass, palette[i % palette.length]) : null;
        }),
      })),
      goalLine(names.map((m) => rows.find((r) => r.metric === m)?.goal ?? null)),
    ],
  };
}

/** The tuning trajectory: each tuned metric's error per iteration, the kept iteration marked. */
export function tuningOption(tuning: NonNullable<Report['tuning']>): echarts.EChartsOption {
  const key = (m: { metric: string; platform: string | null }) =>
    m.platform === null ? metricLabel(m.metric) : `${metricLabel(m.metric)} (${m.platform})`;
  const names = [...new Set(tuning.iterations.flatMap((it) => it.metrics.map(key)))];
  const errors = tuning.iterations.flatMap((it) => it.metrics.map((m) => m.relError ?? 0));
  return {
    animation: false,
    legend,
    grid: { left: 70, right: 30, top: 30 + 22 * Math.ceil(names.length / 5), bottom: 50 },
    xAxis: {
      type: 'category',
      name: 'iteration',
      nameLocation: 'middle',
      nameGap: 30,
      data: tuning.iterations.map((it) => String(it.iteration)),
    },
    yAxis: errorAxis(Math.max(0, ...errors)),
    series: names.map((name, i) => ({
      type: 'line' as const,
      name,
      data: tuning.iterations.map((it) => {
        const m = it.metrics.find((x) => key(x) === name);
        return m?.relError == null ? null : Math.min(m.relError, errorCap);
      }),
      ...(i === 0
        ? {
            markLine: {
              symbol: 'none',
              data: [{ xAxis: String(tuning.best), name: 'kept' }],
              lineStyle: { color: colors.goal, type: 'dashed' as const },
              label: { formatter: `kept: iteration ${tuning.best}` },
            },
          }
        : {}),
    })),
  };
}

/** The profile's instructions per request of each class, stacked by instruction kind. */
export function instructionMixOption(profile: NonNullable<Report['profile']>): echarts.EChartsOption {
  const kinds = [...new Set(profile.instructions.flatMap((c) => c.mix.map((m) => m.kind)))];
  return {
    animation: false,
    legend,
    grid: { left: 70, right: 40, top: 50, bottom: 40 },
    xAxis: { type: 'value', name: 'instructions per request', nameLocation: 'middle', nameGap: 28 },
    yAxis: { type: 'category', data: profile.instructions.map((c) => c.class) },
    series: kinds.map((kind) => ({
      type: 'bar' as const,
      name: kind,
      stack: 'mix',
      data: profile.instructions.map(
        (c) => Math.round(c.perRequest * (c.mix.find((m) => m.kind === kind)?.share ?? 0) * 10) / 10,
      ),
    })),
  };
}

/** Renders an option to a standalone SVG string whose <title> names it. */
export function renderSvg(option: echarts.EChartsOption, title: string, size = { width, height }): string {
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, ...size });
  try {
    chart.setOption(option);
    return chart
      .renderToSVGString()
      .replace(/^<svg[^>]*>/, (open) => `${open}<title>${escapeHtml(title)}</title>`);
  } finally {
    chart.dispose();
  }
}

interface PendingFigure extends Omit<Figure, 'svg'> {
  option: echarts.EChartsOption;
  height: number;
}

/** Every figure the report has data for, in page order. */
export function reportFigures(report: Report): Figure[] {
  const rows = rowsOf(report);
  const first = platforms(report)[0];
  const figures: PendingFigure[] = [];
  const add = (id: string, title: string, caption: string, option: echarts.EChartsOption, h = height) =>
    figures.push({ id, title, caption, option, height: h });
  if (rows.some((r) => r.load !== null))
    add(
      'fig-latency-errors',
      'Latency error at each load',
      'Relative error of the clone’s latency percentiles at each held-out load; the dashed line is the goal (p50 and p99 below the original’s saturation). Bars above 100% are cut there and carry their value.',
      latencyErrorOption(report),
    );
  add(
    'fig-metric-errors',
    'Relative error per metric',
    `Relative error of every load-independent metric${first ? ` (simulated ones on platform ${first})` : ''}: green within its goal, red outside, grey without a goal; the dashed step is the goal${report.inputs.self ? '; light grey bars beside are the noise floor (the original against itself)' : ''}. Bars above 100% are cut there and carry their value.`,
    metricErrorOption(report),
    480,
  );
  add(
    'fig-latency-curve',
    'Latency against load',
    'p50, p95 and p99 latency of the original (solid) and the clone (dashed) at each offered load, log scale; vertical lines mark the saturation throughput of each.',
    latencyCurveOption(report),
    420,
  );
  if (first !== undefined)
    add(
      'fig-platforms',
      'Platforms side by side',
      'Relative error of the simulated metrics on each cache geometry, from one profile: the clone was not re-profiled for the second platform.',
      platformOption(report),
    );
  if (report.tuning)
    add(
      'fig-tuning',
      'Tuning trajectory',
      `Relative error of each tuned metric per iteration at ${formatRate(report.tuning.load)}; the dashed line marks the iteration whose knobs the clone kept (stopped: ${report.tuning.stopReason}).`,
      tuningOption(report.tuning),
    );
  if (report.profile && report.profile.instructions.length > 0)
    add(
      'fig-instruction-mix',
      'Instructions per request class',
      'Dynamic instructions per request of each class in the profile, by kind.',
      instructionMixOption(report.profile),
      120 + 60 * report.profile.instructions.length,
    );
  return figures.map(({ option, height: h, ...f }) => ({
    ...f,
    svg: renderSvg(option, f.title, { width, height: h }),
  }));
}
