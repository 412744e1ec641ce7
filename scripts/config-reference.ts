// Prints the variable table of docs/configuration.md, generated from the config schema (runtime/config.ts).
import { configReference } from '../runtime/config-reference.js';

process.stdout.write(configReference());
