import test from 'ava';
import { interpreterFamily, scriptArgument } from '../../../agent/attest/interpreter.js';

test('interpreters are known by exe basename', (t) => {
  t.is(interpreterFamily('python3.11'), 'python');
  t.is(interpreterFamily('python3'), 'python');
  t.is(interpreterFamily('node'), 'node');
  t.is(interpreterFamily('dash'), 'shell');
  t.is(interpreterFamily('bash'), 'shell');
  t.is(interpreterFamily('perl5.36.0'), 'perl');
  t.is(interpreterFamily('ruby3.1'), 'ruby');
  t.is(interpreterFamily('sleep'), undefined);
  t.is(interpreterFamily('pythonic-tool'), undefined);
});

test('the script argument is found after options; none for code given inline', (t) => {
  const cases: Array<[string[], Parameters<typeof scriptArgument>[1], string | undefined]> = [
    [['python3', 'main.py', '--flag'], 'python', 'main.py'],
    [['python3', '-u', '-X', 'dev', '/opt/a.py'], 'python', '/opt/a.py'],
    [['python3', '-Xdev', 'a.py'], 'python', 'a.py'],
    [['python3', '-c', 'import x', 'a.py'], 'python', undefined],
    [['python3', '-m', 'http.server'], 'python', undefined],
    [['python3'], 'python', undefined],
    [['node', '--require', './hook.js', 'server.js'], 'node', 'server.js'],
    [['node', '--enable-source-maps', 'server.js'], 'node', 'server.js'],
    [['node', '-e', 'x'], 'node', undefined],
    [['/bin/sh', 'run.sh', 'arg'], 'shell', 'run.sh'],
    [['bash', '-o', 'pipefail', 'run.sh'], 'shell', 'run.sh'],
    [['sh', '-ec', 'echo hi', 'name'], 'shell', undefined],
    [['sh', '-e', 'run.sh'], 'shell', 'run.sh'],
    [['sh', '-s'], 'shell', undefined],
    [['perl', '-w', 'tool.pl'], 'perl', 'tool.pl'],
    [['perl', '-le', 'print 1'], 'perl', undefined],
    [['perl', '--', 'tool.pl'], 'perl', 'tool.pl'],
    [['ruby', '-e', 'p 1'], 'ruby', undefined],
  ];
  for (const [argv, family, want] of cases) t.is(scriptArgument(argv, family), want, argv.join(' '));
});
