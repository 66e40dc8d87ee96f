//! `ftp-client`: parses the command line and hands over to [`ftp_client::run`].

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = ftp_client::Cli::parse();
    match ftp_client::run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!("ftp-client: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}
