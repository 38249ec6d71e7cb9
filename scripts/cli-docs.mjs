#!/usr/bin/env node
// Man pages and shell completion scripts for sigil, sigil-agent and sigil-controlplane, generated from
// their command trees (the same text --help prints), from the compiled dist/ (run after `tsc`).
//   node scripts/cli-docs.mjs [OUT]     OUT defaults to build/; writes
//     OUT/man/man1/<program>.1         (every command a section)
//     OUT/completion/bash/<program>       (for /usr/share/bash-completion/completions/)
//     OUT/completion/zsh/_<program>       (for /usr/share/zsh/vendor-completions/)
// SOURCE_DATE_EPOCH, when set, dates the pages (reproducible package builds).
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.resolve(process.argv[2] ?? path.join(root, 'build'));
const dist = (p) => import(path.join(root, 'dist', p));

const { agentProgram } = await dist('agent/cli/program.js');
const { sigilProgram } = await dist('controlplane/cli/program.js');
const { serverProgram } = await dist('controlplane/cli/server-program.js');
const { manPage } = await dist('common/cli/manpage.js');
const { completionScript } = await dist('common/cli/completion.js');
const { buildInfo } = await dist('common/cli/version.js');

const epoch = process.env.SOURCE_DATE_EPOCH;
const date = (epoch ? new Date(Number(epoch) * 1000) : new Date()).toISOString().slice(0, 10);
const { version } = buildInfo();

const manDir = path.join(out, 'man', 'man1');
await rm(manDir, { recursive: true, force: true });
await mkdir(manDir, { recursive: true });
await mkdir(path.join(out, 'completion', 'bash'), { recursive: true });
await mkdir(path.join(out, 'completion', 'zsh'), { recursive: true });
let pages = 0;
for (const make of [sigilProgram, agentProgram, serverProgram]) {
  const page = manPage(make(), { version, date });
  await writeFile(path.join(manDir, page.file), page.text);
  pages++;
  const name = make().name();
  await writeFile(path.join(out, 'completion', 'bash', name), completionScript(make(), 'bash'));
  await writeFile(path.join(out, 'completion', 'zsh', `_${name}`), completionScript(make(), 'zsh'));
}
process.stdout.write(`cli-docs: ${pages} man pages in ${manDir}, completions in ${path.join(out, 'completion')}\n`);
