/** The physical floor of signing: CPU time of one RSA-2048 PKCS#1 v1.5 SHA-256 signature. */
import { generateKeyPairSync, sign } from 'node:crypto';

export function benchSignCost(iterations = 2000): { signCostUs: number } {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const data = Buffer.from('date: Thu, 05 Jan 2014 21:31:40 GMT\n(request-target): get /n/\nhost: objectstorage.us-ashburn-1.oraclecloud.com');
  for (let i = 0; i < 50; i++) sign('sha256', data, privateKey);
  const before = process.cpuUsage();
  for (let i = 0; i < iterations; i++) sign('sha256', data, privateKey);
  const used = process.cpuUsage(before);
  return { signCostUs: Math.round(((used.user + used.system) / iterations) * 10) / 10 };
}
