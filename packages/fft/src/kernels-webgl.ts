/**
 * The DFT-pass kernel for webgl on *packed* textures (kernels.ts has the idea; this is its webgl form).
 *
 * tfjs's packed webgl textures hold a 2×2 block of the last two dims per RGBA texel. Complex values
 * are laid out as the tensor's shape with a 2 (re, im) inserted before the last dim:
 *   [..., W, 2, C]  →  one texel = (re, im) × (channel c, c+1) at one position,
 * so a single fetch gives two complex inputs and a texel of output is two complex values: every fetched
 * value is used, no output is computed twice, and the re/im parts of a complex product are vec2
 * operations over two channels. A stage along any axis (but the last) views the tensor, without moving
 * data, as
 *   complex [pre, L, mid, 2, last]     real [pre, L, last] (mid = 1)  or  [pre, L, mid, last]
 * and one pass computes, for every output position, a P- or Q-tap sum (four-step, see kernels.ts):
 *   pass A: out[k1·Q + n2] = Σ_{j<P} x[Q·j + n2]·e^{s·i·2π·k1·(Q·j + n2)/N}
 *   pass B: out[k1 + P·k2] = Σ_{j<Q} y[k1·Q + j]·e^{s·i·2π·j·k2/Q}
 * Twiddles come from a rotation recurrence re-anchored every 8 taps with an exact value from the host's
 * float64 table (m = n·k mod N), so the twiddle texture is read once per 8 taps. (In-shader sin/cos is
 * not accurate enough on SwiftShader: it put the transform ~6e-4 of the output's max off.)
 * Complex inputs are read with texelFetch at a texel index walked by a constant stride per tap, which
 * spares the sampler's per-fetch divisions.
 *
 * Conversions: `stackParts` / `takePart` between { re, im } tensors and the [..., 2, last] layout
 * (one light pass each). Every op here is wrapped in tf.customGrad with its exact adjoint. Padding
 * components of packed texels stay zero when the input's are (every op here is linear; rows past the
 * end are written as 0).
 */
import * as tf from '@tensorflow/tfjs-core';
import { stageWithAdjoint, type KernelStage, type PassSpec } from './kernels.js';
import { twiddleTable } from './basis.js';

interface TensorInfoLike {
  dataId: object;
  shape: number[];
  dtype: string;
}

interface WebGLBackendLike {
  compileAndRun(program: object, inputs: tf.Tensor[]): TensorInfoLike;
}

function run(program: object, inputs: tf.Tensor[]): tf.Tensor {
  const b = tf.backend() as unknown as WebGLBackendLike;
  return tf.engine().makeTensorFromTensorInfo(b.compileAndRun(program, inputs) as never);
}

function flt(v: number): string {
  const s = String(Math.fround(v));
  return /[.eE]/.test(s) ? s : `${s}.0`;
}

/** Longest sum written out tap by tap; longer ones (dense passes of large prime lengths) loop. */
const MAX_UNROLL = 64;
/** Taps between exact twiddles (the rotation recurrence in between adds ~1 ulp per tap). */
const ANCHOR = 8;

/** The view of one stage: values before the axis (pre), after it except the last dim (mid), the last dim. */
export interface StageView {
  pre: number;
  mid: number;
  last: number;
}

function shapeOf(v: StageView, len: number, real: boolean): number[] {
  if (!real) return [v.pre, len, v.mid, 2, v.last];
  return v.mid === 1 ? [v.pre, len, v.last] : [v.pre, len, v.mid, v.last];
}

/**
 * The taps of one sum, unrolled (SwiftShader runs a dynamic loop several times slower): exact twiddle
 * every ANCHOR taps, rotation by ws in between; taps past the input length (pass A of c2r) read zero.
 */
function taps(s: PassSpec, R: number, n: (j: number | string) => string, fetch: string, walk: boolean): string {
  const advance = 'tc += sc; tr += sr; if (tc >= twd) { tc -= twd; tr += 1; }';
  const hermitian = s.hermitian ? `if (n != 0 && 2 * n != ${s.N}) { xr = 2.0 * xr; xi = 2.0 * xi; }` : '';
  if (R > MAX_UNROLL) {
    // long dense passes (large prime lengths): a loop keeps the shader small
    return `for (int j = 0; j < ${R}; j++) {
      int n = ${n('j')};
      ${s.pass === 'A' && s.lenIn < s.N ? `if (n >= ${s.lenIn}) { break; }` : ''}
      if (imod(j, ${ANCHOR}) == 0) { w = tw(imod(m0 + mS * j, ${s.N})); } else { w = vec2(w.x * ws.x - w.y * ws.y, w.x * ws.y + w.y * ws.x); }
      vec2 xr; vec2 xi;
      ${fetch}
      ${hermitian}
      ar += xr * w.x - xi * w.y;
      ai += xr * w.y + xi * w.x;
      ${walk ? advance : ''}
    }`;
  }
  const out: string[] = [];
  for (let j = 0; j < R; j++) {
    const lines: string[] = [`int n = ${n(j)};`];
    if (j % ANCHOR === 0) lines.push(j === 0 && s.pass === 'B' ? 'w = vec2(1.0, 0.0);' : `w = tw(imod(m0 + mS * ${j}, ${s.N}));`);
    else lines.push('w = vec2(w.x * ws.x - w.y * ws.y, w.x * ws.y + w.y * ws.x);');
    const body = [`vec2 xr; vec2 xi;`, fetch];
    if (hermitian) body.push(hermitian);
    body.push('ar += xr * w.x - xi * w.y;', 'ai += xr * w.y + xi * w.x;');
    // pass A reads n = n2 + Q·j < lenIn only (c2r input is the half spectrum)
    const guarded = s.pass === 'A' && s.lenIn < s.N && s.Q * j + s.Q - 1 >= s.lenIn;
    lines.push(guarded ? `if (n < ${s.lenIn}) { ${body.join(' ')} }` : body.join(' '));
    if (walk && j < R - 1) lines.push(advance);
    out.push(`{ ${lines.join('\n')} }`);
  }
  return out.join('\n');
}

/**
 * GLSL computing `vec2 ar, ai` (re and im of channels c, c+1) at output position `pos` (an int expr),
 * reading the input with `fetch` (sets vec2 xr, xi for the input position `n`).
 */
function sumCode(s: PassSpec, pos: string, fetch: string, walk: { mid: number; vl: number } | null): string {
  const R = s.pass === 'A' ? s.P : s.Q;
  // exponent m(j) = m0 + mS·j (mod N); input position n(j)
  const setup =
    s.pass === 'A'
      ? `int k1 = (${pos}) / ${s.Q}; int n2 = (${pos}) - k1 * ${s.Q}; int m0 = imod(k1 * n2, ${s.N}); int mS = imod(k1 * ${s.Q}, ${s.N});`
      : `int k2 = (${pos}) / ${s.P}; int k1 = (${pos}) - k2 * ${s.P}; int m0 = 0; int mS = imod(${s.P} * k2, ${s.N});`;
  const n = (j: number | string) => (s.pass === 'A' ? `n2 + ${s.Q} * ${j}` : `k1 * ${s.Q} + ${j}`);
  return `
    {
      ${setup}
      vec2 ws = tw(mS);
      vec2 w = vec2(1.0, 0.0);
      ${
        walk
          ? `int twd = textureSize(X, 0).x;
      int ix = ((p * ${s.lenIn} + (${s.pass === 'A' ? 'n2' : `k1 * ${s.Q}`})) * ${walk.mid} + m_) * ${walk.vl} + ch / 2;
      int tr = ix / twd; int tc = ix - tr * twd;
      int st = ${(s.pass === 'A' ? s.Q : 1) * walk.mid * walk.vl};
      int sr = st / twd; int sc = st - sr * twd;`
          : ''
      }
      ${taps(s, R, n, fetch, walk !== null)}
    }`;
}

function runPass(x: tf.Tensor, s: PassSpec, v: StageView): tf.Tensor {
  const outShape = shapeOf(v, s.lenOut, s.realOut);
  let fetch: string;
  // complex input: texel index ((p·L + n)·mid + m)·vl + ch/2 (vl = texels per (2, last) row), walked per
  // tap with a constant stride and a carry instead of the sampler's divisions (see sumCode's 'walk')
  if (!s.realIn) fetch = 'vec4 t = texelFetch(X, ivec2(tc, tr), 0); xr = t.xy; xi = t.zw;';
  else if (v.mid === 1) fetch = 'vec4 t = getX(p, n, ch); xr = imod(n, 2) == 0 ? t.xy : t.zw; xi = vec2(0.0);';
  else fetch = 'vec4 t = getX(p, n, m_, ch); xr = imod(m_, 2) == 0 ? t.xy : t.zw; xi = vec2(0.0);';
  const walk = s.realIn ? null : { mid: v.mid, vl: Math.ceil(v.last / 2) };
  const sc = flt(s.scale);
  let main: string;
  if (!s.realOut) {
    main = `
      ivec5 c = getOutputCoords();
      int p = c.x; int l = c.y; int m_ = c.z; int ch = c.u;
      vec2 ar = vec2(0.0); vec2 ai = vec2(0.0);
      ${sumCode(s, 'l', fetch, walk)}
      setOutput(vec4(ar, ai) * ${sc});`;
  } else if (v.mid === 1) {
    // texel rows are positions l, l+1
    main = `
      ivec3 c = getOutputCoords();
      int p = c.x; int l = c.y; int ch = c.z; int m_ = 0;
      vec2 ar = vec2(0.0); vec2 ai = vec2(0.0);
      ${sumCode(s, 'l', fetch, walk)}
      vec2 r0 = ar;
      ar = vec2(0.0); ai = vec2(0.0);
      if (l + 1 < ${s.lenOut}) {
        ${sumCode(s, 'l + 1', fetch, walk)}
      }
      setOutput(vec4(r0, ar) * ${sc});`;
  } else {
    // texel rows are mid positions m, m+1 at one position l
    main = `
      ivec4 c = getOutputCoords();
      int p = c.x; int l = c.y; int m_ = c.z; int ch = c.w;
      vec2 ar = vec2(0.0); vec2 ai = vec2(0.0);
      ${sumCode(s, 'l', fetch, walk)}
      vec2 r0 = ar;
      ar = vec2(0.0); ai = vec2(0.0);
      m_ = m_ + 1;
      if (m_ < ${v.mid}) {
        ${sumCode(s, 'l', fetch, walk)}
      }
      setOutput(vec4(r0, ar) * ${sc});`;
  }
  // the twiddle e^{sign·i·2π·m/N} from the [2, N] table (texel = (cos, sin) × (m, m+1))
  const tw = `vec2 tw(int m) { vec4 t = getT(0, m); return imod(m, 2) == 0 ? vec2(t.x, ${flt(s.sign)} * t.z) : vec2(t.y, ${flt(s.sign)} * t.w); }`;
  const program = {
    variableNames: ['X', 'T'],
    outputShape: outShape,
    packedInputs: true,
    packedOutput: true,
    userCode: `${tw}\nvoid main() {${main}\n}`,
  };
  return run(program, [x, twiddleTable(s.N)]);
}

/**
 * One differentiable stage: x in the view's layout (real [pre, L, last] / [pre, L, mid, last] for r2c,
 * complex [pre, L, mid, 2, last] otherwise). Gradient: the adjoint transform (kernels.ts).
 */
export function packedStage(x: tf.Tensor, st: KernelStage, v: StageView): tf.Tensor {
  return stageWithAdjoint(
    x,
    st,
    (t, s) => runPass(t, s, v),
    (K) => [1, K, 1, 1, 1],
  );
}

/** re, im of shape [A, R, last] → complex [A, R, 2, last]. */
function stackForward(re: tf.Tensor, im: tf.Tensor): tf.Tensor {
  const [A, R, last] = re.shape as [number, number, number];
  return run(
    {
      variableNames: ['Re', 'Im'],
      outputShape: [A, R, 2, last],
      packedInputs: true,
      packedOutput: true,
      userCode: `void main() {
        ivec4 c = getOutputCoords();
        vec4 r = getRe(c.x, c.y, c.w);
        vec4 i = getIm(c.x, c.y, c.w);
        setOutput(imod(c.y, 2) == 0 ? vec4(r.xy, i.xy) : vec4(r.zw, i.zw));
      }`,
    },
    [re, im],
  );
}

/** complex [A, R, 2, last] → part (0: re, 1: im) of shape [A, R, last]. */
function partForward(z: tf.Tensor, part: 0 | 1): tf.Tensor {
  const [A, R, , last] = z.shape as [number, number, number, number];
  const sel = part === 0 ? 'xy' : 'zw';
  return run(
    {
      variableNames: ['Z'],
      outputShape: [A, R, last],
      packedInputs: true,
      packedOutput: true,
      userCode: `void main() {
        ivec3 c = getOutputCoords();
        vec4 a = getZ(c.x, c.y, 0, c.z);
        vec4 b = c.y + 1 < ${R} ? getZ(c.x, c.y + 1, 0, c.z) : vec4(0.0);
        setOutput(vec4(a.${sel}, b.${sel}));
      }`,
    },
    [z],
  );
}

/** { re, im } of shape [A, R, last] → the complex layout [A, R, 2, last] (differentiable). */
export function stackParts(re: tf.Tensor, im: tf.Tensor): tf.Tensor {
  const f = tf.customGrad(((r: tf.Tensor, i: tf.Tensor) => ({
    value: stackForward(r, i),
    gradFunc: (dz: tf.Tensor) => [partForward(dz, 0), partForward(dz, 1)],
  })) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(re, im);
}

/** One part of the complex layout [A, R, 2, last] → [A, R, last] (differentiable). */
export function takePart(z: tf.Tensor, part: 0 | 1): tf.Tensor {
  const f = tf.customGrad(((input: tf.Tensor) => ({
    value: partForward(input, part),
    gradFunc: (dy: tf.Tensor) =>
      tf.tidy(() => {
        const zero = tf.zerosLike(dy);
        return part === 0 ? stackForward(dy, zero) : stackForward(zero, dy);
      }),
  })) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(z);
}
