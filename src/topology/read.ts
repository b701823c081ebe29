// Reads trace files (plain or gzipped) as streams into a TopologyBuilder. The I/O shell around the pure
// readers: detects the format, turns byte offsets into line:column, and applies --lenient.
import { closeSync, createReadStream, existsSync, openSync, readSync, statSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip } from 'node:zlib';
import { DittoError } from '../errors.ts';
import { detectFormat, type TraceFormat } from './detect.ts';
import type { TopologyBuilder } from './graph/builder.ts';
import { JsonStreamError, JsonUnitScanner } from './json-stream.ts';
import { alibabaReader } from './readers/alibaba.ts';
import { type CsvTraceReader, splitCsvLine } from './readers/csv-line.ts';
import { jaegerReader } from './readers/jaeger.ts';
import { otlpReader } from './readers/otlp.ts';
import { type ColumnMapping, spanCsvReader } from './readers/span-csv.ts';
import type { JsonTraceReader, ReportBad } from './readers/types.ts';
import { zipkinReader } from './readers/zipkin.ts';

export interface ReadOptions {
  format?: TraceFormat;
  /** Keep what can be read: skip bad records, keep the spans before a break. */
  lenient?: boolean;
  columns?: ColumnMapping;
  /** Warnings in lenient mode. */
  warn?: (message: string) => void;
}

export interface ReadResult {
  format: TraceFormat;
  spans: number;
}

/** A bad record in strict mode; turned into a DittoError with a line and column. */
class BadRecord extends Error {
  readonly offset: number;
  readonly where: string;

  constructor(message: string, offset: number, where: string) {
    super(message);
    this.offset = offset;
    this.where = where;
  }
}

function isGzip(path: string): boolean {
  const head = Buffer.alloc(2);
  const fd = openSync(path, 'r');
  try {
    return readSync(fd, head, 0, 2, 0) === 2 && head[0] === 0x1f && head[1] === 0x8b;
  } finally {
    closeSync(fd);
  }
}

function open(path: string): Readable {
  const raw = createReadStream(path, { highWaterMark: 1 << 20 });
  return isGzip(path) ? raw.pipe(createGunzip()) : raw;
}

async function readHead(path: string, bytes = 65536): Promise<string> {
  const pieces: Buffer[] = [];
  let total = 0;
  const stream = open(path);
  for await (const chunk of stream) {
    pieces.push(chunk as Buffer);
    total += (chunk as Buffer).length;
    if (total >= bytes) break;
  }
  stream.destroy();
  return Buffer.concat(pieces).toString('utf8');
}

/** 1-based line and column of a byte offset in the (decompressed) file. */
async function positionOf(path: string, offset: number): Promise<string> {
  let line = 1;
  let lineStart = 0;
  let seen = 0;
  for await (const chunk of open(path)) {
    const buf = chunk as Buffer;
    const end = Math.min(buf.length, offset - seen);
    for (let i = 0; i < end; i++) {
      if (buf[i] === 0x0a) {
        line++;
        lineStart = seen + i + 1;
      }
    }
    seen += buf.length;
    if (seen >= offset) break;
  }
  return `${line}:${offset - lineStart + 1}`;
}

export async function readTraceFile(
  path: string,
  builder: TopologyBuilder,
  options: ReadOptions = {},
): Promise<ReadResult> {
  if (!existsSync(path) || !statSync(path).isFile()) {
    throw new DittoError('DITTO_FILE_NOT_FOUND', `${path}: no such trace file`);
  }
  const head = await readHead(path);
  const detected = detectFormat(head);
  const format = options.format ?? detected;
  if (!format) {
    throw new DittoError('DITTO_TRACE_FORMAT', `${path}: cannot tell the trace format from the content`, {
      hint: 'pass --format jaeger|zipkin|otlp|alibaba|csv (csv takes --columns traceId=…,spanId=…)',
    });
  }
  const mismatch =
    detected && detected !== format ? `; the content looks like ${detected}: try --format ${detected}` : '';
  const bad: ReportBad = (message, offset, where) => {
    if (!options.lenient) throw new BadRecord(message, offset, where);
    builder.issues.add('invalidRecord', `${path} ${where}: ${message}`);
  };
  let spans = 0;
  try {
    spans =
      format === 'alibaba' || format === 'csv'
        ? await readCsv(path, format, builder, bad, options)
        : await readJson(path, format, builder, bad, options);
  } catch (error) {
    if (error instanceof BadRecord) {
      const at = error.where.startsWith('line ')
        ? error.where.slice(5)
        : await positionOf(path, error.offset);
      const inside = error.where.startsWith('line ') ? '' : ` (${error.where})`;
      throw new DittoError('DITTO_TRACE_INVALID', `${path}:${at}: ${error.message}${inside}${mismatch}`, {
        hint: 'fix the record, or pass --lenient to skip bad records and keep the rest',
      });
    }
    throw error;
  }
  if (spans === 0 && !options.lenient) {
    throw new DittoError('DITTO_TRACE_INVALID', `${path}: no spans found (read as ${format})${mismatch}`, {
      hint: 'check --format, or pass --lenient to accept an empty file',
    });
  }
  builder.addInput(path, format, spans);
  return { format, spans };
}

function jsonReaderFor(format: TraceFormat, builder: TopologyBuilder, bad: ReportBad): JsonTraceReader {
  if (format === 'jaeger') return jaegerReader(builder, bad);
  if (format === 'zipkin') return zipkinReader(builder, bad);
  return otlpReader(builder, bad);
}

async function readJson(
  path: string,
  format: TraceFormat,
  builder: TopologyBuilder,
  bad: ReportBad,
  options: ReadOptions,
): Promise<number> {
  const reader = jsonReaderFor(format, builder, bad);
  let spans = 0;
  const scanner = new JsonUnitScanner(reader.matcher, (unit) => {
    spans += reader.unit(unit);
  });
  try {
    for await (const chunk of open(path)) scanner.push(chunk as Buffer);
    scanner.end();
  } catch (error) {
    if (!(error instanceof JsonStreamError)) throw error;
    const at = await positionOf(path, error.offset);
    const message = `${path}:${at}: ${error.message} (inside ${error.path})`;
    if (!options.lenient) {
      throw new DittoError('DITTO_TRACE_INVALID', message, {
        hint: `pass --lenient to keep the ${spans} spans read before this point`,
      });
    }
    builder.issues.add('truncatedFile', message);
    options.warn?.(`${message}; keeping the ${spans} spans read before it (--lenient)`);
  }
  return spans + reader.end();
}

async function readCsv(
  path: string,
  format: TraceFormat,
  builder: TopologyBuilder,
  bad: ReportBad,
  options: ReadOptions,
): Promise<number> {
  const decoder = new StringDecoder('utf8');
  let reader: CsvTraceReader | undefined;
  let rest = '';
  let line = 0;
  let spans = 0;
  const handle = (text: string) => {
    line++;
    const clean = text.endsWith('\r') ? text.slice(0, -1) : text;
    if (clean === '') return;
    const fields = splitCsvLine(clean);
    if (!reader) {
      reader =
        format === 'alibaba'
          ? alibabaReader(fields, builder, bad, path)
          : spanCsvReader(fields, options.columns ?? {}, builder, bad, path);
      return;
    }
    spans += reader.row(fields, line);
  };
  for await (const chunk of open(path)) {
    const text = rest + decoder.write(chunk as Buffer);
    const lines = text.split('\n');
    rest = lines.pop() ?? '';
    for (const l of lines) handle(l);
  }
  rest += decoder.end();
  if (rest) handle(rest);
  return spans + (reader?.end() ?? 0);
}
