//! Shared nom pieces of the attribute grammars.
//!
//! Every parser here works on `&str` and reports failure as `None`; the caller turns that
//! into a [`ParseError`](crate::ParseError) naming the attribute and the line.

use std::fmt;
use std::str::FromStr;

use nom::bytes::complete::take_while1;
use nom::character::complete::digit1;
use nom::combinator::{all_consuming, map_res};
use nom::{IResult, Parser};

/// A nom result over text.
pub(crate) type Res<'a, T> = IResult<&'a str, T>;

/// Whether `c` may appear in a token: anything visible (RFC 8866 `token` is narrower, but
/// browsers put `{`, `}` and non-ASCII in ids; rejecting them would refuse real SDP).
pub(crate) fn is_token_char(c: char) -> bool {
    !c.is_whitespace() && !c.is_control()
}

/// One or more token characters.
pub(crate) fn token(i: &str) -> Res<'_, &str> {
    take_while1(is_token_char).parse(i)
}

/// Token characters other than those in `stop`.
pub(crate) fn token_without<'a>(stop: &'static str) -> impl Fn(&'a str) -> Res<'a, &'a str> {
    move |i| take_while1(|c: char| is_token_char(c) && !stop.contains(c)).parse(i)
}

/// A decimal number that fits `T` (RFC 8866 leaves most widths open; too large is an error,
/// never a wrap or a panic).
pub(crate) fn number<T: FromStr>(i: &str) -> Res<'_, T> {
    map_res(digit1, str::parse::<T>).parse(i)
}

/// Runs `p` over the whole of `i`.
pub(crate) fn whole<'a, T>(
    p: impl Parser<&'a str, Output = T, Error = nom::error::Error<&'a str>>,
    i: &'a str,
) -> Option<T> {
    all_consuming(p).parse(i).ok().map(|(_, v)| v)
}

/// Whether `s` is a non-empty token.
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty() && s.chars().all(is_token_char)
}

/// Splits on single spaces; `None` if any piece is empty or not a token, so a returned
/// vector always has at least one element.
pub(crate) fn tokens(s: &str) -> Option<Vec<&str>> {
    let v: Vec<&str> = s.split(' ').collect();
    v.iter().all(|t| is_token(t)).then_some(v)
}

/// Writes `n` in decimal without going through `fmt::Arguments` (serialization writes a
/// few hundred numbers per description).
pub(crate) fn write_num<W: fmt::Write + ?Sized>(w: &mut W, n: impl Into<u64>) -> fmt::Result {
    let mut n: u64 = n.into();
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        // n % 10 < 10, so the cast cannot truncate.
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    // Only ASCII digits were written.
    w.write_str(std::str::from_utf8(&buf[i..]).unwrap_or("0"))
}

/// Looks `s` up in `table` without regard to ASCII case (RFC 5234 §2.3: ABNF literals
/// such as `"actpass"` or `"host"` are case-insensitive).
pub(crate) fn keyword<T: Copy>(s: &str, table: &[(&str, T)]) -> Option<T> {
    table
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(s))
        .map(|(_, v)| *v)
}

/// Parses a whole string as a decimal number of type `T`.
pub(crate) fn parse_number<T: FromStr>(s: &str) -> Option<T> {
    whole(number::<T>, s)
}

/// A non-zero decimal that may have a fraction (RFC 8866 `non-zero-int-or-real`, also
/// used for `framerate`); only finite values are accepted so that they print back.
pub(crate) fn parse_decimal(s: &str) -> Option<f64> {
    let (int, frac) = match s.split_once('.') {
        Some((a, b)) => (a, Some(b)),
        None => (s, None),
    };
    let digits = |d: &str| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit());
    if !digits(int) || frac.is_some_and(|f| !digits(f)) {
        return None;
    }
    let v: f64 = s.parse().ok()?;
    v.is_finite().then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_reject_overflow_and_signs() {
        assert_eq!(parse_number::<u8>("255"), Some(255));
        assert_eq!(parse_number::<u8>("256"), None);
        assert_eq!(parse_number::<u32>("-1"), None);
        assert_eq!(parse_number::<u32>("+1"), None);
        assert_eq!(parse_number::<u32>(""), None);
    }

    #[test]
    fn numbers_print_like_display() {
        for n in [0u64, 7, 10, 99, 65535, 4294967295, u64::MAX] {
            let mut s = String::new();
            write_num(&mut s, n).unwrap();
            assert_eq!(s, n.to_string());
        }
    }

    #[test]
    fn decimals_are_finite_and_plain() {
        assert_eq!(parse_decimal("29.97"), Some(29.97));
        assert_eq!(parse_decimal("20"), Some(20.0));
        for bad in ["inf", "NaN", "1e3", "1.", ".5", "", "-1", &"9".repeat(400)] {
            assert_eq!(parse_decimal(bad), None, "{bad}");
        }
    }

    #[test]
    fn tokens_split_on_single_spaces() {
        assert_eq!(tokens("a b c"), Some(vec!["a", "b", "c"]));
        assert_eq!(tokens("a  b"), None);
        assert_eq!(tokens(""), None);
        assert_eq!(tokens("{x} é"), Some(vec!["{x}", "é"]));
    }
}
