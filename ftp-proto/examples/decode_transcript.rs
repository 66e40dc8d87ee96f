//! Decodes both sides of a short FTP control conversation with `ftp-proto`, the way the
//! inspector does with reassembled TCP bytes, and prints what each line means.
//!
//! Run: `cargo run -p ftp-proto --example decode_transcript`

use ftp_proto::line::{LineStatus, decode_line, next_line};
use ftp_proto::{Command, MAX_LINE_LEN, ReplyDecoder, host_port};

const CLIENT: &[u8] = b"USER user1\r\nPASS pass1\r\nPASV\r\nRETR secret.txt\r\nQUIT\r\n";
const SERVER: &[u8] = b"220 ftplab ftp-server ready.\r\n331 Password required for user1.\r\n\
230 Login successful.\r\n227 Entering Passive Mode (127,0,0,1,195,80).\r\n\
150 Opening BINARY mode data connection for /secret.txt (42 bytes).\r\n\
226 Transfer complete.\r\n221 Goodbye.\r\n";

fn main() {
    println!("client → server:");
    let mut rest = CLIENT;
    while let LineStatus::Complete { content, consumed } = next_line(rest, MAX_LINE_LEN) {
        match decode_line(&rest[..content]).map(|text| Command::parse(&text)) {
            Ok(Ok(Command::Pass { password })) => {
                println!("  PASS  (the password, in clear: {password:?})")
            }
            Ok(Ok(command)) => println!("  {command}"),
            Ok(Err(error)) => println!("  bad command: {error}"),
            Err(error) => println!("  bad line: {error}"),
        }
        rest = &rest[consumed..];
    }

    println!("server → client:");
    let decoder = ReplyDecoder::default();
    let mut rest = SERVER;
    while let Ok(Some((reply, used))) = decoder.decode(rest) {
        let meaning = reply.code.meaning().unwrap_or("(not in RFC 959)");
        println!("  {} {:<60} ← {meaning}", reply.code, reply.text());
        if reply.code.0 == 227
            && let Ok(addr) = host_port::parse_pasv_reply(&reply.text())
        {
            println!("      the data connection will go to {addr}");
        }
        rest = &rest[used..];
    }
}
