//! Golden snapshots (insta) of the table and the JSON for every capture shipped in `captures/`,
//! broken ones included. After an intended change: `cargo insta review` (or INSTA_UPDATE=always).

use std::path::PathBuf;
use std::process::Command;

const INSPECTOR: &str = env!("CARGO_BIN_EXE_inspector");

fn captures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../captures")
}

/// Runs the inspector from `captures/` so the paths in its output are stable.
fn inspect(args: &[&str]) -> String {
    let out = Command::new(INSPECTOR)
        .current_dir(captures())
        .env_remove("NO_COLOR")
        .arg("read")
        .args(args)
        .output()
        .expect("run inspector");
    format!(
        "exit code: {}\n--- stdout ---\n{}--- stderr ---\n{}",
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `{name}-table` and `{name}-json` are the grouped order of `--sort` (the order before the
/// report was streamed); `{name}-streamed` is the default, session by session. The streamed
/// JSON holds the same lines as the sorted one, and the streamed tables the same rows.
fn golden(name: &str, file: &str, extra: &[&str]) {
    let mut args = extra.to_vec();
    args.push(file);
    let mut sorted = vec!["--sort"];
    sorted.extend(&args);
    let sorted_table = inspect(&sorted);
    insta::assert_snapshot!(format!("{name}-table"), sorted_table);
    let streamed_table = inspect(&args);
    insta::assert_snapshot!(format!("{name}-streamed"), streamed_table);
    let mut json = vec!["--json", "--sort"];
    json.extend(&args);
    let sorted_json = inspect(&json);
    insta::assert_snapshot!(format!("{name}-json"), sorted_json);
    let streamed_json = inspect(&json[..1].iter().chain(&args).copied().collect::<Vec<_>>());
    assert_eq!(
        lines(&streamed_json),
        lines(&sorted_json),
        "{name}: streamed JSON differs from the sorted JSON in more than order"
    );
    let (streamed, sorted) = (rows(&streamed_table, false), rows(&sorted_table, true));
    let only_streamed: Vec<_> = streamed.iter().filter(|r| !sorted.contains(r)).collect();
    let only_sorted: Vec<_> = sorted.iter().filter(|r| !streamed.contains(r)).collect();
    assert_eq!(
        streamed, sorted,
        "{name}: the streamed tables differ from the sorted ones in more than order: \
         only streamed {only_streamed:?}, only sorted {only_sorted:?}"
    );
}

/// The output's lines, sorted (the exit code and stderr included).
fn lines(output: &str) -> Vec<&str> {
    let mut l: Vec<&str> = output.lines().collect();
    l.sort_unstable();
    l
}

/// The data rows of every table, cells trimmed, sorted; the summary's grouped findings left
/// out, and the first line (which names the frames count in the sorted output only).
fn rows(output: &str, sorted: bool) -> Vec<Vec<String>> {
    let body = if sorted {
        output
    } else {
        let (sessions, summary) = output.split_once("━━ Summary ━━").unwrap_or((output, ""));
        // The Decode As hints are in the summary of the streamed output.
        let hints = summary
            .split_once("Findings (grouped by kind)")
            .map_or(summary, |(h, _)| h);
        return rows_of(&format!("{sessions}{hints}"));
    };
    rows_of(body)
}

fn rows_of(text: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut header = false;
    for l in text.lines() {
        // The line after a table's top border is its header (tables without rows are left
        // out of the streamed output).
        if l.starts_with('┌') {
            header = true;
            continue;
        }
        if l.starts_with('│') && !std::mem::take(&mut header) {
            out.push(
                l.trim_matches('│')
                    .split('┆')
                    .map(|c| c.trim().to_owned())
                    .collect::<Vec<_>>(),
            );
        }
    }
    out.sort();
    out
}

#[test]
fn ftplab_curl() {
    golden("ftplab-curl", "ftplab-curl.pcap", &["--port", "2121"]);
}

#[test]
fn ftplab_curl_found_by_content_without_port() {
    insta::assert_snapshot!(
        "ftplab-curl-no-port",
        inspect(&["--json", "--sort", "ftplab-curl.pcap"])
    );
}

#[test]
fn pyftpdlib_lftp_any() {
    golden(
        "pyftpdlib-lftp-any",
        "pyftpdlib-lftp-any.pcapng",
        &["--port", "2122"],
    );
}

#[test]
fn broken_truncated() {
    golden(
        "broken-truncated",
        "broken/truncated.pcap",
        &["--port", "2121"],
    );
}

#[test]
fn broken_not_a_capture() {
    golden("broken-not-a-capture", "broken/not-a-capture.pcap", &[]);
}

/// The labs' shipped captures, read without `--port` as a student's first try would: every
/// control connection is found by its content (lab4's locked-out connections by their 421).
#[test]
fn lab_captures() {
    for lab in 0..=7 {
        golden(&format!("lab{lab}"), &format!("lab{lab}.pcapng"), &[]);
    }
    // Lab 5 is FTPS: with its key log, what the server's admin (or whoever holds the log) reads.
    golden("lab5-keylog", "lab5.pcapng", &["--keylog", "lab5.keys"]);
}

/// FTPS (`make-ftps.sh`): without the key log the upgrade, the handshakes, sizes and leaks;
/// with it every command, password and file, marked as decrypted.
#[test]
fn ftps_pyftpdlib() {
    golden(
        "ftps-pyftpdlib",
        "ftps-pyftpdlib.pcapng",
        &["--port", "2144"],
    );
    golden(
        "ftps-pyftpdlib-keylog",
        "ftps-pyftpdlib.pcapng",
        &["--port", "2144", "--keylog", "ftps-pyftpdlib.keys"],
    );
}
