/**
 * One HTTP request on a terminated connection: check it against the caller's bindings, replace the
 * client's credentials with a fresh OCI signature from the binding's session key, forward it and
 * stream the answer back. Every request ends in exactly one audit event.
 */
import crypto from 'node:crypto';
import type http from 'node:http';
import { AgentError } from '../errors.js';
import type { Logger } from '../log.js';
import { Auditor, auditPath } from './audit.js';
import type { SignerLimits } from './config.js';
import { SignerError } from './errors.js';
import type { Forwarder } from './forward.js';
import { forwardableRequestHeaders, forwardableResponseHeaders, occurrences } from './headers.js';
import { EMPTY_BODY_SHA256, authorizationHeader, bodySha256, requiredSignedHeaders, signingString, signsBody } from './oci-signature.js';
import { bindingFor } from './policy.js';
import type { ConnectionRecord, CredentialProvider, ResolvedWorkload } from './ports.js';
import { relay } from './relay.js';
import type { SigningPool } from './signing-pool.js';

/** OCI answers 411 to these without a Content-Length, also where the body is not signed (PutObject). */
const LENGTH_REQUIRED_METHODS = new Set(['POST', 'PUT']);

/** What the connection established before any request: who is calling, and for which host. */
export interface ConnectionContext {
  record: ConnectionRecord;
  workload: ResolvedWorkload;
  /** The SNI the handshake accepted (lower-case). */
  sni: string;
}

export interface RequestHandlerDeps {
  credentials: CredentialProvider;
  forwarder: Forwarder;
  /** Signs off the event loop. */
  signer: SigningPool;
  auditor: Auditor;
  limits: SignerLimits;
  log: Logger;
  contextOf(socket: unknown): ConnectionContext | undefined;
}

/** Splits `host[:port]`; brackets around IPv6 literals are removed. */
function splitHost(value: string): { name: string; port: number | undefined } {
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(value.trim());
  if (!m) return { name: '', port: undefined };
  return { name: (m[1] as string).toLowerCase(), port: m[2] === undefined ? undefined : Number(m[2]) };
}

/** Reads the whole body, refusing it with 413 as soon as it exceeds `limit`. */
async function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  const tooLarge = () => new SignerError('BODY_TOO_LARGE', `request body exceeds the signer's limit of ${limit} bytes for signed bodies; raise limits.maxSignedBodyBytes or use an upload operation whose body is not signed`);
  if (declared !== undefined && Number(declared) > limit) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw tooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

export function createRequestHandler(deps: RequestHandlerDeps): (req: http.IncomingMessage, res: http.ServerResponse) => void {
  const inFlight = new Map<number, number>();

  function sendError(req: http.IncomingMessage, res: http.ServerResponse, err: SignerError, requestId: string): void {
    if (res.headersSent) {
      res.destroy(err);
      return;
    }
    const body = JSON.stringify(err.toJSON());
    const headers: Record<string, string | number> = {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      'opc-request-id': requestId,
    };
    // An unread body would have to be drained before the next request; close instead.
    if (!req.complete) headers['connection'] = 'close';
    res.writeHead(err.status ?? 500, headers);
    res.end(body);
  }

  return function handle(req, res) {
    const started = performance.now();
    const ctx = deps.contextOf(req.socket);
    if (!ctx) {
      req.socket.destroy();
      return;
    }
    const { record, workload, sni } = ctx;
    const method = (req.method ?? 'GET').toUpperCase();
    const target = req.url ?? '';
    const ourRequestId = `sigil-${crypto.randomUUID()}`;
    let bindingId: string | undefined;
    let errorCode: string | undefined;
    let upstreamRequestId: string | undefined;

    const tgid = record.tgid;
    const count = (inFlight.get(tgid) ?? 0) + 1;
    inFlight.set(tgid, count);
    // The end of this request, whichever comes first: its response closes, or its connection does.
    // Node never closes the response of a pipelined request whose connection went away before its
    // turn; counting on that alone leaked the in-flight count until the process got only 429s.
    const onDone: Array<() => void> = [];
    let done = false;
    const socket = req.socket;
    const finish = (): void => {
      if (done) return;
      done = true;
      socket.off('close', finish);
      for (const fn of onDone) fn();
    };
    const whenDone = (fn: () => void): void => {
      if (done) fn();
      else onDone.push(fn);
    };
    res.once('close', finish);
    socket.once('close', finish);
    whenDone(() => {
      const left = (inFlight.get(tgid) ?? 1) - 1;
      if (left <= 0) inFlight.delete(tgid);
      else inFlight.set(tgid, left);
      deps.auditor.record({
        spiffeId: workload.spiffeId,
        binding: bindingId,
        tgid,
        exePath: workload.exePath,
        exeSha256: workload.exeSha256,
        host: sni,
        method,
        path: auditPath(target),
        status: res.statusCode,
        latencyMs: Math.round((performance.now() - started) * 10) / 10,
        requestId: upstreamRequestId ?? ourRequestId,
        ...(errorCode === undefined ? {} : { errorCode }),
        ...(res.writableFinished ? {} : { aborted: true }),
      });
    });

    const work = async (): Promise<void> => {
      if (count > deps.limits.maxConcurrentPerProcess) {
        throw new SignerError('TOO_MANY_REQUESTS', `process ${tgid} already has ${deps.limits.maxConcurrentPerProcess} requests in flight through the signer; lower its concurrency or raise limits.maxConcurrentPerProcess`);
      }
      // Node keeps only the first maxHeadersCount lines and drops the rest without a word; refuse instead.
      if (req.rawHeaders.length / 2 > deps.limits.maxHeaderCount) {
        throw new SignerError('TOO_MANY_HEADERS', `more than ${deps.limits.maxHeaderCount} request headers; send fewer or raise limits.maxHeaderCount`);
      }
      // HTTP/1.0 and a version-less (0.9) request line would otherwise be signed and forwarded as 1.1.
      if (req.httpVersion !== '1.1') {
        throw new SignerError('BAD_REQUEST', `HTTP/${req.httpVersion} is not supported; the signer speaks HTTP/1.1 only`);
      }
      if (!target.startsWith('/')) {
        throw new SignerError('BAD_REQUEST', 'request target must be an origin-form path (/...)');
      }
      if (occurrences(req.rawHeaders, 'host') !== 1 || occurrences(req.rawHeaders, 'content-type') > 1) {
        throw new SignerError('BAD_REQUEST', 'exactly one Host header and at most one Content-Type header are allowed');
      }
      const hostHeader = (req.headers.host ?? '').trim();
      const host = splitHost(hostHeader);
      if (host.name !== sni || (host.port !== undefined && host.port !== record.origPort)) {
        throw new SignerError('MISDIRECTED', `Host '${hostHeader}' does not match the TLS server name '${sni}' this connection was opened for; send each host's requests on its own connection`);
      }
      const lost = workload.lost?.();
      if (lost !== undefined) {
        throw new SignerError('IDENTITY_LOST', `process ${tgid} (${workload.exePath}) lost its identity after it connected (${lost}); nothing is signed for it until it execs again`);
      }
      const binding = bindingFor(workload.bindings, sni, method);
      if (!binding) {
        throw new SignerError('NOT_ALLOWED', `${workload.spiffeId} has no binding allowing ${method} on ${sni}; add the method or destination to its WorkloadCredential`);
      }
      bindingId = binding.id;

      let credential;
      try {
        credential = await deps.credentials.get(binding.id);
      } catch (err) {
        const code = err instanceof AgentError ? ` [${err.code}]` : '';
        throw new SignerError('NO_CREDENTIAL', `no credential available for binding '${binding.id}': ${(err as Error).message}${code}`, { cause: err });
      }
      if (credential.expiresAt.getTime() <= Date.now()) {
        throw new SignerError('NO_CREDENTIAL', `the session token of binding '${binding.id}' expired at ${credential.expiresAt.toISOString()} and was not renewed; check the agent's credential log`);
      }

      const bodySigned = signsBody(method, target);
      const headers = forwardableRequestHeaders(req.rawHeaders);
      const values: Record<string, string> = { host: hostHeader, 'x-date': new Date().toUTCString() };
      let body: Buffer | undefined;
      if (bodySigned) {
        body = await readBody(req, deps.limits.maxSignedBodyBytes);
        values['content-type'] = req.headers['content-type'] ?? 'application/json';
        values['content-length'] = String(body.length);
        values['x-content-sha256'] = body.length === 0 ? EMPTY_BODY_SHA256 : bodySha256(body);
        if (req.headers['content-type'] === undefined) headers.push('content-type', values['content-type']);
        headers.push('content-length', values['content-length'], 'x-content-sha256', values['x-content-sha256']);
      } else if (req.headers['content-length'] !== undefined) {
        headers.push('content-length', req.headers['content-length']);
      } else if (LENGTH_REQUIRED_METHODS.has(method)) {
        // Forwarded chunked, OCI would refuse it (411) after the upload; refuse before anything is sent.
        throw new SignerError('LENGTH_REQUIRED', `${method} without Content-Length: OCI does not accept chunked uploads; send the body's length (the SDKs do when the body's size is known)`);
      }
      const signedHeaders = requiredSignedHeaders(method, target, 'x-date');
      const text = signingString({ method, requestTarget: target, headers: values, signedHeaders });
      const signature = await deps.signer.sign(text, credential.privateKey);
      // The client may have gone while its signature was being made: send nothing for it then.
      if (done) return;
      headers.push('x-date', values['x-date'] as string, 'authorization', authorizationHeader(credential.keyId, signedHeaders, signature));

      const upstream = deps.forwarder.request(
        { address: record.origAddr, port: record.origPort, servername: sni },
        { method, path: target, headers },
      );
      whenDone(() => {
        if (!res.writableFinished) upstream.destroy();
      });
      upstream.once('timeout', () => upstream.destroy(new Error('upstream timed out')));
      const response = new Promise<http.IncomingMessage>((resolve, reject) => {
        upstream.once('response', resolve);
        upstream.once('error', reject);
      });
      const sent = body !== undefined ? (upstream.end(body), Promise.resolve()) : relay(req, upstream);
      // Handled at once: a client that aborts its upload (or sends a bad chunk) before the upstream
      // answers must not become an unhandled rejection, which would end the agent. An early answer
      // (e.g. 401) may also end the upload; either way the response (or its failure) tells the client.
      sent.catch(() => undefined);
      let upRes: http.IncomingMessage;
      try {
        upRes = await response;
      } catch (err) {
        throw new SignerError('UPSTREAM_FAILED', `could not reach ${sni} at ${record.origAddr}:${record.origPort}: ${(err as Error).message}`, { cause: err });
      }
      const requestIdHeader = upRes.headers['opc-request-id'];
      upstreamRequestId = Array.isArray(requestIdHeader) ? requestIdHeader[0] : requestIdHeader;
      res.writeHead(upRes.statusCode ?? 502, upRes.statusMessage, forwardableResponseHeaders(upRes.rawHeaders));
      await relay(upRes, res);
    };

    work().catch((err: unknown) => {
      if (err instanceof SignerError) {
        errorCode = err.code;
        if (err.status !== 502 && err.status !== 503) deps.log.info({ code: err.code, tgid, host: sni, method }, err.message);
        else deps.log.warn({ code: err.code, tgid, host: sni, method }, err.message);
        sendError(req, res, err, ourRequestId);
        return;
      }
      // Streaming failed after the response started, or the client went away: nothing to answer.
      deps.log.debug({ err: (err as Error).message, tgid, host: sni }, 'request stream ended early');
      if (!res.headersSent) sendError(req, res, new SignerError('UPSTREAM_FAILED', `forwarding failed: ${(err as Error).message}`), ourRequestId);
      else res.destroy();
    });
  };
}
