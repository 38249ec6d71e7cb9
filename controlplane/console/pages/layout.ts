import { html, type Html } from '../html.js';
import type { Role } from '../../http/access-tokens.js';

export type PageName = 'fleet' | 'inventory' | 'audit';

const NAV: Array<[PageName, string]> = [['fleet', 'Fleet'], ['inventory', 'Inventory'], ['audit', 'Audit']];

/** A whole console page; `live` (ms) makes console.js refresh the main part that often. */
export function layout(page: PageName, title: string, role: Role, main: Html, live?: number): Html {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · Sigil console</title><link rel="stylesheet" href="/ui/assets/console.css"><script src="/ui/assets/console.js" defer></script></head>
<body><header><span class="brand">SIGIL</span><nav>${NAV.map(([name, label]) => html`<a href="/ui/${name}" class="${name === page ? 'here' : ''}">${label}</a>`)}</nav>
<span class="who"><span id="updated"></span><span>signed in as ${role} (read-only)</span><form method="post" action="/ui/logout"><button type="submit">Sign out</button></form></span></header>
<main${live === undefined ? '' : html` data-live="${live}"`}>${main}</main></body></html>
`;
}

export function loginPage(error?: string): Html {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in · Sigil console</title><link rel="stylesheet" href="/ui/assets/console.css"></head>
<body><form class="login" method="post" action="/ui/login"><h1>Sigil console</h1>
<p class="muted">Sign in with a viewer token (<code>sigil token create --role viewer</code>) or the admin token. The console only reads.</p>
${error ? html`<p class="error" role="alert">${error}</p>` : ''}
<label for="token">Token</label><input id="token" name="token" type="password" autocomplete="off" required autofocus>
<button class="primary" type="submit">Sign in</button></form></body></html>
`;
}

export function age(seconds: number | undefined): string {
  if (seconds === undefined) return 'never';
  if (seconds < 90) return `${Math.round(seconds)}s ago`;
  if (seconds < 5400) return `${Math.round(seconds / 60)}m ago`;
  if (seconds < 172_800) return `${Math.round(seconds / 3600)}h ago`;
  return `${Math.round(seconds / 86_400)}d ago`;
}

export function since(iso: string | undefined, now: number): string {
  return iso === undefined ? 'never' : `${age((now - Date.parse(iso)) / 1000)} (${iso})`;
}
