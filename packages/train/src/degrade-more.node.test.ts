import { describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { ConfigError, ShapeError } from '@restorekit/core';
import { compose, gaussianBlur, gaussianNoise, type Degradation, type DegradationLabel, type HostImage } from './degrade.js';
import { defocusBlur, detAsin, detAtan, diskKernel, motionBlur, motionKernel, shakeTrajectory } from './degrade-kernels.js';
import { jpegCompression, jpegRoundTrip } from './degrade-jpeg.js';
import { DEGRADATION_TASK, degradationTasks, maybe, oneOf, shuffled } from './degrade-random.js';
import { haze, lowLight, rainStreaks, streakKernel } from './degrade-scene.js';
import { Rng } from './rng.js';

const ramp = (h: number, w: number, c: number): HostImage => ({
  data: Float32Array.from({ length: h * w * c }, (_, i) => 0.2 + (0.6 * ((i * 7919) % 97)) / 97),
  shape: [h, w, c],
});
const flat = (h: number, w: number, c: number, v: number): HostImage => ({ data: new Float32Array(h * w * c).fill(v), shape: [h, w, c] });
/** A smooth colour test picture with some texture (values in [0.15, 0.85]). */
const picture = (h: number, w: number): HostImage => {
  const data = new Float32Array(h * w * 3);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let c = 0; c < 3; c++) data[(y * w + x) * 3 + c] = 0.5 + 0.25 * Math.sin(x / 5 + c) * Math.cos(y / 7) + 0.1 * Math.sin((x * y) / 40);
  return { data, shape: [h, w, 3] };
};
const mean = (a: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]!;
  return s / a.length;
};
const psnr8 = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return 10 * Math.log10((255 * 255) / (s / a.length));
};
const kernelOf = (label: DegradationLabel) => label.kernel as number[];

describe('more seeded degradations: determinism', () => {
  const all: [string, Degradation][] = [
    ['defocusBlur', defocusBlur({ radius: [0.5, 3] })],
    ['motionBlur', motionBlur({ kernelSize: 9, length: [2, 8], iters: 300 })],
    ['rain', rainStreaks({ density: [0.005, 0.02], length: [3, 8], angle: [-30, 30], width: [1, 2], intensity: [0.3, 0.8] })],
    ['haze', haze({ beta: [0.5, 2], airlight: [0.7, 1] })],
    ['lowLight', lowLight({ gamma: [1.5, 3], scale: [0.1, 0.5], noise: { a: [0.001, 0.01], b: [0, 0.02] } })],
    ['jpeg', jpegCompression({ quality: [10, 90] })],
    ['oneOf', oneOf([gaussianNoise({ sigma: 0.1 }), haze({ beta: 1, airlight: 0.9 })], { weights: [1, 2] })],
    ['maybe', maybe(0.5, gaussianNoise({ sigma: 0.1 }))],
    ['shuffled', shuffled(lowLight({ gamma: 2, scale: 0.5 }), haze({ beta: 1, airlight: 0.8 }), gaussianBlur({ kernelSize: 3, sigmaX: 1 }))],
  ];
  it.each(all)('%s: the same image and seed give the same bytes and label, another seed does not, the input is untouched', (_, d) => {
    const img = ramp(16, 12, 3);
    const a = d(img, new Rng(5));
    const b = d(img, new Rng(5));
    expect(Buffer.from(a.image.data.buffer).equals(Buffer.from(b.image.data.buffer))).toBe(true);
    expect(a.label).toEqual(b.label);
    expect(a.image.shape).toEqual([16, 12, 3]);
    expect(a.image.data).not.toBe(img.data);
    const others = [6, 7, 8].map((s) => d(img, new Rng(s)));
    expect(others.some((c) => !Buffer.from(a.image.data.buffer).equals(Buffer.from(c.image.data.buffer)))).toBe(true);
    expect(Array.from(img.data)).toEqual(Array.from(ramp(16, 12, 3).data));
  });
});

describe('defocus (disk) kernels', () => {
  it("match MATLAB's fspecial('disk', 1) and cover exactly π r² (centre cell weight 1/(π r²))", () => {
    const { kernel, kernelSize } = diskKernel(1);
    expect(kernelSize).toBe(3);
    // MATLAB's fspecial('disk', 1) as it prints (4 decimals)
    const matlab = [0.0251, 0.1453, 0.0251, 0.1453, 0.3183, 0.1453, 0.0251, 0.1453, 0.0251];
    kernel.forEach((v, i) => {
      expect(Math.abs(v - matlab[i]!)).toBeLessThan(5e-5);
    });
    for (const r of [0.8, 1.7, 2.3, 4, 7.5]) {
      const d = diskKernel(r);
      const c = (d.kernelSize - 1) / 2;
      // The centre cell lies inside the disk (r ≥ √½), so its unnormalised weight is 1 and the total is π r².
      expect(Math.abs(d.kernel[c * d.kernelSize + c]! * Math.PI * r * r - 1)).toBeLessThan(1e-12);
    }
  });

  it('are non-negative, sum to 1, symmetric under flips and the transpose, of size 2⌈r⌉ + 1', () => {
    for (const r of [0.3, 1, 2.3, 3.5, 6.01]) {
      const { kernel, kernelSize: k } = diskKernel(r);
      expect(k).toBe(2 * Math.ceil(r) + 1);
      expect(kernel.every((v) => v >= 0)).toBe(true);
      expect(Math.abs(kernel.reduce((s, v) => s + v, 0) - 1)).toBeLessThan(1e-12);
      for (let i = 0; i < k; i++)
        for (let j = 0; j < k; j++) {
          const v = kernel[i * k + j];
          expect(kernel[j * k + i]).toBe(v);
          expect(kernel[(k - 1 - i) * k + j]).toBe(v);
          expect(kernel[i * k + (k - 1 - j)]).toBe(v);
        }
    }
    // r = 2.3: cells at distance 3 are outside the disk (MATLAB's grid is 5 wide), a radius below √½ is a delta.
    const { kernel } = diskKernel(2.3);
    for (let j = 0; j < 7; j++) expect(kernel[j]).toBe(0);
    expect(Array.from(diskKernel(0.3).kernel)).toEqual([0, 0, 0, 0, 1, 0, 0, 0, 0]);
  });

  it('defocusBlur keeps a constant image, reports the drawn radius and its kernel', () => {
    const { image, label } = defocusBlur({ radius: [2, 3] })(flat(9, 9, 2, 0.4), new Rng(1));
    expect(label.type).toBe('defocusBlur');
    expect(label.radius).toBeGreaterThanOrEqual(2);
    expect(label.radius).toBeLessThan(3);
    expect(label.kernelSize).toBe(7);
    expect(kernelOf(label)).toEqual(Array.from(diskKernel(label.radius as number).kernel));
    image.data.forEach((v) => {
      expect(Math.abs(v - 0.4)).toBeLessThan(1e-6);
    });
  });

  it('detAtan and detAsin agree with Math to a few ulp', () => {
    for (const x of [-1e6, -3, -1, -0.5, -1e-9, 0, 0.1, 0.2, 0.7, 1, 1.5, 10, 1e300, Infinity])
      expect(Math.abs(detAtan(x) - Math.atan(x))).toBeLessThan(3e-16 * Math.max(1, Math.abs(Math.atan(x))));
    for (const u of [-1, -0.99, -0.5, 0, 0.3, 0.7, 0.999999, 1]) expect(Math.abs(detAsin(u) - Math.asin(u))).toBeLessThan(1e-15);
    expect(detAsin(1.01)).toBeNaN();
  });
});

describe('motion blur (random camera-shake trajectories)', () => {
  it('the path has the requested length; expl = 0 is a straight line in the drawn direction', () => {
    const t = shakeTrajectory(new Rng(3), 500, 12, 0.005);
    let len = 0;
    for (let i = 1; i < 500; i++) len += Math.sqrt((t.x[i]! - t.x[i - 1]!) ** 2 + (t.y[i]! - t.y[i - 1]!) ** 2);
    expect(Math.abs(len - 12)).toBeLessThan(1e-9);
    const s = shakeTrajectory(new Rng(4), 200, 10, 0);
    const th = (s.angle * Math.PI) / 180;
    expect(s.bigShakes).toBe(0);
    expect(Math.abs(s.x[199]! - 10 * Math.cos(th))).toBeLessThan(1e-9);
    expect(Math.abs(s.y[199]! - 10 * Math.sin(th))).toBeLessThan(1e-9);
  });

  it('kernels are non-negative, sum to 1, lie within kernelSize; a straight path gives a line of the right direction and length', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const { label } = motionBlur({ kernelSize: 15, expl: [0, 0.02] })(flat(4, 4, 1, 0.5), new Rng(seed));
      const k = kernelOf(label);
      expect(k).toHaveLength(225);
      expect(k.every((v) => v >= 0)).toBe(true);
      expect(Math.abs(k.reduce((s, v) => s + v, 0) - 1)).toBeLessThan(1e-12);
      expect(label.length).toBe(14);
    }
    // expl 0: a segment of length L through the centre: mean at the centre, variance L²/12 along it (+ 1/6 from the
    // bilinear splat on average), about 1/6 across, principal axis along the drawn angle.
    for (const [seed, exposure] of [
      [7, 1],
      [8, 0.5],
    ] as const) {
      const { label } = motionBlur({ kernelSize: 21, length: 20, expl: 0, exposure })(flat(4, 4, 1, 0.5), new Rng(seed));
      const k = kernelOf(label);
      let mx = 0;
      let my = 0;
      k.forEach((v, i) => {
        mx += v * (i % 21);
        my += v * Math.floor(i / 21);
      });
      expect(Math.abs(mx - 10)).toBeLessThan(0.05);
      expect(Math.abs(my - 10)).toBeLessThan(0.05);
      let sxx = 0;
      let syy = 0;
      let sxy = 0;
      k.forEach((v, i) => {
        const dx = (i % 21) - mx;
        const dy = Math.floor(i / 21) - my;
        sxx += v * dx * dx;
        syy += v * dy * dy;
        sxy += v * dx * dy;
      });
      const tr = sxx + syy;
      const disc = Math.sqrt(((sxx - syy) / 2) ** 2 + sxy ** 2);
      const major = tr / 2 + disc;
      const L = 20 * exposure;
      expect(Math.abs(major - (L * L) / 12) / ((L * L) / 12)).toBeLessThan(0.1);
      expect(tr / 2 - disc).toBeLessThan(0.3);
      const axis = (Math.atan2(2 * sxy, sxx - syy) / 2) * (180 / Math.PI);
      const diff = (((axis - (label.angle as number)) % 180) + 360) % 180;
      expect(Math.min(diff, 180 - diff)).toBeLessThan(1);
    }
  });

  it('motionKernel keeps a point path a delta at the centre; a blur keeps a constant image', () => {
    const k = motionKernel({ x: new Float64Array(10).fill(3.3), y: new Float64Array(10).fill(-1.2) }, 5);
    expect(k[12]).toBeCloseTo(1, 12);
    const { image } = motionBlur({ kernelSize: 11 })(flat(12, 12, 3, 0.7), new Rng(2));
    image.data.forEach((v) => {
      expect(Math.abs(v - 0.7)).toBeLessThan(1e-6);
    });
  });
});

describe('rain streaks', () => {
  it('only brighten, by at most the streaks laid there, and cover about 1 − exp(−density · streak area) of the pixels', () => {
    const img = picture(96, 96);
    const density = 0.004;
    const { image, label } = rainStreaks({ density, length: 15, angle: [-30, 30], intensity: 0.5 })(img, new Rng(11));
    expect(label).toMatchObject({ type: 'rain', density, length: 15, width: 1, intensity: 0.5 });
    const { kernel, kernelSize } = streakKernel(15, label.angle as number, 1);
    expect(label.kernelSize).toBe(kernelSize);
    // Streak centres: Poisson(density · (H + k − 1)(W + k − 1)).
    const area = (96 + kernelSize - 1) ** 2;
    expect(Math.abs((label.streaks as number) - density * area)).toBeLessThan(4 * Math.sqrt(density * area));
    let changed = 0;
    for (let i = 0; i < image.data.length; i++) {
      expect(image.data[i]!).toBeGreaterThanOrEqual(img.data[i]!);
      expect(image.data[i]!).toBeLessThanOrEqual(1);
      if (i % 3 === 0 && image.data[i]! > img.data[i]!) changed++;
    }
    // A Boolean model: a pixel is rain-free when no centre falls where the streak would cover it.
    const support = kernel.filter((v) => v > 0).length;
    const want = 1 - Math.exp(-density * support);
    expect(Math.abs(changed / (96 * 96) / want - 1)).toBeLessThan(0.2);
    // White rain: every channel gains the same.
    for (let p = 0; p < 96 * 96; p++) {
      const d0 = image.data[p * 3]! - img.data[p * 3]!;
      if (image.data[p * 3]! < 1 && image.data[p * 3 + 1]! < 1) expect(Math.abs(image.data[p * 3 + 1]! - img.data[p * 3 + 1]! - d0)).toBeLessThan(1e-6);
    }
  });

  it('a streak adds `intensity` along its core; vertical streaks are vertical; density 0 adds nothing', () => {
    const { image, label } = rainStreaks({ density: 0.002, length: 9, angle: 0, intensity: 0.4 })(flat(64, 64, 1, 0), new Rng(3));
    expect(label.streaks).toBeGreaterThan(3);
    const max = Math.max(...image.data);
    expect(max).toBeGreaterThanOrEqual(0.4 - 1e-6);
    // At angle 0 the kernel is one column of 1s, length 9 (+ anti-aliased ends).
    const { kernel, kernelSize } = streakKernel(9, 0, 1);
    const c = (kernelSize - 1) / 2;
    for (let i = 0; i < kernelSize; i++)
      for (let j = 0; j < kernelSize; j++) expect(Math.abs(kernel[i * kernelSize + j]! - (j === c && Math.abs(i - c) <= 4 ? 1 : 0))).toBeLessThan(1e-12);
    const none = rainStreaks({ density: 0, length: 9, angle: 0, intensity: 0.4 })(ramp(8, 8, 3), new Rng(3));
    expect(Array.from(none.image.data)).toEqual(Array.from(ramp(8, 8, 3).data));
  });
});

describe('haze (atmospheric scattering)', () => {
  it('with a given depth map, I = J·exp(−β d) + A(1 − exp(−β d)) exactly', () => {
    const depth: HostImage = { data: Float32Array.from({ length: 6 * 5 }, (_, i) => (i % 7) / 6), shape: [6, 5, 1] };
    const { image, label } = haze({ beta: 1.3, airlight: 0.9, depth })(flat(6, 5, 3, 0.25), new Rng(0));
    expect(label).toMatchObject({ type: 'haze', beta: 1.3, airlight: 0.9, depth: 'given', field: [] });
    let tSum = 0;
    for (let p = 0; p < 30; p++) {
      const t = Math.exp(-1.3 * depth.data[p]!);
      tSum += t;
      for (let c = 0; c < 3; c++) expect(Math.abs(image.data[p * 3 + c]! - (0.25 * t + 0.9 * (1 - t)))).toBeLessThan(1e-6);
    }
    expect(Math.abs((label.meanTransmission as number) - tSum / 30)).toBeLessThan(1e-12);
  });

  it('with the depth proxy: transmission recovered from the output matches the label, spans [e^−β, 1], falls with β', () => {
    const J = 0.2;
    const run = (beta: number) => haze({ beta, airlight: [0.8, 1] })(flat(40, 48, 3, J), new Rng(9));
    const means: number[] = [];
    for (const beta of [0.5, 1, 2.5]) {
      const { image, label } = run(beta);
      const A = label.airlight as number;
      expect(A).toBeGreaterThanOrEqual(0.8);
      const t = Array.from({ length: 40 * 48 }, (_, p) => (image.data[p * 3]! - A) / (J - A));
      expect(Math.abs(mean(t) - (label.meanTransmission as number))).toBeLessThan(1e-5);
      expect(Math.abs(Math.min(...t) - Math.exp(-beta))).toBeLessThan(1e-5);
      expect(Math.abs(Math.max(...t) - 1)).toBeLessThan(1e-5);
      // The proxy is far at the top: the top row is hazier (lower t) than the bottom row on average.
      expect(mean(t.slice(0, 48))).toBeLessThan(mean(t.slice(39 * 48)));
      expect(label.field).toHaveLength(16);
      means.push(label.meanTransmission as number);
    }
    expect(means[0]!).toBeLessThan(1);
    expect(means[2]!).toBeGreaterThan(0);
    expect(means[0]!).toBeGreaterThan(means[1]!);
    expect(means[1]!).toBeGreaterThan(means[2]!);
  });
});

describe('low light', () => {
  it('y = scale · x^γ per pixel, so the mean brightness ratio is scale · mean(x^γ) / mean(x)', () => {
    const img = picture(24, 20);
    const { image, label } = lowLight({ gamma: [1.5, 3], scale: [0.1, 0.4] })(img, new Rng(4));
    const g = label.gamma as number;
    const s = label.scale as number;
    expect(label).toMatchObject({ type: 'lowLight', a: 0, b: 0 });
    image.data.forEach((v, i) => {
      expect(Math.abs(v - s * img.data[i]! ** g)).toBeLessThan(1e-7);
    });
    const ratio = mean(image.data) / mean(img.data);
    const want = (s * mean(Array.from(img.data, (x) => x ** g))) / mean(img.data);
    expect(Math.abs(ratio / want - 1)).toBeLessThan(1e-5);
    expect(ratio).toBeLessThan(s);
  });

  it('with noise: mean scale · x^γ and variance a·y + b² on a constant image', () => {
    const x = 0.6;
    const { image, label } = lowLight({ gamma: 2, scale: 0.5, noise: { a: 0.004, b: 0.01 } })(flat(128, 128, 1, x), new Rng(8));
    expect(label).toEqual({ type: 'lowLight', gamma: 2, scale: 0.5, a: 0.004, b: 0.01 });
    const y = 0.5 * x * x;
    const m = mean(image.data);
    const v = mean(Array.from(image.data, (t) => (t - m) ** 2));
    expect(Math.abs(m - y)).toBeLessThan(0.001);
    expect(Math.abs(v / (0.004 * y + 0.01 ** 2) - 1)).toBeLessThan(0.05);
  });
});

describe('JPEG (jpeg-js)', () => {
  it("PSNR rises with quality and is within 1 dB of sharp's 4:4:4 JPEG round trip at quality 10, 40, 90", async () => {
    // sharp is a dependency of @restorekit/runtime only: resolve it from there (tests only, never the package).
    type Sharp = { jpeg(o: { quality: number; chromaSubsampling: string }): Sharp; raw(): Sharp; toBuffer(): Promise<Buffer> };
    const sharp = createRequire(join(import.meta.dirname, '../../runtime/package.json'))('sharp') as (
      input: Buffer,
      options?: { raw: { width: number; height: number; channels: number } },
    ) => Sharp;
    const img = picture(96, 80);
    const u8 = Uint8Array.from(img.data, (v) => Math.round(v * 255));
    const ours: number[] = [];
    for (const q of [10, 40, 90]) {
      const { image, label } = jpegCompression({ quality: q })(img, new Rng(0));
      expect(label).toEqual({ type: 'jpeg', quality: q });
      const back8 = Array.from(image.data, (v) => Math.round(v * 255));
      image.data.forEach((v, i) => {
        expect(v).toBe(Math.fround(back8[i]! / 255));
      });
      const p = psnr8(back8, u8);
      const buf = await sharp(Buffer.from(u8), { raw: { width: 80, height: 96, channels: 3 } })
        .jpeg({ quality: q, chromaSubsampling: '4:4:4' })
        .toBuffer();
      const ref = psnr8(await sharp(buf).raw().toBuffer(), u8);
      expect(Math.abs(p - ref), `quality ${q}: jpeg-js ${p.toFixed(2)} dB, sharp ${ref.toFixed(2)} dB`).toBeLessThan(1);
      ours.push(p);
    }
    expect(ours[0]!).toBeLessThan(ours[1]!);
    expect(ours[1]!).toBeLessThan(ours[2]!);
    expect(ours[0]!).toBeGreaterThan(20);
  });

  it('gray images round-trip as R = G = B; values are quantised to 8 bits first; 2 or 4 channels are refused', () => {
    const gray = { data: picture(16, 16).data.filter((_, i) => i % 3 === 0), shape: [16, 16, 1] as [number, number, number] };
    const g = jpegRoundTrip(gray, 95);
    expect(g.shape).toEqual([16, 16, 1]);
    expect(
      psnr8(
        Array.from(g.data, (v) => v * 255),
        Array.from(gray.data, (v) => v * 255),
      ),
    ).toBeGreaterThan(38);
    // Out-of-range values are clamped before encoding.
    const hot = jpegRoundTrip(flat(8, 8, 3, 1.7), 90);
    hot.data.forEach((v) => {
      expect(v).toBe(1);
    });
    expect(() => jpegRoundTrip(flat(8, 8, 4, 0.5), 90)).toThrow(ShapeError);
    const drawn = jpegCompression({ quality: [20, 30] })(flat(8, 8, 3, 0.5), new Rng(3)).label.quality as number;
    expect(Number.isInteger(drawn) && drawn >= 20 && drawn <= 30).toBe(true);
  });
});

describe('random compositions', () => {
  const img = ramp(8, 8, 3);
  it('oneOf picks by weight and labels the choice', () => {
    const d = oneOf([gaussianNoise({ sigma: 0.1 }), lowLight({ gamma: 2, scale: 0.5 })], { weights: [1, 3] });
    const rng = new Rng(1);
    const picks = Array.from({ length: 800 }, () => d(img, rng).label);
    const second = picks.filter((l) => l.choice === 1).length / 800;
    expect(Math.abs(second - 0.75)).toBeLessThan(0.05);
    for (const l of picks) expect(l.type).toBe(l.choice === 1 ? 'lowLight' : 'gaussianNoise');
    const only = oneOf([gaussianNoise({ sigma: 0.1 }), haze({ beta: 1, airlight: 1 })], { weights: [0, 2] });
    for (let s = 0; s < 20; s++) expect(only(img, new Rng(s)).label).toMatchObject({ type: 'haze', choice: 1 });
  });

  it('maybe applies with the given probability, otherwise copies the image with label identity', () => {
    const d = maybe(0.3, lowLight({ gamma: 1, scale: 0.5 }));
    const rng = new Rng(2);
    let applied = 0;
    for (let i = 0; i < 1000; i++) {
      const r = d(img, rng);
      if (r.label.type === 'lowLight') applied++;
      else {
        expect(r.label).toEqual({ type: 'identity' });
        expect(r.image.data).not.toBe(img.data);
        expect(Array.from(r.image.data)).toEqual(Array.from(img.data));
      }
    }
    expect(Math.abs(applied / 1000 - 0.3)).toBeLessThan(0.05);
    expect(maybe(0, haze({ beta: 1, airlight: 1 }))(img, new Rng(0)).label.type).toBe('identity');
    expect(maybe(1, haze({ beta: 1, airlight: 1 }))(img, new Rng(0)).label.type).toBe('haze');
  });

  it('shuffled applies every step once in a drawn order, reported in the label', () => {
    const steps = [lowLight({ gamma: 2, scale: 0.5 }), haze({ beta: 1, airlight: 0.9 }), gaussianNoise({ sigma: 0.05 })];
    const d = shuffled(...steps);
    const orders = new Set<string>();
    for (let s = 0; s < 40; s++) {
      const { image, label } = d(img, new Rng(s));
      const order = label.order as number[];
      expect([...order].sort()).toEqual([0, 1, 2]);
      orders.add(order.join(''));
      expect((label.steps as DegradationLabel[]).map((l) => l.type)).toEqual(order.map((i) => ['lowLight', 'haze', 'gaussianNoise'][i]));
      // The same as composing the steps in that order after the shuffle's draws.
      const rng = new Rng(s);
      rng.shuffle([0, 1, 2]);
      const want = compose(...order.map((i) => steps[i]!))(img, rng).image;
      expect(Array.from(image.data)).toEqual(Array.from(want.data));
    }
    expect(orders.size).toBe(6);
  });

  it('labels map onto the FSDRNet tasks', () => {
    expect(DEGRADATION_TASK).toMatchObject({ rain: 'derain', haze: 'dehaze', lowLight: 'lowlight', motionBlur: 'deblur', gaussianNoise: 'denoise' });
    const { label } = compose(
      defocusBlur({ radius: 1 }),
      haze({ beta: 1, airlight: 0.9 }),
      gaussianNoise({ sigma: 0.01 }),
      jpegCompression({ quality: 50 }),
    )(img, new Rng(0));
    expect(degradationTasks(label)).toEqual(['deblur', 'dehaze', 'denoise']);
    expect(degradationTasks({ type: 'jpeg', quality: 40 })).toEqual([]);
    expect(degradationTasks(oneOf([rainStreaks({ density: 0.01, length: 5, angle: 0, intensity: 0.5 })])(img, new Rng(0)).label)).toEqual(['derain']);
  });
});

describe('bad options are ConfigErrors naming the option', () => {
  it.each([
    [() => rainStreaks({ density: -0.01, length: 10, angle: 0, intensity: 0.5 }), /option 'density'/],
    [() => rainStreaks({ density: 0.01, length: 10, angle: 0, intensity: 0.5, densty: 1 } as never), /unknown option 'densty' \(did you mean 'density'\?\)/],
    [() => rainStreaks({ density: 0.01, length: 10, angle: [30, -30], intensity: 0.5 }), /option 'angle'.*lo ≤ hi/],
    [() => jpegCompression({ quality: 0 }), /option 'quality'/],
    [() => jpegCompression({ quality: 101 }), /option 'quality'/],
    [() => jpegCompression({ quality: 40.5 }), /option 'quality' must be an integer/],
    [() => motionBlur({ kernelSize: 20 }), /option 'kernelSize' must be odd/],
    [() => motionBlur({ kernelSize: 21, length: 25 }), /option 'length' must be ≤ kernelSize − 1 = 20/],
    [() => motionBlur({ kernelSize: 21, exposure: 0 }), /option 'exposure'/],
    [() => defocusBlur({ radius: 0 }), /option 'radius'/],
    [() => haze({ beta: 1, airlight: 1.5 }), /option 'airlight'/],
    [() => haze({ beta: -1, airlight: 0.5 }), /option 'beta'/],
    [() => haze({ beta: 1, airlight: 0.5, depth: flat(4, 4, 3, 0.5) }), /option 'depth'/],
    [() => haze({ beta: 1, airlight: 0.5, depth: flat(4, 4, 1, 2) }), /option 'depth' must have values in \[0, 1\]/],
    [() => lowLight({ gamma: 0, scale: 0.5 }), /option 'gamma'/],
    [() => lowLight({ gamma: 2, scale: 0.5, noise: { c: 1 } as never }), /noise.*unknown option 'c'/],
    [() => oneOf([gaussianNoise({ sigma: 0.1 })], { weights: [1, 2] }), /option 'weights'/],
    [() => oneOf([]), /non-empty/],
    [() => maybe(1.5, gaussianNoise({ sigma: 0.1 })), /probability/],
    [() => shuffled(), /degradation function/],
  ])('%#', (make, message) => {
    expect(make).toThrow(ConfigError);
    expect(make).toThrow(message);
  });

  it('a depth map of another size is a ShapeError when applied', () => {
    const d = haze({ beta: 1, airlight: 0.5, depth: flat(4, 4, 1, 0.5) });
    expect(() => d(flat(5, 4, 3, 0.5), new Rng(0))).toThrow(ShapeError);
  });
});
