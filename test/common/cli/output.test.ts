import test from 'ava';
import { parse } from 'yaml';
import { render, type View } from '../../../common/cli/output.js';

interface Row { id: string; host: string; nkey: string }

const view = (items: Row[], extra: Partial<View<Row>> = {}): View<Row> => ({
  items, apiVersion: 'sigil.dev/v1', empty: 'No agents.', name: (r) => `agent/${r.id}`,
  columns: [{ header: 'ID', value: (r) => r.id }, { header: 'HOST', value: (r) => r.host }, { header: 'NKEY', value: (r) => r.nkey, wide: true }],
  ...extra,
});
const ROWS: Row[] = [{ id: 'a1', host: 'web-1', nkey: 'UA' }, { id: 'a22', host: 'db', nkey: 'UB' }];

test('table: aligned columns without the wide ones; wide: all of them', (t) => {
  t.is(render('table', view(ROWS)), 'ID    HOST\na1    web-1\na22   db\n');
  t.is(render('wide', view(ROWS)), 'ID    HOST    NKEY\na1    web-1   UA\na22   db      UB\n');
  t.is(render('table', view([])), 'No agents.\n');
  t.is(render('table', view(ROWS, { heading: ['current revision 3'] })).split('\n')[0], 'current revision 3');
});

test('json and yaml: a List with items (kubectl\'s shape), or the document given; name: kind/name lines', (t) => {
  t.deepEqual(JSON.parse(render('json', view(ROWS))), { apiVersion: 'sigil.dev/v1', kind: 'List', items: ROWS });
  t.deepEqual(parse(render('yaml', view(ROWS))), { apiVersion: 'sigil.dev/v1', kind: 'List', items: ROWS });
  t.deepEqual(JSON.parse(render('json', view(ROWS, { document: { currentRevision: 3 } }))), { currentRevision: 3 });
  t.is(render('name', view(ROWS)), 'agent/a1\nagent/a22\n');
  t.is(render('name', view([])), '');
});
