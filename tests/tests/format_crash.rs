//! Crashing while an image is formatted: at every write and sync of
//! `format`, with every fault kind, the result either opens as a valid empty
//! image or is rejected with a typed error; it never opens as something else.

use disk_image::storage::{FaultKind, FaultPlan, FaultyStorage};
use disk_image::{FRAME_BYTES, Geometry, ImageError};

#[test]
fn a_crash_at_any_point_of_format_is_detected_or_harmless() {
    let geometry = Geometry::for_size(4 << 20).unwrap();
    let bytes = (geometry.total_frames * FRAME_BYTES) as usize;
    let events = {
        let s = FaultyStorage::new(&vec![0u8; bytes], None);
        disk_image::format(&s, geometry, 1, 1).unwrap();
        s.event_count()
    };
    assert!(events >= 6, "format makes {events} writes and syncs");
    let mut outcomes = [0usize; 2];
    for event in 0..events {
        for kind in FaultKind::ALL {
            for seed in 0..4 {
                let s = FaultyStorage::new(&vec![0u8; bytes], Some(FaultPlan { event, kind, seed }));
                let _ = disk_image::format(&s, geometry, 1, 1);
                let crashed = FaultyStorage::new(&s.crash_image().expect("crashed").bytes, None);
                match disk_image::open(&crashed, bytes as u64) {
                    Ok(opened) => {
                        assert_eq!(opened.header.generation, 1, "{kind:?} at {event}");
                        assert_eq!(opened.label.geometry, geometry);
                        outcomes[0] += 1;
                    }
                    Err(
                        ImageError::NotAnImage | ImageError::LabelChecksum | ImageError::NoValidHeader { .. },
                    ) => {
                        outcomes[1] += 1;
                    }
                    Err(other) => panic!("{kind:?} at event {event} seed {seed}: unexpected {other}"),
                }
            }
        }
    }
    println!(
        "format crash points: {events} events x 4 kinds x 4 seeds: {} opened, {} rejected",
        outcomes[0], outcomes[1]
    );
    assert!(outcomes[0] > 0 && outcomes[1] > 0);
}
