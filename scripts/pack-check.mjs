#!/usr/bin/env node
// Packaging check: publint every public package, `pnpm pack` it, install all tarballs (plus tfjs peers)
// into a fresh temporary project, and import every package from both ESM and CJS.
import { execSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const out = join(root, '.pack-check');
rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'tarballs'), { recursive: true });
const run = (cmd, cwd) => {
  try {
    return execSync(cmd, { cwd, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
  } catch (e) {
    console.error(`pack-check: '${cmd}' failed in ${cwd}\n${e.stdout ?? ''}${e.stderr ?? ''}`);
    process.exit(1);
  }
};

const pkgs = readdirSync(join(root, 'packages'))
  .map((d) => join(root, 'packages', d))
  .filter((d) => existsSync(join(d, 'package.json')))
  .map((dir) => ({ dir, json: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) }))
  .filter((p) => !p.json.private)
  .filter((p) => !process.env.PACK_ONLY || process.env.PACK_ONLY.split(',').includes(p.json.name.replace('@restorekit/', '')));

const tarballs = {};
for (const p of pkgs) {
  for (const kind of ['dependencies', 'devDependencies', 'optionalDependencies', 'peerDependencies'])
    for (const dep of Object.keys(p.json[kind] ?? {}))
      if (/^@tensorflow\/tfjs-node/.test(dep)) throw new Error(`${p.json.name}: ${dep} must never be a dependency (${kind})`);
  for (const dep of Object.keys(p.json.dependencies ?? {}))
    if (dep.startsWith('@tensorflow/')) throw new Error(`${p.json.name}: ${dep} must be a peerDependency, not a dependency`);
  console.log(`publint ${p.json.name}`);
  run('npx publint --strict', p.dir);
  const file = run(`pnpm pack --pack-destination ${join(out, 'tarballs')}`, p.dir)
    .trim()
    .split('\n')
    .pop();
  tarballs[p.json.name] = file.startsWith('/') ? file : join(out, 'tarballs', file);
}

const proj = join(out, 'consumer');
mkdirSync(proj);
const tf = '4.22.0';
writeFileSync(
  join(proj, 'package.json'),
  JSON.stringify(
    {
      name: 'restorekit-consumer',
      private: true,
      version: '0.0.0',
      dependencies: {
        ...Object.fromEntries(Object.entries(tarballs).map(([n, f]) => [n, `file:${f}`])),
        '@tensorflow/tfjs-core': tf,
        '@tensorflow/tfjs-layers': tf,
        '@tensorflow/tfjs-backend-cpu': tf,
        '@tensorflow/tfjs-backend-wasm': tf,
      },
      // workspace:^ ranges become real versions in the tarballs; point them at the local tarballs.
      overrides: Object.fromEntries(Object.entries(tarballs).map(([n, f]) => [n, `file:${f}`])),
    },
    null,
    2,
  ),
);
run('npm install --no-audit --no-fund --loglevel=error', proj);
const names = Object.keys(tarballs);
writeFileSync(
  join(proj, 'esm.mjs'),
  `import '@tensorflow/tfjs-backend-cpu';\n${names.map((n, i) => `import * as m${i} from '${n}';`).join('\n')}\nconst mods = {${names.map((n, i) => `'${n}': m${i}`).join(', ')}};\nfor (const [n, m] of Object.entries(mods)) { if (Object.keys(m).length === 0) throw new Error(n + ': no exports (ESM)'); }\nconsole.log('ESM ok:', Object.entries(mods).map(([n, m]) => n + '(' + Object.keys(m).length + ')').join(' '));\n`,
);
writeFileSync(
  join(proj, 'cjs.cjs'),
  `require('@tensorflow/tfjs-backend-cpu');\nconst names = ${JSON.stringify(names)};\nfor (const n of names) { const m = require(n); if (Object.keys(m).length === 0) throw new Error(n + ': no exports (CJS)'); }\nconst core = require('@restorekit/core');\nconst c = new core.Conv2d({ inChannels: 3, outChannels: 4, kernelSize: 3, padding: 1 });\nconsole.log('CJS ok:', names.join(' '), '| Conv2d builds:', c.computeOutputShape([1, 8, 8, 3]).join('x'));\n`,
);
console.log(run('node esm.mjs', proj).trim());
console.log(run('node cjs.cjs', proj).trim());
// The CLI as a user gets it: `npx restorekit` from the packed tarballs, in a CommonJS and in an ESM project, restoring a
// PNG with the shipped default model (its weights come from the @restorekit/models tarball).
if (tarballs['@restorekit/cli']) {
  run(`node -e "require('sharp')({ create: { width: 40, height: 24, channels: 3, background: { r: 90, g: 140, b: 200 } } }).png().toFile('in.png')"`, proj);
  const pkgFile = join(proj, 'package.json');
  for (const type of ['commonjs', 'module']) {
    writeFileSync(pkgFile, JSON.stringify({ ...JSON.parse(readFileSync(pkgFile, 'utf8')), type }, null, 2));
    const listed = JSON.parse(run('npx --no-install restorekit models --json', proj));
    if (!JSON.stringify(listed).includes('compact')) throw new Error(`restorekit models (${type}): the compact family is missing`);
    run(`npx --no-install restorekit restore in.png -o out-${type}.png --backend cpu`, proj);
    if (!existsSync(join(proj, `out-${type}.png`))) throw new Error(`restorekit restore (${type}) wrote no output`);
    console.log(`CLI ok (${type} project): restorekit models, restorekit restore in.png -o out-${type}.png`);
  }
}
console.log(`pack check passed for ${names.length} packages`);
