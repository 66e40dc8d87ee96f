//! `ftplab-lab lab N`: starts the lab's pieces, prints its steps (from `labs/labN.md`), waits for
//! the student or drives the scripted client (`--auto`), and shows what the inspector found.

use crate::error::LabError;
use crate::events;
use crate::lab::{self, Action, Seen};
use crate::live::{self, LiveInspector};
use crate::packets::{self, Packets};
use crate::procs;
use crate::seed::Secrets;
use crate::stage::{self, Stage};
use crate::text::{self, Section};
use crate::tools::Tools;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Options of `ftplab-lab lab`.
#[derive(Debug, Clone, clap::Args)]
pub struct LabArgs {
    /// The lab: 0-6 (or lab0-lab6).
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
    /// Practice credentials and file contents: any number gives its own (not graded).
    #[arg(long, conflicts_with = "student")]
    pub seed: Option<u64>,
    /// Your token from your teacher (graded work): saved in my-work/token on first use, so later
    /// labs need it no more.
    #[arg(long, value_name = "TOKEN")]
    pub student: Option<String>,
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

/// The command that resumes a lab at `step` with every option given but `--step` and `--auto`.
pub fn resume_command(args: &LabArgs, step: usize) -> String {
    let mut out = format!("just lab{} --step {step}", args.lab);
    if args.offline {
        out.push_str(" --offline");
    }
    if let Some(seed) = args.seed {
        out.push_str(&format!(" --seed {seed}"));
    }
    if let Some(c) = &args.capture {
        out.push_str(&format!(" --capture {}", c.display()));
    }
    out
}

/// Runs a lab; false when (with `--auto`) something the student should see did not appear.
pub fn run(args: &LabArgs) -> Result<bool, LabError> {
    let n = args.lab;
    let lab = lab::get(n);
    let lab_text = text::parse(text::markdown(n));
    let steps = lab_text.steps.len();
    if args.step == 0 || args.step > steps {
        return Err(LabError::NoSuchStep { lab: n, steps });
    }
    let secrets = match args.seed {
        Some(_) => Secrets::new(args.seed),
        None => match crate::work::student_token(args.student.as_deref())? {
            Some(token) => Secrets::for_student(&token, n),
            None => Secrets::new(None),
        },
    };
    if n == crate::netlab::LAB && !args.offline {
        return crate::netlab::run(args, &secrets);
    }
    let offline_capture = if args.offline {
        let capture = match (&args.capture, secrets.is_demo()) {
            (Some(c), _) => c.clone(),
            (None, true) => shipped_capture(n),
            (None, false) => return Err(LabError::SeedWithoutCapture),
        };
        if !capture.is_file() {
            return Err(LabError::NoCapture { path: capture });
        }
        Some(capture)
    } else {
        None
    };
    let tools = Tools::locate()?;
    let work_dir = crate::work::dir(n);
    std::fs::create_dir_all(&work_dir).map_err(LabError::io(format!(
        "cannot create your work folder {}",
        work_dir.display()
    )))?;
    // Lab 7 is a forensic case: live, the runner plays the incident once for this seed and the
    // student reads the capture it leaves, as offline.
    let offline_capture = match offline_capture {
        None if n == lab::CAPSTONE => {
            let capture = crate::work::next_capture(n);
            println!(
                "Playing the incident on loopback and capturing it into {} (a few seconds)…",
                crate::work::shown(&capture)
            );
            crate::scene::record(&tools, &secrets, &capture)?;
            Some(capture)
        }
        c => c,
    };
    if n == lab::CAPSTONE {
        // The report is written during the steps: made now, naming the case's capture.
        let capture = offline_capture.as_deref();
        crate::work::ensure(n, capture, args.seed, secrets.student.as_deref())?;
    }
    // What this run leaves for later: next to its capture (live) or in `offline-files/`.
    let capture = match &offline_capture {
        Some(c) => c.clone(),
        None => crate::work::next_capture(n),
    };
    let keep = match &offline_capture {
        Some(_) => work_dir.join("offline-files"),
        None => crate::work::files_for(&capture),
    };
    let extract_dir = keep.join("extracted");
    std::fs::create_dir_all(&extract_dir).map_err(LabError::io(format!(
        "cannot create {}",
        extract_dir.display()
    )))?;
    // FTPS (lab 5): live, the server writes its key log next to the student's capture.
    let keylog = crate::lab::keylog_for(&capture);
    let server_keylog = (lab.tls && offline_capture.is_none()).then_some(keylog.as_path());
    // FTPS hides the data ports from `inspector live`: it keeps all loopback traffic, and the
    // lab's server gets an address of its own whose frames alone are kept.
    let host = if lab.tls && offline_capture.is_none() {
        crate::lab::TLS_LAB_HOST
    } else {
        "127.0.0.1"
    };
    let stage = Stage::start(&tools, lab, &secrets, host, Some(&keep), server_keylog)?;
    let only_host = (lab.tls && offline_capture.is_none())
        .then(|| host.parse::<std::net::IpAddr>().ok())
        .flatten();
    let all_lo = stage.work().join("all-loopback.pcapng");
    let wordlist = keep.join("words.txt");
    // Lab 7 asks for the password its capture holds: no word list holding it.
    if n != lab::CAPSTONE {
        std::fs::write(&wordlist, secrets.words.join("\n") + "\n")
            .map_err(LabError::io(format!("cannot write {}", wordlist.display())))?;
    }
    // The originals, to compare with what the capture gives back after the lab has ended.
    if let Some(server) = stage.servers.first() {
        let originals = keep.join("originals");
        let _ = std::fs::create_dir_all(&originals);
        for name in ["notes.txt", "photo.bin"] {
            let _ = std::fs::copy(server.root.join(name), originals.join(name));
        }
    }

    let live = match &offline_capture {
        Some(_) => None,
        None => {
            let ports: Vec<u16> = stage.servers.iter().map(|s| s.port).collect();
            let extract = lab.extract.then_some(extract_dir.as_path());
            let write = if only_host.is_some() {
                all_lo.as_path()
            } else {
                capture.as_path()
            };
            match LiveInspector::start(&tools, &ports, write, extract, true, only_host) {
                Ok(l) => Some(l),
                Err(e) => {
                    let _ = std::fs::remove_file(&capture);
                    return Err(LabError::NoLiveCapture {
                        lab: n,
                        reason: e.to_string(),
                    });
                }
            }
        }
    };

    let mut vars = variables(&tools, &stage, &secrets, &capture, &keep, &wordlist, n);
    // The server's port in the capture: this run's server live, the recorded one offline.
    let capture_port = match &offline_capture {
        Some(c) => events::read_capture(&tools.inspector, c)
            .ok()
            .and_then(|ev| {
                ev.kind("session")
                    .find_map(|s| events::text(s, "server")?.rsplit(':').next()?.parse().ok())
            })
            .map(|p: u16| p.to_string())
            .unwrap_or_default(),
        None => stage
            .servers
            .first()
            .map(|s| s.port.to_string())
            .unwrap_or_default(),
    };
    vars.push(("capture_port", capture_port));
    println!("\n{}\n", lab_text.title);
    print_header(
        &stage,
        &secrets,
        lab,
        &capture,
        offline_capture.is_some(),
        &keep,
    );
    if args.step == 1 {
        print_sections(&lab_text.intro, &vars);
    }
    let mut all_ok = true;
    let mut stopped_at = None;
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
            observe(offline_capture.is_some(), &capture);
        }
        if !args.auto && k < steps && !crate::keys::wait_for_student(k, steps) {
            stopped_at = Some(k);
            break;
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
                packets: Packets::read(c)?,
                decrypted: lab.decrypted_events(&tools.inspector, c)?,
                arp: crate::packets::read_arp(c).unwrap_or_default(),
                client: crate::lab::client_packets(c),
            }
        }
        (None, Some(l)) => {
            let mut events = l.stop();
            if let Some(ip) = only_host {
                // Only the lab's address goes into the student's capture, and the events are
                // those of that capture (its frame numbers).
                packets::keep_host(&all_lo, &capture, ip)?;
                let _ = std::fs::remove_file(&all_lo);
                if capture.is_file() {
                    events = events::read_capture(&tools.inspector, &capture)?;
                }
            }
            let packets = Packets::read(&capture).unwrap_or_default();
            let size = std::fs::metadata(&capture).map_or(0, |m| m.len());
            // Only a file with no segment and hardly more than its headers is dropped.
            if packets.0.is_empty() && size < 4096 {
                // Nothing was captured: keep no empty file that looks like a capture.
                let _ = std::fs::remove_file(&capture);
                println!(
                    "\nYour capture had no packets, so it was not kept; earlier captures in {} are untouched.",
                    crate::work::shown(&work_dir)
                );
            } else {
                println!(
                    "\nYour capture is saved in {}.",
                    crate::work::shown(&capture)
                );
            }
            let decrypted = if packets.0.is_empty() {
                events::Events::default()
            } else {
                lab.decrypted_events(&tools.inspector, &capture)?
            };
            Seen {
                events,
                extracted: stage::hash_files(&extract_dir),
                packets,
                decrypted,
                arp: crate::packets::read_arp(&capture).unwrap_or_default(),
                client: crate::lab::client_packets(&capture),
            }
        }
        (None, None) => Seen::default(),
    };
    if let Some(k) = stopped_at {
        let mut resume = resume_command(args, k);
        if n == lab::CAPSTONE && !args.offline {
            // The case is played once: resuming reads its capture instead of a new incident.
            resume.push_str(&format!(
                " --offline --capture {}",
                crate::work::shown(&capture)
            ));
        }
        println!("Stopped at step {k}: `{resume}` resumes here.");
        return Ok(true);
    }
    println!("\n━━ What you should have seen ━━");
    for e in (lab.expect)(&seen, &secrets) {
        println!("  {} {}", if e.met { "✓" } else { "✗" }, e.what);
        all_ok &= e.met;
    }
    print_sections(&lab_text.outro, &vars);
    let named = if offline_capture.is_some() || !seen.packets.0.is_empty() {
        Some(capture.as_path())
    } else {
        None
    };
    let (answers, created) = crate::work::ensure(n, named, args.seed, secrets.student.as_deref())?;
    println!(
        "\nAnswer in {}{} (capture = \"{}\"{}), then `just check lab{n}`; `just hint lab{n} Q` gives hints.",
        crate::work::shown(&answers),
        if created {
            ", made now from the template"
        } else {
            ""
        },
        crate::work::shown(&capture),
        match (args.seed, &secrets.student) {
            (Some(s), _) => format!(", seed = {s}"),
            (None, Some(id)) => format!(", student = {id:?}"),
            (None, None) => String::new(),
        }
    );
    if args.auto && !all_ok {
        eprintln!("ftplab-lab: lab{n} --auto: something the student should see did not appear");
    }
    Ok(!args.auto || all_ok)
}

fn step_title(heading: &str) -> &str {
    heading.split_once(':').map_or(heading, |(_, t)| t.trim())
}

fn print_header(
    stage: &Stage,
    s: &Secrets,
    lab: &lab::Lab,
    capture: &Path,
    offline: bool,
    keep: &Path,
) {
    for server in &stage.servers {
        println!(
            "  {}: ftp://{}:{}  (log: {})",
            server.label,
            stage.host,
            server.port,
            server.log.display()
        );
    }
    if let Some(t) = &stage.third_party {
        println!(
            "  third party (a host the attacker wants to reach): {}",
            t.addr
        );
    }
    if lab.number == lab::CAPSTONE {
        // Which account was used is a question of the case.
    } else if lab.secret_password {
        println!(
            "  your account: {} (its password is what the word list has to find)",
            s.user
        );
    } else {
        println!("  your account: {} / {}", s.user, s.password);
    }
    if lab.number == lab::CAPSTONE {
        println!("  the capture of the case: {}", crate::work::shown(capture));
    } else if offline {
        println!("  offline: the inspector reads {}", capture.display());
    } else {
        println!(
            "  inspector: live on lo, saving {} (what it finds appears as [inspector] lines)",
            crate::work::shown(capture)
        );
    }
    println!(
        "  this run's files: {} (in your work folder, kept after the lab)",
        crate::work::shown(keep)
    );
    println!(
        "  temporary: {} (the servers' databases and files, removed when the lab ends)",
        stage.work().display()
    );
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
    keep: &Path,
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
    let third = stage.third_party.as_ref();
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
        ("bounce_user", crate::lab::BOUNCE_USER.to_string()),
        ("bounce_password", crate::lab::BOUNCE_PASSWORD.to_string()),
        ("capture", path(capture)),
        ("shipped_capture", path(&shipped_capture(n))),
        ("work", path(keep)),
        ("originals", path(&keep.join("originals"))),
        ("extracted", path(&keep.join("extracted"))),
        ("files", first.map(|s| path(&s.root)).unwrap_or_default()),
        ("log", first.map(|s| path(&s.log)).unwrap_or_default()),
        ("downloads", path(&stage.downloads)),
        ("wordlist", path(wordlist)),
        (
            "third_party",
            third.map(|t| t.addr.to_string()).unwrap_or_default(),
        ),
        (
            "bounce",
            third.map(|t| t.port_argument()).unwrap_or_default(),
        ),
        ("answers", crate::work::shown(&crate::work::answers_file(n))),
        ("keylog", path(&crate::lab::keylog_for(capture))),
        (
            "fingerprint",
            first
                .and_then(|s| s.fingerprint.clone())
                .unwrap_or_default(),
        ),
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

/// At the lab's observation step: where to look, not what is there (the questions ask it).
fn observe(offline: bool, capture: &Path) {
    if offline {
        println!(
            "  (offline: the commands above read {}; run them in a second terminal)",
            capture.display()
        );
    } else {
        println!(
            "  (the [inspector] lines above are what an eavesdropper on loopback saw; when the lab \
             ends the capture is in {})",
            crate::work::shown(capture)
        );
    }
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
