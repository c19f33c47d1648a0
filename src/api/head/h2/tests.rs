use super::*;

/// A frame's bytes.
fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let mut f = frame_header(payload.len(), kind, flags, stream).to_vec();
    f.extend_from_slice(payload);
    f
}

/// The frames in `bytes`: (type, flags, stream, payload).
fn frames(mut bytes: &[u8]) -> Vec<(u8, u8, u32, Vec<u8>)> {
    let mut all = Vec::new();
    while !bytes.is_empty() {
        let len = frame_len(bytes);
        all.push((
            bytes[3],
            bytes[4],
            stream_id(bytes),
            bytes[HEADER_LEN..HEADER_LEN + len].to_vec(),
        ));
        bytes = &bytes[HEADER_LEN + len..];
    }
    all
}

const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// A connection whose client enlarged the connection window by `inc` first (as most do).
fn opened(inc: u32) -> Watch {
    let mut w = Watch::new(1 << 17);
    let mut client = PREFACE.to_vec();
    client.extend(frame(WINDOW_UPDATE, 0, 0, &inc.to_be_bytes()));
    assert_eq!(w.incoming(&mut client, false), client.len());
    w
}

fn answer() -> Answer {
    Answer {
        headers: vec![("x-frame-options".into(), "deny".into())],
        body: br#"{"code":431,"message":"too big"}"#.to_vec(),
    }
}

/// Writes `input` through `w` as the stream wrapper does: cut where `cuts` say, each write
/// split over two slices at `split`, the socket taking at most `max_write` bytes at a time.
fn write_through(
    w: &mut Watch,
    input: &[u8],
    cuts: &[usize],
    split: usize,
    max_write: usize,
) -> Vec<u8> {
    let mut wire = Vec::new();
    let mut queued = Vec::new();
    let mut bounds: Vec<usize> = cuts.iter().copied().filter(|&c| c < input.len()).collect();
    bounds.push(input.len());
    bounds.sort_unstable();
    let mut at = 0;
    for end in bounds {
        while at < end {
            wire.append(&mut queued);
            let chunk = &input[at..end];
            let s = split.min(chunk.len());
            let bufs = [IoSlice::new(&chunk[..s]), IoSlice::new(&chunk[s..])];
            match w.plan(&bufs) {
                Plan::Through(n) => {
                    assert!(n <= chunk.len());
                    let k = n.min(max_write);
                    wire.extend_from_slice(&chunk[..k]);
                    w.advance(&bufs, k);
                    at += k;
                }
                Plan::Absorb => {
                    let k = w.absorb(&bufs, &mut queued, &mut answer);
                    assert!(k > 0, "absorb took nothing");
                    at += k;
                }
            }
        }
    }
    wire.append(&mut queued);
    wire.extend(w.take_partial());
    wire
}

/// What h2 writes when it refuses stream 3's header list, among other frames.
fn h2_output(bare: &[u8]) -> Vec<u8> {
    let mut out = frame(SETTINGS, 0, 0, &[0, 3, 0, 0, 0, 100]);
    out.extend(frame(HEADERS, END_HEADERS, 1, b"\x88\x61\x0aabcdefghij"));
    out.extend(frame(DATA, 0, 1, &[b'x'; 1000]));
    out.extend(frame(HEADERS, END_STREAM | END_HEADERS, 3, bare));
    out.extend(frame(RST_STREAM, 0, 3, &1u32.to_be_bytes()));
    out.extend(frame(DATA, END_STREAM, 1, &[b'y'; 300]));
    out.extend(frame(RST_STREAM, 0, 5, &1u32.to_be_bytes()));
    out
}

/// `:status: 431` as h2 first sends it: a literal with incremental indexing, Huffman-coded.
const BARE_431: &[u8] = b"\x48\x83\x69\x97\x3f";

#[test]
fn bare_statuses_are_told_from_answers() {
    assert!(is_bare_status(BARE_431));
    assert!(is_bare_status(b"\x48\x03431"));
    assert!(is_bare_status(b"\x08\x03431"));
    assert!(is_bare_status(b"\x18\x03431"));
    // Indexed from the dynamic table, after a size update.
    assert!(is_bare_status(b"\x3f\xe1\x1f\xbe"));
    assert!(is_bare_status(b"\xff\x05"));
    // A static status, another raw value, another name, two fields, nothing.
    assert!(!is_bare_status(b"\x88"));
    assert!(!is_bare_status(b"\x48\x03200"));
    assert!(!is_bare_status(b"\x48\x844310"));
    assert!(!is_bare_status(b"\x49\x03431"));
    assert!(!is_bare_status(b"\xbe\xbf"));
    assert!(!is_bare_status(b"\x48\x03431\xbf"));
    assert!(!is_bare_status(b""));
    assert!(!is_bare_status(b"\x48\x03"));
    assert!(!is_bare_status(b"\xff\xff\xff\xff\xff\xff\xff"));
}

#[test]
fn h2s_bare_431_gets_a_body_however_the_writes_are_cut() {
    let input = h2_output(BARE_431);
    let mut want: Option<Vec<u8>> = None;
    for cut in (0..input.len())
        .step_by(7)
        .chain([1, 8, 9, 10, 1029, 1030, 1038, 1039, 1043])
    {
        for (split, max_write) in [(0, usize::MAX), (5, 3), (1030, 64), (1, 1)] {
            let mut w = opened(1 << 20);
            let wire = write_through(&mut w, &input, &[cut, cut + 3, cut + 20], split, max_write);
            match &want {
                Some(want) => assert_eq!(&wire, want, "cut {cut} split {split} max {max_write}"),
                None => want = Some(wire),
            }
        }
    }
    let wire = want.unwrap();
    let f = frames(&wire);
    let kinds: Vec<(u8, u8, u32)> = f.iter().map(|(k, fl, s, _)| (*k, *fl, *s)).collect();
    assert_eq!(
        kinds,
        [
            (SETTINGS, 0, 0),
            (HEADERS, END_HEADERS, 1),
            (DATA, 0, 1),
            // The answer: its block, no longer ending the stream, then the body.
            (HEADERS, END_HEADERS, 3),
            (DATA, END_STREAM, 3),
            // The request's end was not read: no error.
            (RST_STREAM, 0, 3),
            (DATA, END_STREAM, 1),
            // Another stream's reset is h2's as it was.
            (RST_STREAM, 0, 5),
        ]
    );
    let block = &f[3].3;
    assert!(block.starts_with(BARE_431));
    let mut lits = Vec::new();
    literal(&mut lits, "content-type", "application/json");
    literal(&mut lits, "content-length", "32");
    literal(&mut lits, "x-frame-options", "deny");
    assert_eq!(&block[BARE_431.len()..], &lits[..]);
    assert_eq!(f[4].3, br#"{"code":431,"message":"too big"}"#);
    assert_eq!(f[5].3, 0u32.to_be_bytes());
    assert_eq!(f[7].3, 1u32.to_be_bytes());
    // Everything else is as h2 wrote it.
    assert_eq!(frames(&input)[..3], f[..3]);
    assert_eq!(frames(&input)[5..], f[6..]);
}

#[test]
fn answers_of_the_api_pass_unchanged() {
    // `:status: 200` and `date`, ending the stream (an empty body); a lone static status.
    for block in [&b"\x88\x61\x03abc"[..], b"\x88", b"\x48\x03404"] {
        let input = frame(HEADERS, END_STREAM | END_HEADERS, 1, block);
        let mut w = Watch::new(1 << 17);
        assert_eq!(write_through(&mut w, &input, &[4], 2, usize::MAX), input);
    }
    // Padded, or not ending the stream: passed through without a look.
    let mut input = frame(
        HEADERS,
        END_STREAM | END_HEADERS | PADDED,
        1,
        b"\x00\x48\x03431",
    );
    input.extend(frame(HEADERS, END_HEADERS, 3, BARE_431));
    let w = Watch::new(1 << 17);
    let bufs = [IoSlice::new(&input)];
    assert_eq!(w.plan(&bufs), Plan::Through(input.len()));
}

#[test]
fn no_body_where_the_client_has_no_window_for_it() {
    let bare = frame(HEADERS, END_STREAM | END_HEADERS, 3, BARE_431);
    let answered = |w: &mut Watch| frames(&write_through(w, &bare, &[], 0, usize::MAX)).len() == 2;
    // No window given beyond the first 64 KiB: none kept from h2 for a body.
    assert!(!answered(&mut Watch::new(1 << 17)));
    // The client's streams start with a window of 10 bytes.
    let mut w = opened(1 << 20);
    let mut client = frame(SETTINGS, 0, 0, &[0, 4, 0, 0, 0, 10]);
    assert_eq!(w.incoming(&mut client, false), client.len());
    assert!(!answered(&mut w));
    // 40 bytes kept: one body of 32, not two.
    let mut w = opened(80);
    assert!(answered(&mut w));
    assert!(!answered(&mut w));
    let mut client = frame(WINDOW_UPDATE, 0, 0, &1000u32.to_be_bytes());
    assert_eq!(w.incoming(&mut client, false), client.len());
    assert!(answered(&mut w));
}

#[test]
fn window_for_bodies_is_kept_from_h2() {
    let mut w = Watch::new(1 << 17);
    let mut client = PREFACE.to_vec();
    client.extend(frame(WINDOW_UPDATE, 0, 0, &100_000u32.to_be_bytes()));
    assert_eq!(w.incoming(&mut client, false), client.len());
    assert_eq!(read_u32(&client[client.len() - 4..]), 100_000 - 4096);
    let wire = write_through(
        &mut w,
        &frame(HEADERS, END_STREAM | END_HEADERS, 3, BARE_431),
        &[],
        0,
        usize::MAX,
    );
    assert_eq!(frames(&wire)[1].3.len(), 32);
    assert_eq!(w.reserve, 4096 - 32);
    // A stream's update passes; of the connection's, at most half is kept until the 32 bytes
    // are back: 20 (10 kept), 1,000 (22 kept), 1,000 as sent.
    let mut client = frame(WINDOW_UPDATE, 0, 3, &20u32.to_be_bytes());
    client.extend(frame(WINDOW_UPDATE, 0, 0, &20u32.to_be_bytes()));
    client.extend(frame(SETTINGS, ACK, 0, &[]));
    client.extend(frame(WINDOW_UPDATE, 0, 0, &1000u32.to_be_bytes()));
    client.extend(frame(WINDOW_UPDATE, 0, 0, &1000u32.to_be_bytes()));
    let total = client.len();
    // Cut inside the second connection update's increment: the start of it waits.
    let cut = total - 13 - 13 + 9 + 2;
    let (mut first, mut second) = (client[..cut].to_vec(), client[cut..].to_vec());
    let read = w.incoming(&mut first, false);
    assert_eq!(read, cut - 2);
    let mut rest = first[read..].to_vec();
    rest.append(&mut second);
    assert_eq!(w.incoming(&mut rest, false), rest.len());
    let mut seen = first[..read].to_vec();
    seen.extend(rest);
    let f = frames(&seen);
    let incs: Vec<u32> = f
        .iter()
        .filter(|x| x.0 == WINDOW_UPDATE)
        .map(|x| read_u32(&x.3))
        .collect();
    assert_eq!(incs, [20, 10, 978, 1000]);
    assert_eq!(w.reserve, 4096);
    // What the client gave counts whole toward the window.
    assert_eq!(w.conn_window(), DEFAULT_WINDOW + 102_020 - 32);
}

#[test]
fn at_the_end_of_input_nothing_waits() {
    let mut w = Watch::new(1 << 17);
    let mut client = PREFACE.to_vec();
    client.extend(&frame(WINDOW_UPDATE, 0, 0, &20u32.to_be_bytes())[..11]);
    let read = w.incoming(&mut client, false);
    assert_eq!(read, client.len() - 2);
    assert_eq!(w.incoming(&mut client[read..], true), 2);
}

#[test]
fn a_header_list_that_ends_the_connection_is_answered_first() {
    let goaway = |code: u32, debug: &[u8]| {
        let mut p = 3u32.to_be_bytes().to_vec();
        p.extend(code.to_be_bytes());
        p.extend(debug);
        frame(GOAWAY, 0, 0, &p)
    };
    // The client's stream 5 sends a header block of 40 KiB and more, still going.
    let client = |w: &mut Watch| {
        let mut c = frame(HEADERS, 0, 5, &vec![0; 16_384]);
        c.extend(frame(CONTINUATION, 0, 5, &vec![0; 16_384]));
        c.extend(frame(CONTINUATION, 0, 5, &vec![0; 8_000]));
        assert_eq!(w.incoming(&mut c, false), c.len());
    };
    for (code, debug, answered) in [
        (ENHANCE_YOUR_CALM, &b"too_many_continuations"[..], true),
        (ENHANCE_YOUR_CALM, b"header_list_way_too_large", true),
        (COMPRESSION_ERROR, b"", true),
        (ENHANCE_YOUR_CALM, b"too_many_resets", false),
        (0x1, b"", false),
    ] {
        let mut w = opened(1 << 20);
        client(&mut w);
        let input = goaway(code, debug);
        let wire = write_through(&mut w, &input, &[5], 0, usize::MAX);
        let f = frames(&wire);
        if !answered {
            assert_eq!(wire, input);
            continue;
        }
        assert_eq!(f.len(), 3, "{debug:?}");
        assert_eq!((f[0].0, f[0].1, f[0].2), (HEADERS, END_HEADERS, 5));
        assert!(f[0].3.starts_with(b"\x08\x03431\x00"));
        assert_eq!((f[1].0, f[1].1, f[1].2), (DATA, END_STREAM, 5));
        // The GOAWAY names stream 5 as acted upon, and is otherwise as h2 wrote it.
        assert_eq!(read_u32(&f[2].3), 5);
        assert_eq!(f[2].3[4..], input[HEADER_LEN + 4..]);
    }
    // A small block: a compression error is a broken block, not a long one.
    let mut w = opened(1 << 20);
    let mut c = frame(HEADERS, 0, 5, &[0; 100]);
    assert_eq!(w.incoming(&mut c, false), c.len());
    let input = goaway(COMPRESSION_ERROR, b"");
    assert_eq!(write_through(&mut w, &input, &[], 0, usize::MAX), input);
}

mod random {
    use super::*;
    use proptest::prelude::*;

    /// Frames of every kind (some malformed), as bytes.
    fn frames_any() -> impl Strategy<Value = Vec<u8>> {
        let one = (
            0u8..12,
            any::<u8>(),
            0u32..8,
            prop::collection::vec(any::<u8>(), 0..40),
        )
            .prop_map(|(kind, flags, stream, payload)| frame(kind, flags, stream, &payload));
        prop::collection::vec(one, 0..12).prop_map(|f| f.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

        /// Whatever h2 writes, however it is cut, nothing panics, and with no window kept for
        /// bodies not a byte changes.
        #[test]
        fn writes_pass_unchanged_without_window(
            input in frames_any(),
            tail in prop::collection::vec(any::<u8>(), 0..20),
            cuts in prop::collection::vec(0usize..600, 0..6),
            split in 0usize..50,
            max_write in 1usize..100,
        ) {
            let mut input = input;
            input.extend(tail);
            let mut w = Watch::new(1 << 17);
            prop_assert_eq!(write_through(&mut w, &input, &cuts, split, max_write), input);
        }

        /// Whatever the client sends, however it is cut, nothing panics, every byte is read
        /// in the end, and only window increments change (never to 0).
        #[test]
        fn reads_change_only_increments(
            input in frames_any(),
            cuts in prop::collection::vec(0usize..600, 0..6),
        ) {
            let mut w = Watch::new(1 << 17);
            let mut all = PREFACE.to_vec();
            all.extend(&input);
            let mut cuts: Vec<usize> = cuts.into_iter().filter(|&c| c < all.len()).collect();
            cuts.push(all.len());
            cuts.sort_unstable();
            let mut seen = Vec::new();
            let mut held = Vec::new();
            let mut at = 0;
            for end in cuts {
                held.extend_from_slice(&all[at..end]);
                at = end;
                let n = w.incoming(&mut held, false);
                prop_assert!(held.len() - n < 4);
                seen.extend(held.drain(..n));
            }
            let n = w.incoming(&mut held, true);
            prop_assert_eq!(n, held.len());
            seen.extend(held);
            prop_assert_eq!(seen.len(), all.len());
            let mut p = PREFACE.len();
            while p + HEADER_LEN <= all.len() {
                let len = frame_len(&all[p..]);
                let end = (p + HEADER_LEN + len).min(all.len());
                let edited = all[p + 3] == WINDOW_UPDATE && stream_id(&all[p..]) == 0 && len == 4;
                if edited && end == p + 13 {
                    let (was, now) = (read_u32(&all[p + 9..]) & 0x7fff_ffff, read_u32(&seen[p + 9..]));
                    prop_assert!(now <= was.max(1) && (now > 0 || was == 0), "{} -> {}", was, now);
                } else {
                    prop_assert_eq!(&seen[p..end], &all[p..end]);
                }
                p = end;
            }
        }
    }
}
