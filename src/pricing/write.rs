//! Writes a [`PriceTable`] back as `pricing/<region>.toml`, in the shipped
//! layout; [`PriceTable::parse`] reads it back to the same table.

use std::fmt::Write;

use super::{PriceTable, Rate, TieredRate};

fn quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

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
        o.trim_end().to_string() + "\n"
    }
}

#[cfg(test)]
mod tests {
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
