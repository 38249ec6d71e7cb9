#!/usr/bin/env node
/** `sigil-agent <command>`: the tree is in ./program.ts, one module per command under ./commands. */
import { main } from '../../common/cli/program.js';
import { agentProgram } from './program.js';

main(agentProgram());
