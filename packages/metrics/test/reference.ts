/** Reads test/data/reference.json (made by scripts/make-reference.py): uint8 HWC RGB images and the Python values. */
import raw from './data/reference.json';

export type SettingKey = 'crop0_rgb' | 'crop4_rgb' | 'crop0_y' | 'crop4_y';
export const SETTINGS: { key: SettingKey; cropBorder: number; testYChannel: boolean }[] = [
  { key: 'crop0_rgb', cropBorder: 0, testYChannel: false },
  { key: 'crop4_rgb', cropBorder: 4, testYChannel: false },
  { key: 'crop0_y', cropBorder: 0, testYChannel: true },
  { key: 'crop4_y', cropBorder: 4, testYChannel: true },
];

export interface RefDegraded {
  kind: string;
  data: Uint8Array;
  basicsr: Record<SettingKey, { psnr: number; ssim: number }>;
  skimage: { ssim: number; ssim_uint8_range255: number; ssim_float32_inputs: number; psnr: number };
}
export interface RefImage {
  name: string;
  shape: [number, number, number];
  clean: Uint8Array;
  degraded: RefDegraded[];
}

function decode(b64: string): Uint8Array {
  const s = atob(b64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

interface RawDegraded extends Omit<RefDegraded, 'data'> {
  data: string;
}
interface RawImage {
  name: string;
  shape: number[];
  clean: string;
  degraded: RawDegraded[];
}

export const referenceImages: RefImage[] = (raw as unknown as { images: RawImage[] }).images.map((im) => ({
  name: im.name,
  shape: im.shape as [number, number, number],
  clean: decode(im.clean),
  degraded: im.degraded.map((d) => ({ ...d, data: decode(d.data) })),
}));

/** uint8 → float in [0, 1] (float64 values k/255; Float32Array when asked). */
export function unit(a: Uint8Array, f32 = false): Float64Array | Float32Array {
  const out = f32 ? new Float32Array(a.length) : new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! / 255;
  return out;
}
