//! Secrets out of logs and the store: a webhook URL is often a credential
//! (a Slack or Teams hook carries its token in the path), so only its scheme
//! and host are ever written down.

/// `https://hooks.slack.com/services/T0/B0/XYZ` → `https://hooks.slack.com`.
/// Anything that is not a URL becomes `(redacted)`.
pub fn url(u: &str) -> String {
    match reqwest::Url::parse(u) {
        Ok(p) if p.host_str().is_some() => {
            let host = p.host_str().unwrap_or_default();
            match p.port() {
                Some(port) => format!("{}://{host}:{port}", p.scheme()),
                None => format!("{}://{host}", p.scheme()),
            }
        }
        _ => "(redacted)".into(),
    }
}

/// Replaces every URL inside `text` (an error message) by its redacted form.
pub fn urls_in(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = ["http://", "https://"].iter().filter_map(|p| rest.find(p)).min() {
        out.push_str(&rest[..i]);
        let end = rest[i..]
            .find(|c: char| c.is_whitespace() || matches!(c, ')' | '"' | '\'' | '>' | ','))
            .map_or(rest.len(), |e| i + e);
        out.push_str(&url(&rest[i..end]));
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_scheme_host_and_port_remain() {
        assert_eq!(
            super::url("https://hooks.slack.com/services/T0/B0/XYZ"),
            "https://hooks.slack.com"
        );
        assert_eq!(
            super::url("http://127.0.0.1:5000/hook?token=s3cret"),
            "http://127.0.0.1:5000"
        );
        assert_eq!(super::url("https://user:pw@example.com/x"), "https://example.com");
        assert_eq!(super::url("not a url"), "(redacted)");
        assert_eq!(
            super::urls_in("error sending request for url (https://hooks.slack.com/services/T0/B0/XYZ): timed out"),
            "error sending request for url (https://hooks.slack.com): timed out"
        );
        assert_eq!(super::urls_in("HTTP 500"), "HTTP 500");
    }
}
