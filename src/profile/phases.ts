// Runs profiling phases one by one, timing each and writing its result to disk as soon as it is done, so an
// interrupted or failed profile keeps what it already measured (and `--resume` picks it up).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { z } from 'zod';
import type { LoadSummary, PhaseName, PhaseRecord } from '../artifacts/profile.ts';
import { DittoError, isDittoError } from '../errors.ts';
import { describeZodError } from '../spec/load.ts';

export class PhaseRunner {
  readonly records: PhaseRecord[] = [];
  readonly dir: string;
  private readonly options: { resume: boolean; onProgress: (message: string) => void };

  constructor(dir: string, options: { resume: boolean; onProgress: (message: string) => void }) {
    this.dir = dir;
    this.options = options;
    mkdirSync(dir, { recursive: true });
  }

  private file(name: PhaseName): string {
    return join(this.dir, `${name}.json`);
  }

  /** A result saved by an earlier run, when resuming. */
  saved<T>(name: PhaseName, schema: z.ZodType<T>): { result: T; record: PhaseRecord } | undefined {
    const file = this.file(name);
    if (!this.options.resume || !existsSync(file)) return undefined;
    const raw = JSON.parse(readFileSync(file, 'utf8')) as { result: unknown; record: PhaseRecord };
    const parsed = schema.safeParse(raw.result);
    if (!parsed.success) throw new DittoError('DITTO_ARTIFACT_INVALID', describeZodError(file, parsed.error));
    return { result: parsed.data, record: raw.record };
  }

  async run<T>(
    name: PhaseName,
    schema: z.ZodType<T>,
    body: (loads: LoadSummary[]) => Promise<T>,
  ): Promise<T> {
    const saved = this.saved(name, schema);
    if (saved) {
      this.options.onProgress(`${name}: kept from the earlier run`);
      this.records.push(saved.record);
      return saved.result;
    }
    this.options.onProgress(`${name}: started`);
    const loads: LoadSummary[] = [];
    const started = performance.now();
    const seconds = () => Math.round((performance.now() - started) / 100) / 10;
    try {
      const result = schema.parse(await body(loads));
      const record: PhaseRecord = { name, status: 'done', seconds: seconds(), loads };
      writeFileSync(this.file(name), `${JSON.stringify({ record, result }, null, 2)}\n`);
      this.records.push(record);
      this.options.onProgress(`${name}: done in ${record.seconds}s`);
      return result;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.records.push({
        name,
        status: 'failed',
        seconds: seconds(),
        loads,
        note: message.split('\n')[0] ?? '',
      });
      if (isDittoError(error)) {
        throw new DittoError(error.code, `phase ${name} failed: ${error.message}`, {
          ...(error.hint ? { hint: error.hint } : {}),
          cause: error,
        });
      }
      throw error;
    }
  }

  skip(name: PhaseName, note: string): void {
    this.records.push({ name, status: 'skipped', seconds: 0, loads: [], note });
    this.options.onProgress(`${name}: skipped (${note})`);
  }
}
