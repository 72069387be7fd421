import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import {
  Block,
  ConfigError,
  Conv2d,
  DerivedWeights,
  SimpleGate,
  conv2d,
  free,
  opt,
  prefers,
  registerBlock,
  type BlockArgs,
  type OptionsInput,
  type ResolvedOptions,
  concatChannels,
  evenOddChannels,
  splitChannels,
} from '@restorekit/core';
import { kernelSizesOption, withChannels } from './common.js';

const OPTIONS = {
  channels: opt.posInt(),
  /** Hidden width ratio: hidden = trunc(C·expansion), a multiple of 4. Default 2 [SIBLING ECFNet `FeedForward`]. */
  expansion: opt.number({ min: 0, exclusiveMin: true }, 2),
  /** The two depth-wise kernel sizes (weights `dwconv<k>`, `gconv<k>`). Default [3, 5] [SUMMARY]. */
  kernelSizes: kernelSizesOption([3, 5], { length: 2, distinct: true }),
  /** Bias on every conv. Default false [SIBLING]. */
  bias: opt.bool(false),
};
export type MSFFNOptions = OptionsInput<typeof OPTIONS>;

/**
 * LCDNet's multi-scale feed-forward (ECFNet's `FeedForward` [SIBLING]), hidden m = trunc(C·expansion) = 2C:
 * p = Conv1×1(C → m); u₃ = SG(DW3×3(p)), u₅ = SG(DW5×5(p)) (m/2 each); split each in halves;
 * q₃ = SG(GConv3×3(m/2 → m, groups m/2)([u₃ᵃ, u₅ᵃ])), q₅ = SG(GConv5×5(...)([u₃ᵇ, u₅ᵇ]));
 * out = Conv1×1(m → C)([q₃, q₅]). The grouped convs have 2 outputs per input channel (output 2i + j reads
 * input i). PyTorch keys `project_in`, `dwconv3`, `dwconv5`, `gconv3`, `gconv5`, `project_out`.
 */
export class MSFFN extends Block<ResolvedOptions<typeof OPTIONS>> {
  static className = 'restorekit>MSFFN';
  static override optionsSchema = OPTIONS;
  readonly hidden: number;
  readonly projectIn: Conv2d;
  readonly dw: [Conv2d, Conv2d];
  readonly gconv: [Conv2d, Conv2d];
  readonly projectOut: Conv2d;
  readonly sg: SimpleGate;
  /** The regrouped grouped-conv filters of the split-free form, kept between inference calls. */
  private readonly derived = new DerivedWeights();

  constructor(opts: MSFFNOptions & BlockArgs) {
    super(opts as never);
    const { channels: c, expansion, kernelSizes, bias } = this.options;
    const m = Math.trunc(c * expansion);
    if (m < 4 || m % 4)
      throw new ConfigError(
        `MSFFN: hidden width trunc(channels·expansion) = trunc(${c}·${expansion}) = ${m} must be a positive multiple of 4 (two SimpleGates, then halves)`,
      );
    this.hidden = m;
    const [k1, k2] = kernelSizes as [number, number];
    const conv = (i: number, o: number, k: number, groups = 1) =>
      new Conv2d({ inChannels: i, outChannels: o, kernelSize: k, padding: Math.floor(k / 2), groups, bias });
    this.projectIn = this.addChild('project_in', conv(c, m, 1));
    this.dw = [this.addChild(`dwconv${k1}`, conv(m, m, k1, m)), this.addChild(`dwconv${k2}`, conv(m, m, k2, m))];
    this.gconv = [this.addChild(`gconv${k1}`, conv(m / 2, m, k1, m / 2)), this.addChild(`gconv${k2}`, conv(m / 2, m, k2, m / 2))];
    this.projectOut = this.addChild('project_out', conv(m, c, 1));
    this.sg = this.addChild('sg', new SimpleGate());
  }

  override build(s: tfl.Shape): void {
    const m = this.hidden;
    this.buildChild(this.projectIn, s);
    for (const d of this.dw) this.buildChild(d, withChannels(s, m));
    for (const g of this.gconv) this.buildChild(g, withChannels(s, m / 2));
    this.buildChild(this.projectOut, withChannels(s, m));
    this.buildChild(this.sg, withChannels(s, m));
    this.built = true;
  }

  protected override expectedChannels() {
    return [this.options.channels];
  }

  forward(x: tf.Tensor, training: boolean): tf.Tensor {
    const [, xh, xw, xc] = x.shape as number[];
    if (prefers('depthwiseMultiplierOne') && xh! * xw! >= 8 * xc!) return this.forwardInHalves(x);
    const run = (l: tfl.layers.Layer, t: tf.Tensor) => this.run(l, t, training);
    const p = run(this.projectIn, x);
    const d3 = run(this.dw[0], p);
    const u3 = free(run(this.sg, d3), d3);
    const d5 = run(this.dw[1], p);
    const u5 = free(run(this.sg, d5), d5, p);
    const [, h, w, c] = x.shape as number[];
    if (prefers('weightHalves') && h! * w! >= 8 * c!) {
      // [q₃, q₅] = gconv(u₃-side) ⊙ gconv(u₅-side) with the grouped convs' filters regrouped by where their inputs come
      // from: u₃'s channels feed gconv₃ (first half) and gconv₅ (second half), u₅'s likewise, and each grouped conv's
      // first output half multiplies its second in the SimpleGate. So one depth-wise conv (multiplier 2) over u₃ and one
      // over u₅, the smaller kernel zero-padded to the larger (exact: the zeros add nothing), give q₃ and q₅ side by side
      // — no channel split of u₃ and u₅, no concat of their halves, of q₃ and q₅: slices and concats are slow copies on
      // cpu and wasm (five of them here against the extra taps of the padded kernel). Measured on wasm, A/B per call:
      // 104 → 51 ms at 128² × 16, 51 → 34 ms at 64² × 32, 13 → 9 ms at 32² × 64, but 3.2 → 7.0 ms at 16² × 128 (the
      // multiplier-2 depth-wise conv costs more than small copies there): taken where H·W ≥ 8·C.
      const [wa, wb, ba, bb] = this.crossedFilters();
      const pad = Math.max(...(this.options.kernelSizes as number[])) >> 1;
      const side = (u: tf.Tensor, w: tf.Tensor, b: tf.Tensor | null) =>
        free(
          tf.tidy(() => {
            const t = conv2d(u as tf.Tensor4D, w as tf.Tensor4D, { padding: pad, groups: u.shape[3]! });
            return b ? tf.add(t, b) : t;
          }),
          u,
        );
      const ga = side(u3, wa, ba);
      const gb = side(u5, wb, bb);
      const cat = free(tf.mul(ga, gb), ga, gb);
      return free(run(this.projectOut, cat), cat);
    }
    const q = this.hidden / 4;
    const fromU3 = splitChannels(u3, [q, q]);
    const fromU5 = splitChannels(u5, [q, q]);
    u3.dispose();
    u5.dispose();
    const a = concatChannels([fromU3[0]!, fromU5[0]!]);
    const b = concatChannels([fromU3[1]!, fromU5[1]!]);
    free(a, ...fromU3, ...fromU5);
    const g3 = run(this.gconv[0], a);
    const q3 = free(run(this.sg, g3), g3, a);
    const g5 = run(this.gconv[1], b);
    const q5 = free(run(this.sg, g5), g5, b);
    const cat = free(concatChannels([q3, q5]), q3, q5);
    return free(run(this.projectOut, cat), cat);
  }

  /**
   * The crossed form of `forward` in channel halves, for wasm (`prefers('depthwiseMultiplierOne')`): project_in as two
   * 1×1 convs (its output halves), each SimpleGate as the product of the depth-wise convs of the two halves (no channel
   * split: a JavaScript copy on wasm, 10 ms for a 256² × 64 tensor), and each multiplier-2 crossed conv as two
   * multiplier-1 ones, one per output j of each channel (tfjs-backend-wasm runs only multiplier-1 depth-wise convs
   * through XNNPACK's fast kernels: 46 → 2 × 9 ms at 256² × 32), so q comes as its even and odd channels, which
   * project_out takes through the matching rows of its weight (two 1×1 convs, summed). Same function; the weight parts
   * are kept between inference calls.
   */
  private forwardInHalves(x: tf.Tensor): tf.Tensor {
    const m = this.hidden;
    const half = m / 2;
    const d = this.derived;
    const cols = (t: tf.Tensor, from: number, n: number) =>
      tf.slice(
        t,
        t.shape.map((_, i) => (i === t.rank - 1 ? from : 0)),
        t.shape.map((s, i) => (i === t.rank - 1 ? n : s)),
      );
    /** conv2d of `input` with the derived weight `key` (plus the bias part, if any). */
    const convWith = (
      input: tf.Tensor,
      key: string,
      deps: tf.Tensor[],
      make: () => tf.Tensor,
      bias: (() => tf.Tensor) | null,
      opts?: { padding: number; groups: number },
    ) =>
      // (the bias inside the conv: core's conv2d fuses a dense conv's bias where the backend can)
      tf.tidy(() => conv2d(input as tf.Tensor4D, d.get(key, deps, make) as tf.Tensor4D, { ...opts, bias: bias ? (bias() as tf.Tensor1D) : undefined }));
    const wIn = this.projectIn.kernel.read();
    const bIn = this.projectIn.biasVar?.read() ?? null;
    const p = [0, 1].map((i) => convWith(x, `in-${i}`, [wIn], () => cols(wIn, i * half, half), bIn && (() => cols(bIn, i * half, half))));
    // u = SG(DW(p)) = DW(p)[:m/2] ⊙ DW(p)[m/2:], a depth-wise conv reading each channel alone
    const u = this.dw.map((dw, s) => {
      const w = dw.kernel.read();
      const b = dw.biasVar?.read() ?? null;
      const k = w.shape[0]!;
      const [a, c] = [0, 1].map((i) =>
        convWith(p[i]!, `dw-${s}-${i}`, [w], () => cols(w, i * half, half), b && (() => cols(b, i * half, half)), { padding: k >> 1, groups: half }),
      );
      return free(tf.mul(a!, c!), a!, c!);
    });
    tf.dispose(p);
    // the crossed convs (multiplier 2, output 2c + j reads input c) as one multiplier-1 conv per j
    const [wa, wb, ba, bb] = this.crossedFilters();
    const K = wa.shape[0]!;
    // outputs j, j + 2, … of the last axis: core evenOddChannels (one pass of restorekit's shuffle kernel on wasm, whose
    // 5-D strided Slice is a JavaScript loop: 2 ms per 5×5×128 filter in every training step)
    const outputJ = (t: tf.Tensor, j: number) => tf.tidy(() => evenOddChannels(t)[j]!);
    const wOut = this.projectOut.kernel.read(); // [1, 1, m, C]: rows 2c + j
    const q = [0, 1].map((j) => {
      const [ga, gb] = [
        [u[0]!, wa, ba, 'a'],
        [u[1]!, wb, bb, 'b'],
      ].map(([ut, w, b, side]) =>
        convWith(ut as tf.Tensor, `cross-${side}-${j}`, [w as tf.Tensor], () => outputJ(w as tf.Tensor, j), b ? () => outputJ(b as tf.Tensor, j) : null, {
          padding: K >> 1,
          groups: half,
        }),
      );
      return free(tf.mul(ga!, gb!), ga!, gb!);
    });
    tf.dispose(u);
    const rowsJ = (j: number) =>
      tf.reshape(tf.slice(tf.reshape(wOut, [half, 2, wOut.shape[3]!]), [0, j, 0], [half, 1, wOut.shape[3]!]), [1, 1, half, wOut.shape[3]!]);
    const bOut = this.projectOut.biasVar?.read() ?? null;
    const out = tf.tidy(() =>
      tf.add(
        ...([0, 1].map((j) =>
          conv2d(q[j] as tf.Tensor4D, d.get(`out-${j}`, [wOut], () => rowsJ(j)) as tf.Tensor4D, { bias: j === 0 && bOut ? (bOut as tf.Tensor1D) : undefined }),
        ) as [tf.Tensor, tf.Tensor]),
      ),
    );
    tf.dispose(q);
    return out;
  }

  /**
   * The grouped convs' filters regrouped by input (see `forward`): for u₃, gconv₃'s outputs 0..m/2 then gconv₅'s
   * 0..m/2; for u₅, the second halves; the smaller kernel zero-padded to the larger. Biases likewise. Kept between
   * inference calls (DerivedWeights).
   */
  private crossedFilters(): [tf.Tensor, tf.Tensor, tf.Tensor | null, tf.Tensor | null] {
    const [g3, g5] = this.gconv;
    const ks = this.options.kernelSizes as number[];
    const K = Math.max(...ks);
    const m = this.hidden;
    const k3 = g3.kernel.read();
    const k5 = g5.kernel.read();
    const padTo = (k: tf.Tensor, size: number) => {
      const e = (K - size) / 2;
      return e
        ? tf.pad(k, [
            [e, e],
            [e, e],
            [0, 0],
            [0, 0],
          ])
        : k;
    };
    const half = (k: tf.Tensor, size: number, i: number) => tf.slice(padTo(k, size), [0, 0, 0, i * (m / 2)], [K, K, 1, m / 2]);
    const d = this.derived;
    const wa = d.get('wa', [k3, k5], () => concatChannels([half(k3, ks[0]!, 0), half(k5, ks[1]!, 0)]));
    const wb = d.get('wb', [k3, k5], () => concatChannels([half(k3, ks[0]!, 1), half(k5, ks[1]!, 1)]));
    if (!g3.biasVar || !g5.biasVar) return [wa, wb, null, null];
    const b3 = g3.biasVar.read();
    const b5 = g5.biasVar.read();
    const bh = (b: tf.Tensor, i: number) => tf.slice(b, [i * (m / 2)], [m / 2]);
    const ba = d.get('ba', [b3, b5], () => tf.concat([bh(b3, 0), bh(b5, 0)], 0));
    const bb = d.get('bb', [b3, b5], () => tf.concat([bh(b3, 1), bh(b5, 1)], 0));
    return [wa, wb, ba, bb];
  }

  protected override releaseResources(): void {
    this.derived.dispose();
  }

  override computeOutputShape(s: tfl.Shape): tfl.Shape {
    return s;
  }
}
registerBlock(MSFFN);
