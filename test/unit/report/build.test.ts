import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import type { Comparison } from '../../../src/artifacts/measurement.ts';
import { reportSchema } from '../../../src/artifacts/report.ts';
import { DittoError } from '../../../src/errors.ts';
import { buildReport, metricLabel } from '../../../src/report/build.ts';
import { formatReport } from '../../../src/report/console.ts';
import { readReportInputs, writeReportFiles } from '../../../src/report/files.ts';

const fixtures = new URL('../../fixtures/report/', import.meta.url).pathname;
const memcached = join(fixtures, 'memcached');
const redis = join(fixtures, 'redis');

function scratch(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'ditto-report-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const rowOf = (
  report: ReturnType<typeof buildReport>,
  metric: string,
  where: { load?: number; platform?: string } = {},
) => {
  const row = report.groups
    .flatMap((g) => g.rows)
    .find(
      (r) =>
        r.metric === metric && r.load === (where.load ?? null) && r.platform === (where.platform ?? null),
    );
  assert.ok(row, `${metric} in the report`);
  return row;
};

test('memcached: every metric judged against its goal, grouped, with the optional artifacts', () => {
  const report = buildReport(readReportInputs(memcached));
  reportSchema.parse(report);
  assert.deepEqual(report.inputs, { comparison: true, self: false, tuning: true, profile: true, plan: true });
  assert.deepEqual(
    report.groups.map((g) => g.group),
    ['latency', 'cpu', 'uarch', 'kernel', 'io', 'skeleton'],
  );
  // p50 at the middle load: 74.5 → 87.8 µs is 17.9 %, over the 10 % goal
  const p50 = rowOf(report, 'p50_us', { load: 38400 });
  assert.equal(p50.goal, 0.1);
  assert.equal(p50.pass, false);
  assert.equal(p50.label, 'latency p50 (µs)');
  // p95 has no goal; shown but not counted
  assert.equal(rowOf(report, 'p95_us', { load: 38400 }).pass, null);
  // read calls within 5 %, sendmsg missing from the clone (error 100 %)
  assert.equal(rowOf(report, 'syscall_read_per_request').pass, true);
  assert.equal(rowOf(report, 'syscall_sendmsg_per_request').pass, false);
  assert.equal(rowOf(report, 'instructions_per_request', { platform: 'B' }).goal, 0.02);
  assert.equal(rowOf(report, 'network_out_bytes_per_request').pass, true);
  assert.equal(rowOf(report, 'threads_network').goal, null);
  assert.deepEqual(report.summary, { passed: 6, failed: 23 });
  const io = report.groups.find((g) => g.group === 'io');
  assert.deepEqual([io?.passed, io?.failed], [4, 0]);
  assert.equal(report.latency.original.saturationRps, 87472.5);
  assert.equal(report.latency.clone.loads.length, 3);
  assert.equal(report.tuning?.iterations.length, 3);
  assert.equal(report.tuning?.best, 2);
  assert.equal(report.profile?.skeleton?.network.io, 'epoll');
  assert.deepEqual(
    report.profile?.instructions.map((c) => c.class),
    ['get', 'set'],
  );
  const mix = report.profile?.instructions[0]?.mix ?? [];
  assert.ok(Math.abs(mix.reduce((s, m) => s + m.share, 0) - 1) < 1e-6, 'mix shares sum to 1');
  assert.equal(report.plan?.network.model, 'dispatch');
});

test('missing optional artifacts: the report is built from comparison.json alone', () => {
  const inputs = readReportInputs(redis);
  assert.deepEqual([inputs.self, inputs.tuning, inputs.profile, inputs.plan], [null, null, null, null]);
  const report = buildReport(inputs);
  assert.deepEqual(report.inputs, {
    comparison: true,
    self: false,
    tuning: false,
    profile: false,
    plan: false,
  });
  assert.equal(report.tuning, null);
  assert.equal(report.profile, null);
  assert.equal(report.plan, null);
  assert.ok(report.summary.passed + report.summary.failed > 0);
});

test('the noise floor comes from comparison-self.json, matched by metric, platform and nearest load', (t) => {
  const dir = scratch(t);
  cpSync(redis, dir, { recursive: true });
  const comparison: Comparison = JSON.parse(readFileSync(join(redis, 'comparison.json'), 'utf8'));
  const self: Comparison = {
    ...comparison,
    self: true,
    metrics: comparison.metrics.map((m) => ({
      ...m,
      // the self run chose loads 5 % off the clone comparison's
      load: m.load === null ? null : m.load * 1.05,
      relError: 0.03,
    })),
  };
  writeFileSync(join(dir, 'comparison-self.json'), JSON.stringify(self));
  const report = buildReport(readReportInputs(dir));
  assert.equal(report.inputs.self, true);
  for (const row of report.groups.flatMap((g) => g.rows)) assert.equal(row.noise, 0.03, row.metric);
  assert.match(formatReport(report), /noise/);
});

test('a missing comparison.json names the file and the command that makes it', (t) => {
  const dir = scratch(t);
  assert.throws(
    () => readReportInputs(dir),
    (e: unknown) =>
      e instanceof DittoError &&
      e.code === 'DITTO_FILE_NOT_FOUND' &&
      e.oneLine().includes(join(dir, 'comparison.json')) &&
      e.oneLine().includes(`ditto compare --target spec.yaml --clone ${dir}`),
  );
});

test('a bad comparison.json names the file and the field', (t) => {
  const dir = scratch(t);
  const comparison = JSON.parse(readFileSync(join(redis, 'comparison.json'), 'utf8'));
  comparison.metrics[2].relError = 'large';
  writeFileSync(join(dir, 'comparison.json'), JSON.stringify(comparison));
  assert.throws(
    () => readReportInputs(dir),
    (e: unknown) =>
      e instanceof DittoError &&
      e.code === 'DITTO_ARTIFACT_INVALID' &&
      e.message.includes(join(dir, 'comparison.json')) &&
      e.message.includes('metrics[2].relError'),
  );
});

test('a bad optional artifact is an error too, naming its file', (t) => {
  const dir = scratch(t);
  cpSync(redis, dir, { recursive: true });
  writeFileSync(join(dir, 'tuning.json'), JSON.stringify({ schemaVersion: 1, load: 5000 }));
  assert.throws(() => readReportInputs(dir), /tuning\.json/);
});

test('console: one table per group with goal and verdict; load and platform columns only where used', () => {
  const text = formatReport(buildReport(readReportInputs(memcached)));
  assert.match(text, /^memcached: 6 of 29 metrics within their goals/);
  assert.match(text, /latency: 0 of 7 within goal\nmetric +load +original +clone +error +goal/);
  assert.match(text, /io: 4 of 4 within goal\nmetric +original +clone +error +goal/);
  assert.match(text, /uarch: 0 of 10 within goal\nmetric +platform +original/);
  assert.match(text, /skeleton: no goals/);
  assert.match(text, /read calls per request +1\.00 +1\.00 +0\.2% +≤ 5\.0% +✓/);
  assert.match(text, /latency p50 \(µs\) +38,400\/s +74\.50 +87\.81 +17\.9% +≤ 10\.0% +✗/);
  assert.match(text, /tuning: 3 iteration\(s\), kept iteration 2, stopped: iterations/);
});

test('report.json is written always, report.html only when asked', (t) => {
  const dir = scratch(t);
  const report = buildReport(readReportInputs(redis));
  const plain = writeReportFiles(dir, report, { html: false });
  assert.equal(plain.html, null);
  assert.deepEqual(reportSchema.parse(JSON.parse(readFileSync(plain.json, 'utf8'))), report);
  const both = writeReportFiles(dir, report, { html: true });
  assert.match(readFileSync(both.html ?? '', 'utf8'), /^<!DOCTYPE html>/);
});

test('metric labels', () => {
  assert.equal(metricLabel('syscall_epoll_wait_per_request'), 'epoll_wait calls per request');
  assert.equal(metricLabel('threads_acceptor'), 'acceptor threads');
  assert.equal(metricLabel('saturation_rps'), 'saturation throughput (req/s)');
});
