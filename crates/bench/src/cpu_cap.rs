//! [`CpuCap`]: caps a process tree's CPU with a Linux cgroup, so that a benchmark's database
//! is a bottleneck of known size on a host whose cores it shares with the load generator and
//! the servers.
//!
//! Without a cap, on a small host the servers' own CPU (GraphQL parsing, execution and JSON)
//! is the bottleneck, the database is not, and a sweep of the database's concurrency finds a
//! flat curve whose "best" point is noise. With the database's processes held to, say, half a
//! core, more concurrent statements only queue inside the database and split batches into
//! more statements, which is the situation a fleet of replicas sharing one database is in.
//!
//! The cap is a CFS bandwidth quota over a short period (10 ms, so a throttled database
//! stalls for milliseconds, not for the default 100 ms period): the cgroup v1 `cpu`
//! controller (`cpu.cfs_quota_us`) when it is mounted, else the unified hierarchy's
//! `cpu.max`. Processes forked later (PostgreSQL's backends, one per connection) inherit it.
//! Needs root; the error says so.

use std::{
    fs,
    path::{Path, PathBuf},
};

use anyhow::{Context as _, bail};

/// CFS period of the quota.
const PERIOD_US: u64 = 10_000;

/// A cgroup holding a process tree to a number of cores; removed on drop (its processes go
/// back to the root group).
#[derive(Debug)]
pub struct CpuCap {
    dir: PathBuf,
    root: PathBuf,
    cores: f64,
}

impl CpuCap {
    /// Moves `pid` and its children into a new cgroup `name` capped at `cores` CPUs.
    pub fn apply(name: &str, pid: u32, cores: f64) -> anyhow::Result<Self> {
        if !(cores > 0.0 && cores.is_finite()) {
            bail!("a CPU cap must be a positive number of cores, not {cores}");
        }
        let quota = ((cores * PERIOD_US as f64).round() as u64).max(1_000);
        let v1 = Path::new("/sys/fs/cgroup/cpu");
        let v2 = Path::new("/sys/fs/cgroup");
        let (root, limit): (&Path, Vec<(&str, String)>) = if v1.join("cpu.cfs_quota_us").exists() {
            (
                v1,
                vec![
                    ("cpu.cfs_period_us", PERIOD_US.to_string()),
                    ("cpu.cfs_quota_us", quota.to_string()),
                ],
            )
        } else if fs::read_to_string(v2.join("cgroup.controllers"))
            .is_ok_and(|c| c.split_whitespace().any(|c| c == "cpu"))
        {
            (v2, vec![("cpu.max", format!("{quota} {PERIOD_US}"))])
        } else {
            bail!(
                "no cgroup cpu controller to cap the database's CPU (neither \
                 /sys/fs/cgroup/cpu nor cpu in /sys/fs/cgroup/cgroup.controllers); \
                 run without the CPU cap"
            );
        };
        let dir = root.join(name);
        fs::create_dir_all(&dir).with_context(|| {
            format!(
                "cannot create the cgroup {} (capping CPU needs root)",
                dir.display()
            )
        })?;
        let cap = Self {
            dir,
            root: root.to_path_buf(),
            cores,
        };
        for (file, value) in limit {
            fs::write(cap.dir.join(file), &value)
                .with_context(|| format!("cannot write {value} to {file} of the cgroup"))?;
        }
        for pid in tree(pid) {
            // A process may have exited since it was listed.
            let _ = fs::write(cap.dir.join("cgroup.procs"), pid.to_string());
        }
        Ok(cap)
    }

    /// The cap, in cores.
    pub fn cores(&self) -> f64 {
        self.cores
    }

    /// How long the capped processes were throttled so far, in seconds (the group's
    /// `cpu.stat`).
    pub fn throttled_s(&self) -> Option<f64> {
        let stat = fs::read_to_string(self.dir.join("cpu.stat")).ok()?;
        stat.lines().find_map(|line| {
            let (key, value) = line.split_once(' ')?;
            let value: f64 = value.trim().parse().ok()?;
            match key {
                "throttled_time" => Some(value / 1e9),
                "throttled_usec" => Some(value / 1e6),
                _ => None,
            }
        })
    }
}

impl Drop for CpuCap {
    fn drop(&mut self) {
        if let Ok(procs) = fs::read_to_string(self.dir.join("cgroup.procs")) {
            for pid in procs.split_whitespace() {
                let _ = fs::write(self.root.join("cgroup.procs"), pid);
            }
        }
        let _ = fs::remove_dir(&self.dir);
    }
}

/// `pid` and its descendants, from `/proc/*/stat`.
fn tree(pid: u32) -> Vec<u32> {
    let parents: Vec<(u32, u32)> = fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let child: u32 = entry.file_name().to_str()?.parse().ok()?;
            let stat = fs::read_to_string(entry.path().join("stat")).ok()?;
            // `pid (comm) state ppid ...`: comm may hold spaces, so split after its `)`.
            let ppid = stat.rsplit_once(')')?.1.split_whitespace().nth(1)?;
            Some((child, ppid.parse().ok()?))
        })
        .collect();
    let mut out = vec![pid];
    let mut i = 0;
    while i < out.len() {
        let parent = out[i];
        out.extend(
            parents
                .iter()
                .filter(|(_, p)| *p == parent)
                .map(|(c, _)| *c),
        );
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tree_of_this_process_holds_a_child_it_spawned() {
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .expect("sleep");
        let tree = tree(std::process::id());
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!(tree[0], std::process::id());
        assert!(tree.contains(&child.id()), "{tree:?}");
    }

    #[test]
    fn a_cap_must_be_a_positive_number_of_cores() {
        let err = CpuCap::apply("bench-test-invalid", std::process::id(), 0.0).unwrap_err();
        assert!(err.to_string().contains("positive"), "{err}");
    }
}
