import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from '../log.js';
import type { Service } from '../../common/service.js';
import { untilAborted } from '../../common/abort.js';
import { ExchangeService, type ExchangedListener, type ExchangeOutcome } from './exchange-service.js';
import { OciTokenExchangeDriver } from './oci-driver.js';
import type { BindingOwnership, SvidMinter } from './ports.js';
import { startExchangeResponder } from './responder.js';
import type { RefusedReplyListener } from '../fleet/index.js';

/** The exchange responder as one of the control plane's services: answers until the signal fires. */
export class ExchangeResponderService implements Service {
  readonly name = 'exchange';
  constructor(
    private readonly nc: NatsConnection,
    private readonly deps: { ownership: BindingOwnership; minter: SvidMinter; log: Logger; onRefusedReply?: RefusedReplyListener; onExchanged?: ExchangedListener; onExchange?: (result: ExchangeOutcome) => void },
  ) {}

  async run(signal: AbortSignal): Promise<void> {
    const service = new ExchangeService({ ...this.deps, drivers: { oci: new OciTokenExchangeDriver() } });
    const responder = startExchangeResponder(this.nc, service, { log: this.deps.log, ...(this.deps.onRefusedReply ? { onRefusedReply: this.deps.onRefusedReply } : {}) });
    this.deps.log.info('answering credential exchange requests');
    await untilAborted(signal);
    await responder.stop();
  }
}
