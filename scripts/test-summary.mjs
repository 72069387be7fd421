#!/usr/bin/env node
// Sums every package's test-results/vitest.json (written by the JSON reporter of vitest.shared.ts) and
// prints a per-package, per-backend table, then one closing line `N passed, N failed` over everything.
// Exits non-zero when a package has no results, a test failed, or a suite failed to load.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const dirs = ['packages', 'examples'].flatMap((d) => (existsSync(join(root, d)) ? readdirSync(join(root, d)).map((p) => join(root, d, p)) : []));
let passed = 0,
  failed = 0,
  skipped = 0,
  suiteFailures = 0;
const rows = [];
const missing = [];
for (const dir of dirs) {
  const pkgJson = join(dir, 'package.json');
  if (!existsSync(pkgJson)) continue;
  const pkg = JSON.parse(readFileSync(pkgJson, 'utf8'));
  if (!pkg.scripts?.test) continue;
  const file = join(dir, 'test-results', 'vitest.json');
  if (!existsSync(file)) {
    missing.push(pkg.name);
    continue;
  }
  const r = JSON.parse(readFileSync(file, 'utf8'));
  const by = {};
  for (const f of r.testResults) {
    // A file that failed without a failed test: it did not load, or its setup threw (e.g. the node-tensorflow
    // project's backend did not initialise); its tests are then listed as skipped, so count the file as a failure.
    if (f.status === 'failed' && !f.assertionResults.some((a) => a.status === 'failed')) {
      suiteFailures++;
      console.log(`suite failed to run: ${f.name}\n${f.message ?? ''}`);
    }
    for (const a of f.assertionResults) {
      const b = a.meta?.backend ?? (f.name.endsWith('.node.test.ts') ? 'cpu' : 'unknown');
      by[b] ??= { passed: 0, failed: 0, skipped: 0 };
      if (a.status === 'passed') {
        by[b].passed++;
        passed++;
      } else if (a.status === 'failed') {
        by[b].failed++;
        failed++;
        console.log(`FAILED [${b}] ${pkg.name}: ${a.fullName}`);
      } else {
        by[b].skipped++;
        skipped++;
      }
    }
  }
  for (const [b, c] of Object.entries(by)) rows.push([pkg.name, b, c.passed, c.failed, c.skipped]);
}
console.log('\npackage                     backend   passed  failed  skipped');
for (const [p, b, ps, fl, sk] of rows) console.log(`${p.padEnd(28)}${b.padEnd(10)}${String(ps).padStart(6)}${String(fl).padStart(8)}${String(sk).padStart(9)}`);
if (missing.length) console.log(`no test results for: ${missing.join(', ')}`);
console.log(`\n${passed} passed, ${failed + suiteFailures + missing.length} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed + suiteFailures + missing.length ? 1 : 0);
