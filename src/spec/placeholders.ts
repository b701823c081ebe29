// `{name}` placeholders in target specs (command, files, client args).
import { DittoError } from '../errors.ts';

export type PlaceholderValues = Record<string, string | number>;

/** Replaces every `{word}`; an unknown word is an error naming where it was found. */
export function substitute(text: string, values: PlaceholderValues, where: string): string {
  return text.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined) {
      throw new DittoError('DITTO_SPEC_INVALID', `${where}: unknown placeholder {${name}}`, {
        hint: `known placeholders: ${Object.keys(values)
          .map((k) => `{${k}}`)
          .join(' ')}`,
      });
    }
    return String(value);
  });
}
