/**
 * A loopback TCP proxy that hands the server one byte at a time, so every possible split of the
 * stream into reads happens somewhere. Real networks (and a busy machine) split requests at arbitrary
 * byte offsets; a server that decodes each read on its own — Azurite 3.35's table request reader does —
 * corrupts any character whose bytes land in two reads.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';

export interface RechunkingProxy {
  /** http://127.0.0.1:<port>: the target's origin as seen through the proxy */
  origin: string;
  /** bytes that went through, client to server */
  forwarded(): number;
  close(): Promise<void>;
}

// After the lead byte of a multi-byte UTF-8 sequence the proxy waits this long, so the rest of that
// character reaches the server in a later read even when the server process is slow to be scheduled;
// without the pause a busy server could read several one-byte segments at once and hide the hazard.
const PAUSE_INSIDE_CHARACTER_MS = 3;

export async function startRechunkingProxy(target: { host: '127.0.0.1'; port: number }): Promise<RechunkingProxy> {
  const sockets = new Set<Socket>();
  let forwarded = 0;
  const server: Server = createServer((client) => {
    const upstream = connect({ host: target.host, port: target.port });
    for (const socket of [client, upstream]) {
      // one write, one segment: no Nagle coalescing of the single bytes
      socket.setNoDelay(true);
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    trickle(client, upstream, (n) => (forwarded += n));
    trickle(upstream, client, () => undefined);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy has no TCP address');
  return {
    origin: `http://127.0.0.1:${address.port}`,
    forwarded: () => forwarded,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Copies `from` to `to` one byte per write, in order, keeping to `to`'s back-pressure. */
function trickle(from: Socket, to: Socket, count: (bytes: number) => void): void {
  const pending: Buffer[] = [];
  let pumping = false;
  let ended = false;
  const pump = async (): Promise<void> => {
    pumping = true;
    try {
      while (pending.length > 0) {
        const chunk = pending.shift() as Buffer;
        for (let i = 0; i < chunk.length; i++) {
          if (to.destroyed) return;
          const byte = chunk[i] as number;
          const flushed = to.write(chunk.subarray(i, i + 1));
          count(1);
          if (!flushed) await new Promise((resolve) => to.once('drain', resolve));
          if (byte >= 0xc0) await sleep(PAUSE_INSIDE_CHARACTER_MS);
          else await nextTurn();
        }
      }
      if (ended) to.end();
    } finally {
      pumping = false;
    }
  };
  from.on('data', (chunk: Buffer) => {
    pending.push(chunk);
    if (!pumping) void pump();
  });
  from.on('end', () => {
    ended = true;
    if (!pumping) to.end();
  });
}
