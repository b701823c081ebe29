// Every command registers itself here; commands stay thin and call the stages.
import type { Command } from '@commander-js/extra-typings';
import { registerClone } from './clone.ts';
import { registerCompare } from './compare.ts';
import { registerDemo } from './demo.ts';
import { registerDoctor } from './doctor.ts';
import { registerGenerate } from './generate.ts';
import { registerLoad } from './load.ts';
import { registerProfile } from './profile.ts';
import { registerReport } from './report.ts';
import { registerTopology } from './topology.ts';
import { registerTune } from './tune.ts';

export const commands: ((program: Command) => void)[] = [
  registerDoctor,
  registerLoad,
  registerDemo,
  registerTopology,
  registerProfile,
  registerGenerate,
  registerCompare,
  registerReport,
  registerTune,
  registerClone,
];
