// Test helper: a round-robin TCP relay in front of gateway replicas, as a Service would be. A backend that
// refuses the connection (dead) is skipped; each relayed connection remembers its backend and first bytes.
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';

export interface RelayedConnection {
  backend: number;
  /** The start of what the client sent (its request line). */
  head: string;
  client: Socket;
  upstream: Socket;
}

export class RoundRobinRelay {
  readonly connections = new Set<RelayedConnection>();
  private next = 0;
  private constructor(
    private readonly server: Server,
    readonly ports: number[],
  ) {}

  static async start(ports: number[]): Promise<RoundRobinRelay> {
    const server = createServer();
    const relay = new RoundRobinRelay(server, ports);
    server.on('connection', (client) => relay.route(client));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return relay;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Relayed connections open now whose request line matches. */
  open(match: RegExp): RelayedConnection[] {
    return [...this.connections].filter((c) => match.test(c.head));
  }

  private route(client: Socket): void {
    const early: Buffer[] = [];
    const buffer = (d: Buffer): void => void early.push(d);
    client.on('data', buffer);
    client.on('error', () => undefined);
    const first = this.next++;
    const attempt = (tries: number): void => {
      if (tries >= this.ports.length) {
        client.destroy();
        return;
      }
      const backend = (first + tries) % this.ports.length;
      const upstream = connect(this.ports[backend]!, '127.0.0.1');
      let connected = false;
      upstream.once('error', () => {
        if (!connected) attempt(tries + 1);
      });
      upstream.once('connect', () => {
        connected = true;
        upstream.on('error', () => undefined);
        const conn: RelayedConnection = { backend, head: Buffer.concat(early).toString('latin1', 0, 300), client, upstream };
        if (!conn.head) client.once('data', (d: Buffer) => (conn.head = d.toString('latin1', 0, 300)));
        this.connections.add(conn);
        client.off('data', buffer);
        for (const chunk of early) upstream.write(chunk);
        client.pipe(upstream);
        upstream.pipe(client);
        const end = (): void => {
          this.connections.delete(conn);
          client.destroy();
          upstream.destroy();
        };
        client.once('close', end);
        upstream.once('close', end);
      });
    };
    attempt(0);
  }

  async close(): Promise<void> {
    for (const c of this.connections) {
      c.client.destroy();
      c.upstream.destroy();
    }
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
