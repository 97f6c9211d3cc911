//! The slowdown plot (plotters SVG) of one mix: complete responses per second, their p99
//! latency, and the failed ones (partial, refused, other) per second for each server, with
//! the competing load's window shaded.

use std::path::Path;

use anyhow::anyhow;
use plotters::prelude::*;

use super::SlowdownRun;

const COLORS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(255, 127, 14),
    RGBColor(140, 86, 75),
];
const SHADE: RGBColor = RGBColor(235, 235, 235);

fn err(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow!("plot: {e}")
}

fn legend(color: RGBColor) -> impl Fn((i32, i32)) -> PathElement<(i32, i32)> {
    move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
}

/// One panel's data: per mode, (t, value) points.
type Lines = Vec<(String, Vec<(f64, f64)>)>;

/// Draws the slowdown runs to `path`.
pub fn plot_slowdown(path: &Path, runs: &[SlowdownRun]) -> anyhow::Result<()> {
    if runs.is_empty() {
        return Ok(());
    }
    let root = SVGBackend::new(path, (1100, 1000)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let title = format!(
        "database gets slower ({} mix): competing load from {:.0} s to {:.0} s ({} clients)",
        runs[0].workload, runs[0].competitor_from_s, runs[0].competitor_to_s, runs[0].clients
    );
    let root = root.titled(&title, ("sans-serif", 20)).map_err(err)?;
    let panels = root.split_evenly((3, 1));
    let x_max = runs
        .iter()
        .map(|r| r.report.seconds.len() as f64)
        .fold(1.0, f64::max);
    let window = (runs[0].competitor_from_s, runs[0].competitor_to_s);
    let lines = |f: &dyn Fn(&crate::load::SecondPoint) -> Option<f64>| -> Lines {
        runs.iter()
            .map(|run| {
                // The last second is partial (only the requests in flight at the end).
                let whole = run.report.seconds.len().saturating_sub(1);
                let points = run.report.seconds[..whole]
                    .iter()
                    .filter_map(|s| f(s).map(|v| (s.t_s + 0.5, v)))
                    .collect();
                (run.contender.to_string(), points)
            })
            .collect()
    };
    panel(
        &panels[0],
        "complete responses per second",
        &lines(&|s| Some(s.ok as f64)),
        x_max,
        window,
        false,
    )?;
    panel(
        &panels[1],
        "p99 latency of complete responses in each second, ms (log)",
        &lines(&|s| (s.ok > 0).then_some(s.ok_p99_ms.max(0.1))),
        x_max,
        window,
        true,
    )?;
    panel(
        &panels[2],
        "partial + refused + other failed responses per second",
        &lines(&|s| Some((s.errors + s.timeouts + s.transport_errors) as f64)),
        x_max,
        window,
        false,
    )?;
    root.present().map_err(err)?;
    Ok(())
}

fn panel(
    area: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    caption: &str,
    lines: &Lines,
    x_max: f64,
    window: (f64, f64),
    log: bool,
) -> anyhow::Result<()> {
    let y_max = lines
        .iter()
        .flat_map(|(_, p)| p.iter().map(|p| p.1))
        .fold(1.0, f64::max)
        * 1.15;
    let y_min_log = lines
        .iter()
        .flat_map(|(_, p)| p.iter().map(|p| p.1))
        .fold(f64::INFINITY, f64::min)
        .clamp(0.1, y_max / 2.0)
        / 2.0;
    if log {
        let mut chart = ChartBuilder::on(area)
            .caption(caption, ("sans-serif", 15))
            .margin(8)
            .x_label_area_size(25)
            .y_label_area_size(60)
            .build_cartesian_2d(0.0..x_max, (y_min_log..y_max.max(1.0)).log_scale())
            .map_err(err)?;
        chart.configure_mesh().x_desc("s").draw().map_err(err)?;
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(window.0, y_min_log), (window.1, y_max.max(1.0))],
                SHADE.filled(),
            )))
            .map_err(err)?;
        for (i, (name, points)) in lines.iter().enumerate() {
            let color = COLORS[i % COLORS.len()];
            chart
                .draw_series(LineSeries::new(
                    points.iter().copied(),
                    color.stroke_width(2),
                ))
                .map_err(err)?
                .label(name.as_str())
                .legend(legend(color));
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .position(SeriesLabelPosition::UpperRight)
            .draw()
            .map_err(err)?;
    } else {
        let mut chart = ChartBuilder::on(area)
            .caption(caption, ("sans-serif", 15))
            .margin(8)
            .x_label_area_size(25)
            .y_label_area_size(60)
            .build_cartesian_2d(0.0..x_max, 0.0..y_max)
            .map_err(err)?;
        chart.configure_mesh().x_desc("s").draw().map_err(err)?;
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(window.0, 0.0), (window.1, y_max)],
                SHADE.filled(),
            )))
            .map_err(err)?;
        for (i, (name, points)) in lines.iter().enumerate() {
            let color = COLORS[i % COLORS.len()];
            chart
                .draw_series(LineSeries::new(
                    points.iter().copied(),
                    color.stroke_width(2),
                ))
                .map_err(err)?
                .label(name.as_str())
                .legend(legend(color));
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .position(SeriesLabelPosition::UpperRight)
            .draw()
            .map_err(err)?;
    }
    Ok(())
}
