// Every process that verifies API keys caches them briefly (api/identity/api-keys/verifier.ts). A
// key's prefix published on this Redis channel makes every cache drop it at once: what a revocation,
// a rotation or an erasure's freeze sends.
export const apiKeyInvalidationChannel = 'vlinders:api-keys:invalidate';
