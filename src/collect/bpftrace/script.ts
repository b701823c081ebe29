// Generates the bpftrace program of the skeleton phase (pure). Everything aggregates in kernel maps that bpftrace
// prints as JSON when it is stopped (SIGINT); nothing is printed per event, which keeps the traced service fast.
//
// The kind of an fd (socket / regular file / other) is read from its inode mode at each call through `curtask`
// (BTF), as the original Ditto did with S_IFSOCK / S_IFREG. That is exact even for fds created before the window,
// inherited across fork, or passed between threads, so no fd table has to be mirrored in maps.

/** Numeric kinds used in map keys; the parser maps them back to names. */
export const fdKindCodes = { socket: 1, file: 2, other: 3 } as const;

/** O_APPEND in a file's f_flags (x86-64 Linux). */
const oAppend = 0x400;

/** Syscalls whose size and fd kind are recorded, grouped by the argument that holds the requested size. */
const sizedByCount = ['read', 'write'];
const positional = ['pread64', 'pwrite64'];
const vectored = ['readv', 'writev', 'sendmsg', 'recvmsg'];
/** Calls that return when something is ready: their return value is the number of ready events. */
export const readinessCalls = [
  'epoll_wait',
  'epoll_pwait',
  'epoll_pwait2',
  'poll',
  'ppoll',
  'select',
  'pselect6',
];
export const acceptCalls = ['accept', 'accept4'];
/** Calls that receive from or send to a socket (or any fd). */
export const receiveCalls = ['read', 'readv', 'recvfrom', 'recvmsg'] as const;
export const sendCalls = ['write', 'writev', 'sendto', 'sendmsg'] as const;

/** Printed once the window is open. */
export const readyMarker = 'ditto-trace-ready';

export interface SkeletonScriptOptions {
  /** Every thread of every process of the service when the window opens (from /proc/PID/task). */
  tids: readonly number[];
  /** bpftrace exits by itself after this long, in case whoever started it never stops it. */
  maxSeconds: number;
}

const enter = (names: readonly string[]) =>
  names.map((n) => `tracepoint:syscalls:sys_enter_${n}`).join(',\n');
const exit = (names: readonly string[]) => names.map((n) => `tracepoint:syscalls:sys_exit_${n}`).join(',\n');

/**
 * Regular files of pseudo file systems (/proc, /sys, cgroup, debugfs, tracefs, securityfs) are not data files:
 * their superblock magic tells them apart.
 */
const pseudoFsMagics = [0x9fa0, 0x62656572, 0x63677270, 0x27e0eb, 0x64626720, 0x74726163, 0x73636673];
const realFile = pseudoFsMagics.map((m) => `$s != 0x${m.toString(16)}`).join(' && ');

/** Sets $f (struct file *), $k (kind code) for the fd expression, and remembers the kind for the exit probe. */
function fdKind(fdExpr: string): string {
  return `  $f = *(curtask->files->fdt->fd + ${fdExpr});
  $m = $f->f_inode->i_mode & 0xf000;
  $s = $f->f_inode->i_sb->s_magic;
  $k = $m == 0xc000 ? ${fdKindCodes.socket} : (($m == 0x8000 && ${realFile}) ? ${fdKindCodes.file} : ${fdKindCodes.other});
  @k[tid] = $k;`;
}

/**
 * On a regular file, remembers the fd (plus 1, so that 0 means none), the position the call starts at, and whether
 * the call grows the file: it starts at or past the end, or the fd is append-only (O_APPEND writes go to the end
 * wherever the position is). Growing a file costs its sync a metadata commit that writing in place does not.
 */
function filePosition(posExpr: string): string {
  return `  if ($k == ${fdKindCodes.file}) {
    @fd[tid] = args->fd + 1;
    @p[tid] = ${posExpr};
    @f_size[tid, args->__syscall_nr] = max($f->f_inode->i_size);
    if (($f->f_flags & ${oAppend}) != 0 || ${posExpr} >= $f->f_inode->i_size) { @x[tid] = 1; }
  }`;
}

export function skeletonScript(options: SkeletonScriptOptions): string {
  if (options.tids.length === 0) throw new Error('skeletonScript needs at least one thread id');
  const seeds = options.tids.map((tid) => `  @track[${Math.trunc(tid)}] = 1;`).join('\n');
  const sized = [...sizedByCount, ...positional, ...vectored, 'sendto', 'recvfrom', 'sendfile64'];
  return `BEGIN {
${seeds}
  @t0 = nsecs;
}

tracepoint:sched:sched_process_fork /@track[args->parent_pid]/ {
  @track[args->child_pid] = 1;
  @fork[args->parent_pid, args->child_pid] = count();
}

tracepoint:sched:sched_process_exit /@track[args->pid]/ { @exit[args->pid] = count(); }

tracepoint:raw_syscalls:sys_enter /@track[tid]/ { @sc[pid, tid, args->id] = count(); }

${enter(sizedByCount)} /@track[tid]/ {
${fdKind('args->fd')}
  @io_req[tid, args->__syscall_nr, $k] = hist(args->count);
${filePosition('$f->f_pos')}
}

${enter(positional)} /@track[tid]/ {
${fdKind('args->fd')}
  @io_req[tid, args->__syscall_nr, $k] = hist(args->count);
${filePosition('args->pos')}
}

${enter(vectored)} /@track[tid]/ {
${fdKind('args->fd')}
${filePosition('$f->f_pos')}
}

tracepoint:syscalls:sys_enter_sendto /@track[tid]/ {
${fdKind('args->fd')}
  @io_req[tid, args->__syscall_nr, $k] = hist(args->len);
}

tracepoint:syscalls:sys_enter_recvfrom /@track[tid]/ {
${fdKind('args->fd')}
  @io_req[tid, args->__syscall_nr, $k] = hist(args->size);
}

tracepoint:syscalls:sys_enter_sendfile64 /@track[tid]/ {
${fdKind('args->out_fd')}
  @io_req[tid, args->__syscall_nr, $k] = hist(args->count);
}

${exit(sized)} /@k[tid]/ {
  $k = @k[tid];
  $nr = args->__syscall_nr;
  if (args->ret >= 0) {
    @io_ret[tid, $nr, $k] = hist(args->ret);
    @io_bytes[tid, $nr, $k] = sum(args->ret);
  } else {
    @io_err[tid, $nr, $k] = count();
  }
  if (@fd[tid]) {
    $p = @p[tid];
    $fd = @fd[tid];
    if ($p == @nxt[pid, $fd]) { @f_seq[tid, $nr] = count(); } else { @f_rand[tid, $nr] = count(); }
    @f_off[tid, $nr] = hist($p);
    if (args->ret > 0) { @nxt[pid, $fd] = $p + args->ret; }
    if (@x[tid]) {
      if (args->ret > 0) { @f_ext[tid, $nr] = count(); }
      delete(@x[tid]);
    }
    delete(@p[tid]);
    delete(@fd[tid]);
  }
  delete(@k[tid]);
}

${exit(readinessCalls)} /@track[tid]/ {
  if (args->ret > 0) { @ready[tid, args->__syscall_nr] = hist(args->ret); }
  else { @ready_none[tid, args->__syscall_nr] = count(); }
}

${exit(acceptCalls)} /@track[tid]/ {
  if (args->ret >= 0) { @accepted[tid] = count(); } else { @accept_fail[tid] = count(); }
}

tracepoint:syscalls:sys_enter_futex /@track[tid]/ { @futex[tid, args->op & 127] = count(); }

tracepoint:sched:sched_switch /@track[args->prev_pid]/ { @sw[args->prev_pid, args->prev_state] = count(); }

tracepoint:sched:sched_waking /@track[args->pid] && @track[tid]/ { @wake[tid, args->pid] = count(); }

// Printed from the event loop: bpftrace 0.17 loses a SIGINT that arrives before its loop runs.
interval:ms:100 /@loop == 0/ {
  @loop = 1;
  printf("${readyMarker}\\n");
}

interval:s:${Math.max(1, Math.ceil(options.maxSeconds))} { exit(); }

END {
  @elapsed_ns = nsecs - @t0;
  delete(@t0);
  delete(@loop);
  clear(@k);
  clear(@p);
  clear(@fd);
  clear(@x);
  clear(@nxt);
}
`;
}
