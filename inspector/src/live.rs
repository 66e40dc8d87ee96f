//! `inspector live` and `inspector interfaces`: frames from a network interface into the same
//! pipeline as `inspector read`.

use crate::event::Event;
use crate::exit_code::{EXIT_ERROR, EXIT_OK, EXIT_SKIPPED};
use crate::extract;
use crate::report::{json, table};
use crate::source::{LiveConfig, LiveError, LiveSource, LiveStats, list_interfaces};
use crate::{Analysis, Options, analyze_with};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Arguments of `inspector live`.
#[derive(Debug, Clone, clap::Args)]
pub struct LiveArgs {
    /// Interface to capture on (`inspector interfaces` lists them).
    #[arg(long, default_value = "lo")]
    pub iface: String,
    /// Also treat this TCP port as an FTP control port (21 always is); repeatable.
    #[arg(long = "port", value_name = "PORT")]
    pub ports: Vec<u16>,
    /// JSON lines on stdout, one object per event (schema: inspector/JSON.md).
    #[arg(long)]
    pub json: bool,
    /// Stop after S seconds (Ctrl-C stops too).
    #[arg(long, value_name = "S")]
    pub duration: Option<f64>,
    /// Stop after N frames kept.
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,
    /// Save the kept frames as pcapng (re-read with `inspector read`, open in Wireshark).
    #[arg(long, value_name = "FILE")]
    pub write: Option<PathBuf>,
    /// Keep every frame, not only those on FTP ports (finds FTP on ports nobody named).
    #[arg(long)]
    pub all_traffic: bool,
    /// Write every transferred file into DIR (names made safe; nothing escapes DIR).
    #[arg(long, value_name = "DIR")]
    pub extract: Option<PathBuf>,
    /// No colours even on a terminal (NO_COLOR is respected too).
    #[arg(long)]
    pub no_color: bool,
    /// Socket receive buffer in bytes: what the kernel may queue while the inspector lags.
    #[arg(long, value_name = "BYTES", default_value_t = LiveConfig::default().recv_buffer)]
    pub buffer: usize,
    /// Out-of-order bytes kept per direction of a TCP connection before a hole is a gap.
    #[arg(long, value_name = "BYTES", default_value_t = 4 << 20)]
    pub stream_cap: usize,
    /// When the capture stops, draw each session as a ladder diagram before the tables.
    #[arg(long)]
    pub flow: bool,
    /// Draw `--flow` in plain ASCII (by default it follows the locale: LC_ALL, LC_CTYPE, LANG).
    #[arg(long)]
    pub ascii: bool,
}

/// Runs `inspector live`; returns the exit code (that of `read`, plus [`EXIT_SKIPPED`] when
/// the kernel dropped frames).
pub fn run_live(args: &LiveArgs, color: bool, out: &mut impl Write, err: &mut impl Write) -> u8 {
    let extract = match extract::sink_for(args.extract.as_deref()) {
        Ok(extract) => extract,
        Err(message) => {
            let _ = writeln!(err, "{message}");
            return EXIT_ERROR;
        }
    };
    let config = LiveConfig {
        iface: args.iface.clone(),
        ports: args.ports.clone(),
        all_traffic: args.all_traffic,
        recv_buffer: args.buffer,
        duration: args
            .duration
            .and_then(|s| Duration::try_from_secs_f64(s).ok()),
        count: args.count,
        promiscuous: false,
    };
    let mut live = match open(&config, args) {
        Ok(live) => live,
        // The privilege message starts with "inspector needs": no second prefix.
        Err(e @ LiveError::NoPrivilege { .. }) => {
            let _ = writeln!(err, "{e}");
            return EXIT_ERROR;
        }
        Err(e) => {
            let _ = writeln!(err, "inspector: {e}");
            return EXIT_ERROR;
        }
    };
    if let Err(e) = stop_on_signals(live.stop_handle(), live.stop_now_handle()) {
        let _ = writeln!(err, "inspector: cannot catch Ctrl-C: {e}");
    }
    let _ = writeln!(
        err,
        "inspector: capturing on {} (FTP ports 21{}{}); Ctrl-C stops",
        args.iface,
        args.ports
            .iter()
            .map(|p| format!(", {p}"))
            .collect::<String>(),
        if args.all_traffic {
            "; keeping all traffic"
        } else {
            " and the data ports they announce"
        }
    );
    let options = Options {
        ports: args.ports.clone(),
        stream_cap: args.stream_cap,
        ..Options::default()
    };
    // Each event is printed as it happens (what a student watches); the summary comes at the end.
    let mut streamed = Ok(());
    // Server ports whose Decode As hint was given: once per port, not per session.
    let mut hinted: Vec<u16> = Vec::new();
    // A live capture is read once: the data connections' SYN/FIN for `--flow` are noted on the
    // way.
    let mut tee = crate::ladder::connections::Tee {
        inner: &mut live,
        collector: crate::ladder::connections::Collector::default(),
    };
    let analysis = analyze_with(&mut tee, &options, extract, &mut |event| {
        if streamed.is_ok() {
            streamed = if args.json {
                json::write_event(out, event)
            } else {
                let hint = decode_as_port(event)
                    .filter(|p| !hinted.contains(p))
                    .inspect(|p| hinted.push(*p));
                match live_line(event) {
                    Some(line) => writeln!(out, "{line}"),
                    None => Ok(()),
                }
                .and_then(|()| match hint {
                    Some(port) => writeln!(out, "    {}", crate::report::decode_as_hint(port)),
                    None => Ok(()),
                })
            }
            .and_then(|()| out.flush());
        }
    });
    let conns = tee.collector.finish();
    let stats = live.stats();
    let written = streamed.and_then(|()| {
        if args.json {
            // The rest: what needs the whole capture, then the capture statistics.
            analysis
                .events
                .iter()
                .filter(|e| {
                    matches!(
                        e,
                        Event::Finding(_) | Event::Stitched(_) | Event::Warning(_)
                    )
                })
                .try_for_each(|e| json::write_event(out, e))?;
            writeln!(out, "{}", stats_json(&stats, &analysis))
        } else {
            writeln!(out)?;
            if args.flow {
                let ladders = crate::ladder::build(&analysis.events, &conns, analysis.first_time);
                let style = crate::report::ladder_text::TextStyle {
                    color,
                    ascii: args.ascii
                        || !crate::report::ladder_text::locale_is_utf8(|k| std::env::var(k).ok()),
                    width: 100,
                };
                crate::report::ladder_text::write(out, &args.iface, &ladders, style)?;
                writeln!(out)?;
            }
            table::write(
                out,
                &analysis,
                table::Style {
                    color,
                    group_findings: true,
                },
            )
        }
    });
    if let Err(e) = written {
        let _ = writeln!(err, "inspector: cannot write the report: {e}");
        return EXIT_ERROR;
    }
    let _ = out.flush();
    for e in &analysis.events {
        if let Event::Warning(w) = e {
            let _ = writeln!(err, "inspector: warning: {}", w.message);
        }
    }
    let _ = writeln!(err, "inspector: {}", summary(&stats, &analysis));
    if let Some(path) = &args.write {
        let _ = writeln!(err, "inspector: capture saved to {}", path.display());
    }
    if analysis.something_skipped() || stats.kernel_drops.is_some_and(|d| d > 0) {
        EXIT_SKIPPED
    } else {
        EXIT_OK
    }
}

/// The first Ctrl-C (or SIGTERM) stops the capture after the frames still queued in the kernel
/// are read (after a fast transfer that can take seconds); the second stops it at once.
fn stop_on_signals(stop: Arc<AtomicBool>, stop_now: Arc<AtomicBool>) -> std::io::Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])?;
    std::thread::Builder::new()
        .name("signals".to_owned())
        .spawn(move || {
            for _ in signals.forever() {
                if stop.swap(true, Ordering::Relaxed) {
                    stop_now.store(true, Ordering::Relaxed);
                    return;
                }
                eprintln!(
                    "inspector: stopping after the frames already captured are read \
                     (Ctrl-C again to stop at once)"
                );
            }
        })?;
    Ok(())
}

fn open(config: &LiveConfig, args: &LiveArgs) -> Result<LiveSource, LiveError> {
    let mut live = LiveSource::open(config)?;
    if let Some(path) = &args.write {
        live.write_to(path)?;
    }
    Ok(live)
}

/// The server port of a session Wireshark will not decode as FTP by itself (not port 21).
fn decode_as_port(event: &Event) -> Option<u16> {
    match event {
        Event::Session(s) if s.decode_as.is_some() => {
            s.server.rsplit_once(':').and_then(|(_, p)| p.parse().ok())
        }
        _ => None,
    }
}

/// One line of the live log for an event, or `None` for events only the summary shows.
fn live_line(event: &Event) -> Option<String> {
    Some(match event {
        Event::Session(e) => format!(
            "[frame {}] session {}: {} → {} (FTP found by {})",
            e.frame, e.session, e.client, e.server, e.found_by
        ),
        Event::Command(e) => match &e.arg {
            Some(arg) => format!(
                "[frame {}] session {} C→S {} {arg}",
                e.frame, e.session, e.command
            ),
            None => format!(
                "[frame {}] session {} C→S {}",
                e.frame, e.session, e.command
            ),
        },
        Event::Reply(e) => {
            let first = e.text.lines().next().unwrap_or_default();
            format!(
                "[frame {}] session {} S→C {} {first}",
                e.frame, e.session, e.code
            )
        }
        Event::Credential(e) => format!(
            "[frame {}] session {} CREDENTIALS {}: user {:?} password {:?} ({})",
            e.frame,
            e.session,
            if e.decrypted_with_keylog {
                "(decrypted with key log)"
            } else {
                "IN CLEAR TEXT"
            },
            e.user,
            e.password.as_deref().unwrap_or(""),
            match e.accepted {
                Some(true) => "accepted",
                Some(false) => "refused",
                None => "no reply seen",
            }
        ),
        Event::Tls(e) => format!(
            "[frame {}] session {} switched to TLS: unreadable from here",
            e.frame, e.session
        ),
        Event::TlsHandshake(e) => format!(
            "[frame {}] session {} {} {}{}",
            e.frame,
            e.session,
            e.version.unwrap_or("TLS"),
            e.cipher_suite
                .as_deref()
                .unwrap_or("(cipher suite not seen)"),
            e.sni
                .as_deref()
                .map(|s| format!(", SNI {s}"))
                .unwrap_or_default()
        ),
        Event::Transfer(e) if e.refused => format!(
            "[frame {}] {} of {} refused: {}",
            e.frame,
            e.direction,
            e.name.as_deref().unwrap_or("(unknown name)"),
            e.reply.unwrap_or_default()
        ),
        Event::Transfer(e) => format!(
            "[frame {}] transfer {} {}: {} bytes, sha256 {}, {}",
            e.frame,
            e.command.as_deref().unwrap_or("(unknown command)"),
            e.name.as_deref().unwrap_or("(unknown name)"),
            e.bytes,
            e.sha256.as_deref().unwrap_or("-"),
            if e.complete { "complete" } else { "INCOMPLETE" }
        ),
        Event::Stitched(_) | Event::Finding(_) | Event::Warning(_) => return None,
    })
}

/// The capture statistics as one JSON object (`"kind":"capture_stats"`, frame 0).
fn stats_json(stats: &LiveStats, analysis: &Analysis) -> String {
    /// Field order is the schema's: `kind` and `frame` first.
    #[derive(serde::Serialize)]
    struct CaptureStats {
        kind: &'static str,
        frame: u64,
        frames_seen: u64,
        frames_kept: u64,
        bytes_seen: u64,
        bytes_kept: u64,
        kernel_drops: Option<u64>,
        gaps: u64,
        gap_bytes: u64,
    }
    let (gaps, gap_bytes) = gap_totals(analysis);
    let line = CaptureStats {
        kind: "capture_stats",
        frame: 0,
        frames_seen: stats.frames_seen,
        frames_kept: stats.frames_kept,
        bytes_seen: stats.bytes_seen,
        bytes_kept: stats.bytes_kept,
        kernel_drops: stats.kernel_drops,
        gaps,
        gap_bytes,
    };
    serde_json::to_string(&line).unwrap_or_default()
}

/// Gaps in transfers: how many, and how many bytes they miss.
fn gap_totals(analysis: &Analysis) -> (u64, u64) {
    analysis
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Transfer(t) => Some(&t.gaps),
            _ => None,
        })
        .flatten()
        .fold((0u64, 0u64), |(n, b), g| (n + 1, b + g[1]))
}

/// The capture statistics line: frames seen and kept, bytes, kernel drops, reassembly gaps.
pub fn summary(stats: &LiveStats, analysis: &Analysis) -> String {
    let (gaps, gap_bytes) = gap_totals(analysis);
    let drops = match stats.kernel_drops {
        Some(d) => d.to_string(),
        None => "unknown".to_owned(),
    };
    format!(
        "{} frames seen, {} kept ({} of {} bytes), {} dropped by the kernel, {} gaps ({} bytes) \
         in transfers",
        stats.frames_seen,
        stats.frames_kept,
        stats.bytes_kept,
        stats.bytes_seen,
        drops,
        gaps,
        gap_bytes
    )
}

/// Runs `inspector interfaces`.
pub fn run_interfaces(json: bool, out: &mut impl Write) -> u8 {
    let interfaces = list_interfaces();
    let written = interfaces.iter().try_for_each(|i| {
        if json {
            serde_json::to_writer(&mut *out, i).map_err(std::io::Error::other)?;
            writeln!(out)
        } else {
            let addresses: Vec<String> = i.addresses.iter().map(ToString::to_string).collect();
            writeln!(
                out,
                "{:<16} {:<4} {:<8} {}{}",
                i.name,
                if i.up { "up" } else { "down" },
                i.link_type,
                addresses.join(" "),
                if i.loopback { "  (loopback)" } else { "" }
            )
        }
    });
    match written.and_then(|()| out.flush()) {
        Ok(()) => EXIT_OK,
        Err(_) => EXIT_ERROR,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::TransferEvent;

    #[test]
    fn a_refused_download_is_a_refused_line_not_a_transfer() {
        let event = Event::Transfer(Box::new(TransferEvent {
            session: Some(2),
            frame: 33,
            command: Some("RETR".into()),
            name: Some("missing.txt".into()),
            direction: "download",
            guessed: false,
            bytes: 0,
            sha256: None,
            complete: false,
            incomplete_reason: Some("refused by the server (550)".into()),
            expected_bytes: None,
            rest: None,
            gaps: Vec::new(),
            mode: Some("passive"),
            data_frames: None,
            reply: Some(550),
            extracted: None,
            refused: true,
            conflicting_frames: Vec::new(),
            tls: None,
        }));
        assert_eq!(
            live_line(&event).as_deref(),
            Some("[frame 33] download of missing.txt refused: 550")
        );
    }
}
