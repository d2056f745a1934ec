import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MessageSigner, WIRE_DELIMITER, WireProtocolError, createMessageHeader, deserializeMessage, serializeMessage } from './wire.js';

const KEY = 'a0436f6c-1916-498b-8eb9-e81ab9368e84';

function message() {
  return {
    header: createMessageHeader('execute_request', 'session-1', 'alice'),
    parent_header: {},
    metadata: { cellId: 'c1' },
    content: { code: '1+1', silent: false },
  };
}

describe('MessageSigner', () => {
  it('signs the JSON frames with HMAC-SHA256 of the key, as Jupyter does', () => {
    const parts = ['{"a":1}', '{}', '{}', '{"b":2}'];
    const expected = createHmac('sha256', KEY).update(parts.join('')).digest('hex');
    expect(new MessageSigner(KEY).sign(parts)).toBe(expected);
    expect(new MessageSigner(KEY).verify(expected, parts)).toBe(true);
    expect(new MessageSigner(KEY).verify(expected, [...parts.slice(0, 3), '{"b":3}'])).toBe(false);
    expect(new MessageSigner('other').verify(expected, parts)).toBe(false);
  });

  it('supports the other hmac schemes and rejects unknown ones by name', () => {
    expect(new MessageSigner(KEY, 'hmac-sha512').sign(['x'])).toHaveLength(128);
    expect(() => new MessageSigner(KEY, 'rsa-sha256')).toThrow(/Unsupported signature scheme 'rsa-sha256': expected one of hmac-sha256/);
  });

  it('with an empty key signs nothing and accepts anything (unsigned sessions)', () => {
    const signer = new MessageSigner('');
    expect(signer.enabled).toBe(false);
    expect(signer.sign(['x'])).toBe('');
    expect(signer.verify('whatever', ['x'])).toBe(true);
  });
});

describe('serializeMessage / deserializeMessage', () => {
  const signer = new MessageSigner(KEY);

  it('round-trips a message with identities and buffers', () => {
    const msg = { ...message(), buffers: [Buffer.from([1, 2, 3])] };
    const identity = Buffer.from('client-identity');
    const frames = serializeMessage(msg, signer, [identity]);
    expect(frames[0]).toEqual(identity);
    expect(frames[1]).toEqual(WIRE_DELIMITER);
    expect(frames).toHaveLength(8);
    const { identities, message: back } = deserializeMessage(frames, signer);
    expect(identities).toEqual([identity]);
    expect(back.header).toEqual(msg.header);
    expect(back.metadata).toEqual({ cellId: 'c1' });
    expect(back.content).toEqual({ code: '1+1', silent: false });
    expect(back.buffers).toEqual([Buffer.from([1, 2, 3])]);
  });

  it('rejects a message whose content was changed after signing', () => {
    const frames = serializeMessage(message(), signer);
    frames[5] = Buffer.from('{"code":"import os"}');
    expect(() => deserializeMessage(frames, signer)).toThrow(expect.objectContaining({ code: 'GP_WIRE_BAD_SIGNATURE' }));
  });

  it('rejects a message signed with another key', () => {
    const frames = serializeMessage(message(), new MessageSigner('another-key'));
    expect(() => deserializeMessage(frames, signer)).toThrow(WireProtocolError);
  });

  it('rejects frames without the delimiter or with too few parts', () => {
    expect(() => deserializeMessage([Buffer.from('x')], signer)).toThrow(/without the <IDS\|MSG> delimiter/);
    const frames = serializeMessage(message(), signer).slice(0, 4);
    expect(() => deserializeMessage(frames, signer)).toThrow(/needs 5 frames after the delimiter, got 3/);
  });

  it('rejects a correctly signed header that is not a message header', () => {
    const parts = ['[]', '{}', '{}', '{}'];
    const frames = [WIRE_DELIMITER, Buffer.from(signer.sign(parts)), ...parts.map((p) => Buffer.from(p))];
    expect(() => deserializeMessage(frames, signer)).toThrow(expect.objectContaining({ code: 'GP_WIRE_MALFORMED' }));
  });
});
