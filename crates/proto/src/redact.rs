use std::fmt;

/// Wraps a value that should stay out of logs: addresses, ICE ufrags, usernames.
///
/// With the `redact` feature (on by default) `Display` and `Debug` print `<redacted>`; without
/// it they print the value. Keys and passwords are never logged, wrapped or not.
///
/// ```
/// use weft_proto::Redacted;
/// let shown = format!("{}", Redacted("192.0.2.1:3478"));
/// if cfg!(feature = "redact") {
///     assert_eq!(shown, "<redacted>");
/// } else {
///     assert_eq!(shown, "192.0.2.1:3478");
/// }
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Redacted<T>(pub T);

impl<T: fmt::Display> fmt::Display for Redacted<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if cfg!(feature = "redact") {
            f.write_str("<redacted>")
        } else {
            self.0.fmt(f)
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for Redacted<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if cfg!(feature = "redact") {
            f.write_str("<redacted>")
        } else {
            self.0.fmt(f)
        }
    }
}
