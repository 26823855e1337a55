//! The `[ha]` table: two `relayer run` processes per validator, one active and one standby,
//! sharing a key and a PostgreSQL database. Off by default. A SQLite file belongs to one
//! process, so asking for two nodes on one is an error here rather than a surprise later.

use std::time::Duration;

use super::{
    DatabaseUrl,
    raw::{Errors, HA_TAKEOVER_SECS, RawHa},
    validate::{boolean, in_range},
};

/// Whether this node shares its validator with a second node, and how fast one takes over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HaConfig {
    /// Two nodes per validator: only the node holding the database lease acts.
    pub enabled: bool,
    /// The longest a standby waits, once the active node died or lost its database, before
    /// it acts; the active node stops acting within half of it after losing the database.
    pub takeover: Duration,
}

impl Default for HaConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            takeover: Duration::from_secs(20),
        }
    }
}

/// Validates the `[ha]` table against the database it would share.
pub(super) fn ha_config(
    raw: RawHa,
    database: Option<&DatabaseUrl>,
    errors: &mut Errors,
) -> Option<HaConfig> {
    let d = HaConfig::default();
    let enabled = errors.optional("ha.enabled", raw.enabled, d.enabled, boolean);
    let takeover = errors.optional(
        "ha.takeover_secs",
        raw.takeover_secs,
        d.takeover.as_secs(),
        |v| in_range(v, HA_TAKEOVER_SECS),
    );
    if enabled == Some(true)
        && let Some(url) = database
        && !is_postgres(url.expose())
    {
        errors.push(
            "ha.enabled",
            "two nodes per validator need a PostgreSQL database_url (a SQLite file is one process's)",
        );
    }
    Some(HaConfig {
        enabled: enabled?,
        takeover: Duration::from_secs(takeover?),
    })
}

fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

#[cfg(test)]
mod tests {
    use super::super::{Config, tests::VALID};

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn errors_of(text: &str) -> Vec<String> {
        match Config::from_toml_str(text, &no_env) {
            Ok(_) => Vec::new(),
            Err(e) => e.field_errors().iter().map(|e| e.to_string()).collect(),
        }
    }

    fn on(database_url: &str, ha: &str) -> String {
        let text = VALID
            .lines()
            .filter(|l| !l.starts_with("database_url"))
            .collect::<Vec<_>>()
            .join("\n");
        format!("database_url = \"{database_url}\"\n{text}\n[ha]\n{ha}\n")
    }

    #[test]
    fn off_by_default() {
        let c = Config::from_toml_str(VALID, &no_env).expect("valid");
        assert!(!c.ha.enabled);
        assert_eq!(c.ha.takeover.as_secs(), 20);
    }

    #[test]
    fn postgres_pairs_are_read() {
        let text = on(
            "postgres://u@db:5432/sb",
            "enabled = true\ntakeover_secs = 8",
        );
        let c = Config::from_toml_str(&text, &no_env).expect("valid");
        assert!(c.ha.enabled);
        assert_eq!(c.ha.takeover.as_secs(), 8);
    }

    #[test]
    fn sqlite_is_refused_with_its_path() {
        let errors = errors_of(&on("sqlite:///var/lib/sb.db", "enabled = true"));
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0].starts_with("ha.enabled: two nodes per validator need a PostgreSQL"),
            "{errors:?}"
        );
        // off, SQLite is fine
        assert!(errors_of(&on("sqlite:///var/lib/sb.db", "enabled = false")).is_empty());
    }

    #[test]
    fn bad_values_and_keys_name_their_path() {
        let pg = "postgres://u@db/sb";
        assert_eq!(
            errors_of(&on(pg, "enabled = \"yes\"")),
            ["ha.enabled: expected true or false, found a string"]
        );
        let errors = errors_of(&on(pg, "takeover_secs = 1"));
        assert!(errors[0].starts_with("ha.takeover_secs:"), "{errors:?}");
        assert_eq!(
            errors_of(&on(pg, "takeover_sec = 10")),
            ["ha.takeover_sec: unknown key (did you mean `takeover_secs`?)"]
        );
    }
}
