// Parses `perf script -F comm,pid,tid,ip,sym,dso` output into samples whose frames are hashed at once:
// symbol names and paths of the original never leave this function.
import { createHash } from 'node:crypto';

export interface StackSample {
  pid: number;
  tid: number;
  /** Hashed frames, outermost (thread start) first. */
  frames: string[];
  /** The innermost frame runs in the kernel. */
  kernelLeaf: boolean;
}

export function hashFrame(frame: string): string {
  return createHash('sha1').update(frame).digest('hex').slice(0, 16);
}

const headerLine = /^\S.*?\s+(\d+)\/(\d+)\s*$/;
const frameLine = /^\s+([0-9a-f]+)\s+(.*?)\s+\((.*)\)\s*$/;

/** A frame's identity: the symbol where there is one, else the object and offset (stripped code). */
function frameKey(ip: string, sym: string, dso: string): string {
  const object = dso.slice(dso.lastIndexOf('/') + 1);
  if (sym && sym !== '[unknown]') return `${object}:${sym.replace(/\+0x[0-9a-f]+$/, '')}`;
  return `${object}:${ip}`;
}

export function parsePerfScript(text: string): StackSample[] {
  const samples: StackSample[] = [];
  for (const block of text.split(/\n\s*\n/)) {
    const lines = block.split('\n').filter((l) => l.trim() !== '');
    const header = lines[0] ? headerLine.exec(lines[0]) : null;
    if (!header) continue;
    const innermostFirst: string[] = [];
    let kernelLeaf = false;
    for (const [index, line] of lines.slice(1).entries()) {
      const m = frameLine.exec(line);
      if (!m) continue;
      const [, ip = '', sym = '', dso = ''] = m;
      // perf ends truncated user stacks with an all-ones address: not a frame.
      if (/^f{16}$/.test(ip)) continue;
      if (index === 0) kernelLeaf = dso === '[kernel.kallsyms]';
      innermostFirst.push(hashFrame(frameKey(ip, sym, dso)));
    }
    if (innermostFirst.length === 0) continue;
    samples.push({
      pid: Number(header[1]),
      tid: Number(header[2]),
      frames: innermostFirst.reverse(),
      kernelLeaf,
    });
  }
  return samples;
}

export interface CpuModeSamples {
  user: number;
  kernel: number;
}

/** The first address of x86-64's upper (kernel) half. */
const kernelHalf = 0xffff800000000000n;

/** Counts `perf script -F ip` samples by the mode their instruction pointer was in. */
export function countCpuModes(text: string): CpuModeSamples {
  const counts: CpuModeSamples = { user: 0, kernel: 0 };
  for (const line of text.split('\n')) {
    const ip = line.trim();
    if (!/^[0-9a-f]{1,16}$/.test(ip)) continue;
    if (BigInt(`0x${ip}`) >= kernelHalf) counts.kernel++;
    else counts.user++;
  }
  return counts;
}
