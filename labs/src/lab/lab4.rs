//! Lab 4: attacks from RFC 2577: brute force (§4, §5) and the bounce attack (§3).

use super::{
    Action, Answer, Expectation, Expected, Lab, NOT_THIS_CAPTURE, Seen, ServerSpec, answer, client,
    expect,
};
use crate::events::{Events, number, text};
use crate::seed::Secrets;
use serde_json::Value;

pub(super) static LAB: Lab = Lab {
    number: 4,
    servers,
    script,
    observe_step: 5,
    extract: false,
    expect: expectations,
    answers,
};

/// A PORT naming another host than the client (127.0.0.2, still loopback): a bounce attempt.
pub(super) const BOUNCE: &str = "quote PORT 127,0,0,2,200,10";
const BOUNCE_ARG: &str = "127,0,0,2,";

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

fn script(s: &Secrets, step: usize) -> Vec<Action> {
    match step {
        1 => vec![client(0, &s.password, BOUNCE, true)],
        2 => vec![client(1, &s.password, BOUNCE, false)],
        3 => brute_force(s, 0),
        4 => brute_force(s, 1),
        _ => Vec::new(),
    }
}

fn accepted_bounce(ev: &Events) -> Option<i64> {
    bounce_codes(ev).find(|c| (200..300).contains(c))
}

fn refused_bounce(ev: &Events) -> Option<i64> {
    bounce_codes(ev).find(|c| *c >= 400)
}

fn bounce_codes(ev: &Events) -> impl Iterator<Item = i64> + '_ {
    ev.commands("PORT")
        .filter(|c| text(c, "arg").is_some_and(|a| a.starts_with(BOUNCE_ARG)))
        .filter_map(|c| ev.reply_to(c).and_then(|r| number(r, "code")))
}

/// Refused guesses before the word list's hit: the most refused logins of this user before an
/// accepted one on the same server (the bounce steps log in too, before any guessing).
fn failures_before_success(ev: &Events, s: &Secrets) -> Option<i64> {
    let refused_before = |ok: &Value| {
        let server = text(ok, "server");
        let frame = number(ok, "frame")?;
        let n = ev
            .credentials()
            .filter(|c| {
                text(c, "server") == server
                    && text(c, "user") == Some(&s.user)
                    && number(c, "frame").is_some_and(|f| f < frame)
                    && c.get("accepted").and_then(Value::as_bool) == Some(false)
            })
            .count();
        i64::try_from(n).ok()
    };
    ev.credentials()
        .filter(|c| {
            text(c, "user") == Some(&s.user)
                && text(c, "password") == Some(&s.password)
                && c.get("accepted").and_then(Value::as_bool) == Some(true)
        })
        .filter_map(refused_before)
        .max()
        .filter(|n| *n > 0)
}

fn expectations(seen: &Seen, s: &Secrets) -> Vec<Expectation> {
    let ev = &seen.events;
    vec![
        expect(
            "the weak server accepts PORT to 127.0.0.2 (200)",
            accepted_bounce(ev) == Some(200),
        ),
        expect(
            "the safe server refuses it (504)",
            refused_bounce(ev) == Some(504),
        ),
        expect("the finding bounce-attack", ev.has_finding("bounce-attack")),
        expect(
            format!("the word list finds `{}` on the weak server", s.password),
            failures_before_success(ev, s).is_some(),
        ),
        expect(
            "the safe server locks the attacker out (421)",
            ev.replies(421).next().is_some(),
        ),
        expect("the finding brute-force", ev.has_finding("brute-force")),
    ]
}

fn answers(ev: &Events, s: &Secrets) -> Vec<Answer> {
    let n = super::number_or_unknown;
    vec![
        answer(
            "found_password",
            "Which password did the word list find on the weak server?",
            if failures_before_success(ev, s).is_some() {
                Expected::Text(s.password.clone())
            } else {
                Expected::Unknown(NOT_THIS_CAPTURE)
            },
        ),
        answer(
            "failed_before_success",
            "How many guesses did the weak server refuse before it?",
            n(failures_before_success(ev, s)),
        ),
        answer(
            "lockout_code",
            "Which reply code did the safe server send once it locked the attacker out?",
            n(ev.replies(421).next().and_then(|r| number(r, "code"))),
        ),
        answer(
            "bounce_accepted_code",
            "Which reply code did the weak server give the bounce PORT?",
            n(accepted_bounce(ev)),
        ),
        answer(
            "bounce_refused_code",
            "And the safe server?",
            n(refused_bounce(ev)),
        ),
    ]
}
