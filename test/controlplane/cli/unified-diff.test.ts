import test from 'ava';
import { unifiedDiff } from '../../../controlplane/cli/unified-diff.js';

test('no difference: nothing', (t) => {
  t.is(unifiedDiff('a', 'b', 'x\ny\n', 'x\ny\n'), '');
});

test('a changed line in the middle: one hunk with three lines of context, as diff -u prints it', (t) => {
  const before = ['1', '2', '3', '4', '5', '6', '7', '8', '9'].join('\n');
  const after = ['1', '2', '3', '4', 'five', '6', '7', '8', '9'].join('\n');
  t.is(unifiedDiff('live/x', 'merged/x', before, after), [
    '--- live/x', '+++ merged/x', '@@ -2,7 +2,7 @@', ' 2', ' 3', ' 4', '-5', '+five', ' 6', ' 7', ' 8', '',
  ].join('\n'));
});

test('all new (created): every line added, from an empty range', (t) => {
  t.is(unifiedDiff('live/x', 'merged/x', '', 'a\nb\n'), '--- live/x\n+++ merged/x\n@@ -0,0 +1,2 @@\n+a\n+b\n');
});

test('changes far apart are two hunks; close ones one', (t) => {
  const before = Array.from({ length: 20 }, (_, i) => `l${i}`);
  const far = [...before];
  far[1] = 'X';
  far[18] = 'Y';
  t.is(unifiedDiff('a', 'b', before.join('\n'), far.join('\n')).split('\n').filter((l) => l.startsWith('@@')).length, 2);
  const near = [...before];
  near[5] = 'X';
  near[9] = 'Y';
  t.deepEqual(unifiedDiff('a', 'b', before.join('\n'), near.join('\n')).split('\n').filter((l) => l.startsWith('@@')), ['@@ -3,11 +3,11 @@']);
});
