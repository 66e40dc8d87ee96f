//! A lab's stage: its servers running on loopback in a temporary folder, and the scripted client.

use crate::error::LabError;
use crate::lab::{ClientRun, Lab};
use crate::procs::{self, Guard, WorkDir};
use crate::seed::Secrets;
use crate::tools::Tools;
use serde_json::Value;
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
    // Dropped last: the servers first.
    work: WorkDir,
}

impl Stage {
    /// Starts `lab`'s servers on `host` port 0 with the lab user and files of `secrets`.
    pub fn start(
        tools: &Tools,
        lab: &Lab,
        secrets: &Secrets,
        host: &str,
    ) -> Result<Self, LabError> {
        let work = WorkDir::new(&format!("lab{}", lab.number))?;
        let downloads = work.path().join("downloads");
        fs::create_dir_all(&downloads).map_err(LabError::io(format!(
            "cannot create {}",
            downloads.display()
        )))?;
        let mut servers = Vec::new();
        for (i, spec) in (lab.servers)(secrets).into_iter().enumerate() {
            let dir = work.path().join(format!("server{}", i + 1));
            let root = prepare(tools, &dir, secrets)?;
            let log = work.path().join(format!("server{}.log", i + 1));
            let mut cmd = Command::new(&tools.server);
            cmd.arg("--db")
                .arg(db_url(&dir))
                .arg("serve")
                .arg("--listen")
                .arg(format!("{host}:0"))
                .args(&spec.args);
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
                _guard: guard,
            });
        }
        Ok(Self {
            host: host.to_string(),
            servers,
            downloads,
            work,
        })
    }

    /// The temporary folder.
    pub fn work(&self) -> &Path {
        self.work.path()
    }

    /// Runs one scripted client session; prints what the student would see when `echo`.
    /// Returns whether it ended as the lab expects.
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
        let mut cmd = Command::new(&tools.client);
        cmd.current_dir(&self.downloads)
            .args([
                "-u",
                &secrets.user,
                "--password-stdin",
                "--json",
                "--no-progress",
            ])
            .args(&run.args)
            .args(["-c", &run.commands])
            .arg(&self.host)
            .arg(server.port.to_string());
        if echo {
            println!(
                "  $ echo {} | ftp-client -u {} --password-stdin {}-c '{}' {} {}",
                run.password,
                secrets.user,
                run.args.iter().map(|a| format!("{a} ")).collect::<String>(),
                run.commands,
                self.host,
                server.port
            );
        }
        let input = format!("{}\n", run.password);
        let out = procs::run_bounded("ftp-client", &mut cmd, input.as_bytes(), CLIENT_LIMIT)?;
        if echo {
            for line in out.stdout.lines() {
                if let Ok(v) = serde_json::from_str::<Value>(line) {
                    println!("    {}", describe_result(&v));
                }
            }
        }
        if out.status.is_none() {
            return Err(LabError::Unfinished {
                what: "ftp-client".into(),
                limit: CLIENT_LIMIT,
            });
        }
        let ok = out.success() == run.expect_ok;
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

fn describe_result(v: &Value) -> String {
    let command = v.get("command").and_then(Value::as_str).unwrap_or("?");
    let reply = v.get("reply").map(|r| {
        format!(
            "{} {}",
            r.get("code").and_then(Value::as_i64).unwrap_or(0),
            r.get("text").and_then(Value::as_str).unwrap_or("")
        )
    });
    match reply {
        Some(r) => format!("ftp> {command}  →  {r}"),
        None => format!("ftp> {command}"),
    }
}

fn db_url(dir: &Path) -> String {
    format!("sqlite://{}", dir.join("users.db").display())
}

/// Creates the demo users, the lab user of a seed, and the lab's files; returns the lab user's
/// root.
fn prepare(tools: &Tools, dir: &Path, secrets: &Secrets) -> Result<PathBuf, LabError> {
    let base = dir.join("files");
    fs::create_dir_all(dir).map_err(LabError::io(format!("cannot create {}", dir.display())))?;
    let mut init = Command::new(&tools.server);
    init.arg("--db")
        .arg(db_url(dir))
        .args(["init", "--demo"])
        .arg(&base);
    setup_step(&mut init, b"", "ftp-server init --demo")?;
    let root = if secrets.seed.is_some() {
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
    Ok(root)
}

fn setup_step(cmd: &mut Command, input: &[u8], what: &str) -> Result<(), LabError> {
    let out = procs::run_bounded(what, cmd, input, START_LIMIT)?;
    if !out.success() {
        return Err(LabError::Failed {
            what: what.to_owned(),
            stderr: out.stderr.trim().to_owned(),
        });
    }
    Ok(())
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
