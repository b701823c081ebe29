// Generates the bpftrace program of eBPF topology discovery (pure).
//
// Traffic is seen at the socket layer (sock:sock_send_length / sock_recv_length), which fires once per
// send / recv of any syscall (write, writev, sendmsg, sendfile through splice, read, recvfrom, ...) in the
// context of the process doing it, with the struct sock: its 4-tuple is read there, so no fd table is mirrored.
// No syscall tracepoint is used, which keeps every other task of the system off the slow syscall path.
//
// A "message" is a run of sends (or receives) on one socket without a change of direction; a request is a
// message sent by the connecting side, a response one sent by the accepting side. Everything aggregates in maps
// that bpftrace prints as JSON when it exits at the end of the window.
import { readyMarker } from '../../collect/bpftrace/script.ts';

export interface DiscoverScriptOptions {
  /** Process ids (tgids) to watch; processes they fork during the window are added. */
  pids: readonly number[];
  /** Ports the watched processes listen on: a socket bound to one is the accepting side. */
  listenPorts: readonly number[];
  /** Local ports of connections the watched processes had opened before the window (outbound). */
  ownClientPorts: readonly number[];
  /** Length of the window; bpftrace closes it and exits by itself. */
  windowSec: number;
}

/** TCP states (include/net/tcp_states.h). */
const tcp = { established: 1, synSent: 2, synRecv: 3, close: 7 } as const;
const ipprotoTcp = 6;
const afInet6 = 10;
const msgPeek = 2;

/** Per-socket state, deleted when the socket closes. */
const perSocket = ['@dir', '@cur', '@t0', '@kid', '@kpid', '@kx'];

/**
 * Aggregation key: pid, inbound (1 = the watched process accepted the connection), remote IPv4 address
 * (network order read as a little-endian u32), port (the listening port: local when inbound, remote when
 * outbound), peer (inbound only: 1 when the connecting side is a watched process).
 */
const key = '$pid, $in, $raddr, $port, $peer';

/** Sets the key variables of socket $sk from the per-socket record. */
const loadKey = `  $pid = @kpid[$sk];
  $in = (@kx[$sk] >> 17) & 1;
  $peer = (@kx[$sk] >> 16) & 1;
  $port = @kx[$sk] & 0xffff;
  $raddr = ((struct sock *)$sk)->__sk_common.skc_daddr;`;

/** Records the size of the message that just ended on $sk (direction $old: 1 sent, 2 received). */
const flush = `    $size = @cur[$sk];
    @size[${key}, $old] = hist($size);
    @size_sum[${key}, $old] = sum($size);
    @size_min[${key}, $old] = min($size);
    @size_max[${key}, $old] = max($size);`;

function ioProbe(tracepoint: string, dir: 1 | 2): string {
  const peekFilter = dir === 2 ? ` && (args->flags & ${msgPeek}) == 0` : '';
  // The side that sent the request measures from its start to the first byte of the answer.
  const requestDir = '($in ? 2 : 1)';
  return `tracepoint:sock:${tracepoint} /@go == 1 && @w[pid] && args->protocol == ${ipprotoTcp} && args->ret > 0${peekFilter}/ {
  $sk = (uint64)args->sk;
  $s = (struct sock *)args->sk;
  if (args->family == ${afInet6} && $s->__sk_common.skc_v6_daddr.in6_u.u6_addr32[2] != 0xffff0000) {
    @v6[pid] = count();
    return;
  }
  $lport = $s->__sk_common.skc_num;
  $d = $s->__sk_common.skc_dport;
  $rport = (($d >> 8) | ($d << 8)) & 0xffff;
  $id = ($lport << 16) | $rport;
  // A socket not seen yet, or one reusing the memory of a socket whose close raced with its last send.
  if (@kid[$sk] != $id || @kpid[$sk] != pid) {
    @kid[$sk] = $id;
    @kpid[$sk] = pid;
    if (@listen[$lport]) {
      @kx[$sk] = (1 << 17) | (@wport[$rport] << 16) | $lport;
    } else {
      @kx[$sk] = $rport;
      // Tagged again in process context: the softirq that makes the connection ESTABLISHED runs its probe only
      // when no other BPF program is running on that CPU.
      @wport[$lport] = 1;
      @wsk[$sk] = 1;
    }
    delete(@dir[$sk]);
    delete(@t0[$sk]);
  }
${loadKey}
  @bytes[${key}, ${dir}] = sum(args->ret);
  $old = @dir[$sk];
  if ($old != ${dir}) {
    if ($old != 0) {
${flush}
      if (${dir} != ${requestDir} && @t0[$sk] != 0) {
        $us = (nsecs - @t0[$sk]) / 1000;
        @lat_us[${key}] = hist($us);
        @lat_sum[${key}] = sum($us);
      }
    }
    @msgs[${key}, ${dir}] = count();
    @dir[$sk] = ${dir};
    @cur[$sk] = 0;
    if (${dir} == ${requestDir}) { @t0[$sk] = nsecs; }
  }
  @cur[$sk] = @cur[$sk] + args->ret;
}`;
}

/**
 * BEGIN runs before the other probes attach, one by one, and counting before all are attached would see halves of
 * exchanges. bpftrace attaches in declaration order or its reverse (depending on the version and probe type), so
 * an interval probe first and one last in the script have both fired only once everything between is attached.
 * The window opens then; the marker tells the runner, as bpftrace 0.17 also loses a SIGINT that arrives earlier.
 */
function opener(which: 0 | 1): string {
  return `interval:ms:50 /@go == 0/ {
  @armed[${which}] = 1;
  if (@armed[${1 - which}]) {
    @go = 1;
    @t_begin = nsecs;
    printf("${readyMarker}\\n");
  }
}`;
}

export function discoverScript(options: DiscoverScriptOptions): string {
  if (options.pids.length === 0) throw new Error('discoverScript needs at least one pid');
  const seed = (map: string, values: readonly number[]) =>
    [...new Set(values)].map((v) => `  ${map}[${Math.trunc(v)}] = 1;`).join('\n');
  return `BEGIN {
${seed('@w', options.pids)}
${seed('@listen', options.listenPorts)}
${seed('@wport', options.ownClientPorts)}
}

${opener(0)}

tracepoint:sched:sched_process_fork /@w[pid]/ {
  @w[args->child_pid] = 1;
  @fork[pid, args->child_pid] = count();
}

tracepoint:sock:inet_sock_set_state /args->protocol == ${ipprotoTcp}/ {
  $sk = (uint64)args->skaddr;
  // connect() runs in the caller's context; the local port is assigned only later, on the way to ESTABLISHED.
  if (args->oldstate == ${tcp.close} && args->newstate == ${tcp.synSent} && @w[pid]) {
    @wsk[$sk] = 1;
    if (@go == 1) {
      $a = ((struct sock *)$sk)->__sk_common.skc_daddr;
      @connects[pid, $a, args->dport] = count();
    }
  }
  if (args->oldstate == ${tcp.synSent} && args->newstate == ${tcp.established} && @wsk[$sk]) {
    @wport[args->sport] = 1;
  }
  // The accepted side becomes ESTABLISHED in softirq context (any pid): keyed by the listening port.
  if (@go == 1 && args->oldstate == ${tcp.synRecv} && args->newstate == ${tcp.established} && @listen[args->sport]) {
    $a = ((struct sock *)$sk)->__sk_common.skc_daddr;
    @accepts[args->sport, $a, @wport[args->dport]] = count();
  }
  if (args->newstate == ${tcp.close}) {
    if (@dir[$sk] != 0 && @kid[$sk] == ((args->sport << 16) | args->dport)) {
${loadKey}
      $old = @dir[$sk];
${flush}
    }
    if (@wsk[$sk]) { delete(@wport[args->sport]); }
    delete(@wsk[$sk]);
${perSocket.map((m) => `    delete(${m}[$sk]);`).join('\n')}
  }
}

${ioProbe('sock_send_length', 1)}

${ioProbe('sock_recv_length', 2)}

${opener(1)}

// The window closes here, before exit() detaches the probes one by one (which, like attaching, would count
// halves of exchanges); @go stays 2 so that nothing opens it again.
interval:ms:50 /@go == 1 && nsecs - @t_begin >= ${Math.round(options.windowSec * 1e9)}/ {
  @go = 2;
  @elapsed_ns = nsecs - @t_begin;
  exit();
}

END {
  // Stopped early by a signal: the window ends now.
  if (@go == 1) {
    @go = 2;
    @elapsed_ns = nsecs - @t_begin;
  }
  delete(@t_begin);
  clear(@armed);
  clear(@w);
  clear(@listen);
  clear(@wport);
  clear(@wsk);
${perSocket.map((m) => `  clear(${m});`).join('\n')}
}
`;
}
