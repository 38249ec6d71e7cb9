import { parseAllDocuments } from 'yaml';
import { selectorProblem, selectorSetProblem } from '../../protocol/selectors.js';
import { API_VERSION, KINDS, NAME_MAX_LENGTH, NAME_PATTERN, isKind } from './kinds.js';
import type { Kind } from './kinds.js';
import { ValidationError, type ValidationIssue } from './issues.js';
import { readObject, readString, readStringList, isPlainObject, type Plain, type Report } from './fields.js';
import { spiffeIdProblem } from '../../protocol/spiffe-id.js';
import { HTTP_METHODS, REGION_PATTERN, hostnameProblem } from '../../protocol/hostnames.js';
import { TTL_MAX_SECONDS, TTL_MIN_SECONDS, durationSeconds } from './duration.js';
import { UNBOUND_ACCESS } from './types.js';
import type { Resource } from './types.js';

/**
 * Parses a multi-document YAML (or JSON) text into resources, checking every document strictly.
 * Throws one ValidationError listing every issue; returns only when all documents are valid.
 * Cross-document checks (references, duplicates) are in references.ts.
 */
export function parseResources(text: string): Resource[] {
  const docs = parseAllDocuments(text, { uniqueKeys: true });
  const issues: ValidationIssue[] = [];
  const resources: Resource[] = [];
  const list = Array.isArray(docs) ? docs : [docs];
  let index = 0;
  for (const doc of list) {
    if (doc.errors.length > 0) {
      const at = index++;
      for (const err of doc.errors) issues.push({ document: at, field: '(yaml)', message: err.message.split('\n')[0] ?? err.message });
      continue;
    }
    let value: unknown;
    try {
      // No aliases at all: policy has no use for them, and they are how YAML bombs expand.
      value = doc.toJS({ maxAliasCount: 0 }) as unknown;
    } catch (err) {
      issues.push({ document: index++, field: '(yaml)', message: (err as Error).message.split('\n')[0] ?? 'cannot be decoded' });
      continue;
    }
    if (value === null || value === undefined) continue; // an empty document between `---` lines
    const at = index++;
    const resource = checkResource(value, (issue) => issues.push({ document: at, ...issue }));
    if (resource) resources.push(resource);
  }
  if (issues.length > 0) throw new ValidationError(issues);
  if (resources.length === 0) throw new ValidationError([{ field: '(yaml)', message: 'no documents to apply' }]);
  return resources;
}

type IssueSink = (issue: Omit<ValidationIssue, 'document'>) => void;

/** Checks one decoded document; the same check guards resources read back from the store. */
export function checkResource(value: unknown, sink: IssueSink): Resource | undefined {
  const kind = isPlainObject(value) && isKind(value['kind']) ? (value['kind'] as Kind) : undefined;
  const name = isPlainObject(value) && isPlainObject(value['metadata']) && typeof value['metadata']['name'] === 'string'
    ? value['metadata']['name'] : undefined;
  let valid = true;
  const report: Report = (field, message) => {
    valid = false;
    sink({ ...(kind ? { kind } : {}), ...(name !== undefined ? { name } : {}), field: field === '' ? '(document)' : field, message });
  };

  const top = readObject(report, value, '', ['apiVersion', 'kind', 'metadata', 'spec'], ['apiVersion', 'kind', 'metadata', 'spec']);
  if (!top) return undefined;
  if (top['apiVersion'] !== undefined && top['apiVersion'] !== API_VERSION) report('apiVersion', `must be "${API_VERSION}"`);
  if (top['kind'] !== undefined && !kind) report('kind', `must be one of ${KINDS.join(', ')}`);
  const metadata = readObject(report, top['metadata'], 'metadata', ['name', 'policyRevision', 'updatedAt'], ['name']);
  if (metadata) {
    readString(report, metadata['name'], 'metadata.name', (n) =>
      n.length > NAME_MAX_LENGTH || !NAME_PATTERN.test(n)
        ? 'must be lower-case letters, digits, "-" and "." (start and end alphanumeric, at most 253)' : undefined);
  }
  if (kind) SPEC_CHECKS[kind](report, top['spec']);
  if (!valid || !kind || name === undefined) return undefined;
  // Server-set metadata (policyRevision, updatedAt) is accepted so `get -o yaml | apply` works, and dropped.
  return { apiVersion: API_VERSION, kind, metadata: { name }, spec: top['spec'] } as Resource;
}

const SPEC_CHECKS: Record<Kind, (report: Report, spec: unknown) => void> = {
  WorkloadIdentity(report, value) {
    const spec = readObject(report, value, 'spec', ['spiffeId', 'selectors', 'agents', 'owner'], ['spiffeId', 'selectors', 'agents', 'owner']);
    if (!spec) return;
    readString(report, spec['spiffeId'], 'spec.spiffeId', spiffeIdProblem);
    const selectors = readStringList(report, spec['selectors'], 'spec.selectors', selectorProblem, { nonEmpty: true });
    const listProblem = selectors && selectors.length > 0 && selectorSetProblem(selectors);
    if (listProblem) report('spec.selectors', listProblem);
    readString(report, spec['owner'], 'spec.owner');
    checkAgents(report, spec['agents']);
  },
  CredentialSource(report, value) {
    const spec = readObject(report, value, 'spec',
      ['kind', 'domainUrl', 'clientId', 'clientSecretFile', 'region', 'caFile', 'tokenLifetimeSeconds'],
      ['kind', 'domainUrl', 'clientId', 'clientSecretFile', 'region']);
    if (!spec) return;
    readString(report, spec['kind'], 'spec.kind', (k) => (k === 'oci' ? undefined : 'must be "oci"'));
    readString(report, spec['domainUrl'], 'spec.domainUrl', httpsUrlProblem);
    readString(report, spec['clientId'], 'spec.clientId');
    readString(report, spec['clientSecretFile'], 'spec.clientSecretFile', absolutePathProblem);
    readString(report, spec['region'], 'spec.region', (r) => (REGION_PATTERN.test(r) ? undefined : 'must be an OCI region id such as us-ashburn-1'));
    readString(report, spec['caFile'], 'spec.caFile', absolutePathProblem);
    const lifetime = spec['tokenLifetimeSeconds'];
    if (lifetime !== undefined && !(Number.isInteger(lifetime) && (lifetime as number) >= TTL_MIN_SECONDS && (lifetime as number) <= TTL_MAX_SECONDS)) {
      report('spec.tokenLifetimeSeconds', `must be a whole number of seconds from ${TTL_MIN_SECONDS} to ${TTL_MAX_SECONDS}`);
    }
  },
  WorkloadCredential(report, value) {
    const spec = readObject(report, value, 'spec', ['workload', 'source', 'destinations', 'methods', 'ttl', 'unboundAccess'], ['workload', 'source', 'destinations', 'ttl']);
    if (!spec) return;
    const nameProblem = (n: string): string | undefined => (NAME_PATTERN.test(n) ? undefined : 'is not a valid resource name');
    readString(report, spec['workload'], 'spec.workload', nameProblem);
    readString(report, spec['source'], 'spec.source', nameProblem);
    readStringList(report, spec['destinations'], 'spec.destinations', hostnameProblem, { nonEmpty: true });
    readStringList(report, spec['methods'], 'spec.methods', (m) =>
      (HTTP_METHODS as readonly string[]).includes(m) ? undefined : `"${m}" is not one of ${HTTP_METHODS.join(', ')}`, { nonEmpty: true });
    const ttl = spec['ttl'];
    if (ttl !== undefined && ttl !== null) {
      const seconds = typeof ttl === 'string' || typeof ttl === 'number' ? durationSeconds(ttl) : undefined;
      if (seconds === undefined) report('spec.ttl', 'must be a duration such as "15m", "900s" or a number of seconds');
      else if (seconds < TTL_MIN_SECONDS || seconds > TTL_MAX_SECONDS) report('spec.ttl', `must be from ${TTL_MIN_SECONDS}s to ${TTL_MAX_SECONDS}s`);
    }
    readString(report, spec['unboundAccess'], 'spec.unboundAccess', (v) =>
      (UNBOUND_ACCESS as readonly string[]).includes(v) ? undefined : `must be one of ${UNBOUND_ACCESS.join(', ')}`);
  },
};

function checkAgents(report: Report, value: unknown): void {
  const agents = readObject(report, value, 'spec.agents', ['ids', 'labels']);
  if (!agents) return;
  readStringList(report, agents['ids'], 'spec.agents.ids');
  const labels = agents['labels'];
  if (labels !== undefined) {
    if (!isPlainObject(labels)) report('spec.agents.labels', 'must be a mapping of label to value');
    else for (const [key, v] of Object.entries(labels as Plain)) {
      if (typeof v !== 'string') report(`spec.agents.labels.${key}`, 'must be a string');
    }
  }
  const hasIds = Array.isArray(agents['ids']) && agents['ids'].length > 0;
  const hasLabels = isPlainObject(labels) && Object.keys(labels).length > 0;
  if (!hasIds && !hasLabels) report('spec.agents', 'must name agents by ids and/or labels');
}

function httpsUrlProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be a URL';
  }
  if (url.protocol !== 'https:') return 'must be an https URL';
  if (url.username || url.password) return 'must not hold credentials';
  if (url.search || url.hash) return 'must not have a query or fragment';
  return undefined;
}

function absolutePathProblem(value: string): string | undefined {
  return value.startsWith('/') && !value.includes('\0') ? undefined : 'must be an absolute path';
}
