import type { Logger } from './log.js';

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
  const onStop = (): void => stop.abort();
  signal.addEventListener('abort', onStop, { once: true });
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
    signal.removeEventListener('abort', onStop);
  }
  if (first !== undefined) throw first;
}
