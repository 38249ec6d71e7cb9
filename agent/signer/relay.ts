/**
 * Moves one body from a readable to a writable with backpressure (pipe) and settles once: resolved
 * when the writable finished, rejected when either side failed or closed early (the other side is
 * destroyed then). stream/promises' pipeline does the same with an AbortSignal, a DOMException and
 * end-of-stream listeners per call, a visible share of the signer's CPU per request on Node 20.
 */
import type { Readable, Writable } from 'node:stream';

export function relay(src: Readable, dst: Writable): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      src.unpipe(dst);
      src.destroy();
      dst.destroy();
      reject(err);
    };
    const onSrcError = (err: Error): void => fail(err);
    const onDstError = (err: Error): void => fail(err);
    const onSrcClose = (): void => {
      if (!src.readableEnded) fail(new Error('the source closed before its end'));
    };
    const onDstClose = (): void => {
      if (!settled && !dst.writableFinished) fail(new Error('the destination closed before the body was written'));
    };
    const onFinish = (): void => {
      if (settled) return;
      settled = true;
      src.off('error', onSrcError);
      src.off('close', onSrcClose);
      dst.off('close', onDstClose);
      // A late error on either side after the end is not this body's concern.
      src.on('error', noop);
      resolve();
    };
    src.on('error', onSrcError);
    dst.on('error', onDstError);
    src.once('close', onSrcClose);
    dst.once('close', onDstClose);
    dst.once('finish', onFinish);
    src.pipe(dst);
  });
}

function noop(): void {
  // swallowed on purpose
}
