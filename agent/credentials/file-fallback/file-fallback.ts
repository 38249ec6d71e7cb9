/**
 * File fallback, for clients that cannot be steered: for each configured binding, an OCI config
 * profile with a session token and its key, in a directory only the workload's uid can read.
 *
 *   <dir>/config   [DEFAULT] tenancy, region, fingerprint, key_file, security_token_file
 *   <dir>/key.pem  the binding's session private key (PKCS#8 PEM)
 *   <dir>/token    the current session token, replaced atomically on every refresh
 *
 * Dir 0700, files 0600, all owned by the workload's uid. Removed when the binding goes.
 * This puts the key on disk, readable by that uid: use it only where steering is impossible.
 */
import { decodeJwt } from 'jose';
import { readFileSync } from 'node:fs';
import { rmdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { BindingSpec } from '../../../protocol/bindings.js';
import type { IssuedCredential } from '../binding-credential.js';
import type { CredentialListener } from '../credential-manager.js';
import type { FileFallbackConfig } from './config.js';
import { writeFileAtomic } from '../../../common/files.js';
import { keyFingerprint, renderProfile } from './oci-profile.js';
import { checkAncestors, prepareDir } from './safe-dir.js';
import { CREDENTIAL_ERRORS } from '../errors.js';

export const FALLBACK_FILES = { config: 'config', key: 'key.pem', token: 'token' } as const;

const OCID_LIKE = /^[A-Za-z0-9._:-]{1,255}$/;

export interface FallbackStatus {
  bindingId: string;
  dir: string;
  /** When the token file was last written. */
  writtenAt?: Date;
  expiresAt?: Date;
  lastError?: { code: string; message: string; at: Date };
}

interface Written {
  fingerprint: string;
  profile: string;
}

/** The uid's primary gid from /etc/passwd, or the uid itself when it is not listed there. */
function primaryGid(uid: number): number {
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const fields = line.split(':');
      if (fields[2] === String(uid) && fields[3] !== undefined && /^\d+$/.test(fields[3])) return Number(fields[3]);
    }
  } catch {
    // no passwd file: fall through
  }
  return uid;
}

export class FileFallback implements CredentialListener {
  readonly #configs: Map<string, FileFallbackConfig>;
  readonly #queues = new Map<string, Promise<void>>();
  readonly #written = new Map<string, Written>();
  readonly #status = new Map<string, FallbackStatus>();

  constructor(configs: readonly FileFallbackConfig[], private readonly log?: Logger) {
    this.#configs = new Map(configs.map((c) => [c.bindingId, c]));
  }

  credentialIssued(binding: BindingSpec, credential: IssuedCredential): void {
    const config = this.#configs.get(binding.id);
    if (config === undefined) return;
    this.#enqueue(binding.id, () => this.#write(config, credential));
  }

  bindingRemoved(bindingId: string): void {
    const config = this.#configs.get(bindingId);
    if (config === undefined) return;
    this.#enqueue(bindingId, () => this.#remove(config));
  }

  status(bindingId: string): FallbackStatus | undefined {
    const s = this.#status.get(bindingId);
    return s === undefined ? undefined : { ...s };
  }

  /** Resolves when every write and removal asked for so far is done (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.#queues.size > 0) await Promise.allSettled([...this.#queues.values()]);
  }

  /** Work for one binding runs in order; different bindings do not wait for each other. */
  #enqueue(bindingId: string, work: () => Promise<void>): void {
    const previous = this.#queues.get(bindingId) ?? Promise.resolve();
    const next = previous.then(work).catch((err: unknown) => this.#failed(bindingId, err));
    this.#queues.set(bindingId, next);
    void next.finally(() => {
      if (this.#queues.get(bindingId) === next) this.#queues.delete(bindingId);
    });
  }

  #failed(bindingId: string, err: unknown): void {
    const code = typeof (err as { code?: unknown }).code === 'string' ? (err as { code: string }).code : CREDENTIAL_ERRORS.CREDENTIALS_FALLBACK_WRITE;
    const message = err instanceof Error ? err.message : String(err);
    const status = this.#status.get(bindingId) ?? { bindingId, dir: this.#configs.get(bindingId)?.dir ?? '' };
    status.lastError = { code, message, at: new Date() };
    this.#status.set(bindingId, status);
    this.log?.error({ bindingId, code, reason: message }, 'file fallback failed');
  }

  async #write(config: FileFallbackConfig, credential: IssuedCredential): Promise<void> {
    const owner = { uid: config.uid, gid: config.gid ?? primaryGid(config.uid) };
    await prepareDir(config.dir, owner.uid, owner.gid);
    const keyFile = join(config.dir, FALLBACK_FILES.key);
    const tokenFile = join(config.dir, FALLBACK_FILES.token);

    const tenant = decodeJwt(credential.token)['tenant'];
    const region = config.region ?? credential.region;
    const profile = renderProfile({
      bindingId: config.bindingId,
      ...(typeof tenant === 'string' && OCID_LIKE.test(tenant) ? { tenancy: tenant } : {}),
      ...(region !== undefined ? { region } : {}),
      keyFile,
      tokenFile,
      privateKey: credential.privateKey,
    });
    const fingerprint = keyFingerprint(credential.privateKey);
    const before = this.#written.get(config.bindingId);

    // Key before token before profile: whoever finds the profile finds a matching pair behind it.
    if (before?.fingerprint !== fingerprint) {
      await writeFileAtomic(keyFile, credential.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(), { owner });
    }
    await writeFileAtomic(tokenFile, credential.token, { owner });
    if (before?.profile !== profile) await writeFileAtomic(join(config.dir, FALLBACK_FILES.config), profile, { owner });
    this.#written.set(config.bindingId, { fingerprint, profile });
    this.#status.set(config.bindingId, { bindingId: config.bindingId, dir: config.dir, writtenAt: new Date(), expiresAt: credential.expiresAt });
    this.log?.info({ bindingId: config.bindingId, dir: config.dir, expiresAt: credential.expiresAt.toISOString() }, 'file fallback profile written');
  }

  async #remove(config: FileFallbackConfig): Promise<void> {
    this.#written.delete(config.bindingId);
    this.#status.delete(config.bindingId);
    await checkAncestors(config.dir);
    for (const name of Object.values(FALLBACK_FILES)) {
      await unlink(join(config.dir, name)).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
    }
    // The directory goes too when nothing else is in it; anything the workload put there stays.
    await rmdir(config.dir).catch(() => undefined);
    this.log?.info({ bindingId: config.bindingId, dir: config.dir }, 'file fallback profile removed');
  }
}
