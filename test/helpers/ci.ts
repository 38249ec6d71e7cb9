/**
 * CI detection and gated tests. Any non-empty `CI` is CI (GitHub sets `true`, others `1` or a name).
 * A test that needs something the machine lacks (root, BPF, python3, the built addon) is skipped
 * with a note elsewhere, and in CI fails with the reason instead: a green CI run has run it.
 *
 *   const pyTest = gatedTest(hasPython ? undefined : 'python3 not found', 'sd_notify receiver');
 *   pyTest.serial('...', async (t) => { ... });
 */
import test, { type ExecutionContext } from 'ava';

export const IN_CI = (process.env['CI'] ?? '') !== '';

type Impl = (t: ExecutionContext) => void | Promise<void>;

export interface GatedTest {
  (title: string, impl: Impl): void;
  serial(title: string, impl: Impl): void;
}

const noted = new Set<string>();

/** `test` when `missing` is undefined; otherwise a failing test in CI and a skipped one elsewhere. */
export function gatedTest(missing: string | undefined, what: string): GatedTest {
  if (missing === undefined) return test as unknown as GatedTest;
  if (IN_CI) {
    const failing = (register: (title: string, impl: Impl) => void) => (title: string): void => {
      register(title, (t) => {
        t.fail(`${what} cannot run: ${missing} (CI=${process.env['CI']}: a missing prerequisite fails, it is not skipped)`);
      });
    };
    return Object.assign(failing(test), { serial: failing(test.serial) });
  }
  if (!noted.has(what)) {
    noted.add(what);
    process.stderr.write(`${what} tests skipped: ${missing}\n`);
  }
  return Object.assign((title: string, impl: Impl) => test.skip(title, impl), { serial: (title: string, impl: Impl) => test.serial.skip(title, impl) });
}
