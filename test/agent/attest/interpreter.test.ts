import test from 'ava';
import { interpreterFamily, scriptArgument, type InterpreterFamily } from '../../../agent/attest/interpreter.js';

test('interpreters are known by exe basename; shells we do not parse are not script interpreters', (t) => {
  t.is(interpreterFamily('python3.11'), 'python');
  t.is(interpreterFamily('python3'), 'python');
  t.is(interpreterFamily('node'), 'node');
  t.is(interpreterFamily('dash'), 'shell');
  t.is(interpreterFamily('bash'), 'shell');
  t.is(interpreterFamily('sh'), 'shell');
  t.is(interpreterFamily('perl5.36.0'), 'perl');
  t.is(interpreterFamily('ruby3.1'), 'ruby');
  t.is(interpreterFamily('sleep'), undefined);
  t.is(interpreterFamily('pythonic-tool'), undefined);
  // zsh reads ~/.zshenv for scripts, busybox runs the applet argv[0] names: never a script.
  for (const name of ['zsh', 'busybox', 'ksh', 'mksh', 'ash']) t.is(interpreterFamily(name), undefined, name);
});

type Case = [InterpreterFamily, string[], string | undefined];

// Ordinary command lines: the script is found.
const FOUND: Case[] = [
  ['node', ['node', 'app.js'], 'app.js'],
  ['node', ['node', 'app.js', '--eval', 'x'], 'app.js'],
  ['node', ['node', '--enable-source-maps', 'app.js'], 'app.js'],
  ['node', ['node', '--no-warnings', '--trace-uncaught', '/srv/app/main.js', 'arg'], '/srv/app/main.js'],
  ['node', ['node', '--unhandled-rejections=strict', 'app.js'], 'app.js'],
  ['node', ['node', '--unhandled-rejections', 'warn', 'app.js'], 'app.js'],
  ['node', ['node', '--max-old-space-size=4096', 'app.js'], 'app.js'],
  // --disable-warning takes a value: it consumes the next argument, as node does.
  ['node', ['node', '--disable-warning', 'DEP0040', 'app.js'], 'app.js'],
  ['node', ['node', '--disable-warning=ExperimentalWarning', 'app.js'], 'app.js'],
  ['node', ['node', '--title', 'app.js', 'evil.js'], 'evil.js'],
  ['node', ['node', '--', 'app.js'], 'app.js'],
  ['python', ['python3', 'app.py'], 'app.py'],
  ['python', ['python3', '-u', 'app.py'], 'app.py'],
  ['python', ['python3', 'main.py', '--flag', '-c', 'x'], 'main.py'],
  ['python', ['python3', '-u', '-X', 'dev', '/opt/a.py'], '/opt/a.py'],
  ['python', ['python3', '-Xdev', 'a.py'], 'a.py'],
  ['python', ['python3', '-uX', 'utf8', 'a.py'], 'a.py'],
  ['python', ['python3', '-OO', '-uBIsSE', 'a.py'], 'a.py'],
  ['shell', ['bash', 'script.sh', 'arg'], 'script.sh'],
  ['shell', ['/bin/sh', 'run.sh', 'arg'], 'run.sh'],
  ['shell', ['bash', '-o', 'pipefail', 'run.sh'], 'run.sh'],
  ['shell', ['bash', '-euo', 'pipefail', 'run.sh'], 'run.sh'],
  ['shell', ['sh', '-e', 'run.sh'], 'run.sh'],
  ['shell', ['sh', '+e', '-x', 'run.sh'], 'run.sh'],
  ['shell', ['dash', '--', 'run.sh'], 'run.sh'],
  ['perl', ['perl', '-w', 'tool.pl'], 'tool.pl'],
  ['perl', ['perl', '-wT', 'tool.pl'], 'tool.pl'],
  ['perl', ['perl', '-l0', 'tool.pl'], 'tool.pl'],
  ['perl', ['perl', '--', 'tool.pl'], 'tool.pl'],
  ['ruby', ['ruby', '-w', 'tool.rb'], 'tool.rb'],
  ['ruby', ['ruby', '-W0', '--disable-gems', 'tool.rb'], 'tool.rb'],
  ['ruby', ['ruby', '--disable=gems,rubyopt', 'tool.rb'], 'tool.rb'],
];

// Code on the command line, modules, unknown options or forms: no script.
const NONE: Case[] = [
  // The review's attacks.
  ['node', ['node', '--eval=require("./evil")', 'bound.js'], undefined],
  ['node', ['node', '--disable-warning', 'bound.js', 'evil.js'], undefined],
  ['node', ['node', '-r', './evil.js', 'bound.js'], undefined],
  ['node', ['node', '--require', './evil.js', 'bound.js'], undefined],
  ['node', ['node', '--require=./evil.js', 'bound.js'], undefined],
  ['node', ['node', '--import', './x.mjs', 'bound.js'], undefined],
  ['node', ['node', '--import=./x.mjs', 'bound.js'], undefined],
  ['node', ['node', '--loader', './x.mjs', 'bound.js'], undefined],
  ['node', ['node', '--experimental-loader=./x.mjs', 'bound.js'], undefined],
  ['node', ['node', '--inspect', 'bound.js'], undefined],
  ['node', ['node', '--inspect-brk=0', 'bound.js'], undefined],
  ['node', ['node', '-e', 'x', 'bound.js'], undefined],
  ['node', ['node', '-p', 'x'], undefined],
  ['node', ['node', '-pe', 'x'], undefined],
  ['node', ['node', '--print', 'x'], undefined],
  ['node', ['node', '-i'], undefined],
  ['node', ['node', '-'], undefined],
  ['node', ['node', '--', '-'], undefined],
  ['node', ['node'], undefined],
  ['node', ['node', '--env-file=.env', 'bound.js'], undefined],
  ['node', ['node', '--watch', 'bound.js'], undefined],
  ['node', ['node', '--test', 'bound.js'], undefined],
  ['node', ['node', 'inspect', 'bound.js'], undefined],
  ['node', ['node', '--enable_source_maps', 'bound.js'], undefined],
  ['node', ['node', '--enable-source-maps=true', 'bound.js'], undefined],
  ['node', ['node', '--unhandled-rejections=evil.js', 'bound.js'], undefined],
  ['node', ['node', '--max-old-space-size', '4096', 'bound.js'], undefined],
  ['node', ['node', '--title', '-e', 'x', 'bound.js'], undefined],
  ['node', ['node', '--title'], undefined],
  ['node', ['node', '--constructor', 'bound.js'], undefined],
  ['node', ['node', '--__proto__=x', 'bound.js'], undefined],
  ['python', ['python3', '-_', 'a.py'], undefined],
  ['python', ['python3', '-c', 'import x', 'a.py'], undefined],
  ['python', ['python3', '-uc', 'import x', 'a.py'], undefined],
  ['python', ['python3', '-m', 'http.server'], undefined],
  ['python', ['python3', '-i', 'a.py'], undefined],
  ['python', ['python3', '-'], undefined],
  ['python', ['python3', '--', '-'], undefined],
  ['python', ['python3'], undefined],
  ['python', ['python3', '-X', 'pycache_prefix=/tmp/evil', 'a.py'], undefined],
  ['python', ['python3', '-Xpycache_prefix=/tmp/evil', 'a.py'], undefined],
  ['python', ['python3', '-W', 'ignore', 'a.py'], undefined],
  ['python', ['python3', '--check-hash-based-pycs', 'never', 'a.py'], undefined],
  ['python', ['python3', '-X'], undefined],
  ['shell', ['bash', '-c', 'echo hi', 'script.sh'], undefined],
  ['shell', ['sh', '-ec', 'echo hi', 'name'], undefined],
  ['shell', ['sh', '-ce', 'echo hi', 'name'], undefined],
  ['shell', ['sh', '-s'], undefined],
  ['shell', ['bash', '-i', 'script.sh'], undefined],
  ['shell', ['bash', '-l', 'script.sh'], undefined],
  ['shell', ['bash', '--login', 'script.sh'], undefined],
  ['shell', ['bash', '--rcfile', 'evil', 'script.sh'], undefined],
  ['shell', ['bash', '-o', 'posix', 'script.sh'], undefined],
  ['shell', ['bash', '-o'], undefined],
  ['shell', ['bash', '-O', 'extdebug', 'script.sh'], undefined],
  ['shell', ['bash', '-'], undefined],
  ['shell', ['-bash', 'script.sh'], undefined],
  ['shell', ['sh', '+'], undefined],
  ['perl', ['perl', '-le', 'print 1'], undefined],
  ['perl', ['perl', '-e', 'x', 'tool.pl'], undefined],
  ['perl', ['perl', '-E', 'x'], undefined],
  ['perl', ['perl', '-Mstrict;system("id")', 'tool.pl'], undefined],
  ['perl', ['perl', '-M', 'Evil', 'tool.pl'], undefined],
  ['perl', ['perl', '-I/tmp/evil', 'tool.pl'], undefined],
  ['perl', ['perl', '-d', 'tool.pl'], undefined],
  ['perl', ['perl', '-S', 'tool.pl'], undefined],
  ['perl', ['perl', '-x', 'tool.pl'], undefined],
  ['perl', ['perl', '-i.bak', 'tool.pl'], undefined],
  ['perl', ['perl', '-F/(?{1})/', 'tool.pl'], undefined],
  ['ruby', ['ruby', '-e', 'p 1'], undefined],
  ['ruby', ['ruby', '-r', 'evil', 'tool.rb'], undefined],
  ['ruby', ['ruby', '-revil', 'tool.rb'], undefined],
  ['ruby', ['ruby', '-I', '/tmp', 'tool.rb'], undefined],
  ['ruby', ['ruby', '-C', '/tmp', 'tool.rb'], undefined],
  ['ruby', ['ruby', '-S', 'tool.rb'], undefined],
  ['ruby', ['ruby', '--disable', 'gems', 'tool.rb'], undefined],
  ['ruby', ['ruby', '--enable=jit', 'tool.rb'], undefined],
  ['php', ['php', 'index.php'], undefined],
  ['lua', ['lua', 'x.lua'], undefined],
  ['tcl', ['tclsh', 'x.tcl'], undefined],
];

test('ordinary command lines: the script is found', (t) => {
  for (const [family, argv, want] of FOUND) t.is(scriptArgument(argv, family), want, argv.join(' '));
});

test('code, modules, stdin, unknown options or forms on the command line: no script', (t) => {
  for (const [family, argv, want] of NONE) t.is(scriptArgument(argv, family), want, argv.join(' '));
});
