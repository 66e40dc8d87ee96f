//! Database URLs: which backend they select, what sqlx is given, and masking for messages.

use url::Url;

use super::StoreError;

/// What [`StoreError::BadUrl`] says is accepted.
const ACCEPTED_URLS: &str = "expected sqlite://path/to/file.db, sqlite:file.db or \
     mysql://user:password@host:port/database (mariadb:// is the same as mysql://)";

/// Which SQL dialect a URL selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Backend {
    Sqlite,
    MySql,
}

/// Splits a user-given URL into its backend and the URL sqlx understands.
pub(super) fn parse_url(text: &str) -> Result<(Backend, String), StoreError> {
    let bad = |why: &str| StoreError::BadUrl {
        url: mask_password(text),
        why: why.to_owned(),
    };
    // sqlx takes SQLite paths that are no URLs (`sqlite:file.db`, spaces): they pass as given.
    if text.starts_with("sqlite:") {
        return Ok((Backend::Sqlite, text.to_owned()));
    }
    if !(text.starts_with("mysql://") || text.starts_with("mariadb://")) {
        return Err(bad(ACCEPTED_URLS));
    }
    let mut url = Url::parse(text).map_err(|e| bad(&format!("{e}; {ACCEPTED_URLS}")))?;
    let database = url.path().strip_prefix('/').unwrap_or_default();
    if database.is_empty() {
        return Err(bad(
            "name the database after the host, as in mysql://user@host:3306/ftplab",
        ));
    }
    // The database name goes into CREATE DATABASE `...`, which cannot take a bound parameter.
    if !database
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
    {
        return Err(bad(
            "the database name may contain only ASCII letters, digits, '_' and '$'",
        ));
    }
    url.set_scheme("mysql")
        .map_err(|()| bad("cannot turn it into a mysql:// URL"))?;
    Ok((Backend::MySql, url.into()))
}

/// Returns `text` with the password of its `user:password@` part replaced by `***`, for
/// messages. Text that is no URL keeps nothing before its last `@`, in case that is a password.
pub fn mask_password(text: &str) -> String {
    match Url::parse(text) {
        Ok(mut url) if url.password().is_some() => match url.set_password(Some("***")) {
            Ok(()) => url.into(),
            Err(()) => "***".to_owned(),
        },
        Ok(_) => text.to_owned(),
        Err(_) => match text.split_once("://") {
            Some((scheme, rest)) => match rest.rsplit_once('@') {
                Some((_, after)) => format!("{scheme}://***@{after}"),
                None => text.to_owned(),
            },
            None => text.to_owned(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mask_password_hides_only_the_password() {
        assert_eq!(
            mask_password("mysql://u:p@h:3306/db"),
            "mysql://u:***@h:3306/db"
        );
        assert_eq!(mask_password("mysql://u:p@ss@h/db"), "mysql://u:***@h/db");
        assert_eq!(mask_password("mysql://u@h/db"), "mysql://u@h/db");
        assert_eq!(
            mask_password("mysql://h/db?x=a@b:c"),
            "mysql://h/db?x=a@b:c"
        );
        assert_eq!(mask_password("sqlite://users.db"), "sqlite://users.db");
        assert_eq!(mask_password("sqlite:a:b@c"), "sqlite:a:b@c");
        assert_eq!(
            mask_password("mysql://u:p/w@h:bad/db"),
            "mysql://***@h:bad/db",
            "a URL that does not parse still loses its password"
        );
    }

    #[test]
    fn mariadb_urls_reach_sqlx_as_mysql_urls() {
        let (backend, sqlx_url) = parse_url("mariadb://u:p@h:3306/ftplab").unwrap();
        assert_eq!(backend, Backend::MySql);
        assert_eq!(sqlx_url, "mysql://u:p@h:3306/ftplab");
        let (backend, sqlx_url) = parse_url("sqlite:users.db").unwrap();
        assert_eq!(
            (backend, sqlx_url.as_str()),
            (Backend::Sqlite, "sqlite:users.db")
        );
    }
}
