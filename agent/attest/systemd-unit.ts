/**
 * The systemd unit of a process from /proc/<pid>/cgroup. systemd names each unit's cgroup after the
 * unit, so the innermost path segment ending in .service or .scope is the unit the process runs in:
 *   v2 (unified):      0::/system.slice/nginx.service
 *   v1 / hybrid:       1:name=systemd:/system.slice/nginx.service
 *   user services:     0::/user.slice/user-1000.slice/user@1000.service/app.slice/foo.service → foo.service
 *   delegated subtree: 0::/system.slice/foo.service/worker → foo.service
 * The name=systemd hierarchy is preferred when present (hybrid hosts), else the unified one.
 */
export function systemdUnitFromCgroup(text: string): string | undefined {
  const lines = text.split('\n').filter((l) => l.length > 0);
  const named = lines.find((l) => /^\d+:name=systemd:/.test(l));
  const unified = lines.find((l) => l.startsWith('0::'));
  const line = named ?? unified;
  if (line === undefined) return undefined;
  const path = line.slice(line.indexOf(':', line.indexOf(':') + 1) + 1);
  const segments = path.split('/').filter((s) => s.length > 0);
  for (let i = segments.length - 1; i >= 0; i--) {
    const segment = segments[i]!;
    if (/^[^/]+\.(service|scope)$/.test(segment)) return segment;
  }
  return undefined;
}
