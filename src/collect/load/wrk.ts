// Parses wrk's text output (closed loop; needs --latency for percentiles) into a LoadResult (pure).
import type { LoadResult } from '../../artifacts/load-result.ts';
import { DittoError } from '../../errors.ts';
import { loadWarnings } from './warnings.ts';

const timeUnitsUs: Record<string, number> = { us: 1, ms: 1e3, s: 1e6, m: 6e7, h: 3.6e9 };
// wrk prints sizes with binary prefixes.
const sizeUnits: Record<string, number> = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4 };

function timeUs(text: string): number {
  const m = /^([\d.]+)(us|ms|s|m|h)$/.exec(text.trim());
  if (!m) throw new DittoError('DITTO_LOAD_FAILED', `wrk output: cannot read the time "${text}"`);
  return Number(m[1]) * (timeUnitsUs[m[2] ?? 'us'] ?? 1);
}

export function parseWrkOutput(text: string, target: string): LoadResult {
  const summary = /(\d+) requests in ([\d.]+)(us|ms|s|m), ([\d.]+)(B|KB|MB|GB|TB) read/.exec(text);
  const rate = /Requests\/sec:\s+([\d.]+)/.exec(text);
  if (!summary || !rate)
    throw new DittoError('DITTO_LOAD_FAILED', `wrk output has no summary: ${text.slice(0, 200)}`);
  const percentile = (p: string) => {
    const m = new RegExp(`^\\s+${p}%\\s+(\\S+)`, 'm').exec(text);
    return m?.[1] ? timeUs(m[1]) : null;
  };
  const p50 = percentile('50');
  const p99 = percentile('99');
  if (p50 === null || p99 === null) {
    throw new DittoError('DITTO_LOAD_FAILED', 'wrk output has no latency distribution', {
      hint: 'add --latency to the client args of the target spec',
    });
  }
  const latency = /Latency\s+(\S+)\s+(\S+)\s+(\S+)/.exec(text);
  const connections = /(\d+) threads and (\d+) connections/.exec(text);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(text);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const requests = Number(summary[1]);
  const socketErrors = socket ? Number(socket[1]) + Number(socket[2]) + Number(socket[3]) : 0;
  const result: LoadResult = {
    schemaVersion: 1,
    tool: 'wrk',
    protocol: 'http',
    target,
    mode: 'closed',
    requestedRate: null,
    achievedRate: Number(rate[1]),
    durationS: timeUs(`${summary[2]}${summary[3]}`) / 1e6,
    connections: connections ? Number(connections[2]) : 0,
    requests,
    responses: requests,
    errors: (non2xx ? Number(non2xx[1]) : 0) + socketErrors,
    timeouts: socket ? Number(socket[4]) : 0,
    protocolErrors: null,
    bytesSent: null,
    bytesReceived: Math.round(Number(summary[4]) * (sizeUnits[summary[5] ?? 'B'] ?? 1)),
    latencyUs: {
      min: null,
      mean: latency?.[1] ? timeUs(latency[1]) : null,
      p50,
      p90: percentile('90'),
      p95: null,
      p99,
      p999: null,
      max: latency?.[3] ? timeUs(latency[3]) : null,
    },
    rateReached: null,
    clientCpuPerRequestUs: null,
    warnings: [],
  };
  result.warnings = loadWarnings(result);
  return result;
}
