import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { KERNELS_WASM_BASE64 } from './kernels-binary.js';

interface Generator {
  WAT: string;
  assemble(): Promise<Uint8Array>;
  binaryModule(bytes: Uint8Array): string;
}

describe('kernels-binary.ts', () => {
  it('is what scripts/wasm-kernels.mjs assembles today (run `pnpm --filter @restorekit/core build:wasm` after editing it)', async () => {
    const gen = (await import(new URL('../../scripts/wasm-kernels.mjs', import.meta.url).href)) as Generator;
    const bytes = await gen.assemble();
    expect(await readFile(new URL('./kernels-binary.ts', import.meta.url), 'utf8')).toBe(gen.binaryModule(bytes));
    expect(Buffer.from(KERNELS_WASM_BASE64, 'base64').equals(Buffer.from(bytes))).toBe(true);
  });

  it('is a valid SIMD module that imports only a memory (no data, globals or memory of its own) and exports the kernels', () => {
    const bytes = Buffer.from(KERNELS_WASM_BASE64, 'base64');
    expect(WebAssembly.validate(bytes)).toBe(true);
    const m = new WebAssembly.Module(bytes);
    expect(WebAssembly.Module.imports(m)).toEqual([{ module: 'env', name: 'memory', kind: 'memory' }]);
    expect(WebAssembly.Module.exports(m).map((e) => e.name)).toEqual([
      'gelu',
      'gelu_grad',
      'dw3',
      'dw5',
      'dw7',
      'layer_norm',
      'dw_filter_grad',
      'copy_rows',
      'window2d',
      'gram',
      'gate_mul',
      'gate_mul_grad',
      'deinterleave',
      'interleave',
      'gemm',
      'wino_filter',
      'wino_filter_t',
      'wino3',
      'wino_fg_out',
      'wino_fg',
      'dft_pass',
      'fft_pow2',
    ]);
  });
});
