//! RFC 2577 (FTP Security Considerations) and robustness rules, one test each, spoken over raw
//! sockets so that every byte is under the test's control.

mod common;

use std::fs;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::symlink;
use std::thread;
use std::time::{Duration, Instant};

use common::{Control, MIB, Reply, TestServer, dir_names, has_upload_temp_file, random_bytes};
use rand::{RngCore, SeedableRng};
use socket2::{Domain, SockRef, Socket, Type};

/// Reads a data connection until EOF, an error or `timeout`; returns what arrived.
fn read_for(mut data: TcpStream, timeout: Duration) -> Vec<u8> {
    data.set_read_timeout(Some(timeout)).unwrap();
    let mut bytes = Vec::new();
    let _ = data.read_to_end(&mut bytes);
    bytes
}

/// Asserts that `RETR path` is refused with 550 and that no byte of the outside file arrives.
fn assert_retr_refused(control: &mut Control, path: &str, outside: &[u8]) {
    control.expect("TYPE I", 200);
    let data = control.open_passive();
    let reply = control.cmd(&format!("RETR {path}"));
    let bytes = if reply.code == 150 || reply.code == 125 {
        let bytes = read_for(data, Duration::from_secs(5));
        let end = control.read_reply();
        panic!(
            "RETR {path:?} was accepted ({reply:?}, then {end:?}) and sent {} bytes",
            bytes.len()
        );
    } else {
        read_for(data, Duration::from_millis(500))
    };
    assert_eq!(reply.code, 550, "RETR {path:?}: {reply:?}");
    assert!(bytes.is_empty(), "RETR {path:?} sent {} bytes", bytes.len());
    assert!(
        outside.is_empty() || !reply.text.contains(&String::from_utf8_lossy(outside)[..]),
        "reply reveals the outside file: {reply:?}"
    );
}

#[test]
fn retr_with_dot_dot_cannot_leave_the_root() {
    let server = TestServer::start(&[]);
    // A file right next to the roots, so `../secret.txt` would name it without the jail.
    fs::write(server.dir.path().join("base/secret.txt"), b"outside secret").unwrap();
    let mut c = server.login(1);
    for path in [
        "../../etc/passwd",
        "../../../../../../../../etc/passwd",
        "../secret.txt",
        "../root2/welcome.txt",
        "sub/../../secret.txt",
        "./../secret.txt",
    ] {
        assert_retr_refused(&mut c, path, b"outside secret");
    }
}

#[test]
fn absolute_paths_are_relative_to_the_user_root() {
    let server = TestServer::start(&[]);
    let mut c = server.login(1);
    assert_retr_refused(&mut c, "/etc/passwd", b"root:");
    assert_eq!(c.cmd("SIZE /etc/passwd").code, 550);
    assert_eq!(c.cmd("MDTM /etc/passwd").code, 550);
    assert_eq!(c.cmd("CWD /etc").code, 550);
    // …and `/welcome.txt` is root1/welcome.txt.
    let expected = fs::read(server.root(1).join("welcome.txt")).unwrap();
    let (first, bytes, last) = c.retr("/welcome.txt");
    assert!(matches!(first.code, 125 | 150), "{first:?}");
    assert_eq!(bytes, expected);
    assert_eq!(last.map(|r| r.code), Some(226));
}

#[test]
fn symlink_pointing_out_of_the_root_is_refused() {
    let server = TestServer::start(&[]);
    let root = server.root(1);
    symlink("/etc", root.join("escape")).unwrap();
    symlink("/etc/passwd", root.join("pw")).unwrap();
    symlink("../root2", root.join("neighbour")).unwrap();
    let mut c = server.login(1);

    assert_retr_refused(&mut c, "escape/passwd", b"root:");
    assert_retr_refused(&mut c, "pw", b"root:");
    assert_retr_refused(&mut c, "neighbour/welcome.txt", b"");
    assert_eq!(c.cmd("CWD escape").code, 550, "CWD through the symlink");
    assert_eq!(c.cmd("SIZE pw").code, 550, "SIZE through the symlink");

    // Listing through the symlink must not show /etc's entries.
    let (first, listing) = c.listing("NLST escape");
    assert!(
        first.code == 550 || !listing.contains("passwd"),
        "NLST escape revealed /etc: {first:?}\n{listing}"
    );

    // Writing through the symlink must not create anything outside.
    let data = c.open_passive();
    let reply = c.cmd("STOR neighbour/planted.txt");
    drop(data);
    assert_eq!(reply.code, 550, "STOR through the symlink: {reply:?}");
    assert!(!server.root(2).join("planted.txt").exists());
}

#[test]
fn cwd_dot_dot_at_the_root_is_refused_and_stays_at_the_root() {
    let server = TestServer::start(&[]);
    let mut c = server.login(1);
    assert_eq!(c.cmd("CWD ..").code, 550);
    assert_eq!(c.cmd("CDUP").code, 550);
    assert_eq!(c.cmd("CWD ../root2").code, 550);
    let pwd = c.expect("PWD", 257);
    assert!(pwd.text.contains("\"/\""), "{pwd:?}");
}

#[test]
fn dot_dot_inside_the_root_works() {
    let server = TestServer::start(&[]);
    let mut c = server.login(1);
    c.expect("MKD sub", 257);
    c.expect("CWD sub", 250);
    assert!(c.expect("PWD", 257).text.contains("\"/sub\""));
    c.expect("CWD ..", 250);
    assert!(c.expect("PWD", 257).text.contains("\"/\""));
    c.expect("CWD sub", 250);
    let (first, bytes, _) = c.retr("../welcome.txt");
    assert!(matches!(first.code, 125 | 150), "{first:?}");
    assert_eq!(bytes, fs::read(server.root(1).join("welcome.txt")).unwrap());
}

#[test]
fn stor_with_dot_dot_cannot_write_outside_the_root() {
    let server = TestServer::start(&[]);
    let mut c = server.login(1);
    c.expect("TYPE I", 200);
    for path in ["../planted.txt", "/../planted.txt", "../root2/planted.txt"] {
        let mut data = c.open_passive();
        let reply = c.cmd(&format!("STOR {path}"));
        if reply.code == 150 || reply.code == 125 {
            let _ = data.write_all(b"planted");
            drop(data);
            let end = c.read_reply();
            panic!("STOR {path:?} accepted: {reply:?} then {end:?}");
        }
        assert_eq!(reply.code, 550, "STOR {path:?}: {reply:?}");
    }
    assert!(!server.dir.path().join("base/planted.txt").exists());
    assert!(!server.root(2).join("planted.txt").exists());
}

/// `PORT` arguments for `addr`.
fn port_arg(addr: SocketAddr) -> String {
    let SocketAddr::V4(v4) = addr else {
        panic!("IPv4 only")
    };
    let [a, b, c, d] = v4.ip().octets();
    format!("{a},{b},{c},{d},{},{}", v4.port() >> 8, v4.port() & 0xff)
}

#[test]
fn port_and_eprt_to_a_foreign_address_are_refused() {
    let server = TestServer::start(&[]);
    let listener = TcpListener::bind("127.0.0.2:0").unwrap();
    let target = listener.local_addr().unwrap();
    let mut c = server.login(1);

    let reply = c.cmd(&format!("PORT {}", port_arg(target)));
    assert!(
        matches!(reply.code, 500 | 504),
        "PORT to 127.0.0.2: {reply:?}"
    );
    let reply = c.cmd(&format!("EPRT |1|127.0.0.2|{}|", target.port()));
    assert!(
        matches!(reply.code, 500 | 504 | 522),
        "EPRT to 127.0.0.2: {reply:?}"
    );

    // The refused PORT must not be used by a following transfer.
    let reply = c.cmd("RETR welcome.txt");
    assert!(reply.code >= 400, "RETR after a refused PORT: {reply:?}");
    listener.set_nonblocking(true).unwrap();
    thread::sleep(Duration::from_millis(300));
    assert!(
        listener.accept().is_err(),
        "the server connected to 127.0.0.2"
    );

    // PORT to the client's own address is fine.
    let own = TcpListener::bind("127.0.0.1:0").unwrap();
    c.expect(
        &format!("PORT {}", port_arg(own.local_addr().unwrap())),
        200,
    );
}

#[test]
fn allow_foreign_data_address_accepts_port_to_another_host_and_warns() {
    let server = TestServer::start(&["--allow-foreign-data-address"]);
    let warning = server
        .wait_for_log_line(Duration::from_secs(5), |l| l.contains("WARNING"))
        .unwrap_or_else(|| panic!("no WARNING on stderr:\n{}", server.stderr()));
    assert!(warning.to_ascii_lowercase().contains("port"), "{warning}");

    let mut c = Control::connect(server.addr());
    let greeting = c.read_reply();
    assert_eq!(greeting.code, 220, "{greeting:?}");
    assert!(greeting.text.contains("WARNING"), "greeting: {greeting:?}");
    assert!(
        greeting.text.contains('\n'),
        "multi-line greeting: {greeting:?}"
    );
    c.login("user1", "pass1");

    let listener = TcpListener::bind("127.0.0.2:0").unwrap();
    c.expect("TYPE I", 200);
    c.expect(
        &format!("PORT {}", port_arg(listener.local_addr().unwrap())),
        200,
    );
    let first = c.cmd("RETR welcome.txt");
    assert!(matches!(first.code, 125 | 150), "{first:?}");
    let (data, peer) = listener.accept().unwrap();
    assert_eq!(peer.ip().to_string(), "127.0.0.1");
    let bytes = read_for(data, Duration::from_secs(10));
    assert_eq!(bytes, fs::read(server.root(1).join("welcome.txt")).unwrap());
    let end = c.read_reply();
    assert_eq!(end.code, 226, "{end:?}");
}

/// Opens a TCP connection to `addr` from the local address `from`.
fn connect_from(from: &str, addr: SocketAddr) -> TcpStream {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    let from: SocketAddr = format!("{from}:0").parse().unwrap();
    socket.bind(&from.into()).unwrap();
    socket
        .connect_timeout(&addr.into(), Duration::from_secs(5))
        .unwrap();
    socket.into()
}

#[test]
fn passive_data_connection_from_another_address_gets_no_data() {
    let server = TestServer::start(&["--data-timeout-secs", "3"]);
    let mut c = server.login(1);
    c.expect("TYPE I", 200);
    let addr = c.pasv();
    let intruder = connect_from("127.0.0.2", addr);
    thread::sleep(Duration::from_millis(200));
    let legit = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).ok();
    let first = c.cmd("RETR welcome.txt");
    let expected = fs::read(server.root(1).join("welcome.txt")).unwrap();
    match first.code {
        125 | 150 => {
            let legit = legit.expect("the server sent 150 but refused our own connection");
            assert_eq!(read_for(legit, Duration::from_secs(10)), expected);
            let end = c.read_reply();
            assert_eq!(end.code, 226, "{end:?}");
        }
        code => assert!((400..500).contains(&code), "RETR: {first:?}"),
    }
    assert!(
        read_for(intruder, Duration::from_secs(1)).is_empty(),
        "data went to a connection from 127.0.0.2"
    );
}

#[test]
fn allow_foreign_passive_peer_gives_the_file_to_whoever_connects_first() {
    let server = TestServer::start(&["--allow-foreign-passive-peer", "--data-timeout-secs", "3"]);
    let mut c = server.login(1);
    c.expect("TYPE I", 200);
    let addr = c.pasv();
    let thief = connect_from("127.0.0.2", addr);
    thread::sleep(Duration::from_millis(200));
    let first = c.cmd("RETR welcome.txt");
    assert!(matches!(first.code, 125 | 150), "RETR: {first:?}");
    let expected = fs::read(server.root(1).join("welcome.txt")).unwrap();
    assert_eq!(
        read_for(thief, Duration::from_secs(10)),
        expected,
        "with the weakening the first connection, from 127.0.0.2, gets the file"
    );
    let end = c.read_reply();
    assert_eq!(end.code, 226, "{end:?}");
}

#[test]
fn login_lockout_after_repeated_failures_refuses_the_address_with_421() {
    let server = TestServer::start(&["--max-login-failures", "3", "--lockout-secs", "60"]);
    // A session that has sent USER before the lockout starts.
    let mut waiting = server.connect();
    waiting.expect("USER user2", 331);

    for _ in 0..3 {
        let mut c = server.connect();
        c.expect("USER user1", 331);
        c.expect("PASS wrong", 530);
    }

    let mut c = Control::connect(server.addr());
    let reply = c.read_reply();
    assert_eq!(reply.code, 421, "connection during lockout: {reply:?}");
    c.stream()
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    match c.try_read_reply() {
        Err(e)
            if matches!(
                e.kind(),
                ErrorKind::UnexpectedEof | ErrorKind::ConnectionReset
            ) => {}
        other => panic!("the server must close the connection after 421, got {other:?}"),
    }

    let reply = waiting.cmd("PASS pass2");
    assert_eq!(
        reply.code, 421,
        "PASS with the right password during lockout: {reply:?}"
    );
}

#[test]
fn failed_pass_is_answered_only_after_the_failure_delay() {
    let server = TestServer::start(&["--login-failure-delay-ms", "500"]);
    let mut c = server.connect();
    c.expect("USER user1", 331);
    let start = Instant::now();
    let reply = c.cmd("PASS wrong");
    let elapsed = start.elapsed();
    assert_eq!(reply.code, 530, "{reply:?}");
    assert!(
        elapsed >= Duration::from_millis(450),
        "530 came after {elapsed:?}, want >= 450 ms"
    );
}

#[test]
fn dropped_upload_leaves_neither_the_file_nor_a_temp_file() {
    let server = TestServer::start(&[]);
    let root = server.root(1);
    let mut c = server.login(1);
    c.expect("TYPE I", 200);
    let mut data = c.open_passive();
    let first = c.cmd("STOR dropped.bin");
    assert!(matches!(first.code, 125 | 150), "{first:?}");
    let bytes = random_bytes(4 * MIB);
    data.write_all(&bytes[..2 * MIB]).unwrap();
    data.flush().unwrap();

    // While the upload runs the bytes go to a temp file, invisible to listings.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !has_upload_temp_file(&root) && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(50));
    }
    assert!(
        has_upload_temp_file(&root),
        "no .ftplab-upload-* during the upload: {:?}",
        dir_names(&root)
    );
    assert!(
        !root.join("dropped.bin").exists(),
        "final name visible mid-upload"
    );
    let mut other = server.login(1);
    for verb in ["NLST", "LIST", "MLSD"] {
        let (first, listing) = other.listing(verb);
        assert!(matches!(first.code, 125 | 150), "{verb}: {first:?}");
        assert!(
            !listing.contains(".ftplab-upload-"),
            "{verb} shows the temp file:\n{listing}"
        );
        assert!(
            !listing.contains("dropped.bin"),
            "{verb} shows the unfinished file:\n{listing}"
        );
    }

    // Reset both connections (SO_LINGER 0 sends RST instead of FIN).
    SockRef::from(&data)
        .set_linger(Some(Duration::ZERO))
        .unwrap();
    SockRef::from(c.stream())
        .set_linger(Some(Duration::ZERO))
        .unwrap();
    drop(data);
    drop(c);

    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let names = dir_names(&root);
        assert!(!names.contains(&"dropped.bin".to_string()), "{names:?}");
        if !has_upload_temp_file(&root) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "temp file still there after 10 s: {names:?}"
        );
        thread::sleep(Duration::from_millis(100));
    }
    // Some more time, in case the server renames late.
    thread::sleep(Duration::from_millis(500));
    assert_eq!(dir_names(&root), ["welcome.txt"]);
}

/// Reads replies until one answers the trailing NOOP with 200; every earlier reply must be an
/// error (4xx/5xx). Returns the replies before the 200.
fn replies_until_noop_200(c: &mut Control) -> Vec<Reply> {
    let mut before = Vec::new();
    loop {
        let reply = c
            .try_read_reply()
            .unwrap_or_else(|e| panic!("session ended ({e}) after {before:?}"));
        if reply.code == 200 {
            return before;
        }
        assert!(
            reply.code >= 400,
            "garbage got a positive reply: {reply:?} after {before:?}"
        );
        before.push(reply);
    }
}

#[test]
fn ten_kib_command_line_gets_500_and_the_session_goes_on() {
    let server = TestServer::start(&[]);
    let mut c = server.login(1);
    let long = format!("NOOP {}\r\n", "A".repeat(10 * 1024));
    c.send_raw(long.as_bytes());
    let reply = c.read_reply();
    assert_eq!(reply.code, 500, "{reply:?}");
    c.expect("NOOP", 200);
    c.expect("PWD", 257);
}

#[test]
fn line_just_over_4096_bytes_gets_500_and_one_under_is_parsed() {
    let server = TestServer::start(&[]);
    let mut c = server.login(1);
    // 4096 bytes including CRLF: a normal (unknown) file name.
    let name = "n".repeat(4096 - "SIZE \r\n".len());
    assert_eq!(c.cmd(&format!("SIZE {name}")).code, 550);
    let name = "n".repeat(4100);
    assert_eq!(c.cmd(&format!("SIZE {name}")).code, 500);
    c.expect("NOOP", 200);
}

#[test]
fn invalid_utf8_gets_an_error_reply_and_the_session_goes_on() {
    let server = TestServer::start(&[]);
    let mut c = server.login(1);
    // No 0xFF here: that is Telnet's IAC (RFC 854), which the server rightly interprets.
    c.send_raw(b"RETR \xc3\x28\x80\xfe.txt\r\n");
    let reply = c.read_reply();
    assert!(matches!(reply.code, 500 | 501), "{reply:?}");
    c.expect("NOOP", 200);
}

#[test]
fn random_bytes_nul_lone_cr_and_telnet_iac_get_errors_and_noop_still_works() {
    let server = TestServer::start(&[]);
    let mut c = server.login(1);
    let mut rng = rand::rngs::StdRng::seed_from_u64(2577);
    let mut garbage = vec![0u8; 4096];
    rng.fill_bytes(&mut garbage);
    garbage.retain(|&b| b != 0xff);
    garbage.extend_from_slice(b"\r\n");

    let chunks: [&[u8]; 9] = [
        &garbage,
        b"RE\0TR nothing\r\n",
        b"\0\0\0\r\n",
        b"X\rY\r\n",
        b"AB\rCD\rEF\r\n",
        b"\xff\xffQWERTY\r\n",
        b"\xff\xfb\x01\xff\xfd\x03QWERTY\r\n",
        b"\x80\x81\x82\r\n",
        b"Z\r\n",
    ];
    for chunk in chunks {
        c.send_raw(chunk);
        c.send_raw(b"NOOP\r\n");
        replies_until_noop_200(&mut c);
    }
    c.expect("PWD", 257);
}

#[test]
fn auth_tls_and_auth_ssl_are_refused_and_login_still_works() {
    let server = TestServer::start(&[]);
    let mut c = server.connect();
    for cmd in ["AUTH TLS", "AUTH SSL"] {
        let reply = c.cmd(cmd);
        assert!((500..600).contains(&reply.code), "{cmd}: {reply:?}");
    }
    c.login("user1", "pass1");
}

#[test]
fn commands_before_login_are_refused_with_530() {
    let server = TestServer::start(&[]);
    let mut c = server.connect();
    for cmd in [
        "RETR welcome.txt",
        "LIST",
        "CWD /",
        "STOR x",
        "PASV",
        "MKD x",
    ] {
        assert_eq!(c.cmd(cmd).code, 530, "{cmd} before login");
    }
    assert_eq!(c.cmd("PASS pass1").code, 503, "PASS without USER");
    c.login("user1", "pass1");
}

#[test]
fn fourth_session_from_one_address_gets_421_with_max_sessions_per_address_3() {
    let server = TestServer::start(&["--max-sessions-per-address", "3"]);
    let sessions: Vec<Control> = (0..3).map(|_| server.connect()).collect();
    let mut fourth = Control::connect(server.addr());
    let reply = fourth.read_reply();
    assert_eq!(reply.code, 421, "{reply:?}");

    // From another address the limit is not reached yet.
    let mut other = Control::from_stream(connect_from("127.0.0.2", server.addr()));
    assert_eq!(other.read_reply().code, 220);

    // Once one session ends, the address may connect again.
    drop(sessions);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut c = Control::connect(server.addr());
        let reply = c.read_reply();
        if reply.code == 220 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still refused after closing: {reply:?}"
        );
        thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn third_session_gets_421_with_max_sessions_2() {
    let server = TestServer::start(&["--max-sessions", "2"]);
    let _a = Control::from_stream(connect_from("127.0.0.3", server.addr()));
    let _b = Control::from_stream(connect_from("127.0.0.4", server.addr()));
    thread::sleep(Duration::from_millis(200));
    let mut c = Control::connect(server.addr());
    let reply = c.read_reply();
    assert_eq!(reply.code, 421, "{reply:?}");
}
