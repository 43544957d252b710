import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LinkProxy } from './link-proxy.js';

/** The torture run's link proxy against a local echo server: forward, cut, delay, restore. */

let echo: Server;
let echoPort = 0;

beforeAll(async () => {
  echo = createServer((socket) => socket.pipe(socket));
  echo.listen(0, '127.0.0.1');
  await once(echo, 'listening');
  const address = echo.address();
  echoPort = typeof address === 'object' && address !== null ? address.port : 0;
});

afterAll(async () => {
  await new Promise((resolve) => echo.close(resolve));
});

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Sends a line and resolves with the echo's delay (ms), or 'closed' / 'silent'. */
function roundTrip(socket: Socket, text: string, timeoutMs = 1500): Promise<number | string> {
  return new Promise((resolve) => {
    const started = performance.now();
    const timer = setTimeout(() => resolve('silent'), timeoutMs);
    socket.once('data', (data) => {
      clearTimeout(timer);
      resolve(data.toString() === text ? performance.now() - started : `wrong: ${data}`);
    });
    socket.once('close', () => {
      clearTimeout(timer);
      resolve('closed');
    });
    socket.on('error', () => {});
    socket.write(text);
  });
}

describe('torture link proxy', () => {
  it('forwards, cuts open connections, refuses or blackholes new ones, delays replies, restores', async () => {
    const proxy = new LinkProxy('test', { host: '127.0.0.1', port: echoPort });
    const port = await proxy.listen();
    try {
      const a = await open(port);
      expect(typeof (await roundTrip(a, 'one'))).toBe('number');

      proxy.cut('refuse');
      expect(await roundTrip(a, 'two')).toBe('closed');
      // Refused: reset at once (the connect itself may already fail).
      const refused = await open(port).then(
        (socket) => roundTrip(socket, 'three'),
        (error: NodeJS.ErrnoException) => (error.code === 'ECONNRESET' ? 'closed' : error.code),
      );
      expect(refused).toBe('closed');

      proxy.cut('blackhole');
      const held = await open(port);
      expect(await roundTrip(held, 'four', 300)).toBe('silent');
      proxy.restore();
      expect(await new Promise((resolve) => held.once('close', () => resolve('closed')))).toBe(
        'closed',
      );

      const b = await open(port);
      proxy.delay(200);
      const slow = await roundTrip(b, 'five');
      expect(slow).toBeGreaterThanOrEqual(190);
      proxy.restore();
      const fast = await roundTrip(b, 'six');
      expect(fast).toBeLessThan(150);
      b.destroy();
      a.destroy();
    } finally {
      await proxy.close();
    }
  });

  it('keeps replies in order when the delay shrinks midway', async () => {
    const proxy = new LinkProxy('order', { host: '127.0.0.1', port: echoPort });
    const port = await proxy.listen();
    try {
      const socket = await open(port);
      let received = '';
      socket.on('data', (data) => {
        received += data.toString();
      });
      proxy.delay(300);
      socket.write('a');
      await new Promise((resolve) => setTimeout(resolve, 50));
      proxy.delay(0);
      socket.write('b');
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(received).toBe('ab');
      socket.destroy();
    } finally {
      await proxy.close();
    }
  });
});
