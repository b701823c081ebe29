// Durations on the command line: "10s", "500ms", "2m", or plain seconds.
import { DittoError } from '../errors.ts';

const unitSeconds: Record<string, number> = { ms: 1e-3, s: 1, m: 60, h: 3600 };

/** Seconds of a duration; zero only where the option allows none (a warm-up). */
export function parseDurationS(text: string, option: string, { allowZero = false } = {}): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  const seconds = m ? Number(m[1]) * (unitSeconds[m[2] ?? 's'] ?? 1) : Number.NaN;
  if (!(seconds > 0 || (allowZero && seconds === 0))) {
    throw new DittoError('DITTO_USAGE', `${option}: "${text}" is not a duration`, {
      hint: 'use e.g. 10s, 500ms, 2m',
    });
  }
  return seconds;
}
