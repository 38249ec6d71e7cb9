import test from 'ava';
import { unmapV4 } from '../../common/addresses.js';

test('a v4-mapped address gives its IPv4 address; anything else gives nothing', (t) => {
  t.is(unmapV4('::ffff:10.0.0.1'), '10.0.0.1');
  t.is(unmapV4('::FFFF:127.83.73.71'), '127.83.73.71');
  t.is(unmapV4('10.0.0.1'), undefined);
  t.is(unmapV4('::1'), undefined);
  t.is(unmapV4('fd00::ffff:10.0.0.1'), undefined);
  t.is(unmapV4('::ffff:10.0.0.1x'), undefined);
});
