//! Campaign reports: JSON (mergeable across shards), Markdown, and SVG
//! plots (outcome of each crash point along the workload's storage events;
//! recovery time histogram).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context;
use plotters::prelude::*;

use super::oracle::Outcome;
use super::{Campaign, Kind};

/// Merges shard reports of one campaign.
pub fn merge(parts: Vec<Campaign>) -> anyhow::Result<Campaign> {
    let mut parts = parts.into_iter();
    let mut merged = parts.next().context("nothing to merge")?;
    for p in parts {
        let same = p.settings.workload == merged.settings.workload
            && p.settings.seed == merged.settings.seed
            && p.settings.kinds == merged.settings.kinds
            && p.timeline == merged.timeline;
        anyhow::ensure!(
            same,
            "the reports are of different campaigns (workload, seed, kinds or timeline differ)"
        );
        merged.results.extend(p.results);
        merged.seconds = merged.seconds.max(p.seconds);
    }
    merged.results.sort_by_key(|r| (r.point.event, r.point.kind));
    merged.results.dedup_by_key(|r| (r.point.event, r.point.kind));
    merged.settings.shard = (0, 1);
    Ok(merged)
}

/// Counts of outcomes per kind.
pub fn tally(c: &Campaign) -> BTreeMap<Kind, BTreeMap<Outcome, usize>> {
    let mut t: BTreeMap<Kind, BTreeMap<Outcome, usize>> = BTreeMap::new();
    for r in &c.results {
        *t.entry(r.point.kind).or_default().entry(r.outcome).or_default() += 1;
    }
    t
}

/// Points that diverged.
pub fn divergences(c: &Campaign) -> impl Iterator<Item = &super::PointResult> {
    c.results.iter().filter(|r| r.outcome == Outcome::Divergence)
}

/// The command that reproduces one point.
pub fn reproduce(c: &Campaign, event: u64, kind: Kind) -> String {
    let s = &c.settings;
    let mut options = String::new();
    if let Some(image) = &s.image {
        options += &format!(" --image {}", image.display());
    }
    if let Some(script) = &s.script {
        options += &format!(" --script {}", script.display());
    }
    if let Some(seconds) = s.seconds {
        options += &format!(" --seconds {seconds}");
    }
    if s.break_sync {
        options += " --break-sync";
    }
    format!(
        "gnosis crash --workload {} --seed {}{options} --only {event}:{}",
        s.workload,
        s.seed,
        kind.name()
    )
}

/// Writes `report.json`, `report.md`, `timeline.svg` and `recovery.svg` into `dir`.
pub fn write(c: &Campaign, dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    std::fs::write(dir.join("report.json"), serde_json::to_string_pretty(c)?)?;
    std::fs::write(dir.join("report.md"), markdown(c))?;
    timeline_svg(c, &dir.join("timeline.svg"))?;
    recovery_svg(c, &dir.join("recovery.svg"))?;
    Ok(())
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() { 0.0 } else { sorted[((sorted.len() - 1) as f64 * p).round() as usize] }
}

/// The Markdown report.
pub fn markdown(c: &Campaign) -> String {
    let mut m = String::new();
    let s = &c.settings;
    let _ = writeln!(m, "# Crash campaign: `{}`\n", s.workload);
    let _ = writeln!(
        m,
        "Seed {}, shard {}/{}, {} crash points over {} storage events ({} writes, {} syncs), {:.1} s.\n",
        s.seed,
        s.shard.0,
        s.shard.1,
        c.results.len(),
        c.timeline.len(),
        c.timeline.matches('w').count(),
        c.timeline.matches('s').count(),
        c.seconds
    );
    let _ = writeln!(m, "## Outcomes\n\n| kind | tried | {} |", Outcome::ALL.map(|o| o.name()).join(" | "));
    let _ = writeln!(m, "|---|---:|{}", "---:|".repeat(Outcome::ALL.len()));
    for (kind, counts) in tally(c) {
        let cells: Vec<String> =
            Outcome::ALL.iter().map(|o| counts.get(o).copied().unwrap_or(0).to_string()).collect();
        let _ =
            writeln!(m, "| {} | {} | {} |", kind.name(), counts.values().sum::<usize>(), cells.join(" | "));
    }
    let mut times: Vec<f64> =
        c.results.iter().filter(|r| r.generation.is_some()).map(|r| r.recovery_us).collect();
    times.sort_by(f64::total_cmp);
    let _ = writeln!(
        m,
        "\n## Recovery time\n\nLoad and boot, {} restarts: median {:.0} µs, 90th percentile {:.0} µs, max {:.0} µs.\n",
        times.len(),
        percentile(&times, 0.5),
        percentile(&times, 0.9),
        times.last().copied().unwrap_or(0.0)
    );
    let _ =
        writeln!(m, "![outcomes along the storage events](timeline.svg)\n\n![recovery time](recovery.svg)\n");
    let divergent: Vec<_> = divergences(c).collect();
    let _ = writeln!(m, "## Divergences: {}\n", divergent.len());
    for r in divergent {
        let _ = writeln!(
            m,
            "- event {} ({}), seed {}: {}\n  reproduce: `{}`",
            r.point.event,
            r.point.kind.name(),
            r.point.seed,
            r.detail,
            reproduce(c, r.point.event, r.point.kind)
        );
    }
    m
}

fn color(o: Outcome) -> RGBColor {
    match o {
        Outcome::RecoveredExact => RGBColor(46, 139, 87),
        Outcome::RecoveredOlder => RGBColor(30, 144, 255),
        Outcome::DetectedDamage => RGBColor(255, 165, 0),
        Outcome::Divergence => RGBColor(220, 20, 60),
    }
}

fn timeline_svg(c: &Campaign, path: &Path) -> anyhow::Result<()> {
    let root = SVGBackend::new(path, (1000, 360)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_error)?;
    let kinds: Vec<Kind> = c.settings.kinds.clone();
    let mut chart = ChartBuilder::on(&root)
        .caption("Outcome of each crash point along the storage events", ("sans-serif", 18))
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(70)
        .build_cartesian_2d(0f64..(c.timeline.len().max(1) as f64), -0.5f64..(kinds.len() as f64 - 0.5))
        .map_err(plot_error)?;
    chart
        .configure_mesh()
        .x_desc("storage event (write or sync)")
        .y_labels(kinds.len())
        .y_label_formatter(&|y| {
            kinds.get(y.round() as usize).map(|k| k.name().to_string()).unwrap_or_default()
        })
        .draw()
        .map_err(plot_error)?;
    for outcome in Outcome::ALL {
        let points = c.results.iter().filter(|r| r.outcome == outcome).filter_map(|r| {
            let lane = kinds.iter().position(|k| *k == r.point.kind)?;
            Some(Circle::new((r.point.event as f64, lane as f64), 3, color(outcome).filled()))
        });
        chart
            .draw_series(points)
            .map_err(plot_error)?
            .label(outcome.name())
            .legend(move |(x, y)| Circle::new((x, y), 4, color(outcome).filled()));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(plot_error)?;
    root.present().map_err(plot_error)?;
    Ok(())
}

fn recovery_svg(c: &Campaign, path: &Path) -> anyhow::Result<()> {
    let times: Vec<f64> =
        c.results.iter().filter(|r| r.generation.is_some()).map(|r| r.recovery_us).collect();
    let max = times.iter().copied().fold(1.0f64, f64::max);
    let bins = 30usize;
    let width = max / bins as f64;
    let mut counts = vec![0u32; bins];
    for t in &times {
        counts[((t / width) as usize).min(bins - 1)] += 1;
    }
    let root = SVGBackend::new(path, (800, 360)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_error)?;
    let top = counts.iter().copied().max().unwrap_or(1).max(1);
    let mut chart = ChartBuilder::on(&root)
        .caption("Recovery time (load and boot)", ("sans-serif", 18))
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(50)
        .build_cartesian_2d(0f64..max, 0u32..top + 1)
        .map_err(plot_error)?;
    chart.configure_mesh().x_desc("µs").y_desc("restarts").draw().map_err(plot_error)?;
    chart
        .draw_series(counts.iter().enumerate().map(|(i, &n)| {
            let x0 = i as f64 * width;
            Rectangle::new([(x0, 0), (x0 + width, n)], RGBColor(70, 130, 180).filled())
        }))
        .map_err(plot_error)?;
    root.present().map_err(plot_error)?;
    Ok(())
}

fn plot_error<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow::anyhow!("drawing a plot failed: {e:?}")
}
