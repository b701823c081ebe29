// Words ditto itself puts into a profile whatever the target: schema field names and enum values, syscall names,
// instruction-mix categories. A target string that is one of these is not a leak (libc contains "sendmsg" too).
import { z } from 'zod';
import { mixCategory, mixClasses, mixExts, mixMems } from '../analyze/cpu/isa.ts';
import { profileSchema } from '../artifacts/profile.ts';
import { knownSyscallNames } from '../collect/bpftrace/syscalls-x86_64.ts';
import { jsonStrings } from './privacy.ts';

export function profileVocabulary(): Set<string> {
  const words = jsonStrings(z.toJSONSchema(profileSchema, { unrepresentable: 'any' }));
  for (const name of knownSyscallNames()) words.add(name);
  for (const ext of mixExts) {
    for (const cls of mixClasses) for (const mem of mixMems) words.add(mixCategory({ ext, cls, mem }));
  }
  return words;
}
