use super::*;
use crate::model::NUM_INTENTS;
use crate::skeleton::{keypoint, HumanSkeleton, Keypoint, NUM_KEYPOINTS};
use approx::assert_relative_eq;

const STEP: f64 = 0.1;

fn bound(metres: f64) -> ForecastBound {
    ForecastBound { step_s: STEP, metres: vec![metres; 10], quantile: 0.999 }
}

/// One person `id` whose hips straddle (x, y) in the robot frame.
fn capture(t: f64, people: &[(HumanId, f64, f64)]) -> SkeletonFrame {
    let humans = people
        .iter()
        .map(|&(id, x, y)| {
            let mut keypoints = [Keypoint::MISSING; NUM_KEYPOINTS];
            keypoints[keypoint::LEFT_HIP] = Keypoint { position: Point3::new(x, y + 0.1, 0.9), confidence: 0.9 };
            keypoints[keypoint::RIGHT_HIP] = Keypoint { position: Point3::new(x, y - 0.1, 0.9), confidence: 0.9 };
            HumanSkeleton { id, keypoints }
        })
        .collect();
    SkeletonFrame { stamp: Stamp::from_secs_f64(t), frame_id: "base_link".into(), humans }
}

/// A forecast made at `t` whose torso at look-ahead τ is `at(τ)` (robot frame of the capture).
fn forecast(id: HumanId, t: f64, at: impl Fn(f64) -> (f64, f64)) -> HumanPrediction {
    HumanPrediction {
        human_id: id,
        stamp: Stamp::from_secs_f64(t),
        probabilities: [1.0 / NUM_INTENTS as f32; NUM_INTENTS],
        confidence: 0.2,
        horizon_step: STEP,
        future: (1..=10)
            .map(|k| {
                let (x, y) = at(k as f64 * STEP);
                [Point3::new(x, y, 0.9); 3]
            })
            .collect(),
    }
}

fn counts(c: &ForecastCheck) -> Vec<(u64, u64)> {
    c.steps().iter().map(|s| (s.checks, s.exceeded)).collect()
}

#[test]
fn a_forecast_that_comes_true_is_within_any_bound() {
    // (Rounding leaves errors of a few 1e-16 m.)
    let mut c = ForecastCheck::new(bound(1e-9), 0.3);
    let still = Isometry2::identity();
    // Walking at 1 m/s toward the robot from 5 m; captures every 1/30 s; a forecast at every capture.
    for i in 0..90 {
        let t = i as f64 / 30.0;
        c.observe(&capture(t, &[(7, 5.0 - t, 0.0)]), &still);
        c.record(&[forecast(7, t, |tau| (5.0 - t - tau, 0.0))], &still);
    }
    // One forecast kept per 0.1 s (30 Hz would count each situation three times), and at look-ahead τ only
    // forecasts τ apart counted (0.0, τ, 2τ, ... while their step's time is within the 2.967 s seen).
    let per_step: Vec<u64> = c.steps().iter().map(|s| s.checks).collect();
    let expected: Vec<u64> = (1..=10u64).map(|k| 89 / (3 * k)).collect();
    assert_eq!(per_step, expected);
    assert!(c.steps().iter().all(|s| s.exceeded == 0 && s.largest_error < 1e-9), "{:?}", c.steps());
    assert!(c.summary().iter().all(|s| !s.alarm));
}

#[test]
fn a_walker_forecast_to_stop_misses_by_their_travel_toward_the_robot() {
    // Hand-computed: the person walks at 1 m/s straight at the robot, the forecast says they stay; the error
    // at look-ahead τ is 1 m/s · τ (the seen distance is that much shorter). Captures at 0.15 s spacing fall
    // between the steps' times: the linear walk is interpolated exactly.
    let mut c = ForecastCheck::new(bound(0.15), 0.3);
    let still = Isometry2::identity();
    c.observe(&capture(0.0, &[(3, 4.0, 0.0)]), &still);
    c.record(&[forecast(3, 0.0, |_| (4.0, 0.0))], &still);
    for i in 1..=8 {
        let t = i as f64 * 0.15;
        c.observe(&capture(t, &[(3, 4.0 - t, 0.0)]), &still);
    }
    for (k, s) in c.steps().iter().enumerate() {
        let tau = (k + 1) as f64 * STEP;
        assert_eq!(s.checks, 1, "step {k}");
        assert_relative_eq!(s.largest_error, tau, epsilon = 1e-9);
        // 0.1 m at 0.1 s is within 0.15 m; 0.2 m from 0.2 s on is not.
        assert_eq!(s.exceeded, u64::from(k >= 1), "step {k}");
    }
    // Walking away instead: the person is farther than forecast, a negative error, never above a bound.
    let mut away = ForecastCheck::new(bound(0.0), 0.3);
    away.observe(&capture(0.0, &[(3, 4.0, 0.0)]), &still);
    away.record(&[forecast(3, 0.0, |_| (4.0, 0.0))], &still);
    for i in 1..=8 {
        let t = i as f64 * 0.15;
        away.observe(&capture(t, &[(3, 4.0 + t, 0.0)]), &still);
    }
    assert!(away.steps().iter().all(|s| s.checks == 1 && s.exceeded == 0 && s.largest_error < 0.0));
    // Sideways at 1 m/s, 4 m away: the distance grows by √(16 + τ²) − 4, so that is the (negative) error.
    let mut side = ForecastCheck::new(bound(0.0), 0.3);
    side.observe(&capture(0.0, &[(3, 4.0, 0.0)]), &still);
    side.record(&[forecast(3, 0.0, |_| (4.0, 0.0))], &still);
    for i in 1..=8 {
        let t = i as f64 * 0.15;
        side.observe(&capture(t, &[(3, 4.0, t)]), &still);
    }
    assert_relative_eq!(side.steps()[9].largest_error, 4.0 - (16.0f64 + 1.0).sqrt(), epsilon = 1e-9);
}

#[test]
fn errors_are_measured_in_the_fixed_frame_so_the_robots_own_motion_is_no_error() {
    // The robot drives 1 m/s along the fixed frame's y axis, facing it; a person stands still at fixed (1, 3).
    // In the robot frame they come 1 m/s closer; the forecast (made with odometry) keeps them where they are.
    let pose = |t: f64| Isometry2::new(nalgebra::Vector2::new(1.0, t), std::f64::consts::FRAC_PI_2);
    let seen_at = |t: f64| {
        let q = pose(t).inverse() * Point2::new(1.0, 3.0);
        (q.x, q.y)
    };
    let mut c = ForecastCheck::new(bound(0.01), 0.3);
    let (x0, y0) = seen_at(0.0);
    assert_relative_eq!(x0, 3.0, epsilon = 1e-12);
    c.observe(&capture(0.0, &[(1, x0, y0)]), &pose(0.0));
    c.record(&[forecast(1, 0.0, |_| (x0, y0))], &pose(0.0));
    for i in 1..=40 {
        let t = i as f64 / 30.0;
        let (x, y) = seen_at(t);
        c.observe(&capture(t, &[(1, x, y)]), &pose(t));
    }
    assert!(c.steps().iter().all(|s| s.checks == 1 && s.exceeded == 0 && s.largest_error.abs() < 1e-9));
    // The same captures checked as if the robot stood still: 1 m/s · τ closer than forecast.
    let mut naive = ForecastCheck::new(bound(0.01), 0.3);
    let still = Isometry2::identity();
    naive.observe(&capture(0.0, &[(1, x0, y0)]), &still);
    naive.record(&[forecast(1, 0.0, |_| (x0, y0))], &still);
    for i in 1..=40 {
        let t = i as f64 / 30.0;
        let (x, y) = seen_at(t);
        naive.observe(&capture(t, &[(1, x, y)]), &still);
    }
    assert_relative_eq!(naive.steps()[9].largest_error, 1.0, epsilon = 1e-9);
}

#[test]
fn a_gap_in_the_captures_or_another_person_leaves_steps_unchecked() {
    let still = Isometry2::identity();
    let mut c = ForecastCheck::new(bound(0.1), 0.3);
    c.observe(&capture(0.0, &[(1, 3.0, 0.0), (2, 0.0, 3.0)]), &still);
    c.record(&[forecast(1, 0.0, |_| (3.0, 0.0))], &still);
    // Person 1 unseen from 0.0 to 0.5 s (a gap over MAX_GAP_S): steps 0.1–0.5 s are not checked; then seen
    // every 0.05 s, steps 0.6–1.0 s are. Person 2, who has no forecast, changes nothing.
    c.observe(&capture(0.25, &[(2, 0.0, 3.0)]), &still);
    for i in 0..=10 {
        let t = 0.5 + i as f64 * 0.05;
        c.observe(&capture(t, &[(1, 3.0, 0.0), (2, 0.0, 3.0)]), &still);
    }
    let expected: Vec<(u64, u64)> = (0..10).map(|k| (u64::from(k >= 5), 0)).collect();
    assert_eq!(counts(&c), expected);
    // Hips below the confidence the features use are not a sighting.
    let mut low = capture(1.1, &[(1, 0.0, 0.0)]);
    for k in [keypoint::LEFT_HIP, keypoint::RIGHT_HIP] {
        low.humans[0].keypoints[k].confidence = 0.1;
    }
    let before = counts(&c);
    c.record(&[forecast(1, 1.0, |_| (3.0, 0.0))], &still);
    c.observe(&low, &still);
    assert_eq!(counts(&c), before);
}

#[test]
fn the_alarm_needs_more_misses_than_the_cards_quantile_allows() {
    // At 99.9 %: a miss adds ln 10, a check within the bound takes off −ln(0.99 / 0.999) (by hand: 0.00905).
    let mut t = Cusum::new(0.999);
    assert!(!t.push(true));
    assert_relative_eq!(t.evidence(), 10f64.ln(), epsilon = 1e-9);
    assert!(!t.push(false));
    assert_relative_eq!(t.evidence(), 10f64.ln() - (0.999f64 / 0.99).ln(), epsilon = 1e-9);
    // Seven misses in a row raise it, six do not (6 · ln 10 = 13.8 < 14).
    for (misses, raised) in [(6, false), (7, true)] {
        let mut t = Cusum::new(0.999);
        let after: Vec<bool> = (0..misses).map(|_| t.push(true)).collect();
        assert_eq!(after.iter().filter(|r| **r).count(), usize::from(raised), "{misses}: {after:?}");
    }
    // Misses 300 checks apart (3.3 × the allowed rate): each one's evidence is gone (300 · 0.00905 > ln 10)
    // before the next, never raised. 100 apart (10 ×): each leaves 1.4, raised at the 10th miss.
    for (apart, raised_at) in [(300, None), (100, Some(10))] {
        let mut t = Cusum::new(0.999);
        let mut first = None;
        for m in 1..=40 {
            for _ in 1..apart {
                t.push(false);
            }
            if t.push(true) && first.is_none() {
                first = Some(m);
            }
        }
        assert_eq!(first, raised_at, "{apart} apart");
    }
    // The edge to a hundredth: seven misses with 234 checks within the bound spread among them leave
    // 7 · 2.302585 − 234 · 0.0090498 = 14.0004 and raise it; with 235, 13.9913 do not.
    for (passes, raised) in [(234, true), (235, false)] {
        let mut t = Cusum::new(0.999);
        let gaps = [39, 39, 39, 39, 39, 39 + passes - 234];
        let mut after = t.push(true);
        for gap in gaps {
            for _ in 0..gap {
                t.push(false);
            }
            after = t.push(true);
        }
        assert_eq!(after, raised, "{passes} passes: evidence {}", t.evidence());
    }
    // Once raised, it stays until checks within the bound have taken all the evidence off (not at the first
    // one below the edge); the evidence is capped at the edge, so that takes 14 / 0.0090498 → 1547 of them
    // whether 7 or 700 misses came before.
    for misses in [7, 700] {
        let mut t = Cusum::new(0.999);
        for _ in 0..misses {
            t.push(true);
        }
        assert_eq!((t.evidence(), t.checks_to_clear()), (ALARM_EVIDENCE, 1547));
        let holds = (0..5000).take_while(|_| t.push(false)).count() + 1;
        assert_eq!(holds, 1547, "{misses} misses");
        assert_eq!((t.evidence(), t.raised(), t.checks_to_clear()), (0.0, false, 0));
    }
    // The same through the counts the check keeps, whose window shows the recent misses.
    for (misses, raised) in [(6, false), (7, true)] {
        let mut c = ForecastCheck::new(bound(0.1), 0.3);
        for i in 0..WINDOW {
            let error = if i >= WINDOW - misses { 0.2 } else { 0.0 };
            c.steps[0].push(Stamp::from_secs_f64(i as f64), error, 0.1);
        }
        let s = &c.summary()[0];
        assert_eq!((s.recent_checks, s.recent_exceeded, s.alarm, s.alarmed), (WINDOW, misses, raised, raised));
    }
    // A person who keeps stopping short of the forecast by 0.05 m, bound 0.03 m at 0.1 s only (a one-step
    // bound): every check misses; with a 0.06 m bound none does.
    let one_step = |m: f64| ForecastBound { step_s: STEP, metres: vec![m], quantile: 0.999 };
    let run = |b: ForecastBound| {
        let mut c = ForecastCheck::new(b, 0.3);
        let still = Isometry2::identity();
        for i in 0..=(3 * WINDOW) {
            let t = i as f64 * 0.05;
            c.observe(&capture(t, &[(1, 3.0, 0.0)]), &still);
            c.record(&[forecast(1, t, |_| (3.05, 0.0))], &still);
        }
        c
    };
    let missed = run(one_step(0.03));
    let s = &missed.summary()[0];
    assert_eq!((s.recent_checks, s.recent_exceeded), (WINDOW, WINDOW));
    assert!(s.alarm);
    assert_eq!(missed.steps()[0].checks, missed.steps()[0].exceeded);
    let held = run(one_step(0.06));
    assert_eq!(held.summary()[0].recent_exceeded, 0);
    assert!(!held.summary()[0].alarm && !held.summary()[0].alarmed);
}

#[test]
fn one_event_is_one_check_at_each_look_ahead_and_raises_no_alarm() {
    // Someone stands 3 m ahead for 60 s and is forecast to stay; then the tracker puts them 1 m closer (a swap
    // with someone else) and they stay there. The forecasts made in the second before the swap miss it at
    // every step from theirs on; at look-ahead τ only forecasts τ apart are counted, so it is one miss per
    // step, and one miss is no alarm.
    let still = Isometry2::identity();
    let mut c = ForecastCheck::new(bound(0.5), 0.3);
    for i in 0..=(90 * 30) {
        let t = i as f64 / 30.0;
        let x = if t < 60.0 { 3.0 } else { 2.0 };
        c.observe(&capture(t, &[(4, x, 0.0)]), &still);
        c.record(&[forecast(4, t, |_| (x, 0.0))], &still);
    }
    for (k, s) in c.steps().iter().enumerate() {
        assert!(s.exceeded <= 1, "step {k}: {s:?}");
        assert!(!s.alarmed, "step {k}: {s:?}");
    }
    assert_eq!(c.steps()[9].exceeded, 1);
    // Overlapping checks would have counted each forecast of the last second before the swap at 1 s: ten.
}

#[test]
fn a_clock_jump_backwards_or_an_older_capture_starts_afresh() {
    // A walker coming at 1.5 m/s, forecast exactly; at 5 s the stamps go back by `jump` (the bag suite's clock
    // jump is 2 s) and the walk goes on. Pending forecasts and sightings from before the jump are dropped, not
    // compared with captures from the other side of it (which would miss by 1.5 m/s · jump at every step).
    let still = Isometry2::identity();
    for jump in [2.0, 0.49, 0.2, 0.04] {
        let mut c = ForecastCheck::new(bound(0.05), 0.3);
        for i in 0..=(10 * 30) {
            let wall = i as f64 / 30.0;
            let t = if wall < 5.0 { wall } else { wall - jump };
            let x = 16.0 - 1.5 * wall;
            c.observe(&capture(t, &[(2, x, 0.0)]), &still);
            c.record(&[forecast(2, t, |tau| (x - 1.5 * tau, 0.0))], &still);
        }
        assert!(c.steps().iter().all(|s| s.exceeded == 0 && s.checks > 0), "jump {jump}: {:?}", counts(&c));
        // After the jump the forecasts are kept and checked again (not held back by stamps from before it).
        assert!(c.steps()[0].checks >= 90, "jump {jump}: {:?}", counts(&c));
    }
    // One capture out of order (an older stamp between newer ones): nothing pending is compared with it or
    // across it; the next forecasts are checked again.
    let mut d = ForecastCheck::new(bound(0.05), 0.3);
    d.observe(&capture(0.0, &[(1, 3.0, 0.0)]), &still);
    d.record(&[forecast(1, 0.0, |_| (3.0, 0.0))], &still);
    d.observe(&capture(0.2, &[(1, 3.0, 0.0)]), &still);
    d.observe(&capture(0.05, &[(1, 1.0, 0.0)]), &still);
    d.observe(&capture(0.3, &[(1, 3.0, 0.0)]), &still);
    assert!(d.steps().iter().all(|s| s.exceeded == 0), "{:?}", counts(&d));
    d.record(&[forecast(1, 0.3, |_| (3.0, 0.0))], &still);
    d.observe(&capture(0.45, &[(1, 3.0, 0.0)]), &still);
    assert_eq!(d.steps()[0].exceeded, 0);
    assert!(d.steps()[0].checks >= 1, "{:?}", counts(&d));
}

#[test]
fn the_recent_window_forgets_old_checks_and_the_alarm_stays_until_checks_outweigh_it() {
    let mut c = ForecastCheck::new(bound(0.1), 0.3);
    for i in 0..10 {
        c.steps[0].push(Stamp::from_secs_f64(i as f64), 0.5, 0.1);
    }
    assert!(c.summary()[0].alarm);
    // Nobody in view for WINDOW_S: the recent misses leave the window; the totals and the alarm stay (no
    // check has spoken for the bound since).
    c.observe(&capture(10.0 + WINDOW_S, &[]), &Isometry2::identity());
    let s = &c.summary()[0];
    assert_eq!((s.recent_checks, s.alarm, s.alarmed), (0, true, true));
    assert_eq!(c.steps()[0].exceeded, 10);
    assert_eq!(c.report().alarmed_lookahead_s, vec![0.1]);
    assert_eq!(c.report().alarm_lookahead_s, vec![0.1]);
    // A clock jump backwards clears the window (its stamps belong to another stretch of time), not the
    // evidence (its checks were sound).
    c.observe(&capture(5.0, &[]), &Isometry2::identity());
    assert_eq!((c.summary()[0].recent_checks, c.summary()[0].alarm), (0, true));
    // Checks within the bound clear it: 1547 of them (the evidence is capped at the edge).
    assert_eq!(c.summary()[0].checks_to_clear, 1547);
    for i in 0..1546 {
        c.steps[0].push(Stamp::from_secs_f64(6.0 + i as f64 * 0.1), 0.0, 0.1);
    }
    assert!(c.summary()[0].alarm);
    assert_eq!(c.summary()[0].checks_to_clear, 1);
    c.steps[0].push(Stamp::from_secs_f64(6.0 + 1546.0 * 0.1), 0.0, 0.1);
    let s = &c.summary()[0];
    assert_eq!((s.alarm, s.alarmed, c.steps()[0].exceeded), (false, true, 10));
    assert!(c.report().alarm_lookahead_s.is_empty());
}

#[test]
fn at_the_cards_rate_the_alarm_stays_quiet_and_at_ten_times_it_comes() {
    // Seeded Bernoulli checks. At exactly the allowed rate (0.1 %), 30 runs of 300 000 checks each (a step's
    // checks over hours of several people in view): the alarm is never raised (the sliding-window count it
    // replaced, 6 of the last 600, is raised about once in 3 × 10⁶ checks: in 1 of these 30 runs). At 1 % it
    // comes in every run, in the median within 1 000 checks; when a quarter of the checks miss, within 100.
    use rand::{RngExt, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let raised_at = |rng: &mut rand_chacha::ChaCha8Rng, rate: f64, n: usize| {
        let mut t = Cusum::new(0.999);
        (1..=n).find(|_| t.push(rng.random_bool(rate)))
    };
    let false_alarms = (0..30).filter(|_| raised_at(&mut rng, 0.001, 300_000).is_some()).count();
    assert_eq!(false_alarms, 0);
    let mut delays: Vec<usize> =
        (0..200).map(|_| raised_at(&mut rng, 0.01, 100_000).expect("raised at 10 × the rate")).collect();
    delays.sort_unstable();
    assert!(delays[100] < 1000, "median {}", delays[100]);
    let quarter = (0..200).map(|_| raised_at(&mut rng, 0.25, 1000).expect("raised")).max();
    assert!(quarter.is_some_and(|q| q < 100), "{quarter:?}");
}

#[test]
fn memory_stays_bounded_with_many_people_any_stamps_and_huge_coordinates() {
    let still = Isometry2::identity();
    let bounded = |c: &ForecastCheck| {
        c.people.len() <= MAX_PEOPLE && c.people.values().all(|p| p.pending.len() <= MAX_PENDING_PER_PERSON)
    };
    let mut c = ForecastCheck::new(bound(0.1), 0.3);
    for i in 0..300 {
        let t = i as f64 * 0.1;
        // 500 new people every capture, each with a forecast: none is ever seen again.
        let ids: Vec<(HumanId, f64, f64)> = (0..500).map(|j| ((i * 500 + j) as HumanId, 3.0, 0.0)).collect();
        c.observe(&capture(t, &ids), &still);
        let preds: Vec<HumanPrediction> = ids.iter().map(|&(id, ..)| forecast(id, t, |_| (3.0, 0.0))).collect();
        c.record(&preds, &still);
        assert!(bounded(&c));
    }
    assert!(c.dropped() > 0);
    // Stamps that never advance (an unset stamp) with new ids every capture.
    let mut frozen = ForecastCheck::new(bound(0.1), 0.3);
    for i in 0..200 {
        let ids: Vec<(HumanId, f64, f64)> = (0..64).map(|j| ((i * 64 + j) as HumanId, 3.0, 0.0)).collect();
        frozen.observe(&capture(5.0, &ids), &still);
        let preds: Vec<HumanPrediction> = ids.iter().map(|&(id, ..)| forecast(id, 5.0, |_| (3.0, 0.0))).collect();
        frozen.record(&preds, &still);
        assert!(bounded(&frozen));
    }
    // One person's forecasts that never meet a capture: at most MAX_PENDING_PER_PERSON wait, the rest are counted
    // as dropped; a capture past their horizon forgets them and the person.
    let mut unseen = ForecastCheck::new(bound(0.1), 0.3);
    let n = MAX_PENDING_PER_PERSON + 8;
    for i in 0..n {
        unseen.record(&[forecast(9, i as f64 * 0.02, |_| (3.0, 0.0))], &still);
        unseen.record(&[forecast(9, i as f64 * 0.02 + 0.01, |_| (3.0, 0.0))], &still);
    }
    // Forecasts every 0.01 s for 0.8 s: one per 0.1 s is kept, none dropped yet.
    let kept = unseen.people[&9].pending.len();
    assert!(kept <= MAX_PENDING_PER_PERSON && unseen.dropped() == 0, "{kept}");
    for i in 0..n {
        unseen.record(&[forecast(9, 10.0 + i as f64 * 0.1, |_| (3.0, 0.0))], &still);
    }
    assert_eq!(unseen.people[&9].pending.len(), MAX_PENDING_PER_PERSON);
    assert_eq!(unseen.dropped(), (kept + n - MAX_PENDING_PER_PERSON) as u64);
    unseen.observe(&capture(100.0, &[]), &still);
    assert!(unseen.people.is_empty());
    // Coordinates whose distances overflow give no check (not a NaN counted as within the bound).
    let mut huge = ForecastCheck::new(bound(0.1), 0.3);
    huge.observe(&capture(0.0, &[(1, 1e200, 1e200)]), &still);
    huge.record(&[forecast(1, 0.0, |_| (1e200, 1e200))], &still);
    for i in 1..=40 {
        huge.observe(&capture(i as f64 / 30.0, &[(1, 1e200, 1e200)]), &still);
    }
    assert!(huge.steps().iter().all(|s| s.checks == 0), "{:?}", counts(&huge));
}

#[test]
fn the_bound_is_read_from_a_card_and_a_broken_one_is_named() {
    let shipped: crate::ModelCard = serde_json::from_str(include_str!("../../../../models/intent_model.card.json"))
        .expect("the shipped card parses");
    let b = shipped.forecast_bound().expect("the shipped card states a bound").expect("usable");
    assert_eq!(ForecastBound::from_card_training(&shipped.training), Some(Ok(b.clone())));
    // A bound on another step than the card's forecast, or on more steps, could never be compared: refused.
    let mut other = shipped.clone();
    other.training["real_data_forecast_error_bound"]["step_s"] = serde_json::json!(0.2);
    let e = other.forecast_bound().expect("stated").expect_err("another step");
    assert!(e.contains("horizon_step_s"), "{e}");
    let mut longer = shipped.clone();
    longer.training["real_data_forecast_error_bound"]["metres"] = serde_json::json!(vec![0.1; 11]);
    let e = longer.forecast_bound().expect("stated").expect_err("more steps");
    assert!(e.contains("11 steps"), "{e}");
    assert_eq!(b.metres.len(), 10);
    assert_relative_eq!(b.step_s, 0.1);
    assert_relative_eq!(b.quantile, 0.999);
    assert!(b.metres.windows(2).all(|w| w[0] <= w[1] + 0.05), "{:?}", b.metres);
    assert_eq!(ForecastBound::from_card_training(&serde_json::json!({})), None);
    let broken =
        serde_json::json!({"real_data_forecast_error_bound": {"step_s": 0.1, "quantile": 0.999, "metres": [0.1, "x"]}});
    let e = ForecastBound::from_card_training(&broken).expect("stated").expect_err("broken");
    assert!(e.contains("metres"), "{e}");
    let negative =
        serde_json::json!({"real_data_forecast_error_bound": {"step_s": 0.1, "quantile": 1.0, "metres": [0.1]}});
    let e = ForecastBound::from_card_training(&negative).expect("stated").expect_err("quantile 1");
    assert!(e.contains("quantile"), "{e}");
    // At 90 % the alarm (10 × the allowed rate) would need every check to miss: refused.
    let low = serde_json::json!({"real_data_forecast_error_bound": {"step_s": 0.1, "quantile": 0.9, "metres": [0.1]}});
    let e = ForecastBound::from_card_training(&low).expect("stated").expect_err("quantile 0.9");
    assert!(e.contains("quantile"), "{e}");
    // A forecast on another step is not compared.
    let mut c = ForecastCheck::new(b, 0.3);
    let mut p = forecast(1, 0.0, |_| (3.0, 0.0));
    p.horizon_step = 0.2;
    c.record(&[p], &Isometry2::identity());
    assert_eq!(c.incomparable(), 1);
}
