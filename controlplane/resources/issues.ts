import { ControlPlaneError } from '../errors.js';
import { RESOURCES_CODES } from './errors.js';

/** One thing wrong with one field of one document. */
export interface ValidationIssue {
  /** 0-based position of the document in the applied file; absent for stored resources. */
  document?: number;
  kind?: string;
  name?: string;
  /** Dotted field path, e.g. `spec.selectors[1]`. */
  field: string;
  message: string;
}

export function describeIssue(issue: ValidationIssue): string {
  const where = [
    issue.document === undefined ? undefined : `document ${issue.document}`,
    issue.kind !== undefined || issue.name !== undefined ? `${issue.kind ?? '?'}/${issue.name ?? '?'}` : undefined,
  ].filter((part) => part !== undefined).join(' ');
  return `${where ? `${where}: ` : ''}${issue.field}: ${issue.message}`;
}

/** The apply (or delete) was refused; nothing was changed. `details` lists every issue found. */
export class ValidationError extends ControlPlaneError {
  override readonly name = 'ValidationError';
  readonly details: ValidationIssue[];

  constructor(details: ValidationIssue[], code: string = RESOURCES_CODES.RESOURCE_INVALID, status = 400) {
    const first = details[0] ? describeIssue(details[0]) : 'invalid resources';
    const more = details.length > 1 ? ` (and ${details.length - 1} more)` : '';
    super(code, `${first}${more}`, { status });
    this.details = details;
  }
}
