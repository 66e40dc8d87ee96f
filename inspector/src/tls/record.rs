//! TLS records cut out of a reassembled TCP stream (RFC 8446 §5.1, RFC 5246 §6.2): a 5-byte
//! header (content type, legacy version, length) and the payload, which may span several TCP
//! segments, or several records may share one.

/// Largest record payload allowed on the wire: 2^14 plus the 2048 bytes TLS 1.2 allows for
/// protection (RFC 5246 §6.2.3; TLS 1.3 allows only 256).
pub const MAX_RECORD: usize = (1 << 14) + 2048;

/// Content types (RFC 8446 §5.1).
pub mod content {
    /// ChangeCipherSpec.
    pub const CHANGE_CIPHER_SPEC: u8 = 20;
    /// Alert.
    pub const ALERT: u8 = 21;
    /// Handshake.
    pub const HANDSHAKE: u8 = 22;
    /// Application data (and, in TLS 1.3, every encrypted record).
    pub const APPLICATION_DATA: u8 = 23;
    /// Heartbeat (RFC 6520).
    pub const HEARTBEAT: u8 = 24;
}

/// One record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Content type, legacy version (2 bytes) and length, as sent (the AEADs authenticate it).
    pub header: [u8; 5],
    /// The payload.
    pub body: Vec<u8>,
}

impl Record {
    /// The outer content type.
    pub fn content_type(&self) -> u8 {
        self.header[0]
    }
}

/// A header that is no TLS record header: the stream is not (or no longer) TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotTls;

/// True when `bytes` start like a TLS record header (type 20–24, version 3.x, a length that
/// fits). Needs 5 bytes; fewer give false.
pub fn looks_like_record(bytes: &[u8]) -> bool {
    match bytes {
        [t, 3, minor, hi, lo, ..] => {
            (content::CHANGE_CIPHER_SPEC..=content::HEARTBEAT).contains(t)
                && *minor <= 4
                && usize::from(u16::from_be_bytes([*hi, *lo])) <= MAX_RECORD
        }
        _ => false,
    }
}

/// True when `bytes` start like a TLS handshake record (how a ClientHello starts).
pub fn looks_like_handshake(bytes: &[u8]) -> bool {
    bytes.first() == Some(&content::HANDSHAKE) && looks_like_record(bytes)
}

/// Cuts records out of one direction of a stream.
#[derive(Debug, Default)]
pub struct RecordReader {
    buf: Vec<u8>,
}

impl RecordReader {
    /// Appends stream bytes.
    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// The next whole record; `Ok(None)` when more bytes are needed; `Err(NotTls)` when what
    /// follows is not a record (take it with [`RecordReader::take_rest`]).
    pub fn next_record(&mut self) -> Result<Option<Record>, NotTls> {
        if self.buf.len() < 5 {
            return Ok(None);
        }
        if !looks_like_record(&self.buf) {
            return Err(NotTls);
        }
        let mut header = [0u8; 5];
        header.copy_from_slice(self.buf.get(..5).ok_or(NotTls)?);
        let len = usize::from(u16::from_be_bytes([header[3], header[4]]));
        if self.buf.len() < 5 + len {
            return Ok(None);
        }
        let body = self.buf.get(5..5 + len).ok_or(NotTls)?.to_vec();
        self.buf.drain(..5 + len);
        Ok(Some(Record { header, body }))
    }

    /// Whatever is buffered, handed back (what follows the end of TLS).
    pub fn take_rest(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.buf)
    }

    /// Forgets what is buffered (after a gap, the record boundaries are lost).
    pub fn clear(&mut self) {
        self.buf.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_split_across_pushes_and_sharing_one_come_out_whole() {
        let mut r = RecordReader::default();
        r.push(&[22, 3, 1, 0, 3, 1]);
        assert_eq!(r.next_record(), Ok(None));
        r.push(&[2, 3, 23, 3, 3, 0, 1, 9, 21]);
        let a = r.next_record().unwrap().unwrap();
        assert_eq!((a.content_type(), a.body), (22, vec![1, 2, 3]));
        let b = r.next_record().unwrap().unwrap();
        assert_eq!((b.content_type(), b.body), (23, vec![9]));
        assert_eq!(r.next_record(), Ok(None));
        r.push(b"220 clear text again\r\n");
        // The lone 21 left over plus clear text is no record header.
        assert_eq!(r.next_record(), Err(NotTls));
        assert_eq!(r.take_rest()[0], 21);
    }

    #[test]
    fn headers_are_judged_strictly() {
        assert!(looks_like_handshake(&[22, 3, 1, 0, 200]));
        assert!(!looks_like_handshake(&[22, 3, 1, 0]));
        assert!(!looks_like_record(b"USER x\r\n"));
        assert!(!looks_like_record(&[23, 3, 3, 0xff, 0xff]), "too long");
        assert!(!looks_like_record(&[23, 2, 0, 0, 1]));
    }
}
