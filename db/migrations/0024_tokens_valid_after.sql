-- A password reset ends every sign-in of the account, the platform's own access tokens included:
-- they are JWTs verified without a session row, so the API refuses those issued before this time
-- (api/identity/accounts/access-tokens.ts). Null: every unexpired token of the user stands.
ALTER TABLE users ADD COLUMN tokens_valid_after timestamp with time zone;
