//! A lab's stage: its servers running on loopback in a temporary folder, and the scripted client.

use crate::error::LabError;
use crate::lab::{ClientRun, Lab};
use crate::procs::{self, Guard, WorkDir};
use crate::seed::Secrets;
use crate::tools::Tools;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// How long a server may take to say where it listens.
const START_LIMIT: Duration = Duration::from_secs(30);
/// How long one scripted client run may take.
const CLIENT_LIMIT: Duration = Duration::from_secs(60);

/// One running `ftp-server`.
pub struct Server {
    /// What the student calls it.
    pub label: &'static str,
    /// Its port.
    pub port: u16,
    /// The lab user's root folder.
    pub root: PathBuf,
    /// Its log (stderr).
    pub log: PathBuf,
    /// The SHA-256 fingerprint of its demo certificate (`SHA256:AB:…`, as `init` prints it),
    /// for labs with FTPS.
    pub fingerprint: Option<String>,
    /// Where it writes its TLS key log (`--tls-keylog`), for labs with FTPS.
    pub keylog: Option<PathBuf>,
    _guard: Guard,
}

/// Servers and folders of one lab run; everything stops when dropped.
pub struct Stage {
    /// Address the servers listen on (127.0.0.1; 127.0.0.3N when recording captures).
    pub host: String,
    /// The servers, in the lab's order.
    pub servers: Vec<Server>,
    /// Where the client's downloads land.
    pub downloads: PathBuf,
    /// The third party of lab 4's bounce, listening on 127.0.0.3.
    pub third_party: Option<ThirdParty>,
    /// Whether the echo of a client run hides the password (lab 4 finds it).
    pub secret_password: bool,
    // Dropped last: the servers first.
    work: WorkDir,
}

/// A listener on another loopback address than the client's: the "third host" a bounce attack
/// makes the FTP server connect to. It reads what arrives and says so, without its contents.
pub struct ThirdParty {
    /// Where it listens.
    pub addr: std::net::SocketAddr,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    arrived: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl ThirdParty {
    /// Listens on `ip` port 0; `announce` prints a line when a connection arrives.
    pub fn start(ip: &str, announce: bool) -> Result<Self, LabError> {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
        let listener = std::net::TcpListener::bind((ip, 0)).map_err(LabError::io(format!(
            "cannot listen on {ip} for the bounce lab's third party (Linux routes all of \
             127.0.0.0/8 to loopback; other systems may need `ifconfig lo0 alias {ip}`)"
        )))?;
        let addr = listener
            .local_addr()
            .map_err(LabError::io("cannot read the third party's address"))?;
        listener
            .set_nonblocking(true)
            .map_err(LabError::io("cannot set up the third party's listener"))?;
        let stop = Arc::new(AtomicBool::new(false));
        let arrived = Arc::new(AtomicUsize::new(0));
        let (stop2, arrived2) = (stop.clone(), arrived.clone());
        std::thread::spawn(move || {
            while !stop2.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((mut conn, _)) => {
                        arrived2.fetch_add(1, Ordering::Relaxed);
                        if announce {
                            println!(
                                "  [third party {addr}] a connection arrived, sent by the FTP server"
                            );
                        }
                        let _ = conn.set_nonblocking(false);
                        let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
                        std::thread::spawn(move || {
                            let _ = std::io::copy(&mut conn, &mut std::io::sink());
                        });
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        });
        Ok(Self {
            addr,
            stop,
            arrived,
        })
    }

    /// Connections that arrived so far.
    pub fn arrived(&self) -> usize {
        self.arrived.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The PORT argument naming it: `h1,h2,h3,h4,p1,p2`.
    pub fn port_argument(&self) -> String {
        let ip = self.addr.ip().to_string().replace('.', ",");
        let p = self.addr.port();
        format!("{ip},{},{}", p / 256, p % 256)
    }
}

impl Drop for ThirdParty {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

impl Stage {
    /// Starts `lab`'s servers on `host` port 0 with the lab user and files of `secrets`. With
    /// `keep`, downloads go there (the student's work folder) instead of the temporary folder.
    /// For a lab with FTPS the servers load the demo certificate `init` made, and the first
    /// writes its TLS key log to `keylog`.
    pub fn start(
        tools: &Tools,
        lab: &Lab,
        secrets: &Secrets,
        host: &str,
        keep: Option<&Path>,
        keylog: Option<&Path>,
    ) -> Result<Self, LabError> {
        let work = WorkDir::new(&format!("lab{}", lab.number))?;
        let downloads = keep
            .map(Path::to_path_buf)
            .unwrap_or_else(|| work.path().to_path_buf())
            .join("downloads");
        fs::create_dir_all(&downloads).map_err(LabError::io(format!(
            "cannot create {}",
            downloads.display()
        )))?;
        let mut servers = Vec::new();
        for (i, spec) in (lab.servers)(secrets).into_iter().enumerate() {
            let dir = work.path().join(format!("server{}", i + 1));
            let (root, fingerprint) = prepare(tools, &dir, secrets)?;
            // With `keep` the log stays after the lab: the last steps point to it.
            let log = keep
                .unwrap_or(work.path())
                .join(format!("server{}.log", i + 1));
            let mut cmd = Command::new(&tools.server);
            cmd.arg("--db")
                .arg(db_url(&dir))
                .arg("serve")
                .arg("--listen")
                .arg(format!("{host}:0"))
                .args(&spec.args);
            let keylog = keylog.filter(|_| lab.tls && i == 0).map(Path::to_path_buf);
            if lab.tls {
                // The demo certificate `init --demo` made next to the files (README, FTPS).
                let tls = dir.join("files").join("tls");
                cmd.arg("--tls-cert")
                    .arg(tls.join("cert.pem"))
                    .arg("--tls-key")
                    .arg(tls.join("key.pem"));
                if let Some(k) = &keylog {
                    cmd.arg("--tls-keylog").arg(k);
                }
            }
            if !spec.args.iter().any(|a| a == "--login-failure-delay-ms") {
                // Labs show failed logins; the default 1 s pause only makes them wait.
                cmd.args(["--login-failure-delay-ms", "0"]);
            }
            cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(
                fs::File::create(&log)
                    .map_err(LabError::io(format!("cannot create {}", log.display())))?,
            );
            let mut guard = Guard::spawn("ftp-server", &mut cmd)?;
            let out = guard
                .take_stdout()
                .ok_or(LabError::Missing("ftp-server's output is piped"))?;
            let port = procs::wait_line(&procs::lines(out), START_LIMIT, "ftp-server", |l| {
                l.strip_prefix("listening on ftp://")
                    .and_then(|a| a.rsplit(':').next())
                    .and_then(|p| p.trim().parse::<u16>().ok())
            })
            .map_err(|e| {
                let text = fs::read_to_string(&log).unwrap_or_default();
                LabError::step(format!(
                    "ftp-server did not start; it said:\n{}",
                    text.trim()
                ))(e)
            })?;
            servers.push(Server {
                label: spec.label,
                port,
                root,
                log,
                fingerprint: fingerprint.filter(|_| lab.tls),
                keylog,
                _guard: guard,
            });
        }
        let third_party = if lab.third_party {
            Some(ThirdParty::start(
                crate::lab::THIRD_PARTY_IP,
                keep.is_some(),
            )?)
        } else {
            None
        };
        Ok(Self {
            host: host.to_string(),
            servers,
            downloads,
            third_party,
            secret_password: lab.secret_password,
            work,
        })
    }

    /// The temporary folder.
    pub fn work(&self) -> &Path {
        self.work.path()
    }

    /// The `-c` commands of a run with `{{bounce}}` filled in (the third party's address).
    pub fn commands(&self, run: &ClientRun) -> String {
        let bounce = self
            .third_party
            .as_ref()
            .map(ThirdParty::port_argument)
            .unwrap_or_default();
        run.commands.replace("{{bounce}}", &bounce)
    }

    /// Runs one scripted client session. With `echo` it prints the command line (the password
    /// hidden where the lab finds it) and whether the session ended as the lab expects, never
    /// the replies: they are what the questions ask.
    pub fn run_client(
        &self,
        tools: &Tools,
        secrets: &Secrets,
        run: &ClientRun,
        echo: bool,
    ) -> Result<bool, LabError> {
        let server = self
            .servers
            .get(run.server)
            .ok_or(LabError::Missing("the lab names a server it did not start"))?;
        let user = run.user.unwrap_or(&secrets.user);
        let commands = self.commands(run);
        // `{{fingerprint}}` in the options is the server's certificate fingerprint (lab 5).
        let args: Vec<String> = run
            .args
            .iter()
            .map(|a| {
                a.replace(
                    "{{fingerprint}}",
                    server.fingerprint.as_deref().unwrap_or(""),
                )
            })
            .collect();
        let mut cmd = Command::new(&tools.client);
        cmd.current_dir(&self.downloads)
            .args(["-u", user, "--password-stdin", "--json", "--no-progress"])
            .args(&args)
            .args(["-c", &commands])
            .arg(&self.host)
            .arg(server.port.to_string());
        if echo {
            let shown = if self.secret_password && run.user.is_none() {
                "\"$p\"".to_string()
            } else {
                run.password.clone()
            };
            println!(
                "  $ echo {shown} | ftp-client -u {user} --password-stdin {}-c '{commands}' {} {} >/dev/null",
                args.iter().map(|a| format!("{a} ")).collect::<String>(),
                self.host,
                server.port
            );
        }
        let input = format!("{}\n", run.password);
        let out = procs::run_bounded("ftp-client", &mut cmd, input.as_bytes(), CLIENT_LIMIT)?;
        if out.status.is_none() {
            return Err(LabError::Unfinished {
                what: "ftp-client".into(),
                limit: CLIENT_LIMIT,
            });
        }
        let ok = out.success() == run.expect_ok;
        if echo {
            println!(
                "    (the client {})",
                if out.success() {
                    "ended: every command succeeded"
                } else {
                    "stopped: the server refused something"
                }
            );
        }
        if !ok {
            eprintln!(
                "  ✗ the client should have {} but did not:\n{}",
                if run.expect_ok { "succeeded" } else { "failed" },
                out.stderr.trim()
            );
        }
        Ok(ok)
    }
}

fn db_url(dir: &Path) -> String {
    format!("sqlite://{}", dir.join("users.db").display())
}

/// Creates the demo users (and the demo certificate), the lab user of a seed, and the lab's
/// files; returns the lab user's root and the certificate's fingerprint as `init` printed it.
pub(crate) fn prepare(
    tools: &Tools,
    dir: &Path,
    secrets: &Secrets,
) -> Result<(PathBuf, Option<String>), LabError> {
    let base = dir.join("files");
    fs::create_dir_all(dir).map_err(LabError::io(format!("cannot create {}", dir.display())))?;
    let mut init = Command::new(&tools.server);
    init.arg("--db")
        .arg(db_url(dir))
        .args(["init", "--demo"])
        .arg(&base);
    let said = setup_step(&mut init, b"", "ftp-server init --demo")?;
    let fingerprint = said
        .lines()
        .find_map(|l| l.trim().strip_prefix("fingerprint:"))
        .map(|f| f.trim().to_string());
    let root = if !secrets.is_demo() {
        let root = base.join("lab");
        fs::create_dir_all(&root)
            .map_err(LabError::io(format!("cannot create {}", root.display())))?;
        let mut add = Command::new(&tools.server);
        add.arg("--db")
            .arg(db_url(dir))
            .args(["user", "add", &secrets.user, "--root"])
            .arg(&root)
            .arg("--password-stdin");
        setup_step(
            &mut add,
            format!("{}\n", secrets.password).as_bytes(),
            "ftp-server user add",
        )?;
        root
    } else {
        base.join("root1")
    };
    for (name, contents) in [("notes.txt", &secrets.notes), ("photo.bin", &secrets.photo)] {
        let file = root.join(name);
        fs::write(&file, contents)
            .map_err(LabError::io(format!("cannot write {}", file.display())))?;
    }
    Ok((root, fingerprint))
}

/// Runs a setup command; returns what it printed on stdout.
fn setup_step(cmd: &mut Command, input: &[u8], what: &str) -> Result<String, LabError> {
    let out = procs::run_bounded(what, cmd, input, START_LIMIT)?;
    if !out.success() {
        return Err(LabError::Failed {
            what: what.to_owned(),
            stderr: out.stderr.trim().to_owned(),
        });
    }
    Ok(out.stdout)
}

/// sha256 of every file in `dir`, as (name, sha256), sorted by name.
pub fn hash_files(dir: &Path) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let bytes = fs::read(e.path()).ok()?;
            Some((
                e.file_name().to_string_lossy().into_owned(),
                Secrets::sha256(&bytes),
            ))
        })
        .collect();
    out.sort();
    out
}
