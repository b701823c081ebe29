import type { Command } from '@commander-js/extra-typings';
import { type PhaseName, phaseNames, profileSchema } from '../../artifacts/profile.ts';
import { readArtifact } from '../../artifacts/read.ts';
import { DittoError } from '../../errors.ts';
import { profileTarget } from '../../profile/run.ts';
import { formatProfileSummary } from '../../report/profile-summary.ts';
import { parseDurationS } from '../../spec/duration.ts';
import { loadTargetSpec } from '../../spec/load.ts';
import { info, printJson, printLine } from '../output.ts';

function parsePhases(text: string): PhaseName[] {
  const names = text.split(',').map((s) => s.trim());
  for (const name of names) {
    if (!(phaseNames as readonly string[]).includes(name)) {
      throw new DittoError('DITTO_USAGE', `--phases: unknown phase "${name}"`, {
        hint: `phases: ${phaseNames.join(', ')}`,
      });
    }
  }
  return names as PhaseName[];
}

export function registerProfile(program: Command): void {
  program
    .command('profile')
    .description(
      'profile a service started from a target spec into profile.json (reveals nothing of the original)',
    )
    .requiredOption('--target <spec.yaml>', 'target spec')
    .requiredOption('--out <profile.json>', 'where to write the profile (phase results go to <out>.d/)')
    .option('--phases <list>', `phases to run (${phaseNames.join(',')})`, phaseNames.join(','))
    .option('--window <time>', 'measured time of each native window', '3s')
    .option('--quick-cache', 'sweep cache sizes only up to 32 KiB (faster, for a first look)')
    .option('--resume', 'keep the phases an interrupted run already finished')
    .option('--json', 'print the profile as JSON on stdout')
    .action(async (flags) => {
      const spec = loadTargetSpec(flags.target);
      const profile = await profileTarget(spec, {
        out: flags.out,
        resume: flags.resume ?? false,
        windowS: parseDurationS(flags.window, '--window'),
        phases: parsePhases(flags.phases),
        quickCache: flags.quickCache ?? false,
        onProgress: (m) => info(`profile: ${m}`),
      });
      info(`wrote ${flags.out}`);
      if (flags.json) printJson(profile);
      else printLine(formatProfileSummary(profile));
    });

  program
    .command('inspect')
    .description('print a readable summary of a profile.json')
    .argument('<profile.json>')
    .action((file) => {
      printLine(formatProfileSummary(readArtifact(file, profileSchema, 'profile')));
    });
}
