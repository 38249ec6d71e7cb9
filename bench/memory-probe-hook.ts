/**
 * Preloaded into the agent (NODE_OPTIONS=--import) by bench/agent-memory.ts: on SIGWINCH, `sigil-agent
 * run` writes what its main isolate holds to $SIGIL_BENCH_MEMORY_DIR/agent-<pid>.json — process
 * memoryUsage(), V8 heap spaces and code statistics, and every module loaded so far (URL, in load
 * order); on SIGPWR a heap snapshot beside it. What lives outside the main isolate (threads, libbpf, TLS, malloc) is read from
 * /proc/<pid>/smaps by the benchmark. Other commands and worker threads are left alone.
 */
import { writeFileSync } from 'node:fs';
import nodeModule from 'node:module';
import path from 'node:path';
import v8 from 'node:v8';
import { isMainThread } from 'node:worker_threads';

const dir = process.env['SIGIL_BENCH_MEMORY_DIR'];
if (dir && process.argv[2] === 'run' && isMainThread) {
  const modules: string[] = [];
  // module.registerHooks (Node ≥ 22.15) is newer than this checkout's @types/node.
  type Load = (url: string, context: unknown, next: (url: string, context: unknown) => unknown) => unknown;
  const { registerHooks } = nodeModule as unknown as { registerHooks?: (hooks: { load: Load }) => void };
  registerHooks?.({
    load(url, context, nextLoad) {
      modules.push(url);
      return nextLoad(url, context);
    },
  });
  process.on('SIGWINCH', () => {
    const report = {
      memoryUsage: process.memoryUsage(),
      heap: v8.getHeapStatistics(),
      spaces: v8.getHeapSpaceStatistics(),
      code: v8.getHeapCodeStatistics(),
      modules,
    };
    writeFileSync(path.join(dir, `agent-${process.pid}.json`), JSON.stringify(report));
  });
  // A heap snapshot (for retainers of per-connection memory), on SIGPWR.
  process.on('SIGPWR', () => {
    v8.writeHeapSnapshot(path.join(dir, `agent-${process.pid}.heapsnapshot`));
  });
}
