/**
 * Starts the IAM and Object Storage stand-ins together for the local demo and prints one JSON line:
 *   {"iam":{"url","tokenUrl","hostname","address","port"},
 *    "objectStorage":{"url","hostname","address","port","region","namespace"},"caFile":"..."}
 * then serves until SIGINT/SIGTERM.
 *
 *   node dist/test/standins/main.js --jwks-url https://127.0.0.1:8443/jwks.json --jwks-ca-file ca.pem \
 *     --issuer https://cp.example --audience oci --client-id sigil --client-secret-file secret.txt \
 *     --principal '^spiffe://example\.org/=ocid1.user.oc1..demo' [--region us-ashburn-1] [--namespace demo]
 *     [--iam-address 127.77.1.1] [--os-address 127.77.1.2] [--token-lifetime 3600] [--ca-out /path/ca.pem]
 *     [--config standins.json]    (same keys in camelCase; flags win over the file)
 */
import { copyFile, readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { createTestPki } from '../helpers/test-pki.js';
import { startIamStandIn, type PrincipalRule } from './oci-iam.js';
import { startObjectStorageStandIn } from './oci-objectstorage.js';

interface StandInsConfig {
  region?: string;
  namespace?: string;
  iamAddress?: string;
  osAddress?: string;
  iamPort?: number;
  osPort?: number;
  clientId?: string;
  clientSecret?: string;
  clientSecretFile?: string;
  jwksUrl?: string;
  jwksCaFile?: string;
  issuer?: string;
  audience?: string;
  /** "<regex>=<principal OCID>" */
  principals?: string[];
  tokenLifetime?: number;
  caOut?: string;
}

class UsageError extends Error {}

function parsePrincipal(spec: string): PrincipalRule {
  const at = spec.lastIndexOf('=');
  if (at <= 0) throw new UsageError(`--principal must be "<regex>=<principal>", got ${JSON.stringify(spec)}`);
  return { pattern: new RegExp(spec.slice(0, at)), principal: spec.slice(at + 1) };
}

async function loadConfig(argv: string[]): Promise<StandInsConfig> {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string' },
      region: { type: 'string' },
      namespace: { type: 'string' },
      'iam-address': { type: 'string' },
      'os-address': { type: 'string' },
      'iam-port': { type: 'string' },
      'os-port': { type: 'string' },
      'client-id': { type: 'string' },
      'client-secret': { type: 'string' },
      'client-secret-file': { type: 'string' },
      'jwks-url': { type: 'string' },
      'jwks-ca-file': { type: 'string' },
      issuer: { type: 'string' },
      audience: { type: 'string' },
      principal: { type: 'string', multiple: true },
      'token-lifetime': { type: 'string' },
      'ca-out': { type: 'string' },
    },
  });
  let file: StandInsConfig = {};
  if (values.config) {
    try {
      file = JSON.parse(await readFile(values.config, 'utf8')) as StandInsConfig;
    } catch (err) {
      throw new UsageError(`cannot read config file ${values.config}: ${(err as Error).message}`);
    }
  }
  const num = (v: string | undefined, name: string): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new UsageError(`--${name} must be a non-negative integer`);
    return n;
  };
  const flags: StandInsConfig = {
    region: values.region,
    namespace: values.namespace,
    iamAddress: values['iam-address'],
    osAddress: values['os-address'],
    iamPort: num(values['iam-port'], 'iam-port'),
    osPort: num(values['os-port'], 'os-port'),
    clientId: values['client-id'],
    clientSecret: values['client-secret'],
    clientSecretFile: values['client-secret-file'],
    jwksUrl: values['jwks-url'],
    jwksCaFile: values['jwks-ca-file'],
    issuer: values.issuer,
    audience: values.audience,
    principals: values.principal,
    tokenLifetime: num(values['token-lifetime'], 'token-lifetime'),
    caOut: values['ca-out'],
  };
  const merged: StandInsConfig = { ...file };
  for (const [key, value] of Object.entries(flags)) if (value !== undefined) (merged as Record<string, unknown>)[key] = value;
  return merged;
}

async function main(argv: string[]): Promise<number> {
  const config = await loadConfig(argv);
  for (const required of ['jwksUrl', 'issuer', 'audience', 'clientId'] as const) {
    if (!config[required]) throw new UsageError(`missing ${required} (flag --${required.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())})`);
  }
  const clientSecret = config.clientSecret ?? (config.clientSecretFile ? (await readFile(config.clientSecretFile, 'utf8')).trim() : undefined);
  if (!clientSecret) throw new UsageError('missing clientSecret or clientSecretFile');
  const principals = (config.principals ?? []).map(parsePrincipal);
  if (principals.length === 0) throw new UsageError('at least one --principal "<regex>=<principal>" is required');
  const jwksCaPem = config.jwksCaFile ? await readFile(config.jwksCaFile, 'utf8') : undefined;

  const pki = await createTestPki();
  const iam = await startIamStandIn({
    pki,
    address: config.iamAddress,
    port: config.iamPort,
    clientId: config.clientId!,
    clientSecret,
    trust: { issuer: config.issuer!, audience: config.audience!, jwksUrl: config.jwksUrl!, jwksCaPem },
    principals,
    tokenLifetimeSeconds: config.tokenLifetime,
  });
  const os = await startObjectStorageStandIn({
    pki,
    region: config.region,
    namespace: config.namespace,
    address: config.osAddress,
    port: config.osPort,
    trustedIssuers: [iam.publicKey],
  });
  if (config.caOut) await copyFile(pki.caFile, config.caOut);
  process.stdout.write(
    JSON.stringify({
      iam: { url: iam.url, tokenUrl: iam.tokenUrl, hostname: iam.hostname, address: iam.address, port: iam.port },
      objectStorage: { url: os.url, hostname: os.hostname, address: os.address, port: os.port, region: os.region, namespace: os.namespace },
      caFile: config.caOut ?? pki.caFile,
    }) + '\n',
  );

  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await os.close();
  await iam.close();
  await pki.close();
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`sigil stand-ins: ${err instanceof UsageError ? err.message : String((err as Error)?.stack ?? err)}\n`);
    process.exit(err instanceof UsageError ? 2 : 1);
  },
);
