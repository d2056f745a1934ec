import { readFileSync } from 'node:fs';
import { inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { MissingResourceError, logoPath, templatePath } from './resources.js';
import type { TemplateName } from './spec.js';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function chunks(png: Buffer): { type: string; data: Buffer }[] {
  const out: { type: string; data: Buffer }[] = [];
  for (let o = 8; o < png.length; ) {
    const len = png.readUInt32BE(o);
    out.push({ type: png.toString('ascii', o + 4, o + 8), data: png.subarray(o + 8, o + 8 + len) });
    o += 12 + len;
  }
  return out;
}

describe('logos', () => {
  it.each(['python', 'r', 'scala', 'tensorflow'] as const)('%s is a real 64x64 RGBA PNG', (kind) => {
    const png = readFileSync(logoPath(kind));
    expect(png.subarray(0, 8)).toEqual(PNG_SIGNATURE);
    expect(png.toString('ascii', 12, 16)).toBe('IHDR');
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([64, 64]);
    const c = chunks(png);
    expect(c.map((x) => x.type)).toEqual(['IHDR', 'IDAT', 'IEND']);
    const pixels = inflateSync(Buffer.concat(c.filter((x) => x.type === 'IDAT').map((x) => x.data)));
    expect(pixels.length).toBe(64 * (64 * 4 + 1));
    // Not blank: some opaque pixels of more than one colour.
    const colours = new Set<string>();
    for (let y = 0; y < 64; y++) for (let x = 0; x < 64; x++) {
      const o = y * 257 + 1 + x * 4;
      if (pixels[o + 3] === 255) colours.add(pixels.subarray(o, o + 3).toString('hex'));
    }
    expect(colours.size).toBeGreaterThan(1);
  });
  it('each language has its own logo', () => {
    const files = (['python', 'r', 'scala', 'tensorflow'] as const).map((k) => readFileSync(logoPath(k)).toString('base64'));
    expect(new Set(files).size).toBe(4);
  });
});

describe('@gp/templates contract', () => {
  it('resolves the same template files as @gp/templates templateFilePath()', async () => {
    // The bin resolves template files without importing @gp/templates (startup time); this pins it to the package's API.
    const mod = (await import('@gp/templates')) as Record<string, unknown>;
    expect(typeof mod.templateFilePath, '@gp/templates exports templateFilePath').toBe('function');
    const templateFilePath = mod.templateFilePath as (name: TemplateName) => string;
    for (const name of ['kernel-pod.yaml.j2', 'sparkoperator.k8s.io-v1beta2.yaml.j2'] as const) {
      expect(templatePath(name)).toBe(templateFilePath(name));
    }
  });
});

describe('missing resources', () => {
  it('names the missing template and where it was looked for', () => {
    expect(() => templatePath('nope.yaml.j2' as TemplateName)).toThrow(MissingResourceError);
    expect(() => templatePath('nope.yaml.j2' as TemplateName)).toThrow(/nope\.yaml\.j2/);
  });
});
