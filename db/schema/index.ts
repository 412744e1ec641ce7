export * from './identity.js';
export * from './tenancy.js';
export * from './audit.js';
export * from './outbox.js';
export * from './api-keys.js';
export * from './sso.js';
export * from './platform-secrets.js';
export * from './oidc.js';
