/** The read-only web console under /ui/: its routes and its sessions. */
export { consoleRoutes, type ConsoleDeps } from './routes.js';
export { SessionStore, SESSION_COOKIE } from './sessions.js';
