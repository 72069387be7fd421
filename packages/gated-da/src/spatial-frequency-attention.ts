import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import {
  ConfigError,
  Conv2d,
  DerivedWeights,
  constant,
  consume,
  conv2d,
  evenOddChannels,
  evenOddKernelRuns,
  free,
  matMul,
  ones,
  opt,
  prefers,
  registerBlock,
  type BlockArgs,
  type OptionSpec,
  type OptionsInput,
  type ResolvedOptions,
} from '@restorekit/core';
import * as fft from '@restorekit/fft';
import { FFTBlock } from '@restorekit/fft';
import { createPart, partConfig, partOption, qkvThirds, transposedAttention, weightSlicesPay } from '@restorekit/restormer';
import './gated-da.js';

/**
 * How the frequency half of the fusion is computed.
 * - 'identity' (default): F_att + F_gate. The official code's irfft2(rfft2(F_att) + rfft2(F_gate), s = (H, W)) has no
 *   spectral weights between the transforms; the DFT is linear and irfft2∘rfft2 is the identity, so this is the same
 *   function without the transforms (the official outputs and gradients are matched either way; AnyIR runs 20–25 %
 *   faster; the spec's own advice for a port, §3.9-a and §5.5).
 * - 'fft': the transforms written out with @restorekit/fft, the official code op by op (for studying or replacing the
 *   frequency step; equal to 'identity' within float rounding, ~1e-6).
 */
export type FrequencyBranch = 'fft' | 'identity';

const evenChannels: OptionSpec<number, false> = {
  expects: 'an even positive integer (Skip-Split gives half the channels to each pathway)',
  hasDefault: false,
  parse: (v) => (typeof v === 'number' && Number.isInteger(v) && v > 0 && v % 2 === 0 ? { ok: true, value: v } : { ok: false }),
};

const OPTIONS = {
  /** Channels C of the block (even): C/2 go to each pathway. */
  channels: evenChannels,
  /** Heads of the transposed attention on the even half; C/2 must be divisible by it. Default 1. */
  heads: opt.posInt(1),
  /** Bias on qkv, qkv_dwconv and project_out (AnyIR: false). The gate has its own (GatedDA never has one in the official code). */
  bias: opt.bool(false),
  /** Default 'identity' (the official function without its identity round trip through the DFT; 'fft' writes it out). */
  frequencyBranch: opt.enum(['fft', 'identity'] as const, 'identity'),
  /**
   * The gated pathway on the odd half (PyTorch child `gatedcnn`): a C/2 → C/2 block config, `channels` filled in.
   * Default AnyIR's `{ type: 'GatedDA' }` (expansion 8/3, kernel 7, no bias, BatchNorm 'batch'); e.g.
   * `gate: { batchNorm: 'frozen' }` keeps its BatchNorm on running statistics in training.
   */
  gate: partOption({ type: 'GatedDA' }),
};
export type SpatialFrequencyAttentionOptions = OptionsInput<typeof OPTIONS>;

/**
 * AnyIR's attention (official `Attention` in net/anyir.py): interleaved Skip-Split of the C channels
 * (even → Restormer's transposed multi-head attention without output projection — `transposedAttention` of
 * @restorekit/restormer, the one MDTA uses — odd → the gate, GatedDA), then the spatial-frequency fusion
 * F = λ·F_s + (1 − λ)·F_f with F_s = [F_att + σ(F_gate), F_gate + σ(F_att)] (block concat, attention half first) and
 * F_f = repeat_interleave₂(irfft2(rfft2(F_att) + rfft2(F_gate))), λ a free learnable scalar (init 0.5);
 * output project_out(F). PyTorch keys: `temperature`, `lam`, `qkv.*`, `qkv_dwconv.*`, `gatedcnn.*`, `project_out.*`.
 * An `FFTBlock` (@restorekit/fft): the DFT bases its 'fft' branch caches are freed when it is disposed.
 */
export class SpatialFrequencyAttention extends FFTBlock<ResolvedOptions<typeof OPTIONS>> {
  static className = 'restorekit>SpatialFrequencyAttention';
  static override optionsSchema = OPTIONS;
  temperature!: tfl.LayerVariable;
  lam!: tfl.LayerVariable;
  readonly half: number;
  private readonly qkv: Conv2d;
  private readonly qkvDwconv: Conv2d;
  readonly gatedcnn: tfl.layers.Layer;
  private readonly projectOut: Conv2d;
  /** Weights derived for the product form of the Skip-Split, kept between inference calls. */
  private readonly derived = new DerivedWeights();

  constructor(opts: SpatialFrequencyAttentionOptions & BlockArgs) {
    super(opts as never);
    const { channels, heads, bias, gate } = this.options;
    this.half = channels / 2;
    const h = this.half;
    if (h % heads) throw new ConfigError(`SpatialFrequencyAttention: channels/2 = ${h} must be divisible by heads = ${heads}`);
    this.qkv = this.addChild('qkv', new Conv2d({ inChannels: h, outChannels: 3 * h, kernelSize: 1, bias }));
    this.qkvDwconv = this.addChild('qkv_dwconv', new Conv2d({ inChannels: 3 * h, outChannels: 3 * h, kernelSize: 3, padding: 1, groups: 3 * h, bias }));
    // Official code: GatedDegradationAdaption(dim=half_dim, expansion_ratio=8/3, kernel_size=7) — bias stays False whatever `bias` is.
    this.gatedcnn = this.addChild('gatedcnn', createPart('SpatialFrequencyAttention', 'gate', gate, h));
    this.projectOut = this.addChild('project_out', new Conv2d({ inChannels: channels, outChannels: channels, kernelSize: 1, bias }));
  }

  override build(s: tfl.Shape): void {
    const h = this.half;
    const halfShape: tfl.Shape = [s[0]!, s[1]!, s[2]!, h];
    this.temperature = this.addTorchWeight('temperature', [this.options.heads, 1, 1], ones());
    this.lam = this.addTorchWeight('lam', [], constant(0.5));
    this.buildChild(this.qkv, halfShape);
    this.buildChild(this.qkvDwconv, [s[0]!, s[1]!, s[2]!, 3 * h]);
    this.buildChild(this.gatedcnn, halfShape);
    this.buildChild(this.projectOut, s);
    super.build(s); // FFTBlock: a user of the DFT-basis cache until disposed
  }

  protected override expectedChannels() {
    return [this.options.channels];
  }

  /**
   * irfft2(rfft2(a) + rfft2(g), s = (H, W)) over the spatial axes (PyTorch's default 'backward' norm), computed as
   * irfft2(rfft2(a + g)): the DFT is linear, so the sum moves before the transform — two transforms instead of three,
   * the same function and gradients (to float rounding; checked against the official outputs by the fixtures).
   */
  private frequencySum(a: tf.Tensor, g: tf.Tensor): tf.Tensor {
    const sum = tf.add(a, g);
    if (this.options.frequencyBranch === 'identity') return sum;
    const [, hh, ww] = a.shape as number[];
    const spectrum = fft.rfft2(sum as tf.Tensor4D, { norm: 'backward' });
    sum.dispose();
    return fft.irfft2(spectrum, { size: [hh!, ww!], norm: 'backward' });
  }

  forward(x: tf.Tensor, training: boolean): tf.Tensor {
    const [b, hh, ww, c] = x.shape as [number, number, number, number];
    const h = this.half;
    // Skip-Split: x[:, 0::2] (even channels) → attention, x[:, 1::2] (odd) → the gate.
    let qkv: tf.Tensor | [tf.Tensor, tf.Tensor, tf.Tensor];
    let xGate: tf.Tensor;
    const product = prefers('stridedSliceAsProduct');
    // As MDTA on wasm: where the image has pixels enough, q, k and v come from thirds of the (widened) qkv and the
    // qkv_dwconv weights as three NHWC tensors, which `transposedAttention` takes as they are: no transpose and slices
    // of a 3h-channel qkv (24 ms of them per block at 256², the official AnyIR 4.79 → 4.59 s). On tensorflow the
    // thirds measured no faster than one conv and a split (792 vs 797 ms). The weight thirds are kept between
    // inference calls.
    const thirds = product && prefers('xnnpackForms') && weightSlicesPay(b * hh * ww, 3 * h * c);
    const d = this.derived;
    const qkvBias = this.qkv.biasVar?.read() ?? null;
    // core evenOddChannels: on wasm restorekit's kernel splits even from odd channels in one pass (qkv then reads h
    // channels with its own weights, and the gate needs no 0/1 product: both cost ~2× the split's time in products);
    // elsewhere slices. Wasm without the kernel takes the products below.
    if (!product || evenOddKernelRuns(x)) {
      const [xAtt, xOdd] = evenOddChannels(x);
      if (thirds) {
        qkv = qkvThirds(xAtt, this.qkv, this.qkvDwconv, d);
        xAtt.dispose();
      }
      // Each stage's tensors are freed once the next has them (peak memory; tfjs keeps what backprop needs).
      else
        qkv = consume(
          consume(xAtt, (t) => this.run(this.qkv, t, training)),
          (t) => this.run(this.qkvDwconv, t, training),
        );
      xGate = xOdd;
    } else {
      // (wasm without restorekit's kernels) A strided channel slice is a scalar loop on wasm (34 ms for one at 128²,
      // C = 56; a fifth of the official AnyIR's time went to them). Here the selection is a product: qkv's 1×1 weight
      // W [h, 3h] is widened to [C, 3h] with W[k] at row 2k and zeros at the odd rows (the same sums: the zero rows add
      // exact zeros), and the gate's input is x times a 0/1 matrix picking the odd channels. Both derived weights are cached between inference calls.
      const k = this.qkv.kernel.read();
      const widen = (w: tf.Tensor, n: number) => tf.reshape(tf.concat([tf.reshape(w, [h, 1, n]), tf.zeros([h, 1, n])], 1), [1, 1, c, n]);
      // (A host-built 0/1 matrix: tfjs-backend-wasm's OneHot writes integer bits into a float32 output.)
      const pickOdd = d.get('odd-channels', [], () => {
        const m = new Float32Array(c * h);
        for (let j = 0; j < h; j++) m[(2 * j + 1) * h + j] = 1; // row 2j + 1 (input channel), column j
        return tf.tensor4d(m, [1, 1, c, h]);
      });
      if (thirds)
        qkv = qkvThirds(x, this.qkv, this.qkvDwconv, d, (i) =>
          d.get(`qkv-even-rows-third-${i}`, [k], () => widen(tf.slice(k, [0, 0, 0, i * h], [-1, -1, -1, h]), h)),
        );
      else {
        const widened = d.get('qkv-even-rows', [k], () => widen(k, 3 * h));
        const whole = tf.tidy(() => {
          const t = conv2d(x as tf.Tensor4D, widened as tf.Tensor4D);
          return qkvBias ? tf.add(t, qkvBias) : t;
        });
        qkv = consume(whole, (t) => this.run(this.qkvDwconv, t, training));
      }
      xGate = conv2d(x as tf.Tensor4D, pickOdd as tf.Tensor4D);
    }
    const fAtt = transposedAttention(qkv, this.temperature.read(), this.options.heads, { consumeQkv: true });
    const fGate = consume(xGate, (t) => this.run(this.gatedcnn, t, training));
    // The fusion folded into project_out (a 1×1 conv, W [C_in, C_out], bias b). With A₁ = F_att + σ(F_gate) and
    // A₂ = F_gate + σ(F_att) (F_s = [A₁, A₂], attention half first), F = irfft2(rfft2(F_att) + rfft2(F_gate)) (F_f =
    // repeat_interleave₂(F): input channels 2j and 2j+1 both hold F_j), W₁ = W[:h], W₂ = W[h:], W' = W[0::2] + W[1::2]:
    //   project_out(λ·F_s + (1 − λ)·F_f) = A₁·(λW₁) + A₂·(λW₂) + F·((1 − λ)W') + b,
    // three h → C products instead of a channel concat, an interleave (each a copy of a [B,H,W,C] tensor) and four
    // element-wise passes before one C → C product. Same function and gradients (to float rounding).
    const n = b * hh * ww;
    const flat = (t: tf.Tensor) => tf.reshape(t, [n, h]) as tf.Tensor2D;
    const a1 = tf.tidy(() => flat(tf.add(fAtt, tf.sigmoid(fGate))));
    const a2 = tf.tidy(() => flat(tf.add(fGate, tf.sigmoid(fAtt))));
    const f = free(
      tf.tidy(() => flat(this.frequencySum(fAtt, fGate))),
      fAtt,
      fGate,
    );
    return free(
      tf.tidy(() => {
        const lam = this.lam.read();
        const w = tf.reshape(this.projectOut.kernel.read(), [c, c]);
        const w1 = tf.mul(tf.slice(w, [0, 0], [h, c]), lam);
        const w2 = tf.mul(tf.slice(w, [h, 0], [h, c]), lam);
        const wPairs = tf.mul(tf.sum(tf.reshape(w, [h, 2, c]), 1), tf.sub(1, lam));
        let y = tf.add(tf.add(matMul(a1, w1 as tf.Tensor2D), matMul(a2, w2 as tf.Tensor2D)), matMul(f, wPairs as tf.Tensor2D));
        const bias = this.projectOut.biasVar;
        if (bias) y = tf.add(y, bias.read());
        return tf.reshape(y, [b, hh, ww, c]);
      }),
      a1,
      a2,
      f,
    );
  }

  protected override releaseResources(): void {
    super.releaseResources();
    this.derived.dispose();
  }

  /** The resolved options, with the gate's complete config (see `partConfig`). */
  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), gate: partConfig(this.gatedcnn) } as tf.serialization.ConfigDict;
  }

  override computeOutputShape(s: tfl.Shape): tfl.Shape {
    return s;
  }
}
registerBlock(SpatialFrequencyAttention);
