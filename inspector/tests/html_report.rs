//! `inspector read --html`: the report of every shipped capture, loaded in a real browser
//! (headless Chromium, `--dump-dom`): the DOM shows each password's frame and the ladder's
//! arrows, and the browser logs nothing to its console (the page has no script, so any console
//! line is an error). Also: markup in a capture stays text, lab reports stay under 1 MB, and
//! `--extract` links resolve. Chromium comes from Debian's `chromium` package (.ci/run); without
//! it the browser part is skipped with a message.

mod shipped;
mod synth;

use shipped::{CAPTURES, NOT_A_CAPTURE, captures};

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const INSPECTOR: &str = env!("CARGO_BIN_EXE_inspector");

/// Runs `inspector read ARGS` from `captures/`; returns stdout.
fn inspect(args: &[&str]) -> String {
    let out = Command::new(INSPECTOR)
        .current_dir(captures())
        .arg("read")
        .args(args)
        .output()
        .expect("run inspector");
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "inspector {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Writes the HTML report of `args` to `html` (absolute) and returns it.
fn report(args: &[&str], html: &Path) -> String {
    let mut a = vec!["--html", html.to_str().expect("utf-8 path")];
    a.extend(args);
    inspect(&a);
    std::fs::read_to_string(html).expect("report written")
}

/// Frames of PASS (the credential's `frame`) from the JSON events.
fn password_frames(args: &[&str]) -> Vec<u64> {
    let mut a = vec!["--json", "--sort"];
    a.extend(args);
    inspect(&a)
        .lines()
        .filter(|l| l.contains("\"kind\":\"credential\""))
        .filter_map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).ok()?;
            v.get("frame")?.as_u64()
        })
        .collect()
}

fn chromium() -> Option<&'static str> {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| {
            Command::new(b)
                .arg("--version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
}

/// Loads `page` in headless Chromium: (the rendered DOM, the console lines it logged). Bounded
/// by 90 s.
fn load(browser: &str, page: &Path, scratch: &Path) -> (String, Vec<String>) {
    let (dom, log) = (scratch.join("dom.html"), scratch.join("log.txt"));
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!(
            "--user-data-dir={}",
            scratch.join("profile").display()
        ))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .stdout(std::fs::File::create(&dom).expect("dom file"))
        .stderr(std::fs::File::create(&log).expect("log file"))
        .spawn()
        .expect("start chromium");
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        if child.try_wait().expect("wait for chromium").is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish loading {} in 90 s", page.display());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let console = std::fs::read_to_string(&log)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(":CONSOLE") || l.contains("Uncaught"))
        .map(str::to_owned)
        .collect();
    (std::fs::read_to_string(&dom).unwrap_or_default(), console)
}

#[test]
fn every_report_renders_in_chromium_with_the_password_frames_and_the_arrows() {
    let Some(browser) = chromium() else {
        testkit::guard::missing(
            testkit::guard::SKIP_BROWSER,
            "no chromium found: `apt-get install -y chromium` (as .ci/run does) for the browser \
             check of the HTML reports",
        );
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    // The check itself: a console error is seen.
    let bad = dir.path().join("bad.html");
    std::fs::write(&bad, "<!DOCTYPE html><p>x</p><script>nope();</script>").expect("write");
    let (_, console) = load(browser, &bad, dir.path());
    assert!(
        console.iter().any(|l| l.contains("Uncaught")),
        "a script error went unseen: {console:?}"
    );
    for (name, args) in CAPTURES.iter().filter(|(name, _)| *name != NOT_A_CAPTURE) {
        let html = dir.path().join(format!("{name}.html"));
        let page = report(args, &html);
        assert!(
            page.len() < 1 << 20,
            "{name}: report is {} bytes, over 1 MB",
            page.len()
        );
        let (dom, console) = load(browser, &html, dir.path());
        assert!(console.is_empty(), "{name}: console output: {console:?}");
        assert!(
            dom.contains("<h2>Credentials</h2>"),
            "{name}: DOM not rendered:\n{dom}"
        );
        for frame in password_frames(args) {
            let row = dom
                .split_once(&format!("<tr class=\"credential\" data-frame=\"{frame}\">"))
                .and_then(|(_, rest)| rest.split_once("</tr>"))
                .map(|(row, _)| row)
                .unwrap_or_else(|| panic!("{name}: no credential row for frame {frame}"));
            assert!(
                row.contains(&format!("<td data-label=\"frame\">{frame}</td>")),
                "{name}: the row does not show frame {frame}: {row}"
            );
        }
        let sessions = dom.matches("<svg class=\"ladder\"").count();
        let arrows = dom.matches("marker-end=\"url(#arrow-").count();
        if dom.contains("No FTP session found.") {
            assert_eq!(sessions, 0, "{name}");
        } else {
            assert!(sessions > 0, "{name}: no ladder drawn");
            assert!(
                arrows >= 2 * sessions,
                "{name}: {arrows} arrows for {sessions} sessions"
            );
        }
        assert!(
            dom.contains("<svg class=\"timeline\""),
            "{name}: no timeline"
        );
    }
}

#[test]
fn markup_in_a_user_name_is_shown_as_text() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("hostile.pcap");
    let lines: &[(bool, &[u8])] = &[
        (false, b"220 <img src=x onerror=alert(2)>\r\n"),
        (true, b"USER <script>alert(1)</script>\r\n"),
        (false, b"331 ok\r\n"),
        (true, b"PASS \"><svg onload=alert(3)>\r\n"),
        (false, b"230 ok\r\n"),
    ];
    std::fs::write(&file, synth::pcap(101, &synth::control_only(lines))).expect("write");
    let html = dir.path().join("r.html");
    let page = report(&[file.to_str().expect("utf-8 path")], &html);
    assert!(!page.contains("<script"), "a script element got through");
    assert!(!page.contains("<img"), "an img element got through");
    assert!(!page.contains("<svg onload"), "an svg element got through");
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    match chromium() {
        None => testkit::guard::missing(testkit::guard::SKIP_BROWSER, "no chromium found"),
        Some(browser) => {
            let (dom, console) = load(browser, &html, dir.path());
            assert!(console.is_empty(), "console output: {console:?}");
            assert!(
                !dom.contains("<script"),
                "the browser built a script element"
            );
            assert!(
                dom.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
                "{dom}"
            );
        }
    }
}

#[test]
fn extracted_files_are_linked_relative_to_the_report() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (out, html) = (
        dir.path().join("files"),
        dir.path().join("r").join("report.html"),
    );
    std::fs::create_dir_all(html.parent().expect("parent")).expect("mkdir");
    let page = report(
        &[
            "--extract",
            out.to_str().expect("utf-8 path"),
            "--port",
            "2121",
            "ftplab-curl.pcap",
        ],
        &html,
    );
    let links: Vec<&str> = page
        .split("<a href=\"")
        .skip(1)
        .filter_map(|s| s.split_once('"').map(|(h, _)| h))
        .filter(|h| !h.starts_with('#'))
        .collect();
    assert!(!links.is_empty(), "no link to an extracted file");
    for l in links {
        assert!(l.starts_with("../files/"), "{l}");
        let target = html.parent().expect("parent").join(l.replace("%20", " "));
        assert!(target.is_file(), "{l} does not lead to a file");
    }
}

/// The timeline shows a download resumed with REST (its lane starts at the offset) and a
/// password-guessing burst (lab 4: a run of refused logins).
#[test]
fn the_timeline_shows_the_resumed_download_and_the_guessing_burst() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("resumed.pcap");
    std::fs::write(&file, synth::pcap(101, &synth::resumed_download())).expect("write");
    let html = dir.path().join("r.html");
    let page = report(&[file.to_str().expect("utf-8 path")], &html);
    let timeline = page
        .split_once("<svg class=\"timeline\"")
        .map(|(_, t)| t)
        .expect("timeline");
    assert!(
        timeline.contains("s1 data RETR plans.txt (REST 10)"),
        "{timeline}"
    );
    assert!(timeline.contains("<polyline"), "no bytes line: {timeline}");
    // Both parts' data connections are in the ladder: the first one reset.
    let ladder = page
        .split_once("<svg class=\"ladder\"")
        .map(|(_, l)| l)
        .expect("ladder");
    assert!(ladder.contains(">RST</text>"), "{ladder}");
    assert!(ladder.contains("from offset 10 (REST)"), "{ladder}");
    let page = report(&["lab4.pcapng"], &dir.path().join("lab4.html"));
    let refused = page.matches("class=\"tick fail\"").count();
    assert!(refused >= 5, "{refused} refused logins drawn");
}

#[test]
fn the_report_is_self_contained() {
    let dir = tempfile::tempdir().expect("temp dir");
    let html = dir.path().join("r.html");
    let page = report(&["lab1.pcapng"], &html);
    for fetch in ["http://", "https://", "<link", "<script", "@import", "src="] {
        assert!(
            !page.contains(fetch),
            "the report fetches something: {fetch}"
        );
    }
    assert!(page.contains("<meta name=\"viewport\""));
    assert!(page.contains("@media print"));
}

/// A capture of thousands of sessions gives a report of bounded size: tables, findings and
/// ladders stop at their limits and say how many more there are.
#[test]
fn a_large_capture_gives_a_bounded_report() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("many.pcap");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&file).expect("create"));
    synth::many_sessions(3000, &mut out).expect("write capture");
    drop(out);
    let html = dir.path().join("r.html");
    let page = report(&[file.to_str().expect("utf-8 path")], &html);
    assert!(
        page.len() < 3 << 20,
        "report of 3000 sessions is {} bytes",
        page.len()
    );
    assert!(
        page.contains("more, not shown"),
        "no note of the rows left out"
    );
    assert!(page.contains("Not drawn, to keep this page small"));
}
