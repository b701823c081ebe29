// Which Debian package provides each external tool, so a missing tool's error says what to install.
export const debianPackageOf: Record<string, string> = {
  bpftrace: 'bpftrace',
  perf: 'linux-perf',
  valgrind: 'valgrind',
  callgrind_control: 'valgrind',
  strace: 'strace',
  gcc: 'gcc',
  make: 'make',
  objdump: 'binutils',
  memcached: 'memcached',
  'redis-server': 'redis-server',
  'redis-cli': 'redis-tools',
  'redis-benchmark': 'redis-tools',
  nginx: 'nginx-light',
  memcaslap: 'libmemcached-tools',
  wrk: 'wrk',
  mount: 'mount',
  setpriv: 'util-linux',
};

export function installHint(tool: string): string {
  const pkg = debianPackageOf[tool];
  return pkg
    ? `install it with: apt-get install ${pkg} (or run make setup)`
    : `install ${tool} and put it on PATH`;
}
