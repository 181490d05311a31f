//! Audit events and the chains that make tampering with them detectable.
//!
//! Writers append rows without reading the chain (`seq` is the next number, taken inside the
//! write's own batch), so writers of different records never wait for each other. A sealer
//! then seals rows in order: each row's seal is HMAC-SHA256, under a key the database never
//! holds, over the previous row's seal and the row's content in a fixed canonical form
//! ([`seal`]); someone holding only the database can neither edit a row nor re-forge the chain.
//! Rows written before the keyed chain existed keep their unkeyed SHA-256 chain ([`chain`],
//! [`verify`]); the first seal covers the hash of the last of them.

use hmac::{Hmac, Mac};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::domain::time::Millis;

/// The `prev_hash` of the first row.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Who caused a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    /// A signed-in person (cookie session).
    User,
    /// A personal access token acting as its user.
    Token,
    /// Cloudflare Access, acting as the mapped user.
    Access,
    /// Someone not signed in (a failed sign-in, accepting an invite).
    Anonymous,
    /// An operator script (e.g. creating the first owner).
    System,
    /// An MCP client, acting as its token's user.
    Mcp,
    /// The messaging agent, acting as the linked user who wrote to it.
    Agent,
    /// A customer through a share link (the actor id is the link's), or by text message (the
    /// actor id is the message's Twilio sid).
    Customer,
    /// A provider's signed webhook (e.g. Stripe confirming a payment).
    Webhook,
    /// A support person in an approved support session (the actor id is the session's).
    Support,
}

impl ActorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Token => "token",
            Self::Access => "access",
            Self::Anonymous => "anonymous",
            Self::System => "system",
            Self::Mcp => "mcp",
            Self::Support => "support",
            Self::Agent => "agent",
            Self::Customer => "customer",
            Self::Webhook => "webhook",
        }
    }
}

/// Declares [`Action`]: each variant with the name it is stored and listed under.
macro_rules! actions {
    ($( $name:ident = $text:literal, )*) => {
        /// Every kind of change the audit trail records. `as_str` is the name stored in
        /// `audit_log.action` and shown by the API; stored names never change meaning.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Action {
            $( $name, )*
        }

        impl Action {
            pub const ALL: &'static [Action] = &[$( Action::$name, )*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $( Action::$name => $text, )*
                }
            }

            pub fn parse(text: &str) -> Option<Action> {
                Self::ALL.iter().copied().find(|a| a.as_str() == text)
            }
        }
    };
}

actions! {
    AuthLocked = "auth.locked",
    AuthLogin = "auth.login",
    AuthLoginFailed = "auth.login_failed",
    ChannelLinked = "channel.linked",
    ChannelUnlinked = "channel.unlinked",
    CompanyDeleted = "company.deleted",
    CompanyDeletionCancelled = "company.deletion_cancelled",
    CompanyDeletionRequested = "company.deletion_requested",
    CompanyExportDownloaded = "company.export_downloaded",
    CompanyExportRequested = "company.export_requested",
    CompanyPurged = "company.purged",
    CustomerArchived = "customer.archived",
    CustomerCreated = "customer.created",
    CustomerErased = "customer.erased",
    CustomerExported = "customer.exported",
    CustomerUnsubscribed = "customer.unsubscribed",
    CustomerMessageQueued = "customer.message_queued",
    CustomerMessageReceived = "customer.message_received",
    CustomerSmsOptedIn = "customer.sms_opted_in",
    CustomerSmsOptedOut = "customer.sms_opted_out",
    CustomerUpdated = "customer.updated",
    FileDeleted = "file.deleted",
    FilePurged = "file.purged",
    FileRejected = "file.rejected",
    FileScanned = "file.scanned",
    FileUploaded = "file.uploaded",
    InvoiceCreated = "invoice.created",
    InvoiceCredited = "invoice.credited",
    InvoiceDeleted = "invoice.deleted",
    InvoiceIssued = "invoice.issued",
    InvoicePaymentRecorded = "invoice.payment_recorded",
    InvoiceRefundRecorded = "invoice.refund_recorded",
    InvoiceUpdated = "invoice.updated",
    InvoiceVoided = "invoice.voided",
    JobCreated = "job.created",
    JobNoteAdded = "job.note_added",
    JobSigned = "job.signed",
    JobStatusChanged = "job.status_changed",
    JobUpdated = "job.updated",
    LinkCodeIssued = "link.code_issued",
    MessageDelivery = "message.delivery",
    MessageFailed = "message.failed",
    MessageQueued = "message.queued",
    MessageRetried = "message.retried",
    MessageSent = "message.sent",
    MessageSettingsUpdated = "message_settings.updated",
    MessageTemplateUpdated = "message_template.updated",
    MessageUnknown = "message.unknown",
    MfaDisabled = "mfa.disabled",
    MfaEnabled = "mfa.enabled",
    MfaEnrolmentStarted = "mfa.enrolment_started",
    NotificationsRead = "notifications.read",
    OAuthGranted = "oauth.granted",
    OAuthRevoked = "oauth.revoked",
    QuoteAccepted = "quote.accepted",
    QuoteConverted = "quote.converted",
    QuoteCreated = "quote.created",
    QuoteDeclined = "quote.declined",
    QuoteDeleted = "quote.deleted",
    QuoteRevised = "quote.revised",
    QuoteSent = "quote.sent",
    QuoteUpdated = "quote.updated",
    QuoteViewed = "quote.viewed",
    SettingsUpdated = "settings.updated",
    ShareLinkCreated = "share_link.created",
    ShareLinkRevoked = "share_link.revoked",
    SiteCreated = "site.created",
    SupportAction = "support.action",
    SupportApproved = "support.approved",
    SupportEnded = "support.ended",
    SupportRefused = "support.refused",
    SupportRequested = "support.requested",
    SupportStarted = "support.started",
    SiteUpdated = "site.updated",
    TokenCreated = "token.created",
    TokenRevoked = "token.revoked",
    UserCreated = "user.created",
    UserDeleted = "user.deleted",
    UserInvited = "user.invited",
    UserInviteLapsed = "user.invite_lapsed",
    UserPasswordChanged = "user.password_changed",
    UserRecoveryRequested = "user.recovery_requested",
    UserUnlocked = "user.unlocked",
    UserUpdated = "user.updated",
    VisitCreated = "visit.created",
    VisitDeleted = "visit.deleted",
    VisitStatusChanged = "visit.status_changed",
    VisitUpdated = "visit.updated",
    PersonalDataRewrapped = "personal_data.rewrapped",
    PersonalDataSealed = "personal_data.sealed",
    PersonalDataErasuresReplayed = "personal_data.erasures_replayed",
    AuditRestored = "audit.restored",
}

/// One change, before it is chained.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    pub at: Millis,
    pub actor_kind: ActorKind,
    pub actor_id: Option<String>,
    pub action: Action,
    pub entity: &'static str,
    pub entity_id: Option<String>,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub ip: Option<String>,
    pub request_id: String,
}

impl AuditEvent {
    /// An event of the product's own doing (a sweep, a sender, the scanner, a deadline): no
    /// person acted and no address sent it; `request_id` names the work that did it.
    pub fn by_system(
        at: Millis,
        action: Action,
        entity: &'static str,
        entity_id: Option<&str>,
        before: Option<Value>,
        after: Option<Value>,
        request_id: &str,
    ) -> Self {
        AuditEvent {
            at,
            actor_kind: ActorKind::System,
            actor_id: None,
            action,
            entity,
            entity_id: entity_id.map(str::to_owned),
            before,
            after,
            ip: None,
            request_id: request_id.to_owned(),
        }
    }
}

/// An event with its place in the chain: exactly what is stored (and read back).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct AuditRow {
    pub seq: i64,
    pub prev_seq: i64,
    pub at: String,
    pub actor_kind: String,
    pub actor_id: Option<String>,
    pub action: String,
    pub entity: String,
    pub entity_id: Option<String>,
    pub before: Option<String>,
    pub after: Option<String>,
    pub ip: Option<String>,
    pub request_id: Option<String>,
    pub prev_hash: String,
    pub hash: String,
    /// The keyed seal, once the sealer has reached this row (legacy rows have none).
    #[serde(default)]
    pub seal: Option<String>,
}

impl AuditRow {
    /// The chain's tip once this row is appended.
    pub fn tip(&self) -> ChainTip {
        ChainTip {
            seq: self.seq,
            hash: self.hash.clone(),
        }
    }
}

/// The last row of the chain as read before a write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainTip {
    pub seq: i64,
    pub hash: String,
}

impl ChainTip {
    pub fn genesis() -> Self {
        Self {
            seq: 0,
            hash: GENESIS_HASH.to_owned(),
        }
    }
}

/// The fields a hash covers, in a fixed order.
#[derive(Serialize)]
struct Canonical<'a> {
    seq: i64,
    prev_seq: i64,
    at: &'a str,
    actor_kind: &'a str,
    actor_id: Option<&'a str>,
    action: &'a str,
    entity: &'a str,
    entity_id: Option<&'a str>,
    before: Option<&'a str>,
    after: Option<&'a str>,
    ip: Option<&'a str>,
    request_id: Option<&'a str>,
}

impl AuditRow {
    /// The hash this row must have, given its content and `prev_hash`.
    pub fn expected_hash(&self) -> String {
        let canonical = self.canonical();
        // A struct of strings and integers always serializes.
        let content = serde_json::to_string(&canonical).unwrap_or_default();
        let mut hasher = Sha256::new();
        hasher.update(self.prev_hash.as_bytes());
        hasher.update(b"\n");
        hasher.update(content.as_bytes());
        hex(&hasher.finalize())
    }
}

/// Chains `events` after `tip`, in order.
pub fn chain(tip: &ChainTip, events: Vec<AuditEvent>) -> Vec<AuditRow> {
    let mut prev = tip.clone();
    events
        .into_iter()
        .map(|event| {
            let mut row = AuditRow {
                seq: prev.seq + 1,
                prev_seq: prev.seq,
                at: event.at.to_rfc3339(),
                actor_kind: event.actor_kind.as_str().to_owned(),
                actor_id: event.actor_id,
                action: event.action.as_str().to_owned(),
                entity: event.entity.to_owned(),
                entity_id: event.entity_id,
                before: event.before.map(|v| v.to_string()),
                after: event.after.map(|v| v.to_string()),
                ip: event.ip,
                request_id: Some(event.request_id),
                prev_hash: prev.hash.clone(),
                hash: String::new(),
                seal: None,
            };
            row.hash = row.expected_hash();
            prev = row.tip();
            row
        })
        .collect()
}

/// Where a chain first breaks, if it does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokenLink {
    pub seq: i64,
    pub reason: &'static str,
}

/// Whether `row` comes right after the row numbered `prev` (none missing in between).
fn follows(prev: i64, row: &AuditRow) -> Result<(), BrokenLink> {
    if row.prev_seq != prev || row.seq != prev + 1 {
        return Err(BrokenLink {
            seq: row.seq,
            reason: "a row is missing before this one",
        });
    }
    Ok(())
}

/// Checks rows given in `seq` order, starting after `from` (the genesis for a full check).
pub fn verify<'a>(
    from: &ChainTip,
    rows: impl IntoIterator<Item = &'a AuditRow>,
) -> Result<ChainTip, BrokenLink> {
    let mut prev = from.clone();
    for row in rows {
        let broken = |reason| BrokenLink {
            seq: row.seq,
            reason,
        };
        follows(prev.seq, row)?;
        if row.prev_hash != prev.hash {
            return Err(broken("prev_hash does not match the previous row"));
        }
        if row.hash != row.expected_hash() {
            return Err(broken("the row's content does not match its hash"));
        }
        prev = row.tip();
    }
    Ok(prev)
}

/// What a keyed seal covers besides the previous seal: every stored column but the seal.
#[derive(Serialize)]
struct SealedContent<'a> {
    #[serde(flatten)]
    canonical: Canonical<'a>,
    prev_hash: &'a str,
    hash: &'a str,
}

/// A key for sealing; never stored in D1 (a Worker secret).
#[derive(Clone)]
pub struct SealKey(Vec<u8>);

impl SealKey {
    /// At least 32 bytes of key material: shorter secrets are refused.
    pub fn new(secret: &str) -> Option<Self> {
        (secret.len() >= 32).then(|| Self(secret.as_bytes().to_vec()))
    }

    /// HMAC-SHA256 (hex) over `domain` and `parts`: each use names its own domain, so a MAC made
    /// for one purpose (a seal, a device cookie) never passes for another.
    pub(crate) fn mac(&self, domain: &str, parts: &[&str]) -> String {
        // HMAC takes a key of any length, so this never fails; an empty answer would only
        // fail verification.
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.0) else {
            return String::new();
        };
        mac.update(domain.as_bytes());
        for part in parts {
            mac.update(b"\n");
            mac.update(part.as_bytes());
        }
        hex(&mac.finalize().into_bytes())
    }
}

impl std::fmt::Debug for SealKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealKey(…)")
    }
}

/// A point of the keyed chain: a row's seq and its seal (for the first keyed row, the last
/// legacy row's seq and hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedTip {
    pub seq: i64,
    pub seal: String,
}

impl AuditRow {
    fn canonical(&self) -> Canonical<'_> {
        Canonical {
            seq: self.seq,
            prev_seq: self.prev_seq,
            at: &self.at,
            actor_kind: &self.actor_kind,
            actor_id: self.actor_id.as_deref(),
            action: &self.action,
            entity: &self.entity,
            entity_id: self.entity_id.as_deref(),
            before: self.before.as_deref(),
            after: self.after.as_deref(),
            ip: self.ip.as_deref(),
            request_id: self.request_id.as_deref(),
        }
    }
}

/// The seal `row` must have when it follows a row sealed `prev_seal`.
pub fn seal(key: &SealKey, prev_seal: &str, row: &AuditRow) -> String {
    let content = SealedContent {
        canonical: row.canonical(),
        prev_hash: &row.prev_hash,
        hash: &row.hash,
    };
    // A struct of strings and integers always serializes.
    let content = serde_json::to_string(&content).unwrap_or_default();
    key.mac("fieldworker audit seal v1", &[prev_seal, &content])
}

/// Seals `rows` (in `seq` order, unsealed) after `tip`; stops at the first row that does not
/// follow on (a gap is for verification to report, never to seal over).
pub fn seal_rows(key: &SealKey, tip: &SealedTip, rows: &[AuditRow]) -> Vec<(i64, String)> {
    let mut prev = tip.clone();
    let mut sealed = Vec::with_capacity(rows.len());
    for row in rows {
        if row.seq != prev.seq + 1 || row.prev_seq != prev.seq {
            break;
        }
        let value = seal(key, &prev.seal, row);
        sealed.push((row.seq, value.clone()));
        prev = SealedTip {
            seq: row.seq,
            seal: value,
        };
    }
    sealed
}

/// Checks sealed rows given in `seq` order after `from`; answers the last sealed row reached.
/// Rows without a seal end the check (they are the sealer's lag, reported apart).
pub fn verify_sealed<'a>(
    key: &SealKey,
    from: &SealedTip,
    rows: impl IntoIterator<Item = &'a AuditRow>,
) -> Result<SealedTip, BrokenLink> {
    let mut prev = from.clone();
    for row in rows {
        follows(prev.seq, row)?;
        let Some(stored) = row.seal.as_deref() else {
            break;
        };
        if stored != seal(key, &prev.seal, row) {
            return Err(BrokenLink {
                seq: row.seq,
                reason: "the row's content or seal does not match its key-sealed value",
            });
        }
        prev = SealedTip {
            seq: row.seq,
            seal: stored.to_owned(),
        };
    }
    Ok(prev)
}

/// An anchor: the sealed tip as copied out of the database (to write-once storage), with a MAC
/// so that it cannot be forged without the key either.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Anchor {
    pub seq: i64,
    pub seal: String,
    /// RFC 3339, when it was written.
    pub at: String,
    pub mac: String,
}

impl Anchor {
    pub fn new(key: &SealKey, tip: &SealedTip, at: &str) -> Self {
        Self {
            seq: tip.seq,
            seal: tip.seal.clone(),
            at: at.to_owned(),
            mac: anchor_mac(key, tip.seq, &tip.seal, at),
        }
    }

    pub fn is_genuine(&self, key: &SealKey) -> bool {
        self.mac == anchor_mac(key, self.seq, &self.seal, &self.at)
    }

    pub fn tip(&self) -> SealedTip {
        SealedTip {
            seq: self.seq,
            seal: self.seal.clone(),
        }
    }

    /// Object names sort newest first (R2 lists in ascending key order), so the newest anchor,
    /// or the newest at or below a seq, is one listing of one key away.
    pub fn object_key(seq: i64) -> String {
        format!("{ANCHOR_PREFIX}{:016}", ANCHOR_SEQ_CEILING - seq)
    }
}

/// Where anchors live in the tenant's bucket.
pub const ANCHOR_PREFIX: &str = "audit/anchors/";
const ANCHOR_SEQ_CEILING: i64 = 9_999_999_999_999_999;

fn anchor_mac(key: &SealKey, seq: i64, seal: &str, at: &str) -> String {
    key.mac("fieldworker audit anchor v1", &[&seq.to_string(), seal, at])
}

/// A restore of the tenant's database to an earlier point, as the Worker records it in the
/// trail (`audit.restored`, written by `POST /ops/restored`). A restore looks like truncation
/// to the anchors in R2: the anchors from `restored_to_seq + 1` to `anchors_through` name rows
/// of a timeline that was undone. The record's own MAC, under the audit key, is what lets
/// verification take it as the explanation: a row written into D1 without the key (which the
/// sealer would seal like any other row) carries no valid MAC and explains nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restore {
    /// The trail's last seq once restored: rows after it were undone.
    pub restored_to_seq: i64,
    /// The point restored to (RFC 3339), as the operator named it.
    pub at: String,
    /// The newest anchor when the restore was recorded: anchors up to it may name undone rows.
    pub anchors_through: i64,
    /// What was restored from: `bookmark:<id>` or `backup:<name>`.
    pub source: String,
}

impl Restore {
    pub fn mac(&self, key: &SealKey) -> String {
        key.mac(
            "fieldworker audit restored v1",
            &[
                &self.restored_to_seq.to_string(),
                &self.at,
                &self.anchors_through.to_string(),
                &self.source,
            ],
        )
    }

    /// The record of a restore as the event's `after` stores it, MAC included.
    pub fn to_json(&self, key: &SealKey) -> Value {
        crate::json!({
            "restored_to_seq": self.restored_to_seq,
            "at": self.at,
            "anchors_through": self.anchors_through,
            "source": self.source,
            "mac": self.mac(key),
        })
    }

    /// The restore an `audit.restored` row records, if its MAC is genuine under `key` and it
    /// follows the point it restored to; `None` for any other row, and for a forged one.
    pub fn genuine_in(row: &AuditRow, key: &SealKey) -> Option<Restore> {
        if row.action != Action::AuditRestored.as_str() {
            return None;
        }
        let after: Value = serde_json::from_str(row.after.as_deref()?).ok()?;
        let restore = Restore {
            restored_to_seq: after["restored_to_seq"].as_i64()?,
            at: after["at"].as_str()?.to_owned(),
            anchors_through: after["anchors_through"].as_i64()?,
            source: after["source"].as_str()?.to_owned(),
        };
        let mac = after["mac"].as_str()?;
        (row.seq > restore.restored_to_seq
            && crate::domain::secrets::secrets_match(mac.as_bytes(), restore.mac(key).as_bytes()))
        .then_some(restore)
    }

    /// Whether an anchor at `seq` may name a row of the timeline this restore undid.
    pub fn supersedes(&self, seq: i64) -> bool {
        self.restored_to_seq < seq && seq <= self.anchors_through
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json;

    #[test]
    fn every_action_has_its_own_name_and_reads_back() {
        for (i, action) in Action::ALL.iter().enumerate() {
            assert_eq!(Action::parse(action.as_str()), Some(*action));
            let (kind, what) = action.as_str().split_once('.').unwrap();
            assert!(!kind.is_empty() && !what.is_empty(), "{action:?}");
            assert!(Action::ALL[..i]
                .iter()
                .all(|a| a.as_str() != action.as_str()));
        }
        assert_eq!(Action::parse("job.exploded"), None);
    }

    fn event(action: Action) -> AuditEvent {
        AuditEvent {
            at: Millis(1_700_000_000_000),
            actor_kind: ActorKind::User,
            actor_id: Some("u1".into()),
            action,
            entity: "user",
            entity_id: Some("u2".into()),
            before: Some(json!({"role": "viewer"})),
            after: Some(json!({"role": "dispatcher"})),
            ip: Some("203.0.113.9".into()),
            request_id: "r1".into(),
        }
    }

    fn restore_row(restore: &Restore, key: &SealKey, seq: i64) -> AuditRow {
        let mut row = chain(
            &ChainTip::genesis(),
            vec![AuditEvent {
                action: Action::AuditRestored,
                after: Some(restore.to_json(key)),
                ..event(Action::AuditRestored)
            }],
        )
        .remove(0);
        row.seq = seq;
        row
    }

    #[test]
    fn a_restore_counts_only_with_the_keys_mac_and_after_its_point() {
        let key = SealKey::new("a restore key of at least thirty-two bytes").unwrap();
        let other = SealKey::new("another key, also thirty-two bytes long!").unwrap();
        let restore = Restore {
            restored_to_seq: 10,
            at: "2026-12-01T10:00:00Z".into(),
            anchors_through: 25,
            source: "bookmark:0000abcd".into(),
        };
        assert_eq!(
            Restore::genuine_in(&restore_row(&restore, &key, 11), &key),
            Some(restore.clone())
        );
        // Made without the key, or moved before its point, or edited: not an explanation.
        assert_eq!(
            Restore::genuine_in(&restore_row(&restore, &other, 11), &key),
            None
        );
        assert_eq!(
            Restore::genuine_in(&restore_row(&restore, &key, 10), &key),
            None
        );
        let mut edited = restore_row(&restore, &key, 11);
        edited.after = edited
            .after
            .map(|a| a.replace("\"anchors_through\":25", "\"anchors_through\":99"));
        assert_eq!(Restore::genuine_in(&edited, &key), None);
        let mut other_action = restore_row(&restore, &key, 11);
        other_action.action = "job.created".into();
        assert_eq!(Restore::genuine_in(&other_action, &key), None);
        for (seq, superseded) in [(10, false), (11, true), (25, true), (26, false)] {
            assert_eq!(restore.supersedes(seq), superseded, "{seq}");
        }
    }

    #[test]
    fn chained_rows_follow_each_other_from_the_genesis() {
        let rows = chain(
            &ChainTip::genesis(),
            vec![event(Action::JobCreated), event(Action::JobUpdated)],
        );
        assert_eq!((rows[0].seq, rows[0].prev_seq), (1, 0));
        assert_eq!(rows[0].prev_hash, GENESIS_HASH);
        assert_eq!((rows[1].seq, rows[1].prev_seq), (2, 1));
        assert_eq!(rows[1].prev_hash, rows[0].hash);
        assert_eq!(rows[0].hash.len(), 64);
        assert_ne!(rows[0].hash, rows[1].hash);
        assert_eq!(
            verify(&ChainTip::genesis(), &rows).unwrap().hash,
            rows[1].hash
        );
    }

    #[test]
    fn a_chain_continues_from_a_tip() {
        let first = chain(&ChainTip::genesis(), vec![event(Action::JobCreated)]);
        let tip = first[0].tip();
        let second = chain(&tip, vec![event(Action::JobUpdated)]);
        let all: Vec<_> = first.iter().chain(second.iter()).collect();
        assert!(verify(&ChainTip::genesis(), all).is_ok());
    }

    #[test]
    fn any_edit_missing_row_or_relinking_is_detected_at_its_row() {
        let rows = chain(
            &ChainTip::genesis(),
            vec![
                event(Action::JobCreated),
                event(Action::JobUpdated),
                event(Action::JobNoteAdded),
            ],
        );

        let mut edited = rows.clone();
        edited[1].after = Some("{\"role\":\"owner\"}".into());
        assert_eq!(verify(&ChainTip::genesis(), &edited).unwrap_err().seq, 2);

        let missing = [rows[0].clone(), rows[2].clone()];
        assert_eq!(verify(&ChainTip::genesis(), &missing).unwrap_err().seq, 3);

        let mut rehashed = rows.clone();
        rehashed[1].after = None;
        rehashed[1].hash = rehashed[1].expected_hash();
        // Re-hashing the edited row is not enough: the next row still names the old hash.
        assert_eq!(verify(&ChainTip::genesis(), &rehashed).unwrap_err().seq, 3);
    }

    fn key(secret: &str) -> SealKey {
        SealKey::new(&format!("{secret:<32}")).unwrap()
    }

    /// Rows as a writer appends them: numbered, no hashes, no seals; one per label, each of
    /// another action.
    fn appended(from_seq: i64, labels: &[&'static str]) -> Vec<AuditRow> {
        let mut rows = chain(
            &ChainTip {
                seq: from_seq,
                hash: String::new(),
            },
            (0..labels.len())
                .map(|i| event(Action::ALL[(from_seq as usize + i) % Action::ALL.len()]))
                .collect(),
        );
        for row in &mut rows {
            row.prev_hash = String::new();
            row.hash = String::new();
        }
        rows
    }

    fn sealed(key: &SealKey, tip: &SealedTip, mut rows: Vec<AuditRow>) -> Vec<AuditRow> {
        for (seq, value) in seal_rows(key, tip, &rows) {
            rows.iter_mut().find(|r| r.seq == seq).unwrap().seal = Some(value);
        }
        rows
    }

    fn legacy_tip() -> SealedTip {
        SealedTip {
            seq: 0,
            seal: GENESIS_HASH.into(),
        }
    }

    #[test]
    fn sealed_rows_verify_under_their_key_only() {
        let k = key("the audit key");
        let rows = sealed(&k, &legacy_tip(), appended(0, &["a", "b", "c"]));
        assert!(rows
            .iter()
            .all(|r| r.seal.as_deref().is_some_and(|s| s.len() == 64)));
        let tip = verify_sealed(&k, &legacy_tip(), &rows).unwrap();
        assert_eq!(tip.seq, 3);
        assert_eq!(
            verify_sealed(&key("another key"), &legacy_tip(), &rows)
                .unwrap_err()
                .seq,
            1
        );
    }

    #[test]
    fn an_edit_or_a_missing_row_is_found_at_its_row_and_a_reforged_chain_without_the_key_fails() {
        let k = key("the audit key");
        let rows = sealed(&k, &legacy_tip(), appended(0, &["a", "b", "c", "d"]));

        let mut edited = rows.clone();
        edited[1].after = Some("{\"role\":\"owner\"}".into());
        assert_eq!(
            verify_sealed(&k, &legacy_tip(), &edited).unwrap_err().seq,
            2
        );

        let missing = [rows[0].clone(), rows[2].clone(), rows[3].clone()];
        assert_eq!(
            verify_sealed(&k, &legacy_tip(), &missing).unwrap_err().seq,
            3
        );

        // Whoever holds only the database re-seals everything with a key of their own.
        let mut reforged = edited.clone();
        for row in &mut reforged {
            row.seal = None;
        }
        let reforged = sealed(&key("a guessed key"), &legacy_tip(), reforged);
        assert_eq!(
            verify_sealed(&k, &legacy_tip(), &reforged).unwrap_err().seq,
            1
        );
    }

    #[test]
    fn unsealed_rows_end_the_check_and_sealing_stops_at_a_gap() {
        let k = key("the audit key");
        let mut rows = sealed(&k, &legacy_tip(), appended(0, &["a", "b"]));
        rows.extend(appended(2, &["c"]));
        assert_eq!(verify_sealed(&k, &legacy_tip(), &rows).unwrap().seq, 2);

        let with_gap = [appended(0, &["a"]), appended(2, &["c"])].concat();
        assert_eq!(seal_rows(&k, &legacy_tip(), &with_gap).len(), 1);
    }

    #[test]
    fn the_first_seal_covers_the_last_legacy_hash() {
        let k = key("the audit key");
        let legacy = chain(&ChainTip::genesis(), vec![event(Action::UserCreated)]);
        let handover = SealedTip {
            seq: 1,
            seal: legacy[0].hash.clone(),
        };
        let rows = sealed(&k, &handover, appended(1, &["new"]));
        assert!(verify_sealed(&k, &handover, &rows).is_ok());
        let rehashed = SealedTip {
            seq: 1,
            seal: "f".repeat(64),
        };
        assert_eq!(verify_sealed(&k, &rehashed, &rows).unwrap_err().seq, 2);
    }

    #[test]
    fn anchors_are_genuine_under_their_key_and_their_names_sort_newest_first() {
        let k = key("the audit key");
        let tip = SealedTip {
            seq: 42,
            seal: "ab".repeat(32),
        };
        let anchor = Anchor::new(&k, &tip, "2026-12-04T10:00:00Z");
        assert!(anchor.is_genuine(&k));
        assert!(!anchor.is_genuine(&key("another key")));
        let forged = Anchor {
            seq: 41,
            ..anchor.clone()
        };
        assert!(!forged.is_genuine(&k));
        assert!(Anchor::object_key(43) < Anchor::object_key(42));
        assert!(Anchor::object_key(1_000_000) < Anchor::object_key(999_999));
        assert!(Anchor::object_key(1).starts_with(ANCHOR_PREFIX));
    }

    #[test]
    fn a_seal_key_needs_32_bytes() {
        assert!(SealKey::new("short").is_none());
        assert!(SealKey::new(&"k".repeat(32)).is_some());
    }
}
