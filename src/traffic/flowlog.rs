//! VPC Flow Logs records in their text form: the default format (version 2)
//! and custom formats, whose field list comes from a header line (as logs
//! delivered to S3 carry) or from `--fields`.
//!
//! PURE: a line of bytes in, the fields costd needs out. Nothing here
//! allocates per record.

use std::net::IpAddr;

/// The default format's fields, in order (AWS: "Flow log records", version 2).
pub const DEFAULT_FIELDS: &str = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status";

/// Every field name AWS documents for flow log records (versions 2 to 8).
/// A header may name fields costd does not read; it may not name others,
/// since that is how a line of data is told apart from a header.
pub const KNOWN_FIELDS: &[&str] = &[
    "version",
    "account-id",
    "interface-id",
    "srcaddr",
    "dstaddr",
    "srcport",
    "dstport",
    "protocol",
    "packets",
    "bytes",
    "start",
    "end",
    "action",
    "log-status",
    "vpc-id",
    "subnet-id",
    "instance-id",
    "tcp-flags",
    "type",
    "pkt-srcaddr",
    "pkt-dstaddr",
    "region",
    "az-id",
    "sublocation-type",
    "sublocation-id",
    "pkt-src-aws-service",
    "pkt-dst-aws-service",
    "flow-direction",
    "traffic-path",
    "ecs-cluster-arn",
    "ecs-cluster-name",
    "ecs-container-instance-arn",
    "ecs-container-instance-id",
    "ecs-container-id",
    "ecs-second-container-id",
    "ecs-service-name",
    "ecs-task-definition-arn",
    "ecs-task-arn",
    "ecs-task-id",
    "reject-reason",
    "resource-id",
    "encryption-status",
];

/// The most fields a format may have (AWS has 42).
pub const MAX_FIELDS: usize = 64;

/// The fields costd reads, at most.
const SLOTS: usize = 13;
/// A field costd does not read.
const UNREAD: u8 = u8::MAX;

/// Which fields costd reads, and where they sit in a record: `slot_of[i]`
/// is where field `i` is kept while a line is read (so only the fields
/// costd reads are kept), and the named members are those slots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Format {
    fields: usize,
    slot_of: [u8; MAX_FIELDS],
    src: usize,
    dst: usize,
    bytes: usize,
    start: usize,
    end: usize,
    action: Option<usize>,
    log_status: Option<usize>,
    interface: Option<usize>,
    pkt_src: Option<usize>,
    pkt_dst: Option<usize>,
    direction: Option<usize>,
    traffic_path: Option<usize>,
    az: Option<usize>,
    names: Vec<String>,
}

/// Whether the record was logged leaving or entering the interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// `flow-direction` = `egress`.
    Egress,
    /// `flow-direction` = `ingress`.
    Ingress,
}

/// The fields of one record that costd uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record<'a> {
    /// `srcaddr`, or `pkt-srcaddr` when logged and different.
    pub src: IpAddr,
    /// `dstaddr`, or `pkt-dstaddr` when logged and different.
    pub dst: IpAddr,
    /// Bytes in the aggregation interval.
    pub bytes: u64,
    /// Unix seconds: the interval's first packet…
    pub start: i64,
    /// …and its last.
    pub end: i64,
    /// `REJECT` records carry traffic that went nowhere.
    pub rejected: bool,
    /// `interface-id`, when logged.
    pub interface: Option<&'a [u8]>,
    /// `flow-direction`, when logged.
    pub direction: Option<Direction>,
    /// `traffic-path` (1–8), when logged (egress records only).
    pub traffic_path: Option<u8>,
    /// `az-id` of the logging interface, when logged.
    pub az: Option<&'a [u8]>,
}

/// What a line is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line<'a> {
    /// A record with data.
    Record(Record<'a>),
    /// `NODATA` or `SKIPDATA`, or a record whose addresses are `-`.
    NoData,
    /// The header line (field names).
    Header,
    /// Empty (a trailing newline).
    Blank,
}

/// Flow log timestamps before this are not real (VPC Flow Logs began in
/// 2015; AWS's documented examples are from December 2014).
const EARLIEST: i64 = 1_262_304_000; // 2010-01-01T00:00:00Z
/// … nor after this.
const LATEST: i64 = 4_102_444_800; // 2100-01-01T00:00:00Z

impl Format {
    /// The default format (version 2).
    pub fn default_v2() -> Self {
        Self::from_names(DEFAULT_FIELDS.split(' ').map(str::to_string).collect()).expect("the default format is valid")
    }

    /// A format from a field list: `version srcaddr …` or AWS's
    /// `${version} ${srcaddr} …`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let names: Vec<String> = text
            .split_whitespace()
            .map(|t| {
                t.strip_prefix("${")
                    .and_then(|t| t.strip_suffix('}'))
                    .unwrap_or(t)
                    .to_string()
            })
            .collect();
        for n in &names {
            if !KNOWN_FIELDS.contains(&n.as_str()) {
                return Err(format!(
                    "`{n}` is not a flow log field; fields are named as in AWS's documentation, e.g. {DEFAULT_FIELDS}"
                ));
            }
        }
        Self::from_names(names)
    }

    /// The format a header line names, if `line` is one.
    pub fn from_header(line: &[u8]) -> Option<Result<Self, String>> {
        let text = std::str::from_utf8(line).ok()?.trim();
        let first = text.split_whitespace().next()?;
        if !KNOWN_FIELDS.contains(&first) {
            return None;
        }
        Some(Self::parse(text))
    }

    fn from_names(names: Vec<String>) -> Result<Self, String> {
        if names.len() > MAX_FIELDS {
            return Err(format!("{} fields; a format has at most {MAX_FIELDS}", names.len()));
        }
        let find = |n: &str| names.iter().position(|x| x == n);
        for (i, n) in names.iter().enumerate() {
            if names[..i].contains(n) {
                return Err(format!("`{n}` is listed twice"));
            }
        }
        let mut slot_of = [UNREAD; MAX_FIELDS];
        let mut used = 0usize;
        let mut slot = |n: &str| {
            let i = find(n)?;
            slot_of[i] = used as u8;
            used += 1;
            Some(used - 1)
        };
        let missing = |n: &str| format!("the format lacks `{n}`; costd needs srcaddr, dstaddr, bytes, start and end");
        let src = slot("srcaddr").ok_or_else(|| missing("srcaddr"))?;
        let dst = slot("dstaddr").ok_or_else(|| missing("dstaddr"))?;
        let bytes = slot("bytes").ok_or_else(|| missing("bytes"))?;
        let start = slot("start").ok_or_else(|| missing("start"))?;
        let end = slot("end").ok_or_else(|| missing("end"))?;
        let action = slot("action");
        let log_status = slot("log-status");
        let interface = slot("interface-id");
        let pkt_src = slot("pkt-srcaddr");
        let pkt_dst = slot("pkt-dstaddr");
        let direction = slot("flow-direction");
        let traffic_path = slot("traffic-path");
        let az = slot("az-id");
        debug_assert!(used <= SLOTS);
        Ok(Format {
            fields: names.len(),
            slot_of,
            src,
            dst,
            bytes,
            start,
            end,
            action,
            log_status,
            interface,
            pkt_src,
            pkt_dst,
            direction,
            traffic_path,
            az,
            names,
        })
    }

    /// The field names, space-separated (as a header line has them).
    pub fn header(&self) -> String {
        self.names.join(" ")
    }

    /// Whether records say which way they were logged.
    pub fn has_direction(&self) -> bool {
        self.direction.is_some()
    }

    /// Whether records name their interface's AZ.
    pub fn has_az(&self) -> bool {
        self.az.is_some()
    }

    /// Whether records say how egress traffic left (`traffic-path`).
    pub fn has_traffic_path(&self) -> bool {
        self.traffic_path.is_some()
    }

    /// Reads one line (without its newline). An error says what is wrong.
    pub fn line<'a>(&self, line: &'a [u8]) -> Result<Line<'a>, String> {
        let line = trim(line);
        if line.is_empty() {
            return Ok(Line::Blank);
        }
        // Only the fields costd reads are kept, each in its slot.
        let mut f: [&[u8]; SLOTS] = [&[]; SLOTS];
        let mut first: &[u8] = &[];
        let mut n = 0;
        let mut i = 0;
        let sep = |b: u8| b == b' ' || b == b'\t';
        // Fields are a few bytes long: a plain scan beats a vectorized search here.
        while i < line.len() {
            if sep(line[i]) {
                i += 1;
                continue;
            }
            let from = i;
            while i < line.len() && !sep(line[i]) {
                i += 1;
            }
            if n == self.fields {
                return Err(format!("more than the format's {} fields", self.fields));
            }
            let token = &line[from..i];
            if n == 0 {
                first = token;
            }
            let slot = self.slot_of[n];
            if slot != UNREAD {
                f[slot as usize] = token;
            }
            n += 1;
        }
        if n != self.fields {
            if n > 0 && KNOWN_FIELDS.iter().any(|k| k.as_bytes() == first) {
                return Ok(Line::Header);
            }
            return Err(format!("{n} fields where the format has {}", self.fields));
        }
        if f[self.src] == b"srcaddr" {
            return Ok(Line::Header);
        }
        if let Some(i) = self.log_status
            && f[i] != b"OK"
        {
            return match f[i] {
                b"NODATA" | b"SKIPDATA" => Ok(Line::NoData),
                other => Err(format!("log-status `{}` is not OK, NODATA or SKIPDATA", show(other))),
            };
        }
        if f[self.src] == b"-" || f[self.dst] == b"-" || f[self.bytes] == b"-" {
            return Ok(Line::NoData);
        }
        let addr = |i: usize, name: &str| -> Result<IpAddr, String> {
            parse_ip(f[i]).ok_or_else(|| format!("{name} `{}` is not an IP address", show(f[i])))
        };
        let packet_addr = |i: Option<usize>, base: usize, name: &str| -> Result<IpAddr, String> {
            match i {
                Some(i) if f[i] != b"-" && f[i] != f[base] => addr(i, name),
                _ => addr(base, name),
            }
        };
        let src = packet_addr(self.pkt_src, self.src, "srcaddr")?;
        let dst = packet_addr(self.pkt_dst, self.dst, "dstaddr")?;
        let bytes =
            number(f[self.bytes]).ok_or_else(|| format!("bytes `{}` is not a whole number", show(f[self.bytes])))?;
        let time = |i: usize, name: &str| -> Result<i64, String> {
            number(f[i])
                .and_then(|n| i64::try_from(n).ok())
                .filter(|t| (EARLIEST..LATEST).contains(t))
                .ok_or_else(|| {
                    format!(
                        "{name} `{}` is not a Unix time in seconds between 2010 and 2100",
                        show(f[i])
                    )
                })
        };
        let start = time(self.start, "start")?;
        let end = time(self.end, "end")?;
        if end < start {
            return Err(format!("end {end} is before start {start}"));
        }
        let rejected = match self.action.map(|i| f[i]) {
            None | Some(b"ACCEPT") | Some(b"-") => false,
            Some(b"REJECT") => true,
            Some(other) => return Err(format!("action `{}` is not ACCEPT or REJECT", show(other))),
        };
        let direction = match self.direction.map(|i| f[i]) {
            None | Some(b"-") => None,
            Some(b"egress") => Some(Direction::Egress),
            Some(b"ingress") => Some(Direction::Ingress),
            Some(other) => return Err(format!("flow-direction `{}` is not ingress or egress", show(other))),
        };
        let traffic_path = match self.traffic_path.map(|i| f[i]) {
            None | Some(b"-") => None,
            Some(v) => Some(
                number(v)
                    .filter(|p| (1..=8).contains(p))
                    .map(|p| p as u8)
                    .ok_or_else(|| format!("traffic-path `{}` is not 1 to 8", show(v)))?,
            ),
        };
        let opt = |i: Option<usize>| i.map(|i| f[i]).filter(|v| *v != b"-");
        Ok(Line::Record(Record {
            src,
            dst,
            bytes,
            start,
            end,
            rejected,
            interface: opt(self.interface),
            direction,
            traffic_path,
            az: opt(self.az),
        }))
    }
}

/// An IP address from its text: dotted IPv4 read here (most records),
/// anything else by the standard library (IPv6). Both accept and refuse the
/// same texts as `IpAddr::from_str`.
pub fn parse_ip(v: &[u8]) -> Option<IpAddr> {
    if let Some(v4) = parse_ipv4(v) {
        return Some(IpAddr::V4(v4));
    }
    if v.contains(&b':') {
        return std::str::from_utf8(v).ok()?.parse().ok();
    }
    None
}

/// Four decimal octets, each 0–255 without leading zeros.
fn parse_ipv4(v: &[u8]) -> Option<std::net::Ipv4Addr> {
    let mut octets = [0u8; 4];
    let mut parts = v.split(|b| *b == b'.');
    for o in &mut octets {
        let p = parts.next()?;
        if p.is_empty() || p.len() > 3 || (p.len() > 1 && p[0] == b'0') {
            return None;
        }
        let mut n: u16 = 0;
        for b in p {
            if !b.is_ascii_digit() {
                return None;
            }
            n = n * 10 + u16::from(b - b'0');
        }
        *o = u8::try_from(n).ok()?;
    }
    parts.next().is_none().then(|| std::net::Ipv4Addr::from(octets))
}

fn trim(mut l: &[u8]) -> &[u8] {
    while let [rest @ .., b'\r' | b' ' | b'\t'] = l {
        l = rest;
    }
    while let [b' ' | b'\t', rest @ ..] = l {
        l = rest;
    }
    l
}

/// A whole decimal number of at most 19 digits.
fn number(v: &[u8]) -> Option<u64> {
    if v.is_empty() || v.len() > 19 {
        return None;
    }
    let mut n: u64 = 0;
    for b in v {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n * 10 + u64::from(b - b'0');
    }
    Some(n)
}

/// A field for an error message: at most 40 characters, lossy.
fn show(v: &[u8]) -> String {
    let s = String::from_utf8_lossy(&v[..v.len().min(40)]).into_owned();
    if v.len() > 40 { format!("{s}…") } else { s }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(f: &Format, l: &str) -> Record<'static> {
        let l: &'static str = Box::leak(l.to_string().into_boxed_str());
        match f.line(l.as_bytes()).unwrap() {
            Line::Record(r) => r,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_default_format_reads_aws_documented_examples() {
        let f = Format::default_v2();
        // AWS's example: accepted SSH traffic to an instance.
        let r = record(
            &f,
            "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK",
        );
        assert_eq!(r.src, "172.31.16.139".parse::<IpAddr>().unwrap());
        assert_eq!(r.dst, "172.31.16.21".parse::<IpAddr>().unwrap());
        assert_eq!(
            (r.bytes, r.start, r.end, r.rejected),
            (4249, 1418530010, 1418530070, false)
        );
        assert_eq!(r.interface, Some(&b"eni-1235b8ca123456789"[..]));
        assert_eq!((r.direction, r.az), (None, None));
        // Rejected RDP.
        assert!(
            record(
                &f,
                "2 123456789010 eni-1235b8ca123456789 172.31.9.69 172.31.9.12 49761 3389 6 20 4249 1418530010 1418530070 REJECT OK"
            )
            .rejected
        );
        // No data, skipped data.
        for l in [
            "2 123456789010 eni-1a2b3c4d - - - - - - - 1431280876 1431280934 - NODATA",
            "2 123456789010 eni-4b118871 - - - - - - - 1431280876 1431280934 - SKIPDATA",
        ] {
            assert_eq!(f.line(l.as_bytes()), Ok(Line::NoData), "{l}");
        }
        assert_eq!(f.line(b""), Ok(Line::Blank));
        assert_eq!(f.line(b"\r"), Ok(Line::Blank));
    }

    #[test]
    fn a_custom_format_from_a_header_line_with_packet_addresses_direction_path_and_az() {
        let header = "version interface-id az-id srcaddr dstaddr pkt-srcaddr pkt-dstaddr bytes start end action log-status flow-direction traffic-path";
        let f = Format::from_header(header.as_bytes()).unwrap().unwrap();
        assert_eq!(f.header(), header);
        assert_eq!(f.line(header.as_bytes()), Ok(Line::Header));
        assert!(f.has_direction() && f.has_az() && f.has_traffic_path());
        // Through a NAT gateway's interface: pkt-dstaddr is the real destination.
        let r = record(
            &f,
            "5 eni-nat apse1-az1 10.0.1.5 10.0.0.9 10.0.1.5 52.219.1.1 1000 1700000000 1700000060 ACCEPT OK ingress -",
        );
        assert_eq!(r.dst, "52.219.1.1".parse::<IpAddr>().unwrap());
        assert_eq!(r.direction, Some(Direction::Ingress));
        assert_eq!(r.az, Some(&b"apse1-az1"[..]));
        assert_eq!(r.traffic_path, None);
        let r = record(
            &f,
            "5 eni-a apse1-az2 10.0.2.7 52.219.1.1 - - 77 1700000000 1700000060 ACCEPT OK egress 7",
        );
        assert_eq!(r.src, "10.0.2.7".parse::<IpAddr>().unwrap());
        assert_eq!((r.direction, r.traffic_path), (Some(Direction::Egress), Some(7)));
        // AWS's ${field} syntax, as the console shows a custom format.
        let g = Format::parse("${version} ${srcaddr} ${dstaddr} ${bytes} ${start} ${end}").unwrap();
        let r = record(&g, "5 2001:db8::1 2406:da18::5 123 1700000000 1700000001");
        assert!(r.dst.is_ipv6());
        // A data line is not a header.
        assert!(Format::from_header(b"2 123 eni-1 1.2.3.4").is_none());
    }

    /// The fast IPv4 reader agrees with the standard library's, on edge
    /// cases and on random texts of digits, dots and colons.
    #[test]
    fn addresses_read_as_the_standard_library_reads_them() {
        let std_parse = |t: &str| t.parse::<IpAddr>().ok();
        for t in [
            "0.0.0.0",
            "255.255.255.255",
            "10.0.1.5",
            "256.0.0.1",
            "1.2.3",
            "1.2.3.4.5",
            "01.2.3.4",
            "1.2.3.04",
            "1..2.3",
            ".1.2.3",
            "1.2.3.",
            "1.2.3.4 ",
            "+1.2.3.4",
            "1.2.3.-4",
            "1234.1.1.1",
            "",
            "::",
            "::1",
            "2406:da18::5",
            "::ffff:1.2.3.4",
            "fe80::1%eth0",
            "1:2:3:4:5:6:7:8:9",
            "g::1",
            "1.2.3.4:80",
        ] {
            assert_eq!(parse_ip(t.as_bytes()), std_parse(t), "{t:?}");
        }
        let alphabet = b"0123456789.:af";
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..100_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = (seed % 16) as usize;
            let t: String = (0..len)
                .map(|i| alphabet[((seed >> (i * 4)) % alphabet.len() as u64) as usize] as char)
                .collect();
            assert_eq!(parse_ip(t.as_bytes()), std_parse(&t), "{t:?}");
        }
    }

    #[test]
    fn bad_formats_are_refused_naming_the_field() {
        let e = Format::parse("version srcaddr dstaddr bytes start").unwrap_err();
        assert!(e.contains("lacks `end`"), "{e}");
        let e = Format::parse("version srcaddr dstaddr bytes start end colour").unwrap_err();
        assert!(e.contains("`colour` is not a flow log field"), "{e}");
        let e = Format::parse("srcaddr dstaddr bytes start end bytes").unwrap_err();
        assert!(e.contains("`bytes` is listed twice"), "{e}");
        let many = vec!["version"; MAX_FIELDS + 1].join(" ");
        assert!(Format::parse(&many).unwrap_err().contains("at most 64"));
    }

    #[test]
    fn malformed_lines_say_what_is_wrong() {
        let f = Format::default_v2();
        let ok = "2 1 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 100 1700000000 1700000060 ACCEPT OK";
        assert!(matches!(f.line(ok.as_bytes()), Ok(Line::Record(_))));
        // The first and last instants accepted.
        let edges = ok
            .replace("1700000000", "1262304000")
            .replace("1700000060", "4102444799");
        assert!(matches!(f.line(edges.as_bytes()), Ok(Line::Record(_))));
        let cases = [
            ("2 1 eni-1 10.0.0.1", "4 fields where the format has 14"),
            (&format!("{ok} extra"), "more than the format's 14 fields"),
            (
                &ok.replace("10.0.0.1", "10.0.0.300"),
                "srcaddr `10.0.0.300` is not an IP address",
            ),
            (&ok.replace(" 100 ", " 1e3 "), "bytes `1e3` is not a whole number"),
            (&ok.replace("1700000000", "17"), "start `17` is not a Unix time"),
            (
                &ok.replace("1700000060", "1600000000"),
                "end 1600000000 is before start",
            ),
            (&ok.replace("ACCEPT", "MAYBE"), "action `MAYBE`"),
            (&ok.replace(" OK", " FINE"), "log-status `FINE`"),
            (&ok.replace(" 100 ", " 99999999999999999999 "), "is not a whole number"),
            (
                &ok.replace("1700000000", "1262303999"),
                "start `1262303999` is not a Unix time",
            ),
            (
                &ok.replace("1700000060", "4102444800"),
                "end `4102444800` is not a Unix time",
            ),
        ];
        for (line, want) in cases {
            let e = f.line(line.as_bytes()).unwrap_err();
            assert!(e.contains(want), "{line}: {e}");
        }
    }
}
