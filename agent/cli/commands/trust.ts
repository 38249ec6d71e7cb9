/** `sigil-agent trust`: how each kind of client trusts the signer's local CA on this host. */
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { DEFAULT_STATE_DIR, caPaths } from '../../signer/local-ca.js';

export const summary = "print how SDKs, the CLI and the system store trust the signer's local CA";

const USAGE = `usage: sigil-agent trust [--state-dir D | --ca-cert FILE]
  --state-dir  the agent's state dir (default ${DEFAULT_STATE_DIR}); the CA certificate is <D>/ca.pem
  --ca-cert    path of the exported CA certificate, if the agent exports it elsewhere`;

/** The instructions, for the certificate at `certPath` whose SHA-256 fingerprint is `sha256`. */
export function trustInstructions(certPath: string, sha256: string): string {
  const bundle = '/etc/sigil-agent/ca-bundle.pem';
  return `Sigil signer local CA: ${certPath}
  SHA-256 fingerprint: ${sha256}

Node.js / OCI TypeScript SDK (adds to Node's own roots):
  export NODE_EXTRA_CA_CERTS=${certPath}

OCI CLI and OCI Python SDK (these REPLACE the default roots, so give them a bundle that also holds
the system roots, for OCI hosts that are not steered through the signer):
  cat /etc/ssl/certs/ca-certificates.crt ${certPath} > ${bundle}
  export OCI_CLI_CERT_BUNDLE=${bundle}      # or: oci --cert-bundle ${bundle} ...
  export REQUESTS_CA_BUNDLE=${bundle}       # Python SDK (requests)

System store (Go SDK, curl, Java via the distribution's tooling):
  Debian/Ubuntu:            cp ${certPath} /usr/local/share/ca-certificates/sigil-agent.crt && update-ca-certificates
  Oracle Linux/RHEL/Fedora: cp ${certPath} /etc/pki/ca-trust/source/anchors/sigil-agent.pem && update-ca-trust
`;
}

export async function run(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { 'state-dir': { type: 'string' }, 'ca-cert': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
    }));
  } catch (err) {
    process.stderr.write(`sigil-agent trust: ${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const certPath = values['ca-cert'] ?? caPaths(values['state-dir'] ?? DEFAULT_STATE_DIR).exported;
  let pem: string;
  try {
    pem = await fs.readFile(certPath, 'utf8');
  } catch (err) {
    process.stderr.write(
      `sigil-agent trust: cannot read the CA certificate ${certPath} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); ` +
        'the agent creates it at first start: start sigil-agent, or pass --state-dir/--ca-cert\n',
    );
    return 1;
  }
  const sha256 = new crypto.X509Certificate(pem).fingerprint256;
  process.stdout.write(trustInstructions(certPath, sha256));
  return 0;
}
