import { describe, expect, it } from 'vitest';
import { parseImageReference } from './images.js';

describe('parseImageReference', () => {
  it('accepts registry, path, tag and digest forms, trimmed', () => {
    expect(parseImageReference('elyra/kernel-py:3.2.3')).toBe('elyra/kernel-py:3.2.3');
    expect(parseImageReference(' registry.example.com:5000/team/my-R-image:dev ')).toBe('registry.example.com:5000/team/my-R-image:dev');
    expect(parseImageReference('img@sha256:0123abcd')).toBe('img@sha256:0123abcd');
  });
  it('refuses empty, spaced, quoted, shell-ish and overlong references, naming the option', () => {
    for (const raw of ['', '   ', 'foo bar', 'foo"; rm -rf /', '-img', 'im\tg', `a${'b'.repeat(512)}`, 42]) {
      expect(() => parseImageReference(raw, '--image-name', { kind: 'flag', name: 'image-name' })).toThrow(
        /for --image-name \(from command-line flag --image-name\): expected a container image reference such as elyra\/kernel-py:3\.2\.3/,
      );
    }
  });
});
