// The clone runtime's own user-space instructions and indirect jumps per request (pure): what native/runtime
// executes around a request (readiness wait, receive, protocol parsing, response framing, send) with an empty body
// and an empty response payload. The planner subtracts them from the profiled figures so that body + runtime =
// original.
//
// Measured as the profile measures the original (callgrind window of profileCpuBody, ditto-load at 3000 req/s,
// one class at a time) on an event-loop clone; test/integration/runtime.test.ts re-measures every entry and checks
// it within 10% (indirect jumps: 2 per request). It depends on the events each epoll_wait returns and on the
// payload: memcached's dispatch clone (4 network threads) with 1 KiB values ran 1339 / 1124 (get / set); the tuner
// takes the rest. Payload filler is sent by reference with writev and sendmsg; with write and sendto it is copied
// (below 2 KiB ≈ 0.2 instructions per byte, above it callgrind counts each byte of glibc's rep movsb), not included.
import type { RequestClass } from '../artifacts/profile.ts';
import type { Protocol } from '../spec/target-spec.ts';

/** Instructions per request by protocol and class (memcached get: a hit of one byte, the smallest hit). */
export const runtimeInstructions: Record<Protocol, Partial<Record<RequestClass, number>>> = {
  memcached: { get: 1147, set: 968 },
  redis: { get: 782, set: 881 },
  // http profiles have one class, GET (src/profile/classes.ts).
  http: { get: 1304 },
};

/**
 * Indirect jumps and calls per request, as valgrind counts them: mostly the runtime's calls into libc through the
 * PLT (a stub always jumps to the same function: 2% of them mispredicted in memcached's clone).
 */
export const runtimeIndirectJumps: Record<Protocol, Partial<Record<RequestClass, number>>> = {
  memcached: { get: 10, set: 12 },
  redis: { get: 5, set: 6 },
  http: { get: 15 },
};

/** Share of the runtime's indirect jumps that valgrind mispredicts (memcached's clone: 2%). */
export const runtimeIndirectMispredictRate = 0.02;

type RuntimeTable = Record<Protocol, Partial<Record<RequestClass, number>>>;

/** What the body must do of a profiled total: what the runtime does not already (never negative). */
function bodyPart(table: RuntimeTable, protocol: Protocol, cls: RequestClass, profiled: number): number {
  return Math.max(0, profiled - (table[protocol][cls] ?? 0));
}

export function bodyInstructions(protocol: Protocol, cls: RequestClass, profiled: number): number {
  return bodyPart(runtimeInstructions, protocol, cls, profiled);
}

export function bodyIndirectJumps(protocol: Protocol, cls: RequestClass, profiled: number): number {
  return bodyPart(runtimeIndirectJumps, protocol, cls, profiled);
}

/**
 * The body's indirect mispredict rate: the profiled jumps' mispredicts less the runtime's, over the body's jumps.
 * The runtime's PLT jumps are predicted, so the body makes nearly all of the original's mispredicts (memcached's
 * get: 25% of 45 jumps, 40% of the body's 27). Null when the profile has none.
 */
export function bodyIndirectMispredictRate(
  protocol: Protocol,
  cls: RequestClass,
  profiledJumps: number,
  profiledRate: number | null,
): number | null {
  const jumps = bodyIndirectJumps(protocol, cls, profiledJumps);
  if (profiledRate === null || jumps <= 0) return profiledRate;
  const runtime = (profiledJumps - jumps) * runtimeIndirectMispredictRate;
  return Math.min(1, Math.max(0, (profiledRate * profiledJumps - runtime) / jumps));
}
