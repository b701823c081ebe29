// eBPF topology discovery: reads the watched processes' sockets from /proc, runs the discovery script for a
// window, and builds topology.json from what it saw.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import type { Topology } from '../../artifacts/topology.ts';
import { startBpftrace } from '../../collect/bpftrace/run.ts';
import { parseStat } from '../../collect/procfs/parse.ts';
import { processExists, processTree } from '../../collect/procfs/read.ts';
import { DittoError } from '../../errors.ts';
import { ensureTracefs } from '../../sys/capabilities.ts';
import { topologyFromTraffic } from './build.ts';
import { type DiscoveredTraffic, parseDiscoverOutput } from './parse.ts';
import { type ProcessInfo, parseProcNetTcp, processInfo, socketInodes, type TcpSocket } from './procnet.ts';
import { discoverScript } from './script.ts';

export interface DiscoverOptions {
  /** Processes to watch; their descendants (nginx workers) are watched too. */
  pids: readonly number[];
  windowSec: number;
  attachTimeoutMs?: number;
  progress?: (message: string) => void;
}

export interface Discovery {
  topology: Topology;
  /** The processes as read from /proc (before the window, and those forked during it). */
  processes: ProcessInfo[];
  traffic: DiscoveredTraffic;
  /** bpftrace's JSON output as printed, for recording. */
  stdout: string;
  attachMs: number;
}

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ESRCH';
}

function readTcpTables(pid: number): TcpSocket[] {
  return ['tcp', 'tcp6'].flatMap((name) => {
    const file = `/proc/${pid}/net/${name}`;
    try {
      return parseProcNetTcp(readFileSync(file, 'utf8'), file);
    } catch (error) {
      if (isMissing(error)) return [];
      throw error;
    }
  });
}

/** One process's command, parent and TCP sockets; undefined when it has exited. */
function readProcess(pid: number): ProcessInfo | undefined {
  try {
    const comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    const { ppid } = parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    const fdDir = `/proc/${pid}/fd`;
    const targets = readdirSync(fdDir).flatMap((fd) => {
      try {
        return [readlinkSync(`${fdDir}/${fd}`)];
      } catch (error) {
        if (isMissing(error)) return []; // closed meanwhile
        throw error;
      }
    });
    return processInfo({ pid, ppid, comm }, readTcpTables(pid), socketInodes(targets));
  } catch (error) {
    if (isMissing(error)) return undefined;
    if ((error as NodeJS.ErrnoException).code === 'EACCES') {
      throw new DittoError('DITTO_NOT_PERMITTED', `cannot read the sockets of pid ${pid} (/proc/${pid}/fd)`, {
        hint: 'run ditto as root or as the user that runs the process',
      });
    }
    throw error;
  }
}

function readProcesses(pids: Iterable<number>): ProcessInfo[] {
  return [...pids].map(readProcess).filter((p): p is ProcessInfo => p !== undefined);
}

function localAddresses(): string[] {
  return Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address));
}

export async function discoverTopology(options: DiscoverOptions): Promise<Discovery> {
  const progress = options.progress ?? (() => {});
  const gone = options.pids.filter((pid) => !processExists(pid));
  if (gone.length > 0) {
    throw new DittoError('DITTO_TARGET_FAILED', `pid ${gone.join(', ')}: no such running process`, {
      hint: 'pass the pids of running processes, e.g. --pids $(pgrep -d, nginx)',
    });
  }
  const tracefs = await ensureTracefs();
  if (!tracefs.available) {
    throw new DittoError('DITTO_NOT_PERMITTED', `tracefs is not available: ${tracefs.detail}`, {
      ...(tracefs.hint ? { hint: tracefs.hint } : {}),
    });
  }
  const watched = new Set(options.pids.flatMap((pid) => processTree(pid)));
  const before = readProcesses(watched);
  const script = discoverScript({
    pids: [...watched],
    listenPorts: before.flatMap((p) => p.listeners.map((l) => l.port)),
    ownClientPorts: before.flatMap((p) => p.clientPorts),
    windowSec: options.windowSec,
  });
  progress(`attaching bpftrace to ${watched.size} processes`);
  const { tracer, attachMs } = await startBpftrace(script, {
    attachTimeoutMs: options.attachTimeoutMs ?? 60_000,
    // One key per watched process and peer address / port, and per open socket: small.
    mapKeysMax: 65_536,
  });
  progress(`watching for ${options.windowSec} s`);
  // The script closes the window and exits by itself; a signal is only the fallback.
  const deadline = setTimeout(
    () => void tracer.stop({ signal: 'SIGINT', graceMs: 20_000 }),
    (options.windowSec + 30) * 1000,
  );
  const exit = await tracer.exited;
  clearTimeout(deadline);
  if (exit.signal === 'SIGKILL') {
    throw new DittoError('DITTO_TOOL_FAILED', 'bpftrace did not print its maps within 20 s of SIGINT');
  }
  if (exit.exitCode !== 0 && !exit.signal) {
    throw new DittoError('DITTO_TOOL_FAILED', `bpftrace ${exit.description}: ${tracer.outputTail(6)}`);
  }
  const stdout = tracer.stdout();
  const traffic = parseDiscoverOutput(stdout);
  // Processes forked during the window (a respawned worker) are read now; those present before keep
  // what they had when the script's listening ports were fixed.
  const known = new Set(before.map((p) => p.pid));
  const later = new Set([...traffic.flows.map((f) => f.pid), ...traffic.connects.map((c) => c.pid)]);
  const processes = [...before, ...readProcesses([...later].filter((pid) => !known.has(pid)))];
  const topology = topologyFromTraffic(processes, traffic, { localAddrs: localAddresses() });
  return { topology, processes, traffic, stdout, attachMs };
}
