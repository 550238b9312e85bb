//! Property tests of the counselling window ("Beratungszeitraum", DOMAIN.md "The counselling
//! window"): the date arithmetic, extensions, exit and re-entry, and handovers that never reset
//! the clock. Only the public domain API, no I/O; all data is invented.

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, Days, NaiveDate, TimeZone, Utc};
use proptest::prelude::*;
use staffel::domain::calendar::add_months;
use staffel::domain::handover::{CaseAtSender, check_incoming, prepare};
use staffel::domain::participation::{ExitReason, Participation, ParticipationEvent, check_session};

/// The model of "took part on `day`": replay the events that had happened by then (an exit counts
/// from the day after, a re-entry from its day).
fn took_part(events: &[ParticipationEvent], day: NaiveDate) -> bool {
    let mut taking_part = true;
    for e in events {
        match e {
            ParticipationEvent::Exit { on, .. } if *on < day => taking_part = false,
            ParticipationEvent::ReEntry { on, .. } if *on <= day => taking_part = true,
            _ => {}
        }
    }
    taking_part
}
use staffel::domain::plan::{Author, GoalDraft};
use staffel::domain::{
    CaseId, ClientId, ClientIdentity, ConsentGrant, CounsellingWindow, DataCategory, DomainError, Extension,
    ExtensionGrounds, ExtensionReason, GoalArea, HandoverCase, IntegrationPlan, OfficeId, PersonName, Responsible,
    Text, WindowStatement,
};

// ---------------------------------------------------------------------------------------------
// An independent calendar: the rule of DOMAIN.md written out by hand, not through chrono's
// month arithmetic, so that `add_months` is checked against something other than itself.

fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => unreachable!("month {month}"),
    }
}

fn ymd(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).expect("valid date")
}

/// `date` moved by `months`: the same day number, or that month's last day where it is shorter.
fn oracle_shift(date: NaiveDate, months: u32) -> NaiveDate {
    let total = date.year() * 12 + date.month0() as i32 + months as i32;
    let (year, month) = (total.div_euclid(12), total.rem_euclid(12) as u32 + 1);
    ymd(year, month, date.day().min(days_in_month(year, month)))
}

fn d(s: &str) -> NaiveDate {
    s.parse().expect("ISO date")
}

fn plus_days(date: NaiveDate, n: u64) -> NaiveDate {
    date.checked_add_days(Days::new(n)).expect("in range")
}

fn minus_days(date: NaiveDate, n: u64) -> NaiveDate {
    date.checked_sub_days(Days::new(n)).expect("in range")
}

fn span_days(from: NaiveDate, to: NaiveDate) -> u64 {
    u64::try_from((to - from).num_days()).expect("from <= to")
}

/// A day in `[lo, hi]` chosen by `seed`.
fn pick(lo: NaiveDate, hi: NaiveDate, seed: u32) -> NaiveDate {
    plus_days(lo, u64::from(seed) % (span_days(lo, hi) + 1))
}

// ---------------------------------------------------------------------------------------------
// Invented fixtures.

fn grounds(reasons: &[ExtensionReason]) -> ExtensionGrounds {
    let reasons: BTreeSet<_> = reasons.iter().copied().collect();
    ExtensionGrounds::new(reasons, Text::parse("Documented need (invented test case)", "justification").unwrap())
        .unwrap()
}

fn illiteracy() -> ExtensionGrounds {
    grounds(&[ExtensionReason::Illiteracy])
}

fn office(ags: &str) -> OfficeId {
    OfficeId::parse(ags).unwrap()
}

fn stuttgart() -> OfficeId {
    office("08111000")
}
fn heidelberg() -> OfficeId {
    office("08221000")
}
fn freiburg() -> OfficeId {
    office("08311000")
}

/// An invented adult: 30 years old at the first session.
fn identity(first_session: NaiveDate) -> ClientIdentity {
    ClientIdentity {
        given_name: PersonName::parse("Testa", "given_name").unwrap(),
        family_name: PersonName::parse("Beispiel", "family_name").unwrap(),
        date_of_birth: first_session - chrono::Months::new(30 * 12),
    }
}

fn at_nine(day: NaiveDate) -> DateTime<Utc> {
    Utc.from_utc_datetime(&day.and_hms_opt(9, 0, 0).unwrap())
}

fn plan_with(areas: &[GoalArea], on: NaiveDate) -> IntegrationPlan {
    let mut plan = IntegrationPlan::default();
    let author = Author { office: stuttgart(), account: "im-a".into() };
    for area in areas.iter().cloned() {
        let draft = GoalDraft {
            area,
            description: Text::parse("An invented goal", "description").unwrap(),
            steps: vec![],
            responsible: Responsible::Client,
            target_date: None,
        };
        plan.add_goal(draft, &author, at_nine(on));
    }
    plan
}

fn consent_to(recipient: OfficeId, areas: &[GoalArea], health: bool, given_on: NaiveDate) -> ConsentGrant {
    let mut categories = BTreeSet::from([DataCategory::Identity, DataCategory::Window]);
    categories.extend(areas.iter().map(|a| DataCategory::Plan(a.clone())));
    if health {
        categories.insert(DataCategory::Health);
    }
    ConsentGrant::record(
        ClientId::new(),
        recipient,
        categories,
        at_nine(given_on),
        "im".into(),
        crate::harness::consent_form(),
    )
    .unwrap()
}

/// An extension as it should arrive: its grounds kept only where the consent allows them.
type ExtensionKey = (NaiveDate, u32, String, Option<(Vec<ExtensionReason>, String)>);

fn key(e: &Extension) -> ExtensionKey {
    let grounds =
        e.grounds.as_ref().map(|g| (g.reasons.iter().copied().collect(), g.justification.as_str().to_owned()));
    (e.decided_on, e.months, e.decided_by.clone(), grounds)
}

fn sorted_keys<'a>(extensions: impl IntoIterator<Item = &'a Extension>) -> Vec<ExtensionKey> {
    let mut keys: Vec<_> = extensions.into_iter().map(key).collect();
    keys.sort();
    keys
}

// ---------------------------------------------------------------------------------------------
// Strategies.

const FIRST_YEAR: i32 = 1990;
const LAST_YEAR: i32 = 2100;

fn leap_years() -> Vec<i32> {
    (FIRST_YEAR..=LAST_YEAR).filter(|&y| is_leap(y)).collect()
}

fn leap_day() -> impl Strategy<Value = NaiveDate> {
    prop::sample::select(leap_years()).prop_map(|y| ymd(y, 2, 29))
}

/// First sessions in 1990..=2100: any day, with 29 February of leap years and the last days of
/// months (where the "that month's last day" rule bites) at raised probability.
fn first_session() -> impl Strategy<Value = NaiveDate> {
    let lo = ymd(FIRST_YEAR, 1, 1);
    let any_day = (0..=span_days(lo, ymd(LAST_YEAR, 12, 31))).prop_map(move |n| plus_days(lo, n));
    let month_end = (FIRST_YEAR..=LAST_YEAR, 1..=12u32).prop_map(|(y, m)| ymd(y, m, days_in_month(y, m)));
    prop_oneof![4 => any_day, 2 => leap_day(), 1 => month_end]
}

/// A decision day relative to the window as it stands when the decision is made.
#[derive(Debug, Clone)]
enum Day {
    /// Somewhere in `[first_session, last_day]`.
    Inside(u32),
    /// `n + 1` days before the first session.
    Before(u16),
    /// `n + 1` days after the (current) last day.
    After(u16),
    /// The first session or the last day itself, where off-by-one errors live.
    First,
    Last,
}

impl Day {
    fn resolve(&self, w: &CounsellingWindow) -> NaiveDate {
        match *self {
            Day::Inside(seed) => pick(w.first_session(), w.last_day(), seed),
            Day::Before(n) => minus_days(w.first_session(), u64::from(n) + 1),
            Day::After(n) => plus_days(w.last_day(), u64::from(n) + 1),
            Day::First => w.first_session(),
            Day::Last => w.last_day(),
        }
    }
}

fn day() -> impl Strategy<Value = Day> {
    // Outside by one day as often as by more.
    let outside = || prop_oneof![Just(0u16), 1..400u16];
    prop_oneof![
        8 => any::<u32>().prop_map(Day::Inside),
        1 => Just(Day::First),
        1 => Just(Day::Last),
        1 => outside().prop_map(Day::Before),
        1 => outside().prop_map(Day::After),
    ]
}

/// A request to grant an extension, valid or not.
#[derive(Debug, Clone)]
struct Grant {
    months: u32,
    on: Day,
}

fn grant() -> impl Strategy<Value = Grant> {
    let months = prop_oneof![8 => 1..=12u32, 1 => Just(0u32), 1 => 13..=24u32];
    (months, day()).prop_map(|(months, on)| Grant { months, on })
}

/// A grant request that is valid in form (1..=12 months, decided inside the window); it may
/// still exceed the 12 months in total.
fn inside_grant() -> impl Strategy<Value = (u32, u32, Vec<ExtensionReason>)> {
    let reasons = vec![
        ExtensionReason::Illiteracy,
        ExtensionReason::MentalIllness,
        ExtensionReason::ChronicIllness,
        ExtensionReason::Disability,
        ExtensionReason::MultiProblemSituation,
    ];
    (1..=12u32, any::<u32>(), prop::sample::subsequence(reasons, 1..=3))
}

/// The parts of a total of 0..=12 months, in random order: every partition can come up.
fn partition() -> impl Strategy<Value = (u32, Vec<u32>)> {
    (0..=12u32).prop_flat_map(|total| {
        let cuts: Vec<u32> = (1..total).collect();
        let n = cuts.len();
        prop::sample::subsequence(cuts, 0..=n).prop_flat_map(move |cuts| {
            let mut bounds = vec![0];
            bounds.extend(cuts);
            bounds.push(total);
            let parts: Vec<u32> = bounds.windows(2).map(|w| w[1] - w[0]).filter(|&m| m > 0).collect();
            (Just(total), Just(parts).prop_shuffle())
        })
    })
}

/// Applies grants, checking each against the rule as DOMAIN.md states it.
fn apply_grants(window: &mut CounsellingWindow, grants: &[Grant]) -> Result<(), TestCaseError> {
    for g in grants {
        let on = g.on.resolve(window);
        let before = window.clone();
        let allowed = (1..=12).contains(&g.months)
            && before.extension_months() + g.months <= 12
            && before.first_session() <= on
            && on <= before.last_day();
        let result = window.grant_extension(g.months, illiteracy(), "im".into(), on).cloned();
        prop_assert_eq!(result.is_ok(), allowed, "grant of {} months on {} to {:?}", g.months, on, before);
        match result {
            Ok(e) => {
                prop_assert_eq!(e.months, g.months);
                prop_assert_eq!(e.decided_on, on);
                prop_assert!(window.last_day() >= before.last_day(), "an extension moved the last day earlier");
                prop_assert_eq!(window.extension_months(), before.extension_months() + g.months);
                prop_assert_eq!(window.first_session(), before.first_session());
            }
            Err(_) => prop_assert_eq!(&*window, &before, "a refused grant changed the window"),
        }
    }
    Ok(())
}

/// Property 1: the bounds of the last day, for any window.
fn check_bounds(w: &CounsellingWindow) -> Result<(), TestCaseError> {
    let first = w.first_session();
    prop_assert_eq!(w.regular_last_day(), add_months(first, 36));
    prop_assert!(w.last_day() >= w.regular_last_day());
    prop_assert!(w.last_day() <= add_months(first, 48));
    // The bound is the first session + 48 months. "Regular last day + 12 months" would be a day
    // short for a first session on 29 February (2027-02-28 + 12 = 2028-02-28, not 2028-02-29).
    prop_assert!(w.extension_months() <= 12);
    prop_assert_eq!(w.last_day(), oracle_shift(first, 36 + w.extension_months()));
    prop_assert!(w.is_running_on(first) && w.is_running_on(w.last_day()));
    prop_assert!(!w.is_running_on(plus_days(w.last_day(), 1)) && !w.is_running_on(minus_days(first, 1)));
    Ok(())
}

/// A step of a client's participation, with the day the caseworker records it ("today").
#[derive(Debug, Clone)]
enum Step {
    /// Exit `gap` days after the last event (or the first session), recorded `lag` days later.
    Exit {
        gap: i64,
        lag: i64,
    },
    ReEnter {
        gap: i64,
        lag: i64,
    },
    /// Re-entry `delta` days from the last day (negative: before it).
    ReEnterNearEnd {
        delta: i64,
        lag: i64,
    },
    /// A session on a day relative to the window, recorded `lag` days later.
    Session {
        on: Day,
        lag: i64,
    },
    /// More time granted in between (exit and re-entry are no reason not to).
    Extend {
        months: u32,
        on: u32,
    },
}

fn step() -> impl Strategy<Value = Step> {
    let gap = prop_oneof![6 => 0..=500i64, 1 => 1200..=1600i64, 1 => -60..0i64];
    let lag = prop_oneof![6 => 0..=90i64, 1 => -10..0i64];
    prop_oneof![
        3 => (gap.clone(), lag.clone()).prop_map(|(gap, lag)| Step::Exit { gap, lag }),
        3 => (gap, lag.clone()).prop_map(|(gap, lag)| Step::ReEnter { gap, lag }),
        1 => (-2..=2i64, lag.clone()).prop_map(|(delta, lag)| Step::ReEnterNearEnd { delta, lag }),
        4 => (day(), lag).prop_map(|(on, lag)| Step::Session { on, lag }),
        1 => (1..=6u32, any::<u32>()).prop_map(|(months, on)| Step::Extend { months, on }),
    ]
}

fn shift(date: NaiveDate, days: i64) -> NaiveDate {
    date + chrono::Duration::days(days)
}

// ---------------------------------------------------------------------------------------------
// Properties.

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// The calendar rule itself: same day number, or that month's last day.
    #[test]
    fn add_months_is_same_day_or_month_end(first in first_session(), months in 0..=60u32) {
        prop_assert_eq!(add_months(first, months), oracle_shift(first, months));
    }

    /// Property 1: regular last day <= last day <= first session + 48 months, after any sequence
    /// of grant requests (valid or not).
    #[test]
    fn last_day_stays_between_regular_and_48_months(
        first in first_session(),
        grants in prop::collection::vec(grant(), 0..8),
    ) {
        let mut w = CounsellingWindow::open(first, first).unwrap();
        check_bounds(&w)?;
        prop_assert_eq!(w.last_day(), w.regular_last_day());
        for g in &grants {
            apply_grants(&mut w, std::slice::from_ref(g))?;
            check_bounds(&w)?;
        }
    }

    /// Property 2: a grant never moves the last day earlier; a refused one (0 months, more than
    /// 12 in total, decided outside the window) leaves the window as it was. `apply_grants`
    /// checks every grant against the rule.
    #[test]
    fn grants_only_move_the_last_day_later_and_refusals_change_nothing(
        first in first_session(),
        grants in prop::collection::vec(grant(), 1..12),
    ) {
        let mut w = CounsellingWindow::open(first, first).unwrap();
        apply_grants(&mut w, &grants)?;
        // Whatever was granted can be rebuilt from its parts, in any order given.
        let mut reversed = w.extensions().to_vec();
        reversed.reverse();
        let rebuilt = CounsellingWindow::from_parts(first, reversed).unwrap();
        prop_assert_eq!(rebuilt.last_day(), w.last_day());
        prop_assert_eq!(sorted_keys(rebuilt.extensions()), sorted_keys(w.extensions()));
    }

    /// Property 2, the refusals on their own: each kind of bad grant leaves the window unchanged,
    /// whatever was granted before.
    #[test]
    fn refused_grants_leave_the_window_unchanged(
        first in first_session(),
        granted in 0..=12u32,
        early in 1..=400u64,
        late in 1..=400u64,
        too_many in 1..=12u32,
    ) {
        let mut w = CounsellingWindow::open(first, first).unwrap();
        if granted > 0 {
            w.grant_extension(granted, illiteracy(), "im".into(), first).unwrap();
        }
        let before = w.clone();
        let inside = w.regular_last_day();
        let refusals = [
            (0, inside, DomainError::ExtensionMonthsOutOfRange),
            (13, inside, DomainError::ExtensionMonthsOutOfRange),
            (12 - granted + too_many, inside, if 12 - granted + too_many > 12 {
                DomainError::ExtensionMonthsOutOfRange
            } else {
                DomainError::ExtensionTooLong { remaining: 12 - granted }
            }),
        ];
        for (months, on, expected) in refusals {
            prop_assert_eq!(w.grant_extension(months, illiteracy(), "im".into(), on).unwrap_err(), expected);
            prop_assert_eq!(&w, &before);
        }
        if granted < 12 {
            for on in [minus_days(first, early), plus_days(w.last_day(), late)] {
                let refused = w.grant_extension(1, illiteracy(), "im".into(), on);
                let outside = matches!(refused, Err(DomainError::ExtensionOutsideWindow { .. }));
                prop_assert!(outside, "{:?}", refused);
                prop_assert_eq!(&w, &before);
            }
        }
    }

    /// Property 3: however a total is split into parts (and whenever inside the window each part
    /// is decided), the last day is the first session moved by 36 months plus the total, the same
    /// as one extension of the total.
    #[test]
    fn the_split_of_an_extension_does_not_matter(
        first in first_session(),
        (total, parts) in partition(),
        days in prop::collection::vec(any::<u32>(), 12),
    ) {
        let mut split = CounsellingWindow::open(first, first).unwrap();
        for (&months, &seed) in parts.iter().zip(&days) {
            // A day inside the window as it stands: the parts need not come in date order.
            let on = pick(first, split.last_day(), seed);
            split.grant_extension(months, illiteracy(), "im".into(), on).unwrap();
        }
        prop_assert_eq!(split.extension_months(), total);
        prop_assert_eq!(split.last_day(), add_months(first, 36 + total));
        prop_assert_eq!(split.last_day(), oracle_shift(first, 36 + total));
        let mut whole = CounsellingWindow::open(first, first).unwrap();
        if total > 0 {
            whole.grant_extension(total, illiteracy(), "im".into(), first).unwrap();
        }
        prop_assert_eq!(split.last_day(), whole.last_day());
        // Rebuilt from its parts (as storage and handovers do), in any order, it ends the same day.
        let mut shuffled = split.extensions().to_vec();
        shuffled.rotate_left(parts.len() / 2);
        prop_assert_eq!(CounsellingWindow::from_parts(first, shuffled).unwrap().last_day(), whole.last_day());
    }

    /// Property 4: exits and re-entries with any dates the domain accepts never move the last
    /// day; re-entry only up to the last day; sessions only inside the window, while taking part.
    #[test]
    fn exit_and_re_entry_never_move_the_clock(
        first in first_session(),
        steps in prop::collection::vec(step(), 1..16),
    ) {
        let mut w = CounsellingWindow::open(first, first).unwrap();
        let mut p = Participation::default();
        for s in &steps {
            let last_day = w.last_day();
            let earliest = p.events().last().map_or(first, |e| e.on());
            let events = p.events().len();
            match *s {
                Step::Exit { gap, lag } => {
                    let on = shift(earliest, gap);
                    let today = shift(on, lag);
                    let allowed = p.is_active() && earliest <= on && on <= today;
                    let result = p.exit(&w, on, ExitReason::NoLongerReceivesBenefits, None, "im".into(), today);
                    prop_assert_eq!(result.is_ok(), allowed, "exit on {} (today {}): {:?}", on, today, result);
                    if allowed {
                        prop_assert!(!p.is_active());
                    }
                }
                Step::ReEnter { .. } | Step::ReEnterNearEnd { .. } => {
                    let (on, lag) = match *s {
                        Step::ReEnter { gap, lag } => (shift(earliest, gap), lag),
                        Step::ReEnterNearEnd { delta, lag } => (shift(last_day, delta), lag),
                        _ => unreachable!(),
                    };
                    let today = shift(on, lag);
                    let allowed = !p.is_active() && earliest <= on && on <= today && on <= last_day;
                    let result = p.re_enter(&w, on, "im".into(), today);
                    prop_assert_eq!(result.is_ok(), allowed, "re-entry on {} (today {}): {:?}", on, today, result);
                    if allowed {
                        prop_assert!(p.is_active());
                    }
                    if on > last_day && !p.is_active() {
                        prop_assert!(result.is_err(), "re-entry after the last day {}", last_day);
                    }
                }
                Step::Session { ref on, lag } => {
                    let on = on.resolve(&w);
                    let today = shift(on, lag);
                    let allowed = first <= on && on <= last_day && on <= today && took_part(p.events(), on);
                    let result = check_session(&w, &p, on, today);
                    prop_assert_eq!(result.is_ok(), allowed, "session on {} (today {}): {:?}", on, today, result);
                }
                Step::Extend { months, on } => {
                    let on = pick(first, last_day, on);
                    let fits = w.extension_months() + months <= 12;
                    prop_assert_eq!(w.grant_extension(months, illiteracy(), "im".into(), on).is_ok(), fits);
                }
            }
            let changed = p.events().len() - events;
            prop_assert!(changed <= 1);
            if !matches!(s, Step::Extend { .. }) {
                // Participation never touches the clock.
                prop_assert_eq!(w.last_day(), last_day);
                prop_assert_eq!(w.first_session(), first);
            }
            prop_assert_eq!(w.last_day(), add_months(first, 36 + w.extension_months()));
        }
    }

    /// Property 5: a handover never resets the clock, A → B → C, whatever consent to health data;
    /// the statement and the whole case survive serde_json unchanged.
    #[test]
    fn a_handover_never_resets_the_clock(
        first in first_session(),
        grants in prop::collection::vec(inside_grant(), 0..6),
        areas in prop::sample::subsequence(GoalArea::ALL.to_vec(), 0..=3),
        health in any::<bool>(),
        today_seeds in prop::collection::vec(any::<u32>(), 3),
        consent_age in 0..=30u64,
    ) {
        let mut w = CounsellingWindow::open(first, first).unwrap();
        for (i, (months, seed, reasons)) in grants.iter().enumerate() {
            let on = pick(first, w.last_day(), *seed);
            // More than 12 months in total is refused; the rest is granted.
            let _ = w.grant_extension(*months, grounds(reasons), format!("im-{i}"), on);
        }
        // "Today" after every decision and inside the window; then later days at B and C.
        let latest_decision = w.extensions().iter().map(|e| e.decided_on).max().unwrap_or(first);
        let mut todays: Vec<NaiveDate> =
            today_seeds.iter().map(|&s| pick(latest_decision, w.last_day(), s)).collect();
        todays.sort();
        let (t_a, t_b, t_c) = (todays[0], todays[1], todays[2]);

        let plan = plan_with(&areas, first);
        let client = identity(first);
        let consent_b = consent_to(heidelberg(), &areas, health, minus_days(t_a, consent_age));
        let at_a = CaseAtSender { case_id: CaseId::new(), identity: &client, window: &w, plan: &plan };
        let case = prepare(at_a, &consent_b, stuttgart(), heidelberg(), t_a).unwrap();

        // What travels: the same clock, grounds only as far as the consent reaches.
        prop_assert_eq!(case.window.first_session, first);
        prop_assert_eq!(case.window.last_day, w.last_day());
        let expected: Vec<ExtensionKey> = sorted_keys(&w.statement(health).extensions);
        for e in &case.window.extensions {
            let health_grounds = e.grounds.as_ref().is_some_and(ExtensionGrounds::is_health_data);
            prop_assert!(health || !health_grounds, "health grounds sent without consent");
        }

        // Through JSON and back, unchanged.
        let json = serde_json::to_value(&case.window).unwrap();
        let back: WindowStatement = serde_json::from_value(json).unwrap();
        prop_assert_eq!(&back, &case.window);
        let whole: HandoverCase = serde_json::from_value(serde_json::to_value(&case).unwrap()).unwrap();
        prop_assert_eq!(&whole, &case);

        // At B.
        let at_b = check_incoming(&whole, heidelberg(), t_b).unwrap();
        prop_assert_eq!(at_b.first_session(), first);
        prop_assert_eq!(at_b.extension_months(), w.extension_months());
        prop_assert_eq!(at_b.last_day(), w.last_day());
        prop_assert_eq!(at_b.regular_last_day(), w.regular_last_day());
        prop_assert_eq!(sorted_keys(at_b.extensions()), expected.clone());
        let mut months_a: Vec<u32> = w.extensions().iter().map(|e| e.months).collect();
        let mut months_b: Vec<u32> = at_b.extensions().iter().map(|e| e.months).collect();
        months_a.sort_unstable();
        months_b.sort_unstable();
        prop_assert_eq!(months_a, months_b);

        // B hands on to C from what it received.
        let consent_c = consent_to(freiburg(), &areas, health, minus_days(t_b, consent_age));
        let from_b = CaseAtSender { case_id: whole.case_id, identity: &whole.client, window: &at_b, plan: &whole.plan };
        let case_c = prepare(from_b, &consent_c, heidelberg(), freiburg(), t_b).unwrap();
        let case_c: HandoverCase = serde_json::from_value(serde_json::to_value(&case_c).unwrap()).unwrap();
        prop_assert_eq!(case_c.case_id, case.case_id);
        let at_c = check_incoming(&case_c, freiburg(), t_c).unwrap();
        prop_assert_eq!(at_c.first_session(), first);
        prop_assert_eq!(at_c.last_day(), w.last_day());
        prop_assert_eq!(sorted_keys(at_c.extensions()), expected);
        prop_assert_eq!(&at_c, &at_b);
    }

    /// Property 6: a first session on 29 February. The regular last day is in February three
    /// years later (the 28th, or the 29th in a leap year); with n months more it is the 29th of
    /// that month or, where the month is shorter, its last day.
    #[test]
    fn leap_day_first_session(first in leap_day(), parts in partition(), seed in any::<u32>()) {
        let (n, parts) = parts;
        let year = first.year();
        let mut w = CounsellingWindow::open(first, first).unwrap();
        let regular = w.regular_last_day();
        prop_assert_eq!((regular.year(), regular.month()), (year + 3, 2));
        prop_assert_eq!(regular.day(), if is_leap(year + 3) { 29 } else { 28 });
        for months in parts {
            let on = pick(first, w.last_day(), seed);
            w.grant_extension(months, illiteracy(), "im".into(), on).unwrap();
        }
        let last = w.last_day();
        // February is month0 1; n months later, possibly into the next year.
        let (ty, tm) = (year + 3 + (1 + n as i32) / 12, (1 + n) % 12 + 1);
        prop_assert_eq!((last.year(), last.month()), (ty, tm));
        prop_assert_eq!(last.day(), 29.min(days_in_month(ty, tm)));
    }
}

// ---------------------------------------------------------------------------------------------
// Fixed examples, from DOMAIN.md and around the edges of the calendar.

#[test]
fn domain_md_examples() {
    let w = CounsellingWindow::open(d("2024-03-15"), d("2024-03-15")).unwrap();
    assert_eq!(w.last_day(), d("2027-03-15"));

    let mut w = CounsellingWindow::open(d("2024-02-29"), d("2024-03-01")).unwrap();
    assert_eq!(w.regular_last_day(), d("2027-02-28"));
    assert_eq!(w.last_day(), d("2027-02-28"));
    w.grant_extension(1, illiteracy(), "im".into(), d("2026-09-01")).unwrap();
    assert_eq!(w.last_day(), d("2027-03-29"));
}

#[test]
fn six_and_six_months_end_like_twelve() {
    let mut parts = CounsellingWindow::open(d("2024-02-29"), d("2024-02-29")).unwrap();
    parts.grant_extension(6, illiteracy(), "im".into(), d("2026-05-04")).unwrap();
    // Decided after the regular last day, inside the extended window.
    parts.grant_extension(6, illiteracy(), "im".into(), d("2027-06-30")).unwrap();
    let mut whole = CounsellingWindow::open(d("2024-02-29"), d("2024-02-29")).unwrap();
    whole.grant_extension(12, illiteracy(), "im".into(), d("2026-05-04")).unwrap();
    assert_eq!(parts.last_day(), d("2028-02-29"));
    assert_eq!(whole.last_day(), d("2028-02-29"));
    // Not 2027-08-28 + 6 months = 2028-02-28: the months are added together to the first session.
    let mut month_end = CounsellingWindow::open(d("2023-08-31"), d("2023-08-31")).unwrap();
    month_end.grant_extension(6, illiteracy(), "im".into(), d("2025-01-01")).unwrap();
    assert_eq!(month_end.last_day(), d("2027-02-28"));
    month_end.grant_extension(1, illiteracy(), "im".into(), d("2026-01-01")).unwrap();
    assert_eq!(month_end.last_day(), d("2027-03-31"));
}

#[test]
fn the_year_2100_is_no_leap_year() {
    let mut w = CounsellingWindow::open(d("2096-02-29"), d("2096-02-29")).unwrap();
    assert_eq!(w.regular_last_day(), d("2099-02-28"));
    w.grant_extension(12, illiteracy(), "im".into(), d("2097-01-01")).unwrap();
    assert_eq!(w.last_day(), d("2100-02-28"));
    let w = CounsellingWindow::open(d("1997-02-28"), d("1997-02-28")).unwrap();
    assert_eq!(w.last_day(), d("2000-02-28"));
}

#[test]
fn refusals_leave_the_window_as_it_was() {
    let mut w = CounsellingWindow::open(d("2024-03-15"), d("2024-03-15")).unwrap();
    w.grant_extension(8, illiteracy(), "im".into(), d("2025-01-01")).unwrap();
    let before = w.clone();
    assert_eq!(
        w.grant_extension(5, illiteracy(), "im".into(), d("2025-02-01")),
        Err(DomainError::ExtensionTooLong { remaining: 4 })
    );
    assert!(w.grant_extension(1, illiteracy(), "im".into(), d("2027-11-16")).is_err());
    assert!(w.grant_extension(1, illiteracy(), "im".into(), d("2024-03-14")).is_err());
    assert_eq!(w, before);
    assert_eq!(w.last_day(), d("2027-11-15"));
}

#[test]
fn exit_and_re_entry_keep_the_extended_last_day() {
    let mut w = CounsellingWindow::open(d("2024-02-29"), d("2024-02-29")).unwrap();
    w.grant_extension(1, illiteracy(), "im".into(), d("2025-05-05")).unwrap();
    let mut p = Participation::default();
    p.exit(&w, d("2025-06-01"), ExitReason::ManagesIndependently, None, "im".into(), d("2025-06-01")).unwrap();
    assert_eq!(
        p.re_enter(&w, d("2027-03-30"), "im".into(), d("2027-03-30")),
        Err(DomainError::WindowEnded { last_day: d("2027-03-29") })
    );
    p.re_enter(&w, d("2027-03-29"), "im".into(), d("2027-03-29")).unwrap();
    assert_eq!(w.last_day(), d("2027-03-29"));
    assert!(check_session(&w, &p, d("2027-03-29"), d("2027-03-29")).is_ok());
    assert_eq!(
        check_session(&w, &p, d("2027-03-30"), d("2027-04-02")),
        Err(DomainError::WindowEnded { last_day: d("2027-03-29") })
    );
}

#[test]
fn handover_keeps_the_leap_day_clock() {
    let mut w = CounsellingWindow::open(d("2024-02-29"), d("2024-02-29")).unwrap();
    w.grant_extension(1, grounds(&[ExtensionReason::MentalIllness]), "im".into(), d("2026-01-10")).unwrap();
    let plan = plan_with(&[GoalArea::Language], d("2024-03-01"));
    let client = identity(d("2024-02-29"));
    let consent = consent_to(heidelberg(), &[GoalArea::Language], false, d("2026-11-01"));
    let at_a = CaseAtSender { case_id: CaseId::new(), identity: &client, window: &w, plan: &plan };
    let case = prepare(at_a, &consent, stuttgart(), heidelberg(), d("2026-11-25")).unwrap();
    assert!(case.window.extensions[0].grounds.is_none(), "health grounds withheld without consent");
    let at_b = check_incoming(&case, heidelberg(), d("2026-11-26")).unwrap();
    assert_eq!(at_b.first_session(), d("2024-02-29"));
    assert_eq!(at_b.last_day(), d("2027-03-29"));
}
