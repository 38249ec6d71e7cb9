import { ValidationError } from './issues.js';
import { parseResources } from './parse.js';
import { duplicateIssues } from './references.js';
import type { Resource } from './types.js';

/**
 * Every check `POST /v1/apply` makes that needs no stored state, with the server's own functions and
 * so its messages: each document (parseResources) and no kind/name twice (duplicateIssues, which the
 * store runs again). References to resources not in the text need the server: `apply --dry-run`.
 */
export function checkDocuments(text: string): Resource[] {
  const resources = parseResources(text);
  const duplicates = duplicateIssues(resources);
  if (duplicates.length > 0) throw new ValidationError(duplicates);
  return resources;
}
