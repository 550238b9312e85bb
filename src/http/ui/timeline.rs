//! The counselling window drawn as a timeline: first session, the regular three years, each
//! extension, exits and re-entries, moves between offices and today, placed on one bar. Pure
//! geometry from dates (no I/O, today passed in); `templates/ui/timeline.html` draws it as SVG
//! and lists the same events as text.

use chrono::{Datelike, NaiveDate};
use serde::Serialize;

/// The drawing's width and height in SVG units, and where the bar lies.
pub const WIDTH: f64 = 960.0;
pub const HEIGHT: f64 = 96.0;
const LEFT: f64 = 24.0;
const RIGHT: f64 = WIDTH - 24.0;
const BAR_Y: f64 = 30.0;
const BAR_H: f64 = 24.0;

/// What the timeline is drawn from.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    pub first_session: NaiveDate,
    pub regular_last_day: NaiveDate,
    pub last_day: NaiveDate,
    /// Each extension: decided on, months, and the last day it brought.
    pub extensions: Vec<(NaiveDate, u32, NaiveDate)>,
    /// Periods without counselling: exit date, re-entry date if any.
    pub exits: Vec<(NaiveDate, Option<NaiveDate>)>,
    /// Moves between offices: when, and the office the case went to (by name).
    pub moves: Vec<(NaiveDate, String)>,
    pub today: NaiveDate,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Bar {
    pub x: f64,
    pub w: f64,
    /// `regular`, `extension` or `exit`.
    pub kind: &'static str,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Marker {
    pub x: f64,
    /// `start`, `end`, `today` or `move`.
    pub kind: &'static str,
    /// Where its label is anchored (`start`, `middle`, `end`), so it stays in the picture.
    pub anchor: &'static str,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Tick {
    pub x: f64,
    pub label: String,
}

/// One line of the text beside the picture.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Event {
    #[serde(with = "crate::domain::time::date")]
    pub on: NaiveDate,
    /// A key of the `timeline` texts.
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub months: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub office: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Timeline {
    pub width: f64,
    pub height: f64,
    pub left: f64,
    pub right: f64,
    pub bar_y: f64,
    pub bar_h: f64,
    #[serde(with = "crate::domain::time::date")]
    pub first_session: NaiveDate,
    #[serde(with = "crate::domain::time::date")]
    pub last_day: NaiveDate,
    pub bars: Vec<Bar>,
    pub markers: Vec<Marker>,
    pub ticks: Vec<Tick>,
    pub events: Vec<Event>,
}

fn round(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// Lays the facts out on the bar. The scale runs from the first session to the later of the
/// last day and today.
pub fn draw(f: &Facts) -> Timeline {
    let start = f.first_session;
    let end = f.last_day.max(f.today).max(start + chrono::Duration::days(1));
    let span = (end - start).num_days() as f64;
    let x = |d: NaiveDate| round(LEFT + ((d - start).num_days() as f64 / span).clamp(0.0, 1.0) * (RIGHT - LEFT));
    let mut bars = vec![Bar { x: x(start), w: round(x(f.regular_last_day) - x(start)), kind: "regular" }];
    let mut events = vec![Event { on: start, kind: "first_session", months: None, office: None }];
    let mut from = f.regular_last_day;
    let mut extensions = f.extensions.clone();
    extensions.sort_by_key(|e| e.0);
    for (decided_on, months, until) in &extensions {
        bars.push(Bar { x: x(from), w: round(x(*until) - x(from)), kind: "extension" });
        events.push(Event { on: *decided_on, kind: "extension", months: Some(*months), office: None });
        from = *until;
    }
    for (exit, re_entry) in &f.exits {
        let until = re_entry.unwrap_or(end).min(end);
        bars.push(Bar { x: x(*exit), w: round((x(until) - x(*exit)).max(2.0)), kind: "exit" });
        events.push(Event { on: *exit, kind: "exit", months: None, office: None });
        if let Some(r) = re_entry {
            events.push(Event { on: *r, kind: "re_entry", months: None, office: None });
        }
    }
    let anchor = |px: f64| {
        if px < LEFT + 40.0 {
            "start"
        } else if px > RIGHT - 40.0 {
            "end"
        } else {
            "middle"
        }
    };
    let mut markers = vec![
        Marker { x: x(start), kind: "start", anchor: "start" },
        Marker { x: x(f.last_day), kind: "end", anchor: anchor(x(f.last_day)) },
    ];
    for (on, office) in &f.moves {
        markers.push(Marker { x: x(*on), kind: "move", anchor: anchor(x(*on)) });
        events.push(Event { on: *on, kind: "move", months: None, office: Some(office.clone()) });
    }
    markers.push(Marker { x: x(f.today), kind: "today", anchor: anchor(x(f.today)) });
    if f.regular_last_day != f.last_day {
        events.push(Event { on: f.regular_last_day, kind: "regular_last_day", months: None, office: None });
    }
    events.push(Event { on: f.last_day, kind: "last_day", months: None, office: None });
    events.push(Event { on: f.today, kind: "today", months: None, office: None });
    // Stable: on one day, the order above (first session before an exit on the same day).
    events.sort_by_key(|e| e.on);
    let ticks = (start.year() + 1..=end.year())
        .filter_map(|y| NaiveDate::from_ymd_opt(y, 1, 1))
        .map(|d| Tick { x: x(d), label: d.year().to_string() })
        .collect();
    Timeline {
        width: WIDTH,
        height: HEIGHT,
        left: LEFT,
        right: RIGHT,
        bar_y: BAR_Y,
        bar_h: BAR_H,
        first_session: f.first_session,
        last_day: f.last_day,
        bars,
        markers,
        ticks,
        events,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn the_bar_runs_from_the_first_session_to_the_last_day_with_extensions_after_the_regular_years() {
        let facts = Facts {
            first_session: d(2024, 1, 1),
            regular_last_day: d(2027, 1, 1),
            last_day: d(2027, 7, 1),
            extensions: vec![(d(2026, 10, 1), 6, d(2027, 7, 1))],
            exits: vec![(d(2025, 3, 1), Some(d(2025, 6, 1)))],
            moves: vec![(d(2025, 9, 15), "Karlsruhe".into())],
            today: d(2026, 11, 25),
        };
        let t = draw(&facts);
        assert_eq!(t.bars[0], Bar { x: LEFT, w: t.bars[1].x - LEFT, kind: "regular" });
        assert_eq!(t.bars[1].kind, "extension");
        assert!((t.bars[1].x + t.bars[1].w - RIGHT).abs() < 0.2, "the extension ends at the right edge");
        let exit = &t.bars[2];
        assert_eq!(exit.kind, "exit");
        assert!(exit.x > LEFT && exit.x + exit.w < t.bars[1].x);
        let today = t.markers.iter().find(|m| m.kind == "today").unwrap();
        assert!(today.x > exit.x + exit.w && today.x < t.bars[1].x);
        assert_eq!(t.ticks.iter().map(|t| t.label.as_str()).collect::<Vec<_>>(), ["2025", "2026", "2027"]);
        let kinds: Vec<&str> = t.events.iter().map(|e| e.kind).collect();
        assert_eq!(
            kinds,
            ["first_session", "exit", "re_entry", "move", "extension", "today", "regular_last_day", "last_day"]
        );
        assert_eq!(t.events[3].office.as_deref(), Some("Karlsruhe"));
    }

    #[test]
    fn today_after_the_end_widens_the_scale_and_everything_stays_inside() {
        let facts = Facts {
            first_session: d(2020, 2, 29),
            regular_last_day: d(2023, 2, 28),
            last_day: d(2023, 2, 28),
            exits: vec![(d(2022, 1, 10), None)],
            today: d(2026, 11, 25),
            ..Facts::default()
        };
        let t = draw(&facts);
        let today = t.markers.iter().find(|m| m.kind == "today").unwrap();
        assert_eq!(today.x, RIGHT);
        assert_eq!(today.anchor, "end");
        for b in &t.bars {
            assert!(b.x >= LEFT && b.x + b.w <= RIGHT + 0.1, "{b:?}");
        }
        // An exit without re-entry runs to the end of the picture.
        assert!((t.bars[1].x + t.bars[1].w - RIGHT).abs() < 0.2);
    }
}
