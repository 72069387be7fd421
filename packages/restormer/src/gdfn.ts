import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import {
  Block,
  ConfigError,
  Conv2d,
  DerivedWeights,
  conv2d,
  free,
  gelu,
  geluOfHalved,
  getSettings,
  opt,
  prefers,
  registerBlock,
  type BlockArgs,
  type OptionsInput,
  type ResolvedOptions,
  splitChannels,
} from '@restorekit/core';

/** The gate's activation: exact (erf) GELU as Restormer, ReLU, or SiLU (swish, x·σ(x)). */
export type GDFNActivation = 'gelu' | 'relu' | 'silu';

const ACTIVATIONS: Record<GDFNActivation, (t: tf.Tensor) => tf.Tensor> = {
  gelu: (t) => gelu(t),
  relu: (t) => tf.relu(t),
  silu: (t) => tf.tidy(() => tf.mul(t, tf.sigmoid(t))),
};

const OPTIONS = {
  /** Channels C. */
  channels: opt.posInt(),
  /** Expansion γ; hidden width = trunc(C·γ) (Python `int()`). Restormer 2.66, AnyIR 2. Default 2.66. */
  expansion: opt.number({ min: 0, exclusiveMin: true }, 2.66),
  /** Bias on the three convs (Restormer uses false). Default false. */
  bias: opt.bool(false),
  /** Activation of the gated half. Default 'gelu' (exact erf GELU, PyTorch's F.gelu, as the official code). */
  activation: opt.enum(['gelu', 'relu', 'silu'] as const, 'gelu'),
};
export type GDFNOptions = OptionsInput<typeof OPTIONS>;

/**
 * Whether computing parts of a 1×1 conv's output from slices of its weight (GDFN's halves, MDTA's thirds) beats one
 * conv and channel slices of its output, for an activation of `rows` pixels (B·H·W) and a weight of `weightElements`.
 * Where core `prefers('weightHalves')` it does, except that on wasm (`prefers('xnnpackForms')`) XNNPACK packs a weight
 * it has not seen before on every call (~5 ns an element; a slice is a new tensor each forward) while a channel slice of
 * the activation costs a copy per pixel row: below about one pixel per 500 weight elements (Restormer's level 4 at
 * 128², 16×16 pixels and a 384×2042 weight: the whole GDFN 26 % faster with one conv) the weights are left whole.
 */
export function weightSlicesPay(rows: number, weightElements: number): boolean {
  if (!prefers('weightHalves')) return false;
  return !prefers('xnnpackForms') || rows * 500 >= weightElements;
}

/** Hidden width of the GDFN: Python's `int(dim * ffn_expansion_factor)` (truncation, e.g. 48·2.66 → 127). */
export function gdfnHidden(channels: number, expansion: number): number {
  return Math.trunc(channels * expansion);
}

/**
 * Gated-Dconv Feed-Forward Network (Restormer's `FeedForward`): z = DW3×3(1×1 C→2h (x)),
 * out = 1×1 h→C (act(z₁) ⊙ z₂) with z₁ the first h channels and act the exact (erf) GELU by default.
 * PyTorch keys: `project_in.weight`, `dwconv.weight`, `project_out.weight`.
 *
 * Memory: a hidden activation (B·H·W·2h float32) larger than the runtime setting `maxHiddenBytes`
 * (`configure({ maxHiddenBytes })` in @restorekit/core, read at each forward; default 128 MiB, 0 never chunks) is
 * computed in chunks of hidden channels: each chunk's project_in columns, depthwise conv and gate, then its share
 * of project_out, summed. Same function (only the order of project_out's sum changes, ~1e-7 relative), same
 * gradients; the working set drops from three or four tensors of 2h channels to about twice that many bytes.
 */
export class GDFN extends Block<ResolvedOptions<typeof OPTIONS>> {
  static className = 'restorekit>GDFN';
  static override optionsSchema = OPTIONS;
  readonly hidden: number;
  readonly projectIn: Conv2d;
  readonly dwconv: Conv2d;
  readonly projectOut: Conv2d;
  /** The weights with 1/√2 folded in for the GELU (see `forward`), kept between inference calls. */
  private readonly derived = new DerivedWeights();

  constructor(opts: GDFNOptions & BlockArgs) {
    super(opts as never);
    const { channels, expansion, bias } = this.options;
    const h = gdfnHidden(channels, expansion);
    if (h < 1) throw new ConfigError(`GDFN: hidden width trunc(${channels}·${expansion}) = ${h} must be at least 1`);
    this.hidden = h;
    this.projectIn = this.addChild('project_in', new Conv2d({ inChannels: channels, outChannels: 2 * h, kernelSize: 1, bias }));
    this.dwconv = this.addChild('dwconv', new Conv2d({ inChannels: 2 * h, outChannels: 2 * h, kernelSize: 3, padding: 1, groups: 2 * h, bias }));
    this.projectOut = this.addChild('project_out', new Conv2d({ inChannels: h, outChannels: channels, kernelSize: 1, bias }));
  }

  override build(s: tfl.Shape): void {
    const mid = this.projectIn.computeOutputShape(s) as tfl.Shape;
    this.buildChild(this.projectIn, s);
    this.buildChild(this.dwconv, mid);
    this.buildChild(this.projectOut, [s[0]!, s[1]!, s[2]!, this.hidden]);
    this.built = true;
  }

  protected override expectedChannels() {
    return [this.options.channels];
  }

  /** How many chunks of hidden channels a forward over `shape` runs in under the current `maxHiddenBytes` setting (1: the whole block at once). */
  chunksFor(shape: readonly number[]): number {
    const limit = getSettings().maxHiddenBytes;
    const bytes = shape[0]! * shape[1]! * shape[2]! * 2 * this.hidden * 4;
    return limit === 0 ? 1 : Math.min(this.hidden, Math.ceil(bytes / limit));
  }

  /**
   * The block in `n` chunks of hidden channels [a, a+c) (n = 1: all of them at once). A chunk needs project_in's
   * output channels a..a+c (the activated side, z₁) and h+a..h+a+c (the gate side, z₂), the same depthwise channels,
   * and project_out's input rows a..a+c; the chunks' project_out shares are summed. Where core `prefers('weightHalves')`
   * (cpu, wasm), z₁ and z₂ come from halves of the weights (two convs each), because slicing an activation's channels
   * is a slow generic copy there (on cpu a split of the 254-channel activation cost more than all the block's convs),
   * except on wasm for images with few pixels per weight element (`weightSlicesPay`). Elsewhere one conv over both
   * halves and a split is as fast or faster (on webgl the halves made the whole block 14% slower;
   * benchmarks/results/ops.md).
   */
  forward(x: tf.Tensor, _training: boolean): tf.Tensor {
    const n = this.chunksFor(x.shape);
    const h = this.hidden;
    const step = Math.ceil(h / n);
    // The exact GELU as √2·gelu(z₁) = core's geluOfHalved(h) of h = z₁/√2, with 1/√2 folded into the depthwise conv's
    // first-half weights (the last linear op before it) and into project_out: 3 element-wise passes over z₁ instead of 5
    // (on tensorflow the official AnyIR's 256² forward had 14 ms of scalar multiplies at level 1 alone; on wasm, with
    // spread-out activations, 17 as before). The derived weights are kept between inference calls.
    const prescale = this.options.activation === 'gelu';
    const act = prescale ? geluOfHalved : ACTIVATIONS[this.options.activation];
    const fromWeightHalves = weightSlicesPay(x.shape[0]! * x.shape[1]! * x.shape[2]!, x.shape[3]! * 2 * step);
    const wIn = this.projectIn.kernel.read() as tf.Tensor4D; // [1, 1, C, 2h]
    const wDw0 = this.dwconv.kernel.read() as tf.Tensor4D; // [3, 3, 1, 2h]
    const wOut0 = this.projectOut.kernel.read() as tf.Tensor4D; // [1, 1, h, C]
    const bIn = this.projectIn.biasVar?.read();
    const bDw0 = this.dwconv.biasVar?.read();
    const bOut = this.projectOut.biasVar?.read();
    const d = this.derived;
    const halveFirst = (t: tf.Tensor) =>
      tf.concat(
        [
          tf.mul(
            tf.slice(
              t,
              t.shape.map(() => 0),
              [...t.shape.slice(0, -1), h],
            ),
            Math.SQRT1_2,
          ),
          tf.slice(
            t,
            t.shape.map((_, i) => (i === t.rank - 1 ? h : 0)),
            [...t.shape.slice(0, -1), h],
          ),
        ],
        -1,
      );
    const wDw = prescale ? (d.get('dwconv-halved', [wDw0], () => halveFirst(wDw0)) as tf.Tensor4D) : wDw0;
    const bDw = prescale && bDw0 ? d.get('dwconv-bias-halved', [bDw0], () => halveFirst(bDw0)) : bDw0;
    const wOut = prescale ? (d.get('project-out-halved', [wOut0], () => tf.mul(wOut0, Math.SQRT1_2)) as tf.Tensor4D) : wOut0;
    // Each intermediate is freed once consumed (tidies catch the small weight slices).
    // Channels start..start+c of a weight's last axis (fresh begin/size arrays per slice: tfjs keeps the
    // attribute arrays for the gradient, so mutating one after the call would move that slice's gradient).
    const cols = (t: tf.Tensor, start: number, c: number) =>
      tf.slice(
        t,
        t.shape.map((_, i) => (i === t.rank - 1 ? start : 0)),
        t.shape.map((d, i) => (i === t.rank - 1 ? c : d)),
      );
    // project_in then the depthwise conv, with the weight channels `pick` selects (`channels` of them).
    const stack = (pick: (t: tf.Tensor) => tf.Tensor, channels: number) =>
      tf.tidy(() => {
        const zIn = conv2d(x as tf.Tensor4D, pick(wIn) as tf.Tensor4D);
        const z = bIn ? free(tf.add(zIn, pick(bIn)), zIn) : zIn;
        const zDw = conv2d(z as tf.Tensor4D, pick(wDw) as tf.Tensor4D, { padding: 1, groups: channels });
        return bDw ? free(tf.add(zDw, pick(bDw)), z, zDw) : free(zDw, z);
      });
    // act(z₁)·z₂ for hidden channels a..a+c.
    const gate = (a: number, c: number) => {
      if (fromWeightHalves) {
        const g1 = tf.tidy(() => act(stack((t) => cols(t, a, c), c)));
        const z2 = stack((t) => cols(t, h + a, c), c);
        return free(tf.mul(g1, z2), g1, z2);
      }
      const z = stack((t) => (c === h ? t : tf.concat([cols(t, a, c), cols(t, h + a, c)], -1)), 2 * c);
      const [z1, z2] = splitChannels(z, 2) as [tf.Tensor, tf.Tensor];
      z.dispose();
      const g1 = free(act(z1), z1);
      return free(tf.mul(g1, z2), g1, z2);
    };
    let acc: tf.Tensor | null = null;
    for (let a = 0; a < h; a += step) {
      const c = Math.min(step, h - a);
      const part = tf.tidy(() => conv2d(gate(a, c) as tf.Tensor4D, c === h ? wOut : tf.slice(wOut, [0, 0, a, 0], [1, 1, c, wOut.shape[3]])));
      acc = acc === null ? part : free(tf.add(acc, part), acc, part);
    }
    return bOut ? free(tf.add(acc!, bOut), acc) : acc!;
  }

  protected override releaseResources(): void {
    this.derived.dispose();
  }

  override computeOutputShape(s: tfl.Shape): tfl.Shape {
    return s;
  }
}
registerBlock(GDFN);
