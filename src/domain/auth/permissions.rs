//! Roles and what each may do: the permission matrix, as data, in one place. Every route names
//! the permission it needs (`http::router`), and the edge checks it on every request.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Runs the company: everything, including the team, settings and the audit trail.
    Owner,
    /// Runs the schedule: customers, jobs, visits, quotes and invoices; sees the team.
    Dispatcher,
    /// Does the work: sees and updates the jobs assigned to them.
    Technician,
    /// Reads, changes nothing.
    Viewer,
}

impl Role {
    pub const ALL: [Role; 4] = [
        Role::Owner,
        Role::Dispatcher,
        Role::Technician,
        Role::Viewer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::Dispatcher => "dispatcher",
            Self::Technician => "technician",
            Self::Viewer => "viewer",
        }
    }

    pub fn parse(value: &str) -> Option<Role> {
        Self::ALL.into_iter().find(|role| role.as_str() == value)
    }

    pub fn permissions(self) -> &'static [Permission] {
        MATRIX
            .iter()
            .find(|(role, _)| *role == self)
            .map(|(_, permissions)| *permissions)
            .unwrap_or(&[])
    }

    pub fn allows(self, permission: Permission) -> bool {
        self.permissions().contains(&permission)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// Customers and their sites (later jobs and visits): read.
    ViewRecords,
    /// Customers and their sites, jobs and visits: create, change, archive, assign.
    ManageRecords,
    /// Quotes, invoices and payments: read. Not technicians: prices, balances and payment
    /// history are office work, and a technician's jobs carry what they need on site.
    ViewMoney,
    /// Jobs: change status, add notes, record work and parts (technicians: only on the jobs
    /// assigned to them, enforced by the handlers).
    WorkOnJobs,
    /// Company settings (name, currency, time zone, MFA policy): read.
    ViewSettings,
    /// Company settings: change.
    ManageSettings,
    /// The team: list users, their roles, MFA and lock state.
    ViewUsers,
    /// The team: invite, change roles, deactivate, unlock.
    ManageUsers,
    /// The audit trail: read and verify.
    ViewAudit,
    /// People's data as a whole: export a customer's data, erase a customer, export or
    /// delete the company.
    ManagePersonalData,
}

use Permission::*;

/// The matrix. Adding a permission means deciding here, for every role, whether it has it.
pub const MATRIX: &[(Role, &[Permission])] = &[
    (
        Role::Owner,
        &[
            ViewRecords,
            ManageRecords,
            ViewMoney,
            WorkOnJobs,
            ViewSettings,
            ManageSettings,
            ViewUsers,
            ManageUsers,
            ViewAudit,
            ManagePersonalData,
        ],
    ),
    (
        Role::Dispatcher,
        &[
            ViewRecords,
            ManageRecords,
            ViewMoney,
            WorkOnJobs,
            ViewSettings,
            ViewUsers,
        ],
    ),
    (Role::Technician, &[ViewRecords, WorkOnJobs, ViewSettings]),
    (Role::Viewer, &[ViewRecords, ViewMoney, ViewSettings]),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_appears_once_in_the_matrix() {
        for role in Role::ALL {
            assert_eq!(MATRIX.iter().filter(|(r, _)| *r == role).count(), 1);
        }
    }

    #[test]
    fn roles_parse_from_their_names_only() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("Owner"), None);
        assert_eq!(Role::parse("admin"), None);
    }

    #[test]
    fn only_owners_manage_the_team_settings_and_audit() {
        for permission in [ManageUsers, ManageSettings, ViewAudit, ManagePersonalData] {
            let holders: Vec<Role> = Role::ALL
                .into_iter()
                .filter(|r| r.allows(permission))
                .collect();
            assert_eq!(holders, vec![Role::Owner], "{permission:?}");
        }
        assert!(Role::Dispatcher.allows(ViewUsers));
        assert!(!Role::Technician.allows(ViewUsers));
        assert!(!Role::Viewer.allows(ViewUsers));
    }

    #[test]
    fn everyone_reads_records_and_owners_and_dispatchers_change_them() {
        for role in Role::ALL {
            assert!(role.allows(ViewRecords), "{role:?}");
        }
        let managers: Vec<Role> = Role::ALL
            .into_iter()
            .filter(|r| r.allows(ManageRecords))
            .collect();
        assert_eq!(managers, vec![Role::Owner, Role::Dispatcher]);
    }

    #[test]
    fn everyone_but_technicians_reads_quotes_and_invoices() {
        let readers: Vec<Role> = Role::ALL
            .into_iter()
            .filter(|r| r.allows(ViewMoney))
            .collect();
        assert_eq!(readers, vec![Role::Owner, Role::Dispatcher, Role::Viewer]);
    }
}
