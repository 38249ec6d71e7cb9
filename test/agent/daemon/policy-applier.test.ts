import test from 'ava';
import type { BindingSpec } from '../../../protocol/bindings.js';
import { destinationSpecs } from '../../../agent/daemon/policy-applier.js';

const binding = (id: string, destinations: string[], unboundAccess?: 'allow' | 'deny'): BindingSpec => ({
  id, spiffeId: `spiffe://example.org/${id}`, workload: id, selectors: ['unix:uid:1001'], destinations, ttlSeconds: 900, source: 'oci',
  ...(unboundAccess ? { unboundAccess } : {}),
});

test('a hostname is locked (deny) when any binding reaching it says unboundAccess: deny', (t) => {
  const specs = destinationSpecs([
    binding('a', ['objectstorage.us-ashburn-1.oraclecloud.com'], 'deny'),
    binding('b', ['objectstorage.us-ashburn-1.oraclecloud.com', 'iaas.us-ashburn-1.oraclecloud.com'], 'allow'),
    binding('c', ['Telemetry.us-ashburn-1.oraclecloud.com']),
  ]);
  t.deepEqual(specs, [
    { hostname: 'iaas.us-ashburn-1.oraclecloud.com', port: 443 },
    { hostname: 'objectstorage.us-ashburn-1.oraclecloud.com', port: 443, deny: true },
    { hostname: 'telemetry.us-ashburn-1.oraclecloud.com', port: 443 },
  ]);
});

test('without unboundAccess nothing is locked (behaviour as before)', (t) => {
  t.true(destinationSpecs([binding('a', ['objectstorage.us-ashburn-1.oraclecloud.com'])]).every((s) => s.deny === undefined));
});
