//! What makes the index safe to bind publicly: a token bucket per client address (429 with
//! `Retry-After` when empty), a deadline per request, and no request bodies (every route is a
//! read). Memory is bounded: at most `clients` addresses are remembered; when that many are
//! active at once, full buckets (clients that have been quiet long enough to be forgotten
//! without changing anything) are dropped, and if none is, newcomers share one bucket, so a
//! flood of addresses throttles itself rather than the process's memory.
//!
//! The client is the TCP peer's address, an IPv6 peer by its /64: one host is routinely given
//! a whole /64, so keying by full IPv6 address would give one attacker 2^64 fresh buckets (and
//! fill the table in a blink). Behind a reverse proxy every client is the proxy, so run the
//! index without one or rate-limit at the proxy.
//!
//! The table is swept for full buckets at most once per [`SWEEP_EVERY`], not at every
//! newcomer once it is full: a flood of new addresses would otherwise make each request scan
//! the whole table. Between sweeps, newcomers share the overflow bucket.

use std::{
    collections::HashMap,
    net::{IpAddr, SocketAddr},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{
    Json,
    extract::{ConnectInfo, Request, State},
    http::{StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};

use crate::config::RateLimit;

/// Least time between two sweeps of a full client table.
pub const SWEEP_EVERY: Duration = Duration::from_secs(1);

/// Whom a bucket belongs to: an IPv4 address, or an IPv6 /64 (an IPv4-mapped IPv6 address is
/// its IPv4 address).
pub fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let prefix = u128::from(v6) & !u128::from(u64::MAX);
                IpAddr::V6(std::net::Ipv6Addr::from(prefix))
            }
        },
    }
}

/// Longest a request may take before it is answered 503.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Token buckets by client address.
#[derive(Debug)]
pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    clients: usize,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
    /// Shared by the newcomers while the table is full of active clients.
    overflow: Mutex<Option<Bucket>>,
    /// When the full table was last swept.
    swept: Mutex<Option<Instant>>,
}

impl RateLimiter {
    pub fn new(limit: RateLimit) -> Self {
        Self {
            per_second: limit.per_second as f64,
            burst: limit.burst as f64,
            clients: usize::try_from(limit.clients).unwrap_or(usize::MAX),
            buckets: Mutex::new(HashMap::new()),
            overflow: Mutex::new(None),
            swept: Mutex::new(None),
        }
    }

    /// Takes a token for `client` at `now`, or says how long until one is there.
    pub fn take(&self, client: IpAddr, now: Instant) -> Result<(), Duration> {
        let client = client_key(client);
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if !buckets.contains_key(&client) && buckets.len() >= self.clients {
            let mut swept = self.swept.lock().unwrap_or_else(|p| p.into_inner());
            if swept.is_none_or(|at| now.saturating_duration_since(at) >= SWEEP_EVERY) {
                *swept = Some(now);
                buckets.retain(|_, b| self.refill(*b, now).tokens < self.burst);
            }
        }
        if let Some(bucket) = buckets.get_mut(&client) {
            return self.spend(bucket, now);
        }
        if buckets.len() < self.clients {
            let bucket = buckets.entry(client).or_insert(Bucket {
                tokens: self.burst,
                at: now,
            });
            return self.spend(bucket, now);
        }
        drop(buckets);
        let mut overflow = self.overflow.lock().unwrap_or_else(|p| p.into_inner());
        let bucket = overflow.get_or_insert(Bucket {
            tokens: self.burst,
            at: now,
        });
        self.spend(bucket, now)
    }

    /// Clients remembered now.
    pub fn tracked(&self) -> usize {
        self.buckets.lock().map_or(0, |b| b.len())
    }

    fn refill(&self, bucket: Bucket, now: Instant) -> Bucket {
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        Bucket {
            tokens: (bucket.tokens + elapsed * self.per_second).min(self.burst),
            at: now,
        }
    }

    fn spend(&self, bucket: &mut Bucket, now: Instant) -> Result<(), Duration> {
        *bucket = self.refill(*bucket, now);
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64(
                (1.0 - bucket.tokens) / self.per_second,
            ))
        }
    }
}

fn refuse(status: StatusCode, message: &str) -> Response {
    (status, Json(serde_json::json!({ "error": message }))).into_response()
}

/// The middleware: body refused, rate checked, deadline applied.
pub async fn guard(
    State(limiter): State<Arc<RateLimiter>>,
    request: Request,
    next: Next,
) -> Response {
    let has_body = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .is_some_and(|v| v.as_bytes() != b"0")
        || request.headers().contains_key(header::TRANSFER_ENCODING);
    if has_body {
        return refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            "this API only reads: requests carry no body",
        );
    }
    // no peer address (a request handed over in-process): one shared bucket
    let client = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::from([0, 0, 0, 0]), |c| c.0.ip());
    if let Err(wait) = limiter.take(client, Instant::now()) {
        let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
        let mut response = refuse(
            StatusCode::TOO_MANY_REQUESTS,
            &format!("rate limited: try again in {secs} s"),
        );
        if let Ok(value) = secs.to_string().parse() {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        return response;
    }
    match tokio::time::timeout(REQUEST_TIMEOUT, next.run(request)).await {
        Ok(response) => response,
        Err(_) => refuse(StatusCode::SERVICE_UNAVAILABLE, "the request timed out"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(per_second: u64, burst: u64, clients: u64) -> RateLimiter {
        RateLimiter::new(RateLimit {
            per_second,
            burst,
            clients,
        })
    }

    fn ip(n: u32) -> IpAddr {
        IpAddr::from(n.to_be_bytes())
    }

    #[test]
    fn a_client_gets_its_burst_then_the_refill_rate() {
        let l = limiter(2, 3, 16);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(l.take(ip(1), t0), Ok(()));
        }
        let wait = l.take(ip(1), t0).expect_err("burst spent");
        assert_eq!(wait, Duration::from_millis(500));
        // another client is not affected
        assert_eq!(l.take(ip(2), t0), Ok(()));
        assert_eq!(l.take(ip(1), t0 + Duration::from_millis(500)), Ok(()));
        assert!(l.take(ip(1), t0 + Duration::from_millis(500)).is_err());
    }

    /// One host's /64 is one client: walking its addresses gives no fresh bucket. Another /64
    /// is another client; an IPv4-mapped address is its IPv4 address.
    #[test]
    fn an_ipv6_client_is_its_slash_64() {
        let l = limiter(1, 2, 16);
        let t0 = Instant::now();
        let host = |low: u64| {
            IpAddr::V6(std::net::Ipv6Addr::from(
                (0x2001_0db8_0000_0001u128 << 64) | u128::from(low),
            ))
        };
        assert_eq!(l.take(host(1), t0), Ok(()));
        assert_eq!(l.take(host(2), t0), Ok(()));
        assert!(
            l.take(host(u64::MAX), t0).is_err(),
            "the same /64: its burst is spent"
        );
        let other = IpAddr::V6(std::net::Ipv6Addr::from(0x2001_0db8_0000_0002u128 << 64));
        assert_eq!(l.take(other, t0), Ok(()));
        assert_eq!(l.tracked(), 2);
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().expect("address");
        assert_eq!(
            client_key(mapped),
            "192.0.2.7".parse::<IpAddr>().expect("address")
        );
    }

    /// A flood of newcomers against a full table sweeps it at most once per second, not once
    /// per request: 100,000 newcomers in one second cost one scan.
    #[test]
    fn a_full_table_is_swept_at_most_once_per_second() {
        let l = limiter(1, 1, 1_000);
        let t0 = Instant::now();
        for n in 0..1_000 {
            let _ = l.take(ip(n), t0);
        }
        // all active (their one token spent): a sweep frees none; later newcomers share
        let t1 = t0 + Duration::from_millis(1);
        for n in 1_000..101_000 {
            let _ = l.take(ip(n), t1);
        }
        assert_eq!(l.tracked(), 1_000);
        assert_eq!(*l.swept.lock().expect("lock"), Some(t1));
        // a second later the table is swept again, and full buckets make room
        let t2 = t1 + Duration::from_secs(1);
        assert_eq!(l.take(ip(200_000), t2), Ok(()));
        assert_eq!(*l.swept.lock().expect("lock"), Some(t2));
        assert_eq!(l.tracked(), 1);
    }

    #[test]
    fn memory_stays_bounded_under_a_flood_of_addresses() {
        let l = limiter(1, 2, 16);
        let t0 = Instant::now();
        for n in 0..10_000 {
            let _ = l.take(ip(n), t0);
        }
        assert_eq!(l.tracked(), 16);
        // the newcomers shared one bucket, long empty
        assert!(l.take(ip(20_000), t0).is_err());
        // quiet clients are forgotten once their bucket is full again
        let later = t0 + Duration::from_secs(5);
        assert_eq!(l.take(ip(30_000), later), Ok(()));
        assert_eq!(l.tracked(), 1);
    }
}
