//! curl against the real server: binary round trips in every data connection mode, TYPE A line
//! end conversion, REST and APPE resumes, and `-Q` commands checked on disk.

mod common;

use std::fs;
use std::io::{Read, Write};
use std::process::{Command, Output};

use common::{MIB, TestServer, describe, random_file, run, sha256_file, sha256_hex};

/// The three ways curl opens data connections.
#[derive(Debug, Clone, Copy)]
enum Mode {
    /// EPSV (RFC 2428), curl's default.
    Epsv,
    /// PASV (RFC 959) only.
    Pasv,
    /// PORT/EPRT: the server connects back to curl.
    Active,
}

impl Mode {
    fn args(self) -> &'static [&'static str] {
        match self {
            Mode::Epsv => &[],
            Mode::Pasv => &["--disable-epsv"],
            Mode::Active => &["--ftp-port", "127.0.0.1"],
        }
    }
}

/// Runs curl with a time limit, no progress meter and errors shown.
fn curl(args: &[&str]) -> Output {
    run(Command::new("curl")
        .args(["--silent", "--show-error", "--max-time", "120"])
        .args(args))
}

/// Runs curl and panics with its output unless it succeeded.
fn curl_ok(server: &TestServer, args: &[&str]) -> Output {
    let out = curl(args);
    server.assert_success(&out, &format!("curl {args:?}"));
    out
}

/// Uploads a random file of `size` bytes with `curl -T`, checks it on disk, downloads it back and
/// checks the download; also checks the upload's log line (sha256 and size).
fn round_trip(mode: Mode, size: usize) {
    let server = TestServer::start(&[]);
    let local = tempfile::tempdir().unwrap();
    let name = format!("rt-{mode:?}-{size}.bin");
    let original = local.path().join("original.bin");
    let hash = random_file(&original, size);

    let up_url = format!("{}{name}", server.url(1));
    let mut args: Vec<&str> = mode.args().to_vec();
    args.extend(["-T", original.to_str().unwrap(), &up_url]);
    curl_ok(&server, &args);

    let on_disk = server.root(1).join(&name);
    assert_eq!(
        fs::metadata(&on_disk).map(|m| m.len()).ok(),
        Some(size as u64),
        "size of the uploaded file on disk"
    );
    assert_eq!(
        sha256_file(&on_disk),
        hash,
        "sha256 of the uploaded file on disk"
    );

    let back = local.path().join("back.bin");
    let mut args: Vec<&str> = mode.args().to_vec();
    args.extend(["-o", back.to_str().unwrap(), &up_url]);
    curl_ok(&server, &args);
    assert_eq!(sha256_file(&back), hash, "sha256 of the downloaded file");

    let line = server
        .wait_for_log_line(std::time::Duration::from_secs(5), |l| {
            l.contains(&name) && l.contains("sha256=")
        })
        .unwrap_or_else(|| panic!("no upload log line for {name}:\n{}", server.stderr()));
    assert!(line.contains(&format!("sha256={hash}")), "log line: {line}");
    assert!(line.contains(&format!("size={size}")), "log line: {line}");
}

/// One `#[test]` per row: its name, the data connection mode and the file size.
macro_rules! round_trips {
    ($($name:ident: $mode:ident, $size:expr;)*) => {
        $(
            #[test]
            fn $name() {
                round_trip(Mode::$mode, $size);
            }
        )*
    };
}

round_trips! {
    empty_file_round_trips_in_epsv_mode: Epsv, 0;
    empty_file_round_trips_in_pasv_mode: Pasv, 0;
    empty_file_round_trips_in_active_mode: Active, 0;
    one_byte_file_round_trips_in_epsv_mode: Epsv, 1;
    one_byte_file_round_trips_in_pasv_mode: Pasv, 1;
    one_byte_file_round_trips_in_active_mode: Active, 1;
    one_mib_file_round_trips_in_epsv_mode: Epsv, MIB;
    one_mib_file_round_trips_in_pasv_mode: Pasv, MIB;
    one_mib_file_round_trips_in_active_mode: Active, MIB;
    hundred_mib_file_round_trips_in_epsv_mode: Epsv, 100 * MIB;
    hundred_mib_file_round_trips_in_pasv_mode: Pasv, 100 * MIB;
    hundred_mib_file_round_trips_in_active_mode: Active, 100 * MIB;
}

#[test]
fn ascii_upload_with_curl_stores_lf_line_ends() {
    // curl --use-ascii turns each LF of the local file into CRLF on the wire; the server must
    // turn them back into LF on disk.
    let server = TestServer::start(&[]);
    let local = tempfile::tempdir().unwrap();
    let original = local.path().join("unix.txt");
    fs::write(&original, b"line one\nline two\n\nlast\n").unwrap();

    let url = format!("{}unix.txt", server.url(1));
    curl_ok(
        &server,
        &["--use-ascii", "-T", original.to_str().unwrap(), &url],
    );

    assert_eq!(
        fs::read(server.root(1).join("unix.txt")).unwrap(),
        b"line one\nline two\n\nlast\n",
        "TYPE A upload must store LF line ends"
    );
}

#[test]
fn ascii_upload_turns_crlf_on_the_wire_into_lf_on_disk() {
    let server = TestServer::start(&[]);
    let mut c = server.login(1);
    c.expect("TYPE A", 200);
    let mut data = c.open_passive();
    let first = c.cmd("STOR dos.txt");
    assert!(matches!(first.code, 125 | 150), "{first:?}");
    data.write_all(b"line one\r\nline two\r\n\r\nlast\r\n")
        .unwrap();
    drop(data);
    assert_eq!(c.read_reply().code, 226);
    assert_eq!(
        fs::read(server.root(1).join("dos.txt")).unwrap(),
        b"line one\nline two\n\nlast\n",
        "TYPE A upload must store LF line ends"
    );
}

#[test]
fn ascii_download_turns_lf_into_crlf_on_the_wire() {
    // curl turns CRLF back into LF when it saves a TYPE A download, so the wire bytes are read
    // from a raw data connection here.
    let server = TestServer::start(&[]);
    fs::write(server.root(1).join("unix.txt"), b"alpha\nbeta\n\ngamma\n").unwrap();

    let mut c = server.login(1);
    c.expect("TYPE A", 200);
    let mut data = c.open_passive();
    let first = c.cmd("RETR unix.txt");
    assert!(matches!(first.code, 125 | 150), "{first:?}");
    let mut bytes = Vec::new();
    data.read_to_end(&mut bytes).unwrap();
    assert_eq!(c.read_reply().code, 226);
    assert_eq!(
        bytes, b"alpha\r\nbeta\r\n\r\ngamma\r\n",
        "TYPE A download must send CRLF line ends"
    );
}

#[test]
fn binary_download_keeps_lf_and_crlf_untouched() {
    let server = TestServer::start(&[]);
    let content: &[u8] = b"unix\nwindows\r\nlone cr\rend";
    fs::write(server.root(1).join("mixed.txt"), content).unwrap();

    let out = curl_ok(&server, &[&format!("{}mixed.txt", server.url(1))]);
    assert_eq!(out.stdout, content, "TYPE I download must be byte exact");
}

#[test]
fn interrupted_download_resumes_with_rest() {
    let server = TestServer::start(&[]);
    let remote = server.root(1).join("big.bin");
    let hash = random_file(&remote, 3 * MIB + 123);

    let local = tempfile::tempdir().unwrap();
    let partial = local.path().join("big.bin");
    let all = fs::read(&remote).unwrap();
    fs::write(&partial, &all[..1_000_001]).unwrap();

    curl_ok(
        &server,
        &[
            "-C",
            "-",
            "-o",
            partial.to_str().unwrap(),
            &format!("{}big.bin", server.url(1)),
        ],
    );
    assert_eq!(sha256_file(&partial), hash, "resumed download");
}

#[test]
fn resumed_download_transfers_only_the_missing_tail() {
    let server = TestServer::start(&[]);
    let remote = server.root(1).join("tail.bin");
    random_file(&remote, 2 * MIB);
    let all = fs::read(&remote).unwrap();

    // With a wrong local prefix the resumed file is wrong exactly in that prefix: proof that
    // the server started at the REST offset instead of sending everything again.
    let local = tempfile::tempdir().unwrap();
    let partial = local.path().join("tail.bin");
    fs::write(&partial, vec![0u8; MIB]).unwrap();
    curl_ok(
        &server,
        &[
            "-C",
            "-",
            "-o",
            partial.to_str().unwrap(),
            &format!("{}tail.bin", server.url(1)),
        ],
    );
    let got = fs::read(&partial).unwrap();
    assert_eq!(got.len(), all.len(), "length after resume");
    assert!(
        got[..MIB].iter().all(|&b| b == 0),
        "prefix must be untouched"
    );
    assert!(got[MIB..] == all[MIB..], "tail must come from offset {MIB}");
}

#[test]
fn interrupted_upload_resumes_from_the_size_on_the_server() {
    let server = TestServer::start(&[]);
    let local = tempfile::tempdir().unwrap();
    let original = local.path().join("up.bin");
    let hash = random_file(&original, 2 * MIB + 7);
    let all = fs::read(&original).unwrap();
    let remote = server.root(1).join("up.bin");
    fs::write(&remote, &all[..777_777]).unwrap();

    curl_ok(
        &server,
        &[
            "-C",
            "-",
            "-T",
            original.to_str().unwrap(),
            &format!("{}up.bin", server.url(1)),
        ],
    );
    assert_eq!(sha256_file(&remote), hash, "resumed upload on disk");
}

#[test]
fn append_adds_to_the_end_of_an_existing_file() {
    let server = TestServer::start(&[]);
    let remote = server.root(1).join("log.txt");
    fs::write(&remote, b"first part\n").unwrap();

    let local = tempfile::tempdir().unwrap();
    let more = local.path().join("more.txt");
    fs::write(&more, b"second part\n").unwrap();
    curl_ok(
        &server,
        &[
            "--append",
            "-T",
            more.to_str().unwrap(),
            &format!("{}log.txt", server.url(1)),
        ],
    );
    assert_eq!(fs::read(&remote).unwrap(), b"first part\nsecond part\n");
}

#[test]
fn append_to_a_missing_file_creates_it() {
    let server = TestServer::start(&[]);
    let local = tempfile::tempdir().unwrap();
    let src = local.path().join("new.bin");
    let hash = random_file(&src, 4096);
    curl_ok(
        &server,
        &[
            "--append",
            "-T",
            src.to_str().unwrap(),
            &format!("{}new.bin", server.url(1)),
        ],
    );
    assert_eq!(sha256_file(&server.root(1).join("new.bin")), hash);
}

/// Runs curl with `-Q` commands against the root listing of user1.
fn quote(server: &TestServer, commands: &[&str]) -> Output {
    let mut args = Vec::new();
    for c in commands {
        args.push("-Q");
        args.push(*c);
    }
    let url = server.url(1);
    args.push(&url);
    curl(&args)
}

#[test]
fn quote_mkd_rnfr_rnto_dele_rmd_change_the_disk() {
    let server = TestServer::start(&[]);
    let root = server.root(1);
    fs::write(root.join("a.txt"), b"payload").unwrap();

    let out = quote(&server, &["MKD newdir"]);
    server.assert_success(&out, "MKD");
    assert!(root.join("newdir").is_dir(), "MKD must create the folder");

    let out = quote(&server, &["RNFR a.txt", "RNTO newdir/b.txt"]);
    server.assert_success(&out, "RNFR/RNTO");
    assert!(!root.join("a.txt").exists(), "RNFR source must be gone");
    assert_eq!(fs::read(root.join("newdir/b.txt")).unwrap(), b"payload");

    let out = quote(&server, &["DELE newdir/b.txt"]);
    server.assert_success(&out, "DELE");
    assert!(
        !root.join("newdir/b.txt").exists(),
        "DELE must remove the file"
    );

    let out = quote(&server, &["RMD newdir"]);
    server.assert_success(&out, "RMD");
    assert!(!root.join("newdir").exists(), "RMD must remove the folder");
}

#[test]
fn quote_dele_of_a_missing_file_fails() {
    let server = TestServer::start(&[]);
    let out = quote(&server, &["DELE no-such-file"]);
    // curl exits with 21 (CURLE_QUOTE_ERROR) when a -Q command gets a 4xx/5xx reply.
    assert_eq!(out.status.code(), Some(21), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("550"),
        "{}",
        describe(&out)
    );
}

#[test]
fn rmd_of_a_non_empty_folder_fails_and_keeps_it() {
    let server = TestServer::start(&[]);
    let root = server.root(1);
    fs::create_dir(root.join("full")).unwrap();
    fs::write(root.join("full/keep.txt"), b"keep").unwrap();
    let out = quote(&server, &["RMD full"]);
    assert_eq!(out.status.code(), Some(21), "{}", describe(&out));
    assert_eq!(fs::read(root.join("full/keep.txt")).unwrap(), b"keep");
}

#[test]
fn list_and_nlst_show_uploaded_files() {
    let server = TestServer::start(&[]);
    let local = tempfile::tempdir().unwrap();
    let src = local.path().join("shown.bin");
    random_file(&src, 1000);
    curl_ok(
        &server,
        &[
            "-T",
            src.to_str().unwrap(),
            &format!("{}shown.bin", server.url(1)),
        ],
    );

    let list = curl_ok(&server, &[&server.url(1)]);
    let list = String::from_utf8_lossy(&list.stdout);
    let line = list
        .lines()
        .find(|l| l.ends_with("shown.bin"))
        .unwrap_or_else(|| panic!("LIST lacks shown.bin:\n{list}"));
    assert!(line.starts_with('-'), "ls -l style line for a file: {line}");
    assert!(line.contains(" 1000 "), "size in the LIST line: {line}");

    let nlst = curl_ok(&server, &["--list-only", &server.url(1)]);
    let nlst = String::from_utf8_lossy(&nlst.stdout);
    let mut names: Vec<&str> = nlst.lines().map(str::trim).collect();
    names.sort_unstable();
    assert_eq!(names, ["shown.bin", "welcome.txt"], "NLST of the root");
}

#[test]
fn welcome_file_of_the_demo_is_downloadable() {
    let server = TestServer::start(&[]);
    let expected = fs::read(server.root(2).join("welcome.txt")).unwrap();
    assert!(
        !expected.is_empty(),
        "init --demo writes a non-empty welcome.txt"
    );
    let out = curl_ok(&server, &[&format!("{}welcome.txt", server.url(2))]);
    assert_eq!(sha256_hex(&out.stdout), sha256_hex(&expected));
}

#[test]
fn wrong_password_makes_curl_fail_with_login_denied() {
    let server = TestServer::start(&[]);
    let out = curl(&[&format!("ftp://user1:wrong@127.0.0.1:{}/", server.port)]);
    // curl exits with 67 (CURLE_LOGIN_DENIED) after a 530 reply to PASS.
    assert_eq!(out.status.code(), Some(67), "{}", describe(&out));
}
