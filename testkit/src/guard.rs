//! Tests that need something this machine may lack fail, saying what, unless skipped on purpose.
//!
//! A test that needs MariaDB, CAP_NET_RAW or root never passes silently without it: it panics
//! with what is missing and the variable that skips it, and only with that variable set to `1`
//! does it print `SKIPPED …` and return.

/// Skips the tests that need MariaDB on 127.0.0.1:3306.
pub const SKIP_MYSQL: &str = "FTPLAB_SKIP_MYSQL";
/// Skips the tests that capture live on loopback (CAP_NET_RAW).
pub const SKIP_LIVE: &str = "FTPLAB_SKIP_LIVE";
/// Skips the tests that need root (tcpdump recordings, network namespaces).
pub const SKIP_PRIVILEGED: &str = "FTPLAB_SKIP_PRIVILEGED";
/// Skips the tests that load pages in a headless browser (Debian's `chromium`).
pub const SKIP_BROWSER: &str = "FTPLAB_SKIP_BROWSER";

/// `true` when `var` is set to `1`.
pub fn skipping(var: &str) -> bool {
    std::env::var_os(var).is_some_and(|v| v == "1")
}

/// Called where a test found `missing` absent: returns (after printing `SKIPPED`) when `var` is
/// `1`, so the caller can return; panics with what is missing and how to skip otherwise.
pub fn missing(var: &str, missing: &str) {
    if skipping(var) {
        eprintln!("SKIPPED ({var}=1): {missing}");
        return;
    }
    panic!("{missing}\n(set {var}=1 to skip this test on a machine that cannot provide it)");
}
