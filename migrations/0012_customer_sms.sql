-- The conversation with a customer over SMS (DESIGN.md §10): which of the customer's numbers a
-- message came from or went to, so a reply goes back to the number the customer last wrote
-- from; and no email for the notice that a customer texted in.
--
-- Rollout: a nullable column and a narrower trigger; the running code never reads the column,
-- and until it writes `customer_message` notices the trigger behaves as before.

-- The E.164 number a customer's text came from ('in'), or the one a reply went to ('out').
ALTER TABLE customer_messages ADD COLUMN address TEXT;

-- Every in-app notice also goes to its user by email, except that a customer texted the
-- office: one email per text to every office user would bury the mail that matters, and a
-- reply to that email would not reach the customer. The bell and the customer's page show it.
DROP TRIGGER notifications_by_email;
CREATE TRIGGER notifications_by_email AFTER INSERT ON notifications
WHEN NEW.kind <> 'customer_message'
BEGIN
    INSERT INTO outbox (id, occasion, channel, recipient, kind, data, entity, entity_id,
                        next_at, created_at, updated_at)
    SELECT lower(hex(randomblob(16))), 'notice:' || NEW.id, 'email', u.email,
           'notice', json_object('notification_id', NEW.id), 'user', u.id,
           NEW.created_at, NEW.created_at, NEW.created_at
    FROM users u WHERE u.id = NEW.user_id AND u.active = 1;
END;

INSERT INTO schema_history (version, name) VALUES (12, 'customer_sms');
