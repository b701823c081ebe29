// report.html opened in headless Chromium (Debian's chromium): it renders without console errors and shows every
// figure (≈ 10 s).
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { pathToFileURL } from 'node:url';
import { buildReport } from '../../src/report/build.ts';
import { readReportInputs, writeReportFiles } from '../../src/report/files.ts';
import { run } from '../../src/sys/process.ts';

const chromium = '/usr/bin/chromium';
const fixture = new URL('../fixtures/report/memcached/', import.meta.url).pathname;

/** Headless Chromium on a file: quiet (no network, no first-run work), console messages logged to stderr. */
function headless(profileDir: string, page: string, action: string[]) {
  return run(
    chromium,
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--hide-scrollbars',
      `--user-data-dir=${profileDir}`,
      '--enable-logging=stderr',
      '--v=0',
      ...action,
      pathToFileURL(page).href,
    ],
    { timeoutMs: 90_000 },
  );
}

/** Console messages of the page, as Chromium logs them ("INFO:CONSOLE:1] "text", source: …"). */
const consoleLines = (stderr: string) => stderr.split('\n').filter((l) => /:CONSOLE[:(]/.test(l));

test('report.html renders in headless Chromium without console errors and shows every figure', {
  skip: !existsSync(chromium) && `${chromium} is missing (apt-get install chromium; make setup installs it)`,
  timeout: 240_000,
}, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ditto-report-html-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const clone = join(dir, 'clone');
  cpSync(fixture, clone, { recursive: true });
  const { html } = writeReportFiles(clone, buildReport(readReportInputs(clone)), { html: true });
  assert.ok(html);

  // The console check catches what it should: a page that logs an error shows up.
  const probe = join(dir, 'probe.html');
  writeFileSync(probe, "<!DOCTYPE html><script>console.error('ditto-probe')</script>");
  const probed = await headless(join(dir, 'profile-probe'), probe, ['--dump-dom']);
  assert.ok(
    consoleLines(probed.stderr).some((l) => l.includes('ditto-probe')),
    probed.stderr,
  );

  const dumped = await headless(join(dir, 'profile'), html, ['--dump-dom']);
  assert.deepEqual(consoleLines(dumped.stderr), []);
  const dom = dumped.stdout;
  const titles = [...dom.matchAll(/<svg\b[^>]*><title>([^<]*)<\/title>/g)].map((m) => m[1]);
  assert.deepEqual(titles, [
    'Latency error at each load',
    'Relative error per metric',
    'Latency against load',
    'Platforms side by side',
    'Tuning trajectory',
    'Instructions per request class',
  ]);
  // every figure was parsed into drawn SVG elements
  for (const figure of dom.split('<figure ').slice(1))
    assert.ok((figure.match(/<path\b/g)?.length ?? 0) > 5, figure.slice(0, 80));

  const png = join(dir, 'report.png');
  const shot = await headless(join(dir, 'profile-shot'), html, [
    '--window-size=1000,4000',
    `--screenshot=${png}`,
  ]);
  assert.deepEqual(consoleLines(shot.stderr), []);
  const image = readFileSync(png);
  assert.equal(image.readUInt32BE(16), 1000);
  assert.equal(image.readUInt32BE(20), 4000);
  // a blank page compresses to a few KiB; this one has charts and tables
  assert.ok(statSync(png).size > 100_000, `screenshot of ${statSync(png).size} bytes`);
});
