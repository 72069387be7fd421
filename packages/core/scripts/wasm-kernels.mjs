// restorekit's own WebAssembly SIMD kernels for tfjs-backend-wasm, written as WebAssembly text (WAT) and assembled with
// wabt into src/wasm/kernels-binary.ts (`pnpm --filter @restorekit/core build:wasm`). src/wasm/kernels.ts runs them on
// the wasm backend's own memory; src/wasm/kernels-binary.node.test.ts assembles this file again and checks that the
// committed bytes are what it gives. Every function works on float32 arrays at byte offsets of the imported memory.
//
// The element-wise functions (gelu, gelu_grad) take n ≥ 4 values. Their last vector is the one ending at n: when n is
// not a multiple of 4 it overlaps the one before and writes the same values again, so there is no scalar tail and
// nothing outside [0, n) is read or written. Constant vectors are set in locals before the loop (V8 rebuilds a
// v128.const on every pass of a loop it appears in). The others (depth-wise convs and their filter gradient, the layer
// norm, row copies, windows) say what they read and write where they are defined below.
//
// GELU: 1 + erf(w) = erfc(|w|) for w < 0 and 2 − erfc(|w|) otherwise, with erfc(z) = t·(a₁ + a₂t + … + a₅t⁴)·e^(−z²),
// t = 1/(1 + p·z) (Abramowitz–Stegun 7.1.26, |error| ≤ 1.5e-7: the formula tfjs-backend-cpu's Erf uses). Written as
// erfc, GELU's negative tail keeps its small values instead of cancelling 1 against erf(w) ≈ −1. e^t (t ≤ 0) as Cephes
// expf: t clamped to −87, k = round(t·log₂e) by adding and subtracting 1.5·2²³ (whose float bits then hold k), r = t −
// k·ln2 in two parts, a degree-5 polynomial, times 2^k from the bits (k + 127) << 23 (k ≥ −126: a normal float).
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const AS = { p: 0.3275911, a1: 0.254829592, a2: -0.284496736, a3: 1.421413741, a4: -1.453152027, a5: 1.061405429 };
const EXP = {
  log2e: Math.LOG2E,
  ln2hi: 0.693359375,
  ln2lo: -2.1219444e-4,
  p: [1.98756915e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1],
};
const MAGIC = 12582912; // 1.5·2²³
const MAGIC_BITS = 0x4b400000;

/** Constant vectors of one function, kept in locals $k0, $k1, … */
function constants() {
  const values = [];
  const c = (v) => {
    let i = values.indexOf(v);
    if (i < 0) i = values.push(v) - 1;
    return `(local.get $k${i})`;
  };
  c.decl = () => values.map((_, i) => `(local $k${i} v128)`).join(' ');
  c.set = () => values.map((v, i) => `    (local.set $k${i} (v128.const f32x4 ${v} ${v} ${v} ${v}))`).join('\n');
  return c;
}

/**
 * A loop over the blocks of 4 of `n` channels (the local named `n`): $c counts them, $cc is the block's byte offset,
 * the last block ending at n (overlapping the one before when n is not a multiple of 4, n ≥ 4).
 */
const channelBlocks = (n, body) => `(local.set $c (i32.const 0))
      (block $cDone (loop $cL
        (br_if $cDone (i32.ge_u (local.get $c) (local.get $${n})))
        (local.set $cc (i32.shl (call $min (local.get $c) (i32.sub (local.get $${n}) (i32.const 4))) (i32.const 2)))
${body}
        (local.set $c (i32.add (local.get $c) (i32.const 4)))
        (br $cL)))`;

/** From $v: $w = b·v, $E = e^(−w²), $ope = 1 + erf(w). */
const erfBody = (c) => `      (local.set $w (f32x4.mul (local.get $v) (local.get $vb)))
      (local.set $z (v128.and (local.get $w) (local.get $kabs)))
      (local.set $r (f32x4.pmax (f32x4.sub ${c(0)} (f32x4.mul (local.get $z) (local.get $z))) ${c(-87)}))
      (local.set $k (f32x4.add (f32x4.mul (local.get $r) ${c(EXP.log2e)}) ${c(MAGIC)}))
      (local.set $E (i32x4.shl (i32x4.add (local.get $k) (local.get $kbias)) (i32.const 23)))
      (local.set $k (f32x4.sub (local.get $k) ${c(MAGIC)}))
      (local.set $r (f32x4.sub (f32x4.sub (local.get $r) (f32x4.mul (local.get $k) ${c(EXP.ln2hi)})) (f32x4.mul (local.get $k) ${c(EXP.ln2lo)})))
      (local.set $s (f32x4.add (f32x4.mul (local.get $r) ${c(EXP.p[0])}) ${c(EXP.p[1])}))
${EXP.p
  .slice(2)
  .map((p) => `      (local.set $s (f32x4.add (f32x4.mul (local.get $s) (local.get $r)) ${c(p)}))`)
  .join('\n')}
      (local.set $E (f32x4.mul (local.get $E)
        (f32x4.add (f32x4.add (f32x4.mul (f32x4.mul (local.get $s) (local.get $r)) (local.get $r)) (local.get $r)) ${c(1)})))
      (local.set $t (f32x4.div ${c(1)} (f32x4.add ${c(1)} (f32x4.mul (local.get $z) ${c(AS.p)}))))
      (local.set $r (f32x4.add (f32x4.mul (local.get $t) ${c(AS.a5)}) ${c(AS.a4)}))
      (local.set $r (f32x4.add (f32x4.mul (local.get $r) (local.get $t)) ${c(AS.a3)}))
      (local.set $r (f32x4.add (f32x4.mul (local.get $r) (local.get $t)) ${c(AS.a2)}))
      (local.set $r (f32x4.add (f32x4.mul (local.get $r) (local.get $t)) ${c(AS.a1)}))
      (local.set $r (f32x4.mul (f32x4.mul (local.get $r) (local.get $t)) (local.get $E)))
      (local.set $ope (v128.bitselect (local.get $r) (f32x4.sub ${c(2)} (local.get $r)) (f32x4.lt (local.get $w) ${c(0)})))`;

/** A function over n ≥ 4 values: `params` after (x, …), `setup` before the loop, `store` the loop's output. */
function elementwise(name, params, extraSetup, body, store) {
  const c = constants();
  const b = body(c);
  const s = store(c);
  return `  (func (export "${name}") (param $x i32) ${params}
    (local $i i32) (local $p i32) (local $last i32) (local $va v128) (local $vb v128) (local $vc v128) (local $v v128)
    (local $w v128) (local $z v128) (local $r v128) (local $k v128) (local $E v128) (local $t v128) (local $s v128)
    (local $ope v128) (local $kbias v128) (local $kabs v128) ${c.decl()}
    (local.set $va (f32x4.splat (local.get $a)))
    (local.set $vb (f32x4.splat (local.get $b)))
${extraSetup}
    (local.set $kbias (v128.const i32x4 ${127 - MAGIC_BITS} ${127 - MAGIC_BITS} ${127 - MAGIC_BITS} ${127 - MAGIC_BITS}))
    (local.set $kabs (v128.const i32x4 0x7fffffff 0x7fffffff 0x7fffffff 0x7fffffff))
${c.set()}
    (local.set $last (i32.sub (local.get $n) (i32.const 4)))
    (loop $next
      (local.set $p (i32.shl (select (local.get $i) (local.get $last) (i32.lt_u (local.get $i) (local.get $last))) (i32.const 2)))
      (local.set $v (v128.load (i32.add (local.get $x) (local.get $p))))
${b}
${s}
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br_if $next (i32.lt_u (local.get $i) (local.get $n)))))`;
}

/**
 * Depth-wise conv, stride 1, multiplier 1, NHWC, one image: y[oy, ox, c] = Σᵢⱼ x[oy − pt + i, ox − pl + j, c]·w[i, j, c]
 * (taps outside x are zero), x [H, W, C], w [K, K, C] (tfjs's [K, K, C, 1]), y [OH, OW, C], C ≥ 4. Output pixels whose
 * K×K window lies inside x take an unrolled loop with the K² weight vectors of a block of 4 channels in locals, one
 * row of pixels after another; the others (the borders: at most K − 1 rows and columns each side) take "dw_pixel",
 * which skips the taps outside x. Blocks of 4 channels start every 4, the last one ending at C (overlapping the one
 * before when C is not a multiple of 4, and writing the same values again).
 */
/** Output pixels per pass of the channel blocks (16, 64 and 256 measured at 256² and 128²: 64 and 256 alike, 16 slower). */
const DW_CHUNK = 64;
/**
 * Vectors of 4 channels per block (their weights in locals, one address per tap for all of them). 2 was slower on every
 * shape measured (V8 spills the 2·K² weight vectors): 1, and the code for wider blocks kept for other engines' trials.
 */
const DW_VECTORS = 1;

function depthwise(K) {
  const taps = [];
  for (let i = 0; i < K; i++) for (let j = 0; j < K; j++) taps.push([i, j]);
  const V = DW_VECTORS;
  const wDecl = taps.flatMap((_, t) => Array.from({ length: V }, (_, v) => `(local $w${t}_${v} v128)`)).join(' ');
  const accDecl = Array.from({ length: V }, (_, v) => `(local $acc${v} v128)`).join(' ');
  const rDecl = Array.from({ length: K }, (_, i) => `(local $r${i} i32)`).join(' ');
  const rSet = Array.from({ length: K }, (_, i) => `    (local.set $r${i} (i32.mul (local.get $RS) (i32.const ${i})))`).join('\n');
  /** One block of 4·n channels starting at $cc over the pixels [x0, x1) of row oy (n ≤ V vectors). */
  const block = (n) => {
    const lanes = Array.from({ length: n }, (_, v) => v);
    const loadW = taps
      .map(
        (_, t) =>
          lanes.map((v) => `            (local.set $w${t}_${v} (v128.load offset=${16 * v} (local.get $wt)))`).join('\n') +
          '\n            (local.set $wt (i32.add (local.get $wt) (local.get $C4)))',
      )
      .join('\n');
    const acc = taps
      .map(([i, j], t) => {
        const addr = j === 0 ? `(local.set $q (i32.add (local.get $px) (local.get $r${i})))` : '(local.set $q (i32.add (local.get $q) (local.get $C4)))';
        return (
          `              ${addr}\n` +
          lanes
            .map(
              (v) =>
                `              (local.set $acc${v} (f32x4.add (local.get $acc${v}) (f32x4.mul (v128.load offset=${16 * v} (local.get $q)) (local.get $w${t}_${v}))))`,
            )
            .join('\n')
        );
      })
      .join('\n');
    return `            (local.set $wt (i32.add (local.get $w) (i32.shl (local.get $cc) (i32.const 2))))
${loadW}
            (local.set $px (i32.add (local.get $x) (i32.shl (i32.add (i32.mul (i32.add (i32.mul (i32.sub (local.get $oy) (local.get $pt)) (local.get $W))
              (i32.sub (local.get $x0) (local.get $pl))) (local.get $C)) (local.get $cc)) (i32.const 2))))
            (local.set $py (i32.add (local.get $y) (i32.shl (i32.add (i32.mul (i32.add (i32.mul (local.get $oy) (local.get $OW)) (local.get $x0)) (local.get $C)) (local.get $cc)) (i32.const 2))))
            (local.set $ox (local.get $x0))
            (block $pixDone (loop $pix
              (br_if $pixDone (i32.ge_u (local.get $ox) (local.get $x1)))
${lanes.map((v) => `              (local.set $acc${v} (v128.const i32x4 0 0 0 0))`).join('\n')}
${acc}
${lanes.map((v) => `              (v128.store offset=${16 * v} (local.get $py) (local.get $acc${v}))`).join('\n')}
              (local.set $px (i32.add (local.get $px) (local.get $C4)))
              (local.set $py (i32.add (local.get $py) (local.get $C4)))
              (local.set $ox (i32.add (local.get $ox) (i32.const 1)))
              (br $pix)))`;
  };
  const wideBlocks = () => `          ;; blocks of ${4 * V} channels while they fit, then of 4 (the last one ending at C)
          (block $wideDone (loop $wide
            (br_if $wideDone (i32.gt_u (i32.add (local.get $c) (i32.const ${4 * V})) (local.get $C)))
            (local.set $cc (local.get $c))
${block(V)}
            (local.set $c (i32.add (local.get $c) (i32.const ${4 * V})))
            (br $wide)))
`;
  return `  (func (export "dw${K}") (param $x i32) (param $w i32) (param $y i32) (param $H i32) (param $W i32) (param $C i32)
    (param $OH i32) (param $OW i32) (param $pt i32) (param $pl i32)
    (local $oy i32) (local $ox i32) (local $c i32) (local $cc i32) (local $C4 i32) (local $RS i32) (local $oyA i32) (local $oyB i32)
    (local $oxA i32) (local $oxB i32) (local $x0 i32) (local $x1 i32) (local $px i32) (local $py i32) (local $wt i32) (local $q i32)
    ${rDecl} ${accDecl}
    ${wDecl}
    (local.set $C4 (i32.shl (local.get $C) (i32.const 2)))
    (local.set $RS (i32.mul (local.get $W) (local.get $C4)))
${rSet}
    ;; interior: oy in [oyA, oyB), ox in [oxA, oxB) read only inside x
    (local.set $oyA (call $min (local.get $pt) (local.get $OH)))
    (local.set $oyB (call $max (local.get $oyA) (call $min (local.get $OH) (i32.add (i32.sub (local.get $H) (i32.const ${K})) (i32.add (local.get $pt) (i32.const 1))))))
    (local.set $oxA (call $min (local.get $pl) (local.get $OW)))
    (local.set $oxB (call $max (local.get $oxA) (call $min (local.get $OW) (i32.add (i32.sub (local.get $W) (i32.const ${K})) (i32.add (local.get $pl) (i32.const 1))))))
    (block $rowsDone (loop $row
      (br_if $rowsDone (i32.ge_u (local.get $oy) (local.get $OH)))
      (if (i32.and (i32.ge_u (local.get $oy) (local.get $oyA)) (i32.lt_u (local.get $oy) (local.get $oyB)))
        (then
          (local.set $x0 (local.get $oxA))
          (block $chunksDone (loop $chunk
          (br_if $chunksDone (i32.ge_u (local.get $x0) (local.get $oxB)))
          (local.set $x1 (call $min (i32.add (local.get $x0) (i32.const ${DW_CHUNK})) (local.get $oxB)))
          (local.set $c (i32.const 0))
${V > 1 ? wideBlocks() : ''}          (block $blocksDone (loop $block
            (br_if $blocksDone (i32.ge_u (local.get $c) (local.get $C)))
            (local.set $cc (call $min (local.get $c) (i32.sub (local.get $C) (i32.const 4))))
${block(1)}
            (local.set $c (i32.add (local.get $c) (i32.const 4)))
            (br $block)))
          (local.set $x0 (local.get $x1))
          (br $chunk)))
          ;; the border columns of this row
          (local.set $ox (i32.const 0))
          (block $lDone (loop $l
            (br_if $lDone (i32.ge_u (local.get $ox) (local.get $oxA)))
            (call $dw_pixel (local.get $x) (local.get $w) (local.get $y) (local.get $H) (local.get $W) (local.get $C) (local.get $OW) (local.get $pt) (local.get $pl) (i32.const ${K}) (local.get $oy) (local.get $ox))
            (local.set $ox (i32.add (local.get $ox) (i32.const 1)))
            (br $l)))
          (local.set $ox (local.get $oxB))
          (block $rDone (loop $r
            (br_if $rDone (i32.ge_u (local.get $ox) (local.get $OW)))
            (call $dw_pixel (local.get $x) (local.get $w) (local.get $y) (local.get $H) (local.get $W) (local.get $C) (local.get $OW) (local.get $pt) (local.get $pl) (i32.const ${K}) (local.get $oy) (local.get $ox))
            (local.set $ox (i32.add (local.get $ox) (i32.const 1)))
            (br $r))))
        (else
          (local.set $ox (i32.const 0))
          (block $bDone (loop $b
            (br_if $bDone (i32.ge_u (local.get $ox) (local.get $OW)))
            (call $dw_pixel (local.get $x) (local.get $w) (local.get $y) (local.get $H) (local.get $W) (local.get $C) (local.get $OW) (local.get $pt) (local.get $pl) (i32.const ${K}) (local.get $oy) (local.get $ox))
            (local.set $ox (i32.add (local.get $ox) (i32.const 1)))
            (br $b)))))
      (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
      (br $row))))`;
}

/** One output pixel of a K×K depth-wise conv (all its channel blocks), skipping the taps outside x. */
const DW_PIXEL = `  (func $dw_pixel (param $x i32) (param $w i32) (param $y i32) (param $H i32) (param $W i32) (param $C i32) (param $OW i32)
    (param $pt i32) (param $pl i32) (param $K i32) (param $oy i32) (param $ox i32)
    (local $i0 i32) (local $i1 i32) (local $j0 i32) (local $j1 i32) (local $i i32) (local $j i32) (local $c i32) (local $cc i32) (local $acc v128)
    ;; valid taps: 0 ≤ oy − pt + i < H, 0 ≤ ox − pl + j < W
    (local.set $i0 (call $max (i32.const 0) (i32.sub (local.get $pt) (local.get $oy))))
    (local.set $i1 (call $min (local.get $K) (i32.sub (i32.add (local.get $H) (local.get $pt)) (local.get $oy))))
    (local.set $j0 (call $max (i32.const 0) (i32.sub (local.get $pl) (local.get $ox))))
    (local.set $j1 (call $min (local.get $K) (i32.sub (i32.add (local.get $W) (local.get $pl)) (local.get $ox))))
    (block $blocksDone (loop $block
      (br_if $blocksDone (i32.ge_u (local.get $c) (local.get $C)))
      (local.set $cc (call $min (local.get $c) (i32.sub (local.get $C) (i32.const 4))))
      (local.set $acc (v128.const i32x4 0 0 0 0))
      (local.set $i (local.get $i0))
      (block $iDone (loop $iLoop
        (br_if $iDone (i32.ge_s (local.get $i) (local.get $i1)))
        (local.set $j (local.get $j0))
        (block $jDone (loop $jLoop
          (br_if $jDone (i32.ge_s (local.get $j) (local.get $j1)))
          (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul
            (v128.load (i32.add (local.get $x) (i32.shl (i32.add (i32.mul (i32.add (i32.mul (i32.add (i32.sub (local.get $oy) (local.get $pt)) (local.get $i)) (local.get $W))
              (i32.add (i32.sub (local.get $ox) (local.get $pl)) (local.get $j))) (local.get $C)) (local.get $cc)) (i32.const 2))))
            (v128.load (i32.add (local.get $w) (i32.shl (i32.add (i32.mul (i32.add (i32.mul (local.get $i) (local.get $K)) (local.get $j)) (local.get $C)) (local.get $cc)) (i32.const 2)))))))
          (local.set $j (i32.add (local.get $j) (i32.const 1)))
          (br $jLoop)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $iLoop)))
      (v128.store (i32.add (local.get $y) (i32.shl (i32.add (i32.mul (i32.add (i32.mul (local.get $oy) (local.get $OW)) (local.get $ox)) (local.get $C)) (local.get $cc)) (i32.const 2)))
        (local.get $acc))
      (local.set $c (i32.add (local.get $c) (i32.const 4)))
      (br $block))))
  (func $min (param $a i32) (param $b i32) (result i32) (select (local.get $a) (local.get $b) (i32.lt_s (local.get $a) (local.get $b))))
  (func $max (param $a i32) (param $b i32) (result i32) (select (local.get $a) (local.get $b) (i32.gt_s (local.get $a) (local.get $b))))`;

/**
 * Layer norm over the channels of each of P pixels, x [P, C] (C ≥ 1), y [P, C], weight w [C], bias b [C], in tfjs's op
 * order: xc = x − mean(x), inv = 1/√(mean(xc²) + eps), y = (xc·inv)·w + b ("WithBias", withBias 1) or (x·inv)·w
 * ("BiasFree": Restormer's, the variance still centred; b unused). Sums in 4 lanes, then across them, then the
 * channels beyond the last multiple of 4 one at a time.
 */
const LAYER_NORM = `  (func (export "layer_norm") (param $x i32) (param $w i32) (param $b i32) (param $y i32) (param $P i32) (param $C i32)
    (param $eps f32) (param $withBias i32)
    (local $p i32) (local $c i32) (local $C4 i32) (local $row i32) (local $out i32) (local $n4 i32) (local $s v128) (local $d v128)
    (local $mu f32) (local $var f32) (local $inv f32) (local $t f32) (local $vmu v128) (local $vinv v128) (local $v v128)
    (local.set $C4 (i32.shl (local.get $C) (i32.const 2)))
    (local.set $n4 (i32.and (local.get $C) (i32.const -4)))
    (block $pixDone (loop $pix
      (br_if $pixDone (i32.ge_u (local.get $p) (local.get $P)))
      (local.set $row (i32.add (local.get $x) (i32.mul (local.get $p) (local.get $C4))))
      (local.set $out (i32.add (local.get $y) (i32.mul (local.get $p) (local.get $C4))))
      ;; mean
      (local.set $s (v128.const i32x4 0 0 0 0))
      (local.set $c (i32.const 0))
      (block $m4Done (loop $m4
        (br_if $m4Done (i32.ge_u (local.get $c) (local.get $n4)))
        (local.set $s (f32x4.add (local.get $s) (v128.load (i32.add (local.get $row) (i32.shl (local.get $c) (i32.const 2))))))
        (local.set $c (i32.add (local.get $c) (i32.const 4)))
        (br $m4)))
      (local.set $t (f32.add (f32.add (f32x4.extract_lane 0 (local.get $s)) (f32x4.extract_lane 1 (local.get $s)))
        (f32.add (f32x4.extract_lane 2 (local.get $s)) (f32x4.extract_lane 3 (local.get $s)))))
      (block $m1Done (loop $m1
        (br_if $m1Done (i32.ge_u (local.get $c) (local.get $C)))
        (local.set $t (f32.add (local.get $t) (f32.load (i32.add (local.get $row) (i32.shl (local.get $c) (i32.const 2))))))
        (local.set $c (i32.add (local.get $c) (i32.const 1)))
        (br $m1)))
      (local.set $mu (f32.div (local.get $t) (f32.convert_i32_u (local.get $C))))
      (local.set $vmu (f32x4.splat (local.get $mu)))
      ;; variance of the centred values
      (local.set $s (v128.const i32x4 0 0 0 0))
      (local.set $c (i32.const 0))
      (block $v4Done (loop $v4
        (br_if $v4Done (i32.ge_u (local.get $c) (local.get $n4)))
        (local.set $d (f32x4.sub (v128.load (i32.add (local.get $row) (i32.shl (local.get $c) (i32.const 2)))) (local.get $vmu)))
        (local.set $s (f32x4.add (local.get $s) (f32x4.mul (local.get $d) (local.get $d))))
        (local.set $c (i32.add (local.get $c) (i32.const 4)))
        (br $v4)))
      (local.set $t (f32.add (f32.add (f32x4.extract_lane 0 (local.get $s)) (f32x4.extract_lane 1 (local.get $s)))
        (f32.add (f32x4.extract_lane 2 (local.get $s)) (f32x4.extract_lane 3 (local.get $s)))))
      (block $v1Done (loop $v1
        (br_if $v1Done (i32.ge_u (local.get $c) (local.get $C)))
        (local.set $var (f32.sub (f32.load (i32.add (local.get $row) (i32.shl (local.get $c) (i32.const 2)))) (local.get $mu)))
        (local.set $t (f32.add (local.get $t) (f32.mul (local.get $var) (local.get $var))))
        (local.set $c (i32.add (local.get $c) (i32.const 1)))
        (br $v1)))
      (local.set $var (f32.div (local.get $t) (f32.convert_i32_u (local.get $C))))
      (local.set $inv (f32.div (f32.const 1) (f32.sqrt (f32.add (local.get $var) (local.get $eps)))))
      (local.set $vinv (f32x4.splat (local.get $inv)))
      ;; with bias: centred values; bias-free: the raw ones (mu 0 below)
      (if (i32.eqz (local.get $withBias)) (then (local.set $mu (f32.const 0)) (local.set $vmu (v128.const i32x4 0 0 0 0))))
      (local.set $c (i32.const 0))
      (block $o4Done (loop $o4
        (br_if $o4Done (i32.ge_u (local.get $c) (local.get $n4)))
        (local.set $v (f32x4.mul (f32x4.mul (f32x4.sub (v128.load (i32.add (local.get $row) (i32.shl (local.get $c) (i32.const 2)))) (local.get $vmu))
          (local.get $vinv)) (v128.load (i32.add (local.get $w) (i32.shl (local.get $c) (i32.const 2))))))
        (if (local.get $withBias) (then (local.set $v (f32x4.add (local.get $v) (v128.load (i32.add (local.get $b) (i32.shl (local.get $c) (i32.const 2))))))))
        (v128.store (i32.add (local.get $out) (i32.shl (local.get $c) (i32.const 2))) (local.get $v))
        (local.set $c (i32.add (local.get $c) (i32.const 4)))
        (br $o4)))
      (block $o1Done (loop $o1
        (br_if $o1Done (i32.ge_u (local.get $c) (local.get $C)))
        (local.set $t (f32.mul (f32.mul (f32.sub (f32.load (i32.add (local.get $row) (i32.shl (local.get $c) (i32.const 2)))) (local.get $mu))
          (local.get $inv)) (f32.load (i32.add (local.get $w) (i32.shl (local.get $c) (i32.const 2))))))
        (if (local.get $withBias) (then (local.set $t (f32.add (local.get $t) (f32.load (i32.add (local.get $b) (i32.shl (local.get $c) (i32.const 2))))))))
        (f32.store (i32.add (local.get $out) (i32.shl (local.get $c) (i32.const 2))) (local.get $t))
        (local.set $c (i32.add (local.get $c) (i32.const 1)))
        (br $o1)))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (br $pix))))`;

/**
 * The filter gradient of a stride-1, multiplier-1 depth-wise conv of one image: g[i, j, c] (+)= Σ over output pixels
 * (oy, ox) of x[oy − pt + i, ox − pl + j, c]·dy[oy, ox, c] (taps outside x skipped), x [H, W, C], dy [OH, OW, C],
 * g [KH, KW, C], C ≥ 4; zero ≠ 0 clears g first (the first image of a batch). For each output row, tap and block of 4
 * channels, a sum along the row in 4 accumulators (the adds of one would wait on each other) is added to g: sums of
 * at most OW/4 terms, then of rows. The last block of 4 ends at C; the channels it shares with the block before are
 * masked out of its sums.
 */
/** One term of a row sum into accumulator $a<a>, then both pointers on to the next pixel. */
const accumulate = (
  a,
) => `                  (local.set $a${a} (f32x4.add (local.get $a${a}) (f32x4.mul (v128.load (local.get $px)) (v128.load (local.get $pd)))))
                  (local.set $px (i32.add (local.get $px) (local.get $C4)))
                  (local.set $pd (i32.add (local.get $pd) (local.get $C4)))
`;
const DW_FILTER_GRAD = `  (func (export "dw_filter_grad") (param $x i32) (param $dy i32) (param $g i32) (param $H i32) (param $W i32) (param $C i32)
    (param $OH i32) (param $OW i32) (param $KH i32) (param $KW i32) (param $pt i32) (param $pl i32) (param $zero i32)
    (local $oy i32) (local $i i32) (local $j i32) (local $iy i32) (local $c i32) (local $cc i32) (local $C4 i32) (local $n i32)
    (local $ox0 i32) (local $ox1 i32) (local $k i32) (local $px i32) (local $pd i32) (local $pg i32) (local $mask v128)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local.set $C4 (i32.shl (local.get $C) (i32.const 2)))
    (if (local.get $zero) (then (memory.fill (local.get $g) (i32.const 0) (i32.mul (i32.mul (local.get $KH) (local.get $KW)) (local.get $C4)))))
    (block $rowsDone (loop $row
      (br_if $rowsDone (i32.ge_u (local.get $oy) (local.get $OH)))
      (local.set $i (i32.const 0))
      (block $iDone (loop $iLoop
        (br_if $iDone (i32.ge_u (local.get $i) (local.get $KH)))
        (local.set $iy (i32.add (i32.sub (local.get $oy) (local.get $pt)) (local.get $i)))
        (if (i32.and (i32.ge_s (local.get $iy) (i32.const 0)) (i32.lt_s (local.get $iy) (local.get $H)))
          (then
            (local.set $c (i32.const 0))
            (block $cDone (loop $cLoop
              (br_if $cDone (i32.ge_u (local.get $c) (local.get $C)))
              (local.set $cc (call $min (local.get $c) (i32.sub (local.get $C) (i32.const 4))))
              ;; lanes of channels cc + l below c were summed by the block before
              (local.set $mask (i32x4.ge_s (i32x4.add (i32x4.splat (local.get $cc)) (v128.const i32x4 0 1 2 3)) (i32x4.splat (local.get $c))))
              (local.set $j (i32.const 0))
              (block $jDone (loop $jLoop
                (br_if $jDone (i32.ge_u (local.get $j) (local.get $KW)))
                ;; ox with 0 ≤ ox − pl + j < W
                (local.set $ox0 (call $max (i32.const 0) (i32.sub (local.get $pl) (local.get $j))))
                (local.set $ox1 (call $min (local.get $OW) (i32.sub (i32.add (local.get $W) (local.get $pl)) (local.get $j))))
                (local.set $a0 (v128.const i32x4 0 0 0 0))
                (local.set $a1 (v128.const i32x4 0 0 0 0))
                (local.set $a2 (v128.const i32x4 0 0 0 0))
                (local.set $a3 (v128.const i32x4 0 0 0 0))
                (local.set $px (i32.add (local.get $x) (i32.shl (i32.add (i32.mul (i32.add (i32.mul (local.get $iy) (local.get $W))
                  (i32.add (i32.sub (local.get $ox0) (local.get $pl)) (local.get $j))) (local.get $C)) (local.get $cc)) (i32.const 2))))
                (local.set $pd (i32.add (local.get $dy) (i32.shl (i32.add (i32.mul (i32.add (i32.mul (local.get $oy) (local.get $OW)) (local.get $ox0)) (local.get $C)) (local.get $cc)) (i32.const 2))))
                (local.set $n (i32.sub (local.get $ox1) (local.get $ox0)))
                (block $u4Done (loop $u4
                  (br_if $u4Done (i32.lt_s (local.get $n) (i32.const 4)))
${[0, 1, 2, 3].map(accumulate).join('')}                  (local.set $n (i32.sub (local.get $n) (i32.const 4)))
                  (br $u4)))
                (block $u1Done (loop $u1
                  (br_if $u1Done (i32.le_s (local.get $n) (i32.const 0)))
${accumulate(0)}                  (local.set $n (i32.sub (local.get $n) (i32.const 1)))
                  (br $u1)))
                (local.set $pg (i32.add (local.get $g) (i32.shl (i32.add (i32.mul (i32.add (i32.mul (local.get $i) (local.get $KW)) (local.get $j)) (local.get $C)) (local.get $cc)) (i32.const 2))))
                (v128.store (local.get $pg) (f32x4.add (v128.load (local.get $pg))
                  (v128.and (f32x4.add (f32x4.add (local.get $a0) (local.get $a1)) (f32x4.add (local.get $a2) (local.get $a3))) (local.get $mask))))
                (local.set $j (i32.add (local.get $j) (i32.const 1)))
                (br $jLoop)))
              (local.set $c (i32.add (local.get $c) (i32.const 4)))
              (br $cLoop)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $iLoop)))
      (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
      (br $row))))`;

/**
 * For p in [0, P): n float32 values from src + (p·srcStride + srcOff)·4 to dst + (p·dstStride + dstOff)·4, in vectors
 * of 4 then one at a time: a channel split or concat of NHWC tensors (tfjs-backend-wasm copies those in JavaScript,
 * one value at a time). Rows that are contiguous on both sides take one memory.copy.
 */
const COPY_ROWS = `  (func (export "copy_rows") (param $src i32) (param $srcStride i32) (param $srcOff i32) (param $dst i32) (param $dstStride i32)
    (param $dstOff i32) (param $P i32) (param $n i32)
    (local $p i32) (local $s i32) (local $d i32) (local $k i32) (local $n4 i32)
    (if (i32.and (i32.eq (local.get $srcStride) (local.get $n)) (i32.eq (local.get $dstStride) (local.get $n)))
      (then
        (memory.copy (i32.add (local.get $dst) (i32.shl (local.get $dstOff) (i32.const 2))) (i32.add (local.get $src) (i32.shl (local.get $srcOff) (i32.const 2)))
          (i32.shl (i32.mul (local.get $P) (local.get $n)) (i32.const 2)))
        (return)))
    (local.set $n4 (i32.and (local.get $n) (i32.const -4)))
    (local.set $s (i32.add (local.get $src) (i32.shl (local.get $srcOff) (i32.const 2))))
    (local.set $d (i32.add (local.get $dst) (i32.shl (local.get $dstOff) (i32.const 2))))
    (block $done (loop $row
      (br_if $done (i32.ge_u (local.get $p) (local.get $P)))
      (local.set $k (i32.const 0))
      (block $vDone (loop $v
        (br_if $vDone (i32.ge_u (local.get $k) (local.get $n4)))
        (v128.store (i32.add (local.get $d) (i32.shl (local.get $k) (i32.const 2))) (v128.load (i32.add (local.get $s) (i32.shl (local.get $k) (i32.const 2)))))
        (local.set $k (i32.add (local.get $k) (i32.const 4)))
        (br $v)))
      (block $tDone (loop $t
        (br_if $tDone (i32.ge_u (local.get $k) (local.get $n)))
        (f32.store (i32.add (local.get $d) (i32.shl (local.get $k) (i32.const 2))) (f32.load (i32.add (local.get $s) (i32.shl (local.get $k) (i32.const 2)))))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $t)))
      (local.set $s (i32.add (local.get $s) (i32.shl (local.get $srcStride) (i32.const 2))))
      (local.set $d (i32.add (local.get $d) (i32.shl (local.get $dstStride) (i32.const 2))))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (br $row))))`;

/**
 * One kernel offset's window of P planes [H, W]: dst[p, oy, ox] = src[p, i + sh·oy, j + sw·ox] for oy < OH, ox < OW
 * (the caller keeps the window inside the planes): a convolution filter gradient's tap (x transposed to
 * [Cin, B, H, W]). Rows of a stride-1 window are copied in vectors of 4, strided ones one value at a time
 * (tfjs-backend-wasm runs Slice and StridedSlice in JavaScript).
 */
const WINDOW = `  (func (export "window2d") (param $src i32) (param $dst i32) (param $P i32) (param $H i32) (param $W i32) (param $i i32)
    (param $j i32) (param $sh i32) (param $sw i32) (param $OH i32) (param $OW i32)
    (local $p i32) (local $oy i32) (local $k i32) (local $s i32) (local $d i32) (local $n4 i32) (local $step i32)
    (local.set $n4 (i32.and (local.get $OW) (i32.const -4)))
    (local.set $step (i32.shl (local.get $sw) (i32.const 2)))
    (local.set $d (local.get $dst))
    (block $pDone (loop $plane
      (br_if $pDone (i32.ge_u (local.get $p) (local.get $P)))
      (local.set $oy (i32.const 0))
      (block $rDone (loop $row
        (br_if $rDone (i32.ge_u (local.get $oy) (local.get $OH)))
        (local.set $s (i32.add (local.get $src) (i32.shl (i32.add (i32.mul (i32.add (i32.mul (local.get $p) (local.get $H))
          (i32.add (local.get $i) (i32.mul (local.get $sh) (local.get $oy)))) (local.get $W)) (local.get $j)) (i32.const 2))))
        (local.set $k (i32.const 0))
        (if (i32.eq (local.get $sw) (i32.const 1))
          (then
            (block $vDone (loop $v
              (br_if $vDone (i32.ge_u (local.get $k) (local.get $n4)))
              (v128.store (local.get $d) (v128.load (local.get $s)))
              (local.set $s (i32.add (local.get $s) (i32.const 16)))
              (local.set $d (i32.add (local.get $d) (i32.const 16)))
              (local.set $k (i32.add (local.get $k) (i32.const 4)))
              (br $v)))))
        (block $tDone (loop $t
          (br_if $tDone (i32.ge_u (local.get $k) (local.get $OW)))
          (f32.store (local.get $d) (f32.load (local.get $s)))
          (local.set $s (i32.add (local.get $s) (local.get $step)))
          (local.set $d (i32.add (local.get $d) (i32.const 4)))
          (local.set $k (i32.add (local.get $k) (i32.const 1)))
          (br $t)))
        (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
        (br $row)))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (br $plane))))`;

/**
 * Per-head products aᵀ·b of two row-major matrices read as they are (the channel attention's q·kᵀ from NHWC, a 1×1
 * conv's filter gradient xᵀ·dy): for head h < n, i < da and j < db, g[h, i, j] = Σ_r a[r, h·da + i]·b[r, h·db + j] over
 * the N rows (a and b: row strides sa and sb values; g [n, da, db]), da, db ≥ 4. tfjs-backend-wasm runs a product with a transposed operand as a scalar loop, so its form was a
 * transpose of q to [C, N] and XNNPACK's product of a d×N by an N×d matrix (15 GFLOP/s: long K, tiny M and N). Rows are
 * taken GRAM_ROWS at a time (their values stay in cache while every tile of g passes over them); a tile is 4 rows of g
 * (4 values of a splat) by 8 or 4 columns (vectors of b), its sums stored into g at the end of the first pass and added
 * to it at the end of later ones (g is not cleared first). The last tile of rows (columns) starts at da − 4 (db − 4) when
 * that is not a multiple of 4: in the first pass it stores the rows (lanes) before that again with the same sums, in
 * later ones it adds only the rows (lanes) not added before.
 */
const GRAM_ROWS = 128;
/**
 * One tile of g (4 rows by V vectors, `masked`: only the lanes of $mask added). `rowMajor`: a is read the other way
 * round, a[i, r] (row stride sa), as the left operand of a plain product ("gemm").
 */
const gramTile = (V, masked, rowMajor = false, withBias = false) => {
  const rows = [0, 1, 2, 3];
  const vs = Array.from({ length: V }, (_, v) => v);
  const aRow = (a) => (rowMajor ? (a ? `(i32.add (local.get $pa) (local.get $SA${a}))` : '(local.get $pa)') : `offset=${4 * a} (local.get $pa)`);
  return `            ${rows.flatMap((a) => vs.map((v) => `(local.set $c${a}${v} (v128.const i32x4 0 0 0 0))`)).join(' ')}
            (local.set $pa (i32.add (local.get $a) (i32.shl ${
              rowMajor
                ? '(i32.add (i32.mul (local.get $ii) (local.get $sa)) (local.get $r0))'
                : '(i32.add (i32.mul (local.get $r0) (local.get $sa)) (i32.add (local.get $ha) (local.get $ii)))'
            } (i32.const 2))))
            (local.set $pb (i32.add (local.get $b) (i32.shl (i32.add (i32.mul (local.get $r0) (local.get $sb)) (i32.add (local.get $hb) (local.get $jj))) (i32.const 2))))
            (local.set $r (local.get $r0))
            (loop $rows${V}
${vs.map((v) => `              (local.set $k${v} (v128.load offset=${16 * v} (local.get $pb)))`).join('\n')}
${rows
  .map(
    (a) =>
      `              (local.set $x (v128.load32_splat ${aRow(a)}))\n` +
      vs.map((v) => `              (local.set $c${a}${v} (f32x4.add (local.get $c${a}${v}) (f32x4.mul (local.get $x) (local.get $k${v}))))`).join('\n'),
  )
  .join('\n')}
              (local.set $pa (i32.add (local.get $pa) ${rowMajor ? '(i32.const 4)' : '(local.get $SA)'}))
              (local.set $pb (i32.add (local.get $pb) (local.get $SB)))
              (local.set $r (i32.add (local.get $r) (i32.const 1)))
              (br_if $rows${V} (i32.lt_u (local.get $r) (local.get $r1))))
            (local.set $pg (i32.add (local.get $g) (i32.shl (i32.add (i32.mul (i32.add (local.get $ha) (local.get $ii)) (local.get $db)) (local.get $jj)) (i32.const 2))))
            (if (local.get $first) (then
${
  withBias
    ? vs
        .map(
          (v) =>
            `              (local.set $bv${v} (if (result v128) (local.get $hasBias) (then (v128.load offset=${16 * v} (i32.add (local.get $bias) (i32.shl (local.get $jj) (i32.const 2))))) (else (v128.const i32x4 0 0 0 0))))\n`,
        )
        .join('')
    : ''
}${rows
  .map(
    (a) =>
      vs
        .map(
          (v) =>
            `              (v128.store offset=${16 * v} (local.get $pg) ${withBias ? `(f32x4.add (local.get $c${a}${v}) (local.get $bv${v}))` : `(local.get $c${a}${v})`})`,
        )
        .join('\n') + (a < 3 ? '\n              (local.set $pg (i32.add (local.get $pg) (local.get $G4)))' : ''),
  )
  .join('\n')}
            ) (else
${rows
  .map(
    (a) =>
      `            (if (i32.ge_u (i32.const ${a}) (local.get $si)) (then\n` +
      vs
        .map(
          (v) =>
            `              (v128.store offset=${16 * v} (local.get $pg) (f32x4.add (v128.load offset=${16 * v} (local.get $pg)) ${masked ? `(v128.and (local.get $c${a}${v}) (local.get $mask))` : `(local.get $c${a}${v})`}))`,
        )
        .join('\n') +
      '))\n            (local.set $pg (i32.add (local.get $pg) (local.get $G4)))',
  )
  .join('\n')}))`;
};
const gramFunction = (head, rowMajor, accumulate = false, withBias = false) => `  ${head}
    (local $first i32) (local $r0 i32) (local $r1 i32) (local $r i32) (local $h i32) (local $ha i32) (local $hb i32) (local $ib i32) (local $ii i32) (local $si i32)
    (local $jb i32) (local $jj i32) (local $pa i32) (local $pb i32) (local $pg i32) (local $SA i32) (local $SB i32) (local $G4 i32)
    (local $mask v128) (local $x v128) (local $k0 v128) (local $k1 v128)${withBias ? ' (local $bv0 v128) (local $bv1 v128)' : ''}
    ${[0, 1, 2, 3].flatMap((a) => [0, 1].map((v) => `(local $c${a}${v} v128)`)).join(' ')}${
      rowMajor
        ? `
    (local $sa i32) (local $sb i32) (local $n i32) (local $SA1 i32) (local $SA2 i32) (local $SA3 i32)
    (local.set $sa (local.get $N)) (local.set $sb (local.get $db)) (local.set $n (i32.const 1))
    (local.set $SA1 (i32.shl (local.get $sa) (i32.const 2)))
    (local.set $SA2 (i32.shl (local.get $sa) (i32.const 3)))
    (local.set $SA3 (i32.add (local.get $SA1) (local.get $SA2)))`
        : ''
    }
    (local.set $SA (i32.shl (local.get $sa) (i32.const 2)))
    (local.set $SB (i32.shl (local.get $sb) (i32.const 2)))
    (local.set $G4 (i32.shl (local.get $db) (i32.const 2)))
    (block $chunksDone (loop $chunk
      (br_if $chunksDone (i32.ge_u (local.get $r0) (local.get $N)))
      (local.set $r1 (call $min (i32.add (local.get $r0) (i32.const ${GRAM_ROWS})) (local.get $N)))
      ;; the first block of rows stores its sums (but adds them where the caller accumulates into g: $acc ≠ 0)
      (local.set $first ${accumulate ? '(i32.and (i32.eqz (local.get $r0)) (i32.eqz (local.get $acc)))' : '(i32.eqz (local.get $r0))'})
      (local.set $h (i32.const 0))
      (block $headsDone (loop $head
        (br_if $headsDone (i32.ge_u (local.get $h) (local.get $n)))
        (local.set $ha (i32.mul (local.get $h) (local.get $da)))
        (local.set $hb (i32.mul (local.get $h) (local.get $db)))
        (local.set $ib (i32.const 0))
        (block $ibDone (loop $iblock
          (br_if $ibDone (i32.ge_u (local.get $ib) (local.get $da)))
          (local.set $ii (call $min (local.get $ib) (i32.sub (local.get $da) (i32.const 4))))
          (local.set $si (i32.sub (local.get $ib) (local.get $ii)))
          (local.set $jb (i32.const 0))
          ;; tiles of 8 columns while they fit
          (block $j8Done (loop $j8
            (br_if $j8Done (i32.gt_u (i32.add (local.get $jb) (i32.const 8)) (local.get $db)))
            (local.set $jj (local.get $jb))
${gramTile(2, false, rowMajor, withBias)}
            (local.set $jb (i32.add (local.get $jb) (i32.const 8)))
            (br $j8)))
          ;; then of 4, the last one ending at db (its lanes before jb already added)
          (block $j4Done (loop $j4
            (br_if $j4Done (i32.ge_u (local.get $jb) (local.get $db)))
            (local.set $jj (call $min (local.get $jb) (i32.sub (local.get $db) (i32.const 4))))
            (local.set $mask (i32x4.ge_s (v128.const i32x4 0 1 2 3) (i32x4.splat (i32.sub (local.get $jb) (local.get $jj)))))
${gramTile(1, true, rowMajor, withBias)}
            (local.set $jb (i32.add (local.get $jb) (i32.const 4)))
            (br $j4)))
          (local.set $ib (i32.add (local.get $ib) (i32.const 4)))
          (br $iblock)))
        (local.set $h (i32.add (local.get $h) (i32.const 1)))
        (br $head)))
      (local.set $r0 (local.get $r1))
      (br $chunk))))`;
const GRAM = gramFunction(
  '(func (export "gram") (param $a i32) (param $sa i32) (param $b i32) (param $sb i32) (param $g i32) (param $N i32) (param $da i32) (param $db i32) (param $n i32)',
  false,
);

/**
 * A 3×3, stride-1 convolution as Winograd's minimal filtering F(2×2, 3×3) (Lavin & Gray, "Fast Algorithms for
 * Convolutional Neural Networks", 2016): each 2×2 block of output pixels ("tile") from the 4×4 window of input under it,
 * y = Aᵀ·[Σ_c (G·g_c·Gᵀ) ⊙ (Bᵀ·d_c·B)]·A, so that the 16 positions of a tile's transformed window each take one product of
 * a [tiles, C] by a [C, D] matrix: 16·C·D multiply-adds per tile where the direct conv takes 36·C·D (2.25× fewer; the
 * transforms add O(C + D) per tile). Bᵀ, G and Aᵀ have entries 0, ±1 and ½ (exact in float32): the rounding differs
 * from the direct sum by a few units in the last place. Written for tfjs-backend-wasm, whose XNNPACK has no Winograd
 * path: there 3×3 dense convs run at the SIMD peak of the direct sum (DRCNet: 5.2 of its 6 s forward at 256²).
 *
 * "wino_filter": u[4i + j, m] = (G·g·Gᵀ)[i, j] of the 3×3 taps w[3a + b, m] (a conv's HWIO filter as [9, n], n = C·D ≥ 4,
 * vectors of 4 values, the last one ending at n), G = [[1, 0, 0], [½, ½, ½], [½, −½, ½], [0, 0, 1]].
 *
 * "wino3" convolves one image x [H, W, C] (C ≥ 4) with the transformed filter u [16, C, D] (D ≥ 4) into y [OH, OW, D],
 * zero padding pt rows on top and pl columns on the left (the bottom and right follow from OH, OW; OW ≥ 7). The tiles
 * are taken `rows` tile rows at a time (a band of Tb = rows·⌈OW/2⌉ tiles): "wino_in" writes the band's transformed
 * windows V [16, Tb, C] (Bᵀ = [[1, 0, −1, 0], [0, 1, 1, 0], [0, −1, 1, 0], [0, 1, 0, −1]]; taps outside x read as 0),
 * 16 products M_k = V_k·u_k [Tb, D] ("gemm": the Gram kernel's tiles with a read row-major), and "wino_out" the band's
 * output pixels Aᵀ·m·A (Aᵀ = [[1, 1, 1, 0], [0, 1, −1, −1]]; a tile's second row or column only where OH, OW have it).
 * V and M are scratch of 16·Tb·C and 16·Tb·D values at byte offsets v and m. Channels go in vectors of 4, the last one
 * ending at C (D), overlapping the one before and writing the same values again.
 */
const wino = (() => {
  const I4 = [0, 1, 2, 3];
  const loc = (p, n = 4) =>
    I4.slice(0, n)
      .flatMap((i) => I4.map((j) => `(local $${p}${i}${j} v128)`))
      .join(' ');
  const get = (n) => `(local.get $${n})`;
  const add = (a, b) => `(f32x4.add ${a} ${b})`;
  const sub = (a, b) => `(f32x4.sub ${a} ${b})`;
  const half = (a) => `(f32x4.mul ${a} (local.get $half))`;
  const set = (n, v) => `(local.set $${n} ${v})`;
  // Bᵀ·d (rows) then ·B (columns): one formula applied twice
  const bt = (f) => [sub(f(0), f(2)), add(f(1), f(2)), sub(f(2), f(1)), sub(f(1), f(3))];
  // G·g: 4 values from 3
  const gt = (f) => [f(0), half(add(add(f(0), f(1)), f(2))), half(add(sub(f(0), f(1)), f(2))), f(2)];
  // Aᵀ·m: 2 values from 4
  const at = (f) => [add(add(f(0), f(1)), f(2)), sub(sub(f(1), f(2)), f(3))];
  const filter = `  (func (export "wino_filter") (param $w i32) (param $u i32) (param $n i32)
    (local $i i32) (local $p i32) (local $last i32) (local $NS i32) (local $q i32) (local $half v128)
    ${I4.slice(0, 3)
      .flatMap((a) => [0, 1, 2].map((b) => `(local $g${a}${b} v128)`))
      .join(' ')} ${I4.flatMap((i) => [0, 1, 2].map((b) => `(local $t${i}${b} v128)`)).join(' ')}
    (local.set $half (v128.const f32x4 0.5 0.5 0.5 0.5))
    (local.set $NS (i32.shl (local.get $n) (i32.const 2)))
    (local.set $last (i32.sub (local.get $n) (i32.const 4)))
    (loop $next
      (local.set $p (i32.shl (select (local.get $i) (local.get $last) (i32.lt_u (local.get $i) (local.get $last))) (i32.const 2)))
      (local.set $q (i32.add (local.get $w) (local.get $p)))
${[0, 1, 2].flatMap((a) => [0, 1, 2].map((b) => `      ${set(`g${a}${b}`, '(v128.load (local.get $q))')} (local.set $q (i32.add (local.get $q) (local.get $NS)))`)).join('\n')}
${[0, 1, 2].flatMap((b) => gt((a) => get(`g${a}${b}`)).map((v, i) => `      ${set(`t${i}${b}`, v)}`)).join('\n')}
      (local.set $q (i32.add (local.get $u) (local.get $p)))
${I4.flatMap((i) => gt((b) => get(`t${i}${b}`)).map((v) => `      (v128.store (local.get $q) ${v}) (local.set $q (i32.add (local.get $q) (local.get $NS)))`)).join('\n')}
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br_if $next (i32.lt_u (local.get $i) (local.get $n)))))`;
  // "wino_filter_t": the transform of the filter of a conv's input gradient (w's taps rotated by 180°, in and out
  // swapped) straight from w [9, C, D]: G·rev(g) = P·G·g with P swapping rows 0 and 3, so position (i, j) of the rotated
  // filter is (σi, σj) of w's, σ = (3, 1, 2, 0), and u [16, D, C] takes its [C, D] matrix transposed (4 lanes stored
  // one by one)
  const sigma = [3, 1, 2, 0];
  const filterT = `  (func (export "wino_filter_t") (param $w i32) (param $u i32) (param $C i32) (param $D i32)
    (local $c i32) (local $d i32) (local $dd i32) (local $NS i32) (local $LS i32) (local $q i32) (local $half v128) (local $o v128)
    ${I4.slice(0, 3)
      .flatMap((a) => [0, 1, 2].map((b) => `(local $g${a}${b} v128)`))
      .join(' ')} ${I4.flatMap((i) => [0, 1, 2].map((b) => `(local $t${i}${b} v128)`)).join(' ')}
    (local.set $half (v128.const f32x4 0.5 0.5 0.5 0.5))
    (local.set $NS (i32.shl (i32.mul (local.get $C) (local.get $D)) (i32.const 2)))
    (local.set $LS (i32.shl (local.get $C) (i32.const 2)))
    (block $cDone (loop $cL
      (br_if $cDone (i32.ge_u (local.get $c) (local.get $C)))
      (local.set $d (i32.const 0))
      (block $dDone (loop $dL
        (br_if $dDone (i32.ge_u (local.get $d) (local.get $D)))
        (local.set $dd (call $min (local.get $d) (i32.sub (local.get $D) (i32.const 4))))
        (local.set $q (i32.add (local.get $w) (i32.shl (i32.add (i32.mul (local.get $c) (local.get $D)) (local.get $dd)) (i32.const 2))))
${[0, 1, 2].flatMap((a) => [0, 1, 2].map((b) => `        ${set(`g${a}${b}`, '(v128.load (local.get $q))')} (local.set $q (i32.add (local.get $q) (local.get $NS)))`)).join('\n')}
${[0, 1, 2].flatMap((b) => gt((a) => get(`g${a}${b}`)).map((v, i) => `        ${set(`t${i}${b}`, v)}`)).join('\n')}
${I4.flatMap((i) =>
  gt((b) => get(`t${i}${b}`)).map(
    (v, j) => `        (local.set $o ${v})
        (local.set $q (i32.add (local.get $u) (i32.add (i32.mul (i32.const ${4 * sigma[i] + sigma[j]}) (local.get $NS))
          (i32.shl (i32.add (i32.mul (local.get $dd) (local.get $C)) (local.get $c)) (i32.const 2)))))
${I4.map((l) => `        (f32.store (local.get $q) (f32x4.extract_lane ${l} (local.get $o)))${l < 3 ? ' (local.set $q (i32.add (local.get $q) (local.get $LS)))' : ''}`).join('\n')}`,
  ),
).join('\n')}
        (local.set $d (i32.add (local.get $d) (i32.const 4)))
        (br $dL)))
      (local.set $c (i32.add (local.get $c) (i32.const 1)))
      (br $cL))))`;
  const load = (i, j) => `(v128.load (i32.add (local.get $p${i}) (local.get $PS${j})))`;
  const input = `  (func $wino_in (param $x i32) (param $V i32) (param $H i32) (param $W i32) (param $C i32) (param $TW i32) (param $ty0 i32)
    (param $ty1 i32) (param $pt i32) (param $pl i32) (param $Tb i32)
    (local $ty i32) (local $tx i32) (local $r0 i32) (local $c0 i32) (local $inside i32) (local $base i32) (local $c i32) (local $cc i32)
    (local $PS i32) (local $RS i32) (local $KS i32) (local $pv i32) (local $q i32) (local $zero v128)
    ${I4.map((i) => `(local $p${i} i32) (local $PS${i} i32) (local $rv${i} i32) (local $cv${i} i32)`).join(' ')}
    ${loc('d')} ${loc('e')}
    (local.set $PS (i32.shl (local.get $C) (i32.const 2)))
    (local.set $RS (i32.mul (local.get $W) (local.get $PS)))
    (local.set $KS (i32.mul (local.get $Tb) (local.get $PS)))
    (local.set $PS1 (local.get $PS))
    (local.set $PS2 (i32.shl (local.get $PS) (i32.const 1)))
    (local.set $PS3 (i32.add (local.get $PS1) (local.get $PS2)))
    (local.set $pv (local.get $V))
    (local.set $ty (local.get $ty0))
    (block $tyDone (loop $tyL
      (br_if $tyDone (i32.ge_u (local.get $ty) (local.get $ty1)))
      (local.set $r0 (i32.sub (i32.shl (local.get $ty) (i32.const 1)) (local.get $pt)))
${I4.map((i) => `      (local.set $rv${i} (i32.lt_u (i32.add (local.get $r0) (i32.const ${i})) (local.get $H)))`).join('\n')}
      (local.set $tx (i32.const 0))
      (block $txDone (loop $txL
        (br_if $txDone (i32.ge_u (local.get $tx) (local.get $TW)))
        (local.set $c0 (i32.sub (i32.shl (local.get $tx) (i32.const 1)) (local.get $pl)))
${I4.map((j) => `        (local.set $cv${j} (i32.lt_u (i32.add (local.get $c0) (i32.const ${j})) (local.get $W)))`).join('\n')}
        (local.set $inside (i32.and (i32.and (local.get $rv0) (local.get $rv3)) (i32.and (local.get $cv0) (local.get $cv3))))
        (local.set $base (i32.add (local.get $x) (i32.add (i32.mul (local.get $r0) (local.get $RS)) (i32.mul (local.get $c0) (local.get $PS)))))
        ${channelBlocks(
          'C',
          `          (local.set $p0 (i32.add (local.get $base) (local.get $cc)))
          (local.set $p1 (i32.add (local.get $p0) (local.get $RS)))
          (local.set $p2 (i32.add (local.get $p1) (local.get $RS)))
          (local.set $p3 (i32.add (local.get $p2) (local.get $RS)))
          (if (local.get $inside)
            (then
${I4.flatMap((i) => I4.map((j) => `              ${set(`d${i}${j}`, load(i, j))}`)).join('\n')})
            (else
${I4.flatMap((i) =>
  I4.map(
    (j) =>
      `              ${set(`d${i}${j}`, `(if (result v128) (i32.and (local.get $rv${i}) (local.get $cv${j})) (then ${load(i, j)}) (else (local.get $zero)))`)}`,
  ),
).join('\n')}))
${I4.flatMap((j) => bt((i) => get(`d${i}${j}`)).map((v, i) => `          ${set(`e${i}${j}`, v)}`)).join('\n')}
          (local.set $q (i32.add (local.get $pv) (local.get $cc)))
${I4.flatMap((i) => bt((j) => get(`e${i}${j}`)).map((v) => `          (v128.store (local.get $q) ${v}) (local.set $q (i32.add (local.get $q) (local.get $KS)))`)).join('\n')}`,
        )}
        (local.set $pv (i32.add (local.get $pv) (local.get $PS)))
        (local.set $tx (i32.add (local.get $tx) (i32.const 1)))
        (br $txL)))
      (local.set $ty (i32.add (local.get $ty) (i32.const 1)))
      (br $tyL))))`;
  // A loop over the 2×2 output tiles of tile rows [ty0, ty1) and, in each, over its blocks of 4 of the D channels ($cc,
  // a byte offset): $py points at the tile's first pixel in `image` [OH, OW, D], $row1 / $col1 say whether the tile has a
  // second row / column there, and `ptr` (from `base`: a band's scratch of D values a tile, KS bytes between its 16
  // positions) moves on one tile a tile.
  const TILE_LOCALS =
    '(local $ty i32) (local $tx i32) (local $c i32) (local $cc i32) (local $PD i32) (local $KS i32) (local $YR i32) (local $py i32) (local $q i32) (local $row1 i32) (local $col1 i32)';
  const outputTiles = (image, ptr, base, body) => `    (local.set $PD (i32.shl (local.get $D) (i32.const 2)))
    (local.set $KS (i32.mul (local.get $Tb) (local.get $PD)))
    (local.set $YR (i32.mul (local.get $OW) (local.get $PD)))
    (local.set $${ptr} (local.get $${base}))
    (local.set $ty (local.get $ty0))
    (block $tyDone (loop $tyL
      (br_if $tyDone (i32.ge_u (local.get $ty) (local.get $ty1)))
      (local.set $row1 (i32.lt_u (i32.add (i32.shl (local.get $ty) (i32.const 1)) (i32.const 1)) (local.get $OH)))
      (local.set $tx (i32.const 0))
      (block $txDone (loop $txL
        (br_if $txDone (i32.ge_u (local.get $tx) (local.get $TW)))
        (local.set $col1 (i32.lt_u (i32.add (i32.shl (local.get $tx) (i32.const 1)) (i32.const 1)) (local.get $OW)))
        (local.set $py (i32.add (local.get $${image}) (i32.add (i32.mul (i32.shl (local.get $ty) (i32.const 1)) (local.get $YR))
          (i32.mul (i32.shl (local.get $tx) (i32.const 1)) (local.get $PD)))))
        ${channelBlocks('D', body)}
        (local.set $${ptr} (i32.add (local.get $${ptr}) (local.get $PD)))
        (local.set $tx (i32.add (local.get $tx) (i32.const 1)))
        (br $txL)))
      (local.set $ty (i32.add (local.get $ty) (i32.const 1)))
      (br $tyL)))`;
  const output = `  (func $wino_out (param $M i32) (param $y i32) (param $OH i32) (param $OW i32) (param $D i32) (param $TW i32) (param $ty0 i32)
    (param $ty1 i32) (param $Tb i32)
    ${TILE_LOCALS} (local $pm i32)
    ${loc('m')} ${loc('s', 2)}
${outputTiles(
  'y',
  'pm',
  'M',
  `          (local.set $q (i32.add (local.get $pm) (local.get $cc)))
${I4.flatMap((i) => I4.map((j) => `          ${set(`m${i}${j}`, '(v128.load (local.get $q))')} (local.set $q (i32.add (local.get $q) (local.get $KS)))`)).join('\n')}
${I4.flatMap((j) => at((i) => get(`m${i}${j}`)).map((v, a) => `          ${set(`s${a}${j}`, v)}`)).join('\n')}
          (local.set $q (i32.add (local.get $py) (local.get $cc)))
          (v128.store (local.get $q) ${at((j) => get(`s0${j}`))[0]})
          (if (local.get $col1) (then (v128.store (i32.add (local.get $q) (local.get $PD)) ${at((j) => get(`s0${j}`))[1]})))
          (if (local.get $row1) (then
            (local.set $q (i32.add (local.get $q) (local.get $YR)))
            (v128.store (local.get $q) ${at((j) => get(`s1${j}`))[0]})
            (if (local.get $col1) (then (v128.store (i32.add (local.get $q) (local.get $PD)) ${at((j) => get(`s1${j}`))[1]})))))`,
)})`;
  // The bands of `rows` tile rows of an image, each with its x windows transformed into v ("wino_in") first; then
  // `perBand` with $ty0, $ty1, $Tb set.
  const BAND_LOCALS = '(local $TW i32) (local $TH i32) (local $ty0 i32) (local $ty1 i32) (local $Tb i32) (local $k i32)';
  const bands = (setup, perBand) => `    (local.set $TW (i32.shr_u (i32.add (local.get $OW) (i32.const 1)) (i32.const 1)))
    (local.set $TH (i32.shr_u (i32.add (local.get $OH) (i32.const 1)) (i32.const 1)))
${setup}
    (block $done (loop $band
      (br_if $done (i32.ge_u (local.get $ty0) (local.get $TH)))
      (local.set $ty1 (call $min (i32.add (local.get $ty0) (local.get $rows)) (local.get $TH)))
      (local.set $Tb (i32.mul (i32.sub (local.get $ty1) (local.get $ty0)) (local.get $TW)))
      (call $wino_in (local.get $x) (local.get $v) (local.get $H) (local.get $W) (local.get $C) (local.get $TW) (local.get $ty0) (local.get $ty1)
        (local.get $pt) (local.get $pl) (local.get $Tb))
${perBand}
      (local.set $ty0 (local.get $ty1))
      (br $band))))`;
  // `call` for each of the 16 positions, its pointers ([name, start, stride]) moved on by their strides after each
  const positions = (call, ptrs) => `      ${ptrs.map(([n, from]) => `(local.set $${n} (local.get $${from}))`).join(' ')}
      (local.set $k (i32.const 0))
      (loop $products
        ${call}
${ptrs.map(([n, , stride]) => `        (local.set $${n} (i32.add (local.get $${n}) (local.get $${stride})))`).join('\n')}
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br_if $products (i32.lt_u (local.get $k) (i32.const 16))))`;
  const conv = `  (func (export "wino3") (param $x i32) (param $u i32) (param $y i32) (param $v i32) (param $m i32) (param $H i32) (param $W i32)
    (param $C i32) (param $D i32) (param $OH i32) (param $OW i32) (param $pt i32) (param $pl i32) (param $rows i32)
    ${BAND_LOCALS} (local $pv i32) (local $pu i32) (local $pm i32) (local $VS i32) (local $US i32) (local $MS i32)
${bands(
  '    (local.set $US (i32.shl (i32.mul (local.get $C) (local.get $D)) (i32.const 2)))',
  `      (local.set $VS (i32.shl (i32.mul (local.get $Tb) (local.get $C)) (i32.const 2)))
      (local.set $MS (i32.shl (i32.mul (local.get $Tb) (local.get $D)) (i32.const 2)))
${positions('(call $gemm (local.get $pv) (local.get $pu) (local.get $pm) (local.get $C) (local.get $Tb) (local.get $D) (i32.const 0) (i32.const 0))', [
  ['pv', 'v', 'VS'],
  ['pu', 'u', 'US'],
  ['pm', 'm', 'MS'],
])}
      (call $wino_out (local.get $m) (local.get $y) (local.get $OH) (local.get $OW) (local.get $D) (local.get $TW) (local.get $ty0) (local.get $ty1) (local.get $Tb))`,
)}`;
  // The filter gradient dW[a, b, c, d] = Σ x[oy − pt + a, ox − pl + b, c]·dy[oy, ox, d] as F(3×3, 2×2): each 2×2 tile
  // of dy (a "filter", zero past OH, OW) against the 4×4 window of x under it (the forward's tiles: "wino_in") gives
  // the 3×3 taps; F(3, 2)'s Bᵀ is F(2, 3)'s with its last row negated, carried by the dy side here:
  // G' = [[1, 0], [½, ½], [½, −½], [0, −1]], Aᵀ = [[1, 1, 1, 0], [0, 1, −1, 0], [0, 1, 1, 1]]. The sums over tiles are the
  // Gram kernel's (X_k [Tb, C]ᵀ·Y_k [Tb, D], accumulated over bands and images into M [16, C, D]).
  const gp = (f) => [f(0), half(add(f(0), f(1))), half(sub(f(0), f(1))), `(f32x4.neg ${f(1)})`];
  const dyIn = `  (func $fg_dy (param $dy i32) (param $Y i32) (param $OH i32) (param $OW i32) (param $D i32) (param $TW i32) (param $ty0 i32)
    (param $ty1 i32) (param $Tb i32)
    ${TILE_LOCALS} (local $pv i32) (local $zero v128) (local $half v128)
    ${[0, 1].flatMap((i) => [0, 1].map((j) => `(local $d${i}${j} v128)`)).join(' ')} ${I4.flatMap((i) => [0, 1].map((j) => `(local $e${i}${j} v128)`)).join(' ')}
    (local.set $half (v128.const f32x4 0.5 0.5 0.5 0.5))
${outputTiles(
  'dy',
  'pv',
  'Y',
  `          (local.set $q (i32.add (local.get $py) (local.get $cc)))
          (local.set $d00 (v128.load (local.get $q)))
          (local.set $d01 (if (result v128) (local.get $col1) (then (v128.load (i32.add (local.get $q) (local.get $PD)))) (else (local.get $zero))))
          (local.set $d10 (if (result v128) (local.get $row1) (then (v128.load (i32.add (local.get $q) (local.get $YR)))) (else (local.get $zero))))
          (local.set $d11 (if (result v128) (i32.and (local.get $row1) (local.get $col1))
            (then (v128.load (i32.add (i32.add (local.get $q) (local.get $YR)) (local.get $PD)))) (else (local.get $zero))))
${[0, 1].flatMap((j) => gp((i) => get(`d${i}${j}`)).map((v, i) => `          ${set(`e${i}${j}`, v)}`)).join('\n')}
          (local.set $q (i32.add (local.get $pv) (local.get $cc)))
${I4.flatMap((i) => gp((j) => get(`e${i}${j}`)).map((v) => `          (v128.store (local.get $q) ${v}) (local.set $q (i32.add (local.get $q) (local.get $KS)))`)).join('\n')}`,
)})`;
  const at3 = (f) => [add(add(f(0), f(1)), f(2)), sub(f(1), f(2)), add(add(f(1), f(2)), f(3))];
  const fgOut = `  (func (export "wino_fg_out") (param $M i32) (param $g i32) (param $n i32)
    (local $i i32) (local $p i32) (local $last i32) (local $NS i32) (local $q i32)
    ${loc('m')} ${I4.flatMap((i) => [0, 1, 2].map((b) => `(local $s${i}${b} v128)`)).join(' ')}
    (local.set $NS (i32.shl (local.get $n) (i32.const 2)))
    (local.set $last (i32.sub (local.get $n) (i32.const 4)))
    (loop $next
      (local.set $p (i32.shl (select (local.get $i) (local.get $last) (i32.lt_u (local.get $i) (local.get $last))) (i32.const 2)))
      (local.set $q (i32.add (local.get $M) (local.get $p)))
${I4.flatMap((i) => I4.map((j) => `      ${set(`m${i}${j}`, '(v128.load (local.get $q))')} (local.set $q (i32.add (local.get $q) (local.get $NS)))`)).join('\n')}
${I4.flatMap((i) => at3((j) => get(`m${i}${j}`)).map((v, b) => `      ${set(`s${i}${b}`, v)}`)).join('\n')}
      (local.set $q (i32.add (local.get $g) (local.get $p)))
${[0, 1, 2].flatMap((a) => [0, 1, 2].map((b) => `      (v128.store (local.get $q) ${at3((i) => get(`s${i}${b}`))[a]}) (local.set $q (i32.add (local.get $q) (local.get $NS)))`)).join('\n')}
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br_if $next (i32.lt_u (local.get $i) (local.get $n)))))`;
  const fg = `  (func (export "wino_fg") (param $x i32) (param $dy i32) (param $v i32) (param $y i32) (param $m i32) (param $H i32) (param $W i32)
    (param $C i32) (param $D i32) (param $OH i32) (param $OW i32) (param $pt i32) (param $pl i32) (param $rows i32) (param $acc i32)
    ${BAND_LOCALS} (local $pv i32) (local $py i32) (local $pm i32) (local $VS i32) (local $YS i32) (local $MS i32)
${bands(
  '    (local.set $MS (i32.shl (i32.mul (local.get $C) (local.get $D)) (i32.const 2)))',
  `      (call $fg_dy (local.get $dy) (local.get $y) (local.get $OH) (local.get $OW) (local.get $D) (local.get $TW) (local.get $ty0) (local.get $ty1) (local.get $Tb))
      (local.set $VS (i32.shl (i32.mul (local.get $Tb) (local.get $C)) (i32.const 2)))
      (local.set $YS (i32.shl (i32.mul (local.get $Tb) (local.get $D)) (i32.const 2)))
${positions(
  `(call $gram_acc (local.get $pv) (local.get $C) (local.get $py) (local.get $D) (local.get $pm) (local.get $Tb) (local.get $C) (local.get $D)
          (i32.const 1) (i32.or (local.get $acc) (i32.ne (local.get $ty0) (i32.const 0))))`,
  [
    ['pv', 'v', 'VS'],
    ['py', 'y', 'YS'],
    ['pm', 'm', 'MS'],
  ],
)}`,
)}`;
  return [filter, filterT, input, output, conv, dyIn, fgOut, fg].join('\n\n');
})();
const GRAM_ACC = gramFunction(
  '(func $gram_acc (param $a i32) (param $sa i32) (param $b i32) (param $sb i32) (param $g i32) (param $N i32) (param $da i32) (param $db i32) (param $n i32) (param $acc i32)',
  false,
  true,
);
/**
 * "gemm" (also Winograd's per-position product, without a bias): the plain product g [da, db] = a [da, N]·b [N, db] plus, where hasBias ≠ 0, the bias [db] on every row — a
 * 1×1 conv of x [P, C] with its filter [C, D] (N = C, da = P ≥ 4, db = D ≥ 4), the bias added where the first block of
 * rows stores its sums (no pass of its own). The same tiles as the Gram kernel's, a's values splatted straight from
 * memory (v128.load32_splat: a broadcast load, no shuffle on the vector ports; 41 GFLOP/s for the tile in cache on a
 * 2.6 GHz Zen 4, 33 with f32.load + f32x4.splat). Where it replaced XNNPACK's products (src/wasm/kernels.ts
 * `productKernel`): AnyIR's forward 1.19×, LCDNet's 1.15×, Restormer's ≈ 1.0×.
 */
const GEMM = gramFunction(
  '(func $gemm (export "gemm") (param $a i32) (param $b i32) (param $g i32) (param $N i32) (param $da i32) (param $db i32) (param $bias i32) (param $hasBias i32)',
  true,
  false,
  true,
);

/**
 * NAFNet's SimpleGate over P pixels of 2h channels, h ≥ 4: y[p, c] = x[p, c]·x[p, h + c] (y: P × h), and its gradient
 * dx[p, c] = dy[p, c]·x[p, h + c], dx[p, h + c] = dy[p, c]·x[p, c]. Vectors of 4 channels, the last one ending at h
 * (overlapping the one before when h is not a multiple of 4, and writing the same values again).
 */
/** A loop over P pixels (`setup` at each) and, inside, over the blocks of 4 of h channels ($cc: the block's byte offset). */
const pixelsByChannelBlocks = (setup, body) => `    (local.set $H4 (i32.shl (local.get $h) (i32.const 2)))
    (block $pDone (loop $pix
      (br_if $pDone (i32.ge_u (local.get $p) (local.get $P)))
${setup}
      ${channelBlocks('h', body)}
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (br $pix)))`;
const GATE = `  (func (export "gate_mul") (param $x i32) (param $y i32) (param $P i32) (param $h i32)
    (local $p i32) (local $c i32) (local $cc i32) (local $xa i32) (local $ya i32) (local $H4 i32)
${pixelsByChannelBlocks(
  `      (local.set $xa (i32.add (local.get $x) (i32.shl (i32.mul (local.get $p) (local.get $H4)) (i32.const 1))))
      (local.set $ya (i32.add (local.get $y) (i32.mul (local.get $p) (local.get $H4))))`,
  `        (v128.store (i32.add (local.get $ya) (local.get $cc))
          (f32x4.mul (v128.load (i32.add (local.get $xa) (local.get $cc))) (v128.load (i32.add (i32.add (local.get $xa) (local.get $H4)) (local.get $cc)))))`,
)})

  (func (export "gate_mul_grad") (param $x i32) (param $dy i32) (param $dx i32) (param $P i32) (param $h i32)
    (local $p i32) (local $c i32) (local $cc i32) (local $xa i32) (local $da i32) (local $ga i32) (local $H4 i32) (local $g v128)
${pixelsByChannelBlocks(
  `      (local.set $xa (i32.add (local.get $x) (i32.shl (i32.mul (local.get $p) (local.get $H4)) (i32.const 1))))
      (local.set $da (i32.add (local.get $dx) (i32.shl (i32.mul (local.get $p) (local.get $H4)) (i32.const 1))))
      (local.set $ga (i32.add (local.get $dy) (i32.mul (local.get $p) (local.get $H4))))`,
  `        (local.set $g (v128.load (i32.add (local.get $ga) (local.get $cc))))
        (v128.store (i32.add (local.get $da) (local.get $cc))
          (f32x4.mul (local.get $g) (v128.load (i32.add (i32.add (local.get $xa) (local.get $H4)) (local.get $cc)))))
        (v128.store (i32.add (i32.add (local.get $da) (local.get $H4)) (local.get $cc))
          (f32x4.mul (local.get $g) (v128.load (i32.add (local.get $xa) (local.get $cc)))))`,
)})`;

/**
 * Even and odd channels of P pixels of 2h channels (h ≥ 4): y0[p, c] = x[p, 2c], y1[p, c] = x[p, 2c + 1] (AnyIR's
 * Skip-Split), two vectors of x shuffled into one of each; and its gradient, the interleave dx[p, 2c] = d0[p, c],
 * dx[p, 2c + 1] = d1[p, c]. Blocks of 4 channels of y, the last one ending at h.
 */
const lanes = (...f) => f.flatMap((i) => [4 * i, 4 * i + 1, 4 * i + 2, 4 * i + 3]).join(' ');
const EVEN_ODD = `  (func (export "deinterleave") (param $x i32) (param $y0 i32) (param $y1 i32) (param $P i32) (param $h i32)
    (local $p i32) (local $c i32) (local $cc i32) (local $xa i32) (local $ya i32) (local $yb i32) (local $H4 i32) (local $a v128) (local $b v128)
${pixelsByChannelBlocks(
  `      (local.set $xa (i32.add (local.get $x) (i32.shl (i32.mul (local.get $p) (local.get $H4)) (i32.const 1))))
      (local.set $ya (i32.add (local.get $y0) (i32.mul (local.get $p) (local.get $H4))))
      (local.set $yb (i32.add (local.get $y1) (i32.mul (local.get $p) (local.get $H4))))`,
  `        (local.set $a (v128.load (i32.add (local.get $xa) (i32.shl (local.get $cc) (i32.const 1)))))
        (local.set $b (v128.load offset=16 (i32.add (local.get $xa) (i32.shl (local.get $cc) (i32.const 1)))))
        (v128.store (i32.add (local.get $ya) (local.get $cc)) (i8x16.shuffle ${lanes(0, 2, 4, 6)} (local.get $a) (local.get $b)))
        (v128.store (i32.add (local.get $yb) (local.get $cc)) (i8x16.shuffle ${lanes(1, 3, 5, 7)} (local.get $a) (local.get $b)))`,
)})

  (func (export "interleave") (param $d0 i32) (param $d1 i32) (param $dx i32) (param $P i32) (param $h i32)
    (local $p i32) (local $c i32) (local $cc i32) (local $xa i32) (local $ya i32) (local $yb i32) (local $H4 i32) (local $a v128) (local $b v128)
${pixelsByChannelBlocks(
  `      (local.set $xa (i32.add (local.get $dx) (i32.shl (i32.mul (local.get $p) (local.get $H4)) (i32.const 1))))
      (local.set $ya (i32.add (local.get $d0) (i32.mul (local.get $p) (local.get $H4))))
      (local.set $yb (i32.add (local.get $d1) (i32.mul (local.get $p) (local.get $H4))))`,
  `        (local.set $a (v128.load (i32.add (local.get $ya) (local.get $cc))))
        (local.set $b (v128.load (i32.add (local.get $yb) (local.get $cc))))
        (v128.store (i32.add (local.get $xa) (i32.shl (local.get $cc) (i32.const 1))) (i8x16.shuffle ${lanes(0, 4, 1, 5)} (local.get $a) (local.get $b)))
        (v128.store offset=16 (i32.add (local.get $xa) (i32.shl (local.get $cc) (i32.const 1))) (i8x16.shuffle ${lanes(2, 6, 3, 7)} (local.get $a) (local.get $b)))`,
)})`;

/**
 * The loops of the DFT kernels over lines along the transformed axis of [parts, pre, L, post] values. `gatheredLines`:
 * where fewer than 4 values follow the axis, for each q < post the groups of 4 consecutive p (the last group ending at
 * pre), $g0 the group's first p. `eachPre`: for each p < pre, $xp and $yp at x and y's row p (lx and ly long).
 */
const gatheredLines = (body) => `(block $gDone (loop $gL
          (br_if $gDone (i32.ge_u (local.get $q) (local.get $post)))
          (local.set $p (i32.const 0))
          (block $gpDone (loop $gpL
            (br_if $gpDone (i32.ge_u (local.get $p) (local.get $pre)))
            (local.set $g0 (call $min (local.get $p) (i32.sub (local.get $pre) (i32.const 4))))
${body}
            (local.set $p (i32.add (local.get $p) (i32.const 4)))
            (br $gpL)))
          (local.set $q (i32.add (local.get $q) (i32.const 1)))
          (br $gL)))`;
const eachPre = (body) => `(block $pDone (loop $pL
      (br_if $pDone (i32.ge_u (local.get $p) (local.get $pre)))
      (local.set $xp (i32.add (local.get $x) (i32.mul (i32.mul (local.get $p) (local.get $lx)) (local.get $PS))))
      (local.set $yp (i32.add (local.get $y) (i32.mul (i32.mul (local.get $p) (local.get $ly)) (local.get $PS))))
${body}
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (br $pL)))`;

/**
 * One pass of a DFT along the middle axis of values [parts, pre, L, post] (parts 2: re and im planes; 1: real), the fft
 * package's "DFT pass" (its kernels.ts): y[·, p, o, q] = scale·Σ_j w_j·(c_oj + sign·i·s_oj)·x[·, p, n_oj, q] for o < ly.
 * Each output's R terms come from a row of the table, tab[o] = [n_0, c_0, s_0, n_1, c_1, s_1, …] (n as a float, exact
 * below 2²⁴, ascending along a row), so that a transform and its adjoint share one table: terms from the first n ≥ lenIn
 * on are left out (a c2r's half spectrum), and w_j = 2 where `herm` is set and 0 < n < N/2 (the c2r weights), else 1.
 * Modes: 0 real x → complex y, 1 complex → complex, 2 complex → real (y's re plane only). Vectorised over q (the `post`
 * contiguous values after the axis): blocks of 16 (four vectors) while they fit, then vectors of 4, the last one ending
 * at post (overlapping the one before and writing the same values again); where post < 4, vectors of 4 lines of
 * consecutive p gathered (pre ≥ 4; the last group ending at pre), else one value at a time. For a block of q the loop
 * runs over every output o, so that block's column of x (L·16 values a part) stays in cache.
 */
const dft = (() => {
  const V = [0, 1, 2, 3];
  /** The loop over outputs o for the current block ($xa, $ya: x and y at the block's first value) of width w. */
  // w 'g': one vector whose 4 lanes are 4 lines $XL (x) and $YL (y) bytes apart (fewer than 4 values after the axis)
  const outputs = (mode, w, id) => {
    const gathered = w === 'g';
    const vec = gathered || w > 0;
    const n = gathered ? 1 : vec ? w : 1;
    const T = vec ? 'f32x4' : 'f32';
    const ks = V.slice(0, n);
    const load = (addr, k) =>
      gathered
        ? `(f32x4.replace_lane 3 (f32x4.replace_lane 2 (f32x4.replace_lane 1 (f32x4.splat (f32.load ${addr})) (f32.load (i32.add ${addr} (local.get $XL))))
              (f32.load (i32.add ${addr} (i32.shl (local.get $XL) (i32.const 1))))) (f32.load (i32.add ${addr} (i32.mul (local.get $XL) (i32.const 3)))))`
        : vec
          ? `(v128.load offset=${16 * k} ${addr})`
          : `(f32.load ${addr})`;
    const store = (addr, k, v) =>
      gathered
        ? `(local.set $vxr ${v})\n${[0, 1, 2, 3].map((l) => `          (f32.store (i32.add ${addr} (i32.mul (local.get $YL) (i32.const ${l}))) (f32x4.extract_lane ${l} (local.get $vxr)))`).join('\n')}`
        : vec
          ? `(v128.store offset=${16 * k} ${addr} ${v})`
          : `(f32.store ${addr} ${v})`;
    const zero = vec ? '(v128.const f32x4 0 0 0 0)' : '(f32.const 0)';
    const r = (k) => `(local.get $${vec ? 'v' : 'f'}r${k})`;
    const i = (k) => `(local.get $${vec ? 'v' : 'f'}i${k})`;
    const c = `(local.get $${vec ? 'v' : 'f'}c)`;
    const s = `(local.get $${vec ? 'v' : 'f'}s)`;
    const mul = (a, b) => `(${T}.mul ${a} ${b})`;
    const add = (a, b) => `(${T}.add ${a} ${b})`;
    const sub = (a, b) => `(${T}.sub ${a} ${b})`;
    const setR = (k, v) => `(local.set $${vec ? 'v' : 'f'}r${k} ${v})`;
    const setI = (k, v) => `(local.set $${vec ? 'v' : 'f'}i${k} ${v})`;
    const term = (k) => {
      const xr = load('(local.get $a)', k);
      const xi = load('(local.get $b)', k);
      const gr = `(local.get $${vec ? 'v' : 'f'}xr)`;
      const gi = `(local.get $${vec ? 'v' : 'f'}xi)`;
      if (mode === 0)
        return `            (local.set $${vec ? 'v' : 'f'}xr ${xr})\n            ${setR(k, add(r(k), mul(gr, c)))}\n            ${setI(k, add(i(k), mul(gr, s)))}`;
      const lr = `(local.set $${vec ? 'v' : 'f'}xr ${xr}) (local.set $${vec ? 'v' : 'f'}xi ${xi})`;
      const re = `            ${setR(k, add(r(k), sub(mul(gr, c), mul(gi, s))))}`;
      if (mode === 2) return `            ${lr}\n${re}`;
      return `            ${lr}\n${re}\n            ${setI(k, add(i(k), add(mul(gr, s), mul(gi, c))))}`;
    };
    const splat = (v) => (vec ? `(f32x4.splat ${v})` : v);
    return `        (local.set $o (i32.const 0))
        (local.set $row (local.get $tab))
        (local.set $yo (local.get $ya))
        (block $oDone${id} (loop $oL${id}
          (br_if $oDone${id} (i32.ge_u (local.get $o) (local.get $ly)))
          (local.set $t (local.get $row))
          (local.set $tEnd (i32.add (local.get $row) (local.get $TS)))
${ks.map((k) => `          ${setR(k, zero)} ${setI(k, zero)}`).join('\n')}
          (block $jDone${id} (loop $jL${id}
            (br_if $jDone${id} (i32.ge_u (local.get $t) (local.get $tEnd)))
            (local.set $n (i32.trunc_f32_u (f32.load (local.get $t))))
            (br_if $jDone${id} (i32.ge_u (local.get $n) (local.get $lenIn)))
            (local.set $w2 (i32.and (local.get $herm) (i32.and (i32.ne (local.get $n) (i32.const 0)) (i32.ne (i32.shl (local.get $n) (i32.const 1)) (local.get $N)))))
            (local.set $a (i32.add (local.get $xa) (i32.mul (local.get $n) (local.get $PS))))
            (local.set $b (i32.add (local.get $a) (local.get $XS)))
            (local.set $${vec ? 'v' : 'f'}c ${splat('(f32.mul (f32.load offset=4 (local.get $t)) (select (local.get $sc2) (local.get $sc) (local.get $w2)))')})
            (local.set $${vec ? 'v' : 'f'}s ${splat('(f32.mul (f32.load offset=8 (local.get $t)) (select (local.get $ss2) (local.get $ss) (local.get $w2)))')})
${ks.map(term).join('\n')}
            (local.set $t (i32.add (local.get $t) (i32.const 12)))
            (br $jL${id})))
${ks.map((k) => `          ${store('(local.get $yo)', k, r(k))}`).join('\n')}
${mode === 2 ? '' : ks.map((k) => `          ${store('(i32.add (local.get $yo) (local.get $YS))', k, i(k))}`).join('\n')}
          (local.set $row (i32.add (local.get $row) (local.get $TS)))
          (local.set $yo (i32.add (local.get $yo) (local.get $PS)))
          (local.set $o (i32.add (local.get $o) (i32.const 1)))
          (br $oL${id})))`;
  };
  const block = (set) => `(local.set $xa (i32.add (local.get $xp) (i32.shl ${set} (i32.const 2))))
        (local.set $ya (i32.add (local.get $yp) (i32.shl ${set} (i32.const 2))))`;
  const params = `(param $x i32) (param $tab i32) (param $y i32) (param $pre i32) (param $lx i32) (param $ly i32) (param $post i32)
    (param $R i32) (param $lenIn i32) (param $N i32) (param $herm i32) (param $sc f32) (param $ss f32)`;
  const ARGS =
    '(local.get $x) (local.get $tab) (local.get $y) (local.get $pre) (local.get $lx) (local.get $ly) (local.get $post) (local.get $R) (local.get $lenIn) (local.get $N) (local.get $herm) (local.get $sc) (local.get $ss)';
  const pass = (mode) => `  (func $dft_m${mode} ${params}
    (local $n i32) (local $w2 i32) (local $sc2 f32) (local $ss2 f32) (local $XL i32) (local $YL i32) (local $g0 i32) (local $p i32) (local $q i32) (local $o i32) (local $t i32) (local $tEnd i32) (local $row i32) (local $a i32) (local $b i32)
    (local $xp i32) (local $yp i32) (local $xa i32) (local $ya i32) (local $yo i32) (local $PS i32) (local $XS i32) (local $YS i32) (local $TS i32)
    (local $vc v128) (local $vs v128) (local $vxr v128) (local $vxi v128) ${V.map((k) => `(local $vr${k} v128) (local $vi${k} v128)`).join(' ')}
    (local $fc f32) (local $fs f32) (local $fxr f32) (local $fxi f32) (local $fr0 f32) (local $fi0 f32)
    (local.set $PS (i32.shl (local.get $post) (i32.const 2)))
    (local.set $XS (i32.mul (i32.mul (local.get $pre) (local.get $lx)) (local.get $PS)))
    (local.set $YS (i32.mul (i32.mul (local.get $pre) (local.get $ly)) (local.get $PS)))
    (local.set $TS (i32.mul (local.get $R) (i32.const 12)))
    (local.set $sc2 (f32.add (local.get $sc) (local.get $sc)))
    (local.set $ss2 (f32.add (local.get $ss) (local.get $ss)))
    (if (i32.and (i32.lt_u (local.get $post) (i32.const 4)) (i32.ge_u (local.get $pre) (i32.const 4)))
      (then
        ;; fewer than 4 values after the axis: vectors of 4 lines of consecutive p at one q, the last group ending at pre
        (local.set $XL (i32.mul (local.get $lx) (local.get $PS)))
        (local.set $YL (i32.mul (local.get $ly) (local.get $PS)))
        ${gatheredLines(`            (local.set $xa (i32.add (i32.add (local.get $x) (i32.mul (local.get $g0) (local.get $XL))) (i32.shl (local.get $q) (i32.const 2))))
            (local.set $ya (i32.add (i32.add (local.get $y) (i32.mul (local.get $g0) (local.get $YL))) (i32.shl (local.get $q) (i32.const 2))))
${outputs(mode, 'g', 'g')}`)}
        (return)))
    ${eachPre(`      (local.set $q (i32.const 0))
      ;; blocks of 16 values while they fit
      (block $q16Done (loop $q16
        (br_if $q16Done (i32.gt_u (i32.add (local.get $q) (i32.const 16)) (local.get $post)))
        ${block('(local.get $q)')}
${outputs(mode, 4, 'a')}
        (local.set $q (i32.add (local.get $q) (i32.const 16)))
        (br $q16)))
      (if (i32.ge_u (local.get $post) (i32.const 4))
        (then
          ;; vectors of 4, the last one ending at post
          (block $q4Done (loop $q4
            (br_if $q4Done (i32.ge_u (local.get $q) (local.get $post)))
            ${block('(call $min (local.get $q) (i32.sub (local.get $post) (i32.const 4)))')}
${outputs(mode, 1, 'b')}
            (local.set $q (i32.add (local.get $q) (i32.const 4)))
            (br $q4))))
        (else
          (block $q1Done (loop $q1
            (br_if $q1Done (i32.ge_u (local.get $q) (local.get $post)))
            ${block('(local.get $q)')}
${outputs(mode, 0, 'c')}
            (local.set $q (i32.add (local.get $q) (i32.const 1)))
            (br $q1)))))`)})`;
  return `${[0, 1, 2].map(pass).join('\n\n')}

  (func (export "dft_pass") ${params} (param $mode i32)
    (if (i32.eqz (local.get $mode)) (then (call $dft_m0 ${ARGS}) (return)))
    (if (i32.eq (local.get $mode) (i32.const 1)) (then (call $dft_m1 ${ARGS}) (return)))
    (call $dft_m2 ${ARGS}))`;
})();

/**
 * A whole DFT of a power-of-two length N ≥ 8 along the middle axis of [parts, pre, L, post] values (post ≥ 4), with the
 * DFT pass's meaning (dft_pass with one term per input: y[o] = sc·Σ_{n < lenIn} w_n·x[n]·e^{sign·i·2π·o·n/N} for
 * o < ly, w_n = 2 where herm ≠ 0 and 0 < n < N/2), post ≥ 4 or pre ≥ 4, as a radix-2 Stockham FFT (self-sorting: natural order in and out,
 * log₂N passes of N/2 butterflies instead of N² or 2N√N multiply-adds). Columns of 8 post values (two vectors; then
 * single vectors, the last one ending at post; with post < 4, vectors of 4 lines p at one q gathered, the last group
 * ending at pre) are copied into scratch s0 (2·N·64 bytes) with the weights, scale and
 * zero padding applied, transformed there in cache, passes ping-ponging between the scratch's two halves
 * (y[q + s·2p] = a + b, y[q + s·(2p + 1)] = (a − b)·t^{p·s}, a = x[q + s·p], b = x[q + s·(p + n/2)], n = N/s, t the
 * twiddle e^{sign·i·2π/N} from the host's float64 table tw [2, N]), and the first ly outputs stored (re only in mode 2).
 */
const fft = (() => {
  // gathered (one vector): the 4 lanes are 4 lines $XL (x) and $YL (y) bytes apart instead of 4 adjacent values
  const col = (V, gathered = false) => {
    const vs = Array.from({ length: V }, (_, v) => v);
    const E = 32 * V; // bytes per element: V vectors of re, then V of im
    const load = (v, addr) =>
      gathered
        ? `(f32x4.replace_lane 3 (f32x4.replace_lane 2 (f32x4.replace_lane 1 (f32x4.splat (f32.load ${addr}))
            (f32.load (i32.add ${addr} (local.get $XL)))) (f32.load (i32.add ${addr} (i32.shl (local.get $XL) (i32.const 1)))))
            (f32.load (i32.add ${addr} (i32.mul (local.get $XL) (i32.const 3)))))`
        : `(v128.load offset=${16 * v} ${addr})`;
    const store = (v, addr, value) =>
      gathered
        ? `(local.set $ar ${value})
${[0, 1, 2, 3].map((l) => `      (f32.store (i32.add ${addr} (i32.mul (local.get $YL) (i32.const ${l}))) (f32x4.extract_lane ${l} (local.get $ar)))`).join('\n')}`
        : `(v128.store offset=${16 * v} ${addr} ${value})`;
    return `  (func $fft_col${V}${gathered ? 'g' : ''} (param $xa i32) (param $ya i32) (param $XS i32) (param $YS i32) (param $PS i32) (param $tw i32) (param $s0 i32) (param $N i32)
    (param $lenIn i32) (param $ly i32) (param $herm i32) (param $sc f32) (param $sign f32) (param $mode i32) (param $XL i32) (param $YL i32)
    (local $i i32) (local $src i32) (local $dst i32) (local $tmp i32) (local $n i32) (local $m i32) (local $s i32) (local $p i32) (local $q i32)
    (local $ia i32) (local $ib i32) (local $oa i32) (local $ob i32) (local $SE i32) (local $e i32) (local $w v128) (local $wr v128) (local $wi v128)
    (local $ar v128) (local $ai v128) (local $br v128) (local $bi v128) (local $dr v128) (local $di v128)
    (local.set $src (local.get $s0))
    (local.set $dst (i32.add (local.get $s0) (i32.mul (local.get $N) (i32.const ${E}))))
    ;; the column into the scratch: weighted, scaled, zero from lenIn on (im zero for a real x, mode 0)
    (block $lDone (loop $lL
      (br_if $lDone (i32.ge_u (local.get $i) (local.get $N)))
      (local.set $e (i32.add (local.get $src) (i32.mul (local.get $i) (i32.const ${E}))))
      (if (i32.lt_u (local.get $i) (local.get $lenIn))
        (then
          (local.set $w (f32x4.splat (select (f32.add (local.get $sc) (local.get $sc)) (local.get $sc)
            (i32.and (local.get $herm) (i32.and (i32.ne (local.get $i) (i32.const 0)) (i32.ne (i32.shl (local.get $i) (i32.const 1)) (local.get $N)))))))
          (local.set $ia (i32.add (local.get $xa) (i32.mul (local.get $i) (local.get $PS))))
${vs.map((v) => `          (v128.store offset=${16 * v} (local.get $e) (f32x4.mul ${load(v, '(local.get $ia)')} (local.get $w)))`).join('\n')}
          (if (i32.eqz (local.get $mode))
            (then
${vs.map((v) => `              (v128.store offset=${16 * (V + v)} (local.get $e) (v128.const f32x4 0 0 0 0))`).join('\n')})
            (else
              (local.set $ib (i32.add (local.get $ia) (local.get $XS)))
${vs.map((v) => `              (v128.store offset=${16 * (V + v)} (local.get $e) (f32x4.mul ${load(v, '(local.get $ib)')} (local.get $w)))`).join('\n')})))
        (else
${vs.map((v) => `          (v128.store offset=${16 * v} (local.get $e) (v128.const f32x4 0 0 0 0)) (v128.store offset=${16 * (V + v)} (local.get $e) (v128.const f32x4 0 0 0 0))`).join('\n')}))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $lL)))
    ;; log₂N Stockham passes
    (local.set $n (local.get $N))
    (local.set $s (i32.const 1))
    (block $sDone (loop $sL
      (br_if $sDone (i32.le_u (local.get $n) (i32.const 1)))
      (local.set $m (i32.shr_u (local.get $n) (i32.const 1)))
      (local.set $SE (i32.mul (local.get $s) (i32.const ${E})))
      (local.set $p (i32.const 0))
      (block $pDone (loop $pL
        (br_if $pDone (i32.ge_u (local.get $p) (local.get $m)))
        (local.set $e (i32.shl (i32.mul (local.get $p) (local.get $s)) (i32.const 2)))
        (local.set $wr (f32x4.splat (f32.load (i32.add (local.get $tw) (local.get $e)))))
        (local.set $wi (f32x4.splat (f32.mul (local.get $sign) (f32.load (i32.add (i32.add (local.get $tw) (i32.shl (local.get $N) (i32.const 2))) (local.get $e))))))
        (local.set $ia (i32.add (local.get $src) (i32.mul (local.get $p) (local.get $SE))))
        (local.set $ib (i32.add (local.get $ia) (i32.mul (local.get $m) (local.get $SE))))
        (local.set $oa (i32.add (local.get $dst) (i32.shl (i32.mul (local.get $p) (local.get $SE)) (i32.const 1))))
        (local.set $ob (i32.add (local.get $oa) (local.get $SE)))
        (local.set $q (i32.const 0))
        (block $qDone (loop $qL
${vs
  .map(
    (v) => `          (local.set $ar (v128.load offset=${16 * v} (local.get $ia))) (local.set $ai (v128.load offset=${16 * (V + v)} (local.get $ia)))
          (local.set $br (v128.load offset=${16 * v} (local.get $ib))) (local.set $bi (v128.load offset=${16 * (V + v)} (local.get $ib)))
          (v128.store offset=${16 * v} (local.get $oa) (f32x4.add (local.get $ar) (local.get $br)))
          (v128.store offset=${16 * (V + v)} (local.get $oa) (f32x4.add (local.get $ai) (local.get $bi)))
          (local.set $dr (f32x4.sub (local.get $ar) (local.get $br))) (local.set $di (f32x4.sub (local.get $ai) (local.get $bi)))
          (v128.store offset=${16 * v} (local.get $ob) (f32x4.sub (f32x4.mul (local.get $dr) (local.get $wr)) (f32x4.mul (local.get $di) (local.get $wi))))
          (v128.store offset=${16 * (V + v)} (local.get $ob) (f32x4.add (f32x4.mul (local.get $dr) (local.get $wi)) (f32x4.mul (local.get $di) (local.get $wr))))`,
  )
  .join('\n')}
          (local.set $ia (i32.add (local.get $ia) (i32.const ${E})))
          (local.set $ib (i32.add (local.get $ib) (i32.const ${E})))
          (local.set $oa (i32.add (local.get $oa) (i32.const ${E})))
          (local.set $ob (i32.add (local.get $ob) (i32.const ${E})))
          (local.set $q (i32.add (local.get $q) (i32.const 1)))
          (br_if $qL (i32.lt_u (local.get $q) (local.get $s)))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $pL)))
      (local.set $tmp (local.get $src)) (local.set $src (local.get $dst)) (local.set $dst (local.get $tmp))
      (local.set $n (local.get $m))
      (local.set $s (i32.shl (local.get $s) (i32.const 1)))
      (br $sL)))
    ;; the first ly outputs
    (local.set $i (i32.const 0))
    (block $oDone (loop $oL
      (br_if $oDone (i32.ge_u (local.get $i) (local.get $ly)))
      (local.set $e (i32.add (local.get $src) (i32.mul (local.get $i) (i32.const ${E}))))
      (local.set $oa (i32.add (local.get $ya) (i32.mul (local.get $i) (local.get $PS))))
${vs.map((v) => `      ${store(v, '(local.get $oa)', `(v128.load offset=${16 * v} (local.get $e))`)}`).join('\n')}
      (if (i32.ne (local.get $mode) (i32.const 2))
        (then
${vs.map((v) => `          ${store(v, '(i32.add (local.get $oa) (local.get $YS))', `(v128.load offset=${16 * (V + v)} (local.get $e))`)}`).join('\n')}))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $oL))))`;
  };
  const args = (qq, lines = '(i32.const 4) (i32.const 4)') =>
    `(i32.add (local.get $xp) (i32.shl ${qq} (i32.const 2))) (i32.add (local.get $yp) (i32.shl ${qq} (i32.const 2))) (local.get $XS) (local.get $YS) (local.get $PS) (local.get $tw) (local.get $s0) (local.get $N)
          (local.get $lenIn) (local.get $ly) (local.get $herm) (local.get $sc) (local.get $sign) (local.get $mode) ${lines}`;
  return `${col(2)}

${col(1)}

${col(1, true)}

  (func (export "fft_pow2") (param $x i32) (param $tw i32) (param $y i32) (param $s0 i32) (param $pre i32) (param $lx i32) (param $ly i32) (param $post i32)
    (param $N i32) (param $lenIn i32) (param $herm i32) (param $sc f32) (param $sign f32) (param $mode i32)
    (local $p i32) (local $q i32) (local $g0 i32) (local $xp i32) (local $yp i32) (local $PS i32) (local $XS i32) (local $YS i32)
    (local.set $PS (i32.shl (local.get $post) (i32.const 2)))
    (local.set $XS (i32.mul (i32.mul (local.get $pre) (local.get $lx)) (local.get $PS)))
    (local.set $YS (i32.mul (i32.mul (local.get $pre) (local.get $ly)) (local.get $PS)))
    (if (i32.lt_u (local.get $post) (i32.const 4))
      (then
        ;; fewer than 4 values after the axis (pre ≥ 4): each vector's lanes are 4 lines of consecutive p at one q, the
        ;; last group ending at pre
        ${gatheredLines(`            (local.set $xp (i32.add (local.get $x) (i32.mul (i32.mul (local.get $g0) (local.get $lx)) (local.get $PS))))
            (local.set $yp (i32.add (local.get $y) (i32.mul (i32.mul (local.get $g0) (local.get $ly)) (local.get $PS))))
            (call $fft_col1g ${args('(local.get $q)', '(i32.mul (local.get $lx) (local.get $PS)) (i32.mul (local.get $ly) (local.get $PS))')})`)}
        (return)))
    ${eachPre(`      (local.set $q (i32.const 0))
      (block $q8Done (loop $q8
        (br_if $q8Done (i32.gt_u (i32.add (local.get $q) (i32.const 8)) (local.get $post)))
        (call $fft_col2 ${args('(local.get $q)')})
        (local.set $q (i32.add (local.get $q) (i32.const 8)))
        (br $q8)))
      (block $q4Done (loop $q4
        (br_if $q4Done (i32.ge_u (local.get $q) (local.get $post)))
        (call $fft_col1 ${args('(call $min (local.get $q) (i32.sub (local.get $post) (i32.const 4)))')})
        (local.set $q (i32.add (local.get $q) (i32.const 4)))
        (br $q4)))`)})`;
})();

export const WAT = `(module
  (import "env" "memory" (memory 1))

  ;; y[i] = a·v·(1 + erf(b·v)), v = x[i]: GELU with (a, b) = (½, 1/√2); core's geluOfHalved with (1, 1).
${elementwise(
  'gelu',
  '(param $y i32) (param $n i32) (param $a f32) (param $b f32)',
  '',
  erfBody,
  () => '      (v128.store (i32.add (local.get $y) (local.get $p)) (f32x4.mul (f32x4.mul (local.get $v) (local.get $va)) (local.get $ope)))',
)}

  ;; g[i] = dy[i]·(a·(1 + erf(b·v)) + a·b·(2/√π)·v·e^(−(b·v)²)), v = x[i]: the gradient of "gelu".
${elementwise(
  'gelu_grad',
  '(param $dy i32) (param $g i32) (param $n i32) (param $a f32) (param $b f32)',
  '    (local.set $vc (f32x4.splat (f32.mul (f32.mul (local.get $a) (local.get $b)) (f32.const 1.1283791670955126))))',
  erfBody,
  () => `      (v128.store (i32.add (local.get $g) (local.get $p))
        (f32x4.mul (v128.load (i32.add (local.get $dy) (local.get $p)))
          (f32x4.add (f32x4.mul (local.get $va) (local.get $ope)) (f32x4.mul (f32x4.mul (local.get $vc) (local.get $v)) (local.get $E)))))`,
)}

${depthwise(3)}

${depthwise(5)}

${depthwise(7)}

${DW_PIXEL}

${LAYER_NORM}

${DW_FILTER_GRAD}

${COPY_ROWS}

${WINDOW}

${GRAM}

${GATE}

${EVEN_ODD}

${GEMM}

${GRAM_ACC}

${wino}

${dft}

${fft}
)
`;

/** The module's bytes, assembled by wabt. */
export async function assemble() {
  const wabt = await (await import('wabt')).default();
  const m = wabt.parseWat('kernels.wat', WAT);
  try {
    m.validate();
    return Uint8Array.from(m.toBinary({}).buffer);
  } finally {
    m.destroy();
  }
}

/** kernels-binary.ts's text for these bytes. */
export function binaryModule(bytes) {
  const b64 = Buffer.from(bytes).toString('base64');
  const lines = b64.match(/.{1,116}/g).map((l) => `  '${l}'`);
  return `// Generated by scripts/wasm-kernels.mjs (\`pnpm --filter @restorekit/core build:wasm\`): do not edit.\n/** restorekit's WebAssembly SIMD kernels (${bytes.length} bytes), base64. */\nexport const KERNELS_WASM_BASE64 =\n${lines.join(' +\n')};\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const out = new URL('../src/wasm/kernels-binary.ts', import.meta.url);
  const text = binaryModule(await assemble());
  const before = await readFile(out, 'utf8').catch(() => '');
  if (before !== text) await writeFile(out, text);
  console.log(before === text ? 'kernels-binary.ts unchanged' : 'kernels-binary.ts written');
  if (process.argv.includes('--wat')) console.log(WAT);
}
