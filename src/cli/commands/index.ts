// Every command registers itself here; commands stay thin and call the stages.
import type { Command } from '@commander-js/extra-typings';
import { registerDoctor } from './doctor.ts';

export const commands: ((program: Command) => void)[] = [registerDoctor];
