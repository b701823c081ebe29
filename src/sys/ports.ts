// Ports on 127.0.0.1: find a free one, wait until a service accepts.
import { connect, createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { DittoError } from '../errors.ts';
import type { RunningProcess } from './process.ts';

export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

export function canConnect(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * Waits until host:port accepts a connection. Fails early, with the stderr tail, when `process` exits first.
 */
export async function waitForPort(
  host: string,
  port: number,
  options: { timeoutMs?: number; process?: RunningProcess; what?: string } = {},
): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  const what = options.what ?? `${host}:${port}`;
  while (Date.now() < deadline) {
    if (options.process && !options.process.running) {
      await options.process.exited;
      throw options.process.failure('DITTO_TARGET_FAILED', `${what} did not become ready`);
    }
    if (await canConnect(host, port)) return;
    await sleep(50);
  }
  throw new DittoError(
    'DITTO_TIMEOUT',
    `${what} did not accept connections on ${host}:${port} within ${options.timeoutMs ?? 30_000} ms`,
    { hint: 'check the readiness settings of the target spec' },
  );
}
