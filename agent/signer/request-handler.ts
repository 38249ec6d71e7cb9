/**
 * One HTTP request on a terminated connection: check it against the caller's bindings, replace the
 * client's credentials with a fresh OCI signature from the binding's session key, forward it and
 * stream the answer back. Every request ends in exactly one audit event.
 */
import crypto from 'node:crypto';
import { AgentError } from '../errors.js';
import type { Logger } from '../log.js';
import { Auditor, auditPath } from './audit.js';
import type { SignerLimits } from './config.js';
import { SignerError } from './errors.js';
import { requestHead, type Forwarder } from './forward.js';
import { forwardableRequestHeaders, forwardableResponseHeaders } from './headers.js';
import type { Exchange, ResponseFraming } from './http1/index.js';
import type { UpstreamConnection, UpstreamResponse } from './http1/index.js';
import { EMPTY_BODY_SHA256, authorizationHeader, bodySha256, requiredSignedHeaders, signingString, signsBody } from './oci-signature.js';
import { bindingFor } from './policy.js';
import type { ConnectionRecord, CredentialProvider, ResolvedWorkload } from './ports.js';
import type { SigningPool } from './signing-pool.js';
import { PerProcessCount } from './per-process-count.js';

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
}

/** Splits `host[:port]`; brackets around IPv6 literals are removed. */
function splitHost(value: string): { name: string; port: number | undefined } {
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(value.trim());
  if (!m) return { name: '', port: undefined };
  return { name: (m[1] as string).toLowerCase(), port: m[2] === undefined ? undefined : Number(m[2]) };
}

/** How the response body is framed toward the client, from the upstream's framing. */
function framingOf(method: string, up: UpstreamResponse): ResponseFraming {
  const status = up.head.status;
  if (method === 'HEAD' || status === 204 || status === 304) return { kind: 'none' };
  return up.head.contentLength !== undefined && !up.head.chunked ? { kind: 'length' } : { kind: 'chunked' };
}

/** Ends `ex` with the upstream's body, with backpressure both ways. */
function relayResponse(up: UpstreamResponse, ex: Exchange): Promise<void> {
  return up.body.pipeTo(ex).then(() => ex.end());
}

export function createRequestHandler(deps: RequestHandlerDeps): (ex: Exchange, ctx: ConnectionContext) => void {
  const inFlight = new PerProcessCount();
  const tooLarge = (limit: number) => () => new SignerError('BODY_TOO_LARGE', `request body exceeds the signer's limit of ${limit} bytes for signed bodies; raise limits.maxSignedBodyBytes or use an upload operation whose body is not signed`);

  function sendError(ex: Exchange, err: SignerError, requestId: string): void {
    if (ex.headersSent) {
      ex.destroy();
      return;
    }
    // An unread body makes the exchange close its connection (connection: close) after the answer.
    ex.respond(err.status ?? 500, ['content-type', 'application/json', 'opc-request-id', requestId], JSON.stringify(err.toJSON()));
  }

  return function handle(ex, ctx) {
    const started = performance.now();
    const { record, workload, sni } = ctx;
    const req = ex.head;
    const method = req.method;
    const target = req.target;
    const ourRequestId = `sigil-${crypto.randomUUID()}`;
    let bindingId: string | undefined;
    let errorCode: string | undefined;
    let upstreamRequestId: string | undefined;

    const tgid = record.tgid;
    const count = inFlight.add(tgid);
    // The end of this request, whichever comes first: its response ends, or its connection does
    // (also for a pipelined request whose connection went away before its turn).
    ex.whenDone(() => {
      inFlight.remove(tgid);
      deps.auditor.record({
        spiffeId: workload.spiffeId,
        binding: bindingId,
        tgid,
        exePath: workload.exePath,
        exeSha256: workload.exeSha256,
        host: sni,
        method,
        path: auditPath(target),
        status: ex.statusCode,
        latencyMs: Math.round((performance.now() - started) * 10) / 10,
        requestId: upstreamRequestId ?? ourRequestId,
        ...(errorCode === undefined ? {} : { errorCode }),
        ...(ex.finished ? {} : { aborted: true }),
      });
    });
    if (ex.done) return;

    const work = async (): Promise<void> => {
      if (count > deps.limits.maxConcurrentPerProcess) {
        throw new SignerError('TOO_MANY_REQUESTS', `process ${tgid} already has ${deps.limits.maxConcurrentPerProcess} requests in flight through the signer; lower its concurrency or raise limits.maxConcurrentPerProcess`);
      }
      if (req.raw.length / 2 > deps.limits.maxHeaderCount) {
        throw new SignerError('TOO_MANY_HEADERS', `more than ${deps.limits.maxHeaderCount} request headers; send fewer or raise limits.maxHeaderCount`);
      }
      // HTTP/1.0 and a version-less (0.9) request line would otherwise be signed and forwarded as 1.1.
      if (req.version !== '1.1') {
        throw new SignerError('BAD_REQUEST', `HTTP/${req.version} is not supported; the signer speaks HTTP/1.1 only`);
      }
      if (!target.startsWith('/')) {
        throw new SignerError('BAD_REQUEST', 'request target must be an origin-form path (/...)');
      }
      if (req.hostCount !== 1 || req.contentTypeCount > 1) {
        throw new SignerError('BAD_REQUEST', 'exactly one Host header and at most one Content-Type header are allowed');
      }
      const hostHeader = (req.host ?? '').trim();
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
      const headers = forwardableRequestHeaders(req.raw);
      const values: Record<string, string> = { host: hostHeader, 'x-date': new Date().toUTCString() };
      let body: Buffer | undefined;
      let streamed = false;
      if (bodySigned) {
        const limit = deps.limits.maxSignedBodyBytes;
        if (req.contentLength !== undefined && req.contentLength > limit) throw tooLarge(limit)();
        body = await ex.body.collect(limit, tooLarge(limit));
        values['content-type'] = req.contentType ?? 'application/json';
        values['content-length'] = String(body.length);
        values['x-content-sha256'] = body.length === 0 ? EMPTY_BODY_SHA256 : bodySha256(body);
        if (req.contentType === undefined) headers.push('content-type', values['content-type']);
        headers.push('content-length', values['content-length'], 'x-content-sha256', values['x-content-sha256']);
      } else if (req.contentLength !== undefined) {
        headers.push('content-length', String(req.contentLength));
        streamed = req.contentLength > 0;
      } else if (req.chunked) {
        // Forwarded chunked, OCI would refuse it (411) after the upload; refuse before anything is sent.
        throw new SignerError('LENGTH_REQUIRED', `${method} without Content-Length: OCI does not accept chunked uploads; send the body's length (the SDKs do when the body's size is known)`);
      } else if (LENGTH_REQUIRED_METHODS.has(method)) {
        throw new SignerError('LENGTH_REQUIRED', `${method} without Content-Length: OCI does not accept chunked uploads; send the body's length (the SDKs do when the body's size is known)`);
      }
      const signedHeaders = requiredSignedHeaders(method, target, 'x-date');
      const text = signingString({ method, requestTarget: target, headers: values, signedHeaders });
      const signature = await deps.signer.sign(text, credential.privateKey);
      // The client may have gone while its signature was being made: send nothing for it then.
      if (ex.done) return;
      headers.push('x-date', values['x-date'] as string, 'authorization', authorizationHeader(credential.keyId, signedHeaders, signature));

      const upstreamTarget = { address: record.origAddr, port: record.origPort, servername: sni };
      const failed = (err: unknown): SignerError => new SignerError('UPSTREAM_FAILED', `could not reach ${sni} at ${record.origAddr}:${record.origPort}: ${(err as Error).message}`, { cause: err });
      let conn: UpstreamConnection;
      try {
        conn = await deps.forwarder.connection(upstreamTarget);
      } catch (err) {
        throw failed(err);
      }
      if (ex.done) {
        deps.forwarder.giveBack(conn);
        return;
      }
      // Until the upstream's response has ended, the connection is this request's: a client that
      // leaves early takes it down with it (it cannot carry another request half-way).
      let upBody: UpstreamResponse['body'] | undefined;
      let upstreamFailed = false;
      ex.whenDone(() => {
        if (!upstreamFailed && !ex.finished && !(upBody?.complete ?? false)) conn.destroy(new Error('the client went away'));
      });
      const response = conn.send(requestHead({ method, path: target, headers }), body, streamed, method === 'HEAD');
      if (streamed) {
        // Handled at once: a client that aborts its upload (or sends a bad chunk) before the upstream
        // answers must not become an unhandled rejection. An early answer (e.g. 401) may also end the
        // upload; either way the response (or its failure) tells the client.
        ex.body.pipeTo(conn).then(() => conn.endRequest(), () => conn.destroy(new Error('the client upload ended early')));
      }
      let up: UpstreamResponse;
      try {
        up = await response;
      } catch (err) {
        upstreamFailed = true;
        throw failed(err);
      }
      upBody = up.body;
      upstreamRequestId = up.head.requestId;
      if (ex.done) return;
      ex.writeHead(up.head.status, up.head.reason, forwardableResponseHeaders(up.head.raw), framingOf(method, up));
      await relayResponse(up, ex);
    };

    work().catch((err: unknown) => {
      if (ex.done && !(err instanceof SignerError)) return;
      if (err instanceof SignerError) {
        errorCode = err.code;
        if (err.status !== 502 && err.status !== 503) deps.log.info({ code: err.code, tgid, host: sni, method }, err.message);
        else deps.log.warn({ code: err.code, tgid, host: sni, method }, err.message);
        if (!ex.done) sendError(ex, err, ourRequestId);
        return;
      }
      // Streaming failed after the response started, or the client went away: nothing to answer.
      deps.log.debug({ err: (err as Error).message, tgid, host: sni }, 'request stream ended early');
      if (!ex.headersSent) sendError(ex, new SignerError('UPSTREAM_FAILED', `forwarding failed: ${(err as Error).message}`), ourRequestId);
      else ex.destroy();
    });
  };
}
