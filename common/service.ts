import type { Logger } from './log.js';
import { onAbort, untilAborted } from './abort.js';

/**
 * A long-running part of a program (an HTTP listener, a NATS responder, a key-rotation loop): it runs
 * until `signal` fires, then returns once it has stopped. A rejection means it failed.
 */
export interface Service {
  readonly name: string;
  run(signal: AbortSignal): Promise<void>;
}

/**
 * Runs services side by side until `signal` fires or one fails; the first failure stops the others
 * and is what the returned promise rejects with, once every service has returned.
 */
export async function runServices(services: readonly Service[], signal: AbortSignal, log: Logger): Promise<void> {
  const stop = new AbortController();
  const cancel = onAbort(signal, () => stop.abort());
  let first: unknown;
  try {
    await Promise.all(services.map(async (service) => {
      try {
        await service.run(stop.signal);
      } catch (err) {
        if (first === undefined) first = err;
        log.error({ err, service: service.name }, 'service failed; stopping');
        stop.abort();
      }
    }));
  } finally {
    cancel();
  }
  if (first !== undefined) throw first;
}

/** What a part with its own start and stop hands back once started. */
export interface Stoppable {
  stop(): Promise<void> | void;
}

/**
 * A part that has start/stop methods, as a Service: `start` runs when the service runs, `stop` once
 * the signal fires (also when the start itself was cut short by it). A failing start is the
 * service's failure.
 */
export function serviceOf(name: string, start: () => Promise<Stoppable | undefined> | Stoppable | undefined): Service {
  return {
    name,
    async run(signal: AbortSignal): Promise<void> {
      const part = await start();
      try {
        await untilAborted(signal);
      } finally {
        await part?.stop();
      }
    },
  };
}
