// Parses a callgrind output file (one dump) into per-instruction self costs, jumps and calls (pure).
// Needs --dump-instr=yes (instruction positions); --collect-jumps=yes adds the jump records. Compressed names are
// accepted; positions must be absolute (--compress-pos=no). Object paths and function names are kept only so that the join with
// objdump can find the code; analyzers never pass them on.
import { DittoError } from '../../errors.ts';

export interface CallgrindInstruction {
  /** Index into `objects`. */
  object: number;
  /** Object-relative address (as objdump of that object prints it). */
  address: number;
  /** Index into `functions`: the function the instruction was listed under. */
  fn: number;
  /** Self cost per event, in the order of `events`. */
  costs: number[];
}

export interface CallgrindJump {
  object: number;
  from: number;
  to: number;
  /** Times the jump was taken. */
  taken: number;
  /** Times a conditional jump was executed (taken or not); undefined for unconditional jumps. */
  executed: number | undefined;
}

export interface CallgrindCall {
  object: number;
  /** Address of the calling instruction. */
  site: number;
  targetObject: number;
  target: number;
  /** Index into `functions` of the callee. */
  callee: number;
  count: number;
}

export interface CallgrindProfile {
  events: string[];
  /** `summary:` or `totals:` of the file; undefined when neither is present. */
  totals: number[] | undefined;
  /** The `desc: Trigger:` text (e.g. "dump window"). */
  trigger: string | undefined;
  objects: string[];
  /** "object index NUL function name", one per distinct function. */
  functions: string[];
  instructions: CallgrindInstruction[];
  jumps: CallgrindJump[];
  calls: CallgrindCall[];
}

function fail(line: number, message: string): never {
  throw new DittoError('DITTO_TOOL_FAILED', `callgrind output line ${line}: ${message}`, {
    hint: 'run callgrind with --dump-instr=yes and read the dump it wrote, not a truncated file',
  });
}

/** Name tables for the `(id) name` compression of --compress-strings=yes (the default). */
class Names {
  private byId = new Map<string, string>();
  resolve(value: string, line: number): string {
    const m = /^\((\d+)\)(?:\s+(.*))?$/.exec(value);
    if (!m) return value;
    const [, id = '', name] = m;
    if (name !== undefined) {
      this.byId.set(id, name);
      return name;
    }
    const known = this.byId.get(id);
    if (known === undefined) fail(line, `unknown compressed name (${id})`);
    return known;
  }
}

export function parseCallgrind(text: string): CallgrindProfile {
  const lines = text.split('\n');
  let events: string[] | undefined;
  let totals: number[] | undefined;
  let trigger: string | undefined;
  let positionColumns = 1;
  const objects: string[] = [];
  const objectIndex = new Map<string, number>();
  const functions: string[] = [];
  const functionIndex = new Map<string, number>();
  const obNames = new Names();
  const fnNames = new Names();
  const fileNames = new Names();
  const byKey = new Map<string, CallgrindInstruction>();
  const instructions: CallgrindInstruction[] = [];
  const jumps: CallgrindJump[] = [];
  const calls: CallgrindCall[] = [];

  const objectOf = (name: string) => {
    let i = objectIndex.get(name);
    if (i === undefined) {
      i = objects.length;
      objects.push(name);
      objectIndex.set(name, i);
    }
    return i;
  };
  const functionOf = (object: number, name: string) => {
    const key = `${object}\u0000${name}`;
    let i = functionIndex.get(key);
    if (i === undefined) {
      i = functions.length;
      functions.push(key);
      functionIndex.set(key, i);
    }
    return i;
  };

  let ob = objectOf('???');
  let fn = functionOf(ob, '???');
  let cob: number | undefined;
  let cfn: string | undefined;
  let lastAddress = 0;
  // What the next position line is: a cost line, the inclusive cost after calls=, or the source of a jump.
  let pending:
    | { kind: 'call'; count: number; target: number }
    | { kind: 'jump'; jump: Omit<CallgrindJump, 'from'> }
    | undefined;

  const address = (token: string, line: number): number => {
    let value: number;
    if (token === '*') value = lastAddress;
    else if (token.startsWith('+') || token.startsWith('-')) {
      fail(line, 'relative positions are not supported; run callgrind with --compress-pos=no');
    } else value = Number.parseInt(token, token.startsWith('0x') ? 16 : 10);
    if (!Number.isFinite(value)) fail(line, `bad instruction position ${token}`);
    lastAddress = value;
    return value;
  };

  for (let n = 0; n < lines.length; n++) {
    const raw = lines[n] ?? '';
    const line = n + 1;
    if (raw === '' || raw.startsWith('#')) continue;
    const c = raw.charCodeAt(0);
    const isPosition = (c >= 48 && c <= 57) || c === 43 || c === 45 || c === 42; // digit + - *
    if (isPosition) {
      if (!events) fail(line, 'cost line before the events: header');
      const tokens = raw.trim().split(/\s+/);
      const at = address(tokens[0] ?? '', line);
      const p = pending;
      pending = undefined;
      if (p?.kind === 'call') {
        calls.push({
          object: ob,
          site: at,
          targetObject: cob ?? ob,
          target: p.target,
          callee: functionOf(cob ?? ob, cfn ?? '???'),
          count: p.count,
        });
        cob = undefined;
        cfn = undefined;
        continue;
      }
      if (p?.kind === 'jump') {
        jumps.push({ ...p.jump, from: at });
        continue;
      }
      const costs = tokens.slice(positionColumns).map(Number);
      if (costs.length === 0) continue;
      const key = `${ob}:${at}`;
      const known = byKey.get(key);
      if (known) {
        costs.forEach((v, i) => {
          known.costs[i] = (known.costs[i] ?? 0) + v;
        });
      } else {
        const instruction = { object: ob, address: at, fn, costs };
        byKey.set(key, instruction);
        instructions.push(instruction);
      }
      continue;
    }
    const eq = raw.indexOf('=');
    const colon = raw.indexOf(':');
    if (eq > 0 && (colon < 0 || eq < colon)) {
      const key = raw.slice(0, eq);
      const value = raw.slice(eq + 1);
      switch (key) {
        case 'ob':
          ob = objectOf(obNames.resolve(value, line));
          break;
        case 'fn':
          fn = functionOf(ob, fnNames.resolve(value, line));
          break;
        case 'cob':
          cob = objectOf(obNames.resolve(value, line));
          break;
        case 'cfn':
        case 'cfnc':
          cfn = fnNames.resolve(value, line);
          break;
        case 'fl':
        case 'fi':
        case 'fe':
        case 'cfi':
        case 'cfl':
        case 'jfi':
          fileNames.resolve(value, line);
          break;
        case 'jfn':
          fnNames.resolve(value, line);
          break;
        case 'calls': {
          const [count = '', target = ''] = value.trim().split(/\s+/);
          const saved = lastAddress;
          const to = address(target, line);
          lastAddress = saved;
          pending = { kind: 'call', count: Number(count), target: to };
          break;
        }
        case 'jump':
        case 'jcnd': {
          const [count = '', target = ''] = value.trim().split(/\s+/);
          const saved = lastAddress;
          const to = address(target, line);
          lastAddress = saved;
          const [taken, executed] = count.split('/').map(Number);
          if (taken === undefined || !Number.isFinite(taken)) fail(line, `bad ${key} count ${count}`);
          pending = {
            kind: 'jump',
            jump: { object: ob, to, taken, executed: key === 'jcnd' ? executed : undefined },
          };
          break;
        }
        default:
          break; // Other key=value lines (e.g. ignored extensions) carry nothing we use.
      }
      continue;
    }
    if (colon > 0) {
      const key = raw.slice(0, colon);
      const value = raw.slice(colon + 1).trim();
      if (key === 'events') events = value.split(/\s+/);
      else if (key === 'positions') positionColumns = value.split(/\s+/).length;
      else if (key === 'summary' || key === 'totals') totals = value.split(/\s+/).map(Number);
      else if (key === 'desc' && value.startsWith('Trigger:'))
        trigger = value.slice('Trigger:'.length).trim();
    }
  }
  if (!events) {
    throw new DittoError('DITTO_TOOL_FAILED', 'callgrind output has no events: line', {
      hint: 'the file is empty or truncated; stop valgrind with SIGTERM, never SIGKILL',
    });
  }
  return { events, totals, trigger, objects, functions, instructions, jumps, calls };
}

/** The column of `event` in a profile's cost arrays; throws when valgrind did not collect it. */
export function eventColumn(profile: { events: string[] }, event: string): number {
  const i = profile.events.indexOf(event);
  if (i < 0) {
    throw new DittoError('DITTO_TOOL_FAILED', `callgrind output has no ${event} event`, {
      hint: 'run callgrind with --cache-sim=yes --branch-sim=yes',
    });
  }
  return i;
}

/**
 * One profile from the dumps of several processes of the same window (a master and its forked workers, each with
 * its own callgrind file): objects and functions are matched by name, and costs per object + address, jump counts
 * per object + from + to and call counts per site + callee are summed, as are the totals. The events must agree.
 */
export function mergeCallgrindProfiles(profiles: readonly CallgrindProfile[]): CallgrindProfile {
  const [first] = profiles;
  if (!first) throw new DittoError('DITTO_TOOL_FAILED', 'no callgrind dump to merge');
  const events = first.events;
  const objects: string[] = [];
  const objectIndex = new Map<string, number>();
  const functions: string[] = [];
  const functionIndex = new Map<string, number>();
  const instructions = new Map<string, CallgrindInstruction>();
  const jumps = new Map<string, CallgrindJump>();
  const calls = new Map<string, CallgrindCall>();
  const objectOf = (name: string) => {
    let i = objectIndex.get(name);
    if (i === undefined) {
      i = objects.push(name) - 1;
      objectIndex.set(name, i);
    }
    return i;
  };
  const functionOf = (object: number, name: string) => {
    const key = `${object}\u0000${name}`;
    let i = functionIndex.get(key);
    if (i === undefined) {
      i = functions.push(key) - 1;
      functionIndex.set(key, i);
    }
    return i;
  };
  for (const p of profiles) {
    if (p.events.join(' ') !== events.join(' ')) {
      throw new DittoError(
        'DITTO_TOOL_FAILED',
        `callgrind dumps of one window collected different events (${events.join(' ')} / ${p.events.join(' ')})`,
      );
    }
    const ob = p.objects.map(objectOf);
    const fn = p.functions.map((key) => {
      const cut = key.indexOf('\u0000');
      return functionOf(ob[Number(key.slice(0, cut))] ?? 0, key.slice(cut + 1));
    });
    for (const i of p.instructions) {
      const object = ob[i.object] ?? 0;
      const key = `${object}:${i.address}`;
      const known = instructions.get(key);
      if (known) {
        i.costs.forEach((v, e) => {
          known.costs[e] = (known.costs[e] ?? 0) + v;
        });
      } else instructions.set(key, { object, address: i.address, fn: fn[i.fn] ?? 0, costs: [...i.costs] });
    }
    for (const j of p.jumps) {
      const object = ob[j.object] ?? 0;
      const key = `${object}:${j.from}:${j.to}:${j.executed === undefined ? 'jump' : 'jcnd'}`;
      const known = jumps.get(key);
      if (!known) jumps.set(key, { ...j, object });
      else {
        known.taken += j.taken;
        if (known.executed !== undefined) known.executed += j.executed ?? 0;
      }
    }
    for (const c of p.calls) {
      const merged = {
        ...c,
        object: ob[c.object] ?? 0,
        targetObject: ob[c.targetObject] ?? 0,
        callee: fn[c.callee] ?? 0,
      };
      const key = `${merged.object}:${c.site}:${merged.targetObject}:${c.target}:${merged.callee}`;
      const known = calls.get(key);
      if (known) known.count += c.count;
      else calls.set(key, merged);
    }
  }
  const totals = profiles.every((p) => p.totals)
    ? events.map((_, e) => profiles.reduce((s, p) => s + (p.totals?.[e] ?? 0), 0))
    : undefined;
  const triggers = new Set(profiles.map((p) => p.trigger));
  return {
    events,
    totals,
    trigger: triggers.size === 1 ? first.trigger : undefined,
    objects,
    functions,
    instructions: [...instructions.values()],
    jumps: [...jumps.values()],
    calls: [...calls.values()],
  };
}
