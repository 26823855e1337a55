//! Watching the relayer processes from outside: their metrics and what `/proc` says of them.

use eyre::WrapErr;

/// The value of an unlabelled series in a Prometheus text exposition (0 when absent).
pub(crate) fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|line| {
            let rest = line.strip_prefix(name)?.strip_prefix(' ')?;
            rest.trim().parse().ok()
        })
        .unwrap_or(0.0)
}

/// User and system CPU seconds of a process so far.
pub(crate) fn proc_cpu_secs(pid: u32) -> eyre::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .wrap_err("reading a relayer's /proc stat")?;
    // fields after the command (which may hold spaces) start at field 3, `state`
    let after = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .unwrap_or_default();
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| -> eyre::Result<f64> {
        Ok(fields
            .get(i)
            .ok_or_else(|| eyre::eyre!("short /proc stat"))?
            .parse::<f64>()?)
    };
    // utime and stime are fields 14 and 15: 11 and 12 after `state`
    Ok((ticks(11)? + ticks(12)?) / clock_ticks())
}

pub(crate) fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// The largest resident set a process had (`VmHWM`), in MiB.
pub(crate) fn proc_peak_rss_mib(pid: u32) -> eyre::Result<f64> {
    proc_status_mib(pid, "VmHWM:")
}

/// The resident set of a process now (`VmRSS`), in MiB.
pub(crate) fn proc_rss_mib(pid: u32) -> eyre::Result<f64> {
    proc_status_mib(pid, "VmRSS:")
}

fn proc_status_mib(pid: u32, field: &str) -> eyre::Result<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .wrap_err("reading a relayer's /proc status")?;
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| eyre::eyre!("no {field} in /proc/{pid}/status"))?;
    Ok(kib / 1024.0)
}
