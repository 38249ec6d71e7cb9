/**
 * Apply-time check of each CredentialSource's `clientSecretFile`, as this control plane process sees
 * it. A warning, not a refusal: the secret is read at every exchange (so it can be rotated, or put in
 * place after the apply), and another replica may be the one that serves the exchange. A file this
 * process cannot read now would fail every exchange, so the operator is told at once, by name; if it
 * stays unreadable the bindings using it show as `degraded` in `sigil fleet status`.
 */
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import type { CredentialSource, Resource } from './types.js';

export async function secretFileWarnings(resources: readonly Resource[]): Promise<string[]> {
  const warnings: string[] = [];
  for (const resource of resources) {
    if (resource.kind !== 'CredentialSource') continue;
    const path = (resource as CredentialSource).spec.clientSecretFile;
    const problem = await unreadable(path);
    if (problem !== undefined) {
      warnings.push(`credentialsource/${resource.metadata.name}: spec.clientSecretFile ${path} ${problem}; `
        + 'exchanges with this source will fail until the control plane can read it (its bindings show as degraded in `sigil fleet status`)');
    }
  }
  return warnings;
}

async function unreadable(path: string): Promise<string | undefined> {
  try {
    const st = await stat(path);
    if (!st.isFile()) return 'is not a regular file';
    await access(path, constants.R_OK);
    if (st.size === 0) return 'is empty';
    return undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return 'does not exist on the control plane host';
    if (code === 'EACCES') return `is not readable by the control plane (uid ${process.getuid?.() ?? '?'})`;
    return `cannot be read (${code ?? 'error'})`;
  }
}
