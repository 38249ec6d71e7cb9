import test from 'ava';
import { JetStreamApiError } from '@nats-io/jetstream';
import { isTransient } from '../../../controlplane/store/kv-errors.js';

test('a forming cluster\'s "error creating store for stream" and 503s are retried; other API errors are not', (t) => {
  t.true(isTransient(new JetStreamApiError({ code: 500, err_code: 10049, description: 'error creating store for stream' })));
  t.true(isTransient(new JetStreamApiError({ code: 503, err_code: 10008, description: 'JetStream system temporarily unavailable' })));
  t.false(isTransient(new JetStreamApiError({ code: 400, err_code: 10058, description: 'stream name already in use with a different configuration' })));
  t.false(isTransient(new JetStreamApiError({ code: 500, err_code: 10049, description: 'insufficient resources' })));
  t.false(isTransient(new Error('something else')));
});
