// How many of a loop body's memory operands go to each memory target (pure; block.ts gives them their places).
// Far streams come first: their accesses per iteration are planned absolutely (`farPerIteration`, the invocation's
// spread over its blocks by instructions, emit.ts), so that whatever size the loop body comes out at, an invocation
// takes its share of new lines. The near targets share the operands left.
import type { MemoryTarget } from './layout.ts';
import { apportion } from './random.ts';

export interface QuotaInput {
  memory: MemoryTarget[];
  /** Window streams with their own cursor; the streams after them are far. */
  streams: number;
  farStreams: number;
  /** Per far stream, its accesses per iteration (new lines: a fraction). */
  farPerIteration: number[];
  /** Per memory target, accesses per invocation that earlier blocks owe (rounding); updated. */
  carry: number[];
  /** Executions of the loop body per invocation. */
  weight: number;
  /** The invocation's last block: it takes every far operand still owed. */
  last: boolean;
}

export const isFar = (m: MemoryTarget, streams: number) => m.kind === 'stream' && m.stream >= streams;

/**
 * The far streams' operands per iteration (quota, 0 for near targets) and counter advances (lines), for a body of
 * `operands` memory operands. A far stream's operands are its accesses rounded up, and each iteration advances it by
 * the exact accesses in lines (its counter moves by that many bytes), so that the iteration's first operand
 * re-touches the previous one's last line by the fraction rounding added. Under half a line per iteration in a loop
 * (half a line per run once through) is carried to later blocks (the last one takes whatever it is owed): such a
 * stream would cost its addressing for operands that mostly re-touch. `rounding`: the operands rounding added.
 */
export function farQuotas(
  input: QuotaInput,
  operands: number,
): { quota: number[]; advance: number[]; rounding: number } {
  const weight = Math.max(1e-9, input.weight);
  const far = (m: MemoryTarget) => isFar(m, input.streams);
  const owed = input.memory.map((m, i) =>
    far(m)
      ? Math.max(0, (input.farPerIteration[m.stream - input.streams] ?? 0) + (input.carry[i] ?? 0) / weight)
      : 0,
  );
  const operandsFor = (share: number) =>
    (input.last ? share > 0 : share >= 0.5) ? Math.ceil(share - 1e-9) : 0;
  // A loop body with fewer memory operands than its far accesses need (each also takes a load of its counter from
  // the mix when rounding adds it: a body whose instructions are mostly string ops) takes the share of them its
  // operands hold and carries the rest.
  const needed = (room: number) => {
    let n = 0;
    let added = 0;
    for (const a of owed) {
      const k = operandsFor(a * room);
      n += k;
      if (k > 0) added += k - a * room;
    }
    return n + Math.round(added);
  };
  let room = 1;
  while (room > 0 && needed(room) > operands) room = Math.max(0, room - 1 / 32);
  const quota = input.memory.map(() => 0);
  const advance = new Array<number>(input.farStreams).fill(0);
  let rounding = 0;
  input.memory.forEach((m, i) => {
    if (!far(m)) return;
    const share = (owed[i] ?? 0) * room;
    const n = operandsFor(share);
    quota[i] = n;
    advance[m.stream - input.streams] = n > 0 ? share : 0;
    input.carry[i] = ((owed[i] ?? 0) - (n > 0 ? share : 0)) * weight;
    if (n > 0) rounding += n - share;
  });
  return { quota, advance, rounding };
}

/**
 * Fills in the near targets' quotas: they share the `operands` the far ones leave, by their shares; what rounding
 * gives or takes is carried to the next block, so that rare targets still get their share of the invocation.
 */
export function nearQuotas(input: QuotaInput, quota: number[], operands: number): void {
  const weight = Math.max(1e-9, input.weight);
  const near = input.memory.flatMap((m, i) => (isFar(m, input.streams) ? [] : [i]));
  const left = Math.max(0, operands - quota.reduce((sum, q) => sum + q, 0));
  const shares = near.reduce((sum, i) => sum + (input.memory[i]?.share ?? 0), 0);
  const exact = near.map((i) =>
    Math.max(
      0,
      ((input.memory[i]?.share ?? 0) / Math.max(shares, 1e-12)) * left + (input.carry[i] ?? 0) / weight,
    ),
  );
  const apportioned = apportion(exact, left);
  near.forEach((i, j) => {
    quota[i] = apportioned[j] ?? 0;
    input.carry[i] = ((exact[j] ?? 0) - (apportioned[j] ?? 0)) * weight;
  });
}
