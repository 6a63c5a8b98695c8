//! RFC 4733 telephone-event payloads (DTMF and other named events): the four-byte event
//! block, the packets a sender emits for one event, and a receiver that reports each event
//! once despite updates and the repeated end packets.

use std::time::Duration;

use bytes::BufMut;

use crate::error::{Error, ParseError, ParseErrorKind};
use crate::packet::Timestamp;

/// The DTMF event codes 0..=15 (RFC 4733 §3.2): digits, `*`, `#`, A..D.
pub const DTMF_EVENTS: &[u8; 16] = b"0123456789*#ABCD";

/// One event block (RFC 4733 §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TelephoneEvent {
    /// The event code (0..=15 for DTMF).
    pub event: u8,
    /// E: this packet reports the end of the event.
    pub end: bool,
    /// The power level in -dBm0, 0..=63 (six bits; encoding masks the rest).
    pub volume: u8,
    /// The duration so far, in RTP timestamp units, from the event's timestamp.
    pub duration: u16,
}

impl TelephoneEvent {
    /// The length of a block.
    pub const LEN: usize = 4;

    /// Decodes the first block of a payload. Errors for fewer than four bytes.
    pub fn decode(payload: &[u8]) -> Result<Self, ParseError> {
        match payload {
            [event, b, d0, d1, ..] => Ok(TelephoneEvent {
                event: *event,
                end: b & 0x80 != 0,
                volume: b & 0x3f,
                duration: u16::from_be_bytes([*d0, *d1]),
            }),
            [] => Err(ParseError::new(ParseErrorKind::EmptyPayload, 0)),
            _ => Err(ParseError::new(ParseErrorKind::Truncated, payload.len())),
        }
    }

    /// The encoded length (always 4).
    pub fn encoded_len(&self) -> usize {
        Self::LEN
    }

    /// Writes the block; the R bit is zero (RFC 4733 §2.3.3).
    pub fn encode(&self, buf: &mut impl BufMut) {
        buf.put_u8(self.event);
        buf.put_u8(if self.end { 0x80 } else { 0 } | (self.volume & 0x3f));
        buf.put_u16(self.duration);
    }

    /// The DTMF character of the event, if it is one.
    pub fn dtmf(&self) -> Option<char> {
        DTMF_EVENTS
            .get(usize::from(self.event))
            .map(|b| char::from(*b))
    }
}

/// The event code of a DTMF character (`0`-`9`, `*`, `#`, `A`-`D`).
pub fn dtmf_event(c: char) -> Option<u8> {
    let c = c.to_ascii_uppercase();
    DTMF_EVENTS
        .iter()
        .position(|b| char::from(*b) == c)
        .map(|i| i as u8)
}

/// The blocks a sender emits for one event (RFC 4733 §2.5.1): an update every `interval`
/// while the event lasts, then the final block three times (§2.5.1.4). The caller sends
/// them all with the event's RTP timestamp and sets the marker bit on the first (§2.5.1.3).
///
/// `clock_rate` is the telephone-event clock (8000 for most audio). Errors when the event is
/// too long for the 16-bit duration (§2.5.1.3 long events are not split here) or the interval
/// is zero.
pub fn packets(
    event: u8,
    volume: u8,
    length: Duration,
    interval: Duration,
    clock_rate: u32,
) -> Result<Vec<TelephoneEvent>, Error> {
    let ticks = |d: Duration| d.as_nanos() * u128::from(clock_rate) / 1_000_000_000;
    let total = u16::try_from(ticks(length)).map_err(|_| Error::OutOfRange("event duration"))?;
    let step = ticks(interval);
    if step == 0 || total == 0 {
        return Err(Error::OutOfRange("event interval"));
    }
    // step <= total <= u16::MAX here, or the loop runs once.
    let step = u16::try_from(step).unwrap_or(u16::MAX);
    let mut out = Vec::new();
    let mut d = step.min(total);
    while d < total {
        out.push(TelephoneEvent {
            event,
            end: false,
            volume,
            duration: d,
        });
        d = d.saturating_add(step);
    }
    for _ in 0..3 {
        out.push(TelephoneEvent {
            event,
            end: true,
            volume,
            duration: total,
        });
    }
    Ok(out)
}

/// A finished event as a receiver reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReceivedEvent {
    /// The event code.
    pub event: u8,
    /// The RTP timestamp the event started at.
    pub timestamp: Timestamp,
    /// The final duration in timestamp units.
    pub duration: u16,
}

/// Turns a stream of telephone-event packets into one report per event (RFC 4733 §2.5.2):
/// updates and the redundant end packets of an event already reported are ignored.
#[derive(Debug, Clone, Default)]
pub struct EventReceiver {
    reported: Option<(Timestamp, u8)>,
}

impl EventReceiver {
    /// A receiver that has seen nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds one packet; returns the event when this is the first end packet for it.
    pub fn handle_payload(
        &mut self,
        timestamp: Timestamp,
        payload: &[u8],
    ) -> Result<Option<ReceivedEvent>, ParseError> {
        let ev = TelephoneEvent::decode(payload)?;
        if !ev.end || self.reported == Some((timestamp, ev.event)) {
            return Ok(None);
        }
        self.reported = Some((timestamp, ev.event));
        Ok(Some(ReceivedEvent {
            event: ev.event,
            timestamp,
            duration: ev.duration,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4733_block_layout() {
        // Event 5 (digit "5"), end, volume 10, duration 800.
        let e = TelephoneEvent {
            event: 5,
            end: true,
            volume: 10,
            duration: 800,
        };
        let mut v = Vec::new();
        e.encode(&mut v);
        assert_eq!(v, [5, 0x8a, 0x03, 0x20]);
        assert_eq!(TelephoneEvent::decode(&v).unwrap(), e);
        assert_eq!(e.dtmf(), Some('5'));
        assert_eq!(dtmf_event('#'), Some(11));
        assert_eq!(dtmf_event('d'), Some(15));
        assert_eq!(
            TelephoneEvent::decode(&[1, 2]).unwrap_err().kind,
            ParseErrorKind::Truncated
        );
    }

    #[test]
    fn sender_schedule_and_receiver_dedup() {
        let p = packets(
            1,
            10,
            Duration::from_millis(100),
            Duration::from_millis(50),
            8000,
        )
        .unwrap();
        // 100 ms at 8 kHz is 800 ticks, in 50 ms (400-tick) steps: one update, then 3 ends.
        assert_eq!(
            p.iter().map(|e| (e.duration, e.end)).collect::<Vec<_>>(),
            [(400, false), (800, true), (800, true), (800, true)]
        );
        let mut r = EventReceiver::new();
        let ts = Timestamp::from(1000);
        let mut got = Vec::new();
        // The first end packet is lost; the repeats deliver it once.
        for (i, e) in p.iter().enumerate() {
            if i == 1 {
                continue;
            }
            let mut v = Vec::new();
            e.encode(&mut v);
            if let Some(x) = r.handle_payload(ts, &v).unwrap() {
                got.push(x);
            }
        }
        assert_eq!(
            got,
            [ReceivedEvent {
                event: 1,
                timestamp: ts,
                duration: 800
            }]
        );
        assert!(
            packets(
                1,
                0,
                Duration::from_secs(9),
                Duration::from_millis(50),
                8000
            )
            .is_err()
        );
    }
}
