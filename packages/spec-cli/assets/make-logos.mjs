#!/usr/bin/env node
// Generates the kernelspec logos (64x64 RGBA PNGs) in assets/logos/: a rounded tile in the language's
// colour with its initials drawn from a 5x7 pixel font, anti-aliased by 4x supersampling.
// Run: node assets/make-logos.mjs   (the PNGs are committed; rerun only to change the design).
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateSync } from 'node:zlib';

const SIZE = 64;
const SS = 4; // supersampling factor

const FONT = {
  P: ['11110', '10001', '10001', '11110', '10000', '10000', '10000'],
  y: ['00000', '10001', '10001', '10001', '01111', '00001', '01110'],
  R: ['11110', '10001', '10001', '11110', '10100', '10010', '10001'],
  S: ['01111', '10000', '10000', '01110', '00001', '00001', '11110'],
  c: ['00000', '00000', '01110', '10000', '10000', '10001', '01110'],
  T: ['11111', '00100', '00100', '00100', '00100', '00100', '00100'],
  F: ['11111', '10000', '10000', '11110', '10000', '10000', '10000'],
};

const LOGOS = {
  python: { text: 'Py', bg: [0x37, 0x76, 0xab], fg: [0xff, 0xd4, 0x3b] },
  r: { text: 'R', bg: [0x27, 0x6d, 0xc3], fg: [0xff, 0xff, 0xff] },
  scala: { text: 'Sc', bg: [0xdc, 0x32, 0x2f], fg: [0xff, 0xff, 0xff] },
  tensorflow: { text: 'TF', bg: [0xff, 0x6f, 0x00], fg: [0xff, 0xff, 0xff] },
};

function insideRoundedSquare(x, y, size, radius) {
  const cx = Math.min(Math.max(x, radius), size - radius);
  const cy = Math.min(Math.max(y, radius), size - radius);
  return (x - cx) ** 2 + (y - cy) ** 2 <= radius ** 2;
}

function render({ text, bg, fg }) {
  const big = SIZE * SS;
  const scale = 4 * SS; // font pixel size in supersampled pixels
  const glyphW = 5 * scale;
  const gap = 4 * SS;
  const textW = text.length * glyphW + (text.length - 1) * gap;
  const x0 = Math.round((big - textW) / 2);
  const y0 = Math.round((big - 7 * scale) / 2);
  const ink = (x, y) => {
    const i = Math.floor((x - x0) / (glyphW + gap));
    if (i < 0 || i >= text.length) return false;
    const gx = Math.floor((x - x0 - i * (glyphW + gap)) / scale);
    const gy = Math.floor((y - y0) / scale);
    if (gx < 0 || gx >= 5 || gy < 0 || gy >= 7) return false;
    return FONT[text[i]][gy][gx] === '1';
  };
  const rgba = Buffer.alloc(SIZE * SIZE * 4);
  for (let py = 0; py < SIZE; py++) {
    for (let px = 0; px < SIZE; px++) {
      let cover = 0;
      const sum = [0, 0, 0];
      for (let sy = 0; sy < SS; sy++) {
        for (let sx = 0; sx < SS; sx++) {
          const x = px * SS + sx + 0.5;
          const y = py * SS + sy + 0.5;
          if (!insideRoundedSquare(x, y, big, 12 * SS)) continue;
          cover++;
          const c = ink(Math.floor(x), Math.floor(y)) ? fg : bg;
          for (let k = 0; k < 3; k++) sum[k] += c[k];
        }
      }
      const o = (py * SIZE + px) * 4;
      if (cover > 0) for (let k = 0; k < 3; k++) rgba[o + k] = Math.round(sum[k] / cover);
      rgba[o + 3] = Math.round((cover / (SS * SS)) * 255);
    }
  }
  return rgba;
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

export function encodePng(rgba, width, height) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // colour type RGBA
  const raw = Buffer.alloc(height * (width * 4 + 1));
  for (let y = 0; y < height; y++) {
    raw[y * (width * 4 + 1)] = 0; // filter: none
    rgba.copy(raw, y * (width * 4 + 1) + 1, y * width * 4, (y + 1) * width * 4);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

const outDir = join(dirname(fileURLToPath(import.meta.url)), 'logos');
for (const [name, logo] of Object.entries(LOGOS)) {
  const file = join(outDir, `${name}-64x64.png`);
  writeFileSync(file, encodePng(render(logo), SIZE, SIZE));
  console.log(`wrote ${file}`);
}
