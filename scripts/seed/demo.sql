-- Demo data for the local `demo` tenant. Idempotent: every insert names its key and does
-- nothing when the row exists, so running the seed again changes nothing.
INSERT INTO company_settings (id, name, currency, time_zone, locale, email, phone, address)
VALUES (1, 'Demo Plumbing & Heating', 'USD', 'America/New_York', 'en-US',
        'office@demo-plumbing.example', '+12125550143', '12 Canal Street, New York, NY 10013')
ON CONFLICT (id) DO NOTHING;
