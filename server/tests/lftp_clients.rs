//! lftp with its default settings against the real server: it asks for AUTH TLS first, is refused,
//! and goes on in clear text; put/get round trips, `ls`, and `mirror` both ways over MLSD and LIST,
//! in passive and active mode.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use common::{MIB, TestServer, random_file, run, sha256_file};

/// Settings that only bound the run time; ssl-allow and everything else stay at their defaults.
const BOUNDED: &str = "set cmd:fail-exit yes; set net:max-retries 1; set net:timeout 10; \
     set net:reconnect-interval-base 1; set xfer:clobber on";

/// Runs `lftp -c 'BOUNDED; [passive-mode off;] open …; SCRIPT'` as user1, with `-d` so the
/// control connection is on stderr. HOME is a temporary folder so runs do not share state.
fn lftp(server: &TestServer, active: bool, script: &str) -> Output {
    let home = tempfile::tempdir().unwrap();
    let mode = if active {
        "set ftp:passive-mode off; "
    } else {
        ""
    };
    let full = format!(
        "{BOUNDED}; {mode}open -u user1,pass1 ftp://127.0.0.1:{}; {script}",
        server.port
    );
    run(Command::new("lftp")
        .arg("-d")
        .arg("-c")
        .arg(&full)
        .env("HOME", home.path()))
}

fn lftp_ok(server: &TestServer, active: bool, script: &str) -> Output {
    let out = lftp(server, active, script);
    server.assert_success(&out, &format!("lftp {script:?}"));
    out
}

/// Relative path → sha256 for files, relative path + "/" → "dir" for folders.
fn tree(dir: &Path) -> BTreeMap<String, String> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let rel = path
                .strip_prefix(base)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if path.is_dir() {
                out.insert(format!("{rel}/"), "dir".into());
                walk(base, &path, out);
            } else {
                out.insert(rel, sha256_file(&path));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// A nested tree with empty, small, odd-sized and spaced names.
fn make_tree(dir: &Path) {
    fs::create_dir_all(dir.join("a/b/c")).unwrap();
    random_file(&dir.join("top.bin"), 100_000);
    random_file(&dir.join("a/one.bin"), MIB + 3);
    fs::write(dir.join("a/b/two.txt"), b"two\nlines\n").unwrap();
    random_file(&dir.join("a/b/c/three.bin"), 0);
    random_file(&dir.join("with space/file name.txt"), 4321);
    fs::create_dir_all(dir.join("a/empty")).unwrap();
}

fn put_and_get(active: bool) {
    let server = TestServer::start(&[]);
    let local = tempfile::tempdir().unwrap();
    let src = local.path().join("src.bin");
    let back = local.path().join("back.bin");
    let hash = random_file(&src, MIB + 17);

    lftp_ok(
        &server,
        active,
        &format!(
            "put {} -o up.bin; get up.bin -o {}",
            src.display(),
            back.display()
        ),
    );
    assert_eq!(sha256_file(&server.root(1).join("up.bin")), hash, "on disk");
    assert_eq!(sha256_file(&back), hash, "downloaded");
}

#[test]
fn lftp_put_and_get_round_trip_in_passive_mode() {
    put_and_get(false);
}

#[test]
fn lftp_put_and_get_round_trip_in_active_mode() {
    put_and_get(true);
}

#[test]
fn lftp_with_default_settings_goes_on_in_clear_text_after_auth_tls_is_refused() {
    let server = TestServer::start(&[]);
    let out = lftp_ok(&server, false, "cat welcome.txt");
    let debug = String::from_utf8_lossy(&out.stderr);
    let expected = fs::read(server.root(1).join("welcome.txt")).unwrap();
    assert_eq!(out.stdout, expected, "cat welcome.txt\n{debug}");

    // lftp -d prints "---> CMD" for what it sends and "<--- reply" for what it receives.
    let lines: Vec<&str> = debug.lines().collect();
    let auth = lines
        .iter()
        .position(|l| l.contains("---> AUTH TLS"))
        .unwrap_or_else(|| panic!("lftp did not send AUTH TLS:\n{debug}"));
    let reply = lines[auth + 1..]
        .iter()
        .find(|l| l.contains("<--- "))
        .unwrap_or_else(|| panic!("no reply to AUTH TLS:\n{debug}"));
    let code = reply.split("<--- ").nth(1).unwrap_or("");
    assert!(
        code.starts_with('5'),
        "AUTH TLS must be refused with 5xx: {reply}"
    );
    assert!(
        lines[auth..].iter().any(|l| l.contains("<--- 230")),
        "login after the refusal:\n{debug}"
    );
}

#[test]
fn lftp_ls_shows_files_and_folders_in_ls_l_style() {
    let server = TestServer::start(&[]);
    fs::create_dir(server.root(1).join("folder")).unwrap();
    random_file(&server.root(1).join("data.bin"), 2048);
    let out = lftp_ok(&server, false, "ls");
    let listing = String::from_utf8_lossy(&out.stdout);
    let file = listing
        .lines()
        .find(|l| l.ends_with(" data.bin"))
        .unwrap_or_else(|| panic!("ls lacks data.bin:\n{listing}"));
    assert!(file.starts_with('-') && file.contains(" 2048 "), "{file}");
    let dir = listing
        .lines()
        .find(|l| l.ends_with(" folder"))
        .unwrap_or_else(|| panic!("ls lacks folder:\n{listing}"));
    assert!(dir.starts_with('d'), "{dir}");
    assert!(
        listing.lines().any(|l| l.ends_with(" welcome.txt")),
        "{listing}"
    );
}

fn mirror_download(active: bool, use_mlsd: bool) {
    let server = TestServer::start(&[]);
    make_tree(&server.root(1).join("tree"));
    let expected = tree(&server.root(1).join("tree"));

    let local = tempfile::tempdir().unwrap();
    let dest = local.path().join("copy");
    let mlsd = if use_mlsd { "on" } else { "off" };
    let out = lftp_ok(
        &server,
        active,
        &format!("set ftp:use-mlsd {mlsd}; mirror tree {}", dest.display()),
    );
    let debug = String::from_utf8_lossy(&out.stderr);
    let verb = if use_mlsd { "---> MLSD" } else { "---> LIST" };
    assert!(
        debug.contains(verb),
        "lftp should have used {verb}:\n{debug}"
    );
    assert_eq!(tree(&dest), expected, "mirrored tree\n{debug}");
}

#[test]
fn lftp_mirror_downloads_a_nested_tree_using_mlsd() {
    mirror_download(false, true);
}

#[test]
fn lftp_mirror_downloads_a_nested_tree_parsing_list() {
    mirror_download(false, false);
}

#[test]
fn lftp_mirror_downloads_a_nested_tree_in_active_mode() {
    mirror_download(true, true);
}

#[test]
fn lftp_reverse_mirror_uploads_a_nested_tree() {
    let server = TestServer::start(&[]);
    let local = tempfile::tempdir().unwrap();
    let src = local.path().join("src");
    make_tree(&src);
    lftp_ok(&server, false, &format!("mirror -R {} up", src.display()));
    assert_eq!(
        tree(&server.root(1).join("up")),
        tree(&src),
        "uploaded tree"
    );
    assert!(
        !tree(&server.root(1))
            .keys()
            .any(|k| k.contains(".ftplab-upload-")),
        "no upload temp files are left behind"
    );
}
