//! `inspector`: rebuilds FTP sessions, credentials and files from captures.

use clap::{Parser, Subcommand};
use std::io::IsTerminal;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "inspector",
    version,
    about = "What an eavesdropper learns from FTP: sessions, passwords and files rebuilt from .pcap/.pcapng captures"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Read capture files and report the FTP in them.
    Read(inspector::read::ReadArgs),
    /// Capture FTP from a network interface as it happens (needs CAP_NET_RAW), then report it
    /// like `read`.
    Live(inspector::live::LiveArgs),
    /// Show one frame layer by layer, as Wireshark's packet-details pane does: link, IP, TCP
    /// (sequence numbers absolute and relative), the FTP line or data, and a hex dump.
    Frame(inspector::packet_view::FrameArgs),
    /// List the network interfaces `live` can capture on.
    Interfaces {
        /// One JSON object per interface.
        #[arg(long)]
        json: bool,
    },
}

/// Colours only on a terminal, and never with `--no-color` or NO_COLOR.
fn use_color(no_color: bool) -> bool {
    !no_color
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && std::io::stdout().is_terminal()
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Cmd::Read(args) => {
            let color = use_color(args.no_color);
            // Block-buffered: stdout is line-buffered otherwise, one write per JSON line.
            let mut stdout = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
            let stderr = std::io::stderr();
            let code = inspector::read::read(&args, color, &mut stdout, &mut stderr.lock());
            ExitCode::from(code)
        }
        Cmd::Live(args) => {
            let color = use_color(args.no_color);
            // Line by line: a live log must show each event when it happens.
            let mut stdout = std::io::stdout().lock();
            let stderr = std::io::stderr();
            let code = inspector::live::run_live(&args, color, &mut stdout, &mut stderr.lock());
            ExitCode::from(code)
        }
        Cmd::Frame(args) => {
            let mut stdout = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
            let code = inspector::packet_view::run_frame(
                &args,
                &mut stdout,
                &mut std::io::stderr().lock(),
            );
            ExitCode::from(code)
        }
        Cmd::Interfaces { json } => ExitCode::from(inspector::live::run_interfaces(
            json,
            &mut std::io::stdout().lock(),
        )),
    }
}
