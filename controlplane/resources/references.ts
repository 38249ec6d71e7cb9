import type { ValidationIssue } from './issues.js';
import { resourceKey, type Resource, type WorkloadCredential } from './types.js';

/**
 * Cross-resource checks on the state an apply or delete would produce: every WorkloadCredential's
 * `workload` and `source` must exist. `documents` maps a resource key to its position in the applied
 * file, so a broken reference is reported on the document that made it; a reference broken by a delete
 * is reported on the deleted resource.
 */
export function referenceIssues(state: ReadonlyMap<string, Resource>, documents: ReadonlyMap<string, number>): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  for (const [key, resource] of state) {
    if (resource.kind !== 'WorkloadCredential') continue;
    const credential = resource as WorkloadCredential;
    const refs = [
      { field: 'spec.workload', kind: 'WorkloadIdentity' as const, name: credential.spec.workload },
      { field: 'spec.source', kind: 'CredentialSource' as const, name: credential.spec.source },
    ];
    for (const ref of refs) {
      if (state.has(resourceKey(ref.kind, ref.name))) continue;
      const document = documents.get(key);
      if (document !== undefined) {
        issues.push({ document, kind: credential.kind, name: credential.metadata.name, field: ref.field, message: `${ref.kind} "${ref.name}" does not exist` });
      } else {
        issues.push({ kind: ref.kind, name: ref.name, field: 'metadata.name', message: `still used by WorkloadCredential "${credential.metadata.name}" (${ref.field})` });
      }
    }
  }
  return issues;
}

/** The same kind/name twice in one apply is ambiguous: refuse it rather than guess which wins. */
export function duplicateIssues(resources: readonly Resource[]): ValidationIssue[] {
  const seen = new Map<string, number>();
  const issues: ValidationIssue[] = [];
  resources.forEach((resource, index) => {
    const key = resourceKey(resource.kind, resource.metadata.name);
    const first = seen.get(key);
    if (first === undefined) seen.set(key, index);
    else issues.push({ document: index, kind: resource.kind, name: resource.metadata.name, field: 'metadata.name', message: `duplicate of document ${first}` });
  });
  return issues;
}
