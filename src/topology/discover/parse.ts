// Reads the maps the discovery script prints (`bpftrace -f json`) into flows per process and peer (pure).
import { type LogBucket, parseBpftraceJson } from '../../collect/bpftrace/parse.ts';
import { DittoError } from '../../errors.ts';

/** Messages one side of a connection sent or received: a message is a run of sends (or receives). */
export interface MessageSide {
  bytes: number;
  /** Messages started in the window (the rate). */
  messages: number;
  /** Sizes of the messages that ended in the window (a change of direction or the close ended them). */
  sizes: LogBucket[];
  sizeSum: number;
  sizeMin: number | undefined;
  sizeMax: number | undefined;
}

export interface Flow {
  pid: number;
  /** The watched process accepted the connection (it listens on `port`); otherwise it connected to `port`. */
  inbound: boolean;
  remoteAddr: string;
  /** The listening port of the connection: local when inbound, remote when outbound. */
  port: number;
  /** Inbound only: the connecting side is a watched process too. */
  peerWatched: boolean;
  sent: MessageSide;
  received: MessageSide;
  /** From the start of a request to the first byte of its answer, as seen by this side (µs). */
  latencyUs: LogBucket[];
  latencySumUs: number;
}

export interface DiscoveredTraffic {
  elapsedNs: number;
  flows: Flow[];
  /** connect() calls of watched processes. */
  connects: { pid: number; remoteAddr: string; port: number; count: number }[];
  /** Connections accepted on the watched listening ports (by whom is unknown: softirq context). */
  accepts: { port: number; remoteAddr: string; peerWatched: boolean; count: number }[];
  forks: { parent: number; child: number }[];
  /** Socket traffic on IPv6 connections, which the script does not attribute. */
  ipv6: { pid: number; events: number }[];
}

function malformed(detail: string): DittoError {
  return new DittoError('DITTO_TOOL_FAILED', `bpftrace printed unexpected discovery output: ${detail}`, {
    hint: 'ditto expects bpftrace 0.17 or newer with -f json',
  });
}

function ints(key: string, size: number, map: string): number[] {
  const parts = key.split(',').map(Number);
  if (parts.length !== size || parts.some((n) => !Number.isInteger(n))) {
    throw malformed(`${map} key "${key}" is not ${size} integers`);
  }
  return parts;
}

/** An IPv4 address as the kernel stores it (network order) read as a little-endian u32. */
export function ipv4FromKernel(value: number): string {
  return [value & 255, (value >>> 8) & 255, (value >>> 16) & 255, value >>> 24].join('.');
}

const emptySide = (): MessageSide => ({
  bytes: 0,
  messages: 0,
  sizes: [],
  sizeSum: 0,
  sizeMin: undefined,
  sizeMax: undefined,
});

export function parseDiscoverOutput(stdout: string): DiscoveredTraffic {
  const raw = parseBpftraceJson(stdout);
  const map = (name: string) => raw.maps.get(`@${name}`) ?? new Map<string, number>();
  const hist = (name: string) => raw.hists.get(`@${name}`) ?? new Map<string, LogBucket[]>();
  const elapsedNs = map('elapsed_ns').get('');
  if (elapsedNs === undefined) {
    throw new DittoError('DITTO_TOOL_FAILED', 'bpftrace printed no maps (it was killed before it could)', {
      hint: 'stop bpftrace with SIGINT and give it a few seconds',
    });
  }

  // Flow keys are "pid,inbound,addr,port,peer"; per-direction maps add ",dir" (1 sent, 2 received).
  const flows = new Map<string, Flow>();
  const flowOf = (key: string, what: string): Flow => {
    let flow = flows.get(key);
    if (!flow) {
      const [pid, inbound, addr, port, peer] = ints(key, 5, what) as [number, number, number, number, number];
      flow = {
        pid,
        inbound: inbound === 1,
        remoteAddr: ipv4FromKernel(addr),
        port,
        peerWatched: peer === 1,
        sent: emptySide(),
        received: emptySide(),
        latencyUs: [],
        latencySumUs: 0,
      };
      flows.set(key, flow);
    }
    return flow;
  };
  const sideOf = (key: string, what: string): MessageSide => {
    const cut = key.lastIndexOf(',');
    const dir = key.slice(cut + 1);
    if (dir !== '1' && dir !== '2') throw malformed(`${what} key "${key}" has direction ${dir}`);
    const flow = flowOf(key.slice(0, cut), what);
    return dir === '1' ? flow.sent : flow.received;
  };
  for (const [key, n] of map('bytes')) sideOf(key, '@bytes').bytes = n;
  for (const [key, n] of map('msgs')) sideOf(key, '@msgs').messages = n;
  for (const [key, buckets] of hist('size')) sideOf(key, '@size').sizes = buckets.filter((b) => b.count > 0);
  for (const [key, n] of map('size_sum')) sideOf(key, '@size_sum').sizeSum = n;
  for (const [key, n] of map('size_min')) sideOf(key, '@size_min').sizeMin = n;
  for (const [key, n] of map('size_max')) sideOf(key, '@size_max').sizeMax = n;
  for (const [key, buckets] of hist('lat_us')) {
    flowOf(key, '@lat_us').latencyUs = buckets.filter((b) => b.count > 0);
  }
  for (const [key, n] of map('lat_sum')) flowOf(key, '@lat_sum').latencySumUs = n;

  return {
    elapsedNs,
    flows: [...flows.values()],
    connects: [...map('connects')].map(([key, count]) => {
      const [pid, addr, port] = ints(key, 3, '@connects') as [number, number, number];
      return { pid, remoteAddr: ipv4FromKernel(addr), port, count };
    }),
    accepts: [...map('accepts')].map(([key, count]) => {
      const [port, addr, peer] = ints(key, 3, '@accepts') as [number, number, number];
      return { port, remoteAddr: ipv4FromKernel(addr), peerWatched: peer === 1, count };
    }),
    forks: [...map('fork').keys()].map((key) => {
      const [parent, child] = ints(key, 2, '@fork') as [number, number];
      return { parent, child };
    }),
    ipv6: [...map('v6')].map(([key, events]) => ({ pid: ints(key, 1, '@v6')[0] as number, events })),
  };
}
