// The clone plan's runtime part as C: one `ditto_clone_config` (native/runtime/config.h) of numbers and enum
// constants, and the names of the generated body functions it calls. Nothing of the original appears here.
import type { ClonePlan, SyscallOp } from '../../artifacts/clone-plan.ts';
import type { GeneratedFile } from '../generated-file.ts';

/** Probabilities are written as p · 2^32 (config.h), so the runtime draws them with one integer compare. */
const pOne = 2 ** 32;

const protocolEnum = {
  memcached: 'DITTO_PROTO_MEMCACHED',
  redis: 'DITTO_PROTO_REDIS',
  http: 'DITTO_PROTO_HTTP',
} as const;

const modelEnum = {
  dispatch: 'DITTO_MODEL_DISPATCH',
  'event-loop': 'DITTO_MODEL_EVENT_LOOP',
  'thread-per-connection': 'DITTO_MODEL_THREAD_PER_CONNECTION',
  'process-workers': 'DITTO_MODEL_PROCESS_WORKERS',
  'process-per-connection': 'DITTO_MODEL_PROCESS_PER_CONNECTION',
} as const;

const ioEnum = {
  epoll: 'DITTO_IO_EPOLL',
  blocking: 'DITTO_IO_BLOCKING',
  nonblocking: 'DITTO_IO_NONBLOCKING',
} as const;

const receiveEnum = {
  read: 'DITTO_RECV_READ',
  readv: 'DITTO_RECV_READV',
  recvfrom: 'DITTO_RECV_RECVFROM',
  recvmsg: 'DITTO_RECV_RECVMSG',
} as const;

const sendEnum = {
  write: 'DITTO_SEND_WRITE',
  writev: 'DITTO_SEND_WRITEV',
  sendto: 'DITTO_SEND_SENDTO',
  sendmsg: 'DITTO_SEND_SENDMSG',
} as const;

const opEnum: Record<SyscallOp['op'], string> = {
  file_read: 'DITTO_OP_FILE_READ',
  file_write: 'DITTO_OP_FILE_WRITE',
  file_pread: 'DITTO_OP_FILE_PREAD',
  file_pwrite: 'DITTO_OP_FILE_PWRITE',
  fsync: 'DITTO_OP_FSYNC',
  fdatasync: 'DITTO_OP_FDATASYNC',
  open_close: 'DITTO_OP_OPEN_CLOSE',
  stat: 'DITTO_OP_STAT',
  sendfile: 'DITTO_OP_SENDFILE',
};

const patternEnum = {
  sequential: 'DITTO_PATTERN_SEQUENTIAL',
  random: 'DITTO_PATTERN_RANDOM',
  append: 'DITTO_PATTERN_APPEND',
} as const;

const batchEnum = { request: 'DITTO_BATCH_REQUEST', loop: 'DITTO_BATCH_LOOP' } as const;

/** Runtime class slots, in the order of ditto_class_id. */
const classSlots = ['get', 'set'] as const;

/** The body function of a request class; the body emitter defines it under this name. */
export function classBodyName(name: ClonePlan['classes'][number]['name']): string {
  return `ditto_body_class_${name}`;
}

/** The body function of background group `index` (its position in plan.background). */
export function backgroundBodyName(index: number): string {
  return `ditto_body_background_${index}`;
}

function u64(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`clone plan: ${n} is not a non-negative integer`);
  return `${n}ULL`;
}

function u32(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0 || n >= pOne)
    throw new Error(`clone plan: ${n} does not fit 32 bits`);
  return `${n}u`;
}

/** A finite double, as C reads it back exactly (a decimal point even for whole numbers). */
function real(n: number): string {
  if (!Number.isFinite(n)) throw new Error(`clone plan: ${n} is not a finite number`);
  const text = String(n);
  return /[.e]/.test(text) ? text : `${text}.0`;
}

/** Cumulative weights in units of 2^-32; the last is exactly 2^32 so every draw lands somewhere. */
export function cumulativeThresholds(weights: readonly number[]): number[] {
  const total = weights.reduce((a, b) => a + b, 0);
  let sum = 0;
  return weights.map((w, i) => {
    sum += w;
    return i === weights.length - 1 ? pOne : Math.min(pOne, Math.round((sum / total) * pOne));
  });
}

/** perRequest as whole calls plus the probability (in units of 2^-32) of one more. */
export function callsPerRequest(perRequest: number): { calls: number; extra: number } {
  const calls = Math.floor(perRequest);
  return { calls, extra: Math.min(pOne - 1, Math.round((perRequest - calls) * pOne)) };
}

/** The data file must hold the largest access any op makes, even when the plan sized it smaller or left it out. */
function dataFileBytes(plan: ClonePlan): number {
  const ops = plan.classes.flatMap((c) => c.syscalls).filter((s) => s.perRequest > 0);
  const planned = plan.dataFile?.bytes ?? 0;
  if (ops.length === 0) return planned;
  return Math.max(planned, 4096, ...ops.map((s) => s.bytes));
}

function array(type: string, name: string, rows: string[]): string {
  return `static const ${type} ${name}[] = {\n${rows.map((r) => `    ${r},`).join('\n')}\n};\n`;
}

export function renderRuntimeConfig(plan: ClonePlan): string {
  const seen = new Set<string>();
  for (const c of plan.classes) {
    if (seen.has(c.name)) throw new Error(`clone plan: request class ${c.name} appears twice`);
    seen.add(c.name);
  }
  const declarations: string[] = [];
  const tables: string[] = [];
  const classInits = classSlots.map((slot) => {
    const c = plan.classes.find((k) => k.name === slot);
    if (!c) return `        [DITTO_CLASS_${slot.toUpperCase()}] = {.present = 0},`;
    const fields = ['.present = 1'];
    if (c.responsePayload.length > 0) {
      const thresholds = cumulativeThresholds(c.responsePayload.map((p) => p.weight));
      const rows = c.responsePayload.map((p, i) => `{${u64(p.size)}, ${u64(thresholds[i]!)}}`);
      tables.push(array('ditto_size_weight', `${slot}_payload`, rows));
      fields.push(`.payload = ${slot}_payload`, `.payload_count = ${c.responsePayload.length}`);
    }
    const ops = c.syscalls.filter((s) => s.perRequest > 0);
    if (ops.length > 0) {
      const rows = ops.map((s) => {
        const { calls, extra } = callsPerRequest(s.perRequest);
        return `{${opEnum[s.op]}, ${u32(calls)}, ${u64(extra)}, ${u64(s.bytes)}, ${patternEnum[s.pattern]}, ${batchEnum[s.batch]}}`;
      });
      tables.push(array('ditto_syscall_op', `${slot}_syscalls`, rows));
      fields.push(`.syscalls = ${slot}_syscalls`, `.syscall_count = ${ops.length}`);
    }
    if (c.body) {
      declarations.push(`void ${classBodyName(slot)}(ditto_body_ctx *ctx);`);
      fields.push(`.body = ${classBodyName(slot)}`);
    }
    return `        [DITTO_CLASS_${slot.toUpperCase()}] = {${fields.join(', ')}},`;
  });
  if (plan.background.length > 0) {
    const rows = plan.background.map((b, i) => {
      if (b.body) declarations.push(`void ${backgroundBodyName(i)}(ditto_body_ctx *ctx);`);
      const periodNs = b.periodMs === null ? 0 : Math.max(1, Math.round(b.periodMs * 1e6));
      const load = b.followsLoad ?? { referenceRate: 0, exponent: 0 };
      return `{${u32(b.count)}, ${u64(periodNs)}, ${real(load.referenceRate)}, ${real(load.exponent)}, ${b.body ? backgroundBodyName(i) : 'NULL'}, ${real(b.busyShare ?? 0)}}`;
    });
    tables.push(array('ditto_background_config', 'background', rows));
  }
  const n = plan.network;
  const lines = [
    '/* Generated by ditto from the clone plan: the runtime configuration of this clone. Do not edit. */',
    '#include "config.h"',
    '',
    ...(declarations.length > 0 ? [...declarations, ''] : []),
    ...tables,
    'const ditto_config ditto_clone_config = {',
    `    .protocol = ${protocolEnum[plan.protocol]},`,
    `    .model = ${modelEnum[n.model]},`,
    `    .io = ${ioEnum[n.io]},`,
    `    .recv_call = ${receiveEnum[n.receive]},`,
    `    .send_call = ${sendEnum[n.send]},`,
    `    .accept_threads = ${u32(n.acceptThreads)},`,
    `    .network_threads = ${u32(n.networkThreads)},`,
    `    .worker_processes = ${u32(n.workerProcesses)},`,
    '    .classes = {',
    ...classInits,
    '    },',
    ...(plan.background.length > 0
      ? ['    .background = background,', `    .background_count = ${plan.background.length},`]
      : []),
    `    .data_file_bytes = ${u64(dataFileBytes(plan))},`,
    `    .seed = ${u64(plan.seed)},`,
    '};',
    '',
  ];
  return lines.join('\n');
}

/** The per-clone configuration file of the runtime (pure). */
export function emitRuntimeConfig(plan: ClonePlan): GeneratedFile[] {
  return [{ path: 'src/config.c', content: renderRuntimeConfig(plan) }];
}
