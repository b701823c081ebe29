import assert from 'node:assert/strict';
import { join } from 'node:path';
import test from 'node:test';
import { buildReport } from '../../../src/report/build.ts';
import { readReportInputs } from '../../../src/report/files.ts';
import { renderReportHtml } from '../../../src/report/html.ts';

const fixtures = new URL('../../fixtures/report/', import.meta.url).pathname;

/** The title of every <svg> figure, in page order. */
const svgTitles = (html: string) =>
  [...html.matchAll(/<svg\b[^>]*><title>([^<]*)<\/title>/g)].map((m) => m[1]);

test('memcached: every figure present, each an inline SVG with its title and caption', () => {
  const html = renderReportHtml(buildReport(readReportInputs(join(fixtures, 'memcached'))));
  const titles = [
    'Latency error at each load',
    'Relative error per metric',
    'Latency against load',
    'Platforms side by side',
    'Tuning trajectory',
    'Instructions per request class',
  ];
  assert.equal(html.match(/<svg\b/g)?.length, titles.length);
  assert.deepEqual(svgTitles(html), titles);
  assert.equal(html.match(/<figure id="fig-[a-z-]+">/g)?.length, titles.length);
  for (const title of titles) assert.ok(html.includes(`<figcaption><strong>${title}.</strong>`), title);
  // saturation marked on the latency curves, goal lines on the error charts
  assert.match(html, /original saturation 87,473\/s/);
  assert.match(html, /goal 10%/);
  // the profile summary and the tables
  for (const text of [
    'Network model: epoll',
    'System calls per get request',
    'Knobs of iteration 2',
    '✗',
    '✓',
  ])
    assert.ok(html.includes(text), text);
});

test('the page is self-contained: no script, no stylesheet link, no external load', () => {
  const html = renderReportHtml(buildReport(readReportInputs(join(fixtures, 'memcached'))));
  assert.doesNotMatch(html, /<script|<link|<img|<iframe|@import|url\((?!#)/i);
  assert.doesNotMatch(html, /\b(src|href)=/i);
});

test('without tuning.json and profile.json: the figures that have data', () => {
  const html = renderReportHtml(buildReport(readReportInputs(join(fixtures, 'redis'))));
  assert.deepEqual(svgTitles(html), [
    'Latency error at each load',
    'Relative error per metric',
    'Latency against load',
    'Platforms side by side',
  ]);
  assert.doesNotMatch(html, /<h2>(Tuning|Profile|Clone plan)<\/h2>/);
});

test('every text is escaped, in the page and inside the figures', () => {
  const report = buildReport(readReportInputs(join(fixtures, 'redis')));
  report.target = '<script>alert("t")</script>';
  const row = report.groups.find((g) => g.group === 'kernel')?.rows[0];
  assert.ok(row);
  row.label = '<b onclick="x">read</b>';
  const html = renderReportHtml(report);
  assert.doesNotMatch(html, /<script|<b onclick/);
  assert.ok(html.includes('&lt;script&gt;alert(&quot;t&quot;)&lt;/script&gt;'));
  assert.ok(html.includes('&lt;b onclick=&quot;x&quot;&gt;read&lt;/b&gt;'));
});

test('element ids are unique across the figures of a page (clip paths of one chart never hit another)', () => {
  const html = renderReportHtml(buildReport(readReportInputs(join(fixtures, 'memcached'))));
  const ids = [...html.matchAll(/\bid="([^"]+)"/g)].map((m) => m[1]);
  assert.equal(new Set(ids).size, ids.length);
});
