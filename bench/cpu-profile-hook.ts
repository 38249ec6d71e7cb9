/**
 * Preloaded into the agent (NODE_OPTIONS=--import, since Node 20 refuses --cpu-prof there) when the
 * benchmark profiles it: records a V8 CPU profile of `sigil-agent run` and writes it to
 * $SIGIL_BENCH_PROFILE_DIR/agent-<pid>.cpuprofile from SIGUSR2 until the process exits. Other commands are left alone.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import path from 'node:path';
import { isMainThread } from 'node:worker_threads';

const dir = process.env['SIGIL_BENCH_PROFILE_DIR'];
// Signing threads see the same argv and preloads; only the main thread is profiled.
if (dir && process.argv[2] === 'run' && isMainThread) {
  const session = new Session();
  session.connect();
  // Started on SIGUSR2, once the agent is up: the profiler's SIGPROF ticks would interrupt the BPF
  // verifier at start-up (it gives up with EAGAIN on a pending signal).
  process.once('SIGUSR2', () => {
    session.post('Profiler.enable');
    session.post('Profiler.start');
  });
  process.once('exit', () => {
    // The main-thread session answers synchronously, so this completes inside the exit handler.
    session.post('Profiler.stop', (err, result) => {
      if (!err) writeFileSync(path.join(dir, `agent-${process.pid}.cpuprofile`), JSON.stringify(result.profile));
    });
  });
}
