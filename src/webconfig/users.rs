//! `basic_auth_users` (bcrypt hashes, as exporter-toolkit) and the tocsin extension
//! `tocsin_roles`: what each user may do.
//!
//! A password check costs one bcrypt run whether the user exists or not: an unknown user's
//! password is checked against the hash of the configured user with the highest cost (and
//! refused whatever the outcome), so the time taken does not tell whether a user exists; the
//! comparison inside bcrypt is constant time. Outcomes are remembered in [`AuthCache`], keyed by a digest of user, hash and
//! password, right or wrong alike: a repeated request costs a lookup either way, and bcrypt runs
//! only for a combination not seen before.

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr as _;
use std::sync::Mutex;

use crate::config::Secret;

/// What a user may do (tocsin extension). A user with no `tocsin_roles` entry has every role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Send alerts: `POST /api/v2/alerts` and `/api/tocsin/v1/webhook` (what Prometheus needs).
    Ingest,
    /// Read: every `GET`, `/metrics`, the health endpoints, template previews.
    Read,
    /// Create, update and expire silences; pause and resume heartbeat checks.
    Silence,
    /// Everything, including `POST /-/reload`.
    Admin,
}

impl Role {
    /// The name used in the file and in answers.
    pub fn name(self) -> &'static str {
        match self {
            Role::Ingest => "ingest",
            Role::Read => "read",
            Role::Silence => "silence",
            Role::Admin => "admin",
        }
    }

    fn bit(self) -> u8 {
        match self {
            Role::Ingest => 1,
            Role::Read => 2,
            Role::Silence => 4,
            Role::Admin => 8,
        }
    }

    fn parse(s: &str) -> Option<Role> {
        [Role::Ingest, Role::Read, Role::Silence, Role::Admin]
            .into_iter()
            .find(|r| r.name() == s)
    }
}

/// A set of roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RoleSet(u8);

impl RoleSet {
    /// Every role.
    pub const ALL: RoleSet = RoleSet(15);

    /// Whether the set grants `role` (admin grants everything).
    pub fn allows(self, role: Role) -> bool {
        self.0 & (role.bit() | Role::Admin.bit()) != 0
    }
}

/// One user.
#[derive(Debug, Clone)]
struct User {
    /// The bcrypt hash.
    hash: Secret<String>,
    /// What the user may do.
    roles: RoleSet,
}

/// The basic-auth users; empty means no authentication.
#[derive(Debug, Default, Clone)]
pub struct Users {
    users: BTreeMap<String, User>,
    /// The highest cost among the hashes.
    cost: u32,
    /// The user whose hash (of the highest cost) an unknown user's password is checked against.
    decoy: String,
}

impl Users {
    /// Validates the hashes and the roles. Errors are `(key, message)` and never show a hash.
    pub fn new(
        users: BTreeMap<String, Secret<String>>,
        roles: BTreeMap<String, Vec<String>>,
    ) -> Result<Users, (String, String)> {
        let mut out = BTreeMap::new();
        let mut cost = 4;
        let mut decoy = String::new();
        for (name, hash) in users {
            let parts = bcrypt::HashParts::from_str(hash.expose()).map_err(|e| {
                (
                    format!("basic_auth_users.{name}"),
                    format!("not a bcrypt hash ({e})"),
                )
            })?;
            if decoy.is_empty() || parts.get_cost() > cost {
                decoy.clone_from(&name);
            }
            cost = cost.max(parts.get_cost());
            out.insert(
                name,
                User {
                    hash,
                    roles: RoleSet::ALL,
                },
            );
        }
        for (name, list) in roles {
            let key = format!("tocsin_roles.{name}");
            let Some(user) = out.get_mut(&name) else {
                return Err((key, "no such user in basic_auth_users".into()));
            };
            let mut set = RoleSet(0);
            for r in &list {
                let role = Role::parse(r).ok_or_else(|| {
                    (
                        key.clone(),
                        format!("unknown role {r:?}; expected ingest, read, silence or admin"),
                    )
                })?;
                set.0 |= role.bit();
            }
            if set.0 == 0 {
                return Err((
                    key,
                    "an empty role list would lock the user out; remove the user instead".into(),
                ));
            }
            user.roles = set;
        }
        Ok(Users {
            users: out,
            cost,
            decoy,
        })
    }

    /// Whether no user is configured.
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    /// The number of users.
    pub fn len(&self) -> usize {
        self.users.len()
    }

    /// Whether `user` exists.
    pub fn contains(&self, user: &str) -> bool {
        self.users.contains_key(user)
    }

    /// The roles of `user` (empty for an unknown user).
    pub fn roles(&self, user: &str) -> RoleSet {
        self.users.get(user).map_or(RoleSet(0), |u| u.roles)
    }

    /// The cache key of this attempt: a digest of user, stored hash (the decoy's cost for an
    /// unknown user) and password, so a changed hash never reuses an old outcome.
    pub fn cache_key(&self, user: &str, password: &[u8]) -> [u8; 32] {
        let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
        ctx.update(&(user.len() as u64).to_le_bytes());
        ctx.update(user.as_bytes());
        match self.users.get(user) {
            Some(u) => ctx.update(u.hash.expose().as_bytes()),
            None => ctx.update(&self.cost.to_le_bytes()),
        }
        ctx.update(password);
        let mut out = [0u8; 32];
        out.copy_from_slice(ctx.finish().as_ref());
        out
    }

    /// The hash a password for `user` is checked against: the user's own, or for an unknown
    /// user the decoy (the configured hash of the highest cost).
    fn checked_hash(&self, user: &str) -> &str {
        let name = if self.users.contains_key(user) {
            user
        } else {
            &self.decoy
        };
        self.users.get(name).map_or("", |u| u.hash.expose())
    }

    /// The slow check: exactly one bcrypt run, against the decoy for an unknown user (whose
    /// answer is no whatever the run says), so the time taken does not tell whether the user
    /// exists. CPU-heavy: call it off the async runtime.
    pub fn verify(&self, user: &str, password: &[u8]) -> bool {
        #[cfg(test)]
        tests::RUNS.with(|r| r.set(r.get() + 1));
        let right = bcrypt::verify(password, self.checked_hash(user)).unwrap_or(false);
        right && self.users.contains_key(user)
    }
}

/// Remembered outcomes of password checks (right and wrong), at most [`AuthCache::CAPACITY`].
#[derive(Debug, Default)]
pub struct AuthCache {
    /// Digest of (user, hash, password) -> whether it was right. A std `Mutex`: held for one
    /// map operation, never across an `.await`.
    map: Mutex<HashMap<[u8; 32], bool>>,
}

impl AuthCache {
    /// How many outcomes are kept; past it, the oldest half is forgotten.
    pub const CAPACITY: usize = 4096;

    /// The remembered outcome.
    pub fn get(&self, key: &[u8; 32]) -> Option<bool> {
        self.map
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(key)
            .copied()
    }

    /// Remembers an outcome.
    pub fn insert(&self, key: [u8; 32], ok: bool) {
        let mut m = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if m.len() >= Self::CAPACITY {
            // Any half will do: entries are cheap to recompute for a real user.
            let drop: Vec<[u8; 32]> = m.keys().take(Self::CAPACITY / 2).copied().collect();
            for k in drop {
                m.remove(&k);
            }
        }
        m.insert(key, ok);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    thread_local! {
        /// bcrypt runs made by `verify` on this thread.
        pub(super) static RUNS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    }

    fn runs() -> usize {
        RUNS.with(|r| r.get())
    }

    #[test]
    fn an_unknown_user_costs_one_bcrypt_run_of_the_highest_cost() {
        let mut m = BTreeMap::new();
        m.insert(
            "cheap".to_owned(),
            Secret::new(bcrypt::hash("a", 4).unwrap()),
        );
        let dear = bcrypt::hash("b", 6).unwrap();
        m.insert("dear".to_owned(), Secret::new(dear.clone()));
        m.insert("zed".to_owned(), Secret::new(bcrypt::hash("c", 5).unwrap()));
        let u = Users::new(m, BTreeMap::new()).unwrap();
        // What an unknown user's password is checked against: a real hash of the highest cost,
        // the same on a clone (the server verifies on a clone, off the runtime).
        assert_eq!(u.checked_hash("nobody"), dear);
        assert_eq!(u.clone().checked_hash("nobody"), dear);
        let parts = bcrypt::HashParts::from_str(u.checked_hash("nobody")).unwrap();
        assert_eq!(parts.get_cost(), 6);
        // One run per check, known or not; even the decoy's own password is refused for an
        // unknown user.
        let c = u.clone();
        for (user, pw, want) in [
            ("dear", "b", true),
            ("dear", "x", false),
            ("nobody", "x", false),
            ("nobody", "b", false),
        ] {
            let before = runs();
            assert_eq!(c.verify(user, pw.as_bytes()), want, "{user} {pw}");
            assert_eq!(runs() - before, 1, "{user}");
        }
    }

    fn users(roles: &[(&str, &[&str])]) -> Users {
        let hash = bcrypt::hash("pw", 4).unwrap();
        let mut u = BTreeMap::new();
        u.insert("alice".to_owned(), Secret::new(hash.clone()));
        u.insert("prom".to_owned(), Secret::new(hash));
        let r = roles
            .iter()
            .map(|(n, l)| (n.to_string(), l.iter().map(|s| s.to_string()).collect()))
            .collect();
        Users::new(u, r).unwrap()
    }

    #[test]
    fn right_wrong_and_unknown() {
        let u = users(&[]);
        assert!(u.verify("alice", b"pw"));
        assert!(!u.verify("alice", b"pW"));
        assert!(!u.verify("mallory", b"pw"));
        assert!(u.roles("alice").allows(Role::Admin));
    }

    #[test]
    fn roles_limit_and_admin_grants_all() {
        let u = users(&[("prom", &["ingest"]), ("alice", &["read", "admin"])]);
        let p = u.roles("prom");
        assert!(p.allows(Role::Ingest));
        assert!(!p.allows(Role::Read));
        assert!(!p.allows(Role::Silence));
        assert!(!p.allows(Role::Admin));
        assert!(u.roles("alice").allows(Role::Silence));
        assert!(!u.roles("nobody").allows(Role::Read));
    }

    #[test]
    fn bad_roles_and_hashes_are_errors_without_the_hash() {
        let mut m = BTreeMap::new();
        m.insert("a".to_owned(), Secret::new("$2y$10$notahash".to_owned()));
        let e = Users::new(m, BTreeMap::new()).unwrap_err();
        assert_eq!(e.0, "basic_auth_users.a");
        assert!(!e.1.contains("notahash"), "{}", e.1);
        let hash = bcrypt::hash("pw", 4).unwrap();
        let mut m = BTreeMap::new();
        m.insert("a".to_owned(), Secret::new(hash));
        let mut r = BTreeMap::new();
        r.insert("b".to_owned(), vec!["read".to_owned()]);
        assert_eq!(
            Users::new(m.clone(), r).unwrap_err().1,
            "no such user in basic_auth_users"
        );
        let mut r = BTreeMap::new();
        r.insert("a".to_owned(), vec!["root".to_owned()]);
        assert!(
            Users::new(m, r)
                .unwrap_err()
                .1
                .contains("unknown role \"root\"")
        );
    }

    #[test]
    fn cache_keys_differ_by_user_password_and_hash() {
        let u = users(&[]);
        let k = u.cache_key("alice", b"pw");
        assert_ne!(k, u.cache_key("alice", b"pw2"));
        assert_ne!(k, u.cache_key("prom", b"pw"));
        assert_eq!(k, u.cache_key("alice", b"pw"));
        let c = AuthCache::default();
        assert_eq!(c.get(&k), None);
        c.insert(k, true);
        assert_eq!(c.get(&k), Some(true));
        for i in 0..AuthCache::CAPACITY as u32 + 10 {
            c.insert(u.cache_key("x", &i.to_le_bytes()), false);
        }
        assert!(c.map.lock().unwrap().len() <= AuthCache::CAPACITY);
    }
}
