// Prints the README's role × action table, generated from the policy (core/policy.ts).
import { policyTable } from '../core/policy-table.js';

process.stdout.write(policyTable());
