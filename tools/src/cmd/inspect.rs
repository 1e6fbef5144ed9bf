//! `gnosis inspect IMAGE`: headers, regions, objects, the newest checkpoint;
//! `--node N` and `--page N` dump one object; `--crash-table` lists the
//! restarts the checkpoint driver recorded; `--history` the recent
//! checkpoints' statistics.

use std::path::PathBuf;
use std::process::ExitCode;

use disk_image::{CheckpointHeader, FRAME_BYTES, FRAME_SIZE, Layout, Region};
use kernel::inspect::{self, NodeDump};
use kernel::key::Cda;
use kernel::object;
use kernel::restart::LoadedImage;
use tools::status::HistoryEntry;

use super::{human_bytes, parse_number};

/// Arguments of `gnosis inspect`.
#[derive(clap::Args)]
pub struct Args {
    /// The image to inspect (opened read-only).
    pub image: PathBuf,
    /// Dump node number N (its header and 16 slots).
    #[arg(long, value_name = "N", value_parser = parse_number)]
    pub node: Option<u64>,
    /// Dump page number N (its non-zero bytes).
    #[arg(long, value_name = "N", value_parser = parse_number)]
    pub page: Option<u64>,
    /// List the restarts the checkpoint driver recorded: when, from which checkpoint, downtime.
    #[arg(long, conflicts_with_all = ["node", "page"])]
    pub crash_table: bool,
    /// List the recent checkpoints: pause, time to commit, frames written and skipped, bytes.
    #[arg(long, conflicts_with_all = ["node", "page", "crash_table"])]
    pub history: bool,
}

/// Prints the summary, or the object asked for.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let loaded = super::load_read_only(&args.image)?;
    if let Some(n) = args.node {
        let cda = checked(&loaded, Cda::node(n))?;
        print_node(&inspect::dump_node(&loaded, cda));
    } else if let Some(n) = args.page {
        let cda = checked(&loaded, Cda::page(n))?;
        print_page(cda, &inspect::dump_page(&loaded, cda));
    } else if args.crash_table {
        print_crash_table(&loaded)?;
    } else if args.history {
        let history: Vec<HistoryEntry> =
            loaded.opened.header.history.iter().map(HistoryEntry::from).collect();
        print!("{}", tools::status::history_table(&history));
    } else {
        print_summary(&args, &loaded);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_crash_table(loaded: &LoadedImage) -> anyhow::Result<()> {
    let restarts = domains::world::crash_table::read(&loaded.store)?;
    if restarts.is_empty() {
        println!("no restarts recorded yet");
        return Ok(());
    }
    println!("{:>8} {:>18} {:>18} {:>14}", "restart", "checkpoint (s)", "restarted (s)", "downtime (s)");
    for r in restarts {
        println!(
            "{:>8} {:>18.3} {:>18.3} {:>14.3}",
            r.number,
            r.checkpoint_ns as f64 / 1e9,
            r.restart_ns as f64 / 1e9,
            r.downtime_ns() as f64 / 1e9
        );
    }
    Ok(())
}

fn checked(loaded: &LoadedImage, cda: Cda) -> anyhow::Result<Cda> {
    if !object::exists(&loaded.store, cda) {
        let g = &loaded.opened.layout.geometry;
        anyhow::bail!(
            "{cda} is not in this image (it has pages 0..{} and nodes 0..{})",
            g.page_count,
            g.node_count()
        );
    }
    Ok(cda)
}

fn print_summary(args: &Args, loaded: &LoadedImage) {
    let o = &loaded.opened;
    let g = &o.layout.geometry;
    println!("image       {}", args.image.display());
    println!(
        "size        {} ({} frames of 4 KiB), format version {}, id {:#018x}",
        human_bytes(g.total_frames * FRAME_BYTES),
        g.total_frames,
        disk_image::layout::FORMAT_VERSION,
        o.label.image_id
    );
    print_regions(&o.layout);
    let counts = inspect::count_objects(&loaded.store);
    println!(
        "objects     pages {} created of {}, nodes {} created of {}, {} running domains",
        counts.pages,
        g.page_count,
        counts.nodes,
        g.node_count(),
        counts.processes
    );
    println!("checkpoint  {}", describe_header(&o.header));
    for (name, slot) in ["primary", "secondary"].iter().zip(&o.slots) {
        match slot {
            Ok(h) => println!("  {name:<9} generation {} ({:?})", h.generation, h.state),
            Err(problem) => println!("  {name:<9} unusable: {problem}"),
        }
    }
    if let Some(damage) = &loaded.fell_back {
        println!("  WARNING   the newest checkpoint is damaged ({damage}); showing the older one");
    }
    println!(
        "  awaiting migration: {} frames; process list: {} domains",
        loaded.store.frozen().len(),
        loaded.processes.len()
    );
    match o.journal_records(loaded.store.storage().as_ref()) {
        Ok(records) => println!("journal     {} records in {} slots", records.len(), g.journal_slots),
        Err(damage) => println!("journal     DAMAGED: {damage}"),
    }
}

fn describe_header(h: &CheckpointHeader) -> String {
    let kept = match h.previous {
        Some(p) => format!("; keeps generation {} restartable", p.generation),
        None => String::new(),
    };
    format!(
        "generation {} ({:?}), system time {:.3} s, written at Unix time {:.3} s{kept}",
        h.generation,
        h.state,
        h.checkpoint_time_ns as f64 / 1e9,
        h.wall_time_ns as f64 / 1e9
    )
}

fn print_regions(l: &Layout) {
    println!("regions     {:<16} {:>12} {:>10}", "", "first frame", "frames");
    let rows: [(&str, Region); 10] = [
        ("label", l.label),
        ("headers", l.headers),
        ("process lists", l.process_lists),
        ("journal", l.journal),
        ("checksum pots", l.checksum_pots),
        ("allocation pots", l.allocation_pots),
        ("node pots", l.node_pots),
        ("pages", l.pages),
        ("area 0", l.areas[0]),
        ("area 1", l.areas[1]),
    ];
    for (name, r) in rows {
        println!("            {name:<16} {:>12} {:>10}", r.first, r.count);
    }
}

fn print_node(d: &NodeDump) {
    println!(
        "{}: allocation id {}, call id {}, flags {:#x}",
        d.cda, d.header.allocation_id, d.header.call_id, d.header.flags
    );
    for (i, key) in d.slots.iter().enumerate() {
        let note = if d.current[i] { "" } else { "   (obsolete: reads as DK(0))" };
        println!("  slot {i:>2}  {key:?}{note}");
    }
}

fn print_page(cda: Cda, bytes: &[u8; FRAME_SIZE]) {
    println!("{cda}:");
    let mut shown = 0;
    for (row, chunk) in bytes.chunks(16).enumerate() {
        if chunk.iter().all(|&b| b == 0) {
            continue;
        }
        let hex: Vec<String> = chunk.iter().map(|b| format!("{b:02x}")).collect();
        let text: String =
            chunk.iter().map(|&b| if (0x20..0x7f).contains(&b) { b as char } else { '.' }).collect();
        println!("  {:04x}  {}  {text}", row * 16, hex.join(" "));
        shown += 1;
    }
    if shown == 0 {
        println!("  (all {FRAME_SIZE} bytes are zero)");
    }
}
