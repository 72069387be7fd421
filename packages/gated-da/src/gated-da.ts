import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import {
  BatchNorm2d,
  Block,
  ConfigError,
  Conv2d,
  DerivedWeights,
  conv2d,
  matMul,
  ones,
  prefers,
  opt,
  registerBlock,
  type BlockArgs,
  type OptionSpec,
  type OptionsInput,
  type ResolvedOptions,
  spatialMean,
  concatChannels,
  splitChannels,
} from '@restorekit/core';

/** How GatedDA's BatchNorm behaves in training: 'batch' (PyTorch default: batch statistics, running stats updated) or 'frozen' (always running statistics, never updated). */
export type BatchNormMode = 'batch' | 'frozen';

const oddKernel = (dflt: number): OptionSpec<number, true> => ({
  expects: 'an odd positive integer (padding k//2 keeps the size)',
  hasDefault: true,
  defaultValue: dflt,
  parse: (v) => (typeof v === 'number' && Number.isInteger(v) && v > 0 && v % 2 === 1 ? { ok: true, value: v } : { ok: false }),
});

const OPTIONS = {
  /** Input and output channels C (AnyIR feeds it the odd half of a DAB's channels). */
  channels: opt.posInt(),
  /**
   * The official `expansion_ratio` r: W_exp expands C → round(r·C) channels (Python rounding), split into γ (C),
   * β (C) and α (the rest), so it must exceed 2. Default 8/3.
   */
  expansion: opt.number({ min: 2, exclusiveMin: true }, 8 / 3),
  /** Kernel of the depthwise W_depth on α (odd). Default 7. */
  kernelSize: oddKernel(7),
  /** Bias in the four 1×1 / depthwise convs. The official Attention never passes one: default false. */
  bias: opt.bool(false),
  /** ε inside σ = sqrt(var + ε) of the adaptive temperature. Default 1e-6. */
  eps: opt.number({ min: 0, exclusiveMin: true }, 1e-6),
  /** BatchNorm ε. Default 1e-5. */
  normEps: opt.number({ min: 0, exclusiveMin: true }, 1e-5),
  /** BatchNorm PyTorch momentum. Default 0.1. */
  normMomentum: opt.number({ min: 0, max: 1 }, 0.1),
  /** Training behaviour of the BatchNorm (default 'batch', as PyTorch's train()). */
  batchNorm: opt.enum(['batch', 'frozen'] as const, 'batch'),
};
export type GatedDAOptions = OptionsInput<typeof OPTIONS>;

/** Channel widths of a GatedDA: hidden = round(expansion·C) (Python round-half-even), α = hidden − 2C. */
export function gatedDAWidths(channels: number, expansion = 8 / 3): { hidden: number; alpha: number } {
  const hidden = roundHalfEven(expansion * channels);
  return { hidden, alpha: hidden - 2 * channels };
}

function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/**
 * Gated Degradation Adaptation (AnyIR's `GatedDegradationAdaption`, paper Algorithm 1), NHWC:
 * F̂ = BN(F); μ, σ = per-sample spatial mean / std of F̂ (σ = sqrt(biased var + ε));
 * τ_adj = τ·sigmoid(μ + σ); [γ, β, α] = W_exp(F̂); α′ = W_depth(α)·(1 + τ_adj[:a]);
 * F_gate = sigmoid(γ)·W_gate([β, α′]); output W_proj(F_gate + F) with F the block input.
 */
export class GatedDA extends Block<ResolvedOptions<typeof OPTIONS>> {
  static className = 'restorekit>GatedDA';
  /** A repeated unit: `setRecompute(model)` checkpoints it (see @restorekit/core's setRecompute). */
  static override recomputeUnit = true;
  static override optionsSchema = OPTIONS;
  readonly hidden: number;
  readonly alpha: number;
  tau!: tfl.LayerVariable;
  private readonly norm: BatchNorm2d;
  private readonly wExp: Conv2d;
  private readonly wDepth: Conv2d;
  private readonly wGate: Conv2d;
  private readonly wProj: Conv2d;
  /** Products and parts of the weights for `gateFromWeightParts`, kept between inference calls. */
  private readonly derived = new DerivedWeights();

  constructor(opts: GatedDAOptions & BlockArgs) {
    super(opts as never);
    const o = this.options;
    const c = o.channels;
    const k = o.kernelSize;
    ({ hidden: this.hidden, alpha: this.alpha } = gatedDAWidths(c, o.expansion));
    if (this.alpha < 1) throw new ConfigError(`GatedDA: expansion ${o.expansion} leaves no α channels for ${c} channels (hidden ${this.hidden})`);
    const bias = o.bias;
    // PyTorch registration order: norm, W_exp, W_depth, W_gate, W_proj, tau.
    this.norm = this.addChild('norm', new BatchNorm2d({ channels: c, eps: o.normEps, momentum: o.normMomentum }));
    this.wExp = this.addChild('W_exp', new Conv2d({ inChannels: c, outChannels: this.hidden, kernelSize: 1, bias }));
    this.wDepth = this.addChild(
      'W_depth',
      new Conv2d({ inChannels: this.alpha, outChannels: this.alpha, kernelSize: k, padding: Math.floor(k / 2), groups: this.alpha, bias }),
    );
    this.wGate = this.addChild('W_gate', new Conv2d({ inChannels: c + this.alpha, outChannels: c, kernelSize: 1, bias }));
    this.wProj = this.addChild('W_proj', new Conv2d({ inChannels: c, outChannels: c, kernelSize: 1, bias }));
  }

  override build(s: tfl.Shape): void {
    const c = this.options.channels;
    const [b, h, w] = s;
    this.buildChild(this.norm, s);
    this.buildChild(this.wExp, s);
    this.buildChild(this.wDepth, [b!, h!, w!, this.alpha]);
    this.buildChild(this.wGate, [b!, h!, w!, c + this.alpha]);
    this.buildChild(this.wProj, s);
    // τ keeps PyTorch's shape [1, C, 1, 1]; init 1.
    this.tau = this.addTorchWeight('tau', [1, c, 1, 1], ones());
    this.built = true;
  }

  protected override expectedChannels() {
    return [this.options.channels];
  }

  forward(x: tf.Tensor, training: boolean): tf.Tensor {
    const c = this.options.channels;
    const a = this.alpha;
    const eps = this.options.eps;
    const bnTraining = training && this.options.batchNorm === 'batch';
    const fHat = this.run(this.norm, x, bnTraining);
    // Per-sample, per-channel spatial statistics (biased variance).
    const mu = spatialMean(fHat as tf.Tensor4D);
    const variance = spatialMean(tf.square(tf.sub(fHat, mu)) as tf.Tensor4D);
    const sigma = tf.sqrt(tf.add(variance, eps));
    const tauAdj = tf.mul(tf.reshape(this.tau.read(), [1, 1, 1, c]), tf.sigmoid(tf.add(mu, sigma))); // [B,1,1,C]
    // Official code: repeat τ_adj along channels ceil(a/C) times and keep the first a (a < C at every AnyIR width, so τ_adj[:a]).
    const reps = Math.ceil(a / c);
    const tauAlpha = a === c ? tauAdj : tf.slice(reps > 1 ? tf.tile(tauAdj, [1, 1, 1, reps]) : tauAdj, [0, 0, 0, 0], [-1, -1, -1, a]);
    if (prefers('weightHalves')) return this.run(this.wProj, tf.add(this.gateFromWeightParts(fHat, tauAlpha, training), x), training);
    const fPrime = this.run(this.wExp, fHat, training);
    const [gamma, beta, alpha] = splitChannels(fPrime, [c, c, a]) as [tf.Tensor, tf.Tensor, tf.Tensor];
    const alphaDw = this.run(this.wDepth, alpha, training);
    const alphaPrime = tf.mul(alphaDw, tf.add(tauAlpha, 1));
    const fGate = tf.mul(tf.sigmoid(gamma), this.run(this.wGate, concatChannels([beta, alphaPrime]), training));
    // The residual adds the block input (not the BN output); W_proj comes after the residual.
    return this.run(this.wProj, tf.add(fGate, x), training);
  }

  /**
   * F_gate from parts of the weights, without the channel split of W_exp's output and the concat before W_gate (each
   * a copy of a full-size tensor; on wasm the split of a 256² × 75 activation took 18 ms, more than W_exp itself):
   * γ and α from W_exp's column blocks; β goes only through W_gate's first C rows, so W_gate(β) is one C → C conv
   * of F̂ with W_exp^β·W_gate^β (bias b_exp^β·W_gate^β). The same function (to float rounding); the products of
   * weights are kept between inference calls.
   */
  private gateFromWeightParts(fHat: tf.Tensor, tauAlpha: tf.Tensor, training: boolean): tf.Tensor {
    const c = this.options.channels;
    const a = this.alpha;
    const d = this.derived;
    const we = this.wExp.kernel.read();
    const wg = this.wGate.kernel.read();
    const be = this.wExp.biasVar?.read() ?? null;
    const bg = this.wGate.biasVar?.read() ?? null;
    const cols = (w: tf.Tensor, from: number, n: number) => tf.slice(w, [0, 0, 0, from], [1, 1, -1, n]);
    const wGamma = d.get('gamma', [we], () => cols(we, 0, c));
    const wAlpha = d.get('alpha', [we], () => cols(we, 2 * c, a));
    const wBetaGate = d.get('beta-gate', [we, wg], () =>
      tf.reshape(matMul(tf.reshape(cols(we, c, c), [c, c]) as tf.Tensor2D, tf.reshape(tf.slice(wg, [0, 0, 0, 0], [1, 1, c, c]), [c, c]) as tf.Tensor2D), [
        1,
        1,
        c,
        c,
      ]),
    );
    const wAlphaGate = d.get('alpha-gate', [wg], () => tf.slice(wg, [0, 0, c, 0], [1, 1, a, c]));
    // (biases inside the convs: core's conv2d fuses them where the backend can)
    const part = (from: number, n: number) => (be ? (tf.slice(be, [from], [n]) as tf.Tensor1D) : undefined);
    const gamma = conv2d(fHat as tf.Tensor4D, wGamma as tf.Tensor4D, { bias: part(0, c) });
    const alpha = conv2d(fHat as tf.Tensor4D, wAlpha as tf.Tensor4D, { bias: part(2 * c, a) });
    const alphaPrime = tf.mul(this.run(this.wDepth, alpha, training), tf.add(tauAlpha, 1));
    const bias =
      be || bg
        ? d.get('gate-bias', [we, wg, ...(be ? [be] : []), ...(bg ? [bg] : [])], () => {
            const fromBeta = be
              ? tf.reshape(
                  matMul(
                    tf.reshape(tf.slice(be, [c], [c]), [1, c]) as tf.Tensor2D,
                    tf.reshape(tf.slice(wg, [0, 0, 0, 0], [1, 1, c, c]), [c, c]) as tf.Tensor2D,
                  ),
                  [c],
                )
              : null;
            return fromBeta && bg ? tf.add(fromBeta, bg) : (fromBeta ?? bg!);
          })
        : null;
    const gateIn = tf.add(
      conv2d(fHat as tf.Tensor4D, wBetaGate as tf.Tensor4D, { bias: (bias as tf.Tensor1D | null) ?? undefined }),
      conv2d(alphaPrime as tf.Tensor4D, wAlphaGate as tf.Tensor4D),
    );
    return tf.mul(tf.sigmoid(gamma), gateIn);
  }

  protected override releaseResources(): void {
    this.derived.dispose();
  }

  override computeOutputShape(s: tfl.Shape): tfl.Shape {
    return s;
  }
}
registerBlock(GatedDA);
