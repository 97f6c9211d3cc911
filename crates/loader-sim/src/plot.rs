//! SVG charts of a run (plotters): limit, in-flight and capacity; throughput; p99.

use std::path::Path;

use plotters::prelude::*;

use crate::{RunReport, SimError, analysis::Sample};

pub(crate) const COLORS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(255, 127, 14),
    RGBColor(140, 86, 75),
];
const GREY: RGBColor = RGBColor(150, 150, 150);

pub(crate) fn err(e: impl std::fmt::Display) -> SimError {
    SimError::Plot(e.to_string())
}

pub(crate) fn legend(color: RGBColor) -> impl Fn((i32, i32)) -> PathElement<(i32, i32)> {
    move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
}

fn series<F: Fn(&Sample) -> Option<f64>>(samples: &[Sample], f: F) -> Vec<(f64, f64)> {
    samples
        .iter()
        .filter_map(|s| f(s).map(|v| (s.t_s, v)))
        .collect()
}

/// Draws one run: (1) limit, in-flight and backend capacity; (2) keys/s, with the oracle's
/// for comparison; (3) p99 request latency per 100 ms (log scale), with the oracle's.
pub fn plot_run(path: &Path, run: &RunReport, oracle: Option<&RunReport>) -> Result<(), SimError> {
    let root = SVGBackend::new(path, (1000, 900)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let title = format!("{} / {}", run.scenario, run.strategy);
    let root = root.titled(&title, ("sans-serif", 22)).map_err(err)?;
    let panels = root.split_evenly((3, 1));
    let x = 0.0..run.duration_s;
    let s = &run.samples;

    let limit = series(s, |x| Some(x.limit as f64));
    let in_flight = series(s, |x| Some(x.in_flight as f64));
    let capacity = series(s, |x| Some(x.capacity));
    let y_max = limit
        .iter()
        .chain(&in_flight)
        .chain(&capacity)
        .map(|p| p.1)
        .fold(1.0, f64::max)
        * 1.1;
    let mut chart = ChartBuilder::on(&panels[0])
        .caption("concurrency (calls)", ("sans-serif", 16))
        .margin(8)
        .x_label_area_size(35)
        .y_label_area_size(55)
        .build_cartesian_2d(x.clone(), 0.0..y_max)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("simulated s")
        .draw()
        .map_err(err)?;
    for (name, data, color, width) in [
        ("capacity", &capacity, BLACK, 3),
        ("limit", &limit, COLORS[0], 2),
        ("in flight", &in_flight, COLORS[4], 1),
    ] {
        chart
            .draw_series(LineSeries::new(
                data.iter().copied(),
                color.stroke_width(width),
            ))
            .map_err(err)?
            .label(name)
            .legend(legend(color));
    }
    if let Some(o) = oracle {
        let oracle_limit = series(&o.samples, |x| Some(x.limit as f64));
        chart
            .draw_series(DashedLineSeries::new(
                oracle_limit,
                6,
                4,
                GREY.stroke_width(1),
            ))
            .map_err(err)?
            .label(format!("oracle limit ({})", o.strategy))
            .legend(legend(GREY));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperRight)
        .draw()
        .map_err(err)?;

    let keys = series(s, |x| Some(x.keys_per_s));
    let oracle_keys = oracle.map(|o| series(&o.samples, |x| Some(x.keys_per_s)));
    let k_max = keys
        .iter()
        .chain(oracle_keys.iter().flatten())
        .map(|p| p.1)
        .fold(1.0, f64::max)
        * 1.1;
    let mut chart = ChartBuilder::on(&panels[1])
        .caption("throughput (keys/s)", ("sans-serif", 16))
        .margin(8)
        .x_label_area_size(35)
        .y_label_area_size(55)
        .build_cartesian_2d(x.clone(), 0.0..k_max)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("simulated s")
        .draw()
        .map_err(err)?;
    if let (Some(o), Some(data)) = (oracle, &oracle_keys) {
        chart
            .draw_series(LineSeries::new(data.iter().copied(), GREY.stroke_width(1)))
            .map_err(err)?
            .label(format!("oracle ({})", o.strategy))
            .legend(legend(GREY));
    }
    chart
        .draw_series(LineSeries::new(keys, COLORS[0].stroke_width(2)))
        .map_err(err)?
        .label(run.strategy.clone())
        .legend(legend(COLORS[0]));
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .position(SeriesLabelPosition::LowerRight)
        .draw()
        .map_err(err)?;

    let p99 = series(s, |x| x.p99_ms);
    let oracle_p99 = oracle.map(|o| series(&o.samples, |x| x.p99_ms));
    let p_max = p99
        .iter()
        .chain(oracle_p99.iter().flatten())
        .map(|p| p.1)
        .fold(10.0, f64::max)
        * 1.5;
    let mut chart = ChartBuilder::on(&panels[2])
        .caption(
            "p99 request latency per 100 ms (ms, log)",
            ("sans-serif", 16),
        )
        .margin(8)
        .x_label_area_size(35)
        .y_label_area_size(55)
        .build_cartesian_2d(x, (0.5..p_max).log_scale())
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("simulated s")
        .draw()
        .map_err(err)?;
    if let (Some(o), Some(data)) = (oracle, &oracle_p99) {
        chart
            .draw_series(LineSeries::new(data.iter().copied(), GREY.stroke_width(1)))
            .map_err(err)?
            .label(format!("oracle ({})", o.strategy))
            .legend(legend(GREY));
    }
    chart
        .draw_series(LineSeries::new(p99, COLORS[1].stroke_width(2)))
        .map_err(err)?
        .label(run.strategy.clone())
        .legend(legend(COLORS[1]));
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperLeft)
        .draw()
        .map_err(err)?;
    root.present().map_err(err)?;
    Ok(())
}

/// Draws every strategy's limit against the backend capacity (top) and their throughput
/// (bottom), to compare how each one tracks the capacity.
pub fn plot_strategies(path: &Path, title: &str, runs: &[&RunReport]) -> Result<(), SimError> {
    let Some(first) = runs.first() else {
        return Ok(());
    };
    let root = SVGBackend::new(path, (1000, 700)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let root = root.titled(title, ("sans-serif", 22)).map_err(err)?;
    let panels = root.split_evenly((2, 1));
    let x = 0.0..first.duration_s;
    let capacity = series(&first.samples, |s| Some(s.capacity));
    let y_max = runs
        .iter()
        .flat_map(|r| r.samples.iter().map(|s| s.limit as f64))
        .chain(capacity.iter().map(|p| p.1 * 2.0))
        .fold(1.0, f64::max)
        * 1.05;
    let mut chart = ChartBuilder::on(&panels[0])
        .caption("limit vs backend capacity (calls)", ("sans-serif", 16))
        .margin(8)
        .x_label_area_size(35)
        .y_label_area_size(55)
        .build_cartesian_2d(x.clone(), 0.0..y_max)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("simulated s")
        .draw()
        .map_err(err)?;
    chart
        .draw_series(LineSeries::new(capacity, BLACK.stroke_width(3)))
        .map_err(err)?
        .label("capacity")
        .legend(legend(BLACK));
    for (i, run) in runs.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        chart
            .draw_series(LineSeries::new(
                series(&run.samples, |s| Some(s.limit as f64)),
                color.stroke_width(if i == 0 { 2 } else { 1 }),
            ))
            .map_err(err)?
            .label(run.strategy.clone())
            .legend(legend(color));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperRight)
        .draw()
        .map_err(err)?;

    let k_max = runs
        .iter()
        .flat_map(|r| r.samples.iter().map(|s| s.keys_per_s))
        .fold(1.0, f64::max)
        * 1.1;
    let mut chart = ChartBuilder::on(&panels[1])
        .caption("throughput (keys/s)", ("sans-serif", 16))
        .margin(8)
        .x_label_area_size(35)
        .y_label_area_size(55)
        .build_cartesian_2d(x, 0.0..k_max)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("simulated s")
        .draw()
        .map_err(err)?;
    for (i, run) in runs.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        chart
            .draw_series(LineSeries::new(
                series(&run.samples, |s| Some(s.keys_per_s)),
                color.stroke_width(if i == 0 { 2 } else { 1 }),
            ))
            .map_err(err)?
            .label(run.strategy.clone())
            .legend(legend(color));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .position(SeriesLabelPosition::LowerRight)
        .draw()
        .map_err(err)?;
    root.present().map_err(err)?;
    Ok(())
}
