//! The exit codes of `inspector read` and `inspector live`, in one place.

/// Everything was read.
pub const EXIT_OK: u8 = 0;
/// The report is complete for what could be read, but something was skipped: anything that is
/// a warning (a truncated record, a broken frame, IP fragments, a gap, a line that is not FTP or
/// an over-long line in a control connection; for `live`, also frames the kernel dropped).
pub const EXIT_SKIPPED: u8 = 1;
/// A file could not be read at all (missing, not a capture), a capture could not start, or the
/// report could not be written.
pub const EXIT_ERROR: u8 = 2;
