//! Where the CPU went during a run: each gateway process, the PostgreSQL
//! server, the bench itself and the whole machine, from /proc, in CPU
//! seconds per second of wall time (1.0 = one core busy all along).

use std::collections::HashMap;
use std::time::Instant;

use serde_json::{json, Value};

/// USER_HZ, the unit of /proc/<pid>/stat and /proc/stat: 100 on every Linux
/// this runs on (libc is not a dependency, so no sysconf).
pub const CLOCK_TICKS: f64 = 100.0;

/// utime + stime of a process, in clock ticks; `None` once it is gone.
pub fn process_ticks(pid: u32) -> Option<u64> {
    stat_ticks(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// utime + stime of this process's threads other than the receiver's
/// (its own, named `bench-receiver`, and the actix threads it starts), in
/// clock ticks: what the bench's own HTTP client used.
pub fn client_ticks() -> u64 {
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    let mut sum = 0;
    for entry in dir.flatten() {
        let path = entry.path();
        let comm = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
        if comm.starts_with("bench-receiver") || comm.starts_with("actix") {
            continue;
        }
        let stat = std::fs::read_to_string(path.join("stat")).unwrap_or_default();
        sum += stat_ticks(&stat).unwrap_or(0);
    }
    sum
}

/// utime + stime from a `stat` line of /proc.
fn stat_ticks(stat: &str) -> Option<u64> {
    // Fields after the command name (which may hold spaces) start after ')'.
    let rest = stat.rsplit(')').next()?;
    let f: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line: 11 and 12 after the state (field 3).
    let field = |i: usize| f.get(i).and_then(|x| x.parse::<u64>().ok()).unwrap_or(0);
    Some(field(11) + field(12))
}

/// PostgreSQL server processes (`comm` is `postgres`: the postmaster, its
/// background processes and every backend), pid → ticks; `database` marks
/// the backends serving that database (their title names it).
fn postgres_ticks(database: Option<&str>) -> HashMap<u32, (u64, bool)> {
    let mut out = HashMap::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    for entry in dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        if comm.trim_end() != "postgres" {
            continue;
        }
        let Some(ticks) = process_ticks(pid) else {
            continue;
        };
        let serves_db = database.is_some_and(|db| {
            let title = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            String::from_utf8_lossy(&title)
                .split(|c: char| c.is_whitespace() || c == '\0')
                .any(|word| word == db)
        });
        out.insert(pid, (ticks, serves_db));
    }
    out
}

/// Busy and idle jiffies of all cores (first line of /proc/stat).
fn machine_ticks() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let f: Vec<u64> = stat
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    let at = |i: usize| f.get(i).copied().unwrap_or(0);
    // user nice system idle iowait irq softirq steal (guest is inside user).
    let idle = at(3) + at(4);
    let busy = at(0) + at(1) + at(2) + at(5) + at(6) + at(7);
    (busy, idle)
}

/// The counters at the start of a run.
pub struct CpuProbe {
    at: Instant,
    gateways: Vec<u32>,
    gateway_ticks: Vec<u64>,
    database: Option<String>,
    postgres: Option<HashMap<u32, (u64, bool)>>,
    bench: u64,
    machine: (u64, u64),
}

impl CpuProbe {
    /// `database`: the PostgreSQL database of the run, `None` on SQLite
    /// (then the server is not watched).
    pub fn start(gateways: &[u32], database: Option<&str>) -> CpuProbe {
        CpuProbe {
            at: Instant::now(),
            gateways: gateways.to_vec(),
            gateway_ticks: gateways
                .iter()
                .map(|p| process_ticks(*p).unwrap_or(0))
                .collect(),
            database: database.map(str::to_string),
            postgres: database.map(|db| postgres_ticks(Some(db))),
            bench: process_ticks(std::process::id()).unwrap_or(0),
            machine: machine_ticks(),
        }
    }

    /// CPU-s per second of wall time since `start`, per part.
    pub fn finish(&self) -> CpuSplit {
        let wall = self.at.elapsed().as_secs_f64().max(1e-9);
        let rate = |ticks: u64| ticks as f64 / CLOCK_TICKS / wall;
        let gateways = self
            .gateways
            .iter()
            .zip(&self.gateway_ticks)
            .map(|(p, t0)| rate(process_ticks(*p).unwrap_or(*t0).saturating_sub(*t0)))
            .collect();
        // Delta per pid; a backend started during the run counts from zero,
        // one that exited during it is lost (the gateways' pools keep theirs).
        let postgres = self.postgres.as_ref().map(|before| {
            let (mut all, mut db) = (0, 0);
            for (pid, (t1, serves_db)) in postgres_ticks(self.database.as_deref()) {
                let d = t1.saturating_sub(before.get(&pid).map_or(0, |b| b.0));
                all += d;
                if serves_db {
                    db += d;
                }
            }
            (rate(all), rate(db))
        });
        let (busy1, idle1) = machine_ticks();
        let (busy, idle) = (
            busy1.saturating_sub(self.machine.0),
            idle1.saturating_sub(self.machine.1),
        );
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        CpuSplit {
            wall_secs: wall,
            gateways,
            postgres,
            bench: rate(
                process_ticks(std::process::id())
                    .unwrap_or(self.bench)
                    .saturating_sub(self.bench),
            ),
            machine_busy: busy as f64 / (busy + idle).max(1) as f64 * cores as f64,
            cores,
        }
    }
}

/// CPU-s per second of wall time over one run.
pub struct CpuSplit {
    pub wall_secs: f64,
    pub gateways: Vec<f64>,
    /// All server processes, and the backends of the run's database.
    pub postgres: Option<(f64, f64)>,
    /// Receiver, publishers and progress polling.
    pub bench: f64,
    /// Cores busy on average (any process), of `cores`.
    pub machine_busy: f64,
    pub cores: usize,
}

impl CpuSplit {
    /// `postgres×2 end-to-end: gateway#1 0.82 cpu-s/s, gateway#2 0.79, …`
    pub fn print(&self, label: &str) {
        let mut parts: Vec<String> = self
            .gateways
            .iter()
            .enumerate()
            .map(|(i, r)| format!("gateway#{} {r:.2}", i + 1))
            .collect();
        if let Some((all, db)) = self.postgres {
            parts.push(format!("postgres {all:.2} (this db's backends {db:.2})"));
        }
        parts.push(format!("bench {:.2}", self.bench));
        parts.push(format!("other processes {:.2}", self.other()));
        parts.push(format!(
            "machine {:.2} of {} cores busy",
            self.machine_busy, self.cores
        ));
        println!("  {label} CPU-s/s: {}", parts.join(", "));
    }

    /// The rest of the machine: other builds, tests, the kernel's threads.
    pub fn other(&self) -> f64 {
        let measured =
            self.gateways.iter().sum::<f64>() + self.postgres.map_or(0.0, |p| p.0) + self.bench;
        (self.machine_busy - measured).max(0.0)
    }

    pub fn json(&self) -> Value {
        json!({
            "unit": "cpu_seconds_per_second",
            "wall_seconds": self.wall_secs,
            "gateways": self.gateways,
            "postgres_all": self.postgres.map(|p| p.0),
            "postgres_run_database": self.postgres.map(|p| p.1),
            "bench": self.bench,
            "other_processes": self.other(),
            "machine_busy": self.machine_busy,
            "machine_cores": self.cores,
        })
    }
}
