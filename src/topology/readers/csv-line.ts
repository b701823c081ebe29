// One CSV line → fields (RFC 4180 quoting; a quoted field does not span lines in trace exports).
export function splitCsvLine(line: string): string[] {
  if (!line.includes('"')) return line.split(',');
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      fields.push(field);
      field = '';
    } else field += c;
  }
  fields.push(field);
  return fields;
}

export interface CsvTraceReader {
  /** Handles one data row (line numbers are 1-based, the header is line 1); returns spans produced. */
  row(fields: string[], line: number): number;
  end(): number;
}
