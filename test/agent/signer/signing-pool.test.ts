import { generateKeyPairSync, verify } from 'node:crypto';
import test from 'ava';
import { SigningPool } from '../../../agent/signer/signing-pool.js';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });

test('signatures from the pool verify with the public key, for every text and key rotated in', async (t) => {
  const pool = new SigningPool({ size: 2 });
  try {
    const second = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const texts = Array.from({ length: 40 }, (_, i) => `date: x\n(request-target): get /n/${i}\nhost: h`);
    const sigs = await Promise.all(texts.map((text, i) => pool.sign(text, i % 2 === 0 ? privateKey : second.privateKey)));
    for (const [i, text] of texts.entries()) {
      const pub = i % 2 === 0 ? publicKey : second.publicKey;
      t.true(verify('sha256', Buffer.from(text), pub, Buffer.from(sigs[i]!, 'base64')), `signature ${i}`);
    }
    t.true(pool.threads >= 1 && pool.threads <= 2, `${pool.threads} threads for size 2`);
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

test('threads beyond the first end when idle past idleMs; the first stays; load starts them again', async (t) => {
  const pool = new SigningPool({ size: 2, idleMs: 50 });
  try {
    await pool.start();
    t.is(pool.threads, 1, 'start() makes the one thread that is always there');
    const burst = (): Promise<string[]> => Promise.all(Array.from({ length: 40 }, (_, i) => pool.sign(`t${i}`, privateKey)));
    await burst();
    t.is(pool.threads, 2, 'a burst started the second thread');
    const deadline = Date.now() + 10_000;
    while (pool.threads > 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    t.is(pool.threads, 1, 'the idle extra thread ended, the first stayed');
    await burst();
    t.is(pool.threadsStarted, 3);
  } finally {
    await pool.close();
  }
});
