/**
 * `sigil-agent trust`: how each kind of client trusts the signer's local CA on this host, and
 * (`--install` / `--uninstall`) putting it into, or taking it out of, the Debian system trust store.
 */
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { DEFAULT_STATE_DIR, caPaths } from '../../signer/index.js';
import { unreadableByOthers } from '../../signer/index.js';

export const summary = "print how SDKs, the CLI and the system store trust the signer's local CA (--install: add it to the system store)";

/** Where Debian's update-ca-certificates picks up local CAs (must end in .crt), and what it builds. */
export const DEBIAN_LOCAL_CA = '/usr/local/share/ca-certificates/sigil-agent.crt';
export const DEBIAN_SYSTEM_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';

const USAGE = `usage: sigil-agent trust [--state-dir D | --ca-cert FILE] [--install | --uninstall] [--root DIR]
  --state-dir  the agent's state dir (default ${DEFAULT_STATE_DIR}); the CA certificate is <D>/ca.pem
  --ca-cert    path of the exported CA certificate, if the agent exports it elsewhere
  --install    copy it to ${DEBIAN_LOCAL_CA} and run update-ca-certificates (root)
  --uninstall  remove that copy and run update-ca-certificates (root)
  --root DIR   with --install/--uninstall: act on the store under DIR as if it were / (images, tests)`;

const execFileP = promisify(execFile);

/** The instructions, for the certificate at `certPath` whose SHA-256 fingerprint is `sha256`. */
export function trustInstructions(certPath: string, sha256: string): string {
  const bundle = '/etc/sigil/ca-bundle.pem';
  return `Sigil signer local CA: ${certPath}
  SHA-256 fingerprint: ${sha256}
  Public: every user may read it. Its private key stays root-only (0600, in a 0700 directory).

Node.js / OCI TypeScript SDK (adds to Node's own roots; read once, at process start):
  export NODE_EXTRA_CA_CERTS=${certPath}
  Node takes one such file: if the app already sets NODE_EXTRA_CA_CERTS (e.g. a private endpoint's CA),
  give it one file holding both:  cat <its file> ${certPath} > <app dir>/extra-ca.pem

OCI CLI and OCI Python SDK (these REPLACE the default roots, so give them a bundle that also holds
the system roots, for OCI hosts that are not steered through the signer):
  after \`sigil-agent trust --install\`, the system bundle already holds both:
    export OCI_CLI_CERT_BUNDLE=${DEBIAN_SYSTEM_BUNDLE}     # or: oci --cert-bundle ...
    export REQUESTS_CA_BUNDLE=${DEBIAN_SYSTEM_BUNDLE}      # Python SDK (requests)
  without it:  cat ${DEBIAN_SYSTEM_BUNDLE} ${certPath} > ${bundle}  and use ${bundle} instead

Go SDK, curl, other programs using the system store:
  sigil-agent trust --install     (Debian/Ubuntu: ${DEBIAN_LOCAL_CA} + update-ca-certificates)
  Oracle Linux/RHEL/Fedora:       cp ${certPath} /etc/pki/ca-trust/source/anchors/sigil-agent.pem && update-ca-trust

Java (its own truststore; once per JDK, again after the CA changes):
  keytool -importcert -noprompt -cacerts -storepass changeit -alias sigil-agent -file ${certPath}
  (on Debian, --install also feeds /etc/ssl/certs/java/cacerts when ca-certificates-java is installed)
`;
}

/**
 * update-ca-certificates, pointed at the store under `root` when it is not `/`. `fresh` (after a
 * removal) rebuilds the links too, as Debian documents for taking a local CA out.
 */
async function updateStore(root: string, fresh: boolean): Promise<string> {
  const r = (p: string): string => path.join(root, p);
  const args = root === '/' ? [] : [
    '--certsdir', r('/usr/share/ca-certificates'), '--localcertsdir', r('/usr/local/share/ca-certificates'),
    '--etccertsdir', r('/etc/ssl/certs'), '--certsconf', r('/etc/ca-certificates.conf'), '--hooksdir', r('/etc/ca-certificates/update.d'),
  ];
  if (fresh) args.push('--fresh');
  if (root !== '/') await fs.mkdir(r('/etc/ssl/certs'), { recursive: true, mode: 0o755 });
  try {
    const { stdout, stderr } = await execFileP('update-ca-certificates', args);
    return `${stdout}${stderr}`;
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw new Error('update-ca-certificates not found: install the ca-certificates package (apt-get install ca-certificates)');
    throw new Error(`update-ca-certificates failed: ${e.stderr?.trim() || e.message}`);
  }
}

async function install(pem: string, root: string): Promise<void> {
  const target = path.join(root, DEBIAN_LOCAL_CA);
  await fs.mkdir(path.dirname(target), { recursive: true, mode: 0o755 });
  const tmp = `${target}.${process.pid}.tmp`;
  await fs.writeFile(tmp, pem, { mode: 0o644 });
  await fs.chmod(tmp, 0o644);
  await fs.rename(tmp, target);
  const out = await updateStore(root, false);
  process.stdout.write(`installed ${target}\n${out}`);
}

async function uninstall(root: string): Promise<void> {
  const target = path.join(root, DEBIAN_LOCAL_CA);
  await fs.rm(target, { force: true });
  const out = await updateStore(root, true);
  process.stdout.write(`removed ${target}\n${out}`);
}

export async function run(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        'state-dir': { type: 'string' }, 'ca-cert': { type: 'string' }, install: { type: 'boolean' }, uninstall: { type: 'boolean' },
        root: { type: 'string' }, help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
    if (values.install && values.uninstall) throw new Error('--install and --uninstall exclude each other');
    if (values.root !== undefined && !path.isAbsolute(values.root)) throw new Error(`--root must be absolute: ${values.root}`);
  } catch (err) {
    process.stderr.write(`sigil-agent trust: ${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const root = values.root ?? '/';
  if (values.uninstall) {
    try {
      await uninstall(root);
      return 0;
    } catch (err) {
      process.stderr.write(`sigil-agent trust: ${(err as Error).message}\n`);
      return 1;
    }
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
  if (values.install) {
    try {
      await install(pem, root);
      return 0;
    } catch (err) {
      process.stderr.write(`sigil-agent trust: ${(err as Error).message}\n`);
      return 1;
    }
  }
  process.stdout.write(trustInstructions(certPath, sha256));
  const problem = await unreadableByOthers(certPath).catch((err: Error) => err.message);
  if (problem) {
    process.stdout.write(`\nWARNING: workloads running as other users cannot read it: ${problem}.\n` +
      '  The state dir must be 0755 (sigil-agent.service: StateDirectoryMode=0755); see docs/troubleshooting.md.\n');
  }
  return 0;
}
