//! Measured traffic: VPC Flow Logs records attributed to AWS services,
//! regions and AZs (by AWS's published IP ranges and, where those cannot
//! tell, by names from `--endpoint` and Route 53 Resolver query logs), summed
//! over the period the logs cover and scaled to a month: the volumes a
//! scenario's `[network.traffic_gb_per_month]` wants.
//!
//! PURE: [`Tally`] takes one line at a time (the edge reads the files) and
//! holds only sums, so memory does not grow with the number of records —
//! only with the distinct destinations, AZs and in-VPC addresses, each
//! bounded.
//!
//! Who counts what:
//! - A record with one end in the VPC and the other outside is traffic to
//!   or from that outside address, in the direction logged (sent when the
//!   VPC end is the source). NAT gateways and interface endpoints process
//!   both directions, so both count.
//! - A record between two VPC addresses is traffic to an interface endpoint
//!   when one end is a named endpoint address (counted at the workload's
//!   interface when `flow-direction` says which copy is which); otherwise it is in-VPC
//!   traffic, counted from its `egress` record only (the ingress record at
//!   the other end is the same bytes) and cross-AZ when the two ends' AZs
//!   (`az-id`, learned per address from the records) differ.
//! - `REJECT` records, `NODATA`/`SKIPDATA` records, link-local traffic
//!   (instance metadata, the Amazon DNS server's 169.254 address) and records
//!   of `--skip-interface` interfaces are counted apart, never attributed.

pub mod fixture;
pub mod flowlog;
pub mod ipranges;
pub mod names;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde::Serialize;

use flowlog::{Direction, Format, Line};
use ipranges::{IpRanges, key};
use names::Names;

/// Bytes in the GB that AWS meters data in (2^30).
pub const BYTES_PER_GB: u64 = 1 << 30;
/// The most distinct `az-id` values.
pub const MAX_AZS: usize = 64;
/// The most in-VPC addresses whose AZ is remembered, and the most
/// (AZ, destination) pairs of in-VPC traffic awaiting their AZ.
pub const MAX_VPC_ADDRESSES: usize = 1_000_000;
/// Malformed lines listed one by one (all are counted).
pub const MAX_MALFORMED_LISTED: usize = 20;
/// The most `--vpc-cidr` and `--skip-interface` values.
pub const MAX_CIDRS: usize = 50;
/// The most `--skip-interface` values.
pub const MAX_SKIPPED_INTERFACES: usize = 1000;
/// The shortest period the logs must cover to be scaled to a month.
pub const MIN_PERIOD_SECONDS: i64 = 60;

/// The tally's maps are keyed by addresses and small ids, millions of
/// lookups a second: a multiply-fold hash keyed at random per process (so
/// crafted logs cannot aim at collisions), instead of SipHash.
#[derive(Clone, Copy)]
pub struct FoldHasher(u64);

impl std::hash::Hasher for FoldHasher {
    fn finish(&self) -> u64 {
        self.0 ^ (self.0 >> 29)
    }
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            self.add(u64::from_le_bytes(b));
        }
    }
    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }
    fn write_u16(&mut self, n: u16) {
        self.add(u64::from(n));
    }
    fn write_u32(&mut self, n: u32) {
        self.add(u64::from(n));
    }
    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }
    fn write_u128(&mut self, n: u128) {
        self.add(n as u64);
        self.add((n >> 64) as u64);
    }
    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }
}

impl FoldHasher {
    fn add(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(23) ^ n).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

/// Builds [`FoldHasher`]s from one random key.
#[derive(Clone, Copy)]
pub struct FoldState(u64);

impl Default for FoldState {
    fn default() -> Self {
        use std::hash::BuildHasher;
        // std's RandomState is keyed from the OS's randomness.
        FoldState(std::collections::hash_map::RandomState::new().hash_one(0x5eed_u64) | 1)
    }
}

impl std::hash::BuildHasher for FoldState {
    type Hasher = FoldHasher;
    fn build_hasher(&self) -> FoldHasher {
        FoldHasher(self.0)
    }
}

type FastMap<K, V> = HashMap<K, V, FoldState>;

pub use crate::cost::network::UNNAMED_AWS;

/// How to read the logs.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The VPC's region: AWS services here can have endpoints.
    pub region: String,
    /// The VPC's CIDR blocks (inclusive key ranges); empty: the private
    /// ranges (RFC 1918, 100.64.0.0/10, fc00::/7).
    pub vpc_cidrs: Vec<(u128, u128)>,
    /// Interfaces whose records are left out (e.g. a NAT gateway's, whose
    /// records repeat the workloads').
    pub skip_interfaces: HashSet<Vec<u8>>,
    /// Hours in the month the volumes are scaled to.
    pub hours_per_month: Decimal,
}

impl Settings {
    /// Settings for `region` with the private ranges as the VPC.
    pub fn new(region: &str) -> Self {
        Self {
            region: region.to_string(),
            vpc_cidrs: Vec::new(),
            skip_interfaces: HashSet::new(),
            hours_per_month: crate::scenario::DEFAULT_HOURS_PER_MONTH,
        }
    }

    /// Adds `--vpc-cidr` values.
    pub fn with_vpc_cidrs(mut self, cidrs: &[String]) -> Result<Self, String> {
        if cidrs.len() > MAX_CIDRS {
            return Err(format!("{} --vpc-cidr values; at most {MAX_CIDRS}", cidrs.len()));
        }
        for c in cidrs {
            let (start, end, _) = ipranges::cidr(c).map_err(|e| format!("--vpc-cidr: {e}"))?;
            self.vpc_cidrs.push((start, end));
        }
        Ok(self)
    }

    /// Adds `--skip-interface` values.
    pub fn with_skipped_interfaces(mut self, ids: &[String]) -> Result<Self, String> {
        if ids.len() > MAX_SKIPPED_INTERFACES {
            return Err(format!(
                "{} --skip-interface values; at most {MAX_SKIPPED_INTERFACES}",
                ids.len()
            ));
        }
        for id in ids {
            if !id.starts_with("eni-") || id.len() > 32 {
                return Err(format!(
                    "--skip-interface `{id}` is not an interface ID such as eni-0123456789abcdef0"
                ));
            }
            self.skip_interfaces.insert(id.as_bytes().to_vec());
        }
        Ok(self)
    }

    fn in_vpc(&self, k: u128) -> bool {
        if self.vpc_cidrs.is_empty() {
            return PRIVATE.iter().any(|(s, e)| (*s..=*e).contains(&k));
        }
        self.vpc_cidrs.iter().any(|(s, e)| (*s..=*e).contains(&k))
    }
}

const fn v4(a: u8, b: u8, len: u32) -> (u128, u128) {
    let start = 0xffff_0000_0000u128 | ((a as u128) << 24) | ((b as u128) << 16);
    (start, start | ((1u128 << (32 - len)) - 1))
}

/// RFC 1918, the shared address space (100.64.0.0/10) and IPv6 ULAs.
const PRIVATE: [(u128, u128); 5] = [
    v4(10, 0, 8),
    v4(172, 16, 12),
    v4(192, 168, 16),
    v4(100, 64, 10),
    (0xfc00u128 << 112, (0xfc00u128 << 112) | ((1u128 << 121) - 1)),
];

fn link_local(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => a.is_link_local(),
        IpAddr::V6(a) => (a.segments()[0] & 0xffc0) == 0xfe80,
    }
}

/// Where bytes went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Dest {
    /// Named by `--endpoint` or a query log.
    Named(u32),
    /// In a published AWS range.
    Range(u32),
    /// Anywhere else outside the VPC.
    Internet,
}

#[derive(Debug, Clone, Copy, Default)]
struct Flow {
    sent: u64,
    received: u64,
    records: u64,
    /// Seen going through a gateway endpoint (`traffic-path` 7) or to an
    /// interface endpoint's address: not through a NAT.
    bypasses_nat: bool,
}

/// What was read, record by record.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Counts {
    /// Lines read, headers and blank lines included.
    pub lines: u64,
    /// Header lines.
    pub headers: u64,
    /// Records with data.
    pub records: u64,
    /// Records attributed (to an outside address or across the VPC).
    pub attributed: u64,
    /// `NODATA`/`SKIPDATA` records.
    pub no_data: u64,
    /// `REJECT` records (their bytes went nowhere).
    pub rejected: u64,
    /// Records of `--skip-interface` interfaces.
    pub skipped_interface: u64,
    /// Records to or from link-local addresses (metadata, DNS).
    pub link_local: u64,
    /// Records with neither end in the VPC (check `--vpc-cidr`).
    pub outside_vpc: u64,
    /// Malformed lines (each listed up to 20, with its file and line).
    pub malformed: u64,
}

/// One malformed line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Malformed {
    /// The file.
    pub file: String,
    /// 1-based line number.
    pub line: u64,
    /// What is wrong.
    pub reason: String,
}

/// The in-VPC side of the tally.
#[derive(Debug, Default)]
struct Vpc {
    /// (AZ of the sender, destination) → bytes, from egress records.
    pending: FastMap<(u16, u128), u64>,
    /// Address → its interface's AZ.
    az_of: FastMap<u128, u16>,
    /// In-VPC bytes that could not be placed (no `flow-direction` or `az-id`).
    unplaced: u64,
    /// Pairs or addresses left out because the bounds were reached.
    overflow: u64,
}

/// Sums of flow log records: feed it lines, then [`Tally::finish`].
pub struct Tally<'a> {
    settings: &'a Settings,
    ranges: &'a IpRanges,
    names: &'a Names,
    azs: Vec<Vec<u8>>,
    remote: FastMap<(Dest, u16), Flow>,
    vpc: Vpc,
    counts: Counts,
    span: Option<(i64, i64)>,
    malformed: Vec<Malformed>,
    files: u64,
    saw_direction: bool,
    saw_az: bool,
}

/// No AZ logged.
const NO_AZ: u16 = u16::MAX;

impl<'a> Tally<'a> {
    /// An empty tally.
    pub fn new(settings: &'a Settings, ranges: &'a IpRanges, names: &'a Names) -> Self {
        Self {
            settings,
            ranges,
            names,
            azs: Vec::new(),
            remote: FastMap::default(),
            vpc: Vpc::default(),
            counts: Counts::default(),
            span: None,
            malformed: Vec::new(),
            files: 0,
            saw_direction: false,
            saw_az: false,
        }
    }

    /// Starts a file: a new file may carry its own header.
    pub fn start_file(&mut self) {
        self.files += 1;
    }

    /// Counts a line that could not be read (e.g. too long) as malformed.
    pub fn malformed(&mut self, file: &str, line_no: u64, reason: String) {
        self.counts.lines += 1;
        self.counts.malformed += 1;
        if self.malformed.len() < MAX_MALFORMED_LISTED {
            self.malformed.push(Malformed {
                file: file.to_string(),
                line: line_no,
                reason,
            });
        }
    }

    /// Adds one line of `file` (1-based `line_no`) read with `format`.
    pub fn line(&mut self, format: &Format, line: &[u8], file: &str, line_no: u64) -> Result<(), String> {
        match format.line(line) {
            Err(reason) => {
                self.malformed(file, line_no, reason);
                Ok(())
            }
            Ok(l) => {
                self.counts.lines += 1;
                match l {
                    Line::Blank => {}
                    Line::Header => self.counts.headers += 1,
                    Line::NoData => self.counts.no_data += 1,
                    Line::Record(r) => self.record(&r)?,
                }
                Ok(())
            }
        }
    }

    fn az(&mut self, az: Option<&[u8]>) -> Result<u16, String> {
        let Some(az) = az else { return Ok(NO_AZ) };
        self.saw_az = true;
        if let Some(i) = self.azs.iter().position(|a| a == az) {
            return Ok(i as u16);
        }
        if self.azs.len() >= MAX_AZS {
            return Err(format!(
                "more than {MAX_AZS} distinct az-id values; these are not one VPC's logs"
            ));
        }
        self.azs.push(az.to_vec());
        Ok((self.azs.len() - 1) as u16)
    }

    fn learn(&mut self, addr: u128, az: u16) {
        if az == NO_AZ {
            return;
        }
        let room = self.vpc.az_of.len() < MAX_VPC_ADDRESSES;
        match self.vpc.az_of.get_mut(&addr) {
            Some(known) => *known = az,
            None if room => {
                self.vpc.az_of.insert(addr, az);
            }
            None => self.vpc.overflow += 1,
        }
    }

    fn record(&mut self, r: &flowlog::Record<'_>) -> Result<(), String> {
        self.counts.records += 1;
        if r.rejected {
            self.counts.rejected += 1;
            return Ok(());
        }
        if let Some(i) = r.interface
            && !self.settings.skip_interfaces.is_empty()
            && self.settings.skip_interfaces.contains(i)
        {
            self.counts.skipped_interface += 1;
            return Ok(());
        }
        if link_local(r.src) || link_local(r.dst) {
            self.counts.link_local += 1;
            return Ok(());
        }
        self.span = Some(match self.span {
            None => (r.start, r.end),
            Some((s, e)) => (s.min(r.start), e.max(r.end)),
        });
        if r.direction.is_some() {
            self.saw_direction = true;
        }
        let az = self.az(r.az)?;
        let (src, dst) = (key(r.src), key(r.dst));
        let (src_in, dst_in) = (self.settings.in_vpc(src), self.settings.in_vpc(dst));
        let (local, remote, sent) = match (src_in, dst_in) {
            (true, false) => (src, dst, true),
            (false, true) => (dst, src, false),
            (false, false) => {
                self.counts.outside_vpc += 1;
                return Ok(());
            }
            (true, true) => {
                // To or from an interface endpoint's address? When the
                // endpoint's own interface is logged too, each byte is
                // logged twice: count the workload's side only (egress to
                // the endpoint, ingress from it) when the direction says so.
                if self.names.index_of_key(dst).is_some() {
                    if r.direction == Some(Direction::Ingress) {
                        self.counts.attributed += 1;
                        return Ok(());
                    }
                    (src, dst, true)
                } else if self.names.index_of_key(src).is_some() {
                    if r.direction == Some(Direction::Egress) {
                        self.counts.attributed += 1;
                        return Ok(());
                    }
                    (dst, src, false)
                } else {
                    self.in_vpc(r, src, dst, az);
                    self.counts.attributed += 1;
                    return Ok(());
                }
            }
        };
        self.learn(local, az);
        let dest = if let Some(i) = self.names.index_of_key(remote) {
            Dest::Named(i)
        } else if let Some(i) = self.ranges.lookup_key(remote) {
            Dest::Range(i)
        } else {
            Dest::Internet
        };
        let f = self.remote.entry((dest, az)).or_default();
        if sent {
            f.sent += r.bytes;
        } else {
            f.received += r.bytes;
        }
        f.bypasses_nat |= (src_in && dst_in) || r.traffic_path == Some(7);
        f.records += 1;
        self.counts.attributed += 1;
        Ok(())
    }

    fn in_vpc(&mut self, r: &flowlog::Record<'_>, src: u128, dst: u128, az: u16) {
        match (r.direction, az) {
            (Some(Direction::Egress), a) if a != NO_AZ => {
                self.learn(src, a);
                let room = self.vpc.pending.len() < MAX_VPC_ADDRESSES;
                match self.vpc.pending.get_mut(&(a, dst)) {
                    Some(bytes) => *bytes += r.bytes,
                    None if room => {
                        self.vpc.pending.insert((a, dst), r.bytes);
                    }
                    None => {
                        self.vpc.overflow += 1;
                        self.vpc.unplaced += r.bytes;
                    }
                }
            }
            (Some(Direction::Ingress), a) if a != NO_AZ => self.learn(dst, a),
            _ => self.vpc.unplaced += r.bytes,
        }
    }

    /// The sums as a report: per destination and AZ, and as a scenario's
    /// monthly volumes. Fails when the records cover less than a minute.
    pub fn finish(self, format_notes: &[String]) -> Result<Report, String> {
        let (from, to) = self.span.ok_or(
            "no records with traffic: nothing to measure (every record was malformed, rejected, skipped or NODATA)",
        )?;
        if to - from < MIN_PERIOD_SECONDS {
            return Err(format!(
                "the records cover {} s; at least {MIN_PERIOD_SECONDS} s are needed to scale them to a month",
                to - from
            ));
        }
        let period_hours = Decimal::from(to - from) / dec!(3600);
        let scale = self.settings.hours_per_month / period_hours;
        let gb_month = |bytes: u64| Decimal::from(bytes) / Decimal::from(BYTES_PER_GB) * scale;
        let az_name = |i: u16| {
            if i == NO_AZ {
                None
            } else {
                Some(String::from_utf8_lossy(&self.azs[i as usize]).into_owned())
            }
        };
        let names = self.names.services();
        let region = &self.settings.region;
        let mut rows: Vec<Destination> = Vec::new();
        let mut traffic: BTreeMap<String, u64> = BTreeMap::new();
        let mut egress_bytes: u64 = 0;
        let mut other_region_bytes: u64 = 0;
        let mut nat_bytes: u64 = 0;
        for ((dest, az), f) in &self.remote {
            let (label, service, dest_region, scenario_key) = match dest {
                Dest::Named(i) => {
                    let n = &names[*i as usize];
                    let key = if &n.region == region {
                        n.service.clone()
                    } else {
                        "internet".into()
                    };
                    (
                        format!("{} ({})", n.service, n.region),
                        n.service.clone(),
                        n.region.clone(),
                        key,
                    )
                }
                Dest::Range(i) => {
                    let o = &self.ranges.owners()[*i as usize];
                    let key = match (o.region == *region, o.service.as_str()) {
                        (true, "S3") => "s3".to_string(),
                        (true, "DYNAMODB") => "dynamodb".to_string(),
                        (true, _) => UNNAMED_AWS.to_string(),
                        (false, _) => "internet".to_string(),
                    };
                    (
                        format!("AWS {} ({})", o.service, o.region),
                        o.service.clone(),
                        o.region.clone(),
                        key,
                    )
                }
                Dest::Internet => (
                    "internet".to_string(),
                    "INTERNET".to_string(),
                    String::new(),
                    "internet".into(),
                ),
            };
            let bytes = f.sent + f.received;
            *traffic.entry(scenario_key.clone()).or_default() += bytes;
            if matches!(dest, Dest::Internet) {
                egress_bytes += f.sent;
            } else if scenario_key == "internet" {
                other_region_bytes += bytes;
            }
            if !f.bypasses_nat {
                nat_bytes += bytes;
            }
            rows.push(Destination {
                destination: label,
                service,
                region: dest_region,
                az: az_name(*az),
                scenario_key,
                sent_bytes: f.sent,
                received_bytes: f.received,
                records: f.records,
                gb_per_month: gb_month(bytes).round_dp(3),
            });
        }
        rows.sort_by(|a, b| {
            (b.sent_bytes + b.received_bytes)
                .cmp(&(a.sent_bytes + a.received_bytes))
                .then(a.destination.cmp(&b.destination))
                .then(a.az.cmp(&b.az))
        });
        // In-VPC: each pending (sender AZ, destination) placed by the destination's AZ.
        let mut cross: u64 = 0;
        let mut same: u64 = 0;
        let mut unknown: u64 = self.vpc.unplaced;
        for ((az, dst), bytes) in &self.vpc.pending {
            match self.vpc.az_of.get(dst) {
                Some(d) if d == az => same += bytes,
                Some(_) => cross += bytes,
                None => unknown += bytes,
            }
        }
        let mut notes: Vec<String> = format_notes.to_vec();
        let measured_cross_az = self.saw_direction && self.saw_az;
        if !measured_cross_az {
            notes.push(
                "cross-AZ traffic is not measured: the records lack flow-direction or az-id (add both to the flow log's format)"
                    .into(),
            );
        }
        if unknown > 0 && measured_cross_az {
            notes.push(format!(
                "{} of in-VPC traffic went to addresses whose AZ no record named (their interfaces are not in these logs); it is counted neither as cross-AZ nor as same-AZ",
                human_bytes(unknown)
            ));
        }
        if self.vpc.overflow > 0 {
            notes.push(format!(
                "more than {MAX_VPC_ADDRESSES} in-VPC addresses: {} records' AZs were not remembered",
                self.vpc.overflow
            ));
        }
        if let Some(b) = traffic.get(UNNAMED_AWS) {
            notes.push(format!(
                "{} went to AWS addresses in {region} that the published ranges share among services (AMAZON, EC2): name them with --dns-log (Route 53 Resolver query logs) or --endpoint to see which services they are",
                human_bytes(*b)
            ));
        }
        if other_region_bytes > 0 {
            notes.push(format!(
                "{} went to AWS in other regions; it is counted as internet traffic (through a NAT), though AWS bills it as inter-region transfer rather than internet egress",
                human_bytes(other_region_bytes)
            ));
        }
        if self.counts.outside_vpc > 0 {
            notes.push(format!(
                "{} records had neither end in the VPC's addresses: set --vpc-cidr to the VPC's CIDR blocks",
                self.counts.outside_vpc
            ));
        }
        let from_t = DateTime::from_timestamp(from, 0).unwrap_or_default();
        let to_t = DateTime::from_timestamp(to, 0).unwrap_or_default();
        Ok(Report {
            region: region.clone(),
            from: from_t,
            to: to_t,
            period_hours: period_hours.round_dp(4),
            hours_per_month: self.settings.hours_per_month,
            files: self.files,
            counts: self.counts,
            malformed: self.malformed,
            destinations: rows,
            traffic_gb_per_month: traffic
                .iter()
                .map(|(k, b)| (k.clone(), gb_month(*b).round_dp(3)))
                .collect(),
            internet_egress_gb_per_month: gb_month(egress_bytes).round_dp(3),
            through_nat_bytes: nat_bytes,
            cross_az: CrossAz {
                measured: measured_cross_az,
                cross_az_bytes: cross,
                same_az_bytes: same,
                unknown_bytes: unknown,
                gb_per_month: gb_month(cross).round_dp(3),
            },
            notes,
            ip_ranges_date: self.ranges.create_date.clone(),
            nat_gateways: Vec::new(),
        })
    }
}

/// `1.5 GB`, `12 MB`, `800 B`, binary units as AWS meters.
pub fn human_bytes(b: u64) -> String {
    let units = [("GB", 1u64 << 30), ("MB", 1 << 20), ("KB", 1 << 10)];
    for (name, size) in units {
        if b >= size {
            let v = Decimal::from(b) / Decimal::from(size);
            return format!("{} {name}", v.round_dp(2).normalize());
        }
    }
    format!("{b} B")
}

/// One destination in one AZ.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Destination {
    /// A label: `AWS S3 (ap-southeast-1)`, `logs (ap-southeast-1)`, `internet`.
    pub destination: String,
    /// The service code (`S3`, `AMAZON`, `EC2`), a named service (`logs`) or `INTERNET`.
    pub service: String,
    /// Its region (`GLOBAL` for global ranges; empty for the internet).
    pub region: String,
    /// The `az-id` of the VPC's interfaces that sent or received it, when logged.
    pub az: Option<String>,
    /// The scenario key it counts under.
    pub scenario_key: String,
    /// Bytes sent from the VPC.
    pub sent_bytes: u64,
    /// Bytes received into the VPC.
    pub received_bytes: u64,
    /// Records.
    pub records: u64,
    /// Both directions, scaled to a month.
    pub gb_per_month: Decimal,
}

/// Traffic between the VPC's own AZs.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CrossAz {
    /// Whether the logs had what it takes (`flow-direction` and `az-id`).
    pub measured: bool,
    /// Bytes sent from one AZ to another.
    pub cross_az_bytes: u64,
    /// Bytes within one AZ.
    pub same_az_bytes: u64,
    /// In-VPC bytes that could not be placed.
    pub unknown_bytes: u64,
    /// Cross-AZ bytes scaled to a month (each GB is billed on both sides).
    pub gb_per_month: Decimal,
}

/// A NAT gateway's own count of the bytes it processed (CloudWatch), beside
/// the flow logs'.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct NatCheck {
    /// The NAT gateway ID.
    pub nat_gateway_id: String,
    /// `BytesOutToDestination` over the period.
    pub bytes_out_to_destination: u64,
    /// `BytesInFromDestination`.
    pub bytes_in_from_destination: u64,
    /// `BytesOutToSource`.
    pub bytes_out_to_source: u64,
    /// `BytesInFromSource`.
    pub bytes_in_from_source: u64,
    /// What it processed: `BytesInFromSource` + `BytesInFromDestination`.
    pub processed_bytes: u64,
    /// The flow logs' bytes to and from outside the VPC not through an
    /// endpoint ([`Report::through_nat_bytes`]).
    pub flow_log_bytes: u64,
    /// `processed_bytes − flow_log_bytes`.
    pub difference_bytes: i64,
    /// Scaled to a month.
    pub processed_gb_per_month: Decimal,
}

/// The measured traffic.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Report {
    /// The VPC's region.
    pub region: String,
    /// The first record's start…
    pub from: DateTime<Utc>,
    /// …and the last record's end.
    pub to: DateTime<Utc>,
    /// Hours between them.
    pub period_hours: Decimal,
    /// Hours in the month the volumes are scaled to.
    pub hours_per_month: Decimal,
    /// Files read.
    pub files: u64,
    /// What was read.
    pub counts: Counts,
    /// The first malformed lines.
    pub malformed: Vec<Malformed>,
    /// Per destination and AZ, largest first.
    pub destinations: Vec<Destination>,
    /// Per scenario key, both directions, scaled to a month.
    pub traffic_gb_per_month: BTreeMap<String, Decimal>,
    /// Bytes sent to the internet (billed egress), scaled to a month.
    pub internet_egress_gb_per_month: Decimal,
    /// Bytes to and from outside the VPC, not through a gateway endpoint
    /// (where `traffic-path` says so): what a NAT gateway would process.
    pub through_nat_bytes: u64,
    /// Between the VPC's AZs.
    pub cross_az: CrossAz,
    /// What to know about these figures.
    pub notes: Vec<String>,
    /// `createDate` of the ip-ranges file used.
    pub ip_ranges_date: String,
    /// NAT gateways' own counts, when asked for.
    pub nat_gateways: Vec<NatCheck>,
}

impl Report {
    /// Bytes scaled to GB per month over this report's period.
    pub fn gb_per_month(&self, bytes: u64) -> Decimal {
        let scale = self.hours_per_month / self.period_hours.max(dec!(0.0001));
        (Decimal::from(bytes) / Decimal::from(BYTES_PER_GB) * scale).round_dp(3)
    }

    /// The traffic file `costd model --traffic` reads: a scenario's
    /// `[network]` volumes with where they were measured.
    pub fn to_toml(&self, source: &str) -> String {
        let mut out = String::new();
        out.push_str("# Measured by `costd traffic` from VPC Flow Logs; GB are 2^30 bytes per month of\n");
        out.push_str(&format!(
            "# {} hours, scaled from {} hours of records ({} to {}).\n",
            self.hours_per_month.normalize(),
            self.period_hours.normalize(),
            self.from.to_rfc3339(),
            self.to.to_rfc3339()
        ));
        for n in &self.notes {
            out.push_str(&format!("# Note: {n}\n"));
        }
        out.push_str("[network]\n");
        out.push_str(&format!(
            "internet_egress_gb_per_month = {}\n",
            self.internet_egress_gb_per_month.normalize()
        ));
        if self.cross_az.measured {
            out.push_str(&format!(
                "cross_az_gb_per_month = {}\n",
                self.cross_az.gb_per_month.normalize()
            ));
        }
        out.push_str("\n[network.traffic_gb_per_month]\n");
        if !self.traffic_gb_per_month.contains_key("internet") {
            out.push_str("internet = 0\n");
        }
        for (k, gb) in &self.traffic_gb_per_month {
            let key = if k.contains('.') { format!("\"{k}\"") } else { k.clone() };
            out.push_str(&format!("{key} = {}\n", gb.normalize()));
        }
        out.push_str("\n[network.measured]\n");
        out.push_str(&format!("source = {}\n", crate::input::quote(source)));
        out.push_str(&format!("from = \"{}\"\n", self.from.to_rfc3339()));
        out.push_str(&format!("to = \"{}\"\n", self.to.to_rfc3339()));
        out.push_str(&format!("records = {}\n", self.counts.attributed));
        out
    }
}

#[cfg(test)]
mod tests;
