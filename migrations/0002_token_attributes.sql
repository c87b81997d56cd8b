-- Personal access token restrictions (DHIS2's token attributes: allowed IPs, methods, referrers),
-- as a JSON list; NULL = unrestricted. Enforced at authentication (src/users/token-attributes.ts).
ALTER TABLE api_tokens ADD COLUMN attributes TEXT;
