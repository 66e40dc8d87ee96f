//! `ftplab-lab lab N`: starts the lab's pieces, prints its steps (from `labs/labN.md`), waits for
//! the student or drives the scripted client (`--auto`), and shows what the inspector found.

use crate::error::LabError;
use crate::events::{self, Events};
use crate::lab::{self, Action, Seen};
use crate::live::{self, LiveInspector};
use crate::procs;
use crate::seed::Secrets;
use crate::stage::{self, Stage};
use crate::text::{self, Section};
use crate::tools::Tools;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Options of `ftplab-lab lab`.
#[derive(Debug, Clone, clap::Args)]
pub struct LabArgs {
    /// The lab: 0-4 (or lab0-lab4).
    #[arg(value_parser = crate::parse_lab)]
    pub lab: u8,
    /// Read the lab's shipped capture (captures/labN.pcapng) instead of sniffing live: for
    /// machines where capturing is not allowed.
    #[arg(long)]
    pub offline: bool,
    /// No person: run the scripted client at each step and exit non-zero if what the student
    /// should see did not appear.
    #[arg(long)]
    pub auto: bool,
    /// Per-student credentials and file contents (from your teacher).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Start at this step (to resume a lab).
    #[arg(long, default_value_t = 1)]
    pub step: usize,
    /// With --offline: read this capture instead of the shipped one (e.g. one made for your seed).
    #[arg(long)]
    pub capture: Option<PathBuf>,
}

/// The shipped capture of lab `n`.
pub fn shipped_capture(n: u8) -> PathBuf {
    crate::workspace_root()
        .join("captures")
        .join(format!("lab{n}.pcapng"))
}

/// Runs a lab; false when (with `--auto`) something the student should see did not appear.
pub fn run(args: &LabArgs) -> Result<bool, LabError> {
    let n = args.lab;
    let lab = lab::get(n);
    let lab_text = text::parse(text::LABS[usize::from(n)]);
    let steps = lab_text.steps.len();
    if args.step == 0 || args.step > steps {
        return Err(LabError::NoSuchStep { lab: n, steps });
    }
    let secrets = Secrets::new(args.seed);
    let offline_capture = if args.offline {
        let capture = match (&args.capture, args.seed) {
            (Some(c), _) => c.clone(),
            (None, None) => shipped_capture(n),
            (None, Some(_)) => return Err(LabError::SeedWithoutCapture),
        };
        if !capture.is_file() {
            return Err(LabError::NoCapture { path: capture });
        }
        Some(capture)
    } else {
        None
    };
    let tools = Tools::locate()?;
    let stage = Stage::start(&tools, lab, &secrets, "127.0.0.1")?;
    let extract_dir = stage.work().join("extracted");
    std::fs::create_dir_all(&extract_dir).map_err(LabError::io(format!(
        "cannot create {}",
        extract_dir.display()
    )))?;
    let wordlist = stage.work().join("words.txt");
    std::fs::write(&wordlist, secrets.words.join("\n") + "\n")
        .map_err(LabError::io(format!("cannot write {}", wordlist.display())))?;

    let (capture, live) = match &offline_capture {
        Some(c) => (c.clone(), None),
        None => {
            let capture = live::student_capture(n);
            if let Some(dir) = capture.parent() {
                std::fs::create_dir_all(dir)
                    .map_err(LabError::io(format!("cannot create {}", dir.display())))?;
            }
            let ports: Vec<u16> = stage.servers.iter().map(|s| s.port).collect();
            let extract = lab.extract.then_some(extract_dir.as_path());
            match LiveInspector::start(&tools, &ports, &capture, extract, true) {
                Ok(l) => (capture, Some(l)),
                Err(e) => {
                    return Err(LabError::NoLiveCapture {
                        lab: n,
                        reason: e.to_string(),
                    });
                }
            }
        }
    };

    let vars = variables(&tools, &stage, &secrets, &capture, &wordlist, n);
    println!("\n{}\n", lab_text.title);
    print_header(&stage, &secrets, &capture, offline_capture.is_some());
    if args.step == 1 {
        print_sections(&lab_text.intro, &vars);
    }
    let mut all_ok = true;
    for (i, step) in lab_text.steps.iter().enumerate().skip(args.step - 1) {
        let k = i + 1;
        println!("\n━━ Step {k} of {steps}: {} ━━", step_title(&step.heading));
        println!("{}\n", text::fill(&step.body, &vars));
        if args.auto {
            for action in (lab.script)(&secrets, k) {
                all_ok &= perform(&tools, &stage, &secrets, &action)?;
            }
        }
        if k == lab.observe_step {
            observe(&tools, offline_capture.as_deref(), &capture)?;
        }
        if !args.auto && k < steps && !wait_for_student(k, steps) {
            println!("Stopped at step {k}: `just lab{n} --step {k}` resumes here.");
            return Ok(true);
        }
    }

    let seen = match (&offline_capture, live) {
        (Some(c), _) => {
            let events = events::read_capture(&tools.inspector, c)?;
            if lab.extract {
                extract(&tools, c, &extract_dir)?;
            }
            Seen {
                events,
                extracted: stage::hash_files(&extract_dir),
            }
        }
        (None, Some(l)) => Seen {
            events: l.stop(),
            extracted: stage::hash_files(&extract_dir),
        },
        (None, None) => Seen {
            events: Events::default(),
            extracted: Vec::new(),
        },
    };
    println!("\n━━ What you should have seen ━━");
    for e in (lab.expect)(&seen, &secrets) {
        println!("  {} {}", if e.met { "✓" } else { "✗" }, e.what);
        all_ok &= e.met;
    }
    print_sections(&lab_text.outro, &vars);
    println!(
        "\nAnswer in labs/answers/lab{n}.toml (capture = \"{}\"{}), then `just check lab{n}`.",
        capture
            .strip_prefix(crate::workspace_root())
            .unwrap_or(&capture)
            .display(),
        args.seed
            .map(|s| format!(", seed = {s}"))
            .unwrap_or_default()
    );
    if args.auto && !all_ok {
        eprintln!("ftplab-lab: lab{n} --auto: something the student should see did not appear");
    }
    Ok(!args.auto || all_ok)
}

fn step_title(heading: &str) -> &str {
    heading.split_once(':').map_or(heading, |(_, t)| t.trim())
}

fn print_header(stage: &Stage, s: &Secrets, capture: &Path, offline: bool) {
    for server in &stage.servers {
        println!(
            "  {}: ftp://{}:{}  (log: {})",
            server.label,
            stage.host,
            server.port,
            server.log.display()
        );
    }
    println!("  your account: {} / {}", s.user, s.password);
    if offline {
        println!("  offline: the inspector reads {}", capture.display());
    } else {
        println!(
            "  inspector: live on lo, saving {} (its findings appear as [inspector] lines)",
            capture.display()
        );
    }
    println!("  Ctrl-C ends the lab and everything it started.");
}

fn print_sections(sections: &[Section], vars: &[(&str, String)]) {
    for s in sections {
        println!("\n## {}\n{}", s.heading, text::fill(&s.body, vars));
    }
}

fn variables(
    tools: &Tools,
    stage: &Stage,
    s: &Secrets,
    capture: &Path,
    wordlist: &Path,
    n: u8,
) -> Vec<(&'static str, String)> {
    let port = |i: usize| {
        stage
            .servers
            .get(i)
            .map(|s| s.port.to_string())
            .unwrap_or_default()
    };
    let first = stage.servers.first();
    let path = |p: &Path| p.display().to_string();
    vec![
        ("client", path(&tools.client)),
        ("server", path(&tools.server)),
        ("inspector", path(&tools.inspector)),
        ("host", stage.host.clone()),
        ("port", port(0)),
        ("port2", port(1)),
        ("user", s.user.clone()),
        ("password", s.password.clone()),
        ("wrong_password", s.wrong_password.clone()),
        ("capture", path(capture)),
        ("work", path(stage.work())),
        ("files", first.map(|s| path(&s.root)).unwrap_or_default()),
        ("log", first.map(|s| path(&s.log)).unwrap_or_default()),
        ("downloads", path(&stage.downloads)),
        ("wordlist", path(wordlist)),
        ("lab", n.to_string()),
        (
            "seed_option",
            s.seed.map(|v| format!(" --seed {v}")).unwrap_or_default(),
        ),
    ]
}

/// Performs one scripted action; false when it did not end as the lab expects.
fn perform(tools: &Tools, stage: &Stage, s: &Secrets, action: &Action) -> Result<bool, LabError> {
    match action {
        Action::Client(run) => stage.run_client(tools, s, run, true),
        Action::Doctor => Ok(crate::doctor::report(Some(tools))),
        Action::Privilege => {
            show_privilege(tools);
            Ok(true)
        }
    }
}

/// Lab 0: live capture without and with CAP_NET_RAW.
pub fn show_privilege(tools: &Tools) {
    let root = rustix::process::geteuid().is_root();
    if root {
        match live::probe(tools, true) {
            Ok(()) => {
                println!("  without CAP_NET_RAW: it captured (unexpected: is setpriv there?)")
            }
            Err(e) => println!("  without CAP_NET_RAW: refused: {e}"),
        }
    } else {
        println!("  you are not root: the run below is the one without the privilege");
    }
    match live::probe(tools, false) {
        Ok(()) => println!("  as you are now: capturing works"),
        Err(e) => println!("  as you are now: {e}"),
    }
}

/// Shows the inspector's report at the lab's observation step.
fn observe(tools: &Tools, offline: Option<&Path>, capture: &Path) -> Result<(), LabError> {
    match offline {
        Some(c) => {
            println!("  $ inspector read {}", c.display());
            let mut cmd = Command::new(&tools.inspector);
            cmd.arg("read").arg(c).arg("--no-color");
            let out = procs::run_bounded("inspector read", &mut cmd, b"", Duration::from_secs(60))?;
            println!("{}", out.stdout);
        }
        None => println!(
            "  The [inspector] lines are what an eavesdropper on loopback sees; when the lab ends \
             the capture is in {} (`inspector read` it).",
            capture.display()
        ),
    }
    Ok(())
}

fn extract(tools: &Tools, capture: &Path, dir: &Path) -> Result<(), LabError> {
    let mut cmd = Command::new(&tools.inspector);
    cmd.arg("read").arg(capture).arg("--extract").arg(dir);
    procs::run_bounded(
        "inspector read --extract",
        &mut cmd,
        b"",
        Duration::from_secs(60),
    )?;
    Ok(())
}

/// Waits for Enter; false when the student types q or standard input ends.
fn wait_for_student(k: usize, steps: usize) -> bool {
    // A line of its own: what the inspector finds meanwhile is printed below it, not after it.
    println!("[step {k} of {steps}: waiting for you · Enter: next step · q: quit]");
    let _ = std::io::stdout().flush();
    let mut line = String::new();
    match std::io::stdin().lock().read_line(&mut line) {
        Ok(0) | Err(_) => false,
        Ok(_) => !line.trim().eq_ignore_ascii_case("q"),
    }
}
