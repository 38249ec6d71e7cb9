/**
 * The physical floor of signing: CPU time of one RSA-2048 PKCS#1 v1.5 SHA-256 signature, made inline;
 * and what the same signature costs when it is made the way the signer makes it (node:crypto's
 * asynchronous sign on libuv's thread pool, a few in flight): the hand-off, the thread wake-ups and
 * the callback, in all threads and on the event loop's thread alone.
 */
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** CPU time of this process's main thread, µs (/proc, clock ticks of 10 ms: use long runs). */
function mainThreadCpuUs(): number {
  const fields = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

function signAsync(data: Buffer, key: KeyObject, count: number, inFlight: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let started = 0;
    let done = 0;
    const next = (): void => {
      started++;
      sign('sha256', data, key, (err) => {
        if (err) return reject(err);
        if (++done === count) resolve();
        else if (started < count) next();
      });
    };
    for (let i = 0; i < Math.min(inFlight, count); i++) next();
  });
}

export async function benchSignCost(iterations = 2000): Promise<{ signCostUs: number; asyncSignCpuUs: number; asyncSignMainThreadUs: number; handOffCpuUs: number }> {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const data = Buffer.from('date: Thu, 05 Jan 2014 21:31:40 GMT\n(request-target): get /n/\nhost: objectstorage.us-ashburn-1.oraclecloud.com');
  for (let i = 0; i < 50; i++) sign('sha256', data, privateKey);
  const before = process.cpuUsage();
  for (let i = 0; i < iterations; i++) sign('sha256', data, privateKey);
  const used = process.cpuUsage(before);
  const signCostUs = Math.round(((used.user + used.system) / iterations) * 10) / 10;

  await signAsync(data, privateKey, 50, 4);
  const asyncBefore = process.cpuUsage();
  const mainBefore = mainThreadCpuUs();
  await signAsync(data, privateKey, iterations, 4);
  const asyncUsed = process.cpuUsage(asyncBefore);
  const asyncSignCpuUs = Math.round(((asyncUsed.user + asyncUsed.system) / iterations) * 10) / 10;
  return {
    signCostUs,
    asyncSignCpuUs,
    asyncSignMainThreadUs: Math.round(((mainThreadCpuUs() - mainBefore) / iterations) * 10) / 10,
    handOffCpuUs: Math.round((asyncSignCpuUs - signCostUs) * 10) / 10,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (let run = 0; run < Number(process.argv[2] ?? 3); run++) process.stdout.write(`${JSON.stringify(await benchSignCost(Number(process.argv[3] ?? 4000)))}\n`);
}
