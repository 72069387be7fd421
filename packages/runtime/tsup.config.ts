import type { Options } from 'tsup';
import { packageBuild } from '../../tsup.shared';

// Three entries: the backend-agnostic main entry (browsers and Node), the Node-only entry (worker_threads, sharp)
// and the worker script that the Node entry starts (dist/worker.js, found next to the module that starts it).
// `shims` gives the CJS build an import.meta.url, from which the worker script is located.
const base = packageBuild({ index: 'src/index.ts', node: 'src/node/index.ts', worker: 'src/node/worker.ts' }) as Options;
export default { ...base, shims: true } satisfies Options;
