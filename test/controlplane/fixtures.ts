/** Valid documents for tests; each test changes one field to make it wrong. */
export const HASH = 'a'.repeat(64);

export function identityDoc(name = 'billing-exporter', spec: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: 'sigil.dev/v1', kind: 'WorkloadIdentity', metadata: { name },
    spec: { spiffeId: `spiffe://example.org/${name}`, selectors: [`unix:sha256:${HASH}`, 'unix:uid:1001'], agents: { labels: { role: 'billing' } }, owner: 'team-billing', ...spec },
  };
}

export function sourceDoc(name = 'oci-ashburn', spec: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: 'sigil.dev/v1', kind: 'CredentialSource', metadata: { name },
    spec: { kind: 'oci', domainUrl: 'https://idcs-abc.identity.oraclecloud.com', clientId: 'client-1', clientSecretFile: '/etc/sigil/secret', region: 'us-ashburn-1', ...spec },
  };
}

export function credentialDoc(name = 'billing-os', spec: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: 'sigil.dev/v1', kind: 'WorkloadCredential', metadata: { name },
    spec: { workload: 'billing-exporter', source: 'oci-ashburn', destinations: ['objectstorage.us-ashburn-1.oraclecloud.com'], ttl: '15m', ...spec },
  };
}

/** Multi-document YAML (JSON is YAML) from plain objects. */
export function yamlOf(...docs: unknown[]): string {
  return docs.map((d) => JSON.stringify(d)).join('\n---\n');
}
