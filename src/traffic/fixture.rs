//! Generated flow logs and ip-ranges files for benchmarks (`examples/flowgen`,
//! the `traffic` criterion bench): a busy VPC's mix of records in the
//! custom format with every field costd reads, against an ip-ranges file the
//! size of AWS's (12,500 prefixes by default, nested three deep). Deterministic per seed.

use std::fmt::Write as _;

/// The header of generated files.
pub const HEADER: &str = "version account-id interface-id az-id srcaddr dstaddr pkt-srcaddr pkt-dstaddr packets bytes start end action log-status flow-direction traffic-path";

/// A small xorshift generator.
#[derive(Debug, Clone)]
pub struct Rng(pub u64);

impl Rng {
    /// The next number.
    pub fn step(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// An ip-ranges.json with `blocks` /16 AMAZON blocks in ap-southeast-1,
/// each with an S3 or EC2 /20 inside and an EC2 /24 inside that (three
/// prefixes per block, one of them listed twice), plus IPv6.
pub fn ip_ranges(blocks: u32) -> String {
    let mut v4 = Vec::new();
    let mut v6 = Vec::new();
    let entry = |p: String, s: &str| {
        format!(
            "{{\"ip_prefix\": \"{p}\", \"region\": \"ap-southeast-1\", \"service\": \"{s}\", \"network_border_group\": \"ap-southeast-1\"}}"
        )
    };
    for i in 0..blocks {
        let (a, b) = (3 + (i / 256) as u8, (i % 256) as u8);
        v4.push(entry(format!("{a}.{b}.0.0/16"), "AMAZON"));
        let inner = if i % 3 == 0 { "S3" } else { "EC2" };
        v4.push(entry(format!("{a}.{b}.16.0/20"), inner));
        v4.push(entry(format!("{a}.{b}.16.0/20"), "AMAZON"));
        v4.push(entry(format!("{a}.{b}.17.0/24"), "EC2"));
        v6.push(format!(
            "{{\"ipv6_prefix\": \"2406:da{:02x}:{:x}::/48\", \"region\": \"ap-southeast-1\", \"service\": \"{}\", \"network_border_group\": \"ap-southeast-1\"}}",
            i / 4096,
            i % 4096,
            if i % 2 == 0 { "S3" } else { "AMAZON" }
        ));
    }
    format!(
        "{{\"syncToken\": \"1\", \"createDate\": \"2026-11-20-00-00-00\", \"prefixes\": [{}], \"ipv6_prefixes\": [{}]}}",
        v4.join(",\n"),
        v6.join(",\n")
    )
}

/// Appends one record to `out`: a mix of AWS-range destinations (40 %),
/// the internet (25 %), in-VPC traffic (25 %) and IPv6 (10 %), in both
/// directions, from two AZs; `i` of `n` spreads the times over a day from `t0`.
pub fn record(rng: &mut Rng, blocks: u32, i: u64, n: u64, t0: i64, out: &mut String) {
    let r = rng.step();
    let az = 1 + (r & 1);
    let local = format!("10.0.{az}.{}", (r >> 8) % 250 + 1);
    let start = t0 + (i * 86_340 / n.max(1)) as i64;
    let bytes = 40 + (r >> 16) % 2_000_000;
    let kind = (r >> 40) % 20;
    let block = ((r >> 24) % u64::from(blocks.max(1))) as u32;
    let (a, b) = (3 + (block / 256) as u8, (block % 256) as u8);
    let (remote, path) = match kind {
        0..=7 => (format!("{a}.{b}.{}.{}", (r >> 48) % 32, (r >> 56) % 256), 7),
        8..=12 => (
            format!("93.{}.{}.{}", (r >> 48) % 256, (r >> 32) % 256, (r >> 56) % 256),
            8,
        ),
        13..=17 => (format!("10.0.{}.{}", 1 + ((r >> 48) & 1), (r >> 50) % 250 + 1), 1),
        _ => (
            format!(
                "2406:da{:02x}:{:x}::{:x}",
                block / 4096,
                block % 4096,
                (r >> 48) % 65536
            ),
            7,
        ),
    };
    let local = if kind >= 18 {
        format!("fd00::{az}:{:x}", (r >> 8) % 250 + 1)
    } else {
        local
    };
    let egress = (r >> 3) & 1 == 0;
    let (src, dst, dir, path) = if egress {
        (local.as_str(), remote.as_str(), "egress", path.to_string())
    } else {
        (remote.as_str(), local.as_str(), "ingress", "-".to_string())
    };
    let _ = writeln!(
        out,
        "5 123456789012 eni-{az:017x} apse1-az{az} {src} {dst} - - {} {bytes} {start} {} ACCEPT OK {dir} {path}",
        bytes / 1000 + 1,
        start + 60
    );
}
