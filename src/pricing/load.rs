//! Where price tables come from: the tables embedded in the binary (copies of
//! `pricing/*.toml` at build time) or a directory given at run time.

use std::collections::BTreeMap;
use std::path::Path;

use super::PriceTable;
use crate::input::InputError;

/// The shipped tables, embedded so that costd runs with no files around it.
pub const EMBEDDED: &[(&str, &str)] = &[
    ("ap-southeast-1", include_str!("../../pricing/ap-southeast-1.toml")),
    ("eu-west-1", include_str!("../../pricing/eu-west-1.toml")),
    ("us-east-1", include_str!("../../pricing/us-east-1.toml")),
    ("us-west-2", include_str!("../../pricing/us-west-2.toml")),
];

/// Price tables by region.
#[derive(Debug, Clone, Default)]
pub struct PriceBook {
    tables: BTreeMap<String, PriceTable>,
}

impl PriceBook {
    /// The tables embedded in the binary.
    pub fn embedded() -> Result<Self, InputError> {
        let mut book = PriceBook::default();
        for (region, src) in EMBEDDED {
            book.insert(&format!("<embedded>/pricing/{region}.toml"), region, src)?;
        }
        Ok(book)
    }

    /// Every `<region>.toml` in `dir`; the file name must match its `region`.
    pub fn from_dir(dir: &Path) -> Result<Self, InputError> {
        let unreadable = |e: std::io::Error| InputError {
            file: dir.display().to_string(),
            line: 0,
            key: String::new(),
            message: format!("cannot read the price table directory: {e}"),
        };
        let mut paths: Vec<_> = std::fs::read_dir(dir)
            .map_err(unreadable)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        paths.sort();
        let mut book = PriceBook::default();
        for path in paths {
            let file = path.display().to_string();
            let src = std::fs::read_to_string(&path).map_err(|e| InputError {
                file: file.clone(),
                line: 0,
                key: String::new(),
                message: format!("cannot read: {e}"),
            })?;
            let stem = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default()
                .to_string();
            book.insert(&file, &stem, &src)?;
        }
        if book.tables.is_empty() {
            return Err(InputError {
                file: dir.display().to_string(),
                line: 0,
                key: String::new(),
                message: "no <region>.toml price tables in this directory".into(),
            });
        }
        Ok(book)
    }

    fn insert(&mut self, file: &str, stem: &str, src: &str) -> Result<(), InputError> {
        let table = PriceTable::parse(file, src)?;
        if table.region != stem {
            return Err(InputError {
                file: file.to_string(),
                line: 0,
                key: "region".into(),
                message: format!("the file is named for `{stem}` but says region = \"{}\"", table.region),
            });
        }
        self.tables.insert(table.region.clone(), table);
        Ok(())
    }

    /// Puts `table` in place of its region's table.
    pub fn replace(&mut self, table: PriceTable) {
        self.tables.insert(table.region.clone(), table);
    }

    /// The table for `region`, if there is one.
    pub fn get(&self, region: &str) -> Option<&PriceTable> {
        self.tables.get(region)
    }

    /// Regions with a table, sorted.
    pub fn regions(&self) -> Vec<&str> {
        self.tables.keys().map(String::as_str).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_table_parses_and_matches_its_file_name() {
        let book = PriceBook::embedded().unwrap();
        assert_eq!(
            book.regions(),
            ["ap-southeast-1", "eu-west-1", "us-east-1", "us-west-2"]
        );
    }

    #[test]
    fn the_pricing_directory_matches_the_embedded_copies() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("pricing");
        let from_disk = PriceBook::from_dir(&dir).unwrap();
        let embedded = PriceBook::embedded().unwrap();
        for region in embedded.regions() {
            assert_eq!(from_disk.get(region), embedded.get(region), "{region}");
        }
    }

    #[test]
    fn a_file_named_for_another_region_is_rejected() {
        let dir = std::env::temp_dir().join(format!("costd-pricing-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("eu-west-1.toml"), EMBEDDED[0].1).unwrap();
        let e = PriceBook::from_dir(&dir).unwrap_err();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(e.key, "region");
        assert!(e.message.contains("named for `eu-west-1`"), "{e}");
    }
}
