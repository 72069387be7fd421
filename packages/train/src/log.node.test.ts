import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '@restorekit/core';
import { callbackSink, fileSink, memorySink } from './log.js';
import { Trainer } from './trainer.js';
import { NoisyBatches, l1, tinyNet } from './test-helpers.js';

describe('log sinks', () => {
  it('fileSink appends one JSON line per step to a file (Node)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'restorekit-train-'));
    const path = join(dir, 'train.jsonl');
    const net = tinyNet(1);
    const trainer = new Trainer({ model: net, loss: l1, data: new NoisyBatches(1), log: fileSink(path) });
    for (let i = 0; i < 3; i++) await trainer.step();
    const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
    expect(lines.map((l) => JSON.parse(l).step)).toEqual([1, 2, 3]);
    trainer.dispose();
    net.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('memorySink keeps lines, callbackSink hands parsed records over', async () => {
    const m = memorySink();
    await m.write('{"a":1}');
    expect(m.records()).toEqual([{ a: 1 }]);
    const got: unknown[] = [];
    await callbackSink((r) => {
      got.push(r);
    }).write('{"b":2}');
    expect(got).toEqual([{ b: 2 }]);
    expect(() => fileSink('')).toThrow(ConfigError);
  });
});
