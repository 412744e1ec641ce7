// Types of eslint.layers.js, for the test that plants violations (test/unit/lint/layering.test.ts).
import type { Linter } from 'eslint';

declare const layers: Linter.Config[];
export default layers;
