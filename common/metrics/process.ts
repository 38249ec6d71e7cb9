/**
 * The process metrics prom-client's default collector exports, under the same names, so dashboards
 * made for any Node service work unchanged: CPU, memory, fds, start time, V8 heap. Read at scrape
 * time (Linux /proc where the number lives only there); no timers, no state.
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { MetricFamily } from './exposition.js';

const START_TIME_SECONDS = Math.round(Date.now() / 1000 - process.uptime());

function procStatus(): Record<string, number> {
  const out: Record<string, number> = {};
  try {
    for (const line of readFileSync('/proc/self/status', 'utf8').split('\n')) {
      const m = /^(VmRSS|VmSize|VmData):\s+(\d+) kB$/.exec(line);
      if (m?.[1] && m[2]) out[m[1]] = Number(m[2]) * 1024;
    }
  } catch {
    // not Linux: the /proc-only families are left out
  }
  return out;
}

function openFds(): number | undefined {
  try {
    return readdirSync('/proc/self/fd').length - 1; // minus the fd readdir itself holds
  } catch {
    return undefined;
  }
}

function maxFds(): number | undefined {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return m?.[1] ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

const gauge = (name: string, help: string, value: number | undefined): MetricFamily[] =>
  value === undefined ? [] : [{ name, help, type: 'gauge', samples: [{ value }] }];

export function processFamilies(): MetricFamily[] {
  const cpu = process.cpuUsage();
  const user = cpu.user / 1e6;
  const system = cpu.system / 1e6;
  const status = procStatus();
  const heap = process.memoryUsage();
  return [
    { name: 'process_cpu_user_seconds_total', type: 'counter', help: 'Total user CPU time spent in seconds.', samples: [{ value: user }] },
    { name: 'process_cpu_system_seconds_total', type: 'counter', help: 'Total system CPU time spent in seconds.', samples: [{ value: system }] },
    { name: 'process_cpu_seconds_total', type: 'counter', help: 'Total user and system CPU time spent in seconds.', samples: [{ value: user + system }] },
    { name: 'process_start_time_seconds', type: 'gauge', help: 'Start time of the process since unix epoch in seconds.', samples: [{ value: START_TIME_SECONDS }] },
    { name: 'process_resident_memory_bytes', type: 'gauge', help: 'Resident memory size in bytes.', samples: [{ value: status['VmRSS'] ?? heap.rss }] },
    ...gauge('process_virtual_memory_bytes', 'Virtual memory size in bytes.', status['VmSize']),
    ...gauge('process_heap_bytes', 'Process heap size in bytes.', status['VmData']),
    ...gauge('process_open_fds', 'Number of open file descriptors.', openFds()),
    ...gauge('process_max_fds', 'Maximum number of open file descriptors.', maxFds()),
    { name: 'nodejs_heap_size_total_bytes', type: 'gauge', help: 'Process heap size from Node.js in bytes.', samples: [{ value: heap.heapTotal }] },
    { name: 'nodejs_heap_size_used_bytes', type: 'gauge', help: 'Process heap size used from Node.js in bytes.', samples: [{ value: heap.heapUsed }] },
    { name: 'nodejs_external_memory_bytes', type: 'gauge', help: 'Node.js external memory size in bytes.', samples: [{ value: heap.external }] },
    { name: 'nodejs_version_info', type: 'gauge', help: 'Node.js version info.',
      samples: [{ labels: { version: process.version, major: String(process.versions.node.split('.')[0]) }, value: 1 }] },
  ];
}

