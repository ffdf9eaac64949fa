//! `costd traffic`: the edge around [`crate::traffic`]. Finds the log files
//! (files or directories, plain or gzip), streams them line by line within
//! bounds, fetches `ip-ranges.json` when asked, reads NAT gateways' own byte
//! counts from CloudWatch, and writes the measured volumes into a scenario.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, DurationRound, TimeDelta, Utc};

use crate::aws::cloudwatch::CloudWatchApi;
use crate::traffic::flowlog::Format;
use crate::traffic::ipranges::IpRanges;
use crate::traffic::names::Names;
use crate::traffic::{NatCheck, Report, Settings, Tally};

/// The most log files read in one run.
pub const MAX_FILES: usize = 100_000;
/// How deep directories are searched.
pub const MAX_DEPTH: usize = 16;
/// The longest line kept (longer ones are counted as malformed).
pub const MAX_LINE_BYTES: usize = 8 * 1024;
/// The most NAT gateways checked against CloudWatch.
pub const MAX_NAT_GATEWAYS: usize = 10;
/// The longest period read from CloudWatch.
pub const MAX_NAT_PERIOD_DAYS: i64 = 93;
/// How long fetching ip-ranges.json may take.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(30);

/// What to read.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    /// Flow log files or directories.
    pub logs: Vec<PathBuf>,
    /// The records' fields when the files have no header line.
    pub fields: Option<String>,
    /// Route 53 Resolver query log files or directories.
    pub dns_logs: Vec<PathBuf>,
    /// `ADDRESS=SERVICE` for interface endpoints.
    pub endpoints: Vec<String>,
}

/// Every regular file under `paths` (directories searched to
/// [`MAX_DEPTH`]), sorted, at most [`MAX_FILES`].
pub fn files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    fn walk(p: &Path, depth: usize, out: &mut Vec<PathBuf>) -> Result<(), String> {
        let meta = std::fs::metadata(p).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
        if meta.is_file() {
            if out.len() >= MAX_FILES {
                return Err(format!("more than {MAX_FILES} files; read a smaller period at a time"));
            }
            out.push(p.to_path_buf());
            return Ok(());
        }
        if !meta.is_dir() {
            return Ok(());
        }
        if depth >= MAX_DEPTH {
            return Err(format!("{}: directories nested deeper than {MAX_DEPTH}", p.display()));
        }
        let mut entries: Vec<PathBuf> = std::fs::read_dir(p)
            .map_err(|e| format!("cannot read {}: {e}", p.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for e in entries {
            walk(&e, depth + 1, out)?;
        }
        Ok(())
    }
    let mut out = Vec::new();
    for p in paths {
        walk(p, 0, &mut out)?;
    }
    if out.is_empty() {
        return Err("no files to read".into());
    }
    Ok(out)
}

/// Opens a file, decompressing it when it starts as gzip does (also
/// several gzip members one after another, as S3 delivery can write). Gzip
/// is inflated on a thread of its own, so the tally's core only reads lines.
pub fn open(path: &Path) -> Result<Box<dyn BufRead>, String> {
    let f = std::fs::File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut r = BufReader::with_capacity(256 * 1024, f);
    let head = r
        .fill_buf()
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if head.starts_with(&[0x1f, 0x8b]) {
        Ok(Box::new(Inflated::start(r)))
    } else {
        Ok(Box::new(r))
    }
}

/// Inflated chunks handed over by the thread that inflates them.
const CHUNK_BYTES: usize = 256 * 1024;
/// Chunks inflated ahead of the reader, at most (memory: 4 × 256 KiB).
const CHUNKS_AHEAD: usize = 4;

/// A gzip stream inflated on its own thread, read as a [`BufRead`]. The
/// thread stops at the end, at an error (handed to the reader), or when the
/// reader is dropped.
struct Inflated {
    rx: std::sync::mpsc::Receiver<std::io::Result<Vec<u8>>>,
    buf: Vec<u8>,
    pos: usize,
    done: bool,
}

impl Inflated {
    fn start(compressed: BufReader<std::fs::File>) -> Self {
        use std::io::Read;
        let (tx, rx) = std::sync::mpsc::sync_channel(CHUNKS_AHEAD);
        let failed = tx.clone();
        let inflate = move || {
            let mut d = flate2::bufread::MultiGzDecoder::new(compressed);
            loop {
                let mut chunk = vec![0u8; CHUNK_BYTES];
                let mut filled = 0;
                while filled < CHUNK_BYTES {
                    match d.read(&mut chunk[filled..]) {
                        Ok(0) => break,
                        Ok(n) => filled += n,
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                        Err(e) => {
                            let _ = tx.send(Err(e));
                            return;
                        }
                    }
                }
                chunk.truncate(filled);
                // A short chunk is the last; a send fails when the reader is gone.
                if filled == 0 || tx.send(Ok(chunk)).is_err() || filled < CHUNK_BYTES {
                    return;
                }
            }
        };
        if let Err(e) = std::thread::Builder::new().name("costd-inflate".into()).spawn(inflate) {
            // No thread: the reader gets the error instead of waiting for chunks.
            let _ = failed.send(Err(e));
        }
        Inflated {
            rx,
            buf: Vec::new(),
            pos: 0,
            done: false,
        }
    }
}

impl std::io::Read for Inflated {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let avail = self.fill_buf()?;
        let n = avail.len().min(out.len());
        out[..n].copy_from_slice(&avail[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for Inflated {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        while self.pos == self.buf.len() && !self.done {
            match self.rx.recv() {
                Ok(Ok(chunk)) => {
                    self.buf = chunk;
                    self.pos = 0;
                }
                Ok(Err(e)) => {
                    self.done = true;
                    return Err(e);
                }
                // The thread ended after its last chunk.
                Err(_) => self.done = true,
            }
        }
        Ok(&self.buf[self.pos..])
    }

    fn consume(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.buf.len());
    }
}

/// Reads the next line into `buf` (without its newline), keeping at most
/// `max` bytes: `Some(true)` when it was longer, `None` at the end.
pub fn next_line(r: &mut dyn BufRead, buf: &mut Vec<u8>, max: usize) -> std::io::Result<Option<bool>> {
    buf.clear();
    let mut too_long = false;
    let mut any = false;
    loop {
        let avail = r.fill_buf()?;
        if avail.is_empty() {
            return Ok(any.then_some(too_long));
        }
        any = true;
        let (chunk, used, done) = match memchr::memchr(b'\n', avail) {
            Some(i) => (&avail[..i], i + 1, true),
            None => (avail, avail.len(), false),
        };
        if !too_long {
            if buf.len() + chunk.len() <= max {
                buf.extend_from_slice(chunk);
            } else {
                too_long = true;
                buf.clear();
            }
        }
        r.consume(used);
        if done {
            return Ok(Some(too_long));
        }
    }
}

/// The names `--endpoint` and the query logs give.
pub fn names(inputs: &Inputs, region: &str) -> Result<Names, String> {
    let mut names = Names::default();
    if inputs.endpoints.len() > crate::traffic::names::MAX_ENDPOINT_FLAGS {
        return Err(format!(
            "{} --endpoint values; at most {}",
            inputs.endpoints.len(),
            crate::traffic::names::MAX_ENDPOINT_FLAGS
        ));
    }
    for e in &inputs.endpoints {
        names.endpoint_flag(e, region)?;
    }
    if inputs.dns_logs.is_empty() {
        return Ok(names);
    }
    let mut buf = Vec::with_capacity(MAX_LINE_BYTES);
    for path in files(&inputs.dns_logs)? {
        let mut r = open(&path)?;
        let mut n = 0u64;
        while let Some(too_long) =
            next_line(&mut *r, &mut buf, 64 * 1024).map_err(|e| format!("cannot read {}: {e}", path.display()))?
        {
            n += 1;
            if too_long {
                return Err(format!("{}:{n}: a line longer than 64 KiB", path.display()));
            }
            names
                .query_log_line(&buf)
                .map_err(|e| format!("{}:{n}: {e}", path.display()))?;
        }
    }
    Ok(names)
}

/// Reads every flow log file into one report.
pub fn measure(inputs: &Inputs, ranges: &IpRanges, names: &Names, settings: &Settings) -> Result<Report, String> {
    let given = inputs
        .fields
        .as_deref()
        .map(|f| Format::parse(f).map_err(|e| format!("--fields: {e}")))
        .transpose()?;
    let files = files(&inputs.logs)?;
    let mut tally = Tally::new(settings, ranges, names);
    let mut buf = Vec::with_capacity(MAX_LINE_BYTES);
    let mut formats_seen: Vec<String> = Vec::new();
    for path in &files {
        let label = path.display().to_string();
        let mut r = open(path)?;
        tally.start_file();
        let mut format = given.clone().unwrap_or_else(Format::default_v2);
        let mut n = 0u64;
        while let Some(too_long) =
            next_line(&mut *r, &mut buf, MAX_LINE_BYTES).map_err(|e| format!("cannot read {label}: {e}"))?
        {
            n += 1;
            if too_long {
                tally.malformed(&label, n, format!("longer than {MAX_LINE_BYTES} bytes"));
                continue;
            }
            if n == 1
                && given.is_none()
                && let Some(f) = Format::from_header(&buf)
            {
                format = f.map_err(|e| format!("{label}:1: header: {e}"))?;
            }
            tally
                .line(&format, &buf, &label, n)
                .map_err(|e| format!("{label}:{n}: {e}"))?;
        }
        let header = format.header();
        if !formats_seen.contains(&header) && formats_seen.len() < 5 {
            formats_seen.push(header);
        }
    }
    let notes: Vec<String> = if formats_seen.len() > 1 {
        vec![format!("the files have {} different formats", formats_seen.len())]
    } else {
        Vec::new()
    };
    tally.finish(&notes)
}

/// Fetches `ip-ranges.json` from `url`, bounded in size and time.
pub async fn fetch_ip_ranges(url: &str) -> Result<String, String> {
    let client = reqwest::Client::builder()
        .timeout(FETCH_TIMEOUT)
        .redirect(reqwest::redirect::Policy::limited(5))
        .build()
        .map_err(|e| e.to_string())?;
    let resp = client
        .get(url)
        .send()
        .await
        .map_err(|e| format!("cannot fetch {url}: {e}"))?;
    if !resp.status().is_success() {
        return Err(format!("cannot fetch {url}: HTTP {}", resp.status()));
    }
    let max = crate::traffic::ipranges::MAX_BYTES;
    let body = super::read_body_bounded(resp, max).await.map_err(|e| match e {
        super::BodyError::TooLarge => format!("{url}: larger than {max} bytes"),
        super::BodyError::Transport(e) => format!("cannot fetch {url}: {e}"),
    })?;
    String::from_utf8(body).map_err(|_| format!("{url}: not UTF-8 text"))
}

pub use super::read_bounded;

/// Writes `text` to `path` through a temporary file and a rename, so a
/// crash leaves the old file or the new one.
pub fn write_atomically(path: &Path, text: &str) -> Result<(), String> {
    let tmp = path.with_extension("toml.tmp");
    std::fs::write(&tmp, text).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Whether `id` looks like a NAT gateway ID.
pub fn is_nat_gateway_id(id: &str) -> bool {
    id.strip_prefix("nat-")
        .is_some_and(|h| (8..=17).contains(&h.len()) && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// `--nat-gateway` values: at most [`MAX_NAT_GATEWAYS`], each a NAT gateway ID.
pub fn check_nat_gateway_ids(ids: &[String]) -> Result<(), String> {
    if ids.len() > MAX_NAT_GATEWAYS {
        return Err(format!(
            "{} --nat-gateway values; at most {MAX_NAT_GATEWAYS}",
            ids.len()
        ));
    }
    match ids.iter().find(|id| !is_nat_gateway_id(id)) {
        Some(id) => Err(format!(
            "--nat-gateway `{id}` is not a NAT gateway ID such as nat-0123456789abcdef0"
        )),
        None => Ok(()),
    }
}

/// Adds each NAT gateway's own counts over the report's period (whole
/// hours, as CloudWatch keeps them) to the report.
pub async fn nat_checks(report: &mut Report, cw: &impl CloudWatchApi, ids: &[String]) -> Result<(), String> {
    check_nat_gateway_ids(ids)?;
    let (from, to) = nat_period(report.from, report.to)?;
    for id in ids {
        let [out_dst, in_dst, out_src, in_src] = cw
            .nat_gateway_bytes(id, from, to)
            .await
            .map_err(|e| format!("CloudWatch metrics of {id}: {e}"))?;
        let processed = in_src + in_dst;
        report.nat_gateways.push(NatCheck {
            nat_gateway_id: id.clone(),
            bytes_out_to_destination: out_dst,
            bytes_in_from_destination: in_dst,
            bytes_out_to_source: out_src,
            bytes_in_from_source: in_src,
            processed_bytes: processed,
            flow_log_bytes: report.through_nat_bytes,
            difference_bytes: i64::try_from(i128::from(processed) - i128::from(report.through_nat_bytes))
                .unwrap_or(i64::MAX),
            processed_gb_per_month: report.gb_per_month(processed),
        });
    }
    Ok(())
}

/// The report's period widened to whole hours, at most [`MAX_NAT_PERIOD_DAYS`].
pub fn nat_period(from: DateTime<Utc>, to: DateTime<Utc>) -> Result<(DateTime<Utc>, DateTime<Utc>), String> {
    let hour = TimeDelta::hours(1);
    let start = from.duration_trunc(hour).map_err(|e| e.to_string())?;
    let mut end = to.duration_trunc(hour).map_err(|e| e.to_string())?;
    if end < to {
        end += hour;
    }
    if end - start > TimeDelta::days(MAX_NAT_PERIOD_DAYS) {
        return Err(format!(
            "the logs cover more than {MAX_NAT_PERIOD_DAYS} days; compare with the NAT gateway's metrics over a shorter period"
        ));
    }
    Ok((start, end))
}

/// The scenario `scenario` with its `[network]` volumes replaced by the
/// measured ones in `traffic` (a file `costd traffic --format toml` wrote).
/// Comments and everything else in the scenario are kept.
pub fn with_measured(
    scenario: &str,
    scenario_label: &str,
    traffic: &str,
    traffic_label: &str,
) -> Result<String, String> {
    use toml_edit::{DocumentMut, Item};
    let mut doc: DocumentMut = scenario
        .parse()
        .map_err(|e: toml_edit::TomlError| format!("{scenario_label}: {}", e.message()))?;
    let t: DocumentMut = traffic
        .parse()
        .map_err(|e: toml_edit::TomlError| format!("{traffic_label}: {}", e.message()))?;
    for (k, _) in t.iter() {
        if k != "network" {
            return Err(format!(
                "{traffic_label}: `{k}`: a traffic file has only a [network] section"
            ));
        }
    }
    let Some(tn) = t.get("network").and_then(Item::as_table) else {
        return Err(format!(
            "{traffic_label}: no [network] section; write one with `costd traffic --format toml`"
        ));
    };
    const KEYS: [&str; 4] = [
        "internet_egress_gb_per_month",
        "cross_az_gb_per_month",
        "traffic_gb_per_month",
        "measured",
    ];
    for (k, _) in tn.iter() {
        if !KEYS.contains(&k) {
            return Err(format!(
                "{traffic_label}: `network.{k}` is not a measured volume; expected {}",
                KEYS.join(", ")
            ));
        }
    }
    if tn.get("traffic_gb_per_month").is_none() || tn.get("measured").is_none() {
        return Err(format!(
            "{traffic_label}: needs [network.traffic_gb_per_month] and [network.measured], as `costd traffic --format toml` writes"
        ));
    }
    let Some(net) = doc.get_mut("network").and_then(Item::as_table_mut) else {
        return Err(format!(
            "{scenario_label}: the scenario has no [network] section to put measured traffic in; add one with `azs`"
        ));
    };
    for k in KEYS {
        net.remove(k);
        if let Some(v) = tn.get(k) {
            net.insert(k, v.clone());
        }
    }
    Ok(doc.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_bounded_and_the_rest_of_a_long_line_is_skipped() {
        let text = b"short\nthis one is too long\n\nlast-without-newline";
        let mut r: &[u8] = text;
        let mut buf = Vec::new();
        let mut got = Vec::new();
        while let Some(long) = next_line(&mut r, &mut buf, 8).unwrap() {
            got.push((String::from_utf8(buf.clone()).unwrap(), long));
        }
        assert_eq!(
            got,
            vec![
                ("short".into(), false),
                (String::new(), true),
                (String::new(), false),
                // 20 bytes over a bound of 8, and no newline at the end: too long too.
                (String::new(), true),
            ]
        );
        let mut r: &[u8] = b"exactly8\n";
        assert_eq!(next_line(&mut r, &mut buf, 8).unwrap(), Some(false));
        assert_eq!(buf, b"exactly8");
        assert_eq!(next_line(&mut r, &mut buf, 8).unwrap(), None);
    }

    fn temp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("costd-unit-traffic-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn directories_are_searched_to_their_bounds() {
        let d = temp("depth");
        // The root is at depth 0; d0 … d14 are at depths 1 … 15.
        let mut deep = d.clone();
        for i in 0..MAX_DEPTH - 1 {
            deep = deep.join(format!("d{i}"));
        }
        std::fs::create_dir_all(&deep).unwrap();
        // A file in the deepest directory allowed is read…
        std::fs::write(deep.join("ok.log"), "").unwrap();
        assert_eq!(files(std::slice::from_ref(&d)).unwrap().len(), 1);
        // … a directory at depth 16 is too deep, even if it holds nothing.
        std::fs::create_dir_all(deep.join("d15")).unwrap();
        let e = files(std::slice::from_ref(&d)).unwrap_err();
        assert!(e.contains("directories nested deeper than 16"), "{e}");
        std::fs::remove_dir_all(&d).unwrap();
        let e = files(&[]).unwrap_err();
        assert!(e.contains("no files to read"), "{e}");
    }

    #[test]
    fn at_most_100_000_files() {
        let d = temp("many");
        for i in 0..MAX_FILES {
            std::fs::File::create(d.join(format!("{i}"))).unwrap();
        }
        assert_eq!(files(std::slice::from_ref(&d)).unwrap().len(), MAX_FILES);
        std::fs::File::create(d.join("one-more")).unwrap();
        let e = files(std::slice::from_ref(&d)).unwrap_err();
        assert!(e.contains("more than 100000 files"), "{e}");
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_line_over_8_kib_is_malformed_and_one_of_8_kib_is_read() {
        let d = temp("long");
        let rec = "2 1 eni-1 10.0.1.5 93.184.216.34 1 2 6 1 10 1795132800 1795136400 ACCEPT OK";
        let at_limit = format!("{rec}{}", " ".repeat(MAX_LINE_BYTES - rec.len()));
        let over = format!("{rec}{}", " ".repeat(MAX_LINE_BYTES - rec.len() + 1));
        std::fs::write(d.join("f.log"), format!("{at_limit}\n{over}\n")).unwrap();
        let ranges = IpRanges::parse("r", include_str!("../../tests/fixtures/traffic/ip-ranges.json")).unwrap();
        let inputs = Inputs {
            logs: vec![d.clone()],
            ..Default::default()
        };
        let r = measure(&inputs, &ranges, &Names::default(), &Settings::new("ap-southeast-1")).unwrap();
        assert_eq!((r.counts.records, r.counts.malformed), (1, 1));
        assert_eq!(r.malformed[0].line, 2);
        assert_eq!(r.malformed[0].reason, "longer than 8192 bytes");
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn query_log_lines_endpoint_flags_and_files_are_bounded() {
        let d = temp("names");
        let q = r#"{"query_name":"logs.ap-southeast-1.amazonaws.com.","answers":[{"Rdata":"10.0.1.23","Type":"A"}]"#;
        let at_limit = format!("{q}{}}}", " ".repeat(64 * 1024 - q.len() - 1));
        std::fs::write(d.join("q.log"), format!("{at_limit}\n")).unwrap();
        let mut inputs = Inputs {
            dns_logs: vec![d.join("q.log")],
            ..Default::default()
        };
        assert_eq!(names(&inputs, "ap-southeast-1").unwrap().len(), 1);
        std::fs::write(d.join("q.log"), format!("{at_limit} \n")).unwrap();
        let e = names(&inputs, "ap-southeast-1").unwrap_err();
        assert!(e.contains("q.log:1: a line longer than 64 KiB"), "{e}");
        std::fs::write(d.join("q.log"), "{\"query_name\": 5}\n").unwrap();
        let e = names(&inputs, "ap-southeast-1").unwrap_err();
        assert!(e.contains("q.log:1: not a Route 53 Resolver query log record"), "{e}");
        inputs.dns_logs.clear();
        inputs.endpoints = (0..1000)
            .map(|i| format!("10.1.{}.{}=logs", i / 250, i % 250))
            .collect();
        assert_eq!(names(&inputs, "r").unwrap().len(), 1000);
        inputs.endpoints.push("10.9.9.9=sts".into());
        assert!(
            names(&inputs, "r")
                .unwrap_err()
                .contains("1001 --endpoint values; at most 1000")
        );
        // Scenario and traffic files: at most 1 MiB.
        std::fs::write(d.join("s.toml"), "#".repeat(1024 * 1024)).unwrap();
        assert!(read_bounded(&d.join("s.toml"), 1024 * 1024).is_ok());
        std::fs::write(d.join("s.toml"), "#".repeat(1024 * 1024 + 1)).unwrap();
        let e = read_bounded(&d.join("s.toml"), 1024 * 1024).unwrap_err();
        assert!(e.contains("is larger than 1048576 bytes"), "{e}");
        std::fs::remove_dir_all(&d).unwrap();
    }

    /// Gzip read through the inflating thread: many chunks, two members,
    /// byte for byte; a corrupt stream is an error; a reader dropped early
    /// stops the thread.
    #[test]
    fn gzip_is_inflated_on_a_thread_byte_for_byte() {
        use std::io::{Read, Write};
        let d = temp("gzip");
        let text: String = (0..60_000)
            .map(|i| format!("line {i} {}\n", "x".repeat(i % 40)))
            .collect();
        let gz = |t: &str| {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(t.as_bytes()).unwrap();
            e.finish().unwrap()
        };
        let (a, b) = text.split_at(text.len() / 3);
        let mut two = gz(a);
        two.extend(gz(b));
        std::fs::write(d.join("t.gz"), &two).unwrap();
        assert!(text.len() > 6 * CHUNK_BYTES);
        let mut got = String::new();
        open(&d.join("t.gz")).unwrap().read_to_string(&mut got).unwrap();
        assert_eq!(got, text);
        // Lines as measure reads them.
        let mut r = open(&d.join("t.gz")).unwrap();
        let mut buf = Vec::new();
        let mut n = 0;
        while next_line(&mut *r, &mut buf, MAX_LINE_BYTES).unwrap().is_some() {
            n += 1;
        }
        assert_eq!(n, 60_000);
        // Corrupt in the middle: an error, not a hang or a short read taken for the end.
        let mut bad = gz(&text);
        let mid = bad.len() / 2;
        for byte in &mut bad[mid..mid + 64] {
            *byte ^= 0x5a;
        }
        std::fs::write(d.join("bad.gz"), &bad).unwrap();
        let mut sink = String::new();
        assert!(open(&d.join("bad.gz")).unwrap().read_to_string(&mut sink).is_err());
        // Dropped after one line: no wait (the thread's next send fails and it ends).
        let mut r = open(&d.join("t.gz")).unwrap();
        assert!(next_line(&mut *r, &mut buf, MAX_LINE_BYTES).unwrap().is_some());
        drop(r);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn nat_gateway_ids_and_periods() {
        assert!(is_nat_gateway_id("nat-0123456789abcdef0"));
        assert!(is_nat_gateway_id("nat-01234567"));
        assert!(!is_nat_gateway_id("nat-0123456"));
        assert!(!is_nat_gateway_id("nat-0123456789abcdef01"));
        assert!(!is_nat_gateway_id("eni-0123456789abcdef0"));
        let t = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        assert_eq!(
            nat_period(t("2026-11-20T00:10:00Z"), t("2026-11-20T05:00:01Z")).unwrap(),
            (t("2026-11-20T00:00:00Z"), t("2026-11-20T06:00:00Z"))
        );
        assert!(nat_period(t("2026-08-01T00:00:00Z"), t("2026-11-02T00:00:00Z")).is_ok());
        let e = nat_period(t("2026-08-01T00:00:00Z"), t("2026-11-02T00:00:01Z")).unwrap_err();
        assert!(e.contains("more than 93 days"), "{e}");
    }

    #[test]
    fn measured_volumes_replace_the_scenarios_and_keep_its_comments() {
        let scenario = "# my VPC\nregion = \"ap-southeast-1\"\n\n[network]\nazs = 2 # two AZs\ninternet_egress_gb_per_month = 1\n\n[network.traffic_gb_per_month]\ns3 = 500 # estimate\ninternet = 10\n\n[monitoring]\ncustom_metrics = 8\nalarms = 3\napi_requests_per_month = 45000\n";
        let traffic = "[network]\ninternet_egress_gb_per_month = 0\ncross_az_gb_per_month = 2\n\n[network.traffic_gb_per_month]\ns3 = 3.5\ninternet = 0\n\n[network.measured]\nsource = \"VPC Flow Logs\"\nfrom = \"2026-11-20T00:00:00+00:00\"\nto = \"2026-11-21T00:00:00+00:00\"\nrecords = 10\n";
        let out = with_measured(scenario, "s.toml", traffic, "t.toml").unwrap();
        assert!(out.starts_with("# my VPC\n"), "{out}");
        assert!(out.contains("azs = 2 # two AZs"), "{out}");
        assert!(!out.contains("s3 = 500"), "{out}");
        let s = crate::scenario::Scenario::parse("out.toml", &out, &["ap-southeast-1"]).unwrap();
        let n = s.network.unwrap();
        assert_eq!(n.s3_gb, rust_decimal_macros::dec!(3.5));
        assert_eq!(n.cross_az_gb, rust_decimal_macros::dec!(2));
        assert!(n.is_measured("s3") && n.is_measured("cross_az"));
        assert!(s.monitoring.is_some());

        let e = with_measured(scenario, "s.toml", "[other]\n", "t.toml").unwrap_err();
        assert!(
            e.contains("t.toml: `other`: a traffic file has only a [network] section"),
            "{e}"
        );
        let e = with_measured(scenario, "s.toml", "[network]\nazs = 3\n", "t.toml").unwrap_err();
        assert!(e.contains("`network.azs` is not a measured volume"), "{e}");
        let e = with_measured("region = \"x\"\n", "s.toml", traffic, "t.toml").unwrap_err();
        assert!(e.contains("s.toml: the scenario has no [network] section"), "{e}");
        let e = with_measured(scenario, "s.toml", "[network\n", "t.toml").unwrap_err();
        assert!(e.starts_with("t.toml: "), "{e}");
    }
}
