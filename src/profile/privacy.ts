// The "reveals nothing" check (pure): no printable string of the target's binary or libraries may appear in an
// artifact, except words that ditto itself defines (field names, syscall names, protocol names), which the
// artifact would contain whatever the target was.

/** Printable ASCII runs of at least `minLength` bytes, like `strings -n 6`. */
export function printableStrings(data: Uint8Array, minLength = 6): Set<string> {
  const found = new Set<string>();
  let start = -1;
  for (let i = 0; i <= data.length; i++) {
    const byte = i < data.length ? (data[i] ?? 0) : 0;
    const printable = (byte >= 0x20 && byte < 0x7f) || byte === 0x09;
    if (printable) {
      if (start < 0) start = i;
    } else if (start >= 0) {
      if (i - start >= minLength) found.add(Buffer.from(data.subarray(start, i)).toString('latin1'));
      start = -1;
    }
  }
  return found;
}

/** Every key and string value of a JSON document, recursively. */
export function jsonStrings(value: unknown, out: Set<string> = new Set()): Set<string> {
  if (typeof value === 'string') out.add(value);
  else if (Array.isArray(value)) for (const v of value) jsonStrings(v, out);
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      out.add(k);
      jsonStrings(v, out);
    }
  }
  return out;
}

export interface Leak {
  /** The string of the artifact that holds it. */
  artifactString: string;
  /** The target's string found in it. */
  targetString: string;
}

/**
 * Strings of the artifact that contain a target string (or are a ≥ minLength part of one), other than ditto's own
 * vocabulary.
 */
export function findLeaks(
  artifact: unknown,
  targetStrings: Iterable<string>,
  vocabulary: ReadonlySet<string>,
  minLength = 6,
): Leak[] {
  const candidates = [...jsonStrings(artifact)].filter((s) => !vocabulary.has(s));
  const leaks: Leak[] = [];
  for (const target of targetStrings) {
    if (target.length < minLength || vocabulary.has(target)) continue;
    for (const s of candidates) {
      if (s.includes(target) || (s.length >= minLength && target.includes(s))) {
        leaks.push({ artifactString: s, targetString: target });
      }
    }
  }
  return leaks;
}
