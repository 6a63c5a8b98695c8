//! Decodes arbitrary bytes as an RTP packet. Whatever decodes must re-encode to a packet that
//! decodes the same; every typed extension, RTX unwrapping and the dependency descriptor are
//! tried on its extension elements without panicking.

#![no_main]

use libfuzzer_sys::fuzz_target;
use weft_rtp::dd::DdReader;
use weft_rtp::extension::{
    AbsCaptureTime, AbsSendTime, AudioLevel, Mid, PlayoutDelay, RepairedRid, Rid,
    TransmissionOffset, TransportSequence, VideoOrientation,
};
use weft_rtp::{ExtensionKind, ExtensionMap, Packet, PacketBuf, PayloadType, Ssrc, rtx};

fuzz_target!(|data: &[u8]| {
    let Ok(p) = Packet::decode(data) else {
        return;
    };
    let owned = p.to_owned();
    let wire = owned.to_bytes();
    assert_eq!(wire.len(), owned.encoded_len());
    let again = PacketBuf::decode(&wire).expect("a re-encoded packet decodes");
    assert_eq!(again, owned);

    // Map ids 1..=11 to every known kind and read them all.
    let mut map = ExtensionMap::new();
    for (i, k) in ExtensionKind::ALL.into_iter().enumerate() {
        map.insert(i as u8 + 1, k).expect("ids 1..=11 are valid");
    }
    let _ = p.extension::<Mid>(&map);
    let _ = p.extension::<Rid>(&map);
    let _ = p.extension::<RepairedRid>(&map);
    let _ = p.extension::<AbsSendTime>(&map);
    let _ = p.extension::<TransportSequence>(&map);
    let _ = p.extension::<AudioLevel>(&map);
    let _ = p.extension::<VideoOrientation>(&map);
    let _ = p.extension::<PlayoutDelay>(&map);
    let _ = p.extension::<AbsCaptureTime>(&map);
    let _ = p.extension::<TransmissionOffset>(&map);
    let mut dd = DdReader::new();
    for e in p.extensions.iter() {
        let _ = dd.decode(e.data);
    }

    if let Ok(orig) = rtx::unwrap(&p, PayloadType::new(96).unwrap(), Ssrc(1)) {
        let w = orig.to_bytes();
        let v = Packet::decode(&w).expect("an unwrapped RTX packet decodes");
        let back = rtx::wrap(&v, p.payload_type, p.ssrc, p.sequence);
        assert_eq!(back.payload, p.payload);
    }
});
