/** Tiny models, losses and a seeded batch source shared by the tests (not part of the package's exports). */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { Block, Conv2d, Sequential } from '@restorekit/core';
import type { Batch, BatchSource } from './trainer.js';
import { Rng } from './rng.js';

/** Conv(3→c, 3×3) → GELU → Conv(c→3, 3×3), seeded init: `state_dict` keys '0.weight', '0.bias', '2.weight', '2.bias'. */
export function tinyNet(seed = 1, channels = 4): Sequential {
  return new Sequential({
    layers: [
      { type: 'Conv2d', inChannels: 3, outChannels: channels, kernelSize: 3, padding: 1, seed },
      { type: 'GELU' },
      { type: 'Conv2d', inChannels: channels, outChannels: 3, kernelSize: 3, padding: 1, seed: seed + 10 },
    ],
  });
}

/** A block with two outputs (a restored image and a 1-channel auxiliary map), keys 'body.*', 'head_a.*', 'head_b.*'. */
export class TwoHeads extends Block {
  static className = 'restorekit>TestTwoHeads';
  body: Conv2d;
  headA: Conv2d;
  headB: Conv2d;
  constructor(seed = 3) {
    super({});
    this.body = this.addChild('body', new Conv2d({ inChannels: 3, outChannels: 4, kernelSize: 3, padding: 1, seed }));
    this.headA = this.addChild('head_a', new Conv2d({ inChannels: 4, outChannels: 3, kernelSize: 1, seed: seed + 1 }));
    this.headB = this.addChild('head_b', new Conv2d({ inChannels: 4, outChannels: 1, kernelSize: 1, seed: seed + 2 }));
  }
  override build(s: tfl.Shape | tfl.Shape[]): void {
    const shape = s as tfl.Shape;
    this.buildChild(this.body, shape);
    const h = this.body.computeOutputShape(shape) as tfl.Shape;
    this.buildChild(this.headA, h);
    this.buildChild(this.headB, h);
    this.built = true;
  }
  protected override expectedChannels() {
    return [3];
  }
  forward(x: tf.Tensor, training: boolean): tf.Tensor[] {
    const h = tf.relu(this.run(this.body, x, training));
    return [tf.add(x, this.run(this.headA, h, training)), this.run(this.headB, h, training)];
  }
  override computeOutputShape(s: tfl.Shape): tfl.Shape[] {
    return [
      [s[0]!, s[1]!, s[2]!, 3],
      [s[0]!, s[1]!, s[2]!, 1],
    ];
  }
}

/** Mean absolute error (a loss function of the Trainer's kind). */
export const l1 = (pred: tf.Tensor | tf.Tensor[], target: tf.Tensor | tf.Tensor[]) => tf.mean(tf.abs(tf.sub(pred as tf.Tensor, target as tf.Tensor)));

/** Host data of a synthetic image set: smooth colour ramps plus seeded noise, values in [0, 1]. */
export function syntheticImage(rng: Rng, h: number, w: number, c = 3): Float32Array {
  const out = new Float32Array(h * w * c);
  const phase = rng.float() * 3;
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let k = 0; k < c; k++) out[(y * w + x) * c + k] = 0.5 + 0.3 * Math.sin(phase + 0.7 * x + 0.4 * y + k) * 0.8 + 0.05 * (rng.float() - 0.5);
  return out;
}

/** A seeded source of denoising batches: target = a synthetic image, input = target + N(0, 0.1²), from the generator's stream. */
export class NoisyBatches implements BatchSource {
  private rng: Rng;
  constructor(
    seed: number,
    readonly batch = 2,
    readonly size = 8,
  ) {
    this.rng = new Rng(seed);
  }
  next(): Batch {
    const { batch: b, size: s } = this;
    const clean = new Float32Array(b * s * s * 3);
    for (let i = 0; i < b; i++) clean.set(syntheticImage(this.rng, s, s), i * s * s * 3);
    const noisy = clean.map((v) => v + 0.1 * this.rng.normal());
    return { input: tf.tensor4d(noisy, [b, s, s, 3]), target: tf.tensor4d(clean, [b, s, s, 3]) };
  }
  getState() {
    return this.rng.getState();
  }
  setState(state: unknown) {
    this.rng.setState(state as ReturnType<Rng['getState']>);
  }
}

/** All weights of a model as host arrays, by PyTorch name. */
export async function weightsOf(params: readonly { name: string; variable: tf.Tensor }[]): Promise<Record<string, number[]>> {
  const out: Record<string, number[]> = {};
  for (const p of params) out[p.name] = Array.from(await p.variable.data());
  return out;
}
