/**
 * CPU accounting for the drains: how much processor time each event costs the consumer (this
 * process, every thread) and the broker (when RabbitMQ runs on this host, read from /proc).
 * Both share this machine's cores, so together they bound any rate: the ceiling below is the
 * rate at which their measured costs would fill every core, were the work perfectly parallel.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { availableParallelism } from 'node:os';

export interface CpuSample {
  /** This process's user + system CPU time, µs (all threads: the checkpointer's too). */
  readonly selfUs: number;
  /** The broker's user + system CPU time, µs; null when it is not a process on this host. */
  readonly brokerUs: number | null;
}

export interface CpuPerEvent {
  readonly consumerUs: number;
  readonly brokerUs: number | null;
}

/** Linux's USER_HZ: /proc times are in 1/100 s on every architecture Node runs on. */
const PROC_TICKS_PER_S = 100;

/** The RabbitMQ node's pid (an Erlang VM, `beam.smp`), or null when there is none to see here. */
export function findBrokerPid(): number | null {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return null;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === 'beam.smp') return Number(entry);
    } catch {
      // Gone, or not ours to read.
    }
  }
  return null;
}

/** utime + stime of a process, µs, from /proc/<pid>/stat (fields 14 and 15, after the `(comm)`). */
export function procCpuUs(statLine: string): number {
  const fields = statLine.slice(statLine.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1_000_000) / PROC_TICKS_PER_S;
}

/**
 * The pid of the process listening on a local TCP port (a search node on this host), from
 * /proc/net/tcp{,6} and the processes' socket descriptors; null when none is visible here.
 */
export function findListenerPid(port: number): number | null {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      // local_address is HEXIP:HEXPORT; state 0A is LISTEN; the inode is the tenth field.
      if (fields.length > 9 && fields[3] === '0A' && parseInt(fields[1]!.split(':')[1]!, 16) === port) inodes.add(fields[9]!);
    }
  }
  if (inodes.size === 0) return null;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${entry}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const target = readlinkSync(`/proc/${entry}/fd/${fd}`);
        if (target.startsWith('socket:[') && inodes.has(target.slice(8, -1))) return Number(entry);
      } catch {
        // Closed meanwhile.
      }
    }
  }
  return null;
}

/** The command name of a process on this host (`/proc/<pid>/comm`, at most 15 characters); null when it cannot be read. */
export function processName(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return null;
  }
}

/** user + system CPU µs of any process on this host (the broker, a search node); null when it cannot be read. */
export function processCpuUs(pid: number | null): number | null {
  if (pid === null) return null;
  try {
    return procCpuUs(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return null;
  }
}

export function sampleCpu(brokerPid: number | null): CpuSample {
  const { user, system } = process.cpuUsage();
  return { selfUs: user + system, brokerUs: processCpuUs(brokerPid) };
}

export function cpuPerEvent(before: CpuSample, after: CpuSample, events: number): CpuPerEvent {
  const broker = before.brokerUs === null || after.brokerUs === null ? null : (after.brokerUs - before.brokerUs) / events;
  return { consumerUs: (after.selfUs - before.selfUs) / events, brokerUs: broker };
}

export function cores(): number {
  return availableParallelism();
}

/** Events/s at which consumer and broker together would use every core (perfect parallelism). */
export function cpuCeilingPerS(cost: CpuPerEvent, coreCount: number): number | null {
  if (cost.brokerUs === null) return null;
  const perEventUs = cost.consumerUs + cost.brokerUs;
  return perEventUs > 0 ? (coreCount * 1_000_000) / perEventUs : null;
}

/**
 * The consumer CPU µs per event that a target rate leaves once the broker has had its share
 * (at its cost when feeding the bare consumer, the least it can cost): above it the target cannot
 * be met on these cores, however the work is spread over threads.
 */
export function consumerBudgetUs(targetPerS: number, brokerUsPerEvent: number | null, coreCount: number): number | null {
  if (brokerUsPerEvent === null || targetPerS <= 0) return null;
  return (coreCount * 1_000_000) / targetPerS - brokerUsPerEvent;
}
