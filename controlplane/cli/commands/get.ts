import { Command } from 'commander';
import { UsageError } from '../../../common/cli/program.js';
import { outputOption, render, type Column, type OutputFormat } from '../../../common/cli/output.js';
import { API_VERSION, resolveKind, type Kind } from '../../resources/kinds.js';
import type { CredentialSource, Resource, WorkloadCredential, WorkloadIdentity } from '../../resources/types.js';
import { ApiClient, withConnection, type ConnectionOptions } from '../client.js';

const COLUMNS: Record<Kind, Array<Column<Resource>>> = {
  WorkloadIdentity: [
    { header: 'NAME', value: (r) => r.metadata.name },
    { header: 'SPIFFE ID', value: (r) => (r as WorkloadIdentity).spec.spiffeId },
    { header: 'OWNER', value: (r) => (r as WorkloadIdentity).spec.owner },
    { header: 'SELECTORS', value: (r) => String((r as WorkloadIdentity).spec.selectors.length) },
    { header: 'REVISION', value: (r) => String(r.metadata.policyRevision ?? '') },
    { header: 'UPDATED', value: (r) => r.metadata.updatedAt ?? '', wide: true },
  ],
  CredentialSource: [
    { header: 'NAME', value: (r) => r.metadata.name },
    { header: 'KIND', value: (r) => (r as CredentialSource).spec.kind },
    { header: 'REGION', value: (r) => (r as CredentialSource).spec.region },
    { header: 'DOMAIN', value: (r) => (r as CredentialSource).spec.domainUrl },
    { header: 'REVISION', value: (r) => String(r.metadata.policyRevision ?? '') },
    { header: 'CLIENT ID', value: (r) => (r as CredentialSource).spec.clientId, wide: true },
    { header: 'SECRET FILE', value: (r) => (r as CredentialSource).spec.clientSecretFile, wide: true },
    { header: 'UPDATED', value: (r) => r.metadata.updatedAt ?? '', wide: true },
  ],
  WorkloadCredential: [
    { header: 'NAME', value: (r) => r.metadata.name },
    { header: 'WORKLOAD', value: (r) => (r as WorkloadCredential).spec.workload },
    { header: 'SOURCE', value: (r) => (r as WorkloadCredential).spec.source },
    { header: 'DESTINATIONS', value: (r) => (r as WorkloadCredential).spec.destinations.join(',') },
    { header: 'TTL', value: (r) => String((r as WorkloadCredential).spec.ttl) },
    { header: 'REVISION', value: (r) => String(r.metadata.policyRevision ?? '') },
    { header: 'METHODS', value: (r) => (r as WorkloadCredential).spec.methods?.join(',') ?? '*', wide: true },
    { header: 'UNBOUND ACCESS', value: (r) => (r as WorkloadCredential).spec.unboundAccess ?? '', wide: true },
    { header: 'UPDATED', value: (r) => r.metadata.updatedAt ?? '', wide: true },
  ],
};

export function command(): Command {
  return withConnection(new Command('get'))
    .summary('show resources')
    .description('Show resources of one kind, or one resource. A list prints as a List document in json/yaml.')
    .argument('<kind>', 'workloadidentity|wi, credentialsource|cs, workloadcredential|wc')
    .argument('[name]', 'one resource')
    .addOption(outputOption())
    .action(async (kindName: string, name: string | undefined, options: ConnectionOptions & { output: OutputFormat }) => {
      const kind = resolveKind(kindName);
      if (!kind) throw new UsageError(`unknown kind "${kindName}" (use workloadidentity/wi, credentialsource/cs, workloadcredential/wc)`);
      const client = await ApiClient.connect(options);
      const path = `/v1/resources/${kind}${name === undefined ? '' : `/${encodeURIComponent(name)}`}`;
      const items = name === undefined
        ? (await client.request<{ items: Resource[] }>('GET', path)).items
        : [await client.request<Resource>('GET', path)];
      process.stdout.write(render(options.output, {
        items, columns: COLUMNS[kind], name: (r) => `${r.kind.toLowerCase()}/${r.metadata.name}`,
        empty: `No ${kind} resources found.`, apiVersion: API_VERSION,
        // One resource prints as itself; a list prints as a kubectl-style List.
        ...(name === undefined ? {} : { document: items[0] }),
      }));
    });
}
