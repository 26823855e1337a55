//! A fault proxy: a loopback HTTP server in front of one chain's RPC endpoint that passes
//! JSON-RPC through, or misbehaves on purpose, per method, as a test scripts it: delays,
//! dropped connections, HTTP errors, rate limits, garbage, heads that lag or go backwards, and
//! forged logs added to `eth_getLogs` answers (from a foreign address, marked removed, or
//! naming a block hash of another fork). It binds port 0 and reports its URL.
//!
//! It speaks just enough HTTP/1.1 for a JSON-RPC client: one request after another on a
//! kept-alive connection, bodies by `Content-Length`. That is what lets it drop a connection
//! mid-request, which a full server framework would not.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use alloy::transports::http::reqwest;
use eyre::WrapErr;
use rand::{Rng, SeedableRng, rngs::StdRng};
use serde_json::{Value, json};
use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader},
    net::{TcpListener, TcpStream},
    task::JoinHandle,
};

/// What the proxy does to a request.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// Waits this long, then passes the request through.
    Delay(Duration),
    /// Closes the connection without answering.
    Drop,
    /// Answers with this HTTP status and no body (429, 502, 503...).
    Status(u16),
    /// Answers JSON-RPC error -32005 (rate limited) to each call.
    RateLimit,
    /// Answers 200 with a body that is not JSON.
    Garbage,
    /// `eth_blockNumber` answers this many blocks below the real head (never below 0).
    HeadBehind(u64),
    /// `eth_getLogs` answers carry these logs too, each placed at the request's `fromBlock`.
    ForgeLogs(Vec<Value>),
}

/// One rule of the script: a fault for one method (or all), for some requests (or all).
#[derive(Debug, Clone)]
struct Rule {
    method: Option<String>,
    fault: Fault,
    /// Requests left for this rule; `None` for as long as it stays.
    left: Option<u32>,
}

/// Random trouble for soak runs: each request dropped with this probability, and delayed by
/// up to `max_delay`.
#[derive(Debug, Clone, Copy)]
pub struct Chaos {
    pub drop_probability: f64,
    pub max_delay: Duration,
}

#[derive(Debug)]
struct Script {
    rules: Vec<Rule>,
    chaos: Option<Chaos>,
    rng: StdRng,
    /// Requests seen, by method.
    seen: BTreeMap<String, u64>,
    /// Faults applied, by method.
    faulted: BTreeMap<String, u64>,
}

/// A running fault proxy; stops when dropped.
#[derive(Debug)]
pub struct FaultProxy {
    url: String,
    script: Arc<Mutex<Script>>,
    task: JoinHandle<()>,
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FaultProxy {
    /// Starts a proxy in front of `upstream` on a loopback port of its own.
    pub async fn start(upstream: &str) -> eyre::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .wrap_err("binding the fault proxy")?;
        let url = format!("http://{}", listener.local_addr()?);
        let script = Arc::new(Mutex::new(Script {
            rules: Vec::new(),
            chaos: None,
            rng: StdRng::seed_from_u64(0x5b),
            seen: BTreeMap::new(),
            faulted: BTreeMap::new(),
        }));
        let client = reqwest::Client::new();
        let upstream = upstream.to_string();
        let shared = script.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (client, upstream, script) = (client.clone(), upstream.clone(), shared.clone());
                tokio::spawn(async move {
                    let _ = serve(stream, client, upstream, script).await;
                });
            }
        });
        Ok(Self { url, script, task })
    }

    /// The URL to give a relayer instead of the chain's own.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Applies `fault` to every request of `method` (`None`: every request) until cleared.
    pub fn set(&self, method: Option<&str>, fault: Fault) {
        self.push(method, fault, None);
    }

    /// Applies `fault` to the next `times` requests of `method`.
    pub fn set_times(&self, method: Option<&str>, fault: Fault, times: u32) {
        self.push(method, fault, Some(times));
    }

    fn push(&self, method: Option<&str>, fault: Fault, left: Option<u32>) {
        self.lock().rules.push(Rule {
            method: method.map(str::to_string),
            fault,
            left,
        });
    }

    /// Random drops and delays on every request (`None`: off).
    pub fn chaos(&self, chaos: Option<Chaos>) {
        self.lock().chaos = chaos;
    }

    /// Removes every rule and the chaos: requests pass through again.
    pub fn clear(&self) {
        let mut script = self.lock();
        script.rules.clear();
        script.chaos = None;
    }

    /// Requests of `method` seen so far.
    pub fn seen(&self, method: &str) -> u64 {
        self.lock().seen.get(method).copied().unwrap_or(0)
    }

    /// Requests of every method seen so far.
    pub fn seen_total(&self) -> u64 {
        self.lock().seen.values().sum()
    }

    /// Faults applied to requests of `method` so far.
    pub fn faulted(&self, method: &str) -> u64 {
        self.lock().faulted.get(method).copied().unwrap_or(0)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Script> {
        self.script.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The methods of a request (one, or each of a batch).
fn methods_of(request: &Value) -> Vec<String> {
    let one = |r: &Value| r["method"].as_str().unwrap_or("").to_string();
    match request {
        Value::Array(calls) => calls.iter().map(one).collect(),
        other => vec![one(other)],
    }
}

/// The fault for a request, if any: the first rule that matches one of its methods (used up
/// by one), else chaos.
fn choose(script: &Mutex<Script>, methods: &[String]) -> Option<Fault> {
    let mut s = script.lock().unwrap_or_else(PoisonError::into_inner);
    for m in methods {
        *s.seen.entry(m.clone()).or_default() += 1;
    }
    let matches = |r: &Rule| {
        r.left != Some(0)
            && r.method
                .as_ref()
                .is_none_or(|m| methods.iter().any(|x| x == m))
    };
    let chosen = if let Some(rule) = s.rules.iter_mut().find(|r| matches(r)) {
        if let Some(left) = rule.left.as_mut() {
            *left -= 1;
        }
        Some(rule.fault.clone())
    } else if let Some(chaos) = s.chaos {
        if s.rng.gen_bool(chaos.drop_probability.clamp(0.0, 1.0)) {
            Some(Fault::Drop)
        } else {
            let ms = chaos.max_delay.as_millis() as u64;
            let delay = if ms == 0 { 0 } else { s.rng.gen_range(0..=ms) };
            (delay > 0).then(|| Fault::Delay(Duration::from_millis(delay)))
        }
    } else {
        None
    };
    s.rules.retain(|r| r.left != Some(0));
    if chosen.is_some() {
        for m in methods {
            *s.faulted.entry(m.clone()).or_default() += 1;
        }
    }
    chosen
}

/// Serves one connection: request after request until the client closes it or a fault drops it.
async fn serve(
    stream: TcpStream,
    client: reqwest::Client,
    upstream: String,
    script: Arc<Mutex<Script>>,
) -> eyre::Result<()> {
    let mut stream = BufReader::new(stream);
    loop {
        let mut length = None;
        let mut line = String::new();
        if stream.read_line(&mut line).await? == 0 {
            return Ok(()); // closed between requests
        }
        loop {
            line.clear();
            stream.read_line(&mut line).await?;
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse::<usize>().ok();
            }
        }
        let mut body = vec![0; length.unwrap_or(0)];
        stream.read_exact(&mut body).await?;
        let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let methods = methods_of(&request);
        let fault = choose(&script, &methods);
        let (status, answer) = match fault {
            Some(Fault::Drop) => return Ok(()),
            Some(Fault::Status(code)) => (code, Vec::new()),
            Some(Fault::Garbage) => (200, b"{\"jsonrpc\":\"2.0\",\"id\":".to_vec()),
            Some(Fault::RateLimit) => (200, rate_limited(&request).to_string().into_bytes()),
            other => {
                if let Some(Fault::Delay(d)) = &other {
                    tokio::time::sleep(*d).await;
                }
                let response = client
                    .post(&upstream)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await?;
                let status = response.status().as_u16();
                let bytes = response.bytes().await?.to_vec();
                let answer = match &other {
                    Some(Fault::HeadBehind(n)) => rewrite(&request, &bytes, |m, _, r| {
                        let head = r
                            .as_str()
                            .and_then(|h| u64::from_str_radix(h.trim_start_matches("0x"), 16).ok());
                        if m == "eth_blockNumber"
                            && let Some(head) = head
                        {
                            *r = json!(format!("0x{:x}", head.saturating_sub(*n)));
                        }
                    }),
                    Some(Fault::ForgeLogs(forged)) => rewrite(&request, &bytes, |m, p, r| {
                        if m == "eth_getLogs"
                            && let Some(logs) = r.as_array_mut()
                        {
                            for log in forged {
                                let mut log = log.clone();
                                if let Some(from) = p[0]["fromBlock"].as_str() {
                                    log["blockNumber"] = json!(from);
                                }
                                logs.push(log);
                            }
                        }
                    }),
                    _ => bytes,
                };
                (status, answer)
            }
        };
        let head = format!(
            "HTTP/1.1 {status} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
            if status == 200 { "OK" } else { "Fault" },
            answer.len()
        );
        let inner = stream.get_mut();
        inner.write_all(head.as_bytes()).await?;
        inner.write_all(&answer).await?;
        inner.flush().await?;
    }
}

/// A JSON-RPC rate-limit error for each call of `request`.
fn rate_limited(request: &Value) -> Value {
    let error = |r: &Value| json!({"jsonrpc": "2.0", "id": r["id"], "error": {"code": -32005, "message": "rate limited by the fault proxy"}});
    match request {
        Value::Array(calls) => Value::Array(calls.iter().map(error).collect()),
        one => error(one),
    }
}

/// Applies `edit(method, params, result)` to each result of the upstream's answer.
fn rewrite(request: &Value, answer: &[u8], edit: impl Fn(&str, &Value, &mut Value)) -> Vec<u8> {
    let Ok(mut parsed) = serde_json::from_slice::<Value>(answer) else {
        return answer.to_vec();
    };
    let calls: Vec<&Value> = match request {
        Value::Array(calls) => calls.iter().collect(),
        one => vec![one],
    };
    let mut apply = |response: &mut Value| {
        let Some(call) = calls.iter().find(|c| c["id"] == response["id"]) else {
            return;
        };
        let method = call["method"].as_str().unwrap_or("");
        if let Some(result) = response.get_mut("result") {
            edit(method, &call["params"], result);
        }
    };
    match &mut parsed {
        Value::Array(responses) => responses.iter_mut().for_each(&mut apply),
        one => apply(one),
    }
    serde_json::to_vec(&parsed).unwrap_or_else(|_| answer.to_vec())
}
