// An incremental JSON scanner that cuts "units" (e.g. one trace or one span) out of a byte stream and parses
// each one alone, so a file of any size is read with memory bounded by the largest unit. It also accepts a
// sequence of top-level values (NDJSON). Pure: bytes in, parsed units out, positions as byte offsets.

export type JsonPath = readonly (string | number)[];
/** What to do with the value that starts at `path` with byte `first`. */
export type UnitDecision = 'capture' | 'descend' | 'skip';
export type UnitMatcher = (path: JsonPath, first: number) => UnitDecision;

export interface JsonUnit {
  path: JsonPath;
  value: unknown;
  /** Byte offset of the unit's first byte. */
  offset: number;
}

export class JsonStreamError extends Error {
  readonly offset: number;
  readonly path: string;

  constructor(message: string, offset: number, path: string) {
    super(message);
    this.offset = offset;
    this.path = path;
  }
}

export function formatPath(path: JsonPath): string {
  let out = '';
  for (const part of path) out += typeof part === 'number' ? `[${part}]` : out ? `.${part}` : part;
  return out || '(top level)';
}

interface Frame {
  type: 'object' | 'array';
  index: number;
  key: string | undefined;
  /** object: key | colon | value | comma; array: value | comma */
  expect: 'key' | 'colon' | 'value' | 'comma';
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

export class JsonUnitScanner {
  private frames: Frame[] = [];
  private consumed = 0;
  /** Capturing or skipping one value: depth of brackets, string state. */
  private value:
    | {
        capture: boolean;
        path: JsonPath;
        offset: number;
        depth: number;
        inString: boolean;
        escaped: boolean;
        pieces: Buffer[];
        /** Scalar (number, literal): ends at a delimiter instead of a bracket. */
        scalar: boolean;
      }
    | undefined;
  /** Reading an object key. */
  private key: { pieces: Buffer[]; escaped: boolean } | undefined;

  private readonly matcher: UnitMatcher;
  private readonly onUnit: (unit: JsonUnit) => void;

  constructor(matcher: UnitMatcher, onUnit: (unit: JsonUnit) => void) {
    this.matcher = matcher;
    this.onUnit = onUnit;
  }

  /** Bytes scanned so far. */
  get offset(): number {
    return this.consumed;
  }

  push(chunk: Buffer): void {
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      if (this.value) {
        i = this.scanValue(chunk, i);
        continue;
      }
      if (this.key) {
        i = this.scanKey(chunk, i);
        continue;
      }
      const c = chunk[i]!;
      if (isSpace(c)) {
        i++;
        continue;
      }
      this.structural(c, chunk, i);
      i++;
    }
    this.consumed += n;
  }

  /** Call at end of input: fails when a value is still open (a truncated file). */
  end(): void {
    const open = this.value ?? this.key ?? this.frames.length > 0;
    if (open) {
      throw new JsonStreamError(
        'unexpected end of file (the file is truncated)',
        this.consumed,
        formatPath(this.value?.path ?? this.currentPath()),
      );
    }
  }

  private currentPath(): (string | number)[] {
    const path: (string | number)[] = [];
    for (const f of this.frames) path.push(f.type === 'array' ? f.index : (f.key ?? ''));
    return path;
  }

  private fail(message: string, at: number): never {
    throw new JsonStreamError(message, this.consumed + at, formatPath(this.currentPath()));
  }

  private structural(c: number, chunk: Buffer, i: number): void {
    const top = this.frames[this.frames.length - 1];
    if (top === undefined) {
      this.startValue(c, chunk, i);
      return;
    }
    if (top.type === 'object') {
      if (top.expect === 'key' || top.expect === 'comma') {
        if (c === CLOSE_OBJECT && (top.expect === 'comma' || top.index === 0)) {
          this.close();
          return;
        }
        if (top.expect === 'comma') {
          if (c !== COMMA) this.fail(`expected ',' or '}' but found ${describe(c)}`, i);
          top.expect = 'key';
          return;
        }
        if (c !== QUOTE) this.fail(`expected a key but found ${describe(c)}`, i);
        this.key = { pieces: [], escaped: false };
        return;
      }
      if (top.expect === 'colon') {
        if (c !== COLON) this.fail(`expected ':' but found ${describe(c)}`, i);
        top.expect = 'value';
        return;
      }
      this.startValue(c, chunk, i);
      return;
    }
    if (top.expect === 'comma') {
      if (c === CLOSE_ARRAY) {
        this.close();
        return;
      }
      if (c !== COMMA) this.fail(`expected ',' or ']' but found ${describe(c)}`, i);
      top.expect = 'value';
      return;
    }
    if (c === CLOSE_ARRAY && top.index === 0) {
      this.close();
      return;
    }
    this.startValue(c, chunk, i);
  }

  private close(): void {
    this.frames.pop();
    this.valueDone();
  }

  /** Marks the value in the enclosing frame as complete. */
  private valueDone(): void {
    const top = this.frames[this.frames.length - 1];
    if (!top) return;
    top.expect = 'comma';
    top.index++;
  }

  private startValue(c: number, chunk: Buffer, i: number): void {
    const path = this.currentPath();
    const decision = this.matcher(path, c);
    const container = c === OPEN_OBJECT || c === OPEN_ARRAY;
    if (decision === 'descend' && container) {
      this.frames.push({
        type: c === OPEN_OBJECT ? 'object' : 'array',
        index: 0,
        key: undefined,
        expect: c === OPEN_OBJECT ? 'key' : 'value',
      });
      return;
    }
    if (!container && c !== QUOTE && !/[-0-9tfn]/.test(String.fromCharCode(c))) {
      this.fail(`unexpected ${describe(c)}`, i);
    }
    this.value = {
      capture: decision === 'capture',
      path,
      offset: this.consumed + i,
      depth: container ? 1 : 0,
      inString: c === QUOTE,
      escaped: false,
      pieces: [],
      scalar: !container && c !== QUOTE,
    };
    // The first byte is consumed here; scanValue continues after it.
    if (this.value.capture) this.value.pieces.push(chunk.subarray(i, i + 1));
  }

  /** The hot loop: finds the end of a captured or skipped value. Returns the index after what it consumed. */
  private scanValue(chunk: Buffer, from: number): number {
    const v = this.value!;
    let { depth, inString, escaped } = v;
    const n = chunk.length;
    let i = from;
    let done = false;
    if (v.scalar) {
      while (i < n) {
        const c = chunk[i]!;
        if (c === COMMA || c === CLOSE_ARRAY || c === CLOSE_OBJECT || isSpace(c)) {
          done = true;
          break;
        }
        i++;
      }
      if (v.capture) v.pieces.push(chunk.subarray(from, i));
      if (done) this.finishValue();
      return i;
    }
    while (i < n && !done) {
      const c = chunk[i]!;
      i++;
      if (inString) {
        // Strings at depth 0 (a captured string value) end at their closing quote.
        if (escaped) escaped = false;
        else if (c === BACKSLASH) escaped = true;
        else if (c === QUOTE) {
          inString = false;
          if (depth === 0) done = true;
        }
        continue;
      }
      if (c === QUOTE) inString = true;
      else if (c === OPEN_OBJECT || c === OPEN_ARRAY) depth++;
      else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
        depth--;
        if (depth === 0) done = true;
      }
    }
    if (v.capture) v.pieces.push(chunk.subarray(from, i));
    v.depth = depth;
    v.inString = inString;
    v.escaped = escaped;
    if (done) this.finishValue();
    return i;
  }

  private finishValue(): void {
    const v = this.value!;
    this.value = undefined;
    if (v.capture) {
      const text = Buffer.concat(v.pieces).toString('utf8');
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (error) {
        const detail = error instanceof Error ? error.message : String(error);
        throw new JsonStreamError(`invalid JSON: ${detail}`, v.offset, formatPath(v.path));
      }
      this.onUnit({ path: v.path, value, offset: v.offset });
    }
    this.valueDone();
  }

  private scanKey(chunk: Buffer, from: number): number {
    const k = this.key!;
    let i = from;
    const n = chunk.length;
    let escaped = k.escaped;
    while (i < n) {
      const c = chunk[i]!;
      if (escaped) escaped = false;
      else if (c === BACKSLASH) escaped = true;
      else if (c === QUOTE) break;
      i++;
    }
    k.pieces.push(chunk.subarray(from, i));
    k.escaped = escaped;
    if (i >= n) return i;
    const raw = Buffer.concat(k.pieces).toString('utf8');
    this.key = undefined;
    const top = this.frames[this.frames.length - 1]!;
    top.key = raw.includes('\\') ? (JSON.parse(`"${raw}"`) as string) : raw;
    top.expect = 'colon';
    return i + 1;
  }
}

function describe(c: number): string {
  return c >= 0x20 && c < 0x7f ? `'${String.fromCharCode(c)}'` : `byte 0x${c.toString(16)}`;
}
