//! Lab 4: attacks from RFC 2577: brute force (§4, "Protecting Passwords") and the bounce attack
//! (§2 and §3, "Protecting Against the Bounce Attack").

use super::{
    Action, Answer, ClientRun, Expectation, Expected, Lab, Level, NOT_THIS_CAPTURE, Question, Seen,
    ServerSpec, announced_port, client, expect, number_or_unknown, q,
};
use crate::events::{Events, number, text};
use crate::packets::Packet;
use crate::seed::Secrets;
use serde_json::Value;

pub(super) static LAB: Lab = Lab {
    number: 4,
    servers,
    script,
    observe_step: 5,
    extract: false,
    expect: expectations,
    questions: QUESTIONS,
    answers,
    secret_password: true,
    third_party: true,
};

/// The account the bounce steps log in with: a demo user of `ftp-server init --demo`, so the lab
/// user's password stays for the word list to find.
pub const BOUNCE_USER: &str = "user2";
/// Its password.
pub const BOUNCE_PASSWORD: &str = "pass2";
/// The third party's address: another loopback address than the client's 127.0.0.1.
pub const THIRD_PARTY_IP: &str = "127.0.0.3";
/// The `-c` commands of a bounce: PORT naming the third party, then a transfer that makes the
/// server connect to it (the stage fills in `{{bounce}}`).
pub const BOUNCE_COMMANDS: &str = "quote PORT {{bounce}}; quote LIST";

static QUESTIONS: &[Question] = &[
    Question {
        key: "found_password",
        question: "Which password did the word list find on the weak server? (exactly: case matters)",
        level: Level::Table,
        hints: &[
            "Step 3's loop printed it; the inspector's credential rows show which guess was accepted.",
            "`inspector read CAPTURE --json | grep credential`: the one with \"accepted\":true for your user \
             on the weak server's port.",
        ],
    },
    Question {
        key: "failed_before_success",
        question: "How many guesses did the weak server refuse in that run before it accepted one?",
        level: Level::Table,
        hints: &[
            "Count the refused credentials of your user on the weak server's port, before the accepted one.",
            "Only one run of the loop counts: if you ran it twice, count from the login accepted before it.",
        ],
    },
    Question {
        key: "lockout_code",
        question: "Which reply code did the safe server send once it locked the attacker out?",
        level: Level::Table,
        hints: &[
            "Step 4: after three refused passwords, every new connection to the safe server got the same reply.",
            "It is the first reply on those connections, instead of the 220 greeting (family 4yz).",
        ],
    },
    Question {
        key: "bounce_accepted_code",
        question: "Which reply code did the weak server give the PORT naming the third party?",
        level: Level::Table,
        hints: &[
            "Step 1's session: the reply to PORT.",
            "The inspector's table, or `grep PORT` in its JSON, then the next reply.",
        ],
    },
    Question {
        key: "bounce_refused_code",
        question: "And the safe server?",
        level: Level::Table,
        hints: &[
            "Step 2's session: the reply to PORT.",
            "RFC 2577 §3 asks servers to refuse such a PORT; the reply says why.",
        ],
    },
    Question {
        key: "bounce_syn_frame",
        question: "In which frame did the weak server open its connection to the third party (the SYN)?",
        level: Level::Packet,
        hints: &[
            "After LIST, the server connects to the address PORT named: the third party.",
            "`tshark -r CAPTURE -Y 'ip.dst == 127.0.0.3 && tcp.flags.syn == 1 && tcp.flags.ack == 0'` \
             (`-d tcp.port==PORT,ftp` is not needed here: it is the data connection), or \
             `inspector frame CAPTURE N` on the frames after the LIST.",
        ],
    },
    Question {
        key: "bounce_syn_src_port",
        question: "From which TCP source port did the weak server connect?",
        level: Level::Packet,
        hints: &[
            "The same SYN's TCP header.",
            "Source Port in Wireshark's details pane, or `inspector frame CAPTURE N`. Is it port 20, \
             as RFC 959 §3.2 suggests for active mode, or an ephemeral one?",
        ],
    },
];

fn servers(_: &Secrets) -> Vec<ServerSpec> {
    let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect();
    vec![
        ServerSpec {
            label: "weak server (no lockout, no delay, bounce allowed)",
            args: args(&[
                "--max-login-failures",
                "0",
                "--max-user-login-failures",
                "0",
                "--login-failure-delay-ms",
                "0",
                "--allow-foreign-data-address",
            ]),
        },
        ServerSpec {
            label: "safe server (lockout after 3 failures, the default bounce protection)",
            args: args(&[
                "--max-login-failures",
                "3",
                "--lockout-secs",
                "60",
                "--login-failure-delay-ms",
                "200",
            ]),
        },
    ]
}

fn brute_force(s: &Secrets, server: usize) -> Vec<Action> {
    s.words
        .iter()
        .take(s.hit + 1)
        .enumerate()
        // On the safe server the lockout comes before the right word.
        .map(|(i, w)| client(server, w, "pwd", server == 0 && i == s.hit))
        .collect()
}

fn bounce(server: usize, expect_ok: bool) -> Action {
    Action::Client(ClientRun {
        server,
        user: Some(BOUNCE_USER),
        password: BOUNCE_PASSWORD.to_string(),
        commands: BOUNCE_COMMANDS.to_string(),
        args: Vec::new(),
        expect_ok,
    })
}

fn script(s: &Secrets, step: usize) -> Vec<Action> {
    match step {
        1 => vec![bounce(0, true)],
        2 => vec![bounce(1, false)],
        3 => brute_force(s, 0),
        4 => brute_force(s, 1),
        _ => Vec::new(),
    }
}

fn bounce_ports(ev: &Events) -> impl Iterator<Item = &Value> + '_ {
    let prefix = format!("{},", THIRD_PARTY_IP.replace('.', ","));
    ev.commands("PORT")
        .filter(move |c| text(c, "arg").is_some_and(|a| a.starts_with(&prefix)))
}

fn accepted_bounce(ev: &Events) -> Option<&Value> {
    bounce_ports(ev).find(|c| {
        ev.reply_to(c)
            .and_then(|r| number(r, "code"))
            .is_some_and(|c| (200..300).contains(&c))
    })
}

fn refused_bounce(ev: &Events) -> Option<i64> {
    bounce_ports(ev)
        .filter_map(|c| ev.reply_to(c).and_then(|r| number(r, "code")))
        .find(|c| *c >= 400)
}

/// The SYN the weak server sent to the third party after the accepted bounce PORT.
fn bounce_syn(seen: &Seen) -> Option<&Packet> {
    let port = accepted_bounce(&seen.events)?;
    let to_port = announced_port(text(port, "arg")?)?;
    let after = u64::try_from(number(port, "frame")?).ok()?;
    let ip: std::net::IpAddr = THIRD_PARTY_IP.parse().ok()?;
    seen.packets
        .syn_to(std::net::SocketAddr::new(ip, to_port), after, u64::MAX)
}

fn accepted(c: &Value) -> Option<bool> {
    c.get("accepted").and_then(Value::as_bool)
}

/// Refused guesses in the run that found the password: on the server of the first accepted
/// login of this user with its password that came after refusals, the refused logins of this
/// user on that server since the previous accepted login of this user there.
fn failures_before_success(ev: &Events, s: &Secrets) -> Option<i64> {
    let mine = |c: &&Value| text(c, "user") == Some(&s.user);
    let creds: Vec<&Value> = ev.credentials().filter(mine).collect();
    let mut refused_since: std::collections::HashMap<&str, i64> = Default::default();
    for c in creds {
        let server = text(c, "server").unwrap_or("");
        match accepted(c) {
            Some(false) => *refused_since.entry(server).or_default() += 1,
            Some(true) => {
                let n = refused_since.insert(server, 0).unwrap_or(0);
                if n > 0 && text(c, "password") == Some(&s.password) {
                    return Some(n);
                }
            }
            None => {}
        }
    }
    None
}

fn expectations(seen: &Seen, s: &Secrets) -> Vec<Expectation> {
    let ev = &seen.events;
    vec![
        expect(
            "your capture has the weak server accepting a PORT to the third party",
            accepted_bounce(ev).is_some(),
        ),
        expect(
            "the weak server connected to the third party",
            bounce_syn(seen).is_some(),
        ),
        expect(
            "your capture has the safe server refusing it",
            refused_bounce(ev).is_some(),
        ),
        expect(
            "the inspector reported a bounce attack",
            ev.has_finding("bounce-attack"),
        ),
        expect(
            "the word list found your password on the weak server",
            failures_before_success(ev, s).is_some(),
        ),
        expect(
            "the safe server locked the attacker out",
            ev.replies(421).next().is_some(),
        ),
        expect(
            "the inspector reported a brute-force attack",
            ev.has_finding("brute-force"),
        ),
    ]
}

fn answers(seen: &Seen, s: &Secrets) -> Vec<Answer> {
    let ev = &seen.events;
    let syn = bounce_syn(seen);
    vec![
        q(QUESTIONS, "found_password").answer(if failures_before_success(ev, s).is_some() {
            Expected::Exact(s.password.clone())
        } else {
            Expected::Unknown(NOT_THIS_CAPTURE)
        }),
        q(QUESTIONS, "failed_before_success")
            .answer(number_or_unknown(failures_before_success(ev, s))),
        q(QUESTIONS, "lockout_code").answer(number_or_unknown(
            ev.replies(421).next().and_then(|r| number(r, "code")),
        )),
        q(QUESTIONS, "bounce_accepted_code").answer(number_or_unknown(
            accepted_bounce(ev)
                .and_then(|c| ev.reply_to(c))
                .and_then(|r| number(r, "code")),
        )),
        q(QUESTIONS, "bounce_refused_code").answer(number_or_unknown(refused_bounce(ev))),
        q(QUESTIONS, "bounce_syn_frame").answer(number_or_unknown(
            syn.and_then(|p| i64::try_from(p.frame).ok()),
        )),
        q(QUESTIONS, "bounce_syn_src_port")
            .answer(number_or_unknown(syn.map(|p| i64::from(p.src.port())))),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cred(user: &str, password: &str, server: &str, ok: bool) -> String {
        format!(
            r#"{{"kind":"credential","frame":1,"session":1,"user":"{user}","password":"{password}","server":"{server}","accepted":{ok}}}"#
        )
    }

    #[test]
    fn brute_force_counts_are_per_run_and_per_server() {
        let s = Secrets::new(None);
        let mut lines = Vec::new();
        // Two runs on the weak server (3 and 2 refusals), refusals on the safe one mixed in.
        for (n, server) in [(3, "w"), (2, "w")] {
            for _ in 0..n {
                lines.push(cred("user1", "x", server, false));
                lines.push(cred("user1", "y", "safe", false));
            }
            lines.push(cred("user1", "pass1", server, true));
        }
        let ev = Events::parse(&lines.join("\n"));
        assert_eq!(failures_before_success(&ev, &s), Some(3));
    }
}
