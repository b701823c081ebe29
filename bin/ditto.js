#!/usr/bin/env node
// Entry point of the `ditto` bin: runs the compiled CLI (built by `make setup` / `npm run build`).
import { main } from '../dist/cli/main.js';

process.exitCode = await main(process.argv);
