// Prints the role × action table of docs/security.md, generated from the policy (core/policy.ts).
import { policyTable } from '../core/policy-table.js';

process.stdout.write(policyTable());
