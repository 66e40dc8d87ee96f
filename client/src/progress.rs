//! Progress bars for transfers that take longer than a moment; silent when stderr is not a
//! terminal.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::time::{Duration, Instant};

/// How long a transfer runs before its bar appears: quick ones stay quiet.
const SHOW_AFTER: Duration = Duration::from_millis(400);

/// The progress of one transfer.
#[derive(Debug)]
pub struct Progress {
    enabled: bool,
    total: Option<u64>,
    name: String,
    start: Instant,
    bar: Option<ProgressBar>,
    position: u64,
}

impl Progress {
    /// A progress for `name`; `enabled` is false when stderr is not a terminal or in JSON mode.
    pub fn new(enabled: bool, name: &str, total: Option<u64>, start_at: u64) -> Progress {
        Progress {
            enabled,
            total,
            name: name.to_owned(),
            start: Instant::now(),
            bar: None,
            position: start_at,
        }
    }

    /// Records `n` more bytes.
    pub fn advance(&mut self, n: u64) {
        self.position += n;
        if let Some(bar) = &self.bar {
            bar.set_position(self.position);
        } else if self.enabled && self.start.elapsed() >= SHOW_AFTER {
            let bar = match self.total {
                Some(total) => ProgressBar::with_draw_target(
                    Some(total),
                    ProgressDrawTarget::stderr_with_hz(8),
                )
                .with_style(
                    ProgressStyle::with_template(
                        "{msg} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
                ),
                None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr_with_hz(8))
                    .with_style(
                        ProgressStyle::with_template(
                            "{msg} {spinner} {bytes} {binary_bytes_per_sec} {elapsed}",
                        )
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                    ),
            };
            bar.set_message(self.name.clone());
            bar.set_position(self.position);
            self.bar = Some(bar);
        }
    }

    /// Removes the bar (the reply that follows says how it ended).
    pub fn finish(self) {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}
