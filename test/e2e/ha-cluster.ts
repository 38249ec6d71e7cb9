/**
 * The parts of an HA installation as separate processes, for failover tests: the NATS cluster as
 * `init-nats --cluster` writes it and control-plane replicas (`sigil-controlplane run`), each a
 * Restartable that can be killed with SIGKILL (by its pid) and started again on the same config and
 * state. The cluster and process parts live in bench/nats-cluster.ts, shared with the HA benchmark.
 */
export {
  Restartable, SERVER_MAIN, adminConnection, httpStatus, initNatsCluster, leaderOf, metaLeader, stepDownMetaLeader, streamLeader,
  type ClusterNode, type NatsCluster,
} from '../../bench/nats-cluster.js';

/**
 * The load balancer in front of the replicas' API (the issuer URL OCI IAM fetches the JWKS from):
 * each connection goes to the first backend that accepts it.
 */
export async function startTcpBalancer(listen: { host: string; port: number }, backends: Array<{ host: string; port: number }>): Promise<{ close(): Promise<void> }> {
  const { createServer, connect } = await import('node:net');
  const sockets = new Set<import('node:net').Socket>();
  const server = createServer((client) => {
    sockets.add(client);
    client.once('close', () => sockets.delete(client));
    client.pause();
    const tryBackend = (i: number): void => {
      const b = backends[i];
      if (!b) return void client.destroy();
      const upstream = connect(b.port, b.host);
      upstream.once('error', () => { upstream.destroy(); tryBackend(i + 1); });
      upstream.once('connect', () => {
        upstream.removeAllListeners('error');
        sockets.add(upstream);
        upstream.once('close', () => sockets.delete(upstream));
        upstream.on('error', () => client.destroy());
        client.on('error', () => upstream.destroy());
        client.pipe(upstream).pipe(client);
        client.resume();
      });
    };
    tryBackend(0);
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(listen.port, listen.host, () => resolve()));
  return {
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}
