//! AWS's published IP address ranges (`ip-ranges.json`) as a lookup table:
//! an address → the service and region that use it.
//!
//! PURE. Prefixes nest or are disjoint (CIDR), so the table is built once by
//! a sweep into sorted, non-overlapping ranges, each labelled by the most
//! specific prefix that covers it; a lookup is a binary search. Where the
//! file lists the same prefix under several services, AMAZON (every range)
//! yields to EC2, and EC2 to any other service: AWS documents that a range
//! listed under both S3 and EC2 is used by S3 only.

use std::net::IpAddr;

use serde::Deserialize;

/// The largest ip-ranges file read (AWS's is about 2 MB).
pub const MAX_BYTES: usize = 32 * 1024 * 1024;
/// The most prefixes read (AWS's file has about 10,000).
pub const MAX_PREFIXES: usize = 200_000;

/// Where AWS publishes the file.
pub const URL: &str = "https://ip-ranges.amazonaws.com/ip-ranges.json";

/// What an AWS address is used by.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Owner {
    /// The service code, e.g. `S3`, `DYNAMODB`, `EC2`, `AMAZON`.
    pub service: String,
    /// The region, or `GLOBAL`.
    pub region: String,
}

/// The lookup table.
#[derive(Debug, Clone, Default)]
pub struct IpRanges {
    /// Sorted, non-overlapping `[start, end]` ranges (IPv4 as IPv4-mapped IPv6).
    starts: Vec<u128>,
    ends: Vec<u128>,
    labels: Vec<u32>,
    owners: Vec<Owner>,
    /// For each IPv4 /16 (and one past the last), the first range starting
    /// in it or after: an IPv4 lookup searches only its /16's ranges.
    v4_first: Vec<u32>,
    /// `createDate` of the file.
    pub create_date: String,
    /// Prefixes read.
    pub prefixes: usize,
}

#[derive(Deserialize)]
struct File {
    #[serde(rename = "createDate", default)]
    create_date: String,
    #[serde(default)]
    prefixes: Vec<V4>,
    #[serde(default)]
    ipv6_prefixes: Vec<V6>,
}

#[derive(Deserialize)]
struct V4 {
    ip_prefix: String,
    region: String,
    service: String,
}

#[derive(Deserialize)]
struct V6 {
    ipv6_prefix: String,
    region: String,
    service: String,
}

/// `::ffff:0.0.0.0`, where IPv4 addresses are mapped.
const V4_MAPPED: u128 = 0xffff_0000_0000;

/// An address as a 128-bit number (IPv4 mapped into `::ffff:0:0/96`).
pub fn key(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(v4.to_ipv6_mapped()),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

/// A CIDR block as an inclusive range of [`key`]s, with its prefix length on
/// the 128-bit scale.
pub fn cidr(text: &str) -> Result<(u128, u128, u8), String> {
    let (addr, len) = text
        .split_once('/')
        .ok_or_else(|| format!("`{text}` is not a CIDR block such as 10.0.0.0/16"))?;
    let ip: IpAddr = addr
        .parse()
        .map_err(|_| format!("`{addr}` in `{text}` is not an IP address"))?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let len: u8 = len
        .parse()
        .ok()
        .filter(|l| *l <= max)
        .ok_or_else(|| format!("`{text}`: the prefix length must be 0 to {max}"))?;
    let len = if ip.is_ipv4() { len + 96 } else { len };
    let host_bits = 128 - u32::from(len);
    let mask = if host_bits == 128 {
        u128::MAX
    } else {
        (1u128 << host_bits) - 1
    };
    let start = key(ip) & !mask;
    Ok((start, start | mask, len))
}

/// Which of two services listing the same prefix uses it (higher wins).
fn rank(service: &str) -> u8 {
    match service {
        "AMAZON" => 0,
        "EC2" => 1,
        _ => 2,
    }
}

impl IpRanges {
    /// Parses `ip-ranges.json`; `file` names it in errors.
    pub fn parse(file: &str, text: &str) -> Result<Self, String> {
        if text.len() > MAX_BYTES {
            return Err(format!(
                "{file}: {} bytes; an ip-ranges file is read up to {MAX_BYTES}",
                text.len()
            ));
        }
        let parsed: File = serde_json::from_str(text).map_err(|e| {
            format!("{file}:{}: not AWS's ip-ranges.json ({e}); expected {{\"prefixes\": [{{\"ip_prefix\", \"region\", \"service\"}}], \"ipv6_prefixes\": […]}}", e.line())
        })?;
        let count = parsed.prefixes.len() + parsed.ipv6_prefixes.len();
        if count > MAX_PREFIXES {
            return Err(format!("{file}: {count} prefixes; at most {MAX_PREFIXES} are read"));
        }
        if count == 0 {
            return Err(format!("{file}: no prefixes"));
        }
        let entries = parsed
            .prefixes
            .into_iter()
            .map(|p| (p.ip_prefix, p.service, p.region))
            .chain(
                parsed
                    .ipv6_prefixes
                    .into_iter()
                    .map(|p| (p.ipv6_prefix, p.service, p.region)),
            );
        let mut prefixes = Vec::with_capacity(count);
        for (text, service, region) in entries {
            let (start, end, len) = cidr(&text).map_err(|e| format!("{file}: {e}"))?;
            prefixes.push((start, end, len, Owner { service, region }));
        }
        let mut table = Self::build(prefixes);
        table.create_date = parsed.create_date;
        table.prefixes = count;
        Ok(table)
    }

    /// Builds the table from `(start, end, prefix length, owner)`.
    fn build(mut prefixes: Vec<(u128, u128, u8, Owner)>) -> Self {
        // One owner per distinct prefix.
        prefixes.sort_by(|a, b| {
            (a.0, a.1)
                .cmp(&(b.0, b.1))
                .then(rank(&b.3.service).cmp(&rank(&a.3.service)))
                .then(a.3.cmp(&b.3))
        });
        prefixes.dedup_by(|later, kept| later.0 == kept.0 && later.1 == kept.1);
        let mut owners: Vec<Owner> = prefixes.iter().map(|p| p.3.clone()).collect();
        owners.sort();
        owners.dedup();
        let label = |o: &Owner| owners.binary_search(o).expect("interned") as u32;
        // Outer prefixes before the ones they contain.
        prefixes.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
        let mut t = Self::default();
        let mut stack: Vec<(u128, u32)> = Vec::new(); // (end, label) of open prefixes
        let mut cursor: Option<u128> = None; // the first address not yet emitted
        for (start, end, _, owner) in &prefixes {
            // Close the prefixes that end before this one starts.
            while let Some(&(top_end, top_label)) = stack.last() {
                if top_end >= *start {
                    break;
                }
                t.emit(&mut cursor, top_end, top_label);
                stack.pop();
            }
            // The enclosing prefix (if any) owns the addresses up to this one.
            if let Some(&(_, top_label)) = stack.last()
                && *start > 0
            {
                t.emit(&mut cursor, start - 1, top_label);
            }
            cursor = Some(*start);
            stack.push((*end, label(owner)));
        }
        while let Some((top_end, top_label)) = stack.pop() {
            t.emit(&mut cursor, top_end, top_label);
        }
        t.owners = owners;
        t.v4_first = (0..=1u128 << 16)
            .map(|b| t.starts.partition_point(|s| *s < V4_MAPPED + (b << 16)) as u32)
            .collect();
        t
    }

    /// Emits `[cursor, end]` for `label` and moves the cursor past it.
    fn emit(&mut self, cursor: &mut Option<u128>, end: u128, label: u32) {
        let Some(from) = *cursor else { return };
        if from > end {
            return;
        }
        if let (Some(last_end), Some(last_label)) = (self.ends.last_mut(), self.labels.last())
            && *last_label == label
            && last_end.checked_add(1) == Some(from)
        {
            *last_end = end;
        } else {
            self.starts.push(from);
            self.ends.push(end);
            self.labels.push(label);
        }
        *cursor = end.checked_add(1);
    }

    /// The owner of `ip`'s most specific prefix, as an index into [`Self::owners`].
    pub fn lookup_key(&self, k: u128) -> Option<u32> {
        // The ranges that can hold k: for IPv4, those starting in its /16 and
        // the one before them (it may reach into the /16); else all.
        let (lo, hi) = match (k >> 32 == V4_MAPPED >> 32, self.v4_first.len()) {
            (true, 65_537) => {
                let b = ((k >> 16) & 0xffff) as usize;
                (self.v4_first[b] as usize, self.v4_first[b + 1] as usize)
            }
            _ => (0, self.starts.len()),
        };
        let i = lo + self.starts[lo..hi].partition_point(|s| *s <= k);
        (i > 0 && self.ends[i - 1] >= k).then(|| self.labels[i - 1])
    }

    /// The owner of `ip`, if it is an AWS address.
    pub fn lookup(&self, ip: IpAddr) -> Option<&Owner> {
        self.lookup_key(key(ip)).map(|l| &self.owners[l as usize])
    }

    /// Every owner, indexed as [`Self::lookup_key`] answers.
    pub fn owners(&self) -> &[Owner] {
        &self.owners
    }

    /// How many non-overlapping ranges the table holds.
    pub fn ranges(&self) -> usize {
        self.starts.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small file with the overlaps AWS's has: AMAZON over everything, a
    /// prefix listed under both S3 and EC2 (and AMAZON), a more specific
    /// S3 prefix inside an AMAZON one, an EC2 prefix inside that, and IPv6.
    pub(crate) const FIXTURE: &str = include_str!("../../tests/fixtures/traffic/ip-ranges.json");

    fn owner(t: &IpRanges, ip: &str) -> Option<(String, String)> {
        t.lookup(ip.parse().unwrap())
            .map(|o| (o.service.clone(), o.region.clone()))
    }

    fn o(service: &str, region: &str) -> Option<(String, String)> {
        Some((service.into(), region.into()))
    }

    #[test]
    fn the_most_specific_prefix_wins_and_a_shared_prefix_goes_to_the_specific_service() {
        let t = IpRanges::parse("ip-ranges.json", FIXTURE).unwrap();
        assert_eq!(t.create_date, "2026-11-20-01-02-03");
        assert_eq!(t.prefixes, 14);
        let aps = "ap-southeast-1";
        // In the /16 but outside the /20: AMAZON.
        assert_eq!(owner(&t, "52.219.0.1"), o("AMAZON", aps));
        assert_eq!(owner(&t, "52.219.127.255"), o("AMAZON", aps));
        // The /20 is listed under S3, EC2 and AMAZON: S3 uses it.
        assert_eq!(owner(&t, "52.219.128.0"), o("S3", aps));
        assert_eq!(owner(&t, "52.219.129.255"), o("S3", aps));
        // The /24 inside it is EC2's: more specific wins.
        assert_eq!(owner(&t, "52.219.130.0"), o("EC2", aps));
        assert_eq!(owner(&t, "52.219.130.255"), o("EC2", aps));
        // After the /24, back to S3 until the /20 ends, then AMAZON again.
        assert_eq!(owner(&t, "52.219.131.0"), o("S3", aps));
        assert_eq!(owner(&t, "52.219.143.255"), o("S3", aps));
        assert_eq!(owner(&t, "52.219.144.0"), o("AMAZON", aps));
        assert_eq!(owner(&t, "52.219.255.255"), o("AMAZON", aps));
        assert_eq!(owner(&t, "52.220.0.0"), None);
        // EC2 and AMAZON on the same /15: EC2.
        assert_eq!(owner(&t, "13.251.255.255"), o("EC2", aps));
        assert_eq!(owner(&t, "52.94.3.255"), o("DYNAMODB", aps));
        assert_eq!(owner(&t, "52.94.4.0"), None);
        assert_eq!(owner(&t, "3.5.31.255"), o("S3", "us-east-1"));
        // The ends of the address spaces.
        assert_eq!(owner(&t, "0.0.0.0"), o("AMAZON", "GLOBAL"));
        assert_eq!(owner(&t, "0.0.0.1"), None);
        assert_eq!(owner(&t, "255.255.255.255"), o("AMAZON", "GLOBAL"));
        assert_eq!(
            owner(&t, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
            o("AMAZON", "GLOBAL")
        );
        // IPv6, nested.
        assert_eq!(owner(&t, "2406:da18:7fff::1"), o("AMAZON", aps));
        assert_eq!(owner(&t, "2406:da18:80ab::1"), o("S3", aps));
        assert_eq!(owner(&t, "2406:da18:8100::"), o("AMAZON", aps));
        assert_eq!(owner(&t, "2406:da19::"), None);
        // An IPv4 address never matches an IPv6 prefix that is not mapped.
        assert_eq!(owner(&t, "10.0.0.1"), None);
    }

    /// The sweep agrees with the definition (longest covering prefix, then
    /// rank) at every edge of every prefix, on random nested prefixes.
    #[test]
    fn the_sweep_agrees_with_a_linear_scan() {
        let services = ["AMAZON", "EC2", "S3", "DYNAMODB"];
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..50 {
            let mut prefixes = Vec::new();
            for _ in 0..40 {
                let len = 96 + 8 + (next() % 17) as u8;
                let base = u128::from(
                    std::net::Ipv4Addr::new(10, (next() % 4) as u8, (next() % 256) as u8, 0).to_ipv6_mapped(),
                );
                let host = 128 - u32::from(len);
                let mask = (1u128 << host) - 1;
                let start = base & !mask;
                let service = services[(next() % 4) as usize].to_string();
                prefixes.push((
                    start,
                    start | mask,
                    len,
                    Owner {
                        service,
                        region: "r".into(),
                    },
                ));
            }
            let table = IpRanges::build(prefixes.clone());
            let linear = |k: u128| {
                prefixes
                    .iter()
                    .filter(|p| p.0 <= k && k <= p.1)
                    .max_by(|a, b| {
                        a.2.cmp(&b.2)
                            .then(rank(&a.3.service).cmp(&rank(&b.3.service)))
                            .then(b.3.cmp(&a.3))
                    })
                    .map(|p| p.3.clone())
            };
            for p in &prefixes {
                for k in [p.0.wrapping_sub(1), p.0, p.0 + 1, p.1 - 1, p.1, p.1 + 1] {
                    let got = table.lookup_key(k).map(|l| table.owners[l as usize].clone());
                    assert_eq!(got, linear(k), "at {k:x}");
                }
            }
        }
    }

    #[test]
    fn bad_files_are_refused_naming_what_is_wrong() {
        let e = IpRanges::parse(
            "r.json",
            "{\"prefixes\": [{\"ip_prefix\": \"1.2.3.0/33\", \"region\": \"x\", \"service\": \"S3\"}]}",
        )
        .unwrap_err();
        assert!(
            e.contains("r.json: `1.2.3.0/33`: the prefix length must be 0 to 32"),
            "{e}"
        );
        let e = IpRanges::parse("r.json", "{\"prefixes\": [{\"ip_prefix\": \"1.2.3.0\"}]}").unwrap_err();
        assert!(e.contains("r.json:1: not AWS's ip-ranges.json"), "{e}");
        let e = IpRanges::parse("r.json", "{\"prefixes\": []}").unwrap_err();
        assert!(e.contains("no prefixes"), "{e}");
        let big = " ".repeat(MAX_BYTES + 1);
        assert!(IpRanges::parse("r.json", &big).unwrap_err().contains("read up to"));
        let one = "{\"ip_prefix\": \"1.2.3.0/24\", \"region\": \"x\", \"service\": \"S3\"}";
        let too_many = format!("{{\"prefixes\": [{}]}}", vec![one; MAX_PREFIXES + 1].join(","));
        assert!(
            IpRanges::parse("r.json", &too_many)
                .unwrap_err()
                .contains("at most 200000")
        );
        let at_most = format!("{{\"prefixes\": [{}]}}", vec![one; MAX_PREFIXES].join(","));
        assert_eq!(IpRanges::parse("r.json", &at_most).unwrap().ranges(), 1);
    }
}
