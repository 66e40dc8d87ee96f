//! Ctrl-C in the interactive shell. The first Ctrl-C during a transfer stops it the way RFC 959
//! §4.1.3 describes (the data connection is closed, ABOR is sent and its replies are read), so
//! the session goes on and a partial download stays for `reget`. A second Ctrl-C before the
//! command ends quits at once, so a server that hangs cannot trap the user.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

static PRESSED: OnceLock<Arc<AtomicBool>> = OnceLock::new();

/// Catches SIGINT from now on (the shell calls this once; scripts keep the default, which
/// ends the process).
pub fn install() -> std::io::Result<()> {
    let flag = PRESSED
        .get_or_init(|| Arc::new(AtomicBool::new(false)))
        .clone();
    // Registered first, so it sees the flag as the previous Ctrl-C left it: already set means
    // this is the second one, which ends the process with the shell's usual status.
    signal_hook::flag::register_conditional_shutdown(
        signal_hook::consts::SIGINT,
        130,
        flag.clone(),
    )?;
    signal_hook::flag::register(signal_hook::consts::SIGINT, flag)?;
    Ok(())
}

/// Whether Ctrl-C was pressed since the last [`clear`].
pub fn requested() -> bool {
    PRESSED.get().is_some_and(|f| f.load(Ordering::Relaxed))
}

/// Forgets an earlier Ctrl-C (before and after each command of the shell).
pub fn clear() {
    if let Some(f) = PRESSED.get() {
        f.store(false, Ordering::Relaxed);
    }
}
