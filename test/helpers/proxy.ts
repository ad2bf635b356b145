import net from 'node:net';

/** A TCP proxy on 127.0.0.1 in front of a server, whose connections a test can cut. */
export interface TcpProxy {
  readonly port: number;
  /** Connections open through the proxy now. */
  readonly open: () => number;
  /** Ends every connection at once and refuses new ones until {@link TcpProxy.restore}. */
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

/**
 * Starts a proxy that forwards each connection to `127.0.0.1:targetPort`: the network between two
 * servers (a subscription's connection to its publisher), with a switch to cut it.
 */
export async function startProxy(targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  let down = false;
  const server = net.createServer((client) => {
    if (down) {
      client.destroy();
      return;
    }
    const upstream = net.connect(targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    open: () => sockets.size / 2,
    cut: () => {
      down = true;
      for (const s of sockets) s.destroy();
    },
    restore: () => {
      down = false;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
