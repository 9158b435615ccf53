/**
 * What is running: `qbl --version` and the qbl_build_info metric. The version is package.json's,
 * compiled in (tsc emits the JSON next to dist/src, so the built CLI needs nothing else).
 */
import { version } from '../package.json';

export const BUILD = Object.freeze({ name: 'opensips-qbl', version });
