//! weft's development tasks.
//!
//! ```text
//! cargo xtask ci                      every check CI runs (the README's test command)
//! cargo xtask no-tokio                protocol crates must not depend on tokio
//! cargo xtask fuzz TARGET --seconds N run one fuzz target (cargo-fuzz, nightly)
//! cargo xtask fuzz --all --seconds N  run every fuzz target for N seconds each
//! cargo xtask bench                   run the criterion benches and print a summary
//! cargo xtask interop [chromium|firefox|all] [--case NAME] [--role ROLE]
//!                                     the browser interop matrix (target/interop-matrix.md)
//! cargo xtask netns                   two peers behind iptables NATs in network namespaces
//! ```

#![allow(clippy::print_stdout, clippy::print_stderr, clippy::disallowed_methods)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};

mod netns;

/// The sans-IO protocol crates (directories under `crates/`): no tokio, no IO.
const PROTOCOL_CRATES: &[&str] = &[
    "proto",
    "stun",
    "turn",
    "ice",
    "dtls",
    "srtp",
    "rtp",
    "rtcp",
    "sdp",
    "sctp",
    "datachannel",
    "peerconnection",
];

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["ci", rest @ ..] => ci(rest),
        ["no-tokio"] => no_tokio(),
        ["fuzz", rest @ ..] => fuzz(rest),
        ["bench", rest @ ..] => bench(rest),
        ["interop", rest @ ..] => interop(rest).map(|_| ()),
        ["netns"] => netns::netns().map(|_| ()),
        _ => {
            eprintln!(
                "usage: cargo xtask ci [--no-fuzz] [--no-interop] [--no-netns] | no-tokio | fuzz (TARGET|--all|--build) [--seconds N] | bench [CRATE...] | interop [chromium|firefox|all] [--case NAME] [--role ROLE] | netns"
            );
            bail!("unknown task {args:?}")
        }
    }
}

pub(crate) fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_path_buf()
}

/// Runs a command in the workspace root, echoing it, and fails when it fails.
pub(crate) fn run(program: &str, args: &[&str], envs: &[(&str, &str)]) -> Result<()> {
    println!("\n==> {program} {}", args.join(" "));
    let t = Instant::now();
    let status = Command::new(program)
        .args(args)
        .envs(envs.iter().copied())
        .current_dir(root())
        .status()
        .with_context(|| format!("cannot run {program}"))?;
    println!(
        "<== {program} {} ({:.0} s)",
        args.first().unwrap_or(&""),
        t.elapsed().as_secs_f64()
    );
    if !status.success() {
        bail!("{program} {} failed: {status}", args.join(" "));
    }
    Ok(())
}

fn have_cargo_subcommand(name: &str) -> bool {
    Command::new("cargo")
        .args([name, "--version"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

fn ci(rest: &[&str]) -> Result<()> {
    let with_fuzz = !rest.contains(&"--no-fuzz");
    let t = Instant::now();
    run("cargo", &["fmt", "--all", "--", "--check"], &[])?;
    run(
        "cargo",
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--locked",
            "--",
            "-D",
            "warnings",
        ],
        &[],
    )?;
    no_tokio()?;
    run(
        "cargo",
        &["doc", "--workspace", "--no-deps", "--locked"],
        &[("RUSTDOCFLAGS", "-D warnings")],
    )?;
    if have_cargo_subcommand("deny") {
        run(
            "cargo",
            &["deny", "--locked", "check", "licenses", "bans", "sources"],
            &[],
        )?;
    } else if std::env::var_os("CI").is_some() {
        bail!("cargo-deny is missing under CI: .ci/run must install it");
    } else {
        println!("\n(skipped cargo deny: not installed; `cargo install cargo-deny --locked`)");
    }
    if with_fuzz {
        if !have_nightly() {
            // The nightly toolchain comes with the machine and cannot be installed here.
            println!("\n(skipped fuzz smoke: no nightly toolchain on this machine)");
        } else if have_fuzz() {
            // Every target builds, and each survives a short smoke campaign.
            fuzz(&["--all", "--seconds", "20"])?;
            if std::env::var_os("CI").is_some() {
                // The sanitizer builds are not needed again in this run; their gigabyte of
                // disk is, by the interop, netns and test stages.
                std::fs::remove_dir_all(root().join("fuzz/target"))
                    .context("removing fuzz/target after the smoke campaign")?;
            }
        } else if std::env::var_os("CI").is_some() {
            bail!("cargo-fuzz is missing under CI: .ci/run must install it");
        } else {
            println!("\n(skipped fuzz smoke: `cargo install cargo-fuzz --locked` to run it)");
        }
    }
    let interop_summary = if rest.contains(&"--no-interop") {
        "skipped (--no-interop)".to_string()
    } else {
        interop(&[])?
    };
    let netns_summary = if rest.contains(&"--no-netns") {
        "skipped (--no-netns)".to_string()
    } else {
        netns::netns()?
    };
    // Tests last, so that their summary closes the log.
    let (passed, failed, ignored) = test_workspace()?;
    println!(
        "\nxtask ci: every check passed in {:.0} s",
        t.elapsed().as_secs_f64()
    );
    println!("interop: {interop_summary}");
    println!("netns: {netns_summary}");
    println!("tests: {passed} passed, {failed} failed, {ignored} skipped");
    Ok(())
}

/// `cargo xtask interop [chromium|chrome|firefox|all]... [HARNESS ARGS]`: the interop matrix
/// (case x browser x role, `interop-tests/`), each browser against the native weft peer in a
/// private network namespace (`shared/interop/RECIPES.md`). Arguments starting with `--`
/// (`--case NAME`, `--role ROLE`, `--bulk-mib N`) go to the harness. The matrix is printed and
/// written to `<target dir>/interop-matrix.md`; any FAIL fails the task, after every browser
/// ran. Under CI a missing browser or a missing namespace fails the run; elsewhere it is
/// skipped with a note.
fn interop(rest: &[&str]) -> Result<String> {
    let mut browsers: Vec<&str> = Vec::new();
    let mut harness_args: Vec<&str> = Vec::new();
    let mut it = rest.iter();
    while let Some(a) = it.next() {
        match *a {
            "all" => browsers.extend(["chromium", "firefox"]),
            "chrome" | "chromium" => browsers.push("chromium"),
            "firefox" => browsers.push("firefox"),
            flag if flag.starts_with("--") => {
                harness_args.push(flag);
                if let Some(v) = it.next() {
                    harness_args.push(v);
                }
            }
            other => bail!("unknown browser {other} (chromium, firefox or all)"),
        }
    }
    if browsers.is_empty() {
        browsers = vec!["chromium", "firefox"];
    }
    let ci = std::env::var_os("CI").is_some();
    let target = build_interop_binaries()?;
    let bin = target.join("debug/weft-interop");
    // `weft echo` for the whip case.
    let weft_s = target.join("debug/weft").to_string_lossy().into_owned();
    let mut results = Vec::new();
    let mut rows = Vec::new();
    let mut failed = Vec::new();
    for b in browsers {
        let exe = match b {
            "chromium" => "/usr/bin/chromium",
            _ => "/usr/bin/firefox-esr",
        };
        if !Path::new(exe).exists() {
            if ci {
                bail!("{exe} is missing under CI: .ci/run must install it");
            }
            println!("\n(skipped interop with {b}: {exe} not installed)");
            results.push(format!("{b} skipped (not installed)"));
            continue;
        }
        let probe = Command::new("unshare").args(["--net", "true"]).status();
        if !probe.is_ok_and(|s| s.success()) {
            if ci {
                bail!("cannot create a network namespace under CI (root needed)");
            }
            println!("\n(skipped interop with {b}: `unshare --net` needs root)");
            results.push(format!("{b} skipped (no network namespace)"));
            continue;
        }
        let bin_s = bin.to_string_lossy().into_owned();
        let out = target.join(format!("interop-{b}.tsv"));
        let _ = std::fs::remove_file(&out);
        let out_s = out.to_string_lossy().into_owned();
        let mut args = vec![
            "--net",
            "--",
            "sh",
            "-c",
            "ip link set lo up && exec \"$@\"",
            "run",
            &bin_s,
            "--browser",
            b,
            "--out",
            &out_s,
            "--weft",
            &weft_s,
        ];
        args.extend(harness_args.iter().copied());
        let r = run("unshare", &args, &[]);
        let text = std::fs::read_to_string(&out).unwrap_or_default();
        let mine: Vec<Vec<String>> = text
            .lines()
            .map(|l| l.split('\t').map(str::to_owned).collect())
            .filter(|f: &Vec<String>| f.len() == 6)
            .collect();
        let count = |st: &str| mine.iter().filter(|f| f[3] == st).count();
        results.push(format!(
            "{b} {} pass, {} gap, {} FAIL",
            count("pass"),
            count("gap"),
            count("FAIL")
        ));
        if r.is_err() || mine.is_empty() {
            failed.push(b);
        }
        rows.extend(mine);
    }
    let md = matrix(&rows);
    let path = target.join("interop-matrix.md");
    std::fs::write(&path, &md).with_context(|| format!("writing {}", path.display()))?;
    println!("\n{md}\nmatrix written to {}", path.display());
    if !failed.is_empty() {
        bail!("interop failed with {}", failed.join(", "));
    }
    Ok(results.join(", "))
}

/// The matrix as markdown: one row per case, one column per (browser, role), then the notes
/// of every cell that is not a plain pass.
fn matrix(rows: &[Vec<String>]) -> String {
    use std::fmt::Write as _;
    let mut cases: Vec<&str> = Vec::new();
    let mut cols: Vec<(&str, &str)> = Vec::new();
    for r in rows {
        if !cases.contains(&r[1].as_str()) {
            cases.push(&r[1]);
        }
        if !cols.contains(&(r[0].as_str(), r[2].as_str())) {
            cols.push((&r[0], &r[2]));
        }
    }
    let mut md = String::from("| case |");
    for (b, role) in &cols {
        let _ = write!(md, " {b} {role} |");
    }
    md.push_str("\n|---|");
    md.push_str(&"---|".repeat(cols.len()));
    md.push('\n');
    let mut notes = String::new();
    for c in &cases {
        let _ = write!(md, "| {c} |");
        for (b, role) in &cols {
            match rows
                .iter()
                .find(|r| r[0] == *b && r[1] == *c && r[2] == *role)
            {
                Some(r) => {
                    let secs = r[4].parse::<f64>().unwrap_or(0.0) / 1000.0;
                    let _ = write!(md, " {} {secs:.1} s |", r[3]);
                    let _ = writeln!(notes, "- {b} {c} {role}: {} {}", r[3], r[5]);
                }
                None => md.push_str(" - |"),
            }
        }
        md.push('\n');
    }
    let _ = write!(md, "\n{notes}");
    md
}

/// Builds the interop harness, the NAT peer and the `weft` command (debug) and returns the
/// target directory they are in.
pub(crate) fn build_interop_binaries() -> Result<PathBuf> {
    run(
        "cargo",
        &[
            "build",
            "--locked",
            "-p",
            "weft-interop-tests",
            "-p",
            "weft-cli",
        ],
        &[],
    )?;
    Ok(std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target")))
}

/// `cargo test --workspace`, echoed line by line, with the `test result:` lines added up.
fn test_workspace() -> Result<(u64, u64, u64)> {
    use std::io::{BufRead, BufReader};
    println!("\n==> cargo test --workspace --locked");
    let mut child = Command::new("cargo")
        .args(["test", "--workspace", "--locked"])
        .current_dir(root())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .context("cannot run cargo test")?;
    let stdout = child.stdout.take().context("cargo test has no stdout")?;
    let (mut passed, mut failed, mut ignored) = (0, 0, 0);
    for line in BufReader::new(stdout).lines() {
        let line = line?;
        println!("{line}");
        if let Some(rest) = line.strip_prefix("test result: ") {
            for part in rest.split(['.', ';']) {
                let mut words = part.split_whitespace();
                if let (Some(n), Some(what)) = (words.next(), words.next())
                    && let Ok(n) = n.parse::<u64>()
                {
                    match what {
                        "passed" => passed += n,
                        "failed" => failed += n,
                        "ignored" => ignored += n,
                        _ => {}
                    }
                }
            }
        }
    }
    let status = child.wait()?;
    if !status.success() || failed > 0 {
        bail!("cargo test failed: {failed} tests failed ({status})");
    }
    if passed == 0 {
        bail!("cargo test ran no test");
    }
    Ok((passed, failed, ignored))
}

/// `cargo tree -e normal` of every protocol crate must not contain tokio (STYLE.md §2).
fn no_tokio() -> Result<()> {
    println!("\n==> no-tokio check");
    let mut checked = 0;
    for dir in PROTOCOL_CRATES {
        if !root().join("crates").join(dir).join("Cargo.toml").exists() {
            continue;
        }
        let package = format!("weft-{dir}");
        let out = Command::new("cargo")
            .args([
                "tree", "--locked", "-p", &package, "-e", "normal", "--prefix", "none",
            ])
            .current_dir(root())
            .output()
            .context("cannot run cargo tree")?;
        if !out.status.success() {
            bail!(
                "cargo tree -p {package} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let tree = String::from_utf8_lossy(&out.stdout);
        let bad: Vec<&str> = tree
            .lines()
            .filter(|l| {
                let name = l.split_whitespace().next().unwrap_or("");
                name == "tokio" || name.starts_with("tokio-") || name == "async-std"
            })
            .collect();
        if !bad.is_empty() {
            bail!("{package} depends on an async runtime: {bad:?}");
        }
        checked += 1;
    }
    println!("<== no-tokio: {checked} protocol crates checked, none depends on tokio");
    Ok(())
}

fn have_nightly() -> bool {
    Command::new("cargo")
        .args(["+nightly", "--version"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

fn have_fuzz() -> bool {
    Command::new("cargo")
        .args(["+nightly", "fuzz", "--version"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// The fuzz targets: every file in `fuzz/fuzz_targets/`.
fn fuzz_targets() -> Result<Vec<String>> {
    let mut v: Vec<String> = std::fs::read_dir(root().join("fuzz/fuzz_targets"))?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            e.path()
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
        })
        .collect();
    v.sort();
    Ok(v)
}

fn fuzz(rest: &[&str]) -> Result<()> {
    let mut seconds = 60u64;
    let mut targets = Vec::new();
    let mut build_only = false;
    let mut it = rest.iter();
    while let Some(a) = it.next() {
        match *a {
            "--seconds" => {
                seconds = it
                    .next()
                    .context("--seconds needs a number")?
                    .parse()
                    .context("--seconds needs a number")?
            }
            "--all" => targets = fuzz_targets()?,
            "--build" => build_only = true,
            t => targets.push(t.to_string()),
        }
    }
    if targets.is_empty() && !build_only {
        bail!(
            "name a fuzz target ({}) or --all",
            fuzz_targets()?.join(", ")
        );
    }
    let fuzz_dir = root().join("fuzz");
    let dir = fuzz_dir.to_string_lossy().to_string();
    run(
        "cargo",
        &["+nightly", "fuzz", "build", "--fuzz-dir", &dir],
        &[],
    )?;
    if build_only {
        return Ok(());
    }
    for t in &targets {
        let corpus = fuzz_dir.join("corpus").join(t);
        std::fs::create_dir_all(&corpus)?;
        let seeds = fuzz_dir.join("seeds").join(t);
        let mut args = vec![
            "+nightly".to_string(),
            "fuzz".into(),
            "run".into(),
            "--fuzz-dir".into(),
            dir.clone(),
            t.clone(),
            corpus.to_string_lossy().into(),
        ];
        if seeds.exists() {
            args.push(seeds.to_string_lossy().into());
        }
        args.extend([
            "--".into(),
            format!("-max_total_time={seconds}"),
            "-print_final_stats=1".into(),
        ]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run("cargo", &args, &[])?;
        println!("fuzz {t}: {seconds} s without a crash");
    }
    Ok(())
}

fn bench(rest: &[&str]) -> Result<()> {
    let crates: Vec<String> = if rest.is_empty() {
        vec![
            "weft-stun".into(),
            "weft-dtls".into(),
            "weft-srtp".into(),
            "weft-sdp".into(),
            "weft-sctp".into(),
            "weft-rtcp".into(),
            "weft-ice".into(),
            "weft-rtp".into(),
            "weft".into(),
        ]
    } else {
        rest.iter().map(|s| s.to_string()).collect()
    };
    for c in &crates {
        run("cargo", &["bench", "--locked", "-p", c], &[])?;
    }
    let dir = root().join("target/criterion");
    println!("\nbench summary (criterion mean per operation)");
    let mut rows = Vec::new();
    collect_estimates(&dir, &dir, &mut rows)?;
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, ns) in rows {
        println!(
            "  {name:<55} {ns:>10.1} ns   {:>12.0} ops/s",
            1e9 / ns.max(f64::MIN_POSITIVE)
        );
    }
    Ok(())
}

/// Finds every `new/estimates.json` below `dir` and reads its mean.
fn collect_estimates(base: &Path, dir: &Path, rows: &mut Vec<(String, f64)>) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            if p.file_name().is_some_and(|n| n == "new") {
                let est = p.join("estimates.json");
                if let Ok(text) = std::fs::read_to_string(&est)
                    && let Some(ns) = mean_point_estimate(&text)
                {
                    let name = p
                        .parent()
                        .and_then(|q| q.strip_prefix(base).ok())
                        .map(|q| q.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    rows.push((name, ns));
                }
            } else {
                collect_estimates(base, &p, rows)?;
            }
        }
    }
    Ok(())
}

/// The `mean.point_estimate` of a criterion `estimates.json`, without a JSON dependency.
fn mean_point_estimate(json: &str) -> Option<f64> {
    let mean = &json[json.find("\"mean\"")?..];
    let pe = &mean[mean.find("\"point_estimate\":")? + "\"point_estimate\":".len()..];
    let end = pe.find([',', '}'])?;
    pe[..end].trim().parse().ok()
}
