// A TCP proxy in front of a server, for tests that cut connections the way a
// network does (no close frame, no disconnect push):
//
//   const proxy = await startProxy(gyre.port);
//   ... clients connect to 127.0.0.1:proxy.port ...
//   proxy.dropAll();           // reset every proxied connection now
//   await proxy.close();
import net from 'node:net';

export async function startProxy(targetPort, targetHost = '127.0.0.1') {
  const pairs = new Set();
  const server = net.createServer((down) => {
    const up = net.connect({ port: targetPort, host: targetHost });
    const pair = { down, up };
    pairs.add(pair);
    const end = () => {
      pairs.delete(pair);
      down.destroy();
      up.destroy();
    };
    down.on('error', end).on('close', end);
    up.on('error', end).on('close', end);
    down.pipe(up);
    up.pipe(down);
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return {
    port: server.address().port,
    get connections() {
      return pairs.size;
    },
    dropAll() {
      for (const { down, up } of pairs) {
        down.resetAndDestroy();
        up.resetAndDestroy();
      }
      pairs.clear();
    },
    close() {
      this.dropAll();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
