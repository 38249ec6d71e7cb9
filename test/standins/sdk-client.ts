/**
 * Points the official OCI TypeScript SDK at the Object Storage stand-in (tests and demo).
 *
 *   const { client, agent } = objectStorageClientFor(os, sessionTokenAuth(upst, sessionKeyPem), pki.caCertPem);
 *   await client.getNamespace({});   ...   agent.destroy();
 *
 *   sessionTokenAuth(token, privateKeyPem)  an AuthenticationDetailsProvider signing with keyId "ST$<token>"
 *   pinnedLookup({ host: address })         a net `lookup` that resolves only the given names
 *
 * The endpoint keeps the real hostname (https://objectstorage.<region>.oraclecloud.com:<port>) so the
 * SDK signs the real `host`; the https.Agent resolves it to the stand-in's loopback address.
 */
import { Agent } from 'node:https';
import type { LookupFunction } from 'node:net';
import * as common from 'oci-common';
import { ObjectStorageClient } from 'oci-objectstorage';
import type { ObjectStorageStandIn } from './oci-objectstorage.js';

export function sessionTokenAuth(token: string, privateKeyPem: string): common.AuthenticationDetailsProvider {
  return {
    getKeyId: async () => `ST$${token}`,
    getPrivateKey: () => privateKeyPem,
    getPassphrase: () => null,
  };
}

export function pinnedLookup(names: Record<string, string>): LookupFunction {
  return ((hostname: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    const address = names[hostname.toLowerCase()];
    if (address === undefined) {
      const err = Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname} (pinnedLookup)`), { code: 'ENOTFOUND', hostname });
      callback(err);
      return;
    }
    const family = address.includes(':') ? 6 : 4;
    if (options?.all) callback(null, [{ address, family }]);
    else callback(null, address, family);
  }) as LookupFunction;
}

export function objectStorageClientFor(
  os: Pick<ObjectStorageStandIn, 'url' | 'hostname' | 'address'>,
  auth: common.AuthenticationDetailsProvider,
  caPem: string,
): { client: ObjectStorageClient; agent: Agent } {
  const agent = new Agent({ ca: caPem, keepAlive: true, lookup: pinnedLookup({ [os.hostname]: os.address }) });
  const client = new ObjectStorageClient(
    { authenticationDetailsProvider: auth },
    {
      httpOptions: { agent },
      // A test wants to see the first answer, not a retried one.
      retryConfiguration: { terminationStrategy: new common.MaxAttemptsTerminationStrategy(1) },
    },
  );
  client.endpoint = os.url;
  return { client, agent };
}
