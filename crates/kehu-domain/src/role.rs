//! Roles and what each may do. Every permission check in kehu asks a
//! [`Principal`]; nothing compares role names elsewhere.

use crate::code_enum;
use crate::ids::{TeamId, UserId};
use crate::mobile::Mobile;

code_enum! {
    /// A user's role.
    pub enum Role {
        Owner = "owner", "所有者", "Owner";
        Admin = "admin", "管理员", "Admin";
        Manager = "manager", "经理", "Manager";
        Agent = "agent", "业务员", "Agent";
        Finance = "finance", "财务", "Finance";
        ReadOnly = "read_only", "只读", "Read-only";
    }
}

/// Which customers a user sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every customer.
    All,
    /// Customers of the user's team (or only their own when they have none).
    Team,
    /// Customers the user owns.
    Own,
}

/// How phone numbers are shown to a role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhoneAccess {
    /// Numbers are shown in full.
    Full,
    /// Numbers are masked; the user may reveal one, and each reveal is audited.
    Reveal,
    /// Numbers are masked and cannot be revealed.
    Masked,
}

impl PhoneAccess {
    /// A number as shown in lists and exports: in full, or masked
    /// (138****5678); the flag says whether it was masked.
    pub fn show(self, m: &Mobile) -> (String, bool) {
        match self {
            PhoneAccess::Full => (m.as_str().to_string(), false),
            PhoneAccess::Reveal | PhoneAccess::Masked => (m.masked(), true),
        }
    }
}

impl Role {
    pub fn scope(self) -> Scope {
        match self {
            Role::Owner | Role::Admin | Role::Finance | Role::ReadOnly => Scope::All,
            Role::Manager => Scope::Team,
            Role::Agent => Scope::Own,
        }
    }

    pub fn phone_access(self) -> PhoneAccess {
        match self {
            Role::Owner | Role::Admin | Role::Manager | Role::Agent => PhoneAccess::Full,
            Role::Finance => PhoneAccess::Reveal,
            Role::ReadOnly => PhoneAccess::Masked,
        }
    }

    /// May create and edit customers, contacts and interactions (within scope).
    pub fn can_write_customers(self) -> bool {
        matches!(
            self,
            Role::Owner | Role::Admin | Role::Manager | Role::Agent
        )
    }

    /// May move customers to the recycle bin (within scope).
    pub fn can_delete_customers(self) -> bool {
        matches!(self, Role::Owner | Role::Admin | Role::Manager)
    }

    /// May give a customer to another owner (within scope).
    pub fn can_reassign(self) -> bool {
        matches!(self, Role::Owner | Role::Admin | Role::Manager)
    }

    /// May import customer files from the web UI and the API (within scope:
    /// new customers go to themselves or an owner they may assign).
    pub fn can_import(self) -> bool {
        matches!(self, Role::Owner | Role::Admin | Role::Manager)
    }

    /// May review the list of likely duplicate customers (within scope)
    /// and dismiss pairs that are not the same customer.
    pub fn can_review_duplicates(self) -> bool {
        matches!(self, Role::Owner | Role::Admin | Role::Manager)
    }

    /// May read the management view: model fits, dashboards and their
    /// figures over the whole customer base.
    pub fn can_view_analytics(self) -> bool {
        matches!(
            self,
            Role::Owner | Role::Admin | Role::Manager | Role::Finance
        )
    }

    /// May add products, change them and their prices.
    pub fn can_manage_products(self) -> bool {
        matches!(self, Role::Owner | Role::Admin | Role::Manager)
    }

    /// May manage users, teams, custom fields, tags, the recycle bin, and
    /// read the audit log.
    pub fn is_admin(self) -> bool {
        matches!(self, Role::Owner | Role::Admin)
    }

    /// May export customer lists without being granted it; these roles
    /// also grant export to other users.
    pub fn always_exports(self) -> bool {
        self.is_admin()
    }

    /// May grant `role` to a user.
    pub fn can_grant(self, role: Role) -> bool {
        match self {
            Role::Owner => true,
            Role::Admin => role != Role::Owner,
            _ => false,
        }
    }
}

/// Where a customer sits, for scope checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    pub owner_id: Option<UserId>,
    pub team_id: Option<TeamId>,
}

/// The user a request acts for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user_id: UserId,
    pub login: String,
    pub name: String,
    pub role: Role,
    pub team_id: Option<TeamId>,
    /// An admin has allowed this user to export customer lists.
    pub export_granted: bool,
}

impl Principal {
    /// The scope in effect: a team-scoped user without a team sees only
    /// their own customers.
    pub fn scope(&self) -> Scope {
        match (self.role.scope(), &self.team_id) {
            (Scope::Team, None) => Scope::Own,
            (s, _) => s,
        }
    }

    pub fn can_read(&self, p: &Placement) -> bool {
        match self.scope() {
            Scope::All => true,
            Scope::Team => {
                p.owner_id.as_ref() == Some(&self.user_id)
                    || (p.team_id.is_some() && p.team_id == self.team_id)
            }
            Scope::Own => p.owner_id.as_ref() == Some(&self.user_id),
        }
    }

    pub fn can_write(&self, p: &Placement) -> bool {
        self.role.can_write_customers() && self.can_read(p)
    }

    pub fn can_delete(&self, p: &Placement) -> bool {
        self.role.can_delete_customers() && self.can_read(p)
    }

    /// May export customer lists (what they see, as they see it): owners
    /// and admins always, anyone else when an admin has granted it.
    pub fn can_export(&self) -> bool {
        self.role.always_exports() || self.export_granted
    }

    /// May make `owner` (a member of `team`) the owner of customers:
    /// themselves always; others when the role may reassign and the owner
    /// is within the scope.
    pub fn can_assign(&self, owner: &UserId, team: Option<&TeamId>) -> bool {
        *owner == self.user_id
            || (self.role.can_reassign()
                && match self.scope() {
                    Scope::All => true,
                    Scope::Team => team.is_some() && team == self.team_id.as_ref(),
                    Scope::Own => false,
                })
    }

    /// Merging one customer into another changes both: it needs write
    /// access to each.
    pub fn can_merge(&self, survivor: &Placement, merged: &Placement) -> bool {
        self.can_write(survivor) && self.can_write(merged)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(role: Role, team: Option<&TeamId>) -> Principal {
        Principal {
            user_id: UserId::new(),
            login: "u".into(),
            name: "U".into(),
            role,
            team_id: team.cloned(),
            export_granted: false,
        }
    }

    #[test]
    fn scope_rules() {
        let team = TeamId::new();
        let other_team = TeamId::new();
        let agent = principal(Role::Agent, Some(&team));
        let manager = principal(Role::Manager, Some(&team));
        let lone_manager = principal(Role::Manager, None);
        let own = Placement {
            owner_id: Some(agent.user_id.clone()),
            team_id: Some(team.clone()),
        };
        let teammate = Placement {
            owner_id: Some(UserId::new()),
            team_id: Some(team.clone()),
        };
        let foreign = Placement {
            owner_id: Some(UserId::new()),
            team_id: Some(other_team),
        };
        let pool = Placement {
            owner_id: None,
            team_id: None,
        };

        assert!(agent.can_write(&own));
        assert!(!agent.can_read(&teammate));
        assert!(!agent.can_read(&pool));
        assert!(manager.can_write(&teammate));
        assert!(!manager.can_read(&foreign));
        assert!(!lone_manager.can_read(&teammate));
        assert_eq!(lone_manager.scope(), Scope::Own);
        for role in [Role::Owner, Role::Admin] {
            assert!(principal(role, None).can_delete(&foreign));
        }
        for role in [Role::Finance, Role::ReadOnly] {
            let p = principal(role, None);
            assert!(p.can_read(&foreign));
            assert!(!p.can_write(&foreign));
        }
        assert!(!agent.can_delete(&own));
        assert!(agent.can_merge(&own, &own));
        assert!(!agent.can_merge(&own, &teammate));
        assert!(manager.can_merge(&teammate, &own));
        assert!(!manager.can_merge(&teammate, &foreign));
        assert!(!principal(Role::ReadOnly, None).can_merge(&own, &own));
        assert!(manager.role.can_review_duplicates() && !agent.role.can_review_duplicates());
        assert!(agent.can_assign(&agent.user_id, Some(&team)));
        assert!(!agent.can_assign(&manager.user_id, Some(&team)));
        assert!(manager.can_assign(&agent.user_id, Some(&team)));
        assert!(!manager.can_assign(&UserId::new(), None));
        assert!(!lone_manager.can_assign(&agent.user_id, Some(&team)));
        let importers: Vec<Role> = Role::ALL
            .iter()
            .copied()
            .filter(|r| r.can_import())
            .collect();
        assert_eq!(importers, vec![Role::Owner, Role::Admin, Role::Manager]);
    }

    #[test]
    fn export_is_for_admins_and_those_granted_it() {
        for role in Role::ALL {
            let p = principal(*role, None);
            assert_eq!(
                p.can_export(),
                matches!(role, Role::Owner | Role::Admin),
                "{role:?} without a grant"
            );
            let granted = Principal {
                export_granted: true,
                ..p
            };
            assert!(granted.can_export(), "{role:?} with a grant");
        }
    }

    #[test]
    fn phones_as_each_role_sees_them() {
        let m = Mobile::parse("13812345678").unwrap();
        assert_eq!(
            Role::Agent.phone_access().show(&m),
            ("13812345678".to_string(), false)
        );
        for role in [Role::Finance, Role::ReadOnly] {
            assert_eq!(
                role.phone_access().show(&m),
                ("138****5678".to_string(), true)
            );
        }
    }

    #[test]
    fn granting_roles() {
        assert!(Role::Owner.can_grant(Role::Owner));
        assert!(!Role::Admin.can_grant(Role::Owner));
        assert!(Role::Admin.can_grant(Role::Agent));
        assert!(!Role::Manager.can_grant(Role::Agent));
    }

    #[test]
    fn roles_parse_from_code_or_chinese_label() {
        assert_eq!(Role::parse("read_only").unwrap(), Role::ReadOnly);
        assert_eq!(Role::parse("业务员").unwrap(), Role::Agent);
        assert!(Role::parse("root").is_err());
    }
}
