//! The kit's lenient date readers on extreme input: RFC 3339 and RFC 2822 dates built from the
//! fuzzer's bytes at the edges of the writable years (0000 and 9999) with every offset, raw
//! text, Unix seconds from any bit pattern, and ISO 8601 durations with huge numbers. A reader
//! may answer `None`, never panic, and what it answers is in UTC within years 0000..=9999.

#![no_main]

use callgate_adapters::kit::dates;
use libfuzzer_sys::fuzz_target;
use time::OffsetDateTime;

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

fn check(t: Option<OffsetDateTime>) {
    if let Some(t) = t {
        assert!(t.offset().is_utc());
        assert!((0..=9999).contains(&t.year()), "{t}");
    }
}

fn byte(data: &[u8], i: usize) -> u8 {
    data.get(i).copied().unwrap_or(0)
}

fn word(data: &[u8], i: usize) -> u64 {
    let mut raw = [0u8; 8];
    for (k, b) in raw.iter_mut().enumerate() {
        *b = byte(data, i + k);
    }
    u64::from_le_bytes(raw)
}

fuzz_target!(|data: &[u8]| {
    // Years near both ends, days at the month's edges, offsets up to ±23:59.
    let year = match byte(data, 0) % 4 {
        0 => 9999,
        1 => 0,
        2 => 9998 + u32::from(byte(data, 1) % 2),
        _ => u32::from(byte(data, 1)) * 40,
    };
    let month = 1 + usize::from(byte(data, 2) % 12);
    let day = 1 + byte(data, 3) % 31;
    let (hour, minute, second) = (byte(data, 4) % 24, byte(data, 5) % 60, byte(data, 6) % 61);
    let sign = if byte(data, 7) % 2 == 0 { '+' } else { '-' };
    let (oh, om) = (byte(data, 8) % 24, byte(data, 9) % 60);
    let fraction = word(data, 10) % 1_000_000_000;
    check(dates::rfc3339(&format!(
        "{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}.{fraction:09}{sign}{oh:02}:{om:02}"
    )));
    check(dates::rfc3339(&format!(
        "{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}Z"
    )));
    check(dates::rfc2822(&format!(
        "{day} {} {year:04} {hour:02}:{minute:02}:{second:02} {sign}{oh:02}{om:02}",
        MONTHS[month - 1]
    )));
    // Any bit pattern as seconds (NaN, infinities, huge and negative values included).
    check(dates::unix_seconds(f64::from_bits(word(data, 18))));
    // Durations with numbers up to u64::MAX in every unit.
    let n = word(data, 26);
    for text in [
        format!("P{n}D"),
        format!("PT{n}H"),
        format!("PT{n}M{n}S"),
        format!("P{n}DT{n}H{n}M{n}.{n}S"),
    ] {
        let _ = dates::iso8601_duration_secs(&text);
    }
    // And the raw bytes as text.
    if let Ok(text) = std::str::from_utf8(data) {
        check(dates::rfc3339(text));
        check(dates::rfc2822(text));
        let _ = dates::iso8601_duration_secs(text);
    }
});
