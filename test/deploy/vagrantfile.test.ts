/**
 * vagrant/Vagrantfile: Ruby syntax (`ruby -c`, when Ruby is installed) and, always, a structural
 * check plus `bash -n` on every inline provisioning script, which is where mistakes hide.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { gatedTest } from '../helpers/ci.js';
import { repoRoot } from './repo-root.js';

const VAGRANTFILE = path.join(repoRoot, 'vagrant', 'Vagrantfile');
const source = readFileSync(VAGRANTFILE, 'utf8');
const hasRuby = spawnSync('ruby', ['--version']).status === 0;
// The structural checks below run everywhere; ruby -c is skipped without Ruby, except in CI.
gatedTest(hasRuby ? undefined : 'ruby not found (apt-get install ruby)', 'ruby -c')('ruby -c accepts the Vagrantfile', (t) => {
  const r = spawnSync('ruby', ['-c', VAGRANTFILE], { encoding: 'utf8' });
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /Syntax OK/);
});

/** The `<<-SHELL ... SHELL` bodies, keyed by provisioner name. */
function provisioners(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of text.matchAll(/config\.vm\.provision "([^"]+)", type: "shell", inline: <<-SHELL\n([\s\S]*?)\n\s*SHELL\n/g)) {
    out.set(m[1]!, m[2]!);
  }
  return out;
}

test('a Debian 12 box, both providers, and do/end blocks that balance outside the heredocs', (t) => {
  t.regex(source, /config\.vm\.box = "debian\/bookworm64"/);
  t.regex(source, /config\.vm\.provider "libvirt"/);
  t.regex(source, /config\.vm\.provider "virtualbox"/);
  const ruby = source.replace(/<<-SHELL\n[\s\S]*?\n\s*SHELL\n/g, '""\n').split('\n').filter((l) => !/^\s*#/.test(l));
  const opens = ruby.filter((l) => /\bdo(\s*\|[^|]*\|)?\s*$/.test(l)).length;
  const ends = ruby.filter((l) => /^\s*end\s*$/.test(l)).length;
  t.true(opens > 0);
  t.is(opens, ends);
});

test('provisioning installs Node, builds, installs the units, enrols and runs the demo; each script passes bash -n', (t) => {
  const scripts = provisioners(source);
  t.deepEqual([...scripts.keys()], ['deps', 'install', 'enrol', 'demo']);
  t.regex(scripts.get('deps')!, /deb\.nodesource\.com\/node_/);
  t.regex(scripts.get('install')!, /make build/);
  t.regex(scripts.get('install')!, /deploy\/install\.sh/);
  t.regex(scripts.get('enrol')!, /sigil-agent enroll --token/);
  t.regex(scripts.get('demo')!, /make demo/);
  for (const [name, body] of scripts) {
    const r = spawnSync('bash', ['-n'], { input: body.replace(/#\{NODE_MAJOR\}/g, '20'), encoding: 'utf8' });
    t.is(r.status, 0, `${name}: ${r.stderr}`);
  }
  const broken = spawnSync('bash', ['-n'], { input: 'if true; then\n', encoding: 'utf8' });
  t.not(broken.status, 0, 'bash -n does reject a broken script');
});
