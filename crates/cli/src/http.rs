//! A minimal HTTP/1.1 server side and client side on tokio, for `weft echo` and `weft call`:
//! one request per connection (`Connection: close`), bodies by `Content-Length` only, bounded
//! header and body sizes. Enough for WHIP-shaped signaling; not a general HTTP stack.

use std::time::Duration;

use anyhow::{Context, bail};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// Largest body accepted (an SDP is a few KiB).
pub const MAX_BODY: usize = 256 << 10;
/// Most header lines accepted.
const MAX_HEADERS: usize = 64;
/// Longest line accepted.
const MAX_LINE: usize = 8 << 10;
/// How long one request or response may take to arrive.
pub const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// A request or response head with its body.
#[derive(Debug, Default)]
pub struct Message {
    /// Request: the method; response: the status code as text.
    pub first: String,
    /// Request: the path; response: the reason phrase.
    pub second: String,
    /// Header names (lowercase) and values.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Message {
    /// A header's value, by lowercase name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Reads one request (or response) from `stream`.
pub async fn read_message(stream: &mut TcpStream) -> anyhow::Result<Message> {
    tokio::time::timeout(IO_TIMEOUT, read_inner(stream))
        .await
        .context("http: timed out")?
}

async fn read_inner(stream: &mut TcpStream) -> anyhow::Result<Message> {
    read_from(stream).await
}

/// Reads one request (or response) from any byte source: the head (bounded lines and
/// count), then a `Content-Length` body of at most [`MAX_BODY`].
pub async fn read_from<R: AsyncRead + Unpin>(stream: R) -> anyhow::Result<Message> {
    let mut r = BufReader::new(stream);
    let first = read_line(&mut r).await?;
    let mut parts = first.splitn(3, ' ');
    let a = parts.next().unwrap_or("").to_owned();
    let b = parts.next().unwrap_or("").to_owned();
    let c = parts.next().unwrap_or("").trim().to_owned();
    // Request: METHOD PATH VERSION; response: VERSION CODE REASON.
    let (first, second) = if a.starts_with("HTTP/") {
        (b, c)
    } else {
        (a, b)
    };
    let mut headers = Vec::new();
    loop {
        let line = read_line(&mut r).await?;
        if line.is_empty() {
            break;
        }
        if headers.len() == MAX_HEADERS {
            bail!("http: too many headers");
        }
        if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
        }
    }
    let mut m = Message {
        first,
        second,
        headers,
        body: Vec::new(),
    };
    let len: usize = match m.header("content-length") {
        Some(v) => v.parse().context("http: bad content-length")?,
        None => 0,
    };
    if len > MAX_BODY {
        bail!("http: body of {len} bytes is over {MAX_BODY}");
    }
    m.body = vec![0; len];
    r.read_exact(&mut m.body).await?;
    Ok(m)
}

async fn read_line<R: AsyncRead + Unpin>(r: &mut BufReader<R>) -> anyhow::Result<String> {
    let mut line = Vec::new();
    let n = (&mut *r)
        .take(MAX_LINE as u64)
        .read_until(b'\n', &mut line)
        .await?;
    if n == 0 {
        bail!("http: connection closed");
    }
    if line.last() != Some(&b'\n') {
        bail!("http: line too long");
    }
    let s = String::from_utf8(line).context("http: not UTF-8")?;
    Ok(s.trim_end_matches(['\r', '\n']).to_owned())
}

/// Writes a response and closes the write side.
pub async fn respond(
    stream: &mut TcpStream,
    status: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> anyhow::Result<()> {
    let mut head = format!("HTTP/1.1 {status}\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!(
        "Content-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
        body.len()
    ));
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body).await?;
    stream.shutdown().await?;
    Ok(())
}

/// An `http://host:port/path` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    /// `host:port` to connect to.
    pub authority: String,
    /// The path, starting with `/`.
    pub path: String,
}

impl Url {
    /// Parses an `http://` URL (no TLS here).
    pub fn parse(s: &str) -> anyhow::Result<Url> {
        let rest = s
            .strip_prefix("http://")
            .with_context(|| format!("{s}: only http:// URLs are supported"))?;
        let (auth, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if auth.is_empty() {
            bail!("{s}: no host");
        }
        let authority = if auth
            .rsplit_once(':')
            .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
        {
            auth.to_owned()
        } else {
            format!("{auth}:80")
        };
        Ok(Url {
            authority,
            path: path.to_owned(),
        })
    }

    /// Another path on the same server (a `Location` header: absolute path or full URL).
    pub fn join(&self, location: &str) -> anyhow::Result<Url> {
        if location.starts_with("http://") {
            Url::parse(location)
        } else if location.starts_with('/') {
            Ok(Url {
                authority: self.authority.clone(),
                path: location.to_owned(),
            })
        } else {
            bail!("unsupported Location {location:?}")
        }
    }
}

/// Sends one request and reads the response.
pub async fn request(
    method: &str,
    url: &Url,
    content_type: Option<&str>,
    body: &[u8],
) -> anyhow::Result<Message> {
    let mut s = tokio::time::timeout(IO_TIMEOUT, TcpStream::connect(&url.authority))
        .await
        .with_context(|| format!("connecting to {}: timed out", url.authority))?
        .with_context(|| format!("connecting to {}", url.authority))?;
    let mut head = format!(
        "{method} {} HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\nConnection: close\r\n",
        url.path,
        url.authority,
        body.len()
    );
    if let Some(ct) = content_type {
        head.push_str(&format!("Content-Type: {ct}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).await?;
    s.write_all(body).await?;
    read_message(&mut s).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls_and_locations() {
        let u = Url::parse("http://127.0.0.1:8080/whip").unwrap();
        assert_eq!(u.authority, "127.0.0.1:8080");
        assert_eq!(u.path, "/whip");
        assert_eq!(
            Url::parse("http://example.test").unwrap().authority,
            "example.test:80"
        );
        assert_eq!(u.join("/whip/s/1").unwrap().path, "/whip/s/1");
        assert!(Url::parse("https://x/").is_err());
        assert!(u.join("relative").is_err());
    }

    #[tokio::test]
    async fn a_request_and_its_response_round_trip() {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = Url::parse(&format!("http://{}/x", l.local_addr().unwrap())).unwrap();
        let server = tokio::spawn(async move {
            let (mut s, _) = l.accept().await.unwrap();
            let m = read_message(&mut s).await.unwrap();
            assert_eq!((m.first.as_str(), m.second.as_str()), ("POST", "/x"));
            assert_eq!(m.header("content-type"), Some("application/sdp"));
            assert_eq!(m.body, b"v=0\r\n");
            respond(&mut s, "201 Created", &[("Location", "/x/1")], b"ok")
                .await
                .unwrap();
        });
        let r = request("POST", &url, Some("application/sdp"), b"v=0\r\n")
            .await
            .unwrap();
        assert_eq!((r.first.as_str(), r.second.as_str()), ("201", "Created"));
        assert_eq!(r.header("location"), Some("/x/1"));
        assert_eq!(r.body, b"ok");
        server.await.unwrap();
    }
}
