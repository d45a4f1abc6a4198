//! Response bodies read up to a cap, the rest never read.

use futures_util::StreamExt;

use super::describe::describe;

/// Delivery answers are kept up to this size.
pub const RESPONSE_BODY_CAP: usize = 64 * 1024;

/// For history: at most [`RESPONSE_BODY_CAP`] bytes as text, whether the
/// body was cut, and the error if reading failed midway (what was read is kept).
pub async fn read_truncated(resp: reqwest::Response) -> (String, bool, Option<String>) {
    let mut buf = Vec::new();
    let mut stream = resp.bytes_stream();
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(bytes) => {
                let room = RESPONSE_BODY_CAP - buf.len();
                if bytes.len() > room {
                    buf.extend_from_slice(&bytes[..room]);
                    return (String::from_utf8_lossy(&buf).into_owned(), true, None);
                }
                buf.extend_from_slice(&bytes);
            }
            Err(e) => {
                return (
                    String::from_utf8_lossy(&buf).into_owned(),
                    false,
                    Some(format!("reading response body: {}", describe(&e))),
                )
            }
        }
    }
    (String::from_utf8_lossy(&buf).into_owned(), false, None)
}

/// For integration runs: the whole body, or an error past `cap` bytes
/// (what is past it is never read).
pub async fn read_limited(resp: reqwest::Response, cap: usize) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let mut stream = resp.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| format!("reading the response failed: {}", describe(&e)))?;
        if out.len() + chunk.len() > cap {
            return Err(format!("the response is larger than {cap} bytes"));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}
