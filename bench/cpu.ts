/**
 * Where a benchmark's CPU goes, and giving a process a CPU budget of its own (Linux: /proc and
 * cgroups). On a machine with fewer cores than the processes under test need, a budget per hub
 * process stands in for the machine of its own each would have in a deployment.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** CPU seconds (user + system, all threads) each process has used so far; 0 if it is gone. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
  } catch { return 0; }
}

/** The PIDs of processes with this command name (PostgreSQL's server and its backends: 'postgres'). */
export function pidsNamed(comm: string): number[] {
  if (!existsSync('/proc')) return [];
  return readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number).filter((pid) => {
    try { return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === comm; } catch { return false; }
  });
}

export interface Budget { release(): void }

/**
 * The budget's accounting period. Each period a process is throttled in costs it cold caches (on
 * this VM, a throttled hub spent 5x the CPU per request at a 10 ms period, 2.5x at 100 ms): the
 * budget models a slower machine's throughput, not its latency.
 */
const PERIOD_US = 100_000;

/**
 * Confine `pid` (all its threads) to `cpus` of one core through a cgroup of its own (v1 cpu
 * controller or v2 cpu.max). Null when this process may not create cgroups.
 */
export function confine(pid: number, cpus: number, name: string): Budget | null {
  const quota = Math.round(cpus * PERIOD_US);
  const v1 = '/sys/fs/cgroup/cpu';
  const v2 = '/sys/fs/cgroup';
  try {
    let dir: string;
    if (existsSync(join(v1, 'cpu.cfs_quota_us'))) {
      dir = join(v1, name);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'cpu.cfs_period_us'), String(PERIOD_US));
      writeFileSync(join(dir, 'cpu.cfs_quota_us'), String(quota));
    } else if (readFileSync(join(v2, 'cgroup.controllers'), 'utf8').split(/\s+/).includes('cpu')) {
      writeFileSync(join(v2, 'cgroup.subtree_control'), '+cpu');
      dir = join(v2, name);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'cpu.max'), `${quota} ${PERIOD_US}`);
    } else return null;
    writeFileSync(join(dir, 'cgroup.procs'), String(pid));
    return { release: () => { try { rmdirSync(dir); } catch { /* still has a process: it goes when that exits */ } } };
  } catch {
    return null;
  }
}
