//! SVG plots of the real-data evaluation: lines over the look-ahead and bars per scene.

use std::path::Path;

use anyhow::anyhow;
use plotters::prelude::*;

/// One named line.
pub struct Series {
    pub name: String,
    pub values: Vec<f64>,
    /// Dashed-looking thin line for references and secondary curves.
    pub thin: bool,
}

const SIZE: (u32, u32) = (760, 440);
const COLOURS: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

fn upper(values: impl Iterator<Item = f64>) -> f64 {
    let max = values.filter(|v| v.is_finite()).fold(0.0_f64, f64::max);
    if max > 0.0 {
        max * 1.1
    } else {
        1.0
    }
}

fn err(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow!("plot: {e}")
}

type Chart<'a, 'b> = ChartContext<
    'a,
    SVGBackend<'b>,
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
>;

/// Draws the legend and writes the file.
fn finish<'a, 'b>(
    chart: &mut Chart<'a, 'b>,
    root: &DrawingArea<SVGBackend<'b>, plotters::coord::Shift>,
) -> anyhow::Result<()>
where
    'b: 'a,
{
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(err)?;
    root.present().map_err(err)
}

/// Lines of `series` over `xs`, written to `path` as SVG.
pub fn lines(
    path: &Path,
    title: &str,
    x_desc: &str,
    y_desc: &str,
    xs: &[f64],
    series: &[Series],
) -> anyhow::Result<()> {
    let root = SVGBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let x_max = xs.iter().copied().fold(0.0_f64, f64::max);
    let y_max = upper(series.iter().flat_map(|s| s.values.iter().copied()));
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..x_max * 1.02, 0.0..y_max)
        .map_err(err)?;
    chart.configure_mesh().x_desc(x_desc).y_desc(y_desc).draw().map_err(err)?;
    for (i, s) in series.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let style = colour.stroke_width(if s.thin { 1 } else { 3 });
        let points: Vec<(f64, f64)> =
            xs.iter().copied().zip(s.values.iter().copied()).filter(|(_, y)| y.is_finite()).collect();
        chart
            .draw_series(LineSeries::new(points, style))
            .map_err(err)?
            .label(s.name.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
    }
    finish(&mut chart, &root)
}

/// Bars `(label, value)` with horizontal reference lines `(value, name)`, written to `path` as SVG.
pub fn bars(
    path: &Path,
    title: &str,
    y_desc: &str,
    bars: &[(String, f64)],
    refs: &[(f64, &str)],
) -> anyhow::Result<()> {
    let root = SVGBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let n = bars.len();
    let y_max = upper(bars.iter().map(|b| b.1).chain(refs.iter().map(|r| r.0)));
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(60)
        .build_cartesian_2d(-0.5..n as f64 - 0.5, 0.0..y_max)
        .map_err(err)?;
    let label = |x: &f64| {
        let i = x.round();
        if (x - i).abs() < 1e-6 && i >= 0.0 {
            bars.get(i as usize).map(|b| b.0.clone()).unwrap_or_default()
        } else {
            String::new()
        }
    };
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(n.max(1))
        .x_label_formatter(&label)
        .y_desc(y_desc)
        .draw()
        .map_err(err)?;
    chart
        .draw_series(
            bars.iter().enumerate().map(|(i, (_, v))| {
                Rectangle::new([(i as f64 - 0.35, 0.0), (i as f64 + 0.35, *v)], COLOURS[0].filled())
            }),
        )
        .map_err(err)?;
    for (k, (value, name)) in refs.iter().enumerate() {
        let style = COLOURS[(k + 3) % COLOURS.len()].stroke_width(2);
        chart
            .draw_series(LineSeries::new([(-0.5, *value), (n as f64 - 0.5, *value)], style))
            .map_err(err)?
            .label(name.to_string())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
    }
    finish(&mut chart, &root)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plots_are_svg_files_with_their_labels() {
        let dir = std::env::temp_dir().join(format!("isc_plots_{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let xs = [0.1, 0.2, 0.3];
        let series = [
            Series { name: "model".into(), values: vec![0.1, 0.2, 0.35], thin: false },
            Series { name: "baseline".into(), values: vec![0.05, 0.1, f64::NAN], thin: true },
        ];
        lines(&dir.join("l.svg"), "errors", "look-ahead [s]", "error [m]", &xs, &series).unwrap();
        let svg = std::fs::read_to_string(dir.join("l.svg")).unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("model") && svg.contains("baseline"), "{svg}");
        bars(&dir.join("b.svg"), "ratios", "ratio", &[("eth".into(), 1.4), ("hotel".into(), 1.7)], &[(1.0, "parity")])
            .unwrap();
        let svg = std::fs::read_to_string(dir.join("b.svg")).unwrap();
        assert!(svg.contains("eth") && svg.contains("hotel") && svg.contains("parity"), "{svg}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
