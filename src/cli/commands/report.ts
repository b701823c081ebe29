import { resolve } from 'node:path';
import type { Command } from '@commander-js/extra-typings';
import { buildReport } from '../../report/build.ts';
import { formatReport } from '../../report/console.ts';
import { readReportInputs, writeReportFiles } from '../../report/files.ts';
import { info, printJson, printLine } from '../output.ts';

export function registerReport(program: Command): void {
  program
    .command('report')
    .description(
      'rebuild the report of a clone directory from its artifacts: tables, report.json, report.html',
    )
    .argument('<dir>', 'the clone directory (with comparison.json)')
    .option('--html', 'also write report.html (figures as inline SVG)')
    .option('--json', 'print report.json on stdout instead of the tables')
    .action((dir, flags) => {
      const report = buildReport(readReportInputs(dir));
      const written = writeReportFiles(dir, report, { html: flags.html ?? false });
      if (flags.json) printJson(report);
      else printLine(formatReport(report));
      info(`wrote ${written.json}`);
      if (written.html) printLine(`report: ${resolve(written.html)}`);
    });
}
