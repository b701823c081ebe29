// When the clone's background threads wake (pure): as often as the original's did at the profiled mix, and
// following the request rate as the original's did between the profiled load and a busier one.
import type { BodyPlan, ClonePlan } from '../artifacts/clone-plan.ts';
import type { Profile } from '../artifacts/profile.ts';

type WakeupPoint = NonNullable<Profile['observed']>['backgroundWakeups'][number];

/** Two loads closer than this tell too little about the slope. */
const minRateRatio = 1.5;
const maxRescale = 10;

/**
 * The exponent k of wake-ups/s ∝ (requests/s)^k between the first two points: 0 for a fixed timer, 1 for a thread
 * woken per request. Clamped to ±1: two noisy points can give any slope, and no thread seen followed the load more
 * steeply than one woken per request (or one that sleeps in proportion to it).
 */
export function wakeupRateExponent(points: readonly WakeupPoint[]): number {
  const [a, b] = points;
  if (!a || !b || a.wakeupsPerSecond <= 0 || b.wakeupsPerSecond <= 0) return 0;
  if (a.requestsPerSecond <= 0 || b.requestsPerSecond <= 0) return 0;
  const rateRatio = b.requestsPerSecond / a.requestsPerSecond;
  if (Math.max(rateRatio, 1 / rateRatio) < minRateRatio) return 0;
  const k = Math.log(b.wakeupsPerSecond / a.wakeupsPerSecond) / Math.log(rateRatio);
  return Math.max(-1, Math.min(1, k));
}

/**
 * The background thread groups. Their periods come from the traced skeleton windows, which load one request class
 * at a time; the untraced mixed window's wake-ups rescale them (memcached's LRU maintainer woke every 3.2 ms under
 * gets alone and every 1.2 ms under the mix), and the busier window gives how they follow the load. A thread of a
 * group that wakes runs `body` at every wake-up.
 */
export function backgroundPlan(profile: Profile, body: BodyPlan | null = null): ClonePlan['background'] {
  const groups = (profile.skeleton?.threads ?? []).filter((t) => t.role === 'background');
  const points = profile.observed?.backgroundWakeups ?? [];
  const profiled = points[0];
  const skeletonWakeups = groups.reduce(
    (n, g) => n + (g.periodMs === null ? 0 : (g.count * 1000) / g.periodMs),
    0,
  );
  // Bounded: beyond 10x either way the two windows did not watch the same threads doing the same thing.
  const scale =
    profiled && profiled.wakeupsPerSecond > 0 && skeletonWakeups > 0
      ? Math.min(maxRescale, Math.max(1 / maxRescale, skeletonWakeups / profiled.wakeupsPerSecond))
      : 1;
  const exponent = wakeupRateExponent(points);
  const busy = backgroundBusyShare(profile);
  return groups.map((g) => ({
    count: g.count,
    periodMs: g.periodMs === null ? null : g.periodMs * scale,
    followsLoad:
      g.periodMs !== null && profiled && profiled.requestsPerSecond > 0 && exponent !== 0
        ? { referenceRate: profiled.requestsPerSecond, exponent }
        : null,
    // The profile measures the work per wake-up over all background threads: every one that wakes does it.
    body: g.periodMs === null ? null : body,
    busyShare: g.periodMs === null || body === null ? null : busy,
  }));
}

/** Headroom of a clone's background thread over the original's busy share: a clone tuned to the original's CPU
 * time sits at that share, and bound to it exactly it lost wake-ups to every preemption (memcached: its background
 * CPU 0.98 of the original's at the tune, 0.76 when judged, with the wake-up body 4.8 times as long). */
const busyHeadroom = 3;

/**
 * The share of wall time each waking background thread may spend awake: the original's at the profiled load (its
 * CPU time per request × requests per second, over the threads that wake), times busyHeadroom; null when not
 * observed. memcached's LRU maintainer: 4.7 us per request at 5000 req/s, 2.4%. Under callgrind it woke 26 times a
 * second where natively it woke 900 times; a clone thread bound to a few times that share wakes rarely there too
 * (each wake-up then takes ≈ 1 ms).
 */
export function backgroundBusyShare(profile: Profile): number | null {
  const observed = profile.observed;
  const threads = (profile.skeleton?.threads ?? [])
    .filter((t) => t.role === 'background' && t.periodMs !== null)
    .reduce((n, t) => n + t.count, 0);
  const cpuNs = observed?.baseline.byRole.find((r) => r.role === 'background')?.cpuNsPerRequest;
  const rate = observed?.load.achievedRate ?? 0;
  if (!cpuNs || threads === 0 || rate <= 0) return null;
  return Math.min(1, (busyHeadroom * cpuNs * rate) / 1e9 / threads);
}
