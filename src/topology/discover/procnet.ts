// /proc/PID/net/tcp{,6} and the socket inodes of /proc/PID/fd → the TCP sockets a process owns (pure).
import { DittoError } from '../../errors.ts';

export interface TcpSocket {
  localAddr: string;
  localPort: number;
  remoteAddr: string;
  remotePort: number;
  /** Kernel TCP state: 1 ESTABLISHED, 10 LISTEN, ... */
  state: number;
  inode: number;
}

export const tcpListen = 10;
export const tcpEstablished = 1;

/** One process as discovery sees it: what it is called, what it listens on, which connections it opened. */
export interface ProcessInfo {
  pid: number;
  ppid: number;
  comm: string;
  listeners: { addr: string; port: number; inode: number }[];
  /** Established connections whose local port is not one the process listens on: it connected. */
  clientPorts: number[];
}

function bad(file: string, line: string): DittoError {
  return new DittoError('DITTO_TOOL_FAILED', `${file}: unexpected line "${line.trim().slice(0, 80)}"`);
}

/** The kernel prints each 32-bit word of an address with %08X of its in-memory (network-order) value. */
function hexAddress(hex: string): string {
  const words = hex.match(/.{8}/g) ?? [];
  const bytes = words.flatMap((w) => {
    const n = Number.parseInt(w, 16);
    return [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, n >>> 24];
  });
  if (bytes.length === 4) return bytes.join('.');
  const mapped = bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 255 && bytes[11] === 255;
  if (mapped) return bytes.slice(12).join('.');
  if (bytes.every((b) => b === 0)) return '::';
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0)).toString(16));
  return groups.join(':');
}

/** Parses /proc/net/tcp or /proc/net/tcp6 (`file` names it in errors). */
export function parseProcNetTcp(text: string, file: string): TcpSocket[] {
  const out: TcpSocket[] = [];
  for (const line of text.split('\n').slice(1)) {
    if (!line.trim()) continue;
    const f = line.trim().split(/\s+/);
    const [local, remote, state, inode] = [f[1], f[2], f[3], f[9]];
    const l = local?.split(':');
    const r = remote?.split(':');
    if (!l || !r || l.length !== 2 || r.length !== 2 || !state || !inode) throw bad(file, line);
    out.push({
      localAddr: hexAddress(l[0] ?? ''),
      localPort: Number.parseInt(l[1] ?? '', 16),
      remoteAddr: hexAddress(r[0] ?? ''),
      remotePort: Number.parseInt(r[1] ?? '', 16),
      state: Number.parseInt(state, 16),
      inode: Number(inode),
    });
  }
  return out;
}

/** Socket inodes from the targets of /proc/PID/fd links ("socket:[123]"). */
export function socketInodes(fdTargets: readonly string[]): Set<number> {
  const inodes = new Set<number>();
  for (const target of fdTargets) {
    const m = /^socket:\[(\d+)\]$/.exec(target);
    if (m) inodes.add(Number(m[1]));
  }
  return inodes;
}

export function processInfo(
  base: { pid: number; ppid: number; comm: string },
  sockets: readonly TcpSocket[],
  inodes: ReadonlySet<number>,
): ProcessInfo {
  const own = sockets.filter((s) => inodes.has(s.inode));
  const listeners = own
    .filter((s) => s.state === tcpListen)
    .map((s) => ({ addr: s.localAddr, port: s.localPort, inode: s.inode }));
  const listening = new Set(listeners.map((l) => l.port));
  const clientPorts = own
    .filter((s) => s.state === tcpEstablished && !listening.has(s.localPort))
    .map((s) => s.localPort);
  return { ...base, listeners, clientPorts };
}
