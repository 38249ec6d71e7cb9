/** The `sigil` command tree (main.ts runs it; the completion and man-page generators read it). */
import type { Command } from 'commander';
import { createProgram } from '../../common/cli/program.js';
import { completionCommand } from '../../common/cli/completion.js';
import * as agent from './commands/agent.js';
import * as apply from './commands/apply.js';
import * as del from './commands/delete.js';
import * as diff from './commands/diff.js';
import * as fleet from './commands/fleet.js';
import * as get from './commands/get.js';
import * as inventory from './commands/inventory.js';
import * as token from './commands/token.js';
import * as validate from './commands/validate.js';

export function sigilProgram(): Command {
  const program = createProgram('sigil', 'Manage Sigil policy and the fleet through the control plane\'s admin API.\n'
    + 'Server and token: --server (env SIGIL_SERVER), --token-file (env SIGIL_TOKEN_FILE).');
  for (const mod of [apply, validate, diff, get, del, token, agent, fleet, inventory]) program.addCommand(mod.command());
  program.addCommand(completionCommand('sigil', sigilProgram));
  return program;
}
