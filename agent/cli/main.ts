#!/usr/bin/env node
/** `sigil-agent <command>`: each command is one module under ./commands (see ./dispatch.ts). */
import { runCli } from '../../common/cli/dispatch.js';

runCli({
  program: 'sigil-agent',
  commands: ['run', 'doctor', 'attest', 'trust', 'oci-config', 'enroll', 'detach'],
  load: (name) => import(`./commands/${name}.js`),
});
