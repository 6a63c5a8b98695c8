//! Property tests: generated typed descriptions serialize and parse back to the same value;
//! arbitrary bytes never panic the parser; and arbitrary values under every known
//! attribute name either fail with a typed error or round-trip.

use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use weft_sdp::*;

fn token() -> impl Strategy<Value = String> {
    "[A-Za-z0-9+/._{}#-]{1,10}"
}

/// Printable text without line breaks (verbatim fields: s=, i=, e=, Other values...).
fn text() -> impl Strategy<Value = String> {
    "[ -~]{0,16}"
}

/// Text that starts and ends with a visible character (typed values lose trailing blanks).
fn trimmed() -> impl Strategy<Value = String> {
    "[!-~]{1,8}( [!-~]{1,8}){0,2}"
}

fn connection() -> impl Strategy<Value = Connection> {
    prop_oneof![
        (
            "[0-9.]{1,15}",
            option::of(any::<u8>()),
            option::of(any::<u32>())
        )
            .prop_map(|(a, ttl, n)| Connection {
                ttl,
                count: ttl.and(n),
                ..Connection::ip4(&a)
            }),
        ("[0-9a-f:]{1,20}", option::of(any::<u32>())).prop_map(|(a, count)| Connection {
            count,
            ..Connection::ip6(&a)
        }),
        (token(), "X[A-Z]{1,3}", token()).prop_map(|(n, t, a)| Connection {
            network_type: n,
            address_type: t,
            address: a,
            ttl: None,
            count: None,
        }),
    ]
}

fn candidate() -> impl Strategy<Value = Candidate> {
    let kind = prop_oneof![
        Just(CandidateType::Host),
        Just(CandidateType::Srflx),
        Just(CandidateType::Prflx),
        Just(CandidateType::Relay),
        "x[a-z]{1,5}".prop_map(CandidateType::Other),
    ];
    let tcp = prop_oneof![
        Just(TcpType::Active),
        Just(TcpType::Passive),
        Just(TcpType::So)
    ];
    (
        (
            token(),
            any::<u16>(),
            token(),
            any::<u32>(),
            token(),
            any::<u16>(),
            kind,
        ),
        (
            option::of(token()),
            option::of(any::<u16>()),
            option::of(tcp),
            option::of(any::<u32>()),
        ),
        (
            option::of(token()),
            option::of(any::<u32>()),
            option::of(any::<u32>()),
        ),
        vec(("x-[a-z]{1,5}", token()), 0..3),
    )
        .prop_map(
            |((f, comp, tr, prio, addr, port, kind), (ra, rp, tt, g), (u, ni, nc), ext)| {
                let mut c = Candidate::host(f, comp, tr, prio, addr, port);
                c.kind = kind;
                (c.related_address, c.related_port, c.tcp_type, c.generation) = (ra, rp, tt, g);
                (c.ufrag, c.network_id, c.network_cost) = (u, ni, nc);
                c.extensions = ext;
                c
            },
        )
}

fn fingerprint() -> impl Strategy<Value = Fingerprint> {
    prop_oneof![
        Just(HashFunction::Sha1),
        Just(HashFunction::Sha224),
        Just(HashFunction::Sha256),
        Just(HashFunction::Sha384),
        Just(HashFunction::Sha512),
        Just(HashFunction::Md5),
        "x-[a-z]{1,5}".prop_map(HashFunction::Other),
    ]
    .prop_flat_map(|algorithm| {
        let len = algorithm.digest_len().map_or(1..40, |n| n..n + 1);
        vec(any::<u8>(), len).prop_map(move |value| Fingerprint {
            algorithm: algorithm.clone(),
            value,
        })
    })
}

fn direction() -> impl Strategy<Value = Direction> {
    prop_oneof![
        Just(Direction::SendRecv),
        Just(Direction::SendOnly),
        Just(Direction::RecvOnly),
        Just(Direction::Inactive)
    ]
}

fn simulcast() -> impl Strategy<Value = Simulcast> {
    let rid =
        ("[a-z0-9]{1,3}", any::<bool>()).prop_map(|(rid, paused)| SimulcastRid { rid, paused });
    let list = vec(vec(rid, 1..3), 1..4);
    (option::of(list.clone()), option::of(list))
        .prop_filter("one direction at least", |(s, r)| {
            s.is_some() || r.is_some()
        })
        .prop_map(|(send, recv)| Simulcast { send, recv })
}

fn rid() -> impl Strategy<Value = Rid> {
    let dir = prop_oneof![Just(RidDirection::Send), Just(RidDirection::Recv)];
    (
        "[a-z0-9_-]{1,4}",
        dir,
        vec(any::<u8>(), 0..3),
        vec(("max-[a-z]{1,4}", option::of("[0-9a-z.]{1,5}")), 0..3),
    )
        .prop_map(|(id, direction, payload_types, restrictions)| Rid {
            id,
            direction,
            payload_types,
            restrictions,
        })
}

fn decimal() -> impl Strategy<Value = f64> {
    (1u32..1_000_000).prop_map(|n| f64::from(n) / 100.0)
}

fn attribute() -> impl Strategy<Value = Attribute> {
    prop_oneof![
        candidate().prop_map(|c| Attribute::Candidate(Box::new(c))),
        Just(Attribute::EndOfCandidates),
        token().prop_map(Attribute::IceUfrag),
        token().prop_map(Attribute::IcePwd),
        vec(token(), 1..3).prop_map(Attribute::IceOptions),
        Just(Attribute::IceLite),
        fingerprint().prop_map(Attribute::Fingerprint),
        prop_oneof![
            Just(Setup::Active),
            Just(Setup::Passive),
            Just(Setup::ActPass),
            Just(Setup::HoldConn)
        ]
        .prop_map(Attribute::Setup),
        token().prop_map(Attribute::TlsId),
        token().prop_map(Attribute::Mid),
        (
            prop_oneof![
                Just(GroupSemantics::Bundle),
                Just(GroupSemantics::Ls),
                Just(GroupSemantics::Fid),
                "X[A-Z]{1,4}".prop_map(GroupSemantics::Other)
            ],
            vec(token(), 0..4)
        )
            .prop_map(|(semantics, mids)| Attribute::Group(Group { semantics, mids })),
        (token(), option::of(token()))
            .prop_map(|(stream, track)| Attribute::Msid(Msid { stream, track })),
        (token(), vec(token(), 0..3)).prop_map(|(semantic, identifiers)| Attribute::MsidSemantic(
            MsidSemantic {
                semantic,
                identifiers
            }
        )),
        (
            any::<u8>(),
            "[A-Za-z0-9-]{1,10}",
            any::<u32>(),
            option::of(any::<u16>())
        )
            .prop_map(|(pt, e, c, ch)| {
                Attribute::Rtpmap(Rtpmap {
                    payload_type: pt,
                    encoding: e,
                    clock_rate: c,
                    channels: ch,
                })
            }),
        (token(), trimmed()).prop_map(|(format, params)| Attribute::Fmtp(Fmtp { format, params })),
        (option::of(any::<u8>()), token(), option::of(trimmed())).prop_map(
            |(payload_type, kind, param)| Attribute::RtcpFb(RtcpFb {
                payload_type,
                kind,
                param
            })
        ),
        (any::<u16>(), option::of(connection()))
            .prop_map(|(port, connection)| Attribute::Rtcp(Rtcp { port, connection })),
        Just(Attribute::RtcpMux),
        Just(Attribute::RtcpMuxOnly),
        Just(Attribute::RtcpRsize),
        (
            any::<u16>(),
            option::of(direction()),
            token(),
            option::of(trimmed())
        )
            .prop_map(
                |(id, direction, uri, attributes)| Attribute::Extmap(Extmap {
                    id,
                    direction,
                    uri,
                    attributes
                })
            ),
        Just(Attribute::ExtmapAllowMixed),
        (
            any::<u32>(),
            "[a-z-]{1,8}",
            option::of("[!-~]{0,6}( [!-~]{1,6})?")
        )
            .prop_map(|(ssrc, attribute, value)| Attribute::Ssrc(Ssrc {
                ssrc,
                attribute,
                value
            })),
        (token(), vec(any::<u32>(), 0..4))
            .prop_map(|(semantics, ssrcs)| Attribute::SsrcGroup(SsrcGroup { semantics, ssrcs })),
        rid().prop_map(Attribute::Rid),
        simulcast().prop_map(Attribute::Simulcast),
        any::<u16>().prop_map(Attribute::SctpPort),
        any::<u64>().prop_map(Attribute::MaxMessageSize),
        (any::<u16>(), token(), option::of(any::<u32>())).prop_map(|(port, protocol, streams)| {
            Attribute::Sctpmap(Sctpmap {
                port,
                protocol,
                streams,
            })
        }),
        trimmed().prop_map(Attribute::SctpInit),
        direction().prop_map(Attribute::Direction),
        Just(Attribute::BundleOnly),
        decimal().prop_map(Attribute::Framerate),
        decimal().prop_map(Attribute::Ptime),
        decimal().prop_map(Attribute::Maxptime),
        trimmed().prop_map(Attribute::Identity),
        ("x-[a-z0-9-]{1,8}", option::of(text()))
            .prop_map(|(name, value)| Attribute::Other { name, value }),
    ]
}

fn media() -> impl Strategy<Value = MediaDescription> {
    let kind = prop_oneof![
        Just(MediaKind::Audio),
        Just(MediaKind::Video),
        Just(MediaKind::Application),
        Just(MediaKind::Text),
        Just(MediaKind::Message),
        "x[a-z]{1,5}".prop_map(MediaKind::Other),
    ];
    (
        (
            kind,
            any::<u16>(),
            option::of(any::<u16>()),
            token(),
            vec(token(), 0..5),
        ),
        (
            option::of(text()),
            vec(connection(), 0..2),
            vec(bandwidth(), 0..2),
            option::of(text()),
        ),
        vec(attribute(), 0..12),
    )
        .prop_map(
            |(
                (kind, port, port_count, protocol, formats),
                (information, connections, bandwidths, key),
                attributes,
            )| {
                MediaDescription {
                    kind,
                    port,
                    port_count,
                    protocol,
                    formats,
                    information,
                    connections,
                    bandwidths,
                    key,
                    attributes,
                }
            },
        )
}

fn bandwidth() -> impl Strategy<Value = Bandwidth> {
    ("[A-Z]{1,4}", any::<u64>()).prop_map(|(kind, value)| Bandwidth { kind, value })
}

fn session() -> impl Strategy<Value = SessionDescription> {
    let origin = (
        token(),
        any::<u64>(),
        any::<u64>(),
        token(),
        token(),
        token(),
    )
        .prop_map(|(u, id, v, n, t, a)| Origin {
            username: u,
            session_id: id,
            session_version: v,
            network_type: n,
            address_type: t,
            address: a,
        });
    let timing =
        (any::<u64>(), any::<u64>(), vec(trimmed(), 0..2)).prop_map(|(start, stop, repeats)| {
            Timing {
                start,
                stop,
                repeats,
            }
        });
    (
        (
            origin,
            text(),
            option::of(text()),
            option::of(text()),
            vec(text(), 0..2),
            vec(text(), 0..2),
        ),
        (
            option::of(connection()),
            vec(bandwidth(), 0..2),
            vec(timing, 1..3),
            option::of(text()),
            option::of(text()),
        ),
        vec(attribute(), 0..8),
        vec(media(), 0..4),
    )
        .prop_map(
            |(
                (origin, session_name, information, uri, emails, phones),
                (connection, bandwidths, timing, time_zones, key),
                attributes,
                media,
            )| {
                SessionDescription {
                    origin,
                    session_name,
                    information,
                    uri,
                    emails,
                    phones,
                    connection,
                    bandwidths,
                    timing,
                    time_zones,
                    key,
                    attributes,
                    media,
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn generated_descriptions_round_trip(sd in session()) {
        let text = sd.to_string();
        let again = SessionDescription::parse(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(&again, &sd);
        prop_assert_eq!(again.to_string(), text.clone());
        prop_assert_eq!(sd.encoded_len(), text.len());
    }

    #[test]
    fn generated_attributes_round_trip_alone(a in attribute()) {
        let text = format!("v=0\r\no=- 1 1 IN IP4 x\r\ns=-\r\nt=0 0\r\na={a}\r\n");
        let sd = SessionDescription::parse(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(&sd.attributes[..], std::slice::from_ref(&a));
        if let Attribute::Candidate(c) = &a {
            prop_assert_eq!(&format!("candidate:{c}").parse::<Candidate>().unwrap(), &**c);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..512)) {
        let _ = SessionDescription::decode(&bytes);
    }

    #[test]
    fn arbitrary_lines_never_panic_and_round_trip(lines in vec("[a-z]=[ -~\u{80}-\u{10ffff}]{0,24}", 0..12)) {
        let text = format!("v=0\r\no=- 1 1 IN IP4 x\r\ns=-\r\nt=0 0\r\n{}", lines.join("\r\n"));
        if let Ok(sd) = SessionDescription::parse(&text) {
            prop_assert_eq!(SessionDescription::parse(&sd.to_string()).unwrap(), sd);
        }
    }

    #[test]
    fn arbitrary_values_of_known_attributes_error_or_round_trip(
        name in proptest::sample::select(KNOWN_ATTRIBUTES),
        value in option::of("[ -~\t]{0,40}"),
    ) {
        let line = match &value {
            Some(v) => format!("a={name}:{v}"),
            None => format!("a={name}"),
        };
        let text = format!("v=0\r\no=- 1 1 IN IP4 x\r\ns=-\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\n{line}\r\n");
        match SessionDescription::parse(&text) {
            Ok(sd) => {
                let is_other = matches!(sd.media[0].attributes[0], Attribute::Other { .. });
                prop_assert!(!is_other);
                prop_assert_eq!(SessionDescription::parse(&sd.to_string()).unwrap(), sd);
            }
            Err(e) => {
                prop_assert_eq!(e.kind, ParseErrorKind::BadAttribute { name });
                prop_assert_eq!(e.line, 6);
            }
        }
    }
}
