# ftplab's everyday tasks. `just` lists them; `just lab1` starts lab 1.
# No `just`? `cargo install just` (or run target/debug/ftplab-lab directly).

set positional-arguments

runner := "target/debug/ftplab-lab"

# List the recipes
default:
    @just --list --unsorted

# Lab 0: the doctor, and why sniffing needs CAP_NET_RAW (extra args pass through: --offline, --auto)
lab0 *args: _build
    @{{runner}} lab 0 "$@"

# Lab 1: passwords on the wire (--offline reads captures/lab1.pcapng; --student TOKEN; --seed N; --step K; --auto)
lab1 *args: _build
    @{{runner}} lab 1 "$@"

# Lab 2: reading the conversation: commands, reply codes and their families
lab2 *args: _build
    @{{runner}} lab 2 "$@"

# Lab 3: the data connection: active vs passive, rebuilding a file, ASCII vs binary
lab3 *args: _build
    @{{runner}} lab 3 "$@"

# Lab 4: attacks from RFC 2577: brute force and the bounce attack (loopback only)
lab4 *args: _build
    @{{runner}} lab 4 "$@"

# Lab 5: the fix: FTPS (AUTH TLS, PROT P/C), what it still leaks, and a key log that undoes it
lab5 *args: _build
    @{{runner}} lab 5 "$@"

# Lab 6: hub, switch, ARP spoofing, port stealing, bounce (root: network namespaces; or --offline); `sudo just lab6 shell eve` (client, server, eve, victim): a shell on a host while it runs
lab6 *args: _build
    #!/usr/bin/env bash
    set -euo pipefail
    if [ "${1:-}" != shell ]; then exec {{runner}} lab 6 "$@"; fi
    case "${2:-}" in
      client|server|eve|victim) ;;
      *) echo "which host? sudo just lab6 shell client|server|eve|victim" >&2; exit 2 ;;
    esac
    if ! ip netns list 2>/dev/null | grep -q "^ftplab6-$2\b"; then
      echo "lab 6 is not running: start it with \`sudo just lab6\` in another terminal, then run this again" >&2
      exit 1
    fi
    echo "a shell on lab 6's host $2 (exit to leave); try: ip -br addr, ip neigh"
    exec ip netns exec "ftplab6-$2" "${SHELL:-bash}"

# Lab 7, the capstone: a forensic case (live: the runner plays an incident and captures it for you; --offline)
lab7 *args: _build
    @{{runner}} lab 7 "$@"

# Check your answers in my-work/LAB/answers.toml (made from labs/answers/LAB.toml; lab7: report.md), e.g. `just check lab1`
check lab *args: _build
    @{{runner}} check "$@"

# The file to hand in for a lab (answers, your capture, its sha256, signed with your token), e.g. `just submit lab1`
submit lab *args: _build
    @{{runner}} submit "$@"

# A hint for question Q of a lab, e.g. `just hint lab1 3` (again for the next hint; never the answer)
hint lab *args: _build
    @{{runner}} hint "$@"

# What this machine allows: toolchain, loopback, capture privilege, shipped captures
doctor: _build
    @{{runner}} doctor

# Remake captures/lab0.pcapng … lab7.pcapng (+ lab5.keys) (root, tcpdump, editcap; --seed N --out DIR for teachers)
captures *args: _build
    @{{runner}} captures "$@"

# For teachers: `just teacher init|roster|verify|grade|captures|provision …` (README "For teachers")
teacher *args: _build
    @{{runner}} teacher "$@"

# Run every test (the README's test command)
test *args:
    cargo test --workspace "$@"

# The API documentation of every crate (target/doc), broken links and bad markup as errors
doc *args:
    RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps "$@"

# Licenses, bans, sources and advisories of the dependency tree (deny.toml; advisories need GitHub)
deny *args:
    cargo deny check "$@"

# Fuzz one target for 60 s, e.g. `just fuzz command_parse` (needs nightly and `cargo install cargo-fuzz`)
fuzz name *args:
    name="$1"; shift; cd fuzz && cargo +nightly fuzz run "$name" -- -max_total_time=60 "$@"

# Benchmark ftp-server against vsftpd and pyftpdlib (bench/serve.sh; root)
bench *args:
    bench/serve.sh "$@"

# Benchmark FTPS: ftp-server against vsftpd and pyftpdlib with TLS, interleaved (bench/ftps.sh; root)
bench-tls:
    bench/ftps.sh

# Build the lab runner and the programs it starts (says what to do without a toolchain); cargo
# shows its own progress (one `Finished` line once everything is built)
_build:
    @command -v cargo >/dev/null 2>&1 || { echo "cargo not found: install Rust from https://rustup.rs (then open a new terminal)" >&2; exit 127; }
    @[ -x {{runner}} ] || echo "Building the lab programs (ftplab-lab, ftp-server, ftp-client, inspector): the first build takes a few minutes…" >&2
    @cargo build -p labs -p ftp-server -p ftp-client -p inspector
