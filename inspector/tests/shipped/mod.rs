//! The captures shipped in `captures/`, each with the arguments `inspector read` needs, for
//! the tests that render every one of them (`--flow`, `--html`).
#![allow(dead_code, reason = "each test file uses a different subset")]

use std::path::PathBuf;

/// `captures/` of the workspace.
pub fn captures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../captures")
}

/// Every shipped capture with the arguments it needs.
pub const CAPTURES: &[(&str, &[&str])] = &[
    ("ftplab-curl", &["--port", "2121", "ftplab-curl.pcap"]),
    (
        "pyftpdlib-lftp-any",
        &["--port", "2122", "pyftpdlib-lftp-any.pcapng"],
    ),
    (
        "broken-truncated",
        &["--port", "2121", "broken/truncated.pcap"],
    ),
    ("broken-not-a-capture", &["broken/not-a-capture.pcap"]),
    ("lab0", &["lab0.pcapng"]),
    ("lab1", &["lab1.pcapng"]),
    ("lab2", &["lab2.pcapng"]),
    ("lab3", &["lab3.pcapng"]),
    ("lab4", &["lab4.pcapng"]),
    ("lab5", &["lab5.pcapng"]),
    ("lab6", &["lab6.pcapng"]),
    ("lab6-client", &["lab6.client.pcapng"]),
    ("lab7", &["lab7.pcapng"]),
    ("lab5-keylog", &["--keylog", "lab5.keys", "lab5.pcapng"]),
    (
        "ftps-pyftpdlib",
        &["--port", "2144", "ftps-pyftpdlib.pcapng"],
    ),
    (
        "ftps-pyftpdlib-keylog",
        &[
            "--port",
            "2144",
            "--keylog",
            "ftps-pyftpdlib.keys",
            "ftps-pyftpdlib.pcapng",
        ],
    ),
];

/// The file that is no capture at all (it has no report or diagram to look at).
pub const NOT_A_CAPTURE: &str = "broken-not-a-capture";

/// Fails when a capture in `captures/` (or `captures/broken/`) has no place in [`CAPTURES`].
pub fn assert_every_capture_is_listed() {
    for dir in [captures(), captures().join("broken")] {
        for entry in std::fs::read_dir(&dir).expect("captures/ is readable") {
            let name = entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned();
            if name.contains(".pcap") {
                assert!(
                    CAPTURES
                        .iter()
                        .any(|(_, args)| args.iter().any(|a| a.rsplit('/').next() == Some(&name))),
                    "{name} is not in CAPTURES"
                );
            }
        }
    }
}
