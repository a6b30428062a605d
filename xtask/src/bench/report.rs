//! One bench's figures: printed as one table, written as JSON (`target/bench/<bench>.json`), and
//! compared with the previous run's JSON so that a change shows its effect.
//!
//! Every bench builds a [`Report`]: its rows are the measured figures, each with a unit and,
//! where the issue sets one, a target. The machine the figures come from (cores, open-file
//! limit) goes with them, because these figures mean nothing without it.
//!
//! A bench that runs the same load against another server (PeerJS, [`Report::compared_with`])
//! puts that server's figure next to WebCall's on the same row ([`Report::against`]), with the
//! ratio WebCall ÷ other and, where the issue sets one, a target for the ratio.

use crate::cmd::root;
use anyhow::{Context, Result};
use serde_json::{json, Value};
use std::path::PathBuf;

/// Which way a figure must stay to meet its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Goal {
    /// The figure must be at most the target.
    AtMost,
    /// The figure must be at least the target.
    AtLeast,
}

/// One measured figure.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// What was measured, e.g. "RSS per connection at 10000".
    pub name: String,
    pub value: f64,
    /// "B", "µs", "ms", "msg/s", ...
    pub unit: String,
    pub target: Option<(Goal, f64)>,
    /// The same figure measured on the server compared with, if any.
    pub versus: Option<Versus>,
}

/// A figure of the server WebCall is compared with, next to WebCall's.
#[derive(Debug, Clone, PartialEq)]
pub struct Versus {
    /// The other server's figure, in the row's unit.
    pub value: f64,
    /// A target for the ratio WebCall ÷ other, if the issue sets one.
    pub ratio_target: Option<(Goal, f64)>,
}

impl Row {
    /// WebCall's figure ÷ the other server's; `None` without one or when it is 0.
    pub fn ratio(&self) -> Option<f64> {
        let other = self.versus.as_ref()?.value;
        (other != 0.0).then(|| self.value / other)
    }
}

/// The figures of one bench run.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// The bench's name, also the JSON file's: `idle`, `relay`, `churn`, `browser`, ...
    pub bench: String,
    pub rows: Vec<Row>,
    /// Free-form facts printed under the table (the limit in force, what was compared, ...).
    pub notes: Vec<String>,
    /// The server the rows' [`Versus`] figures come from ("PeerJS"), if any.
    pub versus: Option<String>,
}

impl Report {
    pub fn new(bench: &str) -> Report {
        Report {
            bench: bench.into(),
            ..Report::default()
        }
    }

    /// Adds a figure without a target.
    pub fn row(&mut self, name: impl Into<String>, value: f64, unit: &str) -> &mut Report {
        self.rows.push(Row {
            name: name.into(),
            value,
            unit: unit.into(),
            target: None,
            versus: None,
        });
        self
    }

    /// Adds a figure with its target.
    pub fn target(
        &mut self,
        name: impl Into<String>,
        value: f64,
        unit: &str,
        goal: Goal,
        target: f64,
    ) -> &mut Report {
        self.rows.push(Row {
            name: name.into(),
            value,
            unit: unit.into(),
            target: Some((goal, target)),
            versus: None,
        });
        self
    }

    /// Names the server the figures of [`Report::against`] come from.
    pub fn compared_with(&mut self, server: &str) -> &mut Report {
        self.versus = Some(server.into());
        self
    }

    /// Puts the compared server's figure (if measured) next to the last row's.
    pub fn against(&mut self, other: Option<f64>) -> &mut Report {
        self.against_with(other, None)
    }

    /// As [`Report::against`], with a target for the ratio WebCall ÷ other.
    pub fn against_target(&mut self, other: Option<f64>, goal: Goal, ratio: f64) -> &mut Report {
        self.against_with(other, Some((goal, ratio)))
    }

    fn against_with(
        &mut self,
        other: Option<f64>,
        ratio_target: Option<(Goal, f64)>,
    ) -> &mut Report {
        if let (Some(row), Some(value)) = (self.rows.last_mut(), other) {
            row.versus = Some(Versus {
                value,
                ratio_target,
            });
        }
        self
    }

    pub fn note(&mut self, note: impl Into<String>) -> &mut Report {
        self.notes.push(note.into());
        self
    }

    /// Whether every figure with a target meets it.
    pub fn targets_met(&self) -> bool {
        self.rows
            .iter()
            .all(|row| meets(row) != Some(false) && ratio_meets(row) != Some(false))
    }

    /// The JSON form: `{"bench", "machine": {...}, "rows": [{name, value, unit, target?}], "notes"}`.
    pub fn to_json(&self) -> Value {
        let rows: Vec<Value> = self
            .rows
            .iter()
            .map(|row| {
                let mut v = json!({"name": row.name, "value": row.value, "unit": row.unit});
                if let Some((goal, target)) = row.target {
                    v["target"] = target_json(goal, target);
                }
                if let Some(versus) = &row.versus {
                    let mut w = json!({
                        "server": self.versus,
                        "value": versus.value,
                        "ratio": row.ratio(),
                    });
                    if let Some((goal, target)) = versus.ratio_target {
                        w["ratio_target"] = target_json(goal, target);
                    }
                    v["versus"] = w;
                }
                v
            })
            .collect();
        let mut v = json!({
            "bench": self.bench,
            "machine": machine(),
            "rows": rows,
            "notes": self.notes,
        });
        if let Some(versus) = &self.versus {
            v["versus"] = versus.as_str().into();
        }
        v
    }

    /// Prints the table (with the previous run's figures, when there is one) and writes the
    /// JSON, keeping the previous file as `<bench>.previous.json`.
    pub fn publish(&self) -> Result<PathBuf> {
        let dir = root().join("target/bench");
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let path = dir.join(format!("{}.json", self.bench));
        let previous = std::fs::read_to_string(&path)
            .ok()
            .and_then(|text| serde_json::from_str::<Value>(&text).ok());
        print!("{}", self.table(previous.as_ref()));
        if path.exists() {
            std::fs::rename(&path, dir.join(format!("{}.previous.json", self.bench)))?;
        }
        let text = serde_json::to_string_pretty(&self.to_json())?;
        std::fs::write(&path, text + "\n")
            .with_context(|| format!("writing {}", path.display()))?;
        println!("(written to {})", path.display());
        Ok(path)
    }

    /// The table as text: figure, value, target and whether it is met, previous value.
    pub fn table(&self, previous: Option<&Value>) -> String {
        let before = |name: &str| -> Option<f64> {
            previous?["rows"]
                .as_array()?
                .iter()
                .find(|r| r["name"] == name)?["value"]
                .as_f64()
        };
        let width = self
            .rows
            .iter()
            .map(|r| r.name.len())
            .max()
            .unwrap_or(0)
            .max(6);
        let mut out = format!("\n{} bench — {}\n", self.bench, machine_line());
        // With a compared server: its figure and the ratio between the target and previous
        // columns.
        let versus = self.versus.as_deref().map(|other| {
            (
                format!("{:>14}  {:<22}  ", other, format!("WebCall ÷ {other}")),
                other,
            )
        });
        out += &format!(
            "{:<width$}  {:>14}  {:<20}  {}{:>14}\n",
            "figure",
            if versus.is_some() { "WebCall" } else { "value" },
            "target",
            versus.as_ref().map_or("", |(header, _)| header.as_str()),
            "previous"
        );
        for row in &self.rows {
            let target = target_text(row.target, meets(row));
            let compared = match (&versus, &row.versus) {
                (None, _) => String::new(),
                (Some(_), None) => format!("{:>14}  {:<22}  ", "", ""),
                (Some(_), Some(other)) => {
                    let ratio = match row.ratio() {
                        Some(r) => format!(
                            "{} {}",
                            number(r),
                            target_text(other.ratio_target, ratio_meets(row))
                        ),
                        None => "—".into(),
                    };
                    format!(
                        "{:>14}  {:<22}  ",
                        format!("{} {}", number(other.value), row.unit),
                        ratio.trim_end()
                    )
                }
            };
            let prev = before(&row.name).map(number).unwrap_or_default();
            out += &format!(
                "{:<width$}  {:>14}  {:<20}  {}{:>14}\n",
                row.name,
                format!("{} {}", number(row.value), row.unit),
                target,
                compared,
                prev
            );
        }
        for note in &self.notes {
            out += &format!("  {note}\n");
        }
        out
    }
}

/// "≤ 3072 met", "≥ 1000 MISSED", or nothing without a target.
fn target_text(target: Option<(Goal, f64)>, met: Option<bool>) -> String {
    match (target, met) {
        (Some((goal, t)), Some(ok)) => format!(
            "{} {} {}",
            if goal == Goal::AtMost { "≤" } else { "≥" },
            number(t),
            if ok { "met" } else { "MISSED" }
        ),
        _ => String::new(),
    }
}

fn target_json(goal: Goal, target: f64) -> Value {
    let goal = match goal {
        Goal::AtMost => "at_most",
        Goal::AtLeast => "at_least",
    };
    json!({"goal": goal, "value": target})
}

/// Whether the ratio to the compared server meets its target (`None` without one).
fn ratio_meets(row: &Row) -> Option<bool> {
    let (goal, target) = row.versus.as_ref()?.ratio_target?;
    let ratio = row.ratio()?;
    Some(match goal {
        Goal::AtMost => ratio <= target,
        Goal::AtLeast => ratio >= target,
    })
}

fn meets(row: &Row) -> Option<bool> {
    let (goal, target) = row.target?;
    Some(match goal {
        Goal::AtMost => row.value <= target,
        Goal::AtLeast => row.value >= target,
    })
}

/// A figure with as many decimals as it deserves.
fn number(v: f64) -> String {
    if v.abs() >= 100.0 || v.fract() == 0.0 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// The machine the figures come from: cores and the open-file limit of this process (the
/// limit the servers and load generators it starts inherit).
pub fn machine() -> Value {
    json!({
        "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "open_files_limit": open_files_limit(),
        "cpu": cpu_model(),
    })
}

fn machine_line() -> String {
    let m = machine();
    format!(
        "{} cores ({}), open-file limit {}",
        m["cores"],
        m["cpu"].as_str().unwrap_or("?"),
        m["open_files_limit"]
    )
}

/// The soft `RLIMIT_NOFILE` of this process, from /proc/self/limits.
pub fn open_files_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_show_targets_and_previous_figures() {
        let mut report = Report::new("idle");
        report
            .target("RSS per connection", 2900.0, "B", Goal::AtMost, 3072.0)
            .target("connect rate", 800.0, "conn/s", Goal::AtLeast, 1000.0)
            .row("connections", 10000.0, "");
        assert!(!report.targets_met());
        let previous = json!({"rows": [{"name": "RSS per connection", "value": 3500.0}]});
        let table = report.table(Some(&previous));
        assert!(table.contains("≤ 3072 met"), "{table}");
        assert!(table.contains("≥ 1000 MISSED"), "{table}");
        assert!(table.contains("3500"), "{table}");
        let v = report.to_json();
        assert_eq!(v["rows"][0]["target"]["goal"], "at_most");
        assert_eq!(v["rows"][2].get("target"), None);
        assert_eq!(v.get("versus"), None);
    }

    #[test]
    fn compared_figures_show_their_ratio() {
        let mut report = Report::new("relay");
        report
            .compared_with("PeerJS")
            .target("CPU per message", 4.0, "µs", Goal::AtMost, 5.0)
            .against_target(Some(25.0), Goal::AtMost, 0.2)
            .row("p99", 1.5, "ms")
            .against(Some(30.0))
            .row("p99.9", 3.0, "ms")
            .against(None);
        assert!(report.targets_met());
        assert_eq!(report.rows[0].ratio(), Some(0.16));
        assert_eq!(report.rows[2].ratio(), None);
        let table = report.table(None);
        assert!(table.contains("WebCall ÷ PeerJS"), "{table}");
        assert!(table.contains("25 µs"), "{table}");
        assert!(table.contains("0.16 ≤ 0.20 met"), "{table}");
        assert!(table.contains("0.05"), "{table}");
        let v = report.to_json();
        assert_eq!(v["versus"], "PeerJS");
        assert_eq!(v["rows"][0]["versus"]["value"], 25.0);
        assert_eq!(v["rows"][0]["versus"]["ratio_target"]["goal"], "at_most");
        assert_eq!(v["rows"][2].get("versus"), None);
        // A ratio that misses its target misses the report's targets.
        report.rows[0].value = 6.0;
        report.rows[0].target = None;
        assert!(!report.targets_met());
    }
}
