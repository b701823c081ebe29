// Parses `objdump -d --no-show-raw-insn -M intel` text into one record per instruction address (pure).
export interface DecodedInstruction {
  address: number;
  /** Bytes up to the next instruction (the last one of a range gets 0: unknown). */
  length: number;
  /** Prefixes written before the mnemonic: rep, repz, repnz, lock, bnd, notrack, data16, cs, ds, ... */
  prefixes: string[];
  mnemonic: string;
  /** Operands in Intel order (destination first), symbolic comments removed. */
  operands: string[];
}

const prefixWords = new Set([
  'rep',
  'repz',
  'repe',
  'repnz',
  'repne',
  'lock',
  'bnd',
  'notrack',
  'data16',
  'addr32',
  'rex',
  'rex.W',
  'cs',
  'ds',
  'es',
  'ss',
  'fs',
  'gs',
  'xacquire',
  'xrelease',
]);

/** Splits at top-level commas (memory operands never contain one, but x87 st(i) has parentheses). */
function splitOperands(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '(' || ch === '[') depth++;
    else if (ch === ')' || ch === ']') depth--;
    else if (ch === ',' && depth === 0) {
      out.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  const last = text.slice(start).trim();
  if (last) out.push(last);
  return out;
}

const lineRe = /^\s*([0-9a-f]+):\t(.*)$/;

export function parseObjdump(text: string): Map<number, DecodedInstruction> {
  const out = new Map<number, DecodedInstruction>();
  let previous: DecodedInstruction | undefined;
  for (const line of text.split('\n')) {
    const m = lineRe.exec(line);
    if (!m) {
      // A new section or skipped zeros ("...") break contiguity; symbol headers inside a section do not.
      if (line.startsWith('Disassembly of section') || line.trim() === '...') previous = undefined;
      continue;
    }
    const address = Number.parseInt(m[1] ?? '', 16);
    const body = (m[2] ?? '')
      .replace(/\s+#.*$/, '')
      .replace(/\s*<[^>]*>/g, '')
      .trim();
    const words = body.split(/\s+/);
    const prefixes: string[] = [];
    while (words.length > 1 && prefixWords.has(words[0] ?? '')) prefixes.push(words.shift() ?? '');
    const mnemonic = words.shift() ?? '';
    const decoded: DecodedInstruction = {
      address,
      length: 0,
      prefixes,
      mnemonic,
      operands: splitOperands(words.join(' ')),
    };
    if (previous && address > previous.address) previous.length = address - previous.address;
    out.set(address, decoded);
    previous = decoded;
  }
  return out;
}
