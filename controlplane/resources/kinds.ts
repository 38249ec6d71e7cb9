/** The resource kinds, their API version and the kubectl-ish names the CLI and API accept for them. */
export const API_VERSION = 'sigil.dev/v1';

export const KINDS = ['WorkloadIdentity', 'CredentialSource', 'WorkloadCredential'] as const;
export type Kind = (typeof KINDS)[number];

const ALIASES: Record<string, Kind> = {
  workloadidentity: 'WorkloadIdentity', workloadidentities: 'WorkloadIdentity', wi: 'WorkloadIdentity',
  credentialsource: 'CredentialSource', credentialsources: 'CredentialSource', cs: 'CredentialSource',
  workloadcredential: 'WorkloadCredential', workloadcredentials: 'WorkloadCredential', wc: 'WorkloadCredential',
};

/** `wi`, `WorkloadIdentity`, `workloadidentities` → 'WorkloadIdentity'; undefined when unknown. */
export function resolveKind(name: string): Kind | undefined {
  return ALIASES[name.toLowerCase()];
}

export function isKind(value: unknown): value is Kind {
  return typeof value === 'string' && (KINDS as readonly string[]).includes(value);
}

export { NAME_PATTERN, NAME_MAX_LENGTH } from '../../protocol/names.js';
