import type { Command } from '@commander-js/extra-typings';
import { formatTable } from '../../report/table.ts';
import { detectCapabilities } from '../../sys/capabilities.ts';
import { printJson, printLine } from '../output.ts';

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description('show which profiling capabilities this machine has and the fallback used for each')
    .option('--json', 'machine-readable output')
    .option('--no-mount', 'do not mount tracefs when it is missing')
    .action(async (options) => {
      const found = await detectCapabilities({ mountTracefs: options.mount });
      if (options.json) return printJson(found);
      printLine(`kernel ${found.kernel}, ${found.root ? 'root' : 'not root'}`);
      const rows = found.capabilities.map((c) => [
        c.title,
        c.available ? 'yes' : 'no',
        c.detail,
        c.available ? '' : (c.fallback ?? c.hint ?? ''),
      ]);
      printLine(formatTable(['capability', 'ok', 'detail', 'fallback when missing'], rows));
    });
}
