//! What lab 7's incident does, derived from the secrets alone: addresses, port, guesses, files.

use super::NET;
use crate::seed::Secrets;
use rand_08::rngs::StdRng;
use rand_08::{Rng, SeedableRng};
use std::net::{Ipv4Addr, SocketAddrV4};

/// Passwords the dictionary attack tries, in its order (none is the account's).
const DICTIONARY: [&str; 16] = [
    "123456",
    "password",
    "letmein",
    "qwerty",
    "admin",
    "welcome",
    "dragon",
    "monkey",
    "secret",
    "ftp",
    "abc123",
    "iloveyou",
    "Summer2026",
    "changeme",
    "P@ssw0rd",
    "trustno1",
];
/// Names of the file the intruder uploads.
const EXFIL_NAMES: [&str; 6] = [
    "payroll-2026.xlsx",
    "customers.csv",
    "vpn-keys.tar",
    "passwords.kdbx",
    "merger-draft.docx",
    "hr-salaries.ods",
];
/// Names of the archive the intruder downloads in two parts.
const ARCHIVE_NAMES: [&str; 4] = [
    "source-2026.tar.gz",
    "backup-db.tar.gz",
    "design.zip",
    "firmware.bin",
];
/// Names of the file the staff user downloads (the one with lost segments).
const STAFF_NAMES: [&str; 4] = [
    "handbook.pdf",
    "price-list.pdf",
    "minutes.odt",
    "roadmap.pdf",
];

/// Everything the incident does, derived from the secrets alone: the same seed or token always
/// gives the same incident (but other times, ports of data connections and frame numbers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The FTP server's address.
    pub server: Ipv4Addr,
    /// The port it should listen on (another one when taken).
    pub port: u16,
    /// The dictionary attack's address.
    pub attacker: Ipv4Addr,
    /// The address the account was used from.
    pub intruder: Ipv4Addr,
    /// The staff member's address.
    pub staff: Ipv4Addr,
    /// A workstation making the noise (DNS and HTTP).
    pub workstation: Ipv4Addr,
    /// The DNS server.
    pub dns: Ipv4Addr,
    /// The web server.
    pub web: Ipv4Addr,
    /// The address the bounce attempt names.
    pub third_party: SocketAddrV4,
    /// The attacked account.
    pub user: String,
    /// Its password.
    pub password: String,
    /// The attacker's guesses, all wrong.
    pub guesses: Vec<String>,
    /// The archive downloaded in two parts: folder, name, contents.
    pub archive: (String, String, Vec<u8>),
    /// Bytes of it saved before the break: the REST offset.
    pub cut: usize,
    /// The uploaded file: name and contents.
    pub exfil: (String, Vec<u8>),
    /// The staff member's download: name and contents.
    pub staff_file: (String, Vec<u8>),
}

fn address(rng: &mut StdRng, taken: &mut Vec<Ipv4Addr>) -> Ipv4Addr {
    // Bounded: 254×253 addresses, a handful taken.
    loop {
        let a = Ipv4Addr::new(
            NET[0],
            NET[1],
            rng.gen_range(1..=254),
            rng.gen_range(2..=254),
        );
        if !taken.contains(&a) {
            taken.push(a);
            return a;
        }
    }
}

fn bytes(rng: &mut StdRng, len: usize) -> Vec<u8> {
    (0..len).map(|_| rng.r#gen::<u8>()).collect()
}

impl Plan {
    /// The incident of these secrets.
    pub fn new(s: &Secrets) -> Self {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        for part in [
            b"ftplab/lab7\0".as_slice(),
            s.user.as_bytes(),
            b"\0",
            s.password.as_bytes(),
            b"\0",
            &s.notes,
        ] {
            h.update(part);
        }
        let mut rng = StdRng::from_seed(h.finalize().into());
        let mut taken = Vec::new();
        let server = address(&mut rng, &mut taken);
        let mut port = rng.gen_range(2000..10000);
        if port == 2121 {
            port = 2122;
        }
        let attacker = address(&mut rng, &mut taken);
        let intruder = address(&mut rng, &mut taken);
        let staff = address(&mut rng, &mut taken);
        let workstation = address(&mut rng, &mut taken);
        let dns = address(&mut rng, &mut taken);
        let web = address(&mut rng, &mut taken);
        let third = address(&mut rng, &mut taken);
        let third_party = SocketAddrV4::new(third, rng.gen_range(1025..60000));
        let n = rng.gen_range(6..=12);
        let mut words: Vec<&str> = DICTIONARY.to_vec();
        for i in (1..words.len()).rev() {
            words.swap(i, rng.gen_range(0..=i));
        }
        let guesses = words
            .into_iter()
            .filter(|w| *w != s.password)
            .take(n)
            .map(str::to_string)
            .collect();
        let archive_len = rng.gen_range(80_000..140_000);
        let archive = (
            "projects".to_string(),
            ARCHIVE_NAMES[rng.gen_range(0..ARCHIVE_NAMES.len())].to_string(),
            bytes(&mut rng, archive_len),
        );
        let cut = rng.gen_range(archive_len / 5..archive_len / 2);
        let exfil_name = EXFIL_NAMES[rng.gen_range(0..EXFIL_NAMES.len())].to_string();
        let mut exfil = format!(
            "CONFIDENTIAL: {exfil_name}, for {} only. Reference {:08x}.\n",
            s.user,
            rng.r#gen::<u32>()
        )
        .into_bytes();
        let extra = rng.gen_range(2000..6000);
        for i in 0..extra / 40 {
            exfil.extend_from_slice(
                format!(
                    "row {i:04}; account {:06}; {:>10}\n",
                    rng.gen_range(0..1_000_000),
                    rng.gen_range(0..99_999)
                )
                .as_bytes(),
            );
        }
        let staff_len = rng.gen_range(40_000..70_000);
        let staff_file = (
            STAFF_NAMES[rng.gen_range(0..STAFF_NAMES.len())].to_string(),
            bytes(&mut rng, staff_len),
        );
        Self {
            server,
            port,
            attacker,
            intruder,
            staff,
            workstation,
            dns,
            web,
            third_party,
            user: s.user.clone(),
            password: s.password.clone(),
            guesses,
            archive,
            cut,
            exfil: (exfil_name, exfil),
            staff_file,
        }
    }
}

impl Plan {
    /// Every address of the incident: the capture keeps the frames from or to these only (so a
    /// second incident played at the same time, another seed's, stays out).
    pub fn addresses(&self) -> [Ipv4Addr; 8] {
        [
            self.server,
            self.attacker,
            self.intruder,
            self.staff,
            self.workstation,
            self.dns,
            self.web,
            *self.third_party.ip(),
        ]
    }
}

/// Whether an IPv4 address lies in the incidents' network, 127.77.0.0/16.
pub fn in_net(ip: [u8; 4]) -> bool {
    ip[0] == NET[0] && ip[1] == NET[1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plan_is_a_function_of_the_secrets() {
        let a = Plan::new(&Secrets::new(Some(3)));
        assert_eq!(a, Plan::new(&Secrets::new(Some(3))));
        let b = Plan::new(&Secrets::new(Some(4)));
        assert_ne!(
            (a.attacker, a.intruder, &a.exfil),
            (b.attacker, b.intruder, &b.exfil)
        );
        assert!(a.guesses.len() >= 6 && !a.guesses.contains(&a.password));
        assert!(a.cut > 0 && a.cut < a.archive.2.len());
        let all = a.addresses();
        assert!(
            all.iter().enumerate().all(|(i, x)| !all[..i].contains(x)),
            "{all:?}"
        );
        for ip in all {
            assert!(in_net(ip.octets()), "{ip}");
        }
    }
}
