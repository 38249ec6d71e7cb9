/**
 * Environment variables that make a program run code (or options that run code) that is not the
 * program an identity pins: present at exec, they make the process unbound unless its identity says
 * `env:allow:<NAME>` (docs/architecture.md "Attestation"; docs/threat-model.md). A variable counts when its name is
 * present, whatever its value, even empty: "empty means off" is each reader's own rule, not ours to
 * trust.
 *
 * The list is for code loaded at start-up by the dynamic loader, libc, the interpreters whose scripts
 * Sigil attests (agent/attest/interpreter.ts), and OpenSSL (linked into node and most clients). It is not
 * every plug-in variable of every library (e.g. GTK_MODULES, QT_PLUGIN_PATH), nor PATH and HOME, which
 * every process has: see the threat model for what remains.
 */

/** Exact names, each with why it injects code. */
const NAMES: Readonly<Record<string, string>> = {
  // glibc (not LD_*)
  GCONV_PATH: 'iconv loads gconv modules (shared objects) from it',
  GLIBC_TUNABLES: 'parsed by ld.so before main (CVE-2023-4911) and changes security features',
  // OpenSSL
  OPENSSL_CONF: 'an OpenSSL config can load providers and engines (shared objects); node reads it too',
  OPENSSL_MODULES: 'where OpenSSL loads providers from',
  OPENSSL_ENGINES: 'where OpenSSL loads engines from',
  // Node.js
  NODE_OPTIONS: 'node options, e.g. --require/--import of any module',
  NODE_PATH: 'extra module directories for require()',
  NODE_REPL_EXTERNAL_MODULE: 'node runs this module instead of the REPL',
  NODE_COMPILE_CACHE: 'a directory of compiled code that node loads in place of compiling the source',
  // Python
  PYTHONPATH: 'module directories searched before the standard ones',
  PYTHONHOME: 'where the standard library (and site.py) is loaded from',
  PYTHONSTARTUP: 'a file run before an interactive prompt',
  PYTHONINSPECT: 'an interactive prompt (code from stdin) after the script',
  PYTHONUSERBASE: 'the user site directory, whose .pth files run code at start-up',
  PYTHONPLATLIBDIR: 'changes where the standard library is loaded from',
  PYTHONPYCACHEPREFIX: 'a directory of bytecode that python loads in place of compiling the source',
  // Perl
  PERL5OPT: 'perl switches, e.g. -M of any module',
  PERL5LIB: 'module directories searched first',
  PERLLIB: 'module directories searched first',
  PERL5DB: 'debugger code',
  // Ruby
  RUBYOPT: 'ruby switches, e.g. -r of any library',
  RUBYLIB: 'library directories searched first',
  RUBYPATH: 'where ruby -S looks for the script',
  GEM_HOME: 'rubygems loads plug-ins from the gem directories at start-up',
  GEM_PATH: 'rubygems loads plug-ins from the gem directories at start-up',
  BUNDLE_GEMFILE: 'a Gemfile is Ruby code that bundler/setup evaluates',
  // Shells
  BASH_ENV: 'bash runs this file before a script',
  ENV: 'sh/dash (and bash in POSIX mode) run this file when interactive',
  SHELLOPTS: 'bash options at start-up: with xtrace, PS4 is expanded (and runs $(...)) on every command',
  BASHOPTS: 'bash shopt options at start-up',
  PS4: 'expanded, command substitutions included, for every traced command',
  CDPATH: 'cd in a script may enter another directory, whose files the script then sources or runs',
  ZDOTDIR: 'zsh runs .zshenv from it even for scripts',
  // Java
  JAVA_TOOL_OPTIONS: 'JVM options, e.g. -javaagent',
  _JAVA_OPTIONS: 'JVM options, e.g. -javaagent',
  JDK_JAVA_OPTIONS: 'java launcher options, e.g. -javaagent',
  CLASSPATH: 'where classes are loaded from',
  // PHP, Lua, Tcl
  PHPRC: 'a php.ini, e.g. auto_prepend_file',
  PHP_INI_SCAN_DIR: 'more php.ini files, e.g. auto_prepend_file',
  LUA_INIT: 'Lua code run before the script',
  LUA_PATH: 'Lua module directories',
  LUA_CPATH: 'Lua C module (shared object) directories',
  TCLLIBPATH: 'Tcl package directories',
  TCL_LIBRARY: 'where Tcl loads init.tcl from',
};

/** Name prefixes, each with why. */
const PREFIXES: ReadonlyArray<[string, string]> = [
  // LD_PRELOAD, LD_LIBRARY_PATH, LD_AUDIT and the rest of ld.so's variables: all of them, so a new or
  // obscure one is covered without a list to keep up to date.
  ['LD_', "the dynamic loader's variables (LD_PRELOAD, LD_LIBRARY_PATH, LD_AUDIT, ...)"],
  // bash imports `BASH_FUNC_<name>%%=() {...}` as functions, which replace commands the script runs.
  ['BASH_FUNC_', 'exported bash functions, which replace the commands a script runs'],
  // LUA_INIT_5_4, LUA_PATH_5_4, LUA_CPATH_5_4: the versioned forms of the Lua variables.
  ['LUA_INIT_', 'Lua code run before the script'],
  ['LUA_PATH_', 'Lua module directories'],
  ['LUA_CPATH_', 'Lua C module directories'],
];

/** Why a variable injects code, or undefined when it is not on the list. */
export function injectionReason(name: string): string | undefined {
  // hasOwn: a name like `constructor` must not find Object.prototype's.
  if (Object.hasOwn(NAMES, name)) return NAMES[name];
  return PREFIXES.find(([prefix]) => name.startsWith(prefix))?.[1];
}

/**
 * The code-injection variables in an environment given as `NAME=value` strings (as execve passes it),
 * sorted and distinct. An entry without `=` counts by its whole text: what a reader makes of it is not
 * ours to guess.
 */
export function injectionVariables(env: readonly string[]): string[] {
  const found = new Set<string>();
  for (const entry of env) {
    const eq = entry.indexOf('=');
    const name = eq === -1 ? entry : entry.slice(0, eq);
    if (injectionReason(name) !== undefined) found.add(name);
  }
  return [...found].sort();
}
