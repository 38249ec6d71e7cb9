/**
 * Console sessions: a random id (the cookie's only content) → role and expiry, held server-side in
 * memory. Nothing in the cookie can be forged into a role; a restart or another replica means logging
 * in again (the token is the credential; the session only spares typing it per page).
 */
import { randomBytes } from 'node:crypto';
import type { Role } from '../http/access-tokens.js';

export const SESSION_COOKIE = 'sigil_console';
/** Bounds memory: past this the oldest sessions are forgotten. */
const MAX_SESSIONS = 10_000;

export interface Session {
  id: string;
  role: Role;
  expiresAt: number;
}

export class SessionStore {
  readonly #sessions = new Map<string, Session>();

  constructor(private readonly ttlSeconds: number, private readonly now: () => number = Date.now) {}

  create(role: Role): Session {
    this.#sweep();
    while (this.#sessions.size >= MAX_SESSIONS) {
      const oldest = this.#sessions.keys().next().value;
      if (oldest === undefined) break;
      this.#sessions.delete(oldest);
    }
    const session: Session = { id: randomBytes(32).toString('base64url'), role, expiresAt: this.now() + this.ttlSeconds * 1000 };
    this.#sessions.set(session.id, session);
    return session;
  }

  get(id: string | undefined): Session | undefined {
    if (id === undefined) return undefined;
    const session = this.#sessions.get(id);
    if (!session) return undefined;
    if (session.expiresAt <= this.now()) {
      this.#sessions.delete(id);
      return undefined;
    }
    return session;
  }

  delete(id: string | undefined): void {
    if (id !== undefined) this.#sessions.delete(id);
  }

  get ttl(): number {
    return this.ttlSeconds;
  }

  #sweep(): void {
    const now = this.now();
    for (const [id, s] of this.#sessions) if (s.expiresAt <= now) this.#sessions.delete(id);
  }
}

/** The session id in a Cookie header, if any. */
export function sessionIdOf(cookieHeader: string | undefined): string | undefined {
  for (const part of (cookieHeader ?? '').split(';')) {
    const [name, ...rest] = part.trim().split('=');
    if (name === SESSION_COOKIE) return rest.join('=') || undefined;
  }
  return undefined;
}

export function sessionCookie(session: Session, secure: boolean): string {
  return `${SESSION_COOKIE}=${session.id}; Path=/ui; HttpOnly; SameSite=Strict; Max-Age=${Math.floor((session.expiresAt - Date.now()) / 1000)}${secure ? '; Secure' : ''}`;
}

export const clearedCookie = `${SESSION_COOKIE}=; Path=/ui; HttpOnly; SameSite=Strict; Max-Age=0`;
