import { describe, expect, it } from 'vitest';
import { ceilQuantity, compareQuantities, isWholeNumber, parseQuantity, toMebibytesCeil } from './quantity.js';

const q = (s: string) => {
  const r = parseQuantity(s);
  if (!r) throw new Error(`unparsable ${s}`);
  return r;
};

describe('parseQuantity', () => {
  it.each(['1', '0', '500m', '0.5', '1.5Gi', '2Gi', '128Mi', '1e3', '1E-3', '.5', '5.', '+1', '-1', '1k', '1Ki', '10E', '1.25e2'])(
    'accepts %s',
    (s) => expect(parseQuantity(s)).toBeDefined(),
  );
  it.each(['', ' 1', '1 ', '1gi', '1GB', 'abc', '1.2.3', '1Mi1', '--1', '1m1', 'e3', '.', '1KI', '1"\n', '0x10', '1 Gi', '∞'])(
    'rejects %j',
    (s) => expect(parseQuantity(s)).toBeUndefined(),
  );
  it('computes exact values', () => {
    expect(compareQuantities(q('500m'), q('0.5'))).toBe(0);
    expect(compareQuantities(q('1Ki'), q('1024'))).toBe(0);
    expect(compareQuantities(q('1.5Gi'), q('1536Mi'))).toBe(0);
    expect(compareQuantities(q('1k'), q('1e3'))).toBe(0);
    expect(compareQuantities(q('1Gi'), q('1G'))).toBe(1);
    expect(compareQuantities(q('999m'), q('1'))).toBe(-1);
    expect(compareQuantities(q('-1'), q('0'))).toBe(-1);
  });
  it('rounds cores up and converts memory to MiB', () => {
    expect(ceilQuantity(q('500m'))).toBe(1n);
    expect(ceilQuantity(q('2'))).toBe(2n);
    expect(ceilQuantity(q('2001m'))).toBe(3n);
    expect(toMebibytesCeil(q('2Gi'))).toBe(2048n);
    expect(toMebibytesCeil(q('1G'))).toBe(954n);
    expect(isWholeNumber(q('2'))).toBe(true);
    expect(isWholeNumber(q('1500m'))).toBe(false);
  });
});
