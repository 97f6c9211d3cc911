//! CPU time from `/proc`: of one process ([`cpu_time`]: user + system, every thread), and
//! of a process tree ([`tree_cpu_time`]: a PostgreSQL postmaster, its backends and the
//! backends that already exited). A run reads either at the end of its warm-up and at its
//! end, and divides the difference by the responses: CPU per request, what a server costs,
//! less sensitive than requests/s to whatever else the machine is running.

use std::time::Duration;

/// User + system CPU time of process `pid`, if `/proc` is readable.
pub fn cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let ticks = ProcStat::parse(&stat)?.own_ticks();
    Some(ticks_to_duration(ticks))
}

/// CPU time of process `root` and of every descendant, living or exited: for each process
/// of the tree its user + system time and the time of the children it has waited for
/// (`cutime + cstime`). A PostgreSQL postmaster waits for each backend that ends, so the
/// backends of connections closed during a run are counted too. `None` when `root` does
/// not exist or `/proc` cannot be read.
pub fn tree_cpu_time(root: u32) -> Option<Duration> {
    let entries = std::fs::read_dir("/proc").ok()?;
    let stats: Vec<ProcStat> = entries
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .filter_map(|e| std::fs::read_to_string(e.path().join("stat")).ok())
        .filter_map(|text| ProcStat::parse(&text))
        .collect();
    tree_ticks(&stats, root).map(ticks_to_duration)
}

/// The CPU fields of one `/proc/PID/stat` line, in clock ticks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcStat {
    /// Process id (field 1).
    pub pid: u32,
    /// Parent process id (field 4).
    pub ppid: u32,
    /// User time (field 14).
    pub utime: u64,
    /// System time (field 15).
    pub stime: u64,
    /// User time of waited-for children (field 16).
    pub cutime: u64,
    /// System time of waited-for children (field 17).
    pub cstime: u64,
}

impl ProcStat {
    /// Parses a `/proc/PID/stat` line. The command name (field 2) may hold spaces and
    /// parentheses, so fields are counted after its last `)`.
    pub fn parse(stat: &str) -> Option<Self> {
        let pid = stat.split_whitespace().next()?.parse().ok()?;
        let after_name = &stat[stat.rfind(')')? + 1..];
        // After the name: state (3), ppid (4), ..., utime (14), stime (15), cutime (16),
        // cstime (17).
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        let field = |n: usize| -> Option<u64> { fields.get(n - 3)?.parse().ok() };
        Some(Self {
            pid,
            ppid: u32::try_from(field(4)?).ok()?,
            utime: field(14)?,
            stime: field(15)?,
            cutime: field(16)?,
            cstime: field(17)?,
        })
    }

    /// `utime + stime`.
    pub fn own_ticks(&self) -> u64 {
        self.utime + self.stime
    }

    /// `utime + stime + cutime + cstime`.
    pub fn with_children_ticks(&self) -> u64 {
        self.own_ticks() + self.cutime + self.cstime
    }
}

/// Ticks of `root`'s tree in `stats` (see [`tree_cpu_time`]); `None` when `root` is not in
/// `stats`.
pub fn tree_ticks(stats: &[ProcStat], root: u32) -> Option<u64> {
    stats.iter().find(|s| s.pid == root)?;
    let mut total = 0;
    let mut frontier = vec![root];
    let mut seen = std::collections::HashSet::new();
    while let Some(pid) = frontier.pop() {
        if !seen.insert(pid) {
            continue;
        }
        for s in stats {
            if s.pid == pid {
                total += s.with_children_ticks();
            } else if s.ppid == pid {
                frontier.push(s.pid);
            }
        }
    }
    Some(total)
}

fn ticks_to_duration(ticks: u64) -> Duration {
    Duration::from_secs_f64(ticks as f64 / clock_ticks_per_s())
}

/// `getconf CLK_TCK`, 100 when it cannot be asked (the Linux value nearly everywhere).
fn clock_ticks_per_s() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse::<f64>().ok())
            .filter(|t| *t > 0.0)
            .unwrap_or(100.0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_and_system_ticks_are_read_past_a_name_with_spaces() {
        let stat =
            "4242 (tokio (rt) 1) S 1 4242 4242 0 -1 4194560 900 0 0 0 1234 56 7 8 20 0 5 0 100 0 0";
        let s = ProcStat::parse(stat).unwrap();
        assert_eq!((s.pid, s.ppid), (4242, 1));
        assert_eq!(s.own_ticks(), 1290);
        assert_eq!(s.with_children_ticks(), 1305);
        assert_eq!(ProcStat::parse("garbage"), None);
    }

    fn stat(pid: u32, ppid: u32, own: u64, children: u64) -> ProcStat {
        ProcStat {
            pid,
            ppid,
            utime: own,
            stime: 0,
            cutime: children,
            cstime: 0,
        }
    }

    #[test]
    fn a_tree_counts_every_descendant_and_the_children_already_reaped() {
        let stats = [
            stat(1, 0, 1000, 0),
            // The postmaster (10) reaped backends worth 50 ticks; two live backends, one
            // with a child of its own; an unrelated process (30).
            stat(10, 1, 5, 50),
            stat(11, 10, 7, 0),
            stat(12, 10, 3, 2),
            stat(13, 12, 4, 0),
            stat(30, 1, 900, 0),
        ];
        assert_eq!(tree_ticks(&stats, 10), Some(5 + 50 + 7 + 3 + 2 + 4));
        assert_eq!(tree_ticks(&stats, 12), Some(3 + 2 + 4));
        assert_eq!(tree_ticks(&stats, 99), None);
    }

    #[test]
    fn own_cpu_time_grows_with_work() {
        let before = cpu_time(std::process::id()).expect("/proc is readable");
        // Spin until a clock tick is charged (bounded, so a broken reader fails the test).
        let mut x = 0u64;
        let spin = std::time::Instant::now();
        let mut after = before;
        while after <= before && spin.elapsed() < Duration::from_secs(10) {
            for _ in 0..100_000 {
                x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
            }
            after = cpu_time(std::process::id()).unwrap();
        }
        assert!(after > before, "{before:?} -> {after:?}");
        let tree = tree_cpu_time(std::process::id()).expect("our own tree is readable");
        assert!(tree >= after, "{tree:?} < {after:?}");
    }
}
