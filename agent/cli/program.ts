/** The `sigil-agent` command tree (main.ts runs it; the completion and man-page generators read it). */
import type { Command } from 'commander';
import { createProgram } from '../../common/cli/program.js';
import { completionCommand } from '../../common/cli/completion.js';
import * as attest from './commands/attest.js';
import * as detach from './commands/detach.js';
import * as doctor from './commands/doctor.js';
import * as enroll from './commands/enroll.js';
import * as ociConfig from './commands/oci-config.js';
import * as run from './commands/run.js';
import * as trust from './commands/trust.js';

export function agentProgram(): Command {
  const program = createProgram('sigil-agent', 'The Sigil host agent: steers connections to OCI into a local signer, attests each process, signs its requests.');
  for (const mod of [run, doctor, attest, trust, ociConfig, enroll, detach]) program.addCommand(mod.command());
  program.addCommand(completionCommand('sigil-agent', agentProgram));
  return program;
}
