import { describe, expect, it } from 'vitest';
import {
  isDns1123Label,
  isLabelValue,
  kernelResourceName,
  sanitizeDns1123,
  toDns1123Label,
  toLabelValue,
} from './names.js';

const KID = '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';

describe('kernelResourceName', () => {
  it('joins username and kernel id like the reference when short', () => {
    expect(kernelResourceName('alice', KID)).toBe(`alice-${KID}`);
  });
  it('lowercases and replaces uppercase, dots and other characters', () => {
    const n = kernelResourceName('John.Doe@Example.COM', KID);
    expect(n).toBe(`john-doe-example-com-${KID}`);
    expect(isDns1123Label(n)).toBe(true);
  });
  it.each([27, 30, 64, 200, 1000])('keeps a %i-character username within 63 characters', (len) => {
    const user = 'u'.repeat(len);
    const n = kernelResourceName(user, KID);
    expect(n.length).toBeLessThanOrEqual(63);
    expect(isDns1123Label(n)).toBe(true);
    expect(n.endsWith(KID)).toBe(true);
  });
  it('is deterministic and keeps long usernames sharing a prefix apart', () => {
    const a = 'a'.repeat(100) + 'x';
    const b = 'a'.repeat(100) + 'y';
    expect(kernelResourceName(a, KID)).toBe(kernelResourceName(a, KID));
    expect(kernelResourceName(a, KID)).not.toBe(kernelResourceName(b, KID));
  });
  it('still gives a label for usernames with no usable character', () => {
    expect(kernelResourceName('日本語', KID)).toBe(KID);
    expect(kernelResourceName('', KID)).toBe(KID);
  });
  it('handles an overlong kernel id', () => {
    const n = kernelResourceName('bob', 'k'.repeat(80));
    expect(n.length).toBeLessThanOrEqual(63);
    expect(isDns1123Label(n)).toBe(true);
  });
});

describe('toDns1123Label', () => {
  it('keeps valid labels and sanitizes the rest', () => {
    expect(toDns1123Label('my-pod')).toBe('my-pod');
    expect(toDns1123Label('--My_Pod..1--')).toBe('my-pod-1');
    expect(sanitizeDns1123('a\nb: {c}')).toBe('a-b-c');
  });
  it('cuts with a hash, distinct for distinct inputs', () => {
    const a = toDns1123Label('x'.repeat(70) + 'a');
    const b = toDns1123Label('x'.repeat(70) + 'b');
    expect(a.length).toBe(63);
    expect(isDns1123Label(a)).toBe(true);
    expect(a).not.toBe(b);
  });
});

describe('toLabelValue', () => {
  it('keeps valid values, fixes invalid ones uniquely', () => {
    expect(toLabelValue('Abc.def_1')).toBe('Abc.def_1');
    const v = toLabelValue('has space/slash');
    expect(isLabelValue(v)).toBe(true);
    expect(v).not.toBe(toLabelValue('has space-slash'));
    expect(isLabelValue(toLabelValue('z'.repeat(100)))).toBe(true);
    expect(isLabelValue(toLabelValue('!!!'))).toBe(true);
  });
});
