/**
 * Small strict readers for one document: each reads a field, reports what is wrong with its full
 * path, and returns undefined when the field is unusable, so one pass finds every problem.
 */
export type Report = (field: string, message: string) => void;

export type Plain = Record<string, unknown>;

export function isPlainObject(value: unknown): value is Plain {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** An object with only `allowed` keys and every `required` one present. */
export function readObject(
  report: Report, value: unknown, path: string, allowed: readonly string[], required: readonly string[] = [],
): Plain | undefined {
  if (!isPlainObject(value)) {
    report(path, value === undefined ? 'is required' : 'must be a mapping');
    return undefined;
  }
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) report(join(path, key), `unknown field (allowed: ${allowed.join(', ')})`);
  }
  for (const key of required) {
    if (value[key] === undefined || value[key] === null) report(join(path, key), 'is required');
  }
  return value;
}

/** A non-empty string, checked by `problem` when given. Absent values are reported by readObject. */
export function readString(
  report: Report, value: unknown, path: string, problem?: (s: string) => string | undefined,
): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || value === '') {
    report(path, 'must be a non-empty string');
    return undefined;
  }
  const wrong = problem?.(value);
  if (wrong !== undefined) {
    report(path, wrong);
    return undefined;
  }
  return value;
}

/** A list of strings, each checked by `problem`; duplicates are refused. */
export function readStringList(
  report: Report, value: unknown, path: string, problem?: (s: string) => string | undefined, options: { nonEmpty?: boolean } = {},
): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) {
    report(path, 'must be a list');
    return undefined;
  }
  if (options.nonEmpty && value.length === 0) report(path, 'must not be empty');
  const seen = new Set<string>();
  let ok = true;
  value.forEach((item, index) => {
    const s = readString(report, item, `${path}[${index}]`, problem);
    if (s === undefined) {
      if (item === undefined || item === null) report(`${path}[${index}]`, 'must be a non-empty string');
      ok = false;
    } else if (seen.has(s)) {
      report(`${path}[${index}]`, `duplicate "${s}"`);
      ok = false;
    } else {
      seen.add(s);
    }
  });
  return ok ? (value as string[]) : undefined;
}

function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}
