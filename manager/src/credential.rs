//! The owner's credential on the host's network-reachable surfaces: the admin port and the
//! marketplace bridge.
//!
//! Loopback TCP is reachable by every user of the machine, so a loopback port alone does not
//! say the caller is the user the host runs for. The credential is a per-user secret kept in the
//! data directory (`admin.token`, mode 0600 in a 0700 folder): whoever can read it is the owner.
//! It is presented in one of three ways:
//!
//! - `Authorization: Bearer <secret>`: programs (scripts, the tests, `curl`);
//! - the cookie `logi_admin=<secret>`: the developer console in a browser, which gets it the
//!   way notebook servers do: `logi-plugin serve` prints the console's address with
//!   `?token=<secret>`, and the port answers that address with the cookie (`HttpOnly`,
//!   `SameSite=Strict`, so neither the page's script nor another site's request can use it)
//!   and a redirect that drops the secret from the address bar;
//! - `?token=<secret>` in the address: a marketplace web view, whose WebSocket cannot carry a
//!   header, is given its address so by the configuration software.
//!
//! The secret is kept across restarts, so that an open console and a running script keep
//! working; a file that is not the owner's alone, or holds no secret, is replaced.

use std::io::{Read as _, Write as _};
use std::path::Path;
use std::sync::Arc;

use logi_plugin_core::session::constant_time_eq;

use crate::host::HostError;
use crate::host::data::owner_only_file;

/// The credential's file in the data directory.
pub(crate) const TOKEN_FILE: &str = "admin.token";

/// The cookie the console presents the credential in.
pub(crate) const COOKIE: &str = "logi_admin";

/// The owner's secret.
#[derive(Clone)]
pub(crate) struct Credential {
    secret: Arc<str>,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Credential(..)")
    }
}

impl Credential {
    /// The secret kept in `data_dir`, or a new one written there.
    pub(crate) fn load_or_create(data_dir: &Path) -> Result<Credential, HostError> {
        let path = data_dir.join(TOKEN_FILE);
        let io = |verb: &str, source| HostError::Io {
            what: format!("{verb} {}", path.display()),
            source,
        };
        // Opening makes the file owner-only: a secret another user could have read is replaced.
        let was_open = is_owner_only(&path);
        let (mut file, _) = owner_only_file(&path)?;
        let mut kept = String::new();
        file.read_to_string(&mut kept)
            .map_err(|source| io("reading", source))?;
        let kept = kept.trim();
        if was_open && is_secret(kept) {
            return Ok(Credential {
                secret: kept.into(),
            });
        }
        let secret = crate::secret::new_token();
        let written = file
            .set_len(0)
            .and_then(|()| std::io::Seek::rewind(&mut file))
            .and_then(|()| writeln!(file, "{secret}"))
            .and_then(|()| file.sync_all());
        written.map_err(|source| io("writing", source))?;
        Ok(Credential {
            secret: secret.into(),
        })
    }

    /// The secret itself.
    pub(crate) fn secret(&self) -> &str {
        &self.secret
    }

    /// Whether a request with these headers and this query presents the secret; if not, why,
    /// for the caller.
    pub(crate) fn check(
        &self,
        headers: &http::HeaderMap,
        query: Option<&str>,
    ) -> Result<(), String> {
        let presented = presented(headers, query);
        if presented.iter().any(|secret| self.matches(secret)) {
            return Ok(());
        }
        Err(if presented.is_empty() {
            "this port admits only the user running the manager: present the secret in its data \
             directory's admin.token as `Authorization: Bearer <secret>` (or open the console's \
             address that `logi-plugin serve` prints)"
                .to_string()
        } else {
            "the credential presented is not this manager's (is it another data directory's \
             admin.token, or from before the file was replaced?)"
                .to_string()
        })
    }

    /// Whether `presented` is the secret, compared in constant time.
    pub(crate) fn matches(&self, presented: &str) -> bool {
        constant_time_eq(self.secret.as_bytes(), presented.as_bytes())
    }
}

/// Every secret a request presents: its bearer token, its console cookie, its `token` query.
pub(crate) fn presented<'a>(headers: &'a http::HeaderMap, query: Option<&'a str>) -> Vec<&'a str> {
    let values = |name| {
        headers
            .get_all(name)
            .into_iter()
            .filter_map(|value| value.to_str().ok())
    };
    let bearer = values(http::header::AUTHORIZATION).filter_map(|value| {
        let (scheme, token) = value.trim().split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
    });
    let cookie = values(http::header::COOKIE)
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().strip_prefix(COOKIE)?.strip_prefix('='));
    let query = query
        .into_iter()
        .flat_map(|query| query.split('&'))
        .filter_map(|pair| pair.strip_prefix("token="));
    bearer.chain(cookie).chain(query).collect()
}

/// What a secret looks like: 64 hex digits (32 random bytes).
fn is_secret(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|byte| byte.is_ascii_hexdigit())
}

/// Whether the file at `path` exists, belongs to this user and no one else may read it.
#[cfg(unix)]
fn is_owner_only(path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt as _;
    std::fs::symlink_metadata(path).is_ok_and(|metadata| {
        metadata.is_file()
            && metadata.uid() == rustix::process::geteuid().as_raw()
            && metadata.mode() & 0o077 == 0
    })
}

#[cfg(not(unix))]
fn is_owner_only(path: &Path) -> bool {
    path.is_file()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> http::HeaderMap {
        let mut map = http::HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, value.parse().unwrap());
        }
        map
    }

    #[test]
    fn the_secret_is_read_from_a_bearer_token_a_cookie_or_the_query() {
        let bearer = headers(&[("authorization", "Bearer abc")]);
        assert_eq!(presented(&bearer, None), ["abc"]);
        let cookie = headers(&[("cookie", "theme=dark; logi_admin=def; x=1")]);
        assert_eq!(presented(&cookie, None), ["def"]);
        let none = headers(&[("cookie", "logi_adminx=1"), ("authorization", "Basic zzz")]);
        assert_eq!(presented(&none, Some("a=1&token=ghi")), ["ghi"]);
    }

    #[test]
    fn a_secret_is_kept_across_starts_and_replaced_when_others_could_read_it() {
        let dir = tempfile::tempdir().unwrap();
        let first = Credential::load_or_create(dir.path()).unwrap();
        assert!(is_secret(first.secret()));
        let again = Credential::load_or_create(dir.path()).unwrap();
        assert_eq!(first.secret(), again.secret());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let path = dir.path().join(TOKEN_FILE);
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            let replaced = Credential::load_or_create(dir.path()).unwrap();
            assert_ne!(replaced.secret(), first.secret());
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
