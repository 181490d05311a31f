//! A user's account as personal data (DESIGN.md §9): the rules its name and address obey (once
//! the schema's CHECKs, which cannot read sealed values), how its fields are bound sealed under
//! the user's data key and found again through the address's blind index, and deleting an
//! account — who may, and what is left of it afterwards.

use crate::domain::auth::permissions::Role;
use crate::domain::personal::{email_term, pending, user_key, IndexKey};

/// The longest name a user may give (characters, after trimming).
pub const MAX_NAME_CHARS: usize = 200;

/// A user's name: trimmed, 1 to [`MAX_NAME_CHARS`] characters.
pub fn parse_name(input: &str) -> Result<String, &'static str> {
    let name = input.trim();
    match name.chars().count() {
        0 => Err("Give a name."),
        n if n > MAX_NAME_CHARS => Err("A name has at most 200 characters."),
        _ => Ok(name.to_owned()),
    }
}

/// An address people sign in with: trimmed and lower-cased, with something on either side of
/// an `@` and no spaces (what the schema checked before the address was sealed). Invitations
/// ask more of an address (`contact::Email`); this is the rule every stored account obeys.
pub fn parse_email(input: &str) -> Result<String, &'static str> {
    let email = input.trim().to_lowercase();
    let shaped = email
        .rsplit_once('@')
        .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty())
        && email.len() <= 254
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    if shaped {
        Ok(email)
    } else {
        Err("Give a valid email address.")
    }
}

/// The blind index of an address: what `users.email_index` holds and sign-in looks up.
pub fn email_index(key: &IndexKey, email: &str) -> String {
    key.blind(&email_term(email))
}

/// The data key of an invitation, which holds the invited address until the person it
/// becomes deletes their account.
pub fn invite_key(invite_id: &str) -> String {
    format!("i-{invite_id}")
}

/// An account's personal fields as a statement binds them: sealed under the user's data key,
/// and the address's blind index beside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedAccount {
    pub email: String,
    pub email_index: String,
    pub name: String,
}

impl SealedAccount {
    pub fn new(key: &IndexKey, user_id: &str, email: &str, name: &str) -> Self {
        let data_key = user_key(user_id);
        Self {
            email: pending(&data_key, email),
            email_index: email_index(key, email),
            name: pending(&data_key, name),
        }
    }
}

/// A TOTP secret (confirmed or pending) as stored: sealed under the user's data key.
pub fn sealed_secret(user_id: &str, secret: &str) -> String {
    pending(&user_key(user_id), secret)
}

/// The audit trail's picture of a user's personal fields: sealed, so that deleting the
/// account erases them from every past row too.
pub fn audit_fields(user_id: &str, email: &str, name: &str) -> (String, String) {
    let data_key = user_key(user_id);
    (pending(&data_key, email), pending(&data_key, name))
}

/// How a deleted account is named wherever users are shown: its name was erased with its key.
pub fn deleted_name(number: i64) -> String {
    format!("Deleted user #{number}")
}

/// What deleting an account needs to know of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    pub role: Role,
    pub active: bool,
    pub deleted: bool,
    /// Active owners the company has, this user included if they are one.
    pub active_owners: i64,
    /// The highest number a deleted account has so far (0 for none).
    pub last_deleted_number: i64,
}

/// Why an account cannot be deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Already deleted (a second request, or a race).
    AlreadyDeleted,
    /// The company's last active owner: ownership must move first.
    LastOwner,
}

impl Refused {
    pub fn detail(self) -> &'static str {
        match self {
            Refused::AlreadyDeleted => "This account was already deleted.",
            Refused::LastOwner => {
                "You are the company's only active owner: make someone else an owner first \
                 (Team), then delete your account."
            }
        }
    }

    /// A stable name for clients (the problem's `reason`).
    pub fn reason(self) -> &'static str {
        match self {
            Refused::AlreadyDeleted => "already_deleted",
            Refused::LastOwner => "last_owner",
        }
    }
}

/// Whether the account may be deleted, and if so the number it will be known by
/// ("Deleted user #n": one more than the last, so numbers stay small and never repeat).
pub fn deletion(standing: &Standing) -> Result<i64, Refused> {
    if standing.deleted {
        return Err(Refused::AlreadyDeleted);
    }
    if standing.active && standing.role == Role::Owner && standing.active_owners <= 1 {
        return Err(Refused::LastOwner);
    }
    Ok(standing.last_deleted_number.max(0) + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::personal::pending_text;

    fn key() -> IndexKey {
        IndexKey::new(&"k".repeat(32)).unwrap()
    }

    #[test]
    fn names_are_trimmed_and_between_one_and_two_hundred_characters() {
        assert_eq!(parse_name("  Ann Lee "), Ok("Ann Lee".to_owned()));
        assert!(parse_name("   ").is_err());
        assert!(parse_name(&"é".repeat(200)).is_ok());
        assert!(parse_name(&"é".repeat(201)).is_err());
    }

    #[test]
    fn addresses_are_lower_cased_and_need_something_either_side_of_the_at() {
        let cases = [
            (" Ann@Example.COM ", Some("ann@example.com")),
            ("a@b", Some("a@b")),
            ("@b.co", None),
            ("ann@", None),
            ("ann", None),
            ("an n@b.co", None),
        ];
        for (input, expected) in cases {
            assert_eq!(parse_email(input).ok().as_deref(), expected, "{input:?}");
        }
    }

    #[test]
    fn an_address_is_found_by_its_index_whatever_its_case_but_never_read_from_it() {
        let k = key();
        assert_eq!(
            email_index(&k, "Ann@Example.com"),
            email_index(&k, "ann@example.com")
        );
        assert_ne!(
            email_index(&k, "ann@example.com"),
            email_index(&k, "anne@example.com")
        );
        assert!(!email_index(&k, "ann@example.com").contains("ann"));
    }

    #[test]
    fn an_accounts_fields_are_bound_sealed_under_the_users_key() {
        let sealed = SealedAccount::new(&key(), "42", "ann@example.com", "Ann");
        assert!(sealed.email.starts_with("fwp1.u-42."));
        assert!(sealed.name.starts_with("fwp1.u-42."));
        assert_eq!(
            pending_text(&sealed.email).as_deref(),
            Some("ann@example.com")
        );
        assert_eq!(pending_text(&sealed.name).as_deref(), Some("Ann"));
        assert_eq!(sealed.email_index, email_index(&key(), "ann@example.com"));
        assert!(sealed_secret("42", "JBSWY3DP").starts_with("fwp1.u-42."));
        let (email, name) = audit_fields("42", "ann@example.com", "Ann");
        assert!(!email.contains("ann@") && !name.contains("Ann"));
        assert_eq!(invite_key("7"), "i-7");
    }

    #[test]
    fn the_last_active_owner_cannot_delete_their_account() {
        let owner = Standing {
            role: Role::Owner,
            active: true,
            deleted: false,
            active_owners: 1,
            last_deleted_number: 0,
        };
        let cases = [
            (owner, Err(Refused::LastOwner)),
            (
                Standing {
                    active_owners: 2,
                    ..owner
                },
                Ok(1),
            ),
            // A deactivated owner is not the one keeping the company owned.
            (
                Standing {
                    active: false,
                    ..owner
                },
                Ok(1),
            ),
            (
                Standing {
                    role: Role::Technician,
                    last_deleted_number: 4,
                    ..owner
                },
                Ok(5),
            ),
            (
                Standing {
                    role: Role::Technician,
                    deleted: true,
                    ..owner
                },
                Err(Refused::AlreadyDeleted),
            ),
        ];
        for (standing, expected) in cases {
            assert_eq!(deletion(&standing), expected, "{standing:?}");
        }
        assert!(Refused::LastOwner.detail().contains("owner first"));
        assert_eq!(deleted_name(3), "Deleted user #3");
    }
}
