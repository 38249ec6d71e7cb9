/**
 * The NATS side of the exchange: a queue subscription on `sigil.cp.*.exchange`, shared by all
 * control-plane replicas (queue `sigil-cp`). The agent id comes from the subject, never from the body:
 * NATS permissions only let an agent publish under its own id.
 *
 * Lifecycle: `stop()` stops taking requests, lets the ones in progress finish (their replies still
 * go out, bounded by `stopTimeoutMs`), and resolves when done. `closed` resolves at the same time.
 */
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { ExchangeService } from './exchange-service.js';
import { agentIdOfSubject, subjects } from '../../protocol/subjects.js';
import { EXCHANGE_CODES, encodeExchangeMessage, type ExchangeReply } from '../../protocol/exchange.js';
import { answersOwnInbox, type RefusedReplyListener } from '../fleet/index.js';

export interface ExchangeResponder {
  stop(): Promise<void>;
  readonly closed: Promise<void>;
}

export interface ExchangeResponderOptions {
  log?: Logger;
  /** Told of every request dropped because its reply subject is not the asker's own inbox. */
  onRefusedReply?: RefusedReplyListener;
  /** How long stop() waits for exchanges in progress before it aborts them (default 10 s). */
  stopTimeoutMs?: number;
}

/** The subject the exchange listens on: every agent's exchange subject. */
export const EXCHANGE_SUBSCRIPTION = subjects.exchange('*');

export function startExchangeResponder(nc: NatsConnection, service: ExchangeService, options: ExchangeResponderOptions = {}): ExchangeResponder {
  const inFlight = new Set<Promise<void>>();
  const abort = new AbortController();
  let resolveClosed!: () => void;
  const closed = new Promise<void>((resolve) => (resolveClosed = resolve));

  async function answer(msg: Msg): Promise<void> {
    const agentId = agentIdOfSubject(msg.subject);
    let reply: ExchangeReply;
    if (agentId === undefined) {
      reply = { ok: false, code: EXCHANGE_CODES.BAD_MESSAGE, message: `subject ${msg.subject} names no agent` };
    } else {
      reply = await service.handle(agentId, msg.data, abort.signal);
    }
    try {
      msg.respond(encodeExchangeMessage(reply));
    } catch (err) {
      options.log?.warn({ agentId, err }, 'could not send exchange reply');
    }
  }

  const sub: Subscription = nc.subscribe(EXCHANGE_SUBSCRIPTION, {
    queue: subjects.controlPlaneQueue,
    callback: (err, msg) => {
      if (err) {
        options.log?.error({ err }, 'exchange subscription failed');
        return;
      }
      if (!answersOwnInbox('exchange', msg.subject, msg.reply, options.log, options.onRefusedReply)) return;
      const task = answer(msg).catch((e: unknown) => options.log?.error({ err: e }, 'exchange handler failed'));
      inFlight.add(task);
      void task.finally(() => inFlight.delete(task));
    },
  });
  void sub.closed.then(() => undefined, () => undefined);

  let stopping: Promise<void> | undefined;
  return {
    closed,
    stop() {
      stopping ??= (async () => {
        try {
          await sub.drain();
        } catch {
          // the connection is already closed: nothing more will arrive
        }
        const timer = setTimeout(() => abort.abort(new Error('exchange responder stopping')), options.stopTimeoutMs ?? 10_000);
        await Promise.allSettled([...inFlight]);
        clearTimeout(timer);
        resolveClosed();
      })();
      return stopping;
    },
  };
}
