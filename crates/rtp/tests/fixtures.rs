//! The extension ids Chrome negotiates (from the SDP fixtures in `../shared/fixtures/sdp/`)
//! map to the typed extensions, and a packet carrying all of them round-trips.

use std::time::Duration;

use bytes::Bytes;
use weft_rtp::extension::{
    AbsSendTime, AudioLevel, Mid, PlayoutDelay, RepairedRid, Rid, Rotation, TransmissionOffset,
    TransportSequence, VideoOrientation,
};
use weft_rtp::{
    ExtensionKind, ExtensionMap, Header, Packet, PacketBuf, PayloadType, SeqNum, Ssrc, Timestamp,
};

const OFFER: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/fixtures/sdp/chrome-audiovideo-offer.sdp"
));

fn chrome_map() -> (ExtensionMap, Vec<String>) {
    let mut map = ExtensionMap::new();
    let mut unknown = Vec::new();
    for line in OFFER.lines() {
        let Some(rest) = line.strip_prefix("a=extmap:") else {
            continue;
        };
        let (id, uri) = rest.split_once(' ').expect("id and uri");
        let id: u8 = id.parse().expect("numeric id");
        if !map.insert_uri(id, uri.trim()).expect("valid id") && !unknown.iter().any(|u| u == uri) {
            unknown.push(uri.trim().to_owned());
        }
    }
    (map, unknown)
}

#[test]
fn chrome_extmaps_map_to_typed_extensions() {
    let (map, mut unknown) = chrome_map();
    assert!(OFFER.contains("a=extmap-allow-mixed"));
    let expect = [
        (1, ExtensionKind::AudioLevel),
        (2, ExtensionKind::AbsSendTime),
        (3, ExtensionKind::TransportCc),
        (4, ExtensionKind::Mid),
        (5, ExtensionKind::PlayoutDelay),
        (10, ExtensionKind::Rid),
        (11, ExtensionKind::RepairedRid),
        (13, ExtensionKind::VideoOrientation),
        (14, ExtensionKind::TransmissionOffset),
    ];
    for (id, kind) in expect {
        assert_eq!(map.kind(id), Some(kind), "id {id}");
        assert_eq!(map.id(kind), Some(id));
    }
    unknown.sort();
    assert_eq!(
        unknown,
        [
            "http://www.webrtc.org/experiments/rtp-hdrext/color-space",
            "http://www.webrtc.org/experiments/rtp-hdrext/video-content-type",
            "http://www.webrtc.org/experiments/rtp-hdrext/video-timing",
        ]
    );
}

#[test]
fn a_chrome_style_video_packet_round_trips() {
    let (map, _) = chrome_map();
    let mut h = Header::new(
        PayloadType::new(96).unwrap(),
        SeqNum::from(17),
        Timestamp::from(3_000),
        Ssrc(0xcafe),
    );
    h.marker = true;
    h.set_extension(
        &map,
        &AbsSendTime::from_duration(Duration::from_millis(12_345)),
    )
    .unwrap();
    h.set_extension(&map, &TransportSequence(4_000)).unwrap();
    h.set_extension(&map, &Mid::new("1").unwrap()).unwrap();
    h.set_extension(&map, &Rid::new("hi").unwrap()).unwrap();
    h.set_extension(
        &map,
        &PlayoutDelay::new(Duration::ZERO, Duration::ZERO).unwrap(),
    )
    .unwrap();
    h.set_extension(
        &map,
        &VideoOrientation {
            back_camera: false,
            flip: false,
            rotation: Rotation::Deg90,
        },
    )
    .unwrap();
    h.set_extension(&map, &TransmissionOffset::new(-90).unwrap())
        .unwrap();
    let p = PacketBuf::new(h, Bytes::from_static(&[0x90, 0x80, 0x00, 0x10]));
    let wire = p.to_bytes();
    // Ids up to 14 with 1..=16-byte values: the one-byte form.
    assert_eq!(&wire[12..14], &[0xbe, 0xde]);
    let v = Packet::decode(&wire).unwrap();
    assert_eq!(
        v.extension::<TransportSequence>(&map),
        Some(Ok(TransportSequence(4_000)))
    );
    assert_eq!(v.extension::<Mid>(&map).unwrap().unwrap().as_str(), "1");
    assert_eq!(v.extension::<Rid>(&map).unwrap().unwrap().as_str(), "hi");
    assert_eq!(
        v.extension::<TransmissionOffset>(&map)
            .unwrap()
            .unwrap()
            .get(),
        -90
    );
    assert_eq!(v.extension::<RepairedRid>(&map), None);
    assert_eq!(v.extension::<AudioLevel>(&map), None);
    assert_eq!(PacketBuf::decode(&wire).unwrap(), p);
}
