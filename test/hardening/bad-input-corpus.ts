/**
 * The control plane's bad-input corpus: bodies `POST /v1/apply` must refuse, with the status, code and
 * field it answers. The hardening test sends them to a live server; `sigil validate` must say of each,
 * offline, exactly what the server says (test/controlplane/cli/validate-diff.test.ts).
 */
import { credentialDoc, identityDoc, sourceDoc, yamlOf } from '../controlplane/fixtures.js';

/** The classic "billion laughs": nine levels of nine aliases each, 387 million leaves if expanded. */
export function aliasBomb(): string {
  let text = 'a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n';
  for (let i = 1; i < 9; i++) text += `a${i}: &a${i} [${Array(9).fill(`*a${i - 1}`).join(',')}]\n`;
  return text;
}

export const VALID = yamlOf(sourceDoc('another-source'));

export interface Row {
  name: string;
  body: string | Buffer;
  contentType?: string;
  status: number;
  code: string;
  /** A field that some detail must name (validation errors only). */
  field?: string;
  says?: RegExp;
}

export const ROWS: Row[] = [
  { name: 'YAML syntax error', body: 'kind: [unclosed\n', status: 400, code: 'SIGIL_ERR_RESOURCE_INVALID', field: '(yaml)', says: /Flow sequence/ },
  { name: 'tab indentation', body: 'kind: x\n\tmetadata: y\n', status: 400, code: 'SIGIL_ERR_RESOURCE_INVALID', field: '(yaml)', says: /Tabs are not allowed/ },
  { name: 'duplicate keys', body: 'kind: a\nkind: b\n', status: 400, code: 'SIGIL_ERR_RESOURCE_INVALID', field: '(yaml)', says: /unique/ },
  { name: 'nesting 20,000 deep', body: '['.repeat(20_000), status: 400, code: 'SIGIL_ERR_RESOURCE_INVALID', field: '(yaml)' },
  { name: 'empty body', body: '', status: 400, code: 'SIGIL_ERR_RESOURCE_INVALID', field: '(yaml)', says: /no documents/ },
  { name: 'only document separators', body: '---\n'.repeat(5000), status: 400, code: 'SIGIL_ERR_RESOURCE_INVALID', field: '(yaml)', says: /no documents/ },
  { name: 'wrong apiVersion', body: yamlOf({ ...sourceDoc('x'), apiVersion: 'sigil.dev/v2' }), status: 400, code: 'SIGIL_ERR_RESOURCE_INVALID', field: 'apiVersion' },
  { name: 'unknown kind', body: yamlOf({ ...sourceDoc('x'), kind: 'Secret' }), status: 400, code: 'SIGIL_ERR_RESOURCE_INVALID', field: 'kind' },
  { name: 'bad name', body: yamlOf(sourceDoc('Bad_Name')), status: 400, code: 'SIGIL_ERR_RESOURCE_INVALID', field: 'metadata.name' },
  { name: 'unknown spec field', body: yamlOf(sourceDoc('x', { extra: 1 })), status: 400, code: 'SIGIL_ERR_RESOURCE_INVALID', field: 'spec.extra' },
  { name: 'http domainUrl', body: yamlOf(sourceDoc('x', { domainUrl: 'http://idcs.example' })), status: 400, code: 'SIGIL_ERR_RESOURCE_INVALID', field: 'spec.domainUrl' },
  { name: 'relative secret file', body: yamlOf(sourceDoc('x', { clientSecretFile: 'secret' })), status: 400, code: 'SIGIL_ERR_RESOURCE_INVALID', field: 'spec.clientSecretFile' },
  { name: 'bad SPIFFE ID', body: yamlOf(identityDoc('x', { spiffeId: 'https://example.org/x' })), status: 400, code: 'SIGIL_ERR_RESOURCE_INVALID', field: 'spec.spiffeId' },
  { name: 'bad selector', body: yamlOf(identityDoc('x', { selectors: ['unix:sha256:nothex'] })), status: 400, code: 'SIGIL_ERR_RESOURCE_INVALID', field: 'spec.selectors[0]' },
  { name: 'TTL out of range', body: yamlOf(credentialDoc('x', { ttl: '9999h' })), status: 400, code: 'SIGIL_ERR_RESOURCE_INVALID', field: 'spec.ttl' },
  { name: 'bad destination', body: yamlOf(credentialDoc('x', { destinations: ['*.oraclecloud.com'] })), status: 400, code: 'SIGIL_ERR_RESOURCE_INVALID', field: 'spec.destinations[0]' },
  { name: '__proto__ key', body: '{"__proto__":{"polluted":true},"apiVersion":"sigil.dev/v1"}', status: 400, code: 'SIGIL_ERR_RESOURCE_INVALID', field: '__proto__' },
  { name: 'one valid and one invalid document', body: `${VALID}\n---\n${yamlOf(sourceDoc('y', { region: 'mars-1' }))}`, status: 400, code: 'SIGIL_ERR_RESOURCE_INVALID', field: 'spec.region' },
  { name: 'body over 1 MiB', body: `# ${'x'.repeat(1024 * 1024)}\n${VALID}`, status: 413, code: 'SIGIL_ERR_API_TOO_LARGE', says: /over 1048576 bytes/ },
  { name: 'binary body as octet-stream', body: Buffer.from([0xff, 0xfe, 0x00, 0x01, 0x80]), contentType: 'application/octet-stream', status: 400, code: 'SIGIL_ERR_RESOURCE_INVALID', field: '(document)' },
  { name: 'form body', body: 'kind=CredentialSource&name=x', contentType: 'application/x-www-form-urlencoded', status: 400, code: 'SIGIL_ERR_RESOURCE_INVALID', field: '(document)' },
  { name: 'multipart body', body: '--b\r\nContent-Disposition: form-data; name="f"\r\n\r\nkind: x\r\n--b--\r\n', contentType: 'multipart/form-data; boundary=b', status: 400, code: 'SIGIL_ERR_RESOURCE_INVALID', field: '(yaml)' },
];
