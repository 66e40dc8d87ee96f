//! `--extract`: where the content of data connections goes. The tracker hands bytes to an
//! [`ExtractSink`] that the caller (`inspector read`, `inspector live`) passes in, and never
//! touches the file system itself.

use crate::transfer::TransferId;
use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// What became of one transfer's content at the sink.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extracted {
    /// The name it is kept under, relative to the sink's folder; `None` when nothing was kept.
    pub name: Option<String>,
    /// Why it was not (entirely) kept, for the transfer's incomplete reason.
    pub error: Option<String>,
}

/// Receives the content of every data connection, in stream order.
pub trait ExtractSink {
    /// Bytes of transfer `id` that follow the ones before.
    fn write(&mut self, id: TransferId, bytes: &[u8]);
    /// `len` bytes of transfer `id` that the capture lacks: a hole, so that later bytes keep
    /// their offsets.
    fn skip(&mut self, id: TransferId, len: u64);
    /// Transfer `id` is over and `len` bytes long (holes included); `wanted` is a name that
    /// stays inside a folder ([`crate::transfer::safe_name`]).
    fn finish(&mut self, id: TransferId, wanted: &str, len: u64) -> Extracted;
    /// Transfer `id` turned out not to be a file (a connection that is not FTP data): whatever
    /// was kept of it goes.
    fn discard(&mut self, id: TransferId) {
        let _ = id;
    }
    /// The folder the kept files are in, for [`crate::stitch`] to put resumed downloads together.
    fn folder(&self) -> Option<&Path> {
        None
    }
}

/// One transfer being written: its temporary file, or the first error it met.
#[derive(Debug)]
struct Part {
    path: PathBuf,
    writer: Option<BufWriter<File>>,
    error: Option<String>,
}

/// The sink of `--extract DIR`: each transfer streams into `DIR/.inspector-N.part`, renamed at
/// its end to a unique safe name (`a.bin`, `a-2.bin`…).
#[derive(Debug)]
pub struct FolderExtractor {
    dir: PathBuf,
    parts: HashMap<TransferId, Part>,
    names: HashSet<String>,
}

impl FolderExtractor {
    /// Creates `dir` if needed; the error is the message for the user.
    pub fn create(dir: &Path) -> Result<FolderExtractor, String> {
        std::fs::create_dir_all(dir).map_err(|e| {
            format!(
                "inspector: cannot create extract folder {}: {e}",
                dir.display()
            )
        })?;
        Ok(FolderExtractor {
            dir: dir.to_owned(),
            parts: HashMap::new(),
            names: HashSet::new(),
        })
    }

    /// The open file of transfer `id`, created on first use; `None` once it failed.
    fn writer(&mut self, id: TransferId) -> Option<&mut Part> {
        let part = self.parts.entry(id).or_insert_with(|| {
            let path = self.dir.join(format!(".inspector-{id}.part"));
            match File::create(&path) {
                Ok(f) => Part {
                    path,
                    writer: Some(BufWriter::with_capacity(1 << 16, f)),
                    error: None,
                },
                Err(e) => Part {
                    error: Some(format!("{}: {e}", path.display())),
                    path,
                    writer: None,
                },
            }
        });
        part.error.is_none().then_some(part)
    }

    /// `name`, or `name-2.ext`, `name-3.ext`… whichever is not taken yet.
    fn unique(&mut self, name: &str) -> String {
        let (stem, ext) = match name.rfind('.') {
            Some(i) if i > 0 => name.split_at(i),
            _ => (name, ""),
        };
        let mut candidate = name.to_owned();
        let mut n = 1;
        while self.names.contains(&candidate) || self.dir.join(&candidate).exists() {
            n += 1;
            candidate = format!("{stem}-{n}{ext}");
        }
        self.names.insert(candidate.clone());
        candidate
    }
}

/// The sink of `--extract DIR`, its folder created, when one was asked for; the error is the
/// message for the user.
pub fn sink_for(dir: Option<&Path>) -> Result<Option<Box<dyn ExtractSink>>, String> {
    match dir {
        Some(dir) => Ok(Some(Box::new(FolderExtractor::create(dir)?))),
        None => Ok(None),
    }
}

impl ExtractSink for FolderExtractor {
    fn write(&mut self, id: TransferId, bytes: &[u8]) {
        if let Some(part) = self.writer(id)
            && let Some(w) = part.writer.as_mut()
            && let Err(e) = w.write_all(bytes)
        {
            part.error = Some(e.to_string());
        }
    }

    fn skip(&mut self, id: TransferId, len: u64) {
        if let Some(part) = self.writer(id)
            && let Some(w) = part.writer.as_mut()
            && let Err(e) = w.seek(SeekFrom::Current(i64::try_from(len).unwrap_or(i64::MAX)))
        {
            part.error = Some(e.to_string());
        }
    }

    fn finish(&mut self, id: TransferId, wanted: &str, len: u64) -> Extracted {
        let Some(mut part) = self.parts.remove(&id) else {
            return Extracted::default();
        };
        let Some(mut w) = part.writer.take() else {
            return Extracted {
                name: None,
                error: part.error,
            };
        };
        if let Err(e) = w.flush() {
            return Extracted {
                name: None,
                error: Some(e.to_string()),
            };
        }
        // A file that ends in a gap must still have its full length.
        if let Ok(f) = w.into_inner()
            && let Err(e) = f.set_len(len)
        {
            part.error = Some(e.to_string());
        }
        let name = self.unique(wanted);
        let target = self.dir.join(&name);
        match std::fs::rename(&part.path, &target) {
            Ok(()) => Extracted {
                name: Some(name),
                error: part.error,
            },
            Err(e) => {
                let _ = std::fs::remove_file(&part.path);
                Extracted {
                    name: None,
                    error: Some(format!("{}: {e}", target.display())),
                }
            }
        }
    }

    fn discard(&mut self, id: TransferId) {
        if let Some(part) = self.parts.remove(&id) {
            part.remove();
        }
    }

    fn folder(&self) -> Option<&Path> {
        Some(&self.dir)
    }
}

impl Part {
    /// Closes and deletes the temporary file.
    fn remove(mut self) {
        drop(self.writer.take());
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Only finished files stay in the folder: a transfer the tracker never finished (the
/// inspector stopped early, say) leaves no `.part` behind.
impl Drop for FolderExtractor {
    fn drop(&mut self) {
        for (_, part) in self.parts.drain() {
            part.remove();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_transfer_with_a_hole_keeps_its_length_and_offsets() {
        let dir = tempfile::tempdir().unwrap();
        let mut sink = FolderExtractor::create(dir.path()).unwrap();
        sink.write(3, b"ab");
        sink.skip(3, 2);
        sink.write(3, b"cd");
        sink.skip(3, 1);
        let kept = sink.finish(3, "f.bin", 7);
        assert_eq!(
            kept,
            Extracted {
                name: Some("f.bin".into()),
                error: None
            }
        );
        assert_eq!(
            std::fs::read(dir.path().join("f.bin")).unwrap(),
            b"ab\0\0cd\0"
        );
    }

    #[test]
    fn names_already_taken_get_a_number() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.txt"), b"old").unwrap();
        let mut sink = FolderExtractor::create(dir.path()).unwrap();
        for id in [1, 2] {
            sink.write(id, b"x");
        }
        assert_eq!(sink.finish(1, "a.txt", 1).name.as_deref(), Some("a-2.txt"));
        assert_eq!(sink.finish(2, "a.txt", 1).name.as_deref(), Some("a-3.txt"));
    }

    #[test]
    fn discarded_and_unfinished_transfers_leave_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut sink = FolderExtractor::create(dir.path()).unwrap();
        sink.write(1, b"not a file");
        sink.skip(2, 5);
        sink.discard(1);
        drop(sink);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_transfer_that_wrote_nothing_keeps_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut sink = FolderExtractor::create(dir.path()).unwrap();
        assert_eq!(sink.finish(9, "empty", 0), Extracted::default());
    }
}
