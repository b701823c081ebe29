// report.html: one self-contained page (inline CSS and SVG, no script, nothing loaded) drawn from a report (pure).
import type { ProfileSummary, Report } from '../artifacts/report.ts';
import { reportFigures } from './charts.ts';
import { formatNumber } from './comparison-table.ts';
import { formatRate, groupTable, groupVerdict } from './console.ts';
import { escapeHtml } from './escape.ts';

const style = `
body { font: 14px/1.45 system-ui, sans-serif; color: #263238; margin: 2em auto; max-width: 1000px; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { margin-top: 2em; border-bottom: 1px solid #cfd8dc; }
table { border-collapse: collapse; margin: 0.6em 0 1.2em; } caption { text-align: left; font-weight: 600; padding: 0.3em 0; }
th, td { padding: 0.2em 0.7em; border-bottom: 1px solid #eceff1; text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
.pass { color: #2e7d32; font-weight: 600; } .fail { color: #c62828; font-weight: 600; }
figure { margin: 1.5em 0; } figure svg { max-width: 100%; height: auto; }
figcaption { color: #546e7a; } figcaption strong { color: #263238; }
.summary { font-size: 1.1em; }
`;

const e = escapeHtml;

/** A table cell: text, or text with a class (the verdicts). */
type Cell = string | number | { text: string; className: string };

function table(caption: string, headers: string[], rows: Cell[][], numeric: boolean[] = []): string {
  const head = headers.map((h) => `<th>${e(h)}</th>`).join('');
  const td = (c: Cell, i: number) => {
    const className = typeof c === 'object' ? c.className : numeric[i] ? 'n' : '';
    return `<td${className ? ` class="${className}"` : ''}>${e(typeof c === 'object' ? c.text : c)}</td>`;
  };
  const body = rows.map((r) => `<tr>${r.map(td).join('')}</tr>`).join('\n');
  return `<table><caption>${e(caption)}</caption><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

function metricTables(report: Report): string {
  return report.groups
    .map((g) => {
      const { headers, rows, verdicts } = groupTable(report, g);
      const cells = rows.map((r, i): Cell[] => {
        const pass = verdicts[i] ?? null;
        return [
          ...r,
          pass === null ? '' : pass ? { text: '✓', className: 'pass' } : { text: '✗', className: 'fail' },
        ];
      });
      const numeric = [...headers, ''].map((h) =>
        ['original', 'clone', 'error', 'goal', 'noise'].includes(h),
      );
      return table(`${g.group}: ${groupVerdict(g)}`, [...headers, ''], cells, numeric);
    })
    .join('\n');
}

function profileSection(p: ProfileSummary): string {
  const parts = [
    `<p>${e(p.protocol)} service profiled at ${e(formatRate(p.workload.qps))} over ${p.workload.connections} connections; classes ${e(
      p.workload.classes.map((c) => `${c.name} ${Math.round(100 * c.share)}%`).join(', '),
    )}.</p>`,
  ];
  const s = p.skeleton;
  if (s) {
    const m = s.network;
    parts.push(
      `<p>Network model: ${e(m.io)}, ${m.networkThreads} network thread(s) in ${m.networkProcesses} process(es), ${m.acceptThreads} acceptor(s)${
        m.dispatch === null ? '' : m.dispatch ? ' handing connections off' : ' serving what they accept'
      }, ${m.workerThreads} worker thread(s), connections: ${e(m.connections)}${
        m.eventsPerWait === null ? '' : `, ${e(formatNumber(m.eventsPerWait))} events per wait`
      }.</p>`,
      table(
        'Skeleton: processes',
        ['role', 'count', 'threads'],
        s.processes.map((pr) => [pr.role, pr.count, pr.threads]),
        [false, true, true],
      ),
      table(
        'Skeleton: thread groups (per process)',
        ['process', 'role', 'count', 'blocks on', 'period'],
        s.threads.map((t) => [
          t.processRole,
          t.role,
          t.count,
          t.blocksOn.join(' ') || '-',
          t.periodMs === null ? '-' : `${formatNumber(t.periodMs)} ms`,
        ]),
        [false, false, true, false, true],
      ),
    );
  }
  for (const c of p.syscalls)
    parts.push(
      table(
        `System calls per ${c.class} request (network ${formatNumber(c.networkInBytes)} B in, ${formatNumber(c.networkOutBytes)} B out; disk ${formatNumber(c.diskReadBytes)} B read, ${formatNumber(c.diskWriteBytes)} B written)`,
        ['syscall', 'thread role', 'target', 'calls/request', 'bytes/request'],
        c.calls.map((s) => [
          s.name,
          s.role,
          s.target ?? '-',
          formatNumber(s.callsPerRequest),
          s.bytesPerRequest === null ? '-' : formatNumber(s.bytesPerRequest),
        ]),
        [false, false, false, true, true],
      ),
    );
  if (p.instructions.length > 0)
    parts.push(
      table(
        'Instructions per request class',
        ['class', 'instructions/request', 'mix (largest kinds)'],
        p.instructions.map((c) => [
          c.class,
          formatNumber(c.perRequest),
          c.mix
            .slice(0, 5)
            .map((m) => `${m.kind} ${Math.round(100 * m.share)}%`)
            .join(', '),
        ]),
        [false, true, false],
      ),
    );
  return parts.join('\n');
}

function tuningSection(t: NonNullable<Report['tuning']>): string {
  const kept = t.iterations.find((it) => it.iteration === t.best);
  return [
    `<p>${t.iterations.length} iteration(s) at ${e(formatRate(t.load))} (seed ${t.seed}), stopped: ${e(t.stopReason)}; the clone kept iteration ${t.best}.</p>`,
    kept
      ? table(
          `Knobs of iteration ${t.best}`,
          ['knob', 'value'],
          Object.entries(kept.knobs).map(([k, v]) => [k, formatNumber(v)]),
          [false, true],
        )
      : '',
  ].join('\n');
}

function planSection(plan: NonNullable<Report['plan']>): string {
  const n = plan.network;
  const knobs = Object.entries(plan.knobs);
  return [
    `<p>Clone network model: ${e(n.model)} (${e(n.io)}), ${n.acceptThreads} acceptor(s), ${n.networkThreads} network thread(s), ${n.workerProcesses} worker process(es); requests received with ${e(n.receive)}, responses sent with ${e(n.send)}; seed ${plan.seed}.</p>`,
    knobs.length > 0
      ? table(
          'Knobs',
          ['knob', 'value'],
          knobs.map(([k, v]) => [k, formatNumber(v)]),
          [false, true],
        )
      : '<p>Knobs: all as profiled.</p>',
  ].join('\n');
}

export function renderReportHtml(report: Report): string {
  const { passed, failed } = report.summary;
  const figures = reportFigures(report)
    .map(
      (f) =>
        `<figure id="${e(f.id)}">\n${f.svg}\n<figcaption><strong>${e(f.title)}.</strong> ${e(f.caption)}</figcaption>\n</figure>`,
    )
    .join('\n');
  const goals = report.goals.map((g) => `<li>${e(g.text)}</li>`).join('');
  const sections = [
    `<h1>ditto report: ${e(report.target)}</h1>`,
    `<p class="summary">${passed} of ${passed + failed} metrics within their goals${
      report.inputs.self ? '; the noise column is the original measured against itself' : ''
    }.</p>`,
    '<h2>Figures</h2>',
    figures,
    '<h2>Metrics</h2>',
    metricTables(report),
    `<p>Goals:</p><ul>${goals}</ul>`,
    ...(report.tuning ? ['<h2>Tuning</h2>', tuningSection(report.tuning)] : []),
    ...(report.profile ? ['<h2>Profile</h2>', profileSection(report.profile)] : []),
    ...(report.plan ? ['<h2>Clone plan</h2>', planSection(report.plan)] : []),
  ];
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ditto report: ${e(report.target)}</title>
<style>${style}</style>
</head>
<body>
${sections.join('\n')}
</body>
</html>
`;
}
