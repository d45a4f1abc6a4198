//! Response bodies read up to a cap, the rest never read.
//! Deliveries read theirs in `delivery_client`; this is integration runs'.

use futures_util::StreamExt;

use super::describe::describe;

/// Delivery answers are kept up to this size (`delivery_client`).
pub const RESPONSE_BODY_CAP: usize = 64 * 1024;

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
