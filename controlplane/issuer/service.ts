import type { Logger } from '../log.js';
import { sleep } from '../../common/abort.js';
import type { Service } from '../../common/service.js';
import type { KeySet } from './key-set.js';

/**
 * Keeps the key set fresh: creates the first key, rotates when due, retires old keys. Runs until the
 * signal fires. Check often enough that a retirement is never late by much.
 */
export class KeyMaintenanceService implements Service {
  readonly name = 'keys';
  constructor(private readonly keys: KeySet, private readonly log: Logger, private readonly intervalMs: number) {}

  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        if (await this.keys.maintain()) {
          const { signing, published, sequence } = await this.keys.current();
          this.log.info({ kid: signing.kid, published: published.map((k) => k.kid), sequence }, 'signing keys changed');
        }
      } catch (err) {
        this.log.error({ err }, 'key maintenance failed');
      }
      await sleep(this.intervalMs, signal);
    }
  }
}
