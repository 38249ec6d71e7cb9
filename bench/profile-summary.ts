/**
 * `node dist/bench/profile-summary.js FILE.cpuprofile [--from S] [--to S] [--top N]`: a V8 CPU profile
 * (from `npm run bench -- --profile-agent DIR`) as shares of the non-idle main-thread samples by area
 * of the code, then the functions with the most self time. What docs/benchmarks.md quotes as "the
 * profile" comes from this. Time a native function spends is booked to the JS frame that called it
 * (a socket write shows as the TLS or net function that made it).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface ProfileNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }
interface Profile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number }

/** The area a frame belongs to, or undefined to take its caller's. Order matters: first match wins. */
const AREAS: Array<[string, (url: string, fn: string) => boolean]> = [
  ['GC', (_u, f) => f === '(garbage collector)'],
  ['idle', (_u, f) => f === '(idle)'],
  ['signing (hand-off to libuv, callback)', (u) => /signer\/signing-pool/.test(u)],
  ['audit line, logger, metrics', (u) => /pino|sonic-boom|fast-redact|common\/log|signer\/audit|metrics/.test(u)],
  ['our HTTP/1.1 framing (agent/signer/http1)', (u) => /agent\/signer\/http1/.test(u)],
  ['our request handler and signature text', (u) => /agent\/signer\/(request-handler|headers|forward|oci-signature|policy)/.test(u)],
  ['TLS (node:tls, reads, writes, handshakes)', (u) => /_tls_wrap|internal\/tls|node:tls/.test(u)],
  ['sockets (node:net, stream writes)', (u) => /node:net|internal\/net|stream_base_commons|internal\/streams/.test(u)],
  ['steering, attestation, fleet (agent other)', (u) => /dist\/agent|dist\/native/.test(u)],
  ['timers, events, microtasks', (u) => /timers|task_queues|async_hooks|internal\/process|node:events/.test(u)],
];

function areaOf(node: ProfileNode): string | undefined {
  const { url, functionName } = node.callFrame;
  return AREAS.find(([, test]) => test(url, functionName))?.[0];
}

export function summarize(profile: Profile, fromS = 0, toS = Infinity, top = 25): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const memo = new Map<number, string>();
  const area = (id: number): string => {
    const known = memo.get(id);
    if (known) return known;
    const own = areaOf(byId.get(id)!);
    const p = parent.get(id);
    const found = own ?? (p === undefined ? 'other (program, start-up)' : area(p));
    memo.set(id, found);
    return found;
  };
  const areas = new Map<string, number>();
  const functions = new Map<string, number>();
  let t = 0;
  profile.samples.forEach((id, i) => {
    t += profile.timeDeltas[i] ?? 0;
    if (t < fromS * 1e6 || t > toS * 1e6) return;
    const a = area(id);
    areas.set(a, (areas.get(a) ?? 0) + 1);
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    const key = `${functionName || '(anonymous)'} ${url.replace(/^.*\//, '')}:${lineNumber} [${a}]`;
    functions.set(key, (functions.get(key) ?? 0) + 1);
  });
  const busy = [...areas].filter(([a]) => a !== 'idle').reduce((s, [, n]) => s + n, 0);
  const pct = (n: number): string => `${((100 * n) / Math.max(busy, 1)).toFixed(1).padStart(5)} %`;
  return [
    `${busy} non-idle samples (${areas.get('idle') ?? 0} idle)`,
    ...[...areas].filter(([a]) => a !== 'idle').sort((a, b) => b[1] - a[1]).map(([a, n]) => `${pct(n)}  ${a}`),
    '--- functions by self time',
    ...[...functions].filter(([k]) => !k.endsWith('[idle]')).sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, n]) => `${pct(n)}  ${k}`),
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { from: { type: 'string' }, to: { type: 'string' }, top: { type: 'string' } } });
  if (positionals.length !== 1) throw new Error('usage: profile-summary FILE.cpuprofile [--from S] [--to S] [--top N]');
  const profile = JSON.parse(readFileSync(positionals[0]!, 'utf8')) as Profile;
  process.stdout.write(`${summarize(profile, Number(values.from ?? 0), values.to === undefined ? Infinity : Number(values.to), Number(values.top ?? 25))}\n`);
}
