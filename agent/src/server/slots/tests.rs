//! Which connection makes room, and when none may.

use std::time::Duration;

use super::*;

fn slot(a: Admission) -> Slot {
    match a {
        Admission::Free(s) | Admission::MadeRoom(s) => s,
        Admission::Full => panic!("expected a slot"),
    }
}

fn is_evicted(s: &Slot) -> bool {
    s.state.evicted.is_cancelled()
}

/// Long enough that no silent connection's grace ends during a test.
const FOREVER: Duration = Duration::from_secs(3600);

#[test]
fn the_longest_idle_makes_room_and_busy_ones_never_do() {
    let slots = Slots::new(3, Duration::ZERO);
    let a = slot(slots.admit());
    let b = slot(slots.admit());
    let c = slot(slots.admit());
    for s in [&a, &b, &c] {
        s.idle(); // said hello
    }
    a.busy();
    std::thread::sleep(Duration::from_millis(2));
    b.busy();
    b.idle(); // b was used after c: c is now the longest idle
    let d = match slots.admit() {
        Admission::MadeRoom(s) => s,
        other => panic!("expected room to be made, got {other:?}"),
    };
    assert!(is_evicted(&c) && !is_evicted(&a) && !is_evicted(&b));
    assert_eq!(slots.taken(), 3, "never more than max");

    b.busy();
    d.busy();
    assert_eq!(slots.make_room(), Room::None, "all in flight");
    assert!(matches!(slots.admit(), Admission::Full));
    assert_eq!(slots.taken(), 3);

    // The evicted connection closing later frees nothing twice.
    drop(c);
    assert_eq!(slots.taken(), 3);
    drop(a);
    assert!(matches!(slots.admit(), Admission::Free(_)));
}

#[test]
fn a_connection_makes_room_only_after_its_grace() {
    let slots = Slots::new(2, FOREVER);
    let silent = slot(slots.admit());
    let used = slot(slots.admit());
    used.idle();
    assert!(
        matches!(slots.make_room(), Room::At(_)),
        "a client that just connected or was just answered may be about to ask"
    );
    assert!(matches!(slots.admit(), Admission::Full));
    assert!(!is_evicted(&silent) && !is_evicted(&used));

    let slots = Slots::new(1, Duration::ZERO);
    let silent = slot(slots.admit());
    std::thread::sleep(Duration::from_millis(2));
    assert!(matches!(slots.admit(), Admission::MadeRoom(_)));
    assert!(is_evicted(&silent));
}

#[test]
fn the_oldest_silent_connection_goes_first() {
    let slots = Slots::new(2, Duration::ZERO);
    let first = slot(slots.admit());
    std::thread::sleep(Duration::from_millis(2));
    let second = slot(slots.admit());
    std::thread::sleep(Duration::from_millis(2));
    let third = slot(slots.admit());
    assert!(is_evicted(&first) && !is_evicted(&second) && !is_evicted(&third));
}

#[test]
fn making_room_keeps_the_slot_until_the_idle_connection_has_closed() {
    let slots = Slots::new(2, Duration::ZERO);
    let a = slot(slots.admit());
    let b = slot(slots.admit());
    a.idle();
    std::thread::sleep(Duration::from_millis(2));
    b.idle();
    assert_eq!(slots.make_room(), Room::Closing);
    assert!(is_evicted(&a) && !is_evicted(&b));
    // Until `a` has closed, no slot is free and `a` is not picked twice.
    assert_eq!(slots.make_room(), Room::Closing);
    assert!(!is_evicted(&b), "one at a time: b stays");
    assert!(matches!(slots.admit(), Admission::Full));
    drop(a);
    assert_eq!(slots.make_room(), Room::Now);
    assert!(matches!(slots.admit(), Admission::Free(_)));
}
