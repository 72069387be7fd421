/** Image files through sharp: exact round trips of 8/16-bit RGB, RGBA and gray through restore, EXIF orientation, atomic writes. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { ConfigError } from '@restorekit/core';
import { readImage, restore, writeImage, type ImageBuffer } from './index.js';
import { testImage } from '../test-helpers.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'restorekit-runtime-io-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const u8 = (n: number) => new Uint8Array(n);
const u16 = (n: number) => new Uint16Array(n);
const identity = { tileSize: 16, overlap: 4 };

async function roundTrip(name: string, image: ImageBuffer, options: Parameters<typeof writeImage>[2] = {}): Promise<ImageBuffer> {
  const file = join(dir, name);
  await writeImage(file, image, options);
  const read = await readImage(file);
  const restored = await restore((x) => x, read, identity);
  const out = join(dir, `restored-${name}`);
  await writeImage(out, restored, options);
  return readImage(out);
}

describe('readImage / writeImage (sharp)', () => {
  const cases: [string, ImageBuffer, Parameters<typeof writeImage>[2]?][] = [
    ['rgb8.png', testImage(37, 23, 3, u8, 255)],
    ['rgb16.png', testImage(37, 23, 3, u16, 65535)],
    ['rgb16.tiff', testImage(37, 23, 3, u16, 65535)],
    ['rgba8.png', testImage(29, 31, 4, u8, 255)],
    ['rgba8.webp', testImage(29, 31, 4, u8, 255), { lossless: true }],
    ['rgba16.png', testImage(29, 31, 4, u16, 65535)],
    ['rgba16.tif', testImage(29, 31, 4, u16, 65535)],
    ['gray8.png', testImage(41, 19, 1, u8, 255)],
    ['gray16.png', testImage(41, 19, 1, u16, 65535)],
    ['gray8.tiff', testImage(41, 19, 1, u8, 255)],
  ];
  for (const [name, image, options] of cases)
    it(`${name}: file → restore (identity model) → file gives the same samples, type and channels`, async () => {
      const back = await roundTrip(name, image, options);
      expect([back.width, back.height, back.channels]).toEqual([image.width, image.height, image.channels]);
      expect(back.data.constructor).toBe(image.data.constructor);
      expect(Array.from(back.data)).toEqual(Array.from(image.data));
    });

  it('JPEG (lossy, 8-bit): close to the original; no alpha or 16 bits in JPEG (typed errors)', async () => {
    const image = testImage(48, 32, 3, u8, 255);
    const back = await roundTrip('rgb.jpg', image, { quality: 95 });
    expect(back.channels).toBe(3);
    let err = 0;
    for (let i = 0; i < image.data.length; i++) err += Math.abs(back.data[i]! - image.data[i]!);
    expect(err / image.data.length).toBeLessThan(3);
    await expect(writeImage(join(dir, 'a.jpg'), testImage(8, 8, 4, u8, 255))).rejects.toThrow(/JPEG has no alpha channel/);
    await expect(writeImage(join(dir, 'b.jpeg'), image, { depth: 16 })).rejects.toThrow(ConfigError);
    await expect(writeImage(join(dir, 'c.bmp'), image)).rejects.toThrow(/cannot tell the format of .*c\.bmp.* from its extension '\.bmp'/);
    await expect(writeImage(join(dir, 'd.png'), image, { quality: 101 })).rejects.toThrow(/option 'quality' must be an integer ≥ 1 and ≤ 100/);
  });

  it('depth conversions: 8-bit written as 16-bit is exact (·257); float goes to 16-bit PNG; a 16-bit file read at depth 8 rounds', async () => {
    const image = testImage(10, 6, 3, u8, 255);
    await writeImage(join(dir, 'up.png'), image, { depth: 16 });
    const up = await readImage(join(dir, 'up.png'));
    expect(up.data).toBeInstanceOf(Uint16Array);
    expect(Array.from(up.data)).toEqual(Array.from(image.data, (v) => v * 257));
    const down = await readImage(join(dir, 'up.png'), { depth: 8 });
    expect(Array.from(down.data)).toEqual(Array.from(image.data));
    const float: ImageBuffer = { data: Float32Array.from(image.data, (v) => v / 255), width: 10, height: 6, channels: 3 };
    await writeImage(join(dir, 'float.png'), float);
    expect(Array.from((await readImage(join(dir, 'float.png'))).data)).toEqual(Array.from(image.data, (v) => v * 257));
  });

  it('applies the EXIF orientation on read (orientation 6: rotated 90° clockwise)', async () => {
    // 3×2 RGB, rows [10 20 30] [40 50 60] (each pixel gray); upright it is 2×3: rows [40 10] [50 20] [60 30].
    const raw = Uint8Array.from([10, 20, 30, 40, 50, 60].flatMap((v) => [v, v, v]));
    for (const ext of ['jpg', 'tiff', 'png']) {
      const file = join(dir, `oriented.${ext}`);
      await sharp(raw, { raw: { width: 3, height: 2, channels: 3 } })
        .withMetadata({ orientation: 6 })
        .toFormat(ext === 'jpg' ? 'jpeg' : (ext as 'png'), ext === 'jpg' ? { quality: 100 } : ext === 'tiff' ? { compression: 'deflate' } : {})
        .toFile(file);
      expect((await sharp(file).metadata()).orientation).toBe(6);
      const im = await readImage(file);
      expect([im.width, im.height, im.channels]).toEqual([2, 3, 3]);
      const want = [40, 10, 50, 20, 60, 30];
      for (let i = 0; i < 6; i++) expect(Math.abs(im.data[i * 3]! - want[i]!), `${ext} pixel ${i}`).toBeLessThanOrEqual(ext === 'jpg' ? 2 : 0);
    }
  });

  it('gray + alpha files are read as RGBA; CMYK-free RGB files as RGB', async () => {
    const ga = Uint8Array.from([10, 255, 20, 128, 30, 0, 40, 64]); // 2×2 gray+alpha
    const file = join(dir, 'gray-alpha.png');
    await sharp(ga, { raw: { width: 2, height: 2, channels: 2 } })
      .png()
      .toFile(file);
    const im = await readImage(file);
    expect(im.channels).toBe(4);
    expect(Array.from(im.data)).toEqual([10, 10, 10, 255, 20, 20, 20, 128, 30, 30, 30, 0, 40, 40, 40, 64]);
  });

  it('writes through a temporary file renamed into place: replaces a file whole, leaves nothing behind on failure', async () => {
    const sub = join(dir, 'atomic');
    mkdirSync(sub);
    const file = join(sub, 'out.png');
    writeFileSync(file, 'an older file');
    const image = testImage(12, 9, 3, u8, 255);
    await writeImage(file, image);
    expect(Array.from((await readImage(file)).data)).toEqual(Array.from(image.data));
    expect(readdirSync(sub)).toEqual(['out.png']);
    mkdirSync(join(sub, 'taken.png')); // a folder where the file should go: the rename fails
    await expect(writeImage(join(sub, 'taken.png'), image)).rejects.toThrow();
    expect(readdirSync(sub).sort()).toEqual(['out.png', 'taken.png']);
    await expect(readImage(join(sub, 'missing.png'))).rejects.toThrow(/missing\.png/);
  });
});
