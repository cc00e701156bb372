import net from "node:net";

/**
 * A TCP forwarder to put in front of Redis in tests. `hang()` keeps connections open but stops
 * forwarding (a stuck or overloaded Redis: commands time out), `resume()` forwards again.
 */
export class TcpProxy {
  private readonly sockets = new Set<net.Socket>();
  private hanging = false;
  private constructor(private readonly server: net.Server, readonly port: number) {}

  static async start(upstreamHost: string, upstreamPort: number): Promise<TcpProxy> {
    let proxy: TcpProxy | undefined;
    const server = net.createServer((client) => {
      const upstream = net.connect(upstreamPort, upstreamHost);
      for (const s of [client, upstream]) {
        proxy!.sockets.add(s);
        s.on("close", () => proxy!.sockets.delete(s));
        s.on("error", () => s.destroy());
      }
      client.on("close", () => upstream.destroy());
      upstream.on("close", () => client.destroy());
      client.on("data", (d) => {
        if (!proxy!.hanging) upstream.write(d);
      });
      upstream.on("data", (d) => {
        if (!proxy!.hanging) client.write(d);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    proxy = new TcpProxy(server, (server.address() as net.AddressInfo).port);
    return proxy;
  }

  hang(): void {
    this.hanging = true;
  }

  /** Forward again; connections that hung are cut so clients reconnect with a clean protocol state. */
  resume(): void {
    this.hanging = false;
    for (const s of this.sockets) s.destroy();
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
