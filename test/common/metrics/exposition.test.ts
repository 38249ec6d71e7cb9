import test from 'ava';
import { renderExposition } from '../../../common/metrics/exposition.js';
import { parsePrometheusText, sampleValue } from '../../helpers/prometheus-text.js';

test('label values and help text with quotes, backslashes and newlines survive a strict parse', (t) => {
  const nasty = 'a "quoted" \\path\\ and\na newline';
  const text = renderExposition([
    { name: 'sigil_test_total', type: 'counter', help: `help with \\ and\nnewline`, samples: [{ labels: { reason: nasty }, value: 3 }, { labels: { reason: 'plain' }, value: 0 }] },
    { name: 'sigil_test_gauge', type: 'gauge', help: 'g', samples: [{ value: -1.5 }, { labels: { x: 'inf' }, value: Infinity }] },
  ]);
  const parsed = parsePrometheusText(text);
  t.is(parsed.get('sigil_test_total')?.help, 'help with \\ and\nnewline');
  t.is(parsed.get('sigil_test_total')?.type, 'counter');
  t.is(sampleValue(parsed, 'sigil_test_total', { reason: nasty }), 3);
  t.is(sampleValue(parsed, 'sigil_test_gauge'), -1.5);
  t.is(sampleValue(parsed, 'sigil_test_gauge', { x: 'inf' }), Infinity);
});

test('invalid metric and label names are refused at render time', (t) => {
  t.throws(() => renderExposition([{ name: 'bad-name', type: 'gauge', help: 'h', samples: [] }]), { instanceOf: TypeError });
  t.throws(() => renderExposition([{ name: 'ok', type: 'gauge', help: 'h', samples: [{ labels: { 'bad-label': 'x' }, value: 1 }] }]), { instanceOf: TypeError });
  t.throws(() => renderExposition([{ name: 'ok', type: 'gauge', help: 'h', samples: [{ labels: { __reserved: 'x' }, value: 1 }] }]), { instanceOf: TypeError });
  t.throws(() => renderExposition([{ name: 'ok', type: 'gauge', help: 'h', samples: [] }, { name: 'ok', type: 'gauge', help: 'h', samples: [] }]), { instanceOf: TypeError });
});

test('the test parser itself rejects malformed expositions (so passing it means something)', (t) => {
  const bad = [
    'x 1\n',                                              // no HELP/TYPE
    '# HELP x h\n# TYPE x gauge\nx{a="b} 1\n',            // unterminated label value
    '# HELP x h\n# TYPE x gauge\nx{a="\\q"} 1\n',         // bad escape
    '# HELP x h\n# TYPE x gauge\nx one\n',                // bad value
    '# HELP x h\n# TYPE x gauge\nx 1\nx 2\n',             // duplicate series
    '# HELP x h\n# TYPE x gauge\nx 1\n# HELP y h\n# TYPE y gauge\ny 1\nx{a="b"} 1\n', // split family
    '# HELP x h\n# TYPE x counter\nx -1\n',               // negative counter
    '# HELP x h\n# TYPE x gauge\nx 1',                    // no final newline
  ];
  for (const text of bad) t.throws(() => parsePrometheusText(text), undefined, JSON.stringify(text));
});
