import type { Options } from 'tsup';
import { packageBuild } from '../../tsup.shared';

// Two entries, ESM only (a Node command line): the programmatic entry `run(argv)` (dist/index.js) and the
// executable (dist/cli.js, `bin: restorekit`), whose `#!/usr/bin/env node` line tsup keeps (and marks the file
// executable). The CLI's own libraries (commander, cli-progress) stay dependencies, not bundled.
const base = packageBuild({ index: 'src/index.ts', cli: 'src/cli.ts' }) as Options;
export default { ...base, format: ['esm'] } satisfies Options;
