#!/usr/bin/env node
/** The `restorekit` executable: runs the command line and sets the exit code (see `run` in index.ts). */
import { run } from './index.js';

process.exitCode = await run(process.argv.slice(2));
