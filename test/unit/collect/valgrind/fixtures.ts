// Recorded valgrind/objdump output of memcached 1.6.18 (memcaslap gets/sets, 2,976 requests in the window).
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import type { Disassembly } from '../../../../src/analyze/cpu/program.ts';
import type { CallgrindProfile } from '../../../../src/collect/valgrind/callgrind.ts';
import { parseObjdump } from '../../../../src/collect/valgrind/objdump.ts';

const dir = new URL('../../../fixtures/valgrind/', import.meta.url);

export function fixtureText(name: string): string {
  const data = readFileSync(new URL(name, dir));
  return (name.endsWith('.gz') ? gunzipSync(data) : data).toString('utf8');
}

export const windowRequests = 2976;

/** The recorded disassembly (executed instructions and their successors) per object of the profile. */
export function fixtureDisassembly(profile: CallgrindProfile): Disassembly {
  const out = new Map<number, ReturnType<typeof parseObjdump>>();
  profile.objects.forEach((path, i) => {
    const name = path.split('/').pop()?.split('.so')[0];
    if (!path.startsWith('/') || !name) return;
    out.set(i, parseObjdump(fixtureText(`${name}.objdump.gz`)));
  });
  return out;
}
