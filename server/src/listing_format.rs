//! Directory listing formats: LIST in Unix `ls -l` style (what lftp, curl and FileZilla parse),
//! NLST as bare names, and MLSD/MLST facts (RFC 3659 §7).

use crate::paths::UPLOAD_TEMP_PREFIX;
use cap_std::fs::{Dir, MetadataExt};
use ftp_proto::TimeVal;
use std::time::SystemTime;
use time::OffsetDateTime;

/// What kind of entry a listing shows. FIFOs, sockets and devices are shown as what they are
/// (`p`, `s`, `c`, `b` in `ls -l`), so nobody mistakes one for a file to download.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// A regular file.
    File,
    /// A folder.
    Dir,
    /// A named pipe.
    Fifo,
    /// A Unix socket.
    Socket,
    /// A character device.
    CharDevice,
    /// A block device.
    BlockDevice,
}

impl EntryKind {
    fn of(file_type: cap_std::fs::FileType) -> EntryKind {
        use cap_std::fs::FileTypeExt;
        if file_type.is_dir() {
            EntryKind::Dir
        } else if file_type.is_fifo() {
            EntryKind::Fifo
        } else if file_type.is_socket() {
            EntryKind::Socket
        } else if file_type.is_char_device() {
            EntryKind::CharDevice
        } else if file_type.is_block_device() {
            EntryKind::BlockDevice
        } else {
            EntryKind::File
        }
    }
}

/// One directory entry, as much as any listing format needs.
#[derive(Debug, Clone)]
pub struct Entry {
    /// File name (no folder part).
    pub name: String,
    /// File, folder, or a special file.
    pub kind: EntryKind,
    /// Size in bytes.
    pub size: u64,
    /// Unix permission bits.
    pub mode: u32,
    /// Last modification.
    pub modified: SystemTime,
}

impl Entry {
    /// An entry from the metadata of what a path points to.
    pub fn from_metadata(name: String, meta: &cap_std::fs::Metadata) -> Entry {
        let kind = EntryKind::of(meta.file_type());
        Entry {
            name,
            kind,
            size: if kind == EntryKind::File {
                meta.len()
            } else {
                0
            },
            mode: meta.mode(),
            modified: meta
                .modified()
                .map(|t| t.into_std())
                .unwrap_or(SystemTime::UNIX_EPOCH),
        }
    }

    /// Whether it is a folder.
    pub fn is_dir(&self) -> bool {
        self.kind == EntryKind::Dir
    }
}

/// Reads a folder's entries (the folder opened beneath the user's root), sorted by name.
/// Symlinks are shown as what they point to, and left out when they lead outside the jail;
/// upload temp files and names a control connection cannot carry (not UTF-8, CR, LF) are left
/// out.
pub fn read_dir(dir: &Dir) -> std::io::Result<Vec<Entry>> {
    let mut entries = Vec::new();
    for item in dir.entries()? {
        let item = item?;
        let Ok(name) = item.file_name().into_string() else {
            continue; // not UTF-8: cannot be named over a UTF-8 control connection
        };
        if name.starts_with(UPLOAD_TEMP_PREFIX) || name.contains(['\r', '\n']) {
            continue;
        }
        // Follows a symlink beneath the folder's root only; one leading out fails here.
        if let Ok(meta) = dir.metadata(&name) {
            entries.push(Entry::from_metadata(name, &meta));
        }
    }
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(entries)
}

/// Splits `ls`-style options (`-la`) off a LIST/NLST argument, which clients add freely.
pub fn strip_list_options(argument: Option<&str>) -> Option<&str> {
    let mut rest = argument?.trim_start();
    while rest.starts_with('-') {
        match rest.split_once(' ') {
            Some((_, tail)) => rest = tail.trim_start(),
            None => return None,
        }
    }
    (!rest.is_empty()).then_some(rest)
}

/// One `ls -l` line: `-rw-r--r-- 1 ftp ftp 1234 Nov 25 11:41 name`.
///
/// Owner and group are always `ftp`: the host's user names are none of the client's business.
pub fn ls_line(entry: &Entry, now: SystemTime) -> String {
    let kind = match entry.kind {
        EntryKind::File => '-',
        EntryKind::Dir => 'd',
        EntryKind::Fifo => 'p',
        EntryKind::Socket => 's',
        EntryKind::CharDevice => 'c',
        EntryKind::BlockDevice => 'b',
    };
    let mut perms = String::with_capacity(9);
    for shift in [6, 3, 0] {
        let bits = (entry.mode >> shift) & 7;
        perms.push(if bits & 4 != 0 { 'r' } else { '-' });
        perms.push(if bits & 2 != 0 { 'w' } else { '-' });
        perms.push(if bits & 1 != 0 { 'x' } else { '-' });
    }
    let when = OffsetDateTime::from(entry.modified);
    // ls shows the time of day for files from the last six months, the year otherwise.
    let six_months = std::time::Duration::from_secs(182 * 24 * 3600);
    let recent = now
        .duration_since(entry.modified)
        .is_ok_and(|age| age < six_months)
        || entry.modified > now;
    let month = MONTHS[usize::from(u8::from(when.month())) - 1];
    let day = when.day();
    let date = if recent {
        format!("{month} {day:>2} {:02}:{:02}", when.hour(), when.minute())
    } else {
        format!("{month} {day:>2}  {}", when.year())
    };
    format!(
        "{kind}{perms} 1 ftp ftp {:>12} {date} {}",
        entry.size, entry.name
    )
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// MLSD/MLST facts for an entry, then a space and the name (RFC 3659 §7.2).
///
/// `perm` says what this user may do: `r` retrieve, `w` store, `a` append, `d` delete,
/// `f` rename, `e` enter, `l` list, `c` create, `m` make folder, `p` purge.
pub fn mlsx_line(entry: &Entry, name: &str, writable: bool) -> String {
    let (kind, perm) = match (entry.kind, writable) {
        (EntryKind::Dir, true) => ("dir", "flcdmpe"),
        (EntryKind::Dir, false) => ("dir", "el"),
        (EntryKind::File, true) => ("file", "rwadf"),
        (EntryKind::File, false) => ("file", "r"),
        // RFC 3659 §7.5.1: other types are "OS.name=type"; nothing can be done with them here
        // but delete and rename.
        (EntryKind::Fifo, w) => ("OS.unix=fifo", if w { "df" } else { "" }),
        (EntryKind::Socket, w) => ("OS.unix=socket", if w { "df" } else { "" }),
        (EntryKind::CharDevice, w) => ("OS.unix=chr", if w { "df" } else { "" }),
        (EntryKind::BlockDevice, w) => ("OS.unix=blk", if w { "df" } else { "" }),
    };
    format!(
        "type={kind};size={};modify={};perm={perm};unix.mode=0{:o}; {name}",
        entry.size,
        TimeVal::from_system_time(entry.modified),
        entry.mode & 0o7777
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn entry(name: &str, is_dir: bool, age_days: u64) -> (Entry, SystemTime) {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_764_000_000); // 2025-11-24
        let modified = now - Duration::from_secs(age_days * 86400);
        (
            Entry {
                name: name.into(),
                kind: if is_dir {
                    EntryKind::Dir
                } else {
                    EntryKind::File
                },
                size: 1234,
                mode: 0o100644,
                modified,
            },
            now,
        )
    }

    #[test]
    fn recent_file_shows_time_of_day() {
        let (e, now) = entry("my file.txt", false, 1);
        let line = ls_line(&e, now);
        assert!(
            line.starts_with("-rw-r--r-- 1 ftp ftp         1234 Nov 23 "),
            "{line}"
        );
        assert!(line.ends_with(":00 my file.txt"), "{line}");
    }

    #[test]
    fn old_entry_shows_the_year() {
        let (mut e, now) = entry("old", true, 400);
        e.mode = 0o40755;
        let line = ls_line(&e, now);
        assert!(line.starts_with("drwxr-xr-x 1 ftp ftp"), "{line}");
        assert!(line.contains(" 2024 old"), "{line}");
    }

    #[test]
    fn list_options_are_stripped() {
        assert_eq!(strip_list_options(Some("-la")), None);
        assert_eq!(strip_list_options(Some("-l -a sub dir")), Some("sub dir"));
        assert_eq!(strip_list_options(Some("sub")), Some("sub"));
        assert_eq!(strip_list_options(None), None);
    }

    #[test]
    fn mlsx_facts() {
        let (e, _) = entry("f", false, 0);
        let line = mlsx_line(&e, "f", false);
        assert!(
            line.starts_with("type=file;size=1234;modify=2025112"),
            "{line}"
        );
        assert!(line.ends_with(";perm=r;unix.mode=0644; f"), "{line}");
    }
}
