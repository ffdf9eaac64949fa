//! Writes generated VPC Flow Logs and an ip-ranges file about the size of AWS's,
//! for the traffic benchmark (`bash tests/proof.sh traffic`):
//!
//! ```text
//! cargo run --release --example flowgen -- --records 10000000 --out /tmp/flows.log --ip-ranges /tmp/ip-ranges.json
//! ```
//!
//! See `costd::traffic::fixture` for the mix of records.

use std::io::Write;

use costd::traffic::fixture::{HEADER, Rng, ip_ranges, record};

const USAGE: &str = "usage: flowgen --records N --out FILE --ip-ranges FILE [--blocks 2500] [--seed 1]";
/// The most records generated (about 130 GB of text).
const MAX_RECORDS: u64 = 1_000_000_000;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let get = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let num = |name: &str, default: Option<u64>| -> u64 {
        match get(name) {
            Some(v) => v.parse().unwrap_or_else(|_| panic!("{name}: a whole number; {USAGE}")),
            None => default.unwrap_or_else(|| panic!("{name} is needed; {USAGE}")),
        }
    };
    let records = num("--records", None);
    assert!(records <= MAX_RECORDS, "--records: at most {MAX_RECORDS}");
    let blocks = num("--blocks", Some(2500)) as u32;
    assert!((1..=65_536).contains(&blocks), "--blocks: 1 to 65536");
    let seed = num("--seed", Some(1)).max(1);
    let out = get("--out").unwrap_or_else(|| panic!("--out is needed; {USAGE}"));
    let ranges = get("--ip-ranges").unwrap_or_else(|| panic!("--ip-ranges is needed; {USAGE}"));
    std::fs::write(&ranges, ip_ranges(blocks)).expect("write ip-ranges");
    let mut w = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&out).expect("create --out"));
    writeln!(w, "{HEADER}").unwrap();
    let mut rng = Rng(seed);
    let mut line = String::with_capacity(256);
    for i in 0..records {
        line.clear();
        record(&mut rng, blocks, i, records, 1_795_132_800, &mut line);
        w.write_all(line.as_bytes()).unwrap();
    }
    w.flush().unwrap();
    eprintln!(
        "wrote {records} records to {out} and {} prefixes blocks to {ranges}",
        blocks
    );
}
