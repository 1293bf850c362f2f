// `node --import ./test/support/trace-imports.mjs ...` appends every module URL the program
// resolves to $TRACE_IMPORTS_FILE, so a test can assert what a command did not load.
import { register } from 'node:module';

register('./trace-imports-hooks.mjs', import.meta.url);
