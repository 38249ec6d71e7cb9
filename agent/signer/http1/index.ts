/** The signer's HTTP/1.1 framing over TLS sockets: what the rest of agent/signer uses. */
export { ClientConnection, type ConnectionEvents, type ConnectionLimits } from './connection.js';
export { ConnectionSweeper } from './sweeper.js';
export type { Exchange, ResponseFraming } from './exchange.js';
export type { BodyChannel, BodySink } from './body-channel.js';
export { UpstreamPool, type UpstreamTarget } from './upstream-pool.js';
export type { UpstreamConnection, UpstreamResponse } from './upstream-connection.js';
export { ParseError, type ParseErrorCode } from './parse-error.js';
