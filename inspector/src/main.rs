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
    Read(inspector::cli::ReadArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Cmd::Read(args) => {
            let color = !args.no_color
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::io::stdout().is_terminal();
            // Block-buffered: stdout is line-buffered otherwise, one write per JSON line.
            let mut stdout = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
            let stderr = std::io::stderr();
            let code = inspector::cli::read(&args, color, &mut stdout, &mut stderr.lock());
            ExitCode::from(code)
        }
    }
}
