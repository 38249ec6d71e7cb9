import { FLEET_CODES, fleetError } from './errors.js';

const LABEL_KEY = /^[a-z0-9]([a-z0-9._/-]{0,61}[a-z0-9])?$/i;
const LABEL_VALUE = /^[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?$/i;

/** "k=v,k2=v2" → {k: v, k2: v2}; empty string → {}. Keys and values like Kubernetes labels. */
export function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const pair of text.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const eq = pair.indexOf('=');
    const key = eq === -1 ? pair : pair.slice(0, eq);
    const value = eq === -1 ? '' : pair.slice(eq + 1);
    checkLabel(key, value);
    labels[key] = value;
  }
  return labels;
}

export function checkLabels(value: unknown): Record<string, string> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw fleetError(FLEET_CODES.BAD_REQUEST, 'labels: must be a mapping', 400);
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') throw fleetError(FLEET_CODES.BAD_REQUEST, `labels.${k}: must be a string`, 400);
    checkLabel(k, v);
  }
  return { ...(value as Record<string, string>) };
}

function checkLabel(key: string, value: string): void {
  if (!LABEL_KEY.test(key)) throw fleetError(FLEET_CODES.BAD_REQUEST, `label key "${key}" is not valid (letters, digits, . _ / -)`, 400);
  if (!LABEL_VALUE.test(value)) throw fleetError(FLEET_CODES.BAD_REQUEST, `label ${key}: value "${value}" is not valid (letters, digits, . _ -)`, 400);
}
