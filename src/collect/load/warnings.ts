// Flags that make a load result less trustworthy, in words, so no number is silently wrong.
import type { LoadResult } from '../../artifacts/load-result.ts';

const round = (n: number) => Math.round(n).toLocaleString('en-US');

export function loadWarnings(
  result: LoadResult,
  extra: {
    interrupted?: boolean;
    aborted?: string | null;
    reconnects?: number;
    unsent?: number;
    maxScheduleLagUs?: number | null;
  } = {},
): string[] {
  const warnings: string[] = [];
  if (result.requestedRate !== null && result.rateReached === false) {
    warnings.push(
      `achieved ${round(result.achievedRate)} of ${round(result.requestedRate)} req/s requested: ` +
        'the server or this machine cannot sustain the rate (saturated)',
    );
  }
  if (result.mode === 'closed')
    warnings.push('closed loop: latencies exclude queueing (coordinated omission)');
  if (result.responses === 0) warnings.push('no responses were received');
  if (result.errors > 0) warnings.push(`${round(result.errors)} error replies`);
  if (result.timeouts) warnings.push(`${round(result.timeouts)} requests timed out`);
  if (result.protocolErrors) {
    warnings.push(
      `${round(result.protocolErrors)} malformed replies (the server does not speak ${result.protocol}?)`,
    );
  }
  if (extra.unsent) {
    warnings.push(
      `${round(extra.unsent)} scheduled requests were never sent: the server fell too far behind`,
    );
  }
  if (extra.reconnects) warnings.push(`${round(extra.reconnects)} reconnections`);
  if (extra.maxScheduleLagUs && extra.maxScheduleLagUs > 10_000) {
    warnings.push(`the generator fell up to ${round(extra.maxScheduleLagUs / 1000)} ms behind its schedule`);
  }
  if (extra.interrupted) warnings.push('interrupted before the end of the run');
  if (extra.aborted) warnings.push(`aborted: ${extra.aborted}`);
  return warnings;
}
