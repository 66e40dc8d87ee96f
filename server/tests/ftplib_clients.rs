//! Python's ftplib against the real server: round trips with sha256 checks, MLSD facts, NLST,
//! SIZE, MDTM, file and folder commands, HELP, FEAT, a wrong password and ABOR mid-transfer.
//! Each script prints one JSON object that the test then checks.

mod common;

use std::fs;
use std::process::Command;
use std::time::{Duration, SystemTime};

use common::{MIB, TestServer, random_file, run, sha256_file};
use serde_json::Value;

/// Opens `ftp` as user1 on the port in argv[1]; the rest of argv is the script's.
const PRELUDE: &str = r#"
import ftplib, hashlib, io, json, sys
port = int(sys.argv[1])
args = sys.argv[2:]
ftp = ftplib.FTP()
ftp.connect('127.0.0.1', port, timeout=60)
"#;

/// Runs PRELUDE + `script` with `python3 -c`, and parses the last line of stdout as JSON.
fn python(server: &TestServer, script: &str, args: &[&str]) -> Value {
    let code = format!("{PRELUDE}{script}");
    let out = run(Command::new("python3")
        .arg("-c")
        .arg(&code)
        .arg(server.port.to_string())
        .args(args));
    server.assert_success(&out, "python3 ftplib script");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().last().unwrap_or("");
    serde_json::from_str(last)
        .unwrap_or_else(|e| panic!("script output is not JSON ({e}): {stdout}"))
}

const ROUND_TRIP: &str = r#"
ftp.login('user1', 'pass1')
ftp.set_pasv(args[2] == 'passive')
path, name = args[0], args[1]
with open(path, 'rb') as f:
    stor = ftp.storbinary('STOR ' + name, f, blocksize=1 << 20)
h = hashlib.sha256()
retr = ftp.retrbinary('RETR ' + name, h.update, blocksize=1 << 20)
ftp.voidcmd('TYPE I')
size = ftp.size(name)
quit = ftp.quit()
print(json.dumps({'stor': stor, 'retr': retr, 'sha256': h.hexdigest(), 'size': size, 'quit': quit}))
"#;

fn round_trip(size: usize, mode: &str) {
    let server = TestServer::start(&[]);
    let local = tempfile::tempdir().unwrap();
    let src = local.path().join("src.bin");
    let hash = random_file(&src, size);
    let name = format!("py-{mode}-{size}.bin");

    let got = python(&server, ROUND_TRIP, &[src.to_str().unwrap(), &name, mode]);
    assert!(got["stor"].as_str().unwrap().starts_with("226"), "{got}");
    assert!(got["retr"].as_str().unwrap().starts_with("226"), "{got}");
    assert!(got["quit"].as_str().unwrap().starts_with("221"), "{got}");
    assert_eq!(got["sha256"], hash, "downloaded sha256");
    assert_eq!(got["size"], size, "SIZE reply");
    assert_eq!(sha256_file(&server.root(1).join(&name)), hash, "on disk");
}

#[test]
fn ftplib_round_trips_1_mib_in_passive_mode() {
    round_trip(MIB, "passive");
}

#[test]
fn ftplib_round_trips_1_mib_in_active_mode() {
    round_trip(MIB, "active");
}

#[test]
fn ftplib_round_trips_100_mib_in_passive_mode() {
    round_trip(100 * MIB, "passive");
}

#[test]
fn ftplib_round_trips_100_mib_in_active_mode() {
    round_trip(100 * MIB, "active");
}

/// 2023-11-14 22:13:20 UTC.
const FIXED_MTIME: u64 = 1_700_000_000;
const FIXED_MTIME_TEXT: &str = "20231114221320";

/// Puts `data.bin` (12345 bytes, FIXED_MTIME) and an empty folder `sub` in root1.
fn fixture(server: &TestServer) {
    let file = server.root(1).join("data.bin");
    random_file(&file, 12345);
    fs::File::options()
        .write(true)
        .open(&file)
        .unwrap()
        .set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(FIXED_MTIME))
        .unwrap();
    fs::create_dir(server.root(1).join("sub")).unwrap();
}

#[test]
fn mlsd_reports_type_size_and_modify_facts() {
    let server = TestServer::start(&[]);
    fixture(&server);
    let got = python(
        &server,
        r#"
ftp.login('user1', 'pass1')
print(json.dumps(dict(ftp.mlsd())))
"#,
        &[],
    );
    let entries = got.as_object().unwrap();
    let names: Vec<&str> = entries
        .keys()
        .map(String::as_str)
        .filter(|n| *n != "." && *n != "..")
        .collect();
    assert_eq!(names, ["data.bin", "sub", "welcome.txt"], "{got}");

    let file = &got["data.bin"];
    assert_eq!(file["type"], "file", "{got}");
    assert_eq!(file["size"], "12345", "{got}");
    let modify = file["modify"]
        .as_str()
        .unwrap_or_else(|| panic!("no modify: {got}"));
    assert!(
        modify.starts_with(FIXED_MTIME_TEXT),
        "modify {modify}, want {FIXED_MTIME_TEXT}"
    );

    assert_eq!(got["sub"]["type"], "dir", "{got}");
    for (name, facts) in entries {
        if name != "." && name != ".." {
            let t = facts["type"].as_str().unwrap_or("");
            assert!(t == "file" || t == "dir", "type fact of {name}: {facts}");
        }
    }
}

#[test]
fn mlst_describes_one_file_on_the_control_connection() {
    let server = TestServer::start(&[]);
    fixture(&server);
    let got = python(
        &server,
        r#"
ftp.login('user1', 'pass1')
print(json.dumps({'mlst': ftp.sendcmd('MLST data.bin')}))
"#,
        &[],
    );
    let text = got["mlst"].as_str().unwrap();
    assert!(text.starts_with("250-"), "{text}");
    let facts = text.to_ascii_lowercase();
    assert!(facts.contains("type=file;"), "{text}");
    assert!(facts.contains("size=12345;"), "{text}");
    assert!(
        facts.contains(&format!("modify={FIXED_MTIME_TEXT}")),
        "{text}"
    );
    assert!(text.contains("data.bin"), "{text}");
}

#[test]
fn nlst_size_and_mdtm_describe_files() {
    let server = TestServer::start(&[]);
    fixture(&server);
    let got = python(
        &server,
        r#"
ftp.login('user1', 'pass1')
out = {'nlst': sorted(ftp.nlst())}
ftp.voidcmd('TYPE I')  # SIZE of a binary file in TYPE A is ambiguous (RFC 3659 §4)
out['size'] = ftp.size('data.bin')
out['mdtm'] = ftp.sendcmd('MDTM data.bin')
try:
    ftp.size('missing.bin')
    out['size_missing'] = 'no error'
except ftplib.error_perm as e:
    out['size_missing'] = str(e)
print(json.dumps(out))
"#,
        &[],
    );
    assert_eq!(
        got["nlst"],
        serde_json::json!(["data.bin", "sub", "welcome.txt"]),
        "{got}"
    );
    assert_eq!(got["size"], 12345, "{got}");
    assert_eq!(got["mdtm"], format!("213 {FIXED_MTIME_TEXT}"), "{got}");
    assert!(
        got["size_missing"].as_str().unwrap().starts_with("550"),
        "{got}"
    );
}

#[test]
fn rename_delete_mkd_and_rmd_change_the_disk() {
    let server = TestServer::start(&[]);
    let got = python(
        &server,
        r#"
ftp.login('user1', 'pass1')
out = {}
out['mkd'] = ftp.mkd('d1')
ftp.mkd('d2')
out['rmd'] = ftp.rmd('d2')
ftp.storbinary('STOR a.txt', io.BytesIO(b'hello'))
out['rename'] = ftp.rename('a.txt', 'd1/b.txt')
ftp.storbinary('STOR c.txt', io.BytesIO(b'bye'))
out['delete'] = ftp.delete('c.txt')
for key, call in [('delete_missing', lambda: ftp.delete('nothing')),
                  ('rename_missing', lambda: ftp.rename('nothing', 'x')),
                  ('mkd_existing', lambda: ftp.mkd('d1')),
                  ('rmd_not_empty', lambda: ftp.rmd('d1'))]:
    try:
        out[key] = 'no error: ' + str(call())
    except ftplib.error_perm as e:
        out[key] = str(e)
print(json.dumps(out))
"#,
        &[],
    );
    let root = server.root(1);
    assert!(
        got["mkd"].as_str().unwrap().ends_with("d1"),
        "257 path: {got}"
    );
    assert!(got["rmd"].as_str().unwrap().starts_with("250"), "{got}");
    assert!(got["rename"].as_str().unwrap().starts_with("250"), "{got}");
    assert!(got["delete"].as_str().unwrap().starts_with("250"), "{got}");
    for key in [
        "delete_missing",
        "rename_missing",
        "mkd_existing",
        "rmd_not_empty",
    ] {
        assert!(
            got[key].as_str().unwrap().starts_with("550"),
            "{key}: {got}"
        );
    }
    assert_eq!(fs::read(root.join("d1/b.txt")).unwrap(), b"hello");
    assert!(!root.join("a.txt").exists(), "renamed away");
    assert!(!root.join("c.txt").exists(), "deleted");
    assert!(!root.join("d2").exists(), "removed folder");
}

#[test]
fn help_lists_the_commands() {
    let server = TestServer::start(&[]);
    let got = python(
        &server,
        r#"
ftp.login('user1', 'pass1')
print(json.dumps({'help': ftp.sendcmd('HELP')}))
"#,
        &[],
    );
    let help = got["help"].as_str().unwrap();
    assert!(help.starts_with("214"), "{help}");
    let words: Vec<&str> = help.split(|c: char| !c.is_ascii_alphanumeric()).collect();
    for verb in [
        "USER", "PASS", "QUIT", "RETR", "STOR", "APPE", "LIST", "NLST", "MLSD", "PASV", "EPSV",
        "PORT", "EPRT", "REST", "SIZE", "MDTM", "MKD", "RMD", "DELE", "RNFR", "RNTO", "ABOR",
    ] {
        assert!(words.contains(&verb), "HELP lacks {verb}:\n{help}");
    }
}

#[test]
fn feat_lists_mlst_epsv_utf8_size_mdtm_and_rest_stream() {
    let server = TestServer::start(&[]);
    let got = python(
        &server,
        r#"
print(json.dumps({'feat': ftp.sendcmd('FEAT')}))
"#,
        &[],
    );
    let feat = got["feat"].as_str().unwrap();
    assert!(feat.starts_with("211-"), "{feat}");
    let features: Vec<String> = feat
        .lines()
        .skip(1)
        .filter(|l| l.starts_with(' '))
        .map(|l| l.trim().to_ascii_uppercase())
        .collect();
    for want in ["EPSV", "UTF8", "SIZE", "MDTM", "REST STREAM"] {
        assert!(
            features.iter().any(|f| f == want),
            "FEAT lacks {want}:\n{feat}"
        );
    }
    assert!(
        features.iter().any(|f| f.starts_with("MLST ")),
        "FEAT lacks MLST:\n{feat}"
    );
}

#[test]
fn wrong_password_raises_error_perm_530() {
    let server = TestServer::start(&[]);
    let got = python(
        &server,
        r#"
try:
    ftp.login('user1', 'not-pass1')
    print(json.dumps({'result': 'logged in'}))
except ftplib.error_perm as e:
    print(json.dumps({'result': str(e)}))
"#,
        &[],
    );
    assert!(got["result"].as_str().unwrap().starts_with("530"), "{got}");
}

#[test]
fn unknown_user_raises_error_perm_530_like_a_wrong_password() {
    let server = TestServer::start(&[]);
    let got = python(
        &server,
        r#"
try:
    ftp.login('nobody-here', 'x')
    print(json.dumps({'result': 'logged in'}))
except ftplib.error_perm as e:
    print(json.dumps({'result': str(e)}))
"#,
        &[],
    );
    assert!(got["result"].as_str().unwrap().starts_with("530"), "{got}");
}

#[test]
fn abor_during_a_large_retr_replies_426_then_226() {
    let server = TestServer::start(&[]);
    random_file(&server.root(1).join("big.bin"), 100 * MIB);
    let got = python(
        &server,
        r#"
ftp.login('user1', 'pass1')
ftp.voidcmd('TYPE I')
conn = ftp.transfercmd('RETR big.bin')
got = 0
while got < 65536:
    chunk = conn.recv(65536)
    if not chunk:
        break
    got += len(chunk)
first = ftp.abort()
second = ftp.getmultiline() if first.startswith('426') else None
conn.close()
noop = ftp.voidcmd('NOOP')
print(json.dumps({'received': got, 'first': first, 'second': second, 'noop': noop}))
"#,
        &[],
    );
    assert!(got["received"].as_u64().unwrap() >= 65536, "{got}");
    assert!(got["first"].as_str().unwrap().starts_with("426"), "{got}");
    assert!(
        got["second"].as_str().unwrap_or("").starts_with("226"),
        "{got}"
    );
    assert!(got["noop"].as_str().unwrap().starts_with("200"), "{got}");
}
