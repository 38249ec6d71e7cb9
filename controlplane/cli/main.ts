#!/usr/bin/env node
/** `sigil <command>`: each command is one module under ./commands (see common/cli/dispatch.ts). */
import { runCli } from '../../common/cli/dispatch.js';

runCli({
  program: 'sigil',
  commands: ['apply', 'get', 'delete', 'token', 'agent', 'fleet', 'inventory'],
  load: (name) => import(`./commands/${name}.js`),
  footer: ['common options: --server <url> (env SIGIL_SERVER), --token-file <file> (env SIGIL_TOKEN_FILE)'],
});
