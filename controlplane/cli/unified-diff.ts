/**
 * A unified diff (`diff -u` shape) of two small texts, line by line: policy documents are tens of
 * lines, so a plain longest-common-subsequence table is enough.
 */
export function unifiedDiff(oldName: string, newName: string, before: string, after: string, context = 3): string {
  const a = lines(before);
  const b = lines(after);
  const edits = editScript(a, b);
  if (edits.every((e) => e.op === ' ')) return '';
  const out = [`--- ${oldName}`, `+++ ${newName}`];
  // Hunks: runs of changes with up to `context` unchanged lines around them (merged when close).
  let i = 0;
  while (i < edits.length) {
    if (edits[i]?.op === ' ') { i++; continue; }
    let start = Math.max(0, i - context);
    let end = i;
    for (;;) {
      while (end < edits.length && edits[end]?.op !== ' ') end++;
      let next = end;
      while (next < edits.length && edits[next]?.op === ' ') next++;
      if (next < edits.length && next - end <= 2 * context) { end = next; continue; }
      end = Math.min(edits.length, end + context);
      break;
    }
    const hunk = edits.slice(start, end);
    const first = edits[start] as Edit;
    const oldCount = hunk.filter((e) => e.op !== '+').length;
    const newCount = hunk.filter((e) => e.op !== '-').length;
    out.push(`@@ -${range(first.a, oldCount)} +${range(first.b, newCount)} @@`, ...hunk.map((e) => `${e.op}${e.text}`));
    i = end;
    start = end;
  }
  return `${out.join('\n')}\n`;
}

interface Edit {
  op: ' ' | '-' | '+';
  text: string;
  /** 0-based positions in a and b where this edit stands. */
  a: number;
  b: number;
}

function editScript(a: string[], b: string[]): Edit[] {
  // lcs[i][j]: length of the LCS of a[i..] and b[j..].
  const lcs = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      (lcs[i] as number[])[j] = a[i] === b[j] ? (lcs[i + 1]?.[j + 1] ?? 0) + 1 : Math.max(lcs[i + 1]?.[j] ?? 0, lcs[i]?.[j + 1] ?? 0);
    }
  }
  const edits: Edit[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) edits.push({ op: ' ', text: a[i++] as string, a: i - 1, b: j++ });
    // On a tie, the removal first: diff -u shows `-old` above `+new`.
    else if (i < a.length && (j >= b.length || (lcs[i + 1]?.[j] ?? 0) >= (lcs[i]?.[j + 1] ?? 0))) edits.push({ op: '-', text: a[i++] as string, a: i - 1, b: j });
    else edits.push({ op: '+', text: b[j++] as string, a: i, b: j - 1 });
  }
  return edits;
}

function lines(text: string): string[] {
  if (text === '') return [];
  return (text.endsWith('\n') ? text.slice(0, -1) : text).split('\n');
}

/** `start,count` with diff's 1-based start (an empty range names the line before it). */
function range(start: number, count: number): string {
  return count === 0 ? `${start},0` : `${start + 1},${count}`;
}
