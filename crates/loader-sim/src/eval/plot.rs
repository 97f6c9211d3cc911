//! SVG of an evaluation: the distribution of goodput against the per-phase oracle, per
//! family and strategy (every run a dot, the 10th-90th percentile a bar, the median a tick).

use std::path::Path;

use plotters::{
    prelude::*,
    style::text_anchor::{HPos, Pos, VPos},
};

use super::{EvalReport, quantile};
use crate::{
    SimError,
    plot::{COLORS, err},
};

/// Draws `report`'s goodput-ratio distribution to `path`.
pub fn plot_goodput(path: &Path, report: &EvalReport) -> Result<(), SimError> {
    let families: Vec<&str> = report.families.iter().map(|f| f.name.as_str()).collect();
    let n = families.len().max(1);
    let k = report.strategies.len().max(1);
    let width = (160 + 90 * n as u32).max(800);
    let root = SVGBackend::new(path, (width, 680)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let title = format!(
        "goodput / per-phase oracle, seeds {} ({})",
        report.seeds,
        report.seed_range.describe()
    );
    let root = root.titled(&title, ("sans-serif", 20)).map_err(err)?;
    let (top, root) = root.split_vertically(30);
    for (si, strategy) in report.strategies.iter().enumerate() {
        let color = COLORS[si % COLORS.len()];
        let x = 80 + 180 * si as i32;
        top.draw(&Rectangle::new([(x, 8), (x + 24, 20)], color.filled()))
            .map_err(err)?;
        top.draw(&Text::new(
            strategy.clone(),
            (x + 30, 6),
            ("sans-serif", 15).into_font(),
        ))
        .map_err(err)?;
    }
    let lowest = report
        .runs
        .iter()
        .map(|r| r.oracle_ratio)
        .fold(0.8, f64::min)
        .max(0.0);
    let highest = report
        .runs
        .iter()
        .map(|r| r.oracle_ratio)
        .fold(1.05, f64::max);
    let y = (lowest - 0.02)..(highest + 0.02);
    let mut chart = ChartBuilder::on(&root)
        .margin(10)
        .x_label_area_size(140)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..n as f64, y.clone())
        .map_err(err)?;
    let names = families.clone();
    chart
        .configure_mesh()
        .x_labels(n * 2 + 1)
        .x_label_formatter(&|x: &f64| {
            let i = x.floor() as usize;
            if (x - x.floor() - 0.5).abs() < 1e-6 && i < names.len() {
                names[i].to_string()
            } else {
                String::new()
            }
        })
        .x_label_offset(0)
        .x_label_style(
            TextStyle::from(
                ("sans-serif", 13)
                    .into_font()
                    .transform(FontTransform::Rotate90),
            )
            .pos(Pos::new(HPos::Left, VPos::Center)),
        )
        .y_desc("goodput / oracle")
        .disable_x_mesh()
        .draw()
        .map_err(err)?;
    for target in [0.97, 0.92, 0.8] {
        if y.contains(&target) {
            chart
                .draw_series(DashedLineSeries::new(
                    vec![(0.0, target), (n as f64, target)],
                    5,
                    5,
                    RGBColor(150, 150, 150).stroke_width(1),
                ))
                .map_err(err)?;
        }
    }
    for (si, strategy) in report.strategies.iter().enumerate() {
        let color = COLORS[si % COLORS.len()];
        let slot = |fi: usize| fi as f64 + (si as f64 + 0.5) / k as f64 * 0.8 + 0.1;
        for (fi, family) in families.iter().enumerate() {
            let values: Vec<f64> = report
                .runs
                .iter()
                .filter(|r| r.family == *family && &r.strategy == strategy)
                .map(|r| r.oracle_ratio)
                .collect();
            let x = slot(fi);
            chart
                .draw_series(values.iter().enumerate().map(|(j, v)| {
                    let dx = ((j * 37) % 11) as f64 / 11.0 * 0.25 / k as f64;
                    Circle::new((x - 0.12 / k as f64 + dx, *v), 2, color.mix(0.5).filled())
                }))
                .map_err(err)?;
            if let (Some(p10), Some(p90), Some(med)) = (
                quantile(&values, 0.1),
                quantile(&values, 0.9),
                quantile(&values, 0.5),
            ) {
                let half = 0.3 / k as f64;
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        vec![(x, p10), (x, p90)],
                        color.stroke_width(3),
                    )))
                    .map_err(err)?;
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        vec![(x - half, med), (x + half, med)],
                        BLACK.stroke_width(2),
                    )))
                    .map_err(err)?;
            }
        }
    }
    root.present().map_err(err)?;
    Ok(())
}
