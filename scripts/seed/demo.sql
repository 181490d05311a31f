-- Demo data for the local `demo` tenant. Idempotent: running the seed again changes nothing.
-- The migrations create the settings row with a placeholder name; the seed names the demo
-- company only while the placeholder is still there.
UPDATE company_settings
SET name = 'Demo Plumbing & Heating', currency = 'USD', time_zone = 'America/New_York',
    locale = 'en-US', email = 'office@demo-plumbing.example', phone = '+12125550143',
    address = '12 Canal Street, New York, NY 10013'
WHERE id = 1 AND name = 'Unnamed company';
