// The file side of the report: reads the artifacts of a clone directory, writes report.json and report.html.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { clonePlanSchema } from '../artifacts/clone-plan.ts';
import { comparisonSchema } from '../artifacts/measurement.ts';
import { profileSchema } from '../artifacts/profile.ts';
import { readArtifact } from '../artifacts/read.ts';
import type { Report } from '../artifacts/report.ts';
import { tuningSchema } from '../artifacts/tuning.ts';
import { DittoError } from '../errors.ts';
import type { ReportInputs } from './build.ts';
import { renderReportHtml } from './html.ts';

/** Reads the artifacts of a clone directory: comparison.json is required, the others are used when present. */
export function readReportInputs(dir: string): ReportInputs {
  const file = join(dir, 'comparison.json');
  if (!existsSync(file))
    throw new DittoError('DITTO_FILE_NOT_FOUND', `${file} not found`, {
      hint: `make it with: ditto compare --target spec.yaml --clone ${dir}`,
    });
  const optional = <T>(name: string, read: (f: string) => T): T | null => {
    const f = join(dir, name);
    return existsSync(f) ? read(f) : null;
  };
  return {
    comparison: readArtifact(file, comparisonSchema, 'comparison'),
    self: optional('comparison-self.json', (f) => readArtifact(f, comparisonSchema, 'comparison')),
    tuning: optional('tuning.json', (f) => readArtifact(f, tuningSchema, 'tuning history')),
    profile: optional('profile.json', (f) => readArtifact(f, profileSchema, 'profile')),
    plan: optional('plan.json', (f) => readArtifact(f, clonePlanSchema, 'clone plan')),
  };
}

/** Writes report.json, and report.html when asked; returns their paths. */
export function writeReportFiles(
  dir: string,
  report: Report,
  options: { html: boolean },
): { json: string; html: string | null } {
  const json = join(dir, 'report.json');
  writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`);
  if (!options.html) return { json, html: null };
  const html = join(dir, 'report.html');
  writeFileSync(html, renderReportHtml(report));
  return { json, html };
}
