// Every command registers itself here; commands stay thin and call the stages.
import type { Command } from '@commander-js/extra-typings';
import { registerDemo } from './demo.ts';
import { registerDoctor } from './doctor.ts';
import { registerLoad } from './load.ts';
import { registerProfile } from './profile.ts';
import { registerTopology } from './topology.ts';

export const commands: ((program: Command) => void)[] = [
  registerDoctor,
  registerLoad,
  registerDemo,
  registerTopology,
  registerProfile,
];
