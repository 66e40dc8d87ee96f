//! `ftplab-lab`: the lab runner behind `just lab0` … `just lab5`, `just check`, `just doctor`.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = labs::Cli::parse();
    match labs::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("ftplab-lab: {}", e.report());
            ExitCode::from(labs::EXIT_ERROR)
        }
    }
}
