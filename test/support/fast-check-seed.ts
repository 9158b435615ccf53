/**
 * Property tests run with one fixed seed in CI so a run is repeatable; FC_SEED=<n> explores
 * other corners locally (fast-check prints the seed and path of any counterexample).
 */
import fc from 'fast-check';

const seed = process.env.FC_SEED === undefined ? 20261127 : Number(process.env.FC_SEED);
fc.configureGlobal({ ...fc.readConfigureGlobal(), seed });
