-- Onboarding opens the billing account before its last steps; when a later step fails for good,
-- its compensation removes the account again (never half a tenant), so the app role may delete it.
GRANT DELETE ON billing_accounts TO vlinders_app;
