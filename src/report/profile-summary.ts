// A readable summary of a profile.json for the console (`ditto inspect`, end of `ditto profile`).
import type { Profile } from '../artifacts/profile.ts';
import { formatTable } from './table.ts';

const n = (v: number | null | undefined, digits = 0) =>
  v === null || v === undefined
    ? '-'
    : v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const pct = (v: number | null | undefined, digits = 1) =>
  v === null || v === undefined ? '-' : `${(100 * v).toFixed(digits)}%`;

function section(title: string, body: string): string {
  return `\n${title}\n${body}`;
}

function header(p: Profile): string {
  const w = p.workload;
  const classes = w.classes.map((c) => `${c.name} ${pct(c.share, 0)}`).join(', ');
  const tools = Object.entries(p.provenance.tools)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  return [
    `profile of a ${p.protocol} service, taken ${p.provenance.createdAt} by ditto ${p.provenance.ditto} (${tools})`,
    `workload: ${n(w.qps)} req/s over ${w.connections} connections; ${classes}; ${n(w.keys)} ${w.keyDistribution} keys`,
    `sources: syscalls ${p.provenance.sources.syscalls}, call stacks ${p.provenance.sources.stacks}, CPU body ${p.provenance.sources.cpu}`,
  ].join('\n');
}

function phases(p: Profile): string {
  const rows = p.provenance.phases.map((ph) => [
    ph.name,
    ph.status,
    `${ph.seconds}s`,
    ph.loads
      .map((l) => `${l.class} ${n(l.achievedRate)}/s p50 ${n(l.p50Us)}us p99 ${n(l.p99Us)}us`)
      .join('; ') ||
      (ph.note ?? ''),
  ]);
  return formatTable(['phase', 'status', 'time', 'load during the phase'], rows);
}

function observed(p: Profile): string {
  const o = p.observed;
  if (!o) return '(no baseline)';
  const t = o.baseline.total;
  return [
    `latency p50 ${n(o.latencyUs.p50)} us, p95 ${n(o.latencyUs.p95)} us, p99 ${n(o.latencyUs.p99)} us at ${n(o.load.achievedRate)} req/s`,
    `CPU per request ${n(t.cpuNsPerRequest / 1000, 1)} us (user ${n((t.cpuUserNsPerRequest ?? 0) / 1000, 1)}, system ${n((t.cpuSystemNsPerRequest ?? 0) / 1000, 1)}); ` +
      `context switches ${n(t.voluntarySwitchesPerRequest, 2)} voluntary, ${n(t.involuntarySwitchesPerRequest, 2)} involuntary per request`,
  ].join('\n');
}

function skeleton(p: Profile): string {
  const s = p.skeleton;
  if (!s) return '(no skeleton)';
  const m = s.network;
  const processes = s.processes.map((pr) => `${pr.count} ${pr.role} (${pr.threads} threads)`).join(', ');
  const rows = s.threads.map((t) => [
    `${t.processRole}/${t.role}`,
    t.count,
    t.blocksOn.join(' ') || '-',
    t.periodMs === null ? '-' : `${n(t.periodMs, 1)} ms`,
    pct(t.socketShare),
  ]);
  return [
    `processes: ${processes}`,
    `network: ${m.io}, ${m.networkThreads} network thread(s) in ${m.networkProcesses} process(es), ` +
      `dispatch ${m.dispatch ?? '?'}, acceptor is main ${m.acceptorIsMain ?? '?'}, ${m.connections}, ` +
      `${n(m.eventsPerWait, 2)} events per wait`,
    formatTable(['threads', 'count', 'blocks on', 'period', 'socket calls'], rows),
  ].join('\n');
}

function syscalls(p: Profile): string {
  return p.syscalls
    .map((c) => {
      const rows = c.syscalls
        .filter((s) => s.callsPerRequest >= 0.01)
        .map((s) => [s.name, s.role, s.target ?? '-', n(s.callsPerRequest, 3), n(s.bytesPerRequest, 0)]);
      const io = c.io;
      return [
        `${c.class}: network ${n(io.networkInBytes)} B in / ${n(io.networkOutBytes)} B out, disk ${n(io.diskReadBytes)} B read / ${n(io.diskWriteBytes)} B written, ${n(io.fsyncs, 3)} fsync per request`,
        formatTable(['syscall', 'role', 'target', 'calls/req', 'bytes/req'], rows),
      ].join('\n');
    })
    .join('\n');
}

function clusters(p: Profile): string {
  if (p.threadClusters.length === 0) return '(no call stacks)';
  const rows = p.threadClusters.map((c) => [
    c.threads,
    c.roles.join(' ') || '-',
    pct(c.sampleShare),
    pct(c.kernelShare),
    n(c.spread, 2),
  ]);
  return formatTable(['threads', 'roles', 'CPU samples', 'in kernel', 'spread'], rows);
}

function cpu(p: Profile): string {
  return p.cpu
    .map(({ class: cls, body, background }) => {
      const mix = Object.entries(body.mix.categories)
        .sort((a, b) => b[1] - a[1])
        .slice(0, 6)
        .map(([k, v]) => `${k} ${pct(v)}`)
        .join(', ');
      const platforms = body.platforms.map((pl) => [
        pl.platform,
        pct(pl.l1iMissRatio, 2),
        pct(pl.l1dMissRatio, 2),
        pct(pl.l2MissRatio, 1),
        pct(pl.llcMissRatio, 1),
        pct(pl.branchMispredictRate, 2),
      ]);
      return [
        `${cls}: ${n(body.instructionsPerRequest)} instructions per request; ${n(body.branches.conditionalPerRequest)} conditional branches (${pct(body.branches.takenShare)} taken), ${n(body.branches.indirectPerRequest)} indirect jumps (${pct(body.branches.indirectMispredictRate)} mispredicted); ${n(body.stringOps.repBytesPerRequest)} B by rep string ops`,
        `  mix: ${mix}`,
        ...(background
          ? [
              `  background threads meanwhile: ${n(background.instructionsPerRequest)} instructions per wake-up (${n(background.window.requests)} wake-ups measured)`,
            ]
          : []),
        formatTable(
          ['platform', 'L1i miss', 'L1d miss', 'L2 miss', 'LLC miss', 'branch mispredict'],
          platforms,
        ),
      ].join('\n');
    })
    .join('\n');
}

export function formatProfileSummary(p: Profile): string {
  return [
    header(p),
    section('phases', phases(p)),
    section('observed at the profiled load', observed(p)),
    section('skeleton', skeleton(p)),
    section('system calls per request class', syscalls(p)),
    section('thread clusters by call stacks', clusters(p)),
    section('CPU body per request class', cpu(p)),
  ].join('\n');
}
