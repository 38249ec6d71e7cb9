import { generateKeyPairSync, verify } from 'node:crypto';
import os from 'node:os';
import test from 'ava';
import { SigningPool } from '../../../agent/signer/signing-pool.js';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });

test('signatures from the pool verify with the public key, for every text and key', async (t) => {
  const pool = new SigningPool({ size: 2 });
  try {
    const second = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const texts = Array.from({ length: 40 }, (_, i) => `date: x\n(request-target): get /n/${i}\nhost: h`);
    const sigs = await Promise.all(texts.map((text, i) => pool.sign(text, i % 2 === 0 ? privateKey : second.privateKey)));
    for (const [i, text] of texts.entries()) {
      const pub = i % 2 === 0 ? publicKey : second.publicKey;
      t.true(verify('sha256', Buffer.from(text), pub, Buffer.from(sigs[i]!, 'base64')), `signature ${i}`);
    }
  } finally {
    await pool.close();
  }
});

test('the event loop keeps turning while signatures are made', async (t) => {
  const pool = new SigningPool({ size: 1 });
  try {
    let turns = 0;
    let spinning = true;
    const spin = (): void => {
      turns++;
      if (spinning) setImmediate(spin);
    };
    setImmediate(spin);
    await Promise.all(Array.from({ length: 200 }, (_, i) => pool.sign(`text ${i}`, privateKey)));
    spinning = false;
    // Signed inline, 200 signatures would hold the loop for their whole duration: no turn in between.
    t.true(turns > 200, `${turns} event-loop turns during 200 signatures`);
  } finally {
    await pool.close();
  }
});

test('a key that cannot sign fails that signature only, without the key in the message', async (t) => {
  const pool = new SigningPool({ size: 1 });
  try {
    const err = await t.throwsAsync(pool.sign('x', publicKey));
    t.regex(err!.message, /RSA signing failed/);
    t.notRegex(err!.message, /BEGIN|PRIVATE|PUBLIC KEY/);
    t.truthy(await pool.sign('y', privateKey));
  } finally {
    await pool.close();
  }
});

test('at most size signatures run at once; the rest wait their turn and all complete', async (t) => {
  const pool = new SigningPool({ size: 2 });
  try {
    const all = Promise.all(Array.from({ length: 40 }, (_, i) => pool.sign(`t${i}`, privateKey)));
    t.is(pool.running, 2, 'two signatures on libuv threads');
    t.is(pool.waiting, 38, 'the others queued in the pool, not on libuv (whose fs and DNS work would wait behind all of them)');
    t.is((await all).length, 40);
    t.is(pool.running, 0);
    t.is(pool.waiting, 0);
  } finally {
    await pool.close();
  }
});

test('by default two signatures per core are handed to libuv at once', (t) => {
  t.is(new SigningPool().size, 2 * os.availableParallelism());
});

test('signatures queued when the pool closes fail; a closed pool signs nothing', async (t) => {
  const pool = new SigningPool({ size: 1 });
  const first = pool.sign('a', privateKey);
  const queued = pool.sign('b', privateKey);
  await pool.close();
  await t.throwsAsync(queued, { message: /closed/ });
  t.truthy(await first, 'the one already on libuv finishes');
  await t.throwsAsync(pool.sign('c', privateKey), { message: /closed/ });
});
