// Bytes the clone runtime's protocol framing adds around a response payload, so a clone's responses have the
// profiled size on the wire (pure). Must match native/runtime's response writers.
import type { RequestClass } from '../artifacts/profile.ts';
import type { Protocol } from '../spec/target-spec.ts';

const digits = (n: number) => String(Math.max(0, Math.round(n))).length;

export interface ResponseFraming {
  /** The payload that makes a response of `responseBytes` on the wire (0 when the framing alone is larger). */
  payloadFor(responseBytes: number): number;
}

function solve(overhead: (payload: number) => number): ResponseFraming {
  return {
    payloadFor(responseBytes) {
      // The overhead depends on the payload's digit count; two rounds settle it.
      let payload = Math.max(0, Math.round(responseBytes - overhead(responseBytes)));
      payload = Math.max(0, Math.round(responseBytes - overhead(payload)));
      return payload;
    },
  };
}

export function responseFraming(protocol: Protocol, cls: RequestClass, keySize: number): ResponseFraming {
  if (cls === 'set' && protocol !== 'http') return { payloadFor: () => 0 };
  switch (protocol) {
    case 'memcached':
      // "VALUE <key> 0 <n>\r\n" <payload> "\r\nEND\r\n"
      return solve((n) => 'VALUE '.length + keySize + ' 0 '.length + digits(n) + 2 + 2 + 'END\r\n'.length);
    case 'redis':
      // "$<n>\r\n" <payload> "\r\n"
      return solve((n) => 1 + digits(n) + 2 + 2);
    case 'http':
      // "HTTP/1.1 200 OK\r\nContent-Length: <n>\r\n\r\n" <payload>
      return solve((n) => 'HTTP/1.1 200 OK\r\nContent-Length: '.length + digits(n) + 4);
  }
}
