// Request classes of a workload and the class-pure loads that isolate each (pure).
import type { RequestClass } from '../artifacts/profile.ts';
import type { LoadOptions } from '../collect/load/options.ts';
import type { Workload } from '../spec/target-spec.ts';

export interface ClassShare {
  name: RequestClass;
  share: number;
}

/** HTTP GETs are one class; key-value workloads split into gets and sets by their read share. */
export function requestClassesOf(protocol: 'memcached' | 'redis' | 'http', workload: Workload): ClassShare[] {
  if (protocol === 'http') return [{ name: 'get', share: 1 }];
  const classes: ClassShare[] = [];
  if (workload.getRatio > 0) classes.push({ name: 'get', share: workload.getRatio });
  if (workload.getRatio < 1) classes.push({ name: 'set', share: 1 - workload.getRatio });
  return classes;
}

/** Load option overrides that send only requests of one class. */
export function classOverrides(requestClass: RequestClass): Partial<LoadOptions> {
  return { getRatio: requestClass === 'get' ? 1 : 0 };
}
