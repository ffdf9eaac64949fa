//! `costd pricing refresh` against a local server in the Price List Query
//! API's protocol (JSON 1.1, `X-Amz-Target: AWSPriceListService.GetProducts`,
//! `PriceList` of JSON strings, `NextToken` paging), and `costd pricing
//! import` from bulk offer files. No emulator implements the Pricing API.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use costd::pricing::load::PriceBook;
use costd::pricing::{PriceTable, Rate, TieredRate};
use serde_json::{Value, json};

use crate::helpers::{TempDir, costd, repo};

/// A product in the exact shape `GetProducts` returns (before JSON-string encoding).
fn product(
    sku: &str,
    family: &str,
    service: &str,
    attrs: &[(&str, &str)],
    dims: &[(String, &str, Option<String>, &str)],
) -> Value {
    let mut attributes = serde_json::Map::new();
    attributes.insert("servicecode".into(), json!(service));
    for (k, v) in attrs {
        attributes.insert((*k).into(), json!(v));
    }
    let mut price_dimensions = serde_json::Map::new();
    for (i, (usd, begin, end, unit)) in dims.iter().enumerate() {
        price_dimensions.insert(
            format!("{sku}.JRTCKXETXF.{i}"),
            json!({
                "unit": unit, "description": format!("{usd} per {unit}"),
                "beginRange": begin, "endRange": end.clone().unwrap_or_else(|| "Inf".into()),
                "pricePerUnit": {"USD": usd}, "appliesTo": [], "rateCode": format!("{sku}.JRTCKXETXF.{i}")
            }),
        );
    }
    json!({
        "product": {"productFamily": family, "sku": sku, "attributes": attributes},
        "serviceCode": service,
        "terms": {"OnDemand": {format!("{sku}.JRTCKXETXF"): {
            "offerTermCode": "JRTCKXETXF", "sku": sku, "effectiveDate": "2026-11-01T00:00:00Z",
            "priceDimensions": price_dimensions, "termAttributes": {}
        }}},
        "version": "20261101000000", "publicationDate": "2026-11-01T00:00:00Z"
    })
}

/// Price List products for every rate of `t`, plus decoys that must not be picked.
fn products_for(t: &PriceTable) -> Vec<Value> {
    let r = t.region.as_str();
    let usd = |x: &Rate| format!("{:.10}", x.usd);
    let one = |x: &Rate, unit: &'static str| vec![(usd(x), "0", None, unit)];
    let tiers = |tr: &TieredRate| {
        tr.tiers
            .iter()
            .filter(|tier| !tier.rate.usd.is_zero())
            .scan("0".to_string(), |begin, tier| {
                let b = begin.clone();
                *begin = tier.up_to_gb.map(|u| u.to_string()).unwrap_or_default();
                Some((
                    usd(&tier.rate),
                    Box::leak(b.into_boxed_str()) as &str,
                    tier.up_to_gb.map(|u| u.to_string()),
                    "GB",
                ))
            })
            .collect::<Vec<_>>()
    };
    let ut = |x: &Rate| Box::leak(x.usage_type.clone().into_boxed_str()) as &str;
    let mut v = vec![
        product(
            "NAT1",
            "NAT Gateway",
            "AmazonEC2",
            &[("regionCode", r), ("usagetype", ut(&t.nat_gateway.hour))],
            &one(&t.nat_gateway.hour, "Hrs"),
        ),
        product(
            "NAT2",
            "NAT Gateway",
            "AmazonEC2",
            &[("regionCode", r), ("usagetype", ut(&t.nat_gateway.processed_gb))],
            &one(&t.nat_gateway.processed_gb, "GB"),
        ),
        product(
            "VPCE1",
            "VpcEndpoint",
            "AmazonVPC",
            &[("regionCode", r), ("usagetype", ut(&t.interface_endpoint.az_hour))],
            &one(&t.interface_endpoint.az_hour, "Hrs"),
        ),
        product(
            "VPCE2",
            "VpcEndpoint",
            "AmazonVPC",
            &[
                ("regionCode", r),
                ("usagetype", ut(&t.interface_endpoint.processed_gb.tiers[0].rate)),
            ],
            &tiers(&t.interface_endpoint.processed_gb),
        ),
        product(
            "ALB1",
            "Load Balancer-Application",
            "AWSELB",
            &[
                ("regionCode", r),
                ("operation", "LoadBalancing:Application"),
                ("usagetype", ut(&t.alb.hour)),
            ],
            &one(&t.alb.hour, "Hrs"),
        ),
        product(
            "ALB2",
            "Load Balancer-Application",
            "AWSELB",
            &[
                ("regionCode", r),
                ("operation", "LoadBalancing:Application"),
                ("usagetype", ut(&t.alb.lcu_hour)),
            ],
            &one(&t.alb.lcu_hour, "LCU-Hrs"),
        ),
        product(
            "NLB1",
            "Load Balancer-Network",
            "AWSELB",
            &[
                ("regionCode", r),
                ("operation", "LoadBalancing:Net"),
                ("usagetype", ut(&t.nlb.hour)),
            ],
            &one(&t.nlb.hour, "Hrs"),
        ),
        product(
            "NLB2",
            "Load Balancer-Network",
            "AWSELB",
            &[
                ("regionCode", r),
                ("operation", "LoadBalancing:Net"),
                ("usagetype", ut(&t.nlb.nlcu_hour)),
            ],
            &one(&t.nlb.nlcu_hour, "NLCU-Hrs"),
        ),
        product(
            "IP1",
            "IP Address",
            "AmazonVPC",
            &[("regionCode", r), ("usagetype", ut(&t.public_ipv4.address_hour))],
            &one(&t.public_ipv4.address_hour, "Hrs"),
        ),
        product(
            "DT1",
            "Data Transfer",
            "AWSDataTransfer",
            &[
                ("fromRegionCode", r),
                ("toRegionCode", r),
                ("usagetype", ut(&t.data_transfer.cross_az_gb)),
            ],
            &one(&t.data_transfer.cross_az_gb, "GB"),
        ),
        product(
            "DT2",
            "Data Transfer",
            "AWSDataTransfer",
            &[
                ("fromRegionCode", r),
                ("usagetype", ut(&t.data_transfer.internet_egress_gb.tiers[1].rate)),
            ],
            &tiers(&t.data_transfer.internet_egress_gb),
        ),
        product(
            "CW1",
            "Metric",
            "AmazonCloudWatch",
            &[("regionCode", r), ("usagetype", ut(&t.cloudwatch.metric_month))],
            &one(&t.cloudwatch.metric_month, "Metrics"),
        ),
        product(
            "CW2",
            "Alarm",
            "AmazonCloudWatch",
            &[("regionCode", r), ("usagetype", ut(&t.cloudwatch.alarm_month))],
            &one(&t.cloudwatch.alarm_month, "Alarms"),
        ),
        product(
            "CW3",
            "API Request",
            "AmazonCloudWatch",
            &[("regionCode", r), ("usagetype", ut(&t.cloudwatch.requests_1k))],
            &[(
                format!(
                    "{:.10}",
                    t.cloudwatch.requests_1k.usd / rust_decimal::Decimal::from(1000)
                ),
                "0",
                None,
                "Requests",
            )],
        ),
        // GetMetricData is priced per metric requested ($0.00001), costd's rate per 1,000.
        product(
            "CW4",
            "Metric",
            "AmazonCloudWatch",
            &[
                ("regionCode", r),
                ("usagetype", ut(&t.cloudwatch.get_metric_data_1k_metrics)),
            ],
            &[(
                format!(
                    "{:.10}",
                    t.cloudwatch.get_metric_data_1k_metrics.usd / rust_decimal::Decimal::from(1000)
                ),
                "0",
                None,
                "Metrics",
            )],
        ),
        // Decoys: the newer regional NAT gateway, another region's NAT, a GWLB endpoint.
        product(
            "DECOY1",
            "NAT Gateway",
            "AmazonEC2",
            &[
                ("regionCode", r),
                (
                    "usagetype",
                    &*format!(
                        "{}RegionalNatGateway-Hours",
                        costd::pricing::pricelist::usage_prefix(r).unwrap_or("")
                    )
                    .leak(),
                ),
            ],
            &[("0.9".into(), "0", None, "Hrs")],
        ),
        product(
            "DECOY2",
            "NAT Gateway",
            "AmazonEC2",
            &[("regionCode", "sa-east-1"), ("usagetype", "SAE1-NatGateway-Hours")],
            &[("0.093".into(), "0", None, "Hrs")],
        ),
        product(
            "DECOY3",
            "VpcEndpoint",
            "AmazonVPC",
            &[
                ("regionCode", r),
                (
                    "usagetype",
                    &*format!(
                        "{}VpcEndpoint-GWLBE-Hours",
                        costd::pricing::pricelist::usage_prefix(r).unwrap_or("")
                    )
                    .leak(),
                ),
            ],
            &[("0.0123".into(), "0", None, "Hrs")],
        ),
    ];
    v.shrink_to_fit();
    v
}

/// A server answering GetProducts from `products`, two per page.
struct PriceListServer {
    url: String,
    requests: Arc<Mutex<Vec<(String, Value)>>>,
}

fn serve(products: Vec<Value>) -> PriceListServer {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let requests = Arc::new(Mutex::new(Vec::new()));
    let seen = requests.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 8192];
            let (head, body) = loop {
                let n = conn.read(&mut chunk).unwrap_or(0);
                if n == 0 {
                    break (String::new(), String::new());
                }
                buf.extend_from_slice(&chunk[..n]);
                let text = String::from_utf8_lossy(&buf).to_string();
                if let Some((h, b)) = text.split_once("\r\n\r\n") {
                    let len = h
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    if b.len() >= len {
                        break (h.to_string(), b[..len].to_string());
                    }
                }
            };
            let target = head
                .lines()
                .find_map(|l| l.strip_prefix("x-amz-target: ").or(l.strip_prefix("X-Amz-Target: ")))
                .unwrap_or("")
                .to_string();
            let req: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
            seen.lock().unwrap().push((target.clone(), req.clone()));
            let matching: Vec<&Value> = products
                .iter()
                .filter(|p| p["serviceCode"] == req["ServiceCode"])
                .filter(|p| {
                    req["Filters"].as_array().into_iter().flatten().all(|f| {
                        let field = f["Field"].as_str().unwrap_or("");
                        let have = if field == "productFamily" {
                            &p["product"]["productFamily"]
                        } else {
                            &p["product"]["attributes"][field]
                        };
                        have == &f["Value"]
                    })
                })
                .collect();
            let page: usize = req["NextToken"]
                .as_str()
                .and_then(|t| t.strip_prefix("page-"))
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            let slice: Vec<String> = matching.iter().skip(page * 2).take(2).map(|p| p.to_string()).collect();
            let mut resp = json!({"FormatVersion": "aws_v1", "PriceList": slice});
            if (page + 1) * 2 < matching.len() {
                resp["NextToken"] = json!(format!("page-{}", page + 1));
            }
            let (status, body) = if target == "AWSPriceListService.GetProducts" {
                ("200 OK", resp.to_string())
            } else {
                (
                    "400 Bad Request",
                    json!({"__type": "UnknownOperationException"}).to_string(),
                )
            };
            let _ = write!(
                conn,
                "HTTP/1.1 {status}\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    PriceListServer { url, requests }
}

fn run(args: &[&str]) -> (bool, String, String) {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_costd"));
    cmd.args(args)
        .current_dir(repo())
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true");
    let out = cmd.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[test]
fn refresh_of_unchanged_prices_reports_nothing_and_rewrites_an_equal_table() {
    for region in ["us-east-1", "ap-southeast-1"] {
        let shipped = PriceBook::embedded().unwrap().get(region).unwrap().clone();
        let server = serve(products_for(&shipped));
        let dir = TempDir::new(&format!("pricing-same-{region}"));
        std::fs::write(dir.0.join(format!("{region}.toml")), shipped.to_toml()).unwrap();
        let (ok, out, err) = run(&[
            "pricing",
            "refresh",
            "--region",
            region,
            "--endpoint-url",
            &server.url,
            "--pricing-dir",
            dir.0.to_str().unwrap(),
            "--write",
        ]);
        assert!(ok, "{err}");
        assert!(out.contains("no changes against the Price List"), "{out}");
        let written = PriceTable::parse(
            "w",
            &std::fs::read_to_string(dir.0.join(format!("{region}.toml"))).unwrap(),
        )
        .unwrap();
        assert_eq!(written, shipped, "{region}: the rebuilt table is the shipped one");
        // The SDK's real serialization: the operation header and the JSON body.
        let reqs = server.requests.lock().unwrap().clone();
        assert!(reqs.iter().all(|(t, _)| t == "AWSPriceListService.GetProducts"));
        let ec2 = reqs.iter().find(|(_, b)| b["ServiceCode"] == "AmazonEC2").unwrap();
        assert_eq!(ec2.1["FormatVersion"], "aws_v1");
        assert!(
            ec2.1["Filters"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["Type"] == "TERM_MATCH" && f["Field"] == "regionCode" && f["Value"] == region)
        );
        assert!(reqs.iter().any(|(_, b)| b["NextToken"] == "page-1"), "paging followed");
        assert!(
            reqs.iter()
                .any(|(_, b)| b["Filters"].to_string().contains("fromRegionCode")),
            "data transfer by fromRegionCode"
        );
    }
}

#[test]
fn a_changed_price_is_diffed_and_written_and_the_model_uses_it() {
    let region = "ap-southeast-1";
    let shipped = PriceBook::embedded().unwrap().get(region).unwrap().clone();
    let mut changed = shipped.clone();
    changed.interface_endpoint.az_hour.usd = rust_decimal_macros::dec!(0.014);
    let server = serve(products_for(&changed));
    let dir = TempDir::new("pricing-changed");
    for r in PriceBook::embedded().unwrap().regions() {
        std::fs::copy(
            repo().join(format!("pricing/{r}.toml")),
            dir.0.join(format!("{r}.toml")),
        )
        .unwrap();
    }
    let (ok, out, err) = run(&[
        "pricing",
        "refresh",
        "--region",
        region,
        "--endpoint-url",
        &server.url,
        "--pricing-dir",
        dir.0.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    assert!(
        out.contains("1 change(s)")
            && out.contains("interface_endpoint.az_hour")
            && out.contains("0.013")
            && out.contains("0.014")
            && out.contains("VPCE1"),
        "{out}"
    );
    let before = std::fs::read_to_string(dir.0.join(format!("{region}.toml"))).unwrap();
    assert!(before.contains("usd = \"0.013\""), "without --write nothing is written");
    let (ok, _, err) = run(&[
        "pricing",
        "refresh",
        "--region",
        region,
        "--endpoint-url",
        &server.url,
        "--pricing-dir",
        dir.0.to_str().unwrap(),
        "--write",
    ]);
    assert!(ok, "{err}");
    let t = PriceTable::parse(
        "w",
        &std::fs::read_to_string(dir.0.join(format!("{region}.toml"))).unwrap(),
    )
    .unwrap();
    assert_eq!(t.interface_endpoint.az_hour.source, "AWS Price List, SKU VPCE1");
    assert_eq!(
        t.nat_gateway.hour.source, shipped.nat_gateway.hour.source,
        "unchanged rates keep their source"
    );
    // The seed scenario with the new rate: 3 × 2 × 730 = 4,380 AZ-h × 0.014 = 61.32 + 2.55 = 63.87.
    let out = costd(&[
        "model",
        "--pricing-dir",
        dir.0.to_str().unwrap(),
        "--format",
        "json",
        "--at",
        "2026-11-22T00:00:00Z",
    ]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["network"]["options"][0]["monthly_usd"], "63.87");
}

#[test]
fn a_missing_or_doubled_product_is_an_error_naming_the_product() {
    let region = "us-east-1";
    let shipped = PriceBook::embedded().unwrap().get(region).unwrap().clone();
    let mut products = products_for(&shipped);
    products.retain(|p| p["product"]["sku"] != "ALB2");
    let server = serve(products.clone());
    let dir = TempDir::new("pricing-missing");
    let (ok, _, err) = run(&[
        "pricing",
        "refresh",
        "--region",
        region,
        "--endpoint-url",
        &server.url,
        "--pricing-dir",
        dir.0.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(
        err.contains("no price for `alb.lcu_hour`") && err.contains("ServiceCode=AWSELB") && err.contains("LCUUsage"),
        "{err}"
    );
    let mut doubled = products_for(&shipped);
    let mut twin = doubled[0].clone();
    twin["product"]["sku"] = json!("NAT1B");
    doubled.push(twin);
    let server = serve(doubled);
    let (ok, _, err) = run(&[
        "pricing",
        "refresh",
        "--region",
        region,
        "--endpoint-url",
        &server.url,
        "--pricing-dir",
        dir.0.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(
        err.contains("`nat_gateway.hour` matched 2 products (NAT1, NAT1B)"),
        "{err}"
    );
}

#[test]
fn import_from_bulk_offer_files() {
    let region = "us-east-1";
    let shipped = PriceBook::embedded().unwrap().get(region).unwrap().clone();
    let dir = TempDir::new("pricing-import");
    let mut offers: std::collections::BTreeMap<String, Value> = Default::default();
    for p in products_for(&shipped) {
        let service = p["serviceCode"].as_str().unwrap().to_string();
        let sku = p["product"]["sku"].as_str().unwrap().to_string();
        let offer = offers.entry(service.clone()).or_insert_with(
            || json!({"formatVersion": "v1.0", "offerCode": service, "products": {}, "terms": {"OnDemand": {}}}),
        );
        offer["products"][&sku] = p["product"].clone();
        offer["terms"]["OnDemand"][&sku] = p["terms"]["OnDemand"].clone();
    }
    let mut args: Vec<String> = vec![
        "pricing".into(),
        "import".into(),
        "--region".into(),
        region.into(),
        "--pricing-dir".into(),
        dir.0.display().to_string(),
        "--write".into(),
    ];
    for (service, offer) in &offers {
        let path = dir.write(&format!("{service}.json"), &offer.to_string());
        args.push("--offer".into());
        args.push(path.display().to_string());
    }
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let (ok, out, err) = run(&argv);
    assert!(ok, "{err}");
    assert!(out.contains("wrote"), "{out}");
    // A new file (no table there before): every rate comes from the offers and equals the shipped one.
    let t = PriceTable::parse("w", &std::fs::read_to_string(dir.0.join("us-east-1.toml")).unwrap()).unwrap();
    assert_eq!(t.alb.hour.usd, shipped.alb.hour.usd);
    assert_eq!(
        t.interface_endpoint
            .processed_gb
            .tiers
            .iter()
            .map(|x| (x.up_to_gb, x.rate.usd))
            .collect::<Vec<_>>(),
        shipped
            .interface_endpoint
            .processed_gb
            .tiers
            .iter()
            .map(|x| (x.up_to_gb, x.rate.usd))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        t.cloudwatch.requests_1k.usd, shipped.cloudwatch.requests_1k.usd,
        "per request × 1,000"
    );
    // Again, as JSON: the table now written equals the offers, so no change.
    let mut json_args = argv.clone();
    json_args.retain(|a| *a != "--write");
    json_args.extend(["--format", "json"]);
    let (ok, out, err) = run(&json_args);
    assert!(ok, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (v["changes"].as_array().map(Vec::len), v["written"].as_bool()),
        (Some(0), Some(false)),
        "{v}"
    );
    assert!(v["products_read"].as_u64().unwrap() > 10, "{v}");
    let (ok, _, err) = run(&[
        "pricing",
        "import",
        "--region",
        region,
        "--offer",
        dir.write("bad.json", "{\"products\": 5}").to_str().unwrap(),
        "--pricing-dir",
        dir.0.to_str().unwrap(),
    ]);
    assert!(!ok && err.contains("unparseable"), "{err}");
}

#[test]
fn the_daemons_refresh_swaps_the_prices_in_whole_and_a_failure_keeps_the_old_ones() {
    use tower::ServiceExt;
    let region = "us-east-1";
    let shipped = PriceBook::embedded().unwrap().get(region).unwrap().clone();
    let mut changed = shipped.clone();
    changed.alb.hour.usd = rust_decimal_macros::dec!(0.0252);
    changed.interface_endpoint.az_hour.usd = rust_decimal_macros::dec!(0.02);
    let server = serve(products_for(&changed));
    let cfg_for = |endpoint: &str| {
        let src = std::fs::read_to_string(repo().join("config/costd.toml"))
            .unwrap()
            .replace("region = \"ap-southeast-1\"", "region = \"us-east-1\"")
            .replace("# [pricing]", "[pricing]")
            .replace(
                "# refresh_cron = \"0 3 * * *\"",
                &format!("refresh_cron = \"0 3 * * *\"\nendpoint_url = \"{endpoint}\""),
            );
        costd::config::Config::parse("test.toml", &src, std::path::Path::new(".")).unwrap()
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let cfg = cfg_for(&server.url);
    assert_eq!(cfg.pricing.refresh_cron.as_ref().map(|c| c.as_str()), Some("0 3 * * *"));
    let dir = crate::helpers::TempDir::new("pricing-refresh");
    let store: std::sync::Arc<dyn costd::store::Store> =
        std::sync::Arc::new(costd::store::sqlite::SqliteStore::open(&dir.0.join("p.db")).unwrap());
    let app = costd::app::App::new(
        std::sync::Arc::new(cfg.clone()),
        store,
        costd::app::Prices::build(&cfg, PriceBook::embedded().unwrap()).unwrap(),
    );
    assert_eq!(app.prices.get().settings.lb_usd_per_hour, shipped.alb.hour.usd);
    // The dashboard's NAT-vs-endpoints section, as served (public dashboard in the shipped config).
    let router = costd::web::router(costd::web::AppState::new(app.clone()));
    let page = |router: &axum::Router| {
        rt.block_on(async {
            let r = router
                .clone()
                .oneshot(axum::http::Request::get("/").body(axum::body::Body::empty()).unwrap())
                .await
                .unwrap();
            let b = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
            let html = String::from_utf8_lossy(&b).to_string();
            html.split("<section id=network>")
                .nth(1)
                .unwrap()
                .split("</section>")
                .next()
                .unwrap()
                .to_string()
        })
    };
    // us-east-1, the seed's 3 interface endpoints in 2 AZs over a 730 h month:
    // 4,380 AZ-hours × $0.01 = $43.80, + 255 GB × $0.01 = $2.55 → $46.35.
    let before = page(&router);
    assert!(
        before.contains("<td>endpoints_only</td><td class=n>$46.35</td>"),
        "{before}"
    );
    // SAFETY: the same test credentials every test in this binary sets, before SDK clients read them.
    unsafe {
        std::env::set_var("AWS_ACCESS_KEY_ID", "test");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "test");
    }
    let changes = rt
        .block_on(costd::daemon::jobs::refresh_prices(
            &cfg,
            &app.prices,
            chrono::Utc::now().date_naive(),
        ))
        .unwrap();
    assert_eq!(changes.len(), 2, "{changes:?}");
    let now = app.prices.get();
    assert_eq!(now.table().alb.hour.usd, rust_decimal_macros::dec!(0.0252));
    assert_eq!(
        now.settings.lb_usd_per_hour,
        rust_decimal_macros::dec!(0.0252),
        "coalescing uses the new rate"
    );
    // After the refresh: 4,380 × $0.02 = $87.60 + $2.55 = $90.15 — the model was rebuilt with the table.
    let after = page(&router);
    assert!(
        after.contains("<td>endpoints_only</td><td class=n>$90.15</td>"),
        "{after}"
    );
    // The Price List unreachable: an error, and the prices in use stay.
    let dead = cfg_for(&format!("http://127.0.0.1:{}", crate::helpers::free_port()));
    assert!(
        rt.block_on(costd::daemon::jobs::refresh_prices(
            &dead,
            &app.prices,
            chrono::Utc::now().date_naive()
        ))
        .is_err()
    );
    assert_eq!(app.prices.get().table().alb.hour.usd, rust_decimal_macros::dec!(0.0252));
    assert!(page(&router).contains("$90.15"));
}
