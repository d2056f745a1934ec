import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { ConnectionSlots, isOriginAllowed, isRefusal, type Slot } from './ws-admission.js';

function req(headers: Record<string, string>): IncomingMessage {
  return { headers } as IncomingMessage;
}

describe('isOriginAllowed (Jupyter Server\'s allow_origin rules)', () => {
  const host = { host: 'gw.example:8888' };

  it('allows clients sending no Origin (server-side clients), and same-origin requests', () => {
    expect(isOriginAllowed(req(host), [])).toBe(true);
    expect(isOriginAllowed(req({ ...host, origin: 'http://gw.example:8888' }), [])).toBe(true);
    expect(isOriginAllowed(req({ ...host, origin: 'HTTP://GW.EXAMPLE:8888' }), [])).toBe(true);
  });

  it('refuses any other Origin unless listed exactly, or unless * is listed', () => {
    expect(isOriginAllowed(req({ ...host, origin: 'https://evil.example' }), [])).toBe(false);
    expect(isOriginAllowed(req({ ...host, origin: 'https://evil.example' }), ['https://lab.example'])).toBe(false);
    expect(isOriginAllowed(req({ ...host, origin: 'https://lab.example.evil' }), ['https://lab.example'])).toBe(false);
    expect(isOriginAllowed(req({ ...host, origin: 'https://lab.example' }), ['https://lab.example'])).toBe(true);
    expect(isOriginAllowed(req({ ...host, origin: 'null' }), [])).toBe(false);
    expect(isOriginAllowed(req({ ...host, origin: 'https://evil.example' }), ['*'])).toBe(true);
  });
});

describe('ConnectionSlots', () => {
  it('refuses past the per-kernel and the total cap, naming the option, and counts released slots back', () => {
    const slots = new ConnectionSlots(2, 3);
    const a1 = slots.take('a') as Slot;
    const a2 = slots.take('a') as Slot;
    const a3 = slots.take('a');
    expect(isRefusal(a3) && a3).toMatchObject({ status: 503, code: 'GP_TOO_MANY_KERNEL_CONNECTIONS', message: expect.stringContaining('--ws-max-connections-per-kernel=2') });
    const b1 = slots.take('b') as Slot;
    const b2 = slots.take('b');
    expect(isRefusal(b2) && b2).toMatchObject({ status: 503, code: 'GP_TOO_MANY_CONNECTIONS', message: expect.stringContaining('--ws-max-connections=3') });
    a1.release();
    a1.release(); // idempotent
    expect(slots.count).toBe(2);
    expect(slots.countFor('a')).toBe(1);
    expect(isRefusal(slots.take('b'))).toBe(false);
    a2.release();
    b1.release();
    expect(slots.countFor('a')).toBe(0);
  });
});
