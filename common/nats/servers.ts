/**
 * NATS server lists as both programs read them from config and flags: a YAML list of URLs, or one
 * string (several URLs separated by commas, as `--nats-url a,b,c` gives them). Every URL is kept —
 * never only the first or the last — and each must be nats://, tls:// or a bare host:port.
 */

/** Why a value is not a server list; the caller names the field. */
export type ServerListProblem = string;

const URL_FORM = /^(?:(?:nats|tls):\/\/)?(?:\[[0-9a-fA-F:]+\]|[^\s:/,[\]]+):\d{1,5}$/;

/** The servers in `value` (string or list of strings); a problem string when it is not one. */
export function parseServerList(value: unknown): { ok: true; servers: string[] } | { ok: false; problem: ServerListProblem } {
  const items = typeof value === 'string' ? value.split(',') : Array.isArray(value) ? value : undefined;
  if (items === undefined) return { ok: false, problem: 'must be a NATS URL or a list of NATS URLs' };
  const servers: string[] = [];
  for (const [index, item] of items.entries()) {
    if (typeof item !== 'string') return { ok: false, problem: `entry ${index + 1} must be a string` };
    const url = item.trim();
    if (!URL_FORM.test(url)) return { ok: false, problem: `"${url}" is not a NATS URL (nats://host:port, tls://host:port or host:port)` };
    const port = Number(url.slice(url.lastIndexOf(':') + 1));
    if (port < 1 || port > 65_535) return { ok: false, problem: `"${url}": port out of range` };
    if (!servers.includes(url)) servers.push(url);
  }
  if (servers.length === 0) return { ok: false, problem: 'must name at least one NATS server' };
  return { ok: true, servers };
}
