/**
 * A round-robin TCP proxy on 127.0.0.1, in the bench's process: the public URL several sidecar replicas
 * share (SIDECAR_PUBLIC_URL), as a load balancer in front of them would be. Each connection goes to the
 * next backend; Google's push messages (and the emulator's) close their connection after each message
 * (`Connection: close`), so the notifications spread over the replicas one by one. It costs a loopback
 * hop per connection. The backends may be set after the proxy listens (their ports come at spawn).
 */
import { once } from 'node:events';
import net from 'node:net';

export class RoundRobinProxy {
  private backends: number[] = [];
  private next = 0;
  private readonly sockets = new Set<net.Socket>();
  /** Connections handed to each backend so far, in the order of `setBackends`. */
  connections: number[] = [];

  private constructor(
    private readonly server: net.Server,
    readonly url: string,
  ) {}

  static async start(): Promise<RoundRobinProxy> {
    const server = net.createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as net.AddressInfo).port;
    const proxy = new RoundRobinProxy(server, `http://127.0.0.1:${port}`);
    server.on('connection', (socket) => proxy.accept(socket));
    return proxy;
  }

  /** The backends' URLs (`http://127.0.0.1:PORT`); counts start again from zero. */
  setBackends(urls: readonly string[]): void {
    this.backends = urls.map((url) => Number(new URL(url).port));
    this.connections = this.backends.map(() => 0);
    this.next = 0;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    this.server.close();
    await once(this.server, 'close').catch(() => {});
  }

  private accept(client: net.Socket): void {
    this.track(client);
    if (this.backends.length === 0) {
      client.destroy();
      return;
    }
    const index = this.next++ % this.backends.length;
    this.connections[index] = (this.connections[index] ?? 0) + 1;
    const upstream = net.connect(this.backends[index] as number, '127.0.0.1');
    this.track(upstream);
    client.pipe(upstream).pipe(client);
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close);
    upstream.on('error', close);
    client.on('close', close);
    upstream.on('close', close);
  }

  private track(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
  }
}
