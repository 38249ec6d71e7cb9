/**
 * OCI Object Storage stand-in that authenticates every request as OCI does, for tests and the demo.
 *
 *   const os = await startObjectStorageStandIn({ pki, region: 'us-ashburn-1', trustedIssuers: [iam.publicKey] });
 *   os.hostname   // objectstorage.us-ashburn-1.oraclecloud.com (the certificate also holds os.address)
 *   os.url        // https://objectstorage.us-ashburn-1.oraclecloud.com:<port>  — resolve it to os.address
 *   os.requests   // RecordedRequest[]: method, target, status, principal (UPST sub) or rejection reason, tag
 *   os.objects    // Map "<bucket>/<object>" → StoredObject (size, sha256, md5; body only up to maxStoredBytes)
 *   await os.close()
 *
 * With SIGIL_SECRETS_LEDGER=<file> set, the signature of every request that verified is appended to
 * that file (bounded per process; see test/secrets/ledger.ts).
 *
 * Authentication (before routing, like OCI): `Authorization: Signature ...` checked by the strict
 * oci-request-verifier.ts (IMF-fixdate dates, Host equal to the TLS server name, Content-Length on
 * PUT/POST, no unknown or repeated parameters); keyId must be `ST$<UPST>` where the UPST is an
 * unexpired RS256 token of one of `trustedIssuers` with the `iss`/`aud`/`ttype` the IAM stand-in
 * issues; the request signature must verify with the UPST's `jwk` claim. Anything else →
 * 401 {"code":"NotAuthenticated",...} with content-type application/json and opc-request-id.
 *
 * Operations: GetNamespace GET /n[/], CreateBucket POST /n/{ns}/b, ListObjects GET /n/{ns}/b/{b}/o,
 * PutObject / GetObject / HeadObject / DeleteObject on /n/{ns}/b/{b}/o/{name}. Buckets exist on first use.
 */
import { createHash, randomBytes, randomUUID, type KeyObject } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { TestPki } from '../helpers/test-pki.js';
import { listenHttps, readBody } from './https-listener.js';
import { SignatureRejected, parseSignatureAuthorization, signedRequestOf, verifyBodyHash, verifySignedHeaders } from './oci-request-verifier.js';
import { UpstRejected, verifyUpst } from './upst.js';
import { recordSecret } from '../secrets/ledger.js';

const NOT_AUTHENTICATED_MESSAGE = 'The required information to complete authentication was not provided or was incorrect.';

export interface ObjectStorageStandInOptions {
  pki: TestPki;
  region?: string;
  /** Loopback address to listen on, default 127.77.1.2. */
  address?: string;
  port?: number;
  namespace?: string;
  /** Public keys of the IAM stand-ins whose UPSTs are accepted. */
  trustedIssuers: KeyObject[];
  /** Header recorded with each request so tests can tell their callers apart, default x-test-tag. */
  tagHeader?: string;
  /** PutObject bodies up to this size are kept for GetObject; larger ones are hashed and counted only. Default 16 MiB. */
  maxStoredBytes?: number;
  /** Largest body accepted where the body is signed (x-content-sha256), default 8 MiB. */
  maxSignedBodyBytes?: number;
  /**
   * Host header values (without port) the service answers to, default only its hostname: a signer that
   * forwards with the IP as Host would not reach the real service either.
   */
  acceptedHosts?: string[];
  /** Clock used for the skew and expiry checks (tests). */
  now?: () => number;
}

export interface RecordedRequest {
  opcRequestId: string;
  time: Date;
  method: string;
  /** Path and query as on the request line. */
  target: string;
  host?: string;
  /** TLS server name the client sent. */
  sni?: string;
  status: number;
  /** UPST `sub` of an authenticated request. */
  principal?: string;
  /** The JWT subject the UPST was exchanged for (e.g. a SPIFFE ID). */
  sourceSubject?: string;
  /** Why authentication failed (never sent to the client, as with OCI). */
  rejection?: string;
  tag?: string;
  /** opc-client-request-id sent by the client (the SDK lets callers set it per call). */
  clientRequestId?: string;
  /** Bytes of request body received. */
  bodyBytes: number;
}

export interface StoredObject {
  bucket: string;
  name: string;
  size: number;
  /** base64 */
  sha256: string;
  /** base64 */
  md5: string;
  etag: string;
  contentType: string;
  timeCreated: Date;
  /** Who put it (UPST sub). */
  principal: string;
  /** Absent when the object was larger than maxStoredBytes. */
  body?: Buffer;
}

export interface ObjectStorageStandIn {
  readonly url: string;
  readonly hostname: string;
  readonly address: string;
  readonly port: number;
  readonly region: string;
  readonly namespace: string;
  readonly requests: RecordedRequest[];
  readonly objects: Map<string, StoredObject>;
  readonly buckets: Set<string>;
  trustIssuer(key: KeyObject): void;
  close(): Promise<void>;
}

class ServiceError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

interface Principal {
  principal: string;
  sourceSubject?: string;
}

function opcRequestId(): string {
  return `sigil-${randomBytes(12).toString('hex').toUpperCase()}`;
}

function headerString(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

export async function startObjectStorageStandIn(opts: ObjectStorageStandInOptions): Promise<ObjectStorageStandIn> {
  const region = opts.region ?? 'us-ashburn-1';
  const address = opts.address ?? '127.77.1.2';
  const hostname = `objectstorage.${region}.oraclecloud.com`;
  const namespace = opts.namespace ?? 'sigiltest';
  const tagHeader = (opts.tagHeader ?? 'x-test-tag').toLowerCase();
  const maxStoredBytes = opts.maxStoredBytes ?? 16 * 1024 * 1024;
  const maxSignedBodyBytes = opts.maxSignedBodyBytes ?? 8 * 1024 * 1024;
  const now = opts.now ?? Date.now;
  const acceptedHosts = new Set((opts.acceptedHosts ?? [hostname]).map((h) => h.toLowerCase()));
  const trusted = [...opts.trustedIssuers];
  const requests: RecordedRequest[] = [];
  const objects = new Map<string, StoredObject>();
  const buckets = new Set<string>();

  async function authenticate(req: IncomingMessage, record: RecordedRequest): Promise<{ who: Principal; body?: Buffer }> {
    const signed = signedRequestOf(req);
    const { keyId, signature } = parseSignatureAuthorization(headerString(req, 'authorization'));
    if (!keyId.startsWith('ST$')) throw new SignatureRejected('keyId is not a session token (ST$...)');
    const upst = await verifyUpst(keyId.slice(3), trusted, { now: now() });
    const checked = verifySignedHeaders(signed, upst.sessionKey, { now: now(), acceptedHosts: [...acceptedHosts] });
    recordSecret('signature', signature.toString('base64')); // only when SIGIL_SECRETS_LEDGER is set
    const who = { principal: upst.principal, sourceSubject: upst.claims.source_sub };
    if (!checked.bodyHashRequired) return { who };
    const body = await readBody(req, maxSignedBodyBytes);
    if (body === undefined) throw new ServiceError(413, 'RequestEntityTooLarge', 'The request body is too large.');
    record.bodyBytes = body.length;
    verifyBodyHash(req.headers, body);
    return { who, body };
  }

  function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
    res.end(text);
  }

  function bucketKey(ns: string, bucket: string): string {
    if (ns !== namespace) throw new ServiceError(404, 'NamespaceNotFound', `Either the namespace ${ns} does not exist or you are not authorized to view it`);
    buckets.add(bucket);
    return bucket;
  }

  function findObject(bucket: string, name: string): StoredObject {
    const obj = objects.get(`${bucket}/${name}`);
    if (!obj) throw new ServiceError(404, 'ObjectNotFound', `The object '${name}' was not found in the bucket '${bucket}'`);
    return obj;
  }

  function objectHeaders(obj: StoredObject): Record<string, string> {
    return {
      etag: obj.etag,
      'content-md5': obj.md5,
      'opc-content-sha256': obj.sha256,
      'last-modified': obj.timeCreated.toUTCString(),
      'content-type': obj.contentType,
      'content-length': String(obj.size),
      'storage-tier': 'Standard',
      'accept-ranges': 'bytes',
    };
  }

  async function putObject(req: IncomingMessage, res: ServerResponse, bucket: string, name: string, who: Principal, record: RecordedRequest): Promise<void> {
    const sha256 = createHash('sha256');
    const md5 = createHash('md5');
    const kept: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      record.bodyBytes = size;
      sha256.update(chunk);
      md5.update(chunk);
      if (size <= maxStoredBytes) kept.push(chunk);
      else kept.length = 0;
    }
    const obj: StoredObject = {
      bucket,
      name,
      size,
      sha256: sha256.digest('base64'),
      md5: md5.digest('base64'),
      etag: randomUUID(),
      contentType: headerString(req, 'content-type') ?? 'application/octet-stream',
      timeCreated: new Date(Math.floor(now() / 1000) * 1000),
      principal: who.principal,
      ...(size <= maxStoredBytes ? { body: Buffer.concat(kept) } : {}),
    };
    const claimedMd5 = headerString(req, 'content-md5');
    if (claimedMd5 !== undefined && claimedMd5 !== obj.md5) {
      throw new ServiceError(400, 'InvalidContentMD5', 'The computed MD5 hash of the request body does not match the Content-MD5 header.');
    }
    objects.set(`${bucket}/${name}`, obj);
    res.writeHead(200, {
      etag: obj.etag,
      'opc-content-md5': obj.md5,
      'opc-content-sha256': obj.sha256,
      'last-modified': obj.timeCreated.toUTCString(),
      'content-length': '0',
    });
    res.end();
  }

  function listObjects(res: ServerResponse, bucket: string, query: URLSearchParams): void {
    const prefix = query.get('prefix') ?? '';
    const start = query.get('start') ?? '';
    const limit = Math.min(Math.max(Number(query.get('limit') ?? 1000) || 1000, 1), 1000);
    // OCI returns only `name` unless more fields are asked for.
    const fields = new Set((query.get('fields') ?? 'name').split(',').map((f) => f.trim()));
    const names = [...objects.values()]
      .filter((o) => o.bucket === bucket && o.name.startsWith(prefix) && o.name >= start)
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const page = names.slice(0, limit);
    const body: Record<string, unknown> = {
      objects: page.map((o) => {
        const summary: Record<string, unknown> = { name: o.name };
        if (fields.has('size')) summary['size'] = o.size;
        if (fields.has('md5')) summary['md5'] = o.md5;
        if (fields.has('etag')) summary['etag'] = o.etag;
        if (fields.has('timeCreated')) summary['timeCreated'] = o.timeCreated.toISOString();
        if (fields.has('timeModified')) summary['timeModified'] = o.timeCreated.toISOString();
        if (fields.has('storageTier')) summary['storageTier'] = 'Standard';
        return summary;
      }),
      prefixes: [],
    };
    if (names.length > limit) body['nextStartWith'] = names[limit]!.name;
    sendJson(res, 200, body);
  }

  async function route(req: IncomingMessage, res: ServerResponse, who: Principal, record: RecordedRequest, body?: Buffer): Promise<void> {
    const [rawPath = '/', rawQuery = ''] = (req.url ?? '/').split('?', 2);
    const query = new URLSearchParams(rawQuery);
    const method = req.method ?? 'GET';
    if (rawPath === '/n' || rawPath === '/n/') {
      if (method !== 'GET') throw new ServiceError(405, 'MethodNotAllowed', `${method} is not allowed on ${rawPath}`);
      return sendJson(res, 200, namespace);
    }
    const bucketsPath = /^\/n\/([^/]+)\/b\/?$/.exec(rawPath);
    if (bucketsPath && method === 'POST') {
      const spec = JSON.parse((body ?? Buffer.alloc(0)).toString('utf8') || '{}') as { name?: string; compartmentId?: string };
      if (!spec.name || !spec.compartmentId) throw new ServiceError(400, 'InvalidParameter', 'name and compartmentId are required');
      const ns = decodeURIComponent(bucketsPath[1]!);
      bucketKey(ns, spec.name);
      return sendJson(res, 200, {
        namespace: ns,
        name: spec.name,
        compartmentId: spec.compartmentId,
        createdBy: who.principal,
        timeCreated: new Date(now()).toISOString(),
        etag: randomUUID(),
        publicAccessType: 'NoPublicAccess',
        storageTier: 'Standard',
        objectEventsEnabled: false,
        versioning: 'Disabled',
      }, { etag: randomUUID() });
    }
    const listPath = /^\/n\/([^/]+)\/b\/([^/]+)\/o\/?$/.exec(rawPath);
    if (listPath) {
      if (method !== 'GET') throw new ServiceError(405, 'MethodNotAllowed', `${method} is not allowed on ${rawPath}`);
      return listObjects(res, bucketKey(decodeURIComponent(listPath[1]!), decodeURIComponent(listPath[2]!)), query);
    }
    const objectPath = /^\/n\/([^/]+)\/b\/([^/]+)\/o\/(.+)$/.exec(rawPath);
    if (!objectPath) throw new ServiceError(404, 'NotFound', `No such operation: ${method} ${rawPath}`);
    const bucket = bucketKey(decodeURIComponent(objectPath[1]!), decodeURIComponent(objectPath[2]!));
    const name = decodeURIComponent(objectPath[3]!);
    switch (method) {
      case 'PUT':
        return putObject(req, res, bucket, name, who, record);
      case 'GET': {
        const obj = findObject(bucket, name);
        if (!obj.body) throw new ServiceError(501, 'NotImplemented', `The stand-in kept only the hash of '${name}' (${obj.size} bytes)`);
        res.writeHead(200, objectHeaders(obj));
        res.end(obj.body);
        return;
      }
      case 'HEAD': {
        res.writeHead(200, objectHeaders(findObject(bucket, name)));
        res.end();
        return;
      }
      case 'DELETE': {
        const obj = findObject(bucket, name);
        objects.delete(`${bucket}/${obj.name}`);
        res.writeHead(204, { 'last-modified': new Date(now()).toUTCString() });
        res.end();
        return;
      }
      default:
        throw new ServiceError(405, 'MethodNotAllowed', `${method} is not allowed on objects`);
    }
  }

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const id = opcRequestId();
    res.setHeader('opc-request-id', id);
    const clientRequestId = headerString(req, 'opc-client-request-id');
    if (clientRequestId) res.setHeader('opc-client-request-id', clientRequestId);
    const record: RecordedRequest = {
      opcRequestId: id,
      time: new Date(),
      method: req.method ?? '',
      target: req.url ?? '',
      host: headerString(req, 'host'),
      sni: (req.socket as TLSSocket).servername || undefined,
      status: 0,
      tag: headerString(req, tagHeader),
      clientRequestId,
      bodyBytes: 0,
    };
    requests.push(record);
    res.once('finish', () => {
      record.status = res.statusCode;
    });
    const fail = (err: unknown): void => {
      if (err instanceof SignatureRejected || err instanceof UpstRejected) {
        record.rejection = err.reason;
        sendJson(res, 401, { code: 'NotAuthenticated', message: NOT_AUTHENTICATED_MESSAGE });
      } else if (err instanceof ServiceError) {
        sendJson(res, err.status, { code: err.code, message: err.message });
      } else {
        record.rejection = `internal error: ${String(err)}`;
        sendJson(res, 500, { code: 'InternalServerError', message: 'Internal error in the stand-in.' });
      }
      // Whatever body is still coming is read and dropped so the answer reaches the client intact.
      req.resume();
    };
    const hostOnly = (record.host ?? '').replace(/:\d+$/, '').toLowerCase();
    if (!acceptedHosts.has(hostOnly)) {
      record.rejection = `host ${JSON.stringify(record.host)} is not this service`;
      fail(new ServiceError(400, 'InvalidHost', `The Host header must name ${hostname}.`));
      return;
    }
    authenticate(req, record)
      .then(async ({ who, body }) => {
        record.principal = who.principal;
        record.sourceSubject = who.sourceSubject;
        await route(req, res, who, record, body);
      })
      .catch((err: unknown) => {
        if (res.headersSent) {
          res.destroy();
          return;
        }
        fail(err);
      });
  }

  const cert = await opts.pki.issueServerCert([hostname, address]);
  const listener = await listenHttps({ address, port: opts.port, certPem: cert.certPem, keyPem: cert.keyPem, handler: handle });

  return {
    url: `https://${hostname}:${listener.port}`,
    hostname,
    address,
    port: listener.port,
    region,
    namespace,
    requests,
    objects,
    buckets,
    trustIssuer(key: KeyObject) {
      trusted.push(key);
    },
    close: () => listener.close(),
  };
}
