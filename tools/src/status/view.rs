//! The screen of `gnosis top`: the checkpoint and migration at the top,
//! then every domain with its instructions per second, the checkpoint
//! history and the recent restarts. Drawn with ratatui from a [`Status`]
//! and the rates measured between two of them.

use std::collections::HashMap;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout};
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Paragraph, Row, Table};

use super::{Status, duration, meter_text};

/// Instructions per second of each domain (by root), measured between two
/// statuses of the same instance.
pub fn rates(before: &Status, after: &Status, seconds: f64) -> HashMap<u64, f64> {
    let old: HashMap<u64, u64> = before.domains.iter().map(|d| (d.root, d.instructions)).collect();
    after
        .domains
        .iter()
        .filter_map(|d| {
            let was = *old.get(&d.root)?;
            Some((d.root, d.instructions.saturating_sub(was) as f64 / seconds.max(1e-9)))
        })
        .collect()
}

/// Draws one screen.
pub fn draw(frame: &mut Frame, status: &Status, rates: &HashMap<u64, f64>) {
    let [top, domains, history, restarts] = Layout::vertical([
        Constraint::Length(6),
        Constraint::Min(6),
        Constraint::Length(8),
        Constraint::Length(5),
    ])
    .areas(frame.area());
    let title = format!(" gnosis top: {} (q to quit) ", status.image);
    let lines: Vec<Line> = status.checkpoint_lines().into_iter().map(Line::from).collect();
    frame.render_widget(Paragraph::new(lines).block(Block::bordered().title(title)), top);
    frame.render_widget(domain_table(status, rates), domains);
    frame.render_widget(history_table(status), history);
    let lines: Vec<Line> = status.restart_lines().into_iter().map(Line::from).collect();
    frame.render_widget(Paragraph::new(lines).block(Block::bordered().title(" recent restarts ")), restarts);
}

fn header(cells: &[&'static str]) -> Row<'static> {
    Row::new(cells.to_vec()).style(Style::new().add_modifier(Modifier::BOLD))
}

fn domain_table<'a>(status: &'a Status, rates: &HashMap<u64, f64>) -> Table<'a> {
    let rows = status.domains.iter().map(|d| {
        let rate = rates.get(&d.root).map_or("-".into(), |r| format!("{:.1} M/s", r / 1e6));
        Row::new(vec![
            d.root.to_string(),
            crate::printable(&d.name),
            d.state.clone(),
            meter_text(d.meter_left),
            d.instructions.to_string(),
            rate,
        ])
    });
    let widths = [
        Constraint::Length(8),
        Constraint::Length(12),
        Constraint::Min(20),
        Constraint::Length(20),
        Constraint::Length(16),
        Constraint::Length(12),
    ];
    Table::new(rows, widths)
        .header(header(&["root", "name", "state", "meter", "instructions", "instr/s"]))
        .block(Block::bordered().title(" domains "))
}

fn history_table(status: &Status) -> Table<'_> {
    let rows = status.history.iter().map(|h| {
        Row::new(vec![
            h.generation.to_string(),
            duration(h.pause_ns),
            duration(h.commit_ns),
            h.pages.to_string(),
            h.node_pots.to_string(),
            h.skipped.to_string(),
            crate::human_bytes(h.bytes),
        ])
    });
    let widths = [Constraint::Length(8); 7];
    Table::new(rows, widths)
        .header(header(&["gen", "pause", "commit", "pages", "nodes", "skipped", "bytes"]))
        .block(Block::bordered().title(" checkpoint history "))
}
