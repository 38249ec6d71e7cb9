#!/usr/bin/env node
/** `sigil-controlplane run|init-nats`: the tree is in ./server-program.ts. */
import { main } from '../../common/cli/program.js';
import { serverProgram } from './server-program.js';

main(serverProgram());
