//! The pure parts of the load generator's figures: latency percentiles, and the CPU time a
//! process spent, read from `/proc/<pid>/stat`.

/// The `p`-th percentile (0 to 100) of `sorted` (ascending), by the nearest-rank method; 0 for
/// no samples.
pub fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    // (Less a hair, so that 99.9 % of 1000 is rank 999 despite the binary fractions.)
    let rank = (p / 100.0 * sorted.len() as f64 - 1e-9).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Clock ticks per second of `/proc`'s CPU times (`USER_HZ`, 100 on Linux).
pub const TICKS_PER_SEC: f64 = 100.0;

/// User plus system CPU time, in seconds, from the text of `/proc/<pid>/stat`; `None` when it
/// does not parse.
pub fn cpu_secs_from_stat(stat: &str) -> Option<f64> {
    // The command name (field 2) is in parentheses and may hold spaces: count from after it.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    // After the name: state (3), ..., utime is field 14, stime field 15.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some((utime + stime) as f64 / TICKS_PER_SEC)
}

/// This process's CPU time so far, user plus system, in seconds (0 when unknown).
pub fn own_cpu_secs() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .as_deref()
        .and_then(cpu_secs_from_stat)
        .unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_by_nearest_rank() {
        let sorted: Vec<u64> = (1..=1000).collect();
        assert_eq!(percentile(&sorted, 50.0), 500);
        assert_eq!(percentile(&sorted, 99.0), 990);
        assert_eq!(percentile(&sorted, 99.9), 999);
        assert_eq!(percentile(&sorted, 100.0), 1000);
        assert_eq!(percentile(&sorted, 0.0), 1);
        assert_eq!(percentile(&[7], 99.9), 7);
        assert_eq!(percentile(&[], 50.0), 0);
    }

    #[test]
    fn cpu_times_come_from_fields_14_and_15() {
        let stat = "4242 (web call) S 1 4242 4242 0 -1 4194560 900 0 0 0 250 50 0 0 20 0 3 0 \
                    100 2000000 500 18446744073709551615";
        assert_eq!(cpu_secs_from_stat(stat), Some(3.0));
        assert_eq!(cpu_secs_from_stat("garbage"), None);
        assert!(own_cpu_secs() >= 0.0);
    }
}
