import { AgentError } from '../errors.js';
import { ATTEST_ERR } from './errors.js';

/** Real and effective ids from /proc/<pid>/status (`Uid:` / `Gid:` lines: real, effective, saved, fs). */
export interface ProcIds {
  realUid: number;
  effectiveUid: number;
  realGid: number;
  effectiveGid: number;
}

function idLine(text: string, name: 'Uid' | 'Gid'): [number, number] {
  const match = new RegExp(`^${name}:\\s+(\\d+)\\s+(\\d+)`, 'm').exec(text);
  if (!match) throw new AgentError(ATTEST_ERR.FACTS, `no ${name}: line in /proc status`);
  return [Number(match[1]), Number(match[2])];
}

export function parseProcIds(statusText: string): ProcIds {
  const [realUid, effectiveUid] = idLine(statusText, 'Uid');
  const [realGid, effectiveGid] = idLine(statusText, 'Gid');
  return { realUid, effectiveUid, realGid, effectiveGid };
}
