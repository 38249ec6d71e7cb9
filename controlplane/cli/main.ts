#!/usr/bin/env node
/** `sigil <command>`: the tree is in ./program.ts, one module per command under ./commands. */
import { main } from '../../common/cli/program.js';
import { issueLines } from './client.js';
import { sigilProgram } from './program.js';

main(sigilProgram(), issueLines);
