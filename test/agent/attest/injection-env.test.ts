import test from 'ava';
import { injectionReason, injectionVariables } from '../../../agent/attest/injection-env.js';

test('code-injection variables are found by name, sorted and distinct, even with an empty value', (t) => {
  t.deepEqual(injectionVariables([
    'PATH=/usr/bin', 'NODE_OPTIONS=--require ./evil.js', 'HOME=/root', 'LD_PRELOAD=', 'LD_PRELOAD=/tmp/x.so', 'PYTHONPATH=/tmp',
  ]), ['LD_PRELOAD', 'NODE_OPTIONS', 'PYTHONPATH']);
});

test('every variable the issue names is on the list, and the LD_*, BASH_FUNC_* and Lua prefixes count', (t) => {
  const names = [
    'NODE_OPTIONS', 'LD_PRELOAD', 'LD_LIBRARY_PATH', 'LD_AUDIT', 'PYTHONPATH', 'PYTHONSTARTUP', 'PYTHONHOME', 'PERL5OPT',
    'PERL5LIB', 'RUBYOPT', 'BASH_ENV', 'ENV', 'JAVA_TOOL_OPTIONS', '_JAVA_OPTIONS', 'JDK_JAVA_OPTIONS', 'GCONV_PATH',
    'LD_BIND_NOW', 'LD_SOMETHING_NEW', 'BASH_FUNC_ls%%', 'LUA_INIT_5_4', 'LUA_PATH', 'PS4', 'SHELLOPTS', 'OPENSSL_CONF',
    'PYTHONINSPECT', 'PYTHONUSERBASE', 'PYTHONPYCACHEPREFIX', 'NODE_PATH', 'NODE_COMPILE_CACHE', 'ZDOTDIR',
  ];
  for (const name of names) t.truthy(injectionReason(name), name);
  t.deepEqual(injectionVariables(names.map((n) => `${n}=1`)), [...names].sort());
});

test('ordinary variables, look-alikes and prototype names are not injection variables', (t) => {
  const env = [
    'PATH=/usr/bin', 'HOME=/root', 'LANG=C.UTF-8', 'NODE_ENV=production', 'NODE_EXTRA_CA_CERTS=/etc/ca.pem',
    'PYTHONUNBUFFERED=1', 'PYTHONDONTWRITEBYTECODE=1', 'TZ=UTC', 'node_options=x', 'XLD_PRELOAD=x', 'LD=ld',
    'constructor=x', '__proto__=x', 'toString=x', 'hasOwnProperty=x', '=x', '',
  ];
  t.deepEqual(injectionVariables(env), []);
  t.is(injectionReason('constructor'), undefined);
});

test('an entry without "=" counts by its whole text', (t) => {
  t.deepEqual(injectionVariables(['LD_PRELOAD', 'NODE_OPTIONS']), ['LD_PRELOAD', 'NODE_OPTIONS']);
});
