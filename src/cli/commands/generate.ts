import type { Command } from '@commander-js/extra-typings';
import { profileSchema } from '../../artifacts/profile.ts';
import { readArtifact } from '../../artifacts/read.ts';
import { buildClone } from '../../build/build.ts';
import { generateClone } from '../../build/generate.ts';
import { startClone } from '../../deploy/local.ts';
import { info, printLine } from '../output.ts';

export function registerGenerate(program: Command): void {
  program
    .command('generate')
    .description('generate a synthetic clone (C sources, Makefile, clone.json) from a profile')
    .requiredOption('--profile <profile.json>', 'the profile to clone')
    .requiredOption('--out <dir>', 'the clone directory to write')
    .option('--seed <n>', 'seed of the generated code', '1')
    .action((flags) => {
      const profile = readArtifact(flags.profile, profileSchema, 'profile');
      const plan = generateClone(profile, flags.out, {}, Number(flags.seed));
      info(
        `wrote ${flags.out} (${plan.network.model} model, classes ${plan.classes.map((c) => c.name).join(', ')})`,
      );
      printLine(`next: ditto build ${flags.out}`);
    });

  program
    .command('build')
    .description('compile a clone directory')
    .argument('<dir>')
    .action(async (dir) => {
      info(`built ${await buildClone(dir)}`);
    });

  program
    .command('run')
    .description('run a clone in the foreground; ready when its port accepts')
    .argument('<dir>')
    .option('--service <name>', 'which service of clone.json')
    .option('--port <port>', 'port to listen on (default: a free port)')
    .action(async (dir, flags) => {
      const clone = await startClone(dir, {
        ...(flags.service ? { service: flags.service } : {}),
        ...(flags.port ? { port: Number(flags.port) } : {}),
      });
      info(
        `clone ready on ${clone.host}:${clone.port} (${clone.manifest.services[0]?.protocol}); Ctrl-C stops it`,
      );
      const exit = await clone.process.exited;
      if (exit.exitCode !== 0 && exit.signal !== 'SIGTERM')
        throw clone.process.failure('DITTO_TARGET_FAILED', 'the clone stopped');
    });
}
