//! `inspector read --flow`: golden ladder diagrams (insta) of every capture in `captures/`,
//! UTF-8 and ASCII, each line within 100 columns; `--flow=mermaid` checked against a small
//! grammar of the Mermaid subset it emits.

mod shipped;
mod synth;

use shipped::{CAPTURES, captures};

use std::path::PathBuf;
use std::process::Command;

const INSPECTOR: &str = env!("CARGO_BIN_EXE_inspector");

/// Runs `inspector read` from `captures/` with the locale `lang`; (exit code, stdout, stderr).
fn inspect(lang: &str, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(INSPECTOR)
        .current_dir(captures())
        .env_remove("LC_ALL")
        .env_remove("LC_CTYPE")
        .env("LANG", lang)
        .arg("read")
        .args(args)
        .output()
        .expect("run inspector");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).expect("the diagram is UTF-8"),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn snapshot(code: i32, stdout: &str, stderr: &str) -> String {
    format!("exit code: {code}\n--- stdout ---\n{stdout}--- stderr ---\n{stderr}")
}

fn assert_fits(name: &str, text: &str) {
    for line in text.lines() {
        assert!(
            line.chars().count() <= 100,
            "{name}: line wider than 100 columns: {line:?}"
        );
    }
}

#[test]
fn every_capture_is_drawn_within_100_columns() {
    for (name, args) in CAPTURES {
        let mut a = vec!["--flow"];
        a.extend(*args);
        let (code, out, err) = inspect("C.UTF-8", &a);
        assert_fits(name, &out);
        insta::assert_snapshot!(format!("{name}-flow"), snapshot(code, &out, &err));
    }
}

#[test]
fn without_a_utf8_locale_the_diagram_is_ascii() {
    for (name, file) in [
        ("ftplab-curl", &["--port", "2121", "ftplab-curl.pcap"][..]),
        ("lab1", &["lab1.pcapng"][..]),
    ] {
        let mut a = vec!["--flow"];
        a.extend(file);
        let (code, out, err) = inspect("C", &a);
        assert!(out.is_ascii(), "{name}: not ASCII:\n{out}");
        assert_fits(name, &out);
        insta::assert_snapshot!(format!("{name}-flow-ascii"), snapshot(code, &out, &err));
        // `--ascii` gives the same under a UTF-8 locale.
        let mut a = vec!["--flow", "--ascii"];
        a.extend(file);
        assert_eq!(inspect("en_US.UTF-8", &a).1, out, "{name}: --ascii differs");
    }
}

#[test]
fn the_password_row_is_marked_and_the_data_connection_drawn() {
    let (_, out, _) = inspect("C.UTF-8", &["--flow", "lab1.pcapng"]);
    assert!(
        out.lines().any(|l| l.contains("★ PASS ")),
        "no marked PASS row:\n{out}"
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("s.pcap");
    std::fs::write(&file, synth::pcap(101, &synth::session_packets())).expect("write capture");
    let (_, out, _) = inspect(
        "C.UTF-8",
        &["--flow", "--ascii", file.to_str().expect("utf-8 path")],
    );
    for wanted in [
        "! PASS s3cret",
        "SYN :40001 -> :50000",
        "RETR plans.txt: 22 B",
        "FIN",
    ] {
        assert!(out.contains(wanted), "no {wanted:?} in\n{out}");
    }
    // The SYN goes from the client's data end (column 1) to the server's (column 2).
    let syn = out.lines().find(|l| l.contains("SYN")).expect("SYN row");
    assert!(syn.contains("|........>|"), "SYN arrow: {syn}");
}

/// The Mermaid subset `--flow=mermaid` emits, checked line by line: fenced blocks, each a
/// `sequenceDiagram` whose participants are declared before use, messages with a known arrow,
/// notes, balanced `rect … end`, and text free of what Mermaid would read as syntax (a `;` ends
/// a statement, `#` starts an entity, `%%` a comment) except well-formed entity codes.
fn check_mermaid(doc: &str) -> Result<usize, String> {
    let mut blocks = 0;
    let mut lines = doc.lines().enumerate();
    while let Some((n, line)) = lines.next() {
        if line != "```mermaid" {
            if line.starts_with("```") {
                return Err(format!("line {}: stray fence {line:?}", n + 1));
            }
            continue;
        }
        blocks += 1;
        let (_, first) = lines.next().ok_or("empty block")?;
        if first != "sequenceDiagram" {
            return Err(format!("line {}: {first:?} is not sequenceDiagram", n + 2));
        }
        let mut participants: Vec<String> = Vec::new();
        let mut depth = 0usize;
        loop {
            let (n, line) = lines.next().ok_or("block not closed")?;
            let at = |m: &str| format!("line {}: {m}: {line:?}", n + 1);
            if line == "```" {
                if depth != 0 {
                    return Err(at("rect not closed"));
                }
                break;
            }
            let t = line.trim_start();
            let declared = |id: &str, p: &[String]| p.iter().any(|x| x == id);
            if let Some(rest) = t.strip_prefix("participant ") {
                let (id, alias) = rest.split_once(" as ").ok_or_else(|| at("no alias"))?;
                if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric()) {
                    return Err(at("bad participant id"));
                }
                check_text(alias).map_err(|e| at(&e))?;
                participants.push(id.to_owned());
            } else if let Some(rest) = t.strip_prefix("Note over ") {
                let (who, text) = rest
                    .split_once(": ")
                    .ok_or_else(|| at("note without text"))?;
                for id in who.split(',') {
                    if !declared(id, &participants) {
                        return Err(at("note over an undeclared participant"));
                    }
                }
                check_text(text).map_err(|e| at(&e))?;
            } else if let Some(rgb) = t.strip_prefix("rect ") {
                let inner = rgb
                    .strip_prefix("rgb(")
                    .and_then(|r| r.strip_suffix(')'))
                    .ok_or_else(|| at("rect without rgb()"))?;
                if inner.split(',').count() != 3
                    || inner.split(',').any(|v| v.trim().parse::<u8>().is_err())
                {
                    return Err(at("bad rgb"));
                }
                depth += 1;
            } else if t == "end" {
                depth = depth.checked_sub(1).ok_or_else(|| at("end without rect"))?;
            } else {
                let (head, text) = t.split_once(": ").ok_or_else(|| at("unknown statement"))?;
                let (from, arrow, to) = ["-->>", "->>", "-)", "-x"]
                    .iter()
                    .find_map(|a| head.split_once(a).map(|(f, t)| (f, *a, t)))
                    .ok_or_else(|| at("no arrow"))?;
                let _ = arrow;
                if !declared(from, &participants) || !declared(to, &participants) {
                    return Err(at("message between undeclared participants"));
                }
                check_text(text).map_err(|e| at(&e))?;
            }
        }
    }
    Ok(blocks)
}

/// Message text: no raw `;`, `"`, `<`, `>`, `%`, backtick, control character; every `#` starts
/// an entity code `#123;`.
fn check_text(text: &str) -> Result<(), String> {
    if text.trim().is_empty() {
        return Err("empty text".into());
    }
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '#' {
            let rest = chars.as_str();
            let code = rest.split_once(';').map_or(rest, |(code, _)| code);
            let closed = rest.len() > code.len();
            chars = rest.get(code.len() + 1..).unwrap_or_default().chars();
            if !closed || code.is_empty() || !code.chars().all(|d| d.is_ascii_digit()) {
                return Err(format!("bad entity #{code}"));
            }
        } else if "\";<>%`".contains(c) || c.is_control() {
            return Err(format!("raw {c:?} in text"));
        }
    }
    Ok(())
}

#[test]
fn mermaid_of_every_capture_parses() {
    for (name, args) in CAPTURES {
        let mut a = vec!["--flow=mermaid"];
        a.extend(*args);
        let (code, out, err) = inspect("C.UTF-8", &a);
        let sessions = check_mermaid(&out).unwrap_or_else(|e| panic!("{name}: {e}\n{out}"));
        let expected = if name.starts_with("broken-not") { 0 } else { 1 };
        assert!(sessions >= expected, "{name}: {sessions} diagrams\n{out}");
        if *name == "lab1" || *name == "ftplab-curl" {
            insta::assert_snapshot!(format!("{name}-mermaid"), snapshot(code, &out, &err));
        }
    }
}

#[test]
fn mermaid_escapes_syntax_that_comes_from_the_capture() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("hostile.pcap");
    let lines: &[(bool, &[u8])] = &[
        (false, b"220 hi; %%{init: {\"theme\":\"dark\"}}%%\r\n"),
        (true, b"USER a;b#c\"<br>`x`\r\n"),
        (false, b"331 ok\r\n"),
        (true, b"PASS p;q\r\n"),
        (false, b"530 no\r\n"),
    ];
    std::fs::write(&file, synth::pcap(101, &synth::control_only(lines))).expect("write");
    let (_, out, _) = inspect(
        "C.UTF-8",
        &["--flow=mermaid", file.to_str().expect("utf-8 path")],
    );
    assert_eq!(check_mermaid(&out), Ok(1), "{out}");
    assert!(
        out.contains("USER a#59;b#35;c#34;#60;br#62;#96;x#96;"),
        "{out}"
    );
    // The grammar check itself rejects what it must.
    assert!(
        check_mermaid("```mermaid\nsequenceDiagram\n    participant C as c\n    C->>C: a;b\n```")
            .is_err()
    );
    assert!(check_mermaid("```mermaid\nsequenceDiagram\n    C->>S: x\n```").is_err());
    assert!(check_mermaid("```mermaid\nsequenceDiagram\n    rect rgb(1, 2, 3)\n```").is_err());
}

/// A program on PATH, if there is one.
fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// The real Mermaid, when mermaid-cli is at hand (`mmdc` on PATH, or FTPLAB_MMDC naming it;
/// `PUPPETEER_SKIP_DOWNLOAD=1 npm install @mermaid-js/mermaid-cli` installs it without a
/// browser of its own) and Chromium too: it renders every diagram, and shows the escaped text
/// as the capture had it. Skipped with a message otherwise; the grammar check above always runs.
#[test]
fn mermaid_cli_renders_the_diagrams_when_installed() {
    let mmdc = std::env::var_os("FTPLAB_MMDC")
        .map(PathBuf::from)
        .or_else(|| on_path("mmdc"));
    let chromium = on_path("chromium").or_else(|| on_path("chromium-browser"));
    let (Some(mmdc), Some(chromium)) = (mmdc, chromium) else {
        eprintln!(
            "SKIPPED: mmdc or chromium not found (set FTPLAB_MMDC to mermaid-cli's mmdc); the \
             Mermaid output was checked by the grammar test only"
        );
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("puppeteer.json");
    std::fs::write(
        &config,
        format!(
            "{{\"executablePath\": {:?}, \"args\": [\"--no-sandbox\", \"--disable-gpu\"]}}",
            chromium.display().to_string()
        ),
    )
    .expect("write config");
    let hostile = dir.path().join("hostile.pcap");
    let lines: &[(bool, &[u8])] = &[
        (false, b"220 hi; %%{init: {\"theme\":\"dark\"}}%%\r\n"),
        (true, b"USER a;b#c\r\n"),
        (false, b"331 ok\r\n"),
    ];
    std::fs::write(&hostile, synth::pcap(101, &synth::control_only(lines))).expect("write");
    let hostile = hostile.to_str().expect("utf-8 path").to_owned();
    let cases: [(&str, Vec<&str>); 3] = [
        ("lab1", vec!["lab1.pcapng"]),
        ("lab4", vec!["lab4.pcapng"]),
        ("hostile", vec![hostile.as_str()]),
    ];
    for (name, args) in cases {
        let mut a = vec!["--flow=mermaid"];
        a.extend(&args);
        let (_, doc, _) = inspect("C.UTF-8", &a);
        let blocks = check_mermaid(&doc).unwrap_or_else(|e| panic!("{name}: {e}"));
        let input = dir.path().join(format!("{name}.md"));
        std::fs::write(&input, &doc).expect("write");
        let output = dir.path().join(format!("{name}-out.md"));
        let mut child = Command::new(&mmdc)
            .arg("-p")
            .arg(&config)
            .arg("-i")
            .arg(&input)
            .arg("-o")
            .arg(&output)
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("mmdc.err")).expect("log"))
            .spawn()
            .expect("start mmdc");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait for mmdc") {
                break status;
            }
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                panic!("{name}: mmdc did not finish in 300 s");
            }
            std::thread::sleep(std::time::Duration::from_millis(200));
        };
        let log = std::fs::read_to_string(dir.path().join("mmdc.err")).unwrap_or_default();
        assert!(
            status.success(),
            "{name}: Mermaid rejected the diagram: {log}"
        );
        for n in 1..=blocks {
            let svg = dir.path().join(format!("{name}-out-{n}.svg"));
            assert!(svg.is_file(), "{name}: diagram {n} not rendered: {log}");
        }
        if name == "hostile" {
            let svg =
                std::fs::read_to_string(dir.path().join("hostile-out-1.svg")).expect("rendered");
            assert!(svg.contains("USER a;b#c"), "escaped text not shown as sent");
            assert!(
                svg.contains("220 hi; %%{init"),
                "escaped text not shown as sent"
            );
        }
    }
}

/// A capture added to `captures/` gets its place in [`CAPTURES`] (and so its tests) or this fails.
#[test]
fn every_shipped_capture_is_in_the_list() {
    shipped::assert_every_capture_is_listed();
}
