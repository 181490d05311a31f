//! Users and tokens as the API shows them: never a hash, a secret or a session id.

use serde::Serialize;

use crate::db::tokens::AccessToken;
use crate::db::users::User;
use crate::domain::auth::account::audit_fields;
use crate::domain::time::Millis;

#[derive(Debug, Serialize)]
pub struct UserView<'a> {
    pub id: &'a str,
    pub email: &'a str,
    pub name: &'a str,
    pub role: &'a str,
    pub active: bool,
    pub mfa_enabled: bool,
    /// The user deleted their account: its name reads "Deleted user #n", its address erased.
    pub deleted: bool,
    /// When the address is locked after failed sign-ins, until when.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locked_until: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<String>,
    pub version: i64,
    pub created_at: &'a str,
    pub updated_at: &'a str,
}

impl<'a> UserView<'a> {
    pub fn new(user: &'a User, now: Millis) -> Self {
        Self {
            id: &user.id,
            email: &user.email,
            name: &user.name,
            role: &user.role,
            active: user.is_active(),
            mfa_enabled: user.mfa_enabled(),
            deleted: user.is_deleted(),
            deleted_at: user
                .deleted_at
                .and_then(|ms| u64::try_from(ms).ok())
                .map(|ms| Millis(ms).to_rfc3339()),
            locked_until: user
                .locked_until
                .and_then(|ms| u64::try_from(ms).ok())
                .filter(|ms| *ms > now.0)
                .map(|ms| Millis(ms).to_rfc3339()),
            version: user.version,
            created_at: &user.created_at,
            updated_at: &user.updated_at,
        }
    }
}

/// The audit trail's picture of a user: what changed, without timestamps. The name and address
/// are sealed under the user's key, so deleting the account erases them here too.
pub fn user_audit(user: &User) -> serde_json::Value {
    let (email, name) = audit_fields(&user.id, &user.email, &user.name);
    crate::json!({
        "email": email,
        "name": name,
        "role": user.role,
        "active": user.is_active(),
        "mfa_enabled": user.mfa_enabled(),
    })
}

#[derive(Debug, Serialize)]
pub struct TokenView<'a> {
    pub id: &'a str,
    /// Whose it is (the token acts as this user).
    pub user_id: &'a str,
    pub name: &'a str,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
    pub version: i64,
}

/// A connected app: an OAuth grant a user gave an MCP client (never its tokens).
#[derive(Debug, Serialize)]
pub struct AppView<'a> {
    pub id: &'a str,
    pub client_id: &'a str,
    pub client_name: &'a str,
    /// Whose grant it is (the app acts as this user).
    pub user_id: &'a str,
    pub user_name: &'a str,
    /// `read`, or `read write`.
    pub scope: &'a str,
    pub granted_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
    pub version: i64,
}

impl<'a> AppView<'a> {
    pub fn new(grant: &'a crate::db::oauth::GrantRow) -> Self {
        Self {
            id: &grant.id,
            client_id: &grant.client_id,
            client_name: &grant.client_name,
            user_id: &grant.user_id,
            user_name: &grant.user_name,
            scope: &grant.scope,
            granted_at: time(Some(grant.created_at)).unwrap_or_default(),
            last_used_at: time(grant.last_used_at),
            revoked_at: time(grant.revoked_at),
            version: grant.version,
        }
    }
}

fn time(ms: Option<i64>) -> Option<String> {
    ms.and_then(|v| u64::try_from(v).ok())
        .map(|v| Millis(v).to_rfc3339())
}

impl<'a> TokenView<'a> {
    pub fn new(token: &'a AccessToken) -> Self {
        Self {
            id: &token.id,
            user_id: &token.user_id,
            name: &token.name,
            created_at: time(Some(token.created_at)).unwrap_or_default(),
            expires_at: time(token.expires_at),
            last_used_at: time(token.last_used_at),
            revoked_at: time(token.revoked_at),
            version: token.version,
        }
    }
}
