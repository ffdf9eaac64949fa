//! Writes a [`PriceTable`] back as `pricing/<region>.toml`, in the shipped
//! layout; [`PriceTable::parse`] reads it back to the same table.

use std::fmt::Write;

use super::{PriceTable, Rate, TieredRate};

use crate::input::quote;

fn rate(out: &mut String, header: &str, r: &Rate, up_to: Option<&rust_decimal::Decimal>) {
    let _ = writeln!(out, "{header}");
    if let Some(u) = up_to {
        let _ = writeln!(out, "up_to_gb = {}", u.normalize());
    }
    let _ = writeln!(out, "usd = {}", quote(&r.usd.normalize().to_string()));
    let _ = writeln!(out, "unit = {}", quote(r.unit.as_str()));
    let _ = writeln!(out, "usage_type = {}", quote(&r.usage_type));
    let _ = writeln!(out, "source = {}", quote(&r.source));
    let _ = writeln!(
        out,
        "effective_date = {}\n",
        quote(&r.effective_date.format("%Y-%m-%d").to_string())
    );
}

fn tiers(out: &mut String, key: &str, t: &TieredRate) {
    for tier in &t.tiers {
        rate(out, &format!("[[{key}]]"), &tier.rate, tier.up_to_gb.as_ref());
    }
}

impl PriceTable {
    /// The table as TOML, in the shipped layout.
    pub fn to_toml(&self) -> String {
        let mut o = String::new();
        let _ = writeln!(
            o,
            "# Price table for {r}. Every rate: USD per unit, the AWS usage type it is\n# billed under, where it was taken and when. Written by `costd pricing`.\nregion = {q}\ncurrency = \"USD\"\n",
            r = self.region,
            q = quote(&self.region)
        );
        rate(&mut o, "[nat_gateway.hour]", &self.nat_gateway.hour, None);
        rate(
            &mut o,
            "[nat_gateway.processed_gb]",
            &self.nat_gateway.processed_gb,
            None,
        );
        rate(
            &mut o,
            "[interface_endpoint.az_hour]",
            &self.interface_endpoint.az_hour,
            None,
        );
        tiers(
            &mut o,
            "interface_endpoint.processed_gb",
            &self.interface_endpoint.processed_gb,
        );
        rate(&mut o, "[alb.hour]", &self.alb.hour, None);
        rate(&mut o, "[alb.lcu_hour]", &self.alb.lcu_hour, None);
        rate(&mut o, "[nlb.hour]", &self.nlb.hour, None);
        rate(&mut o, "[nlb.nlcu_hour]", &self.nlb.nlcu_hour, None);
        rate(
            &mut o,
            "[public_ipv4.address_hour]",
            &self.public_ipv4.address_hour,
            None,
        );
        rate(
            &mut o,
            "[data_transfer.cross_az_gb]",
            &self.data_transfer.cross_az_gb,
            None,
        );
        tiers(
            &mut o,
            "data_transfer.internet_egress_gb",
            &self.data_transfer.internet_egress_gb,
        );
        rate(&mut o, "[cloudwatch.metric_month]", &self.cloudwatch.metric_month, None);
        rate(&mut o, "[cloudwatch.alarm_month]", &self.cloudwatch.alarm_month, None);
        rate(&mut o, "[cloudwatch.requests_1k]", &self.cloudwatch.requests_1k, None);
        rate(
            &mut o,
            "[cloudwatch.get_metric_data_1k_metrics]",
            &self.cloudwatch.get_metric_data_1k_metrics,
            None,
        );
        if let Some(r) = &self.route53 {
            rate(&mut o, "[route53.hosted_zone_month]", &r.hosted_zone_month, None);
            rate(&mut o, "[route53.alias_query_million]", &r.alias_query_million, None);
        }
        o.trim_end().to_string() + "\n"
    }
}

/// Writes `text` to `path` so that a reader (or a crash) sees either the
/// old file or the new one, never half of one: a temporary file beside it,
/// flushed to disk, renamed over the old one, and the directory flushed.
pub fn write_atomically(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => std::path::Path::new("."),
    };
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("table");
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        std::fs::File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_price_table_is_replaced_whole_or_not_at_all() {
        use std::io::Read;
        let dir = std::env::temp_dir().join(format!("costd-atomic-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("us-east-1.toml");
        std::fs::write(&path, "old table").unwrap();
        // A reader that opened the old file keeps reading the old file: the new one
        // arrived by rename, not by truncating and rewriting in place.
        let mut reader = std::fs::File::open(&path).unwrap();
        super::write_atomically(&path, "new table").unwrap();
        let mut old = String::new();
        reader.read_to_string(&mut old).unwrap();
        assert_eq!(old, "old table");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new table");
        let leftovers: Vec<_> = std::fs::read_dir(&dir).unwrap().filter_map(Result::ok).collect();
        assert_eq!(leftovers.len(), 1, "no temporary file left behind");
        // A failed write (the target is a directory) leaves nothing behind either.
        let sub = dir.join("sub.toml");
        std::fs::create_dir_all(sub.join("x")).unwrap();
        assert!(super::write_atomically(&sub, "x").is_err());
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 2);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    use crate::pricing::PriceTable;
    use crate::pricing::load::PriceBook;

    #[test]
    fn every_shipped_table_round_trips() {
        let book = PriceBook::embedded().unwrap();
        for region in book.regions() {
            let t = book.get(region).unwrap();
            let again = PriceTable::parse("written", &t.to_toml()).unwrap();
            assert_eq!(&again, t, "{region}");
        }
    }
}
